"""The ``chokepoint`` command line: each command calls one library function and prints its table.

User errors (:class:`~chokepoint.errors.ChokepointError`, bad options) print one line on stderr
and exit with status 2; nothing half-done is left behind.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from chokepoint import __version__
from chokepoint.analysis.chokepoints import chokepoints
from chokepoint.analysis.concentration import concentration
from chokepoint.analysis.concentration import overview as compute_overview
from chokepoint.analysis.criticality import criticality_table
from chokepoint.analysis.exposure import exposure
from chokepoint.dataset import DEFAULT_NAME, Dataset
from chokepoint.dataset.checks import check_dataset
from chokepoint.dataset.export import ExportFormat, export_dataset
from chokepoint.dataset.importers import IMPORTERS
from chokepoint.dataset.ingest import import_file
from chokepoint.dataset.provenance import assumptions, basis_summary, sources_used
from chokepoint.dataset.store import open_store
from chokepoint.errors import ChokepointError
from chokepoint.files import atomic_folder
from chokepoint.leverage import (
    Headline,
    LeverageError,
    Pathway,
    assumptions_table,
    break_even,
    comparison_tables,
    find_pathway,
    leverage_headline,
    load_pathway,
    sensitivity,
    shipped_pathways,
    simulated_cutoffs,
)
from chokepoint.report.leverage import render_leverage_report
from chokepoint.scenario import check_scenario, load_scenario, scenario_markdown
from chokepoint.schema import schema_markdown
from chokepoint.simulation import simulate

app = typer.Typer(
    name="chokepoint",
    help="Model strategic dependence in critical-material supply chains (rare earths first).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)
data_app = typer.Typer(
    help="The store and its datasets: sources, assumptions, checks, import, export.", no_args_is_help=True
)
app.add_typer(data_app, name="data")


class _RunByDefault(typer.core.TyperGroup):
    """``chokepoint leverage USA CHN …`` means ``chokepoint leverage run USA CHN …`` (a region code
    first, in capitals; anything else is a subcommand name, so typos are reported as such)."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and args[0].isupper():
            args = ["run", *args]
        return super().resolve_command(ctx, args)


leverage_app = typer.Typer(
    cls=_RunByDefault,
    help="Who holds leverage over whom: `leverage A B --pathway NAME` runs one policy pathway (the `run` "
    "command), `leverage compare A B` all shipped pathways side by side.",
    no_args_is_help=True,
)
app.add_typer(leverage_app, name="leverage")

# Piped output is not a terminal, where Rich would fall back to 80 columns and fold every cell.
_out = Console(width=None if sys.stdout.isatty() else 160)


class Grouping(StrEnum):
    country = "country"
    owner = "owner"
    element = "element"


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Store file (default: $CHOKEPOINT_DB or chokepoint.duckdb in the user data folder)."),
]
DatasetOption = Annotated[
    list[str] | None,
    typer.Option("--dataset", "-d", help="Dataset to use; repeat to layer (later replaces earlier). Default: default."),
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


@contextmanager
def _dataset(db: Path | None, names: Sequence[str] | None) -> Iterator[Dataset]:
    with open_store(db) as store:
        yield store.load(list(names) if names else [DEFAULT_NAME])


def _jsonable(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Period):  # run tables label months with Periods
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    return value


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _jsonable(v) for k, v in row.items()} for row in df.to_dict("records")]


def _fmt_cell(value: Any) -> str:
    value = _jsonable(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"
    return str(value)


def _print_table(df: pd.DataFrame, title: str | None = None) -> None:
    table = Table(title=title, title_justify="left", header_style="bold")
    for col in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[col])
        table.add_column(str(col), justify="right" if numeric else "left", overflow="fold")
    for row in df.itertuples(index=False):
        table.add_row(*(_fmt_cell(v) for v in row))
    _out.print(table)


def _emit(df: pd.DataFrame, fmt: OutputFormat, title: str | None = None) -> None:
    if fmt is OutputFormat.csv:
        sys.stdout.write(df.to_csv(index=False))
    elif fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(_records(df), indent=2, ensure_ascii=False) + "\n")
    else:
        _print_table(df, title)


