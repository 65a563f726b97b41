"""Sweeps: declared uncertain parameters, samplers checked against their distributions, Sobol and
Morris indices against analytic values, PRIM on a known box, and evaluation by hand on the tiny
dataset and identical on every executor."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from chokepoint.cli import main
from chokepoint.errors import ChokepointError
from chokepoint.scenario import Scenario, ScenarioError, load_scenario
from chokepoint.scenario.uncertain import RankCorrelation, UncertainParameter
from chokepoint.simulation import build_plan, scenario_baseline
from chokepoint.sweeps import sweep, with_parameters
from chokepoint.sweeps.analyse import morris_indices, percentiles, prim, sobol_indices
from chokepoint.sweeps.evaluate import evaluate_draws
from chokepoint.sweeps.portfolio import cvar, load_portfolio, portfolio
from chokepoint.sweeps.samplers import sample
from tests.test_backtest import _tiny
from tests.tiny import tiny_dataset

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "examples" / "scenarios"
SWEEPS = SCENARIOS.parent / "sweeps"
APPROVAL = "export_controls[0].instrument.approval_share"


def _p(path: str, distribution: str, **shape: Any) -> UncertainParameter:
    return UncertainParameter.model_validate({"path": path, "distribution": distribution, "source": "test", **shape})


def _tiny_sweep(draws: int = 8, **extra: Any) -> Scenario:
    """The tiny licence scenario (tests/test_backtest.py): CHE's only supplier lets ``approval``
    of its 2.5 t a month through from March, so CHE's shortfall is (1 − approval) of its demand."""
    raw = _tiny()
    raw.pop("calibration")
    raw["focus"] = [{"region": "CHE"}]
    raw["uncertainty"] = {
        "draws": draws,
        "seed": 1,
        "parameters": [
            {"path": APPROVAL, "distribution": "uniform", "low": 0.2, "high": 1.0, "source": "test"},
            {"path": "price_scarcity_exponent", "distribution": "uniform", "low": 1.0, "high": 5.0, "source": "t"},
        ],
        **extra,
    }
    return Scenario.model_validate(raw)


# --- samplers ---------------------------------------------------------------------------------


def test_a_latin_hypercube_puts_one_draw_in_each_stratum_of_each_parameter() -> None:
    design = sample([_p("a", "uniform", low=0, high=1), _p("b", "uniform", low=0, high=1)], 50, "lhs")
    for j in range(2):
        assert sorted(np.floor(design.unit[:, j] * 50).astype(int)) == list(range(50))


@pytest.mark.parametrize(
    ("parameter", "expected_mean"),
    [
        (_p("a", "uniform", low=2.0, high=4.0), 3.0),
        (_p("a", "triangular", low=0.0, mode=0.3, high=1.5), (0.0 + 0.3 + 1.5) / 3),
        (_p("a", "beta", alpha=2.0, beta=6.0, low=0.0, high=2.0), 2.0 * 2 / 8),
        # the truncated normal's mean from scipy's own truncnorm (an independent implementation)
        (_p("a", "normal", mean=0.5, sd=0.3, low=0.3, high=1.0), stats.truncnorm(-2 / 3, 5 / 3, 0.5, 0.3).mean()),
        (_p("a", "discrete", values=[3.0, 1.0, 2.0], weights=[1.0, 2.0, 1.0]), (3 + 2 + 2) / 4),
    ],
)
def test_draws_follow_their_distribution(parameter: UncertainParameter, expected_mean: float) -> None:
    values = sample([parameter], 20_000, "lhs", seed=3).values["a"]
    lo, hi = (parameter.low, parameter.high) if parameter.values is None else (1.0, 3.0)
    assert values.between(lo, hi).all()
    assert values.mean() == pytest.approx(expected_mean, abs=0.01)


