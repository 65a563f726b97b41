"""``chokepoint leverage …``: who holds leverage over whom (one pathway, all pathways, the files).

The study itself is :func:`chokepoint.leverage.compare_all`; these commands only print and write it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chokepoint.cli._common import (
    DatasetOption,
    DbOption,
    FormatOption,
    OutputFormat,
    code_of,
    emit,
    open_dataset,
    print_table,
    records,
    write_json,
)

if TYPE_CHECKING:
    import pandas as pd

    from chokepoint.leverage import Comparison


class _RunByDefault(typer.core.TyperGroup):
    """``chokepoint leverage USA CHN …`` means ``chokepoint leverage run USA CHN …`` (a region code
    first, in capitals; anything else is a subcommand name, so typos are reported as such)."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and args[0].isupper():
            args = ["run", *args]
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=_RunByDefault,
    help="Who holds leverage over whom: `leverage A B --pathway NAME` runs one policy pathway (the `run` "
    "command), `leverage compare A B` all shipped pathways side by side.",
    no_args_is_help=True,
)

RegionA = Annotated[str, typer.Argument(help="Region A (ISO3), whose leverage the headline is about, e.g. USA.")]
RegionB = Annotated[str, typer.Argument(help="Region B (ISO3), e.g. CHN.")]
HorizonOption = Annotated[
    int | None, typer.Option("--horizon", min=1, max=50, help="Years to run (overrides the pathways' horizon_years).")
]


def _bn_table(df: pd.DataFrame, keep: Sequence[str] = ()) -> pd.DataFrame:
    """USD columns (but those in ``keep``) in USD bn, for the terminal."""
    out = df.copy()
    usd = [c for c in out.columns if str(c).endswith("_usd") and c not in keep]
    for col in usd:
        out[col] = out[col] / 1e9
    return out.rename(columns={c: str(c).removesuffix("_usd") + "_usd_bn" for c in usd})


