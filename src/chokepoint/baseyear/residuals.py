"""How far the reconciled base year sits from each figure it was fitted to, and why.

:func:`residual_table` lists every target (its source, basis, quality, reported and reconciled
value, residual and weight); :func:`residual_summary` gives the share of targets within 5% and
10% and the worst ten with a reason: the other targets on the same lane or total that pull the
other way, or the hard constraint that binds (a region ships no more than it makes; capacity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from chokepoint.baseyear.fit import BaseYear
from chokepoint.baseyear.members import MEMBER_KIND

__all__ = [
    "COLUMNS",
    "ResidualReport",
    "ResidualSummary",
    "residual_markdown",
    "residual_report",
    "residual_summary",
    "residual_table",
    "worst_table",
]

#: The residual table's columns, in order.
COLUMNS = [
    "target_id",
    "kind",
    "region_id",
    "partner_id",
    "commodity_id",
    "source_id",
    "basis",
    "quality",
    "sense",
    "reported",
    "unit",
    "reconciled",
    "residual",
    "residual_pct",
    "weight",
]


def _num(value: float) -> str:
    """Tonnes to the tonne from 100 t up, smaller figures and shares to three decimals."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3f}"


def residual_table(by: BaseYear) -> pd.DataFrame:
    """Every target of the base year with its reconciled value and residual (``residual_pct`` =
    residual ÷ reported × 100; a lower bound, sense ``>=``, has no residual when exceeded)."""
    t = by.targets.assign(residual_pct=100.0 * by.targets["relative"])
    return t[COLUMNS].reset_index(drop=True)


@dataclass(frozen=True)
class ResidualSummary:
    """Share of targets within 5% and 10% of their reported value, and the worst ten with a reason."""

    material: str
    year: int
    targets: int
    within_5pct: float
    within_10pct: float
    worst: pd.DataFrame
    #: Member targets (not in ``targets``) and their share within 10%.
    member_targets: int = 0
    members_within_10pct: float = 1.0

    def as_table(self) -> pd.DataFrame:
        """The headline figures as a labelled one-column table."""
        return pd.DataFrame(
            {
                "value": [self.targets, round(100 * self.within_5pct, 1), round(100 * self.within_10pct, 1)],
            },
            index=pd.Index(["targets", "within_5pct_share_pct", "within_10pct_share_pct"], name="figure"),
        )


_WORST = ["target_id", "kind", "region_id", "partner_id", "commodity_id", "reported", "reconciled"]
_WORST += ["residual_pct", "weight", "reason"]


def residual_summary(by: BaseYear, worst: int = 10) -> ResidualSummary:
    """The fit's summary (module docs); ``worst`` targets by weighted squared residual. The shares
    within 5% and 10% count the dataset's own figures; member targets (how ``group_shares``
    divides a group's output, :mod:`chokepoint.baseyear.members`) are guides, counted apart."""
    table = residual_table(by)
    rel = table["residual_pct"].abs()
    cost = table["weight"] * (rel / 100.0) ** 2
    order = cost.sort_values(ascending=False, kind="stable").index[:worst]
    top = table.loc[order].assign(reason=[_reason(by, table, int(i)) for i in order])
    member = (table["kind"] == MEMBER_KIND).to_numpy()
    own, guide = rel[~member], rel[member]
    return ResidualSummary(
        material=by.material,
        year=by.year,
        targets=len(own),
        within_5pct=float((own <= 5.0).mean()) if len(own) else 1.0,
        within_10pct=float((own <= 10.0).mean()) if len(own) else 1.0,
        worst=top[_WORST].reset_index(drop=True),
        member_targets=len(guide),
        members_within_10pct=float((guide <= 10.0).mean()) if len(guide) else 1.0,
    )


