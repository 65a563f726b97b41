"""Time-stepped shock simulation: baseline calibration, allocation per period, responses between."""

from __future__ import annotations

from typing import Literal

from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.scenario import Scenario, check_scenario
from chokepoint.simulate.baseline import Baseline, build_baseline
from chokepoint.simulate.engine import Trajectory, run_fast
from chokepoint.simulate.plan import Plan, build_plan
from chokepoint.simulate.results import Results, tabulate

__all__ = ["Baseline", "Plan", "Results", "Trajectory", "build_baseline", "build_plan", "run_fast", "simulate"]

Mode = Literal["fast", "lp"]


def simulate(ds: Dataset, scenario: Scenario, mode: Mode = "fast", origin: str = "scenario") -> Results:
    """Run ``scenario`` on ``ds``: calibrate the baseline, plan the shocks, step month by month.

    Deterministic: the same dataset, scenario (and seed) give the same results.
    """
    check_scenario(scenario, ds, origin=origin)
    if mode != "fast":
        raise ChokepointError(f"allocation mode {mode!r} is not available yet; use --mode fast")
    baseline = build_baseline(ds, scenario.material, scenario.base_year, scenario.capacity_utilisation)
    plan = build_plan(baseline, scenario, ds)
    trajectory = run_fast(
        baseline,
        plan,
        sourcing_adjustment=scenario.sourcing_adjustment,
        price_scarcity_exponent=scenario.price_scarcity_exponent,
    )
    return tabulate(baseline, plan, trajectory, scenario.name)
