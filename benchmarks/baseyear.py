"""The reconciled base year's cost: reconcile 2024 and 2010 on the shipped data, against the
simulation step that consumes it (one fast-mode no-shock year), measured in the same run.

Run from the repository root: ``.venv/bin/python benchmarks/baseyear.py`` (~1 minute). Writes
``benchmarks/results/baseyear.md``. Each timing clears the base-year and network caches first.
"""

from __future__ import annotations

import time
from pathlib import Path

import chokepoint as cp
from chokepoint import network
from chokepoint.baseyear import fit, reconcile
from chokepoint.scenario import Scenario
from chokepoint.simulation import simulate

OUT = Path(__file__).resolve().parent / "results" / "baseyear.md"


def _fresh() -> None:
    fit._CACHE.clear()
    network._CACHE.clear()


def _best(fn: object, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        _fresh()
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ds = cp.default_dataset()
    rows = []
    for year in (2024, 2010):
        by = reconcile(ds, "rare_earths", year)
        seconds = _best(lambda y=year: reconcile(ds, "rare_earths", y))
        rows.append((year, len(by.targets), len(by.regions), len(by.flows), seconds))
    scenario = Scenario.model_validate({"name": "none", "start": "2025-01", "horizon_months": 12})
    reconcile(ds, "rare_earths", 2024)
    t0 = time.perf_counter()
    simulate(ds, scenario)  # base year cached: the simulation alone
    year_run = time.perf_counter() - t0
    lines = [
        "# Base-year reconciliation",
        "",
        "| year | targets | regions | flows | reconcile (s) | ÷ a 12-month no-shock run |",
        "|---|---:|---:|---:|---:|---:|",
        *(f"| {y} | {t} | {r} | {f} | {s:.2f} | {s / year_run:.2f} |" for y, t, r, f, s in rows),
        "",
        f"A 12-month fast-mode run on the cached 2024 base: {year_run:.2f} s.",
    ]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
