"""The reconciled base year: hand-checkable fits, invariants, the residual report, and the figures
issue 11 asks of the 2024 base (read by target id from the report)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from chokepoint.baseyear import input_matrix, reconcile
from chokepoint.baseyear.residuals import residual_report, residual_summary, residual_table
from chokepoint.cli import main
from chokepoint.dataset import Dataset
from tests.tiny import tiny_dataset


def _table(by_id: pd.DataFrame, target_id: str) -> pd.Series:
    rows = by_id[by_id["target_id"] == target_id]
    assert len(rows) == 1, f"no single target {target_id!r}"
    return rows.iloc[0]


def _grouped() -> Dataset:
    """The tiny dataset with its ore split into two members of product group ``ore``: statistics
    report 400 t of ``ore`` in all (AUT 100, BEL 100, DNK 200) and 30 t of AUT's as ``ore_a``."""
    ds = tiny_dataset()
    com = ds["commodities"]
    ore = com[com["commodity_id"] == "ore"].iloc[0]
    members = pd.DataFrame([{**ore, "commodity_id": k, "name": k} for k in ("ore_a", "ore_b")])
    commodities = pd.concat([members, com[com["commodity_id"] != "ore"]], ignore_index=True)
    commodities["product_group"] = np.where(commodities["commodity_id"].str.startswith("ore"), "ore", "oxide")
    recipes = ds["recipes"].assign(input_commodity_id="ore_a")
    extra = ds["production"].iloc[[0]].assign(commodity_id="ore_a", production_t=30.0)
    production = pd.concat([ds["production"], extra], ignore_index=True)
    tables = {**ds.tables, "commodities": commodities, "recipes": recipes, "production": production}
    return Dataset("grouped", tables)


def test_a_product_group_row_targets_the_sum_of_its_members() -> None:
    by = reconcile(_grouped(), "m", 2024)
    x = pd.DataFrame(by.production_t, index=by.regions, columns=by.commodities)
    # AUT: 100 t of ore (the group) of which 30 t ore_a (a member row) → ore_b takes the other 70 t.
    assert x.loc["AUT", "ore_a"] == pytest.approx(30.0, rel=1e-4)
    assert x.loc["AUT", "ore_a"] + x.loc["AUT", "ore_b"] == pytest.approx(100.0, rel=1e-5)
    assert x.loc["DNK", "ore_a"] + x.loc["DNK", "ore_b"] == pytest.approx(200.0, rel=1e-5)
    table = residual_table(by)
    group = table[(table["kind"] == "production") & (table["commodity_id"] == "ore")]
    assert set(group["region_id"]) == {"AUT", "BEL", "DNK"}
    assert np.allclose(group["residual_pct"], 0.0, atol=1e-3)


def test_the_tiny_fit_reproduces_every_figure_and_balances() -> None:
    by = reconcile(tiny_dataset(), "m", 2024)
    table = residual_table(by)
    assert (table["residual_pct"].abs() < 1e-3).all()  # consistent data: every figure within 0.001%
    a = input_matrix(tiny_dataset()["recipes"], list(by.commodities))
    x, y = by.production_t, by.final_use_t
    balance = x + by.imports_t() - by.exports_t() - x @ a.T - y
    assert np.abs(balance).max() < 1e-3 * x.max()
    assert (by.exports_t() <= x + 1e-6 * x.max()).all()  # no re-exports
    assert (by.flows["flow_t"] > 0).all()
    assert (y >= -1e-9).all()
    assert reconcile(tiny_dataset(), "m", 2024) is by  # cached per (fingerprint, material, year)


def test_the_2024_base_meets_issue_11(default: Dataset) -> None:
    table = residual_table(reconcile(default, "rare_earths", 2024))
    exports = _table(table, "trade_quantity:CHN>WLD:ndfeb_magnet:gacc_china_customs")
    assert exports["reported"] == 58_152
    assert exports["reconciled"] == pytest.approx(58_152, rel=0.05)
    to_us = _table(table, "trade_value:CHN>USA:ndfeb_magnet:census_via_un_comtrade")
    assert to_us["reconciled"] == pytest.approx(to_us["reported"], rel=0.15)
    share = _table(table, "trade_share:CHN>USA:ndfeb_magnet:census_via_un_comtrade")
    assert 0.70 <= share["reconciled"] <= 0.80
    japan = _table(table, "trade_share:CHN>JPN:ree_oxide+ree_metal:japan_mof_trade")
    assert abs(japan["reconciled"] - 0.796) <= 0.05
    mining = table[(table["kind"] == "production") & (table["source_id"] == "usgs_mcs2025_ree")]
    assert len(mining) >= 12
    assert (mining["residual_pct"].abs() < 0.5).all()  # USGS MCS2025 mine output, to within 0.5%


@pytest.mark.parametrize(("year", "floor"), [(2024, 0.90), (2010, 0.98)])
def test_the_fit_summary_does_not_regress(default: Dataset, year: int, floor: float) -> None:
    # Achieved on the element-resolved chain: 2024 90.6% of 138 targets within 10% (the product-group
    # chain had 92.5% of 134: three EU27 oxide-and-metal share targets of a lane no tonnage row
    # sizes now miss), 2010 100% of 54; member targets (group_shares guides) are counted apart.
    summary = residual_summary(reconcile(default, "rare_earths", year))
    assert summary.within_10pct >= floor
    assert summary.within_5pct <= summary.within_10pct
    assert len(summary.worst) == 10
    assert summary.worst["reason"].str.len().gt(0).all()
    assert summary.member_targets > 50  # element and magnet-type splits of the group rows


