"""``chokepoint sweep`` and ``chokepoint discover``: sample a scenario's uncertain parameters, run
every draw, and say how the outcomes spread, which assumptions decide them, and where one happens."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chokepoint.cli._common import DbOption, FormatOption, OutputFormat, emit, records, write_json

if TYPE_CHECKING:
    import pandas as pd

    from chokepoint.dataset import Dataset
    from chokepoint.scenario import Scenario
    from chokepoint.sweeps import Sweep


class SweepMethod(StrEnum):
    mc = "mc"
    lhs = "lhs"
    sobol = "sobol"
    morris = "morris"


class Objective(StrEnum):
    expected = "expected"
    cvar95 = "cvar95"


class ExecutorChoice(StrEnum):
    inline = "inline"
    processes = "processes"
    dask = "dask"


FileArgument = Annotated[Path, typer.Argument(help="Scenario file (YAML) with uncertainty.parameters.")]
ParametersOption = Annotated[
    Path | None,
    typer.Option("--parameters", "-p", help="File of uncertain parameters replacing the scenario's uncertainty block."),
]
SamplesOption = Annotated[
    int | None,
    typer.Option(
        "--n",
        "--samples",
        min=2,
        max=1_000_000,
        help="Draws (sobol: base samples, d+2 draws each; morris: trajectories, d+1 each); default uncertainty.draws.",
    ),
]
SeedOption = Annotated[int | None, typer.Option(min=0, help="Root seed (default uncertainty.seed).")]
WorkersOption = Annotated[int, typer.Option(min=1, max=256, help="Worker processes (a Dask LocalCluster).")]
ClusterOption = Annotated[
    str | None, typer.Option("--cluster", help="A running Dask scheduler, e.g. tcp://10.0.0.5:8786.")
]
ExecutorOption = Annotated[
    ExecutorChoice | None,
    typer.Option(help="inline, processes or dask (default: dask with --workers > 1 or --cluster)."),
]
OutOption = Annotated[
    Path | None, typer.Option("--out", "-o", help="Folder for the tables (default runs/<scenario-name>-sweep).")
]


def sweep(
    file: FileArgument,
    parameters: ParametersOption = None,
    method: Annotated[
        SweepMethod, typer.Option("--method", "-m", help="Sampler; sobol and morris also give sensitivity indices.")
    ] = SweepMethod.lhs,
    samples: SamplesOption = None,
    seed: SeedOption = None,
    workers: WorkersOption = 1,
    cluster: ClusterOption = None,
    executor: ExecutorOption = None,
    outcome: Annotated[
        str | None,
        typer.Option("--outcome", help="Outcome whose indices are shown (default: the first focus's peak shortfall)."),
    ] = None,
    out: OutOption = None,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """Sample the scenario's uncertain parameters, run every draw in fast mode, and print how the
    outcomes spread and (sobol, morris) which assumptions decide them."""
    result, target = _run(file, parameters, method, samples, seed, workers, cluster, executor, out, db)
    chosen = outcome or result.default_outcome
    written = result.save(target, chosen)
    sections: dict[str, Any] = {"percentiles": result.percentiles()}
    titles = {
        "percentiles": f"outcomes over {len(result.outcomes):,} draws ({result.design.method})",
        "sobol": f"Sobol indices of {chosen} (S1 first order, ST total; _conf: 95% half-widths)",
        "morris": f"Morris indices of {chosen} (mu_star: mean |effect| per whole range)",
    }
    if result.design.method == "sobol":
        sections["sobol"] = result.sobol(chosen)
    if result.design.method == "morris":
        sections["morris"] = result.morris(chosen)
    _print(sections, titles, fmt, written)


def discover(
    file: FileArgument,
    outcome: Annotated[
        str, typer.Option("--outcome", help="What happens, as OUTCOME OP NUMBER, e.g. 'USA_peak_shortfall_pct > 90'.")
    ],
    parameters: ParametersOption = None,
    method: Annotated[SweepMethod, typer.Option("--method", "-m", help="Sampler (mc or lhs suit PRIM).")] = (
        SweepMethod.lhs
    ),
    samples: SamplesOption = None,
    seed: SeedOption = None,
    workers: WorkersOption = 1,
    cluster: ClusterOption = None,
    executor: ExecutorOption = None,
    density: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Least share of the box's draws in which the outcome happens.")
    ] = 0.8,
    out: OutOption = None,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """Which assumptions make an outcome happen: the share of draws where it does and the PRIM box
    (the parameter ranges) that holds them."""
    result, target = _run(file, parameters, method, samples, seed, workers, cluster, executor, out, db, outcome)
    written = result.save(target, condition=outcome)
    share = result.share(outcome)
    sections: dict[str, Any] = {"share": f"{outcome} in {share:.0%} of {len(result.outcomes):,} draws"}
    if 0 < share < 1:  # a box needs draws on both sides
        box = result.prim(outcome, density)
        sections["prim"] = box.limits[box.limits["restricted"]].drop(columns="restricted")
        sections["box"] = (
            f"inside the box: {box.density:.0%} of draws have it (density); the box holds"
            f" {box.coverage:.0%} of the draws that do (coverage) and {box.mass:.0%} of all draws (mass)"
        )
    titles = {"prim": f"where {outcome} (PRIM box: the ranges it restricts; qp_value > 0.05 may be noise)"}
    _print(sections, titles, fmt, written)


def portfolio(
    file: FileArgument,
    levers: Annotated[Path, typer.Argument(help="Portfolio file: the entries added, the levers and their costs.")],
    parameters: ParametersOption = None,
    budget: Annotated[
        float | None, typer.Option(min=0.0, help="USD to spend: also print the best mix that costs no more.")
    ] = None,
    objective: Annotated[
        Objective | None,
        typer.Option(help="expected, or cvar95 (mean of the worst 5% of worlds); default the file's."),
    ] = None,
    worlds: Annotated[
        int | None, typer.Option(min=2, max=10_000, help="Worlds each mix runs in (default: the file's).")
    ] = None,
    workers: WorkersOption = 1,
    cluster: ClusterOption = None,
    executor: ExecutorOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for the tables (default runs/<scenario-name>-portfolio).")
    ] = None,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """The mix of levers that keeps an outcome lowest across sampled worlds, for the money: every
    mix's cost, expected outcome and CVaR, and the frontier of cost against risk."""
    from chokepoint.sweeps.portfolio import load_portfolio
    from chokepoint.sweeps.portfolio import portfolio as run

    loaded: list[Any] = []  # the portfolio and its levers' paths, read with the scenario

    def add_levers(scenario: Scenario) -> Scenario:
        spec, with_levers, paths = load_portfolio(levers, scenario)
        loaded.extend([spec, paths])
        return with_levers

    scenario, ds, target = _load(file, parameters, out, "portfolio", db, add_levers)
    spec, paths = loaded
    if objective is not None:
        spec = spec.model_copy(update={"objective": objective.value})
    if worlds is not None:
        spec = spec.model_copy(update={"worlds": worlds})
    result = run(ds, scenario, spec, paths, None if executor is None else executor.value, workers, cluster)
    written = result.save(target, scenario.name)
    shown = result.frontier.drop(columns=["mix", "on_frontier"])
    sections: dict[str, Any] = {"frontier": shown}
    if budget is not None:
        best = result.best(budget)
        mix = ", ".join(f"{lv.name} {best[lv.name]:g}" for lv in spec.levers)
        sections["best"] = (
            f"best within USD {budget:,.0f}: {mix} (USD {best['cost_usd']:,.0f}): {spec.outcome} expected"
            f" {_number(best['expected'])}, CVaR95 {_number(best['cvar95'])} over {spec.worlds} worlds"
        )
    title = f"cost against {spec.objective} of {spec.outcome} ({len(result.mixes)} mixes x {spec.worlds} worlds)"
    _print(sections, {"frontier": title}, fmt, written)


