"""The reconciled base year: a weighted least-squares fit of every target under hard mass balance.

Variables ``v = (x, y, f, e, u)`` (:class:`~chokepoint.baseyear.targets.Layout`, then one relative
residual ``e_i`` per target and one slack ``u_j ≥ 0`` per one-sided target)::

    minimise   Σ_i w_i·e_i² + Σ_j p_j·(v_j / S_k)²          (j over f, y and untargeted x)
    subject to x[r,k] + Σ_o f[o,r,k] − Σ_d f[r,d,k] = Σ_k' a[k,k']·x[r,k'] + y[r,k]   (balance)
               Σ_j c_ij·v_j − t_i = scale_i·e_i (+ u_i for a lower bound, "≥")        (targets)
               Σ_d f[r,d,k] ≤ x[r,k]              (no re-exports: a region ships what it makes)
               0 ≤ x ≤ reported capacity, y, f, u ≥ 0

``a[k, k'] = content / yield`` (recipes), ``S_k`` the commodity's largest reported figure, ``p_j`` the
prior weights (``target_weights`` rows of basis ``prior``): lanes and production no row reports are
pulled toward zero 10,000× harder than final use, so output no statistic sends abroad is used where
it is made rather than spread thinly over every lane; the prior also makes the optimum unique.
The objective is a diagonal convex quadratic. It is solved by Clarabel's interior point method:
HiGHS's QP solver (active set) took over ten minutes on the 2024 rare-earth fit, Clarabel ~1 s.

The re-export rule is what lets the network read a region's supply mix as its production net of
exports plus its imports (:mod:`chokepoint.network`): consistent by construction.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import clarabel
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from chokepoint.baseyear.targets import (
    Layout,
    Targets,
    collect_targets,
    data_regions,
    product_groups,
    target_weights,
)
from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError

__all__ = ["BaseYear", "input_matrix", "reconcile", "reported_capacity"]

Array = npt.NDArray[np.float64]
#: Clarabel's feasibility and gap tolerances, strictest first (see :func:`_solve`).
TOLERANCES = (1e-10, 1e-8)


@dataclass(frozen=True)
class BaseYear:
    """The reconciled base year of one material: production ``x`` and final use ``y`` (t/yr,
    regions × commodities), the flows (one row per lane carrying anything), the targets with
    their reconciled values and residuals, and the hard constraints that bind."""

    material: str
    year: int
    regions: pd.Index
    commodities: pd.Index
    production_t: Array
    final_use_t: Array
    flows: pd.DataFrame
    targets: pd.DataFrame
    capacity_t: pd.Series
    binding: pd.DataFrame
    #: (target, var) pairs: which variables each target row reads (positions as in ``targets``).
    terms: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    def __post_init__(self) -> None:
        for arr in (self.production_t, self.final_use_t):
            arr.flags.writeable = False

    def exports_t(self) -> Array:
        """Σ_d f[r, d, k] per (region, commodity)."""
        return self._sum("origin_id")

    def imports_t(self) -> Array:
        """Σ_o f[o, r, k] per (region, commodity)."""
        return self._sum("destination_id")

    def _sum(self, side: str) -> Array:
        out = np.zeros((len(self.regions), len(self.commodities)))
        r = self.regions.get_indexer(pd.Index(self.flows[side]))
        k = self.commodities.get_indexer(pd.Index(self.flows["commodity_id"]))
        np.add.at(out, (r, k), self.flows["flow_t"].to_numpy(dtype=float))
        return out


def input_matrix(recipes: pd.DataFrame, commodities: list[str]) -> Array:
    """``a[j, k]``: tonnes of input ``j`` per tonne of ``k`` (``content_t_per_t / yield_fraction``)."""
    a = np.zeros((len(commodities), len(commodities)))
    index = pd.Index(commodities)
    rows = index.get_indexer(pd.Index(recipes["input_commodity_id"]))
    cols = index.get_indexer(pd.Index(recipes["output_commodity_id"]))
    keep = (rows >= 0) & (cols >= 0)
    values = (recipes["content_t_per_t"] / recipes["yield_fraction"]).to_numpy(dtype=float)
    a[rows[keep], cols[keep]] = values[keep]
    return a


def reported_capacity(ds: Dataset, commodities: list[str], year: int) -> pd.Series:
    """t/yr per (region, commodity) where reported capacity bounds output: the sum of the
    ``year``'s capacity rows of its facilities, where every operating facility has one."""
    fac = ds["facilities"]
    fac = fac[fac["commodity_id"].isin(commodities)]
    cap = ds["facility_capacity"]
    cap = cap[(cap["year"] == year) & cap["capacity_t_per_yr"].notna()]
    fac = fac.assign(capacity=fac["facility_id"].map(cap.groupby("facility_id")["capacity_t_per_yr"].sum()))
    keys = ["region_id", "commodity_id"]
    unknown = fac[(fac["status"] == "operating") & fac["capacity"].isna()].groupby(keys).size()
    total = fac.dropna(subset=["capacity"]).groupby(keys)["capacity"].sum()
    return total[~total.index.isin(unknown.index)].astype(float).rename("capacity_t_per_yr")


