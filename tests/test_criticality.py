"""Criticality indices: hand-computable cases, published EU CRM 2023 values, and error paths."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

import chokepoint as cp
from chokepoint.analysis.criticality import (
    CRITICALITY_METHODS,
    criticality_table,
    eu_assessment,
    eu_criticality,
    eu_economic_importance,
    eu_supply_risk,
    eu_table,
    geopolrisk,
    geopolrisk_table,
    hhi_wgi_t,
    usgs_disruption_potential,
    usgs_supply_risk,
    usgs_table,
    wgi_scaled_eu,
)
from chokepoint.dataset import Dataset
from chokepoint.errors import CheckError, ChokepointError
from chokepoint.network import build_network
from tests.tiny import _table

# The study publishes SR and EI to one decimal: a reproduction is exact if it rounds to the
# published figure, i.e. lies within half a unit of the last digit (0.05).
PUBLISHED_ROUNDING = 0.05


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return cp.default_dataset()


def _indicator(ds: Dataset, material: str, name: str) -> float:
    ind = ds["material_indicators"]
    row = ind[(ind["material"] == material) & (ind["year"] == 2023) & (ind["indicator"] == name)]
    return float(row["value"].iloc[0])


# --- hand-computable cases -------------------------------------------------------------------


def test_hhi_wgi_t_monopoly_and_two_equal_suppliers() -> None:
    assert hhi_wgi_t([1.0], [6.0]) == pytest.approx(6.0)
    assert hhi_wgi_t([0.5, 0.5], [4.0, 4.0]) == pytest.approx(2.0)
    assert hhi_wgi_t([0.5, 0.5], [4.0, 4.0], [1.1, 0.8]) == pytest.approx(0.25 * 4 * 1.1 + 0.25 * 4 * 0.8)


def test_wgi_scaling_end_points() -> None:
    assert list(wgi_scaled_eu([-2.5, 0.0, 2.5])) == pytest.approx([10.0, 5.0, 0.0])


def test_supply_risk_import_reliance_limits() -> None:
    # IR = 0: only EU sourcing counts; IR = 1: global supply and EU sourcing count half each.
    assert eu_supply_risk(8.0, 2.0, 0.0, 0.0, 1.0) == pytest.approx(2.0)
    assert eu_supply_risk(8.0, 2.0, 1.0, 0.0, 1.0) == pytest.approx(5.0)
    # recycling and substitution scale the result; no EU sourcing data means global supply alone
    assert eu_supply_risk(8.0, 2.0, 1.0, 0.5, 0.5) == pytest.approx(1.25)
    assert eu_supply_risk(8.0, None, 0.3, 0.0, 1.0) == pytest.approx(8.0)


def test_economic_importance_single_sector() -> None:
    # all use in the largest sector scores 10 before substitution
    assert eu_economic_importance([1.0], [200.0], 1.0, 200.0) == pytest.approx(10.0)
    assert eu_economic_importance([0.5, 0.5], [100.0, 200.0], 0.8, 200.0) == pytest.approx(6.0)


def test_geopolrisk_cases() -> None:
    # monopoly producer, all imports from a supplier of risk 0.5, no own production
    assert geopolrisk([1.0], [0.5], [10.0], 0.0) == pytest.approx(0.5)
    # two equal producers (HHI 0.5), half of supply produced at home
    assert geopolrisk([0.5, 0.5], [1.0, 0.0], [5.0, 0.0], 5.0) == pytest.approx(0.5 * 5 / 10)
    # zero imports: no import-borne risk
    assert geopolrisk([1.0], [0.9], [0.0], 3.0) == 0.0


def test_usgs_supply_risk_structure() -> None:
    dp = usgs_disruption_potential([1.0], [0.6])
    assert dp == pytest.approx(0.6)
    assert usgs_supply_risk(dp, 1.0, 0.5) == pytest.approx(0.3)
    assert usgs_supply_risk(dp, 0.0, 0.5) == 0.0


# --- published EU CRM 2023 values ------------------------------------------------------------


@pytest.mark.parametrize("material", ["dysprosium", "erbium", "gadolinium"])
def test_reproduces_published_eu_supply_risk(ds: Dataset, material: str) -> None:
    """EC (2023) Study on the CRMs for the EU, doi:10.2873/725585: China holds 100% of processing
    (Appendix 7) and the SR uses global supply only; SR 5.6 (Dy, Er) and 3.3 (Gd) as published.
    Tolerance: the published one-decimal rounding (module constant)."""
    res = eu_criticality(ds, material, 2023, stages=("processing",))
    assert res.index.names == ["material", "stage"]
    got = float(res.loc[(material, "processing"), "supply_risk"])
    assert got == pytest.approx(_indicator(ds, material, "supply_risk"), abs=PUBLISHED_ROUNDING)


@pytest.mark.parametrize(
    ("material", "shares", "va_meur"),
    [
        # EC (2023) Appendix 6 (p.64): end-use shares and value added (EUR m) of NACE C20, C23, C23,
        # C24, C25, C27 for neodymium and C25, C27 for terbium.
        ("neodymium", [0.09, 0.03, 0.02, 0.02, 0.80, 0.04], [132361, 64990, 64990, 64561, 163568, 89422]),
        ("terbium", [0.90, 0.10], [163568, 89422]),
    ],
)
def test_reproduces_published_eu_economic_importance(
    ds: Dataset, material: str, shares: list[float], va_meur: list[float]
) -> None:
    """EI = Σ A_s Q_s / Q_max · 10 · SI_EI with Q_max = EUR 204,200 m (C28, the largest sector in
    Appendix 6); published EI 7.2 (Nd) and 6.4 (Tb). Tolerance: published one-decimal rounding."""
    ei = eu_economic_importance(shares, va_meur, _indicator(ds, material, "si_ei"), 204200.0)
    assert ei == pytest.approx(_indicator(ds, material, "economic_importance"), abs=PUBLISHED_ROUNDING)


def test_bottleneck_flag_marks_largest_stage(ds: Dataset) -> None:
    res = eu_criticality(ds, "dysprosium", 2023, stages=("processing",))
    assert bool(res["bottleneck"].all())


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: hhi_wgi_t([0.8, 0.5], [5.0, 5.0]), "over 100%"),
        (lambda: hhi_wgi_t([-0.1, 0.5], [5.0, 5.0]), "negative share"),
        (lambda: hhi_wgi_t([0.5, 0.5], [5.0]), "mismatched lengths"),
        (lambda: eu_supply_risk(1.0, 1.0, 1.5, 0.0, 1.0), "outside 0-1"),
        (lambda: geopolrisk([1.0], [0.5], [0.0], 0.0), "undefined"),
        (lambda: usgs_disruption_potential([1.0], [2.0]), "0-1"),
    ],
)
def test_bad_input_raises_one_line(call: object, match: str) -> None:
    with pytest.raises(ChokepointError, match=match) as info:
        call()  # type: ignore[operator]
    assert "\n" not in str(info.value)


def test_unknown_country_code_raises(ds: Dataset) -> None:
    with pytest.raises(ChokepointError, match="no wgi_scaled_eu score for") as info:
        eu_criticality(ds, "dysprosium", 2023, wgi={}, governance_year=1900)
    assert "\n" not in str(info.value)


def test_unknown_material_raises(ds: Dataset) -> None:
    with pytest.raises(ChokepointError, match="no supply shares"):
        eu_criticality(ds, "unobtainium", 2023)


# --- dataset-level tables: a tiny constructed dataset -------------------------------------------

PROV = {"source_id": "s", "basis": "reported", "note": ""}


def _tiny(governance: dict[str, float]) -> Dataset:
    """One commodity (ore). AUT, BEL, CHE mine 100, 200, 100 t; CHE imports 60 t from BEL and
    20 t from AUT; DNK has no data. ``governance`` gives each country's wgi_scaled_eu (2020)."""
    prod = [("AUT", 100), ("BEL", 200), ("CHE", 100)]
    trade = [("BEL", "CHE", 60), ("AUT", "CHE", 20)]
    return Dataset(
        "tiny",
        {
            "sources": _table(
                "sources", [{"source_id": "s", "publisher": "p", "title": "t", "section": "x", "published_year": 2024}]
            ),
            "regions": _table(
                "regions", [{"region_id": r, "name": r, "kind": "country"} for r in ("AUT", "BEL", "CHE", "DNK")]
            ),
            "commodities": _table(
                "commodities",
                [
                    {
                        "commodity_id": "ore",
                        "name": "ore",
                        "material": "m",
                        "stage": "mining",
                        "stage_order": 1,
                        "quantity_basis": "t",
                    }
                ],
            ),
            "production": _table(
                "production",
                [{"region_id": r, "commodity_id": "ore", "year": 2024, "production_t": q, **PROV} for r, q in prod],
            ),
            "trade": _table(
                "trade",
                [
                    {"exporter_id": e, "importer_id": i, "commodity_id": "ore", "year": 2024, "quantity_t": q, **PROV}
                    for e, i, q in trade
                ],
            ),
            "governance": _table(
                "governance",
                [
                    {"region_id": r, "year": 2020, "indicator": "wgi_scaled_eu", "score": g, **PROV}
                    for r, g in governance.items()
                ],
            ),
        },
    )


