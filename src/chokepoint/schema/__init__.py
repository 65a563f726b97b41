"""Table schemas as data, and the shape layer of validation.

Each table of a dataset has one CSV file in this folder listing its fields (name, dtype, unit,
key, required, allowed values, description), in the manner of PyPSA's component attributes.
The same files drive :func:`validate_table`, the table order used everywhere, and the reference
page ``docs/schema.md`` (:func:`schema_markdown`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, field_validator

from chokepoint.errors import SchemaError

__all__ = [
    "TABLES",
    "FieldSpec",
    "TableSchema",
    "coerce_dtypes",
    "empty_table",
    "schema",
    "schema_markdown",
    "validate_table",
]

#: Every table of a dataset, in dependency order (codes first, then the tables citing them).
TABLES: tuple[str, ...] = (
    "sources",
    "regions",
    "commodities",
    "sectors",
    "element_content",
    "recipes",
    "group_shares",
    "facilities",
    "facility_capacity",
    "pipeline_risk",
    "supply_outlook",
    "production",
    "reserves",
    "trade",
    "trade_shares",
    "intensities",
    "sector_activity",
    "sector_values",
    "stocks",
    "prices",
    "governance",
    "supply_shares",
    "material_indicators",
    "outlook_materials",
    "end_use_shares",
    "nace_value_added",
    "patents",
    "leverage",
    "target_weights",
)

Dtype = Literal["str", "int", "float"]
#: Largest magnitude a table's number may have: ten times world GDP in USD, far above any tonnage.
MAX_NUMBER = 1e15
#: The unit of rates of change (growth a year), the only numbers that may be negative.
RATE_UNIT = "%/yr"


class FieldSpec(BaseModel):
    """One row of a schema file: a field of a table."""

    model_config = ConfigDict(frozen=True)

    field: str
    dtype: Dtype
    unit: str = ""
    key: bool
    required: bool
    allowed: tuple[str, ...] = ()
    description: str

    @field_validator("allowed", mode="before")
    @classmethod
    def _split_allowed(cls, value: object) -> object:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ()
        if isinstance(value, str):
            return tuple(v for v in value.split("|") if v)
        return value

    @field_validator("unit", mode="before")
    @classmethod
    def _blank_unit(cls, value: object) -> object:
        return "" if value is None or (isinstance(value, float) and np.isnan(value)) else value

    @property
    def is_quantity(self) -> bool:
        """Numeric non-key fields are physical quantities, shares or money: never negative
        (rates of change, unit ``%/yr``, are the exception: demand can shrink)."""
        return self.dtype in ("int", "float") and not self.key and not self.is_rate

    @property
    def is_rate(self) -> bool:
        """A unit of ``%/yr`` marks a rate of change, which may be negative."""
        return self.unit == RATE_UNIT

    @property
    def is_fraction(self) -> bool:
        """A unit of ``1`` marks a share expressed as a fraction, which cannot exceed 1."""
        return self.unit == "1"


@dataclass(frozen=True)
class TableSchema:
    """The fields of one table, in column order."""

    name: str
    fields: tuple[FieldSpec, ...]

    @property
    def columns(self) -> list[str]:
        return [f.field for f in self.fields]

    @property
    def key(self) -> list[str]:
        return [f.field for f in self.fields if f.key]

    def spec(self, field: str) -> FieldSpec:
        return next(f for f in self.fields if f.field == field)


@functools.cache
def schema(table: str) -> TableSchema:
    """Return the schema of ``table`` (one of :data:`TABLES`)."""
    if table not in TABLES:
        raise SchemaError(f"unknown table {table!r}; tables are: {', '.join(TABLES)}")
    text = resources.files(__package__).joinpath(f"{table}.csv")
    with text.open("r", encoding="utf-8") as fh:
        rows = pd.read_csv(fh, dtype=str, keep_default_na=False)
    fields = tuple(
        FieldSpec.model_validate(
            {
                **row,
                "key": row["key"] == "true",
                "required": row["required"] == "true",
                "allowed": row["allowed"] or None,
            }
        )
        for row in rows.to_dict("records")
    )
    return TableSchema(table, fields)


def empty_table(table: str) -> pd.DataFrame:
    """An empty DataFrame with the table's columns and dtypes."""
    return coerce_dtypes(table, pd.DataFrame(columns=schema(table).columns))


