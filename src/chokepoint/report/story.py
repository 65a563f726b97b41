"""The answer a run gives, in words: its headline and its stamp.

The headline names the region and sector worst hit (the most tonnes unmet; its peak share of
demand unmet, the month, how long it lasts, whether it recovers within the horizon, the Monte
Carlo band where draws ran), then each region and sector the scenario's ``focus`` asks about,
then the largest price rise. Every figure is read from the run's ``summary``,
``uncertainty_peaks`` and ``prices`` tables, so the sentence and the tables cannot disagree
(tests/test_story.py reads them back).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from chokepoint.network import OTHER_SECTOR
from chokepoint.simulation.tabulate import RECOVERED_BELOW

if TYPE_CHECKING:
    from chokepoint.simulation.run import Run

__all__ = ["SERVED_BELOW_T", "headline", "stamp"]

#: Unmet demand over the whole horizon below which the headline says all is served: what its
#: whole-tonne figures would print as 0 t.
SERVED_BELOW_T = 0.5


def _band(run: Run, region: str, sector: str) -> str:
    peaks = run.tables["uncertainty_peaks"]
    row = peaks[(peaks["region_id"] == region) & (peaks["sector_id"] == sector)]
    if row.empty:
        return ""
    lo, hi = row["peak_shortfall_pct_p05"].iloc[0], row["peak_shortfall_pct_p95"].iloc[0]
    return f" (5–95% over {run.provenance.draws} draws: {lo:.0f}–{hi:.0f}%)"


def _course(run: Run, row: pd.Series) -> str:
    """``REGION (sector), X% of demand unmet at its peak in MONTH …; T t in all, short from A to B``."""
    sector = "other uses" if row["sector_id"] == OTHER_SECTOR else row["sector_id"]
    who = f"{row['region_id']} ({sector})"
    threshold = f"{100 * RECOVERED_BELOW:.0f}%"
    if row["cumulative_shortfall_t"] <= SERVED_BELOW_T:
        return f"{who}, all demand served"
    band = _band(run, row["region_id"], row["sector_id"])
    unmet = f"{row['peak_shortfall_pct']:.1f}% of demand unmet at its peak in {row['peak_period']}{band}"
    total = f"{row['cumulative_shortfall_t']:,.0f} t in all"
    if row["months_short"] == 0:
        return f"{who}, never short by {threshold} of demand or more in a month ({unmet}; {total})"
    first: pd.Period = row["first_short"]
    last = first + int(row["recovery_months"]) - 1
    span = (
        f"short from {first} to {last} ({row['months_short']} months at {threshold} or more), then recovered"
        if row["recovered"]
        else f"short from {first} and still short in {run.scenario.end}"
    )
    return f"{who}, {unmet}; {total}, {span}"


def _focus_rows(run: Run) -> list[pd.Series]:
    """Per focus entry, its summary row (the region's worst-hit sector when no sector is named)."""
    summary, out = run.summary, []
    for f in run.scenario.focus:
        rows = summary[summary["region_id"] == f.region]
        if f.sector is not None:
            rows = rows[rows["sector_id"] == f.sector]
        if not rows.empty:
            out.append(rows.iloc[0])  # the summary's order: largest cumulative shortfall first
    return out


def headline(run: Run) -> str:
    """The run's answer in a few sentences (module docs)."""
    summary = run.summary
    seen: set[tuple[str, str]] = set()
    if summary.empty or summary["cumulative_shortfall_t"].iloc[0] <= SERVED_BELOW_T:
        parts = [f"All demand is served in every month from {run.scenario.start} to {run.scenario.end}"]
    else:
        worst = summary.iloc[0]  # the summary's order: largest cumulative shortfall first
        parts = [f"Worst hit: {_course(run, worst)}"]
        seen.add((worst["region_id"], worst["sector_id"]))
    for row in _focus_rows(run):
        if (row["region_id"], row["sector_id"]) not in seen:
            seen.add((row["region_id"], row["sector_id"]))
            parts.append(f"Asked about: {_course(run, row)}")
    prices = run.tables["prices"]
    if not prices.empty:
        top = prices.loc[prices["price_index"].idxmax()]
        parts.append(
            f"The largest price rise is {top['commodity_id']} at {top['price_index']:.2f}× its base-year price "
            f"in {top['period']}"
        )
    return ". ".join(parts) + "."


def stamp(run: Run) -> str:
    """Mode, dataset fingerprint, version, seed and draws, and when the run was made."""
    p = run.provenance
    draws = f"{p.draws} Monte Carlo draws (seed {p.seed})" if p.draws else "no Monte Carlo draws"
    return (
        f"{p.mode} mode · datasets {', '.join(run.scenario.datasets)} (fingerprint {p.dataset_fingerprint[:12]}) · "
        f"chokepoint {p.chokepoint_version} · {draws} · run {p.created}"
    )