def test_a_lognormal_keeps_its_median_inside_a_symmetric_truncation() -> None:
    values = sample([_p("a", "lognormal", median=2.0, sigma=0.5, low=1.0, high=4.0)], 10_001, "lhs")
    assert values.values["a"].median() == pytest.approx(2.0, rel=0.01)  # ln 1 and ln 4 are equally far from ln 2


def test_the_root_seed_decides_the_design() -> None:
    ps = [_p("a", "uniform", low=0, high=1)]
    assert sample(ps, 20, seed=5).values.equals(sample(ps, 20, seed=5).values)
    assert not sample(ps, 20, seed=5).values.equals(sample(ps, 20, seed=6).values)


def test_sobol_and_morris_designs_have_their_published_sizes() -> None:
    ps = [_p(name, "uniform", low=0, high=1) for name in ("a", "b", "c")]
    assert len(sample(ps, 16, "sobol").values) == 16 * (3 + 2)  # Saltelli, first and total order
    assert len(sample(ps, 5, "morris").values) == 5 * (3 + 1)  # one trajectory: d + 1 points
    with pytest.raises(ChokepointError, match="power of two"):
        sample(ps, 20, "sobol")


def test_rank_correlations_are_induced_without_changing_the_marginals() -> None:
    ps = [
        _p("a", "uniform", low=0, high=1),
        _p("b", "triangular", low=0, mode=1, high=2),
        _p("c", "uniform", low=0, high=1),
    ]
    pairs = [RankCorrelation(between=("a", "b"), rank=0.7), RankCorrelation(between=("a", "c"), rank=-0.4)]
    plain = sample(ps, 4000, "lhs", seed=2)
    correlated = sample(ps, 4000, "lhs", seed=2, correlations=pairs)
    rho = correlated.values.corr(method="spearman")
    assert rho.loc["a", "b"] == pytest.approx(0.7, abs=0.03)
    assert rho.loc["a", "c"] == pytest.approx(-0.4, abs=0.03)
    assert rho.loc["b", "c"] == pytest.approx(0.0, abs=0.03)  # not given: independent
    for column in plain.values:  # the same draws of each parameter, only reordered
        assert np.array_equal(np.sort(plain.values[column]), np.sort(correlated.values[column]))
    with pytest.raises(ChokepointError, match="assume independent inputs"):
        sample(ps, 16, "sobol", correlations=pairs)


# --- analyses ---------------------------------------------------------------------------------


def _ishigami(x: pd.DataFrame, a: float = 7.0, b: float = 0.1) -> pd.DataFrame:
    y = np.sin(x["x1"]) + a * np.sin(x["x2"]) ** 2 + b * x["x3"] ** 4 * np.sin(x["x1"])
    return pd.DataFrame({"y": y})


