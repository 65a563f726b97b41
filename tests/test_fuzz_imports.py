"""Fuzzing the import paths: dataset CSV tables generated from ``schema/*.csv``, and Comtrade,
BACI and USGS MCS files generated in their published layouts.

A generated valid file reads (and its quantities add up to what was written); the same file with
one cell made impossible (non-finite, text or true/false for a number, a negative quantity, a share
above 1, an impossible year, an unknown code, a duplicate row, a short row, a cut-off end) is
refused with one line starting with the file's name; through ``chokepoint data import`` the exit
code is 2 and the store is unchanged.
"""

from __future__ import annotations

import csv
import io
import math
import shutil
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chokepoint.cli import main
from chokepoint.dataset import Dataset, default_dataset, read_table_csv
from chokepoint.dataset.checks import Finding, check_shares, raise_on_errors
from chokepoint.dataset.importers import IMPORTERS, comtrade, read_baci, read_comtrade
from chokepoint.dataset.store import open_store
from chokepoint.errors import ChokepointError
from chokepoint.schema import TABLES, schema, validate_table
from tests.fuzzing import examples

BACI = Path(__file__).parent / "data" / "baci"

# --------------------------------------------------------------------------- dataset tables


def _cells(table: str) -> st.SearchStrategy[list[dict[str, str]]]:
    """Valid rows of ``table`` as CSV cells, from its schema (keys unique)."""
    cells: dict[str, st.SearchStrategy[str]] = {}
    for f in schema(table).fields:
        if f.allowed:
            value: st.SearchStrategy[str] = st.sampled_from(f.allowed)
        elif f.dtype == "int":
            value = st.integers(1990, 2030).map(str)
        elif f.dtype == "float":
            value = st.floats(0.0, 1.0 if f.is_fraction else 1e9, allow_nan=False).map(repr)
        else:
            value = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,6}", fullmatch=True)
        cells[f.field] = value if f.required or f.key else st.one_of(st.just(""), value)
    key = schema(table).key or schema(table).columns
    return st.lists(st.fixed_dictionaries(cells), min_size=1, max_size=6, unique_by=lambda r: tuple(r[k] for k in key))


