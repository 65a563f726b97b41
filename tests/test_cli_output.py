"""What the command line prints: every row in csv and json, tables that fit the terminal and break
lines between words only, ``--limit`` on the table view alone, ``--search`` on long listings."""

from __future__ import annotations

import io
import json
import re

import pandas as pd
import pytest

from chokepoint.cli import main
from chokepoint.dataset import Dataset
from chokepoint.dataset.provenance import sources_used


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


@pytest.fixture(scope="module")
def sources(default: Dataset) -> pd.DataFrame:
    return sources_used(default)


def test_csv_and_json_carry_every_row_whatever_the_table_limit(
    capsys: pytest.CaptureFixture[str], sources: pd.DataFrame
) -> None:
    assert len(sources) > 50  # more than the table view's default limit
    csv = pd.read_csv(io.StringIO(run(capsys, "data", "sources", "--format", "csv", "--limit", "3")))
    assert sorted(csv["source_id"]) == sorted(sources["source_id"])
    doc = json.loads(run(capsys, "data", "sources", "--format", "json"))
    assert len(doc) == len(sources)


def test_the_table_view_shows_limit_rows_and_counts_the_rest(
    capsys: pytest.CaptureFixture[str], sources: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    out = run(capsys, "data", "sources", "--limit", "4")
    assert f"... and {len(sources) - 4:,} more rows" in out
    shown = [sid for sid in sources["source_id"] if re.search(rf"\b{re.escape(sid)}\b", out)]
    assert shown == list(sources["source_id"].head(4))


@pytest.mark.parametrize("width", [80, 120])
def test_at_any_width_no_line_is_too_long_and_no_word_is_broken(
    capsys: pytest.CaptureFixture[str], sources: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    out = run(capsys, "data", "sources", "--limit", "0")
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= width
    # every word of every cell that fits on a line is printed whole on one line
    words = {
        w
        for col in ("source_id", "publisher", "title", "note")
        for cell in sources[col].dropna()
        for w in str(cell).split()
    }
    printed = {w for line in lines for w in line.split()}
    fitting = {w for w in words if len(w) <= width - 25}
    assert fitting - printed == set()


def test_a_table_that_fits_is_a_table_with_one_row_per_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    out = run(capsys, "data", "summary")
    header = next(line for line in out.splitlines() if "reported_pct" in line)
    assert header.split() == [
        "┃",
        "table",
        "┃",
        "reported",
        "┃",
        "derived",
        "┃",
        "assumption",
        "┃",
        "rows",
        "┃",
        "reported_pct",
        "┃",
    ]


def test_search_keeps_the_rows_mentioning_the_text_in_any_column(
    capsys: pytest.CaptureFixture[str], sources: pd.DataFrame
) -> None:
    csv = pd.read_csv(io.StringIO(run(capsys, "data", "sources", "--search", "LYNAS", "--format", "csv")))
    expected = sources.loc[sources.astype(str).apply(lambda c: c.str.lower().str.contains("lynas")).any(axis=1)]
    assert sorted(csv["source_id"]) == sorted(expected["source_id"])
    assert "lynas_ar2023" in set(csv["source_id"])


@pytest.mark.parametrize("region", ["JPN", "jpn", "Japan", "JAPAN"])
def test_regions_are_matched_by_id_or_name_in_any_case(capsys: pytest.CaptureFixture[str], region: str) -> None:
    csv = pd.read_csv(io.StringIO(run(capsys, "exposure", "--region", region, "--format", "csv")))
    assert set(csv["region_id"]) == {"JPN"}


def test_a_product_group_names_a_commodity(capsys: pytest.CaptureFixture[str]) -> None:
    """The pipeline's magnet projects are filed under their statistics group, ndfeb_magnet (HS 850511)."""
    csv = pd.read_csv(io.StringIO(run(capsys, "pipeline", "--draws", "10", "-c", "NdFeB_Magnet", "-f", "csv")))
    assert set(csv["commodity_id"]) == {"ndfeb_magnet"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["chokepoints", "-r", "JPN", "-s", "defense"], "unknown sector 'defense'; did you mean 'defence'?"),
        (["exposure", "-r", "Japna"], "unknown region 'Japna'; did you mean 'JPN'?"),
        (["pipeline", "--draws", "10", "-c", "ndfeb_sintred"], "unknown commodity 'ndfeb_sintred'; did you mean"),
    ],
)
def test_a_near_miss_gets_one_line_with_the_nearest_code(
    capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert err.count("\n") == 1
