"""What resolving elements costs the simulation: a 12-month no-shock run and the shipped
china-2025 scenario, fast and lp, each divided by a fixed reference computation timed in the
same run (a fixed pandas and numpy workload, single-threaded in effect), so figures from two checkouts compare
although they cannot run in one process.

Run from the repository root: ``.venv/bin/python benchmarks/elements.py [label]`` (~2 minutes).
To compare with another checkout, run the same file against its sources, e.g.
``PYTHONPATH=../other/src .venv/bin/python benchmarks/elements.py other``. Appends one row per
run to ``benchmarks/results/elements.md``. The base year is reconciled once before timing
(cached), so the figures are the simulation alone.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

import chokepoint as cp
from chokepoint.baseyear import reconcile
from chokepoint.scenario import Scenario, load_scenario
from chokepoint.simulation import simulate

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "results" / "elements.md"
HEADER = [
    "# Element-resolved simulation cost",
    "",
    "Seconds, and ÷ the reference computation (`_reference`: sorts, cumulative sums and a groupby",
    "on seeded arrays) timed in the same run.",
    "",
    "| label | commodities | reference (s) | no-shock fast | no-shock lp | china-2025 fast | china-2025 lp (24 mo) |",
    "|---|---:|---:|---:|---:|---:|---:|",
]


def _best(fn: Callable[[], object], repeats: int = 2) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _reference() -> None:
    # elementwise and indexing work like the engine's, no BLAS (whose threads vary by machine load)
    rng = np.random.default_rng(0)
    x = rng.random(2_000_000)
    for _ in range(5):
        np.sort(x)
        np.cumsum(x)
        pd.Series(x).groupby((x * 1000).astype(int)).sum()


def main(label: str) -> None:
    ds = cp.default_dataset()
    reconcile(ds, "rare_earths", 2024)
    n_k = int((ds["commodities"]["material"] == "rare_earths").sum())
    none = Scenario.model_validate({"name": "none", "start": "2025-01", "horizon_months": 12})
    china = load_scenario(ROOT / "examples" / "scenarios" / "china-2025-licensing.yaml")
    china = china.model_copy(update={"uncertainty": None})
    china_lp = china.model_copy(update={"horizon_months": 24})
    ref = _best(_reference, 3)
    runs = [
        _best(lambda: simulate(ds, none, mode="fast")),
        _best(lambda: simulate(ds, none, mode="lp")),
        _best(lambda: simulate(ds, china, mode="fast")),
        _best(lambda: simulate(ds, china_lp, mode="lp"), 1),
    ]
    row = f"| {label} | {n_k} | {ref:.3f} | " + " | ".join(f"{s:.2f} s = {s / ref:.1f}×" for s in runs) + " |"
    text = OUT.read_text(encoding="utf-8") if OUT.exists() else "\n".join(HEADER) + "\n"
    OUT.write_text(text + row + "\n", encoding="utf-8")
    print(row)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "this checkout")
