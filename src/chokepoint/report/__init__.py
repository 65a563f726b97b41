"""One simulation run as a self-contained, offline HTML page.

The page embeds plotly.js once and draws every figure from the run's tidy tables: the supply
chain as a Sankey (first month and worst month), shortfall by region and by sector, prices,
stocks and the controller's share of supply. Pure: returns a string; the CLI writes the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2
import pandas as pd
import plotly.graph_objects as go
from markupsafe import Markup
from plotly.colors import qualitative
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from chokepoint.simulation.results import Results

__all__ = ["render_simulation_report"]

#: Regions drawn by name in the Sankey; the rest are pooled as ``OTHER``.
SANKEY_REGIONS = 6
OTHER = "other"
FINAL_USE = "final use"
#: Rows of the summary table in the header.
SUMMARY_ROWS = 12
#: Regions drawn in the by-sector and controller-share panels.
PANEL_REGIONS = 3
SHARE_REGIONS = 4
#: A month counts as short when its shortfall exceeds this fraction of its demand (numerical noise below).
SHORT_BELOW = 1e-9

_PALETTE = qualitative.Plotly + qualitative.D3
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


def render_simulation_report(results: Results, *, notes: list[str] | None = None) -> str:
    """The HTML page of ``results``: header and summary table, chain Sankeys, shortfall, price,
    stock and controller-share time series, then ``notes`` as paragraphs (escaped text).

    Offline: plotly.js is embedded once and no element loads anything from the network.
    """
    tables = results.tables
    periods = _periods(results)
    stages = _chain_stages(results)
    chain = list(stages)
    final = chain[-1] if chain else ""
    figures = _sankeys(tables["flows"], tables["shortfall"], stages, periods)
    figures += _shortfall_figures(tables["shortfall"], final)
    figures.append(_prices_figure(tables["prices"]))
    if "uncertainty_world" in tables:
        figures.append(_uncertainty_figure(tables, results.info.get("draws")))
    if not tables["stocks"].empty:
        figures.append(_stocks_figure(tables["stocks"]))
    figures += _share_figure(tables["controller_share"], tables["shortfall"], final)
    summary = _summary_rows(results.summary)
    page = _environment().get_template("simulation.html.j2")
    return page.render(
        scenario=results.scenario,
        first_period=periods[0] if periods else "",
        last_period=periods[-1] if periods else "",
        n_periods=len(periods),
        chain=[f"{stage} ({k})" for k, stage in stages.items()],
        summary_columns=[
            (label, c in _NUMERIC_COLUMNS) for c, label in _SUMMARY_COLUMNS.items() if c in results.summary.columns
        ],
        summary=summary,
        summary_total=len(results.summary),
        figures=figures,
        notes=list(notes or []),
        observed=_observed_rows(tables.get("observed")),
        floors=_floor_rows(tables.get("price_floors")),
        projects=_project_rows(tables.get("projects")),
        plotlyjs=Markup(get_plotlyjs()),
    )


# --- the chain ------------------------------------------------------------------------------------


def _project_rows(projects: pd.DataFrame | None) -> list[list[str]]:
    """One row per capacity project (empty without projects)."""
    if projects is None or projects.empty:
        return []
    return [
        [
            str(r["project"]),
            f"{r['region_id']} {r['commodity_id']}",
            f"{r['capacity_t_per_yr']:,.0f}",
            str(r["first_capacity"] or "–"),
            str(r["full_capacity"] or "–"),
            f"{r['output_t']:,.0f}",
            f"{r['learning_rate']:.2f}",
            f"{r['unit_cost_index_at_end']:.2f}",
            f"{r['capex_usd'] / 1e6:,.0f}" if r["capex_usd"] > 0 else "–",
        ]
        for r in projects.to_dict("records")
    ]


def _floor_rows(floors: pd.DataFrame | None) -> list[list[str]]:
    """Price-floor payments by year (empty without floors)."""
    if floors is None or floors.empty:
        return []
    by_year = floors.assign(year=floors["period"].str[:4]).groupby(["region_id", "commodity_id", "year"])
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


def _observed_rows(observed: pd.DataFrame | None) -> list[list[str]]:
    """Rows of the observed-vs-simulated table (empty without observations)."""
    if observed is None or observed.empty:
        return []
    return [
        [
            str(r["period"]) + (f", {r['months']} months" if r.get("months", 1) > 1 else ""),
            str(r["metric"]).replace("_", " "),
            str(r["commodity_id"])
            + (f" ({r['region_id']}" if isinstance(r["region_id"], str) else "")
            + (f" from {r['origin_id']}" if isinstance(r.get("origin_id"), str) else "")
            + (")" if isinstance(r["region_id"], str) else ""),
            f"{r['observed']:.3g}",
            f"{r['simulated']:.3g}",
            f"{r['simulated_over_observed']:.2f}",
            str(r["source"]),
        ]
        for r in observed.to_dict("records")
    ]


def _periods(results: Results) -> list[str]:
    """Periods in simulation order (the production table holds every period × region × commodity)."""
    return [str(p) for p in pd.unique(results.tables["production"]["period"])]


def _chain(results: Results) -> list[str]:
    """Commodities in chain order, upstream first (the order ``tabulate`` writes them)."""
    return [str(k) for k in pd.unique(results.tables["production"]["commodity_id"])]


def _chain_stages(results: Results) -> dict[str, str]:
    """Stage name of each commodity, upstream first.

    ``tabulate`` writes one ``traced_<stage>_pct`` column per chain commodity in chain order; when
    the controller is not in the network those columns are absent and the commodity id stands in.
    """
    chain = _chain(results)
    traced = [c for c in results.tables["controller_share"].columns if c.startswith("traced_") and c.endswith("_pct")]
    if len(traced) != len(chain):
        return {k: k for k in chain}
    return {k: c.removeprefix("traced_").removesuffix("_pct") for k, c in zip(chain, traced, strict=True)}


def _colour(i: int, alpha: float = 1.0) -> str:
    hexa = _PALETTE[i % len(_PALETTE)].lstrip("#")
    r, g, b = (int(hexa[j : j + 2], 16) for j in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _worst_period(shortfall: pd.DataFrame) -> str | None:
    """The month of the largest total shortfall (all commodities), or None when nothing is short."""
    by = shortfall.groupby("period", sort=False)[["demand_t", "shortfall_t"]].sum()
    short = by["shortfall_t"] > SHORT_BELOW * by["demand_t"]
    if not short.any():
        return None
    return str(by["shortfall_t"].idxmax())


def _sankeys(flows: pd.DataFrame, shortfall: pd.DataFrame, stages: dict[str, str], periods: list[str]) -> list[_Figure]:
    if not periods or not stages:
        return []
    worst = _worst_period(shortfall)
    shown = [periods[0]] if worst is None or worst == periods[0] else [periods[0], worst]
    snap = flows[flows["period"].isin(shown)]
    throughput = (
        pd.concat([snap.groupby("exporter_id")["flow_t"].sum(), snap.groupby("importer_id")["flow_t"].sum()])
        .groupby(level=0)
        .sum()
    )
    named = [str(r) for r in throughput.sort_values(ascending=False).index[:SANKEY_REGIONS]]
    regions = named + ([OTHER] if len(throughput) > len(named) else [])
    caption = (
        "Monthly shipments (t) of each commodity from the exporter's stage to the importer's next stage; "
        "a region's own supply is a link to itself. A link into the next stage is everything the region "
        f"received, including any part used directly by final sectors. Regions beyond the largest {SANKEY_REGIONS} "
        f"by throughput are pooled as “{OTHER}”."
    )
    out = [
        _Figure(
            title=f"Supply chain, baseline month {shown[0]}",
            caption=caption,
            html=_html(_sankey(flows[flows["period"] == shown[0]], stages, named, regions), "sankey-baseline"),
        )
    ]
    if len(shown) == 2:
        out.append(
            _Figure(
                title=f"Supply chain, worst month {shown[1]} (largest total shortfall)",
                caption=caption,
                html=_html(_sankey(flows[flows["period"] == shown[1]], stages, named, regions), "sankey-worst"),
            )
        )
    return out


def _sankey(flows: pd.DataFrame, stages: dict[str, str], named: list[str], regions: list[str]) -> go.Figure:
    """Nodes are (region, stage); a flow of the commodity made at stage s links the exporter's stage s
    to the importer's stage s + 1 (or to its final use after the last stage)."""
    chain = list(stages)
    columns = [*stages.values(), FINAL_USE]
    f = flows.assign(
        src_region=flows["exporter_id"].where(flows["exporter_id"].isin(named), OTHER),
        dst_region=flows["importer_id"].where(flows["importer_id"].isin(named), OTHER),
        src_col=flows["commodity_id"].map({k: i for i, k in enumerate(chain)}),
    )
    f = f.assign(dst_col=f["src_col"] + 1)
    links = f.groupby(["src_region", "src_col", "dst_region", "dst_col", "commodity_id"], as_index=False)[
        "flow_t"
    ].sum()
    links = links[links["flow_t"] > 0]
    inflow = links.groupby(["dst_region", "dst_col"])["flow_t"].sum()
    outflow = links.groupby(["src_region", "src_col"])["flow_t"].sum()
    size = pd.concat([inflow.rename_axis(["region", "col"]), outflow.rename_axis(["region", "col"])], axis=1)
    size = size.fillna(0.0).max(axis=1)
    nodes = sorted(size.index, key=lambda n: (int(n[1]), regions.index(str(n[0]))))
    index = {n: i for i, n in enumerate(nodes)}
    # Columns left to right by stage, nodes stacked by size within a column.
    xs, ys = [], []
    last = max(len(columns) - 1, 1)
    for col in range(len(columns)):
        in_col = [n for n in nodes if int(n[1]) == col]
        total = float(sum(size[n] for n in in_col)) or 1.0
        top = 0.0
        for n in in_col:
            share = float(size[n]) / total
            xs.append(min(max(col / last, 0.001), 0.999))
            ys.append(min(max(top + share / 2, 0.001), 0.999))
            top += share
    labels = [f"{region} · {columns[int(col)]}" for region, col in nodes]
    node_colour = [_colour(regions.index(str(region))) for region, _ in nodes]
    link_colour = [_colour(regions.index(str(r)), 0.35) for r in links["src_region"]]
    trace = go.Sankey(
        arrangement="snap",
        valueformat=",.0f",
        valuesuffix=" t",
        node={"label": labels, "color": node_colour, "x": xs, "y": ys, "pad": 12, "thickness": 14},
        link={
            "source": [index[(s, c)] for s, c in zip(links["src_region"], links["src_col"], strict=True)],
            "target": [index[(d, c)] for d, c in zip(links["dst_region"], links["dst_col"], strict=True)],
            "value": links["flow_t"].tolist(),
            "label": links["commodity_id"].tolist(),
            "color": link_colour,
        },
    )
    fig = go.Figure(trace)
    fig.update_layout(height=560, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fig


# --- time series ----------------------------------------------------------------------------------


def _html(fig: go.Figure, div_id: str) -> Markup:
    """A figure's ``<div>`` and script, without plotly.js (embedded once in the page)."""
    html = fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=_PLOT_CONFIG)
    return Markup(html)


