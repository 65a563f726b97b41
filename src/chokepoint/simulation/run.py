"""One simulation run: its scenario, every registered table and where it came from, immutable."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pandas as pd

from chokepoint.scenario import Scenario
from chokepoint.simulation.tables import TABLES

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["Provenance", "Run", "RunPlots", "compare_runs", "scenario_json", "scenario_sha256"]


def scenario_json(scenario: Scenario) -> str:
    """The scenario's canonical JSON: every field (defaults included), keys sorted, no spaces."""
    return json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def scenario_sha256(scenario: Scenario) -> str:
    return hashlib.sha256(scenario_json(scenario).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Provenance:
    """What a run can be reproduced from: the dataset's content hash, the package version, the
    canonical scenario's SHA-256, the allocation mode, the Monte Carlo seed and draw count (0
    draws: none were run), and when it ran (ISO 8601, UTC)."""

    dataset_fingerprint: str
    chokepoint_version: str
    scenario_sha256: str
    mode: str
    seed: int
    draws: int
    created: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class Run:
    """A finished run. ``tables`` holds every table of :data:`~chokepoint.simulation.tables.TABLES`
    (read-only mapping); ``messages`` are notes about the run itself (e.g. draws skipped)."""

    scenario: Scenario
    tables: Mapping[str, pd.DataFrame]
    provenance: Provenance
    messages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if set(self.tables) != set(TABLES):
            raise ValueError(f"a run has exactly the registered tables; got {sorted(self.tables)}")
        object.__setattr__(self, "tables", MappingProxyType({name: self.tables[name] for name in TABLES}))

    def __eq__(self, other: object) -> bool:
        """Same provenance, scenario, messages and every table equal, dtypes included."""
        if not isinstance(other, Run):
            return NotImplemented
        return (
            self.provenance == other.provenance
            and scenario_json(self.scenario) == scenario_json(other.scenario)
            and self.messages == other.messages
            and all(self.tables[n].equals(other.tables[n]) for n in TABLES)
        )

    __hash__ = None  # type: ignore[assignment]  # tables are mutable frames

    @property
    def summary(self) -> pd.DataFrame:
        """Per region and sector: peak and cumulative shortfall and recovery, worst first."""
        return self.tables["summary"]

    @property
    def plot(self) -> RunPlots:
        """Plotly figures of this run (the report draws the same ones)."""
        return RunPlots(self)

    def html(self, notes: list[str] | None = None) -> str:
        """The offline HTML report; ``notes`` default to the scenario's."""
        from chokepoint.report import render_simulation_report

        return render_simulation_report(self, notes=self.scenario.notes if notes is None else notes)

    def report(self, path: Path | str) -> Path:
        """Write the offline HTML report to ``path`` (a file, replaced atomically)."""
        from chokepoint.runfiles import write_report

        return write_report(self, Path(path))

    def export(self, path: Path | str, fmt: str = "csv", tables: Sequence[str] | None = None) -> Path:
        """The ``tables`` (every table if None), after a first table ``run`` of what the run is and
        came from (scenario, mode, dataset fingerprint, version, seed, date), as a folder of CSV or
        Parquet files or one workbook (``fmt`` ``xlsx``); replaces only what Chokepoint wrote."""
        from chokepoint.runfiles import export_run

        return export_run(self, Path(path), fmt, tables)

    def to_excel(self, path: Path | str, tables: Sequence[str] | None = None) -> Path:
        """The run as one workbook, a sheet per table (see :meth:`export`)."""
        return self.export(path, "xlsx", tables)

    def save(self, path: Path | str) -> Path:
        """Write the run into the folder ``path``; :func:`chokepoint.open_run` reads it back equal."""
        from chokepoint.runfiles import save_run

        return save_run(self, Path(path))


class RunPlots:
    """``run.plot.shortfall()`` and friends: the report's figures, one at a time."""

    def __init__(self, run: Run) -> None:
        self._run = run

    def shortfall(self, commodity: str | None = None) -> go.Figure:
        """Shortfall by region, % of demand (``commodity`` defaults to the last stage)."""
        from chokepoint.report.figures import shortfall_figure

        return shortfall_figure(self._run.tables, commodity)

    def prices(self) -> go.Figure:
        from chokepoint.report.figures import prices_figure

        return prices_figure(self._run.tables["prices"])

    def flows(self, period: str | pd.Period | None = None) -> go.Figure:
        """The chain as a Sankey for ``period`` (default: the first month)."""
        from chokepoint.report.figures import sankey_figure

        return sankey_figure(self._run.tables, period)

    def stocks(self) -> go.Figure:
        from chokepoint.report.figures import stocks_figure

        return stocks_figure(self._run.tables["stocks"])


#: The summary's measures compared by :func:`compare_runs`.
_COMPARED = ("cumulative_shortfall_t", "peak_shortfall_pct", "months_short")


def compare_runs(a: Run, b: Run) -> pd.DataFrame:
    """Region × sector × measure: the value in ``a``, in ``b`` and ``b − a`` (units in the
    measure's name; a region × sector absent from one run's summary counts as 0 there)."""
    keys = ["region_id", "sector_id"]

    def long(run: Run) -> pd.Series:
        frame = run.summary.set_index(keys)[list(_COMPARED)].astype(float)
        stacked: pd.Series = frame.stack()  # type: ignore[assignment]  # a frame stacks to a Series
        return stacked.rename_axis([*keys, "measure"])

    table = pd.concat({"a": long(a), "b": long(b)}, axis=1).fillna(0.0).reset_index()
    table["difference"] = table["b"] - table["a"]
    table["unit"] = table["measure"].map(TABLES["summary"].units)
    order = {m: i for i, m in enumerate(_COMPARED)}
    table = table.sort_values(
        ["measure", "difference"], key=lambda s: s.map(order) if s.name == "measure" else -s.abs()
    )
    return table[[*keys, "measure", "unit", "a", "b", "difference"]].reset_index(drop=True)
