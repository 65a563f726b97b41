"""``chokepoint data …``: the store and its datasets (sources, assumptions, checks, import, export)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from chokepoint.cli._common import (
    DatasetOption,
    DbOption,
    FormatOption,
    LimitOption,
    OutputFormat,
    SearchOption,
    emit,
    matching,
    open_dataset,
)

app = typer.Typer(
    help="The store and its datasets: sources, assumptions, checks, import, export.", no_args_is_help=True
)

#: The importer names of :data:`chokepoint.dataset.importers.IMPORTERS`, for the help text without
#: importing the importers (and pandas); a test keeps the two equal.
IMPORT_FORMATS = ("usgs-mcs", "comtrade", "baci")


class ExportChoice(StrEnum):
    """The values of :class:`chokepoint.dataset.export.ExportFormat` (a test keeps them equal),
    here so that the option is built without importing the dataset package."""

    csv = "csv"
    parquet = "parquet"
    xlsx = "xlsx"


@app.command("sources")
def sources(
    fmt: FormatOption = OutputFormat.table,
    search: SearchOption = None,
    limit: LimitOption = 50,
    db: DbOption = None,
    dataset: DatasetOption = None,
) -> None:
    """Every source cited in the dataset, with the number of rows and shipped scenarios citing it."""
    from chokepoint.backtesting import shipped_scenario_files
    from chokepoint.dataset.provenance import sources_used
    from chokepoint.errors import ChokepointError

    try:
        scenarios = {p.stem: p.read_text(encoding="utf-8") for p in shipped_scenario_files()}
    except ChokepointError:  # an installed package without the examples folder
        scenarios = {}
    with open_dataset(db, dataset) as ds:
        emit(matching(sources_used(ds, scenarios), search), fmt, title="Sources", limit=limit)


@app.command("assumptions")
def assumptions(
    fmt: FormatOption = OutputFormat.table,
    search: SearchOption = None,
    limit: LimitOption = 50,
    db: DbOption = None,
    dataset: DatasetOption = None,
) -> None:
    """Every figure that is not reported as published: derived or assumed, with its note."""
    from chokepoint.dataset.provenance import assumptions as compute

    with open_dataset(db, dataset) as ds:
        emit(matching(compute(ds), search), fmt, title="Derived and assumed figures", limit=limit)


@app.command("summary")
def summary(fmt: FormatOption = OutputFormat.table, db: DbOption = None, dataset: DatasetOption = None) -> None:
    """Rows per table by basis: how much of the dataset is reported, derived or assumed."""
    from chokepoint.dataset.provenance import basis_summary

    with open_dataset(db, dataset) as ds:
        emit(basis_summary(ds), fmt, title=f"Dataset {ds.name}: rows by basis")


@app.command("check")
def check(fmt: FormatOption = OutputFormat.table, db: DbOption = None, dataset: DatasetOption = None) -> None:
    """Run the cross-table checks; exit 1 when any error is found."""
    from chokepoint.dataset.checks import check_dataset

    with open_dataset(db, dataset) as ds:
        findings = check_dataset(ds)
        rows = ds.row_counts().sum()
    emit(findings, fmt, title="Findings")
    errors = int((findings["severity"] == "error").sum())
    warnings = len(findings) - errors
    typer.echo(f"{rows} rows checked: {errors} errors, {warnings} warnings", err=True)
    if errors:
        raise typer.Exit(1)


@app.command("import")
def import_(
    kind: Annotated[str, typer.Argument(help=f"File format: {', '.join(IMPORT_FORMATS)}.")],
    file: Annotated[Path, typer.Argument(help="The file to import.")],
    name: Annotated[str | None, typer.Option("--name", help="Dataset name (default: from the file name).")] = None,
    db: DbOption = None,
) -> None:
    """Import a real data file into a named dataset (all or nothing)."""
    from chokepoint.dataset.ingest import import_file
    from chokepoint.dataset.store import open_store

    with open_store(db) as store:
        ds = import_file(store, kind, file, name)
    counts = ds.row_counts()
    typer.echo(
        f"imported {file.name} as dataset {ds.name!r}: "
        + ", ".join(f"{n} {t} rows" for t, n in counts[counts > 0].items())
    )
    typer.echo(f"use it with --dataset default --dataset {ds.name}")


@app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder (csv, parquet) or .xlsx file to write.")],
    fmt: Annotated[ExportChoice, typer.Option("--format", "-f", help="File format.")] = ExportChoice.csv,
    db: DbOption = None,
    dataset: DatasetOption = None,
) -> None:
    """Write every table of the dataset to files (atomically)."""
    from chokepoint.dataset.export import ExportFormat, export_dataset

    with open_dataset(db, dataset) as ds:
        written = export_dataset(ds, ExportFormat(fmt.value), out)
    typer.echo(f"wrote {written}")


@app.command("list")
def list_(fmt: FormatOption = OutputFormat.table, db: DbOption = None) -> None:
    """The datasets held in the store."""
    from chokepoint.dataset.store import open_store

    with open_store(db) as store:
        emit(store.datasets(), fmt, title=f"Datasets in {store.path}")


@app.command("drop")
def drop(name: Annotated[str, typer.Argument(help="Dataset to remove.")], db: DbOption = None) -> None:
    """Remove an imported dataset from the store."""
    from chokepoint.dataset import DEFAULT_NAME
    from chokepoint.dataset.store import open_store
    from chokepoint.errors import ChokepointError

    if name == DEFAULT_NAME:
        raise ChokepointError(f"the {DEFAULT_NAME!r} dataset is the shipped one and cannot be dropped")
    with open_store(db) as store:
        store.drop(name)
    typer.echo(f"dropped {name}")


@app.command("schema")
def schema() -> None:
    """Print the schema reference (Markdown) generated from the schema files."""
    from chokepoint.schema import schema_markdown

    sys.stdout.write(schema_markdown())
