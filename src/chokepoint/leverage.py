"""Who holds leverage over whom: cutoff costs, their balance, deterrence and indigenisation.

One directed **dependence** is a controller ``A`` that can cut a target ``B`` off in a domain
(advanced chips, chip-making tools, frontier AI, dollar finance, rare earths). Its figures come
from the dataset's ``leverage`` table or a pathway file's assumptions.

Model (yearly, ``t = 0 … H−1``):

- **Indigenisation.** The target substitutes at rate ``κ·e_t``, with ``κ = ln 10 / T_sub`` (90%
  of the dependence replaced after ``T_sub`` years of full effort) and effort
  ``e_t = e₀ + (1 − e₀)·ρ·c_t`` — a baseline effort ``e₀`` plus the response ``ρ`` to a control
  of coverage ``c_t`` (the share of the dependence the control covers). Dependence falls as
  ``d_{t+1} = d_t·exp(−κ·e_t)``: controls push the target to build alternatives.
- **Leverage** (what ``A`` could impose on ``B`` at ``t``): ``L_t = Y·d_t·(1 − λ)`` with ``Y`` the
  target's downstream output resting on the domain and ``λ`` enforcement leakage.
- **Cost of a cutoff** of coverage ``c_t``: to the target ``c_t·L_t``; to the controller, sales
  lost while controlled ``c_t·(1 − λ)·R·d_t/d₀`` plus market ceded to third countries
  ``c_t·m·R``, plus sales eroded for good ``R·(1 − d_t/d₀)`` (the target no longer buys what it
  learnt to make).
- **Balance** of a pair: ``A``'s leverage over ``B`` summed over domains minus ``B``'s over ``A``.
- **Deterrence** (a one-shot escalation game, discounted at ``r``): a side gains ``θ`` (the share
  of the cost it imposes that it captures as concessions) of the present value of the cost it can
  impose in its strongest domain, and pays the present value of its own cutoff cost plus the
  other side's best retaliation. Mutual restraint is stable in a year when neither side gains
  from escalating.

All functions are pure; :func:`run_pathway` returns tidy tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chokepoint.cutoff import loss_curve, simulated_cutoff
from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.yamlfile import load_yaml_model

__all__ = [
    "DECOUPLED",
    "ENGAGED",
    "SENSITIVITY_PARAMETERS",
    "Dependence",
    "Headline",
    "LeverageError",
    "Pathway",
    "assumptions_table",
    "balance_matrix",
    "break_even",
    "compare_pathways",
    "comparison_tables",
    "cutoff_costs",
    "dependence_path",
    "deterrence",
    "escalation_ladder",
    "find_pathway",
    "leverage_balance",
    "leverage_headline",
    "load_dependences",
    "load_pathway",
    "present_value",
    "run_pathway",
    "sensitivity",
    "shipped_pathways",
    "simulated_cutoffs",
    "substitution_rate",
]

Array = npt.NDArray[np.float64]
Share = Annotated[float, Field(ge=0.0, le=1.0)]


class LeverageError(ChokepointError):
    """A pathway file or leverage input that cannot be used."""


@dataclass(frozen=True)
class Dependence:
    """One directed dependence: ``target`` on ``controller`` in ``domain`` (yearly USD)."""

    controller: str
    target: str
    domain: str
    dependence: float  # d₀, share of the target's use supplied by the controller (and allies)
    downstream_output_usd: float  # Y
    controller_revenue_usd: float  # R
    market_ceded_share: float  # m
    leakage_share: float  # λ
    substitution_years: float  # T_sub
    #: The cost of a control of coverage c as a share of a complete cutoff's, tabulated
    #: (coverages, shares) — simulated for rare earths; ``None`` means proportional (share = c).
    loss_share: tuple[tuple[float, ...], tuple[float, ...]] | None = None

    def cost_share(self, coverage: npt.ArrayLike) -> Array:
        """Share of a complete cutoff's cost to the target that a control of ``coverage`` imposes."""
        c = np.asarray(coverage, dtype=float)
        if self.loss_share is None:
            return c
        return np.interp(c, self.loss_share[0], self.loss_share[1])


def substitution_rate(substitution_years: float) -> float:
    """``κ = ln 10 / T_sub``: at full effort, 90% of the dependence is replaced in ``T_sub`` years."""
    if substitution_years <= 0:
        raise LeverageError(f"substitution_years must be positive, got {substitution_years}")
    return math.log(10.0) / substitution_years


def dependence_path(d0: float, rate: npt.ArrayLike, effort: npt.ArrayLike) -> Array:
    """``d_0 = d0``, ``d_{t+1} = d_t·exp(−rate_t·e_t)`` for the yearly efforts ``e_t`` (0–1) and a
    rate constant or per year."""
    e = np.asarray(effort, dtype=float)
    steps = np.concatenate([[0.0], np.cumsum(np.asarray(rate, dtype=float) * e)[:-1]])
    return d0 * np.exp(-steps)


def present_value(values: npt.ArrayLike, discount_rate: float) -> float:
    """``Σ_t v_t / (1 + r)^t``."""
    v = np.asarray(values, dtype=float)
    return float(np.sum(v / (1.0 + discount_rate) ** np.arange(len(v))))


def _paths(
    dep: Dependence, coverage: Array, baseline_effort: float, response: float, rate_factor: npt.ArrayLike
) -> tuple[Array, Array, Array]:
    """Yearly effort ``e_t``, rate factor ``f_t`` and dependence ``d_t`` under ``coverage``."""
    effort = baseline_effort + (1.0 - baseline_effort) * response * coverage
    factor = np.broadcast_to(np.asarray(rate_factor, dtype=float), coverage.shape)
    d = dependence_path(dep.dependence, substitution_rate(dep.substitution_years) * factor, effort)
    return effort, factor, d


