"""``chokepoint pipeline``: supply from the project pipeline, with its risk."""

from __future__ import annotations

from typing import Annotated

import typer

from chokepoint.cli._common import DatasetOption, DbOption, FormatOption, OutputFormat, emit, open_dataset


def pipeline(
    to: Annotated[int, typer.Option("--to", help="Last year of the outlook.", min=1900, max=2100)] = 2035,
    draws: Annotated[int, typer.Option("--draws", help="Monte Carlo draws.", min=1, max=1_000_000)] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (the same seed gives the same draws).")] = 0,
    region: Annotated[str | None, typer.Option("--region", "-r", help="Only this region (ISO3).")] = None,
    commodity: Annotated[str | None, typer.Option("--commodity", "-c", help="Only this commodity id.")] = None,
    ramp_slowdown: Annotated[
        float,
        typer.Option(
            "--ramp-slowdown",
            min=1.0,
            max=100.0,
            help="A technology-export ban by China: projects elsewhere ramp this many times slower.",
        ),
    ] = 1.0,
    projects: Annotated[bool, typer.Option("--projects", help="Print the projects, not the capacity by year.")] = False,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
    dataset: DatasetOption = None,
) -> None:
    """Capacity outside the base year from the project pipeline: as announced, expected and its
    10/50/90% quantiles, each project completed, delayed and ramped per its status's
    ``pipeline_risk`` row (docs/outlook.md)."""
    from chokepoint.outlook import pipeline as compute

    with open_dataset(db, dataset) as ds:
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
