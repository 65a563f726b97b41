"""Build a run's registered tables (:data:`chokepoint.simulation.tables.TABLES`) from the engine's
labelled-at-the-boundary arrays: periods as ``pandas.Period``, units in column names."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from chokepoint.errors import ChokepointError
from chokepoint.scenario import Observation, Scenario
from chokepoint.simulation.baseline import Baseline
from chokepoint.simulation.engine import Trajectory
from chokepoint.simulation.plan import Plan
from chokepoint.simulation.tables import TABLES, conform

__all__ = [
    "RATIO_FLOOR",
    "abs_log_error",
    "compare_observed",
    "controller_shares",
    "flow_price_tables",
    "price_floor_payments",
    "project_tables",
    "run_tables",
    "tabulate",
]

Array = npt.NDArray[np.float64]

#: A region's supply counts as recovered once its shortfall stays below this share of demand.
RECOVERED_BELOW = 0.01


def _cube(
    values: Array, names: list[str], axes: list[pd.Index], keep: npt.NDArray[np.bool_] | None = None
) -> pd.DataFrame:
    """A dense array over ``axes`` as a long table: one column per axis and ``value``, for the
    cells where ``keep`` holds (all by default). Labels are taken per kept cell, so a sparse
    array (shipments) never materialises its full product."""
    shape = tuple(len(a) for a in axes)
    flat = np.asarray(values, dtype=float).reshape(-1)
    at = np.arange(flat.size) if keep is None else np.flatnonzero(keep.reshape(-1))
    cells = np.unravel_index(at, shape)
    columns: dict[str, object] = {name: axis.take(i) for name, axis, i in zip(names, axes, cells, strict=True)}
    return pd.DataFrame({**columns, "value": flat[at]})


#: Months traced together (bounds the (months, K, R, R) array of sourcing shares).
MONTHS_PER_BLOCK = 12


def _traced_months(a: Array, m: Array, W: Array) -> Array:
    """``X = Wᵀ·(I − A_t)⁻¹·M_t`` for a few months at once: (t, rows, r, k).

    ``A_t[(o, j), (r, k)] = a[j, k]·m_j[o, r]`` and ``M_t[(o, j), (r, k)] = m_k[o, r]·δ_jk`` with
    ``m`` (t, K, o, b) the months' sourcing shares and ``W`` (R, K, rows) the weights of the rows
    wanted. Inputs come only from earlier stages (``a`` strictly upper triangular, a dataset
    check), so ``yᵀ = Wᵀ·(I − A)⁻¹`` solves stage by stage, ``y_k = w_k + Σ_{j<k} a[j, k]·(y_j·m_j)``,
    exactly and without a factorisation; ``y_k·m_k`` is then row block ``k`` of ``X``.
    """
    T, K, R, _ = m.shape
    passed = np.empty((T, W.shape[-1], R, K))  # (y_k·m_k)[t, q, r]: what stage k's rows pass on
    for k in range(K):
        y = np.broadcast_to(W[:, k, :].T, (T, W.shape[-1], R)).copy()
        for j in np.flatnonzero(a[:k, k]):
            y += a[j, k] * passed[..., j]
        passed[..., k] = np.matmul(y, m[:, k])
    return passed


def controller_shares(baseline: Baseline, shipped: Array, controllers: list[str]) -> tuple[Array, Array]:
    """Each controller's share of every region's supply of every commodity, month by month.

    Direct (T, C, R, K): the controller's part of what the region received. Traced (T, C, R, K,
    K_stage): the part resting on the controller at each upstream stage through the month's actual
    shipments, ``X[(c, j), (r, k)] / Σ_o X[(o, j), (r, k)]`` with ``X = (I − A)⁻¹·M`` (see
    :func:`_traced_months`). Only the ``K`` origin-sum rows and ``K`` rows per controller of the
    Leontief inverse are solved (by stages, see :func:`_traced_months`), never the all-node inverse.
    ``shipped`` is (T, K, R_origin, R_buyer); controllers must be regions of the network.
    """
    regions = list(baseline.net.regions)
    T, K, R, _ = shipped.shape
    C = len(controllers)
    at = [regions.index(c) for c in controllers]
    received = shipped.sum(axis=2)  # (T, K, b)
    direct = np.divide(shipped[:, :, at, :], received[:, :, None, :], out=np.zeros((T, K, C, R)),
                       where=received[:, :, None, :] > 0).transpose(0, 2, 3, 1)  # fmt: skip
    traced = np.zeros((T, C, R, K, K))
    if C == 0:
        return direct, traced
    # Right-hand sides: the sum over origins of each stage j, then e_(c, j) per controller.
    W = np.zeros((R, K, K + C * K))
    W[:, np.arange(K), np.arange(K)] = 1.0
    for i, c in enumerate(at):
        W[c, np.arange(K), K + i * K + np.arange(K)] = 1.0
    a = baseline.inputs
    if np.any(np.tril(a) != 0):
        raise ChokepointError("a recipe feeds its own or an earlier stage; inputs must come from earlier stages")
    for lo in range(0, T, MONTHS_PER_BLOCK):
        span = slice(lo, min(lo + MONTHS_PER_BLOCK, T))
        got = received[span][:, :, None, :]  # (t, K, 1, b)
        m = np.divide(shipped[span], got, out=np.zeros_like(shipped[span]), where=got > 0)
        X = _traced_months(a, m, W)
        total, own = X[:, None, :K], X[:, K:].reshape(-1, C, K, R, K)  # (t, 1, j, r, k), (t, c, j, r, k)
        share = np.divide(own, total, out=np.zeros_like(own), where=total > 1e-12)
        traced[span] = share.transpose(0, 1, 3, 4, 2)
    return direct, traced


def _controllers(scenario: Scenario, regions: list[str]) -> list[str]:
    """The scenario's export controllers present in the network, in order of first appearance."""
    named = dict.fromkeys(c.controller for c in scenario.export_controls)
    return [c for c in named if c in regions]


