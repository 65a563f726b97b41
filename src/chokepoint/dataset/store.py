"""The embedded DuckDB store: named datasets, the default loaded on first use. The only SQL here.

Every table of :data:`chokepoint.schema.TABLES` is one SQL table with an extra ``dataset`` column;
``datasets`` lists what the store holds. Writing a dataset is one transaction: a failure leaves
the store as it was.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import platformdirs

from chokepoint.dataset import DEFAULT_NAME, Dataset, default_dataset, default_fingerprint, layer
from chokepoint.errors import StoreError
from chokepoint.schema import TABLES, coerce_dtypes, schema

__all__ = ["Store", "default_db_path", "open_store"]

_SQL_TYPES = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE"}


def _wanted(table: str) -> list[tuple[str, str]]:
    """The (column, SQL type) list of ``table`` in the store: ``dataset`` and the schema's fields."""
    return [("dataset", "VARCHAR"), *((f.field, _SQL_TYPES[f.dtype]) for f in schema(table).fields)]


def default_db_path() -> Path:
    """``$CHOKEPOINT_DB`` if set, else ``chokepoint.duckdb`` in the user's data directory."""
    env = os.environ.get("CHOKEPOINT_DB")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("chokepoint", appauthor=False)) / "chokepoint.duckdb"


class Store:
    """A connection to one store file. Use :func:`open_store` to get one that is ready."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        self._con = con
        self.path = path

    def _create_tables(self) -> None:
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS datasets (name VARCHAR PRIMARY KEY, origin VARCHAR, "
            "fingerprint VARCHAR, saved_at TIMESTAMP, rows BIGINT)"
        )
        # one catalogue query: a store already at the current schema (every warm start) needs no DDL
        have: dict[str, list[tuple[str, str]]] = {}
        for table, column, sql_type in self._con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        ).fetchall():
            have.setdefault(table, []).append((column, sql_type))
        for table in TABLES:
            if have.get(table) == _wanted(table):
                continue
            cols = ", ".join(f'"{f.field}" {_SQL_TYPES[f.dtype]}' for f in schema(table).fields)
            self._con.execute(f'CREATE TABLE IF NOT EXISTS "{table}" (dataset VARCHAR NOT NULL, {cols})')
            self._migrate(table, cols)

    def _migrate(self, table: str, cols: str) -> None:
        """Bring a table written by an older version to the current schema: columns the schema
        added start empty (the default dataset is rewritten anyway; :meth:`read` refuses another
        dataset with an empty required column), columns it dropped go, changed types are cast."""
        have = [(r[1], r[2]) for r in self._con.execute(f"PRAGMA table_info('{table}')").fetchall()]
        want = _wanted(table)
        if have == want:
            return
        have_names = {name for name, _ in have}
        kept = ", ".join(f'"{c}"' for c, _ in want if c in have_names)
        con = self._con
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f'CREATE TABLE "_{table}_new" (dataset VARCHAR NOT NULL, {cols})')
            con.execute(f'INSERT INTO "_{table}_new" ({kept}) SELECT {kept} FROM "{table}"')
            con.execute(f'DROP TABLE "{table}"')
            con.execute(f'ALTER TABLE "_{table}_new" RENAME TO "{table}"')
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            first = str(exc).strip().splitlines()[0]
            raise StoreError(
                f"{self.path}: table {table!r} was written by another version and cannot be converted ({first}); "
                "use a new store with --db"
            ) from exc
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def datasets(self) -> pd.DataFrame:
        """The datasets held: name, origin file, fingerprint, time saved, total rows."""
        return self._con.execute("SELECT * FROM datasets ORDER BY saved_at").df()

    def has(self, name: str) -> bool:
        return bool(self._con.execute("SELECT count(*) FROM datasets WHERE name = ?", [name]).fetchone()[0])  # type: ignore[index]

    def fingerprint(self, name: str) -> str | None:
        row = self._con.execute("SELECT fingerprint FROM datasets WHERE name = ?", [name]).fetchone()
        return None if row is None else str(row[0])

    def save(self, ds: Dataset, origin: str, fingerprint: str = "") -> None:
        """Write ``ds`` under its name, replacing a dataset of that name, all or nothing."""
        con = self._con
        con.execute("BEGIN TRANSACTION")
        try:
            for table in TABLES:
                con.execute(f'DELETE FROM "{table}" WHERE dataset = ?', [ds.name])
                df = ds[table]
                if df.empty:
                    continue
                frame = df.assign(dataset=ds.name)[["dataset", *schema(table).columns]]
                con.register("_incoming", frame)
                names = ", ".join(f'"{c}"' for c in frame.columns)
                con.execute(f'INSERT INTO "{table}" ({names}) SELECT {names} FROM _incoming')
                con.unregister("_incoming")
            con.execute("DELETE FROM datasets WHERE name = ?", [ds.name])
            con.execute(
                "INSERT INTO datasets VALUES (?, ?, ?, ?, ?)",
                [ds.name, origin, fingerprint, datetime.now(UTC).replace(tzinfo=None), int(ds.row_counts().sum())],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def drop(self, name: str) -> None:
        """Remove a dataset (all or nothing)."""
        if not self.has(name):
            raise StoreError(f"{self.path}: no dataset named {name!r}; `chokepoint data list` shows the names")
        self._con.execute("BEGIN TRANSACTION")
        try:
            for table in (*TABLES, "datasets"):
                field = "name" if table == "datasets" else "dataset"
                self._con.execute(f'DELETE FROM "{table}" WHERE {field} = ?', [name])
            self._con.execute("COMMIT")
        except BaseException:
            self._con.execute("ROLLBACK")
            raise

    def read(self, name: str) -> Dataset:
        """One dataset as stored."""
        if not self.has(name):
            raise StoreError(f"{self.path}: no dataset named {name!r}; `chokepoint data list` shows the names")
        tables = {}
        for table in TABLES:
            cols = ", ".join(f'"{c}"' for c in schema(table).columns)
            df = self._con.execute(f'SELECT {cols} FROM "{table}" WHERE dataset = ?', [name]).df()
            # a column added to the schema after this dataset was saved is empty: say so, once
            empty = [f.field for f in schema(table).fields if f.required and len(df) and df[f.field].isna().all()]
            if empty:
                raise StoreError(
                    f"{self.path}: dataset {name!r} was saved before table {table!r} gained column {empty[0]!r}; "
                    f"import it again or remove it with `chokepoint data drop {name}`"
                )
            tables[table] = coerce_dtypes(table, df)
        return Dataset(name, tables)

    def load(self, names: Sequence[str] = (DEFAULT_NAME,)) -> Dataset:
        """The named datasets layered in order (later rows replace earlier rows with the same key)."""
        return layer([self.read(n) for n in names])

    def close(self) -> None:
        self._con.close()


@contextmanager
def open_store(path: Path | str | None = None, *, read_only: bool = False) -> Iterator[Store]:
    """Open (creating if needed) the store at ``path`` and make sure the default dataset is current.

    The shipped default is (re)written when missing or when the package's data changed.
    """
    db = Path(path) if path is not None else default_db_path()
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(db), read_only=read_only)
    except (OSError, duckdb.Error) as exc:
        first = str(exc).strip().splitlines()[0]
        raise StoreError(f"{db}: cannot open the store ({first}); choose another file with --db") from exc
    store = Store(con, db)
    try:
        if not read_only:
            store._create_tables()
            fingerprint = default_fingerprint()
            if store.fingerprint(DEFAULT_NAME) != fingerprint:
                store.save(default_dataset(), origin="chokepoint/data", fingerprint=fingerprint)
        yield store
    finally:
        store.close()
