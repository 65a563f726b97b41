"""Magnet rare-earth demand from technology drivers (issue 13 item 1): the shipped IEA scenarios
reproduce IEA's magnet-REE totals, the arithmetic checks by hand, bad files fail in one line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from chokepoint.foresight import (
    OutlookError,
    iea_comparison,
    load_outlook_scenario,
    shipped_outlook_scenarios,
    technology_demand,
)
from chokepoint.foresight.demand import SCENARIOS_DIR, driver_intensity, element_split, interpolate

COLUMNS = [
    "scenario",
    "year",
    "driver",
    "material",
    "activity",
    "activity_unit",
    "demand_t",
    "end_of_life_t",
    "recycled_t",
]


def _driver_year(frame: pd.DataFrame, driver: str, year: int, column: str = "demand_t") -> float:
    rows = frame[(frame["driver"] == driver) & (frame["year"] == year)]
    assert len(rows) == 4  # one row per magnet rare earth
    return float(rows[column].sum())


def test_shipped_scenarios_load_by_name_in_any_case() -> None:
    assert shipped_outlook_scenarios() == ["aps", "nze", "steps"]
    assert load_outlook_scenario("STEPS").name == "STEPS"
    assert load_outlook_scenario("Aps").name == "APS"
    assert load_outlook_scenario(SCENARIOS_DIR / "nze.yaml").name == "NZE"
    with pytest.raises(OutlookError, match=r"unknown outlook scenario 'sds'; shipped: aps, nze, steps"):
        load_outlook_scenario("sds")


@pytest.mark.parametrize("name", ["steps", "aps", "nze"])
@pytest.mark.parametrize("year", [2030, 2040, 2050])
def test_bottom_up_total_is_within_10pct_of_iea(name: str, year: int) -> None:
    """The issue's Done-when: validate years only, nothing in them is fitted."""
    table = iea_comparison(load_outlook_scenario(name)).set_index(["year", "bucket"])
    row = table.loc[(year, "total")]
    assert row["split"] == "validate"
    assert abs(row["gap_pct"]) <= 10.0, f"{name} {year}: {row['bottom_up_kt']:.1f} vs IEA {row['iea_kt']:.1f} kt"


def test_iea_figures_in_the_files_match_the_published_totals() -> None:
    # IEA Critical Minerals Dataset 2025 (GCMO 2025) magnet-REE totals, kt
    published = {
        "steps": (122.85, 149.58, 177.52),
        "aps": (131.57, 162.68, 197.31),
        "nze": (146.77, 172.42, 200.26),
    }
    for name, totals in published.items():
        table = iea_comparison(load_outlook_scenario(name)).set_index(["year", "bucket"])
        assert table.loc[(2024, "total"), "iea_kt"] == pytest.approx(90.92)
        assert table.loc[(2024, "total"), "split"] == "calibrate"
        got = tuple(table.loc[(y, "total"), "iea_kt"] for y in (2030, 2040, 2050))
        assert got == pytest.approx(totals)


def test_base_year_closes_to_iea_total_by_calibration() -> None:
    table = iea_comparison(load_outlook_scenario("steps")).set_index(["year", "bucket"])
    assert table.loc[(2024, "total"), "bottom_up_kt"] == pytest.approx(90.92, abs=1e-9)
    assert table.loc[(2024, "wind"), "bottom_up_kt"] == pytest.approx(10.50, abs=1e-9)


def test_ev_2030_steps_by_hand() -> None:
    """45 M cars (GEVO 2024) × 0.85 PM share × 0.556 kg REE per PM car = 21,267 t."""
    demand = technology_demand(load_outlook_scenario("steps"), [2030])
    assert _driver_year(demand, "ev", 2030) == pytest.approx(45e6 * 0.85 * 0.556 / 1000)
    assert _driver_year(demand, "ev", 2030) == pytest.approx(21_267.0)


def test_wind_intensity_is_fitted_to_2024_only() -> None:
    """10.4958 kt / (117 GW × 1000 MW/GW × 0.25 PM) = 358.97 kg REE per PM MW; 2030 STEPS has
    203.4 GW × 1000 × 0.25 × 358.97 kg = 18,254 t."""
    scenario = load_outlook_scenario("steps")
    kg = driver_intensity(scenario)["wind"]
    assert kg == pytest.approx(10.50e6 / (117 * 1000 * 0.25))
    demand = technology_demand(scenario, [2030])
    assert _driver_year(demand, "wind", 2030) == pytest.approx(203.4 * 1000 * 0.25 * kg / 1000)
    assert _driver_year(demand, "wind", 2030) == pytest.approx(18_253.8, abs=0.1)


def test_tidy_columns_and_materials() -> None:
    demand = technology_demand(load_outlook_scenario("aps"), [2024, 2050])
    assert list(demand.columns) == COLUMNS
    assert set(demand["material"]) == {"neodymium", "praseodymium", "dysprosium", "terbium"}
    assert (demand[["demand_t", "end_of_life_t", "recycled_t"]] >= 0).all().all()
    assert (demand["recycled_t"] <= demand["end_of_life_t"]).all()


def test_paths_interpolate_linearly_and_hold_flat_outside() -> None:
    scenario = load_outlook_scenario("steps")
    ev, wind, humanoid = (scenario.drivers[n] for n in ("ev", "wind", "humanoid_robots"))
    assert interpolate(ev.activity, [2027])[0] == pytest.approx(20 + (45 - 20) * 2 / 5)  # 30 M
    assert interpolate(wind.activity, [2045])[0] == pytest.approx(203.4)  # held after the last point
    assert interpolate(humanoid.activity, [2024])[0] == pytest.approx(0.018)  # held before the first
    demand = technology_demand(scenario, [2027])
    assert demand.set_index(["driver", "material"]).loc[("ev", "neodymium"), "activity"] == pytest.approx(30.0)


