"""The ``chokepoint`` command line: each command calls one library function and prints its table.

One module per command group (:mod:`~chokepoint.cli.analysis`, :mod:`~chokepoint.cli.baseyear`,
:mod:`~chokepoint.cli.data`, :mod:`~chokepoint.cli.simulate`, :mod:`~chokepoint.cli.sweep`,
:mod:`~chokepoint.cli.backtest`, :mod:`~chokepoint.cli.leverage`); this one wires them into the app.
Heavy modules (pandas, the store, plotly) are imported inside the commands, so ``--help`` is quick.

User errors (:class:`~chokepoint.errors.ChokepointError`, bad options) print one line on stderr
and exit with status 2; nothing half-done is left behind.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from chokepoint import __version__
from chokepoint.cli import analysis, backtest, baseyear, data, leverage, outlook, simulate, sweep
from chokepoint.errors import ChokepointError

__all__ = ["app", "main"]

app = typer.Typer(
    name="chokepoint",
    help="Model strategic dependence in critical-material supply chains (rare earths first).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)
app.add_typer(data.app, name="data")
app.add_typer(leverage.app, name="leverage")
app.command("overview")(analysis.overview)
app.command("concentration")(analysis.concentration)
app.command("exposure")(analysis.exposure)
app.command("chokepoints")(analysis.chokepoints)
app.command("simulate")(simulate.simulate)
app.command("export-run")(simulate.export_run)
app.command("sweep")(sweep.sweep)
app.command("discover")(sweep.discover)
app.command("portfolio")(sweep.portfolio)
app.command("backtest")(backtest.backtest)
app.command("criticality")(analysis.criticality)
app.command("baseline")(baseyear.baseline)
app.command("pipeline")(outlook.pipeline)
app.command("outlook")(outlook.outlook)
app.command("scenario-schema", hidden=True)(simulate.scenario_schema)


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
