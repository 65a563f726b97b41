"""The notebook-facing simulation entry point: a scenario in, a :class:`~chokepoint.simulation.Run` out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chokepoint.baseyear.residuals import ResidualReport
    from chokepoint.dataset import Dataset
    from chokepoint.scenario import Scenario
    from chokepoint.simulation import Run
    from chokepoint.simulation.engine import Mode
    from chokepoint.sweeps import Sweep
    from chokepoint.sweeps.executors import Executor
    from chokepoint.sweeps.samplers import Method

__all__ = ["baseline_residuals", "simulate", "sweep"]


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


def sweep(
    scenario: Scenario,
    dataset: Dataset | None = None,
    method: Method = "lhs",
    samples: int | None = None,
    *,
    parameters: Path | str | None = None,
    seed: int | None = None,
    executor: Executor | None = None,
    workers: int = 1,
    cluster: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Sweep:
    """Sample ``scenario``'s uncertain parameters (its ``uncertainty.parameters``, or the file
    ``parameters``) by ``method``, run every draw on ``dataset`` (default: the scenario's datasets
    from the local store) and return the :class:`~chokepoint.sweeps.Sweep` (docs/sweeps.md).

    >>> s = cp.sweep(cp.Scenario.from_yaml("examples/scenarios/gallium-2023.yaml"),
    ...              parameters="examples/sweeps/gallium-2023.yaml", samples=64)  # doctest: +SKIP
    >>> s.share("USA_peak_shortfall_pct > 90"), s.prim("USA_peak_shortfall_pct > 90").limits  # doctest: +SKIP
    """
    from chokepoint import load
    from chokepoint.sweeps import sweep as run_sweep
    from chokepoint.sweeps import with_parameters

    if parameters is not None:
        scenario = with_parameters(scenario, parameters)
    ds = load(scenario.datasets) if dataset is None else dataset
    return run_sweep(ds, scenario, method, samples, seed, executor, workers, cluster, on_progress)


def baseline_residuals(
    year: int = 2024, material: str = "rare_earths", dataset: Dataset | None = None
) -> ResidualReport:
    """How the reconciled base year of ``material`` in ``year`` fits every figure it was fitted
    to: ``.table`` (one row per target: source, reported, reconciled, residual, weight) and
    ``.summary`` (share within 5% and 10%, the worst ten with a reason). ``dataset`` defaults to
    the shipped one, from the local store.

    >>> import chokepoint as cp
    >>> cp.baseline_residuals(year=2024).summary.within_10pct  # doctest: +SKIP
    """
    from chokepoint import load
    from chokepoint.baseyear import reconcile
    from chokepoint.baseyear.residuals import residual_report

    ds = load() if dataset is None else dataset
    return residual_report(reconcile(ds, material, year))
