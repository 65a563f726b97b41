"""``chokepoint simulate``: run a scenario month by month, print its summary, write its tables and report."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from chokepoint.cli._common import DbOption, FormatOption, LimitOption, OutputFormat, emit
from chokepoint.cli.data import ExportChoice


class Mode(StrEnum):
    fast = "fast"
    lp = "lp"


def simulate(
    file: Annotated[
        Path, typer.Argument(help="Scenario file (YAML), e.g. examples/scenarios/china-2025-licensing.yaml.")
    ],
    mode: Annotated[Mode, typer.Option("--mode", help="fast: vectorised pro-rata; lp: HiGHS per month.")] = Mode.fast,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder for tables, summary.json, report.html (default runs/<scenario-name>)"),
    ] = None,
    draws: Annotated[
        int | None,
        typer.Option(
            "--draws", min=2, max=100_000, help="Monte Carlo draws over the scenario's uncertainty ranges (fast mode)."
        ),
    ] = None,
    fmt: FormatOption = OutputFormat.table,
    limit: LimitOption = 15,
    db: DbOption = None,
) -> None:
    """Run a scenario month by month; print its summary and write tables and an offline report."""
    from rich.console import Console
    from rich.progress import Progress

    from chokepoint.dataset.store import open_store
    from chokepoint.files import check_target
    from chokepoint.report.story import headline
    from chokepoint.scenario import check_scenario, load_scenario
    from chokepoint.simulation import simulate as run

    scenario = load_scenario(file)
    target = out or Path("runs") / scenario.name  # the name is one plain folder name (validated)
    check_target(target)  # refuse before the run, not after minutes of work
    with open_store(db) as store:
        ds = store.load(scenario.datasets)
    check_scenario(scenario, ds, origin=file.name)  # before the progress bar: errors stay one line
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(f"simulating {scenario.name}", total=scenario.horizon_months)
        results = run(
            ds,
            scenario,
            mode.value,
            origin=file.name,
            on_period=lambda t: progress.update(task, completed=t + 1),
            draws=draws,
        )
        progress.update(task, description="writing the report", completed=scenario.horizon_months)
        written = results.save(target)
    title = f"{scenario.name}: shortfall by region and sector ({mode.value} mode)"
    emit(results.summary, fmt, title=title, limit=limit)
    for message in results.messages:
        typer.echo(f"note: {message}", err=True)
    typer.echo(headline(results), err=fmt is not OutputFormat.table)
    typer.echo(f"report: {(written / 'report.html').resolve()}", err=fmt is not OutputFormat.table)


def export_run(
    run_folder: Annotated[Path, typer.Argument(help="A run folder written by simulate, e.g. runs/japan-2010.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder (csv, parquet) or .xlsx file to write.")],
    fmt: Annotated[ExportChoice, typer.Option("--format", "-f", help="File format.")] = ExportChoice.xlsx,
    tables: Annotated[
        str | None, typer.Option("--tables", "-t", help="Comma-separated tables (docs/results.md); default all.")
    ] = None,
) -> None:
    """Write a saved run's tables, with a first table of its facts and provenance, as one Excel
    workbook or a folder of CSV or Parquet files. A long run's monthly tables are large: a
    workbook of a 15-year run takes minutes, so name the tables you need."""
    from chokepoint.runfiles import open_run

    chosen = None if tables is None else [t.strip() for t in tables.split(",")]
    typer.echo(f"wrote {open_run(run_folder).export(out, fmt.value, chosen)}")


def scenario_schema() -> None:
    """Print the scenario-file reference (Markdown) generated from the scenario models."""
    from chokepoint.scenario import scenario_markdown

    sys.stdout.write(scenario_markdown())
