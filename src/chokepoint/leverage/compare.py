"""Pathways side by side: comparison tables, the balance matrix, escalation ladders and the
headline."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.leverage.model import (
    Dependence,
    LeverageError,
    Pathway,
    SimulatedLosses,
    _pair,
    load_dependences,
    simulated_losses,
)
from chokepoint.leverage.run import _run

# --- pathways side by side ------------------------------------------------------------------------

#: The two pathways the headline sets against each other (the seed argument's two policies).
DECOUPLED = "blanket-decoupling"
ENGAGED = "calibrated-engagement"


def _tables(deps: list[Dependence], pathway: Pathway, a: str, b: str) -> dict[str, pd.DataFrame]:
    out = _run(deps, pathway, a, b)
    domains = out["domains"]
    balance = out["balance"]
    deter = out["deterrence"]
    # domains are dependence-major with one row per year (see _run): the pair's yearly net balance
    # and deterrence check repeat once per dependence (a merge on year, without the merge)
    n = len(domains) // len(balance)
    comparison = domains.assign(
        pathway=pathway.name,
        direction=domains["controller_id"] + "→" + domains["target_id"],
        net_balance_usd=np.tile(balance["net_usd"].to_numpy(), n),
        deterrence_holds=np.tile(deter["deterrence_holds"].to_numpy(), n),
    ).loc[:, _COMPARISON_COLUMNS]
    return {
        "comparison": comparison,
        "balance": balance.assign(pathway=pathway.name).loc[:, ["pathway", "year", *balance.columns.drop("year")]],
        "deterrence": deter.assign(pathway=pathway.name).loc[:, ["pathway", *deter.columns]],
    }


_COMPARISON_COLUMNS = [
    "pathway",
    "year",
    "t",
    "direction",
    "controller_id",
    "target_id",
    "domain",
    "coverage",
    "effort",
    "rate_factor",
    "dependence_share",
    "leverage_usd",
    "cost_to_target_usd",
    "cost_to_controller_usd",
    "cutoff_cost_to_controller_usd",
    "net_balance_usd",
    "deterrence_holds",
]


def comparison_tables(
    ds: Dataset, pathways: list[Pathway], a: str, b: str, losses: SimulatedLosses | None = None
) -> dict[str, pd.DataFrame]:
    """Run every pathway for ``a``, ``b`` and stack the results: ``comparison`` (see
    :func:`compare_pathways`), ``balance`` and ``deterrence`` (one row per pathway × year) and the
    ``matrix`` of :func:`balance_matrix`. ``losses``: see :func:`~chokepoint.leverage.load_dependences`."""
    pathways = _unique(pathways)
    known = simulated_losses(ds, pathways) if losses is None else losses  # shared by the pathways
    return _stack([_tables(_pair(load_dependences(ds, p, known), p, a, b), p, a, b) for p in pathways])


def _unique(pathways: list[Pathway]) -> list[Pathway]:
    if not pathways:
        raise LeverageError("no pathway to compare; give at least one")
    names = [p.name for p in pathways]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise LeverageError(f"pathway name {twice[0]!r} is used twice; give each pathway a distinct name")
    return pathways


def _stack(parts: list[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    out = {k: pd.concat([p[k] for p in parts], ignore_index=True) for k in parts[0]}
    out["matrix"] = balance_matrix(out["comparison"])
    years = out["comparison"]["year"]
    out["ladder"] = pd.concat(
        [escalation_ladder(balance_matrix(out["comparison"], year=int(y))) for y in sorted({years.min(), years.max()})],
        ignore_index=True,
    )
    return out


def compare_pathways(ds: Dataset, pathways: list[Pathway], a: str, b: str) -> pd.DataFrame:
    """The pathways side by side, tidy: one row per pathway × year × direction × domain.

    Columns: ``coverage`` of the control in force, the target's substitution ``effort``,
    ``dependence_share`` ``d_t``, ``leverage_usd`` ``L_t``, this year's ``cost_to_target_usd`` and
    ``cost_to_controller_usd`` of the control in force, ``cutoff_cost_to_controller_usd`` (what a
    complete cutoff would cost the controller that year; its cost to the target is ``L_t``), and
    per pathway × year ``net_balance_usd`` (``a``'s leverage over ``b`` summed over domains minus
    ``b``'s over ``a``) and ``deterrence_holds`` (mutual restraint is stable).
    """
    return comparison_tables(ds, pathways, a, b)["comparison"]


def balance_matrix(comparison: pd.DataFrame, year: int | None = None) -> pd.DataFrame:
    """Domains × direction in one year (default: each pathway's last): the cost of a complete
    cutoff to the target (``L_t``) and to the controller, and their ratio (cost imposed per dollar
    of cost borne; above 1 the controller hurts the target more than itself)."""
    if year is None:
        last = comparison.groupby("pathway")["year"].transform("max")
        rows = comparison[comparison["year"] == last]
    else:
        rows = comparison[comparison["year"] == year]
    own = rows["cutoff_cost_to_controller_usd"]
    ratio = np.divide(
        rows["leverage_usd"].to_numpy(), own.to_numpy(), out=np.full(len(rows), np.nan), where=own.to_numpy() > 0
    )
    return (
        rows.assign(cutoff_cost_ratio=ratio)
        .loc[
            :,
            [
                "pathway",
                "year",
                "direction",
                "domain",
                "coverage",
                "dependence_share",
                "leverage_usd",
                "cutoff_cost_to_controller_usd",
                "cutoff_cost_ratio",
            ],
        ]
        .reset_index(drop=True)
    )


def escalation_ladder(matrix: pd.DataFrame) -> pd.DataFrame:
    """Each side's escalation ladder and the other side's answers, from a :func:`balance_matrix`.

    Per pathway and side, the rungs are the side's domains from the cheapest complete cutoff to
    the dearest (its own cost), each with the cost it imposes and its ratio. The ``answer`` to a
    rung is the other side's cheapest cutoff that imposes at least as much as the rung does (a
    proportionate answer), with its costs; where the other side has none, the rung gives the side
    ``escalation_dominance`` (the other side's strongest rung, if any, is reported instead).
    """
    rows = []
    for (pathway, year), g in matrix.groupby(["pathway", "year"], sort=False):
        sides = g.assign(side=g["direction"].str.split("→").str[0])
        for side, mine in sides.groupby("side", sort=False):
            # the other side's cutoffs as records, cheapest first: a few, scanned per rung in Python
            theirs = sides[sides["side"] != side].sort_values("cutoff_cost_to_controller_usd").to_dict("records")
            ladder = mine.sort_values(["cutoff_cost_to_controller_usd", "leverage_usd"], ascending=[True, False])
            for rung, r in enumerate(ladder.itertuples(index=False), start=1):
                enough = [x for x in theirs if x["leverage_usd"] >= r.leverage_usd]
                dominant = not enough
                a = _strongest(theirs) if dominant else enough[0]
                rows.append(
                    {
                        "pathway": pathway,
                        "year": year,
                        "side": side,
                        "rung": rung,
                        "domain": r.domain,
                        "cost_to_other_usd": r.leverage_usd,
                        "cost_to_self_usd": r.cutoff_cost_to_controller_usd,
                        "cost_ratio": r.cutoff_cost_ratio,
                        "answer_domain": a.get("domain"),
                        "answer_cost_to_self_usd": a.get("cutoff_cost_to_controller_usd", math.nan),
                        "answer_cost_to_other_usd": a.get("leverage_usd", math.nan),
                        "escalation_dominance": dominant,
                    }
                )
    return pd.DataFrame(rows, columns=_LADDER_COLUMNS)


def _strongest(cutoffs: Sequence[Mapping[Any, Any]]) -> Mapping[Any, Any]:
    """The cutoff imposing the most, as ``nlargest(1)``: the first of equals, NaN only where all are
    NaN; ``{}`` for none."""
    best: Mapping[Any, Any] = {}
    for x in cutoffs:
        if not math.isnan(x["leverage_usd"]) and (not best or x["leverage_usd"] > best["leverage_usd"]):
            best = x
    return best or (cutoffs[0] if cutoffs else {})


_LADDER_COLUMNS = [
    "pathway",
    "year",
    "side",
    "rung",
    "domain",
    "cost_to_other_usd",
    "cost_to_self_usd",
    "cost_ratio",
    "answer_domain",
    "answer_cost_to_self_usd",
    "answer_cost_to_other_usd",
    "escalation_dominance",
]


# --- the headline ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """Whether, and from when, blanket decoupling leaves ``a`` with less total leverage over ``b``
    than calibrated engagement, with one row per pathway in ``pathways``."""

    a: str
    b: str
    pathways: pd.DataFrame
    decoupled: str
    engaged: str
    less_leverage: bool | None  # None when one of the two pathways was not run
    from_year: int | None  # first year the decoupled pathway's leverage is below the engaged one's
    last_year: int | None
    gap_usd: float | None  # decoupled minus engaged, last year
    gap_share: float | None  # the gap as a share of the engaged pathway's leverage, last year

    @property
    def text(self) -> str:
        """The headline as one sentence."""
        if self.less_leverage is None:
            return f"The headline compares {self.decoupled} with {self.engaged}; run both pathways to compute it."
        last = self.pathways.set_index("pathway")["a_over_b_last_usd"]
        dec, eng = float(last[self.decoupled]), float(last[self.engaged])
        amounts = (
            f"by {self.last_year} {self.a}'s leverage over {self.b} is USD {_bn(dec)} "
            f"against USD {_bn(eng)} ({100 * (self.gap_share or 0.0):+.1f}%)"
        )
        if self.less_leverage:
            return (
                f"Blanket decoupling leaves {self.a} with less leverage over {self.b} than calibrated engagement "
                f"from {self.from_year}: {amounts}."
            )
        return (
            f"Blanket decoupling does not leave {self.a} with less leverage over {self.b} than calibrated "
            f"engagement by {self.last_year}: {amounts}."
        )

    def conclusion(self) -> dict[str, object]:
        """The discrete findings a sensitivity run checks for change: the headline verdict, and per
        pathway who the balance favours at the horizon and whether deterrence holds every year."""
        out: dict[str, object] = {"less_leverage": self.less_leverage}
        for r in self.pathways.to_dict("records"):
            out[f"{r['pathway']}: balance favours"] = r["balance_favours"]
            out[f"{r['pathway']}: deterrence holds every year"] = bool(r["deterrence_years_failing"] == 0)
        return out


def _bn(value: float) -> str:
    return f"{value / 1e9:,.0f} bn" if abs(value) >= 1e10 else f"{value / 1e9:,.1f} bn"


def _first_year(years: pd.Series, mask: pd.Series) -> int | None:
    hit = years[mask.to_numpy()]
    return int(hit.iloc[0]) if len(hit) else None


def leverage_headline(
    comparison: pd.DataFrame,
    a: str,
    b: str,
    *,
    discount_rate: float = 0.05,
    decoupled: str = DECOUPLED,
    engaged: str = ENGAGED,
    tolerance: float = 1e-9,
) -> Headline:
    """Per pathway: ``a``'s total leverage over ``b`` in the first and last year, ``b``'s over
    ``a``, the net balance and whom it favours, the first year the balance changes side, the years
    deterrence fails, and the present value (at ``discount_rate``) of the costs each side bears from
    the controls in force. Then the verdict: is ``decoupled``'s leverage of ``a`` over ``b`` below
    ``engaged``'s by more than ``tolerance`` (relative) in the last year, and from which year."""
    totals = (
        comparison.groupby(["pathway", "year", "controller_id"], sort=False)["leverage_usd"]
        .sum()
        .unstack("controller_id")
        .reindex(columns=[a, b])
        .fillna(0.0)
    )
    rows = []
    for name, g in comparison.groupby("pathway", sort=False):
        t = totals.loc[name]
        # one value per year, repeated on every dependence's row: the first row of each year
        per_year = (
            g.drop_duplicates("year")
            .set_index("year")
            .sort_index()
            .loc[:, ["net_balance_usd", "deterrence_holds"]]
            .set_axis(["net", "holds"], axis=1)
        )
        years = pd.Series(per_year.index)
        sign = np.sign(per_year["net"].to_numpy())
        changed = pd.Series(sign != sign[0])
        to_a = g["controller_id"] == a
        cost_a = np.where(to_a, g["cost_to_controller_usd"], g["cost_to_target_usd"])
        cost_b = np.where(to_a, g["cost_to_target_usd"], g["cost_to_controller_usd"])
        pv = (1.0 + discount_rate) ** -g["t"].to_numpy(dtype=float)
        net_last = float(per_year["net"].iloc[-1])
        rows.append(
            {
                "pathway": name,
                "first_year": int(years.iloc[0]),
                "last_year": int(years.iloc[-1]),
                "a_over_b_first_usd": float(t[a].iloc[0]),
                "a_over_b_last_usd": float(t[a].iloc[-1]),
                "b_over_a_last_usd": float(t[b].iloc[-1]),
                "net_last_usd": net_last,
                "balance_favours": a if net_last > 0 else (b if net_last < 0 else "neither"),
                "balance_changes_side": _first_year(years, changed),
                "deterrence_years_failing": int((~per_year["holds"].astype(bool)).sum()),
                "deterrence_fails_from": _first_year(years, ~per_year["holds"].astype(bool)),
                "pv_cost_to_a_usd": float(np.sum(cost_a * pv)),
                "pv_cost_to_b_usd": float(np.sum(cost_b * pv)),
            }
        )
    table = pd.DataFrame(rows)
    for col in ("balance_changes_side", "deterrence_fails_from"):
        table[col] = table[col].astype("Int64")
    if decoupled not in totals.index.get_level_values(0) or engaged not in totals.index.get_level_values(0):
        return Headline(a, b, table, decoupled, engaged, None, None, None, None, None)
    by_pathway = totals[a].unstack("pathway")
    both = by_pathway[[decoupled, engaged]].dropna()
    common = both.index
    dec, eng = both[decoupled], both[engaged]
    below = dec < eng * (1.0 - tolerance)
    gap = float(dec.iloc[-1] - eng.iloc[-1])
    return Headline(
        a,
        b,
        table,
        decoupled,
        engaged,
        less_leverage=bool(below.iloc[-1]),
        from_year=_first_year(pd.Series(common), below) if bool(below.iloc[-1]) else None,
        last_year=int(common[-1]),
        gap_usd=gap,
        gap_share=gap / float(eng.iloc[-1]) if eng.iloc[-1] > 0 else None,
    )


def assumptions_table(pathways: list[Pathway]) -> pd.DataFrame:
    """Every assumption of every pathway, one row each, with its rationale (for reports and files);
    a denial is a row with metric ``denial_strength via <domain>``."""
    rows = [{"pathway": p.name, **a.model_dump()} for p in pathways for a in p.assumptions]
    rows += [
        {
            "pathway": p.name,
            "controller": n.controller,
            "target": n.target,
            "domain": n.domain,
            "metric": f"denial_strength via {n.via}",
            "value": n.strength,
            "rationale": n.rationale,
        }
        for p in pathways
        for n in p.denials
    ]
    columns = ["pathway", "controller", "target", "domain", "metric", "value", "rationale"]
    return pd.DataFrame(rows, columns=columns)
