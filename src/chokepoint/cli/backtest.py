"""``chokepoint backtest``: score scenarios against their observations, calibrate and validate apart."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chokepoint.cli._common import DbOption, FormatOption, OutputFormat, emit, records, write_json
from chokepoint.cli.simulate import Mode

if TYPE_CHECKING:
    import pandas as pd

    from chokepoint.backtesting import Backtest


def backtest(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Scenario files (YAML); default: every shipped scenario with observations."),
    ] = None,
    fit: Annotated[
        bool,
        typer.Option("--fit", help="Fit each scenario's calibration: parameters first; show fitted beside shipped."),
    ] = False,
    write: Annotated[
        bool, typer.Option("--write", help="With --fit: rewrite the fitted values in the files, in place.")
    ] = False,
    mode: Annotated[Mode, typer.Option("--mode", help="fast: vectorised pro-rata; lp: HiGHS per month.")] = Mode.fast,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """Score scenarios per observation (observed, simulated, ratio, |ln ratio|) and per scenario
    the mean absolute log error of calibrate and validate observations apart. csv prints the
    scorecard; json the scorecard, the scores and any fitted parameters."""
    from chokepoint.backtesting import backtest as run
    from chokepoint.backtesting import shipped_scenarios, write_fitted
    from chokepoint.dataset.store import open_store
    from chokepoint.errors import ChokepointError
    from chokepoint.scenario import load_scenario

    if write and not fit:
        raise ChokepointError("--write writes fitted values; add --fit")
    paths = list(files) if files else shipped_scenarios()
    scenarios = {path: load_scenario(path) for path in paths}
    wanted = {tuple(scenario.datasets) for scenario in scenarios.values()}
    with open_store(db) as store:  # one short visit: the fits hold no lock on the store
        loaded = {names: store.load(list(names)) for names in wanted}
    for path, scenario in scenarios.items():
        if not scenario.observed:
            typer.echo(f"note: {path.name} cites no observations; nothing to score", err=True)
        elif fit and scenario.calibration is None:
            typer.echo(f"note: {path.name} has no calibration: block; scored at its own values", err=True)
    result = run(paths, lambda names: loaded[tuple(names)], mode.value, fit=fit)
    if fmt is OutputFormat.json:
        write_json({name: records(t) for name, t in _tables(result).items()})
    elif fmt is OutputFormat.csv:
        emit(result.scorecard, fmt)
    else:
        emit(_shown(result.scorecard.drop(columns="source")), fmt, title="Scorecard: one row per observation")
        emit(_shown(result.scores), fmt, title="Mean absolute log error |ln(simulated / observed)| by role")
        if fit:
            title = "Calibration parameters, shipped and fitted (the scores above are at the fitted values)"
            emit(_shown(result.parameters), fmt, title=title)
    if write:
        by_name = {scenario.name: path for path, scenario in scenarios.items()}
        for name, f in result.fits.items():
            written = write_fitted(by_name[name], f.values)
            typer.echo(f"wrote {written}: {', '.join(f'{p} = {v}' for p, v in f.values.items())}", err=True)


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """Numbers as text with four significant digits: the terminal table's default of one decimal
    would show an error of 0.0004 as 0.0."""
    floats = table.select_dtypes("float").columns
    return table.assign(**{c: table[c].map(lambda v: "" if v != v else f"{v:.4g}") for c in floats})


def _tables(result: Backtest) -> dict[str, pd.DataFrame]:
    return {"scorecard": result.scorecard, "scores": result.scores, "parameters": result.parameters}