@pytest.fixture
def tiny() -> Dataset:
    return _tiny({"AUT": 2.0, "BEL": 3.0, "CHE": 1.0})


def test_geopolrisk_table_by_hand(tiny: Dataset) -> None:
    """Shares of world output 100/400, 200/400, 100/400: HHI = 0.25² + 0.5² + 0.25² = 0.375.
    CHE: imports 60 t from BEL (g = 3.0/10) and 20 t from AUT (g = 2.0/10), produces 100 t:
    GeoPolRisk = 0.375 · (0.3·60 + 0.2·20) / (100 + 80) = 0.375 · 22 / 180."""
    table = geopolrisk_table(tiny, "CHE", material="m")
    assert table.index.names == ["commodity_id"]
    row = table.loc["ore"]
    assert row["hhi"] == pytest.approx(0.375)
    assert row["imports_t"] == pytest.approx(80.0)
    assert row["domestic_production_t"] == pytest.approx(100.0)
    assert row["import_governance_risk"] == pytest.approx(22 / 80)  # (0.3·60 + 0.2·20) / 80
    assert row["geopolrisk"] == pytest.approx(0.375 * 22 / 180)
    assert row["suppliers"] == "AUT BEL"
    # AUT imports nothing: no import-borne risk
    assert geopolrisk_table(tiny, "AUT", material="m").loc["ore", "geopolrisk"] == 0.0


