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
  (start-up included: that is what a user waits for), with the outcomes checked identical.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pandas as pd

from chokepoint.dataset import default_dataset
from chokepoint.scenario import load_scenario
from chokepoint.simulation import scenario_baseline
from chokepoint.sweeps import sweep, with_parameters
from chokepoint.sweeps.evaluate import concat, evaluate_draws

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
ENGINE_PATHS = ("markets.cover_months", "price_scarcity_exponent")


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


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
    out = ROOT / "benchmarks" / "results" / "sweep.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