def _scales(targets: Targets) -> Array:
    """``S_k``: each commodity's largest reported tonnage (its members' group's where it has none)."""
    tab = targets.table[targets.table["unit"] == "t"]
    by_code = tab.groupby("commodity_id")["reported"].max()
    ks = targets.layout.commodities
    own = by_code.reindex(ks).to_numpy(dtype=float)
    biggest = float(by_code.max()) if len(by_code) else 1.0
    return np.maximum(np.nan_to_num(own, nan=biggest), 1.0)


def _balance(layout: Layout, a: Array) -> sp.coo_array:
    """Mass balance rows (r, k) over the physical variables (module docs)."""
    R, K, F = layout.R, layout.K, layout.n_flows
    r, k = np.divmod(np.arange(R * K), K)
    rows, cols, vals = [np.arange(R * K)], [layout.x(r, k)], [np.ones(R * K)]
    j, kk = np.nonzero(a)  # x[r, kk] takes a[j, kk] of input j in region r
    for jj, kc in zip(j, kk, strict=True):
        rows.append(np.arange(R) * K + jj)
        cols.append(layout.x(np.arange(R), np.full(R, kc)))
        vals.append(np.full(R, -a[jj, kc]))
    rows.append(np.arange(R * K))
    cols.append(layout.y(r, k))
    vals.append(-np.ones(R * K))
    lanes = layout.lanes
    flow = 2 * R * K + np.arange(F)
    rows += [lanes["d"].to_numpy() * K + lanes["k"].to_numpy(), lanes["o"].to_numpy() * K + lanes["k"].to_numpy()]
    cols += [flow, flow]
    vals += [np.ones(F), -np.ones(F)]
    return sp.coo_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(R * K, layout.n))


def _exports(layout: Layout) -> sp.coo_array:
    """``Σ_d f[r,d,k] − x[r,k] ≤ 0`` per (r, k)."""
    R, K, F = layout.R, layout.K, layout.n_flows
    r, k = np.divmod(np.arange(R * K), K)
    lanes = layout.lanes
    rows = np.concatenate([np.arange(R * K), lanes["o"].to_numpy() * K + lanes["k"].to_numpy()])
    cols = np.concatenate([layout.x(r, k), 2 * R * K + np.arange(F)])
    vals = np.concatenate([-np.ones(R * K), np.ones(F)])
    return sp.coo_array((vals, (rows, cols)), shape=(R * K, layout.n))


@dataclass(frozen=True)
class _Model:
    """The QP: ``min ½ v'Qv + c'v`` (Q diagonal) s.t. ``lo ≤ A·v ≤ hi``, ``lb ≤ v ≤ ub``."""

    A: sp.csc_array
    row_lo: Array
    row_hi: Array
    lb: Array
    ub: Array
    hessian: Array
    cost: Array
    n_balance: int
    n_export: int
    #: Column scales: the solver's variable j is v_j / col_scale[j].
    col_scale: Array


