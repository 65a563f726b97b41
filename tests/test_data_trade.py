"""The shipped trade, trade-share and production rows against the reference files they were read from."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest

from chokepoint.dataset import Dataset
from chokepoint.dataset.checks import check_codes, check_exports_within_supply, check_reporters
from chokepoint.errors import SchemaError
from chokepoint.schema import validate_table

# MCS2025 country names → region ids (names as written in the file, some with a trailing space).
MCS_REGIONS = {
    "United States": "USA",
    "Australia": "AUS",
    "Brazil": "BRA",
    "Burma": "MMR",
    "China": "CHN",
    "India": "IND",
    "Madagascar": "MDG",
    "Malaysia": "MYS",
    "Nigeria": "NGA",
    "Russia": "RUS",
    "Thailand": "THA",
    "Vietnam": "VNM",
    "Other Countries": "ROW",
    "World total (rounded)": "WLD",
}


def _reference_rows(reference: Path, name: str) -> list[dict[str, str]]:
    with (reference / "trade" / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _flow(trade: pd.DataFrame, exporter: str, importer: str, commodity: str, year: int, reporter: str) -> pd.Series:
    rows = trade[
        (trade["exporter_id"] == exporter)
        & (trade["importer_id"] == importer)
        & (trade["commodity_id"] == commodity)
        & (trade["year"] == year)
        & (trade["reporter_id"] == reporter)
    ]
    assert len(rows) == 1, (exporter, importer, commodity, year, reporter)
    return rows.iloc[0]


def test_every_trade_and_share_row_cites_a_known_source_and_says_how_good_it_is(default: Dataset) -> None:
    known = set(default["sources"]["source_id"])
    for table in ("trade", "trade_shares", "production"):
        df = default[table]
        assert df["source_id"].isin(known).all(), table
        assert df["quality"].isin(["primary", "secondary", "weak"]).all(), table


def test_reporter_and_mirror_are_separate_rows_where_both_published(reference: Path, default: Dataset) -> None:
    # Raw Comtrade rows: the US reports its imports from China, China its exports to the US.
    trade = default["trade"]
    rows = _reference_rows(reference, "comtrade_us_china_hs2846_280530_2020_2024_redliana.csv")
    pairs = 0
    for r in rows:
        if (r["reporterCode"], r["flowCode"], r["partnerCode"]) not in {("842", "M", "156"), ("156", "X", "842")}:
            continue
        commodity = "ree_oxide" if r["cmdCode"] == "2846" else "ree_metal"
        reporter = "USA" if r["reporterCode"] == "842" else "CHN"
        row = _flow(trade, "CHN", "USA", commodity, int(r["refYear"]), reporter)
        assert row["quantity_t"] == pytest.approx(float(r["netWgt"]) / 1000.0)
        assert row["value_usd"] == pytest.approx(float(r["primaryValue"]))
        assert row["quality"] == "primary"
        pairs += 1
    assert pairs == 20  # 2 codes x 5 years x 2 sides
    # China customs (tonnes, via the press) and US Census (value) both report China's 2024 magnets to the US.
    china_side = _flow(trade, "CHN", "USA", "ndfeb_magnet", 2024, "CHN")
    us_side = _flow(trade, "CHN", "USA", "ndfeb_magnet", 2024, "USA")
    assert china_side["quantity_t"] == 7444
    assert pd.isna(china_side["value_usd"])
    assert us_side["value_usd"] == 359_791_115
    assert us_side["quality"] == "primary"
    # MP Materials' concentrate: US-reported exports (HS 2846) and China-reported imports (ore, 2530902000).
    assert _flow(trade, "USA", "CHN", "ree_concentrate", 2024, "USA")["quantity_t"] == pytest.approx(59_156.158)
    assert _flow(trade, "USA", "CHN", "ree_concentrate", 2024, "CHN")["quantity_t"] == 55_000


@pytest.mark.parametrize(("codes", "commodity"), [(("850511",), "ndfeb_magnet"), (("284610", "284690"), "ree_oxide")])
def test_us_partner_values_add_up_to_the_reported_total(
    reference: Path, default: Dataset, codes: tuple[str, ...], commodity: str
) -> None:
    totals = {
        (r["canonical_product_id"], int(r["year"])): float(r["total_import_value_usd"])
        for r in _reference_rows(reference, "comtrade_us_imports_ree_magnets_concentration_2018_2025_akashok1.csv")
    }
    trade = default["trade"]
    us = trade[(trade["importer_id"] == "USA") & (trade["reporter_id"] == "USA") & (trade["commodity_id"] == commodity)]
    by_year = us.groupby("year")["value_usd"].sum()
    for year in range(2018, 2026):
        expected = sum(totals[(code, year)] for code in codes)
        assert by_year.loc[year] == pytest.approx(expected, rel=1e-9), year
    # every partner named in the reference is either its own region or inside the ROW row
    if commodity == "ndfeb_magnet":
        rest = _flow(trade, "ROW", "USA", "ndfeb_magnet", 2024, "USA")
        assert "ISR" in rest["note"]
        assert "ITA" in rest["note"]
        assert us.loc[us["year"] == 2024, "exporter_id"].isin(default["regions"]["region_id"]).all()


def test_chinas_2024_magnet_exports_are_the_customs_figure(default: Dataset) -> None:
    row = _flow(default["trade"], "CHN", "WLD", "ndfeb_magnet", 2024, "CHN")
    assert row["quantity_t"] == 58_152
    assert row["value_usd"] == 2_860_000_000
    assert row["source_id"] == "gacc_china_customs"


def test_no_trade_row_is_read_from_a_basket_or_a_part_of_a_year(reference: Path, default: Dataset) -> None:
    compiled = _reference_rows(reference, "bilateral_trade_compiled_2010_2025.csv")
    lines = default["trade"]["note"].str.findall(r"bilateral_trade_compiled_2010_2025\.csv line (\d+)").explode()
    lines = lines.dropna().astype(int)
    assert len(lines) > 20
    for line in lines:
        r = compiled[line - 2]
        assert re.fullmatch(r"\d{4}", r["period"]), r
        assert "basket" not in r["hs_code"], r
        assert "aggregate" not in r["hs_code"], r
        assert r["unit"] in ("t", "USD"), r


def test_mining_by_country_is_exactly_usgs_mcs2025(reference: Path, default: Dataset) -> None:
    with (reference / "usgs_mcs" / "MCS2025_World_Data.csv").open(encoding="utf-8", errors="replace") as fh:
        mcs = [r for r in csv.DictReader(fh) if r["COMMODITY"] == "Rare earths" and r["TYPE"].startswith("Mine")]
    prod = default["production"]
    mine = prod[prod["commodity_id"] == "ree_concentrate"].set_index(["region_id", "year"])["production_t"]
    checked = 0
    for r in mcs:
        for year, column in ((2023, "PROD_2023"), (2024, "PROD_EST_ 2024")):
            if not r[column]:
                continue  # USGS gives no figure (Canada, Greenland, South Africa, Tanzania)
            region = MCS_REGIONS[r["COUNTRY"].strip()]  # every country with a figure has a region
            assert mine.loc[(region, year)] == float(r[column]), (region, year)
            checked += 1
    assert checked == 28
    rows_2024 = prod[(prod["commodity_id"] == "ree_concentrate") & (prod["year"] == 2024)]
    assert set(rows_2024["region_id"]) == set(MCS_REGIONS.values())
    assert (rows_2024["quality"] == "primary").all()


def test_share_targets_match_the_flows_they_summarise(default: Dataset) -> None:
    shares = default["trade_shares"].set_index(["importer_id", "commodity_id", "exporter_id", "period"])["share"]
    assert shares.loc[("JPN", "ree_oxide+ree_metal", "CHN", "2024-01..06")] == 0.796
    trade = default["trade"]
    us = trade[(trade["importer_id"] == "USA") & (trade["reporter_id"] == "USA")]
    us = us[(us["commodity_id"] == "ndfeb_magnet") & (us["year"] == 2024)].set_index("exporter_id")["value_usd"]
    china = shares.loc[("USA", "ndfeb_magnet", "CHN", "2024")]
    assert china == pytest.approx(us["CHN"] / us.sum(), abs=1e-6)
    assert 0.70 < china < 0.80


def test_reporter_must_be_a_side_of_its_flow(default: Dataset) -> None:
    trade = default["trade"]
    bad = trade.iloc[[0]].assign(reporter_id="KOR", exporter_id="CHN", importer_id="JPN")
    ds = Dataset("bad", {t: default[t] for t in ("regions", "sources", "commodities")} | {"trade": bad})
    findings = check_reporters(ds)
    assert [(f.check, f.value) for f in findings] == [("reporters", "KOR")]
    assert check_reporters(Dataset("good", {"trade": trade})) == []


def test_unknown_reporter_and_joined_commodity_codes_are_found(default: Dataset) -> None:
    trade = default["trade"].iloc[[0]].assign(reporter_id="XXX")
    shares = default["trade_shares"].iloc[[0]].assign(commodity_id="ree_oxide+ree_dust")
    ds = Dataset(
        "bad",
        {t: default[t] for t in ("regions", "sources", "commodities")} | {"trade": trade, "trade_shares": shares},
    )
    found = {(f.table, f.field, f.value) for f in check_codes(ds)}
    assert found == {("trade", "reporter_id", "XXX"), ("trade_shares", "commodity_id", "ree_oxide+ree_dust")}


def test_quality_outside_the_vocabulary_is_refused(default: Dataset) -> None:
    row = default["trade"].iloc[[0]].assign(quality="good").astype("string")
    with pytest.raises(SchemaError, match="quality: 'good' is not allowed; use one of primary, secondary, weak"):
        validate_table("trade", row.reset_index(drop=True))


def test_a_flow_read_by_both_sides_counts_once_against_supply(default: Dataset) -> None:
    # US-reported and China-reported readings of the US's 2024 concentrate exports to China; the US
    # mined 45,000 t REO (MCS2025), so 50,000 t is within the 25% allowance and 90,000 t is not
    trade = default["trade"]
    pair = trade[
        (trade["exporter_id"] == "USA")
        & (trade["importer_id"] == "CHN")
        & (trade["commodity_id"] == "ree_concentrate")
        & (trade["year"] == 2024)
    ]
    assert set(pair["reporter_id"]) == {"USA", "CHN"}
    readings = pair.assign(quantity_t=[50_000.0, 40_000.0])
    tables = {t: default[t] for t in ("regions", "sources", "commodities", "production")}
    assert check_exports_within_supply(Dataset("pair", tables | {"trade": readings})) == []
    one_shipment_each = readings.assign(importer_id=["CHN", "JPN"])
    (finding,) = check_exports_within_supply(Dataset("two", tables | {"trade": one_shipment_each}))
    assert finding.value == "90,000 t"


@pytest.mark.parametrize(("commodity", "tonnes"), [("gallium", 94), ("germanium", 43.7)])
def test_chinas_2022_gallium_and_germanium_exports_are_the_customs_figure(
    default: Dataset, commodity: str, tonnes: float
) -> None:
    # Reuters, 4 Jul 2023, citing China customs: 94 t of gallium and 43.7 t of unwrought and wrought
    # germanium exported in 2022, the last full year before the August 2023 licensing.
    row = _flow(default["trade"], "CHN", "WLD", commodity, 2022, "CHN")
    assert row["quantity_t"] == tonnes
    assert row["source_id"] == "reuters_gage_exports_2022"
    assert row["basis"] == "reported"