def test_geopolrisk_table_errors(tiny: Dataset) -> None:
    with pytest.raises(CheckError, match="DNK has no production or trade data"):
        geopolrisk_table(tiny, "DNK", material="m")
    with pytest.raises(CheckError, match="no wgi_scaled_eu score for BEL"):
        geopolrisk_table(_tiny({"AUT": 2.0}), "CHE", material="m")


US_OXIDE_2024 = {
    # production.csv, ree_oxide 2024 (t REO): CHN (reuters_quota_2024), MYS (lynas_fy2025_results),
    # USA (mp_10k_2024), ROW (remainder of the world total, iea_cm_dataset_2025; counts in the world
    # total, not as a producer; it was 10,108 t with the IEA 2023 share held for 2024)
    "production": {"CHN": 254_000.0, "MYS": 10_685.0, "USA": 1_294.0, "ROW": 12_294.2},
    # trade.csv: CHN -> USA HS 2846 in 2024, 10,248.721 t (un_comtrade_us_china_hs2846_280530); no US exports
    "imports_from_chn_t": 10_248.721,
    # governance.csv: wgi_scaled_eu 2020
    "wgi_scaled_eu": {"CHN": 5.6763, "MYS": 4.2619, "USA": 2.6814},
}


def test_usgs_table_us_oxide_by_hand(ds: Dataset) -> None:
    # Nd oxide: disruption potential from the producers of separated oxide as reported (the
    # group's rows), trade exposure element by element: imports from China at Nd's share of the
    # world split, US output at 75% of MP's NdPr (group_shares).
    rows = US_OXIDE_2024
    prod = ds["production"]
    prod = prod[(prod["commodity_id"] == "ree_oxide") & (prod["year"] == 2024)].set_index("region_id")
    assert prod["production_t"].drop("WLD", errors="ignore").to_dict() == rows["production"]
    world = sum(rows["production"].values())
    dp = sum((rows["production"][c] / world) ** 2 * w / 10 for c, w in rows["wgi_scaled_eu"].items())
    # The reconciled base year (docs/baseyear.md) also fits tonnes to the value-only US import lanes
    # (JPN, FRA, AUT, ...) and sends US output to China (China-reported imports, 252.582 t), so TE is
    # (F - X) / (p + F - X) over the fitted Nd oxide lanes of the network.
    mix = build_network(ds, "rare_earths", 2024).mix_table
    lanes = mix[(mix["commodity_id"] == "ree_oxide_nd") & (mix["mix_basis"] == "production and trade")]
    lanes = lanes[lanes["origin_id"] != lanes["region_id"]]
    imports = float(lanes.loc[lanes["region_id"] == "USA", "quantity_t"].sum())
    exports = float(lanes.loc[lanes["origin_id"] == "USA", "quantity_t"].sum())
    chinese = float(lanes.loc[(lanes["region_id"] == "USA") & (lanes["origin_id"] == "CHN"), "quantity_t"].sum())
    assert imports >= chinese > 0  # the fit puts the CHN→USA HS 2846 tonnes mostly on other oxides
    te = max(0.0, (imports - exports) / (rows["production"]["USA"] + imports - exports))
    assert te == 0.0  # on the element base MP's Nd oxide makes the US a net exporter of Nd oxide
    table = usgs_table(ds)  # USA, 2024, rare_earths, EV = 1 (assumption)
    assert table.index.names == ["commodity_id"]
    row = table.loc["ree_oxide_nd"]
    assert row["disruption_potential"] == pytest.approx(dp)
    assert row["trade_exposure"] == pytest.approx(te)
    assert row["supply_risk"] == pytest.approx(dp * te)
    assert row["ev_basis"].startswith("assumption")
    # EV scales the result; a caller's EV is recorded as given
    half = usgs_table(ds, economic_vulnerability=0.5).loc["ree_oxide_nd"]
    assert half["supply_risk"] == pytest.approx(0.5 * dp * te)
    assert half["ev_basis"] == "given by the caller"
    # the US mines more concentrate than it uses: no trade exposure, no supply risk
    assert table.loc["ree_concentrate_hardrock", "supply_risk"] == 0.0