def _run(
    file: Path,
    parameters: Path | None,
    method: SweepMethod,
    samples: int | None,
    seed: int | None,
    workers: int,
    cluster: str | None,
    executor: ExecutorChoice | None,
    out: Path | None,
    db: Path | None,
    condition: str | None = None,
) -> tuple[Sweep, Path]:
    """Load and check the scenario (and ``condition`` against its outcomes), check the output
    folder, and sweep with a progress bar; the result and the folder to save it in."""
    from rich.console import Console
    from rich.progress import Progress

    from chokepoint.sweeps import parse_condition
    from chokepoint.sweeps import sweep as run
    from chokepoint.sweeps.evaluate import outcome_names

    def check_condition(scenario: Scenario) -> Scenario:
        if condition is not None:
            parse_condition(condition, outcome_names(scenario))  # refuse a typo before the draws
        return scenario

    scenario, ds, target = _load(file, parameters, out, "sweep", db, check_condition)
    progress_to: Callable[[int, int], None]
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(f"sweeping {scenario.name}", total=None)

        def progress_to(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = run(
            ds,
            scenario,
            method.value,
            samples,
            seed,
            None if executor is None else executor.value,
            workers,
            cluster,
            on_progress=progress_to,
        )
    return result, target


def _load(
    file: Path,
    parameters: Path | None,
    out: Path | None,
    kind: str,
    db: Path | None,
    prepare: Callable[[Scenario], Scenario],
) -> tuple[Scenario, Dataset, Path]:
    """The scenario (its uncertainty from ``parameters`` if given, then ``prepare``-d), its dataset
    and the output folder (default ``runs/<name>-<kind>``), each checked before any draw runs."""
    from chokepoint.dataset.store import open_store
    from chokepoint.files import check_target
    from chokepoint.scenario import check_scenario, load_scenario
    from chokepoint.sweeps import with_parameters

    scenario = load_scenario(file)
    if parameters is not None:
        scenario = with_parameters(scenario, parameters)
    scenario = prepare(scenario)
    target = out or Path("runs") / f"{scenario.name}-{kind}"
    check_target(target)  # refuse before the draws, not after minutes of work
    with open_store(db) as store:
        ds = store.load(scenario.datasets)
    check_scenario(scenario, ds, origin=file.name)
    return scenario, ds, target


def _number(value: float) -> str:
    return "0" if abs(value) < 1e-9 else f"{value:.3g}"  # rounding noise of an exact zero reads as 0


def _print(sections: dict[str, pd.DataFrame | str], titles: dict[str, str], fmt: OutputFormat, written: Path) -> None:
    """Every section as a titled table or a line; as JSON, one document keyed by section; as CSV,
    the first table."""
    if fmt is OutputFormat.json:
        write_json({name: s if isinstance(s, str) else records(s) for name, s in sections.items()})
    elif fmt is OutputFormat.csv:
        tables = [s for s in sections.values() if not isinstance(s, str)]
        if tables:
            emit(tables[0], fmt)
    else:
        for name, section in sections.items():
            if isinstance(section, str):
                typer.echo(section)
            else:
                emit(section, fmt, title=titles[name])
    typer.echo(f"tables: {written.resolve()}", err=fmt is not OutputFormat.table)
