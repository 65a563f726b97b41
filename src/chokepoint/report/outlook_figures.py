"""The outlook's charts as Plotly figures, one pure function each: a tidy table in, a figure out.

:mod:`chokepoint.report.outlook` embeds them in the outlook's HTML page. Every axis names its unit
(t/yr, points, % of supply); colours follow one material, driver, stage or status through a figure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from chokepoint.report.figures import colour

__all__ = [
    "STATUS_COLOURS",
    "balance_figure",
    "concentration_figure",
    "demand_figure",
    "dependence_figure",
    "driver_columns",
    "driver_years",
    "pipeline_gantt",
    "pressure_drivers_figure",
    "pressure_heatmap",
    "pressure_order",
]

#: Panels per row in the small-multiple figures.
COLUMNS_PER_ROW = 3
#: Years the driver breakdown shows, beside the first and last (the IEA's milestone years).
MILESTONES = (2030, 2040)
#: Gantt bar colours per ``facilities.status``, from running to least certain.
STATUS_COLOURS = {
    "operating": "#3f9142",
    "construction": "#1f77b4",
    "financed": "#9467bd",
    "planned": "#ff7f0e",
    "stalled": "#d64545",
}
#: Longest project label on the Gantt's axis.
LABEL_CHARS = 48
_MARGIN = {"l": 60, "r": 10, "t": 50, "b": 40}


def _grid(panels: Sequence[str], row_height: int = 260) -> tuple[go.Figure, int]:
    rows = max(math.ceil(len(panels) / COLUMNS_PER_ROW), 1)
    cols = min(max(len(panels), 1), COLUMNS_PER_ROW)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(panels), vertical_spacing=min(0.3 / rows, 0.12))
    fig.update_layout(height=120 + row_height * rows, margin=_MARGIN, hovermode="x unified")
    return fig, cols


def _cell(n: int, cols: int) -> dict[str, int]:
    row, col = divmod(n, cols)
    return {"row": row + 1, "col": col + 1}


def pressure_order(pressure: pd.DataFrame) -> list[str]:
    """Materials by rank in the last year (rank 1 first), then by best rank in any year, so a
    material that leaves the ranking still has a place."""
    last = pressure[pressure["year"] == pressure["year"].max()].set_index("material")["rank"]
    best = pressure.groupby("material")["rank"].min()
    key = pd.DataFrame({"last": last.reindex(best.index), "best": best}).fillna(np.inf)
    return [str(m) for m in key.sort_values(["last", "best"]).index]


def driver_columns(pressure: pd.DataFrame) -> list[str]:
    """The ``*_points`` columns of the pressure table: the score's parts."""
    return [str(c) for c in pressure.columns if str(c).endswith("_points")]


def _driver_label(column: str) -> str:
    return column.removesuffix("_points").replace("_", " ")


def driver_years(years: Iterable[Any]) -> list[int]:
    """The first year, the milestones 2030 and 2040 when covered, and the last year."""
    ys = sorted({int(y) for y in years})
    if not ys:
        return []
    return sorted({ys[0], ys[-1], *(y for y in MILESTONES if y in ys)})


def balance_figure(balance: pd.DataFrame, order: Sequence[str] | None = None) -> go.Figure:
    """One panel per material: demand against expected supply, with the supply's p10–p90 band
    shaded (t/yr). ``order``: materials first in this order (default: the table's)."""
    materials = [str(m) for m in pd.unique(balance["material"])]
    if order is not None:
        materials = [m for m in order if m in materials] + [m for m in materials if m not in order]
    fig, cols = _grid(materials)
    lines = [("demand", "demand_t", colour(1), "solid"), ("expected supply", "supply_t", colour(0), "solid")]
    for n, material in enumerate(materials):
        g = balance[balance["material"] == material].sort_values("year")
        at = _cell(n, cols)
        fig.add_scatter(x=g["year"], y=g["supply_p90_t"], mode="lines", line={"width": 0, "color": colour(0)},
                        showlegend=False, hoverinfo="skip", **at)  # fmt: skip
        fig.add_scatter(x=g["year"], y=g["supply_p10_t"], mode="lines", line={"width": 0, "color": colour(0)},
                        fill="tonexty", fillcolor=colour(0, 0.2), name="supply p10–p90", legendgroup="band",
                        showlegend=n == 0, hovertemplate="%{y:,.0f} t/yr (p10)", **at)  # fmt: skip
        for name, column, c, dash in lines:
            fig.add_scatter(x=g["year"], y=g[column], name=name, legendgroup=name, showlegend=n == 0, mode="lines",
                            line={"color": c, "dash": dash}, hovertemplate="%{y:,.0f} t/yr", **at)  # fmt: skip
    fig.update_yaxes(title_text="t/yr", rangemode="tozero")
    return fig


