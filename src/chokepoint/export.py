"""Write a dataset's tables to files: a folder of CSV or Parquet files, or one XLSX workbook.

Writing goes to a temporary path beside the target, renamed into place only when complete, so
an interrupted export leaves no half-written output.
"""

from __future__ import annotations

import shutil
import tempfile
from enum import StrEnum
from pathlib import Path

import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
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
    An existing target is replaced only once the new one is complete.
    """
    out = Path(out)
    if fmt is ExportFormat.xlsx and out.suffix.lower() != ".xlsx":
        out = out.with_suffix(".xlsx")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise ChokepointError(f"{out}: the folder {parent} does not exist; create it or choose another --out")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        if fmt is ExportFormat.xlsx:
            target = tmp / out.name
            with pd.ExcelWriter(target, engine="openpyxl") as writer:
                for table in TABLES:
                    ds[table].to_excel(writer, sheet_name=table, index=False)
            if out.is_dir():
                raise ChokepointError(f"{out}: is a folder; give a file name ending in .xlsx")
            target.replace(out)
        else:
            for table in TABLES:
                path = tmp / f"{table}.{fmt.value}"
                if fmt is ExportFormat.csv:
                    ds[table].to_csv(path, index=False)
                else:
                    ds[table].to_parquet(path, index=False)
            if out.exists() and not out.is_dir():
                raise ChokepointError(f"{out}: is a file; give a folder for {fmt.value} export")
            if out.exists():
                shutil.rmtree(out)
            tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out
