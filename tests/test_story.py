"""A run's headline says what its tables say: the worst-hit region and sector, each region the
scenario asks about, and the largest price rise (chokepoint.report.story)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from chokepoint.dataset import Dataset
from chokepoint.report import render_simulation_report
from chokepoint.report.story import SERVED_BELOW_T, headline, stamp
from chokepoint.scenario import Uncertainty, load_scenario
from chokepoint.simulation import Run, simulate

GALLIUM = Path(__file__).resolve().parents[1] / "examples" / "scenarios" / "gallium-2023.yaml"


def check_headline(run: Run) -> str:
    """Assert ``headline(run)`` against the run's tables, computed here independently; return it."""
    text = headline(run)
    summary, short = run.summary.set_index(["region_id", "sector_id"]), run.tables["shortfall"]
    monthly = short.pivot_table(
        index="period", columns=["region_id", "sector_id"], values=["shortfall_t", "demand_t"], aggfunc="sum"
    )
    share = monthly["shortfall_t"] / monthly["demand_t"]
    sentences = text.split(". ")
    if summary["cumulative_shortfall_t"].max() <= SERVED_BELOW_T:
        assert sentences[0].startswith("All demand is served")
    else:
        region, sector = summary["cumulative_shortfall_t"].idxmax()
        row = summary.loc[(region, sector)]
        first = sentences[0]
        assert first.startswith(f"Worst hit: {region} (")
        peak = share[(region, sector)].idxmax()
        assert f"{row['peak_shortfall_pct']:.1f}% of demand unmet at its peak in {peak}" in first
        assert f"{row['cumulative_shortfall_t']:,.0f} t in all" in first
        if row["months_short"] == 0:
            assert "never short by 1% of demand or more in a month" in first
        else:
            assert ("then recovered" in first) == bool(row["recovered"])
    for f in run.scenario.focus:
        assert f"{f.region} (" in text
    prices = run.tables["prices"].set_index(["period", "commodity_id"])["price_index"]
    period, commodity = prices.idxmax()
    assert (
        sentences[-1]
        == f"The largest price rise is {commodity} at {prices.max():.2f}× its base-year price in {period}."
    )
    return text


@pytest.fixture(scope="module")
def gallium(default: Dataset) -> Run:
    return simulate(default, load_scenario(GALLIUM).model_copy(update={"uncertainty": Uncertainty(draws=20, seed=1)}))


def test_the_gallium_headline_names_the_worst_hit_and_the_us(gallium: Run) -> None:
    text = check_headline(gallium)
    usa = gallium.summary.set_index(["region_id", "sector_id"]).loc[("USA", "other")]
    assert f"Asked about: USA (other uses), {usa['peak_shortfall_pct']:.1f}% of demand unmet" in text
    peaks = gallium.tables["uncertainty_peaks"].set_index(["region_id", "sector_id"])
    worst = gallium.summary.set_index(["region_id", "sector_id"])["cumulative_shortfall_t"].idxmax()
    lo, hi = peaks.loc[worst, "peak_shortfall_pct_p05"], peaks.loc[worst, "peak_shortfall_pct_p95"]
    assert f"(5–95% over 20 draws: {lo:.0f}–{hi:.0f}%)" in text


def test_without_a_shock_nobody_is_short(default: Dataset) -> None:
    calm = load_scenario(GALLIUM).model_copy(update={"export_controls": [], "observed": [], "calibration": None})
    text = check_headline(simulate(default, calm))
    assert text.startswith("All demand is served in every month from 2023-07 to 2025-12")
    assert "Asked about: USA (other uses), all demand served" in text


def test_the_report_opens_with_the_headline_question_and_stamp(gallium: Run) -> None:
    page = render_simulation_report(gallium)
    header = page[page.index("<header>") : page.index("<h2>Summary</h2>")]
    assert headline(gallium) in header
    assert gallium.scenario.description.replace("'", "&#39;") in header
    p = gallium.provenance
    assert stamp(gallium) in header
    assert f"fingerprint {p.dataset_fingerprint[:12]}" in stamp(gallium)
    assert "20 Monte Carlo draws (seed 1)" in stamp(gallium)
    assert pd.Timestamp(p.created).year >= 2026
