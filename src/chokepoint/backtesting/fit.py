"""The one calibration of the shipped scenarios: a bounded optimiser over the parameters a
scenario's ``calibration:`` block declares, minimising the mean absolute log error of its
``calibrate`` observations. ``validate`` observations are removed before the first trial, so no
trial can read them.

Powell's method (``scipy.optimize.minimize(method="Powell")`` with bounds): derivative-free, so
the kink of |ln ratio| at a perfect fit and the engine's piecewise-linear response (a licence share
that stops binding) do not mislead it as they mislead finite-difference gradients (L-BFGS-B); and
for the one to a few parameters a scenario fits, its line searches along each coordinate need tens
of simulations where ``differential_evolution`` needs hundreds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import Bounds, minimize

from chokepoint.backtesting.score import observations_table
from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.scenario import Scenario, check_scenario
from chokepoint.scenario.calibration import value_at, with_values
from chokepoint.simulation import Baseline
from chokepoint.simulation.engine import Mode

__all__ = ["DECIMALS", "Fit", "Objective", "fit_scenario"]

Array = npt.NDArray[np.float64]

#: Fitted values are rounded to this many decimals (as the files write them) and scored rounded,
#: so the objective reported is the one the written file gives.
DECIMALS = 4


@dataclass(frozen=True)
class Fit:
    """A calibration's result: the ``scenario`` with the fitted values (every observation kept),
    ``parameters`` (path, lower, upper, shipped, fitted), the objective at the shipped and at the
    fitted values, and the number of simulations run."""

    scenario: Scenario
    parameters: pd.DataFrame
    objective_shipped: float
    objective_fitted: float
    evaluations: int

    @property
    def values(self) -> dict[str, float]:
        """Fitted value by parameter path."""
        return dict(zip(self.parameters["path"], self.parameters["fitted"], strict=True))


class Objective:
    """The calibration objective of a scenario on a dataset, as a function of its declared
    parameters' values ``x`` (in the block's order): the mean absolute log error of the
    ``calibrate`` observations. The ``validate`` observations are deleted from the scenario here,
    before any trial, so no trial can read them. Trials are memoised; ``seen`` holds them all
    (an unscorable trial counts as +inf). ``start``, ``lower`` and ``upper`` are the scenario's
    own values and the bounds."""

    def __init__(self, scenario: Scenario, ds: Dataset, mode: Mode = "fast") -> None:
        if scenario.calibration is None:
            raise ChokepointError(f"{scenario.name}: no calibration: block, so nothing to fit")
        parameters = scenario.calibration.parameters
        base: dict[str, Any] = scenario.model_dump(exclude={"calibration", "uncertainty"})
        base["observed"] = [o for o in base["observed"] if o["role"] == "calibrate"]
        self._base, self._ds, self._mode = base, ds, mode
        self.paths = [p.path for p in parameters]
        self.lower = np.array([p.lower for p in parameters])
        self.upper = np.array([p.upper for p in parameters])
        self.start = np.array([value_at(base, path) for path in self.paths], dtype=float)
        self.seen: dict[tuple[float, ...], float] = {}
        self._baselines: dict[tuple[object, ...], Baseline] = {}  # rebuilt only if a trial moves its inputs

    def __call__(self, x: npt.ArrayLike) -> float:
        key = tuple(float(v) for v in np.clip(np.asarray(x, dtype=float), self.lower, self.upper))
        if key not in self.seen:
            trial = Scenario.model_validate(with_values(self._base, dict(zip(self.paths, key, strict=True))))
            table = observations_table(self._ds, trial, trial.observed, self._mode, self._baselines)
            error = float(table["abs_log_error"].mean())
            self.seen[key] = error if np.isfinite(error) else np.inf  # unscorable: never the best trial
        return self.seen[key]

    def best(self) -> Array:
        """The best trial so far."""
        return np.array(min(self.seen, key=self.seen.__getitem__))


def fit_scenario(
    scenario: Scenario, ds: Dataset, mode: Mode = "fast", max_evaluations: int | None = None, origin: str = "scenario"
) -> Fit:
    """Fit ``scenario``'s declared calibration parameters to its ``calibrate`` observations on ``ds``.

    Starts from the scenario's own values; at most ``max_evaluations`` simulations (default the
    block's ``max_evaluations``). Deterministic. Raises :class:`ChokepointError` for a scenario
    without a ``calibration:`` block.
    """
    if scenario.calibration is None:
        raise ChokepointError(f"{origin}: no calibration: block, so nothing to fit; declare its parameters first")
    check_scenario(scenario, ds, origin=origin)
    objective = Objective(scenario, ds, mode)
    lower, upper, shipped = objective.lower, objective.upper, objective.start
    at_shipped = objective(shipped)
    if not np.isfinite(at_shipped):
        raise ChokepointError(
            f"{origin}: a calibrate observation has no simulated value (an exporter with no flows in the "
            "first month, or an importer with none in the window); check its region and commodity"
        )
    minimize(
        objective, shipped, method="Powell", bounds=Bounds(lower, upper),
        options={"maxfev": max_evaluations or scenario.calibration.max_evaluations, "xtol": 10.0**-DECIMALS,
                 "ftol": 1e-6},
    )  # fmt: skip
    # the best trial, not the optimiser's last point: a search cut short by the budget keeps its best
    fitted = np.clip(np.round(objective.best(), DECIMALS), lower, upper)
    best = objective(fitted)
    if best > at_shipped:  # rounding or an early stop never makes the file worse than it was
        fitted, best = shipped, at_shipped
    values = dict(zip(objective.paths, (float(v) for v in fitted), strict=True))
    parameters = pd.DataFrame(
        {"path": objective.paths, "lower": lower, "upper": upper, "shipped": shipped, "fitted": fitted}
    )
    return Fit(
        scenario=Scenario.model_validate(with_values(scenario.model_dump(), values)),
        parameters=parameters,
        objective_shipped=at_shipped,
        objective_fitted=best,
        evaluations=len(objective.seen),
    )
