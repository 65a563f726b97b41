"""A run on disk: write it to a folder all at once, read it back equal.

The folder holds every registered table as Parquet (exact dtypes, read back by :func:`open_run`)
and CSV (for people and spreadsheets), ``provenance.json``, the canonical ``scenario.json``,
``summary.json`` (run facts and the headline numbers), ``report.html`` and the manifest
``chokepoint.json`` that lets a rerun replace the folder (:mod:`chokepoint.files`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from chokepoint.errors import ChokepointError
from chokepoint.files import atomic_file, atomic_folder
from chokepoint.scenario import Scenario
from chokepoint.simulation.run import Provenance, Run, scenario_json
from chokepoint.simulation.tables import TABLES

__all__ = ["export_run", "headline", "open_run", "run_facts", "save_run", "write_report", "write_tables"]


def _clean(value: Any) -> Any:
    """A JSON-ready scalar: NaN/NA/NaT become null, periods text, numpy scalars Python's."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Period):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _clean(v) for k, v in row.items()} for row in table.to_dict("records")]


def headline(run: Run) -> dict[str, Any]:
    """The numbers a reader wants first: worst shortfalls, price peaks, recovery, and the
    observations, price-floor totals, Monte Carlo peaks and projects (empty when the scenario has none)."""
    t = run.tables
    peaks = t["prices"].groupby("commodity_id")["price_index"].max()
    floors = t["price_floors"]
    paid = floors.groupby(floors["region_id"] + " " + floors["commodity_id"])["payment_usd"].sum()
    return {
        "observed_vs_simulated": _records(t["observed"]),
        "price_floor_payments_usd": {str(k): round(float(v), 0) for k, v in paid.items()},
        "uncertainty_peaks": _records(
            t["uncertainty_peaks"].sort_values("peak_shortfall_pct_p50", ascending=False).head(10)
        ),
        "projects": _records(t["projects"]),
        "max_price_index": {str(k): round(float(v), 3) for k, v in peaks.items()},
        "worst_shortfalls": _records(run.summary.sort_values("peak_shortfall_pct", ascending=False).head(10)),
        "all_recovered": bool(run.summary["recovered"].all()),
    }


def _info(run: Run) -> dict[str, Any]:
    s = run.scenario
    return {
        "scenario": s.name,
        "description": s.description,
        "mode": run.provenance.mode,
        "datasets": s.datasets,
        "base_year": s.base_year,
        "start": str(s.start),
        "end": str(s.end),
        "months": s.horizon_months,
        "draws": run.provenance.draws,
    }


def run_facts(run: Run) -> pd.DataFrame:
    """What the run is and came from, one fact a row (``fact``, ``value``): the scenario and its
    window, then the provenance (mode, dataset fingerprint, version, seed, draws, date)."""
    facts = {**_info(run), **run.provenance.as_dict()}
    rows = [(k, ", ".join(map(str, v)) if isinstance(v, list) else str(v)) for k, v in facts.items()]
    return pd.DataFrame(rows, columns=["fact", "value"])


def export_run(run: Run, out: Path, fmt: str, tables: Sequence[str] | None = None) -> Path:
    """``run``'s facts (table ``run``) and its ``tables`` (every table if None) to ``out`` as csv,
    parquet or one xlsx workbook."""
    from chokepoint.dataset.export import ExportFormat, export_tables

    try:
        chosen = ExportFormat(fmt)
    except ValueError:
        raise ChokepointError(f"unknown export format {fmt!r}; use csv, parquet or xlsx") from None
    names = list(run.tables) if tables is None else list(tables)
    unknown = [n for n in names if n not in run.tables]
    if unknown or not names:
        raise ChokepointError(f"unknown run table {(unknown or [''])[0]!r}; use some of {', '.join(run.tables)}")
    return export_tables({"run": run_facts(run), **{n: run.tables[n] for n in names}}, chosen, out, kind="run-export")


def write_tables(folder: Path, tables: Mapping[str, pd.DataFrame]) -> None:
    """Every table into ``folder`` as Parquet and CSV, named after it."""
    for name, table in tables.items():
        table.to_parquet(folder / f"{name}.parquet", index=False)
        table.to_csv(folder / f"{name}.csv", index=False)


def save_run(run: Run, out: Path) -> Path:
    """Write ``run`` into the folder ``out`` (replacing it only once everything is written).

    ``out`` must be missing, empty or a folder Chokepoint wrote; anything else is refused."""
    from chokepoint.report import story

    with atomic_folder(out, kind="run") as tmp:
        write_tables(tmp, run.tables)
        document = {
            "info": _info(run),
            "provenance": run.provenance.as_dict(),
            "messages": list(run.messages),
            "answer": story.headline(run),
            "headline": headline(run),
            "tables": {n: {"description": s.description, "units": s.units} for n, s in TABLES.items()},
        }
        (tmp / "summary.json").write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
        (tmp / "provenance.json").write_text(json.dumps(run.provenance.as_dict(), indent=2), encoding="utf-8")
        (tmp / "scenario.json").write_text(scenario_json(run.scenario), encoding="utf-8")
        (tmp / "report.html").write_text(run.html(), encoding="utf-8")
    return out


def open_run(path: Path | str) -> Run:
    """Read a folder written by :meth:`Run.save` back into a :class:`Run` equal to the saved one."""
    path = Path(path)
    missing = [f for f in ("provenance.json", "scenario.json", "summary.json") if not (path / f).is_file()]
    missing += [f"{n}.parquet" for n in TABLES if not (path / f"{n}.parquet").is_file()]
    if missing:
        raise ChokepointError(f"{path}: not a saved run (missing {', '.join(missing[:3])})")
    provenance = Provenance(**json.loads((path / "provenance.json").read_text(encoding="utf-8")))
    scenario = Scenario.model_validate_json((path / "scenario.json").read_text(encoding="utf-8"))
    messages = json.loads((path / "summary.json").read_text(encoding="utf-8"))["messages"]
    tables = {name: pd.read_parquet(path / f"{name}.parquet") for name in TABLES}
    return Run(scenario=scenario, tables=tables, provenance=provenance, messages=tuple(messages))


def write_report(run: Run, out: Path) -> Path:
    """Write the run's offline HTML report to the file ``out``: a file already there is replaced
    only if Chokepoint wrote it (its hidden manifest says so), never someone else's."""
    with atomic_file(out, kind="report") as tmp:
        tmp.write_text(run.html(), encoding="utf-8")
    return out