def _layout(fig: go.Figure, y_title: str, height: int = 420) -> go.Figure:
    fig.update_layout(height=height, margin={"l": 60, "r": 10, "t": 40, "b": 40}, hovermode="x unified")
    fig.update_yaxes(title_text=y_title, rangemode="tozero")
    return fig


def _share_pct(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Shortfall as a percentage of demand, summed over everything not in ``by``."""
    g = frame.groupby(by, as_index=False, sort=False)[["demand_t", "shortfall_t"]].sum()
    g["shortfall_pct"] = 100.0 * g["shortfall_t"] / g["demand_t"]
    return g


def _affected(short: pd.DataFrame) -> list[str]:
    """Regions by cumulative shortfall, then by demand, largest first."""
    g = short.groupby("region_id")[["shortfall_t", "demand_t"]].sum()
    return [str(r) for r in g.sort_values(["shortfall_t", "demand_t"], ascending=False).index]


def _shortfall_figures(shortfall: pd.DataFrame, final: str) -> list[_Figure]:
    short = shortfall[shortfall["commodity_id"] == final]
    if short.empty:
        return []
    fig = go.Figure()
    by_region = _share_pct(short, ["period", "region_id"])
    for i, region in enumerate(_affected(short)):
        g = by_region[by_region["region_id"] == region]
        fig.add_scatter(x=g["period"], y=g["shortfall_pct"], name=region, mode="lines", line={"color": _colour(i)})
    by_region_fig = _Figure(
        title=f"Shortfall of {final} by region",
        caption="Unserved demand as a share of demand, all sectors, per month.",
        html=_html(_layout(fig, "shortfall (% of demand)"), "shortfall-region"),
    )
    regions = _affected(short)[:PANEL_REGIONS]
    sectors = [str(s) for s in pd.unique(short["sector_id"])]
    fig = make_subplots(rows=1, cols=len(regions), shared_yaxes=True, subplot_titles=regions)
    by_sector = _share_pct(short, ["period", "region_id", "sector_id"])
    for col, region in enumerate(regions, start=1):
        for i, sector in enumerate(sectors):
            g = by_sector[(by_sector["region_id"] == region) & (by_sector["sector_id"] == sector)]
            if g.empty:
                continue
            fig.add_scatter(
                x=g["period"],
                y=g["shortfall_pct"],
                name=sector,
                legendgroup=sector,
                showlegend=col == 1,
                mode="lines",
                line={"color": _colour(i)},
                row=1,
                col=col,
            )
    by_sector_fig = _Figure(
        title=f"Shortfall of {final} by sector, most affected regions",
        caption=f"The {len(regions)} regions with the largest cumulative shortfall of {final}.",
        html=_html(_layout(fig, "shortfall (% of demand)"), "shortfall-sector"),
    )
    return [by_region_fig, by_sector_fig]


def _prices_figure(prices: pd.DataFrame) -> _Figure:
    fig = go.Figure()
    for i, (commodity, g) in enumerate(prices.groupby("commodity_id", sort=False)):
        fig.add_scatter(
            x=g["period"], y=g["price_index"], name=str(commodity), mode="lines", line={"color": _colour(i)}
        )
    return _Figure(
        title="Price index by commodity",
        caption="Price relative to the baseline (1 = baseline price).",
        html=_html(_layout(fig, "price index"), "prices"),
    )


def _uncertainty_figure(tables: dict[str, pd.DataFrame], draws: object) -> _Figure:
    world, prices = tables["uncertainty_world"], tables["uncertainty_prices"]
    fig = make_subplots(rows=1, cols=2, subplot_titles=["world shortfall (% of demand)", "price index"])
    bands = [("shortfall_pct", world, "world shortfall", 0)]
    bands += [("price_index", g, str(k), i + 1) for i, (k, g) in enumerate(prices.groupby("commodity_id", sort=False))]
    for column, g, name, i in bands:
        col = 1 if column == "shortfall_pct" else 2
        colour = _colour(i)
        fig.add_scatter(x=g["period"], y=g[f"{column}_p95"], mode="lines", line={"width": 0, "color": colour},
                        showlegend=False, hoverinfo="skip", row=1, col=col)  # fmt: skip
        fig.add_scatter(x=g["period"], y=g[f"{column}_p05"], mode="lines", line={"width": 0, "color": colour},
                        fill="tonexty", opacity=0.3, showlegend=False, hoverinfo="skip", row=1, col=col)  # fmt: skip
        fig.add_scatter(x=g["period"], y=g[f"{column}_p50"], name=f"{name} (median)", mode="lines",
                        line={"color": colour}, row=1, col=col)  # fmt: skip
    fig.update_layout(height=420, margin={"l": 50, "r": 10, "t": 40, "b": 40}, hovermode="x unified")
    return _Figure(
        title="Uncertainty",
        caption=(
            f"Median and 5th–95th percentile band over {draws} Monte Carlo draws of the engine's uncertain "
            "parameters (the scenario's uncertainty ranges; fast mode)."
        ),
        html=_html(fig, "uncertainty"),
    )


def _stocks_figure(stocks: pd.DataFrame) -> _Figure:
    fig = go.Figure()
    for i, ((region, commodity), g) in enumerate(stocks.groupby(["region_id", "commodity_id"], sort=False)):
        name = f"{region} · {commodity}"
        fig.add_scatter(x=g["period"], y=g["stock_t"], name=name, mode="lines", line={"color": _colour(i)})
    return _Figure(
        title="Stockpiles",
        caption="Stock held at the end of each month (t), per region and commodity.",
        html=_html(_layout(fig, "stock (t)"), "stocks"),
    )


def _share_figure(share: pd.DataFrame, shortfall: pd.DataFrame, final: str) -> list[_Figure]:
    demand = shortfall[shortfall["commodity_id"] == final].groupby("region_id")["demand_t"].sum()
    regions = [str(r) for r in demand.sort_values(ascending=False).index[:SHARE_REGIONS]]
    if not regions:
        return []
    columns = ["direct_share_pct"] + [c for c in share.columns if c.startswith("traced_") and c.endswith("_pct")]
    names = ["direct"] + [f"traced to {c.removeprefix('traced_').removesuffix('_pct')}" for c in columns[1:]]
    rows = share[share["commodity_id"] == final]
    fig = make_subplots(rows=1, cols=len(regions), shared_yaxes=True, subplot_titles=regions)
    for col, region in enumerate(regions, start=1):
        g = rows[rows["region_id"] == region]
        for i, (column, name) in enumerate(zip(columns, names, strict=True)):
            fig.add_scatter(
                x=g["period"],
                y=g[column],
                name=name,
                legendgroup=name,
                showlegend=col == 1,
                mode="lines",
                line={"color": _colour(i), "dash": "solid" if i == 0 else "dot"},
                row=1,
                col=col,
            )
    return [
        _Figure(
            title=f"Controller's share of {final} supply",
            caption=(
                "Direct: share of the region's supply shipped by the controller. Traced to a stage: share of the "
                "supply that rests on the controller at that upstream stage, through the month's shipments. "
                f"The {len(regions)} regions with the largest demand for {final}."
            ),
            html=_html(_layout(fig, "share of supply (%)"), "controller-share"),
        )
    ]


# --- the summary table ----------------------------------------------------------------------------

_SUMMARY_COLUMNS = {
    "region_id": "region",
    "sector_id": "sector",
    "peak_shortfall_pct": "peak shortfall (%)",
    "cumulative_shortfall_t": "cumulative shortfall (t)",
    "months_short": "months short",
    "first_short": "first short",
    "recovery_months": "recovery (months)",
    "recovered": "recovered",
}

_NUMERIC_COLUMNS = {"peak_shortfall_pct", "cumulative_shortfall_t", "months_short", "recovery_months"}


def _cell(column: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
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
    columns = [c for c in _SUMMARY_COLUMNS if c in top.columns]
    return [[_cell(c, row[c]) for c in columns] for row in top.to_dict("records")]
