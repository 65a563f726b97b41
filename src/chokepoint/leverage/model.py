"""Dependences, their indigenisation and cutoff costs, pathway files and one pathway's run (see
:mod:`chokepoint.leverage` for the model)."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator, model_validator

from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.leverage.cutoff import curve_of, cutoff_at, cutoff_losses
from chokepoint.yamlfile import Number, did_you_mean, with_field_lines

Array = npt.NDArray[np.float64]
Share = Annotated[Number, Field(ge=0.0, le=1.0)]
#: Years a pathway may name; outside is a typo.
Year = Annotated[int, Strict(), Field(ge=1950, le=2200)]


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
    columns = _cost_columns(dep, coverage, baseline_effort, response, rate_factor)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(columns["coverage"]), name="t"))


def _cost_columns(
    dep: Dependence, coverage: npt.ArrayLike, baseline_effort: float, response: float, rate_factor: npt.ArrayLike
) -> dict[str, Array]:
    """The columns of :func:`cutoff_costs` as arrays."""
    c = np.asarray(coverage, dtype=float)
    effort, factor, d = _paths(dep, c, baseline_effort, response, rate_factor)
    leverage = dep.downstream_output_usd * d * (1.0 - dep.leakage_share)
    return {
        "coverage": c,
        "effort": effort,
        "rate_factor": factor,
        "dependence_share": d,
        "leverage_usd": leverage,
        "cost_to_target_usd": dep.cost_share(c) * leverage,
        "cost_to_controller_usd": _controller_cost(dep, c, d),
        "cutoff_cost_to_controller_usd": _controller_cost(dep, 1.0, d),
    }


def leverage_balance(table: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Per year: ``a``'s leverage over ``b`` (summed over domains), ``b``'s over ``a``, and the net.

    ``table`` has columns t, controller_id, target_id, leverage_usd.
    """
    totals = table.groupby(["t", "controller_id", "target_id"])["leverage_usd"].sum()
    # read the few sums by key (an .xs per direction cost more than the sum itself)
    by_key = dict(zip(totals.index, totals.to_numpy(), strict=True))
    years = sorted(set(table["t"]))

    def over(controller: str, target: str) -> list[float]:
        sums = (by_key.get((t, controller, target), 0.0) for t in years)
        return [0.0 if math.isnan(v) else float(v) for v in sums]

    out = pd.DataFrame(
        {f"{a}_over_{b}_usd": over(a, b), f"{b}_over_{a}_usd": over(b, a)}, index=pd.Index(years, name="t")
    )
    out["net_usd"] = out[f"{a}_over_{b}_usd"] - out[f"{b}_over_{a}_usd"]
    return out


def deterrence(gain: float, own_cost: float, retaliation: float) -> bool:
    """Restraint holds for a side when escalating does not pay: ``gain ≤ own_cost + retaliation``
    (all present values, from the side's point of view)."""
    return gain <= own_cost + retaliation


_METRICS = (
    "dependence_share",
    "downstream_output_usd",
    "controller_revenue_usd",
    "market_ceded_share",
    "leakage_share",
    "substitution_years",
)

#: Each metric's ceiling and why: shares are fractions (a leakage of 5 gives negative leverage);
#: money at most ten times world GDP; substitution within two centuries.
METRIC_BOUNDS = {
    "dependence_share": (1.0, "a share"),
    "downstream_output_usd": (1e15, "ten times world GDP"),
    "controller_revenue_usd": (1e15, "ten times world GDP"),
    "market_ceded_share": (1.0, "a share"),
    "leakage_share": (1.0, "a share"),
    "substitution_years": (200.0, "years"),
}


class PathwayControl(BaseModel):
    """A control in force in a pathway: ``coverage`` of the dependence from ``start`` to ``end``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    controller: str
    target: str
    domain: str
    coverage: Share
    start: Year
    end: Year | None = None


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
    value: Annotated[Number, Field(ge=0.0)]
    rationale: str

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value not in _METRICS:
            close = difflib.get_close_matches(value, _METRICS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(f"unknown metric; {hint}metrics: {', '.join(_METRICS)}")
        return value

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        high, why = METRIC_BOUNDS[self.metric]
        if self.value > high or (self.metric == "substitution_years" and self.value <= 0):
            low = "above 0" if self.metric == "substitution_years" else "from 0"
            raise ValueError(f"{self.metric} {self.value!r} must be {low} to {high:g} ({why})")
        return self


class Pathway(BaseModel):
    """A policy pathway: which controls are in force each year, and the game's parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    description: str = ""
    start_year: Year = 2025
    horizon_years: Annotated[int, Strict(), Field(ge=1, le=50)] = 15
    data_year: Year = 2024
    discount_rate: Annotated[Number, Field(ge=0.0, le=1.0)] = 0.05
    coercion_share: Share = 0.1
    baseline_effort: Share = 0.2
    effort_response: Share = 1.0
    controls: list[PathwayControl] = []
    denials: list[Denial] = []
    assumptions: list[Assumption] = []

    @model_validator(mode="after")
    def _years(self) -> Self:
        last = self.start_year + self.horizon_years - 1
        for i, c in enumerate(self.controls):
            if c.end is not None and c.end < c.start:
                raise ValueError(f"controls[{i}]: end {c.end} is before start {c.start}")
            # a control starting outside the horizon is in force in no year: it would do nothing
            if not self.start_year <= c.start <= last:
                raise ValueError(f"controls[{i}]: start {c.start} is outside the horizon {self.start_year} to {last}")
        return self


#: Domains whose cutoff cost is simulated (:mod:`chokepoint.leverage.cutoff`), not read as a figure, and
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


