"""The run's charts as Plotly figures, one function each: the report embeds them and
``run.plot.*`` returns them, so there is one chart layer. Inputs are the registered tables."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

__all__ = [
    "colour",
    "controller_share_figure",
    "final_commodity",
    "prices_figure",
    "sankey_figure",
    "shortfall_by_sector_figure",
    "shortfall_figure",
    "shortfall_rows",
    "stages",
    "stocks_figure",
    "uncertainty_figure",
    "worst_period",
]

Tables = Mapping[str, pd.DataFrame]

#: Regions drawn by name in the Sankey; the rest are pooled as ``OTHER``.
SANKEY_REGIONS = 6
OTHER = "other"
FINAL_USE = "final use"
#: Regions drawn in the by-sector and controller-share panels.
PANEL_REGIONS = 3
SHARE_REGIONS = 4
#: A month counts as short when its shortfall exceeds this fraction of its demand (numerical noise below).
SHORT_BELOW = 1e-9

_PALETTE = qualitative.Plotly + qualitative.D3


def colour(i: int, alpha: float = 1.0) -> str:
    hexa = _PALETTE[i % len(_PALETTE)].lstrip("#")
    r, g, b = (int(hexa[j : j + 2], 16) for j in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def stages(tables: Tables) -> dict[str, str]:
    """Stage name of each commodity, upstream first (the ``chain`` table)."""
    chain = tables["chain"].sort_values("position")
    return dict(zip(chain["commodity_id"].astype(str), chain["stage"].astype(str), strict=True))


def final_commodity(tables: Tables) -> str:
    """The last stage (``magnet``): the figures of final use show all of its commodities."""
    chain = list(stages(tables).values())
    return chain[-1] if chain else ""


def shortfall_rows(tables: Tables, stage: str | None = None) -> pd.DataFrame:
    """Shortfall rows of the commodities at ``stage`` (default: the last) or of one commodity."""
    final = stage or final_commodity(tables)
    of_stage = [k for k, s in stages(tables).items() if s == final]
    short = tables["shortfall"]
    return short[short["commodity_id"].isin(of_stage or [final])]


def _x(periods: pd.Series) -> list[str]:
    """Periods as the text plotly puts on a date axis ("2025-03")."""
    return [str(p) for p in periods]


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


def worst_period(shortfall: pd.DataFrame) -> pd.Period | None:
    """The month of the largest total shortfall (all commodities), or None when nothing is short."""
    by = shortfall.groupby("period", sort=False)[["demand_t", "shortfall_t"]].sum()
    short = by["shortfall_t"] > SHORT_BELOW * by["demand_t"]
    if not short.any():
        return None
    return pd.Period(str(by["shortfall_t"].idxmax()), freq="M")


def sankey_figure(tables: Tables, period: str | pd.Period | None = None, named: list[str] | None = None) -> go.Figure:
    """The chain in ``period`` (default: the first month) as a Sankey: nodes are (region, stage);
    a flow of the commodity made at stage s links the exporter's stage s to the importer's stage
    s + 1 (or to its final use after the last stage). ``named``: regions drawn by name (default:
    the largest :data:`SANKEY_REGIONS` by throughput that month); the rest are pooled."""
    flows = tables["flows"]
    month = pd.Period(period, freq="M") if period is not None else flows["period"].min()
    flows = flows[flows["period"] == month]
    if named is None:
        named = _largest(flows)
    regions = [*named, OTHER]
    st = stages(tables)
    chain = list(st)
    columns = [*st.values(), FINAL_USE]
    f = flows.assign(
        src_region=flows["exporter_id"].where(flows["exporter_id"].isin(named), OTHER),
        dst_region=flows["importer_id"].where(flows["importer_id"].isin(named), OTHER),
        src_col=flows["commodity_id"].map({k: i for i, k in enumerate(chain)}),
    )
    f = f.assign(dst_col=f["src_col"] + 1)
    keys = ["src_region", "src_col", "dst_region", "dst_col", "commodity_id"]
    links = f.groupby(keys, as_index=False)["flow_t"].sum()
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
    trace = go.Sankey(
        arrangement="snap",
        valueformat=",.0f",
        valuesuffix=" t",
        node={
            "label": [f"{region} · {columns[int(col)]}" for region, col in nodes],
            "color": [colour(regions.index(str(region))) for region, _ in nodes],
            "x": xs,
            "y": ys,
            "pad": 12,
            "thickness": 14,
        },
        link={
            "source": [index[(s, c)] for s, c in zip(links["src_region"], links["src_col"], strict=True)],
            "target": [index[(d, c)] for d, c in zip(links["dst_region"], links["dst_col"], strict=True)],
            "value": links["flow_t"].tolist(),
            "label": links["commodity_id"].tolist(),
            "color": [colour(regions.index(str(r)), 0.35) for r in links["src_region"]],
        },
    )
    fig = go.Figure(trace)
    fig.update_layout(height=560, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fig


def _largest(flows: pd.DataFrame) -> list[str]:
    """The :data:`SANKEY_REGIONS` regions with the largest throughput (shipped plus received)."""
    throughput = (
        pd.concat([flows.groupby("exporter_id")["flow_t"].sum(), flows.groupby("importer_id")["flow_t"].sum()])
        .groupby(level=0)
        .sum()
    )
    return [str(r) for r in throughput.sort_values(ascending=False).index[:SANKEY_REGIONS]]


def shortfall_figure(tables: Tables, commodity: str | None = None) -> go.Figure:
    """Unserved demand of ``commodity`` (a stage or a commodity; default: every commodity of the
    last stage) as a share of demand, per region."""
    short = shortfall_rows(tables, commodity)
    fig = go.Figure()
    by_region = _share_pct(short, ["period", "region_id"])
    for i, region in enumerate(_affected(short)):
        g = by_region[by_region["region_id"] == region]
        fig.add_scatter(x=_x(g["period"]), y=g["shortfall_pct"], name=region, mode="lines", line={"color": colour(i)})
    return _layout(fig, "shortfall (% of demand)")


def shortfall_by_sector_figure(tables: Tables, commodity: str | None = None) -> go.Figure:
    """Shortfall by sector in the :data:`PANEL_REGIONS` regions most short of ``commodity`` (a stage
    or a commodity; default: the last stage)."""
    short = shortfall_rows(tables, commodity)
    regions = _affected(short)[:PANEL_REGIONS]
    sectors = [str(s) for s in pd.unique(short["sector_id"])]
    fig = make_subplots(rows=1, cols=max(len(regions), 1), shared_yaxes=True, subplot_titles=regions)
    by_sector = _share_pct(short, ["period", "region_id", "sector_id"])
    for col, region in enumerate(regions, start=1):
        for i, sector in enumerate(sectors):
            g = by_sector[(by_sector["region_id"] == region) & (by_sector["sector_id"] == sector)]
            if g.empty:
                continue
            fig.add_scatter(x=_x(g["period"]), y=g["shortfall_pct"], name=sector, legendgroup=sector,
                            showlegend=col == 1, mode="lines", line={"color": colour(i)}, row=1, col=col)  # fmt: skip
    return _layout(fig, "shortfall (% of demand)")


def prices_figure(prices: pd.DataFrame) -> go.Figure:
    """Price index (1 = base year) per commodity."""
    fig = go.Figure()
    for i, (commodity, g) in enumerate(prices.groupby("commodity_id", sort=False)):
        fig.add_scatter(x=_x(g["period"]), y=g["price_index"], name=str(commodity), mode="lines",
                        line={"color": colour(i)})  # fmt: skip
    return _layout(fig, "price index")


def uncertainty_figure(tables: Tables) -> go.Figure:
    """Median and 5th–95th percentile bands of the world's shortfall and of prices."""
    world, prices = tables["uncertainty_world"], tables["uncertainty_prices"]
    fig = make_subplots(rows=1, cols=2, subplot_titles=["world shortfall (% of demand)", "price index"])
    bands = [("shortfall_pct", world, "world shortfall", 0)]
    bands += [("price_index", g, str(k), i + 1) for i, (k, g) in enumerate(prices.groupby("commodity_id", sort=False))]
    for column, g, name, i in bands:
        col = 1 if column == "shortfall_pct" else 2
        c, x = colour(i), _x(g["period"])
        fig.add_scatter(x=x, y=g[f"{column}_p95"], mode="lines", line={"width": 0, "color": c},
                        showlegend=False, hoverinfo="skip", row=1, col=col)  # fmt: skip
        fig.add_scatter(x=x, y=g[f"{column}_p05"], mode="lines", line={"width": 0, "color": c},
                        fill="tonexty", opacity=0.3, showlegend=False, hoverinfo="skip", row=1, col=col)  # fmt: skip
        fig.add_scatter(x=x, y=g[f"{column}_p50"], name=f"{name} (median)", mode="lines",
                        line={"color": c}, row=1, col=col)  # fmt: skip
    fig.update_layout(height=420, margin={"l": 50, "r": 10, "t": 40, "b": 40}, hovermode="x unified")
    return fig