def _priors(weights: pd.DataFrame) -> tuple[float, float]:
    """Prior weights p on (lanes and unnamed production, final use), per (v / S_k)²: the ``prior``
    rows of kind ``any`` and ``final_use``."""
    rows = weights[weights["row_basis"] == "prior"].set_index("target_kind")["weight"]
    return float(rows.get("any", 1e-2)), float(rows.get("final_use", 1e-6))


def _model(targets: Targets, a: Array, capacity: pd.Series, prior: tuple[float, float]) -> _Model:
    """Assemble balance, export and target rows and the diagonal Hessian (module docs)."""
    layout, table, terms = targets.layout, targets.table, targets.terms
    R, K, n, T = layout.R, layout.K, layout.n, len(table)
    lower = np.flatnonzero(table["sense"].to_numpy() == ">=")
    U = len(lower)
    width = n + T + U
    target_rows = sp.coo_array(
        (
            np.concatenate([terms["coef"].to_numpy(dtype=float), -table["scale"].to_numpy(dtype=float), -np.ones(U)]),
            (
                np.concatenate([terms["target"].to_numpy(), np.arange(T), lower]),
                np.concatenate([terms["var"].to_numpy(), n + np.arange(T), n + T + np.arange(U)]),
            ),
        ),
        shape=(T, width),
    )
    balance, exports = _balance(layout, a), _exports(layout)
    A = sp.vstack(
        [
            sp.hstack([balance, sp.coo_array((R * K, T + U))]),
            sp.hstack([exports, sp.coo_array((R * K, T + U))]),
            target_rows,
        ]
    ).tocsc()
    reported = table["reported"].to_numpy(dtype=float)
    row_lo = np.concatenate([np.zeros(R * K), np.full(R * K, -np.inf), reported])
    row_hi = np.concatenate([np.zeros(R * K), np.zeros(R * K), reported])
    lb = np.concatenate([np.zeros(n), np.full(T, -np.inf), np.zeros(U)])
    ub = np.full(width, np.inf)
    cap_r = layout.regions.get_indexer(capacity.index.get_level_values(0))
    cap_k = layout.commodities.get_indexer(capacity.index.get_level_values(1))
    ok = (cap_r >= 0) & (cap_k >= 0)
    ub[layout.x(cap_r[ok], cap_k[ok])] = capacity.to_numpy(dtype=float)[ok]

    # Scaled for HiGHS: variables in units of their commodity's S_k (e in units of the target's
    # scale, u too), each row divided by its own scale, so every coefficient is O(1).
    S = _scales(targets)
    k_of = np.concatenate([np.tile(np.arange(K), 2 * R), layout.lanes["k"].to_numpy()])
    scale = table["scale"].to_numpy(dtype=float)
    col = np.concatenate([S[k_of], np.ones(T), scale[lower]])
    row = 1.0 / np.concatenate([np.tile(S, R), np.tile(S, R), scale])
    A = (sp.diags_array(row) @ A @ sp.diags_array(col)).tocsc()
    row_lo, row_hi, lb, ub = row_lo * row, row_hi * row, lb / col, ub / col
    # Prior on lanes, final use and any production no single-commodity target names: p·(v/S_k)².
    hess = np.concatenate([np.full(n, 2.0 * prior[0]), 2.0 * table["weight"].to_numpy(dtype=float), np.zeros(U)])
    hess[R * K : 2 * R * K] = 2.0 * prior[1]
    cost = np.zeros(width)
    named = terms.merge(terms.groupby("target").size().rename("n").reset_index())
    named = named[(named["n"] == 1) & (named["var"] < R * K)]
    hess[named["var"].to_numpy()] = 0.0
    return _Model(A, row_lo, row_hi, lb, ub, hess, cost, R * K, R * K, col)


