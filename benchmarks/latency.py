"""Latency a user feels: ``chokepoint --help``, a warm ``overview`` and ``leverage compare``, for this
tree and the baseline revision, measured in the same run (ratios, not absolute seconds, are the result).

The baseline is checked out with ``git worktree add`` into a temporary folder and run with
``PYTHONPATH`` at its ``src`` and this interpreter; each tree gets its own store file, warmed by one
untimed run. Each command runs in a fresh process, alternating trees, and the median of the repeats
is reported. ``leverage compare`` is timed twice: cold (an empty ``$CHOKEPOINT_CACHE`` folder each
run, so the rare-earth cutoff is simulated) and warm (the folder an untimed run filled: the
simulated losses are read back); the baseline has no cache, so both rows compare with the same
baseline command. Writes ``benchmarks/results/latency.csv`` and ``latency.md``.

    .venv/bin/python benchmarks/latency.py          # 5 repeats (leverage compare: 3), ~5 minutes
    .venv/bin/python benchmarks/latency.py --quick  # 3 repeats (leverage compare: 1)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tables import RESULTS, markdown_table

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "307f8f7"
LEVERAGE = ("leverage", "compare", "USA", "CHN")
#: Command (as reported), its arguments, the leverage cache it runs with, and the speed-up issue 9 asks for.
COMMANDS: tuple[tuple[str, tuple[str, ...], str | None, float], ...] = (
    ("--help", ("--help",), None, 4.0),
    ("overview --year 2024", ("overview", "--year", "2024"), None, 4.0),
    ("leverage compare USA CHN (cold cache)", LEVERAGE, "cold", 10.0),
    ("leverage compare USA CHN (warm cache)", LEVERAGE, "warm", 10.0),
)


@contextmanager
def baseline_tree(revision: str) -> Iterator[Path]:
    """A detached worktree of ``revision`` in a temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="chokepoint-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), revision], check=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)


def seconds(src: Path, store: Path, args: tuple[str, ...], cache: Path | None = None) -> float:
    """Wall-clock seconds of ``python -m chokepoint ARGS`` with ``src`` first on the path (and
    ``cache`` as the leverage cache folder; a fresh empty one, removed after, if ``None``)."""
    with tempfile.TemporaryDirectory(prefix="chokepoint-cold-") as cold:
        folder = Path(cold) if cache is None else cache
        env = {**os.environ, "PYTHONPATH": str(src), "CHOKEPOINT_DB": str(store), "CHOKEPOINT_CACHE": str(folder)}
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "chokepoint", *args], env=env, check=True, capture_output=True)
        return time.perf_counter() - start


def measure(
    trees: dict[str, Path], stores: dict[str, Path], caches: dict[str, Path], repeats: int, compare_repeats: int
) -> pd.DataFrame:
    for label, src in trees.items():  # warm: the store holds the default dataset before anything is timed
        seconds(src, stores[label], ("overview", "--year", "2024"))
    rows = []
    for name, args, cache, goal in COMMANDS:
        if cache == "warm":  # an untimed run fills each tree's cache folder
            for label, src in trees.items():
                seconds(src, stores[label], args, caches[label])
        times: dict[str, list[float]] = {label: [] for label in trees}
        for _ in range(compare_repeats if args[0] == "leverage" else repeats):
            for label, src in trees.items():  # alternate, so both see the same load on the machine
                times[label].append(seconds(src, stores[label], args, caches[label] if cache == "warm" else None))
        before, after = statistics.median(times["baseline"]), statistics.median(times["current"])
        rows.append(
            {
                "command": name,
                "repeats": len(times["current"]),
                "baseline_s": before,
                "current_s": after,
                "speedup": before / after,
                "goal_speedup": goal,
                "meets_goal": before / after >= goal,
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats, leverage compare once")
    opts = parser.parse_args()
    repeats, compare_repeats = (3, 1) if opts.quick else (5, 3)
    with baseline_tree(BASELINE) as base, tempfile.TemporaryDirectory(prefix="chokepoint-stores-") as tmp:
        trees = {"baseline": base / "src", "current": ROOT / "src"}
        stores = {label: Path(tmp) / f"{label}.duckdb" for label in trees}
        caches = {label: Path(tmp) / f"{label}-cache" for label in trees}
        table = measure(trees, stores, caches, repeats, compare_repeats)
    RESULTS.mkdir(exist_ok=True)
    table.to_csv(RESULTS / "latency.csv", index=False)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    text = (
        f"# Latency: this tree ({commit.stdout.strip()}) against {BASELINE}, same run\n\n"
        f"Median wall-clock seconds of a fresh `python -m chokepoint …` process ({os.cpu_count()} cores; "
        f"load average at the end {os.getloadavg()[0]:.1f}). Speed-up = baseline / current.\n\n"
        + markdown_table(table)
        + "\n"
    )
    (RESULTS / "latency.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
