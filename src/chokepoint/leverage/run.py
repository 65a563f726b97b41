"""One pathway's run: each dependence's yearly arrays, the tables of :func:`run_pathway`, and the
deterrence check (see :mod:`chokepoint.leverage` for the model)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.leverage.model import (
    Array,
    Dependence,
    Pathway,
    _cost_columns,
    _coverage,
    _pair,
    _rate_factor,
    deterrence,
    leverage_balance,
    load_dependences,
    present_value,
    substitution_rate,
)

__all__ = ["run_pathway"]


def run_pathway(ds: Dataset, pathway: Pathway, a: str, b: str) -> dict[str, pd.DataFrame]:
    """Run ``pathway`` for the pair ``a``, ``b``: yearly dependence, leverage and costs per domain
    and direction (``domains``), the balance (``balance``) and the deterrence check (``deterrence``)."""
    return _run(_pair(load_dependences(ds, pathway), pathway, a, b), pathway, a, b)


def _dependence_columns(
    deps: list[Dependence], pathway: Pathway
) -> tuple[npt.NDArray[np.int_], list[dict[str, Array]]]:
    """The pathway's years and each dependence's :func:`cutoff_costs` columns as arrays."""
    years = pathway.start_year + np.arange(pathway.horizon_years)
    columns = [
        _cost_columns(
            dep,
            _coverage(pathway, (dep.controller, dep.target, dep.domain), years.astype(float)),
            pathway.baseline_effort,
            pathway.effort_response,
            _rate_factor(pathway, dep, years.astype(float)),
        )
        for dep in deps
    ]
    return years, columns


def _run(deps: list[Dependence], pathway: Pathway, a: str, b: str) -> dict[str, pd.DataFrame]:
    H = pathway.horizon_years
    years, columns = _dependence_columns(deps, pathway)
    # one frame for all dependences (t, the cost columns, year, ids), built from arrays at once
    n = len(deps)
    domains = pd.DataFrame(
        {
            "t": np.tile(np.arange(H), n),
            **{name: np.concatenate([c[name] for c in columns]) for name in columns[0]},
            "year": np.tile(years, n),
            "controller_id": np.repeat(np.array([d.controller for d in deps], dtype=object), H),
            "target_id": np.repeat(np.array([d.target for d in deps], dtype=object), H),
            "domain": np.repeat(np.array([d.domain for d in deps], dtype=object), H),
        }
    )
    balance = leverage_balance(domains, a, b).assign(year=years).reset_index()
    checks = _deterrence_checks(deps, columns, pathway, years, a, b)
    return {"domains": domains, "balance": balance, "deterrence": pd.DataFrame(checks)}


def _deterrence_checks(
    deps: list[Dependence],
    columns: list[dict[str, Array]],
    pathway: Pathway,
    years: npt.NDArray[np.int_],
    a: str,
    b: str,
) -> list[dict[str, object]]:
    """The deterrence table's rows: per year, each side's gain, own cost and the other's
    retaliation (present values over the years left), and whether restraint holds."""
    H = len(years)
    shares = [c["dependence_share"] for c in columns]
    # present value of each dependence's leverage over the years left, from each year t
    pv = [[present_value(c["leverage_usd"][t:], pathway.discount_rate) for t in range(H)] for c in columns]
    escalation = {side: _escalation(deps, pv, shares, pathway, years, side) for side in (a, b)}
    checks = []
    for t in range(H):
        row: dict[str, object] = {"t": t, "year": int(years[t])}
        for side, other in ((a, b), (b, a)):
            gain, best_own = escalation[side][0][t], escalation[side][1][t]
            retaliation = _max([pv[i][t] for i, d in enumerate(deps) if d.controller == other], default=0.0)
            row[f"{side}_gain_usd"] = gain
            row[f"{side}_own_cost_usd"] = best_own
            row[f"{side}_retaliation_usd"] = retaliation
            row[f"{side}_restrained"] = deterrence(gain, best_own, retaliation)
        row["deterrence_holds"] = bool(row[f"{a}_restrained"] and row[f"{b}_restrained"])
        checks.append(row)
    return checks


def _max(values: list[float], default: float) -> float:
    """The largest of ``values`` ignoring NaN (as pandas' ``max``), ``default`` for none."""
    kept = [v for v in values if not math.isnan(v)]
    return max(kept) if kept else default


def _escalation(
    deps: list[Dependence],
    pv: list[list[float]],
    shares: list[Array],
    pathway: Pathway,
    years: npt.NDArray[np.int_],
    side: str,
) -> tuple[list[float], list[float]]:
    """Per year ``t``: ``side``'s gain from escalating at ``t`` in its strongest domain (the largest
    present value ``pv[i][t]`` of leverage over the years left, first in domain order on a tie) and
    the present value of what that full cutoff costs it; zeros for a side with no dependence to use."""
    H = len(years)
    mine = sorted((d.domain, i) for i, d in enumerate(deps) if d.controller == side)
    if not mine:
        return [0.0] * H, [0.0] * H
    own: dict[int, list[float]] = {}
    gains, costs = [], []
    for t in range(H):
        strongest = _max([pv[i][t] for _, i in mine], default=math.nan)
        best = next(i for _, i in mine if pv[i][t] == strongest)
        if best not in own:
            own[best] = _own_costs(deps[best], shares[best], pathway, years)
        gains.append(pathway.coercion_share * strongest)
        costs.append(own[best][t])
    return gains, costs


def _own_costs(dep: Dependence, share: Array, pathway: Pathway, years: npt.NDArray[np.int_]) -> list[float]:
    """Per year ``t``: the present value of what escalating fully in ``dep`` at ``t`` costs its
    controller, from the dependence ``share[t]`` the target still has then (what is already eroded
    is sunk), the target substituting at full effort from ``t`` on."""
    H = len(years)
    later = np.triu(np.ones((H, H), dtype=bool))  # row t: the years from t on
    effort = pathway.baseline_effort + (1.0 - pathway.baseline_effort) * pathway.effort_response * np.ones(H)
    step = substitution_rate(dep.substitution_years) * _rate_factor(pathway, dep, years.astype(float)) * effort
    # row t's running sum starts at t (zeros before it add nothing): the path of dependence_path from t
    run = np.cumsum(np.where(later, step, 0.0), axis=1)
    steps = np.concatenate([np.zeros((H, 1)), run[:, :-1]], axis=1)
    d = share[:, None] * np.exp(-steps)
    kept = np.divide(d, share[:, None], out=np.zeros_like(d), where=share[:, None] > 0)
    r = dep.controller_revenue_usd
    cost = np.ones((H, H)) * r * ((1.0 - dep.leakage_share) * kept + dep.market_ceded_share) + r * (1.0 - kept)
    return [present_value(cost[t, t:], pathway.discount_rate) for t in range(H)]
