"""Monte Carlo size estimated before a run: the formula by hand, the budget, and the refusal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chokepoint.cli import main
from chokepoint.errors import ChokepointError
from chokepoint.scenario import Scenario
from chokepoint.simulation import build_baseline, build_plan, simulate
from chokepoint.simulation.engine import MAX_BATCH
from chokepoint.simulation.uncertainty import (
    MEMORY_FRACTION,
    NODE_STEPS_PER_S,
    MonteCarloTooLargeError,
    estimate_monte_carlo,
    memory_budget_bytes,
)
from tests.tiny import tiny_dataset

BUDGET = "CHOKEPOINT_MEMORY_BUDGET_GB"


def _scenario(draws: int) -> Scenario:
    return Scenario.model_validate(
        {"name": "t", "start": "2025-01", "horizon_months": 12, "material": "m", "uncertainty": {"draws": draws}}
    )


def test_estimate_by_hand() -> None:
    """1,000 draws, 10 months, 2 regions × 4 commodities (8 nodes), 3 sectors."""
    est = estimate_monte_carlo(draws=1_000, months=10, regions=2, sectors=3, commodities=4)
    assert MAX_BATCH == 256  # the estimate counts the largest batch
    # kept per draw, twice: world 10 + prices 10·4 + peaks 2·3 + rates 3 + factor and scale 2·8 = 75
    kept = 1_000 * 2 * 75
    # one chunk: 3·256·10·2·3 (demand, shortfall, ratio) + 256·10·4 (prices) + 12·256·4·2² (allocation)
    working = 46_080 + 10_240 + 49_152
    assert est.memory_bytes == 8 * (kept + working) == 2_043_776
    assert est.seconds == pytest.approx(1_000 * 10 * 8 / NODE_STEPS_PER_S)


def test_small_runs_count_only_their_draws_in_the_working_set() -> None:
    est = estimate_monte_carlo(draws=10, months=1, regions=1, sectors=1, commodities=1)
    # kept 10·2·(1·2 + 1 + 3 + 2) = 160; chunk of 10: 10·(3 + 1 + 12) = 160
    assert est.memory_bytes == 8 * (160 + 160)


def test_estimate_grows_with_every_dimension() -> None:
    base = estimate_monte_carlo(2_000, 120, 26, 6, 4).memory_bytes
    for bigger in ((4_000, 120, 26, 6, 4), (2_000, 240, 26, 6, 4), (2_000, 120, 52, 6, 4), (2_000, 120, 26, 12, 4)):
        assert estimate_monte_carlo(*bigger).memory_bytes > base


def test_budget_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BUDGET, "0.25")
    assert memory_budget_bytes() == 250_000_000
    monkeypatch.delenv(BUDGET)
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert memory_budget_bytes() == int(MEMORY_FRACTION * physical)


@pytest.mark.parametrize("text", ["lots", "-1", "0", "inf", "nan"])
def test_a_bad_budget_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv(BUDGET, text)
    with pytest.raises(ChokepointError, match=f"{BUDGET}='{text}' is not a positive number of GB") as exc:
        memory_budget_bytes()
    assert "\n" not in str(exc.value)


def test_too_many_draws_are_refused_before_any_month_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    ds = tiny_dataset()
    scenario = _scenario(2_000)
    baseline = build_baseline(ds, scenario.material, scenario.base_year, scenario.capacity_utilisation)
    plan = build_plan(baseline, scenario, ds)
    R, S, K = len(baseline.net.regions), len(baseline.sectors), len(baseline.commodities)
    need = estimate_monte_carlo(2_000, len(plan.periods), R, S, K)
    budget_bytes = need.memory_bytes // 2
    monkeypatch.setenv(BUDGET, str(budget_bytes / 1e9))
    months: list[int] = []
    with pytest.raises(MonteCarloTooLargeError) as exc:
        simulate(ds, scenario, on_period=months.append)
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(f"2000 Monte Carlo draws need an estimated {need.memory_bytes / 1e9:.3g} GB")
    assert "use fewer draws" in message
    assert not months  # refused up front, not after the deterministic run
    # the suggested count fits the budget and one more does not
    most = int(message.split("(about ")[1].split(" ")[0])
    assert 0 < most < 2_000
    assert estimate_monte_carlo(most, len(plan.periods), R, S, K).memory_bytes <= budget_bytes
    assert estimate_monte_carlo(most + 1, len(plan.periods), R, S, K).memory_bytes > budget_bytes


def test_within_budget_runs_and_lp_mode_is_not_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    ds = tiny_dataset()
    monkeypatch.setenv(BUDGET, "1")
    assert simulate(ds, _scenario(20)).provenance.draws == 20
    monkeypatch.setenv(BUDGET, "1e-9")  # lp mode skips the draws, so nothing to refuse
    assert simulate(ds, _scenario(20), mode="lp").provenance.draws == 0
    with pytest.raises(MonteCarloTooLargeError, match="about 0 fit"):
        simulate(ds, _scenario(20))


def test_the_cli_refuses_in_one_line_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = tmp_path / "mc.yaml"
    scenario.write_text("name: mc\nstart: 2025-01\nhorizon_months: 6\n", encoding="utf-8")
    monkeypatch.setenv(BUDGET, "0.001")
    code = main(["simulate", str(scenario), "--draws", "100000", "--out", str(tmp_path / "run")])
    out, err = capsys.readouterr()
    assert code == 2
    line = err.strip()  # the progress display may end its line first
    assert line.startswith("chokepoint: error: 100000 Monte Carlo draws need an estimated ")
    assert "budget of 0.001 GB; use fewer draws" in line
    assert "\n" not in line
    assert "Traceback" not in err + out
    assert not (tmp_path / "run").exists()
