"""EU SR and EI computed over the whole dataset, against the EC's published figures; the technology
moat (patents); and share_basis, which says when a world total was derived from the share it shows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chokepoint.analysis.concentration import CIRCULAR, concentration, overview, producer_shares
from chokepoint.analysis.criticality import technology_moat
from chokepoint.analysis.eu_crm import REE_ELEMENTS, eu_assessment, eu_economic_importance_table
from chokepoint.dataset import Dataset
from tests.tiny import _table

# The study publishes SR and EI to one decimal: a figure is reproduced if it rounds to it.
PUBLISHED_ROUNDING = 0.05

# Materials whose published 2023 figure the computation reproduces today (see docs/criticality.md
# for the others and why). The sets guard against regressions: growing them is progress.
SR_REPRODUCED = {
    *("cerium", "europium", "gadolinium", "dysprosium", "holmium", "erbium", "thulium", "lutetium"),
    *("ytterbium", "scandium", "antimony", "graphite", "tungsten"),
}
EI_REPRODUCED = {
    *("neodymium", "samarium", "terbium", "holmium", "thulium", "ytterbium", "yttrium", "antimony", "tungsten"),
}
# compiled/eu_crm_sr_ei_timeseries.csv names -> dataset material ids
EC_NAMES = {
    "Antimony": "antimony",
    "Gallium": "gallium",
    "Germanium": "germanium",
    "HREEs": "hree",
    "LREEs": "lree",
    "Natural graphite": "graphite",
    "Scandium": "scandium",
    "Tungsten": "tungsten",
}


@pytest.fixture(scope="module")
def assessment() -> pd.DataFrame:
    import chokepoint as cp

    return eu_assessment(cp.default_dataset())


def test_every_material_and_element_has_a_row(default: Dataset, assessment: pd.DataFrame) -> None:
    shipped = set(default["commodities"]["material"]) - {"rare_earths"}
    assert {*REE_ELEMENTS, *shipped, "hree", "lree"} <= set(assessment.index)
    # promethium is not assessed by the EU: a row that says so, not a silent zero
    assert pd.isna(assessment.loc["promethium", "supply_risk"])
    assert "no supply shares" in assessment.loc["promethium", "missing_inputs"]


def test_no_silent_gaps(assessment: pd.DataFrame) -> None:
    """Every figure not computed names the input it lacks."""
    for col in ("supply_risk", "economic_importance"):
        gaps = assessment[assessment[col].isna()]
        assert (gaps["missing_inputs"] != "").all(), gaps.index[gaps["missing_inputs"] == ""].tolist()
    assert "no end-use shares" in assessment.loc["dysprosium", "missing_inputs"]
    assert "EI: not computed for dysprosium" in assessment.loc["hree", "missing_inputs"]
    # an end use the study allocates to no NACE sector is reported, and its share shown
    assert assessment.loc["erbium", "unallocated_end_use_share"] == pytest.approx(0.26)
    assert "26% of end use has no NACE sector" in assessment.loc["erbium", "missing_inputs"]


def test_computed_matches_published_where_reproduced(assessment: pd.DataFrame) -> None:
    sr = assessment.loc[sorted(SR_REPRODUCED)]
    assert (sr["sr_difference"].abs() < PUBLISHED_ROUNDING).all(), sr["sr_difference"].to_dict()
    ei = assessment.loc[sorted(EI_REPRODUCED)]
    assert (ei["ei_difference"].abs() < PUBLISHED_ROUNDING).all(), ei["ei_difference"].to_dict()


def test_published_figures_agree_with_the_ec_timeseries(reference: Path, assessment: pd.DataFrame) -> None:
    """The published SR/EI beside the computed ones are the EC's 2023 figures (Annex 4, pp.61-62)."""
    ts = pd.read_csv(reference / "compiled" / "eu_crm_sr_ei_timeseries.csv")
    ts = ts[(ts["assessment_year"] == 2023) & ts["material"].isin(list(EC_NAMES))]
    ts = ts.assign(material=ts["material"].map(EC_NAMES)).set_index("material")
    assert set(ts.index) == set(EC_NAMES.values())
    shown = assessment.loc[ts.index]
    np.testing.assert_allclose(shown["published_supply_risk"], ts["supply_risk_SR"].astype(float))
    np.testing.assert_allclose(shown["published_economic_importance"], ts["economic_importance_EI"].astype(float))
    # and the computation lands within 0.15 of the EC for antimony, graphite, tungsten, gallium SR
    close = assessment.loc[["antimony", "graphite", "tungsten", "gallium"]]
    assert (close["sr_difference"].abs() < 0.15).all()