def test_worst_residuals_name_their_reason(default: Dataset) -> None:
    worst = residual_summary(reconcile(default, "rare_earths", 2024)).worst.set_index("target_id")
    # China- and US-reported China→US metal differ fourfold: each names the other.
    reason = worst.loc["trade_quantity:CHN>USA:ree_metal:gacc_via_un_comtrade", "reason"]
    assert "trade_quantity:CHN>USA:ree_metal:census_via_un_comtrade" in reason
    # US concentrate exports (product weight) exceed US mine output (REO): the mine holds.
    reason = worst.loc["trade_quantity:USA>CHN:ree_concentrate:census_via_un_comtrade", "reason"]
    assert reason.startswith("mass balance against production:USA:ree_concentrate:usgs_mcs2025_ree")


def test_baseline_command_json_and_csv(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["baseline", "--year", "2024", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["within_10pct"] >= 0.90
    assert len(doc["worst"]) == 10
    ids = {t["target_id"] for t in doc["targets"]}
    assert "trade_share:CHN>USA:ndfeb_magnet:census_via_un_comtrade" in ids
    assert main(["baseline", "--year", "2010", "--format", "csv"]) == 0
    csv = capsys.readouterr().out
    assert csv.splitlines()[0].startswith("target_id,kind,region_id,partner_id,commodity_id,source_id")


def test_report_bundles_table_and_summary(default: Dataset) -> None:
    report = residual_report(reconcile(default, "rare_earths", 2010))
    assert len(report.table) == report.summary.targets + report.summary.member_targets


def test_the_2023_gallium_base_holds_chinas_pre_control_lanes(default: Dataset) -> None:
    # 2023 is the first year with USGS primary gallium by country (MCS2025: China 621 t); its
    # lanes are the pre-control level of trade.csv's 2023 rows (their notes give the reasoning).
    by = reconcile(default, "gallium", 2023)
    table = residual_table(by)
    assert _table(table, "production:CHN:gallium:usgs_mcs2025_gallium")["reconciled"] == pytest.approx(621.0, rel=1e-4)
    # China customs via Reuters: 94 t exported in 2022, held for 2023
    chn = list(by.regions).index("CHN")
    assert by.exports_t()[chn].sum() == pytest.approx(94.0, rel=1e-3)
    assert _table(table, "trade_quantity:CHN>WLD:gallium:reuters_gage_exports_2022")["reconciled"] == pytest.approx(
        94.0, rel=1e-3
    )
    # Japan's imports from China, 55 t "or about 60%" of its 97 t of imports (Yomiuri)
    assert _table(table, "trade_quantity:CHN>JPN:gallium:yomiuri_japan_gallium_2025")["reconciled"] == pytest.approx(
        55.0, rel=1e-3
    )
    # the US lane: 94 t x USD 0.44 m / (USD 8.47 m / (1 - 0.66)) of China's 2022 export value
    derived = 94 * 0.44 / (8.47 / (1 - 0.66))
    assert round(derived, 2) == 1.66
    us = _table(table, "trade_quantity:CHN>USA:gallium:globaltimes_gallium_exports_2023")
    assert us["reported"] == 1.66
    assert us["reconciled"] == pytest.approx(1.66, rel=1e-3)


def test_the_2023_germanium_base_holds_chinas_pre_control_lanes(default: Dataset) -> None:
    # USGS withholds germanium refinery production: the 2023 rows are the EC CRM 2023 processing
    # shares times an ASSUMED world total of 151.5 t (Project Blue's 100 t = "around 66%")
    by = reconcile(default, "germanium", 2023)
    table = residual_table(by)
    world = _table(table, "world_production:WLD:germanium:projectblue_germanium_2024")
    assert world["basis"] == "assumption"
    assert round(100 / 0.66, 1) == world["reported"] == 151.5
    chn = _table(table, "production:CHN:germanium:ec_crm2023_study")
    assert chn["reported"] == round(0.831 * 151.5, 2) == 125.9
    assert chn["reconciled"] == pytest.approx(125.9, rel=1e-4)
    # China customs via Reuters: 43.7 t of wrought and unwrought germanium exported in 2022, held for 2023
    i = list(by.regions).index("CHN")
    assert by.exports_t()[i].sum() == pytest.approx(43.7, rel=1e-3)
    assert _table(table, "trade_quantity:CHN>WLD:germanium:reuters_gage_exports_2022")["reconciled"] == pytest.approx(
        43.7, rel=1e-3
    )
    # the US lane: 43.7 t x USD 4.6 m / (USD 48.42 m / (1 - 0.082)) of China's 2022 export value
    derived = 43.7 * 4.6 / (48.42 / (1 - 0.082))
    assert round(derived, 2) == 3.81
    us = _table(table, "trade_quantity:CHN>USA:germanium:globaltimes_germanium_exports_2023")
    assert us["reported"] == 3.81
    assert us["reconciled"] == pytest.approx(3.81, rel=1e-3)
