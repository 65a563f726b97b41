"""The embedded DuckDB store: named datasets, the default loaded on first use. The only SQL here.

Every table of :data:`chokepoint.schema.TABLES` is one SQL table with an extra ``dataset`` column;
``datasets`` lists what the store holds. Writing a dataset is one transaction: a failure leaves
the store as it was.

Many processes may use one store at once. DuckDB lets a file be open by any number of read-only
connections or by one read-write connection, never both, so no connection outlives the call that
needed it: every read opens the file read-only, every write opens it read-write for just its
transaction, and an open that finds the file held retries with backoff until
``$CHOKEPOINT_LOCK_TIMEOUT`` seconds (default 30) have passed.
"""

from __future__ import annotations

import math
import os
import random
import re
import threading
import time
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

__all__ = ["LOCK_TIMEOUT_ENV", "Store", "default_db_path", "lock_timeout_s", "open_store"]

_SQL_TYPES = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE"}
_DATASETS_COLUMNS = [
    ("name", "VARCHAR"),
    ("origin", "VARCHAR"),
    ("fingerprint", "VARCHAR"),
    ("saved_at", "TIMESTAMP"),
    ("rows", "BIGINT"),
]

#: Environment variable: seconds to wait for a store another process holds (default 30).
LOCK_TIMEOUT_ENV = "CHOKEPOINT_LOCK_TIMEOUT"
_DEFAULT_TIMEOUT_S = 30.0
_FIRST_DELAY_S = 0.01
# short enough that a writer finds the gap between two readers' brief holds
_MAX_DELAY_S = 0.25
# DuckDB's words when another process holds the file, or when this process has it open in the
# other mode (its instance cache refuses a second configuration until the first closes)
_HELD = ("Could not set lock on file", "different configuration than existing connections")
# DuckDB serialises processes, not the threads of one process (they share one database instance,
# where two read-write connections would race to create the same tables): one writer at a time here
_THREAD_WRITER = threading.Lock()
_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


def _wanted(table: str) -> list[tuple[str, str]]:
    """The (column, SQL type) list of ``table`` in the store: ``dataset`` and the schema's fields."""
    return [("dataset", "VARCHAR"), *((f.field, _SQL_TYPES[f.dtype]) for f in schema(table).fields)]


def default_db_path() -> Path:
    """``$CHOKEPOINT_DB`` if set, else ``chokepoint.duckdb`` in the user's data directory."""
    env = os.environ.get("CHOKEPOINT_DB")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("chokepoint", appauthor=False)) / "chokepoint.duckdb"


def lock_timeout_s() -> float:
    """Seconds to wait for a store held by another process: ``$CHOKEPOINT_LOCK_TIMEOUT`` or 30."""
    text = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not text:
        return _DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise StoreError(f"{LOCK_TIMEOUT_ENV}={text!r}: not a number of seconds; set a number such as 30")
    return value


def _holder(message: str) -> str:
    """Who holds the store, from DuckDB's message and (on Linux) the holder's command line."""
    found = _HOLDER.search(message)
    if found is None:
        return "another connection in this process" if _HELD[1] in message else "another process"
    pid = found["pid"]
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return f"process {pid} ({Path(found['program']).name})"
    # `python -m chokepoint data import …` or `.venv/bin/chokepoint data import …`: show what it runs
    words = [Path(a).name if i < 2 else a for i, a in enumerate(a for a in argv if a)]
    if len(words) > 1 and words[0].startswith("python"):
        words = words[1:]
    command = " ".join(" ".join(words).split())  # one line, whatever the arguments held
    return f"process {pid} ({command[:77] + '...' if len(command) > 80 else command})"


