"""Upstream tracing and chokepoint ranking on a network small enough to check by hand, then on
the shipped data against the rows they rest on."""

from __future__ import annotations

import pytest

from chokepoint.analysis.chokepoints import chokepoints
from chokepoint.analysis.exposure import effective_dependence, exposure, import_reliance
from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.network import build_network
from tests.tiny import tiny_dataset


@pytest.fixture
def tiny() -> Dataset:
    """Ore (mining) → oxide (refining, 1.25 t ore per t oxide). A and D mine 100 and 200 t, B
    mines 100 t and ships it all to A; A makes 60 t oxide and ships 30 t to C."""
    return tiny_dataset()


def test_supply_mix_by_hand(tiny: Dataset) -> None:
    mix = build_network(tiny, "m").mix_table.set_index(["region_id", "commodity_id", "origin_id"])["share"]
    assert mix[("AUT", "ore", "AUT")] == pytest.approx(0.5)  # 100 own + 100 from BEL
    assert mix[("BEL", "ore", "BEL")] == 1.0  # exports all, imports none: supplies itself
    assert mix[("CHE", "ore", "DNK")] == pytest.approx(0.5)  # no data: world mix 100/100/200
    assert mix[("CHE", "oxide", "AUT")] == 1.0


def test_effective_vs_direct_by_hand(tiny: Dataset) -> None:
    che = effective_dependence(build_network(tiny, "m"), "CHE").loc[("CHE", "oxide")]
    # 1 t of oxide in CHE comes from AUT, which needs 1/0.8 = 1.25 t ore, half its own, half BEL's.
    assert che.loc[("mining", "AUT"), "requirement_t_per_t"] == pytest.approx(0.625)
    assert che.loc[("mining", "BEL"), "effective_share_pct"] == pytest.approx(50.0)
    assert ("mining", "DNK") not in che.index  # DNK ore never reaches CHE's oxide
    assert che.loc[("mining", "AUT"), "direct_share_pct"] == pytest.approx(25.0)  # CHE's own ore mix
    assert che.loc[("refining", "AUT"), "effective_share_pct"] == 100.0


def test_chokepoints_by_hand(tiny: Dataset) -> None:
    ranked = chokepoints(tiny, "CHE", "lamps", material="m", utilisation=0.8)
    assert ranked.loc[("AUT", "refining"), "loss_static_pct"] == 100.0
    assert ranked.loc[("BEL", "mining"), "loss_static_pct"] == pytest.approx(50.0)
    assert ranked.loc[("DNK", "mining"), "loss_static_pct"] == 0.0
    # Rerouted: spare = (1/0.8 − 1) × (100 + 200) = 75 t of the 100 t lost → AUT gets 87.5% of its ore.
    assert ranked.loc[("BEL", "mining"), "loss_rerouted_pct"] == pytest.approx(12.5)
    assert ranked.iloc[0].name == ("AUT", "refining")


def test_import_reliance_by_hand(tiny: Dataset) -> None:
    table = import_reliance(tiny, "m")
    assert table.loc[("AUT", "ore"), "net_import_reliance_pct"] == pytest.approx(50.0)  # 100 of 200 t
    assert table.loc[("CHE", "oxide"), "net_import_reliance_pct"] == 100.0


def test_us_oxide_direct_shares_rest_on_dataset_rows(default: Dataset) -> None:
    # UN Comtrade: US imports 10,248.721 t of HS 2846 from China in 2024; MP Materials made
    # 1,294 t NdPr oxide (10-K 2024). Per element (group_shares): China's oxide at the world
    # split, MP's at 75:25 Nd:Pr. Direct Chinese share of Nd oxide = imports / (imports + 0.75 x 1,294).
    shares = default["group_shares"].set_index(["commodity_id", "region_id"])["share"]
    imports = 10_248.721 * shares[("ree_oxide_nd", "WLD")]
    chinese = 100 * imports / (imports + 0.75 * 1_294)
    table = exposure(default, "USA", products=["ree_oxide"]).sort_index().loc[("USA", "ree_oxide_nd", "refining")]
    assert table.loc["CHN", "direct_share_pct"] == pytest.approx(chinese)
    assert table.loc["CHN", "effective_share_pct"] == pytest.approx(table.loc["CHN", "direct_share_pct"])
    # Net import reliance (USGS definition): imports / (production + imports), no US oxide exports.
    assert table.loc["CHN", "net_import_reliance_pct"] == pytest.approx(chinese)
    # The USA makes no Dy oxide: all of it is imported.
    dy = exposure(default, "USA", products=["ree_oxide_dy"]).sort_index().loc[("USA", "ree_oxide_dy", "refining")]
    assert dy.loc["CHN", "direct_share_pct"] == pytest.approx(100.0)


def test_japan_magnets_rest_on_chinese_metal(default: Dataset) -> None:
    table = exposure(default, "JPN", products=["ndfeb_magnet"]).sort_index().loc[("JPN", "ndfeb_sintered_hre")]
    assert (table.loc[("magnet", "JPN"), "direct_share_pct"] == 100.0).all()  # made in Japan
    metal = table.loc[("metal", "CHN")].set_index("commodity_id")["effective_share_pct"]
    assert set(metal.index) == {"ree_metal_nd", "ree_metal_pr", "ree_metal_dy", "ree_metal_tb"}  # its composition
    assert metal.to_numpy() == pytest.approx(90.0)  # metal rows: CHN 90%
    assert (table.loc[("refining", "CHN"), "effective_share_pct"] > 80.0).all()


def test_exposure_errors(default: Dataset) -> None:
    with pytest.raises(ChokepointError, match="unknown region 'XYZ'"):
        exposure(default, "XYZ")
    with pytest.raises(ChokepointError, match="unknown product 'gold'"):
        exposure(default, "JPN", products=["gold"])
    with pytest.raises(ChokepointError, match="unknown sector 'toys'"):
        chokepoints(default, "USA", "toys")
    with pytest.raises(ChokepointError, match=r"utilisation 1\.5 must be in \(0, 1\]"):
        chokepoints(default, "USA", "defence", utilisation=1.5)


def test_a_region_without_data_buys_at_the_world_mix(default: Dataset) -> None:
    # Korea has no rare-earth production or trade rows: its magnets come from the world magnet
    # producers in proportion to their output (CHN 260,000 t of 288,889 t in 2024 = 90%).
    table = exposure(default, "KOR", products=["ndfeb_magnet"]).sort_index().loc[("KOR", "ndfeb_sintered", "magnet")]
    assert table.loc["CHN", "direct_share_pct"] == pytest.approx(90.0, abs=0.01)
    assert table.loc["CHN", "mix_basis"].startswith("world production mix")