def demand_figure(demand: pd.DataFrame, order: Sequence[str] | None = None) -> go.Figure:
    """One panel per material: demand by driver stacked (t/yr), with the part met from recycling
    as a dashed line."""
    materials = [str(m) for m in pd.unique(demand["material"])]
    if order is not None:
        materials = [m for m in order if m in materials] + [m for m in materials if m not in order]
    drivers = [str(d) for d in pd.unique(demand["driver"])]
    fig, cols = _grid(materials)
    by = demand.groupby(["material", "driver", "year"], as_index=False)[["demand_t", "recycled_t"]].sum()
    recycled = by.groupby(["material", "year"], as_index=False)["recycled_t"].sum()
    for n, material in enumerate(materials):
        at = _cell(n, cols)
        for i, driver in enumerate(drivers):
            g = by[(by["material"] == material) & (by["driver"] == driver)].sort_values("year")
            if g.empty:
                continue
            fig.add_scatter(x=g["year"], y=g["demand_t"], name=driver, legendgroup=driver, showlegend=n == 0,
                            mode="lines", stackgroup=f"m{n}", line={"width": 0.5, "color": colour(i)},
                            hovertemplate="%{y:,.0f} t/yr", **at)  # fmt: skip
        r = recycled[recycled["material"] == material].sort_values("year")
        fig.add_scatter(x=r["year"], y=r["recycled_t"], name="from recycling", legendgroup="recycled",
                        showlegend=n == 0, mode="lines", line={"color": "#3e4c59", "dash": "dash"},
                        hovertemplate="%{y:,.0f} t/yr", **at)  # fmt: skip
    fig.update_yaxes(title_text="t/yr", rangemode="tozero")
    return fig


def pressure_heatmap(pressure: pd.DataFrame) -> go.Figure:
    """Pressure score by material × year, materials in rank order (rank 1 at the top)."""
    order = pressure_order(pressure)
    score = pressure.pivot_table(index="material", columns="year", values="score", aggfunc="first").reindex(order)
    rank = pressure.pivot_table(index="material", columns="year", values="rank", aggfunc="first")
    rank = rank.reindex(index=order, columns=score.columns)
    z = score.to_numpy(dtype=float)
    top = float(np.nanmax(z)) if np.isfinite(z).any() else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[int(y) for y in score.columns],
            y=order,
            customdata=rank.to_numpy(dtype=float),
            colorscale="YlOrRd",
            zmin=0,
            zmax=max(top, 1e-9),  # from zero, so pale means little pressure, not the least of the year
            colorbar={"title": {"text": "score (points)"}},
            hovertemplate="%{y} %{x}: %{z:.1f} points, rank %{customdata:.0f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", title_text="material (rank in the last year)")
    fig.update_xaxes(title_text="year", dtick=5)
    fig.update_layout(height=160 + 22 * len(order), margin=_MARGIN)
    return fig


def pressure_drivers_figure(pressure: pd.DataFrame, years: Sequence[int] | None = None) -> go.Figure:
    """The score's parts as stacked bars (points) per material, one panel per year of ``years``
    (default: :func:`driver_years`), materials by score within each panel."""
    shown = driver_years(pressure["year"]) if years is None else [int(y) for y in years]
    drivers = driver_columns(pressure)
    fig = make_subplots(rows=max(len(shown), 1), cols=1, subplot_titles=[str(y) for y in shown],
                        vertical_spacing=min(0.3 / max(len(shown), 1), 0.1))  # fmt: skip
    for row, year in enumerate(shown, start=1):
        g = pressure[pressure["year"] == year].sort_values(["score", "material"], ascending=[False, True])
        for i, column in enumerate(drivers):
            label = _driver_label(column)
            fig.add_bar(x=g["material"].astype(str), y=g[column], name=label, legendgroup=label,
                        showlegend=row == 1, marker={"color": colour(i)},
                        hovertemplate=f"%{{x}} {year}: %{{y:.1f}} points from {label}<extra></extra>",
                        row=row, col=1)  # fmt: skip
    fig.update_layout(barmode="relative", height=120 + 300 * max(len(shown), 1), margin=_MARGIN)
    fig.update_yaxes(title_text="points")
    return fig


def _panel_lines(
    frame: pd.DataFrame,
    panel: str,
    line: str,
    y: pd.Series,
    hover: str,
    customdata: list[tuple[Any, ...]] | None = None,
) -> go.Figure:
    """One panel per value of ``panel``, one line per value of ``line`` over years (``y`` aligned
    with ``frame``), each line named once in the legend wherever it first appears."""
    panels = [str(p) for p in pd.unique(frame[panel])]
    lines = [str(v) for v in pd.unique(frame[line])]
    fig, cols = _grid(panels)
    shown: set[str] = set()
    data = pd.Series(customdata if customdata is not None else [None] * len(frame), index=frame.index)
    for n, name in enumerate(panels):
        at = _cell(n, cols)
        for i, label in enumerate(lines):
            g = frame[(frame[panel].astype(str) == name) & (frame[line].astype(str) == label)].sort_values("year")
            if g.empty:
                continue
            extra = {"customdata": list(data[g.index])} if customdata is not None else {}
            fig.add_scatter(x=g["year"], y=y[g.index], name=label, legendgroup=label, showlegend=label not in shown,
                            mode="lines", line={"color": colour(i)}, hovertemplate=hover.replace("{line}", label),
                            **extra, **at)  # fmt: skip
            shown.add(label)
    return fig


