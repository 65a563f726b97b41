"""Monte Carlo over the engine's uncertain parameters: many draws as one batched fast-mode run.

The draws come from a seeded :class:`numpy.random.Generator`, so a scenario, a dataset and a seed
give the same percentiles. Each draw takes the sourcing adjustment and reversion, the
price-scarcity exponent and, per node, a factor ``f`` on its spare capacity from the scenario's
``uncertainty`` ranges (uniform; the defaults are assumed spans around the engine's defaults); a
parameter whose range is ``null`` keeps the scenario's value. The node's capacity is scaled by
``1 − (1 − f)·(1 − x/cap)`` (``x`` base production), so only the headroom above production
varies and no draw is short before a shock.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from chokepoint.errors import ChokepointError
from chokepoint.scenario import Scenario, Uncertainty
from chokepoint.simulation.baseline import Baseline
from chokepoint.simulation.engine import MAX_BATCH, batch_size, engine_rates, run_draws
from chokepoint.simulation.plan import Plan

__all__ = [
    "QUANTILES",
    "MonteCarloEstimate",
    "MonteCarloTooLargeError",
    "check_monte_carlo",
    "draw_parameters",
    "estimate_monte_carlo",
    "memory_budget_bytes",
    "run_uncertainty",
]

#: The percentiles reported.
QUANTILES = (0.05, 0.5, 0.95)
#: Conservative Monte Carlo throughput, draws × months × nodes per second, below every measurement on
#: the 2-core development machine: 5.2·10⁶ (100,000 draws in 238 s), 3.3·10⁶ beside other work and
#: 1.8·10⁶ under a full test suite (the idle benchmark reaches 1.4·10⁷, benchmarks/README.md).
NODE_STEPS_PER_S = 1.5e6
#: Share of physical memory a run may use unless ``CHOKEPOINT_MEMORY_BUDGET_GB`` says otherwise.
MEMORY_FRACTION = 0.5
#: Per-month allocation arrays of one chunk, in units of commodities × regions² × draws (shipments
#: by origin and buyer, their shares and temporaries; counted generously).
_ALLOCATION_ARRAYS = 12

Array = npt.NDArray[np.float64]


class MonteCarloTooLargeError(ChokepointError):
    """A Monte Carlo run whose estimated memory exceeds the budget."""


@dataclass(frozen=True)
class MonteCarloEstimate:
    """What a Monte Carlo run will need, estimated from its sizes before it starts."""

    draws: int
    memory_bytes: int
    seconds: float


def estimate_monte_carlo(draws: int, months: int, regions: int, sectors: int, commodities: int) -> MonteCarloEstimate:
    """Memory and time of ``draws`` draws over ``months`` on ``regions × commodities`` nodes.

    Memory, in 8-byte floats: what is kept of every draw until the percentiles are taken — world
    shortfall per month, prices per month and commodity, peak shortfall per region and sector,
    and the drawn parameters (three rates, a factor and a capacity scale per node), counted twice
    for the concatenation and sort behind the percentiles — plus one chunk's working set: demand,
    shortfall and their ratio per draw, month, region and sector (``3 × chunk × months × regions ×
    sectors``), prices, and a month's allocation arrays (``12 × chunk × commodities × regions²``).
    Time: draws × months × nodes at :data:`NODE_STEPS_PER_S`.
    """
    nodes = regions * commodities
    chunk = min(draws, MAX_BATCH)  # the largest batch: an upper bound
    per_draw = 2 * (months * (1 + commodities) + regions * sectors + 3 + 2 * nodes)
    working = chunk * (
        3 * months * regions * sectors + months * commodities + _ALLOCATION_ARRAYS * commodities * regions**2
    )
    return MonteCarloEstimate(draws, 8 * (draws * per_draw + working), draws * months * nodes / NODE_STEPS_PER_S)


def memory_budget_bytes() -> int:
    """``CHOKEPOINT_MEMORY_BUDGET_GB`` (GB of 10⁹ bytes), else :data:`MEMORY_FRACTION` of physical memory."""
    text = os.environ.get("CHOKEPOINT_MEMORY_BUDGET_GB", "").strip()
    if text:
        try:
            gb = float(text)
        except ValueError:
            gb = float("nan")
        if not (np.isfinite(gb) and gb > 0):
            raise ChokepointError(f"CHOKEPOINT_MEMORY_BUDGET_GB={text!r} is not a positive number of GB; e.g. 4")
        return int(gb * 1e9)
    return int(MEMORY_FRACTION * os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def check_monte_carlo(baseline: Baseline, plan: Plan, uncertainty: Uncertainty) -> MonteCarloEstimate:
    """The run's estimate; :class:`MonteCarloTooLargeError` if its memory is above the budget."""
    regions, sectors, commodities = len(baseline.net.regions), len(baseline.sectors), len(baseline.commodities)
    est = estimate_monte_carlo(uncertainty.draws, len(plan.periods), regions, sectors, commodities)
    budget = memory_budget_bytes()
    if est.memory_bytes > budget:
        lo, hi = 0, uncertainty.draws  # the most draws that fit: memory grows with draws
        while hi - lo > 1:
            mid = (lo + hi) // 2
            fits = estimate_monte_carlo(mid, len(plan.periods), regions, sectors, commodities).memory_bytes <= budget
            lo, hi = (mid, hi) if fits else (lo, mid)
        most = lo
        raise MonteCarloTooLargeError(
            f"{uncertainty.draws} Monte Carlo draws need an estimated {est.memory_bytes / 1e9:.3g} GB and "
            f"{est.seconds:.0f} s, above the memory budget of {budget / 1e9:.3g} GB; use fewer draws "
            f"(about {most} fit) or raise CHOKEPOINT_MEMORY_BUDGET_GB"
        )
    return est


