"""Shared fixtures: a private store per test session, the reference data folder, the default dataset."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import Phase, settings

import chokepoint as cp
from chokepoint.dataset import Dataset

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


@pytest.fixture(autouse=True)
def _private_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's store or cache: every test gets its own."""
    monkeypatch.setenv("CHOKEPOINT_DB", str(tmp_path / "store.duckdb"))
    monkeypatch.setenv("CHOKEPOINT_CACHE", str(tmp_path / "cache"))
