"""Pathways compared as a self-contained, offline HTML page.

The page embeds plotly.js once and draws, from :func:`chokepoint.leverage.comparison_tables`:
leverage trajectories per domain and direction (one line per pathway), the net balance and
deterrence by year, the balance matrix (domains × direction with cost ratios), the one-at-a-time
and global (Sobol) sensitivity tables, the headline and every assumption. Pure: returns a
string; the CLI writes the file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from markupsafe import Markup
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from chokepoint.leverage import Headline
from chokepoint.report import _environment, _Figure, _html
from chokepoint.report.figures import colour as _colour

__all__ = ["render_leverage_report"]

_COLUMNS_PER_ROW = 3


def render_leverage_report(
    tables: Mapping[str, pd.DataFrame],
    headline: Headline,
    sensitivity: pd.DataFrame,
    *,
    assumptions: pd.DataFrame | None = None,
) -> str:
    """The HTML page of a pathway comparison: ``tables`` from
    :func:`~chokepoint.leverage.comparison_tables`, its ``headline`` and ``sensitivity`` table, and
    optionally the pathways' ``assumptions`` (listed with their rationale).

    Offline: plotly.js is embedded once and no element loads anything from the network.
    """
    comparison = tables["comparison"]
    pathways = [str(p) for p in pd.unique(comparison["pathway"])]
    colours = {p: _colour(i) for i, p in enumerate(pathways)}
    figures = [
        _trajectories(comparison, colours),
        _balance_figure(comparison, headline, colours),
        _deterrence_figure(comparison, pathways),
    ]
    matrix = tables["matrix"]
    page = _environment().get_template("leverage.html.j2")
    return page.render(
        a=headline.a,
        b=headline.b,
        headline=headline.text,
        pathways_table=_rows(headline.pathways, _PATHWAY_COLUMNS),
        pathway_columns=list(_PATHWAY_COLUMNS.values()),
        figures=figures,
        matrix_year=", ".join(sorted({str(y) for y in matrix["year"]})),
        matrix=_rows(matrix, _MATRIX_COLUMNS),
        matrix_columns=list(_MATRIX_COLUMNS.values()),
        sensitivity=_rows(sensitivity, _SENSITIVITY_COLUMNS),
        sensitivity_columns=list(_SENSITIVITY_COLUMNS.values()),
        flips=sensitivity.loc[sensitivity["flips"].astype(bool), ["parameter", "factor"]].to_dict("records"),
        ladder=_rows(tables["ladder"], _LADDER_COLUMNS) if "ladder" in tables else [],
        ladder_columns=list(_LADDER_COLUMNS.values()),
        global_indices=_rows(tables["global_sensitivity"], _GLOBAL_COLUMNS) if "global_sensitivity" in tables else [],
        global_columns=list(_GLOBAL_COLUMNS.values()),
        global_verdict=tables["global_verdict"].iloc[0].to_dict() if "global_verdict" in tables else None,
        thresholds=_rows(tables["thresholds"], _THRESHOLD_COLUMNS) if "thresholds" in tables else [],
        threshold_columns=list(_THRESHOLD_COLUMNS.values()),
        cutoff=_rows(tables["rare_earth_cutoff"], _CUTOFF_COLUMNS) if "rare_earth_cutoff" in tables else [],
        cutoff_columns=list(_CUTOFF_COLUMNS.values()),
        assumptions=[] if assumptions is None else _assumption_rows(assumptions),
        plotlyjs=Markup(get_plotlyjs()),
    )


def _trajectories(comparison: pd.DataFrame, colours: dict[str, str]) -> _Figure:
    panels = comparison[["direction", "domain"]].drop_duplicates().sort_values(["direction", "domain"])
    keys = list(panels.itertuples(index=False, name=None))
    rows = math.ceil(len(keys) / _COLUMNS_PER_ROW)
    fig = make_subplots(
        rows=rows, cols=_COLUMNS_PER_ROW, subplot_titles=[f"{d} · {k}" for d, k in keys], vertical_spacing=0.12
    )
    for n, (direction, domain) in enumerate(keys):
        row, col = divmod(n, _COLUMNS_PER_ROW)
        g = comparison[(comparison["direction"] == direction) & (comparison["domain"] == domain)]
        for pathway, colour in colours.items():
            p = g[g["pathway"] == pathway]
            fig.add_scatter(
                x=p["year"],
                y=p["leverage_usd"] / 1e9,
                name=pathway,
                legendgroup=pathway,
                showlegend=n == 0,
                mode="lines",
                line={"color": colour},
                row=row + 1,
                col=col + 1,
            )
    fig.update_layout(height=320 * rows, margin={"l": 50, "r": 10, "t": 40, "b": 40}, hovermode="x unified")
    fig.update_yaxes(title_text="USD bn", rangemode="tozero")
    return _Figure(
        title="Leverage by domain and direction",
        caption=(
            "L_t = Y·d_t·(1 − λ): the yearly cost the controller could impose on the target by a complete "
            "cutoff, in USD bn. Controls raise the target's substitution effort, so its dependence d_t and the "
            "controller's leverage fall faster the wider the control."
        ),
        html=_html(fig, "leverage-trajectories"),
    )


def _balance_figure(comparison: pd.DataFrame, headline: Headline, colours: dict[str, str]) -> _Figure:
    totals = comparison.groupby(["pathway", "year", "controller_id"], as_index=False)["leverage_usd"].sum()
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=[f"{headline.a} over {headline.b}", f"net: {headline.a} − {headline.b}"]
    )
    per_year = comparison.groupby(["pathway", "year"], as_index=False)["net_balance_usd"].first()
    for pathway, colour in colours.items():
        mine = totals[(totals["pathway"] == pathway) & (totals["controller_id"] == headline.a)]
        net = per_year[per_year["pathway"] == pathway]
        fig.add_scatter(
            x=mine["year"], y=mine["leverage_usd"] / 1e9, name=pathway, legendgroup=pathway,
            mode="lines", line={"color": colour}, row=1, col=1,
        )  # fmt: skip
        fig.add_scatter(
            x=net["year"], y=net["net_balance_usd"] / 1e9, name=pathway, legendgroup=pathway,
            showlegend=False, mode="lines", line={"color": colour}, row=1, col=2,
        )  # fmt: skip
    fig.update_layout(height=420, margin={"l": 50, "r": 10, "t": 40, "b": 40}, hovermode="x unified")
    fig.update_yaxes(title_text="USD bn")
    return _Figure(
        title="Total leverage and the balance",
        caption=(
            f"Left: {headline.a}'s leverage over {headline.b} summed over domains. Right: that minus "
            f"{headline.b}'s leverage over {headline.a}; above zero the balance favours {headline.a}."
        ),
        html=_html(fig, "leverage-balance"),
    )


def _deterrence_figure(comparison: pd.DataFrame, pathways: list[str]) -> _Figure:
    per_year = comparison.groupby(["pathway", "year"], as_index=False)["deterrence_holds"].first()
    grid = per_year.pivot(index="pathway", columns="year", values="deterrence_holds").reindex(pathways)
    z = grid.astype(float).to_numpy()
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in grid.columns],
            y=pathways,
            zmin=0,
            zmax=1,
            colorscale=[[0.0, "#d64545"], [1.0, "#3f9142"]],
            showscale=False,
            text=[["holds" if v == 1 else "fails" for v in row] for row in z],
            texttemplate="%{text}",
            hovertemplate="%{y} %{x}: %{text}<extra></extra>",
        )
    )
    fig.update_layout(height=120 + 40 * len(pathways), margin={"l": 160, "r": 10, "t": 20, "b": 40})
    return _Figure(
        title="Deterrence by year",
        caption=(
            "Mutual restraint holds in a year when neither side gains from a complete cutoff in its strongest "
            "domain: θ × PV(cost imposed) ≤ PV(own cost) + PV(the other side's best retaliation), over the years left."
        ),
        html=_html(fig, "deterrence"),
    )


_PATHWAY_COLUMNS = {
    "pathway": "pathway",
    "a_over_b_first_usd": "A over B, first year (USD bn)",
    "a_over_b_last_usd": "A over B, last year (USD bn)",
    "b_over_a_last_usd": "B over A, last year (USD bn)",
    "net_last_usd": "net, last year (USD bn)",
    "balance_favours": "balance favours",
    "deterrence_years_failing": "years deterrence fails",
    "pv_cost_to_a_usd": "PV cost to A (USD bn)",
    "pv_cost_to_b_usd": "PV cost to B (USD bn)",
}
_MATRIX_COLUMNS = {
    "pathway": "pathway",
    "direction": "direction",
    "domain": "domain",
    "coverage": "coverage",
    "dependence_share": "dependence",
    "leverage_usd": "cost to target of a cutoff (USD bn)",
    "cutoff_cost_to_controller_usd": "cost to controller (USD bn)",
    "cutoff_cost_ratio": "ratio",
}
_SENSITIVITY_COLUMNS = {
    "parameter": "parameter",
    "factor": "×",
    "base_min": "base (min)",
    "base_max": "base (max)",
    "varied_min": "varied (min)",
    "varied_max": "varied (max)",
    "clipped": "clipped",
    "less_leverage": "decoupling leaves less leverage",
    "from_year": "from",
    "gap_share": "gap, last year",
    "flips": "flips the headline",
    "changes": "other findings that change",
}


_LADDER_COLUMNS = {
    "pathway": "pathway",
    "year": "year",
    "side": "side",
    "rung": "rung",
    "domain": "cuts off",
    "cost_to_other_usd": "cost imposed (USD bn)",
    "cost_to_self_usd": "cost borne (USD bn)",
    "answer_domain": "proportionate answer",
    "answer_cost_to_other_usd": "answer imposes (USD bn)",
    "answer_cost_to_self_usd": "answer costs (USD bn)",
    "escalation_dominance": "no proportionate answer",
}
_GLOBAL_COLUMNS = {
    "parameter": "parameter",
    "S1": "first-order S1",
    "S1_conf": "± (95%)",
    "ST": "total ST",
    "ST_conf": "± (95%)",
    "mu_star": "Morris μ*",
    "mu_star_conf": "± (95%)",
    "sigma": "σ",
}
_THRESHOLD_COLUMNS = {
    "parameter": "parameter",
    "direction": "scaled",
    "base_less_leverage": "base verdict: decoupling leaves less leverage",
    "flips_at_factor": "verdict reverses at ×",
    "value_min": "value there (min)",
    "value_max": "value there (max)",
}
_CUTOFF_COLUMNS = {
    "direction": "direction",
    "sector_id": "sector",
    "commodity_id": "commodity",
    "shortfall_t": "shortfall (t)",
    "units_lost": "units not made",
    "unit_value_usd": "USD per unit",
    "value_lost_usd": "output lost (USD bn)",
    "valued_at": "valued at",
}


def _cell(column: str, value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if column == "unit_value_usd":
        return f"{float(value):,.0f}"
    if column.endswith("_usd"):
        return f"{float(value) / 1e9:,.1f}"
    if column == "gap_share":
        return f"{100 * float(value):+.1f}%"
    if column in ("shortfall_t", "units_lost"):
        return f"{float(value):,.0f}" if abs(float(value)) >= 10 else f"{float(value):.2g}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _rows(df: pd.DataFrame, columns: dict[str, str]) -> list[list[str]]:
    shown = [c for c in columns if c in df.columns]
    return [[_cell(c, r[c]) for c in shown] for r in df.to_dict("records")]


def _assumption_rows(assumptions: pd.DataFrame) -> list[list[str]]:
    unique = assumptions.drop(columns="pathway").drop_duplicates()
    return [
        [
            f"{r['controller']}→{r['target']}",
            str(r["domain"]),
            str(r["metric"]),
            f"{r['value']:.4g}",
            str(r["rationale"]),
        ]
        for r in unique.to_dict("records")
    ]
