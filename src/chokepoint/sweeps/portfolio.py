"""Robust mitigation portfolios: the mix of levers that keeps an outcome lowest across sampled worlds.

A portfolio file adds entries to a scenario (``add:``, e.g. a stockpile and a capacity project)
and names ``levers``: one number in those entries each, with the levels it may take and a unit
cost. Every combination of levels (the full grid) is run in every one of ``worlds`` worlds drawn
from the scenario's uncertain parameters — the same worlds for every mix (common random numbers,
so differences between mixes are not sampling noise) — and scored by the mean of the outcome
(``expected``) or its conditional value at risk (``cvar95``: the mean of the worst 5% of worlds,
at least one). The frontier is the mixes no cheaper mix beats.

Why a sample-average search over the fast engine and not a two-stage stochastic LP: the engine's
inventories, hoarding, prices and sourcing are non-linear month-to-month dynamics; an LP would
have to linearise them into a second model of the same market, while the sample average over the
same engine scores every mix with the model every other answer here comes from. The grid is
exhaustive over the declared levels, so the best mix within a budget is exact for those worlds.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.scenario import Scenario, ScenarioError
from chokepoint.scenario.calibration import check_path, parameter_location, value_at, with_values
from chokepoint.sweeps.evaluate import as_field_values, concat, evaluate_draws, outcome_names
from chokepoint.sweeps.executors import Executor, run_tasks
from chokepoint.sweeps.samplers import sample
from chokepoint.yamlfile import Number, field_line, load_yaml_model

__all__ = ["MAX_MIXES", "Lever", "Portfolio", "PortfolioResult", "cvar", "load_portfolio", "portfolio"]

#: Most mixes a grid may have (each is run in every world).
MAX_MIXES = 2000
#: Tail of the worlds CVaR averages.
CVAR_TAIL = 0.05
#: Mixes × worlds per task (planned draws: each is a plan of its own).
DRAWS_PER_TASK = 8


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Lever(_Model):
    """One number of the added entries (``path`` within ``add``, e.g. ``stockpiles[0].stock_t``)
    with the ``levels`` it may take and its ``unit_cost_usd`` per unit of the level (``unit``);
    ``source`` says where the cost comes from (a publication, or ``ASSUMED: why``)."""

    name: str
    path: str
    levels: Annotated[list[Annotated[Number, Field(ge=0.0)]], Field(min_length=2, max_length=50)]
    unit: str = ""
    unit_cost_usd: Annotated[Number, Field(ge=0.0, le=1e15)]
    source: Annotated[str, Field(min_length=1)]

    @model_validator(mode="after")
    def _levels(self) -> Self:
        check_path(self.path)
        if sorted(set(self.levels)) != list(self.levels):
            raise ValueError(f"levels {self.levels} must rise strictly")
        return self


class Portfolio(_Model):
    """A portfolio file: entries ``add``-ed to the scenario's lists (``stockpiles``, ``projects``,
    ``recycling``, ``substitution``, ``offtakes``), the ``levers``, the ``outcome`` minimised (a
    sweep outcome, e.g. ``USA_shortfall_t``), the ``objective`` (``expected`` or ``cvar95``), and
    the ``worlds`` drawn (Latin hypercube, root ``seed``) from the scenario's uncertain parameters."""

    add: dict[Literal["stockpiles", "projects", "recycling", "substitution", "offtakes"], list[dict[str, Any]]] = {}
    levers: Annotated[list[Lever], Field(min_length=1, max_length=10)]
    outcome: str
    objective: Literal["expected", "cvar95"] = "cvar95"
    worlds: Annotated[int, Field(ge=2, le=10_000)] = 16
    seed: Annotated[int, Field(ge=0)] = 0


def _scenario_path(base: Scenario, path: str) -> str:
    """A lever's path within ``add`` as a path in the scenario with the entries appended."""
    root, index, *rest = parameter_location(path)
    if not isinstance(index, int):
        raise ValueError(f"lever path {path!r} must start with an added list entry, e.g. stockpiles[0].stock_t")
    tail = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest)
    return f"{root}[{len(getattr(base, str(root))) + index}]{tail}"


def load_portfolio(path: Path | str, scenario: Scenario) -> tuple[Portfolio, Scenario, list[str]]:
    """Read the portfolio file at ``path`` for ``scenario``: the portfolio, the scenario with the
    entries added (each lever at its lowest level), and each lever's path in it. Any problem is one
    :class:`ScenarioError` line naming the file (and the line where it can)."""
    spec = load_yaml_model(path, Portfolio, ScenarioError, "portfolio")
    name = Path(path).name

    def fail(message: str) -> ScenarioError:
        found = field_line(spec, message)
        return ScenarioError(f"{name}: {message}" + (f" (line {found[1]})" if found else ""))

    data = scenario.model_dump(exclude={"calibration"})
    for section, entries in spec.add.items():
        data[section] = [*data[section], *entries]
    try:
        paths = [_scenario_path(scenario, lever.path) for lever in spec.levers]
        for i, (lever, p) in enumerate(zip(spec.levers, paths, strict=True)):
            try:
                value = value_at(data, p)
            except KeyError:
                raise ValueError(f"levers[{i}].path: {lever.path} names nothing in add") from None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"levers[{i}].path: {lever.path} is {value!r}, not a number")
            for level in lever.levels:
                try:
                    Scenario.model_validate(with_values(data, {p: level}))
                except ValidationError as exc:
                    problem = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
                    raise ValueError(f"levers[{i}]: {lever.path} = {level} is not valid: {problem}") from None
        lowest_levels = {p: lever.levels[0] for p, lever in zip(paths, spec.levers, strict=True)}
        lowest = Scenario.model_validate(with_values(data, lowest_levels))
    except ValueError as exc:
        raise fail(str(exc)) from None
    if spec.outcome not in outcome_names(lowest):
        raise fail(
            f"outcome: {spec.outcome!r} is not a sweep outcome; outcomes are: {', '.join(outcome_names(lowest))}"
        )
    return spec, lowest, paths