def _feeds(inputs: Array) -> npt.NDArray[np.bool_]:
    """``[j, k]``: commodity ``j`` is ``k`` or goes into it, directly or through other stages
    (the transitive closure of the recipes ``inputs[j, k] > 0``)."""
    reach = np.eye(len(inputs), dtype=bool) | (inputs > 0)
    while True:  # at most one pass per stage: each squares the path length reached
        wider = (reach.astype(np.int64) @ reach.astype(np.int64)) > 0
        if (wider == reach).all():
            return reach
        reach = wider


def _share_tables(
    baseline: Baseline, shipped: Array, controllers: list[str], periods: pd.PeriodIndex
) -> dict[str, pd.DataFrame]:
    regions, ks = pd.Index(baseline.net.regions), pd.Index(baseline.commodities)
    direct, traced = controller_shares(baseline, shipped, controllers)
    ctrl = pd.Index(controllers)
    d = _cube(100.0 * direct, ["period", "controller_id", "region_id", "commodity_id"], [periods, ctrl, regions, ks])
    names = ["period", "controller_id", "region_id", "commodity_id", "upstream_commodity_id"]
    # Only the commodity's own stage and the stages that feed it: nothing rests on a later stage
    # or on a parallel chain (La oxide never feeds a magnet), which on the 38-commodity chain cuts
    # the table from every lower-triangular pair to the recipe's reach.
    upstream = np.broadcast_to(_feeds(baseline.inputs).T, traced.shape)
    tr = _cube(100.0 * traced, names, [periods, ctrl, regions, ks, ks], keep=upstream)
    return {
        "controller_share": conform("controller_share", d.rename(columns={"value": "direct_share_pct"})),
        "controller_traced_share": conform("controller_traced_share", tr.rename(columns={"value": "traced_share_pct"})),
    }


