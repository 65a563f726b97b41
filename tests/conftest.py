"""Shared fixtures: a private store per test session, the reference data folder, the default dataset."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import Phase, settings

import chokepoint as cp
from chokepoint.dataset import Dataset
from chokepoint.dataset.store import open_store

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "reference"
#: ``pytest --hypothesis-profile=no-shrink`` reports the first failure found without shrinking it
#: (shrinking a generated scenario can take minutes).
settings.register_profile("no-shrink", phases=[Phase.explicit, Phase.reuse, Phase.generate])
#: How many times more examples the fuzz and property tests run under ``--fuzz``.
FUZZ_FACTOR = 10


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzz",
        action="store_true",
        help=f"run {FUZZ_FACTOR}x the fuzz and property-test examples (tests/fuzzing.py), not only CI's",
    )


def pytest_configure(config: pytest.Config) -> None:
    # read by tests/fuzzing.py when the test modules are imported, after this hook
    if config.getoption("--fuzz"):
        os.environ["CHOKEPOINT_FUZZ_FACTOR"] = str(FUZZ_FACTOR)


@pytest.fixture(scope="session")
def reference() -> Path:
    """The shared folder of real public data files (beside the clone, in CI too)."""
    if not REFERENCE.is_dir():
        pytest.skip(f"reference data not found at {REFERENCE}")
    return REFERENCE


@pytest.fixture(scope="session")
def default() -> Dataset:
    return cp.default_dataset()


@pytest.fixture(scope="session")
def _seeded_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the default dataset written, made once per worker (writing it takes ~1 s)."""
    path = tmp_path_factory.mktemp("seeded") / "store.duckdb"
    with open_store(path) as store:
        store.datasets()  # the first query writes the default dataset
    return path


@pytest.fixture(autouse=True)
def _private_store(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, _seeded_store: Path
) -> None:
    """Never touch the user's store or cache: every test gets its own, a copy of a freshly seeded
    one (what a first command would have written), outside the test's own folder."""
    store = tmp_path_factory.mktemp("store") / "store.duckdb"
    shutil.copyfile(_seeded_store, store)
    monkeypatch.setenv("CHOKEPOINT_DB", str(store))
    monkeypatch.setenv("CHOKEPOINT_CACHE", str(tmp_path / "cache"))