def test_sobol_indices_of_the_ishigami_function_match_the_analytic_ones() -> None:
    """Ishigami & Homma (1990), a = 7, b = 0.1: S1 = (0.3139, 0.4424, 0), ST = (0.5576, 0.4424, 0.2437)."""
    ps = [_p(name, "uniform", low=-np.pi, high=np.pi) for name in ("x1", "x2", "x3")]
    design = sample(ps, 4096, "sobol", seed=1)
    table = sobol_indices(design, _ishigami(design.values), "y").set_index("parameter")
    assert table["S1"].to_dict() == pytest.approx({"x1": 0.3139, "x2": 0.4424, "x3": 0.0}, abs=0.03)
    assert table["ST"].to_dict() == pytest.approx({"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}, abs=0.03)


def test_morris_mu_star_is_the_change_per_whole_range_of_a_linear_model() -> None:
    ps = [_p("a", "uniform", low=0, high=10), _p("b", "uniform", low=0, high=10), _p("c", "uniform", low=5, high=6)]
    design = sample(ps, 10, "morris", seed=4)
    y = pd.DataFrame({"y": design.values["a"] + 5 * design.values["b"]})
    table = morris_indices(design, y, "y").set_index("parameter")
    assert table["mu_star"].to_dict() == pytest.approx({"a": 10.0, "b": 50.0, "c": 0.0})
    assert table["sigma"].to_dict() == pytest.approx({"a": 0.0, "b": 0.0, "c": 0.0}, abs=1e-9)


def test_prim_finds_the_box_where_the_outcome_happens() -> None:
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.random((4000, 3)), columns=["a", "b", "c"])
    box = prim(x, (x["a"] > 0.7) & (x["b"] < 0.4), density=0.95)
    limits = box.limits.set_index("parameter")
    assert limits.loc["a", "low"] == pytest.approx(0.7, abs=0.03)
    assert limits.loc["b", "high"] == pytest.approx(0.4, abs=0.05)
    assert not limits.loc["c", "restricted"]
    assert limits.loc["a", "qp_value"] < 1e-6  # both restrictions are real, not noise
    assert limits.loc["b", "qp_value"] < 1e-6
    assert box.density >= 0.95
    assert box.coverage > 0.8


def test_percentiles_are_read_by_outcome() -> None:
    table = percentiles(pd.DataFrame({"y": np.arange(101.0)})).set_index("outcome")
    assert table.loc["y"].to_dict() == pytest.approx({"mean": 50.0, "p05": 5.0, "p50": 50.0, "p95": 95.0})


# --- the scenario block -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameter", "message"),
    [
        ({"path": "export_controls[3].instrument.approval_share"}, "the scenario has no 3 there"),
        ({"path": "observed[0].value"}, "is not a parameter"),
        ({"path": "export_controls[0].name"}, "is 'c', not a number"),
        ({"high": 1.5}, r"approval_share = 1.5 \(an end of its range\) is not valid"),
        ({"distribution": "triangular"}, "a triangular distribution needs mode"),
        ({"mode": 0.5}, "a uniform distribution takes no mode"),
        ({"low": 0.9, "high": 0.5}, "low 0.9 must be below high 0.5"),
        ({"distribution": "normal", "mean": 0.5}, "a normal distribution needs sd"),
    ],
)
def test_a_bad_uncertain_parameter_is_one_line(parameter: dict[str, Any], message: str) -> None:
    raw = _tiny()
    raw["uncertainty"] = {
        "parameters": [
            {"path": APPROVAL, "distribution": "uniform", "low": 0.2, "high": 1.0, "source": "t", **parameter}
        ]
    }
    with pytest.raises(ValueError, match=message):
        Scenario.model_validate(raw)


def test_impossible_rank_correlations_are_refused() -> None:
    pairs = [{"between": [APPROVAL, "price_scarcity_exponent"], "rank": 0.5}, {"between": [APPROVAL, "x"], "rank": 0.1}]
    with pytest.raises(ValueError, match="'x' is not one of the parameters' paths"):
        _tiny_sweep(correlations=pairs)


