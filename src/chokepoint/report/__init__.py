"""One simulation run as a self-contained, offline HTML page.

The page embeds plotly.js once and draws every figure of :mod:`chokepoint.report.figures` (the
same ones ``run.plot`` returns) from the run's registered tables: the supply chain as a Sankey
(first month and worst month), shortfall by region and by sector, prices, stocks and each
controller's share of supply. Pure: returns a string; :meth:`Run.report` writes the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import jinja2
import pandas as pd
import plotly.graph_objects as go
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from chokepoint.report import figures as fg
from chokepoint.report.story import headline, stamp

if TYPE_CHECKING:
    from chokepoint.simulation.run import Run

__all__ = ["render_simulation_report"]

#: Rows of the summary table in the header.
SUMMARY_ROWS = 12

_PLOT_CONFIG = {"displaylogo": False, "responsive": True}


@dataclass(frozen=True)
class _Figure:
    title: str
    caption: str
    html: Markup


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("chokepoint.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _html(fig: go.Figure, div_id: str) -> Markup:
    """A figure's ``<div>`` and script, without plotly.js (embedded once in the page)."""
    html = fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=_PLOT_CONFIG)
    return Markup(html)


def render_simulation_report(run: Run, *, notes: list[str] | None = None, title: str | None = None) -> str:
    """The HTML page of ``run``: its headline, question and stamp (:mod:`chokepoint.report.story`),
    the summary table, chain Sankeys, shortfall, price,
    stock and controller-share time series, then ``notes`` as paragraphs (escaped text).
    ``title`` defaults to the scenario's name.

    Offline: plotly.js is embedded once and no element loads anything from the network.
    """
    tables = run.tables
    periods = [str(p) for p in pd.unique(tables["prices"]["period"])]
    stages = fg.stages(tables)
    page = _environment().get_template("simulation.html.j2")
    return page.render(
        scenario=run.scenario.name if title is None else title,
        headline=headline(run),
        question=run.scenario.description,
        stamp=stamp(run),
        first_period=periods[0] if periods else "",
        last_period=periods[-1] if periods else "",
        n_periods=len(periods),
        chain=[f"{stage} ({k})" for k, stage in stages.items()],
        summary_columns=[(label, c in _NUMERIC_COLUMNS) for c, label in _SUMMARY_COLUMNS.items()],
        summary=_summary_rows(run.summary),
        summary_total=len(run.summary),
        figures=_figures(run),
        notes=list(notes or []),
        observed=_observed_rows(tables["observed"]),
        observed_scores=_observed_scores(tables["observed"]),
        fit=_fit(tables["base_year_fit"]),
        floors=_floor_rows(tables["price_floors"]),
        projects=_project_rows(tables["projects"]),
        plotlyjs=Markup(get_plotlyjs()),
    )


def _figures(run: Run) -> list[_Figure]:
    """Every figure the run has data for, in page order."""
    tables = run.tables
    final = fg.final_commodity(tables)
    out = _sankeys(tables)
    if not fg.shortfall_rows(tables).empty:
        out.append(_Figure(f"Shortfall at the {final} stage by region", "Unserved demand as a share of demand, "
                           "all sectors, per month.",
                           _html(fg.shortfall_figure(tables), "shortfall-region")))  # fmt: skip
        out.append(_Figure(f"Shortfall at the {final} stage by sector, most affected regions", f"The "
                           f"{fg.PANEL_REGIONS} "
                           f"regions with the largest cumulative shortfall at the {final} stage.",
                           _html(fg.shortfall_by_sector_figure(tables), "shortfall-sector")))  # fmt: skip
    out.append(_Figure("Price index by commodity", "Price relative to the baseline (1 = baseline price).",
                       _html(fg.prices_figure(tables["prices"]), "prices")))  # fmt: skip
    if not tables["uncertainty_world"].empty:
        caption = (
            f"Median and 5th–95th percentile band over {run.provenance.draws} Monte Carlo draws of the engine's "
            "uncertain parameters (the scenario's uncertainty ranges; fast mode)."
        )
        out.append(_Figure("Uncertainty", caption, _html(fg.uncertainty_figure(tables), "uncertainty")))
    if not tables["stocks"].empty:
        out.append(_Figure("Stockpiles", "Stock held at the end of each month (t), per region and commodity.",
                           _html(fg.stocks_figure(tables["stocks"]), "stocks")))  # fmt: skip
    caption = (
        "Direct: share of the region's supply shipped by the controller. Traced to a stage: share of the "
        "supply that rests on the controller at that upstream stage, through the month's shipments. "
        f"The {fg.SHARE_REGIONS} regions with the largest demand for {final}."
    )
    for i, c in enumerate(pd.unique(tables["controller_share"]["controller_id"])):
        div = "controller-share" if i == 0 else f"controller-share-{i}"
        fig = fg.controller_share_figure(tables, str(c))
        out.append(_Figure(f"{c}'s share of {final} supply", caption, _html(fig, div)))
    return out


