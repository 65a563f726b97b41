"""Criticality indices: hand-computable cases, published EU CRM 2023 values, and error paths."""

from __future__ import annotations

import pytest

import chokepoint as cp
from chokepoint.criticality import (
    eu_criticality,
    eu_economic_importance,
    eu_supply_risk,
    geopolrisk,
    hhi_wgi_t,
    usgs_disruption_potential,
    usgs_supply_risk,
    wgi_scaled_eu,
)
from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError

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