def test_a_file_error_in_an_uncertain_parameter_names_its_line(tmp_path: Path) -> None:
    text = (SCENARIOS / "gallium-2023.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "g.yaml"
    block = (
        "uncertainty:\n  parameters:\n    - {path: horizon_months, distribution: uniform, low: 0, high: 9, source: t}\n"
    )
    bad.write_text(text.split("\nuncertainty:")[0] + "\n" + block, encoding="utf-8")
    line = len((text.split("\nuncertainty:")[0] + "\n").splitlines()) + 3
    with pytest.raises(ScenarioError, match=rf"g\.yaml: .*horizon_months = 0\.0 .*not valid.*\(line {line}\)$"):
        load_scenario(bad)


# --- evaluation -------------------------------------------------------------------------------


def test_each_draw_is_the_scenario_run_with_its_values() -> None:
    """CHE's demand is 2.5 t a month and AUT its only supplier: a licence letting ``a`` through from
    March leaves (1 − a) of it short in each of the 4 months to June, 10·(1 − a) t in all; the price
    exponent, drawn along the engine's batch, does not move the shortfall."""
    result = sweep(tiny_dataset(), _tiny_sweep(), "lhs")
    a = result.inputs[APPROVAL]
    assert a.between(0.2, 1.0).all()
    assert result.outcomes["CHE_peak_shortfall_pct"].to_numpy() == pytest.approx(100 * (1 - a), rel=1e-5)
    assert result.outcomes["CHE_shortfall_t"].to_numpy() == pytest.approx(10 * (1 - a), rel=1e-5)
    assert result.share("CHE_peak_shortfall_pct > 50") == pytest.approx(float((a < 0.5).mean()))
    assert result.share("CHE_peak_shortfall_pct<=50") == pytest.approx(float((a >= 0.5).mean()))
    with pytest.raises(ChokepointError, match="is not OUTCOME OP NUMBER"):
        result.share("CHE_peak_shortfall_pct above 50")
    with pytest.raises(ChokepointError, match="unknown outcome 'JPN_peak_shortfall_pct'"):
        result.share("JPN_peak_shortfall_pct > 50")
    assert result.provenance["draws"] == 8
    assert result.provenance["seed"] == 1


def test_the_fan_chart_bands_are_the_percentiles_of_each_months_shortfall() -> None:
    """Each draw keeps its monthly paths: CHE is short (1 − a) of its demand in every licensed
    month and nothing before, so the 5th percentile of a month's shortfall is 100·(1 − the 95th
    percentile of a), the median 100·(1 − a's median)."""
    result = sweep(tiny_dataset(), _tiny_sweep(draws=20), "lhs")
    a = result.inputs[APPROVAL]
    months = result.paths["CHE_shortfall_pct"]
    licensed = [p for p in months.columns if p >= "2025-03"]
    assert licensed
    assert set(months.columns) - set(licensed)
    for period in months.columns:
        expected = 100 * (1 - a) if period in licensed else 0 * a
        assert months[period].to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-5, abs=1e-9)
    band = result.bands().set_index(["path", "period"]).loc[("CHE_shortfall_pct", licensed[0])]
    assert band["p05"] == pytest.approx(100 * (1 - a.quantile(0.95)), rel=1e-5)
    assert band["p50"] == pytest.approx(100 * (1 - a.quantile(0.5)), rel=1e-5)
    assert band["mean"] == pytest.approx(100 * (1 - a.mean()), rel=1e-5)
    # the outcomes are the paths' worst month
    assert result.outcomes["CHE_peak_shortfall_pct"].to_numpy() == pytest.approx(months.max(axis=1).to_numpy())
    assert list(result.paths.columns.unique("path")) == ["world_shortfall_pct", "CHE_shortfall_pct", "max_price_index"]
    assert list(evaluate_draws(tiny_dataset(), _tiny_sweep(), result.inputs).outcomes) == list(result.outcomes)


def test_sobol_gives_the_approval_share_all_of_the_shortfall() -> None:
    result = sweep(tiny_dataset(), _tiny_sweep(), "sobol", samples=64)
    table = result.sobol("CHE_peak_shortfall_pct").set_index("parameter")
    assert table.loc[APPROVAL, "ST"] == pytest.approx(1.0, abs=0.1)
    assert table.loc["price_scarcity_exponent", "ST"] == pytest.approx(0.0, abs=1e-9)