@pytest.mark.parametrize("material", ["dysprosium", "erbium", "gadolinium"])
def test_eu_table_reproduces_published_supply_risk(ds: Dataset, material: str) -> None:
    """Same published figures as above (EC 2023, doi:10.2873/725585), through the table API;
    the processing stage is the bottleneck. Tolerance: published one-decimal rounding."""
    table = eu_table(ds, 2023, [material])
    assert table.index.names == ["material", "stage"]
    row = table.loc[(material, "processing")]
    assert bool(row["bottleneck"])
    assert row["supply_risk"] == pytest.approx(row["published_supply_risk"], abs=PUBLISHED_ROUNDING)
    assert row["difference"] == pytest.approx(row["supply_risk"] - row["published_supply_risk"])
    assert row["published_supply_risk"] == _indicator(ds, material, "supply_risk")


def test_eu_table_names_a_supplier_without_governance(ds: Dataset) -> None:
    """Without Myanmar's score its HHI term (9.3% of Dy extraction, Appendix 7) is left out and named."""
    gov = ds["governance"]
    partial = Dataset("partial", {**ds.tables, "governance": gov[gov["region_id"] != "MMR"]})
    table = eu_table(partial, 2023, ["dysprosium"])
    full = eu_table(ds, 2023, ["dysprosium"])
    extraction = table.loc[("dysprosium", "extraction")]
    assert "no wgi_scaled_eu for MMR 9.3% (HHI term left out)" in extraction["note"]
    mmr = gov[(gov["region_id"] == "MMR") & (gov["year"] == 2020)]["score"].iloc[0]
    term = 0.093**2 * float(mmr)  # t = 1.0
    assert extraction["hhi_gs"] == pytest.approx(full.loc[("dysprosium", "extraction"), "hhi_gs"] - term)
    assert table.loc[("dysprosium", "processing"), "note"] == ""  # China only: unaffected
    assert full.loc[("dysprosium", "processing"), "supply_risk"] == pytest.approx(
        table.loc[("dysprosium", "processing"), "supply_risk"]
    )