def flow_price_tables(baseline: Baseline, plan: Plan, trajectory: Trajectory) -> dict[str, pd.DataFrame]:
    """The ``flows`` and ``prices`` tables of the first draw: all :func:`compare_observed` reads
    (a calibration builds only these for each trial)."""
    periods = pd.PeriodIndex(plan.periods, freq="M")
    regions, ks = pd.Index(baseline.net.regions), pd.Index(baseline.commodities)
    shipped = trajectory.shipped_t[0]
    axes = [periods, ks, regions, regions]
    flows = _cube(shipped, ["period", "commodity_id", "exporter_id", "importer_id"], axes, keep=shipped > 1e-9)
    prices = _cube(trajectory.price_index[0], ["period", "commodity_id"], [periods, ks])
    prices = prices.rename(columns={"value": "price_index"})
    prices["price_usd_per_kg"] = prices["price_index"] * np.tile(baseline.price_usd_per_kg, len(periods))
    use = baseline.use_t.T  # (R, K)
    uses = np.broadcast_to(use > 0, (len(periods), *use.shape))
    markets = _cube(trajectory.market_price_t[0], ["period", "region_id", "commodity_id"], [periods, regions, ks], uses)
    markets = markets.rename(columns={"value": "price_index"})
    usd = baseline.price_usd_per_kg[ks.get_indexer(pd.Index(markets["commodity_id"]))]
    markets["price_usd_per_kg"] = markets["price_index"] * usd
    markets["base_use_t"] = np.broadcast_to(use, uses.shape)[uses]
    return {
        "flows": conform("flows", flows.rename(columns={"value": "flow_t"})),
        "prices": conform("prices", prices),
        "market_prices": conform("market_prices", markets),
    }


def tabulate(baseline: Baseline, plan: Plan, trajectory: Trajectory, scenario: Scenario) -> dict[str, pd.DataFrame]:
    """The engine's tables of the first draw of ``trajectory``: chain, production, flows,
    shortfall, prices, stocks, shadow prices, controller shares and the summary."""
    net = baseline.net
    periods = pd.PeriodIndex(plan.periods, freq="M")
    regions, ks, sectors = pd.Index(net.regions), pd.Index(baseline.commodities), pd.Index(baseline.sectors)
    T, R, K = len(periods), len(regions), len(ks)
    tr = trajectory
    node = ["period", "region_id", "commodity_id"]
    chain = pd.DataFrame({"commodity_id": ks, "stage": list(net.stages["stage"]), "position": np.arange(K)})
    production = _cube(tr.production_t[0], node, [periods, regions, ks]).rename(columns={"value": "production_t"})
    production["capacity_t"] = tr.capacity_t[0].reshape(-1)
    demand, served = tr.demand_t[0], tr.served_t[0]
    has = demand > 0
    short = _cube(demand, [*node, "sector_id"], [periods, regions, ks, sectors], keep=has)
    short = short.rename(columns={"value": "demand_t"})
    short["served_t"] = served[has]
    short["shortfall_t"] = (short["demand_t"] - short["served_t"]).clip(lower=0.0)
    short["shortfall_pct"] = 100.0 * short["shortfall_t"] / short["demand_t"]
    held = np.broadcast_to(plan.stock_target_t.reshape(1, R, K) > 0, (T, R, K))
    stocks = _cube(tr.stock_t[0], node, [periods, regions, ks], keep=held).rename(columns={"value": "stock_t"})
    stocks["draw_t"] = tr.strategic_draw_t[0][held]
    stocks["build_t"] = tr.strategic_build_t[0][held]
    uses = np.broadcast_to(baseline.use_t.T > 0, (T, R, K))
    inventories = _cube(tr.inventory_t[0], node, [periods, regions, ks], keep=uses)
    inventories = inventories.rename(columns={"value": "inventory_t"})
    inventories["draw_t"] = (tr.stock_draw_t[0] - tr.strategic_draw_t[0])[uses]
    inventories["build_t"] = (tr.stock_build_t[0] - tr.strategic_build_t[0])[uses]
    duals = tr.shadow_price_t[0]
    duals = _cube(duals, node, [periods, regions, ks], keep=np.isfinite(duals))  # fast mode has none
    duals = duals.rename(columns={"value": "shadow_price_per_t"})
    shortfall_rs = np.clip(demand - served, 0.0, None).sum(axis=2)  # (T, R, S)
    tables = {
        "chain": conform("chain", chain),
        "summary": summarise(demand.sum(axis=2), shortfall_rs, periods, regions, sectors),
        "production": conform("production", production),
        **flow_price_tables(baseline, plan, trajectory),
        "shortfall": conform("shortfall", short),
        "stocks": conform("stocks", stocks),
        "inventories": conform("inventories", inventories),
        "shadow_prices": conform("shadow_prices", duals),
        "leakage": conform("leakage", _leakage(plan, tr, periods, regions, ks)),
    }
    controllers = _controllers(scenario, list(regions))
    return tables | _share_tables(baseline, tr.shipped_t[0], controllers, periods)