def draw_parameters(scenario: Scenario, uncertainty: Uncertainty, baseline: Baseline) -> dict[str, Array]:
    """Per-draw engine parameters (arrays of length ``draws``; capacity factors (draws, nodes))."""
    rng = np.random.default_rng(uncertainty.seed)
    n_nodes = len(baseline.net.nodes)
    n = uncertainty.draws
    out = {name: np.full(n, value) for name, value in engine_rates(scenario).items()}
    for name in ("sourcing_adjustment", "sourcing_reversion", "price_scarcity_exponent"):
        lo_hi = getattr(uncertainty, name)
        if lo_hi is not None:
            out[name] = rng.uniform(lo_hi[0], lo_hi[1], n)
    spare = uncertainty.spare_capacity_scale
    f = rng.uniform(spare[0], spare[1], (n, n_nodes)) if spare is not None else np.ones((n, n_nodes))
    cap = baseline.capacity_t
    used = np.divide(baseline.production_t, cap, out=np.ones_like(cap), where=cap > 0)
    out["capacity_scale"] = 1.0 - (1.0 - f) * (1.0 - used)[None, :]
    return out


def run_uncertainty(
    baseline: Baseline, plan: Plan, scenario: Scenario, uncertainty: Uncertainty
) -> dict[str, pd.DataFrame]:
    """Percentiles over the draws: world shortfall per month (``uncertainty_world``), price index
    per month and commodity (``uncertainty_prices``) and peak shortfall per region and sector
    (``uncertainty_peaks``)."""
    params = draw_parameters(scenario, uncertainty, baseline)
    world, prices, peaks = [], [], []
    size = batch_size(baseline, plan)
    for lo in range(0, uncertainty.draws, size):
        hi = min(lo + size, uncertainty.draws)
        kept = run_draws(baseline, plan, batch=hi - lo, **{name: value[lo:hi] for name, value in params.items()})
        demand, short = kept.demand_t, kept.shortfall_t  # (B, T, R, S)
        world.append(_pct(short.sum(axis=(2, 3)), demand.sum(axis=(2, 3))))
        prices.append(np.asarray(kept.price_index))
        # each region × sector's worst month, as a share of that month's demand
        peaks.append(_pct(short, demand).max(axis=1))  # (B, R, S)
    periods = [str(p) for p in plan.periods]
    regions, commodities, sectors = list(baseline.net.regions), baseline.commodities, list(baseline.sectors)
    q_world = np.quantile(np.concatenate(world), QUANTILES, axis=0)  # (Q, T)
    q_price = np.quantile(np.concatenate(prices), QUANTILES, axis=0)  # (Q, T, K)
    q_peak = np.quantile(np.concatenate(peaks), QUANTILES, axis=0)  # (Q, R, S)
    names = [f"p{round(100 * q):02d}" for q in QUANTILES]
    world_table = pd.DataFrame({"period": periods, **{f"shortfall_pct_{n}": q_world[i] for i, n in enumerate(names)}})
    price_index = pd.MultiIndex.from_product([periods, commodities], names=["period", "commodity_id"])
    price_table = pd.DataFrame(
        {f"price_index_{n}": q_price[i].ravel() for i, n in enumerate(names)}, index=price_index
    ).reset_index()
    peak_index = pd.MultiIndex.from_product([regions, sectors], names=["region_id", "sector_id"])
    peak_table = pd.DataFrame(
        {f"peak_shortfall_pct_{n}": q_peak[i].ravel() for i, n in enumerate(names)}, index=peak_index
    ).reset_index()
    peak_table = peak_table[peak_table[f"peak_shortfall_pct_{names[-1]}"] > 1e-6].reset_index(drop=True)
    return {"uncertainty_world": world_table, "uncertainty_prices": price_table, "uncertainty_peaks": peak_table}


def _pct(short: Array, demand: Array) -> Array:
    return np.asarray(100.0 * np.divide(short, demand, out=np.zeros_like(short), where=demand > 0))