def stocks_figure(stocks: pd.DataFrame) -> go.Figure:
    """Stock held at the end of each month (t), per region and commodity."""
    fig = go.Figure()
    for i, ((region, commodity), g) in enumerate(stocks.groupby(["region_id", "commodity_id"], sort=False)):
        fig.add_scatter(x=_x(g["period"]), y=g["stock_t"], name=f"{region} · {commodity}", mode="lines",
                        line={"color": colour(i)})  # fmt: skip
    return _layout(fig, "stock (t)")


def controller_share_figure(tables: Tables, controller: str, commodity: str | None = None) -> go.Figure:
    """``controller``'s direct and traced share of ``commodity`` supply in the
    :data:`SHARE_REGIONS` regions with the largest demand for it."""
    final = commodity or final_commodity(tables)
    short = tables["shortfall"]
    demand = short[short["commodity_id"] == final].groupby("region_id")["demand_t"].sum()
    regions = [str(r) for r in demand.sort_values(ascending=False).index[:SHARE_REGIONS]]
    direct = tables["controller_share"]
    direct = direct[(direct["controller_id"] == controller) & (direct["commodity_id"] == final)]
    traced = tables["controller_traced_share"]
    traced = traced[(traced["controller_id"] == controller) & (traced["commodity_id"] == final)]
    lines = [("direct", direct.rename(columns={"direct_share_pct": "pct"}))]
    lines += [
        (f"traced to {name}", traced[traced["upstream_commodity_id"] == k].rename(columns={"traced_share_pct": "pct"}))
        for k, name in stages(tables).items()
    ]
    fig = make_subplots(rows=1, cols=max(len(regions), 1), shared_yaxes=True, subplot_titles=regions)
    for col, region in enumerate(regions, start=1):
        for i, (name, rows) in enumerate(lines):
            g = rows[rows["region_id"] == region]
            fig.add_scatter(x=_x(g["period"]), y=g["pct"], name=name, legendgroup=name, showlegend=col == 1,
                            mode="lines", line={"color": colour(i), "dash": "solid" if i == 0 else "dot"},
                            row=1, col=col)  # fmt: skip
    return _layout(fig, "share of supply (%)")