def _solve(m: _Model, tolerances: tuple[float, ...] = TOLERANCES) -> Array:
    """Solve the QP with Clarabel's interior point method; an error naming the status if it fails.

    Clarabel's form is ``min ½ z'Pz`` s.t. ``A·z + s = b``, ``s`` in a cone: the balance and target
    rows in the zero cone, the export rows and the bounds in the non-negative cone.
    """
    eq = m.row_lo == m.row_hi
    le = ~eq & np.isfinite(m.row_hi)
    width = m.A.shape[1]
    fixed = m.lb == m.ub
    has_lb, has_ub = np.flatnonzero(np.isfinite(m.lb) & ~fixed), np.flatnonzero(np.isfinite(m.ub) & ~fixed)
    eye = sp.eye_array(width, format="csr")
    # A fixed variable is an equality row.
    A_eq = sp.vstack([m.A[eq], eye[np.flatnonzero(fixed)]])
    b_eq = np.concatenate([m.row_hi[eq], m.lb[fixed]])
    A = sp.vstack([A_eq, m.A[le], -eye[has_lb], eye[has_ub]]).tocsc()
    b = np.concatenate([b_eq, m.row_hi[le], -m.lb[has_lb], m.ub[has_ub]])
    cones = [clarabel.ZeroConeT(A_eq.shape[0]), clarabel.NonnegativeConeT(int(le.sum() + has_lb.size + has_ub.size))]
    P = sp.diags_array(m.hessian).tocsc()
    # The QP is always feasible (x = y = f = 0, every residual free) and bounded (convex, ≥ 0), so
    # a failure is numerical: target weights and priors span ~1e11 in curvature, and on some
    # datasets (tiny_with(17, 12470)) the interior point stalls short of 1e-10 as its linear
    # solves lose the digits. Then 1e-8 is asked for, which _polish makes exact.
    for tol in tolerances:
        settings = clarabel.DefaultSettings()
        settings.verbose = False
        settings.max_iter = 500
        settings.tol_gap_abs = settings.tol_gap_rel = settings.tol_feas = tol
        solution = clarabel.DefaultSolver(P, m.cost, A, b, cones, settings).solve()
        if str(solution.status) in ("Solved", "AlmostSolved"):
            return _polish(m, np.clip(np.asarray(solution.x), m.lb, m.ub)) * m.col_scale
    raise ChokepointError(f"base-year fit not solved to {tolerances[-1]:g}: {solution.status} (a bug, not the data)")


def _polish(m: _Model, z: Array, tol: float = 1e-5, at_bound: float = 1e-5) -> Array:
    """The interior point's answer made exact: with the bounds and rows it left active held as
    equalities, the QP is one sparse KKT system ``[P Aᵀ; A −δI]``. The polished point is kept
    only if it keeps every bound and row within ``tol`` and costs no more."""
    at_lb = np.isfinite(m.lb) & (z - m.lb < at_bound)
    at_ub = np.isfinite(m.ub) & (m.ub - z < at_bound)
    fixed = at_lb | at_ub
    z_fixed = np.where(at_ub, m.ub, m.lb)
    Az = m.A @ z
    eq = (m.row_lo == m.row_hi) | (np.isfinite(m.row_hi) & (Az > m.row_hi - at_bound))
    free = np.flatnonzero(~fixed)
    A = m.A[eq]
    rhs = m.row_hi[eq] - A[:, np.flatnonzero(fixed)] @ z_fixed[fixed]
    A = A[:, free]
    live = np.asarray(abs(A).sum(axis=1)).ravel() > 0
    A, rhs = A[live], rhs[live]
    delta = 1e-10
    kkt = sp.block_array([[sp.diags_array(m.hessian[free] + delta), A.T], [A, -delta * sp.eye_array(A.shape[0])]])
    try:
        sol = spla.spsolve(kkt.tocsc(), np.concatenate([np.zeros(free.size), rhs]))
    except RuntimeError:
        return z
    out = np.where(fixed, z_fixed, 0.0)
    out[free] = sol[: free.size]
    rows = m.A @ out
    ok = bool(
        np.all(np.isfinite(out))
        and np.all(out >= m.lb - tol)
        and np.all(out <= m.ub + tol)
        and np.all(rows <= m.row_hi + tol)
        and np.all(rows >= m.row_lo - tol)
        and float(m.hessian @ out**2) <= float(m.hessian @ z**2) * (1 + 1e-4) + 1e-12
    )
    return np.clip(out, m.lb, m.ub) if ok else z