def test_criticality_table_dispatches(ds: Dataset) -> None:
    assert set(CRITICALITY_METHODS) == {"eu", "eu_stages", "geopolrisk", "usgs", "patents"}
    pd.testing.assert_frame_equal(criticality_table(ds, "usgs"), usgs_table(ds, "USA", 2024))
    pd.testing.assert_frame_equal(criticality_table(ds, "geopolrisk", region="CHN"), geopolrisk_table(ds, "CHN"))
    stages = criticality_table(ds, "eu_stages")  # every assessed rare-earth element, per stage, 2023
    assert {"dysprosium", "neodymium", "lanthanum", "scandium"} <= set(stages.index.get_level_values("material"))
    pd.testing.assert_frame_equal(
        criticality_table(ds, "eu_stages", material="gallium"), eu_table(ds, 2023, ["gallium"])
    )
    eu = criticality_table(ds, "eu")  # rare_earths: the 17 elements and the two groups
    assert list(eu.index[-2:]) == ["hree", "lree"]
    assert len(eu) == 17 + 2
    pd.testing.assert_frame_equal(criticality_table(ds, "eu", material="gallium"), eu_assessment(ds).loc[["gallium"]])
    assert criticality_table(ds, "patents").index[0] == "CHN"


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda d: geopolrisk_table(d, "XYZ"), "unknown region 'XYZ'"),
        (lambda d: usgs_table(d, "XYZ"), "unknown region 'XYZ'"),
        (lambda d: geopolrisk_table(d, "USA", material="unobtainium"), "unknown material 'unobtainium'"),
        (lambda d: usgs_table(d, material="unobtainium"), "unknown material 'unobtainium'"),
        (lambda d: eu_table(d, 2023, ["unobtainium"]), "no supply shares for unobtainium"),
        (lambda d: criticality_table(d, "ahp"), "unknown method 'ahp'"),  # type: ignore[arg-type]
        (lambda d: criticality_table(d, "geopolrisk"), "give region"),
        (lambda d: criticality_table(d, "eu", region="USA"), "EU only"),
        (lambda d: criticality_table(d, "eu", material="unobtainium"), "unknown material 'unobtainium'"),
        (lambda d: criticality_table(d, "eu_stages", material="unobtainium"), "unknown material 'unobtainium'"),
        (lambda d: criticality_table(d, "patents", material="gallium"), "no patent counts for 'gallium'"),
        # Bolivia has no rare-earth trade row (Germany has had some since trade.csv holds every US partner)
        (lambda d: usgs_table(d, "BOL"), "BOL has no trade data"),
        (lambda d: usgs_table(d, economic_vulnerability=1.5), "outside 0-1"),
    ],
)
def test_table_errors_are_one_line(ds: Dataset, call: Callable[[Dataset], object], match: str) -> None:
    with pytest.raises(CheckError, match=match) as info:
        call(ds)
    assert "\n" not in str(info.value)


def test_geopolrisk_leaves_row_imports_out_by_name(default: Dataset) -> None:
    # ROW (origins without a region of their own) supplies China's Ce oxide but has no governance
    # score: its tonnes are reported as unscored, not scored and not in the import share.
    row = geopolrisk_table(default, "CHN").loc["ree_oxide_ce"]
    assert row["unscored_imports_t"] > 0
    assert "ROW" not in row["suppliers"].split()
