"""Analysis commands: overview, concentration, exposure, chokepoints, criticality.

Each opens the dataset, calls one library function and prints its table; the analysis modules are
imported inside the commands so that ``--help`` stays fast.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chokepoint.cli._common import (
    DatasetOption,
    DbOption,
    FormatOption,
    MaterialOption,
    OutputFormat,
    YearOption,
    code_of,
    emit_indexed,
    open_dataset,
    print_table,
    records,
    write_json,
)

if TYPE_CHECKING:
    from chokepoint.analysis.concentration import Overview


class Grouping(StrEnum):
    country = "country"
    owner = "owner"
    element = "element"


class Method(StrEnum):
    eu = "eu"
    eu_stages = "eu_stages"
    geopolrisk = "geopolrisk"
    usgs = "usgs"
    patents = "patents"


_STAGE_COLUMNS = [
    *("commodity_id", "world_t", "world_basis", "hhi", "top1_region_id", "top1_share_pct", "top1_share_basis"),
    "top3_share_pct",
]


def overview(
    commodity: Annotated[
        str, typer.Option("--commodity", "-c", help="Material (all stages) or commodity id.")
    ] = "rare_earths",
    year: Annotated[int, typer.Option("--year", "-y", help="Calendar year.")] = 2024,
    fmt: FormatOption = OutputFormat.table,
    sources: Annotated[bool, typer.Option("--sources", help="Also list the source of every figure shown.")] = False,
    db: DbOption = None,
    dataset: DatasetOption = None,
) -> None:
    """Each stage's top producers with shares, HHI and the top-1 share."""
    from chokepoint.analysis.concentration import overview as compute_overview

    with open_dataset(db, dataset) as ds:
        ov = compute_overview(ds, commodity, year)
    if fmt is OutputFormat.json:
        write_json(_overview_doc(ov, commodity, year, sources))
    elif fmt is OutputFormat.csv:
        merged = ov.producers.merge(ov.stages[_STAGE_COLUMNS], on="commodity_id")
        if sources:
            merged = merged.merge(ov.sources, on="source_id", how="left")
        sys.stdout.write(merged.to_csv(index=False))
    else:
        _print_overview(ov, commodity, year, sources)


def _overview_doc(ov: Overview, commodity: str, year: int, sources: bool) -> dict[str, Any]:
    stages = []
    for stage in records(ov.stages):
        rows = ov.producers[ov.producers["commodity_id"] == stage["commodity_id"]]
        stages.append({**stage, "producers": records(rows.drop(columns=["stage", "stage_order", "commodity_id"]))})
    doc: dict[str, Any] = {"commodity": commodity, "year": year, "stages": stages}
    if sources:
        doc["sources"] = records(ov.sources)
    return doc


def _print_overview(ov: Overview, commodity: str, year: int, sources: bool) -> None:
    print_table(
        ov.stages[["stage", "commodity_id", "world_t", "world_basis", "producers", *_STAGE_COLUMNS[3:]]],
        title=f"{commodity} {year}: concentration by stage (HHI 0–10,000; shares of world total)",
    )
    columns = ["rank", "region_id", "region_name", "production_t", "share_pct", "share_basis", "basis", "source_id"]
    columns += ["patent_filings"] if ov.producers["patent_filings"].notna().any() else []
    for row in ov.stages.itertuples():
        top = ov.producers.loc[ov.producers["commodity_id"] == row.commodity_id, columns].head(8)
        print_table(top, title=f"{row.stage}: {row.commodity_id} ({row.quantity_basis})")
    if sources:
        print_table(ov.sources, title="Sources")


def concentration(
    commodity: Annotated[
        str | None, typer.Option("--commodity", "-c", help="Material or commodity id (default: all).")
    ] = None,
    year: Annotated[int | None, typer.Option("--year", "-y", help="Calendar year (default: every year).")] = None,
    by: Annotated[
        Grouping, typer.Option("--by", help="Producers are countries, facility owners or (mined) elements.")
    ] = (Grouping.country),
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
    dataset: DatasetOption = None,
) -> None:
    """HHI, top-1 and top-3 shares per commodity, stage and year."""
    from chokepoint.analysis.concentration import concentration as compute

    with open_dataset(db, dataset) as ds:
        table = compute(ds, commodity, year, by=by.value)
    emit_indexed(table, fmt, title=f"Concentration by {by.value} (HHI 0–10,000)")


def exposure(
    region: Annotated[str, typer.Option("--region", "-r", help="Importing region (ISO3), e.g. JPN.")],
    product: Annotated[
        list[str] | None, typer.Option("--product", "-p", help="Product delivered (default: every stage); repeatable.")
    ] = None,
    commodity: MaterialOption = "rare_earths",
    year: YearOption = 2024,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
    dataset: DatasetOption = None,
) -> None:
    """Direct and upstream-traced (effective) dependence of a region, by stage and origin."""
    from chokepoint.analysis.exposure import exposure as compute

    with open_dataset(db, dataset) as ds:
        region = code_of(ds, "regions", region)
        table = compute(ds, region, year, commodity, product)
    emit_indexed(table, fmt, title=f"{region} {year}: where its {commodity} supply comes from, stage by stage (%)")


def chokepoints(
    region: Annotated[str, typer.Option("--region", "-r", help="Region whose end use is at stake (ISO3).")],
    sector: Annotated[str, typer.Option("--sector", "-s", help="End-use sector, e.g. defence, ev, wind.")],
    commodity: MaterialOption = "rare_earths",
    year: YearOption = 2024,
    utilisation: Annotated[
        float, typer.Option(help="Assumed capacity utilisation of producers; sets spare capacity for rerouting.")
    ] = 0.8,
    top: Annotated[int, typer.Option(help="Show the first N nodes.")] = 15,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
    dataset: DatasetOption = None,
) -> None:
    """Rank (origin, stage) nodes by the end-use supply lost if each is knocked out."""
    from chokepoint.analysis.chokepoints import chokepoints as compute

    with open_dataset(db, dataset) as ds:
        region, sector = code_of(ds, "regions", region), code_of(ds, "sectors", sector)
        table = compute(ds, region, sector, year, commodity, utilisation)
    emit_indexed(table.head(top), fmt, title=f"{region} {sector} {year}: supply lost if one node fails (%)")


def criticality(
    method: Annotated[
        Method,
        typer.Option(
            "--method",
            "-m",
            help="EU CRM method (SR and EI computed beside the published; eu_stages: SR per stage),"
            " GeoPolRisk, USGS-style, or patents (technology moat per region).",
        ),
    ],
    region: Annotated[
        str | None, typer.Option("--region", "-r", help="Importing region (GeoPolRisk, USGS; default USA).")
    ] = None,
    commodity: MaterialOption = "rare_earths",
    year: Annotated[int | None, typer.Option("--year", "-y", help="Year (default: 2023 for eu, 2024 else).")] = None,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
    dataset: DatasetOption = None,
) -> None:
    """Criticality indices computed from the dataset, next to published values where they exist."""
    from chokepoint.analysis.criticality import USGS_REGION, criticality_table

    if region is None and method in (Method.geopolrisk, Method.usgs):
        region = USGS_REGION
    with open_dataset(db, dataset) as ds:
        region = None if region is None else code_of(ds, "regions", region)
        table = criticality_table(ds, method.value, year=year, region=region, material=commodity)
    titles = {
        Method.eu: "EU CRM: computed supply risk (SR) and economic importance (EI) beside the EC's published figures",
        Method.patents: f"Technology moat: cumulative {commodity} patent filings by region",
    }
    emit_indexed(table, fmt, title=titles.get(method, f"Criticality ({method.value})"))
