"""Concentration maths on hand-checkable cases, and the overview against the USGS publication."""

from __future__ import annotations

import pandas as pd
import pytest

from chokepoint.analysis.concentration import concentration, hhi, overview, top_k_share
from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError


def test_hhi_hand_cases() -> None:
    assert hhi([1.0]) == 10_000  # monopoly
    assert hhi([0.5, 0.5]) == 5_000
    assert hhi([0.5, 0.3, 0.2]) == pytest.approx(2_500 + 900 + 400)
    assert hhi([0.1] * 10) == pytest.approx(1_000)
    assert top_k_share([0.2, 0.5, 0.3], 1) == 0.5
    assert top_k_share([0.2, 0.5, 0.3], 2) == pytest.approx(0.8)


def test_rare_earth_mining_2024_matches_usgs_mcs2025(default: Dataset) -> None:
    # USGS MCS2025, Rare earths, world mine production 2024 (estimated): China 270,000 t of a
    # rounded world total of 390,000 t REO.
    ov = overview(default, "rare_earths", 2024)
    mining = ov.stages.set_index("stage").loc["mining"]
    assert mining["world_t"] == 390_000
    assert mining["top1_region_id"] == "CHN"
    assert mining["top1_share_pct"] == pytest.approx(100 * 270_000 / 390_000)
    # Named countries, MCS2025: USA 45,000; Burma 31,000; Australia, Nigeria, Thailand 13,000 each;
    # India 2,900; Russia 2,500; Madagascar 2,000; Vietnam 300; Malaysia 130; Brazil 20.
    countries = [270_000, 45_000, 31_000, 13_000, 13_000, 13_000, 2_900, 2_500, 2_000, 300, 130, 20]
    assert mining["hhi"] == pytest.approx(sum((100 * c / 390_000) ** 2 for c in countries))
    assert mining["top3_share_pct"] == pytest.approx(100 * (270_000 + 45_000 + 31_000) / 390_000)
    china = ov.producers.query("stage == 'mining' and region_id == 'CHN'").iloc[0]
    assert china["source_id"] == "usgs_mcs2025_ree"
    assert china["rank"] == 1


def test_every_rare_earth_stage_is_covered_in_2024(default: Dataset) -> None:
    ov = overview(default, "rare_earths", 2024)
    assert list(ov.stages["stage"]) == ["mining", "refining", "metal", "magnet"]
    assert set(ov.producers["source_id"]) <= set(ov.sources["source_id"])
    refining = ov.stages.set_index("stage").loc["refining"]
    assert refining["top1_region_id"] == "CHN"
    assert refining["top1_share_pct"] > 80  # China separates 85-92% of rare earths (IEA GCMO 2024)


def test_unknown_commodity_and_year_are_clear_errors(default: Dataset) -> None:
    with pytest.raises(ChokepointError, match="unknown commodity or material 'unobtainium'; choose one of"):
        overview(default, "unobtainium", 2024)
    with pytest.raises(
        ChokepointError, match="no production of 'rare_earths' in 1950; years with data: 2009, 2010, 2011, 2019"
    ):
        overview(default, "rare_earths", 1950)


def test_element_split_follows_the_data_not_a_commodity_name(default: Dataset) -> None:
    by_default = concentration(default, None, 2024, by="element")
    pd.testing.assert_frame_equal(by_default, concentration(default, "rare_earths", 2024, by="element"))
    split = default["element_content"]
    mined = split["commodity_id"].isin(["ree_concentrate_hardrock", "ree_concentrate_ionic"])
    world = split.loc[(split["region_id"] == "WLD") & mined, "element"]
    assert set(by_default.index.get_level_values("element")) == set(world)  # both ores' split, found from data
    # Myanmar's ionic clays (31,000 t at 7.48% Dy) out-mine China's Dy (20,280 t ionic at 7.48% and
    # 249,720 t hard rock at 0.1%): the heavy rare earths are mined where the clays are.
    assert by_default.loc[("Dy", 2024), "top1_region_id"] == "MMR"
    assert by_default.loc[("La", 2024), "top1_region_id"] == "CHN"
    with pytest.raises(ChokepointError, match="no element_content rows for gallium"):
        concentration(default, "gallium", 2024, by="element")
