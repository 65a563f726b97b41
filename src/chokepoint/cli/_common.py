"""What every command shares: option types, output formats, printing tables and opening datasets.

Nothing heavy is imported at module level: ``chokepoint --help`` builds every command's options
from these annotations, and must not pay for pandas, the store or plotly (each is imported inside
the function that uses it).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from chokepoint.dataset import Dataset


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Store file (default: $CHOKEPOINT_DB or chokepoint.duckdb in the user data folder)."),
]
DatasetOption = Annotated[
    list[str] | None,
    typer.Option("--dataset", "-d", help="Dataset to use; repeat to layer (later replaces earlier). Default: default."),
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
YearOption = Annotated[int, typer.Option("--year", "-y", help="Calendar year.")]
MaterialOption = Annotated[str, typer.Option("--commodity", "-c", help="Material whose chain is traced.")]


@contextmanager
def open_dataset(db: Path | None, names: Sequence[str] | None) -> Iterator[Dataset]:
    """The named datasets layered (default: the shipped one), read in one short read-only visit
    to the store: the command's work in the block holds no lock, so other processes read and write."""
    from chokepoint.dataset import DEFAULT_NAME
    from chokepoint.dataset.store import open_store

    with open_store(db) as store:
        yield store.load(list(names) if names else [DEFAULT_NAME])


@cache
def console() -> Console:
    """Rich console on stdout; piped output is not a terminal, where Rich would fall back to 80
    columns and fold every cell."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


def jsonable(value: Any) -> Any:
    import pandas as pd

    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Period):  # run tables label months with Periods
        return str(value)
    if isinstance(value, pd.Timestamp):  # e.g. when a dataset was imported
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): jsonable(v) for k, v in row.items()} for row in df.to_dict("records")]


def _fmt_cell(value: Any) -> str:
    value = jsonable(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"
    return str(value)


def print_table(df: pd.DataFrame, title: str | None = None) -> None:
    import pandas as pd
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    for col in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[col])
        table.add_column(str(col), justify="right" if numeric else "left", overflow="fold")
    for row in df.itertuples(index=False):
        table.add_row(*(_fmt_cell(v) for v in row))
    console().print(table)


def emit(df: pd.DataFrame, fmt: OutputFormat, title: str | None = None) -> None:
    """``df`` on stdout as CSV, JSON records or a table."""
    if fmt is OutputFormat.csv:
        sys.stdout.write(df.to_csv(index=False))
    elif fmt is OutputFormat.json:
        write_json(records(df))
    else:
        print_table(df, title)


def emit_indexed(df: pd.DataFrame, fmt: OutputFormat, title: str) -> None:
    emit(df.reset_index(), fmt, title=title)


def write_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
