"""A dataset: one validated DataFrame per table, immutable, plus reading and layering.

The shipped default dataset is a folder of CSV files in ``chokepoint/data`` (one per table,
named ``<table>.csv``). Users bring their own as a folder of the same shape or through the
importers; :func:`layer` puts one dataset over another, replacing rows that share a key.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from chokepoint.errors import SchemaError
from chokepoint.schema import TABLES, coerce_dtypes, empty_table, schema, validate_table

__all__ = [
    "DEFAULT_NAME",
    "Dataset",
    "default_dataset",
    "default_fingerprint",
    "layer",
    "read_dataset_dir",
    "read_table_csv",
]

DEFAULT_NAME = "default"


@dataclass(frozen=True)
class Dataset:
    """Validated tables of one dataset (every table in :data:`chokepoint.schema.TABLES`).

    Tables absent from the source are empty with the schema's columns, so code can always
    index ``ds["trade"]``. The mapping is read-only; build a new dataset to change it.
    """

    name: str
    tables: Mapping[str, pd.DataFrame] = field(repr=False)

    def __post_init__(self) -> None:
        # an empty table only where one is missing (``.get(t, empty_table(t))`` built all twenty)
        full = {t: self.tables[t] if t in self.tables else empty_table(t) for t in TABLES}
        object.__setattr__(self, "tables", MappingProxyType(full))

    def __reduce__(self) -> tuple[type[Dataset], tuple[str, dict[str, pd.DataFrame]]]:
        # a read-only mapping does not pickle; a sweep's worker processes receive a copy
        return Dataset, (self.name, dict(self.tables))

    def __getitem__(self, table: str) -> pd.DataFrame:
        if table not in self.tables:
            raise SchemaError(f"unknown table {table!r}; tables are: {', '.join(TABLES)}")
        return self.tables[table]

    @cached_property
    def fingerprint(self) -> str:
        """A content hash of every table (names, columns and values, not row order's index): two
        datasets with the same fingerprint give the same results. 16 hex digits of SHA-256."""
        digest = hashlib.sha256()
        for table in sorted(self.tables):
            df = self.tables[table]
            digest.update(f"{table}:{','.join(map(str, df.columns))}:{len(df)}".encode())
            if len(df):
                digest.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
        return digest.hexdigest()[:16]

    def row_counts(self) -> pd.Series:
        """Rows per table, indexed by table name."""
        return pd.Series({t: len(df) for t, df in self.tables.items()}, name="rows").rename_axis("table")


def read_table_csv(table: str, path: Path | str, text: str | None = None) -> pd.DataFrame:
    """Read and validate one table's CSV; the index is the file line of each row (header = 1).

    ``text`` lets a caller pass the content (e.g. from package resources); ``path`` then only
    names it in error messages.
    """
    name = Path(path).name
    try:
        source = io.StringIO(text) if text is not None else Path(path)
        df = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError as exc:
        raise SchemaError(f"{path}: file not found") from exc
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "empty file"
        raise SchemaError(
            f"{name}: not a readable CSV table ({first}); check quoting and the number of commas per line"
        ) from exc
    df.index = pd.RangeIndex(2, len(df) + 2, name="line")
    return validate_table(table, df, origin=name)


def read_dataset_dir(directory: Path | str, name: str | None = None) -> Dataset:
    """Read every ``<table>.csv`` present in ``directory`` into a :class:`Dataset`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise SchemaError(f"{directory}: not a folder of table CSV files")
    tables = {t: read_table_csv(t, directory / f"{t}.csv") for t in TABLES if (directory / f"{t}.csv").exists()}
    if not tables:
        raise SchemaError(f"{directory}: holds none of the table files {', '.join(f'{t}.csv' for t in TABLES)}")
    return Dataset(name or directory.name, tables)


def _default_texts() -> dict[str, str]:
    data = resources.files("chokepoint").joinpath("data")
    return {
        t: data.joinpath(f"{t}.csv").read_text(encoding="utf-8") for t in TABLES if data.joinpath(f"{t}.csv").is_file()
    }


def default_fingerprint() -> str:
    """A hash of the shipped CSV files: the store reloads the default when it changes."""
    digest = hashlib.sha256()
    for table, text in sorted(_default_texts().items()):
        digest.update(table.encode())
        digest.update(text.encode())
    return digest.hexdigest()[:16]


def default_dataset() -> Dataset:
    """The dataset shipped in the package (validated, not yet cross-checked)."""
    tables = {t: read_table_csv(t, f"chokepoint/data/{t}.csv", text) for t, text in _default_texts().items()}
    return Dataset(DEFAULT_NAME, tables)


def layer(datasets: Iterable[Dataset], name: str | None = None) -> Dataset:
    """Stack datasets in order; a later dataset's row replaces an earlier one with the same key."""
    items = list(datasets)
    if not items:
        raise SchemaError("no dataset to layer; name at least one")
    if len(items) == 1:
        return items[0]
    tables = {}
    for table in TABLES:
        frames = [d[table] for d in items if len(d[table])]
        if not frames:
            continue
        # all-empty columns (e.g. notes) are left out of the concat, which would otherwise warn
        # that it may change dtypes, and put back with the schema's dtypes
        trimmed = [f.dropna(axis=1, how="all") for f in frames]
        stacked = coerce_dtypes(table, pd.concat(trimmed, ignore_index=True).reindex(columns=schema(table).columns))
        key = schema(table).key
        tables[table] = stacked.drop_duplicates(key, keep="last").reset_index(drop=True)
    return Dataset(name or "+".join(d.name for d in items), tables)
