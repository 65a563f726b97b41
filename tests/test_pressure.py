"""Pressure points: a toy ranking scored by hand, weights and controls moving it, the shipped inputs
(every material, promethium's gaps, IEA's cells recomputed from the reference file) and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chokepoint.dataset import Dataset
from chokepoint.dataset.checks import check_outlook_materials
from chokepoint.errors import ChokepointError, SchemaError
from chokepoint.foresight.pressure import DRIVERS, MATERIALS, pressure_inputs, pressure_points
from chokepoint.schema import validate_table

POINTS = [f"{d}_points" for d in DRIVERS]


def _toy(**changes: object) -> pd.DataFrame:
    """Two materials in 2030. x (normalised): A = 0.2, 0.8, 0.6, 1, 0.9, 0.5 (sum 4.0);
    B = 0, 0.25, 0.2, 0, 0.5, 1 (growth 20 %/yr saturates at 10; sum 1.95)."""
    rows = pd.DataFrame(
        {
            "material": ["a", "b"],
            "year": [2030, 2030],
            "deficit_share": [0.2, 0.0],
            "hhi": [8000.0, 2500.0],
            "governance_risk": [0.6, 0.2],
            "control_regime": ["in_force", "none"],
            "substitution_index": [0.9, 0.5],
            "demand_growth_pct_per_yr": [5.0, 20.0],
            "missing": ["", ""],
        }
    )
    for column, value in changes.items():
        rows[column] = value
    return rows


def _row(scores: pd.DataFrame, material: str, year: int = 2030) -> pd.Series:
    return scores.set_index(["material", "year"]).loc[(material, year)]


@pytest.fixture(scope="module")
def shipped(default: Dataset) -> pd.DataFrame:
    return pressure_inputs(default)


def test_toy_scores_by_hand() -> None:
    scores = pressure_points(_toy()).scores
    a, b = _row(scores, "a"), _row(scores, "b")
    assert a["score"] == pytest.approx(100 * 4.0 / 6)  # 66.67
    assert b["score"] == pytest.approx(100 * 1.95 / 6)  # 32.5
    assert a["deficit_points"] == pytest.approx(100 * 0.2 / 6)
    assert a["concentration_points"] == pytest.approx(100 * 0.8 / 6)
    assert b["growth_points"] == pytest.approx(100 / 6)  # saturated
    assert a[POINTS].sum() == pytest.approx(a["score"])
    assert (a["rank"], b["rank"]) == (1, 2)


def test_weights_change_the_ranking_as_expected() -> None:
    growth_heavy = pressure_points(_toy(), {"growth": 10}).scores
    # A: (3.5 + 10 * 0.5) / 15 = 56.67; B: (0.95 + 10 * 1) / 15 = 73.0
    assert _row(growth_heavy, "a")["score"] == pytest.approx(100 * 8.5 / 15)
    assert _row(growth_heavy, "b")["score"] == pytest.approx(100 * 10.95 / 15)
    assert (_row(growth_heavy, "b")["rank"], _row(growth_heavy, "a")["rank"]) == (1, 2)
    only_control = pressure_points(_toy(), dict.fromkeys(DRIVERS, 0.0) | {"control": 2.0})
    assert _row(only_control.scores, "a")["score"] == pytest.approx(100.0)
    assert _row(only_control.scores, "b")["score"] == pytest.approx(0.0)
    assert only_control.weights.set_index("driver").loc["control", "weight_share_pct"] == pytest.approx(100.0)


def test_a_control_regime_raises_a_score() -> None:
    base = _row(pressure_points(_toy()).scores, "b")["score"]
    held = _row(pressure_points(_toy(control_regime=["in_force", "suspended"])).scores, "b")["score"]
    full = _row(pressure_points(_toy(control_regime=["in_force", "in_force"])).scores, "b")["score"]
    assert held - base == pytest.approx(100 * 0.5 / 6)  # suspended: half the control points
    assert full - base == pytest.approx(100 / 6)


def test_a_control_row_in_the_data_raises_the_material(default: Dataset) -> None:
    table = default["outlook_materials"].copy()
    lanthanum = (table["material"] == "lanthanum") & (table["input"] == "control")
    table.loc[lanthanum, "control_status"] = "in_force"
    controlled = Dataset("controlled", {**default.tables, "outlook_materials": table})
    before = _row(pressure_points(pressure_inputs(default, years=[2030])).scores, "lanthanum")
    after = _row(pressure_points(pressure_inputs(controlled, years=[2030])).scores, "lanthanum")
    assert after["control_points"] - before["control_points"] == pytest.approx(100 / 6)
    assert after["rank"] < before["rank"]


def test_every_named_material_is_ranked_every_year(shipped: pd.DataFrame) -> None:
    assert set(shipped["material"]) == set(MATERIALS)
    assert len(MATERIALS) == 23  # 17 rare earths, Ga, Ge, graphite, Sb, W, helium-3
    assert set(shipped["year"]) == set(range(2025, 2051))
    scores = pressure_points(shipped).scores
    assert scores.groupby("year")["material"].nunique().eq(23).all()
    assert np.allclose(scores[POINTS].sum(axis=1), scores["score"])


def test_promethium_is_flagged_missing_and_uses_the_stated_defaults(shipped: pd.DataFrame) -> None:
    pm = shipped.set_index(["material", "year"]).loc[("promethium", 2030)]
    assert set(str(pm["missing"]).split()) == {"deficit", "concentration", "governance", "substitution", "growth"}
    assert pm["hhi"] == 5000.0
    assert pm["hhi_basis"] == "assumption"
    assert pm["control_regime"] == "none"  # not missing: named in neither 2025 list
    scores = pressure_points(shipped).scores
    assert "concentration" in _row(scores, "promethium")["missing"]


def test_shipped_inputs_by_label(default: Dataset, shipped: pd.DataFrame) -> None:
    rows = shipped.set_index(["material", "year"])
    ga = rows.loc[("gallium", 2030)]
    assert ga["top1_region"] == "CHN"
    assert ga["top1_share"] == pytest.approx(0.938)
    gov = default["governance"].set_index(["region_id", "indicator"]).loc[("CHN", "wgi_scaled_eu"), "score"]
    assert ga["governance_risk"] == pytest.approx(float(np.atleast_1d(gov)[-1]) / 10)
    assert ga["control_regime"] == "in_force"
    assert ga["control_since"] == 2023
    assert ga["demand_growth_pct_per_yr"] == pytest.approx(47.75)  # IEA STEPS 2024-2030
    assert rows.loc[("graphite", 2030), "concentration_stage"] == "extraction"  # no processing shares
    assert rows.loc[("ytterbium", 2030), "control_regime"] == "suspended"
    he3 = rows.loc[("helium-3", 2030)]
    assert (he3["top1_region"], he3["hhi_basis"], he3["control_regime"]) == ("USA", "assumption", "none")
    assert "growth" in rows.loc[("ytterbium", 2030), "missing"]  # Yb-171 per system: no figure
    # magnet rare earths: IEA demand 122.85 kt vs refining 106.68 kt in STEPS 2030
    assert rows.loc[("dysprosium", 2030), "deficit_share"] == pytest.approx(1 - 106.682 / 122.846, abs=1e-4)


def test_top_five_years_match_the_ranks() -> None:
    ranking = pressure_points(
        pd.concat([_toy(year=y, deficit_share=[0.2, 0.1 * (y - 2028)]) for y in (2028, 2029, 2030, 2031)])
        .reset_index(drop=True)
        .pipe(lambda t: pd.concat([t, t.assign(material=t["material"] + "2", hhi=t["hhi"] / 2)]))
        .pipe(lambda t: pd.concat([t, t.assign(material=t["material"] + "3", governance_risk=0.0)]))
        .reset_index(drop=True)
    )
    scores, top = ranking.scores, ranking.top_five.set_index("material")
    assert scores.groupby("year")["rank"].apply(lambda r: (r <= 5).sum()).eq(5).all()
    for material, row in top.iterrows():
        years = sorted(scores.loc[(scores["material"] == material) & (scores["rank"] <= 5), "year"])
        listed = []
        for part in row["years_in_top_five"].split(", "):
            first, _, last = part.partition("-")
            listed += list(range(int(first), int(last or first) + 1))
        assert listed == years, material
        assert row["first_year_in_top_five"] == years[0]
    never = set(scores["material"]) - set(top.index)
    assert all((scores.loc[scores["material"] == m, "rank"] > 5).all() for m in never)


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ({"price": 1.0}, "unknown driver 'price'"),
        ({"growth": -1.0}, "weights, driver growth: -1.0 is not a finite number at least 0"),
        ({"growth": float("nan")}, "weights, driver growth: nan is not a finite number"),
        ({"growth": float("inf")}, "weights, driver growth: inf is not a finite number"),
        ({"growth": "2"}, "weights, driver growth: '2' is not a finite number"),
        ({"growth": True}, "weights, driver growth: True is not a finite number"),
        (dict.fromkeys(DRIVERS, 0.0), "every weight is 0"),
        ([("growth", 1.0)], "expected a mapping"),
    ],
)
def test_malformed_weights_raise_one_line(weights: object, expected: str) -> None:
    with pytest.raises(ChokepointError, match=r"^weights") as err:
        pressure_points(_toy(), weights)  # type: ignore[arg-type]
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_arguments_raise_one_line(default: Dataset) -> None:
    with pytest.raises(ChokepointError, match="scenario: 'B2DS' is unknown"):
        pressure_inputs(default, scenario="B2DS")
    with pytest.raises(ChokepointError, match=r"years: .* no whole year"):
        pressure_inputs(default, years=[])
    with pytest.raises(ChokepointError, match=r"^years: 2030\.5 is not a whole year"):
        pressure_inputs(default, years=[2029, 2030.5])
    with pytest.raises(ChokepointError, match="inputs, field hhi: nan for a is not a finite number"):
        pressure_points(_toy(hhi=[np.nan, 1.0]))
    with pytest.raises(ChokepointError, match="inputs, field control_regime: 'maybe'"):
        pressure_points(_toy(control_regime=["maybe", "none"]))
    with pytest.raises(ChokepointError, match="suspended_control: 2 is above 1"):
        pressure_points(_toy(), suspended_control=2)


def test_a_balance_supplies_the_deficit_and_growth(default: Dataset) -> None:
    balance = pd.DataFrame(
        {"material": ["neodymium"] * 2, "year": [2029, 2030], "demand_t": [90.0, 100.0], "supply_t": [90.0, 80.0]}
    )
    rows = pressure_inputs(default, years=[2029, 2030], balance=balance).set_index(["material", "year"])
    nd = rows.loc[("neodymium", 2030)]
    assert nd["deficit_share"] == pytest.approx(0.2)  # (100 - 80) / 100
    assert nd["demand_growth_pct_per_yr"] == pytest.approx(100 * (100 / 90 - 1))
    assert (nd["deficit_share_basis"], nd["deficit_share_source"]) == ("derived", "balance")
    assert rows.loc[("neodymium", 2029), "demand_growth_pct_per_yr"] == pytest.approx(100 * (100 / 90 - 1))
    assert rows.loc[("praseodymium", 2030), "deficit_share_source"] == "iea_cm_dataset_2025_demand"
    bad = balance.assign(supply_t=[-1.0, 80.0])
    with pytest.raises(ChokepointError, match=r"^balance, field supply_t: -1\.0 is not a finite number at least 0$"):
        pressure_inputs(default, balance=bad)
    gap = pd.DataFrame({"material": ["neodymium"] * 2, "year": [2030, 2032], "demand_t": [100.0, 121.0],
                        "supply_t": [100.0, 100.0]})  # fmt: skip
    rows = pressure_inputs(default, years=[2032], balance=gap).set_index(["material", "year"])
    assert rows.loc[("neodymium", 2032), "demand_growth_pct_per_yr"] == pytest.approx(10.0)  # 1.21 = 1.1^2
    with pytest.raises(ChokepointError, match="balance, field material: 'unobtainium' is not ranked"):
        pressure_inputs(default, balance=balance.assign(material="unobtainium"))


def test_shipped_growth_cells_recompute_from_the_iea_transcription(default: Dataset, reference: Path) -> None:
    iea = json.loads((reference / "outlook" / "iea_critical_minerals_dataset_2025_transcribed.json").read_text())
    series = {
        "gallium": iea["cleantechByMineral"]["Gallium"],
        "germanium": iea["cleantechByMineral"]["Germanium"],
        "tungsten": iea["cleantechByMineral"]["Tungsten"],
        "graphite": iea["totalDemand"]["Graphite"]["totalDemand"],
        "neodymium": iea["totalDemand"]["Rare Earth Elements"]["totalDemand"],
    }
    # cross-check with a published headline: IEA GCMO 2024 (via SEAISI) expects 131 kt of magnet
    # rare-earth demand in 2030 under APS; the 2025 dataset's cell is 131.57 kt
    assert series["neodymium"]["APS"]["2030"] == pytest.approx(131.0, rel=0.01)
    rows = default["outlook_materials"]
    rows = rows[(rows["input"] == "demand_growth") & rows["material"].isin(list(series))]
    assert len(rows) == 5 * 9  # three scenarios x three periods each
    for row in rows.to_dict("records"):
        s, scen = series[row["material"]], row["scenario"]
        d0 = s["2024"] if row["from_year"] == 2024 else s[scen][str(row["from_year"])]
        d1 = s[scen][str(row["to_year"])]
        cagr = 100 * ((d1 / d0) ** (1 / (row["to_year"] - row["from_year"])) - 1)
        assert row["demand_growth_pct_per_yr"] == pytest.approx(cagr, abs=0.005), row


def test_outlook_rows_keep_to_their_figure(default: Dataset) -> None:
    table = default["outlook_materials"]
    assert check_outlook_materials(default) == []
    blank = table.index[(table["material"] == "ytterbium") & (table["input"] == "demand_growth")]
    reported = table.copy()
    reported.loc[blank, "basis"] = "reported"
    found = check_outlook_materials(Dataset("x", {**default.tables, "outlook_materials": reported}))
    assert [f.field for f in found] == ["demand_growth_pct_per_yr"]
    assert "set basis assumption" in found[0].message
    backwards = table.copy()
    backwards.loc[blank, "to_year"] = 2020
    found = check_outlook_materials(Dataset("x", {**default.tables, "outlook_materials": backwards}))
    assert [f.field for f in found] == ["to_year"]


def test_growth_may_be_negative_but_a_deficit_may_not() -> None:
    row = {"material": "germanium", "input": "demand_growth", "scenario": "STEPS", "from_year": 2030,
           "to_year": 2040, "demand_growth_pct_per_yr": "-2.6", "source_id": "s", "basis": "reported"}  # fmt: skip
    assert validate_table("outlook_materials", pd.DataFrame([row]))["demand_growth_pct_per_yr"].iloc[0] == -2.6
    bad = row | {"input": "deficit", "demand_growth_pct_per_yr": "", "deficit_share": "-0.1"}
    with pytest.raises(SchemaError, match=r"field deficit_share: -0\.1 is negative"):
        validate_table("outlook_materials", pd.DataFrame([bad]))


def test_assumed_values_are_parameters(default: Dataset) -> None:
    rows = pressure_inputs(default, years=[2030], assumed={"demand_growth_pct_per_yr": 5.0})
    yb = rows.set_index("material").loc["ytterbium"]
    assert yb["demand_growth_pct_per_yr"] == 5.0
    assert "growth" in yb["missing"]
    assert yb["demand_growth_pct_per_yr_basis"] == "assumption"
    with pytest.raises(ChokepointError, match=r"^assumed, field hhi: 12000\.0 is not a finite number from 0 to 10000$"):
        pressure_inputs(default, assumed={"hhi": 12000.0})
    with pytest.raises(ChokepointError, match="assumed: unknown input 'price'"):
        pressure_inputs(default, assumed={"price": 1.0})


def test_a_dataset_without_outlook_rows_ranks_with_those_drivers_missing(default: Dataset) -> None:
    bare = Dataset("bare", {**default.tables, "outlook_materials": default["outlook_materials"].iloc[0:0]})
    rows = pressure_inputs(bare, years=[2030]).set_index("material")
    assert set(rows.loc["gallium", "missing"].split()) == {"deficit", "control", "growth"}
    assert set(rows.loc["helium-3", "missing"].split()) == set(DRIVERS)
    assert len(pressure_points(rows.reset_index()).scores) == 23


def test_a_projected_path_moves_the_cited_concentration_by_its_change(default: Dataset) -> None:
    cited = pressure_inputs(default, "STEPS", [2030, 2040]).set_index(["material", "year"])
    path = pd.DataFrame(
        {
            "year": [2024, 2030, 2040],
            "stage": "refining",
            "material": "neodymium",
            "top1_share": [0.9, 0.81, 0.72],  # falls by 10% and then 20%
            "hhi": [8_100.0, 6_561.0, 5_184.0],
        }
    )
    moved = pressure_inputs(default, "STEPS", [2030, 2040], concentration_path=path).set_index(["material", "year"])
    nd = cited.loc[("neodymium", 2040)]
    assert moved.loc[("neodymium", 2040), "top1_share"] == pytest.approx(0.8 * nd["top1_share"])
    hhi = max(nd["hhi"] * 5_184.0 / 8_100.0, 1e4 * (0.8 * nd["top1_share"]) ** 2)
    assert moved.loc[("neodymium", 2040), "hhi"] == pytest.approx(hhi)
    assert moved.loc[("neodymium", 2030), "hhi_basis"] == "derived"
    # a material the path does not cover keeps its cited figure
    assert moved.loc[("gallium", 2040), "hhi"] == pytest.approx(cited.loc[("gallium", 2040), "hhi"])