def _controller_cost(dep: Dependence, coverage: npt.ArrayLike, d: Array) -> Array:
    """What a control of ``coverage`` costs the controller at dependence ``d``: blocked sales
    ``c·(1 − λ)·R·d/d₀`` + ceded market ``c·m·R`` + sales eroded for good ``R·(1 − d/d₀)``."""
    kept = np.divide(d, dep.dependence, out=np.zeros_like(d), where=dep.dependence > 0)
    r = dep.controller_revenue_usd
    return np.asarray(coverage) * r * ((1.0 - dep.leakage_share) * kept + dep.market_ceded_share) + r * (1.0 - kept)


def cutoff_costs(
    dep: Dependence,
    coverage: npt.ArrayLike,
    baseline_effort: float,
    response: float,
    rate_factor: npt.ArrayLike = 1.0,
) -> pd.DataFrame:
    """Yearly dependence, leverage and cutoff costs of ``dep`` under control ``coverage`` (0–1 per
    year), the target's substitution rate scaled each year by ``rate_factor`` (below 1 where
    controls deny it what substitution needs); see the module docs for the equations. Indexed by
    year offset ``t``. ``cutoff_cost_to_controller_usd`` is what a complete cutoff would cost the
    controller that year (its cost to the target is ``leverage_usd``)."""
    c = np.asarray(coverage, dtype=float)
    effort, factor, d = _paths(dep, c, baseline_effort, response, rate_factor)
    leverage = dep.downstream_output_usd * d * (1.0 - dep.leakage_share)
    return pd.DataFrame(
        {
            "coverage": c,
            "effort": effort,
            "rate_factor": factor,
            "dependence_share": d,
            "leverage_usd": leverage,
            "cost_to_target_usd": dep.cost_share(c) * leverage,
            "cost_to_controller_usd": _controller_cost(dep, c, d),
            "cutoff_cost_to_controller_usd": _controller_cost(dep, 1.0, d),
        },
        index=pd.RangeIndex(len(c), name="t"),
    )