#: Base years by (fingerprint, material, year); a few, most recently used last.
_CACHE: OrderedDict[tuple[str, str, int], BaseYear] = OrderedDict()
_CACHE_SIZE = 8


def material_chain(ds: Dataset, material: str) -> pd.DataFrame:
    """The commodities of ``material`` in stage order; a clear error for an unknown material."""
    com = ds["commodities"]
    chain = com[com["material"] == material].sort_values(["stage_order", "commodity_id"])
    if chain.empty:
        raise ChokepointError(f"unknown material {material!r}; materials: {', '.join(sorted(set(com['material'])))}")
    return chain


def reconcile(ds: Dataset, material: str = "rare_earths", year: int = 2024) -> BaseYear:
    """The reconciled base year of ``material`` in ``year`` (module docs), once per dataset."""
    key = (ds.fingerprint, material, int(year))
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    chain = material_chain(ds, material)
    ks = list(chain["commodity_id"])
    prod = ds["production"]
    codes = set(product_groups(ds, ks)["group_id"])  # rows filed under a product group count
    if not (prod["year"].eq(year) & prod["commodity_id"].isin(codes) & prod["production_t"].gt(0)).any():
        raise ChokepointError(f"no production of {material} in {year}; choose another --year")
    targets = collect_targets(ds, chain, int(year), sorted(data_regions(ds, ks)))
    prior = _priors(target_weights(ds))
    a = input_matrix(ds["recipes"], ks)
    capacity = reported_capacity(ds, ks, int(year))
    share = np.flatnonzero((targets.table["kind"] == "trade_share").to_numpy())
    if share.size:
        # A share's residual is relative to the share × its importer's imports, which only a fit
        # knows: a first pass without the shares estimates them.
        first = targets.table.copy()
        first.loc[share, "weight"] = 0.0
        v = _solve(_model(replace(targets, table=first), a, capacity, prior))
        reported = targets.table["reported"].to_numpy(dtype=float)
        _, den = _share_parts(targets.terms, v, share, reported)
        table = targets.table.copy()
        table.loc[share, "scale"] = np.maximum(reported[share], 0.01) * np.maximum(den, 1.0)
        targets = replace(targets, table=table)
    model = _model(targets, a, capacity, prior)
    v = _solve(model)
    # Second stage: the residuals as the fit left them, the prior alone decides the rest (in the
    # first stage the prior's terms are below the solver's tolerance next to the residuals').
    n = targets.layout.n
    T = len(targets.table)
    # Final use's pull a further 100× weaker there: a quadratic prior leaks (p_y / p_f)·y onto every
    # lane, which this keeps below the flows dropped as noise.
    second = np.concatenate([model.hessian[:n], np.zeros(len(model.hessian) - n)])
    R, K = targets.layout.R, targets.layout.K
    second[R * K : 2 * R * K] *= 0.01
    model = replace(model, hessian=second)
    e = v[n : n + T] / model.col_scale[n : n + T]
    slack = 1e-6 + 1e-4 * np.abs(e)  # held, not fixed: the first stage is exact only to its tolerance
    lb, ub = model.lb.copy(), model.ub.copy()
    lb[n : n + T], ub[n : n + T] = e - slack, e + slack
    with contextlib.suppress(ChokepointError):  # if the second stage fails, the first stage's point stands
        v = _solve(replace(model, lb=lb, ub=ub), TOLERANCES[:1])  # strict only: else stage one stands
    result = _result(material, int(year), targets, model, v, capacity)
    _CACHE[key] = result
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return result