@app.command("run")
def run(
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
    from chokepoint.leverage import check_regions, comparison_tables, find_pathway, leverage_headline, with_horizon

    chosen = with_horizon(find_pathway(pathway), horizon)
    with open_dataset(db, dataset) as ds:
        a, b = code_of(ds, "regions", a), code_of(ds, "regions", b)
        check_regions(ds, a, b)
        tables = comparison_tables(ds, [chosen], a, b)
    if fmt is not OutputFormat.table:
        emit(tables["comparison"], fmt)
        return
    comparison = tables["comparison"]
    pivot = comparison.pivot_table(index="year", columns=["direction", "domain"], values="leverage_usd") / 1e9
    pivot.columns = [" ".join(map(str, col)) for col in pivot.columns]
    print_table(pivot.reset_index(), title=f"{chosen.name}: leverage by direction and domain (USD bn a year)")
    print_table(
        _bn_table(tables["deterrence"].drop(columns=["pathway", "t"])),
        title=f"{chosen.name}: deterrence (present values over the years left, USD bn)",
    )
    print_table(
        _bn_table(tables["ladder"].drop(columns=["pathway", "cost_ratio"])),
        title=f"{chosen.name}: escalation ladders, first and last year (USD bn)",
    )
    summary = _bn_table(leverage_headline(comparison, a, b).pathways).drop(columns=["pathway"])
    print_table(summary, title=f"{chosen.name}: summary (USD bn; a = {a}, b = {b})")


@app.command("compare")
def compare(
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
    leverage over B than calibrated engagement, and from when?) and its one-at-a-time sensitivity.

    The simulated rare-earth cutoff is kept in the user's cache folder for the next run of the same
    dataset and code ($CHOKEPOINT_CACHE sets the folder; empty turns the cache off)."""
    from chokepoint.files import check_target
    from chokepoint.leverage import check_regions, compare_all, pathways_to_compare
    from chokepoint.leverage.cache import cached_losses, default_cache_dir

    if out is not None:
        check_target(out)  # a folder we may not write is refused before the study runs
    pathways = pathways_to_compare(pathway or [], horizon)
    with open_dataset(db, dataset) as ds:
        a, b = code_of(ds, "regions", a), code_of(ds, "regions", b)
        check_regions(ds, a, b)  # before anything is simulated
        # the simulated cutoff is most of a cold run: kept between runs (see chokepoint.leverage.cache)
        study = compare_all(ds, pathways, a, b, losses=cached_losses(ds, pathways, default_cache_dir()))
    if out is not None:
        _write_study(study, out)
    if fmt is OutputFormat.json:
        write_json(_study_doc(study))
    elif fmt is OutputFormat.csv:
        sys.stdout.write(study.tables["comparison"].to_csv(index=False))
        typer.echo(study.headline.text, err=True)
    else:
        _print_study(study)
    if out is not None:
        typer.echo(f"report: {(out / 'report.html').resolve()}", err=fmt is not OutputFormat.table)


def _write_study(study: Comparison, out: Path) -> None:
    """Every table as Parquet and CSV, and the offline report, into ``out`` (atomically)."""
    from chokepoint.files import atomic_folder
    from chokepoint.report.leverage import render_leverage_report
    from chokepoint.runfiles import write_tables

    tables = dict(study.tables)
    html = render_leverage_report(tables, study.headline, tables["sensitivity"], assumptions=tables["assumptions"])
    with atomic_folder(out, kind="leverage-comparison") as tmp:
        write_tables(tmp, tables)
        (tmp / "report.html").write_text(html, encoding="utf-8")


def _study_doc(study: Comparison) -> dict[str, Any]:
    head, tables = study.headline, study.tables
    return {
        "headline": head.text,
        "less_leverage": head.less_leverage,
        "from_year": head.from_year,
        "gap_share": head.gap_share,
        "pathways": records(head.pathways),
        "sensitivity": records(tables["sensitivity"]),
        "global_sensitivity": records(tables["global_sensitivity"]),
        "global_verdict": records(tables["global_verdict"]),
        "thresholds": records(tables["thresholds"]),
        "ladder": records(tables["ladder"]),
        "rare_earth_cutoff": records(tables["rare_earth_cutoff"]),
        "comparison": records(tables["comparison"]),
    }


def _print_study(study: Comparison) -> None:
    tables = study.tables
    print_table(_bn_table(study.headline.pathways), title=f"Pathways compared: {study.a} and {study.b} (USD bn)")
    sens = tables["sensitivity"].assign(gap_pct=100 * tables["sensitivity"]["gap_share"])
    sens = sens[["parameter", "factor", "less_leverage", "from_year", "gap_pct", "flips", "changes"]]
    print_table(sens, title="Sensitivity of the headline (each parameter ×0.5 and ×2)")
    verdict = tables["global_verdict"].iloc[0]
    print_table(
        tables["global_sensitivity"],
        title=f"Global sensitivity of the last year's gap ({verdict['method']}, {verdict['draws']:,} draws, every"
        f" parameter ×0.5–×2 at once, log-uniform): decoupling leaves less leverage in"
        f" {verdict['less_leverage_share']:.0%} of draws",
    )
    flips = tables["thresholds"].dropna(subset=["flips_at_factor"])
    print_table(
        flips, title="Values that reverse the headline (factor on the base value; the rest never do in ×0.1–×10)"
    )
    cut = _bn_table(tables["rare_earth_cutoff"], keep=["unit_value_usd"])
    print_table(cut, title="Rare earths: a year's complete cutoff, simulated and valued by sector (USD bn)")
    typer.echo(study.headline.text)


@app.command("pathways")
def pathways(fmt: FormatOption = OutputFormat.table) -> None:
    """The shipped pathways and their files (copy one, edit it, pass it with --pathway)."""
    import pandas as pd

    from chokepoint.leverage import load_pathway, shipped_pathways

    rows = [
        {"name": p.name, "description": p.description, "file": str(f)}
        for f in shipped_pathways()
        for p in [load_pathway(f)]
    ]
    emit(pd.DataFrame(rows), fmt, title="Shipped pathways")