def coerce_dtypes(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """``df``'s schema columns with the schema's dtypes: ``string``, nullable ``Int64``, ``float64``."""
    out: dict[str, pd.Series] = {}
    for f in schema(table).fields:
        col = df[f.field]
        if f.dtype == "str":
            out[f.field] = col.astype("string")
        elif f.dtype == "int":
            out[f.field] = pd.to_numeric(col).astype("Int64")
        else:
            out[f.field] = pd.to_numeric(col).astype("float64")
    return pd.DataFrame(out, index=df.index)


def _where(origin: str, df: pd.DataFrame, position: int) -> str:
    """Locate a row for a message: the file line when the table came from a CSV file."""
    if df.index.name == "line":
        return f"{origin} line {int(df.index[position])}"
    return f"{origin} row {position + 1}"


def validate_table(table: str, df: pd.DataFrame, origin: str | None = None) -> pd.DataFrame:
    """Check ``df`` against the schema of ``table`` and return it with schema dtypes.

    Checks, in order: required columns present (optional ones may be left out) and no unknown
    ones; numbers parse (and ints are whole); required fields filled; values among the allowed
    ones; quantities not negative; fractions at most 1; keys unique. The first failure raises
    :class:`SchemaError` with one line naming the origin (file), line, field, value and fix. An
    index named ``line`` is read as the file line of each row (as
    :func:`chokepoint.dataset.read_table_csv` sets it); otherwise rows count from 1.
    """
    spec = schema(table)
    where = origin or table
    missing = [f.field for f in spec.fields if f.required and f.field not in df.columns]
    if missing:
        raise SchemaError(
            f"{where}: missing column {missing[0]!r}; the {table} table needs columns {', '.join(spec.columns)}"
        )
    unknown = [c for c in df.columns if c not in spec.columns]
    if unknown:
        raise SchemaError(
            f"{where}: unknown column {unknown[0]!r}; the {table} table has columns {', '.join(spec.columns)}"
        )
    # Optional columns may be left out of a file; they are empty.
    raw = df.reindex(columns=spec.columns)
    text = raw.astype("string").apply(lambda s: s.str.strip()).replace("", pd.NA)
    out: dict[str, pd.Series] = {}
    for f in spec.fields:
        col = text[f.field]
        filled = col.notna().to_numpy()
        if f.dtype == "str":
            out[f.field] = col
        else:
            num = pd.to_numeric(col.str.replace(",", "", regex=False), errors="coerce").astype("float64")
            # inf, nan and 1e308 parse as numbers but are none: they would fill results with inf and NaN
            bad = filled & num.isna().to_numpy()
            huge = filled & ~bad & ~(num.abs() <= MAX_NUMBER).to_numpy()
            if f.dtype == "int":
                bad |= filled & ~huge & (np.where(huge, 0.0, num.fillna(0).to_numpy()) % 1 != 0)
            if huge.any() and not (bad.any() and np.flatnonzero(bad)[0] <= np.flatnonzero(huge)[0]):
                i = int(np.flatnonzero(huge)[0])
                raise SchemaError(
                    f"{_where(where, df, i)}, field {f.field}: {col.iloc[i]!r} is not a finite number at most "
                    f"{MAX_NUMBER:.0e}; write the number itself{f' in {f.unit}' if f.unit else ''}"
                )
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                kind = "a whole number" if f.dtype == "int" else "a number"
                raise SchemaError(
                    f"{_where(where, df, i)}, field {f.field}: {col.iloc[i]!r} is not {kind}; "
                    f"write it as plain digits{f' in {f.unit}' if f.unit else ''}"
                )
            out[f.field] = num.astype("Int64") if f.dtype == "int" else num
        series = out[f.field]
        if f.required and not filled.all():
            i = int(np.flatnonzero(~filled)[0])
            raise SchemaError(
                f"{_where(where, df, i)}, field {f.field}: is empty; {f.field} is required ({f.description})"
            )
        if f.allowed:
            bad = filled & ~col.isin(f.allowed).fillna(False).to_numpy()
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise SchemaError(
                    f"{_where(where, df, i)}, field {f.field}: {col.iloc[i]!r} is not allowed; "
                    f"use one of {', '.join(f.allowed)}"
                )
        if f.is_quantity:
            values = series.astype("float64").to_numpy()
            neg = filled & (np.nan_to_num(values) < 0)
            if neg.any():
                i = int(np.flatnonzero(neg)[0])
                raise SchemaError(
                    f"{_where(where, df, i)}, field {f.field}: {col.iloc[i]} is negative; "
                    "quantities cannot be below zero"
                )
            if f.is_fraction:
                over = filled & (np.nan_to_num(values) > 1)
                if over.any():
                    i = int(np.flatnonzero(over)[0])
                    raise SchemaError(
                        f"{_where(where, df, i)}, field {f.field}: {col.iloc[i]} is above 1; "
                        "shares are fractions (0.45 for 45%) and cannot exceed 100%"
                    )
    result = pd.DataFrame(out, index=df.index)
    result = coerce_dtypes(table, result)
    if spec.key:
        dup = result.duplicated(spec.key, keep="first").to_numpy()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            key = ", ".join(f"{k}={result[k].iloc[i]}" for k in spec.key)
            raise SchemaError(
                f"{_where(where, df, i)}: duplicate row for {key}; keep one row per {', '.join(spec.key)}"
            )
    return result


def schema_markdown() -> str:
    """The reference page for every table, generated from the schema files (``docs/schema.md``)."""
    lines = [
        "# Dataset schema",
        "",
        "Generated from `src/chokepoint/schema/*.csv` by `chokepoint data schema`; do not edit by hand.",
        "Every numeric row names a `source_id` (see `sources`) and a `basis`: `reported` (as published),",
        "`derived` (computed from published figures; `note` gives the formula) or `assumption`",
        "(not published; `note` gives the rationale). Quantities are never negative (rates of change, unit",
        "`%/yr`, may be); fields with unit `1`",
        "are fractions between 0 and 1. Key fields identify a row: a later dataset layered over an",
        "earlier one replaces rows with the same key.",
        "",
    ]
    for table in TABLES:
        spec = schema(table)
        lines += [
            f"## `{table}`",
            "",
            "| field | dtype | unit | key | required | allowed | description |",
            "|---|---|---|---|---|---|---|",
        ]
        for f in spec.fields:
            allowed = ", ".join(f"`{a}`" for a in f.allowed)
            lines.append(
                f"| `{f.field}` | {f.dtype} | {f.unit} | {'yes' if f.key else ''} | "
                f"{'yes' if f.required else ''} | {allowed} | {f.description} |"
            )
        lines.append("")
    return "\n".join(lines)
