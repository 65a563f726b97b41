"""Evaluate a design's draws: each draw a scenario, run in fast mode, reduced to outcomes.

Draws that differ only in engine parameters (:data:`~chokepoint.simulation.engine.RATE_PATHS`:
sourcing, price response, inventories) share one plan and run as one batch along the engine's
draw axis; a draw that changes anything else (an approval share, a stockpile, a ramp) is planned
on its own, and draws with the same planned values still share their batch. The outcomes of a
draw do not depend on which other draws share its task, so any executor gives the same numbers.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import ValidationError

from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.scenario import Focus, Scenario, check_scenario
from chokepoint.scenario.calibration import value_at, with_values
from chokepoint.scenario.groups import resolve_groups
from chokepoint.simulation import scenario_baseline
from chokepoint.simulation.baseline import Baseline
from chokepoint.simulation.engine import RATE_PATHS, DrawSummary, batch_size, engine_rates, run_draws
from chokepoint.simulation.plan import build_plan

__all__ = [
    "Evaluated",
    "as_field_values",
    "concat",
    "evaluate_draws",
    "focus_label",
    "measure",
    "outcome_names",
    "path_names",
]

Array = npt.NDArray[np.float64]
_RATE_OF_PATH = {path: name for name, path in RATE_PATHS.items()}


def focus_label(focus: Focus) -> str:
    """``USA`` or ``USA_defence``: how a focus names its outcomes."""
    return focus.region if focus.sector is None else f"{focus.region}_{focus.sector}"


def as_field_values(scenario: Scenario, values: pd.DataFrame) -> pd.DataFrame:
    """``values`` (a column per parameter path) with the columns of whole-number fields (months,
    years) rounded to whole numbers, as the scenario will take them."""
    dump = scenario.model_dump()
    whole = [path for path in values.columns if isinstance(value_at(dump, path), int)]
    out = values.copy()
    out[whole] = out[whole].round().astype(int)
    return out


def outcome_names(scenario: Scenario) -> list[str]:
    """The outcome columns of a sweep of ``scenario``: the world's, then each focus's."""
    names = ["world_peak_shortfall_pct", "world_shortfall_t", "peak_price_index"]
    for f in scenario.focus:
        names += [f"{focus_label(f)}_peak_shortfall_pct", f"{focus_label(f)}_shortfall_t"]
    return names


def path_names(scenario: Scenario) -> list[str]:
    """The monthly paths a sweep keeps of every draw (its fan charts): the world's shortfall, each
    focus's, and the highest price index of any commodity."""
    return ["world_shortfall_pct", *(f"{focus_label(f)}_shortfall_pct" for f in scenario.focus), "max_price_index"]


class Evaluated(NamedTuple):
    """What a task returns: the ``outcomes`` per draw (index ``draw``) and the draws' monthly
    ``paths`` (index ``draw``; columns ``path`` × ``period``)."""

    outcomes: pd.DataFrame
    paths: pd.DataFrame


def concat(parts: list[Evaluated]) -> Evaluated:
    """Tasks' results as one, in draw order."""
    return Evaluated(*(pd.concat(frames).sort_index() for frames in zip(*parts, strict=True)))


def measure(
    summary: DrawSummary, baseline: Baseline, focus: list[Focus], index: pd.Index, periods: list[str]
) -> Evaluated:
    """Per draw (:class:`Evaluated`): each month's shortfall of the world and of each focus
    region (or region and sector; a region without a node has none) as a share of that month's
    final demand, and the highest price index of any commodity that month; the outcomes are
    their worst month, the shortfall summed over the horizon (t, every commodity of final demand)
    and the highest price index of any month."""
    demand, short = summary.demand_t, summary.shortfall_t  # (B, T, R, S)
    regions, sectors = list(baseline.net.regions), list(baseline.sectors)
    tonnes = {"world": (demand.sum(axis=(2, 3)), short.sum(axis=(2, 3)))}  # (B, T) each
    for f in focus:
        r = [regions.index(f.region)] if f.region in regions else []
        s = [sectors.index(f.sector)] if f.sector in sectors else ([] if f.sector else list(range(len(sectors))))
        tonnes[focus_label(f)] = (
            demand[:, :, r][:, :, :, s].sum(axis=(2, 3)),
            short[:, :, r][:, :, :, s].sum(axis=(2, 3)),
        )
    monthly, columns = {}, {}
    for label, (d, s) in tonnes.items():
        share = 100.0 * np.divide(s, d, out=np.zeros_like(s), where=d > 0)
        monthly[f"{label}_shortfall_pct"] = share
        columns[f"{label}_peak_shortfall_pct"], columns[f"{label}_shortfall_t"] = share.max(axis=1), s.sum(axis=1)
    monthly["max_price_index"] = np.asarray(summary.price_index).max(axis=2)
    columns["peak_price_index"] = monthly["max_price_index"].max(axis=1)
    order = list(columns)
    order.insert(2, order.pop())  # the world's, the price, then each focus's: outcome_names
    paths = pd.DataFrame(
        np.concatenate(list(monthly.values()), axis=1),
        index=index,
        columns=pd.MultiIndex.from_product([list(monthly), periods], names=["path", "period"]),
    )
    return Evaluated(pd.DataFrame(columns, index=index)[order], paths)


def evaluate_draws(ds: Dataset, scenario: Scenario, values: pd.DataFrame) -> Evaluated:
    """The outcomes and monthly paths (:func:`measure`) of the draws ``values`` (index ``draw``, a
    column per parameter path) of ``scenario`` on ``ds``; a draw the scenario checks refuse is an
    error naming the draw."""
    data = scenario.model_dump(exclude={"uncertainty", "calibration"})
    rates = [c for c in values.columns if c in _RATE_OF_PATH]
    planned = [c for c in values.columns if c not in _RATE_OF_PATH]
    groups = values.groupby(planned, sort=False) if planned else [((), values)]
    baselines: dict[tuple[int, float], Baseline] = {}
    parts = []
    for key, group in groups:
        keys = key if isinstance(key, tuple) else (key,)
        # plain Python numbers: the strict scenario models refuse numpy's
        drawn_values: dict[str, float] = {path: np.asarray(v).item() for path, v in zip(planned, keys, strict=True)}
        try:
            drawn = Scenario.model_validate(with_values(data, drawn_values))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ChokepointError(f"draw {group.index[0]} ({drawn_values}): {err['msg']}") from None
        check_scenario(drawn, ds, origin=f"draw {group.index[0]}")
        resolved = resolve_groups(drawn, ds)
        which = (resolved.base_year, resolved.capacity_utilisation)
        if which not in baselines:
            baselines[which] = scenario_baseline(ds, resolved)
        baseline = baselines[which]
        plan = build_plan(baseline, resolved, ds)
        fixed = engine_rates(resolved)
        size = batch_size(baseline, plan)
        for lo in range(0, len(group), size):
            part = group.iloc[lo : lo + size]
            drawn_rates: dict[str, Any] = fixed | {_RATE_OF_PATH[c]: part[c].to_numpy(dtype=float) for c in rates}
            summary = run_draws(baseline, plan, batch=len(part), **drawn_rates)
            periods = [str(p) for p in plan.periods]
            parts.append(measure(summary, baseline, list(resolved.focus), part.index, periods))
    return concat(parts)
