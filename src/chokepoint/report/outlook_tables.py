"""What the outlook report reads from an outlook, and whether each table is fit to draw.

:class:`OutlookLike` is the contract: the report reads these attributes and nothing else, so it
does not depend on how the outlook is computed. :func:`table_problem` says in one line why a table
cannot be drawn (missing, empty, a column short, a measure on the wrong scale); the report prints
that line where the figure would be.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from chokepoint.errors import ChokepointError
from chokepoint.foresight import Pipeline
from chokepoint.report.outlook_figures import driver_columns

__all__ = ["DEPENDENCE_STAGE", "TABLE_COLUMNS", "OutlookLike", "check_outlook", "outlook_table", "table_problem"]


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


#: The stage the report reads traced dependence at, when the table has stages: the separation of
#: oxides, where the controller's grip is tightest.
DEPENDENCE_STAGE = "refining"


def outlook_table(outlook: Any, name: str) -> Any:
    """Table ``name`` of ``outlook`` (``pipeline``: its ``projects``; ``dependence``: at
    :data:`DEPENDENCE_STAGE` where it has stages), or None when it has none."""
    if name == "pipeline":
        return getattr(getattr(outlook, "pipeline", None), "projects", None)
    table = getattr(outlook, name, None)
    if name == "dependence" and isinstance(table, pd.DataFrame) and "stage" in table.columns:
        return table[table["stage"] == DEPENDENCE_STAGE]
    return table


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
    **dict.fromkeys(["top1_share", "p_online_by_target", "deficit_share"], (0.0, 1.0)),
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
    table = outlook_table(outlook, name)
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
    if name == "pressure" and not driver_columns(table):
        return "pressure: no <driver>_points columns, so the score cannot be broken down"
    return None


#: The outlook's scalar attributes and their types: without them the page has no title or stamp.
SCALARS: dict[str, type] = {"scenario": str, "to": int, "as_of": int, "dataset": str, "fingerprint": str}


def check_outlook(outlook: Any) -> None:
    """Raise a one-line :class:`ChokepointError` when a scalar of :data:`SCALARS` is missing or of
    the wrong type, or ``to`` is not after ``as_of``. Tables are not checked here: a table the
    report cannot read becomes a note (:func:`table_problem`)."""
    for field, kind in SCALARS.items():
        value = getattr(outlook, field, None)
        if value is None:
            raise ChokepointError(f"outlook report: the outlook has no {field}")
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ChokepointError(f"outlook report, field {field}: expected {kind.__name__}, got {value!r}")
    if outlook.to <= outlook.as_of:
        raise ChokepointError(f"outlook report, field to: {outlook.to} is not after as_of {outlook.as_of}")
