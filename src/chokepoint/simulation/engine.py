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
from typing import TYPE_CHECKING, Any, Literal

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
from chokepoint.simulation.state import Array, active_lanes, params, setup

if TYPE_CHECKING:
    from chokepoint.scenario import Scenario

__all__ = [
    "LANE_ARRAY_BYTES",
    "MAX_BATCH",
    "RATE_PATHS",
    "DrawSummary",
    "MassBalanceError",
    "Mode",
    "Trajectory",
    "batch_size",
    "engine_rates",
    "run_draws",
    "run_fast",
    "run_scenario",
]

Mode = Literal["fast", "lp"]


def run_fast(
    baseline: Baseline,
    plan: Plan,
    *,
    batch: int = 1,
    capacity_scale: Array | None = None,
    on_period: Callable[[int], None] | None = None,
    **rates: float | Array,
) -> Trajectory:
    """Run the month loop with the pro-rata allocation for ``batch`` draws, keeping every quantity.

    ``rates`` are engine parameters (:data:`~chokepoint.simulation.state.RATE_DEFAULTS`), each a
    scalar or an array of length ``batch``; ``capacity_scale`` (B, n) multiplies base capacity
    per draw. ``on_period`` is called with each finished month's index.
    """
    s = setup(baseline, plan, batch, params(batch, **rates), capacity_scale)
    return run_loop(s, allocate_fast, TrajectoryRecorder(s), on_period)


def run_draws(
    baseline: Baseline,
    plan: Plan,
    *,
    batch: int,
    capacity_scale: Array | None = None,
    **rates: float | Array,
) -> DrawSummary:
    """Run ``batch`` parameter draws at once, keeping only shortfall and prices (memory stays
    O(batch × months × regions × sectors) instead of the full flows)."""
    s = setup(baseline, plan, batch, params(batch, **rates), capacity_scale)
    return run_loop(s, allocate_fast, SummaryRecorder(s))


#: Bytes one lane array of a batch (lanes × buyers × draws, float64) may take, so a month's live
#: lane arrays stay in the last-level cache (32 MiB on the 2-core machines): on the 2024 element
#: base (419 lanes × 41 buyers) a draw took 146 ms in batches of 32, 154 in 64 and 361 in 256
#: (benchmarks/results/sweep.md).
LANE_ARRAY_BYTES = 8 * 2**20
#: The largest batch: small networks gain nothing beyond it and its outputs grow with it.
MAX_BATCH = 256


def batch_size(baseline: Baseline, plan: Plan) -> int:
    """Draws per :func:`run_draws` call for this network: the largest power of two whose lane
    arrays fit :data:`LANE_ARRAY_BYTES`, between 1 and :data:`MAX_BATCH`."""
    per_draw = 8 * len(active_lanes(baseline, plan)[0]) * len(baseline.net.regions)
    fit = max(1, LANE_ARRAY_BYTES // max(per_draw, 1))
    return min(MAX_BATCH, 1 << (fit.bit_length() - 1))


#: Each engine parameter's path in a scenario file (a sweep varies these along the draw axis of
#: one batched run instead of planning each draw anew).
RATE_PATHS = {
    "sourcing_adjustment": "sourcing_adjustment",
    "sourcing_reversion": "sourcing_reversion",
    "price_scarcity_exponent": "price_scarcity_exponent",
    "cover_months": "markets.cover_months",
    "hoarding": "markets.hoarding",
    "expectation_months": "markets.expectation_months",
    "restock_months": "markets.restock_months",
    "price_cap": "markets.price_cap",
    "utilisation_exponent": "markets.utilisation_exponent",
}


def engine_rates(scenario: Scenario) -> dict[str, float]:
    """The scenario's engine parameters by name (:data:`~chokepoint.simulation.state.RATE_DEFAULTS`)."""

    def value(path: str) -> float:
        node: Any = scenario
        for name in path.split("."):
            node = getattr(node, name)
        return float(node)

    return {name: value(path) for name, path in RATE_PATHS.items()}


def run_scenario(
    baseline: Baseline,
    plan: Plan,
    scenario: Scenario,
    mode: Mode = "fast",
    on_period: Callable[[int], None] | None = None,
) -> Trajectory:
    """Step ``plan`` month by month in ``mode`` with the scenario's engine parameters."""
    s = setup(baseline, plan, 1, params(1, **engine_rates(scenario)), None)
    if mode == "lp":
        from chokepoint.simulation.lp import LPAllocation  # HiGHS loads only when asked for

        return run_loop(s, LPAllocation(s), TrajectoryRecorder(s), on_period)
    return run_loop(s, allocate_fast, TrajectoryRecorder(s), on_period)
