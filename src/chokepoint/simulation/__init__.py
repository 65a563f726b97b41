"""Time-stepped shock simulation: baseline calibration, allocation per period, responses between."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import ValidationError

from chokepoint import __version__
from chokepoint.baseyear import reconcile
from chokepoint.baseyear.residuals import worst_table
from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.foresight import projected_dataset
from chokepoint.scenario import Scenario, ScenarioError, Uncertainty, check_scenario
from chokepoint.scenario.groups import resolve_groups
from chokepoint.simulation.baseline import Baseline, build_baseline
from chokepoint.simulation.engine import Mode, Trajectory, run_fast, run_scenario
from chokepoint.simulation.plan import Plan, build_plan
from chokepoint.simulation.run import Provenance, Run, compare_runs, scenario_sha256
from chokepoint.simulation.tables import TABLES, TableSpec, conform
from chokepoint.simulation.tabulate import run_tables
from chokepoint.simulation.uncertainty import check_monte_carlo, run_uncertainty

__all__ = [
    "TABLES",
    "Baseline",
    "Plan",
    "Provenance",
    "Run",
    "TableSpec",
    "Trajectory",
    "build_baseline",
    "build_plan",
    "compare_runs",
    "run_fast",
    "run_scenario",
    "scenario_baseline",
    "simulate",
]


def _uncertainty(scenario: Scenario, draws: int | None) -> Uncertainty | None:
    """The Monte Carlo settings: the scenario's block, its count overridden by ``draws``."""
    if scenario.uncertainty is None and draws is None:
        return None
    uncertainty = scenario.uncertainty or Uncertainty()
    if draws is None:
        return uncertainty
    try:
        return Uncertainty.model_validate({**uncertainty.model_dump(), "draws": draws})
    except ValidationError as exc:
        raise ScenarioError(f"draws: {draws}: {exc.errors()[0]['msg']}") from None


def scenario_dataset(ds: Dataset, scenario: Scenario) -> Dataset:
    """The dataset ``scenario`` runs on: ``ds``, or with ``projected_from`` its last year with data
    carried to the scenario's base year under the named outlook (docs/outlook.md)."""
    projection = scenario.projected_from
    if projection is None:
        return ds
    return projected_dataset(
        ds,
        projection.outlook,
        scenario.base_year,
        from_year=projection.from_year,
        controller=projection.controller,
        utilisation=scenario.capacity_utilisation,
    )


def scenario_baseline(ds: Dataset, scenario: Scenario) -> Baseline:
    """The baseline ``scenario`` runs from: its material and base year at its capacity utilisation."""
    # Regions where the scenario builds capacity (a project, an entrant) or trades under an offtake
    # need a node even when the base year has no data for them (Australia's Mount Weld before 2011).
    new_regions = {p.region for p in scenario.projects} | {o.seller for o in scenario.offtakes}
    new_regions |= {o.buyer for o in scenario.offtakes} | {e.region for e in scenario.supply_response.entrants}
    return build_baseline(
        ds, scenario.material, scenario.base_year, scenario.capacity_utilisation, extra_regions=new_regions
    )


def simulate(
    ds: Dataset,
    scenario: Scenario,
    mode: Mode = "fast",
    origin: str = "scenario",
    on_period: Callable[[int], None] | None = None,
    draws: int | None = None,
) -> Run:
    """Run ``scenario`` on ``ds``: calibrate the baseline, plan the shocks, step month by month,
    and tabulate every registered table (see :data:`TABLES`) with the run's provenance.

    ``mode``: ``fast`` (vectorised pro-rata with rerouting) or ``lp`` (HiGHS, one LP a month).
    Deterministic: the same dataset and scenario give the same results. ``on_period`` is called
    after each simulated month (progress reporting). With the scenario's ``uncertainty`` block or
    ``draws`` (which overrides its count), Monte Carlo percentiles fill the ``uncertainty_*``
    tables (fast mode, seeded; in lp mode they stay empty and ``Run.messages`` says why).
    ``origin`` names the scenario's source in error messages.
    """
    ds = scenario_dataset(ds, scenario)  # a future base year is projected from an outlook
    check_scenario(scenario, ds, origin=origin)
    if mode not in ("fast", "lp"):
        raise ChokepointError(f"unknown allocation mode {mode!r}; use fast or lp")
    resolved = resolve_groups(scenario, ds)  # product-group codes → member commodities
    baseline = scenario_baseline(ds, resolved)
    plan = build_plan(baseline, resolved, ds)
    uncertainty = _uncertainty(scenario, draws)
    if uncertainty is not None and mode == "fast":
        check_monte_carlo(baseline, plan, uncertainty)  # refuse before any month runs
    trajectory = run_scenario(baseline, plan, resolved, mode, on_period)
    tables = run_tables(baseline, plan, trajectory, resolved)
    tables["base_year_fit"] = conform(
        "base_year_fit", worst_table(reconcile(ds, scenario.material, scenario.base_year))
    )
    messages: tuple[str, ...] = ()
    ran = 0
    if uncertainty is not None and mode == "fast":
        tables |= {name: conform(name, t) for name, t in run_uncertainty(baseline, plan, resolved, uncertainty).items()}
        ran = uncertainty.draws
    else:
        if uncertainty is not None:  # fast-mode bands would not surround the LP path
            messages = ("uncertainty skipped: Monte Carlo draws run in fast mode only",)
        tables |= {
            name: TABLES[name].empty() for name in ("uncertainty_world", "uncertainty_prices", "uncertainty_peaks")
        }
    provenance = Provenance(
        dataset_fingerprint=ds.fingerprint,
        chokepoint_version=__version__,
        scenario_sha256=scenario_sha256(scenario),
        mode=mode,
        seed=(uncertainty or Uncertainty()).seed,
        draws=ran,
        created=datetime.now(UTC).isoformat(timespec="seconds"),  # the run's only clock read
    )
    return Run(scenario=scenario, tables=tables, provenance=provenance, messages=messages)