def test_groups_are_member_means(assessment: pd.DataFrame) -> None:
    lree = assessment.loc[["cerium", "lanthanum", "neodymium", "praseodymium", "samarium"]]
    assert assessment.loc["lree", "supply_risk"] == pytest.approx(lree["supply_risk"].mean())
    assert assessment.loc["lree", "economic_importance"] == pytest.approx(lree["economic_importance"].mean())
    # the published member values give the published group values the same way
    assert lree["published_supply_risk"].mean() == pytest.approx(3.7, abs=PUBLISHED_ROUNDING)
    assert lree["published_economic_importance"].mean() == pytest.approx(5.9, abs=PUBLISHED_ROUNDING)


# --- economic importance by hand on a tiny dataset ---------------------------------------------

PROV = {"source_id": "s", "basis": "reported", "note": ""}


def _ei_dataset(uses: list[tuple[str, str, float]], si_ei: float | None) -> Dataset:
    va = [("C25", 100.0), ("C28", 200.0), ("C20", 50.0)]
    tables = {
        "sources": _table(
            "sources", [{"source_id": "s", "publisher": "p", "title": "t", "section": "x", "published_year": 2023}]
        ),
        "regions": _table("regions", [{"region_id": "EU27", "name": "EU", "kind": "aggregate"}]),
        "end_use_shares": _table(
            "end_use_shares",
            [{"material": "m", "year": 2023, "application": a, "nace_code": c, "share": s, **PROV} for a, c, s in uses],
        ),
        "nace_value_added": _table(
            "nace_value_added",
            [
                {"region_id": "EU27", "nace_code": c, "year": 2023, "name": c, "value_added_eur_m": q, **PROV}
                for c, q in va
            ],
        ),
    }
    if si_ei is not None:
        tables["material_indicators"] = _table(
            "material_indicators", [{"material": "m", "year": 2023, "indicator": "si_ei", "value": si_ei, **PROV}]
        )
    return Dataset("ei", tables)


def test_economic_importance_by_hand() -> None:
    """60% in C25 (100), 30% in C28 (200, the largest: Q_max), 10% unallocated, SI 0.5:
    EI = (0.6·100 + 0.3·200) / 200 · 10 · 0.5 = 3.0; the unallocated 10% is named."""
    ds = _ei_dataset([("magnets", "C25", 0.6), ("machines", "C28", 0.3), ("other", "unallocated", 0.1)], 0.5)
    row = eu_economic_importance_table(ds).loc["m"]
    assert row["economic_importance"] == pytest.approx(3.0)
    assert row["q_max_eur_m"] == 200.0
    assert row["unallocated_share"] == pytest.approx(0.1)
    assert "10% of end use has no NACE sector" in row["missing_inputs"]


def test_economic_importance_missing_inputs_are_named() -> None:
    ds = _ei_dataset([("magnets", "C25", 0.5), ("boats", "C30", 0.5)], None)
    row = eu_economic_importance_table(ds).loc["m"]
    assert pd.isna(row["economic_importance"])
    assert "no EU27 value added for C30" in row["missing_inputs"]
    assert "lacks si_ei" in row["missing_inputs"]


# --- technology moat -------------------------------------------------------------------------


def test_patent_counts_per_region(default: Dataset) -> None:
    """SCMP (2019) citing ThREE Consulting: cumulative rare-earth filings to October 2018."""
    moat = technology_moat(default)
    assert moat["filings"].to_dict() == {"CHN": 25_911, "JPN": 13_920, "USA": 9_810, "EU27": 7_280}
    assert moat.loc["CHN", "share_of_listed_pct"] == pytest.approx(100 * 25_911 / (25_911 + 13_920 + 9_810 + 7_280))
    producers = overview(default, "rare_earths", 2024).producers.set_index(["commodity_id", "region_id"])
    assert producers.loc[("ree_concentrate", "CHN"), "patent_filings"] == 25_911
    assert pd.isna(producers.loc[("ree_concentrate", "MMR"), "patent_filings"])


# --- share_basis: no headline by construction ------------------------------------------------