def _leakage(plan: Plan, tr: Trajectory, periods: pd.PeriodIndex, regions: pd.Index, ks: pd.Index) -> pd.DataFrame:
    """The ``leakage`` table: each route's tonnes per month, commodity and target (nonzero)."""
    parts = []
    for v, r in enumerate(plan.routes):
        carried = tr.leaked_t[0][:, v]  # (T, K, R)
        part = _cube(carried, ["period", "commodity_id", "importer_id"], [periods, ks, regions], keep=carried > 1e-9)
        parts.append(part.assign(control=r.control, exporter_id=regions[r.controller], via_id=r.via))
    columns = ["period", "control", "exporter_id", "via_id", "importer_id", "commodity_id", "value"]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return out[columns].rename(columns={"value": "leaked_t"})


def summarise(
    demand: Array, shortfall: Array, periods: pd.PeriodIndex, regions: pd.Index, sectors: pd.Index
) -> pd.DataFrame:
    """Per region and sector with demand, from (T, R, S) demand and shortfall in tonnes: peak
    shortfall and its month (the first of equal peaks), cumulative shortfall, months at least
    :data:`RECOVERED_BELOW` short, first month short, months from the first to the last month
    short, and whether the last month with demand is not short.
    Worst (largest cumulative shortfall) first."""
    has = demand > 0
    share = np.divide(shortfall, demand, out=np.zeros_like(shortfall), where=has)
    hit = has & (share >= RECOVERED_BELOW)
    T = len(periods)
    first = hit.argmax(axis=0)
    last = T - 1 - hit[::-1].argmax(axis=0)
    last_demand = T - 1 - has[::-1].argmax(axis=0)
    any_hit: npt.NDArray[np.bool_] = np.asarray(hit.any(axis=0))
    r, s = np.nonzero(has.any(axis=0))  # region × sector pairs with demand
    table = pd.DataFrame(
        {
            "region_id": regions[r],
            "sector_id": sectors[s],
            "peak_shortfall_pct": 100.0 * share.max(axis=0)[r, s],  # share is 0 where there is no demand
            "peak_period": periods[share.argmax(axis=0)[r, s]],
            "cumulative_shortfall_t": shortfall.sum(axis=0)[r, s],
            "months_short": hit.sum(axis=0)[r, s],
            "first_short": periods[first[r, s]].where(any_hit[r, s]),
            "recovery_months": pd.array(np.where(any_hit, last - first + 1, 0)[r, s], dtype="Int64"),
            "recovered": (~any_hit | (last < last_demand))[r, s],
        }
    )
    table.loc[np.logical_not(any_hit[r, s]), "recovery_months"] = pd.NA
    table = table.sort_values(["region_id", "sector_id"]).sort_values(
        "cumulative_shortfall_t", ascending=False, kind="stable"
    )
    return conform("summary", table)


def _window(periods: pd.PeriodIndex, start: pd.Period, months: int) -> pd.PeriodIndex:
    """``months`` periods from ``start`` that lie in the run (empty when ``start`` is outside)."""
    return periods[(periods >= start) & (periods < start + months)] if start in periods else periods[:0]


#: Ratios below this count as this in ``abs_log_error``: a month the model ships nothing (ratio 0)
#: is a large, finite error (ln 1000 ≈ 6.9) that an optimiser can still descend from.
RATIO_FLOOR = 1e-3


def abs_log_error(simulated: npt.ArrayLike, observed: npt.ArrayLike) -> Array:
    """``|ln(simulated / observed)|`` with the ratio floored at :data:`RATIO_FLOOR`: symmetric in
    over- and undershoot by the same factor, and comparable across metrics of different units.
    NaN where either value is missing or the observed value is 0."""
    sim, obs = np.asarray(simulated, dtype=float), np.asarray(observed, dtype=float)
    ratio = np.divide(sim, obs, out=np.full(np.broadcast(sim, obs).shape, np.nan), where=obs > 0)
    return np.abs(np.log(np.maximum(ratio, RATIO_FLOOR)))