def concentration_figure(concentration: pd.DataFrame) -> go.Figure:
    """One panel per stage: the largest producer's share (top-1, % of the stage's world output)
    of each material by year; the hover names the producer and the stage's HHI."""
    c = concentration
    custom = list(zip(c["top1_region"].astype(str), c["hhi"].astype(float), strict=True))
    hover = "{line}: %{y:.1f}% (%{customdata[0]}), HHI %{customdata[1]:,.0f}<extra></extra>"
    fig = _panel_lines(c, "stage", "material", 100.0 * c["top1_share"], hover, custom)
    fig.update_yaxes(title_text="top-1 share (%)", range=[0, 100])
    return fig


def dependence_figure(dependence: pd.DataFrame) -> go.Figure:
    """One panel per commodity: the share of each region's supply that rests on the controller
    once traced upstream (% of supply), by year."""
    hover = "{line}: %{y:.1f}%<extra></extra>"
    fig = _panel_lines(dependence, "commodity_id", "region_id", dependence["controller_share_pct"], hover)
    fig.update_yaxes(title_text="traced share on the controller (%)", range=[0, 100])
    return fig


def _project_hover(p: pd.DataFrame) -> list[str]:
    def fmt(value: Any, spec: str, unit: str = "") -> str:
        return "–" if value is None or pd.isna(value) else f"{value:{spec}}{unit}"

    return [
        f"{r['name']} ({r['region_id']}, {r['commodity_id']}), {r['status']}<br>"
        f"target {fmt(r['target_year'], '.0f')}; first year p50 {fmt(r['first_year_p50'], '.0f')}, "
        f"p90 {fmt(r['first_year_p90'], '.0f')}<br>"
        f"online by target: {fmt(100 * r['p_online_by_target'], '.0f', '%')}; "
        f"nameplate {fmt(r['capacity_t_per_yr'], ',.0f', ' t/yr')}"
        for r in p.to_dict("records")
    ]


def _short(name: str) -> str:
    """A project's name cut to :data:`LABEL_CHARS` for the axis (the hover has it whole)."""
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1].rstrip(" ,") + "…"


def pipeline_gantt(projects: pd.DataFrame, to: int, as_of: int) -> go.Figure:
    """One bar per project with a target year, from its target year to ``to`` and coloured by
    status, labelled "name (region)"; behind it the slip band, shaded dark from the target to the
    median first year (p50) and light on to the p90 first year. The axis starts just before
    ``as_of`` (an operating plant's bar from decades ago is cut there; the hover keeps its year)."""
    p = projects[projects["target_year"].notna()].sort_values(["target_year", "name"]).reset_index(drop=True)
    y = np.arange(len(p))
    target = p["target_year"].to_numpy(dtype=float)
    p50 = np.fmax(p["first_year_p50"].to_numpy(dtype=float), target)
    p90 = np.fmax(p["first_year_p90"].to_numpy(dtype=float), p50)
    fig = go.Figure()
    bands = [("slip to median first year (p50)", target, p50, 0.45), ("slip to p90 first year", p50, p90, 0.2)]
    for name, start, end, alpha in bands:
        fig.add_bar(y=y, base=start, x=end - start, orientation="h", width=0.8, name=name,
                    marker={"color": f"rgba(62,76,89,{alpha})"}, hoverinfo="skip")  # fmt: skip
    hover = np.asarray(_project_hover(p), dtype=object)
    statuses = [str(s) for s in pd.unique(p["status"])]
    for i, status in enumerate(statuses):
        mine = (p["status"] == status).to_numpy()
        fig.add_bar(y=y[mine], base=target[mine], x=to + 1 - target[mine], orientation="h", width=0.35, name=status,
                    meta="project", marker={"color": STATUS_COLOURS.get(status, colour(i + 5))},
                    hovertext=hover[mine], hovertemplate="%{hovertext}<extra></extra>")  # fmt: skip
    labels = [f"{_short(str(n))} ({r})" for n, r in zip(p["name"], p["region_id"], strict=True)]
    fig.update_yaxes(tickvals=y, ticktext=labels, autorange="reversed", automargin=True)
    fig.update_xaxes(title_text="year", range=[as_of - 1.5, to + 1], dtick=5)
    fig.add_vline(x=as_of + 1, line={"dash": "dot", "color": "#52606d", "width": 1})
    fig.add_annotation(x=as_of + 1, y=1, yref="paper", text=f"outlook from {as_of + 1}", showarrow=False,
                       xanchor="left", yanchor="bottom", font={"size": 11, "color": "#52606d"})  # fmt: skip
    fig.update_layout(
        barmode="overlay",
        height=160 + 26 * max(len(p), 1),
        margin={**_MARGIN, "l": 10, "t": 60},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.01},
    )  # above: clear of the year axis
    return fig
