"""Score a scenario against its observations: the scorecard row of each, and the mean absolute log
error of the ``calibrate`` and the ``validate`` observations separately."""

from __future__ import annotations

import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.scenario import Observation, Scenario
from chokepoint.scenario.groups import resolve_groups
from chokepoint.simulation import Baseline, build_plan, run_scenario, scenario_baseline
from chokepoint.simulation.engine import Mode
from chokepoint.simulation.tabulate import compare_observed, flow_price_tables

__all__ = ["ROLES", "SCORECARD_COLUMNS", "observations_table", "scorecard", "scores"]

ROLES = ("calibrate", "validate")

#: The scorecard's columns: labels, then the values (units of the metric; ratio and error unitless).
SCORECARD_COLUMNS = [
    "scenario",
    "role",
    "metric",
    "region_id",
    "origin_id",
    "outside_id",
    "commodity_id",
    "period",
    "months",
    "observed",
    "simulated",
    "simulated_over_observed",
    "abs_log_error",
    "source",
]


def _baseline_key(scenario: Scenario) -> tuple[object, ...]:
    """What :func:`scenario_baseline` reads from a scenario (a fit that moves none of it reuses one)."""
    extra = {p.region for p in scenario.projects} | {o.seller for o in scenario.offtakes}
    extra |= {o.buyer for o in scenario.offtakes}
    return scenario.material, scenario.base_year, scenario.capacity_utilisation, frozenset(extra)


def observations_table(
    ds: Dataset,
    scenario: Scenario,
    observations: list[Observation],
    mode: Mode = "fast",
    baselines: dict[tuple[object, ...], Baseline] | None = None,
) -> pd.DataFrame:
    """``observations`` next to the scenario's simulated values (the run's ``observed`` table),
    from the central path alone: no Monte Carlo draws, and only the flows and prices tabulated.
    ``baselines`` caches baselines across calls on the same ``ds`` (a fit's trials). The caller
    checks the scenario against ``ds`` first (:func:`~chokepoint.scenario.check_scenario`)."""
    resolved = resolve_groups(scenario, ds)  # product-group codes → member commodities
    key = _baseline_key(resolved)
    cache = {} if baselines is None else baselines
    baseline = cache[key] if key in cache else cache.setdefault(key, scenario_baseline(ds, resolved))
    plan = build_plan(baseline, resolved, ds)
    trajectory = run_scenario(baseline, plan, resolved, mode)
    return compare_observed(flow_price_tables(baseline, plan, trajectory), observations, plan.groups)


def scorecard(name: str, observed: pd.DataFrame) -> pd.DataFrame:
    """One row per observation of scenario ``name`` (an ``observed`` table), calibrate first."""
    card = observed.assign(scenario=name)[SCORECARD_COLUMNS]
    card = card.assign(order=card["role"].map({r: i for i, r in enumerate(ROLES)}))
    return card.sort_values(["order", "period"], kind="stable").drop(columns="order").reset_index(drop=True)


def scores(card: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and role: the number of observations and their mean absolute log error (NaN
    for a role with none: a scenario fitted to nothing has no in-sample score)."""
    names = list(pd.unique(card["scenario"]))
    grid = pd.MultiIndex.from_product([names, ROLES], names=["scenario", "role"])
    grouped = card.groupby(["scenario", "role"])["abs_log_error"]
    table = pd.DataFrame({"observations": grouped.size(), "mean_abs_log_error": grouped.mean()}).reindex(grid)
    table["observations"] = table["observations"].fillna(0).astype("int64")
    return table.reset_index()
