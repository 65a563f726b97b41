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
    # the reconciled lane lies between the two, and the direct share is that lane over US supply
    # (MP Materials' 1,294 t NdPr oxide net of exports plus every reconciled import).
    by = reconcile(default)
    flows = by.flows[(by.flows["destination_id"] == "USA") & (by.flows["commodity_id"] == "ree_oxide")]
    lane = float(flows.loc[flows["origin_id"] == "CHN", "flow_t"].sum())
    assert 10_248.721 <= lane <= 13_609.966
    usa, oxide = by.regions.get_loc("USA"), by.commodities.get_loc("ree_oxide")
    supply = flows["flow_t"].sum() + by.production_t[usa, oxide] - by.exports_t()[usa, oxide]
    table = exposure(default, "USA", products=["ree_oxide"]).loc[("USA", "ree_oxide", "refining")]
    assert table.loc["CHN", "direct_share_pct"] == pytest.approx(100 * lane / supply, rel=1e-6)
    assert table.loc["CHN", "effective_share_pct"] == pytest.approx(table.loc["CHN", "direct_share_pct"])


def test_japan_magnets_rest_on_chinese_metal(default: Dataset) -> None:
    table = exposure(default, "JPN", products=["ndfeb_magnet"]).loc[("JPN", "ndfeb_magnet")]
    assert table.loc[("magnet", "JPN"), "direct_share_pct"] > 90.0  # made in Japan (26,000 t assumed)
    # Japan's HS 2805 imports by value, 2024 (Japan MOF via GTAIC, trade_shares): Vietnam 59.8%,
    # China 29.6%, Thailand 8.1% — the fit's shares of Japan's metal, to within a point.
    assert table.loc[("metal", "VNM"), "direct_share_pct"] == pytest.approx(59.8, abs=1.0)
    assert table.loc[("metal", "CHN"), "direct_share_pct"] == pytest.approx(29.6, abs=2.0)
    # The rebuilt trade data route part of Vietnam's and China's feed through ROW and US oxide (the
    # reconciled base year gives ROW ~13% and USA ~8% of Japan's effective refining): China stays
    # the dominant refiner behind Japan's magnets at ~76%, no longer above 80%.
    refining = table.loc["refining", "effective_share_pct"]
    assert refining["CHN"] > 70.0
    assert refining.idxmax() == "CHN"


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
    # Guatemala has no rare-earth row at all: its magnets come from the world's magnet makers in
    # proportion to their reconciled output.
    by = reconcile(default)
    magnets = by.production_t[:, by.commodities.get_loc("ndfeb_magnet")]
    china = 100 * magnets[by.regions.get_loc("CHN")] / magnets.sum()
    table = exposure(default, "GTM", products=["ndfeb_magnet"]).sort_index().loc[("GTM", "ndfeb_magnet", "magnet")]
    assert table.loc["CHN", "direct_share_pct"] == pytest.approx(china, rel=1e-6)
    assert table.loc["CHN", "mix_basis"].startswith("world production mix")
