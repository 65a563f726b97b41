"""Chokepoint: strategic dependence in critical-material supply chains, rare earths first.

>>> import chokepoint as cp
>>> ds = cp.load()                      # the shipped default dataset, from the local store
>>> cp.overview(ds, "rare_earths", 2024).stages  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from chokepoint.analysis.chokepoints import chokepoints
from chokepoint.analysis.concentration import Overview, concentration, hhi, overview, producer_shares, top_k_share
from chokepoint.analysis.exposure import effective_dependence, exposure, import_reliance
from chokepoint.dataset import Dataset, default_dataset, layer, read_dataset_dir
from chokepoint.dataset.checks import check_dataset
from chokepoint.dataset.provenance import assumptions, sources_used
from chokepoint.errors import CheckError, ChokepointError, ImportFileError, SchemaError, StoreError
from chokepoint.iomath import upstream_footprint
from chokepoint.network import SupplyNetwork, build_network

__version__ = "0.1.0"

__all__ = [
    "CheckError",
    "ChokepointError",
    "Dataset",
    "ImportFileError",
    "Overview",
    "SchemaError",
    "StoreError",
    "SupplyNetwork",
    "__version__",
    "assumptions",
    "build_network",
    "check_dataset",
    "chokepoints",
    "concentration",
    "default_dataset",
    "effective_dependence",
    "exposure",
    "hhi",
    "import_reliance",
    "layer",
    "load",
    "overview",
    "producer_shares",
    "read_dataset_dir",
    "sources_used",
    "top_k_share",
    "upstream_footprint",
]


def load(datasets: Sequence[str] = ("default",), db: Path | str | None = None) -> Dataset:
    """Load datasets from the store (layered in order); the default is loaded on first use."""
    from chokepoint.dataset.store import open_store

    with open_store(db) as store:
        return store.load(datasets)
