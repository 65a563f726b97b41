"""Sweep throughput: batched engine draws vs single runs, planned draws, and executors, as ratios.

    .venv/bin/python benchmarks/sweep.py            # ~3 minutes on 2 cores
    .venv/bin/python benchmarks/sweep.py --quick    # fewer draws, ~1 minute

Writes benchmarks/results/sweep.md. Every ratio is against a baseline measured in the same run:
- engine-only draws of gallium-2023 (buyers' cover and the price exponent vary; one batch along the
  engine's draw axis) against the same draws evaluated one at a time (each planning its scenario
  and building its base year, as a loop of ``simulate`` calls would), and their node-steps per
  second (draws × months × nodes / s);
- draws that each need their own plan (the shipped gallium parameters) against engine-only ones;
- the same planned sweep inline, on a pool of 2 processes and on a 2-worker Dask LocalCluster
  (start-up included: that is what a user waits for), with the outcomes checked identical;
- on china-2025-licensing (the 2024 element base), engine-only draws in batches of 1, of the
  size :func:`~chokepoint.simulation.engine.batch_size` picks and of 256 (the fixed size before),
  and the same batches on 1 and 2 forked processes (inputs built first: the engine's scaling).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from chokepoint.dataset import default_dataset
from chokepoint.scenario import load_scenario
from chokepoint.simulation import build_plan, scenario_baseline
from chokepoint.simulation.engine import RATE_PATHS, batch_size, engine_rates, run_draws
from chokepoint.sweeps import sweep, with_parameters
from chokepoint.sweeps.evaluate import concat, evaluate_draws
from chokepoint.sweeps.samplers import sample

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
ENGINE_PATHS = ("markets.cover_months", "price_scarcity_exponent")


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


_STATE: dict[str, Any] = {}


def _batch(bounds: tuple[int, int]) -> float:
    """Run draws ``lo:hi`` of the prepared inputs as one batch; their summed world shortfall (t)."""
    lo, hi = bounds
    rates = {name: value[lo:hi] if isinstance(value, np.ndarray) else value for name, value in _STATE["rates"].items()}
    return float(run_draws(_STATE["baseline"], _STATE["plan"], batch=hi - lo, **rates).shortfall_t.sum())


def china_batches(ds: Any, quick: bool) -> list[str]:
    """Engine-only draws of the 2025 scenario: batch sizes, and the engine's scaling to 2 processes."""
    scenario = with_parameters(
        load_scenario(ROOT / "examples/scenarios/china-2025-licensing.yaml"),
        ROOT / "examples/sweeps/china-2025-licensing.yaml",
    )
    assert scenario.uncertainty is not None
    engine = [p for p in scenario.uncertainty.parameters if p.path in RATE_PATHS.values()]
    design = sample(engine, 512, "lhs", scenario.uncertainty.seed)
    baseline = scenario_baseline(ds, scenario)
    plan = build_plan(baseline, scenario, ds)
    by_path = {path: name for name, path in RATE_PATHS.items()}
    rates: dict[str, Any] = engine_rates(scenario)
    rates |= {by_path[c]: design.values[c].to_numpy(dtype=float) for c in design.values.columns}
    _STATE.update(baseline=baseline, plan=plan, rates=rates)
    months, nodes, chosen = len(plan.periods), len(baseline.net.nodes), batch_size(baseline, plan)
    _batch((0, 1))  # warm
    lines = [
        "",
        f"## china-2025-licensing, engine-only draws ({months} months, {nodes} nodes,"
        f" {', '.join(p.path for p in engine)} varied)",
        "",
        "| case | draws | seconds | ms per draw | node-steps/s |",
        "|---|---:|---:|---:|---:|",
    ]
    rows: dict[str, float] = {}
    sizes = [(1, 8), (chosen, 4 * chosen if quick else 8 * chosen)]
    sizes += [] if quick else [(256, 256)]
    for size, n in sizes:
        _, t = _timed(lambda size=size, n=n: [_batch((lo, lo + size)) for lo in range(0, n, size)])
        label = f"batches of {size}" + (" (batch_size's choice)" if size == chosen else "")
        rows[label] = t / n
        lines.append(f"| {label}, 1 process | {n:,} | {t:.2f} | {1000 * t / n:.0f} | {n * months * nodes / t:.3g} |")
    n = 4 * chosen if quick else 8 * chosen
    chunks = [(lo, lo + chosen) for lo in range(0, n, chosen)]
    inline, t_one = _timed(lambda: [_batch(c) for c in chunks])
    with mp.get_context("fork").Pool(2) as pool:
        pool.map(_batch, chunks[:2])  # warm the workers
        pooled, t_two = _timed(lambda: pool.map(_batch, chunks))
    assert pooled == inline  # the same draws give the same numbers in the workers
    lines.append(
        f"| batches of {chosen}, 2 processes | {n:,} | {t_two:.2f} | {1000 * t_two / n:.0f} |"
        f" {n * months * nodes / t_two:.3g} |"
    )
    best = min(rows.values())
    lines += [
        "",
        f"- batch_size's choice ({chosen}) vs one draw a batch: {rows['batches of 1'] / best:.2f}x faster per draw",
    ]
    if "batches of 256" in rows:
        lines.append(
            f"- vs batches of 256 (the fixed size before): {rows['batches of 256'] / best:.2f}x faster per draw"
        )
    lines += [
        f"- 2 processes: {t_one / t_two:.2f}x the speed of 1 (the same {n} draws, identical results)",
        f"- the goal of 10^7 node-steps/s on one process: {n * months * nodes / t_one / 1e7:.2f} of it",
        f"- a 10^6-draw sweep at the 2-process rate would take {1e6 * t_two / n / 3600:.0f} hours: not run",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    ds = default_dataset()
    scenario = with_parameters(
        load_scenario(ROOT / "examples/scenarios/gallium-2023.yaml"), ROOT / "examples/sweeps/gallium-2023.yaml"
    )
    assert scenario.uncertainty is not None
    engine_only = scenario.model_copy(
        update={
            "uncertainty": scenario.uncertainty.model_copy(
                update={"parameters": [p for p in scenario.uncertainty.parameters if p.path in ENGINE_PATHS]}
            )
        }
    )
    n_engine, n_single, n_planned = (512, 16, 64) if quick else (4096, 64, 512)
    sweep(ds, engine_only, samples=4)  # warm caches (the dataset's derived tables)
    batched, t_batched = _timed(lambda: sweep(ds, engine_only, samples=n_engine))
    # the first n_single of the same draws, one engine run each
    values = batched.inputs.iloc[:n_single]
    singles, t_single = _timed(
        lambda: concat([evaluate_draws(ds, engine_only, values.iloc[[i]]) for i in range(n_single)]).outcomes
    )
    pd.testing.assert_frame_equal(singles, batched.outcomes.iloc[:n_single], check_exact=False, rtol=1e-9)
    months = scenario.horizon_months
    nodes = len(scenario_baseline(ds, scenario).net.nodes)
    per_batched, per_single = t_batched / n_engine, t_single / n_single
    planned, t_planned = _timed(lambda: sweep(ds, scenario, samples=n_planned))
    rows = [("engine-only, one batch", n_engine, t_batched)]
    rows.append(("engine-only, one evaluation each (plan and base year rebuilt)", n_single, t_single))
    rows.append(("planned draws, inline", n_planned, t_planned))
    for executor in ("processes", "dask"):
        other, t = _timed(lambda ex=executor: sweep(ds, scenario, samples=n_planned, executor=ex, workers=2))
        pd.testing.assert_frame_equal(other.outcomes, planned.outcomes, check_exact=True)
        rows.append((f"planned draws, {executor} x2 (start-up included)", n_planned, t))
    lines = [
        "# Sweep throughput",
        "",
        f"`benchmarks/sweep.py{' --quick' if quick else ''}` on {platform.machine()}, {os.cpu_count()} cores;"
        f" gallium-2023: {months} months, {nodes} nodes.",
        "",
        "| case | draws | seconds | ms per draw | node-steps/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, n, t in rows:
        lines.append(f"| {name} | {n:,} | {t:.2f} | {1000 * t / n:.2f} | {n * months * nodes / t:.3g} |")
    lines += [
        "",
        f"- batched engine draws vs one evaluation each: {per_single / per_batched:.0f}x faster per draw",
        f"- a planned draw costs {(t_planned / n_planned) / per_batched:.0f}x an engine-only batched draw",
    ]
    for name, _, t in rows[3:]:
        lines.append(f"- {name}: {t_planned / t:.2f}x the inline time's speed")
    lines.append("- outcomes identical on every executor (checked exactly)")
    lines += china_batches(ds, quick)
    out = ROOT / "benchmarks" / "results" / "sweep.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
