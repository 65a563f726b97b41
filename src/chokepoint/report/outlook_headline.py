"""The outlook report's opening: a headline generated from the results, and the stamp.

Each sentence reads one table and is left out when that table cannot be read
(:func:`~chokepoint.report.outlook_tables.table_problem`); the page notes why.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd

from chokepoint import __version__
from chokepoint.dataset.groups import RARE_EARTHS
from chokepoint.foresight.scenario import MATERIALS
from chokepoint.report.outlook_figures import driver_columns
from chokepoint.report.outlook_tables import OutlookLike, outlook_table, table_problem

__all__ = ["outlook_headline", "outlook_stamp"]


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
    parts = row[driver_columns(pressure)].iloc[0].dropna().sort_values(ascending=False)
    drivers = " and ".join(
        f"{str(c).removesuffix('_points').replace('_', ' ')} ({v:.0f})" for c, v in parts[:2].items()
    )
    text += f"; its {last} score is {row['score'].iloc[0]:.0f} points"
    return f"{text}, mostly from {drivers}." if drivers else f"{text}."


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
        f"{str(w['material']).capitalize()} demand exceeds expected supply by {_t(w['gap_t'])} "
        f"({100 * w['gap_share']:.0f}% of demand) "
        f"in {year}{band}{others}."
    )


#: The four magnet rare earths, by name or symbol (the IEA's magnet-REE bucket: Nd, Pr, Dy, Tb).
MAGNET_REE = {name: symbol.lower() for symbol, name in RARE_EARTHS.items() if name in MATERIALS}


def _magnet_ree(balance: pd.DataFrame) -> str:
    """The four magnet rare earths together in the last year, when the balance has all four. No
    p10–p90 here: quantiles of the elements do not add up to a quantile of their sum."""
    year = int(balance["year"].max())
    b = balance[balance["year"] == year]
    key = b["material"].astype(str).str.lower()
    mine = b[key.isin(MAGNET_REE) | key.isin(MAGNET_REE.values())]
    if mine["material"].nunique() < len(MAGNET_REE) or mine[["demand_t", "supply_t"]].isna().any(axis=None):
        return ""
    demand, supply = float(mine["demand_t"].sum()), float(mine["supply_t"].sum())
    if demand <= 0:
        return ""
    if supply >= demand:
        return (
            f"Together the magnet rare earths (Nd, Pr, Dy, Tb) are covered in {year}: {_t(supply - demand)} to spare."
        )
    return (
        f"Together the magnet rare earths (Nd, Pr, Dy, Tb) are {_t(demand - supply)} short in {year} "
        f"({100 * (demand - supply) / demand:.0f}% of their demand)."
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
    """The most dependent importer in the last year (at the stage the table is read at)."""
    year = int(dependence["year"].max())
    d = dependence[dependence["year"] == year].dropna(subset=["controller_share_pct"])
    where = f" at the {d['stage'].iloc[0]} stage" if "stage" in d.columns and len(d) else ""
    if d.empty:
        return ""
    w = d.sort_values("controller_share_pct", ascending=False).iloc[0]
    return (
        f"Traced upstream, {w['controller_share_pct']:.0f}% of {w['region_id']}'s {w['commodity_id']} supply "
        f"still rests on the controller{where} in {year}."
    )


def _pipeline(projects: pd.DataFrame) -> str:
    waiting = projects[(projects["status"] != "operating") & projects["p_online_by_target"].notna()]
    late = int((waiting["p_online_by_target"] < 0.5).sum())
    if waiting.empty:
        return ""
    return (
        f"Of the {len(waiting)} project{'s' if len(waiting) > 1 else ''} not yet operating, {late} "
        f"{'is' if late == 1 else 'are'} more likely than not to miss {'its' if len(waiting) == 1 else 'their'} "
        "target year."
    )


_HEADLINE: list[tuple[str, Callable[[pd.DataFrame], str]]] = [
    ("balance", _deficit),
    ("balance", _magnet_ree),
    ("concentration", _concentration),
    ("dependence", _dependence),
    ("pipeline", _pipeline),
]


def outlook_headline(outlook: OutlookLike) -> str:
    """The page's opening sentences from the results: the top pressure point in the last year and
    since when, what drives its score, the largest deficit in the last year with its p10–p90 band,
    the four magnet rare earths together (when the balance has them), the most concentrated stage,
    the most dependent importer and how many projects will be late. A table the report cannot read
    is left out of the headline (the page notes why)."""
    sentences = []
    if table_problem(outlook, "pressure") is None:
        sentences.append(_top_pressure(outlook.pressure, str(outlook.scenario)))
    for name, sentence in _HEADLINE:
        if table_problem(outlook, name) is None:
            sentences.append(sentence(outlook_table(outlook, name)))
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