@app.command()
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
    with _dataset(db, dataset) as ds:
        ov = compute_overview(ds, commodity, year)
    if fmt is OutputFormat.json:
        stages = []
        for stage in _records(ov.stages):
            rows = ov.producers[ov.producers["commodity_id"] == stage["commodity_id"]]
            stages.append({**stage, "producers": _records(rows.drop(columns=["stage", "stage_order", "commodity_id"]))})
        doc: dict[str, Any] = {"commodity": commodity, "year": year, "stages": stages}
        if sources:
            doc["sources"] = _records(ov.sources)
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return
    if fmt is OutputFormat.csv:
        merged = ov.producers.merge(
            ov.stages[
                ["commodity_id", "world_t", "world_basis", "hhi", "top1_region_id", "top1_share_pct", "top3_share_pct"]
            ],
            on="commodity_id",
        )
        if sources:
            merged = merged.merge(ov.sources, on="source_id", how="left")
        sys.stdout.write(merged.to_csv(index=False))
        return
    _print_table(
        ov.stages[
            [
                "stage",
                "commodity_id",
                "world_t",
                "world_basis",
                "producers",
                "hhi",
                "top1_region_id",
                "top1_share_pct",
                "top3_share_pct",
            ]
        ],
        title=f"{commodity} {year}: concentration by stage (HHI 0–10,000; shares of world total)",
    )
    columns = ["rank", "region_id", "region_name", "production_t", "share_pct", "basis", "source_id"]
    for row in ov.stages.itertuples():
        top = ov.producers.loc[ov.producers["commodity_id"] == row.commodity_id, columns].head(8)
        _print_table(top, title=f"{row.stage}: {row.commodity_id} ({row.quantity_basis})")
    if sources:
        _print_table(ov.sources, title="Sources")


YearOption = Annotated[int, typer.Option("--year", "-y", help="Calendar year.")]
MaterialOption = Annotated[str, typer.Option("--commodity", "-c", help="Material whose chain is traced.")]


def _emit_indexed(df: pd.DataFrame, fmt: OutputFormat, title: str) -> None:
    _emit(df.reset_index(), fmt, title=title)


