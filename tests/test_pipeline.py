"""The project pipeline: completion, delay and ramp checked by hand, the Monte Carlo against the
exact mean, the shipped projects, and bad risk rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import chokepoint as cp
from chokepoint.cli import main
from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.foresight import expected_capacity, pipeline
from chokepoint.foresight.pipeline import ramp

RISK = ["status", "p_complete", "p_on_time", "mean_delay_yr", "ramp_yr", "lead_yr", "source_id", "basis", "note"]


def _one(default: Dataset, status: str = "construction", start: int | None = 2027, **risk: float) -> Dataset:
    """The default dataset with one facility only: 3,000 t/yr of AUS oxide, and a single risk row
    for its status (p_complete 0.9, p_on_time 0.4, mean delay 2 years, ramp 3, lead 5 by default)."""
    fac = (
        default["facilities"]
        .iloc[:1]
        .assign(facility_id="test_plant", status=status, start_year=start, region_id="AUS", commodity_id="ree_oxide")
    )
    cap = (
        default["facility_capacity"]
        .iloc[:1]
        .assign(facility_id="test_plant", year=2024, capacity_t_per_yr=3000.0, production_t=np.nan)
    )
    values = {"p_complete": 0.9, "p_on_time": 0.4, "mean_delay_yr": 2.0, "ramp_yr": 3.0, "lead_yr": 5.0} | risk
    row = pd.DataFrame(
        [{"status": status, **values, "source_id": "chokepoint_assumptions", "basis": "assumption", "note": "test"}]
    )[RISK]
    return Dataset("one", {**default.tables, "facilities": fac, "facility_capacity": cap, "pipeline_risk": row})


def _capacity(result: cp.Pipeline, year: int, column: str = "expected_t_per_yr") -> float:
    c = result.capacity.set_index(["year", "region_id", "commodity_id"])
    return float(c.loc[(year, "AUS", "ree_oxide"), column])


def test_the_ramp_reaches_nameplate_in_ramp_years() -> None:
    assert ramp([-1, 0, 1, 2, 5], 3.0) == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0, 1.0])
    assert ramp([-1, 0], 0.0) == pytest.approx([0.0, 1.0])  # nameplate at once


def test_a_projects_expected_capacity_by_hand(default: Dataset) -> None:
    # on time (0.4) it gives 1/3 of 3,000 t in 2027; late (0.6) a geometric delay of mean 2
    # (P(1) = 0.5) puts 1/3 of it in 2028. Each times p_complete 0.9:
    #   2027: 0.9 × 3000 × 0.4 × 1/3 = 360 t
    #   2028: 0.9 × 3000 × (0.4 × 2/3 + 0.6 × 0.5 × 1/3) = 990 t
    ds = _one(default)
    result = pipeline(ds, to=2032, draws=200_000, seed=1)
    exact = expected_capacity(result.projects, [2026, 2027, 2028], result.as_of)[0]
    assert exact == pytest.approx([0.0, 360.0, 990.0])
    assert _capacity(result, 2026) == 0.0
    assert _capacity(result, 2027) == pytest.approx(360.0, rel=0.02)  # Monte Carlo error ~0.5%
    assert _capacity(result, 2028) == pytest.approx(990.0, rel=0.02)
    assert _capacity(result, 2027, "announced_t_per_yr") == 3000.0
    project = result.projects.set_index("facility_id").loc["test_plant"]
    assert project["p_online_by_target"] == pytest.approx(0.9 * 0.4, abs=0.005)


def test_the_monte_carlo_mean_matches_the_exact_one_on_the_shipped_pipeline(default: Dataset) -> None:
    result = pipeline(default, to=2040, draws=50_000, seed=2)
    counted = result.projects[result.projects["capacity_t_per_yr"].notna()].reset_index(drop=True)
    years = np.arange(result.as_of + 1, 2041)
    exact = pd.DataFrame(expected_capacity(counted, years, result.as_of).T, index=years)
    exact.columns = pd.MultiIndex.from_frame(counted[["region_id", "commodity_id"]])
    exact = exact.T.groupby(level=[0, 1]).sum().T.stack([0, 1], future_stack=True)
    got = result.capacity.set_index(["year", "region_id", "commodity_id"])["expected_t_per_yr"]
    assert np.allclose(got.loc[exact.index], exact, rtol=0.03, atol=30.0)


def test_an_overdue_project_is_late_for_certain(default: Dataset) -> None:
    # target 2023 has passed (the dataset's latest year is 2024): first output from 2025 at the
    # earliest, with P(2025) = 0.5 → 0.9 × 3000 × 0.5 × 1/3 = 450 t
    result = pipeline(_one(default, start=2023), to=2030, draws=100_000, seed=3)
    project = result.projects.set_index("facility_id").loc["test_plant"]
    assert bool(project["overdue"])
    assert project["p_online_by_target"] == 0.0
    assert project["first_year_p50"] >= 2025
    assert _capacity(result, 2025) == pytest.approx(450.0, rel=0.03)


def test_an_undated_project_starts_lead_years_after_the_latest_year(default: Dataset) -> None:
    result = pipeline(_one(default, status="planned", start=None, p_on_time=1.0, p_complete=1.0, ramp_yr=0.0), to=2032)
    project = result.projects.set_index("facility_id").loc["test_plant"]
    assert project["target_year"] == 2024 + 1 + 5
    assert _capacity(result, 2029) == 0.0
    assert _capacity(result, 2030) == 3000.0
    assert _capacity(result, 2030, "p10_t_per_yr") == _capacity(result, 2030, "p90_t_per_yr") == 3000.0


def test_a_technology_ban_slows_every_ramp_outside_china(default: Dataset) -> None:
    # certain and on time: 3,000 t/yr from 2027 over 3 years, or over 6 under a slowdown of 2
    ds = _one(default, p_complete=1.0, p_on_time=1.0)
    assert _capacity(pipeline(ds, to=2030), 2027) == pytest.approx(1000.0)
    assert _capacity(pipeline(ds, to=2030, ramp_slowdown=2.0), 2027) == pytest.approx(500.0)
    assert _capacity(pipeline(ds, to=2030, ramp_slowdown=2.0, controller="AUS"), 2027) == pytest.approx(1000.0)
    with pytest.raises(ChokepointError, match=r"ramp_slowdown nan must be between 1 and 100"):
        pipeline(ds, ramp_slowdown=float("nan"))


def test_the_shipped_us_magnet_pipeline(default: Dataset) -> None:
    result = pipeline(default, to=2035, draws=20_000)
    c = result.capacity.set_index(["year", "region_id", "commodity_id"])
    # as announced by 2028: Noveon 2,000 + USA Rare Earth 4,800 + MP Independence 1,000 + eVAC
    # 2,000 + Vulcan 10,000 + MP 10X 9,000 = 28,800 t/yr
    assert c.loc[(2028, "USA", "ndfeb_magnet"), "announced_t_per_yr"] == 28_800.0
    expected = c.xs(("USA", "ndfeb_magnet"), level=[1, 2])
    assert (expected["expected_t_per_yr"] < expected["announced_t_per_yr"]).all()
    assert (expected["p10_t_per_yr"] <= expected["p50_t_per_yr"]).all()
    assert (expected["p50_t_per_yr"] <= expected["p90_t_per_yr"]).all()
    assert expected["expected_t_per_yr"].is_monotonic_increasing
    # operating capacity is certain: Noveon's 2,000 t is the floor of every draw
    assert expected["p10_t_per_yr"].min() >= 2000.0


def test_the_same_seed_gives_the_same_pipeline(default: Dataset) -> None:
    a, b = (pipeline(default, to=2030, draws=500, seed=7) for _ in range(2))
    pd.testing.assert_frame_equal(a.capacity, b.capacity)


def test_bad_risk_rows_are_one_line(default: Dataset) -> None:
    with pytest.raises(
        ChokepointError, match=r"pipeline_risk, field mean_delay_yr: 0\.5 for construction is below 1 year"
    ):
        pipeline(_one(default, mean_delay_yr=0.5))
    no_row = Dataset("t", {**_one(default).tables, "pipeline_risk": default["pipeline_risk"].iloc[:0]})
    with pytest.raises(ChokepointError, match=r"pipeline_risk: no row for status construction"):
        pipeline(no_row)
    with pytest.raises(ChokepointError, match=r"--to 2024 must be after the dataset's latest year 2024"):
        pipeline(default, to=2024)


def test_pipeline_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pipeline", "--to", "2030", "--draws", "200", "-r", "USA", "-c", "ndfeb_magnet", "-f", "csv"]) == 0
    table = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert table["year"].tolist() == list(range(2025, 2031))
    assert table.set_index("year").loc[2028, "announced_t_per_yr"] == 28_800.0
    assert main(["pipeline", "--projects", "--draws", "200", "-f", "json"]) == 0
    assert '"facility_id": "vulcan_benson"' in capsys.readouterr().out
    assert main(["pipeline", "-r", "XXX"]) != 0
    assert "unknown region 'XXX'" in capsys.readouterr().err
    assert main(["pipeline", "--draws", "10", "-r", "BDI"]) != 0
    assert "no pipeline rows for region 'BDI'" in capsys.readouterr().err