def _price(
    prices: pd.DataFrame, markets: pd.DataFrame, ob: Observation, members: list[str], window: pd.PeriodIndex
) -> float:
    """The simulated price index an observation names, averaged over its members and months: the
    world price, one region's market, or the markets outside a region weighted by base-year use."""
    if ob.region is None and ob.outside is None:
        mine = prices[prices["commodity_id"].isin(members) & prices["period"].isin(window)]
        return float(mine["price_index"].mean()) if len(mine) else float("nan")
    mine = markets[markets["commodity_id"].isin(members) & markets["period"].isin(window)]
    mine = mine[mine["region_id"] == ob.region] if ob.region is not None else mine[mine["region_id"] != ob.outside]
    # each member's market mean first, so a member used in many regions counts once
    weighted = (mine["price_index"] * mine["base_use_t"]).groupby([mine["period"], mine["commodity_id"]]).sum()
    weight = mine["base_use_t"].groupby([mine["period"], mine["commodity_id"]]).sum()
    return float((weighted / weight).mean()) if len(weight) else float("nan")


def compare_observed(
    tables: Mapping[str, pd.DataFrame],
    observations: list[Observation],
    groups: Mapping[str, tuple[str, ...]] | None = None,
) -> pd.DataFrame:
    """Observed values next to the simulated ones, with their ratio (simulated / observed), the
    observation's role and its :func:`abs_log_error`. Reads only the ``prices`` and ``flows``
    tables; an observation of a product group (``groups``: group → members) sums its members'
    flows."""
    if not observations:
        return _empty("observed")
    prices, markets = tables["prices"], tables["market_prices"]
    periods = pd.PeriodIndex(pd.unique(prices["period"]), freq="M")
    flows = tables["flows"]
    flows = flows[flows["exporter_id"] != flows["importer_id"]]
    rows = []
    for ob in observations:
        period = pd.Period(str(ob.period), freq="M")
        window = _window(periods, period, ob.months)
        members = list((groups or {}).get(ob.commodity, (ob.commodity,)))
        if ob.metric == "price_index":
            simulated = _price(prices, markets, ob, members, window)
        elif ob.metric in ("export_ratio", "flow_ratio"):
            exporter = ob.origin if ob.metric == "flow_ratio" else ob.region
            out = flows[flows["commodity_id"].isin(members) & (flows["exporter_id"] == exporter)]
            if ob.metric == "flow_ratio":
                out = out[out["importer_id"] == ob.region]
            first = float(out.loc[out["period"] == periods[0], "flow_t"].sum())
            total = float(out.loc[out["period"].isin(window), "flow_t"].sum())
            simulated = total / (first * len(window)) if first > 0 and len(window) else float("nan")
        else:
            into = flows[flows["commodity_id"].isin(members) & (flows["importer_id"] == ob.region)]
            into = into[into["period"].isin(window)]
            total = float(into["flow_t"].sum())
            mine_t = float(into.loc[into["exporter_id"] == ob.origin, "flow_t"].sum())
            simulated = mine_t / total if total > 0 else float("nan")
        rows.append(
            {
                "period": period,
                "months": ob.months,
                "metric": ob.metric,
                "commodity_id": ob.commodity,
                "region_id": ob.region,
                "origin_id": ob.origin,
                "outside_id": ob.outside,
                "observed": ob.value,
                "simulated": simulated,
                "simulated_over_observed": simulated / ob.value if ob.value > 0 else float("nan"),
                "role": ob.role,
                "abs_log_error": float(abs_log_error(simulated, ob.value)),
                "source": ob.source,
            }
        )
    return conform("observed", pd.DataFrame(rows))


def _empty(name: str) -> pd.DataFrame:
    return TABLES[name].empty()


