"""Sweeps: a scenario's declared uncertain parameters sampled, evaluated and analysed.

``sweep(ds, scenario, method, samples)`` draws a design over ``scenario.uncertainty.parameters``
(:mod:`~chokepoint.sweeps.samplers`), runs every draw in fast mode on an executor
(:mod:`~chokepoint.sweeps.executors`; in-process, local processes or Dask) in tasks of fixed size
(:mod:`~chokepoint.sweeps.evaluate`), and returns a :class:`Sweep` whose methods answer the
questions (:mod:`~chokepoint.sweeps.analyse`): how often does an outcome happen, which
assumptions decide it (Sobol, Morris) and where in the parameter space it happens (PRIM).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from chokepoint import __version__
from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.scenario import Scenario, ScenarioError, Uncertainty, check_scenario
from chokepoint.simulation import scenario_dataset
from chokepoint.simulation.engine import RATE_PATHS
from chokepoint.simulation.run import scenario_sha256
from chokepoint.sweeps.analyse import PrimBox, bands, morris_indices, percentiles, prim, sobol_indices
from chokepoint.sweeps.evaluate import as_field_values, concat, evaluate_draws, focus_label, outcome_names, path_names
from chokepoint.sweeps.executors import EXECUTORS, Executor, run_tasks
from chokepoint.sweeps.samplers import METHODS, Design, Method, evaluations, sample
from chokepoint.yamlfile import field_line, load_yaml_model

__all__ = ["EXECUTORS", "METHODS", "PrimBox", "Sweep", "draws_per_task", "parse_condition", "sweep", "with_parameters"]

_CONDITION = re.compile(r"^\s*(\w+)\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")

#: Draws per task: engine-only draws run as one batch each (thousands per task keep Dask's
#: ~1 ms per-task overhead negligible); draws that need their own plan run one by one, so a task
#: of 8 is several seconds of work on the shipped chains.
ENGINE_DRAWS_PER_TASK = 2048
PLANNED_DRAWS_PER_TASK = 8


def parse_condition(condition: str, outcomes: list[str]) -> tuple[str, str, float]:
    """``"USA_peak_shortfall_pct > 90"`` → ``("USA_peak_shortfall_pct", ">", 90.0)``; a one-line
    error unless it is OUTCOME OP NUMBER with an outcome in ``outcomes``."""
    match = _CONDITION.match(condition)
    if match is None:
        raise ChokepointError(
            f"condition {condition!r} is not OUTCOME OP NUMBER; write e.g. 'USA_peak_shortfall_pct > 90'"
        )
    name, op, number = match.groups()
    if name not in outcomes:
        raise ChokepointError(f"unknown outcome {name!r}; outcomes are: {', '.join(outcomes)}")
    return name, op, float(number)


def draws_per_task(design: Design) -> int:
    """The fixed task size for ``design`` (independent of the executor: the same root seed gives
    the same tasks, and so the same numbers, everywhere)."""
    engine_only = all(path in RATE_PATHS.values() for path in design.values.columns)
    return ENGINE_DRAWS_PER_TASK if engine_only else PLANNED_DRAWS_PER_TASK


@dataclass(frozen=True)
class Sweep:
    """A finished sweep: the ``design`` (its ``values`` are the inputs, one row per draw), the
    ``outcomes`` per draw (index ``draw``; units in the column names), each draw's monthly
    ``paths`` (index ``draw``; columns ``path`` × ``period``) and its ``provenance``."""

    scenario: Scenario
    design: Design
    outcomes: pd.DataFrame
    paths: pd.DataFrame
    provenance: dict[str, Any]

    @property
    def inputs(self) -> pd.DataFrame:
        return self.design.values

    @property
    def default_outcome(self) -> str:
        """The outcome analysed unless another is named: the first focus's peak shortfall, else the world's."""
        focus = self.scenario.focus
        return f"{focus_label(focus[0])}_peak_shortfall_pct" if focus else "world_peak_shortfall_pct"

    def percentiles(self) -> pd.DataFrame:
        """Per outcome: mean, 5th, 50th and 95th percentiles over the draws."""
        return percentiles(self.outcomes)

    def bands(self) -> pd.DataFrame:
        """Per monthly path and month: mean, 5th, 25th, 50th, 75th and 95th percentiles over the
        draws (the fan charts)."""
        return bands(self.paths)

    def where(self, condition: str) -> pd.Series:
        """Per draw, whether ``condition`` holds: an outcome, a comparison and a number, e.g.
        ``"USA_peak_shortfall_pct > 90"`` (``>``, ``>=``, ``<``, ``<=``)."""
        name, op, limit = parse_condition(condition, list(self.outcomes.columns))
        values = self.outcomes[name]
        hit = {">": values > limit, ">=": values >= limit, "<": values < limit, "<=": values <= limit}[op]
        return hit.rename(condition)

    def share(self, condition: str) -> float:
        """The share of draws in which ``condition`` (:meth:`where`) holds."""
        return float(self.where(condition).mean())

    def sobol(self, outcome: str) -> pd.DataFrame:
        return sobol_indices(self.design, self.outcomes, outcome, seed=self.design.seed)

    def morris(self, outcome: str) -> pd.DataFrame:
        return morris_indices(self.design, self.outcomes, outcome, seed=self.design.seed)

    def prim(self, condition: str, density: float = 0.8) -> PrimBox:
        """The PRIM box of the draws where ``condition`` (:meth:`where`) holds."""
        return prim(self.inputs, self.where(condition), density=density)

    def save(self, path: Path | str, outcome: str | None = None, condition: str | None = None) -> Path:
        """Write ``inputs.csv``, ``outcomes.csv``, ``percentiles.csv``, ``bands.csv`` (the monthly
        percentiles), ``provenance.json`` (and the
        method's indices) and ``report.html`` (for ``outcome``, default :attr:`default_outcome`, and
        the PRIM box of ``condition``) into the folder ``path``, replaced atomically."""
        import json

        from chokepoint.files import atomic_folder
        from chokepoint.report.sweeps import render_sweep_report  # the edge, reached from the result

        tables = {
            "inputs": self.inputs,
            "outcomes": self.outcomes,
            "percentiles": self.percentiles(),
            "bands": self.bands(),
        }
        if self.design.method in ("sobol", "morris"):
            analyse = self.sobol if self.design.method == "sobol" else self.morris
            tables["indices"] = pd.concat(
                {name: analyse(name) for name in self.outcomes.columns}, names=["outcome", None]
            ).droplevel(1)
        with atomic_folder(Path(path), "sweep") as tmp:
            for name, table in tables.items():
                table.to_csv(tmp / f"{name}.csv", index=name in ("inputs", "outcomes", "indices"))
            (tmp / "provenance.json").write_text(json.dumps(self.provenance, indent=2) + "\n", encoding="utf-8")
            report = render_sweep_report(self, outcome or self.default_outcome, condition)
            (tmp / "report.html").write_text(report, encoding="utf-8")
        return Path(path)


def with_parameters(scenario: Scenario, path: Path | str) -> Scenario:
    """``scenario`` with its ``uncertainty`` block replaced by the file ``path`` (the block's own
    fields at its top level: ``draws``, ``seed``, ``parameters``, ``correlations``), so a sweep's
    assumptions can live beside a scenario without making its ``simulate`` a Monte Carlo run. A
    problem is one :class:`ScenarioError` line naming the file and the line."""
    u = load_yaml_model(path, Uncertainty, ScenarioError, "parameters")
    try:
        return Scenario.model_validate({**scenario.model_dump(), "uncertainty": u.model_dump()})
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ").removeprefix("uncertainty.")
        found = field_line(u, message)
        raise ScenarioError(f"{Path(path).name}: {message}" + (f" (line {found[1]})" if found else "")) from None


def sweep(
    ds: Dataset,
    scenario: Scenario,
    method: Method = "lhs",
    samples: int | None = None,
    seed: int | None = None,
    executor: Executor | None = None,
    workers: int = 1,
    cluster: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Sweep:
    """Sample ``scenario``'s uncertain parameters by ``method`` (``samples`` defaults to the
    scenario's ``uncertainty.draws``, ``seed`` to its ``uncertainty.seed``), evaluate every draw
    and keep its outcomes. ``executor`` defaults to ``inline``, or ``dask`` when ``workers`` > 1
    or a ``cluster`` address is given. ``on_progress(done, total)`` counts finished draws."""
    u = scenario.uncertainty
    if u is None or not u.parameters:
        raise ChokepointError(f"scenario {scenario.name}: declare uncertain parameters under uncertainty.parameters")
    if any(p.path.startswith("projected_from") for p in u.parameters):
        raise ChokepointError("projected_from fields cannot be swept: the projection is made once per sweep")
    ds = scenario_dataset(ds, scenario)
    check_scenario(scenario, ds)
    n, root = u.draws if samples is None else samples, u.seed if seed is None else seed
    design = sample(u.parameters, n, method, root, u.correlations)
    design = replace(design, values=as_field_values(scenario, design.values))
    size = draws_per_task(design)
    tasks = [design.values.iloc[lo : lo + size] for lo in range(0, len(design.values), size)]
    total, finished = len(design.values), 0

    def done(i: int) -> None:
        nonlocal finished
        finished += len(tasks[i])
        if on_progress is not None:
            on_progress(finished, total)

    evaluated = concat(run_tasks(evaluate_draws, (ds, scenario), tasks, executor, workers, cluster, done))
    outcomes, paths = evaluated.outcomes[outcome_names(scenario)], evaluated.paths[path_names(scenario)]
    provenance = {
        "dataset_fingerprint": ds.fingerprint,
        "chokepoint_version": __version__,
        "scenario_sha256": scenario_sha256(scenario),
        "method": method,
        "samples": design.samples,
        "draws": evaluations(method, design.samples, len(u.parameters)),
        "seed": design.seed,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return Sweep(scenario, design, outcomes, paths, provenance)
