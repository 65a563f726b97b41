"""Time-stepped shock simulation: baseline calibration, allocation per period, responses between."""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import ValidationError

from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.scenario import Scenario, ScenarioError, Uncertainty, check_scenario
from chokepoint.simulation.baseline import Baseline, build_baseline
from chokepoint.simulation.engine import Mode, Trajectory, run_fast, run_scenario
from chokepoint.simulation.plan import Plan, build_plan
from chokepoint.simulation.results import Results, compare_observed, price_floor_payments, project_tables, tabulate
from chokepoint.simulation.uncertainty import run_uncertainty

__all__ = [
    "Baseline",
    "Plan",
    "Results",
    "Trajectory",
    "build_baseline",
    "build_plan",
    "run_fast",
    "run_scenario",
    "simulate",
]


def simulate(
    ds: Dataset,
    scenario: Scenario,
    mode: Mode = "fast",
    origin: str = "scenario",
    on_period: Callable[[int], None] | None = None,
    draws: int | None = None,
) -> Results:
    """Run ``scenario`` on ``ds``: calibrate the baseline, plan the shocks, step month by month.

    ``mode``: ``fast`` (vectorised pro-rata with rerouting) or ``lp`` (HiGHS, one LP a month).
    Deterministic: the same dataset and scenario give the same results. ``on_period`` is called
    after each simulated month (progress reporting). With the scenario's ``uncertainty`` block or
    ``draws`` (which overrides its count), Monte Carlo percentiles are added (fast mode, seeded).
    """
    check_scenario(scenario, ds, origin=origin)
    if mode not in ("fast", "lp"):
        raise ChokepointError(f"unknown allocation mode {mode!r}; use fast or lp")
    started = time.perf_counter()
    # Regions where the scenario builds capacity or trades under an offtake need a node even
    # when the base year has no data for them (Australia's Mount Weld before 2011).
    new_regions = {p.region for p in scenario.projects} | {o.seller for o in scenario.offtakes}
    new_regions |= {o.buyer for o in scenario.offtakes}
    baseline = build_baseline(
        ds, scenario.material, scenario.base_year, scenario.capacity_utilisation, extra_regions=new_regions
    )
    plan = build_plan(baseline, scenario, ds)
    trajectory = run_scenario(baseline, plan, scenario, mode, on_period)
    results = tabulate(baseline, plan, trajectory, scenario.name)
    if scenario.observed:
        results.tables["observed"] = compare_observed(results, scenario.observed)
    if scenario.projects:
        results.tables.update(project_tables(baseline, plan, trajectory, scenario))
    if scenario.uncertainty is not None or draws is not None:
        uncertainty = scenario.uncertainty or Uncertainty()
        if draws is not None:
            try:
                uncertainty = Uncertainty.model_validate({**uncertainty.model_dump(), "draws": draws})
            except ValidationError as exc:
                raise ScenarioError(f"draws: {draws}: {exc.errors()[0]['msg']}") from None
        if mode == "fast":
            results.tables.update(run_uncertainty(baseline, plan, scenario, uncertainty))
            results.info["draws"] = uncertainty.draws
            results.info["seed"] = uncertainty.seed
        else:  # fast-mode bands would not surround the LP path
            results.info["uncertainty"] = "skipped: Monte Carlo draws run in fast mode only"
    if scenario.price_floors:
        results.tables["price_floors"] = price_floor_payments(results, scenario)
    results.info.update(
        {
            "scenario": scenario.name,
            "description": scenario.description,
            "mode": mode,
            "datasets": scenario.datasets,
            "base_year": scenario.base_year,
            "start": str(scenario.start),
            "end": str(scenario.end),
            "months": scenario.horizon_months,
            "seconds": round(time.perf_counter() - started, 3),
        }
    )
    return results
