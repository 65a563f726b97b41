"""The technology outlook as one self-contained, offline HTML page (issue 13 item 6).

The page opens with a headline generated from the results and a stamp (scenario, dataset and its
fingerprint, chokepoint version, date), then draws from the outlook's tables: the balance of
demand and expected supply per material with the supply's p10–p90 band, demand by driver, a
heat-map of pressure scores by material × year, the drivers behind each score, the concentration
path, traced dependence, the project pipeline as a Gantt chart with slip bands, the IEA
reproduction and the notes. plotly.js is embedded once; nothing is fetched from the network.

The outlook is anything with the attributes of
:class:`~chokepoint.report.outlook_tables.OutlookLike` (re-exported here), so this module does not
depend on how the outlook is computed. A table that is missing, empty, short of a column or on the
wrong scale becomes a visible note where its figure would be, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from chokepoint.report import _environment, _html
from chokepoint.report import outlook_figures as of
from chokepoint.report.outlook_headline import outlook_headline, outlook_stamp
from chokepoint.report.outlook_tables import TABLE_COLUMNS, OutlookLike, check_outlook, outlook_table, table_problem

__all__ = [
    "FIGURE_IDS",
    "TABLE_COLUMNS",
    "OutlookLike",
    "check_outlook",
    "outlook_headline",
    "outlook_stamp",
    "render_outlook_report",
    "table_problem",
]


#: The ``id`` of each figure's ``<div>``, by table.
FIGURE_IDS = {
    "balance": "outlook-balance",
    "demand": "outlook-demand",
    "pressure": "outlook-pressure",
    "drivers": "outlook-drivers",
    "concentration": "outlook-concentration",
    "dependence": "outlook-dependence",
    "pipeline": "outlook-pipeline",
}
#: The IEA reproduction passes a row when the bottom-up total is within this of IEA's (issue 13).
IEA_TOLERANCE_PCT = 10.0
#: Materials listed per year in the shortage table, largest share of demand first.
SHORTAGE_ROWS = 5


@dataclass(frozen=True)
class _Section:
    title: str
    caption: str
    html: Markup | None = None
    note: str = ""


# --- the page ------------------------------------------------------------------------------------


def _figure(outlook: Any, name: str, title: str, caption: str, draw: Callable[[pd.DataFrame], go.Figure]) -> _Section:
    table_name = "pressure" if name == "drivers" else name
    problem = table_problem(outlook, table_name)
    if problem is not None:
        return _Section(title, caption, note=f"Not drawn: {problem}.")
    return _Section(title, caption, html=_html(draw(outlook_table(outlook, table_name)), FIGURE_IDS[name]))


def _order(outlook: Any) -> list[str] | None:
    return of.pressure_order(outlook.pressure) if table_problem(outlook, "pressure") is None else None


def _sections(outlook: Any) -> list[_Section]:
    """Every figure in page order; one the outlook cannot feed is a note in its place."""
    order = _order(outlook)

    def demand(d: pd.DataFrame) -> go.Figure:
        mine = d[d["scenario"] == outlook.scenario]
        return of.demand_figure(d if mine.empty else mine, order)

    pressure = outlook_table(outlook, "pressure")
    years = of.driver_years(pressure["year"]) if table_problem(outlook, "pressure") is None else []
    return [
        _figure(
            outlook,
            "balance",
            "Demand and expected supply per material",
            "Demand (all drivers) against expected supply, t/yr; the shaded band runs from the supply's 10th to "
            "its 90th percentile. Materials in pressure-rank order.",
            lambda b: of.balance_figure(b, order),
        ),
        _figure(
            outlook,
            "demand",
            "Demand by driver",
            f"Demand under {outlook.scenario} stacked by technology driver, t/yr; dashed: the part met from "
            "recycled end-of-life material.",
            demand,
        ),
        _figure(
            outlook,
            "pressure",
            "Pressure score by material and year",
            "The pressure score (points; higher is more pressure) per material and year, materials ordered by "
            f"their rank in {years[-1] if years else outlook.to}, rank 1 at the top.",
            of.pressure_heatmap,
        ),
        _figure(
            outlook,
            "drivers",
            "What drives each score",
            f"Each score split into its drivers' points, stacked, in {', '.join(map(str, years))}: a material "
            "rises because one of these grows.",
            of.pressure_drivers_figure,
        ),
        _figure(
            outlook,
            "concentration",
            "Concentration path",
            "The largest producer's share of world output (top-1, %) per stage and material, by year; the hover "
            "names the producer and the stage's HHI (0–10,000).",
            of.concentration_figure,
        ),
        _figure(
            outlook,
            "dependence",
            "Traced dependence on the controller",
            "The share of each region's supply (%) that rests on the controller once traced upstream through "
            "the year's projected network.",
            of.dependence_figure,
        ),
        _figure(
            outlook,
            "pipeline",
            "The project pipeline",
            "One bar per project from its target year, coloured by status and labelled name (region). Behind "
            "it the slip band: dark to the median first year (p50), light to the p90 first year, from the "
            "pipeline's Monte Carlo over completion and delay.",
            lambda p: of.pipeline_gantt(p, int(outlook.to), int(outlook.as_of)),
        ),
    ]


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value) or "–"
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    return str(value)


def _top_five_rows(outlook: Any) -> list[list[str]]:
    t = outlook.top_five
    first = pd.to_numeric(t["first_year_in_top_five"], errors="coerce")  # sortable whatever its type
    t = t.assign(_first=first).sort_values(["_first", "material"], na_position="last")
    return [
        [_text(r["material"]), _text(r["first_year_in_top_five"]), _text(r["years_in_top_five"])]
        for r in t.to_dict("records")
    ]


def _number(value: float, spec: str) -> str:
    return "–" if pd.isna(value) else f"{value:{spec}}"


def _shortages(balance: pd.DataFrame) -> tuple[list[int], list[list[str]]]:
    """The milestone years (:func:`~.outlook_figures.driver_years`) and, in them, every material
    whose demand exceeds expected supply: the gap in t and % of demand, and the gap with supply at
    its p90 and p10. Computed from demand and supply, whatever sign ``balance_t`` uses."""
    years = of.driver_years(balance["year"])
    b = balance[balance["year"].isin(years) & (balance["demand_t"] > 0)]
    b = b.assign(
        gap_t=b["demand_t"] - b["supply_t"],
        p90_gap_t=b["demand_t"] - b["supply_p90_t"],
        p10_gap_t=b["demand_t"] - b["supply_p10_t"],
    )
    short = b[b["gap_t"] > 0].assign(gap_pct=lambda d: 100.0 * d["gap_t"] / d["demand_t"])
    short = short.sort_values(["year", "gap_pct", "material"], ascending=[True, False, True])
    counts = short.groupby("year")["material"].size()
    short = short.groupby("year").head(SHORTAGE_ROWS)
    rows = [
        [
            _number(r["year"], ".0f"),
            _text(r["material"]),
            _number(r["demand_t"], ",.0f"),
            _number(r["supply_t"], ",.0f"),
            f"{_number(r['supply_p10_t'], ',.0f')}–{_number(r['supply_p90_t'], ',.0f')}",
            _number(r["gap_t"], ",.0f"),
            _number(r["gap_pct"], ".1f"),
            f"{_number(r['p90_gap_t'], ',.0f')} to {_number(r['p10_gap_t'], ',.0f')}",
        ]
        for r in short.to_dict("records")
    ]
    # after each year's rows, how many more are short that year (the balance chart shows them all)
    at = 0
    for year, n in counts.items():
        at += min(int(n), SHORTAGE_ROWS)
        if n > SHORTAGE_ROWS:
            rows.insert(at, [f"{year:.0f}", f"… and {n - SHORTAGE_ROWS} more short that year"])
            at += 1
    return years, rows


def _iea_rows(iea: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "cells": [
                _text(r["scenario"]),
                _number(r["year"], ".0f"),
                _text(r["bucket"]),
                _number(r["bottom_up_kt"], ",.2f"),
                _number(r["iea_kt"], ",.2f"),
                _number(r["gap_pct"], "+.1f") + "%",
                _text(r["split"]),
            ],
            "outside": bool(abs(r["gap_pct"]) > IEA_TOLERANCE_PCT),
        }
        for r in iea.to_dict("records")  # in the outlook's order
    ]


def _iea_scores(iea: pd.DataFrame) -> list[str]:
    """``"validate: 2 of 3 within ±10%"`` per split."""
    within = iea.assign(ok=iea["gap_pct"].abs() <= IEA_TOLERANCE_PCT).groupby("split")["ok"].agg(["sum", "size"])
    return [
        f"{split}: {int(r['sum'])} of {int(r['size'])} within ±{IEA_TOLERANCE_PCT:.0f}%"
        for split, r in within.iterrows()
    ]


def render_outlook_report(outlook: OutlookLike, *, created: date | None = None) -> str:
    """The HTML page of ``outlook``: headline and stamp, then the figures and tables of the module
    docs. ``created`` is the date in the stamp (default: today, UTC). A missing or mistyped scalar
    (scenario, to, as_of, dataset, fingerprint) raises :class:`~chokepoint.errors.ChokepointError`;
    a table that cannot be drawn becomes a note.

    Offline: plotly.js is embedded once and no element loads anything from the network.
    """
    check_outlook(outlook)
    created = datetime.now(UTC).date() if created is None else created
    problems = [p for n in TABLE_COLUMNS if (p := table_problem(outlook, n)) is not None]
    iea_ok = table_problem(outlook, "iea") is None
    years, shortages = _shortages(outlook.balance) if table_problem(outlook, "balance") is None else ([], [])
    notes = getattr(outlook, "notes", None)
    return (
        _environment()
        .get_template("outlook.html.j2")
        .render(
            scenario=outlook.scenario,
            as_of=outlook.as_of,
            to=outlook.to,
            headline=outlook_headline(outlook),
            stamp=outlook_stamp(outlook, created),
            sections=_sections(outlook),
            shortage_years=", ".join(map(str, years)),
            shortages=shortages,
            shortage_rows=SHORTAGE_ROWS,
            top_five=_top_five_rows(outlook) if table_problem(outlook, "top_five") is None else [],
            top_five_note=table_problem(outlook, "top_five") or "",
            iea=_iea_rows(outlook.iea) if iea_ok else [],
            iea_scores=_iea_scores(outlook.iea) if iea_ok else [],
            iea_note=table_problem(outlook, "iea") or "",
            tolerance=f"{IEA_TOLERANCE_PCT:.0f}",
            problems=problems,
            notes=[str(n) for n in notes] if isinstance(notes, (list, tuple)) else [],
            plotlyjs=Markup(get_plotlyjs()),
        )
    )
