"""The backtest discipline: every observation of a scenario is ``calibrate`` or ``validate``; a
fit (:func:`fit_scenario`) moves only the parameters the scenario declares and reads only its
``calibrate`` observations; :func:`backtest` scores each scenario per observation and, per role,
by the mean absolute log error |ln(simulated / observed)|.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from chokepoint.backtesting.fit import DECIMALS, Fit, fit_scenario
from chokepoint.backtesting.score import ROLES, SCORECARD_COLUMNS, observations_table, scorecard, scores
from chokepoint.backtesting.write import write_fitted
from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.scenario import Scenario, check_scenario, load_scenario
from chokepoint.simulation.engine import Mode

__all__ = [
    "DECIMALS",
    "ROLES",
    "SCORECARD_COLUMNS",
    "Backtest",
    "Fit",
    "backtest",
    "fit_scenario",
    "observations_table",
    "scorecard",
    "scores",
    "shipped_scenario_files",
    "shipped_scenarios",
    "write_fitted",
]

#: Where the shipped scenarios live: ``examples/scenarios`` of the source tree this package is in
#: (an editable install or a clone), else of the working directory.
_SHIPPED = (Path(__file__).resolve().parents[3] / "examples" / "scenarios", Path("examples") / "scenarios")


def shipped_scenario_files() -> list[Path]:
    """Every shipped scenario file, sorted by name."""
    folder = next((f for f in _SHIPPED if f.is_dir()), None)
    if folder is None:
        raise ChokepointError("no examples/scenarios folder here or beside the package; name the scenario files")
    return sorted(folder.glob("*.yaml"))


def shipped_scenarios() -> list[Path]:
    """The shipped scenario files that cite observations, sorted by name."""
    return [p for p in shipped_scenario_files() if load_scenario(p).observed]


@dataclass(frozen=True)
class Backtest:
    """``scorecard``: one row per observation (:data:`SCORECARD_COLUMNS`); ``scores``: per
    scenario and role the observations and their mean absolute log error; ``fits``: the
    :class:`Fit` of each scenario fitted (by scenario name; empty unless asked for)."""

    scorecard: pd.DataFrame
    scores: pd.DataFrame
    fits: dict[str, Fit]

    @property
    def parameters(self) -> pd.DataFrame:
        """Every fitted parameter: scenario, path, bounds, shipped and fitted value."""
        frames = [f.parameters.assign(scenario=name) for name, f in self.fits.items()]
        columns = ["scenario", "path", "lower", "upper", "shipped", "fitted"]
        return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def backtest(
    scenarios: Sequence[Path | str | Scenario] | None = None,
    dataset: Dataset | Callable[[list[str]], Dataset] | None = None,
    mode: Mode = "fast",
    fit: bool = False,
) -> Backtest:
    """Score ``scenarios`` (files or loaded scenarios; default :func:`shipped_scenarios`) on
    ``dataset``: one for all, or a function of a scenario's ``datasets`` (default: each scenario's
    ``datasets``, loaded from the local store). With ``fit``, each scenario with
    a ``calibration:`` block is fitted first and scored at its fitted values (the files are not
    changed: :func:`write_fitted` does that).

    >>> import chokepoint as cp
    >>> cp.backtest().scores  # doctest: +SKIP
    """
    from chokepoint import load

    cards, fits = [], {}
    for item in shipped_scenarios() if scenarios is None else scenarios:
        scenario = item if isinstance(item, Scenario) else load_scenario(item)
        ds = dataset if isinstance(dataset, Dataset) else (dataset or load)(scenario.datasets)
        origin = scenario.name if isinstance(item, Scenario) else Path(item).name
        check_scenario(scenario, ds, origin=origin)
        if fit and scenario.calibration is not None:
            fits[scenario.name] = fit_scenario(scenario, ds, mode, origin=origin)
            scenario = fits[scenario.name].scenario
        cards.append(scorecard(scenario.name, observations_table(ds, scenario, scenario.observed, mode)))
    card = pd.concat(cards, ignore_index=True) if cards else pd.DataFrame(columns=SCORECARD_COLUMNS)
    return Backtest(scorecard=card, scores=scores(card), fits=fits)