def _share_dataset(rows: list[tuple[str, float, str, str]]) -> Dataset:
    """One commodity ``ox`` in 2024; ``rows`` are (region, t, basis, note)."""
    codes = sorted({r for r, *_ in rows} - {"WLD", "ROW"})
    regions = [{"region_id": r, "name": r, "kind": "country"} for r in codes]
    regions += [{"region_id": r, "name": r, "kind": "aggregate"} for r in ("WLD", "ROW")]
    return Dataset(
        "shares",
        {
            "sources": _table(
                "sources", [{"source_id": "s", "publisher": "p", "title": "t", "section": "x", "published_year": 2024}]
            ),
            "regions": _table("regions", regions),
            "commodities": _table(
                "commodities",
                [
                    {
                        "commodity_id": "ox",
                        "name": "oxide",
                        "material": "m",
                        "stage": "refining",
                        "stage_order": 1,
                        "quantity_basis": "t",
                    }
                ],
            ),
            "production": _table(
                "production",
                [
                    {
                        "region_id": r,
                        "commodity_id": "ox",
                        "year": 2024,
                        "production_t": q,
                        "source_id": "s",
                        "basis": b,
                        "note": n,
                    }
                    for r, q, b, n in rows
                ],
            ),
        },
    )


def _basis(ds: Dataset) -> dict[str, str]:
    shares = producer_shares(ds, "ox", 2024)
    return dict(zip(shares["region_id"], shares["share_basis"], strict=True))


def test_world_total_from_the_share_it_shows_is_flagged() -> None:
    """WLD = CHN / 0.9: CHN's 90% is circular; JPN's share rests on it too."""
    ds = _share_dataset(
        [
            ("CHN", 90.0, "reported", ""),
            ("JPN", 6.0, "reported", ""),
            ("WLD", 100.0, "derived", "WLD = CHN 90 t / 0.9 (China's share of refining)"),
        ]
    )
    assert _basis(ds) == {"CHN": CIRCULAR, "JPN": "share of a world total derived from CHN's share"}
    stage = overview(ds, "ox", 2024).stages.set_index("commodity_id").loc["ox"]
    assert stage["top1_share_basis"] == CIRCULAR
    table = concentration(ds, "ox", 2024)
    assert table.loc[("ox", "refining", 2024), "top1_share_basis"] == CIRCULAR


def test_only_other_producer_derived_from_a_share_is_flagged() -> None:
    """No WLD row: ROW = CHN / 0.9 - CHN, so CHN/(CHN+ROW) is 90% by construction."""
    ds = _share_dataset([("CHN", 90.0, "reported", ""), ("ROW", 10.0, "assumption", "China share 90% assumed")])
    assert _basis(ds) == {"CHN": CIRCULAR, "ROW": "derived from CHN's share (circular)"}


def test_independent_totals_are_reported() -> None:
    reported = _share_dataset(
        [("CHN", 60.0, "reported", ""), ("USA", 20.0, "reported", ""), ("WLD", 100.0, "reported", "")]
    )
    assert set(_basis(reported).values()) == {"reported"}
    summed = _share_dataset([("CHN", 60.0, "reported", ""), ("USA", 20.0, "derived", "capacity x utilisation")])
    assert set(_basis(summed).values()) == {"reported"}
    assumed = _share_dataset(
        [("CHN", 60.0, "reported", ""), ("WLD", 100.0, "assumption", "industry association estimate")]
    )
    assert _basis(assumed)["CHN"].startswith("world total assumption")
    assert "not from a share" in _basis(assumed)["CHN"]


def test_a_dataset_without_criticality_tables_names_every_gap() -> None:
    """A user dataset with none of the EU inputs still gets one row per material, each saying why."""
    from tests.tiny import tiny_dataset

    table = eu_assessment(tiny_dataset())
    assert {"m", "neodymium", "hree"} <= set(table.index)
    assert table["supply_risk"].isna().all()
    assert table["economic_importance"].isna().all()
    assert (table["missing_inputs"] != "").all()
    assert "no end-use shares" in table.loc["m", "missing_inputs"]


def test_study_choice_of_global_supply_only_is_honoured(default: Dataset) -> None:
    """Sc processing: the study lists EU sourcing (UK 85% …) but its SR uses global supply only
    (eu_sourcing_used_processing = 0): SR = HHI_GS · (1 − EoL-RIR) · SI_SR, published 2.4."""
    from chokepoint.analysis.eu_crm import eu_table

    row = eu_table(default, 2023, ["scandium"]).loc[("scandium", "processing")]
    assert pd.isna(row["hhi_eus"])
    assert row["supply_risk"] == pytest.approx(row["hhi_gs"] * (1 - row["eol_rir"]) * row["si_sr"])
    assert row["supply_risk"] == pytest.approx(2.4, abs=PUBLISHED_ROUNDING)
