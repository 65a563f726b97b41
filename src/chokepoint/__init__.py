"""Chokepoint: strategic dependence in critical-material supply chains, rare earths first.

>>> import chokepoint as cp
>>> ds = cp.load()                      # the shipped default dataset, from the local store
>>> cp.overview(ds, "rare_earths", 2024).stages  # doctest: +SKIP

Public names are imported on first use (``import chokepoint`` stays fast for the command line);
:data:`_PUBLIC` maps each to the module that defines it.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name → defining module (imported lazily by :func:`__getattr__`).
_PUBLIC: dict[str, str] = {
    "CheckError": "chokepoint.errors",
    "ChokepointError": "chokepoint.errors",
    "ImportFileError": "chokepoint.errors",
    "SchemaError": "chokepoint.errors",
    "StoreError": "chokepoint.errors",
    "Dataset": "chokepoint.dataset",
    "default_dataset": "chokepoint.dataset",
    "layer": "chokepoint.dataset",
    "read_dataset_dir": "chokepoint.dataset",
    "check_dataset": "chokepoint.dataset.checks",
    "assumptions": "chokepoint.dataset.provenance",
    "sources_used": "chokepoint.dataset.provenance",
    "SupplyNetwork": "chokepoint.network",
    "build_network": "chokepoint.network",
    "upstream_footprint": "chokepoint.iomath",
    "Overview": "chokepoint.analysis.concentration",
    "concentration": "chokepoint.analysis.concentration",
    "Outlook": "chokepoint.foresight",
    "Pipeline": "chokepoint.foresight",
    "outlook": "chokepoint.foresight",
    "pipeline": "chokepoint.foresight",
    "hhi": "chokepoint.analysis.concentration",
    "overview": "chokepoint.analysis.concentration",
    "producer_shares": "chokepoint.analysis.concentration",
    "top_k_share": "chokepoint.analysis.concentration",
    "effective_dependence": "chokepoint.analysis.exposure",
    "exposure": "chokepoint.analysis.exposure",
    "import_reliance": "chokepoint.analysis.exposure",
    "chokepoints": "chokepoint.analysis.chokepoints",
    "Scenario": "chokepoint.scenario",
    "simulate": "chokepoint.api",
    "baseline_residuals": "chokepoint.api",
    "sweep": "chokepoint.api",
    "Sweep": "chokepoint.sweeps",
    "Run": "chokepoint.simulation.run",
    "Provenance": "chokepoint.simulation.run",
    "compare_runs": "chokepoint.simulation.run",
    "TABLES": "chokepoint.simulation.tables",
    "open_run": "chokepoint.runfiles",
    "Backtest": "chokepoint.backtesting",
    "backtest": "chokepoint.backtesting",
    "fit_scenario": "chokepoint.backtesting",
}

__all__ = [
    "TABLES",
    "Backtest",
    "CheckError",
    "ChokepointError",
    "Dataset",
    "ImportFileError",
    "Outlook",
    "Overview",
    "Pipeline",
    "Provenance",
    "Run",
    "Scenario",
    "SchemaError",
    "StoreError",
    "SupplyNetwork",
    "Sweep",
    "__version__",
    "assumptions",
    "backtest",
    "baseline_residuals",
    "build_network",
    "check_dataset",
    "chokepoints",
    "compare_runs",
    "concentration",
    "default_dataset",
    "effective_dependence",
    "exposure",
    "fit_scenario",
    "hhi",
    "import_reliance",
    "layer",
    "load",
    "open_run",
    "outlook",
    "overview",
    "pipeline",
    "producer_shares",
    "read_dataset_dir",
    "simulate",
    "sources_used",
    "sweep",
    "top_k_share",
    "upstream_footprint",
]

if TYPE_CHECKING:  # static checkers see the real names
    from chokepoint.analysis.chokepoints import chokepoints
    from chokepoint.analysis.concentration import Overview, concentration, hhi, overview, producer_shares, top_k_share
    from chokepoint.analysis.exposure import effective_dependence, exposure, import_reliance
    from chokepoint.api import baseline_residuals, simulate, sweep
    from chokepoint.backtesting import Backtest, backtest, fit_scenario
    from chokepoint.dataset import Dataset, default_dataset, layer, read_dataset_dir
    from chokepoint.dataset.checks import check_dataset
    from chokepoint.dataset.provenance import assumptions, sources_used
    from chokepoint.errors import CheckError, ChokepointError, ImportFileError, SchemaError, StoreError
    from chokepoint.foresight import Outlook, Pipeline, outlook, pipeline
    from chokepoint.iomath import upstream_footprint
    from chokepoint.network import SupplyNetwork, build_network
    from chokepoint.runfiles import open_run
    from chokepoint.scenario import Scenario
    from chokepoint.simulation.run import Provenance, Run, compare_runs
    from chokepoint.simulation.tables import TABLES
    from chokepoint.sweeps import Sweep


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'chokepoint' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__


def load(datasets: Sequence[str] = ("default",), db: Path | str | None = None) -> Dataset:
    """Load datasets from the store (layered in order); the default is loaded on first use."""
    from chokepoint.dataset.store import open_store

    with open_store(db) as store:
        return store.load(datasets)
