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
LimitOption = Annotated[
    int | None,
    typer.Option("--limit", "-n", min=0, help="Rows in the table view (0: all); csv and json always carry every row."),
]
SearchOption = Annotated[
    str | None,
    typer.Option("--search", "-s", help="Keep rows where any column contains this text (case-insensitive)."),
]


def code_of(ds: Dataset, table: str, value: str) -> str:
    """The id in ``table`` (``regions``, ``sectors``, ``commodities``) that ``value`` names: its id or
    its name in any case (``jpn``, ``Japan`` -> ``JPN``), or for commodities a product group
    (``ndfeb_magnet``: every magnet); otherwise a one-line error with the nearest id or name
    (``defense`` -> ``defence``)."""
    import difflib

    from chokepoint.errors import ChokepointError

    singular = {"regions": "region", "sectors": "sector", "commodities": "commodity"}[table]
    rows, id_col = ds[table], f"{singular}_id"
    names = {str(k).casefold(): str(k) for k in rows[id_col]}
    if "name" in rows:
        names |= {str(n).casefold(): str(k) for k, n in zip(rows[id_col], rows["name"], strict=True)}
    if "product_group" in rows:
        names |= {str(g).casefold(): str(g) for g in rows["product_group"].dropna()}
    if value.casefold() in names:
        return names[value.casefold()]
    close = difflib.get_close_matches(value.casefold(), list(names), n=1, cutoff=0.6)
    hint = f"did you mean {names[close[0]]!r}? " if close else ""
    examples = ", ".join(sorted(map(str, rows[id_col]))[:8])
    raise ChokepointError(f"unknown {singular} {value!r}; {hint}use an id of data/{table}.csv ({examples} ...)")


@contextmanager
def open_dataset(db: Path | None, names: Sequence[str] | None) -> Iterator[Dataset]:
    """The named datasets layered (default: the shipped one), read in one short read-only visit
    to the store: the command's work in the block holds no lock, so other processes read and write."""
    from chokepoint.dataset import DEFAULT_NAME
    from chokepoint.dataset.store import open_store

    with open_store(db) as store:
        yield store.load(list(names) if names else [DEFAULT_NAME])


def console() -> Console:
    """Rich console on stdout, as wide as the terminal or ``$COLUMNS``; piped output with neither
    gets 160 columns, where Rich would fall back to 80 and fold every cell."""
    import os

    from rich.console import Console

    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS", "").isdigit() else 160
    return Console(width=width)


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
        if abs(value) < 1e-6:  # numerical noise around zero reads as zero
            return "0"
        if abs(value) < 1:  # shares and indices: two significant digits, not a rounded-away 0.0
            return f"{value:.2g}"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"
    return str(value)


def _longest_word(cells: Sequence[str]) -> int:
    return max((len(word) for cell in cells for word in cell.split()), default=0)


def print_table(df: pd.DataFrame, title: str | None = None, limit: int | None = None) -> None:
    """``df`` as a table that fits the console: each column at least as wide as its longest word,
    so text wraps between words, never inside one. When even that is wider than the console, each
    row is printed as a block of ``column: value`` lines instead (psql's expanded display). With
    ``limit``, the first ``limit`` rows and a line saying how many more there are."""
    import pandas as pd
    from rich import box
    from rich.table import Table

    shown = df if limit is None else df.head(limit)
    cells = {str(col): [_fmt_cell(v) for v in shown[col]] for col in shown.columns}
    widths = {col: max(_longest_word([col, *values]), 1) for col, values in cells.items()}
    out = console()
    if sum(widths.values()) + 3 * len(widths) + 1 <= out.width:
        table = Table(title=title, title_justify="left", header_style="bold")
        for col in cells:
            numeric = pd.api.types.is_numeric_dtype(shown[col])
            table.add_column(col, justify="right" if numeric else "left", min_width=widths[col], overflow="fold")
        for row in zip(*cells.values(), strict=True):
            table.add_row(*row)
    else:
        table = Table(title=title, title_justify="left", show_header=False, box=box.HORIZONTALS)
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        for i in range(len(shown)):
            for j, (col, values) in enumerate(cells.items()):
                table.add_row(col, values[i], end_section=j == len(cells) - 1)
    out.print(table)
    if len(shown) < len(df):
        out.print(f"... and {len(df) - len(shown):,} more rows (--limit 0 or --format csv|json shows all)")


def emit(df: pd.DataFrame, fmt: OutputFormat, title: str | None = None, limit: int | None = None) -> None:
    """``df`` on stdout as CSV, JSON records or a table; ``limit`` shortens the table only."""
    if fmt is OutputFormat.csv:
        sys.stdout.write(df.to_csv(index=False))
    elif fmt is OutputFormat.json:
        write_json(records(df))
    else:
        print_table(df, title, limit=limit or None)


def matching(df: pd.DataFrame, text: str | None) -> pd.DataFrame:
    """The rows of ``df`` where any cell, as text, contains ``text`` (case-insensitive)."""
    if not text:
        return df
    hit = df.astype(str).apply(lambda col: col.str.contains(text, case=False, regex=False)).any(axis=1)
    return df.loc[hit].reset_index(drop=True)


def emit_indexed(df: pd.DataFrame, fmt: OutputFormat, title: str) -> None:
    emit(df.reset_index(), fmt, title=title)


def write_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
