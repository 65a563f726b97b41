"""The network as hub: built once per (dataset, material, year), every region with data, read-only, inert extras."""

from __future__ import annotations

import numpy as np
import pytest

from chokepoint.analysis.exposure import exposure
from chokepoint.dataset import Dataset
from chokepoint.network import build_network, data_regions
from chokepoint.simulation import build_baseline
from tests.tiny import tiny_dataset


def test_one_network_per_dataset_material_and_year(default: Dataset) -> None:
    net = build_network(default, "rare_earths", 2024)
    assert build_network(default, "rare_earths", 2024) is net
    assert net.key[:3] == (default.fingerprint, "rare_earths", 2024)
    assert build_baseline(default).net is net  # the baseline takes the hub, not a network of its own
    # a dataset with other values is another network
    other = tiny_dataset(
        production={("AUT", "ore"): 50, ("BEL", "ore"): 100, ("DNK", "ore"): 200, ("AUT", "oxide"): 60}
    )
    assert build_network(other, "m") is not build_network(tiny_dataset(), "m")


def test_every_region_with_data_in_any_year_has_nodes(default: Dataset) -> None:
    com = default["commodities"]
    regions = data_regions(default, com.loc[com["material"] == "rare_earths", "commodity_id"])
    early, late = build_network(default, "rare_earths", 2010), build_network(default, "rare_earths", 2024)
    assert set(early.regions) == set(late.regions) == regions
    prod = default["production"]
    mined = prod["commodity_id"].str.startswith("ree_concentrate_")
    later_producers = set(prod.loc[(prod["year"] > 2010) & mined, "region_id"])
    assert (later_producers - {"WLD"}) <= set(early.regions)  # a 2010 scenario that builds there finds its node
    assert "WLD" not in set(late.regions)


def test_network_is_read_only(default: Dataset) -> None:
    net = build_network(default)
    with pytest.raises(ValueError, match="read-only"):
        net.production_t[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        net.mix.data[0] = 1.0


def test_labelled_index_maps(default: Dataset) -> None:
    net = build_network(default)
    i = net.node_index(
        ["JPN", "CHN", "NOWHERE", "CHN"], ["ndfeb_sintered_hre", "ree_oxide_dy", "ree_oxide_dy", "ree_oxide"]
    )
    assert tuple(net.nodes[i[0]]) == ("JPN", "ndfeb_sintered_hre")
    assert tuple(net.nodes[i[1]]) == ("CHN", "ree_oxide_dy")
    assert i[2] == -1
    assert i[3] == -1  # a product group is not a node; its members are
    assert net.region_index(["CHN"])[0] == list(net.regions).index("CHN")
    stages = net.stages.set_index("commodity_id")["stage"]
    assert stages.value_counts().to_dict() == {"mining": 2, "refining": 16, "metal": 16, "magnet": 4}
    assert list(stages.iloc[[0, -1]].index) == ["ree_concentrate_hardrock", "smco_magnet"]


def test_a_region_without_data_is_inert() -> None:
    ds = tiny_dataset()
    hub = build_baseline(ds, "m", 2024)
    wider = build_baseline(ds, "m", 2024, extra_regions=["FIN"])  # no row anywhere: buys at the world mix
    assert "FIN" not in set(hub.net.regions)
    assert "FIN" in set(wider.net.regions)
    common = wider.net.nodes.get_indexer(hub.net.nodes)
    assert np.allclose(wider.production_t[common], hub.production_t, rtol=1e-12, atol=1e-12)
    assert np.allclose(wider.final_t[common], hub.final_t, rtol=1e-12, atol=1e-12)
    fin = wider.net.node_index(["FIN", "FIN"], ["ore", "oxide"])
    assert (wider.production_t[fin] == 0).all()
    assert (wider.final_t[fin] == 0).all()


def test_exposure_of_a_region_without_data_uses_the_world_mix() -> None:
    table = exposure(tiny_dataset(), "DNK", material="m")  # DNK mines ore but neither makes nor buys oxide
    oxide = table.xs(("DNK", "oxide", "refining"), level=("region_id", "product_id", "stage"))
    assert set(oxide["mix_basis"]) == {"world production mix (no data for this region)"}
    assert oxide.loc["AUT", "direct_share_pct"] == pytest.approx(100.0)


def test_position_maps_agree_with_the_index_maps(default: Dataset) -> None:
    net = build_network(default)
    assert all(net.region_index([r])[0] == i for r, i in net.region_position.items())
    assert all(net.commodity_index([k])[0] == i for k, i in net.commodity_position.items())