def leverage_balance(table: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Per year: ``a``'s leverage over ``b`` (summed over domains), ``b``'s over ``a``, and the net.

    ``table`` has columns t, controller_id, target_id, leverage_usd.
    """
    totals = table.groupby(["t", "controller_id", "target_id"])["leverage_usd"].sum()
    over_b = totals.xs((a, b), level=("controller_id", "target_id")) if (a, b) in _pairs(totals) else None
    over_a = totals.xs((b, a), level=("controller_id", "target_id")) if (b, a) in _pairs(totals) else None
    years = sorted(set(table["t"]))
    out = pd.DataFrame(index=pd.Index(years, name="t"))
    out[f"{a}_over_{b}_usd"] = over_b.reindex(years).fillna(0.0) if over_b is not None else 0.0
    out[f"{b}_over_{a}_usd"] = over_a.reindex(years).fillna(0.0) if over_a is not None else 0.0
    out["net_usd"] = out[f"{a}_over_{b}_usd"] - out[f"{b}_over_{a}_usd"]
    return out


def _pairs(totals: pd.Series) -> set[tuple[str, str]]:
    return set(zip(totals.index.get_level_values(1), totals.index.get_level_values(2), strict=True))


def deterrence(gain: float, own_cost: float, retaliation: float) -> bool:
    """Restraint holds for a side when escalating does not pay: ``gain ≤ own_cost + retaliation``
    (all present values, from the side's point of view)."""
    return gain <= own_cost + retaliation


class PathwayControl(BaseModel):
    """A control in force in a pathway: ``coverage`` of the dependence from ``start`` to ``end``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    controller: str
    target: str
    domain: str
    coverage: Share
    start: int
    end: int | None = None


class Denial(BaseModel):
    """Controls on ``via`` slow the target's substitution in ``domain``: its rate is multiplied by
    ``1 − strength·c_t`` with ``c_t`` the coverage of the control on ``via`` (tools denied cannot
    build the substitutes; compute denied cannot train them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    controller: str
    target: str
    domain: str
    via: str
    strength: Share
    rationale: str


class Assumption(BaseModel):
    """A value the pathway sets for a dependence's metric (overrides or fills the dataset)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    controller: str
    target: str
    domain: str
    metric: str
    value: Annotated[float, Field(ge=0.0)]
    rationale: str


class Pathway(BaseModel):
    """A policy pathway: which controls are in force each year, and the game's parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    description: str = ""
    start_year: int = 2025
    horizon_years: Annotated[int, Field(ge=1, le=50)] = 15
    data_year: int = 2024
    discount_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.05
    coercion_share: Share = 0.1
    baseline_effort: Share = 0.2
    effort_response: Share = 1.0
    controls: list[PathwayControl] = []
    denials: list[Denial] = []
    assumptions: list[Assumption] = []

    @model_validator(mode="after")
    def _years(self) -> Self:
        for i, c in enumerate(self.controls):
            if c.end is not None and c.end < c.start:
                raise ValueError(f"controls[{i}]: end {c.end} is before start {c.start}")
        return self


def load_pathway(path: Path | str) -> Pathway:
    """Read and validate a pathway file (one-line :class:`LeverageError` for any problem)."""
    return load_yaml_model(path, Pathway, LeverageError, "pathway")


_METRICS = (
    "dependence_share",
    "downstream_output_usd",
    "controller_revenue_usd",
    "market_ceded_share",
    "leakage_share",
    "substitution_years",
)


#: Domains whose cutoff cost is simulated (:mod:`chokepoint.cutoff`), not read as a figure, and
#: the material each stands for in the supply network.
SIMULATED_DOMAINS = {"rare_earths": "rare_earths"}


#: The Dependence field each metric fills.
_FIELDS = (
    "dependence",
    "downstream_output_usd",
    "controller_revenue_usd",
    "market_ceded_share",
    "leakage_share",
    "substitution_years",
)


def load_dependences(ds: Dataset, pathway: Pathway) -> list[Dependence]:
    """Every directed dependence with all metrics, from the dataset's ``leverage`` rows of
    ``pathway.data_year`` overridden by the pathway's assumptions; a missing metric is an error
    naming it (never a silent default).

    For rare earths the output at stake is simulated: ``Y = loss₁ / d₀`` with ``loss₁`` the
    target's sector output lost in the first year of a complete cutoff
    (:func:`chokepoint.cutoff.loss_curve`), and a partial control costs the simulated share of it
    — unless the pathway's assumptions set ``downstream_output_usd`` themselves."""
    rows = ds["leverage"]
    rows = rows[rows["year"] == pathway.data_year]
    values: dict[tuple[str, str, str], dict[str, float]] = {}
    for c, t, d, m, v in zip(
        rows["controller_id"], rows["target_id"], rows["domain"], rows["metric"], rows["value"], strict=True
    ):
        values.setdefault((str(c), str(t), str(d)), {})[str(m)] = float(v)
    assumed = set()
    for a in pathway.assumptions:
        values.setdefault((a.controller, a.target, a.domain), {})[a.metric] = a.value
        assumed.add((a.controller, a.target, a.domain, a.metric))
    out = []
    for (c, t, d), metrics in sorted(values.items()):
        loss_share = None
        simulate = d in SIMULATED_DOMAINS and (c, t, d, "downstream_output_usd") not in assumed
        if simulate and metrics.get("dependence_share", 0.0) > 0:
            # a wider control never costs the target less (the engine's rerouting is not exactly
            # monotone in the licensed share: keep the running maximum)
            curve = loss_curve(ds, c, t, pathway.data_year, material=SIMULATED_DOMAINS[d]).cummax()
            full = float(curve.iloc[-1])
            metrics["downstream_output_usd"] = full / metrics["dependence_share"]
            if full > 0:
                loss_share = (tuple(curve.index.astype(float)), tuple(curve.to_numpy() / full))
        missing = [m for m in _METRICS if m not in metrics]
        if missing:
            raise LeverageError(
                f"{pathway.name}: {c}→{t} {d} has no {missing[0]} for {pathway.data_year}; add a leverage row "
                f"or an assumptions entry (controller: {c}, target: {t}, domain: {d}, metric: {missing[0]})"
            )
        figures = dict(zip(_FIELDS, (metrics[m] for m in _METRICS), strict=True))
        out.append(Dependence(c, t, d, loss_share=loss_share, **figures))
    _check_denials(pathway, {(x.controller, x.target, x.domain) for x in out})
    return out


def simulated_cutoffs(ds: Dataset, pathway: Pathway, a: str, b: str) -> pd.DataFrame:
    """For each dependence between ``a`` and ``b`` whose cost is simulated (rare earths): the
    target's shortfall in the first year of a complete cutoff, valued by sector
    (:func:`chokepoint.cutoff.simulated_cutoff`), with ``direction`` and ``domain`` columns."""
    assumed = {(x.controller, x.target, x.domain) for x in pathway.assumptions if x.metric == "downstream_output_usd"}
    frames = [
        simulated_cutoff(
            ds, d.controller, d.target, 1.0, pathway.data_year, material=SIMULATED_DOMAINS[d.domain]
        ).assign(direction=f"{d.controller}→{d.target}", domain=d.domain)
        for d in _pair(load_dependences(ds, pathway), pathway, a, b)
        if d.domain in SIMULATED_DOMAINS and (d.controller, d.target, d.domain) not in assumed
    ]
    if not frames:
        return pd.DataFrame(columns=["direction", "domain", "sector_id", "value_lost_usd"])
    out = pd.concat(frames, ignore_index=True)
    return out.loc[:, ["direction", "domain", *out.columns.drop(["direction", "domain"])]]


def _check_denials(pathway: Pathway, known: set[tuple[str, str, str]]) -> None:
    for i, n in enumerate(pathway.denials):
        if n.via == n.domain:
            raise LeverageError(
                f"{pathway.name}: denials[{i}].via: {n.via!r} is the denied domain itself; a control's own "
                "effect on substitution is effort_response"
            )
        for field, key in (("domain", (n.controller, n.target, n.domain)), ("via", (n.controller, n.target, n.via))):
            if key not in known:
                raise LeverageError(
                    f"{pathway.name}: denials[{i}].{field}: no dependence {key[0]}→{key[1]} {key[2]!r} "
                    "in the data or assumptions"
                )


def run_pathway(ds: Dataset, pathway: Pathway, a: str, b: str) -> dict[str, pd.DataFrame]:
    """Run ``pathway`` for the pair ``a``, ``b``: yearly dependence, leverage and costs per domain
    and direction (``domains``), the balance (``balance``) and the deterrence check (``deterrence``)."""
    return _run(_pair(load_dependences(ds, pathway), pathway, a, b), pathway, a, b)


def _pair(deps: list[Dependence], pathway: Pathway, a: str, b: str) -> list[Dependence]:
    pair = [d for d in deps if {d.controller, d.target} == {a, b}]
    if not pair:
        raise LeverageError(f"{pathway.name}: no dependence between {a} and {b} in the data or assumptions")
    return pair


def _coverage(pathway: Pathway, key: tuple[str, str, str], years: Array) -> Array:
    """Yearly coverage of the (controller, target, domain) ``key`` under the pathway's controls
    (the largest where they overlap)."""
    coverage = np.zeros(len(years))
    for c in pathway.controls:
        if (c.controller, c.target, c.domain) == key:
            live = (years >= c.start) & (years <= (c.end if c.end is not None else years[-1]))
            coverage[live] = np.maximum(coverage[live], c.coverage)
    return coverage


def _rate_factor(pathway: Pathway, dep: Dependence, years: Array) -> Array:
    """Yearly factor on ``dep``'s substitution rate from the pathway's denials: the product of
    ``1 − strength·c_via``."""
    factor = np.ones(len(years))
    for n in pathway.denials:
        if (n.controller, n.target, n.domain) == (dep.controller, dep.target, dep.domain):
            factor *= 1.0 - n.strength * _coverage(pathway, (n.controller, n.target, n.via), years)
    return factor


def _run(deps: list[Dependence], pathway: Pathway, a: str, b: str) -> dict[str, pd.DataFrame]:
    H = pathway.horizon_years
    years = pathway.start_year + np.arange(H)
    frames = []
    for dep in deps:
        key = (dep.controller, dep.target, dep.domain)
        coverage = _coverage(pathway, key, years.astype(float))
        factor = _rate_factor(pathway, dep, years.astype(float))
        costs = cutoff_costs(dep, coverage, pathway.baseline_effort, pathway.effort_response, factor)
        frames.append(
            costs.reset_index().assign(
                year=years, controller_id=dep.controller, target_id=dep.target, domain=dep.domain
            )
        )
    domains = pd.concat(frames, ignore_index=True)
    balance = leverage_balance(domains, a, b).assign(year=years).reset_index()
    checks = []
    for t in range(H):
        rest = domains[domains["t"] >= t]
        row: dict[str, object] = {"t": t, "year": int(years[t])}
        for side, other in ((a, b), (b, a)):
            mine = rest[rest["controller_id"] == side]
            theirs = rest[rest["controller_id"] == other]
            gain = best_own = retaliation = 0.0
            if len(mine):
                by_domain = mine.groupby("domain")
                pv_lev = by_domain["leverage_usd"].apply(lambda s: present_value(s, pathway.discount_rate))
                best = str(pv_lev.idxmax())
                gain = pathway.coercion_share * float(pv_lev.max())
                # escalating fully in its strongest domain costs the side its own sales there
                chosen = next(d for d in deps if d.controller == side and d.domain == best)
                # from the dependence the target still has at t: what is already eroded is sunk
                now = mine[(mine["t"] == t) & (mine["domain"] == best)]["dependence_share"].iloc[0]
                chosen = replace(chosen, dependence=float(now))
                factor = _rate_factor(pathway, chosen, years[t:].astype(float))
                full = cutoff_costs(chosen, np.ones(H - t), pathway.baseline_effort, pathway.effort_response, factor)
                best_own = present_value(full["cost_to_controller_usd"], pathway.discount_rate)
            if len(theirs):
                pv_ret = theirs.groupby("domain")["leverage_usd"].apply(
                    lambda s: present_value(s, pathway.discount_rate)
                )
                retaliation = float(pv_ret.max())
            row[f"{side}_gain_usd"] = gain
            row[f"{side}_own_cost_usd"] = best_own
            row[f"{side}_retaliation_usd"] = retaliation
            row[f"{side}_restrained"] = deterrence(gain, best_own, retaliation)
        row["deterrence_holds"] = bool(row[f"{a}_restrained"] and row[f"{b}_restrained"])
        checks.append(row)
    return {"domains": domains, "balance": balance, "deterrence": pd.DataFrame(checks)}


# --- pathways side by side ------------------------------------------------------------------------

#: The two pathways the headline sets against each other (the seed argument's two policies).
DECOUPLED = "blanket-decoupling"
ENGAGED = "calibrated-engagement"

#: The pathway files shipped with the package (copy one to edit it; ``chokepoint leverage pathways``).
PATHWAYS_DIR = Path(__file__).resolve().parent / "pathways"


def shipped_pathways() -> list[Path]:
    """The shipped pathway files, in name order."""
    return sorted(PATHWAYS_DIR.glob("*.yaml"))


def find_pathway(name_or_path: str | Path) -> Pathway:
    """A shipped pathway by name (``calibrated-engagement``), or a pathway YAML file by path."""
    text = str(name_or_path)
    path = Path(text)
    if path.suffix in {".yaml", ".yml"} or path.parent != Path(".") or path.is_file():
        return load_pathway(path)
    for candidate in shipped_pathways():
        if candidate.stem == text:
            return load_pathway(candidate)
    names = ", ".join(p.stem for p in shipped_pathways()) or "none found"
    raise LeverageError(f"unknown pathway {text!r}; shipped pathways: {names}; or give the path to a YAML file")


def _tables(deps: list[Dependence], pathway: Pathway, a: str, b: str) -> dict[str, pd.DataFrame]:
    out = _run(deps, pathway, a, b)
    domains = out["domains"]
    balance = out["balance"]
    deter = out["deterrence"]
    pair = balance[["year", "net_usd"]].merge(deter[["year", "deterrence_holds"]], on="year")
    comparison = (
        domains.assign(
            pathway=pathway.name,
            direction=domains["controller_id"] + "→" + domains["target_id"],
        )
        .merge(pair.rename(columns={"net_usd": "net_balance_usd"}), on="year")
        .loc[:, _COMPARISON_COLUMNS]
    )
    return {
        "comparison": comparison,
        "balance": balance.assign(pathway=pathway.name).loc[:, ["pathway", "year", *balance.columns.drop("year")]],
        "deterrence": deter.assign(pathway=pathway.name).loc[:, ["pathway", *deter.columns]],
    }


_COMPARISON_COLUMNS = [
    "pathway",
    "year",
    "t",
    "direction",
    "controller_id",
    "target_id",
    "domain",
    "coverage",
    "effort",
    "rate_factor",
    "dependence_share",
    "leverage_usd",
    "cost_to_target_usd",
    "cost_to_controller_usd",
    "cutoff_cost_to_controller_usd",
    "net_balance_usd",
    "deterrence_holds",
]


def comparison_tables(ds: Dataset, pathways: list[Pathway], a: str, b: str) -> dict[str, pd.DataFrame]:
    """Run every pathway for ``a``, ``b`` and stack the results: ``comparison`` (see
    :func:`compare_pathways`), ``balance`` and ``deterrence`` (one row per pathway × year) and the
    ``matrix`` of :func:`balance_matrix`."""
    return _stack([_tables(_pair(load_dependences(ds, p), p, a, b), p, a, b) for p in _unique(pathways)])


def _unique(pathways: list[Pathway]) -> list[Pathway]:
    if not pathways:
        raise LeverageError("no pathway to compare; give at least one")
    names = [p.name for p in pathways]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise LeverageError(f"pathway name {twice[0]!r} is used twice; give each pathway a distinct name")
    return pathways


def _stack(parts: list[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    out = {k: pd.concat([p[k] for p in parts], ignore_index=True) for k in parts[0]}
    out["matrix"] = balance_matrix(out["comparison"])
    years = out["comparison"]["year"]
    out["ladder"] = pd.concat(
        [escalation_ladder(balance_matrix(out["comparison"], year=int(y))) for y in sorted({years.min(), years.max()})],
        ignore_index=True,
    )
    return out


def compare_pathways(ds: Dataset, pathways: list[Pathway], a: str, b: str) -> pd.DataFrame:
    """The pathways side by side, tidy: one row per pathway × year × direction × domain.

    Columns: ``coverage`` of the control in force, the target's substitution ``effort``,
    ``dependence_share`` ``d_t``, ``leverage_usd`` ``L_t``, this year's ``cost_to_target_usd`` and
    ``cost_to_controller_usd`` of the control in force, ``cutoff_cost_to_controller_usd`` (what a
    complete cutoff would cost the controller that year; its cost to the target is ``L_t``), and
    per pathway × year ``net_balance_usd`` (``a``'s leverage over ``b`` summed over domains minus
    ``b``'s over ``a``) and ``deterrence_holds`` (mutual restraint is stable).
    """
    return comparison_tables(ds, pathways, a, b)["comparison"]


def balance_matrix(comparison: pd.DataFrame, year: int | None = None) -> pd.DataFrame:
    """Domains × direction in one year (default: each pathway's last): the cost of a complete
    cutoff to the target (``L_t``) and to the controller, and their ratio (cost imposed per dollar
    of cost borne; above 1 the controller hurts the target more than itself)."""
    if year is None:
        last = comparison.groupby("pathway")["year"].transform("max")
        rows = comparison[comparison["year"] == last]
    else:
        rows = comparison[comparison["year"] == year]
    own = rows["cutoff_cost_to_controller_usd"]
    ratio = np.divide(
        rows["leverage_usd"].to_numpy(), own.to_numpy(), out=np.full(len(rows), np.nan), where=own.to_numpy() > 0
    )
    return (
        rows.assign(cutoff_cost_ratio=ratio)
        .loc[
            :,
            [
                "pathway",
                "year",
                "direction",
                "domain",
                "coverage",
                "dependence_share",
                "leverage_usd",
                "cutoff_cost_to_controller_usd",
                "cutoff_cost_ratio",
            ],
        ]
        .reset_index(drop=True)
    )


def escalation_ladder(matrix: pd.DataFrame) -> pd.DataFrame:
    """Each side's escalation ladder and the other side's answers, from a :func:`balance_matrix`.

    Per pathway and side, the rungs are the side's domains from the cheapest complete cutoff to
    the dearest (its own cost), each with the cost it imposes and its ratio. The ``answer`` to a
    rung is the other side's cheapest cutoff that imposes at least as much as the rung does (a
    proportionate answer), with its costs; where the other side has none, the rung gives the side
    ``escalation_dominance`` (the other side's strongest rung, if any, is reported instead).
    """
    rows = []
    for (pathway, year), g in matrix.groupby(["pathway", "year"], sort=False):
        sides = g.assign(side=g["direction"].str.split("→").str[0])
        for side, mine in sides.groupby("side", sort=False):
            theirs = sides[sides["side"] != side].sort_values("cutoff_cost_to_controller_usd")
            ladder = mine.sort_values(["cutoff_cost_to_controller_usd", "leverage_usd"], ascending=[True, False])
            for rung, r in enumerate(ladder.itertuples(index=False), start=1):
                enough = theirs[theirs["leverage_usd"] >= r.leverage_usd]
                dominant = enough.empty
                answer = (theirs.nlargest(1, "leverage_usd") if dominant else enough.head(1)).to_dict("records")
                a = answer[0] if answer else {}
                rows.append(
                    {
                        "pathway": pathway,
                        "year": year,
                        "side": side,
                        "rung": rung,
                        "domain": r.domain,
                        "cost_to_other_usd": r.leverage_usd,
                        "cost_to_self_usd": r.cutoff_cost_to_controller_usd,
                        "cost_ratio": r.cutoff_cost_ratio,
                        "answer_domain": a.get("domain"),
                        "answer_cost_to_self_usd": a.get("cutoff_cost_to_controller_usd", math.nan),
                        "answer_cost_to_other_usd": a.get("leverage_usd", math.nan),
                        "escalation_dominance": dominant,
                    }
                )
    return pd.DataFrame(rows, columns=_LADDER_COLUMNS)


_LADDER_COLUMNS = [
    "pathway",
    "year",
    "side",
    "rung",
    "domain",
    "cost_to_other_usd",
    "cost_to_self_usd",
    "cost_ratio",
    "answer_domain",
    "answer_cost_to_self_usd",
    "answer_cost_to_other_usd",
    "escalation_dominance",
]


# --- the headline ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """Whether, and from when, blanket decoupling leaves ``a`` with less total leverage over ``b``
    than calibrated engagement, with one row per pathway in ``pathways``."""

    a: str
    b: str
    pathways: pd.DataFrame
    decoupled: str
    engaged: str
    less_leverage: bool | None  # None when one of the two pathways was not run
    from_year: int | None  # first year the decoupled pathway's leverage is below the engaged one's
    last_year: int | None
    gap_usd: float | None  # decoupled minus engaged, last year
    gap_share: float | None  # the gap as a share of the engaged pathway's leverage, last year

    @property
    def text(self) -> str:
        """The headline as one sentence."""
        if self.less_leverage is None:
            return f"The headline compares {self.decoupled} with {self.engaged}; run both pathways to compute it."
        last = self.pathways.set_index("pathway")["a_over_b_last_usd"]
        dec, eng = float(last[self.decoupled]), float(last[self.engaged])
        amounts = (
            f"by {self.last_year} {self.a}'s leverage over {self.b} is USD {_bn(dec)} "
            f"against USD {_bn(eng)} ({100 * (self.gap_share or 0.0):+.1f}%)"
        )
        if self.less_leverage:
            return (
                f"Blanket decoupling leaves {self.a} with less leverage over {self.b} than calibrated engagement "
                f"from {self.from_year}: {amounts}."
            )
        return (
            f"Blanket decoupling does not leave {self.a} with less leverage over {self.b} than calibrated "
            f"engagement by {self.last_year}: {amounts}."
        )

    def conclusion(self) -> dict[str, object]:
        """The discrete findings a sensitivity run checks for change: the headline verdict, and per
        pathway who the balance favours at the horizon and whether deterrence holds every year."""
        out: dict[str, object] = {"less_leverage": self.less_leverage}
        for r in self.pathways.to_dict("records"):
            out[f"{r['pathway']}: balance favours"] = r["balance_favours"]
            out[f"{r['pathway']}: deterrence holds every year"] = bool(r["deterrence_years_failing"] == 0)
        return out


def _bn(value: float) -> str:
    return f"{value / 1e9:,.0f} bn" if abs(value) >= 1e10 else f"{value / 1e9:,.1f} bn"


def _first_year(years: pd.Series, mask: pd.Series) -> int | None:
    hit = years[mask.to_numpy()]
    return int(hit.iloc[0]) if len(hit) else None


def leverage_headline(
    comparison: pd.DataFrame,
    a: str,
    b: str,
    *,
    discount_rate: float = 0.05,
    decoupled: str = DECOUPLED,
    engaged: str = ENGAGED,
    tolerance: float = 1e-9,
) -> Headline:
    """Per pathway: ``a``'s total leverage over ``b`` in the first and last year, ``b``'s over
    ``a``, the net balance and whom it favours, the first year the balance changes side, the years
    deterrence fails, and the present value (at ``discount_rate``) of the costs each side bears from
    the controls in force. Then the verdict: is ``decoupled``'s leverage of ``a`` over ``b`` below
    ``engaged``'s by more than ``tolerance`` (relative) in the last year, and from which year."""
    totals = (
        comparison.groupby(["pathway", "year", "controller_id"], sort=False)["leverage_usd"]
        .sum()
        .unstack("controller_id")
        .reindex(columns=[a, b])
        .fillna(0.0)
    )
    rows = []
    for name, g in comparison.groupby("pathway", sort=False):
        t = totals.loc[name]
        per_year = g.groupby("year").agg(net=("net_balance_usd", "first"), holds=("deterrence_holds", "first"))
        years = pd.Series(per_year.index)
        sign = np.sign(per_year["net"].to_numpy())
        changed = pd.Series(sign != sign[0])
        to_a = g["controller_id"] == a
        cost_a = np.where(to_a, g["cost_to_controller_usd"], g["cost_to_target_usd"])
        cost_b = np.where(to_a, g["cost_to_target_usd"], g["cost_to_controller_usd"])
        pv = (1.0 + discount_rate) ** -g["t"].to_numpy(dtype=float)
        net_last = float(per_year["net"].iloc[-1])
        rows.append(
            {
                "pathway": name,
                "first_year": int(years.iloc[0]),
                "last_year": int(years.iloc[-1]),
                "a_over_b_first_usd": float(t[a].iloc[0]),
                "a_over_b_last_usd": float(t[a].iloc[-1]),
                "b_over_a_last_usd": float(t[b].iloc[-1]),
                "net_last_usd": net_last,
                "balance_favours": a if net_last > 0 else (b if net_last < 0 else "neither"),
                "balance_changes_side": _first_year(years, changed),
                "deterrence_years_failing": int((~per_year["holds"].astype(bool)).sum()),
                "deterrence_fails_from": _first_year(years, ~per_year["holds"].astype(bool)),
                "pv_cost_to_a_usd": float(np.sum(cost_a * pv)),
                "pv_cost_to_b_usd": float(np.sum(cost_b * pv)),
            }
        )
    table = pd.DataFrame(rows)
    for col in ("balance_changes_side", "deterrence_fails_from"):
        table[col] = table[col].astype("Int64")
    if decoupled not in totals.index.get_level_values(0) or engaged not in totals.index.get_level_values(0):
        return Headline(a, b, table, decoupled, engaged, None, None, None, None, None)
    by_pathway = totals[a].unstack("pathway")
    both = by_pathway[[decoupled, engaged]].dropna()
    common = both.index
    dec, eng = both[decoupled], both[engaged]
    below = dec < eng * (1.0 - tolerance)
    gap = float(dec.iloc[-1] - eng.iloc[-1])
    return Headline(
        a,
        b,
        table,
        decoupled,
        engaged,
        less_leverage=bool(below.iloc[-1]),
        from_year=_first_year(pd.Series(common), below) if bool(below.iloc[-1]) else None,
        last_year=int(common[-1]),
        gap_usd=gap,
        gap_share=gap / float(eng.iloc[-1]) if eng.iloc[-1] > 0 else None,
    )


# --- one-at-a-time sensitivity --------------------------------------------------------------------

#: Parameters :func:`sensitivity` varies: the pathway's game and effort parameters, and metrics of
#: every dependence (all domains, both directions at once).
PATHWAY_PARAMETERS = ("baseline_effort", "effort_response", "coercion_share", "discount_rate")
DEPENDENCE_PARAMETERS = {
    "substitution_years": "substitution_years",
    "leakage_share": "leakage_share",
    "dependence_share": "dependence",
}
SENSITIVITY_PARAMETERS = (
    "substitution_years",
    "baseline_effort",
    "effort_response",
    "denial_strength",
    "leakage_share",
    "coercion_share",
    "discount_rate",
    "dependence_share",
)
#: Valid range of each parameter; scaled values are clipped into it.
_BOUNDS = dict.fromkeys((*PATHWAY_PARAMETERS, "denial_strength", "leakage_share", "dependence_share"), (0.0, 1.0)) | {
    "substitution_years": (1e-6, math.inf)
}


def _scaled(value: float, name: str, factor: float) -> float:
    lo, hi = _BOUNDS[name]
    return float(min(max(value * factor, lo), hi))


def _vary(
    deps: dict[str, list[Dependence]], pathways: list[Pathway], name: str, factor: float
) -> tuple[dict[str, list[Dependence]], list[Pathway], list[float], list[float]]:
    """The inputs with ``name`` scaled by ``factor``, and the values before and after."""
    if name == "denial_strength":
        before = [n.strength for p in pathways for n in p.denials]
        varied = [
            p.model_copy(
                update={
                    "denials": [n.model_copy(update={"strength": _scaled(n.strength, name, factor)}) for n in p.denials]
                }
            )
            for p in pathways
        ]
        return deps, varied, before, [n.strength for p in varied for n in p.denials]
    if name in PATHWAY_PARAMETERS:
        before = [float(getattr(p, name)) for p in pathways]
        after = [_scaled(v, name, factor) for v in before]
        varied = [p.model_copy(update={name: v}) for p, v in zip(pathways, after, strict=True)]
        return deps, varied, before, after
    field = DEPENDENCE_PARAMETERS[name]
    before = [float(getattr(d, field)) for pair in deps.values() for d in pair]
    new = {
        k: [_with(d, field, _scaled(float(getattr(d, field)), name, factor)) for d in pair] for k, pair in deps.items()
    }
    after = [float(getattr(d, field)) for pair in new.values() for d in pair]
    return new, pathways, before, after


def _with(dep: Dependence, field: str, value: float) -> Dependence:
    changes: dict[str, Any] = {field: value}
    return replace(dep, **changes)


def _headline_of(
    deps: dict[str, list[Dependence]], pathways: list[Pathway], a: str, b: str, decoupled: str, engaged: str
) -> Headline:
    tables = _stack([_tables(deps[p.name], p, a, b) for p in pathways])
    rate = next((p.discount_rate for p in pathways if p.name == engaged), pathways[0].discount_rate)
    return leverage_headline(tables["comparison"], a, b, discount_rate=rate, decoupled=decoupled, engaged=engaged)


def sensitivity(
    ds: Dataset,
    base: list[Pathway],
    a: str,
    b: str,
    parameters: Sequence[str] = SENSITIVITY_PARAMETERS,
    factors: Sequence[float] = (0.5, 2.0),
    *,
    decoupled: str = DECOUPLED,
    engaged: str = ENGAGED,
) -> pd.DataFrame:
    """One-at-a-time sensitivity of the headline: each parameter scaled by each factor (clipped to
    its valid range) in every pathway, or in every dependence for ``substitution_years``,
    ``leakage_share`` and ``dependence_share``, everything else at its base value.

    One row per parameter × factor after a ``base`` row: the values before and after (min and max
    over pathways or dependences), the verdict (``less_leverage``, ``from_year``, ``gap_share``),
    ``flips`` (the verdict differs from the base run's) and ``changes`` (every finding of
    :meth:`Headline.conclusion` that differs, and a moved ``from_year``).
    """
    pathways = _unique(base)
    unknown = [p for p in parameters if p not in SENSITIVITY_PARAMETERS]
    if unknown:
        raise LeverageError(
            f"unknown sensitivity parameter {unknown[0]!r}; choose from {', '.join(SENSITIVITY_PARAMETERS)}"
        )
    deps = {p.name: _pair(load_dependences(ds, p), p, a, b) for p in pathways}
    ref = _headline_of(deps, pathways, a, b, decoupled, engaged)
    ref_conclusion = ref.conclusion()
    rows = [_sensitivity_row("base", 1.0, [], [], ref, ref, ref_conclusion)]
    for name in parameters:
        for factor in factors:
            new_deps, new_pathways, before, after = _vary(deps, pathways, name, factor)
            head = _headline_of(new_deps, new_pathways, a, b, decoupled, engaged)
            rows.append(_sensitivity_row(name, factor, before, after, head, ref, ref_conclusion))
    out = pd.DataFrame(rows)
    out["from_year"] = out["from_year"].astype("Int64")
    return out


def _sensitivity_row(
    name: str,
    factor: float,
    before: list[float],
    after: list[float],
    head: Headline,
    ref: Headline,
    ref_conclusion: dict[str, object],
) -> dict[str, object]:
    conclusion = head.conclusion()
    changes = [f"{k}: {ref_conclusion.get(k)} → {v}" for k, v in conclusion.items() if ref_conclusion.get(k) != v]
    if head.from_year != ref.from_year and head.less_leverage and ref.less_leverage:
        changes.append(f"from year: {ref.from_year} → {head.from_year}")
    return {
        "parameter": name,
        "factor": factor,
        "base_min": min(before) if before else math.nan,
        "base_max": max(before) if before else math.nan,
        "varied_min": min(after) if after else math.nan,
        "varied_max": max(after) if after else math.nan,
        "clipped": bool(before) and any(abs(x * factor - y) > 1e-12 for x, y in zip(before, after, strict=True)),
        "less_leverage": head.less_leverage,
        "from_year": head.from_year,
        "gap_share": head.gap_share if head.gap_share is not None else math.nan,
        "flips": head.less_leverage != ref.less_leverage,
        "changes": "; ".join(changes),
    }


def _last_year_gap(
    deps: dict[str, list[Dependence]], pathways: list[Pathway], a: str, decoupled: str, engaged: str
) -> float:
    """``(L_dec − L_eng) / L_eng``: the headline's relative gap in ``a``'s total leverage in the
    last year, computed from the dependence paths alone (no tables), for fast searches."""
    last = {}
    for p in pathways:
        if p.name in (decoupled, engaged):
            years = (p.start_year + np.arange(p.horizon_years)).astype(float)
            total = 0.0
            for dep in deps[p.name]:
                if dep.controller != a:
                    continue
                c = _coverage(p, (dep.controller, dep.target, dep.domain), years)
                d = _paths(dep, c, p.baseline_effort, p.effort_response, _rate_factor(p, dep, years))[2][-1]
                total += dep.downstream_output_usd * d * (1.0 - dep.leakage_share)
            last[p.name] = total
    if decoupled not in last or engaged not in last:
        raise LeverageError(f"break-even needs both {decoupled} and {engaged} among the pathways")
    return (last[decoupled] - last[engaged]) / last[engaged] if last[engaged] > 0 else math.nan


def break_even(
    ds: Dataset,
    base: list[Pathway],
    a: str,
    b: str,
    parameters: Sequence[str] = SENSITIVITY_PARAMETERS,
    span: float = 10.0,
    *,
    decoupled: str = DECOUPLED,
    engaged: str = ENGAGED,
    tolerance: float = 1e-9,
    steps: int = 12,
) -> pd.DataFrame:
    """Which values of each parameter reverse the headline: per parameter and direction (``down``:
    scaled by factors from 1 to ``1/span``; ``up``: from 1 to ``span``, clipped to the valid
    range, as in :func:`sensitivity`), the factor at which the verdict (``decoupled`` leaves ``a``
    with less leverage than ``engaged`` in the last year) first changes, found on a geometric grid
    of ``steps`` and refined by bisection to 0.1%; NaN where it does not change within ``span``.
    ``value_min``/``value_max`` are the parameter's values at that factor."""
    pathways = _unique(base)
    deps = {p.name: _pair(load_dependences(ds, p), p, a, b) for p in pathways}

    def less(name: str, factor: float) -> bool:
        new_deps, new_pathways, _, _ = _vary(deps, pathways, name, factor)
        return _last_year_gap(new_deps, new_pathways, a, decoupled, engaged) < -tolerance

    rows = []
    for name in parameters:
        if name not in SENSITIVITY_PARAMETERS:
            raise LeverageError(
                f"unknown sensitivity parameter {name!r}; choose from {', '.join(SENSITIVITY_PARAMETERS)}"
            )
        verdict = less(name, 1.0)
        for direction, end in (("down", 1.0 / span), ("up", span)):
            grid = np.geomspace(1.0, end, steps + 1)[1:]
            flipped = next((i for i, f in enumerate(grid) if less(name, float(f)) != verdict), None)
            factor = math.nan
            if flipped is not None:
                lo, hi = math.log(grid[flipped - 1] if flipped else 1.0), math.log(grid[flipped])
                while abs(hi - lo) > 1e-3:
                    mid = (lo + hi) / 2
                    lo, hi = (lo, mid) if less(name, math.exp(mid)) != verdict else (mid, hi)
                factor = math.exp(hi)
            values = _vary(deps, pathways, name, factor)[3] if math.isfinite(factor) else []
            rows.append(
                {
                    "parameter": name,
                    "direction": direction,
                    "base_less_leverage": verdict,
                    "flips_at_factor": factor,
                    "value_min": min(values) if values else math.nan,
                    "value_max": max(values) if values else math.nan,
                }
            )
    return pd.DataFrame(rows)


def assumptions_table(pathways: list[Pathway]) -> pd.DataFrame:
    """Every assumption of every pathway, one row each, with its rationale (for reports and files);
    a denial is a row with metric ``denial_strength via <domain>``."""
    rows = [{"pathway": p.name, **a.model_dump()} for p in pathways for a in p.assumptions]
    rows += [
        {
            "pathway": p.name,
            "controller": n.controller,
            "target": n.target,
            "domain": n.domain,
            "metric": f"denial_strength via {n.via}",
            "value": n.strength,
            "rationale": n.rationale,
        }
        for p in pathways
        for n in p.denials
    ]
    columns = ["pathway", "controller", "target", "domain", "metric", "value", "rationale"]
    return pd.DataFrame(rows, columns=columns)
