"""Benchmark a run's table building against its engine on a ~1,000-node network.

Run from the repository root (about a minute on 2 cores)::

    .venv/bin/python benchmarks/tables.py

A synthetic dataset of 250 regions × 4 chain stages (1,000 nodes) with a seeded random, sparse
trade pattern, and a 120-month scenario in which one region licenses its exports of the last two
stages. In the same process and run: the engine (``run_scenario``, fast mode) and building the
Run's tables from its trajectory (``run_tables``: tidy tables, summary, the controller's direct and
traced shares from its rows of the Leontief inverse). For scale, the former all-node dense solve of
the traced share is timed on a few months and scaled to 120. Results go to
``benchmarks/results/tables.md``.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from _tables import RESULTS, markdown_table

from chokepoint.dataset import Dataset
from chokepoint.iomath import solve_leontief
from chokepoint.scenario import Scenario
from chokepoint.schema import validate_table
from chokepoint.simulation import build_baseline, build_plan, run_scenario
from chokepoint.simulation.tabulate import run_tables

#: The schema knows four stages (mining, refining, metal, magnet), so 250 regions make 1,000 nodes.
STAGE_NAMES = ("mining", "refining", "metal", "magnet")
REGIONS = 250
STAGES = len(STAGE_NAMES)
MONTHS = 120
SUPPLIERS = 4  # foreign suppliers per region and stage
REPEATS = 3  # best of, for the engine and the tables
DENSE_MONTHS = 3  # months of the former dense solve timed (it is scaled to MONTHS)
SEED = 20251201
PROV = {"source_id": "s", "basis": "reported", "note": ""}


def _table(name: str, rows: list[dict[str, object]]) -> pd.DataFrame:
    return validate_table(name, pd.DataFrame(rows).astype("string"))


def dataset() -> Dataset:
    """250 regions, stages k0 → k3 (1 t of the previous stage per t), one sector using k3."""
    rng = np.random.default_rng(SEED)
    regions = [f"R{i:03d}" for i in range(REGIONS)]
    ks = [f"k{j}" for j in range(STAGES)]
    # Upstream stages are concentrated in few regions, like mining and refining.
    makers = [rng.choice(REGIONS, size=max(5, REGIONS // (STAGES - j)), replace=False) for j in range(STAGES)]
    production, trade = [], []
    for j, k in enumerate(ks):
        for r in makers[j]:
            production.append({"region_id": regions[r], "commodity_id": k, "year": 2024,
                               "production_t": round(float(rng.uniform(50, 500)), 1), **PROV})  # fmt: skip
        for b in range(REGIONS):
            for o in rng.choice(makers[j], size=min(SUPPLIERS, len(makers[j])), replace=False):
                if o != b:
                    trade.append({"exporter_id": regions[o], "importer_id": regions[b], "commodity_id": k,
                                  "year": 2024, "quantity_t": round(float(rng.uniform(1, 20)), 1), **PROV})  # fmt: skip
    commodities = [{"commodity_id": k, "name": k, "material": "m", "stage": STAGE_NAMES[j], "stage_order": j + 1,
                    "quantity_basis": "t"} for j, k in enumerate(ks)]  # fmt: skip
    recipes = [{"output_commodity_id": ks[j + 1], "input_commodity_id": ks[j], "content_t_per_t": 1,
                "yield_fraction": 1, **PROV} for j in range(STAGES - 1)]  # fmt: skip
    activity = [{"region_id": r, "sector_id": "use", "year": 2024, "activity": round(float(rng.uniform(1e4, 1e5))),
                 **PROV} for r in regions]  # fmt: skip
    activity.append({"region_id": "WLD", "sector_id": "use", "year": 2024,
                     "activity": sum(float(a["activity"]) for a in activity), **PROV})  # fmt: skip
    tables = {
        "sources": [{"source_id": "s", "publisher": "p", "title": "t", "section": "x", "published_year": 2024}],
        "regions": [{"region_id": r, "name": r, "kind": "country"} for r in regions]
        + [{"region_id": "WLD", "name": "World", "kind": "aggregate"}],
        "commodities": commodities,
        "recipes": recipes,
        "production": production,
        "trade": trade,
        "sectors": [{"sector_id": "use", "name": "use", "activity_unit": "units"}],
        "intensities": [{"sector_id": "use", "commodity_id": ks[-1], "intensity_kg_per_unit": 1, **PROV}],
        "sector_activity": activity,
    }
    return Dataset("synthetic", {name: _table(name, rows) for name, rows in tables.items()})


def scenario(controller: str) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "synthetic-licence",
            "material": "m",
            "start": "2025-01",
            "horizon_months": MONTHS,
            "export_controls": [
                {
                    "name": "licence",
                    "controller": controller,
                    "commodities": ["k2", "k3"],
                    "targets": {"all_but": [controller]},
                    "instrument": {"kind": "licence", "approval_share": 0.4},
                    "start": "2025-04",
                }
            ],
        }
    )


def _timed(fn: Callable[[], Any], repeats: int = 1) -> tuple[float, Any]:
    """The best of ``repeats`` wall-clock times of ``fn()`` and its result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _dense_traced(baseline: Any, shipped: np.ndarray, months: int) -> None:
    """The former traced share: the whole (I − A)⁻¹·M per month, dense, for every node."""
    R, K = len(baseline.net.regions), len(baseline.commodities)
    a = baseline.inputs
    for t in range(months):
        got = shipped[t].sum(axis=1, keepdims=True)
        m = np.divide(shipped[t], got, out=np.zeros_like(shipped[t]), where=got > 0)
        M = np.zeros((R, K, R, K))
        for k in range(K):
            M[:, k, :, k] = m[k]
        A = (m.transpose(1, 0, 2)[..., None] * a[None, :, None, :]).reshape(R * K, R * K)
        solve_leontief(A, M.reshape(R * K, R * K))