def project_tables(
    baseline: Baseline, plan: Plan, trajectory: Trajectory, scenario: Scenario
) -> dict[str, pd.DataFrame]:
    """Capacity projects month by month (``project_months``) and in sum (``projects``).

    A project's output is its share of its node's capacity times the node's output. Learning is
    Wright's law on unit cost: ``cost/cost₀ = (Q/Q₀)^(−b)`` with ``b = −log₂(1 − learning_rate)``,
    ``Q`` the cumulative output and ``Q₀`` one month at nameplate capacity (the index is 1 until
    then); a technology ban has already cut the learning rate (:func:`build_plan`). The engine
    does not use costs to allocate, so learning shows here, not in the flows.
    """
    if not scenario.projects:
        return {"projects": _empty("projects"), "project_months": _empty("project_months")}
    T = len(plan.periods)
    produced = trajectory.production_t[0].reshape(T, -1)  # (T, nodes)
    periods = pd.PeriodIndex(plan.periods, freq="M")
    months, rows = [], []
    for j, p in enumerate(scenario.projects):
        cap = plan.project_capacity_t[:, j]
        node = plan.project_node[j]
        node_cap = plan.capacity_t[:, node] if node >= 0 else np.zeros(T)
        output = (
            np.divide(cap * produced[:, node], node_cap, out=np.zeros(T), where=node_cap > 0) if node >= 0 else cap * 0
        )
        cumulative = np.cumsum(output)
        first = p.capacity_t_per_yr / 12.0
        b = -np.log2(1.0 - plan.project_learning_rate[j])
        cost_index = np.where(cumulative > first, (np.maximum(cumulative, first) / first) ** -b, 1.0)
        months.append(
            pd.DataFrame(
                {
                    "period": periods,
                    "project": p.name,
                    "capacity_t": cap,
                    "output_t": output,
                    "cumulative_output_t": cumulative,
                    "unit_cost_index": cost_index,
                }
            )
        )
        online = np.flatnonzero(cap > 0)
        full = np.flatnonzero(cap >= first * (1 - 1e-9))
        rows.append(
            {
                "project": p.name,
                "region_id": p.region,
                "commodity_id": p.commodity,
                "capacity_t_per_yr": p.capacity_t_per_yr,
                "first_capacity": periods[online[0]] if len(online) else pd.NaT,
                "full_capacity": periods[full[0]] if len(full) else pd.NaT,
                "output_t": float(cumulative[-1]),
                "utilisation_at_end": float(output[-1] / cap[-1]) if cap[-1] > 0 else float("nan"),
                "learning_rate": float(plan.project_learning_rate[j]),
                "unit_cost_index_at_end": float(cost_index[-1]),
                "capex_usd": p.cost_usd,
                "capex_usd_per_t_per_yr": p.cost_usd / p.capacity_t_per_yr if p.capacity_t_per_yr > 0 else float("nan"),
            }
        )
    return {
        "projects": conform("projects", pd.DataFrame(rows)),
        "project_months": conform("project_months", pd.concat(months, ignore_index=True)),
    }


def price_floor_payments(tables: dict[str, pd.DataFrame], scenario: Scenario) -> pd.DataFrame:
    """Per price floor and month in force: the market price, the floor, the covered output and
    what the guarantor pays, ``max(0, floor − market) × covered output`` (USD; the market price
    is the commodity's base-year price × the simulated index)."""
    prices = tables["prices"].set_index(["period", "commodity_id"])["price_usd_per_kg"]
    production = tables["production"].set_index(["period", "region_id", "commodity_id"])["production_t"]
    periods = list(pd.unique(tables["prices"]["period"]))
    rows = []
    for pf in scenario.price_floors:
        last = len(periods) - 1 if pf.end is None else pf.end.index(scenario.start)
        for period in periods[pf.start.index(scenario.start) : last + 1]:
            market = float(prices.get((period, pf.commodity), np.nan))
            output = float(production.get((period, pf.region, pf.commodity), 0.0)) * pf.covered_share
            rows.append(
                {
                    "period": period,
                    "region_id": pf.region,
                    "commodity_id": pf.commodity,
                    "floor_usd_per_kg": pf.usd_per_kg,
                    "market_usd_per_kg": market,
                    "covered_output_t": output,
                    "payment_usd": max(0.0, pf.usd_per_kg - market) * output * 1000.0,
                }
            )
    return conform("price_floors", pd.DataFrame(rows)) if rows else _empty("price_floors")


def run_tables(baseline: Baseline, plan: Plan, trajectory: Trajectory, scenario: Scenario) -> dict[str, pd.DataFrame]:
    """Every registered table a single trajectory gives (all but the Monte Carlo ``uncertainty_*``)."""
    tables = tabulate(baseline, plan, trajectory, scenario)
    tables["observed"] = compare_observed(tables, scenario.observed, plan.groups)
    tables |= project_tables(baseline, plan, trajectory, scenario)
    tables["price_floors"] = price_floor_payments(tables, scenario)
    return tables
