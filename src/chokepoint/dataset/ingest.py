"""Bring a user's real data file into the store as a named dataset: read, validate, check, save.

Nothing is written unless every step passes, and the write itself is one transaction.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from chokepoint.dataset import DEFAULT_NAME, Dataset, layer
from chokepoint.dataset.checks import check_dataset, raise_on_errors
from chokepoint.dataset.importers import IMPORTERS
from chokepoint.dataset.importers._common import checked_input
from chokepoint.dataset.store import Store
from chokepoint.errors import ImportFileError
from chokepoint.regions import region_table
from chokepoint.schema import validate_table

__all__ = ["dataset_name_for", "import_file"]


def dataset_name_for(path: Path) -> str:
    """A dataset name from a file name: ``MCS2026_Commodities_Data.csv`` → ``mcs2026_commodities_data``."""
    return "".join(ch if ch.isalnum() else "_" for ch in path.stem.lower()).strip("_")


def import_file(store: Store, kind: str, path: Path | str, name: str | None = None) -> Dataset:
    """Read ``path`` with the ``kind`` importer and save it in ``store`` as dataset ``name``.

    The imported tables are validated against their schemas and checked together with the
    default dataset they are meant to be layered over (codes, shares, stage chain); regions the
    default lacks are added from their ISO3 codes.
    """
    path = Path(path)
    if kind not in IMPORTERS:
        raise ImportFileError(f"unknown import format {kind!r}; choose one of: {', '.join(IMPORTERS)}")
    checked_input(path, streaming=True)  # a directory or FIFO is refused here; each importer applies its size limit
    name = name or dataset_name_for(path)
    if name == DEFAULT_NAME:
        raise ImportFileError(
            f"{path.name}: the name {DEFAULT_NAME!r} is reserved for the shipped dataset; pass --name"
        )
    tables = {
        t: validate_table(t, df.reset_index(drop=True), origin=path.name) for t, df in IMPORTERS[kind](path).items()
    }
    base = store.read(DEFAULT_NAME)
    used = set()
    for table, fields in (
        ("production", ["region_id"]),
        ("reserves", ["region_id"]),
        ("trade", ["exporter_id", "importer_id"]),
    ):
        if table in tables:
            used |= set(pd.concat([tables[table][f] for f in fields]).dropna())
    new_codes = used - set(base["regions"]["region_id"])
    if new_codes:
        tables["regions"] = region_table(new_codes)
    imported = Dataset(name, tables)
    raise_on_errors(check_dataset(layer([base, imported])), origin=path.name)
    digest = _fingerprint(path)
    store.save(imported, origin=str(path.resolve()), fingerprint=digest)
    return imported


def _fingerprint(path: Path) -> str:
    """First 16 hex digits of the file's SHA-256, read in 1 MB blocks (a BACI release is gigabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]
