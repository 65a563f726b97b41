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
import pandas as pd
from scipy.optimize import Bounds, minimize

from chokepoint.backtesting.score import observations_table
from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.scenario import Scenario, check_scenario
from chokepoint.scenario.calibration import value_at, with_values
from chokepoint.simulation import Baseline
from chokepoint.simulation.engine import Mode

__all__ = ["DECIMALS", "Fit", "fit_scenario"]

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


def fit_scenario(
    scenario: Scenario, ds: Dataset, mode: Mode = "fast", max_evaluations: int | None = None, origin: str = "scenario"
) -> Fit:
    """Fit ``scenario``'s declared calibration parameters to its ``calibrate`` observations on ``ds``.

    Starts from the scenario's own values; at most ``max_evaluations`` simulations (default the
    block's ``max_evaluations``). Deterministic. Raises :class:`ChokepointError` for a scenario
    without a ``calibration:`` block.
    """
    calibration = scenario.calibration
    if calibration is None:
        raise ChokepointError(f"{origin}: no calibration: block, so nothing to fit; declare its parameters first")
    check_scenario(scenario, ds, origin=origin)
    # Only calibrate observations survive into the trials: validate ones cannot reach the objective.
    trial_base: dict[str, Any] = scenario.model_dump(mode="json", exclude={"calibration", "uncertainty"})
    trial_base["observed"] = [o for o in trial_base["observed"] if o["role"] == "calibrate"]
    paths = [p.path for p in calibration.parameters]
    lower = np.array([p.lower for p in calibration.parameters])
    upper = np.array([p.upper for p in calibration.parameters])
    shipped = np.array([value_at(trial_base, path) for path in paths], dtype=float)
    seen: dict[tuple[float, ...], float] = {}
    baselines: dict[tuple[object, ...], Baseline] = {}  # rebuilt only if a trial moves its inputs

    def objective(x: np.ndarray) -> float:
        key = tuple(float(v) for v in np.clip(x, lower, upper))
        if key not in seen:
            trial = Scenario.model_validate(with_values(trial_base, dict(zip(paths, key, strict=True))))
            error = float(observations_table(ds, trial, trial.observed, mode, baselines)["abs_log_error"].mean())
            seen[key] = error if np.isfinite(error) else np.inf  # unscorable: never the best trial
        return seen[key]

    at_shipped = objective(shipped)
    if not np.isfinite(at_shipped):
        raise ChokepointError(
            f"{origin}: a calibrate observation has no simulated value (an exporter with no flows in the "
            "first month, or an importer with none in the window); check its region and commodity"
        )
    budget = max_evaluations or calibration.max_evaluations
    minimize(
        objective, shipped, method="Powell", bounds=Bounds(lower, upper),
        options={"maxfev": budget, "xtol": 10.0**-DECIMALS, "ftol": 1e-6},
    )  # fmt: skip
    # the best trial, not the optimiser's last point: a search cut short by the budget keeps its best
    fitted = np.clip(np.round(min(seen, key=seen.__getitem__), DECIMALS), lower, upper)
    best = objective(fitted)
    if best > at_shipped:  # rounding or an early stop never makes the file worse than it was
        fitted, best = shipped, at_shipped
    values = dict(zip(paths, (float(v) for v in fitted), strict=True))
    full = scenario.model_dump(mode="json")
    parameters = pd.DataFrame({"path": paths, "lower": lower, "upper": upper, "shipped": shipped, "fitted": fitted})
    return Fit(
        scenario=Scenario.model_validate(with_values(full, values)),
        parameters=parameters,
        objective_shipped=at_shipped,
        objective_fitted=best,
        evaluations=len(seen),
    )