def _result(material: str, year: int, targets: Targets, m: _Model, v: Array, capacity: pd.Series) -> BaseYear:
    """Reconciled values and residuals of every target, flows above a ton-fraction, binding rows."""
    layout, table, terms = targets.layout, targets.table.copy(), targets.terms
    R, K, n = layout.R, layout.K, layout.n
    value = np.zeros(len(table))
    np.add.at(value, terms["target"].to_numpy(), terms["coef"].to_numpy(dtype=float) * v[terms["var"].to_numpy()])
    share = (table["kind"] == "trade_share").to_numpy()
    if share.any():  # report a share as a share: numerator / denominator of its functional
        value[share] = _shares(terms, v, np.flatnonzero(share), table["reported"].to_numpy(dtype=float))
    table["reconciled"] = value
    table["residual"] = value - table["reported"].to_numpy(dtype=float)
    lower = (table["sense"] == ">=").to_numpy()
    table.loc[lower, "residual"] = np.minimum(table.loc[lower, "residual"], 0.0)
    table["relative"] = table["residual"] / table["reported"].abs().where(table["reported"].abs() > 0, 1.0)
    x = v[: R * K].reshape(R, K)
    y = v[R * K : 2 * R * K].reshape(R, K)
    f = v[2 * R * K : n]
    lanes = layout.lanes.assign(flow_t=f)
    # Interior-point noise is no flow: below a millionth of the commodity's scale on a lane some
    # target names, below a ten-thousandth on a lane none does.
    named = np.isin(lanes["var"].to_numpy(), terms["var"].to_numpy())
    floor = np.where(named, 1e-6, 1e-4) * _scales(targets)[lanes["k"].to_numpy()]
    keep = lanes["flow_t"] > floor
    flows = lanes[keep][["origin_id", "destination_id", "commodity_id", "flow_t"]]
    exports = _exports(layout) @ v[:n]
    r, k = np.divmod(np.arange(R * K), K)
    binding = pd.DataFrame(
        {"region_id": layout.regions[r], "commodity_id": layout.commodities[k], "exports_t": x.ravel() + exports}
    ).assign(production_t=x.ravel())
    tight = (binding["production_t"] > 1e-6) & (
        binding["production_t"] - binding["exports_t"] < 1e-6 * binding["production_t"] + 1e-6
    )
    binding = binding[tight].assign(constraint="exports ≤ production")
    at_cap = x.ravel() >= (m.ub * m.col_scale)[: R * K] * (1 - 1e-6)
    capped = pd.DataFrame({"region_id": layout.regions[r[at_cap]], "commodity_id": layout.commodities[k[at_cap]]})
    binding = pd.concat([binding[["region_id", "commodity_id", "constraint"]], capped.assign(constraint="capacity")])
    return BaseYear(
        material=material,
        year=year,
        regions=layout.regions,
        commodities=layout.commodities,
        production_t=x.copy(),
        final_use_t=y.copy(),
        flows=flows.reset_index(drop=True),
        targets=table,
        capacity_t=capacity,
        binding=binding.reset_index(drop=True),
        terms=terms[["target", "var"]].drop_duplicates().reset_index(drop=True),
    )


def _share_parts(terms: pd.DataFrame, v: Array, targets: npt.NDArray[np.intp], reported: Array) -> tuple[Array, Array]:
    """A share target's numerator (its positive terms) and denominator (its negative terms ÷ s)."""
    t = terms[terms["target"].isin(targets)]
    coef = t["coef"].to_numpy(dtype=float)
    contrib = coef * v[t["var"].to_numpy()]
    at = t["target"].to_numpy()
    num = pd.Series(np.where(coef > 0, contrib, 0.0)).groupby(at).sum().reindex(targets).fillna(0.0).to_numpy()
    neg = pd.Series(np.where(coef < 0, -contrib, 0.0)).groupby(at).sum().reindex(targets).fillna(0.0).to_numpy()
    s = reported[targets]
    return np.asarray(num, dtype=float), np.asarray(neg / np.where(s > 0, s, 1.0), dtype=float)


def _shares(terms: pd.DataFrame, v: Array, targets: npt.NDArray[np.intp], reported: Array) -> Array:
    """A share target's reconciled share: numerator ÷ denominator."""
    num, den = _share_parts(terms, v, targets, reported)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