def test_the_batch_fits_the_cache_and_never_changes_a_draw(monkeypatch: pytest.MonkeyPatch) -> None:
    from chokepoint.simulation import engine
    from chokepoint.simulation.state import active_lanes

    engine_only = [
        {"path": "price_scarcity_exponent", "distribution": "uniform", "low": 1.0, "high": 5.0, "source": "t"},
        {"path": "markets.cover_months", "distribution": "uniform", "low": 0.0, "high": 3.0, "source": "t"},
    ]
    scenario = _tiny_sweep(draws=12, parameters=engine_only)
    ds = tiny_dataset()
    baseline = scenario_baseline(ds, scenario)
    plan = build_plan(baseline, scenario, ds)
    lanes = len(active_lanes(baseline, plan)[0]) * len(baseline.net.regions)
    # the largest power of two of draws whose lane arrays (8 bytes each) fit the budget, at most 256
    assert engine.batch_size(baseline, plan) == 256
    monkeypatch.setattr(engine, "LANE_ARRAY_BYTES", 8 * lanes * 5)
    assert engine.batch_size(baseline, plan) == 4
    monkeypatch.setattr(engine, "LANE_ARRAY_BYTES", 8 * lanes - 1)
    assert engine.batch_size(baseline, plan) == 1
    # draws run one at a time give the numbers they give in one batch of 12, bit for bit
    one_by_one = sweep(ds, scenario, "lhs")
    monkeypatch.undo()
    together = sweep(ds, scenario, "lhs")
    pd.testing.assert_frame_equal(one_by_one.outcomes, together.outcomes, check_exact=True)
    pd.testing.assert_frame_equal(one_by_one.paths, together.paths, check_exact=True)
    assert together.outcomes["CHE_shortfall_t"].nunique() > 1  # the draws differ


@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_every_executor_gives_the_in_process_numbers(executor: str) -> None:
    scenario = _tiny_sweep(draws=24)
    inline = sweep(tiny_dataset(), scenario, "lhs")
    elsewhere = sweep(tiny_dataset(), scenario, "lhs", executor=executor, workers=2)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(inline.outcomes, elsewhere.outcomes, check_exact=True)
    pd.testing.assert_frame_equal(inline.paths, elsewhere.paths, check_exact=True)
    pd.testing.assert_frame_equal(inline.inputs, elsewhere.inputs, check_exact=True)


def test_a_scenario_without_uncertain_parameters_cannot_be_swept() -> None:
    raw = _tiny()
    raw.pop("calibration")
    with pytest.raises(ChokepointError, match=r"declare uncertain parameters under uncertainty\.parameters"):
        sweep(tiny_dataset(), Scenario.model_validate(raw))


@pytest.mark.parametrize("name", ["japan-2010", "gallium-2023"])
def test_the_shipped_sweep_files_fit_their_scenarios(name: str) -> None:
    scenario = with_parameters(load_scenario(SCENARIOS / f"{name}.yaml"), SWEEPS / f"{name}.yaml")
    assert scenario.uncertainty is not None
    assert len(scenario.uncertainty.parameters) == 5
    assert all(p.source.startswith("ASSUMED") for p in scenario.uncertainty.parameters)


def test_a_sweep_file_error_names_the_file_and_line(tmp_path: Path) -> None:
    text = (SWEEPS / "japan-2010.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "p.yaml"
    bad.write_text(text.replace("stockpiles[0]", "stockpiles[7]"), encoding="utf-8")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "stockpiles[0]" in s)
    with pytest.raises(ScenarioError, match=rf"^p\.yaml: parameters\[0\]\.path: .*no 7 there.*\(line {line}\)$"):
        with_parameters(load_scenario(SCENARIOS / "japan-2010.yaml"), bad)


def _gallium_with_two_parameters(tmp_path: Path) -> Path:
    text = (SCENARIOS / "gallium-2023.yaml").read_text(encoding="utf-8")
    scenario = tmp_path / "g.yaml"
    block = (
        "uncertainty:\n  seed: 3\n  parameters:\n"
        "    - {path: 'export_controls[2].instrument.approval_share', distribution: uniform, low: 0.2, high: 0.9,"
        " source: t}\n"
        "    - {path: markets.cover_months, distribution: triangular, low: 1, mode: 2.25, high: 4, source: t}\n"
    )
    scenario.write_text(text.split("\nuncertainty:")[0] + "\n" + block, encoding="utf-8")
    return scenario


