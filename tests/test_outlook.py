"""The outlook end to end: cp.outlook, chokepoint outlook and a shock on a projected network."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import chokepoint as cp
from chokepoint.cli import app, main
from chokepoint.errors import ChokepointError
from chokepoint.foresight import Outlook, outlook, projected_dataset
from chokepoint.foresight.pressure import MATERIALS
from chokepoint.scenario import ScenarioError, check_scenario, load_scenario
from chokepoint.simulation import simulate

DS = cp.default_dataset()
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "scenarios" / "hree-2032-aps.yaml"


@cache
def _outlook(scenario: str) -> Outlook:
    return outlook(DS, scenario, 2050, draws=300, dependence_years=(2040,))


@pytest.mark.parametrize("scenario", ["STEPS", "APS", "NZE"])
def test_the_outlook_runs_to_2050_and_ranks_every_named_material(scenario: str) -> None:
    result = _outlook(scenario)
    assert result.scenario == scenario
    scores = result.pressure
    assert set(scores["material"]) == set(MATERIALS)
    assert sorted(scores["year"].unique()) == list(range(2025, 2051))
    parts = [c for c in scores.columns if c.endswith("_points")]
    pd.testing.assert_series_equal(scores[parts].sum(axis=1), scores["score"], check_names=False)
    # the top five's first years are the first years each ranks fifth or better
    first = scores[scores["rank"] <= 5].groupby("material")["year"].min()
    table = result.top_five.set_index("material")["first_year_in_top_five"]
    pd.testing.assert_series_equal(table.sort_index().astype(int), first.sort_index().astype(int), check_names=False)


def test_the_balance_reads_demand_from_the_drivers_on_the_supply_basis() -> None:
    result = _outlook("APS")
    demand = result.demand.groupby(["year", "material"])["demand_t"].sum()
    b = result.balance.set_index(["stage", "material", "year"])
    growth = demand[(2040, "dysprosium")] / demand[(2024, "dysprosium")]
    base = b.loc[("refining", "dysprosium", 2024), "supply_t"]
    assert b.loc[("refining", "dysprosium", 2040), "demand_t"] == pytest.approx(base * growth)


def test_traced_dependence_is_followed_on_each_years_projected_network() -> None:
    dep = _outlook("STEPS").dependence
    assert sorted(dep["year"].unique()) == [2024, 2040]
    assert set(dep["region_id"]) == {"USA", "JPN", "DEU", "KOR", "EU27"}
    assert dep["controller_share_pct"].between(0, 100).all()


def test_the_cli_writes_every_table_and_the_report(tmp_path: Path) -> None:
    out = tmp_path / "aps"
    result = CliRunner().invoke(
        app,
        [
            "outlook",
            "--scenario",
            "APS",
            "--to",
            "2040",
            "--draws",
            "200",
            "-t",
            "balance",
            "-m",
            "terbium",
            "-o",
            str(out),
            "-f",
            "csv",
        ],
    )
    assert result.exit_code == 0, result.output
    printed = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert set(printed["material"]) == {"terbium"}
    assert (out / "report.html").is_file()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Outlook: APS, 2024 to 2040" in html
    assert '<script src="http' not in html  # offline
    assert '<link href="http' not in html
    written = pd.read_csv(out / "pressure.csv")
    assert written["year"].max() == 2040


def test_an_unknown_outlook_scenario_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["outlook", "--scenario", "XYZ", "--to", "2030"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0
    assert "unknown outlook scenario 'XYZ'; shipped: aps, nze, steps" in err


def test_a_2032_heavy_rare_earth_control_under_aps_runs_end_to_end() -> None:
    scenario = load_scenario(EXAMPLE)
    run = simulate(DS, scenario)
    projected = projected_dataset(DS, "APS", 2032)
    assert run.provenance.dataset_fingerprint == projected.fingerprint
    short = run.tables["shortfall"]
    by_month = short.groupby("period")["shortfall_t"].sum()
    assert by_month.loc[:"2032-03"].sum() == pytest.approx(0.0, abs=1e-6)  # nothing before the licences
    assert by_month.loc["2032-04":"2032-12"].sum() > 0
    # the run's demand is the projected year's: world EV activity grown with APS's EV driver
    act = projected["sector_activity"].set_index(["region_id", "sector_id", "year"])["activity"]
    assert act[("WLD", "ev", 2032)] > 2 * act[("WLD", "ev", 2024)]


def test_a_projected_base_year_must_follow_the_year_it_starts_from(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace("base_year: 2032", "base_year: 2024")
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace("start: 2032-01", "start: 2024-01"), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"base_year 2024 must be after projected_from\.from_year 2024"):
        load_scenario(path)


def test_an_outlook_year_outside_the_horizon_is_refused() -> None:
    with pytest.raises(ChokepointError, match="dependence year 2060 is not between 2025 and 2050"):
        outlook(DS, "STEPS", 2050, dependence_years=(2060,))


def test_an_edited_outlook_file_runs_and_one_with_an_unknown_name_is_one_line(tmp_path: Path) -> None:
    shipped = Path(cp.__file__).parent / "foresight" / "scenarios" / "aps.yaml"
    edited = tmp_path / "my-outlook.yaml"
    edited.write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    result = outlook(DS, edited, 2030, draws=100)
    assert result.scenario == "APS"
    text = shipped.read_text(encoding="utf-8").replace("name: APS", "name: mine", 1)
    edited.write_text(text, encoding="utf-8")
    with pytest.raises(ChokepointError, match="field name: 'mine'; an outlook file is named after the IEA scenario"):
        outlook(DS, edited, 2030, draws=100)


def test_an_unknown_controller_of_a_projection_names_its_field() -> None:
    scenario = load_scenario(EXAMPLE)
    wrong = scenario.model_copy(
        update={"projected_from": scenario.projected_from.model_copy(update={"controller": "CHX"})}
    )
    with pytest.raises(
        ScenarioError, match=r"field projected_from\.controller: unknown region 'CHX'; did you mean 'CHN'"
    ):
        check_scenario(wrong, DS, origin="hree-2032-aps.yaml")