def _reason(by: BaseYear, table: pd.DataFrame, i: int) -> str:
    """Why target ``i`` misses: rivals on a shared variable pulling the other way, else the binding
    hard constraint of its exporter or region, else the mass balance against heavier targets."""
    terms = by.terms
    mine = terms.loc[terms["target"] == i, "var"]
    others = terms.loc[terms["var"].isin(mine) & (terms["target"] != i), "target"].unique()
    sign = float(np.sign(table["residual"].to_numpy(dtype=float)[i]))
    rivals = table.loc[others]
    pulling = (np.sign(rivals["residual"]) == -sign) & (rivals["residual_pct"].abs() > 0.05)
    rivals = rivals[pulling].sort_values("weight", ascending=False).head(2)
    if len(rivals):
        listed = "; ".join(
            f"{r.target_id} (reported {_num(r.reported)}, {r.residual_pct:+.1f}%)" for r in rivals.itertuples()
        )
        return f"disagrees with {listed} on the same lane or total"
    row = table.loc[i]
    region, commodity = row["region_id"], row["commodity_id"]
    bind = by.binding[(by.binding["region_id"] == region) & by.binding["commodity_id"].isin(commodity.split("+"))]
    if len(bind):
        return f"{bind['constraint'].iloc[0]} binds for {region} {commodity}"
    same = table[(table["region_id"] == region) & (table.index != i) & (np.sign(table["residual"]) == -sign)]
    if len(same):
        heavy = same.sort_values("weight", ascending=False).iloc[0]
        return f"mass balance against {heavy['target_id']} ({heavy['residual_pct']:+.1f}%)"
    return "mass balance against heavier targets upstream or downstream"


@dataclass(frozen=True)
class ResidualReport:
    """The residual table of a base year and its summary."""

    table: pd.DataFrame
    summary: ResidualSummary


def residual_report(by: BaseYear) -> ResidualReport:
    """:func:`residual_table` and :func:`residual_summary` of ``by``."""
    return ResidualReport(table=residual_table(by), summary=residual_summary(by))


def residual_markdown(by: BaseYear) -> str:
    """The summary, the targets by kind and quality, and the worst ten as Markdown (docs/baseyear.md)."""
    report = residual_report(by)
    s, t = report.summary, report.table
    within = (t["residual_pct"].abs() <= 10.0).rename("within_10pct")
    by_kind = (
        t.assign(within_10pct=within)
        .groupby(["kind", "quality"])
        .agg(targets=("target_id", "size"), within_10pct=("within_10pct", "sum"))
        .reset_index()
    )
    lines = [
        f"{s.targets} targets; {100 * s.within_5pct:.1f}% within 5%, {100 * s.within_10pct:.1f}% within 10%. "
        f"Member targets (group_shares, guides): {s.member_targets}, "
        f"{100 * s.members_within_10pct:.1f}% within 10%.",
        "",
        "| kind | quality | targets | within 10% |",
        "|---|---|---:|---:|",
        *(f"| {r.kind} | {r.quality} | {r.targets} | {r.within_10pct} |" for r in by_kind.itertuples()),
        "",
        "| target | reported | reconciled | residual | weight | reason |",
        "|---|---:|---:|---:|---:|---|",
    ]
    w = s.worst
    for tid, rep, rec, pct, weight, reason in zip(
        w["target_id"],
        w["reported"].to_numpy(dtype=float),
        w["reconciled"].to_numpy(dtype=float),
        w["residual_pct"].to_numpy(dtype=float),
        w["weight"].to_numpy(dtype=float),
        w["reason"],
        strict=True,
    ):
        lines.append(f"| `{tid}` | {_num(rep)} | {_num(rec)} | {pct:+.1f}% | {weight:,.0f} | {reason} |")
    return "\n".join(lines) + "\n"


def worst_table(by: BaseYear, n: int = 5) -> pd.DataFrame:
    """The ``n`` worst targets with the fit's target count and share within 10% on every row
    (the simulation's ``base_year_fit`` table)."""
    s = residual_summary(by, worst=n)
    return s.worst[["target_id", "kind", "reported", "reconciled", "residual_pct", "weight", "reason"]].assign(
        targets=s.targets, within_10pct_share_pct=100.0 * s.within_10pct
    )