def _csv(rows: list[dict[str, str]], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _table_mutations(table: str, rows: list[dict[str, str]]) -> list[tuple[int, str, str | None]]:
    """(row, field, bad cell) the schema forbids; field "" with cell None duplicates the row."""
    out: list[tuple[int, str, str | None]] = []
    for i in range(len(rows)):
        for f in schema(table).fields:
            if f.dtype in ("int", "float"):
                out += [(i, f.field, bad) for bad in ("inf", "-inf", "nan", "1e308", "True", "abc")]
                out += [(i, f.field, "-1")] if f.is_quantity else []
                out += [(i, f.field, "1.5")] if f.is_fraction or f.dtype == "int" else []
            if f.allowed:
                out.append((i, f.field, "zzz"))
            if f.required:
                out.append((i, f.field, ""))
    return out + ([(0, "", None)] if schema(table).key else [])


@examples(150)
@given(data=st.data())
def test_valid_dataset_tables_read(tmp_path: Path, data: st.DataObject) -> None:
    table = data.draw(st.sampled_from(TABLES))
    rows = data.draw(_cells(table))
    path = tmp_path / f"{table}.csv"
    path.write_text(_csv(rows, schema(table).columns), encoding="utf-8")
    assert len(read_table_csv(table, path)) == len(rows)


@examples(250)
@given(data=st.data())
def test_impossible_table_cells_are_refused_naming_line_and_field(tmp_path: Path, data: st.DataObject) -> None:
    table = data.draw(st.sampled_from(TABLES))
    rows = data.draw(_cells(table))
    i, field, bad = data.draw(st.sampled_from(_table_mutations(table, rows)), label="mutation")
    rows = [*rows, dict(rows[0])] if bad is None else [r | ({field: bad} if n == i else {}) for n, r in enumerate(rows)]
    path = tmp_path / f"{table}.csv"
    path.write_text(_csv(rows, schema(table).columns), encoding="utf-8")
    with pytest.raises(ChokepointError) as info:
        read_table_csv(table, path)
    message = str(info.value)
    assert "\n" not in message
    line = len(rows) + 1 if bad is None else i + 2
    assert message.startswith(f"{table}.csv line {line}"), message
    assert (f"field {field}:" in message) if bad is not None else ("duplicate row" in message), message


# --------------------------------------------------------------------------- trade files

#: Partner codes, ISO3 and names as Comtrade writes them (0 is the world).
PARTNERS = [(156, "CHN", "China"), (392, "JPN", "Japan"), (842, "USA", "USA"), (276, "DEU", "Germany")]
HS = ["2846", "284610", "284690", "280530", "850511", "253090"]
COMTRADE_COLUMNS = [
    "year",
    "reporter_iso",
    "flow",
    "partner_code",
    "partner_iso",
    "partner_desc",
    "cmd_code",
    "net_weight_kg",
    "primary_value_usd",
]


@st.composite
def comtrade_rows(draw: st.DrawFn) -> list[dict[str, str]]:
    """A Comtrade extract of one reporter (CHN's imports and exports), keys unique."""
    keys = draw(
        st.lists(
            st.tuples(
                st.integers(2000, 2024), st.sampled_from("MX"), st.sampled_from(PARTNERS[1:]), st.sampled_from(HS)
            ),
            min_size=1,
            max_size=8,
            unique=True,
        )
    )
    weights = draw(st.lists(st.floats(1.0, 1e9, allow_nan=False), min_size=len(keys), max_size=len(keys)))
    return [
        {
            "year": str(year),
            "reporter_iso": "CHN",
            "flow": flow,
            "partner_code": str(code),
            "partner_iso": iso,
            "partner_desc": name,
            "cmd_code": hs,
            "net_weight_kg": f"{kg:.1f}",
            "primary_value_usd": f"{kg * 20:.1f}",
        }
        for (year, flow, (code, iso, name), hs), kg in zip(keys, weights, strict=True)
    ]


def _trade_mutations(
    rows: list[dict[str, str]], numbers: tuple[str, ...], codes: dict[str, str], year: str
) -> list[Any]:
    out: list[Any] = []
    for i in range(len(rows)):
        for field in numbers:
            out += [(i, field, bad) for bad in ("inf", "1e309", "1e308", "True", "abc", "-5")]
        out += [(i, year, bad) for bad in ("0000", "2999", "20x4")]
        out += [(i, field, bad) for field, bad in codes.items()]
    return [*out, (0, "", "duplicate"), (len(rows) - 1, "", "short"), (len(rows) - 1, "", "cut")]


def _mutated_text(rows: list[dict[str, str]], columns: list[str], choice: Any) -> str:
    i, field, bad = choice
    if bad == "duplicate":
        return _csv([*rows, dict(rows[0])], columns)
    # "partner": a partner no code list knows (Comtrade's numeric code wins over a wrong ISO3)
    cells = {"partner_code": "999", "partner_iso": "ZZZ", "partner_desc": bad} if field == "partner" else {field: bad}
    text = _csv([r | (cells if n == i and field else {}) for n, r in enumerate(rows)], columns)
    lines = text.splitlines(keepends=True)
    if bad == "short":  # a row that lost its last cell mid-file (a following row keeps it mid-file)
        lines[i + 1] = lines[i + 1].rsplit(",", 1)[0] + "\n"
        lines.append(lines[1])
        return "".join(lines)
    if bad == "cut":  # `head -c` inside the last row
        return text[: len(text) - 1 - len(lines[-1]) // 2]
    return text


def _imported(kind: str, path: Path, **options: Any) -> dict[str, pd.DataFrame]:
    """What ``data import`` validates before it checks against the store: the importer's tables."""
    return {t: validate_table(t, df, origin=path.name) for t, df in IMPORTERS[kind](path, **options).items()}


@examples(25)
@given(rows=comtrade_rows())
def test_valid_comtrade_files_import_every_kilogram(tmp_path: Path, rows: list[dict[str, str]]) -> None:
    path = tmp_path / "comtrade.csv"
    path.write_text(_csv(rows, COMTRADE_COLUMNS), encoding="utf-8")
    trade = _imported("comtrade", path)["trade"]
    written = sum(float(r["net_weight_kg"]) for r in rows) / 1000
    assert math.isclose(trade["quantity_t"].sum(), written, rel_tol=1e-9)


@examples(120)
@given(data=st.data())
def test_impossible_comtrade_cells_are_refused(tmp_path: Path, data: st.DataObject) -> None:
    rows = data.draw(comtrade_rows())
    codes = {"partner": "Nowhere", "cmd_code": "28A6"}
    choice = data.draw(st.sampled_from(_trade_mutations(rows, ("net_weight_kg", "primary_value_usd"), codes, "year")))
    path = tmp_path / "comtrade.csv"
    path.write_text(_mutated_text(rows, COMTRADE_COLUMNS, choice), encoding="utf-8")
    with pytest.raises(ChokepointError) as info:
        _imported("comtrade", path)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("comtrade.csv"), (choice, str(info.value))


#: BACI's numeric country codes in the test release's list, and products that map to commodities.
BACI_CODES = ["156", "392", "842", "251"]
BACI_PRODUCTS = ["284610", "284690", "280530", "850511", "253090"]


@st.composite
def baci_rows(draw: st.DrawFn) -> list[dict[str, str]]:
    keys = draw(
        st.lists(
            st.tuples(st.sampled_from(BACI_CODES), st.sampled_from(BACI_CODES), st.sampled_from(BACI_PRODUCTS)).filter(
                lambda k: k[0] != k[1]
            ),
            min_size=1,
            max_size=8,
            unique=True,
        )
    )
    tonnes = draw(st.lists(st.floats(0.001, 1e6, allow_nan=False), min_size=len(keys), max_size=len(keys)))
    return [
        {"t": "2022", "i": i, "j": j, "k": k, "v": f"{q * 5:.3f}", "q": f"{q:.3f}"}
        for (i, j, k), q in zip(keys, tonnes, strict=True)
    ]


def _baci_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "baci"
    if not folder.exists():
        shutil.copytree(BACI, folder)
    return folder / "BACI_HS92_Y2022_V202501_sample.csv"


@examples(25)
@given(rows=baci_rows())
def test_valid_baci_files_import_every_tonne(tmp_path: Path, rows: list[dict[str, str]]) -> None:
    path = _baci_folder(tmp_path)
    path.write_text(_csv(rows, list("tijkvq")), encoding="utf-8")
    trade = {t: validate_table(t, df) for t, df in read_baci(path).items()}["trade"]
    assert math.isclose(trade["quantity_t"].sum(), sum(round(float(r["q"]), 3) for r in rows), rel_tol=1e-9)


@examples(120)
@given(data=st.data())
def test_impossible_baci_cells_are_refused(tmp_path: Path, data: st.DataObject) -> None:
    rows = data.draw(baci_rows())
    choice = data.draw(st.sampled_from(_trade_mutations(rows, ("v", "q"), {"i": "999", "k": "28461x"}, "t")))
    path = _baci_folder(tmp_path)
    path.write_text(_mutated_text(rows, list("tijkvq"), choice), encoding="utf-8")
    with pytest.raises(ChokepointError) as info:
        _imported("baci", path)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(path.name), (choice, str(info.value))


# --------------------------------------------------------------------------- USGS MCS

USGS_COUNTRIES = ["United States", "Australia", "Brazil", "Burma", "China", "India", "Russia", "Thailand"]
USGS_COLUMNS = ["Source", "Country", "Type", "Prod_t_est_2022", "Prod_t_est_2023", "Prod_notes", "Reserves_t"]
TYPE = "Rare earths, mine production, rare-earth-oxide equivalent, metric tons"


def _two_figures(x: float) -> float:
    """USGS rounds world totals to two significant figures."""
    return 0.0 if x == 0 else round(x, 1 - math.floor(math.log10(abs(x))))


@st.composite
def usgs_rows(draw: st.DrawFn) -> list[dict[str, str]]:
    countries = draw(st.lists(st.sampled_from(USGS_COUNTRIES), min_size=1, max_size=6, unique=True))
    values = [draw(st.lists(st.integers(10, 300_000), min_size=3, max_size=3)) for _ in countries]
    rows = [
        {"Source": "MCS2024", "Country": c, "Type": TYPE, "Prod_t_est_2022": str(a), "Prod_t_est_2023": str(b)}
        | {"Prod_notes": "", "Reserves_t": str(r * 10)}
        for c, (a, b, r) in zip(countries, values, strict=True)
    ]
    world = {
        col: f"{_two_figures(sum(float(r[col]) for r in rows)):.0f}"
        for col in ("Prod_t_est_2022", "Prod_t_est_2023", "Reserves_t")
    }
    return [*rows, {"Source": "MCS2024", "Country": "World total (rounded)", "Type": TYPE, "Prod_notes": ""} | world]


@examples(25)
@given(rows=usgs_rows())
def test_valid_usgs_tables_import_their_countries(tmp_path: Path, rows: list[dict[str, str]]) -> None:
    path = tmp_path / "mcs2024-raree_world.csv"
    path.write_text(_csv(rows, USGS_COLUMNS), encoding="utf-8")
    production = _imported("usgs-mcs", path)["production"]
    countries = production[~production["region_id"].isin(["WLD", "ROW"])]
    assert len(countries) == 2 * (len(rows) - 1)


_FINDING = [f.name for f in fields(Finding)]


def _usgs_checked(path: Path) -> None:
    """Read and validate, then the share check of ``data import``: countries above the world total
    are refused there, not by the reader."""
    tables = _imported("usgs-mcs", path)
    findings = check_shares(Dataset("mine", tables | {"regions": default_dataset()["regions"]}))
    raise_on_errors(pd.DataFrame([asdict(f) for f in findings], columns=_FINDING), path.name)


@examples(120)
@given(data=st.data())
def test_impossible_usgs_cells_are_refused(tmp_path: Path, data: st.DataObject) -> None:
    rows = data.draw(usgs_rows())
    n = len(rows) - 1  # the world total is the last row
    choices: list[Any] = [
        (i, col, bad)
        for i in range(n)
        for col in ("Prod_t_est_2022", "Reserves_t")
        for bad in ("inf", "1e309", "1e308", "True", "abc", "-5")
    ]
    choices += [(i, "Country", "Atlantis") for i in range(n)]
    choices += [(0, "Prod_t_est_2023", str(int(float(rows[-1]["Prod_t_est_2023"]) * 3 + 1000)))]  # above the world
    choices += [(n, "", "drop world"), (n, "", "cut")]
    i, field, bad = data.draw(st.sampled_from(choices), label="mutation")
    # "drop world": a copy cut between two tables, so its world total is missing
    text = _csv(rows[:-1], USGS_COLUMNS) if bad == "drop world" else _mutated_text(rows, USGS_COLUMNS, (i, field, bad))
    path = tmp_path / "mcs2024-raree_world.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ChokepointError) as info:
        _usgs_checked(path)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(path.name), ((i, field, bad), str(info.value))


# --------------------------------------------------------------------------- through the CLI


@examples(6)
@given(data=st.data())
def test_a_refused_import_leaves_the_store_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: st.DataObject
) -> None:
    db = tmp_path / "s.duckdb"
    with open_store(db) as store:
        before = {n: store.read(n)["trade"] for n in store.datasets()["name"]}
    rows = data.draw(comtrade_rows())
    codes = {"partner": "Nowhere", "cmd_code": "28A6"}
    choice = data.draw(st.sampled_from(_trade_mutations(rows, ("net_weight_kg",), codes, "year")))
    path = tmp_path / "comtrade.csv"
    path.write_text(_mutated_text(rows, COMTRADE_COLUMNS, choice), encoding="utf-8")
    capsys.readouterr()
    code = main(["data", "import", "comtrade", str(path), "--name", "mine", "--db", str(db)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1, err
    with open_store(db) as store:
        after = {n: store.read(n)["trade"] for n in store.datasets()["name"]}
    assert before.keys() == after.keys()
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name])


# --------------------------------------------------------------------------- Comtrade streaming


def _both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """read_comtrade's result (or refusal) read whole and streamed (limit lowered below the file)."""
    out = []
    for limit in ("64", "0.0001"):
        monkeypatch.setenv("CHOKEPOINT_MAX_INPUT_MB", limit)
        try:
            out.append(read_comtrade(path)["trade"])
        except ChokepointError as exc:
            out.append(str(exc))
    return out[0], out[1]


@examples(30)
@given(data=st.data())
def test_streamed_comtrade_reads_and_refuses_like_a_whole_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: st.DataObject
) -> None:
    rows = data.draw(comtrade_rows())
    codes = {"partner": "Nowhere", "cmd_code": "28A6"}
    mutations = _trade_mutations(rows, ("net_weight_kg", "primary_value_usd"), codes, "year")
    choice = data.draw(st.one_of(st.none(), st.sampled_from(mutations)), label="mutation")
    path = tmp_path / "comtrade.csv"
    path.write_text(_csv(rows, COMTRADE_COLUMNS) if choice is None else _mutated_text(rows, COMTRADE_COLUMNS, choice))
    whole, streamed = _both(path, monkeypatch)
    if isinstance(whole, str):
        assert streamed == whole
    else:
        pd.testing.assert_frame_equal(streamed, whole)


def test_streaming_keeps_only_the_rows_that_map(tmp_path: Path) -> None:
    # 3,000 rows of live horses (HS 0101) around two rare-earth rows: only those two are kept,
    # read in chunks of 500 records
    horses = {"year": "2024", "reporter_iso": "CHN", "flow": "M", "cmd_code": "0101", "primary_value_usd": "1"}
    horses |= {"partner_code": "392", "partner_iso": "JPN", "partner_desc": "Japan", "net_weight_kg": "5"}
    oxide = horses | {"cmd_code": "2846", "net_weight_kg": "2000"}
    rows = [horses | {"year": str(1990 + i % 30), "partner_code": str(i)} for i in range(3000)]
    path = tmp_path / "comtrade.csv"
    path.write_text(_csv([oxide, *rows, oxide | {"flow": "X"}], COMTRADE_COLUMNS), encoding="utf-8")
    frame, _ = comtrade._streamed(path, None, chunk_rows=500)
    assert list(frame["cmd_code"]) == ["2846", "2846"]
    assert list(frame["_row"]) == [2, 3003]
    trade = read_comtrade(path)["trade"]
    assert trade["quantity_t"].sum() == pytest.approx(4.0)
