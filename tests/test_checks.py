"""Cross-table rules: the shipped dataset passes them, and each rule catches the fault it names."""

from __future__ import annotations

import pandas as pd
import pytest

from chokepoint.dataset import Dataset
from chokepoint.dataset.checks import (
    check_basis_notes,
    check_codes,
    check_country_codes,
    check_dataset,
    check_exports_within_supply,
    check_shares,
    check_stage_chain,
    raise_on_errors,
)
from chokepoint.errors import CheckError
from chokepoint.schema import validate_table


def _with(ds: Dataset, table: str, extra: list[dict[str, object]], replace: bool = False) -> Dataset:
    new = validate_table(table, pd.DataFrame(extra).astype("string"))
    df = new if replace else pd.concat([ds[table], new], ignore_index=True)
    return Dataset(ds.name, {**ds.tables, table: df})


ROW = {"source_id": "usgs_mcs2025_ree", "basis": "reported", "note": ""}


def test_default_dataset_has_no_errors(default: Dataset) -> None:
    findings = check_dataset(default)
    assert findings[findings["severity"] == "error"].empty, findings.to_string()


def test_unknown_region_and_source(default: Dataset) -> None:
    bad = _with(
        default,
        "production",
        [
            {
                "region_id": "XXY",
                "commodity_id": "ree_concentrate",
                "year": "2024",
                "production_t": "1",
                **ROW,
                "source_id": "nope",
            }
        ],
    )
    findings = check_codes(bad)
    assert {(f.field, f.value) for f in findings} == {("region_id", "XXY"), ("source_id", "nope")}
    with pytest.raises(CheckError, match=r"unknown region_id 'XXY'.*\(and 1 more"):
        raise_on_errors(check_dataset(bad), origin="test")


def test_country_codes_must_be_iso3(default: Dataset) -> None:
    bad = _with(default, "regions", [{"region_id": "ZZZ", "name": "Nowhere", "kind": "country", "members": ""}])
    assert [f.value for f in check_country_codes(bad)] == ["ZZZ"]


def test_element_shares_above_100_percent(default: Dataset) -> None:
    rows = [
        {
            "commodity_id": "ree_concentrate",
            "region_id": "ZAF",
            "element": e,
            "share_of_reo": "0.6",
            **ROW,
            "basis": "assumption",
            "note": "t",
        }
        for e in ("La", "Ce")
    ]
    findings = check_shares(_with(default, "element_content", rows))
    assert [(f.row, f.value) for f in findings] == [("commodity_id=ree_concentrate, region_id=ZAF", "1.200")]


def test_countries_above_world_total(default: Dataset) -> None:
    # China's 2024 mine output pushed to 400,000 t: above the 390,000 t world total plus rounding.
    prod = default["production"].copy()
    china = (prod["region_id"] == "CHN") & (prod["commodity_id"] == "ree_concentrate") & (prod["year"] == 2024)
    prod.loc[china, "production_t"] = 400_000.0
    findings = check_shares(Dataset("t", {**default.tables, "production": prod}))
    assert [f.row for f in findings] == ["commodity_id=ree_concentrate, year=2024"]


def test_rounded_world_totals_are_tolerated(default: Dataset) -> None:
    # MCS2025 antimony 2024: countries add up to 103,960 t against a world total rounded to 100,000 t.
    prod = default["production"]
    sb = prod[(prod["commodity_id"] == "antimony") & (prod["year"] == 2024)]
    assert sb.loc[sb["region_id"] != "WLD", "production_t"].sum() == pytest.approx(103_960)
    assert check_shares(default) == []


def test_stage_chain(default: Dataset) -> None:
    backwards = _with(
        default,
        "recipes",
        [
            {
                "output_commodity_id": "ree_concentrate_hardrock",
                "input_commodity_id": "ndfeb_sintered",
                "content_t_per_t": "1",
                "yield_fraction": "1",
                **ROW,
            }
        ],
    )
    assert [f.value for f in check_stage_chain(backwards)] == ["ndfeb_sintered"]
    unfed = Dataset("t", {**default.tables, "recipes": default["recipes"].iloc[:0]})
    broken = {f.row.removeprefix("commodity_id=") for f in check_stage_chain(unfed) if f.table == "commodities"}
    # every produced member after mining (Sc oxide and most metals have no production rows)
    assert {
        "ree_oxide_la",
        "ree_oxide_dy",
        "ree_metal_nd",
        "ree_metal_dy",
        "ndfeb_sintered_hre",
        "smco_magnet",
    } <= broken
    assert not broken & {"ree_oxide_sc", "ree_metal_la", "ree_concentrate_hardrock", "ree_concentrate_ionic"}


def test_basis_needs_a_note(default: Dataset) -> None:
    bad = _with(
        default,
        "production",
        [
            {
                "region_id": "ZAF",
                "commodity_id": "ree_concentrate",
                "year": "2024",
                "production_t": "5",
                **ROW,
                "basis": "assumption",
            }
        ],
    )
    assert [f.row for f in check_basis_notes(bad)] == ["region_id=ZAF, commodity_id=ree_concentrate, year=2024"]


def test_exports_above_supply_warn(default: Dataset) -> None:
    trade = [
        {
            "exporter_id": "BRA",
            "importer_id": "CHN",
            "commodity_id": "ree_concentrate",
            "year": "2024",
            "quantity_t": "500",
            "value_usd": "",
            **ROW,
        }
    ]
    # Brazil mined 20 t REO in 2024 (MCS2025) and imported none: 500 t of exports is implausible.
    findings = check_exports_within_supply(_with(default, "trade", trade, replace=True))
    assert [(f.severity, f.row) for f in findings] == [
        ("warning", "exporter_id=BRA, commodity_id=ree_concentrate, year=2024")
    ]
