"""The shipped element-resolved rows: derived as scripts/element_tables.py says, and consistent."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from chokepoint.baseyear.members import member_production
from chokepoint.dataset import Dataset
from chokepoint.dataset.groups import commodity_elements, group_members

ROOT = Path(__file__).resolve().parents[1]
ELEMENTS = ("La", "Ce", "Pr", "Nd", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Y", "Sc")


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("element_tables", ROOT / "scripts" / "element_tables.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_files_are_what_the_script_derives(monkeypatch: pytest.MonkeyPatch) -> None:
    script = _script()
    written: dict[str, pd.DataFrame] = {}
    monkeypatch.setattr(script, "_write", lambda name, df: written.__setitem__(name, df))
    script.main()
    assert set(written) == {"commodities", "element_content", "recipes", "group_shares"}
    for name, df in written.items():
        shipped = pd.read_csv(script.DATA / f"{name}.csv", dtype=str, keep_default_na=False)
        derived = df.astype(str).replace({"nan": "", "<NA>": ""}).reset_index(drop=True)
        pd.testing.assert_frame_equal(derived, shipped, check_dtype=False, obj=f"{name}.csv (rerun the script)")


def test_every_element_has_an_oxide_and_a_metal_and_magnets_their_content(default: Dataset) -> None:
    com = default["commodities"]
    members = group_members(com)
    assert members["ree_oxide"] == tuple(f"ree_oxide_{e.lower()}" for e in ELEMENTS)
    assert members["ree_metal"] == tuple(f"ree_metal_{e.lower()}" for e in ELEMENTS)
    assert set(members["ndfeb_magnet"]) == {"ndfeb_sintered_hre", "ndfeb_sintered", "ndfeb_bonded", "smco_magnet"}
    assert set(members["ree_concentrate"]) == {"ree_concentrate_hardrock", "ree_concentrate_ionic"}
    contains = commodity_elements(com)
    assert contains["ree_oxide_dy"] == {"Dy"}
    assert contains["ndfeb_sintered_hre"] == {"Nd", "Pr", "Dy", "Tb"}
    assert contains["smco_magnet"] >= {"Sm"}
    assert contains["gallium"] == {"Ga"}
    # A magnet's rare-earth inputs are the elements it lists.
    rec = default["recipes"]
    for magnet in members["ndfeb_magnet"]:
        inputs = rec.loc[rec["output_commodity_id"] == magnet, "input_commodity_id"]
        assert {k.removeprefix("ree_metal_").capitalize() for k in inputs} == contains[magnet] - {"Co"}


def test_recipes_by_hand(default: Dataset) -> None:
    rec = default["recipes"].set_index(["output_commodity_id", "input_commodity_id"])["content_t_per_t"]
    # Nd2O3 -> Nd: (2 x 144.242 + 3 x 15.999) / (2 x 144.242); Pr6O11 -> Pr: (6 x 140.908 + 11 x 15.999) / (6 x 140.908)
    assert rec[("ree_metal_nd", "ree_oxide_nd")] == pytest.approx(336.481 / 288.484, rel=1e-5)
    assert rec[("ree_metal_pr", "ree_oxide_pr")] == pytest.approx(1021.437 / 845.448, rel=1e-5)
    hre = rec.xs("ndfeb_sintered_hre", level="output_commodity_id")
    assert hre.sum() == pytest.approx(0.30)
    assert hre["ree_metal_dy"] == 0.04
    # An oxide takes 1 t REO of concentrate in all, split between the deposit types.
    by_oxide = rec[rec.index.get_level_values(1).str.startswith("ree_concentrate_")].groupby(level=0).sum()
    assert by_oxide.to_numpy() == pytest.approx(1.0)
    assert rec[("ree_oxide_dy", "ree_concentrate_ionic")] > 0.9  # Dy comes from the ionic clays
    assert rec[("ree_oxide_la", "ree_concentrate_hardrock")] > 0.98


def test_group_shares_sum_to_one_and_member_targets_keep_the_tonnes(default: Dataset) -> None:
    shares = default["group_shares"]
    sums = shares.groupby(["product_group", "region_id"])["share"].sum()
    assert sums.to_numpy() == pytest.approx(1.0, abs=1e-5)
    prod = default["production"]
    prod = prod[prod["year"] == 2024]
    assert not prod["commodity_id"].str.startswith("ree_oxide_").any()  # filed at product-group level
    split = member_production(default, prod)  # the fit's member targets
    for group in ("ree_concentrate", "ree_oxide", "ndfeb_magnet"):
        reported = prod[prod["commodity_id"] == group].set_index("region_id")["production_t"]
        members = split[split["commodity_id"].isin(group_members(default["commodities"])[group])]
        assert members.groupby("region_id")["production_t"].sum().reindex(reported.index).to_numpy() == (
            pytest.approx(reported.to_numpy(), rel=1e-6)
        ), group
    chn = split[split["region_id"] == "CHN"].set_index("commodity_id")["production_t"]
    assert chn["ree_concentrate_ionic"] == pytest.approx(270_000 * 10_140 / 135_000)  # H1 2024 ionic-clay quota share
