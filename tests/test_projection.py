"""Projected years, the supply path, the balance and the concentration path (docs/outlook.md)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

import chokepoint as cp
from chokepoint.analysis.exposure import exposure
from chokepoint.baseyear import reconcile
from chokepoint.dataset.checks import check_dataset
from chokepoint.dataset.groups import group_members
from chokepoint.errors import ChokepointError
from chokepoint.foresight import Pipeline, pipeline
from chokepoint.foresight.balance import balance, concentration_path, iea_supply_check, supply_path
from chokepoint.foresight.projection import (
    base_output,
    controller_dependence,
    member_additions,
    pipeline_additions,
    project_dataset,
)
from chokepoint.schema import validate_table

DS = cp.default_dataset()


@cache
def _pipe() -> Pipeline:
    return pipeline(DS, to=2035, draws=400, seed=1, as_of=2024)


@cache
def _base() -> pd.DataFrame:
    return base_output(DS, 2024)


def _one_addition(region: str, group: str, tonnes: float) -> pd.DataFrame:
    return pd.DataFrame({"region_id": [region], "commodity_id": [group], "added_t_per_yr": [tonnes]})


MAGNETS = group_members(DS["commodities"])["ndfeb_magnet"]  # NdFeB grades and SmCo (HS 8505.11)


def _production(ds: cp.Dataset, year: int, region: str) -> float:
    """Magnet output of ``region`` in ``year`` (production rows of the group's members)."""
    p = ds["production"]
    rows = p[(p["year"] == year) & (p["region_id"] == region) & p["commodity_id"].isin(MAGNETS)]
    return float(rows["production_t"].sum())


def test_world_output_grows_with_demand_and_the_controller_supplies_the_rest() -> None:
    projected = project_dataset(DS, 2030, demand_growth=1.5, added_t=_one_addition("USA", "ndfeb_magnet", 10_000.0))
    base = _base()
    magnets = base[base["commodity_id"].isin(MAGNETS)]
    world_2024 = float(magnets["production_t"].sum())
    assert _production(projected, 2030, "WLD") == pytest.approx(1.5 * world_2024)
    us_2024 = float(magnets.loc[magnets["region_id"] == "USA", "production_t"].sum())
    assert _production(projected, 2030, "USA") == pytest.approx(us_2024 + 10_000.0)
    others = magnets.loc[~magnets["region_id"].isin(["CHN", "USA"]), "production_t"].sum()
    chn = 1.5 * world_2024 - (us_2024 + 10_000.0) - others
    assert _production(projected, 2030, "CHN") == pytest.approx(chn, rel=1e-9)


def test_the_base_year_is_untouched_and_trade_shares_are_not_carried() -> None:
    projected = project_dataset(DS, 2030, demand_growth=1.2)
    for table in ("production", "trade", "trade_shares", "sector_activity"):
        before, after = DS[table], projected[table]
        pd.testing.assert_frame_equal(
            before[before["year"] == 2024].reset_index(drop=True), after[after["year"] == 2024].reset_index(drop=True)
        )
    shares = projected["trade_shares"]
    assert not (shares["year"] == 2030).any()


def test_sector_activity_grows_by_sector() -> None:
    projected = project_dataset(DS, 2030, demand_growth=1.2, sector_growth={"ev": 2.0})
    act = projected["sector_activity"].set_index(["region_id", "sector_id", "year"])["activity"]
    assert act[("WLD", "ev", 2030)] == pytest.approx(2.0 * act[("WLD", "ev", 2024)])
    assert act[("WLD", "wind", 2030)] == pytest.approx(1.2 * act[("WLD", "wind", 2024)])


def test_flows_grow_with_their_exporters_output_and_new_domestic_output_replaces_imports() -> None:
    flows = reconcile(DS, "rare_earths", 2024).flows
    into_us = flows[(flows["destination_id"] == "USA") & flows["commodity_id"].isin(MAGNETS)]
    by_origin = into_us.groupby("origin_id")["flow_t"].sum()
    unchanged = project_dataset(DS, 2030, demand_growth=1.0)["trade"]
    same = unchanged[(unchanged["year"] == 2030) & (unchanged["importer_id"] == "USA")]
    assert same[same["commodity_id"].isin(MAGNETS)]["quantity_t"].sum() == pytest.approx(by_origin.sum())
    added = by_origin.sum() / 2
    half = project_dataset(DS, 2030, demand_growth=1.0, added_t=_one_addition("USA", "ndfeb_magnet", added))
    # China, the residual supplier, makes less by what the US now makes: its flows shrink with it
    base = _base()
    china_2024 = base[(base["region_id"] == "CHN") & base["commodity_id"].isin(MAGNETS)]["production_t"].sum()
    china = _production(half, 2030, "CHN") / china_2024
    grown = by_origin.drop("CHN").sum() + china * by_origin["CHN"]
    t = half["trade"]
    after = t[(t["year"] == 2030) & (t["importer_id"] == "USA") & t["commodity_id"].isin(MAGNETS)]
    assert float(after["quantity_t"].sum()) == pytest.approx(grown - added)


@pytest.mark.parametrize("growth", [0.0, -1.0, float("nan"), float("inf")])
def test_a_growth_that_is_not_positive_and_finite_is_refused(growth: float) -> None:
    with pytest.raises(ChokepointError, match=r"field demand_growth: .* is not a positive finite number"):
        project_dataset(DS, 2030, demand_growth=growth)


def test_a_year_before_the_base_year_is_refused() -> None:
    with pytest.raises(ChokepointError, match="year 2020 must be after the base year 2024"):
        project_dataset(DS, 2020, demand_growth=1.1)


def test_an_oxide_plant_divides_by_its_ore_assay_and_a_magnet_plant_by_its_regions_use() -> None:
    added = member_additions(DS, _base(), _one_addition("AUS", "ree_oxide", 10_000.0)).set_index("commodity_id")
    magnets = member_additions(DS, _base(), _one_addition("USA", "ndfeb_magnet", 1_000.0)).set_index("commodity_id")
    use = reconcile(DS, "rare_earths", 2024)
    us_use = pd.Series(use.final_use_t[list(use.regions).index("USA")], index=use.commodities)[list(MAGNETS)]
    expected = 1_000.0 * us_use / us_use.sum()  # a magnet plant makes what its region uses
    pd.testing.assert_series_equal(
        magnets["added_t_per_yr"].reindex(expected.index).fillna(0.0), expected, check_names=False
    )
    assay = DS["element_content"]
    aus = assay[(assay["region_id"] == "AUS") & (assay["commodity_id"] == "ree_concentrate_hardrock")]
    nd = float(aus.loc[aus["element"] == "Nd", "share_of_reo"].iloc[0]) / aus["share_of_reo"].sum()
    assert added.loc["ree_oxide_nd", "added_t_per_yr"] == pytest.approx(10_000.0 * nd)
    assert added["added_t_per_yr"].sum() == pytest.approx(10_000.0)


def test_a_ramping_plant_adds_the_rest_of_its_nameplate() -> None:
    pipe = _pipe()
    added = pipeline_additions(DS, pipe, _base(), utilisation=0.85)
    row = added[(added["year"] == 2030) & (added["region_id"] == "USA") & (added["commodity_id"] == "ndfeb_magnet")]
    cap = pipe.capacity
    expected = cap[(cap["year"] == 2030) & (cap["region_id"] == "USA") & (cap["commodity_id"] == "ndfeb_magnet")]
    base = _base()
    made = base[(base["region_id"] == "USA") & base["commodity_id"].isin(MAGNETS)]["production_t"].sum()
    assert float(row["added_t_per_yr"].iloc[0]) == pytest.approx(
        0.85 * float(expected["expected_t_per_yr"].iloc[0]) - made
    )
    assert not (added["region_id"] == "CHN").any()


def _world(supply: pd.DataFrame, year: int, material: str) -> float:
    """World supply of ``material`` in ``year`` at its balanced stage (separation; magnets)."""
    rows = supply[(supply["year"] == year) & (supply["material"] == material)]
    return float(rows.loc[rows["stage"].isin(["refining", "magnet"]), "supply_t"].sum())


def test_the_base_year_clears_and_a_later_deficit_is_demand_growth_the_supply_misses() -> None:
    supply = supply_path(DS, _pipe())
    years = np.arange(2024, 2036)
    demand = pd.DataFrame({"year": years, "material": "neodymium", "demand_t": 100.0 * 1.05 ** (years - 2024)})
    table = balance(supply, demand).set_index(["stage", "material", "year"])
    assert table.loc[("refining", "neodymium", 2024), "deficit_share"] == pytest.approx(0.0, abs=1e-12)
    need = _world(supply, 2024, "neodymium") * 1.05**11
    have = _world(supply, 2035, "neodymium")
    assert table.loc[("refining", "neodymium", 2035), "demand_t"] == pytest.approx(need)
    assert table.loc[("refining", "neodymium", 2035), "deficit_share"] == pytest.approx(max(0.0, 1 - have / need))
    # the magnet stage follows the magnet rare earths' total demand
    magnets = table.loc[("magnet", "ndfeb_magnet", 2035), "demand_t"]
    assert magnets == pytest.approx(_world(supply, 2024, "ndfeb_magnet") * 1.05**11)


def test_recycled_material_adds_to_supply_on_the_supply_basis() -> None:
    supply = supply_path(DS, _pipe())
    demand = pd.DataFrame(
        {"year": [2024, 2030], "material": "dysprosium", "demand_t": [10.0, 10.0], "recycled_t": [0.0, 2.0]}
    )
    row = balance(supply, demand).set_index(["material", "year"]).loc[("dysprosium", 2030)]
    assert row["recycled_t"] == pytest.approx(0.2 * _world(supply, 2024, "dysprosium"))
    assert row["supply_t"] == pytest.approx(_world(supply, 2030, "dysprosium") + row["recycled_t"])


def test_china_follows_ieas_base_case_and_the_cross_check_reads_it() -> None:
    supply = supply_path(DS, _pipe())
    check = iea_supply_check(DS, supply).set_index(["region_id", "year"])
    iea = DS["supply_outlook"]
    chn = iea[(iea["region_id"] == "CHN") & (iea["stage"] == "refining")].set_index("year")["supply_t"]
    assert check.loc[("CHN", 2030), "iea_index"] == pytest.approx(chn[2030] / chn[2024])
    assert check.loc[("CHN", 2030), "model_index"] == pytest.approx(chn[2030] / chn[2024])  # by construction
    assert check.loc[("WLD", 2024), "model_index"] == pytest.approx(1.0)


def test_concentration_matches_a_hand_computation() -> None:
    supply = pd.DataFrame(
        {
            "year": [2030] * 3,
            "stage": "refining",
            "material": "terbium",
            "region_id": ["CHN", "MYS", "USA"],
            "supply_t": [60.0, 30.0, 10.0],
        }
    )
    row = concentration_path(supply).iloc[0]
    assert row["hhi"] == pytest.approx(60**2 + 30**2 + 10**2)
    assert (row["top1_region"], row["top1_share"]) == ("CHN", pytest.approx(0.6))


def test_dependence_on_the_controller_is_the_exposure_cores_share() -> None:
    table = controller_dependence(DS, 2024, ["JPN"], ["ndfeb_sintered_hre"])
    row = table[(table["stage"] == "refining")].iloc[0]
    rows = exposure(DS, "JPN", 2024, products=["ndfeb_sintered_hre"]).reset_index()
    rows = rows[rows["stage"] == "refining"]
    share = 100 * rows.loc[rows["origin_id"] == "CHN", "requirement_t_per_t"].sum() / rows["requirement_t_per_t"].sum()
    assert row["controller_share_pct"] == pytest.approx(share)


def test_a_projected_dataset_is_a_valid_dataset_whose_exports_fit_its_output() -> None:
    projected = project_dataset(DS, 2030, demand_growth=1.4, added_t=_one_addition("USA", "ndfeb_magnet", 5_000.0))
    for table in ("sources", "production", "trade", "sector_activity", "prices", "stocks", "sector_values"):
        validate_table(table, projected[table])  # every row: codes, types, a source, a basis
    findings = check_dataset(projected)
    over = findings[(findings["check"] == "exports_within_supply") & findings["row"].str.contains("ndfeb|smco")]
    assert over.empty, over["message"].tolist()  # flows grow with their exporter's output
