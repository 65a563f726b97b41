"""Issue 10's tracebacks on ordinary mistakes, re-run one by one through the CLI: each is now one
line on stderr and exit code 2 (the four raw numpy/pandas errors of ``upstream_footprint`` are
library calls, covered by tests/test_iomath.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chokepoint.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "scenarios"
BACI = Path(__file__).parent / "data" / "baci"
SCENARIO = EXAMPLES / "japan-2010.yaml"


def _deep(tmp_path: Path) -> str:
    path = tmp_path / "deep.yaml"
    path.write_text("name: x\nstart: " + "[" * 500 + "]" * 500 + "\n", encoding="utf-8")
    return str(path)


def _folder(tmp_path: Path) -> str:
    (tmp_path / "folder.yaml").mkdir()
    return str(tmp_path / "folder.yaml")


def _fifo(tmp_path: Path) -> str:
    os.mkfifo(tmp_path / "pipe.yaml")
    return str(tmp_path / "pipe.yaml")


def _file(name: str, text: str) -> Callable[[Path], str]:
    def make(tmp_path: Path) -> str:
        (tmp_path / name).write_text(text, encoding="utf-8")
        return str(tmp_path / name)

    return make


def _cut_store(tmp_path: Path) -> str:
    db = tmp_path / "cut.duckdb"
    assert main(["data", "list", "--db", str(db)]) == 0
    data = db.read_bytes()
    db.write_bytes(data[:100_000])  # DuckDB still opens a file cut after its first third
    return str(db)


def _baci_twice(tmp_path: Path) -> str:
    folder = tmp_path / "baci"
    folder.mkdir()
    for source in BACI.iterdir():
        (folder / source.name).write_bytes(source.read_bytes())
    codes = folder / "country_codes_V202501.csv"
    lines = codes.read_text(encoding="utf-8").splitlines(keepends=True)
    codes.write_text("".join([*lines, lines[1]]), encoding="utf-8")
    return str(folder / "BACI_HS92_Y2022_V202501_sample.csv")


def _non_empty(tmp_path: Path) -> str:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me", encoding="utf-8")
    return str(tmp_path / "mine")


COMTRADE_HEADER = "year,reporter_iso,flow,partner_code,partner_iso,cmd_code,net_weight_kg,primary_value_usd\n"
#: (id, argv with {} for the made path, how to make it)
CASES: list[tuple[str, list[str], Callable[[Path], str]]] = [
    ("scenario is a directory", ["simulate", "{}"], _folder),
    ("scenario is a FIFO", ["simulate", "{}"], _fifo),
    ("scenario nested 500 deep", ["simulate", "{}"], _deep),
    ("pathway is a directory", ["leverage", "USA", "CHN", "--pathway", "{}"], _folder),
    ("pathway nested 500 deep", ["leverage", "USA", "CHN", "--pathway", "{}"], _deep),
    ("scenario is a list", ["simulate", "{}"], _file("list.yaml", "- a\n- b\n")),
    ("scenario is binary", ["simulate", "{}"], _file("bin.yaml", "\x00\x01name")),
    ("--out is ''", ["simulate", str(SCENARIO), "--out", ""], lambda _: ""),
    ("--out is a file", ["simulate", str(SCENARIO), "--out", "{}"], _file("out.txt", "x")),
    ("--out is someone's folder", ["simulate", str(SCENARIO), "--out", "{}"], _non_empty),
    ("export into someone's folder", ["data", "export", "--out", "{}"], _non_empty),
    ("export --out ''", ["data", "export", "--out", ""], lambda _: ""),
    ("truncated store file", ["data", "list", "--db", "{}"], _cut_store),
    ("store is a directory", ["data", "list", "--db", "{}"], _folder),
    ("header-only comtrade", ["data", "import", "comtrade", "{}"], _file("c.csv", COMTRADE_HEADER)),
    ("header-only usgs", ["data", "import", "usgs-mcs", "{}"], _file("mcs2024-raree_world.csv", "Source,Country\n")),
    ("empty usgs", ["data", "import", "usgs-mcs", "{}"], _file("mcs2024-raree_world.csv", "")),
    ("duplicate BACI country code", ["data", "import", "baci", "{}"], _baci_twice),
    ("import a directory", ["data", "import", "baci", "{}"], _folder),
    ("unknown import format", ["data", "import", "xlsx", "{}"], _file("a.csv", "a\n1\n")),
    ("unknown pathway", ["leverage", "USA", "CHN", "--pathway", "no-such-pathway"], lambda _: ""),
    ("unknown region", ["exposure", "--region", "XXX", "--product", "ndfeb_magnet"], lambda _: ""),
    ("unknown dataset", ["overview", "--dataset", "nope"], lambda _: ""),
    ("draws above the maximum", ["simulate", str(SCENARIO), "--draws", "100001"], lambda _: ""),
    ("year far outside the data", ["overview", "--year", "1800"], lambda _: ""),
    ("missing scenario file", ["simulate", "{}"], lambda tmp: str(tmp / "missing.yaml")),
]


@pytest.mark.parametrize(("argv", "make"), [(a, m) for _, a, m in CASES], ids=[c[0] for c in CASES])
def test_an_ordinary_mistake_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str], make: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    made = make(tmp_path)
    args = [a.replace("{}", made) for a in argv]
    if "--db" not in args:
        args += ["--db", str(tmp_path / "store.duckdb")] if args[0] in ("simulate", "data", "overview") else []
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1, err
    assert err.startswith("chokepoint: error: "), err
    assert "Traceback" not in err
