"""A sweep or a portfolio as a self-contained, offline HTML page.

Sweep: the spread of the analysed outcome over the draws (histogram with the 5th, 50th and 95th
percentiles), the Sobol or Morris indices as bars with their confidence intervals, a fan chart of
each monthly path (the 5–95% and 25–75% bands and the median), the PRIM box when a condition is
given, and the declared parameters with the sources of their ranges.
Portfolio: cost against the objective for every mix with the frontier drawn through. Pure:
returns a string; ``Sweep.save`` and ``PortfolioResult.save`` write the file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from chokepoint.report import _environment, _Figure, _html
from chokepoint.report.figures import colour

if TYPE_CHECKING:
    from chokepoint.sweeps import Sweep
    from chokepoint.sweeps.portfolio import PortfolioResult

__all__ = ["render_portfolio_report", "render_sweep_report"]


def _layout(fig: go.Figure, x_title: str, y_title: str) -> go.Figure:
    fig.update_layout(template="plotly_white", height=420, margin={"l": 60, "r": 20, "t": 30, "b": 60})
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return fig


def _table(df: pd.DataFrame) -> dict[str, Any]:
    def cell(v: Any) -> str:
        if isinstance(v, float | np.floating):
            x = float(v)
            return "0" if abs(x) < 1e-9 else f"{x:,.3g}" if abs(x) < 1e4 else f"{x:,.0f}"
        return str(v)

    return {"columns": [str(c) for c in df.columns], "rows": [[cell(v) for v in row] for row in df.to_numpy()]}


def _spread(sweep: Sweep, outcome: str) -> _Figure:
    values = sweep.outcomes[outcome]
    fig = go.Figure(go.Histogram(x=values, nbinsx=30, marker_color=colour(0), name="draws"))
    for q, dash in ((0.05, "dot"), (0.5, "solid"), (0.95, "dot")):
        fig.add_vline(x=float(values.quantile(q)), line_dash=dash, annotation_text=f"p{round(100 * q):02d}")
    caption = f"{len(values):,} draws; dotted: 5th and 95th percentiles, solid: the median."
    return _Figure(f"Spread of {outcome}", caption, _html(_layout(fig, outcome, "draws"), "spread"))


def _indices(sweep: Sweep, outcome: str) -> _Figure | None:
    if sweep.design.method == "sobol":
        table = sweep.sobol(outcome)
        fig = go.Figure()
        for i, (name, conf) in enumerate((("S1", "S1_conf"), ("ST", "ST_conf"))):
            fig.add_bar(y=table["parameter"], x=table[name], orientation="h", name=name, marker_color=colour(i),
                        error_x={"type": "data", "array": table[conf]})  # fmt: skip
        caption = "First-order (S1) and total (ST) Sobol indices; bars: 95% bootstrap half-widths."
        return _Figure(f"Which assumptions decide {outcome}", caption, _html(_layout(fig, "index", ""), "indices"))
    if sweep.design.method == "morris":
        table = sweep.morris(outcome)
        fig = go.Figure(go.Bar(y=table["parameter"], x=table["mu_star"], orientation="h", marker_color=colour(0),
                               error_x={"type": "data", "array": table["mu_star_conf"]}))  # fmt: skip
        caption = "Morris μ*: the outcome's mean absolute change per whole range of each parameter (95% intervals)."
        return _Figure(f"Which assumptions decide {outcome}", caption, _html(_layout(fig, "μ*", ""), "indices"))
    return None


_PATH_UNITS = {"max_price_index": "highest price index of any commodity (base year = 1)"}


def _fan(sweep: Sweep, bands: pd.DataFrame, path: str) -> _Figure:
    band = bands[bands["path"] == path]
    x = band["period"].astype(str).tolist()
    fig = go.Figure()
    for (lo, hi), alpha in ((("p05", "p95"), 0.18), (("p25", "p75"), 0.35)):
        fig.add_scatter(x=x, y=band[lo], mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip")
        fig.add_scatter(x=x, y=band[hi], mode="lines", line={"width": 0}, fill="tonexty",
                        fillcolor=colour(0, alpha), name=f"{lo}–{hi}")  # fmt: skip
    fig.add_scatter(x=x, y=band["p50"], mode="lines", line={"color": colour(0)}, name="median")
    unit = _PATH_UNITS.get(path, "% of the month's final demand short")
    caption = f"{len(sweep.paths):,} draws, month by month: shaded the 5–95% and 25–75% bands, the line the median."
    return _Figure(f"Fan chart: {path}", caption, _html(_layout(fig, "month", unit), f"fan-{path}"))


def _parameters(sweep: Sweep) -> dict[str, Any]:
    rows = []
    for p in sweep.design.parameters:
        shape = {k: v for k, v in p.model_dump().items() if k not in ("path", "distribution", "unit", "source")}
        given = ", ".join(f"{k} {v}" for k, v in shape.items() if v is not None)
        rows.append({"path": p.path, "distribution": f"{p.distribution} ({given})", "unit": p.unit, "source": p.source})
    return _table(pd.DataFrame(rows))


def render_sweep_report(sweep: Sweep, outcome: str, condition: str | None = None) -> str:
    """The HTML page of ``sweep`` for ``outcome`` (and the PRIM box of ``condition``, if given)."""
    figures = [f for f in (_spread(sweep, outcome), _indices(sweep, outcome)) if f is not None]
    bands = sweep.bands()
    figures += [_fan(sweep, bands, path) for path in sweep.paths.columns.unique("path")]
    box, lines = None, []
    if condition is not None:
        share = sweep.share(condition)
        lines.append(f"{condition} in {share:.0%} of {len(sweep.outcomes):,} draws.")
        if 0 < share < 1:
            found = sweep.prim(condition)
            box = _table(found.limits[found.limits["restricted"]].drop(columns="restricted"))
            lines.append(
                f"The box below holds {found.coverage:.0%} of those draws; {found.density:.0%} of the draws in it"
                f" have the outcome; it is {found.mass:.0%} of all draws."
            )
    p = sweep.provenance
    stamp = (
        f"{p['method']} design, {p['draws']:,} draws, root seed {p['seed']} · dataset {p['dataset_fingerprint']}"
        f" · chokepoint {p['chokepoint_version']} · {p['created']}"
    )
    return (
        _environment()
        .get_template("sweeps.html.j2")
        .render(
            title=f"Sweep of {sweep.scenario.name}",
            question=sweep.scenario.description,
            lines=lines,
            stamp=stamp,
            percentiles=_table(sweep.percentiles()),
            figures=figures,
            box=box,
            parameters=_parameters(sweep),
            plotlyjs=Markup(get_plotlyjs()),
        )
    )


def render_portfolio_report(result: PortfolioResult, scenario_name: str) -> str:
    """The HTML page of a portfolio: every mix's cost against its objective, the frontier, the levers."""
    spec, mixes = result.portfolio, result.mixes
    fig = go.Figure()
    fig.add_scatter(x=mixes["cost_usd"], y=mixes[spec.objective], mode="markers", name="every mix",
                    marker_color=colour(1, 0.5))  # fmt: skip
    frontier = result.frontier
    fig.add_scatter(x=frontier["cost_usd"], y=frontier[spec.objective], mode="lines+markers", name="frontier",
                    line_shape="hv", marker_color=colour(0))  # fmt: skip
    caption = (
        f"{len(mixes)} mixes, each run in the same {spec.worlds} worlds; {spec.objective} of {spec.outcome}"
        " (cvar95: the mean of the worst 5% of worlds)."
    )
    figure = _Figure("Cost against risk", caption, _html(_layout(fig, "cost (USD)", spec.objective), "frontier"))
    levers = pd.DataFrame(
        [{"lever": lv.name, "levels": ", ".join(f"{x:g}" for x in lv.levels), "unit": lv.unit,
          "unit cost (USD)": lv.unit_cost_usd, "source": lv.source} for lv in spec.levers]
    )  # fmt: skip
    return (
        _environment()
        .get_template("sweeps.html.j2")
        .render(
            title=f"Mitigation portfolio for {scenario_name}",
            question=f"Which mix of levers keeps {spec.outcome} lowest across sampled worlds, for the money?",
            lines=[],
            stamp=f"{spec.worlds} Latin-hypercube worlds, seed {spec.seed}",
            percentiles=_table(frontier.drop(columns=["mix", "on_frontier"])),
            figures=[figure],
            box=None,
            parameters=_table(levers),
            plotlyjs=Markup(get_plotlyjs()),
        )
    )
