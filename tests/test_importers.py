"""Importers against real published files (../shared/data/reference) and a synthetic BACI sample.

Expected figures were read by hand from the publications:
USGS MCS2025 "Rare earths" world mine production table (doi:10.5066/P13XCP3R), MCS2026
(doi:10.5066/P1WKQ63T), MCS2024 (doi:10.5066/P144BA54), MCS2023 (doi:10.5066/P9WCYUI6);
UN Comtrade rows as exported (see SOURCES.md in the reference folder).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from chokepoint.dataset.importers import IMPORTERS, Importer, read_baci, read_comtrade, read_usgs_mcs
from chokepoint.dataset.importers._common import schema_columns
from chokepoint.errors import ImportFileError

REFERENCE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "reference"
BACI_DIR = Path(__file__).resolve().parent / "data" / "baci"
BACI_FILE = BACI_DIR / "BACI_HS92_Y2022_V202501_sample.csv"


def ref(*parts: str) -> Path:
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data not available: {path}")
    return path


@pytest.fixture(scope="module")
def mcs2025() -> dict[str, pd.DataFrame]:
    return read_usgs_mcs(ref("usgs_mcs", "MCS2025_World_Data.csv"))


@pytest.fixture(scope="module")
def mcs2026() -> dict[str, pd.DataFrame]:
    return read_usgs_mcs(ref("usgs_mcs", "MCS2026_Commodities_Data.csv"))


@pytest.fixture(scope="module")
def ct_us_china() -> dict[str, pd.DataFrame]:
    return read_comtrade(ref("trade", "comtrade_us_china_hs2846_280530_2020_2024_redliana.csv"))


@pytest.fixture(scope="module")
def ct_china_imports() -> dict[str, pd.DataFrame]:
    return read_comtrade(ref("trade", "comtrade_china_imports_hs2846_by_origin_1993_2024.csv"))


def one(frame: pd.DataFrame, column: str, **key: object) -> float:
    """The single value of ``column`` in the row matching ``key``."""
    mask = pd.Series(True, index=frame.index)
    for name, value in key.items():
        mask &= frame[name] == value
    assert mask.sum() == 1, f"{mask.sum()} rows match {key}"
    return float(frame.loc[mask, column].iloc[0])


def note(frame: pd.DataFrame, **key: object) -> str:
    mask = pd.Series(True, index=frame.index)
    for name, value in key.items():
        mask &= frame[name] == value
    return str(frame.loc[mask, "note"].iloc[0])


def assert_schema(tables: dict[str, pd.DataFrame]) -> None:
    for name, frame in tables.items():
        assert list(frame.columns) == schema_columns(name), name
        assert frame["source_id"].notna().all()
        if name != "sources":
            assert (frame["basis"] == "reported").all()
            key = [c for c in frame.columns if c.endswith("_id") and c != "source_id"] + ["year"]
            assert not frame.duplicated(key).any(), name


def test_registry_lists_the_three_importers() -> None:
    assert {"usgs-mcs": read_usgs_mcs, "comtrade": read_comtrade, "baci": read_baci} == IMPORTERS


# --------------------------------------------------------------------------- USGS MCS


def test_mcs2025_rare_earths(mcs2025: dict[str, pd.DataFrame]) -> None:
    prod = mcs2025["production"]
    ree = prod[prod["commodity_id"] == "ree_concentrate"]
    assert one(ree, "production_t", region_id="CHN", year=2024) == 270_000
    assert one(ree, "production_t", region_id="WLD", year=2024) == 390_000
    assert one(ree, "production_t", region_id="USA", year=2023) == 41_600
    assert one(ree, "production_t", region_id="MMR", year=2024) == 31_000  # "Burma"
    assert one(ree, "production_t", region_id="ROW", year=2024) == 1_100  # "Other Countries"
    assert "USGS estimate" in note(ree, region_id="CHN", year=2024)
    assert set(ree["source_id"]) == {"usgs_mcs2025_ree"}
    res = mcs2025["reserves"]
    assert (
        one(res, "reserves_t", region_id="WLD", commodity_id="ree_concentrate", year=2024) == 90_000_000
    )  # ">90000000"
    assert "lower bound" in note(res, region_id="WLD", commodity_id="ree_concentrate")
    assert_schema(mcs2025)


def test_mcs2025_other_materials(mcs2025: dict[str, pd.DataFrame]) -> None:
    prod = mcs2025["production"]
    assert one(prod, "production_t", region_id="CHN", commodity_id="gallium", year=2024) == 750
    assert "kilograms" in note(prod, region_id="CHN", commodity_id="gallium", year=2024)
    assert one(prod, "production_t", region_id="KOR", commodity_id="gallium", year=2024) == 3
    # "World total (rounded) 10": footnote digit
    assert one(prod, "production_t", region_id="WLD", commodity_id="antimony", year=2024) == 100_000
    assert one(prod, "production_t", region_id="CHN", commodity_id="graphite_natural", year=2024) == 1_270_000
    assert one(prod, "production_t", region_id="CHN", commodity_id="tungsten", year=2023) == 66_000
    assert "germanium" not in set(prod["commodity_id"])  # "Gemanium": all values withheld
    sources = mcs2025["sources"].set_index("source_id")
    assert sources.loc["usgs_mcs2025_ree", "url"] == "https://doi.org/10.5066/P13XCP3R"
    assert sources.loc["usgs_mcs2025_ree", "title"] == "Mineral Commodity Summaries 2025"
    assert sources.loc["usgs_mcs2025_ree", "published_year"] == 2025
    assert set(prod["source_id"]) <= set(sources.index)


def test_mcs2025_commodities_option_selects_other_chapters() -> None:
    tables = read_usgs_mcs(ref("usgs_mcs", "MCS2025_World_Data.csv"), commodities={"Rare earths": "ree_concentrate"})
    assert set(tables["production"]["commodity_id"]) == {"ree_concentrate"}
    assert list(tables["sources"]["source_id"]) == ["usgs_mcs2025_ree"]


def test_mcs2026_long_format(mcs2026: dict[str, pd.DataFrame]) -> None:
    prod = mcs2026["production"]
    ree = prod[prod["commodity_id"] == "ree_concentrate"]
    assert one(ree, "production_t", region_id="CHN", year=2025) == 270_000
    assert one(ree, "production_t", region_id="WLD", year=2024) == 380_000
    assert one(ree, "production_t", region_id="USA", year=2024) == 45_500
    assert one(prod, "production_t", region_id="CHN", commodity_id="gallium", year=2025) == 900
    assert one(prod, "production_t", region_id="USA", commodity_id="gallium", year=2024) == 0  # —
    assert not (
        (prod["region_id"] == "USA") & (prod["commodity_id"] == "antimony") & (prod["year"] == 2025)
    ).any()  # "W": withheld
    assert (
        one(mcs2026["reserves"], "reserves_t", region_id="CHN", commodity_id="ree_concentrate", year=2025) == 44_000_000
    )
    assert (
        mcs2026["sources"].set_index("source_id").loc["usgs_mcs2026_ree", "url"] == "https://doi.org/10.5066/P1WKQ63T"
    )
    assert_schema(mcs2026)


def test_mcs_older_per_commodity_files() -> None:
    t24 = read_usgs_mcs(ref("usgs_mcs", "mcs2024-raree_world.csv"))
    assert one(t24["production"], "production_t", region_id="CHN", year=2023) == 240_000
    assert one(t24["reserves"], "reserves_t", region_id="CHN", year=2023) == 44_000_000
    assert t24["sources"]["url"].iloc[0] == "https://doi.org/10.5066/P144BA54"
    t23 = read_usgs_mcs(ref("usgs_mcs", "mcs2023-raree_world.csv"))
    assert one(t23["production"], "production_t", region_id="WLD", year=2022) == 300_000
    assert one(t23["production"], "production_t", region_id="ROW", year=2021) == 60
    t22 = read_usgs_mcs(ref("usgs_mcs", "rare_earths_mcs2022-raree_world.csv"))
    assert one(t22["production"], "production_t", region_id="CHN", year=2021) == 168_000
    assert t22["reserves"].empty
    for tables in (t24, t23, t22):
        assert_schema(tables)


# --------------------------------------------------------------------------- Comtrade


def test_comtrade_api_rows(ct_us_china: dict[str, pd.DataFrame]) -> None:
    trade = ct_us_china["trade"]
    # US-reported imports of HS 2846 from China, 2023 (mirror China export report dropped)
    key = {"exporter_id": "CHN", "importer_id": "USA", "commodity_id": "ree_oxide", "year": 2023}
    assert one(trade, "value_usd", **key) == 111_168_490
    assert one(trade, "quantity_t", **key) == pytest.approx(10_997.647)
    assert "reported by USA (imports)" in note(trade, **key)
    assert "mirror report by CHN (exports)" in note(trade, **key)
    # China-reported exports of HS 280530 to the world, 2024
    assert (
        one(trade, "value_usd", exporter_id="CHN", importer_id="WLD", commodity_id="ree_metal", year=2024) == 96_037_226
    )
    # US imports of HS 2846 from the world, 2020: netWgt 0 → quantity missing
    key = {"exporter_id": "WLD", "importer_id": "USA", "commodity_id": "ree_oxide", "year": 2020}
    assert one(trade, "value_usd", **key) == 98_248_642
    assert math.isnan(one(trade, "quantity_t", **key))
    assert_schema(ct_us_china)


def test_comtrade_china_imports_extract(ct_china_imports: dict[str, pd.DataFrame]) -> None:
    trade = ct_china_imports["trade"]
    assert set(trade["importer_id"]) == {"CHN"}
    key = {"exporter_id": "MMR", "importer_id": "CHN", "commodity_id": "ree_oxide", "year": 2023}
    assert one(trade, "value_usd", **key) == 1_441_901_598
    assert one(trade, "quantity_t", **key) == pytest.approx(72_073.76)
    assert (
        one(trade, "value_usd", exporter_id="WLD", importer_id="CHN", commodity_id="ree_oxide", year=2024)
        == 1_386_613_152
    )
    assert (
        one(trade, "value_usd", exporter_id="TWN", importer_id="CHN", commodity_id="ree_oxide", year=1993) == 71_624
    )  # "Other Asia, nes"
    assert (
        one(trade, "value_usd", exporter_id="ROW", importer_id="CHN", commodity_id="ree_oxide", year=1993) == 38_597
    )  # "Areas, nes"
    assert ct_china_imports["sources"]["source_id"].iloc[0] == "un_comtrade_2846_1993_2024"
    assert_schema(ct_china_imports)


def test_comtrade_hs_map_option() -> None:
    tables = read_comtrade(
        ref("trade", "comtrade_us_china_hs2846_280530_2020_2024_redliana.csv"), hs_map={"2846": "ree_concentrate"}
    )
    assert set(tables["trade"]["commodity_id"]) == {"ree_concentrate", "ree_metal"}


# --------------------------------------------------------------------------- BACI


def test_baci_sample() -> None:
    tables = read_baci(BACI_FILE)
    trade = tables["trade"]
    assert trade["value_usd"].sum() == pytest.approx(257_103_000)
    key = {"exporter_id": "CHN", "importer_id": "JPN", "commodity_id": "ree_oxide", "year": 2022}
    assert one(trade, "value_usd", **key) == pytest.approx(2_000_000)  # 284610 + 284690
    assert one(trade, "quantity_t", **key) == pytest.approx(400)
    assert one(
        trade, "value_usd", exporter_id="TWN", importer_id="USA", commodity_id="ndfeb_magnet", year=2022
    ) == pytest.approx(1_200_000)
    assert math.isnan(
        one(trade, "quantity_t", exporter_id="CHN", importer_id="USA", commodity_id="ree_metal", year=2022)
    )
    assert len(trade) == 7  # 720839 and 010121 are not mapped
    assert tables["sources"]["source_id"].iloc[0] == "cepii_baci_hs92_v202501"
    assert_schema(tables)


def test_baci_explicit_code_files(tmp_path: Path) -> None:
    main = tmp_path / "baci.csv"
    main.write_bytes(BACI_FILE.read_bytes())
    with pytest.raises(ImportFileError, match="country_codes"):
        read_baci(main)
    tables = read_baci(main, country_codes=BACI_DIR / "country_codes_V202501.csv")
    assert tables["trade"]["value_usd"].sum() == pytest.approx(257_103_000)


# --------------------------------------------------------------------------- bad input


def _corrupt(tmp_path: Path, source: Path, data: bytes, name: str | None = None) -> Path:
    path = tmp_path / (name or source.name)
    path.write_bytes(data)
    return path


def _mcs_bytes() -> bytes:
    return ref("usgs_mcs", "MCS2025_World_Data.csv").read_bytes()


def _ct_bytes() -> bytes:
    return ref("trade", "comtrade_china_imports_hs2846_by_origin_1993_2024.csv").read_bytes()


Case = tuple[str, bytes, Importer, str]

CASES: dict[str, Callable[[], Case]] = {
    "truncated": lambda: ("MCS2025_World_Data.csv", _mcs_bytes()[:60_000], read_usgs_mcs, "truncated"),
    "non-numeric": lambda: (
        "MCS2025_World_Data.csv",
        _mcs_bytes().replace(b"metric tons,255000,270000", b"metric tons,255000,27x000"),
        read_usgs_mcs,
        "row 885, field PROD_EST_ 2024: '27x000' is not a number",
    ),
    "bad bytes": lambda: (
        "MCS2025_World_Data.csv",
        _mcs_bytes().replace(b"Rare earths,China", b"Rare earths,Ch\x81na"),
        read_usgs_mcs,
        "row 885",
    ),
    "utf-16": lambda: (
        "MCS2025_World_Data.csv",
        _mcs_bytes().decode("utf-8-sig").encode("utf-16"),
        read_usgs_mcs,
        "UTF-8",
    ),
    "missing column": lambda: (
        "MCS2025_World_Data.csv",
        _mcs_bytes().replace(b"COUNTRY,", b"NATION,", 1),
        read_usgs_mcs,
        "field COUNTRY: missing required column",
    ),
    "unknown country": lambda: (
        "MCS2025_World_Data.csv",
        _mcs_bytes().replace(b"Rare earths,China", b"Rare earths,Atlantis"),
        read_usgs_mcs,
        "'Atlantis'",
    ),
    "empty": lambda: ("MCS2025_World_Data.csv", b"", read_usgs_mcs, "is empty"),
    "comtrade bad code": lambda: (
        "ct.csv",
        _ct_bytes().replace(b",2846,H0,", b",28A6,H0,", 1),
        read_comtrade,
        "row 2, field cmd_code: '28A6'",
    ),
    "comtrade unmapped": lambda: ("ct.csv", _ct_bytes().replace(b",2846,", b",7208,"), read_comtrade, "no HS code"),
    "comtrade missing value": lambda: (
        "ct.csv",
        _ct_bytes().replace(b"primary_value_usd", b"value", 1),
        read_comtrade,
        "primary_value_usd",
    ),
    "baci bad value": lambda: (
        "BACI_HS92_Y2022_V202501_sample.csv",
        BACI_FILE.read_bytes().replace(b"830.0", b"8e3x"),
        read_baci,
        "row 4, field v",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_raises_one_line_error(case: str, tmp_path: Path) -> None:
    name, data, reader, expected = CASES[case]()
    path = _corrupt(tmp_path, Path(name), data)
    if reader is read_baci:
        for extra in BACI_DIR.glob("*_codes_*.csv"):
            (tmp_path / extra.name).write_bytes(extra.read_bytes())
    with pytest.raises(ImportFileError) as info:
        reader(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(path.name)
    assert expected in message