def _connect(db: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A connection to ``db``, waiting with jittered exponential backoff while another holds it."""
    timeout = lock_timeout_s()
    deadline = time.monotonic() + timeout
    delay = _FIRST_DELAY_S
    while True:
        try:
            return duckdb.connect(str(db), read_only=read_only)
        except duckdb.Error as exc:
            message = str(exc).strip()
            if not any(words in message for words in _HELD):
                first = message.splitlines()[0] if message else type(exc).__name__
                raise StoreError(f"{db}: cannot open the store ({first}); choose another file with --db") from exc
            left = deadline - time.monotonic()
            if left <= 0:
                wanted = "read" if read_only else "write"
                raise StoreError(
                    f"{db}: cannot {wanted} the store: {_holder(message)} still holds it after {timeout:g} s; "
                    f"try again when it has finished, or wait longer with {LOCK_TIMEOUT_ENV}=<seconds>"
                ) from exc
            # jitter: processes that collided do not retry in step
            time.sleep(min(left, delay * random.uniform(0.5, 1.0)))
            delay = min(2 * delay, _MAX_DELAY_S)


class Store:
    """One store file. Every call opens the file for as long as it needs and closes it again (see
    the module's notes); use :func:`open_store` to get one."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        # set once the schema and the default dataset are known to be current: later calls skip the check
        self._ready = read_only

    @contextmanager
    def _reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to a ready store. The first call checks it on the same
        connection; a store that is missing or out of date is brought up to date as a writer once."""
        if not self._ready and not self.path.exists():
            self._prepare()
        con = _connect(self.path, read_only=True)
        try:
            if not self._ready:
                if self._stale(con):
                    con.close()  # this process cannot write while it reads
                    self._prepare()
                    con = _connect(self.path, read_only=True)
                self._ready = True
            yield con
        finally:
            con.close()

    @contextmanager
    def _writing(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The read-write connection: this process alone has the file until the block ends."""
        if self.read_only:
            raise StoreError(f"{self.path}: the store was opened read-only; open it without read_only to change it")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"{self.path}: cannot open the store ({exc.strerror}); choose another file with --db"
            ) from exc
        if not _THREAD_WRITER.acquire(timeout=lock_timeout_s()):
            raise StoreError(
                f"{self.path}: cannot write the store: another thread of this process still writes it after "
                f"{lock_timeout_s():g} s; wait longer with {LOCK_TIMEOUT_ENV}=<seconds>"
            )
        try:
            con = _connect(self.path, read_only=False)
        except BaseException:
            _THREAD_WRITER.release()
            raise
        try:
            if not self._ready:
                # checked again under the lock: another process may have done it while this one waited
                self._create_tables(con)
                fingerprint = default_fingerprint()
                if self._fingerprint(con, DEFAULT_NAME) != fingerprint:
                    self._save(con, default_dataset(), origin="chokepoint/data", fingerprint=fingerprint)
                self._ready = True
            yield con
        finally:
            con.close()
            _THREAD_WRITER.release()

    def _prepare(self) -> None:
        """Create or migrate the tables and (re)write the default dataset, as a writer."""
        with self._writing():
            pass

    def _stale(self, con: duckdb.DuckDBPyConnection) -> bool:
        """Whether the store needs a writer: a table missing or of an older schema (one catalogue
        query, so a warm start costs no DDL), or a default dataset older than the package's."""
        have = self._catalogue(con)
        if have.get("datasets") != _DATASETS_COLUMNS or any(have.get(t) != _wanted(t) for t in TABLES):
            return True
        return self._fingerprint(con, DEFAULT_NAME) != default_fingerprint()

    @staticmethod
    def _catalogue(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
        have: dict[str, list[tuple[str, str]]] = {}
        for table, column, sql_type in con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        ).fetchall():
            have.setdefault(table, []).append((column, sql_type))
        return have

    def _create_tables(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(
            "CREATE TABLE IF NOT EXISTS datasets (name VARCHAR PRIMARY KEY, origin VARCHAR, "
            "fingerprint VARCHAR, saved_at TIMESTAMP, rows BIGINT)"
        )
        have = self._catalogue(con)
        for table in TABLES:
            if have.get(table) == _wanted(table):
                continue
            cols = ", ".join(f'"{f.field}" {_SQL_TYPES[f.dtype]}' for f in schema(table).fields)
            con.execute(f'CREATE TABLE IF NOT EXISTS "{table}" (dataset VARCHAR NOT NULL, {cols})')
            self._migrate(con, table, cols)

    def _migrate(self, con: duckdb.DuckDBPyConnection, table: str, cols: str) -> None:
        """Bring a table written by an older version to the current schema: columns the schema
        added start empty (the default dataset is rewritten anyway; :meth:`read` refuses another
        dataset with an empty required column), columns it dropped go, changed types are cast."""
        have = [(r[1], r[2]) for r in con.execute(f"PRAGMA table_info('{table}')").fetchall()]
        want = _wanted(table)
        if have == want:
            return
        have_names = {name for name, _ in have}
        kept = ", ".join(f'"{c}"' for c, _ in want if c in have_names)
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
        with self._reading() as con:
            return con.execute("SELECT * FROM datasets ORDER BY saved_at").df()

    @staticmethod
    def _has(con: duckdb.DuckDBPyConnection, name: str) -> bool:
        return bool(con.execute("SELECT count(*) FROM datasets WHERE name = ?", [name]).fetchone()[0])  # type: ignore[index]

    def has(self, name: str) -> bool:
        with self._reading() as con:
            return self._has(con, name)

    @staticmethod
    def _fingerprint(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
        row = con.execute("SELECT fingerprint FROM datasets WHERE name = ?", [name]).fetchone()
        return None if row is None else str(row[0])

    def fingerprint(self, name: str) -> str | None:
        with self._reading() as con:
            return self._fingerprint(con, name)

    def save(self, ds: Dataset, origin: str, fingerprint: str = "") -> None:
        """Write ``ds`` under its name, replacing a dataset of that name, all or nothing."""
        with self._writing() as con:
            self._save(con, ds, origin, fingerprint)

    @staticmethod
    def _save(con: duckdb.DuckDBPyConnection, ds: Dataset, origin: str, fingerprint: str) -> None:
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
        with self._writing() as con:
            if not self._has(con, name):
                raise StoreError(f"{self.path}: no dataset named {name!r}; `chokepoint data list` shows the names")
            con.execute("BEGIN TRANSACTION")
            try:
                for table in (*TABLES, "datasets"):
                    field = "name" if table == "datasets" else "dataset"
                    con.execute(f'DELETE FROM "{table}" WHERE {field} = ?', [name])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def _read(self, con: duckdb.DuckDBPyConnection, name: str) -> Dataset:
        if not self._has(con, name):
            raise StoreError(f"{self.path}: no dataset named {name!r}; `chokepoint data list` shows the names")
        tables = {}
        for table in TABLES:
            cols = ", ".join(f'"{c}"' for c in schema(table).columns)
            df = con.execute(f'SELECT {cols} FROM "{table}" WHERE dataset = ?', [name]).df()
            # a column added to the schema after this dataset was saved is empty: say so, once
            empty = [f.field for f in schema(table).fields if f.required and len(df) and df[f.field].isna().all()]
            if empty:
                raise StoreError(
                    f"{self.path}: dataset {name!r} was saved before table {table!r} gained column {empty[0]!r}; "
                    f"import it again or remove it with `chokepoint data drop {name}`"
                )
            tables[table] = coerce_dtypes(table, df)
        return Dataset(name, tables)

    def read(self, name: str) -> Dataset:
        """One dataset as stored."""
        with self._reading() as con:
            return self._read(con, name)

    def load(self, names: Sequence[str] = (DEFAULT_NAME,)) -> Dataset:
        """The named datasets layered in order (later rows replace earlier rows with the same key),
        read on one connection, so all of them as the store held them at one moment."""
        with self._reading() as con:
            return layer([self._read(con, n) for n in names])


@contextmanager
def open_store(path: Path | str | None = None, *, read_only: bool = False) -> Iterator[Store]:
    """The store at ``path`` (default: :func:`default_db_path`), created on first use.

    The shipped default dataset is (re)written when missing or when the package's data changed,
    by the first call that reads or writes. ``read_only`` stores never write: the file must exist
    and is used as it is. No connection is held between calls, so other processes can read and
    write the same file while the block runs.
    """
    db = Path(path) if path is not None else default_db_path()
    if db.is_dir():
        raise StoreError(f"{db}: cannot open the store (it is a folder); choose another file with --db")
    yield Store(db, read_only=read_only)
