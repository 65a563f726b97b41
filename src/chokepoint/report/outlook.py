"""The technology outlook as one self-contained, offline HTML page (issue 13 item 6).

The page opens with a headline generated from the results and a stamp (scenario, dataset and its
fingerprint, chokepoint version, date), then draws from the outlook's tables: the balance of
demand and expected supply per material with the supply's p10–p90 band, demand by driver, a
heat-map of pressure scores by material × year, the drivers behind each score, the concentration
path, traced dependence, the project pipeline as a Gantt chart with slip bands, the IEA
reproduction and the notes. plotly.js is embedded once; nothing is fetched from the network.

The outlook is anything with the attributes of :class:`OutlookLike`, so this module does not
depend on how the outlook is computed. A table that is missing, empty or lacks a column becomes a
visible note where its figure would be, never a traceback.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from chokepoint import __version__
from chokepoint.outlook import Pipeline
from chokepoint.report import _environment, _html
from chokepoint.report import outlook_figures as of

__all__ = [
    "FIGURE_IDS",
    "TABLE_COLUMNS",
    "OutlookLike",
    "outlook_headline",
    "outlook_stamp",
    "render_outlook_report",
    "table_problem",
]


class OutlookLike(Protocol):
    """What the report reads from an outlook (read-only, so a frozen dataclass satisfies it).
    Shares are fractions (0–1) except ``controller_share_pct`` (0–100); HHI is 0–10,000."""

    @property
    def scenario(self) -> str: ...
    @property
    def to(self) -> int: ...
    @property
    def as_of(self) -> int: ...
    @property
    def dataset(self) -> str: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def demand(self) -> pd.DataFrame: ...
    @property
    def balance(self) -> pd.DataFrame: ...
    @property
    def concentration(self) -> pd.DataFrame: ...
    @property
    def dependence(self) -> pd.DataFrame: ...
    @property
    def pressure(self) -> pd.DataFrame: ...
    @property
    def top_five(self) -> pd.DataFrame: ...
    @property
    def pipeline(self) -> Pipeline: ...
    @property
    def iea(self) -> pd.DataFrame: ...
    @property
    def notes(self) -> Sequence[str]: ...


#: Columns the report reads from each table; those not in ``_TEXT`` must be numeric.
#: ``pressure`` also needs one or more ``<driver>_points`` columns (the score's parts).
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "demand": ("scenario", "year", "driver", "material", "demand_t", "recycled_t"),
    "balance": (
        "year",
        "material",
        "demand_t",
        "supply_t",
        "supply_p10_t",
        "supply_p90_t",
        "balance_t",
        "deficit_share",
    ),
    "concentration": ("year", "stage", "material", "hhi", "top1_region", "top1_share"),
    "dependence": ("year", "region_id", "commodity_id", "controller_share_pct"),
    "pressure": ("material", "year", "score", "rank"),
    "top_five": ("material", "first_year_in_top_five", "years_in_top_five"),
    "pipeline": (
        "name",
        "region_id",
        "commodity_id",
        "status",
        "target_year",
        "first_year_p50",
        "first_year_p90",
        "p_online_by_target",
        "capacity_t_per_yr",
    ),
    "iea": ("scenario", "year", "bucket", "bottom_up_kt", "iea_kt", "gap_pct", "split"),
}
_TEXT = {
    "scenario",
    "driver",
    "material",
    "stage",
    "top1_region",
    "region_id",
    "commodity_id",
    "name",
    "status",
    "bucket",
    "split",
    "years_in_top_five",
    "first_year_in_top_five",
}

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


@dataclass(frozen=True)
class _Section:
    title: str
    caption: str
    html: Markup | None = None
    note: str = ""


def _table(outlook: Any, name: str) -> Any:
    if name == "pipeline":
        return getattr(getattr(outlook, "pipeline", None), "projects", None)
    return getattr(outlook, name, None)


#: Valid range of a measure (NaN is allowed: a figure not known); a value outside it means a unit or
#: scale mix-up upstream (a percentage where a fraction belongs), so the figure is not drawn.
_RANGES: dict[str, tuple[float, float]] = {
    **dict.fromkeys(
        [
            "demand_t",
            "recycled_t",
            "supply_t",
            "supply_p10_t",
            "supply_p90_t",
            "capacity_t_per_yr",
            "bottom_up_kt",
            "iea_kt",
        ],
        (0.0, math.inf),
    ),
    **dict.fromkeys(["top1_share", "p_online_by_target"], (0.0, 1.0)),
    "controller_share_pct": (0.0, 100.0),
    "hhi": (0.0, 10_000.0),
}


def _value_problem(table: pd.DataFrame, name: str) -> str | None:
    """The first value outside its range, an infinite value, a year that is not a number, or an
    HHI below 10,000 × top-1 share² (impossible on the 0–10,000 scale)."""
    for c in TABLE_COLUMNS[name]:
        if c in _TEXT:
            continue
        values = table[c].astype(float)
        if c == "year" and values.isna().any():
            return "column year: a row has no year"
        lo, hi = _RANGES.get(c, (-math.inf, math.inf))
        infinite = values[np.isinf(values)]
        if len(infinite):
            return f"column {c}: {infinite.iloc[0]:g} is not a finite number"
        out = values[(values < lo) | (values > hi)]
        if len(out):
            scale = " (a fraction, not a percentage)" if hi == 1.0 else ""
            return f"column {c}: {out.iloc[0]:g} is outside {lo:g}–{hi:g}{scale}"
    if name == "concentration":
        floor = 10_000.0 * table["top1_share"].astype(float) ** 2
        low = table[table["hhi"] < floor - 1.0]
        if len(low):
            r = low.iloc[0]
            return (
                f"column hhi: {r['hhi']:g} is below 10,000 × top-1 share² ({10_000 * r['top1_share'] ** 2:,.0f}) "
                f"for {r['material']} {r['stage']} {r['year']:.0f}; is HHI on the 0–1 scale?"
            )
    return None


def table_problem(outlook: Any, name: str) -> str | None:
    """Why table ``name`` of ``outlook`` cannot be drawn (one line), or None when it can:
    missing, not a DataFrame, missing columns, a non-numeric measure, no rows, a value out of range
    (:func:`_value_problem`), no ``*_points``."""
    label = "pipeline.projects" if name == "pipeline" else name
    table = _table(outlook, name)
    if table is None:
        return f"{label}: not in this outlook"
    if not isinstance(table, pd.DataFrame):
        return f"{label}: expected a pandas DataFrame, got {type(table).__name__}"
    if table.empty:
        return f"{label}: no rows"
    missing = [c for c in TABLE_COLUMNS[name] if c not in table.columns]
    if missing:
        return f"{label}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
    for c in TABLE_COLUMNS[name]:
        if c not in _TEXT and not pd.api.types.is_numeric_dtype(table[c]):
            return f"{label}, column {c}: expected numbers, got {table[c].dtype} (e.g. {table[c].iloc[0]!r})"
    bad = _value_problem(table, name)
    if bad is not None:
        return f"{label}, {bad}"
    if name == "pressure" and not of.driver_columns(table):
        return "pressure: no <driver>_points columns, so the score cannot be broken down"
    return None


# --- the headline --------------------------------------------------------------------------------


def _t(value: float) -> str:
    """Tonnes as an analyst reads them: thousands separated, small amounts to three digits."""
    return f"{value:,.0f} t" if abs(value) >= 100 else f"{value:.3g} t"


def _leaders(pressure: pd.DataFrame) -> pd.Series:
    """The material ranked first in each year (the higher score breaks a tie)."""
    ranked = pressure.dropna(subset=["rank"]).sort_values(["year", "rank", "score"], ascending=[True, True, False])
    return ranked.groupby("year")["material"].first()


def _top_pressure(pressure: pd.DataFrame, scenario: str) -> str:
    leaders = _leaders(pressure)
    if leaders.empty:
        return ""
    years, names = [int(y) for y in leaders.index], [str(m) for m in leaders]
    last, top = years[-1], names[-1]
    i = len(names) - 1
    while i > 0 and names[i - 1] == top:  # back to the start of its current run at rank 1
        i -= 1
    text = f"Under {scenario}, {top} is the top pressure point "
    if i == 0:
        text += f"throughout {years[0]}–{last}"
    else:
        text += f"from {years[i]} to {last}" if years[i] < last else f"in {last}"
        text += f", taking over from {names[i - 1]}"
    row = pressure[(pressure["material"] == top) & (pressure["year"] == last)]
    parts = row[of.driver_columns(pressure)].iloc[0].dropna().sort_values(ascending=False)
    drivers = " and ".join(
        f"{str(c).removesuffix('_points').replace('_', ' ')} ({v:.0f})" for c, v in parts[:2].items()
    )
    return f"{text}; its {last} score of {row['score'].iloc[0]:.0f} points comes mostly from {drivers}."


def _gap(gap_t: float) -> str:
    return _t(gap_t) if gap_t > 0 else f"nil ({_t(-gap_t)} to spare)"


def _deficit(balance: pd.DataFrame) -> str:
    year = int(balance["year"].max())
    b = balance[(balance["year"] == year) & (balance["demand_t"] > 0)].copy()
    b["gap_t"] = b["demand_t"] - b["supply_t"]  # from the columns, whatever sign balance_t uses
    b["gap_share"] = b["gap_t"] / b["demand_t"]
    short = b[b["gap_t"] > 0].sort_values(["gap_share", "gap_t"], ascending=False)
    if b["gap_t"].isna().all():
        return ""
    if short.empty:
        return f"In {year} expected supply covers demand for each of the {len(b)} materials in the balance."
    w = short.iloc[0]
    p10_gap, p90_gap = w["demand_t"] - w["supply_p10_t"], w["demand_t"] - w["supply_p90_t"]
    band = (
        ""
        if pd.isna(p10_gap) or pd.isna(p90_gap)
        else (f" (with supply at its p90 the gap is {_gap(p90_gap)}, at its p10 {_gap(p10_gap)})")
    )
    others = f"; {len(short)} of {len(b)} materials are short that year" if len(short) > 1 else ""
    return (
        f"{w['material']} demand exceeds expected supply by {_t(w['gap_t'])} ({100 * w['gap_share']:.0f}% of demand) "
        f"in {year}{band}{others}."
    )


def _concentration(concentration: pd.DataFrame) -> str:
    year = int(concentration["year"].max())
    c = concentration[concentration["year"] == year].dropna(subset=["top1_share"])
    if c.empty:
        return ""
    w = c.sort_values(["top1_share", "hhi"], ascending=False).iloc[0]
    return (
        f"The most concentrated stage in {year} is {w['material']} {w['stage']}: {w['top1_region']} holds "
        f"{100 * w['top1_share']:.0f}% (HHI {w['hhi']:,.0f})."
    )


def _dependence(dependence: pd.DataFrame) -> str:
    year = int(dependence["year"].max())
    d = dependence[dependence["year"] == year].dropna(subset=["controller_share_pct"])
    if d.empty:
        return ""
    w = d.sort_values("controller_share_pct", ascending=False).iloc[0]
    return (
        f"Traced upstream, {w['controller_share_pct']:.0f}% of {w['region_id']}'s {w['commodity_id']} supply "
        f"still rests on the controller in {year}."
    )


def _pipeline(projects: pd.DataFrame) -> str:
    waiting = projects[(projects["status"] != "operating") & projects["p_online_by_target"].notna()]
    late = int((waiting["p_online_by_target"] < 0.5).sum())
    if waiting.empty:
        return ""
    return (
        f"Of the {len(waiting)} projects not yet operating, {late} are more likely than not to miss their target year."
    )


_HEADLINE: list[tuple[str, Callable[[pd.DataFrame], str]]] = [
    ("balance", _deficit),
    ("concentration", _concentration),
    ("dependence", _dependence),
    ("pipeline", _pipeline),
]


def outlook_headline(outlook: OutlookLike) -> str:
    """The page's opening sentences from the results: the top pressure point in the last year and
    since when, what drives its score, the largest deficit in the last year with its p10–p90 band,
    the most concentrated stage, the most dependent importer and how many projects will be late.
    A table the report cannot read is left out of the headline (the page notes why)."""
    sentences = []
    if table_problem(outlook, "pressure") is None:
        sentences.append(_top_pressure(outlook.pressure, str(outlook.scenario)))
    for name, sentence in _HEADLINE:
        if table_problem(outlook, name) is None:
            sentences.append(sentence(_table(outlook, name)))
    sentences = [s for s in sentences if s]
    if not sentences:
        return f"The {outlook.scenario} outlook has no table the report can read; see the notes below."
    return " ".join(sentences)


def outlook_stamp(outlook: OutlookLike, created: date) -> str:
    """Scenario, horizon, dataset with its fingerprint, pipeline draws, chokepoint version, date."""
    draws = getattr(getattr(outlook, "pipeline", None), "draws", None)
    parts = [
        f"scenario {outlook.scenario}",
        f"{outlook.as_of} data to {outlook.to}",
        f"dataset {outlook.dataset} (fingerprint {outlook.fingerprint})",
        *([f"pipeline {draws:,} Monte Carlo draws"] if isinstance(draws, int) else []),
        f"chokepoint {__version__}",
        f"{created:%Y-%m-%d}",
    ]
    return " · ".join(parts)


# --- the page ------------------------------------------------------------------------------------


def _figure(outlook: Any, name: str, title: str, caption: str, draw: Callable[[pd.DataFrame], go.Figure]) -> _Section:
    table_name = "pressure" if name == "drivers" else name
    problem = table_problem(outlook, table_name)
    if problem is not None:
        return _Section(title, caption, note=f"Not drawn: {problem}.")
    return _Section(title, caption, html=_html(draw(_table(outlook, table_name)), FIGURE_IDS[name]))


def _order(outlook: Any) -> list[str] | None:
    return of.pressure_order(outlook.pressure) if table_problem(outlook, "pressure") is None else None


def _sections(outlook: Any) -> list[_Section]:
    """Every figure in page order; one the outlook cannot feed is a note in its place."""
    order = _order(outlook)

    def demand(d: pd.DataFrame) -> go.Figure:
        mine = d[d["scenario"] == outlook.scenario]
        return of.demand_figure(d if mine.empty else mine, order)

    pressure = _table(outlook, "pressure")
    years = of.driver_years(pressure["year"]) if table_problem(outlook, "pressure") is None else []
    return [
        _figure(
            outlook,
            "balance",
            "Demand and expected supply per material",
            "Demand (all drivers) against the supply expected from today's producers and the "
            "project pipeline, t/yr; the shaded band is the supply's 10th–90th percentile over the pipeline's "
            "Monte Carlo draws. Materials in pressure-rank order.",
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
            f"their rank in {outlook.to}, rank 1 at the top.",
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
        for r in iea.sort_values(["scenario", "bucket", "year"]).to_dict("records")
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
    docs. ``created`` is the date in the stamp (default: today, UTC).

    Offline: plotly.js is embedded once and no element loads anything from the network.
    """
    created = datetime.now(UTC).date() if created is None else created
    problems = [p for n in TABLE_COLUMNS if (p := table_problem(outlook, n)) is not None]
    iea_ok = table_problem(outlook, "iea") is None
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