def test_sweep_command_prints_indices(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sweep"
    scenario = _gallium_with_two_parameters(tmp_path)
    assert main(["sweep", str(scenario), "-m", "morris", "--n", "3", "--out", str(out), "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {row["outcome"] for row in doc["percentiles"]} >= {"world_peak_shortfall_pct", "USA_peak_shortfall_pct"}
    assert {row["parameter"] for row in doc["morris"]} == {
        "export_controls[2].instrument.approval_share",
        "markets.cover_months",
    }
    outcomes = pd.read_csv(out / "outcomes.csv", index_col="draw")
    assert len(outcomes) == 3 * (2 + 1)
    assert json.loads((out / "provenance.json").read_text())["method"] == "morris"
    assert set(pd.read_csv(out / "indices.csv")["outcome"]) == set(outcomes.columns)
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Which assumptions decide USA_peak_shortfall_pct" in report
    bands = pd.read_csv(out / "bands.csv")
    assert set(bands["path"]) == {"world_shortfall_pct", "USA_shortfall_pct", "max_price_index"}
    usa = bands[bands["path"] == "USA_shortfall_pct"].set_index("period")
    assert len(usa) == load_scenario(scenario).horizon_months
    assert (usa["p05"] <= usa["p50"]).all()
    assert (usa["p50"] <= usa["p95"]).all()
    # each month is at most the draw's worst month, so its percentiles are at most the worst month's
    assert usa["p95"].max() <= outcomes["USA_peak_shortfall_pct"].quantile(0.95) + 1e-9
    assert "Fan chart: USA_shortfall_pct" in report
    assert re.findall(r"<script\b[^>]*\bsrc=", report, re.IGNORECASE) == []  # offline: plotly.js embedded


def test_discover_command_prints_the_box(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = _gallium_with_two_parameters(tmp_path)
    args = [
        "discover",
        str(scenario),
        "--outcome",
        "USA_peak_shortfall_pct > 85",
        "--n",
        "40",
        "-o",
        str(tmp_path / "d"),
    ]
    assert main([*args, "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    outcomes = pd.read_csv(tmp_path / "d" / "outcomes.csv", index_col="draw")
    share = (outcomes["USA_peak_shortfall_pct"] > 85).mean()
    assert doc["share"] == f"USA_peak_shortfall_pct > 85 in {share:.0%} of 40 draws"
    assert 0 < share < 1
    assert "export_controls[2].instrument.approval_share" in {row["parameter"] for row in doc["prim"]}
    assert main(["discover", str(scenario), "--outcome", "USA_peak > 85", "-o", str(tmp_path / "e")]) == 2
    assert "unknown outcome 'USA_peak'" in capsys.readouterr().err
    assert not (tmp_path / "e").exists()  # refused before any draw ran
    assert "Where it happens (PRIM box)" in (tmp_path / "d" / "report.html").read_text(encoding="utf-8")


def test_cp_sweep_loads_nothing_when_given_a_dataset() -> None:
    import chokepoint as cp

    direct = sweep(tiny_dataset(), _tiny_sweep(), samples=4)
    pd.testing.assert_frame_equal(cp.sweep(_tiny_sweep(), tiny_dataset(), samples=4).outcomes, direct.outcomes)


# --- portfolios -------------------------------------------------------------------------------


def test_cvar_is_the_mean_of_the_worst_tail() -> None:
    values = np.arange(1.0, 21.0)
    assert cvar(values) == 20.0  # 5% of 20 worlds: the worst one
    assert cvar(values, tail=0.1) == pytest.approx(19.5)
    assert cvar(np.array([3.0, 1.0])) == 3.0  # at least one world


def _tiny_portfolio(tmp_path: Path, **change: Any) -> Path:
    doc = {
        "outcome": "CHE_shortfall_t",
        "objective": "expected",
        "worlds": 6,
        "seed": 2,
        "add": {"stockpiles": [{"region": "CHE", "commodity": "oxide", "stock_t": 0.0}]},
        "levers": [
            {"name": "stock", "path": "stockpiles[0].stock_t", "levels": [0.0, 2.0, 5.0, 20.0], "unit_cost_usd": 100.0}
            | {"source": "t"}
        ],
    } | change
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_a_stockpile_lever_removes_its_tonnes_from_each_worlds_shortfall(tmp_path: Path) -> None:
    """CHE's shortfall without a stock is 10·(1 − a) t; a stock of s t released on shortfall
    leaves max(0, that − s) in every world, so each mix's mean and CVaR follow by hand."""
    spec, scenario, paths = load_portfolio(_tiny_portfolio(tmp_path), _tiny_sweep())
    assert paths == ["stockpiles[0].stock_t"]  # the tiny scenario has no stockpile of its own
    result = portfolio(tiny_dataset(), scenario, spec, paths)
    table = result.outcomes.pivot(index="world", columns="mix", values="CHE_shortfall_t")
    mixes = result.mixes.set_index("stock")
    none = table[mixes.loc[0.0, "mix"]]
    assert none.min() > 0
    for stock in (2.0, 5.0, 20.0):
        expected = np.maximum(0.0, none - stock)
        assert table[mixes.loc[stock, "mix"]].to_numpy() == pytest.approx(expected.to_numpy(), abs=1e-9)
        assert mixes.loc[stock, "expected"] == pytest.approx(expected.mean(), abs=1e-9)
        assert mixes.loc[stock, "cvar95"] == pytest.approx(expected.max(), abs=1e-9)  # 6 worlds: the worst
        assert mixes.loc[stock, "cost_usd"] == pytest.approx(100.0 * stock)
    assert result.frontier["stock"].tolist() == [0.0, 2.0, 5.0, 20.0]  # each costs more and does better
    assert result.best(600.0)["stock"] == 5.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"outcome": "JPN_shortfall_t"}, "'JPN_shortfall_t' is not a sweep outcome"),
        ({"add": {}}, r"levers\[0\]\.path: stockpiles\[0\]\.stock_t names nothing in add"),
        (
            {"add": {"stockpiles": [{"region": "CHE", "commodity": "oxide", "stock_t": 0.0, "months_of_demand": 1.0}]}},
            r"stockpiles\[0\]\.stock_t = 0\.0 is not valid: give exactly one of stock_t",
        ),
    ],
)
def test_a_bad_portfolio_file_is_one_line(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=rf"^p\.yaml: .*{message}"):
        load_portfolio(_tiny_portfolio(tmp_path, **change), _tiny_sweep())


def test_portfolio_command_prints_the_frontier_and_the_best_mix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = (ROOT / "examples" / "portfolios" / "gallium-2023.yaml").read_text(encoding="utf-8")
    small = shipped.replace("worlds: 16", "worlds: 2").replace("[0.0, 0.5, 1.0, 2.0, 3.0]", "[0.0, 2.0]")
    levers = tmp_path / "p.yaml"
    levers.write_text(small.replace("[0.001, 2.0, 5.0, 10.0]", "[0.001, 5.0]"), encoding="utf-8")
    scenario, parameters = SCENARIOS / "gallium-2023.yaml", SWEEPS / "gallium-2023.yaml"
    args = [
        "portfolio",
        str(scenario),
        str(levers),
        "-p",
        str(parameters),
        "--budget",
        "2e6",
        "-o",
        str(tmp_path / "o"),
    ]
    assert main([*args, "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    mixes = pd.read_csv(tmp_path / "o" / "mixes.csv")
    assert len(mixes) == 4
    assert len(pd.read_csv(tmp_path / "o" / "outcomes.csv")) == 4 * 2
    assert [row["us_stock_t"] for row in doc["frontier"]] == mixes.loc[mixes["on_frontier"], "us_stock_t"].tolist()
    assert doc["best"].startswith("best within USD 2,000,000: us_stock_t ")
    assert "Cost against risk" in (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
