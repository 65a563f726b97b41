"""The notebook-facing simulation entry point: a scenario in, a :class:`~chokepoint.simulation.Run` out."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chokepoint.dataset import Dataset
    from chokepoint.scenario import Scenario
    from chokepoint.simulation import Run
    from chokepoint.simulation.engine import Mode

__all__ = ["simulate"]


def simulate(
    scenario: Scenario,
    dataset: Dataset | None = None,
    mode: Mode = "fast",
    draws: int | None = None,
    *,
    on_period: Callable[[int], None] | None = None,
) -> Run:
    """Run ``scenario`` on ``dataset`` (default: the scenario's ``datasets``, loaded from the local
    store) in ``mode`` (``fast`` or ``lp``), with ``draws`` Monte Carlo draws if given.

    >>> import chokepoint as cp
    >>> run = cp.simulate(cp.Scenario.from_yaml("examples/scenarios/china-2025-licensing.yaml"))  # doctest: +SKIP
    >>> run.tables["shortfall"].head()  # doctest: +SKIP
    """
    from chokepoint import load
    from chokepoint.simulation import simulate as run_simulation

    ds = load(scenario.datasets) if dataset is None else dataset
    return run_simulation(ds, scenario, mode=mode, on_period=on_period, draws=draws)
