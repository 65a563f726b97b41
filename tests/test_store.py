"""The DuckDB store: default on first use, named datasets, layering, all-or-nothing writes, and
waiting for a file another process holds."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from chokepoint.dataset import Dataset, layer
from chokepoint.dataset.store import LOCK_TIMEOUT_ENV, Store, lock_timeout_s, open_store
from chokepoint.errors import StoreError
from chokepoint.schema import TABLES, validate_table


def _sql(path: Path, *statements: str) -> None:
    """Change the store file behind the store's back, as an older version or another tool would."""
    con = duckdb.connect(str(path))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


def _production(rows: list[tuple[str, str, int, float]], name: str = "mine") -> Dataset:
    df = pd.DataFrame(
        [
            {
                "region_id": r,
                "commodity_id": c,
                "year": y,
                "production_t": q,
                "source_id": "usgs_mcs2025_ree",
                "basis": "reported",
                "note": "",
            }
            for r, c, y, q in rows
        ]
    )
    return Dataset(name, {"production": validate_table("production", df)})


def test_default_is_loaded_on_first_use_and_round_trips(tmp_path: Path, default: Dataset) -> None:
    with open_store(tmp_path / "s.duckdb") as store:
        assert list(store.datasets()["name"]) == ["default"]
        stored = store.read("default")
    for table in TABLES:
        pd.testing.assert_frame_equal(
            stored[table].reset_index(drop=True), default[table].reset_index(drop=True), check_dtype=True
        )


def test_layering_replaces_rows_with_the_same_key(tmp_path: Path) -> None:
    revision = _production([("WLD", "ree_concentrate", 2024, 380_000.0), ("CHN", "ree_concentrate", 2025, 270_000.0)])
    with open_store(tmp_path / "s.duckdb") as store:
        store.save(revision, origin="test")
        ds = store.load(["default", "mine"])
    prod = ds["production"].set_index(["region_id", "commodity_id", "year"])["production_t"]
    assert prod[("WLD", "ree_concentrate", 2024)] == 380_000  # replaced
    assert prod[("CHN", "ree_concentrate", 2024)] == 270_000  # kept from the default
    assert prod[("CHN", "ree_concentrate", 2025)] == 270_000  # added
    assert ds.name == "default+mine"


def test_failed_write_leaves_the_store_unchanged(tmp_path: Path) -> None:
    good = _production([("CHN", "ree_concentrate", 2030, 1.0)])
    with open_store(tmp_path / "s.duckdb") as store:
        store.save(good, origin="first")
        before = store.read("mine")["production"]
        # A malformed trade table fails after production rows were already rewritten.
        broken = Dataset(
            "mine", {**good.tables, "trade": good["production"].rename(columns={"region_id": "exporter_id"})}
        )
        with pytest.raises(KeyError):
            store.save(broken, origin="second")
        after = store.read("mine")["production"]
        assert store.datasets().set_index("name").loc["mine", "origin"] == "first"
    pd.testing.assert_frame_equal(before, after)


