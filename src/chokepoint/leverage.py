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
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.yamlfile import load_yaml_model

__all__ = [
    "Dependence",
    "LeverageError",
    "Pathway",
    "cutoff_costs",
    "dependence_path",
    "deterrence",
    "leverage_balance",
    "load_dependences",
    "load_pathway",
    "present_value",
    "run_pathway",
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


def substitution_rate(substitution_years: float) -> float:
    """``κ = ln 10 / T_sub``: at full effort, 90% of the dependence is replaced in ``T_sub`` years."""
    if substitution_years <= 0:
        raise LeverageError(f"substitution_years must be positive, got {substitution_years}")
    return math.log(10.0) / substitution_years


def dependence_path(d0: float, rate: float, effort: npt.ArrayLike) -> Array:
    """``d_0 = d0``, ``d_{t+1} = d_t·exp(−rate·e_t)`` for the yearly efforts ``e_t`` (0–1)."""
    e = np.asarray(effort, dtype=float)
    steps = np.concatenate([[0.0], np.cumsum(rate * e)[:-1]])
    return d0 * np.exp(-steps)


def present_value(values: npt.ArrayLike, discount_rate: float) -> float:
    """``Σ_t v_t / (1 + r)^t``."""
    v = np.asarray(values, dtype=float)
    return float(np.sum(v / (1.0 + discount_rate) ** np.arange(len(v))))


def cutoff_costs(dep: Dependence, coverage: npt.ArrayLike, baseline_effort: float, response: float) -> pd.DataFrame:
    """Yearly dependence, leverage and cutoff costs of ``dep`` under control ``coverage`` (0–1 per
    year); see the module docs for the equations. Indexed by year offset ``t``."""
    c = np.asarray(coverage, dtype=float)
    effort = baseline_effort + (1.0 - baseline_effort) * response * c
    d = dependence_path(dep.dependence, substitution_rate(dep.substitution_years), effort)
    kept = np.divide(d, dep.dependence, out=np.zeros_like(d), where=dep.dependence > 0)
    leverage = dep.downstream_output_usd * d * (1.0 - dep.leakage_share)
    lost_sales = c * (1.0 - dep.leakage_share) * dep.controller_revenue_usd * kept
    ceded = c * dep.market_ceded_share * dep.controller_revenue_usd
    eroded = dep.controller_revenue_usd * (1.0 - kept)
    return pd.DataFrame(
        {
            "coverage": c,
            "effort": effort,
            "dependence_share": d,
            "leverage_usd": leverage,
            "cost_to_target_usd": c * leverage,
            "cost_to_controller_usd": lost_sales + ceded + eroded,
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


def load_dependences(ds: Dataset, pathway: Pathway) -> list[Dependence]:
    """Every directed dependence with all metrics, from the dataset's ``leverage`` rows of
    ``pathway.data_year`` overridden by the pathway's assumptions; a missing metric is an error
    naming it (never a silent default)."""
    rows = ds["leverage"]
    rows = rows[rows["year"] == pathway.data_year]
    values: dict[tuple[str, str, str], dict[str, float]] = {}
    for c, t, d, m, v in zip(
        rows["controller_id"], rows["target_id"], rows["domain"], rows["metric"], rows["value"], strict=True
    ):
        values.setdefault((str(c), str(t), str(d)), {})[str(m)] = float(v)
    for a in pathway.assumptions:
        values.setdefault((a.controller, a.target, a.domain), {})[a.metric] = a.value
    out = []
    for (c, t, d), metrics in sorted(values.items()):
        missing = [m for m in _METRICS if m not in metrics]
        if missing:
            raise LeverageError(
                f"{pathway.name}: {c}→{t} {d} has no {missing[0]} for {pathway.data_year}; add a leverage row "
                f"or an assumptions entry (controller: {c}, target: {t}, domain: {d}, metric: {missing[0]})"
            )
        out.append(Dependence(c, t, d, *(metrics[m] for m in _METRICS)))
    return out


def run_pathway(ds: Dataset, pathway: Pathway, a: str, b: str) -> dict[str, pd.DataFrame]:
    """Run ``pathway`` for the pair ``a``, ``b``: yearly dependence, leverage and costs per domain
    and direction (``domains``), the balance (``balance``) and the deterrence check (``deterrence``)."""
    deps = [d for d in load_dependences(ds, pathway) if {d.controller, d.target} == {a, b}]
    if not deps:
        raise LeverageError(f"{pathway.name}: no dependence between {a} and {b} in the data or assumptions")
    H = pathway.horizon_years
    years = pathway.start_year + np.arange(H)
    frames = []
    for dep in deps:
        coverage = np.zeros(H)
        for c in pathway.controls:
            if (c.controller, c.target, c.domain) == (dep.controller, dep.target, dep.domain):
                live = (years >= c.start) & (years <= (c.end if c.end is not None else years[-1]))
                coverage[live] = np.maximum(coverage[live], c.coverage)
        costs = cutoff_costs(dep, coverage, pathway.baseline_effort, pathway.effort_response)
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
                full = cutoff_costs(chosen, np.ones(H - t), pathway.baseline_effort, pathway.effort_response)
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