def test_heavy_rare_earths_thrift_and_the_split_sums_to_one() -> None:
    ev = load_outlook_scenario("nze").drivers["ev"]
    split = element_split(ev, [2024, 2040])
    assert split.sum(axis=1) == pytest.approx([1.0, 1.0])
    # MATERIALS order: neodymium, praseodymium, dysprosium, terbium; Dy × 0.8 by 2040
    assert split[1, 2] == pytest.approx(0.08067 * 0.8)
    assert split[1, 0] > split[0, 0]  # Nd takes up what Dy and Tb free


def test_recycling_is_zero_before_the_first_product_retires() -> None:
    scenario = load_outlook_scenario("steps")
    demand = technology_demand(scenario, range(2024, 2051))
    shortest = min(d.lifetime_yr.value for d in scenario.drivers.values())  # consumer electronics, 5 yr
    assert shortest == 5
    early = demand[demand["year"] < 2024 + shortest]
    assert (early["end_of_life_t"] == 0).all()
    assert (early["recycled_t"] == 0).all()
    assert _driver_year(demand, "consumer_electronics_hdd", 2029, "end_of_life_t") > 0
    assert _driver_year(demand, "ev", 2038, "recycled_t") == 0  # cars live 15 years
    # 2039: the 2024 cars retire: 17 M × (0.90 − 0.05/7) PM × 0.556 kg × collection × 0.9 yield
    sold_2024 = 17e6 * (0.90 - 0.05 / 7) * 0.556 / 1000
    collection = 0.01 + (0.15 - 0.01) * 15 / 26
    assert _driver_year(demand, "ev", 2039, "end_of_life_t") == pytest.approx(sold_2024)
    assert _driver_year(demand, "ev", 2039, "recycled_t") == pytest.approx(sold_2024 * collection * 0.9)


def test_years_before_the_base_year_are_refused() -> None:
    with pytest.raises(OutlookError, match="year 2020 is before the base year 2024"):
        technology_demand(load_outlook_scenario("steps"), [2020, 2030])
    with pytest.raises(OutlookError, match="whole calendar years"):
        technology_demand(load_outlook_scenario("steps"), [2030.5])


def _steps() -> dict[str, Any]:
    return yaml.safe_load((SCENARIOS_DIR / "steps.yaml").read_text(encoding="utf-8"))


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


BAD = [
    (("drivers", "ev", "lifetime_yr", "sourse"), "x", r"field drivers\.ev\.lifetime_yr\.sourse: .*not a field"),
    (("drivers", "ev", "activity", 1, "value"), -17.0, r"field drivers\.ev\.activity\[1\]\.value: -17\.0"),
    (("drivers", "wind", "activity", 0, "value"), float("nan"), r"field drivers\.wind\.activity\[0\]\.value: nan"),
    (("drivers", "ev", "pm_share", 0, "value"), 1.3, r"field drivers\.ev\.pm_share\[0\]\.value: 1\.3"),
    (("drivers", "ev", "units_per_activity"), "a million", r"field drivers\.ev\.units_per_activity: 'a million'"),
    (("drivers", "ev", "elements", "samarium"), 0.1, r"field drivers\.ev\.elements\.samarium"),
    (("base_year",), "2024", r"field base_year: '2024'"),
    (("drivers", "inverter_ac", "calibrate", "less"), ["residual"], r"'residual' is not a driver listed before"),
]


@pytest.mark.parametrize(("path", "value", "message"), BAD, ids=[str(b[0][-1]) for b in BAD])
def test_malformed_file_gives_one_line_naming_file_and_field(
    tmp_path: Path, path: tuple[Any, ...], value: Any, message: str
) -> None:
    doc = _steps()
    _set(doc, path, value)
    bad = tmp_path / "my-steps.yaml"
    bad.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    with pytest.raises(OutlookError, match=message) as info:
        load_outlook_scenario(bad)
    text = str(info.value)
    assert text.startswith("my-steps.yaml: ")
    assert "\n" not in text


def test_element_shares_must_sum_to_one(tmp_path: Path) -> None:
    doc = _steps()
    doc["drivers"]["ev"]["elements"]["neodymium"] = 0.5
    bad = tmp_path / "sum.yaml"
    bad.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    with pytest.raises(OutlookError, match=r"sum\.yaml: field drivers\.ev: .*elements: shares sum to 0\.7145"):
        load_outlook_scenario(bad)


def test_a_calibration_that_leaves_nothing_names_the_driver_and_line(tmp_path: Path) -> None:
    doc = _steps()
    doc["drivers"]["residual"]["calibrate"]["share"]["value"] = 0.5  # half the total, less all the rest
    bad = tmp_path / "closure.yaml"
    bad.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    scenario = load_outlook_scenario(bad)
    with pytest.raises(
        OutlookError, match=r"drivers\.residual\.calibrate: base-year demand -45 kt .*closure\.yaml line \d+"
    ):
        driver_intensity(scenario)


def test_the_reproduction_table_in_the_docs_matches_the_model() -> None:
    """docs/outlook.md quotes every scenario-year's total; an edit to a scenario file must update it."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "outlook.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (STEPS|APS|NZE) \| (\d{4}) \|.*\*\*([\d.]+) / ([\d.]+)", text, flags=re.MULTILINE)
    assert len(rows) == 9
    for name, year, bottom_up, iea in rows:
        table = iea_comparison(load_outlook_scenario(name)).set_index(["year", "bucket"])
        assert table.loc[(int(year), "total"), "bottom_up_kt"] == pytest.approx(float(bottom_up), abs=0.05)
        assert table.loc[(int(year), "total"), "iea_kt"] == pytest.approx(float(iea), abs=0.05)
