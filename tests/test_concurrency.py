"""Several processes on one store at once: readers share it, writers wait their turn, nothing is lost."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

BACI = Path(__file__).parent / "data" / "baci" / "BACI_HS92_Y2022_V202501_sample.csv"
ROUNDS = 2  # each worker repeats its commands, so reads and writes overlap many times
TIMEOUT_S = 240  # per command: bounds the test if something ever blocks

SCENARIO = (
    "name: tiny\nstart: 2025-01\nhorizon_months: 3\nexport_controls:\n"
    "  - {name: b, controller: CHN, commodities: [ndfeb_magnet], targets: {countries: [USA]},\n"
    "     instrument: {kind: ban}, start: 2025-02}\n"
)


def _chokepoint(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chokepoint", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def _baci_copy(folder: Path, rows: int | None) -> Path:
    """The BACI sample with its code files in ``folder``, cut to its first ``rows`` data rows."""
    shutil.copytree(BACI.parent, folder)
    main = folder / BACI.name
    if rows is not None:
        lines = main.read_text(encoding="utf-8").splitlines(keepends=True)
        main.write_text("".join(lines[: rows + 1]), encoding="utf-8")
    return main


def test_four_processes_share_one_store(tmp_path: Path) -> None:
    # a store that does not exist yet: whichever process comes first writes the default dataset,
    # while the others wait for it
    env = {**os.environ, "CHOKEPOINT_DB": str(tmp_path / "shared.duckdb")}
    whole, head = _baci_copy(tmp_path / "a", None), _baci_copy(tmp_path / "b", 5)
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    workers: dict[str, list[tuple[str, ...]]] = {
        "import a": [("data", "import", "baci", str(whole), "--name", "baci_a")] * ROUNDS,
        "import b": [("data", "import", "baci", str(head), "--name", "baci_b")] * ROUNDS,
        "read": [cmd for _ in range(ROUNDS) for cmd in (("overview", "--year", "2024"), ("data", "list"))],
        "simulate": [
            ("simulate", str(scenario), "--out", str(tmp_path / "runs" / f"tiny{i}"), "-f", "csv")
            for i in range(ROUNDS)
        ],
    }
    failures: list[str] = []
    done: list[str] = []

    def work(label: str, commands: list[tuple[str, ...]]) -> None:
        for cmd in commands:
            result = _chokepoint(env, *cmd)
            if result.returncode:
                failures.append(f"{label}: {' '.join(cmd)} exited {result.returncode}: {result.stderr.strip()}")
            else:
                done.append(label)

    threads = [threading.Thread(target=work, args=item) for item in workers.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, "\n".join(failures)
    assert len(done) == sum(len(c) for c in workers.values())

    listed = _chokepoint(env, "data", "list", "-f", "csv")
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(listed.stdout))}
    assert set(rows) == {"default", "baci_a", "baci_b"}
    assert int(rows["baci_b"]["rows"]) < int(rows["baci_a"]["rows"])  # each import kept its own rows
    for layered in (("-d", "default", "-d", "baci_a"), ("-d", "default", "-d", "baci_b")):
        checked = _chokepoint(env, "data", "check", *layered, "-f", "json")
        assert checked.returncode == 0, checked.stderr
    for i in range(ROUNDS):
        assert (tmp_path / "runs" / f"tiny{i}" / "summary.json").is_file()