def cvar(values: np.ndarray, tail: float = CVAR_TAIL) -> float:
    """The mean of the worst ``tail`` share of ``values`` (at least one value): CVaR at 1 − tail."""
    worst = np.sort(np.asarray(values, dtype=float))[::-1]
    return float(worst[: max(1, math.ceil(tail * len(worst)))].mean())


@dataclass(frozen=True)
class PortfolioResult:
    """``mixes``: one row per mix — each lever's level, ``cost_usd``, ``expected`` and ``cvar95``
    of the outcome and ``on_frontier``; ``outcomes``: every mix × world; and the portfolio."""

    portfolio: Portfolio
    mixes: pd.DataFrame
    outcomes: pd.DataFrame

    @property
    def frontier(self) -> pd.DataFrame:
        """The mixes no cheaper (or equally cheap) mix matches or beats, cheapest first."""
        return self.mixes[self.mixes["on_frontier"]].reset_index(drop=True)

    def best(self, budget_usd: float) -> pd.Series:
        """The mix with the lowest objective costing at most ``budget_usd``; of mixes as good (within
        rounding: 10⁻⁶ of the objective, or 10⁻⁶ absolute), the cheapest."""
        within = self.mixes[self.mixes["cost_usd"] <= budget_usd]
        if within.empty:
            cheapest = self.mixes["cost_usd"].min()
            raise ChokepointError(f"no mix costs USD {budget_usd:,.0f} or less; the cheapest costs USD {cheapest:,.0f}")
        score = within[self.portfolio.objective]
        as_good = within[score <= score.min() + 1e-6 * max(1.0, abs(score.min()))]
        return as_good.sort_values("cost_usd", kind="stable").iloc[0]

    def save(self, path: Path | str, scenario_name: str) -> Path:
        """Write ``mixes.csv``, ``outcomes.csv`` (every mix × world) and ``report.html`` into the folder ``path``."""
        from chokepoint.files import atomic_folder
        from chokepoint.report.sweeps import render_portfolio_report  # the edge, reached from the result

        with atomic_folder(Path(path), "portfolio") as tmp:
            self.mixes.to_csv(tmp / "mixes.csv", index=False)
            self.outcomes.to_csv(tmp / "outcomes.csv", index=False)
            (tmp / "report.html").write_text(render_portfolio_report(self, scenario_name), encoding="utf-8")
        return Path(path)


def portfolio(
    ds: Dataset,
    scenario: Scenario,
    spec: Portfolio,
    paths: list[str],
    executor: Executor | None = None,
    workers: int = 1,
    cluster: str | None = None,
) -> PortfolioResult:
    """Run every mix of ``spec``'s levers (``paths`` in ``scenario``, from :func:`load_portfolio`)
    in ``spec.worlds`` worlds of ``scenario``'s uncertain parameters and score each mix."""
    u = scenario.uncertainty
    if u is None or not u.parameters:
        raise ChokepointError(f"scenario {scenario.name}: declare uncertain parameters to draw worlds from")
    names = [lever.name for lever in spec.levers]
    mixes = pd.DataFrame(list(itertools.product(*(lever.levels for lever in spec.levers))), columns=names)
    if len(mixes) > MAX_MIXES:
        raise ChokepointError(f"{len(mixes):,} mixes of the levers' levels; at most {MAX_MIXES:,} (use fewer levels)")
    worlds = as_field_values(scenario, sample(u.parameters, spec.worlds, "lhs", spec.seed, u.correlations).values)
    # every mix in every world: mix-major rows, the lever columns under their scenario paths
    grid = mixes.rename(columns=dict(zip(names, paths, strict=True))).merge(worlds, how="cross")
    grid.index = pd.RangeIndex(len(grid), name="draw")
    tasks = [grid.iloc[lo : lo + DRAWS_PER_TASK] for lo in range(0, len(grid), DRAWS_PER_TASK)]
    outcomes = concat(run_tasks(evaluate_draws, (ds, scenario), tasks, executor, workers, cluster)).outcomes
    y = outcomes[spec.outcome].to_numpy().reshape(len(mixes), len(worlds))
    mixes.insert(0, "mix", np.arange(len(mixes)))
    mixes["cost_usd"] = sum(mixes[lv.name] * lv.unit_cost_usd for lv in spec.levers)
    mixes["expected"] = y.mean(axis=1)
    mixes["cvar95"] = [cvar(row) for row in y]
    mixes = mixes.sort_values(["cost_usd", spec.objective], kind="stable").reset_index(drop=True)
    score = mixes[spec.objective]
    cheaper_best = score.cummin().shift(fill_value=np.inf)
    mixes["on_frontier"] = (cheaper_best - score) > 1e-9 * score.abs().clip(lower=1.0)  # strictly better
    long = outcomes.assign(mix=np.repeat(np.arange(len(y)), len(worlds)), world=np.tile(np.arange(len(worlds)), len(y)))
    return PortfolioResult(spec, mixes, long.reset_index(drop=True))