def _sankeys(tables: fg.Tables) -> list[_Figure]:
    """The chain in the first month and, when it differs, the month of the largest shortfall,
    with the same regions named in both."""
    periods = list(pd.unique(tables["prices"]["period"]))
    if not periods or tables["chain"].empty:
        return []
    worst = fg.worst_period(tables["shortfall"])
    shown = [periods[0]] if worst is None or worst == periods[0] else [periods[0], worst]
    flows = tables["flows"]
    named = fg._largest(flows[flows["period"].isin(shown)])
    caption = (
        "Monthly shipments (t) of each commodity from the exporter's stage to the importer's next stage; "
        "a region's own supply is a link to itself. A link into the next stage is everything the region "
        f"received, including any part used directly by final sectors. Regions beyond the largest "
        f"{fg.SANKEY_REGIONS} by throughput are pooled as “{fg.OTHER}”."
    )
    titles = [
        f"Supply chain, baseline month {shown[0]}",
        f"Supply chain, worst month {shown[-1]} (largest total shortfall)",
    ]
    return [
        _Figure(title, caption, _html(fg.sankey_figure(tables, month, named), div))
        for title, month, div in zip(titles, shown, ["sankey-baseline", "sankey-worst"], strict=False)
    ]


# --- tables ---------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else str(value)


def _project_rows(projects: pd.DataFrame) -> list[list[str]]:
    """One row per capacity project (empty without projects)."""
    return [
        [
            str(r["project"]),
            f"{r['region_id']} {r['commodity_id']}",
            f"{r['capacity_t_per_yr']:,.0f}",
            _text(r["first_capacity"]),
            _text(r["full_capacity"]),
            f"{r['output_t']:,.0f}",
            f"{r['learning_rate']:.2f}",
            f"{r['unit_cost_index_at_end']:.2f}",
            f"{r['capex_usd'] / 1e6:,.0f}" if r["capex_usd"] > 0 else "–",
        ]
        for r in projects.to_dict("records")
    ]


def _floor_rows(floors: pd.DataFrame) -> list[list[str]]:
    """Price-floor payments by year (empty without floors)."""
    if floors.empty:
        return []
    by_year = floors.assign(year=floors["period"].dt.year).groupby(["region_id", "commodity_id", "year"])
    table = by_year.agg(
        floor=("floor_usd_per_kg", "mean"),
        market=("market_usd_per_kg", "mean"),
        output=("covered_output_t", "sum"),
        paid=("payment_usd", "sum"),
    ).reset_index()
    return [
        [
            f"{r['region_id']} {r['commodity_id']}",
            str(r["year"]),
            f"{r['floor']:,.0f}",
            f"{r['market']:,.1f}",
            f"{r['output']:,.0f}",
            f"{r['paid'] / 1e6:,.1f}",
        ]
        for r in table.to_dict("records")
    ]


def _fit(fit: pd.DataFrame) -> dict[str, object]:
    """The base year's fit: its summary line and the worst five targets (empty without a fit)."""
    if fit.empty:
        return {}
    first = fit.iloc[0]
    rows = [
        [r["target_id"], f"{r['reported']:,.4g}", f"{r['reconciled']:,.4g}", f"{r['residual_pct']:+.1f}%", r["reason"]]
        for r in fit.to_dict("records")
    ]
    return {"targets": int(first["targets"]), "within": f"{first['within_10pct_share_pct']:.1f}", "rows": rows}


def _observed_rows(observed: pd.DataFrame) -> list[list[str]]:
    """Rows of the observed-vs-simulated table (empty without observations)."""
    return [
        [
            str(r["period"]) + (f", {r['months']} months" if r["months"] > 1 else ""),
            str(r["role"]),
            str(r["metric"]).replace("_", " "),
            str(r["commodity_id"])
            + (f" ({r['region_id']}" if isinstance(r["region_id"], str) else "")
            + (f" from {r['origin_id']}" if isinstance(r["origin_id"], str) else "")
            + (")" if isinstance(r["region_id"], str) else "")
            + (f" (outside {r['outside_id']})" if isinstance(r.get("outside_id"), str) else ""),
            f"{r['observed']:.3g}",
            f"{r['simulated']:.3g}",
            f"{r['simulated_over_observed']:.2f}",
            f"{r['abs_log_error']:.3f}",
            str(r["source"]),
        ]
        for r in observed.to_dict("records")
    ]


def _observed_scores(observed: pd.DataFrame) -> list[str]:
    """``"validate: 0.123 over 3"`` per role present: the mean absolute log error, the backtest's score."""
    by_role = observed.groupby("role")["abs_log_error"].agg(["mean", "size"])
    return [f"{role}: {row['mean']:.3f} over {int(row['size'])}" for role, row in by_role.iterrows()]


# --- the summary table ----------------------------------------------------------------------------

_SUMMARY_COLUMNS = {
    "region_id": "region",
    "sector_id": "sector",
    "peak_shortfall_pct": "peak shortfall (%)",
    "peak_period": "peak month",
    "cumulative_shortfall_t": "cumulative shortfall (t)",
    "months_short": "months short",
    "first_short": "first short",
    "recovery_months": "recovery (months)",
    "recovered": "recovered",
}

_NUMERIC_COLUMNS = {"peak_shortfall_pct", "cumulative_shortfall_t", "months_short", "recovery_months"}


def _cell(column: str, value: Any) -> str:
    if value is None or pd.isna(value):
        return "–"
    if column == "peak_shortfall_pct":
        return f"{float(value):.1f}"
    if column == "cumulative_shortfall_t":
        return f"{float(value):,.0f}"
    if column == "recovery_months":
        return f"{int(value)}"
    if column == "recovered":
        return "yes" if value else "no"
    return str(value)


def _summary_rows(summary: pd.DataFrame) -> Sequence[list[str]]:
    """The header's table: the rows with the largest cumulative shortfall, formatted as text."""
    top = summary.sort_values("cumulative_shortfall_t", ascending=False).head(SUMMARY_ROWS)
    return [[_cell(c, row[c]) for c in _SUMMARY_COLUMNS] for row in top.to_dict("records")]