def test_missing_dataset_and_drop(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.duckdb") as store:
        with pytest.raises(StoreError, match="no dataset named 'nope'"):
            store.read("nope")
        store.save(_production([("CHN", "ree_concentrate", 2030, 1.0)]), origin="t")
        store.drop("mine")
        assert not store.has("mine")


def test_unopenable_store_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "a_folder.duckdb"
    folder.mkdir()
    with pytest.raises(StoreError, match="cannot open the store"), open_store(folder):
        pass
    with open_store(tmp_path / "not_a_store.duckdb") as store:
        (tmp_path / "not_a_store.duckdb").write_text("junk", encoding="utf-8")
        with pytest.raises(StoreError, match="cannot open the store"):
            store.datasets()


def test_layer_needs_a_dataset() -> None:
    with pytest.raises(Exception, match="no dataset to layer"):
        layer([])


def test_a_store_from_an_older_schema_is_migrated(tmp_path: Path, default: Dataset) -> None:
    # an older version's store: a table without a column the schema has since added, another with
    # a column it has since dropped
    path = tmp_path / "s.duckdb"
    with open_store(path) as store:
        store.datasets()
    _sql(
        path,
        'ALTER TABLE "sector_values" DROP COLUMN region_id',
        'ALTER TABLE "prices" ADD COLUMN retired VARCHAR',
        "UPDATE datasets SET fingerprint = 'old'",
    )
    with open_store(path) as store:
        stored = store.read("default")
    pd.testing.assert_frame_equal(
        stored["sector_values"].reset_index(drop=True), default["sector_values"].reset_index(drop=True)
    )


def test_a_dataset_saved_before_a_required_column_existed_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with open_store(path) as store:
        store.save(_production([("CHN", "ree_concentrate", 2030, 1.0)]), origin="test")
    _sql(
        path,
        'ALTER TABLE "production" DROP COLUMN basis',  # as an older version wrote it
        "UPDATE datasets SET fingerprint = 'old' WHERE name = 'default'",
    )
    with open_store(path) as store:
        store.read("default")  # rewritten from the package: fine
        with pytest.raises(
            StoreError, match="dataset 'mine' was saved before table 'production' gained column 'basis'"
        ):
            store.read("mine")


@contextmanager
def _held(path: Path, *, write: bool, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process that opens the store file (read-write: the lock no one else may share) for
    ``seconds``; yields once the file is held."""
    code = (
        "import duckdb, sys, time\n"
        f"con = duckdb.connect({str(path)!r}, read_only={not write})\n"
        "print('held', flush=True)\n"
        f"time.sleep({seconds})\n"
    )
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline() == "held\n"
            yield holder
        finally:
            holder.kill()  # the context then closes the pipe and waits


def _count_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The back-off pauses the store takes from now on (a process exits a moment after it lets a
    file go, so whether it has exited says nothing about the order; a pause does)."""
    import chokepoint.dataset.store as store_module

    waits: list[float] = []
    sleep = store_module.time.sleep
    monkeypatch.setattr(store_module.time, "sleep", lambda s: (waits.append(s), sleep(s)))
    return waits


def _ready_store(path: Path) -> None:
    with open_store(path) as store:
        store.datasets()  # the default is written


def test_a_writer_waits_for_another_writer_then_succeeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.duckdb"
    _ready_store(path)
    waits = _count_waits(monkeypatch)
    with _held(path, write=True, seconds=1.5), open_store(path) as store:
        store.save(_production([("CHN", "ree_concentrate", 2030, 1.0)]), origin="waited")
        # the save got the file only after waiting for the holder to let it go
        assert waits
        assert store.datasets().set_index("name").loc["mine", "origin"] == "waited"


def test_a_reader_waits_for_a_writer_and_never_for_a_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.duckdb"
    _ready_store(path)
    waits = _count_waits(monkeypatch)
    with _held(path, write=True, seconds=1.5), open_store(path) as store:
        assert list(store.datasets()["name"]) == ["default"]
        assert waits  # it waited for the writer
    # a warm store is only read: beside another reader it opens at once, with no wait allowed
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "0")
    with _held(path, write=False, seconds=60) as holder, open_store(path) as store:
        assert store.load(["default"]).name == "default"
        assert holder.poll() is None


def test_a_hold_longer_than_the_timeout_is_one_line_naming_file_and_holder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.duckdb"
    _ready_store(path)
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "0.3")
    with _held(path, write=True, seconds=60) as holder, open_store(path) as store:
        with pytest.raises(StoreError) as caught:
            store.read("default")
        assert holder.poll() is None
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        f"{path}: cannot read the store: process {holder.pid} (-c import duckdb, sys, time con = "
    )
    assert (
        f"still holds it after 0.3 s; try again when it has finished, or wait longer with {LOCK_TIMEOUT_ENV}="
        in message
    )
    assert "--db" not in message
    with open_store(path) as store:  # released: the store is as it was
        assert list(store.datasets()["name"]) == ["default"]


@pytest.mark.parametrize("value", ["soon", "-1", "inf", "nan"])
def test_a_bad_lock_timeout_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, value)
    with pytest.raises(StoreError, match=f"^{LOCK_TIMEOUT_ENV}='{value}': not a number of seconds"):
        lock_timeout_s()


def test_threads_of_one_process_share_a_new_store(tmp_path: Path) -> None:
    # one process's threads share DuckDB's instance, which does not keep two writers apart
    path = tmp_path / "s.duckdb"
    errors: list[BaseException] = []

    def guarded(work: Callable[[Store], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                with open_store(path) as store:
                    work(store)
            except BaseException as exc:  # reported by the main thread below
                errors.append(exc)

        return run

    def read(store: Store) -> None:
        for _ in range(5):
            assert store.load(["default"]).name == "default"

    def write(store: Store) -> None:
        for i in range(4):
            store.save(_production([("CHN", "ree_concentrate", 2030, float(i))], name=f"w{i}"), origin="thread")

    threads = [threading.Thread(target=guarded(work)) for work in (read, read, write, write)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with open_store(path) as store:
        assert set(store.datasets()["name"]) == {"default", "w0", "w1", "w2", "w3"}
