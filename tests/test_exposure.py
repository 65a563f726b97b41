"""Upstream tracing and chokepoint ranking on a network small enough to check by hand, then on
the shipped data against the rows they rest on."""

from __future__ import annotations

import pytest

from chokepoint.analysis.chokepoints import chokepoints
from chokepoint.analysis.exposure import effective_dependence, exposure, import_reliance
from chokepoint.baseyear import reconcile
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
    # China→US HS 2846 in 2024: 10,248.721 t US-reported, 13,609.966 t China-reported (UN Comtrade);
    # the reconciled lanes of all separated oxides lie between the two, and each oxide's direct
    # share is its lane over US supply (MP's NdPr oxide net of exports plus every reconciled import).
    by = reconcile(default)
    to_us = by.flows[(by.flows["destination_id"] == "USA") & by.flows["commodity_id"].str.startswith("ree_oxide_")]
    from_china = to_us[to_us["origin_id"] == "CHN"].set_index("commodity_id")["flow_t"]
    assert 10_248.721 <= from_china.sum() <= 13_609.966
    oxide = str(from_china.idxmax())  # the oxide the fit puts most of the lane on (Ce oxide)
    usa, k = by.regions.get_loc("USA"), by.commodities.get_loc(oxide)
    flows = to_us[to_us["commodity_id"] == oxide]
    supply = flows["flow_t"].sum() + by.production_t[usa, k] - by.exports_t()[usa, k]
    table = exposure(default, "USA", products=["ree_oxide"]).sort_index().loc[("USA", oxide, "refining")]
    assert table.loc["CHN", "direct_share_pct"] == pytest.approx(100 * from_china[oxide] / supply, rel=1e-6)
    assert table.loc["CHN", "effective_share_pct"] == pytest.approx(table.loc["CHN", "direct_share_pct"])


def test_japan_magnets_rest_on_chinese_refining(default: Dataset) -> None:
    table = exposure(default, "JPN", products=["ndfeb_magnet"]).sort_index().loc[("JPN", "ndfeb_sintered")]
    assert (table.loc[("magnet", "JPN"), "direct_share_pct"] > 90.0).all()  # made in Japan (26,000 t assumed)
    metal = table.loc["metal"]
    assert set(metal["commodity_id"]) == {"ree_metal_nd", "ree_metal_pr"}  # its composition
    # China is the largest refiner of the Nd oxide behind Japan's magnets (~92% effective) and of
    # the Pr oxide (~39%; India, Russia and Vietnam supply the rest of Japan's Pr through the fit).
    refining = table.loc["refining"].reset_index().set_index(["commodity_id", "origin_id"])["effective_share_pct"]
    for oxide in ("ree_oxide_nd", "ree_oxide_pr"):
        assert refining[oxide].idxmax() == "CHN", oxide
    assert refining[("ree_oxide_nd", "CHN")] > 80.0


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
    # Guatemala has no rare-earth row at all: its magnets of each type come from the world's makers
    # of that type in proportion to their reconciled output.
    by = reconcile(default)
    magnets = by.production_t[:, by.commodities.get_loc("ndfeb_sintered")]
    china = 100 * magnets[by.regions.get_loc("CHN")] / magnets.sum()
    table = exposure(default, "GTM", products=["ndfeb_magnet"]).sort_index().loc[("GTM", "ndfeb_sintered", "magnet")]
    assert table.loc["CHN", "direct_share_pct"] == pytest.approx(china, rel=1e-6)
    assert table.loc["CHN", "mix_basis"].startswith("world production mix")
