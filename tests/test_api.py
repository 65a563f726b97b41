"""The Python API a notebook lives in: lazy ``import chokepoint``, no public name shadowing a
module, cp.simulate from the local store, run.report and run.plot."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import plotly.graph_objects as go
import pytest

import chokepoint as cp
from chokepoint.simulation import Run

SCENARIOS = Path(__file__).resolve().parents[1] / "examples" / "scenarios"


def test_import_chokepoint_stays_light() -> None:
    code = "import sys, chokepoint; print('pandas' in sys.modules, 'plotly' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize("name", [n for n in cp.__all__ if n != "__version__"])
def test_every_public_name_resolves_and_shadows_no_module(name: str) -> None:
    value = getattr(cp, name)
    if importlib.util.find_spec(f"chokepoint.{name}") is not None:
        # A submodule of that name exists: the public name must be that module.
        assert value is importlib.import_module(f"chokepoint.{name}"), name


def test_import_as_gives_the_module_not_a_function() -> None:
    import chokepoint.runfiles as runfiles
    import chokepoint.scenario as scenario

    assert runfiles.__name__ == "chokepoint.runfiles"
    assert scenario.__name__ == "chokepoint.scenario"


@pytest.fixture(scope="module")
def run() -> Run:
    scenario = cp.Scenario.from_yaml(SCENARIOS / "china-2025-licensing.yaml")
    short = scenario.model_copy(update={"horizon_months": 18, "uncertainty": None})
    return cp.simulate(short)  # the scenario's datasets, from the local store


def test_simulate_loads_the_scenarios_datasets(run: Run) -> None:
    assert run.provenance.dataset_fingerprint == cp.load(["default"]).fingerprint
    assert run.summary.iloc[0]["cumulative_shortfall_t"] > 0
    ticks: list[int] = []
    again = cp.simulate(run.scenario, cp.default_dataset(), on_period=ticks.append)
    assert ticks == list(range(18))
    assert again.tables["shortfall"].equals(run.tables["shortfall"])


def test_report_writes_the_offline_page(run: Run, tmp_path: Path) -> None:
    page = run.report(tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "china-2025-licensing" in page
    assert page == run.html()


def test_plots_are_plotly_figures_with_data(run: Run) -> None:
    figures = [run.plot.shortfall(), run.plot.prices(), run.plot.flows(), run.plot.flows("2025-06"), run.plot.stocks()]
    assert all(isinstance(f, go.Figure) for f in figures)
    prices, flows = figures[1], figures[2]
    # buyers' inventories carry the magnet users through; the heavy rare-earth metals held from
    # August (the fitted approval) leave their users short
    metals = run.plot.shortfall("metal")
    worst = run.summary.iloc[0]["region_id"]
    trace = next(t for t in metals.data if t.name == worst)
    assert max(trace.y) > 0
    assert trace.x[0] == "2025-01"
    assert {t.name for t in prices.data} == set(run.tables["chain"]["commodity_id"])
    assert flows.data[0].type == "sankey"
    assert sum(flows.data[0].link.value) > 0
