"""Importers: pure functions that read a published data file into Chokepoint tables.

Each importer takes a file path (plus keyword options) and returns a dict of tidy DataFrames
keyed by table name ("production", "reserves", "trade", "sources"), each with exactly the columns
of ``chokepoint/schema/<table>.csv``. Bad input raises
:class:`chokepoint.errors.ImportFileError` with a one-line message naming file, row, field,
value and fix. :data:`IMPORTERS` lists them by format name.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from chokepoint.dataset.importers.baci import read_baci
from chokepoint.dataset.importers.comtrade import read_comtrade
from chokepoint.dataset.importers.usgs_mcs import read_usgs_mcs

__all__ = ["IMPORTERS", "Importer", "read_baci", "read_comtrade", "read_usgs_mcs"]

Importer = Callable[..., dict[str, pd.DataFrame]]
"""``(path: Path, **options) -> dict[str, DataFrame]``."""

IMPORTERS: dict[str, Importer] = {
    "usgs-mcs": read_usgs_mcs,
    "comtrade": read_comtrade,
    "baci": read_baci,
}
