"""Run a plan month by month in either allocation mode, vectorised over a batch of draws.

One loop (:mod:`chokepoint.simulation.loop`) serves both modes: state → orders → allocation step
(``fast``: pro rata, :mod:`~chokepoint.simulation.allocate_fast`; ``lp``: one HiGHS LP a month,
:mod:`~chokepoint.simulation.lp`) → shared responses (:mod:`~chokepoint.simulation.responses`)
→ a recorder (:mod:`~chokepoint.simulation.recorders`: the full trajectory or a Monte Carlo
summary). Every quantity is in tonnes per month; the mass balance of every node and month is
checked on every run and a violation raises :class:`~chokepoint.simulation.recorders.MassBalanceError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import numpy as np

from chokepoint.simulation.allocate_fast import allocate_fast
from chokepoint.simulation.baseline import Baseline
from chokepoint.simulation.loop import run_loop
from chokepoint.simulation.plan import Plan
from chokepoint.simulation.recorders import (
    DrawSummary,
    MassBalanceError,
    SummaryRecorder,
    Trajectory,
    TrajectoryRecorder,
)
from chokepoint.simulation.state import Array, Params, Setup, setup

if TYPE_CHECKING:
    from chokepoint.scenario import Scenario

__all__ = ["DrawSummary", "MassBalanceError", "Mode", "Trajectory", "run_draws", "run_fast", "run_scenario"]

Mode = Literal["fast", "lp"]


def _setup(
    baseline: Baseline,
    plan: Plan,
    batch: int,
    rates: tuple[float | Array, float | Array, float | Array],
    capacity_scale: Array | None,
) -> Setup:
    params = Params(*(np.broadcast_to(np.asarray(r, dtype=float), (batch,)) for r in rates))
    return setup(baseline, plan, batch, params, capacity_scale)


def run_fast(
    baseline: Baseline,
    plan: Plan,
    *,
    batch: int = 1,
    sourcing_adjustment: float | Array = 0.3,
    sourcing_reversion: float | Array = 0.1,
    price_scarcity_exponent: float | Array = 11.0,
    capacity_scale: Array | None = None,
    on_period: Callable[[int], None] | None = None,
) -> Trajectory:
    """Run the month loop with the pro-rata allocation for ``batch`` draws, keeping every quantity.

    Per-draw parameters are arrays of length ``batch``; ``capacity_scale`` (B, n) multiplies
    base capacity per draw. ``on_period`` is called with each finished month's index.
    """
    rates = (sourcing_adjustment, sourcing_reversion, price_scarcity_exponent)
    s = _setup(baseline, plan, batch, rates, capacity_scale)
    return run_loop(s, allocate_fast, TrajectoryRecorder(s), on_period)


def run_draws(
    baseline: Baseline,
    plan: Plan,
    *,
    batch: int,
    sourcing_adjustment: float | Array = 0.3,
    sourcing_reversion: float | Array = 0.1,
    price_scarcity_exponent: float | Array = 11.0,
    capacity_scale: Array | None = None,
) -> DrawSummary:
    """Run ``batch`` parameter draws at once, keeping only shortfall and prices (memory stays
    O(batch × months × regions × sectors) instead of the full flows)."""
    rates = (sourcing_adjustment, sourcing_reversion, price_scarcity_exponent)
    s = _setup(baseline, plan, batch, rates, capacity_scale)
    return run_loop(s, allocate_fast, SummaryRecorder(s))


def run_scenario(
    baseline: Baseline,
    plan: Plan,
    scenario: Scenario,
    mode: Mode = "fast",
    on_period: Callable[[int], None] | None = None,
) -> Trajectory:
    """Step ``plan`` month by month in ``mode`` with the scenario's engine parameters."""
    rates = (scenario.sourcing_adjustment, scenario.sourcing_reversion, scenario.price_scarcity_exponent)
    s = _setup(baseline, plan, 1, rates, None)
    if mode == "lp":
        from chokepoint.simulation.lp import LPAllocation  # HiGHS loads only when asked for

        return run_loop(s, LPAllocation(s), TrajectoryRecorder(s), on_period)
    return run_loop(s, allocate_fast, TrajectoryRecorder(s), on_period)