@app.command("concentration")
def concentration_cmd(
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
    with _dataset(db, dataset) as ds:
        table = concentration(ds, commodity, year, by=by.value)
    _emit_indexed(table, fmt, title=f"Concentration by {by.value} (HHI 0–10,000)")


@app.command("exposure")
def exposure_cmd(
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
    with _dataset(db, dataset) as ds:
        table = exposure(ds, region, year, commodity, product)
    _emit_indexed(table, fmt, title=f"{region} {year}: where its {commodity} supply comes from, stage by stage (%)")


@app.command("chokepoints")
def chokepoints_cmd(
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
    with _dataset(db, dataset) as ds:
        table = chokepoints(ds, region, sector, year, commodity, utilisation)
    _emit_indexed(table.head(top), fmt, title=f"{region} {sector} {year}: supply lost if one node fails (%)")


class Mode(StrEnum):
    fast = "fast"
    lp = "lp"


@app.command("simulate")
def simulate_cmd(
    file: Annotated[
        Path, typer.Argument(help="Scenario file (YAML), e.g. examples/scenarios/china-2025-licensing.yaml.")
    ],
    mode: Annotated[Mode, typer.Option("--mode", help="fast: vectorised pro-rata; lp: HiGHS per month.")] = Mode.fast,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for tables, summary.json, report.html.")
    ] = None,
    draws: Annotated[
        int | None,
        typer.Option(
            "--draws", min=2, max=100_000, help="Monte Carlo draws over the scenario's uncertainty ranges (fast mode)."
        ),
    ] = None,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """Run a scenario month by month; print its summary and write tables and an offline report."""
    scenario = load_scenario(file)
    target = out or Path("runs") / scenario.name
    target.parent.mkdir(parents=True, exist_ok=True)
    with open_store(db) as store:
        ds = store.load(scenario.datasets)
    check_scenario(scenario, ds, origin=file.name)  # before the progress bar: errors stay one line
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(f"simulating {scenario.name}", total=scenario.horizon_months)
        results = simulate(
            ds,
            scenario,
            mode.value,
            origin=file.name,
            on_period=lambda t: progress.update(task, completed=t + 1),
            draws=draws,
        )
        progress.update(task, description="writing the report", completed=scenario.horizon_months)
        written = results.save(target)
    _emit(results.summary.head(15), fmt, title=f"{scenario.name}: shortfall by region and sector ({mode.value} mode)")
    for message in results.messages:
        typer.echo(f"note: {message}", err=True)
    typer.echo(f"report: {(written / 'report.html').resolve()}", err=fmt is not OutputFormat.table)


class Method(StrEnum):
    eu = "eu"
    geopolrisk = "geopolrisk"
    usgs = "usgs"


@app.command("criticality")
def criticality_cmd(
    method: Annotated[Method, typer.Option("--method", "-m", help="EU CRM 2017 method, GeoPolRisk or USGS-style.")],
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
    with _dataset(db, dataset) as ds:
        if region is None and method is not Method.eu:
            region = "USA"
        table = criticality_table(ds, method.value, year=year, region=region, material=commodity)
    _emit_indexed(table, fmt, title=f"Criticality ({method.value})")


@data_app.command("sources")
def data_sources(fmt: FormatOption = OutputFormat.table, db: DbOption = None, dataset: DatasetOption = None) -> None:
    """Every source cited in the dataset, with the number of rows citing it."""
    with _dataset(db, dataset) as ds:
        _emit(sources_used(ds), fmt, title="Sources")


@data_app.command("assumptions")
def data_assumptions(
    fmt: FormatOption = OutputFormat.table, db: DbOption = None, dataset: DatasetOption = None
) -> None:
    """Every figure that is not reported as published: derived or assumed, with its note."""
    with _dataset(db, dataset) as ds:
        _emit(assumptions(ds), fmt, title="Derived and assumed figures")


@data_app.command("summary")
def data_summary(fmt: FormatOption = OutputFormat.table, db: DbOption = None, dataset: DatasetOption = None) -> None:
    """Rows per table by basis: how much of the dataset is reported, derived or assumed."""
    with _dataset(db, dataset) as ds:
        _emit(basis_summary(ds), fmt, title=f"Dataset {ds.name}: rows by basis")


@data_app.command("check")
def data_check(fmt: FormatOption = OutputFormat.table, db: DbOption = None, dataset: DatasetOption = None) -> None:
    """Run the cross-table checks; exit 1 when any error is found."""
    with _dataset(db, dataset) as ds:
        findings = check_dataset(ds)
        rows = ds.row_counts().sum()
    _emit(findings, fmt, title="Findings")
    errors = int((findings["severity"] == "error").sum())
    warnings = len(findings) - errors
    typer.echo(f"{rows} rows checked: {errors} errors, {warnings} warnings", err=True)
    if errors:
        raise typer.Exit(1)


@data_app.command("import")
def data_import(
    kind: Annotated[str, typer.Argument(help=f"File format: {', '.join(IMPORTERS)}.")],
    file: Annotated[Path, typer.Argument(help="The file to import.")],
    name: Annotated[str | None, typer.Option("--name", help="Dataset name (default: from the file name).")] = None,
    db: DbOption = None,
) -> None:
    """Import a real data file into a named dataset (all or nothing)."""
    with open_store(db) as store:
        ds = import_file(store, kind, file, name)
    counts = ds.row_counts()
    typer.echo(
        f"imported {file.name} as dataset {ds.name!r}: "
        + ", ".join(f"{n} {t} rows" for t, n in counts[counts > 0].items())
    )
    typer.echo(f"use it with --dataset default --dataset {ds.name}")


@data_app.command("export")
def data_export(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder (csv, parquet) or .xlsx file to write.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="File format.")] = ExportFormat.csv,
    db: DbOption = None,
    dataset: DatasetOption = None,
) -> None:
    """Write every table of the dataset to files (atomically)."""
    with _dataset(db, dataset) as ds:
        written = export_dataset(ds, fmt, out)
    typer.echo(f"wrote {written}")


@data_app.command("list")
def data_list(fmt: FormatOption = OutputFormat.table, db: DbOption = None) -> None:
    """The datasets held in the store."""
    with open_store(db) as store:
        _emit(store.datasets(), fmt, title=f"Datasets in {store.path}")


@data_app.command("drop")
def data_drop(name: Annotated[str, typer.Argument(help="Dataset to remove.")], db: DbOption = None) -> None:
    """Remove an imported dataset from the store."""
    if name == DEFAULT_NAME:
        raise ChokepointError(f"the {DEFAULT_NAME!r} dataset is the shipped one and cannot be dropped")
    with open_store(db) as store:
        store.drop(name)
    typer.echo(f"dropped {name}")


@data_app.command("schema")
def data_schema() -> None:
    """Print the schema reference (Markdown) generated from the schema files."""
    sys.stdout.write(schema_markdown())


@app.command("scenario-schema", hidden=True)
def scenario_schema() -> None:
    """Print the scenario-file reference (Markdown) generated from the scenario models."""
    sys.stdout.write(scenario_markdown())


# --- leverage -------------------------------------------------------------------------------------

RegionA = Annotated[str, typer.Argument(help="Region A (ISO3), whose leverage the headline is about, e.g. USA.")]
RegionB = Annotated[str, typer.Argument(help="Region B (ISO3), e.g. CHN.")]
HorizonOption = Annotated[
    int | None, typer.Option("--horizon", min=1, max=50, help="Years to run (overrides the pathways' horizon_years).")
]


def _check_regions(ds: Dataset, *regions: str) -> None:
    known = set(ds["regions"]["region_id"].astype(str))
    for region in regions:
        if region not in known:
            raise LeverageError(f"unknown region {region!r}; use an ISO3 code from the regions table, e.g. USA or CHN")


def _with_horizon(pathway: Pathway, horizon: int | None) -> Pathway:
    return pathway if horizon is None else pathway.model_copy(update={"horizon_years": horizon})


def _bn_table(df: pd.DataFrame, keep: Sequence[str] = ()) -> pd.DataFrame:
    """USD columns (but those in ``keep``) in USD bn, for the terminal."""
    out = df.copy()
    usd = [c for c in out.columns if str(c).endswith("_usd") and c not in keep]
    for col in usd:
        out[col] = out[col] / 1e9
    return out.rename(columns={c: str(c).removesuffix("_usd") + "_usd_bn" for c in usd})


@leverage_app.command("run")
def leverage_run(
    a: RegionA,
    b: RegionB,
    pathway: Annotated[
        str, typer.Option("--pathway", "-p", help="Shipped pathway name (see `leverage compare`) or a YAML file.")
    ] = "status-quo",
    horizon: HorizonOption = None,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
    dataset: DatasetOption = None,
) -> None:
    """One pathway: leverage, costs and deterrence per year, domain and direction."""
    chosen = _with_horizon(find_pathway(pathway), horizon)
    with _dataset(db, dataset) as ds:
        _check_regions(ds, a, b)
        tables = comparison_tables(ds, [chosen], a, b)
    if fmt is not OutputFormat.table:
        _emit(tables["comparison"], fmt)
        return
    comparison = tables["comparison"]
    pivot = comparison.pivot_table(index="year", columns=["direction", "domain"], values="leverage_usd") / 1e9
    pivot.columns = [" ".join(map(str, col)) for col in pivot.columns]
    _print_table(pivot.reset_index(), title=f"{chosen.name}: leverage by direction and domain (USD bn a year)")
    _print_table(
        _bn_table(tables["deterrence"].drop(columns=["pathway", "t"])),
        title=f"{chosen.name}: deterrence (present values over the years left, USD bn)",
    )
    _print_table(
        _bn_table(tables["ladder"].drop(columns=["pathway", "cost_ratio"])),
        title=f"{chosen.name}: escalation ladders, first and last year (USD bn)",
    )
    summary = _bn_table(leverage_headline(comparison, a, b).pathways).drop(columns=["pathway"])
    _print_table(summary, title=f"{chosen.name}: summary (USD bn; a = {a}, b = {b})")


def _compare_all(
    a: str, b: str, horizon: int | None, db: Path | None, dataset: list[str] | None, extra: list[Path] | None = None
) -> tuple[list[Pathway], dict[str, pd.DataFrame], Headline]:
    by_name = {p.name: p for p in map(load_pathway, shipped_pathways())}
    by_name |= {p.name: p for p in map(load_pathway, extra or [])}  # a user's edited copy replaces its namesake
    pathways = [_with_horizon(p, horizon) for p in by_name.values()]
    with _dataset(db, dataset) as ds:
        _check_regions(ds, a, b)
        tables = comparison_tables(ds, pathways, a, b)
        tables["sensitivity"] = sensitivity(ds, pathways, a, b)
        tables["thresholds"] = break_even(ds, pathways, a, b)
        reference = next((p for p in pathways if p.name == "calibrated-engagement"), pathways[0])
        tables["rare_earth_cutoff"] = simulated_cutoffs(ds, reference, a, b)
    tables["assumptions"] = assumptions_table(pathways)
    rate = next((p.discount_rate for p in pathways if p.name == "calibrated-engagement"), pathways[0].discount_rate)
    head = leverage_headline(tables["comparison"], a, b, discount_rate=rate)
    tables["headline"] = head.pathways
    return pathways, tables, head


@leverage_app.command("compare")
def leverage_compare(
    a: RegionA,
    b: RegionB,
    horizon: HorizonOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for tables (CSV and Parquet) and report.html.")
    ] = None,
    pathway: Annotated[
        list[Path] | None,
        typer.Option(
            "--pathway",
            "-p",
            help="A pathway YAML file to compare as well (repeatable); one named like a shipped pathway replaces it.",
        ),
    ] = None,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
    dataset: DatasetOption = None,
) -> None:
    """All shipped pathways side by side, the headline (does blanket decoupling leave A with less
    leverage over B than calibrated engagement, and from when?) and its one-at-a-time sensitivity."""
    _, tables, head = _compare_all(a, b, horizon, db, dataset, pathway)
    if out is not None:
        html = render_leverage_report(tables, head, tables["sensitivity"], assumptions=tables["assumptions"])
        with atomic_folder(out) as tmp:
            for name, table in tables.items():
                table.to_parquet(tmp / f"{name}.parquet", index=False)
                table.to_csv(tmp / f"{name}.csv", index=False)
            (tmp / "report.html").write_text(html, encoding="utf-8")
    if fmt is OutputFormat.json:
        doc = {
            "headline": head.text,
            "less_leverage": head.less_leverage,
            "from_year": head.from_year,
            "gap_share": head.gap_share,
            "pathways": _records(head.pathways),
            "sensitivity": _records(tables["sensitivity"]),
            "thresholds": _records(tables["thresholds"]),
            "ladder": _records(tables["ladder"]),
            "rare_earth_cutoff": _records(tables["rare_earth_cutoff"]),
            "comparison": _records(tables["comparison"]),
        }
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    elif fmt is OutputFormat.csv:
        sys.stdout.write(tables["comparison"].to_csv(index=False))
        typer.echo(head.text, err=True)
    else:
        _print_table(_bn_table(head.pathways), title=f"Pathways compared: {a} and {b} (USD bn)")
        sens = tables["sensitivity"].assign(gap_pct=100 * tables["sensitivity"]["gap_share"])
        sens = sens[["parameter", "factor", "less_leverage", "from_year", "gap_pct", "flips", "changes"]]
        _print_table(sens, title="Sensitivity of the headline (each parameter ×0.5 and ×2)")
        flips = tables["thresholds"].dropna(subset=["flips_at_factor"])
        _print_table(
            flips, title="Values that reverse the headline (factor on the base value; the rest never do in ×0.1–×10)"
        )
        cut = _bn_table(tables["rare_earth_cutoff"], keep=["unit_value_usd"])
        _print_table(cut, title="Rare earths: a year's complete cutoff, simulated and valued by sector (USD bn)")
        typer.echo(head.text)
    if out is not None:
        typer.echo(f"report: {(out / 'report.html').resolve()}", err=fmt is not OutputFormat.table)


@leverage_app.command("pathways")
def leverage_pathways(fmt: FormatOption = OutputFormat.table) -> None:
    """The shipped pathways and their files (copy one, edit it, pass it with --pathway)."""
    rows = [
        {"name": p.name, "description": p.description, "file": str(f)}
        for f in shipped_pathways()
        for p in [load_pathway(f)]
    ]
    _emit(pd.DataFrame(rows), fmt, title="Shipped pathways")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"chokepoint {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Model strategic dependence in critical-material supply chains (rare earths first)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors become one line on stderr and exit status 2."""
    command = typer.main.get_command(app)
    try:
        rc = command.main(args=list(argv) if argv is not None else None, prog_name="chokepoint", standalone_mode=False)
    except ChokepointError as exc:
        typer.echo(f"chokepoint: error: {exc}", err=True)
        return 2
    except typer.Abort:
        typer.echo("chokepoint: aborted", err=True)
        return 130
    except typer.TyperException as exc:  # bad options and arguments, as the parser reports them
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        typer.echo(f"chokepoint: error: {exc.format_message()}{hint}", err=True)
        return 2
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
