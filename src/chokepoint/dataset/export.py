"""Write a dataset's tables to files: a folder of CSV or Parquet files, or one XLSX workbook.

Writing goes to a temporary path beside the target, renamed into place only when complete, so
an interrupted export leaves no half-written output.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.files import atomic_file, atomic_folder
from chokepoint.schema import TABLES

__all__ = ["ExportFormat", "export_dataset"]


class ExportFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"
    xlsx = "xlsx"


def export_dataset(ds: Dataset, fmt: ExportFormat, out: Path | str) -> Path:
    """Write every table of ``ds`` to ``out`` and return the path written.

    ``csv`` and ``parquet`` write one ``<table>.<ext>`` per table into the folder ``out``;
    ``xlsx`` writes one workbook with a sheet per table (``out`` gets a ``.xlsx`` suffix).
    An existing target is replaced only once the new one is complete; an existing folder only if
    it is empty or Chokepoint wrote it (it carries the manifest), a workbook only if Chokepoint
    wrote it and it is unchanged (its hidden manifest holds its SHA-256), so nothing else is lost.
    """
    out = Path(out)
    if fmt is ExportFormat.xlsx:
        out = out if out.suffix.lower() == ".xlsx" else out.with_suffix(".xlsx")
        with atomic_file(out, kind="dataset-export") as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for table in TABLES:
                ds[table].to_excel(writer, sheet_name=table, index=False)
        return out
    with atomic_folder(out, kind="dataset-export") as tmp:
        for table in TABLES:
            path = tmp / f"{table}.{fmt.value}"
            if fmt is ExportFormat.csv:
                ds[table].to_csv(path, index=False)
            else:
                ds[table].to_parquet(path, index=False)
    return out
