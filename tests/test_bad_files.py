"""Bad input files are refused in one line naming the file, and a refused import changes nothing.

Each class of bad file from issue 10 is built here from a real reference file (cut with the bytes a
``head -c`` would keep, or one cell mutated) or a small synthetic one, and imported through the CLI:
exit code 2, one line starting with the file name, and the store as it was.
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from chokepoint.cli import main
from chokepoint.dataset.importers import read_usgs_mcs
from chokepoint.dataset.store import open_store
from chokepoint.errors import ChokepointError
from chokepoint.leverage.files import load_pathway
from chokepoint.scenario import load_scenario
from chokepoint.yamlfile import MAX_YAML_DEPTH

MCS2024 = "usgs_mcs/mcs2024-raree_world.csv"
MCS2025 = "usgs_mcs/MCS2025_World_Data.csv"
MCS2026 = "usgs_mcs/MCS2026_Commodities_Data.csv"
COMTRADE = "trade/comtrade_china_imports_hs2846_by_origin_1993_2024.csv"
BACI = Path(__file__).parent / "data" / "baci"
BACI_MAIN = "BACI_HS92_Y2022_V202501_sample.csv"


def _snapshot(db: Path) -> dict[str, pd.DataFrame]:
    with open_store(db) as store:
        names = list(store.datasets()["name"])
        return {n: store.read(n)["production"] for n in names} | {"_names": pd.DataFrame({"n": names})}


def _refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str, bad: Path) -> str:
    """Import ``bad`` into a fresh store: it must fail in one line and leave the store unchanged."""
    db = tmp_path / "s.duckdb"
    before = _snapshot(db)
    code = main(["data", "import", kind, str(bad), "--name", "mine", "--db", str(db)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1, err
    after = _snapshot(db)
    assert before.keys() == after.keys()
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name])
    return err


def _baci_copy(tmp_path: Path, edit: dict[str, str]) -> Path:
    """The BACI fixture folder copied to ``tmp_path``, with ``edit`` (file name → new text) applied."""
    folder = tmp_path / "baci"
    shutil.copytree(BACI, folder)
    for name, text in edit.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder / BACI_MAIN


def _with_line(source: Path, marker: str, old: str, new: str) -> str:
    """The text of ``source`` with ``old`` replaced by ``new`` on the first line containing ``marker``."""
    lines = source.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    i = next(n for n, line in enumerate(lines) if marker in line and old in line)
    lines[i] = lines[i].replace(old, new, 1)
    return "".join(lines)


# --------------------------------------------------------------------------- truncation


@pytest.mark.parametrize("keep", [66_400, 131_000])
def test_cut_usgs_world_file_is_refused(
    capsys: pytest.CaptureFixture[str], reference: Path, tmp_path: Path, keep: int
) -> None:
    # `head -c 66400` stops inside the lithium table (the one measured in issue 10); the longer cut
    # ends between two country rows of the zirconium table, so only the missing world total shows it
    data = (reference / MCS2025).read_bytes()[:keep]
    data = data[: data.rindex(b"\n") + 1]  # a clean cut at a line end: no short row to give it away
    bad = tmp_path / "MCS2025_World_Data.csv"
    bad.write_bytes(data)
    err = _refused(capsys, tmp_path, "usgs-mcs", bad)
    assert err.startswith("chokepoint: error: MCS2025_World_Data.csv row ")
    assert "not a world total" in err
    assert "truncated" in err


def test_commodity_without_world_total_is_refused(
    capsys: pytest.CaptureFixture[str], reference: Path, tmp_path: Path
) -> None:
    text = (reference / MCS2024).read_text(encoding="utf-8-sig")
    lines = [line for line in text.splitlines(keepends=True) if not line.startswith("MCS2024,World total")]
    bad = tmp_path / "mcs2024-raree_world.csv"
    bad.write_text("".join(lines), encoding="utf-8")
    err = _refused(capsys, tmp_path, "usgs-mcs", bad)
    assert "truncated" in err


def test_csv_ending_mid_row_is_refused(capsys: pytest.CaptureFixture[str], reference: Path, tmp_path: Path) -> None:
    data = (reference / COMTRADE).read_bytes()
    bad = tmp_path / "comtrade.csv"
    bad.write_bytes(data[: data.rindex(b"\n", 0, len(data) - 1) + 30])
    err = _refused(capsys, tmp_path, "comtrade", bad)
    assert "truncated" in err


# --------------------------------------------------------------------------- values and years


@pytest.mark.parametrize(
    ("cell", "problem"),
    [("1e308", "not a finite number"), ("1e309", "not a"), ("inf", "not a number"), ("NaN", "number")],
)
def test_baci_non_finite_values_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, cell: str, problem: str
) -> None:
    text = _with_line(BACI / BACI_MAIN, "2022,156,842,850511,", "250000.5", cell)
    bad = _baci_copy(tmp_path, {BACI_MAIN: text})
    err = _refused(capsys, tmp_path, "baci", bad)
    assert err.startswith(f"chokepoint: error: {BACI_MAIN} row 5, field v: '{cell}' ")
    assert problem in err


@pytest.mark.parametrize("year", ["0000", "2999"])
def test_baci_impossible_year_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, year: str) -> None:
    text = _with_line(BACI / BACI_MAIN, "2022,156,842,850511,", "2022", year)
    err = _refused(capsys, tmp_path, "baci", _baci_copy(tmp_path, {BACI_MAIN: text}))
    assert err.startswith(f"chokepoint: error: {BACI_MAIN} row 5, field t: '{year}' is not a year between 1900")


def test_comtrade_impossible_year_is_refused(
    capsys: pytest.CaptureFixture[str], reference: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "comtrade.csv"
    bad.write_text(_with_line(reference / COMTRADE, "2023,CHN,M,104,MMR,", "2023", "0000"), encoding="utf-8")
    err = _refused(capsys, tmp_path, "comtrade", bad)
    assert "'0000' is not a year between 1900" in err


def test_usgs_overflowing_value_is_refused(capsys: pytest.CaptureFixture[str], reference: Path, tmp_path: Path) -> None:
    bad = tmp_path / "MCS2025_World_Data.csv"
    bad.write_text(_with_line(reference / MCS2025, "MCS2025,Rare earths,China,", ",270000,", ",1e309,"), "utf-8")
    err = _refused(capsys, tmp_path, "usgs-mcs", bad)
    assert "'1e309' is not a" in err


def test_usgs_impossible_year_in_header_is_refused(
    capsys: pytest.CaptureFixture[str], reference: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "mcs2024-raree_world.csv"
    bad.write_text(_with_line(reference / MCS2024, "Source,", "Prod_t_est_2022", "Prod_t_est_0000"), "utf-8")
    err = _refused(capsys, tmp_path, "usgs-mcs", bad)
    assert "'0' is not a year between 1900" in err


# --------------------------------------------------------------------------- structure


def test_baci_short_row_mid_file_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = _with_line(BACI / BACI_MAIN, "2022,156,842,850511,", "250000.5,4500.0", "250000.5")
    err = _refused(capsys, tmp_path, "baci", _baci_copy(tmp_path, {BACI_MAIN: text}))
    assert err.startswith(f"chokepoint: error: {BACI_MAIN} row 5, field q: is empty (a short or damaged row)")


def test_comtrade_short_row_mid_file_is_refused(
    capsys: pytest.CaptureFixture[str], reference: Path, tmp_path: Path
) -> None:
    lines = (reference / COMTRADE).read_text(encoding="utf-8-sig").splitlines(keepends=True)
    lines[10] = ",".join(lines[10].split(",")[:4]) + "\n"
    bad = tmp_path / "comtrade.csv"
    bad.write_text("".join(lines), encoding="utf-8")
    err = _refused(capsys, tmp_path, "comtrade", bad)
    assert err.startswith("chokepoint: error: comtrade.csv row 11: has 4 cells but the header has")


@pytest.mark.parametrize(("kind", "relpath"), [("usgs-mcs", MCS2025), ("usgs-mcs", MCS2026), ("comtrade", COMTRADE)])
def test_header_only_file_is_refused(
    capsys: pytest.CaptureFixture[str], reference: Path, tmp_path: Path, kind: str, relpath: str
) -> None:
    data = (reference / relpath).read_bytes()
    bad = tmp_path / Path(relpath).name
    bad.write_bytes(data[: data.index(b"\n") + 1])
    err = _refused(capsys, tmp_path, kind, bad)
    assert err.startswith(f"chokepoint: error: {bad.name} row 2: has a header but no data rows")


def test_baci_header_only_file_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = _refused(capsys, tmp_path, "baci", _baci_copy(tmp_path, {BACI_MAIN: "t,i,j,k,v,q\n"}))
    assert "has a header but no data rows" in err


@pytest.mark.parametrize(
    ("listing", "field"),
    [("country_codes_V202501.csv", "country_code"), ("product_codes_HS92_V202501.csv", "code")],
)
def test_duplicate_code_in_baci_list_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, listing: str, field: str
) -> None:
    lines = (BACI / listing).read_text(encoding="utf-8").splitlines(keepends=True)
    err = _refused(capsys, tmp_path, "baci", _baci_copy(tmp_path, {listing: "".join([*lines, lines[2]])}))
    assert err.startswith(f"chokepoint: error: {listing} row {len(lines) + 1}, field {field}: ")
    assert "is listed twice" in err


# --------------------------------------------------------------------------- resources


def test_large_junk_file_is_refused_after_its_first_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a sparse 200 MB file: header check on line 1, so nothing beyond it is read
    bad = tmp_path / "junk.csv"
    with bad.open("wb") as handle:
        handle.write(b"junk,header\n")
        handle.truncate(200 * 2**20)
    monkeypatch.setenv("CHOKEPOINT_MAX_INPUT_MB", "1000")  # the size limit is not what refuses it
    err = _refused(capsys, tmp_path, "comtrade", bad)
    assert err.startswith("chokepoint: error: junk.csv row 1: does not look like a UN Comtrade export")
    err = _refused(capsys, tmp_path, "baci", bad)
    assert err.startswith("chokepoint: error: junk.csv row 1, field t: missing required column")
    err = _refused(capsys, tmp_path, "usgs-mcs", bad)
    assert err.startswith("chokepoint: error: junk.csv row 1, field COUNTRY: missing required column")


def test_file_above_the_size_limit_is_refused_before_reading(
    capsys: pytest.CaptureFixture[str], reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHOKEPOINT_MAX_INPUT_MB", "0.01")
    err = _refused(capsys, tmp_path, "usgs-mcs", reference / MCS2025)
    assert "MB, above the 0.01 MB limit" in err
    assert "raise the limit with CHOKEPOINT_MAX_INPUT_MB=<MB>" in err
    # a Comtrade file above the whole-read limit is streamed instead (tests/test_fuzz_imports.py)
    assert main(["data", "import", "comtrade", str(reference / COMTRADE), "--db", str(tmp_path / "t.duckdb")]) == 0
    monkeypatch.setenv("CHOKEPOINT_MAX_STREAM_MB", "0.01")
    err = _refused(capsys, tmp_path, "comtrade", reference / COMTRADE)
    assert "is 0.0481 MB, above the 0.01 MB limit" in err


def test_line_one_without_a_line_break_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "one_line.csv"
    bad.write_bytes(b"x" * (2 * 2**20))
    err = _refused(capsys, tmp_path, "usgs-mcs", bad)
    assert "no line break in its first 1 MB" in err


@pytest.mark.parametrize("kind", ["usgs-mcs", "comtrade", "baci"])
def test_directory_and_fifo_are_refused_for_imports(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    assert "folder.csv" in _refused(capsys, tmp_path, kind, folder)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    err = _refused(capsys, tmp_path, kind, fifo)  # must not block
    assert "pipe.csv" in err


def test_fifo_is_refused_by_the_reader_itself(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(ChokepointError, match=r"^pipe\.csv: is a named pipe \(FIFO\), not a regular file"):
        read_usgs_mcs(fifo)


# --------------------------------------------------------------------------- scenario and pathway files


@pytest.mark.parametrize("load", [load_scenario, load_pathway])
def test_directory_fifo_and_deep_yaml_are_refused(tmp_path: Path, load: object) -> None:
    assert callable(load)
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    with pytest.raises(ChokepointError, match=r"^folder\.yaml: is a directory, not a regular file"):
        load(folder)
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ChokepointError, match=r"^pipe\.yaml: is a named pipe"):
        load(fifo)
    for depth, style in ((500, "flow"), (MAX_YAML_DEPTH + 1, "block"), (5000, "flow")):
        deep = tmp_path / f"deep_{depth}_{style}.yaml"
        if style == "flow":
            deep.write_text("name: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
        else:
            deep.write_text("".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + "  " * depth + "1\n", "utf-8")
        with pytest.raises(ChokepointError, match=rf"^{deep.name}: nested more than {MAX_YAML_DEPTH} levels deep"):
            load(deep)


def test_huge_yaml_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(9 * 2**20)
    with pytest.raises(ChokepointError, match=r"^big\.yaml: is 9 MB, above the 8 MB limit.*CHOKEPOINT_MAX_YAML_MB"):
        load_scenario(big)


def test_cli_refuses_a_directory_as_scenario(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "scenario.yaml"
    folder.mkdir()
    code = main(["simulate", str(folder), "--db", str(tmp_path / "s.duckdb")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert (
        err
        == "chokepoint: error: scenario.yaml: is a directory, not a regular file; pass the path of the file itself\n"
    )


# --------------------------------------------------------------------------- rounding


def test_usgs_rounded_countries_above_world_total_import(
    capsys: pytest.CaptureFixture[str], reference: Path, tmp_path: Path
) -> None:
    # mcs2024-raree_world.csv: 2023 countries (with the default's others) sum to 360,520 t against a
    # world total of 350,000 t, inside the two-significant-figure rounding of the figures
    db = tmp_path / "s.duckdb"
    assert main(["data", "import", "usgs-mcs", str(reference / MCS2024), "--name", "mcs24", "--db", str(db)]) == 0
    with open_store(db) as store:
        prod = store.read("mcs24")["production"].set_index(["region_id", "commodity_id", "year"])
    assert prod.loc[("WLD", "ree_concentrate", 2023), "production_t"] == 350_000


def test_usgs_impossible_sum_is_still_refused(
    capsys: pytest.CaptureFixture[str], reference: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "mcs2024-raree_world.csv"
    bad.write_text(_with_line(reference / MCS2024, "MCS2024,China,", ",240000,", ",290000,"), encoding="utf-8")
    err = _refused(capsys, tmp_path, "usgs-mcs", bad)
    assert "countries add up to more than the world total" in err


def test_yaml_aliases_expanding_to_billions_are_refused(tmp_path: Path) -> None:
    # nine levels of ten aliases each: a 400-byte file that expands to 10**9 strings
    names = "abcdefghi"
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]\n']
    lines += [f"{n}: &{n} [{','.join([f'*{p}'] * 10)}]\n" for p, n in itertools.pairwise(names)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(ChokepointError, match=r"^bomb\.yaml: .*more than 1,000,000 values"):
        load_scenario(bomb)