def main() -> None:
    ds = dataset()
    setup, (sc, baseline, plan) = _timed(lambda: _inputs(ds))
    nodes = len(baseline.net.nodes)
    engine, trajectory = _timed(lambda: run_scenario(baseline, plan, sc, "fast"), REPEATS)
    tables_s, tables = _timed(lambda: run_tables(baseline, plan, trajectory, sc), REPEATS)
    dense, _ = _timed(lambda: _dense_traced(baseline, trajectory.shipped_t[0], DENSE_MONTHS))
    dense_full = dense * MONTHS / DENSE_MONTHS
    total = engine + tables_s
    rows = pd.DataFrame(
        [
            {"step": "engine (run_scenario, fast)", "seconds": engine, "share_of_run_pct": 100 * engine / total},
            {"step": "Run tables (run_tables)", "seconds": tables_s, "share_of_run_pct": 100 * tables_s / total},
            {
                "step": f"former dense traced solve (scaled from {DENSE_MONTHS} months)",
                "seconds": dense_full,
                "share_of_run_pct": 100 * dense_full / (engine + dense_full),
            },
        ]
    )
    rows["seconds"] = rows["seconds"].round(3)
    rows["share_of_run_pct"] = rows["share_of_run_pct"].round(1)
    rows_total = sum(len(t) for t in tables.values())
    header = (
        "# Run tables vs engine at 1,000 nodes\n\n"
        f"`.venv/bin/python benchmarks/tables.py` on {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}: a synthetic network of {REGIONS} regions × {STAGES} stages "
        f"({nodes} nodes), {MONTHS} months, one controller licensing two stages; setup (baseline and plan, not in "
        f"the shares) {setup:.2f} s; the tables hold {rows_total:,} rows. Shares are of engine + tables, measured "
        f"in the same run (best of {REPEATS}); the last row's share is of engine + the former solve, which it "
        "would replace.\n\n"
    )
    verdict = "below" if tables_s < engine else "NOT below"
    footer = f"\nThe tables' share ({100 * tables_s / total:.1f}%) is {verdict} the engine's.\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tables.md").write_text(header + markdown_table(rows) + "\n" + footer)
    print(header + markdown_table(rows) + footer)


def _inputs(ds: Dataset) -> tuple[Scenario, Any, Any]:
    sc = scenario("R000")
    baseline = build_baseline(ds, sc.material, sc.base_year, sc.capacity_utilisation)
    return sc, baseline, build_plan(baseline, sc, ds)


if __name__ == "__main__":
    main()
