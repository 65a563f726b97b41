"""``chokepoint pipeline`` (supply from the project pipeline, with its risk) and ``chokepoint outlook``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chokepoint.cli._common import DatasetOption, DbOption, FormatOption, OutputFormat, code_of, emit, open_dataset

if TYPE_CHECKING:
    from chokepoint.foresight import Outlook

RampSlowdownOption = Annotated[
    float,
    typer.Option(
        "--ramp-slowdown",
        min=1.0,
        max=100.0,
        help="A technology-export ban by China: projects elsewhere ramp this many times slower.",
    ),
]


def pipeline(
    to: Annotated[int, typer.Option("--to", help="Last year of the outlook.", min=1900, max=2100)] = 2035,
    draws: Annotated[int, typer.Option("--draws", help="Monte Carlo draws.", min=1, max=1_000_000)] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (the same seed gives the same draws).")] = 0,
    region: Annotated[str | None, typer.Option("--region", "-r", help="Only this region (ISO3).")] = None,
    commodity: Annotated[str | None, typer.Option("--commodity", "-c", help="Only this commodity id.")] = None,
    ramp_slowdown: RampSlowdownOption = 1.0,
    projects: Annotated[bool, typer.Option("--projects", help="Print the projects, not the capacity by year.")] = False,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
    dataset: DatasetOption = None,
) -> None:
    """Capacity outside the base year from the project pipeline: as announced, expected and its
    10/50/90% quantiles, each project completed, delayed and ramped per its status's
    ``pipeline_risk`` row (docs/outlook.md)."""
    from chokepoint.foresight import pipeline as compute

    with open_dataset(db, dataset) as ds:
        region = None if region is None else code_of(ds, "regions", region)
        commodity = None if commodity is None else code_of(ds, "commodities", commodity)
        result = compute(ds, to=to, draws=draws, seed=seed, ramp_slowdown=ramp_slowdown)
    table = result.projects if projects else result.capacity
    if region is not None:
        table = table[table["region_id"] == region]
    if commodity is not None:
        table = table[table["commodity_id"] == commodity]
    if table.empty:
        raise typer.BadParameter(f"no pipeline rows for region {region!r}, commodity {commodity!r}")
    what = "projects" if projects else "capacity, t/yr"
    emit(table, fmt, title=f"Project pipeline after {result.as_of} ({what}; {result.draws:,} draws, seed {seed})")


class OutlookTable(StrEnum):
    """The outlook's tables (``Outlook.tables``)."""

    top_five = "top_five"
    pressure = "pressure"
    weights = "weights"
    balance = "balance"
    concentration = "concentration"
    dependence = "dependence"
    demand = "demand"
    supply = "supply"
    projects = "projects"
    capacity = "capacity"
    iea = "iea"
    supply_check = "supply_check"


def outlook(
    scenario: Annotated[
        str,
        typer.Option("--scenario", "-s", help="Outlook scenario: STEPS, APS, NZE or a YAML file (copy one to edit)."),
    ] = "STEPS",
    to: Annotated[int, typer.Option("--to", help="Last year of the outlook.", min=1900, max=2100)] = 2050,
    table: Annotated[OutlookTable, typer.Option("--table", "-t", help="The table to print.")] = OutlookTable.top_five,
    material: Annotated[
        list[str] | None, typer.Option("--material", "-m", help="Only this material (repeatable), e.g. dysprosium.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for every table (CSV and Parquet) and report.html.")
    ] = None,
    draws: Annotated[
        int, typer.Option("--draws", help="Monte Carlo draws of the pipeline.", min=1, max=1_000_000)
    ] = 2_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the pipeline's draws.")] = 0,
    ramp_slowdown: RampSlowdownOption = 1.0,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
    dataset: DatasetOption = None,
) -> None:
    """Where the next chokepoint is: demand from technology drivers against the project pipeline,
    the concentration path, importers' traced dependence and the ranking of pressure points, year
    by year to --to (docs/outlook.md). --out writes every table and the offline report."""
    from chokepoint.files import check_target
    from chokepoint.foresight import outlook as compute

    if out is not None:
        check_target(out)  # a folder we may not write is refused before anything runs
    with open_dataset(db, dataset) as ds:
        result = compute(ds, scenario, to, draws=draws, seed=seed, ramp_slowdown=ramp_slowdown)
    shown = result.tables()[table.value]
    if material:
        known = set(shown["material"]) if "material" in shown.columns else set()
        unknown = sorted(set(material) - known)
        if unknown:
            raise typer.BadParameter(
                f"no {table.value} rows for material {unknown[0]!r}; materials: {', '.join(sorted(known))}"
            )
        shown = shown[shown["material"].isin(material)]
    if out is not None:
        _write_outlook(result, out)
    emit(shown, fmt, title=f"Outlook {result.scenario} {result.as_of}-{result.to}: {table.value.replace('_', ' ')}")
    if out is not None:
        typer.echo(f"report: {(out / 'report.html').resolve()}", err=fmt is not OutputFormat.table)


def _write_outlook(result: Outlook, out: Path) -> None:
    """Every table as Parquet and CSV, and the offline report, into ``out`` (atomically)."""
    from chokepoint.files import atomic_folder
    from chokepoint.report.outlook import render_outlook_report
    from chokepoint.runfiles import write_tables

    html = render_outlook_report(result)
    with atomic_folder(out, kind="outlook") as tmp:
        write_tables(tmp, result.tables())
        (tmp / "report.html").write_text(html, encoding="utf-8")
