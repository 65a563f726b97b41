"""The simulation report: one offline HTML document with plotly.js embedded once, every figure,
escaped text and the caller's notes."""

from __future__ import annotations

import dataclasses
import re

import pytest
from plotly.offline import get_plotlyjs

from chokepoint.dataset import Dataset
from chokepoint.report import render_simulation_report
from chokepoint.scenario import Scenario
from chokepoint.simulation import Run, simulate

#: A src= or href= attribute of the markup whose value is a network URL.
_REMOTE = re.compile(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
#: Script bodies (the embedded plotly.js and the figures' calls), to leave only the markup.
_SCRIPT_BODY = re.compile(r"(<script\b[^>]*>).*?</script>", re.IGNORECASE | re.DOTALL)


@pytest.fixture(scope="module")
def ban(default: Dataset) -> Run:
    """A 12-month ban on NdFeB magnets from China to the USA from March 2025."""
    scenario = Scenario.model_validate(
        {
            "name": "usa-magnet-ban",
            "start": "2025-01",
            "horizon_months": 12,
            "markets": {"cover_months": 0.0},  # no inventories: the ban bites at once
            "export_controls": [
                {
                    "name": "ban",
                    "controller": "CHN",
                    "commodities": ["ndfeb_magnet"],
                    "targets": {"countries": ["USA"]},
                    "instrument": {"kind": "ban"},
                    "start": "2025-03",
                }
            ],
        }
    )
    return simulate(default, scenario)


@pytest.fixture(scope="module")
def page(ban: Run) -> str:
    return render_simulation_report(ban, notes=["Backtest: magnet exports within 5% of observed."])


def test_one_document_with_the_scenario_and_plotly_once(page: str, ban: Run) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert page.rstrip().endswith("</html>")
    assert page.count("<html") == page.count("</html>") == page.count("<body") == 1
    assert "usa-magnet-ban" in page
    assert "2025-01 to 2025-12" in page
    assert page.count(get_plotlyjs()) == 1
    # The summary table leads with the USA, the region the ban leaves short.
    assert ban.summary.iloc[0]["region_id"] == "USA"
    assert re.search(r"<tbody>\s*<tr><td>USA</td>", page)


def test_every_figure_is_drawn(page: str, ban: Run) -> None:
    # Two Sankeys (baseline and worst month), shortfall by region and by sector, prices and
    # controller share; no stockpiles in this scenario, so no stock figure.
    assert ban.tables["stocks"].empty
    assert page.count('class="plotly-graph-div"') == 6
    assert page.count('"type":"sankey"') == 2
    for div in (
        "sankey-baseline",
        "sankey-worst",
        "shortfall-region",
        "shortfall-sector",
        "prices",
        "controller-share",
    ):
        assert f'id="{div}"' in page
    assert "Supply chain, baseline month 2025-01" in page
    assert "Supply chain, worst month 2025-03" in page  # the ban starts in March and bites at once


def test_nothing_loads_from_the_network(page: str) -> None:
    markup = _SCRIPT_BODY.sub(r"\1</script>", page)
    assert len(markup) < 200_000  # the bundle and figure scripts are gone, the markup is left
    assert _REMOTE.findall(markup) == []
    assert "@import" not in markup
    assert re.findall(r"<script\b[^>]*\bsrc=", page, re.IGNORECASE) == []


def test_text_is_escaped_and_notes_appear(ban: Run) -> None:
    hostile = dataclasses.replace(ban, scenario=ban.scenario.model_copy(update={"name": "<script>alert(1)</script>"}))
    page = render_simulation_report(hostile, notes=["fit <b>R² = 0.9</b>", "second note"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "<p>fit &lt;b&gt;R² = 0.9&lt;/b&gt;</p>" in page
    assert "<p>second note</p>" in page


def test_without_notes_there_is_no_notes_section(ban: Run) -> None:
    assert 'class="notes"' not in render_simulation_report(ban)
