"""Write a dataset's tables to files: a folder of CSV or Parquet files, or one XLSX workbook.

Writing goes to a temporary path beside the target, renamed into place only when complete, so
an interrupted export leaves no half-written output.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path

import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.files import atomic_file, atomic_folder
from chokepoint.schema import TABLES

__all__ = ["XLSX_MAX_ROWS", "ExportFormat", "export_dataset", "export_tables"]

#: Data rows an Excel worksheet holds (1,048,576 rows, one of them the header).
XLSX_MAX_ROWS = 1_048_575


class ExportFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"
    xlsx = "xlsx"


def export_dataset(ds: Dataset, fmt: ExportFormat, out: Path | str) -> Path:
    """Write every table of ``ds`` to ``out`` (see :func:`export_tables`) and return the path written."""
    return export_tables({table: ds[table] for table in TABLES}, fmt, out, kind="dataset-export")


def _spreadsheet_ready(table: pd.DataFrame) -> pd.DataFrame:
    """Period columns (run months) as their text, which a workbook cell can hold."""
    periods = [c for c in table.columns if isinstance(table[c].dtype, pd.PeriodDtype)]
    return table.astype(dict.fromkeys(periods, str)) if periods else table


def export_tables(tables: Mapping[str, pd.DataFrame], fmt: ExportFormat, out: Path | str, kind: str) -> Path:
    """Write ``tables`` to ``out`` and return the path written.

    ``csv`` and ``parquet`` write one ``<table>.<ext>`` per table into the folder ``out``;
    ``xlsx`` writes one workbook with a sheet per table (``out`` gets a ``.xlsx`` suffix).
    An existing target is replaced only once the new one is complete; an existing folder only if
    it is empty or Chokepoint wrote it (it carries the manifest), a workbook only if Chokepoint
    wrote it and it is unchanged (its hidden manifest holds its SHA-256), so nothing else is lost.
    """
    out = Path(out)
    if fmt is ExportFormat.xlsx:
        out = out if out.suffix.lower() == ".xlsx" else out.with_suffix(".xlsx")
        for name, table in tables.items():
            if len(table) > XLSX_MAX_ROWS:
                raise ChokepointError(
                    f"{out}: table {name} has {len(table):,} rows, more than a worksheet holds "
                    f"({XLSX_MAX_ROWS:,}); write it as csv or parquet"
                )
        with atomic_file(out, kind=kind) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, table in tables.items():
                _spreadsheet_ready(table).to_excel(writer, sheet_name=name[:31], index=False)
        return out
    with atomic_folder(out, kind=kind) as tmp:
        for name, table in tables.items():
            path = tmp / f"{name}.{fmt.value}"
            if fmt is ExportFormat.csv:
                table.to_csv(path, index=False)
            else:
                table.to_parquet(path, index=False)
    return out