#: A dependence whose cost is simulated, (controller, target, domain, data year).
LossKey = tuple[str, str, str, int]
#: Each simulated dependence's :func:`~chokepoint.leverage.cutoff.cutoff_losses` table (see
#: :func:`simulated_losses`): the expensive intermediate every leverage table reuses.
SimulatedLosses = Mapping[LossKey, pd.DataFrame]


def _metrics(
    ds: Dataset, pathway: Pathway
) -> tuple[dict[tuple[str, str, str], dict[str, float]], list[tuple[str, str, str]]]:
    """Each dependence's metrics (the dataset's ``leverage`` rows of ``pathway.data_year``, overridden
    by the pathway's assumptions), and the dependences whose output at stake is simulated."""
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
    simulated = [
        (c, t, d)
        for c, t, d in sorted(values)
        if d in SIMULATED_DOMAINS and (c, t, d, "downstream_output_usd") not in assumed
    ]
    return values, simulated


def loss_keys(ds: Dataset, pathways: Sequence[Pathway]) -> list[LossKey]:
    """The dependences whose cutoff cost the ``pathways`` simulate, each once, in order."""
    return sorted({(c, t, d, p.data_year) for p in pathways for c, t, d in _metrics(ds, p)[1]})


def simulated_losses(ds: Dataset, pathways: Sequence[Pathway]) -> dict[LossKey, pd.DataFrame]:
    """The cutoff-loss table of every dependence whose cost the ``pathways`` simulate, each computed
    once however many pathways share it (one baseline and one engine run per coverage each)."""
    return {k: simulate_loss(ds, k) for k in loss_keys(ds, pathways)}


def simulate_loss(ds: Dataset, key: LossKey) -> pd.DataFrame:
    """The :func:`~chokepoint.leverage.cutoff.cutoff_losses` table of one simulated dependence."""
    controller, target, domain, year = key
    return cutoff_losses(ds, controller, target, year, material=SIMULATED_DOMAINS[domain])


@with_field_lines  # a refusal ends with the pathway file's line of the field it names
def load_dependences(ds: Dataset, pathway: Pathway, losses: SimulatedLosses | None = None) -> list[Dependence]:
    """Every directed dependence with all metrics, from the dataset's ``leverage`` rows of
    ``pathway.data_year`` overridden by the pathway's assumptions; a missing metric is an error
    naming it (never a silent default).

    For rare earths the output at stake is simulated: ``Y = loss₁ / d₀`` with ``loss₁`` the
    target's sector output lost in the first year of a complete cutoff
    (:func:`chokepoint.leverage.cutoff.loss_curve`), and a partial control costs the simulated share of it
    — unless the pathway's assumptions set ``downstream_output_usd`` themselves. ``losses`` (from
    :func:`simulated_losses`) saves simulating again what another call already has."""
    values, simulated = _metrics(ds, pathway)
    domains = {str(d) for d in ds["leverage"]["domain"]} | {a.domain for a in pathway.assumptions}
    _check_denials(pathway, set(values), domains)  # a misspelt domain is reported before anything is simulated
    known = dict(losses or {})
    out = []
    for (c, t, d), metrics in sorted(values.items()):
        loss_share = None
        if (c, t, d) in simulated and metrics.get("dependence_share", 0.0) > 0:
            key = (c, t, d, pathway.data_year)
            table = known[key] if key in known else simulated_losses(ds, [pathway])[key]
            # a wider control never costs the target less (the engine's rerouting is not exactly
            # monotone in the licensed share: keep the running maximum)
            curve = curve_of(table).cummax()
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
    return out


def simulated_cutoffs(
    ds: Dataset, pathway: Pathway, a: str, b: str, losses: SimulatedLosses | None = None
) -> pd.DataFrame:
    """For each dependence between ``a`` and ``b`` whose cost is simulated (rare earths): the
    target's shortfall in the first year of a complete cutoff, valued by sector
    (:func:`chokepoint.leverage.cutoff.simulated_cutoff`), with ``direction`` and ``domain`` columns."""
    simulated = set(_metrics(ds, pathway)[1])
    known = dict(losses or {})
    if any((c, t, d, pathway.data_year) not in known for c, t, d in simulated):
        known |= simulated_losses(ds, [pathway])
    frames = [
        cutoff_at(known[(d.controller, d.target, d.domain, pathway.data_year)], 1.0).assign(
            direction=f"{d.controller}→{d.target}", domain=d.domain
        )
        for d in _pair(load_dependences(ds, pathway, known), pathway, a, b)
        if (d.controller, d.target, d.domain) in simulated
    ]
    if not frames:
        return pd.DataFrame(columns=["direction", "domain", "sector_id", "value_lost_usd"])
    out = pd.concat(frames, ignore_index=True)
    return out.loc[:, ["direction", "domain", *out.columns.drop(["direction", "domain"])]]


def _check_denials(pathway: Pathway, known: set[tuple[str, str, str]], domains: set[str]) -> None:
    """Every control and denial names a known dependence (``domains``: every domain the data or the
    pathway's assumptions name, any year, for the suggestion)."""
    for i, c in enumerate(pathway.controls):
        # a control on a misspelt domain (frontier-ai) would cover nothing, silently
        if (c.controller, c.target, c.domain) not in known:
            hint = did_you_mean(c.domain, domains) or f"; domains: {', '.join(sorted(domains))}"
            raise LeverageError(
                f"{pathway.name}: controls[{i}].domain: no dependence {c.controller}→{c.target} {c.domain!r} "
                f"in the data or assumptions{hint}"
            )
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
