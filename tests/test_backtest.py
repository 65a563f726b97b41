"""The backtest discipline: roles, the declared calibration, the fitter that reads only calibrate
observations, the scorecard, writing fitted values back, and the shipped scenarios' scores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chokepoint as cp
from chokepoint.backtesting import fit_scenario, scorecard, scores, shipped_scenarios, write_fitted
from chokepoint.cli import main
from chokepoint.scenario import Scenario, ScenarioError, load_scenario
from chokepoint.simulation.tabulate import RATIO_FLOOR, abs_log_error
from tests.tiny import tiny_dataset

SCENARIOS = Path(__file__).resolve().parents[1] / "examples" / "scenarios"

#: The committed validation scores (mean absolute log error of the validate observations, fast
#: mode) of the shipped scenarios. A change that makes one worse by more than VALIDATION_TOLERANCE
#: fails; a change that improves one should lower its figure here (docs/backtest.md).
#: japan-2010 went from 0.6142 on the product-group chain to 0.8374 on the element base: its 2011
#: price observations (La, Dy, Pr oxide, an all-REE index) are read as the mean of 16 oxide indices,
#: most of which the 2010 quota never makes scarce (docs/backtest.md).
#: Measured with buyers' inventories and per-market prices (issue 12): china-2025 over five
#: validate observations (was 0.2006 over three), japan-2010 over eleven (was 0.8374 over eight).
#: japan-2010 run to 2024 with quotas as tonnages and thrifting: 0.2412 over seventeen (the eleven
#: plus 2022-2024 shares and 2012-2014 exports).
#: japan-2010 with the Lynas offtake fitted to Japan's 2014 imports from Malaysia and the reversion
#: rate to China's 2024 share (now calibrate): 0.2579 over seventeen, Malaysia's 2018 share (new)
#: adding 0.94 of it.
#: germanium-2023 over sixteen, April and June 2025 (near-zero months, 8x) adding 0.26 of it.
VALIDATION_SCORES = {
    "china-2025-licensing": 0.1280,
    "gallium-2023": 0.6205,
    "germanium-2023": 0.7735,
    "japan-2010": 0.2579,
}
#: About 1% in ratio terms (ln 1.01 ≈ 0.00995): room for rounding and solver noise, not for a regression.
VALIDATION_TOLERANCE = 0.01


def _tiny(approval: float = 0.8, validate_value: float = 0.9, **extra: Any) -> dict[str, Any]:
    """AUT ships 30 t of oxide a month to CHE, its only buyer abroad and with no other supplier;
    a licence from March lets ``approval`` of it through, so AUT's export ratio is the approval
    share. Calibrate: March at 0.4; validate: May at ``validate_value``."""
    return {
        "name": "t",
        "start": "2025-01",
        "horizon_months": 6,
        "material": "m",
        "markets": {"cover_months": 0.0},  # no inventories: the export ratio is the approval share
        "export_controls": [
            {"name": "c", "controller": "AUT", "commodities": ["oxide"], "targets": {"countries": ["CHE"]},
             "instrument": {"kind": "licence", "approval_share": approval}, "start": "2025-03"},
        ],
        "observed": [
            {"role": "calibrate", "metric": "export_ratio", "commodity": "oxide", "region": "AUT",
             "period": "2025-03", "value": 0.4, "source": "hand"},
            {"role": "validate", "metric": "export_ratio", "commodity": "oxide", "region": "AUT",
             "period": "2025-05", "value": validate_value, "source": "hand"},
        ],
        "calibration": {
            "parameters": [{"path": "export_controls[0].instrument.approval_share", "lower": 0.05, "upper": 1.0}],
            "max_evaluations": 24,
        },
        **extra,
    }  # fmt: skip


def test_the_fit_finds_the_share_the_calibrate_observation_implies() -> None:
    fit = fit_scenario(Scenario.model_validate(_tiny()), tiny_dataset())
    assert fit.values["export_controls[0].instrument.approval_share"] == pytest.approx(0.4, abs=2e-4)
    assert fit.objective_fitted < 1e-3 < fit.objective_shipped
    assert fit.evaluations <= 24 + 1  # the budget, and the rounded best scored once more
    row = fit.parameters.set_index("path").loc["export_controls[0].instrument.approval_share"]
    assert (row["lower"], row["upper"], row["shipped"]) == (0.05, 1.0, 0.8)
    # the fitted scenario keeps every observation and its calibration block
    assert len(fit.scenario.observed) == 2
    assert fit.scenario.calibration == Scenario.model_validate(_tiny()).calibration


def test_a_validate_observation_cannot_change_the_fit() -> None:
    ds = tiny_dataset()
    fitted = [fit_scenario(Scenario.model_validate(_tiny(validate_value=v)), ds).values for v in (0.9, 0.01, 50.0)]
    assert fitted[0] == fitted[1] == fitted[2]
    without = _tiny()
    without["observed"] = without["observed"][:1]
    assert fit_scenario(Scenario.model_validate(without), ds).values == fitted[0]


def test_the_scorecard_scores_calibrate_and_validate_apart() -> None:
    result = cp.backtest([Scenario.model_validate(_tiny())], tiny_dataset())
    card = result.scorecard.set_index("role")
    assert card.loc["calibrate", "simulated"] == pytest.approx(0.8)  # the shipped share, not fitted
    assert card.loc["calibrate", "abs_log_error"] == pytest.approx(np.log(2.0))
    assert card.loc["validate", "abs_log_error"] == pytest.approx(abs(np.log(0.8 / 0.9)), rel=1e-5)
    by_role = result.scores.set_index("role")["mean_abs_log_error"]
    assert by_role["calibrate"] == pytest.approx(np.log(2.0))
    fitted = cp.backtest([Scenario.model_validate(_tiny())], tiny_dataset(), fit=True)
    assert fitted.scores.set_index("role").loc["calibrate", "mean_abs_log_error"] < 1e-3
    assert fitted.parameters.loc[0, "fitted"] == pytest.approx(0.4, abs=2e-4)


def test_scores_give_a_role_without_observations_no_score() -> None:
    observed = cp.backtest([Scenario.model_validate(_tiny())], tiny_dataset()).scorecard
    only_validate = observed[observed["role"] == "validate"]
    table = scores(scorecard("t", only_validate.drop(columns="scenario"))).set_index("role")
    assert table.loc["calibrate", "observations"] == 0
    assert np.isnan(table.loc["calibrate", "mean_abs_log_error"])
    assert table.loc["validate", "observations"] == 1


def test_the_absolute_log_error_is_symmetric_and_floored() -> None:
    assert abs_log_error(2.0, 1.0) == pytest.approx(abs_log_error(0.5, 1.0)) == pytest.approx(np.log(2))
    assert abs_log_error(0.0, 1.0) == pytest.approx(-np.log(RATIO_FLOOR))  # nothing shipped: large, finite
    assert np.isnan(abs_log_error(1.0, 0.0))
    assert np.isnan(abs_log_error(np.nan, 1.0))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"observed": []}, "calibration needs at least one observation with role: calibrate"),
        ({"path": "export_controls[3].instrument.approval_share"}, "the scenario has no 3 there"),
        ({"path": "observed[0].value"}, "is not a parameter"),
        ({"path": "horizon_months"}, "not a real number"),
        (
            {"path": "sourcing_reversion", "lower": 0.2, "upper": 0.9},
            "sourcing_reversion = 0.1 lies outside its bounds",
        ),
        ({"upper": 1.5}, "approval_share = 1.5 (a bound) is not valid: Input should be less than or equal to 1"),
        ({"lower": 0.9, "upper": 0.5}, "lower 0.9 must be below upper 0.5"),
        ({"path": "export_controls[0"}, "is not a field path"),
    ],
)
def test_a_bad_calibration_block_is_one_line(change: dict[str, Any], message: str) -> None:
    raw = _tiny()
    if "observed" in change:
        raw["observed"] = [raw["observed"][1]]
    else:
        raw["calibration"]["parameters"][0].update(change)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        Scenario.model_validate(raw)


def test_a_file_error_in_the_calibration_names_its_line(tmp_path: Path) -> None:
    text = (SCENARIOS / "china-2025-licensing.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "c.yaml"
    bad.write_text(text.replace("lower: 0.0, upper: 1.0}", "lower: 0.0, upper: 1.2}", 1), encoding="utf-8")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "upper: 1.0}" in s)
    with pytest.raises(
        ScenarioError, match=rf"c\.yaml: .*calibration\.parameters\[0\]: .*\(a bound\) is not valid.*\(line {line}\)$"
    ):
        load_scenario(bad)


def test_writing_fitted_values_changes_only_those_values(tmp_path: Path) -> None:
    source = SCENARIOS / "china-2025-licensing.yaml"
    target = tmp_path / source.name
    text = source.read_text(encoding="utf-8")
    target.write_text(text, encoding="utf-8")
    target.chmod(0o644)
    path = "export_controls[1].instrument.approval_share"
    april, may = (c.instrument.approval_share for c in load_scenario(source).export_controls[:2])  # type: ignore[union-attr]
    write_fitted(target, {path: 0.3123, "export_controls[0].instrument.approval_share": 0.6})
    after = target.read_text(encoding="utf-8")
    # April's line comes first, so each value replaces the first occurrence left (even if both are equal)
    expected = text.replace(f"approval_share: {april},", "approval_share: 0.6,", 1)
    expected = expected.replace(f"approval_share: {may},", "approval_share: 0.3123,", 1)
    assert after == expected  # comments, order and flow style untouched
    assert load_scenario(target).export_controls[1].instrument.approval_share == 0.3123  # type: ignore[union-attr]
    assert target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == [source.name]  # no temporary file left
    with pytest.raises(cp.ChokepointError, match="sourcing_adjustment: the file does not write this value"):
        write_fitted(target, {"sourcing_adjustment": 0.4})
    assert target.read_text(encoding="utf-8") == after


def test_every_shipped_observation_has_a_role_and_calibrated_scenarios_declare_their_fit() -> None:
    for path in SCENARIOS.glob("*.yaml"):
        scenario = load_scenario(path)
        roles = {o.role for o in scenario.observed}
        # a scenario with calibrate observations declares what is fitted to them, and vice versa
        assert ("calibrate" in roles) == (scenario.calibration is not None), path.name
    assert [p.name for p in shipped_scenarios()] == [
        "china-2025-licensing.yaml",
        "gallium-2023.yaml",
        "germanium-2023.yaml",
        "japan-2010.yaml",
    ]


@pytest.fixture(scope="module")
def shipped_backtest(default: cp.Dataset) -> cp.Backtest:
    return cp.backtest(dataset=default)


def test_the_shipped_validation_scores_do_not_get_worse(shipped_backtest: cp.Backtest) -> None:
    result = shipped_backtest
    got = result.scores.set_index(["scenario", "role"])["mean_abs_log_error"]
    for name, committed in VALIDATION_SCORES.items():
        assert got[(name, "validate")] <= committed + VALIDATION_TOLERANCE, (name, got[(name, "validate")])
    # the calibrated months are met (the shares were fitted to them)
    # the calibrated exports are met; one price exponent cannot meet both Dy's 3x and Y's 45x
    assert got[("china-2025-licensing", "calibrate")] == pytest.approx(0.108, abs=0.005)
    # gallium: five approval shares and the price exponent, each met by its one observation
    assert got[("gallium-2023", "calibrate")] < 0.001
    # germanium: three approval shares and the price exponent, each met by its one observation
    assert got[("germanium-2023", "calibrate")] < 0.001


#: Years where China's simulated share of Japan's imports is more than 8 points from the cited
#: one (issue 12's bar), measured (docs/backtest.md); 2024 is the calibrate observation of the
#: reversion rate.
JAPAN_SHARE_MISSES = {
    "2020-01": "68.0% simulated against 58%: one reversion rate cannot give both the 2012-20 plateau "
    "and the 2021-24 rise",
}


@pytest.mark.parametrize(
    "period",
    [
        pytest.param(p, marks=pytest.mark.xfail(strict=True, reason=JAPAN_SHARE_MISSES[p]))
        if p in JAPAN_SHARE_MISSES
        else p
        for p in ["2011-01", "2012-01", "2014-01", "2018-01", "2020-01", "2022-01", "2023-01", "2024-01"]
    ],
)
def test_chinas_share_of_japans_imports_is_within_8_points(shipped_backtest: cp.Backtest, period: str) -> None:
    card = shipped_backtest.scorecard
    row = card[
        (card["scenario"] == "japan-2010")
        & (card["metric"] == "import_share")
        & (card["origin_id"] == "CHN")
        & (card["period"].astype(str) == period)
    ]
    assert len(row) == 1
    assert abs(row["simulated"].iloc[0] - row["observed"].iloc[0]) <= 0.08


def test_backtest_command_prints_the_scorecard_and_fits(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    scenario = tmp_path / "lic.yaml"
    scenario.write_text(
        "name: lic\nstart: 2025-01\nhorizon_months: 4\n"
        "export_controls:\n"
        "  - {name: l, controller: CHN, commodities: [ndfeb_magnet], targets: {all_but: [CHN]},\n"
        "     instrument: {kind: licence, approval_share: 0.9}, start: 2025-03}   # the fitted share\n"
        "observed:\n"
        "  - {role: calibrate, metric: export_ratio, commodity: ndfeb_magnet, region: CHN, period: 2025-03,"
        " value: 0.5, source: s}\n"
        "  - {role: validate, metric: export_ratio, commodity: ndfeb_magnet, region: CHN, period: 2025-04,"
        " value: 0.5, source: s}\n"
        "calibration:\n  parameters: [{path: 'export_controls[0].instrument.approval_share', lower: 0.1, upper: 1}]\n"
        "  max_evaluations: 25\n",
        encoding="utf-8",
    )
    assert main(["backtest", str(scenario), "-f", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(
        "scenario,role,metric,region_id,origin_id,outside_id,commodity_id,period,months,observed"
    )
    assert [line.split(",")[1] for line in lines[1:]] == ["calibrate", "validate"]
    assert main(["backtest", str(scenario), "--fit", "--write", "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    fitted = doc["parameters"][0]["fitted"]
    assert doc["parameters"][0]["shipped"] == 0.9
    assert fitted < 0.9
    by_role = {r["role"]: r["mean_abs_log_error"] for r in doc["scores"]}
    assert by_role["calibrate"] < 0.01
    assert f"approval_share: {fitted:.10g}}}, start: 2025-03}}   # the fitted share" in scenario.read_text(
        encoding="utf-8"
    )
    code = main(["backtest", str(scenario), "--write"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--write writes fitted values; add --fit" in err


def test_the_report_shows_each_observation_with_its_role() -> None:
    run = cp.simulate(Scenario.model_validate(_tiny()), tiny_dataset())
    html = run.html()
    assert "<td>calibrate</td>" in html
    assert "<td>validate</td>" in html
    assert "calibrate: 0.693 over 1; validate: 0.118 over 1" in html
    assert list(run.tables["observed"]["role"]) == ["calibrate", "validate"]


def test_a_fit_to_an_observation_the_model_cannot_simulate_is_refused() -> None:
    raw = _tiny()
    raw["observed"][0]["region"] = "CHE"  # CHE exports nothing: no export ratio to fit to
    with pytest.raises(cp.ChokepointError, match="a calibrate observation has no simulated value"):
        fit_scenario(Scenario.model_validate(raw), tiny_dataset())


def test_a_scenario_with_demand_multipliers_fits() -> None:
    # the trials rebuild the scenario from a dump: year keys of multipliers must survive it
    raw = _tiny(demand=[{"sector": "lamps", "region": "CHE", "multipliers": {2024: 1.0, 2025: 1.1}}])
    fit = fit_scenario(Scenario.model_validate(raw), tiny_dataset(), max_evaluations=4)
    assert fit.scenario.demand[0].multipliers == {2024: 1.0, 2025: 1.1}
