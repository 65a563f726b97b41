"""The DuckDB store: default on first use, named datasets, layering, and all-or-nothing writes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from chokepoint.dataset import Dataset, layer
from chokepoint.dataset.store import open_store
from chokepoint.errors import StoreError
from chokepoint.schema import TABLES, validate_table


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


def test_layer_needs_a_dataset() -> None:
    with pytest.raises(Exception, match="no dataset to layer"):
        layer([])


def test_a_store_from_an_older_schema_is_migrated(tmp_path: Path, default: Dataset) -> None:
    # an older version's store: a table without a column the schema has since added, another with
    # a column it has since dropped
    path = tmp_path / "s.duckdb"
    with open_store(path) as store:
        store._con.execute('ALTER TABLE "sector_values" DROP COLUMN region_id')
        store._con.execute('ALTER TABLE "prices" ADD COLUMN retired VARCHAR')
        store._con.execute("UPDATE datasets SET fingerprint = 'old'")
    with open_store(path) as store:
        stored = store.read("default")
    pd.testing.assert_frame_equal(
        stored["sector_values"].reset_index(drop=True), default["sector_values"].reset_index(drop=True)
    )


def test_a_dataset_saved_before_a_required_column_existed_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with open_store(path) as store:
        store.save(_production([("CHN", "ree_concentrate", 2030, 1.0)]), origin="test")
        store._con.execute('ALTER TABLE "production" DROP COLUMN basis')  # as an older version wrote it
        store._con.execute("UPDATE datasets SET fingerprint = 'old' WHERE name = 'default'")
    with open_store(path) as store:
        store.read("default")  # rewritten from the package: fine
        with pytest.raises(
            StoreError, match="dataset 'mine' was saved before table 'production' gained column 'basis'"
        ):
            store.read("mine")
