"""The outlook: demand from technology, supply from the pipeline, and what follows, year by year.

:func:`outlook` composes the parts into one :class:`Outlook` of tidy tables: the bottom-up demand
(:mod:`.demand`), the pipeline (:mod:`.pipeline`), the balance and concentration path
(:mod:`.balance`), each importer's traced dependence on the controller on the projected network
of chosen years (:mod:`.projection`), and the ranking of pressure points (:mod:`.pressure`).
:func:`projected_dataset` is the one projected year a shock scenario runs on
(``projected_from`` in a scenario file).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.foresight.balance import balance, concentration_path, iea_supply_check, supply_path
from chokepoint.foresight.demand import iea_comparison, load_outlook_scenario, technology_demand
from chokepoint.foresight.pipeline import Pipeline, pipeline
from chokepoint.foresight.pressure import SCENARIOS, pressure_inputs, pressure_points
from chokepoint.foresight.projection import base_output, controller_dependence, pipeline_output, project_dataset
from chokepoint.foresight.scenario import OutlookScenario

__all__ = ["DEPENDENT_REGIONS", "Outlook", "demand_growth", "outlook", "projected_dataset"]

#: Importers whose traced dependence the outlook follows by default.
DEPENDENT_REGIONS = ("USA", "JPN", "DEU", "KOR", "EU27")
#: The products it follows them for: the magnets of EVs, wind and defence (Dy/Tb grades) and the rest.
DEPENDENT_PRODUCTS = ("ndfeb_sintered_hre", "ndfeb_sintered")


@dataclass(frozen=True)
class Outlook:
    """One outlook scenario's tables, ``as_of`` (the base year) to ``to`` (module docs)."""

    scenario: str
    to: int
    as_of: int
    dataset: str
    fingerprint: str
    demand: pd.DataFrame
    balance: pd.DataFrame
    supply: pd.DataFrame
    concentration: pd.DataFrame
    dependence: pd.DataFrame
    pressure: pd.DataFrame
    top_five: pd.DataFrame
    pipeline: Pipeline
    iea: pd.DataFrame
    supply_check: pd.DataFrame
    weights: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name (what ``chokepoint outlook --out`` writes)."""
        return {
            "demand": self.demand,
            "balance": self.balance,
            "supply": self.supply,
            "concentration": self.concentration,
            "dependence": self.dependence,
            "pressure": self.pressure,
            "top_five": self.top_five,
            "weights": self.weights,
            "projects": self.pipeline.projects,
            "capacity": self.pipeline.capacity,
            "iea": self.iea,
            "supply_check": self.supply_check,
        }


def _scenario(scenario: str | Path | OutlookScenario) -> OutlookScenario:
    return scenario if isinstance(scenario, OutlookScenario) else load_outlook_scenario(scenario)


def demand_growth(demand: pd.DataFrame, base_year: int) -> tuple[pd.Series, pd.DataFrame]:
    """World demand ÷ the base year's, by year, and the same per driver (year × driver)."""
    by_driver = demand.pivot_table(index="year", columns="driver", values="demand_t", aggfunc="sum")
    if base_year not in by_driver.index:
        raise ChokepointError(f"outlook: demand has no row for the base year {base_year}")
    total = by_driver.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        drivers = by_driver / by_driver.loc[base_year]
    return (total / total.loc[base_year]).rename("demand_growth"), drivers.replace([np.inf], np.nan)


def _sector_growth(ds: Dataset, scenario: OutlookScenario, drivers: pd.DataFrame, year: int) -> dict[str, float]:
    """Each dataset sector's activity growth to ``year``: that of the driver naming it
    (``drivers.<name>.sector``); a sector no driver names grows with world demand."""
    known = set(ds["sectors"]["sector_id"])
    growth = {}
    for name, driver in scenario.drivers.items():
        if driver.sector is None:
            continue
        if driver.sector not in known:
            raise ChokepointError(
                f"outlook {scenario.name}: field drivers.{name}.sector: unknown sector {driver.sector!r}; "
                f"sectors: {', '.join(sorted(known))}"
            )
        value = float(drivers[name].to_numpy()[drivers.index.get_loc(year)])
        if np.isfinite(value) and value > 0:
            growth[driver.sector] = value
    return growth


def projected_dataset(
    ds: Dataset,
    scenario: str | Path | OutlookScenario,
    year: int,
    from_year: int = 2024,
    controller: str = "CHN",
    utilisation: float = 0.85,
) -> Dataset:
    """``ds`` with its ``from_year`` carried forward to ``year`` under the outlook ``scenario``
    (:func:`chokepoint.foresight.projection.project_dataset`; the pipeline's expected additions)."""
    outlook_scenario = _scenario(scenario)
    demand = technology_demand(outlook_scenario, range(from_year, year + 1))
    total, drivers = demand_growth(demand, from_year)
    pipe = pipeline(ds, to=year, as_of=from_year)
    added = pipeline_output(ds, pipe, base_output(ds, from_year), utilisation, controller)
    return _projected(ds, outlook_scenario, total, drivers, added, year, from_year, controller)


def _projected(
    ds: Dataset,
    scenario: OutlookScenario,
    total: pd.Series,
    drivers: pd.DataFrame,
    added: pd.DataFrame,
    year: int,
    base_year: int,
    controller: str,
) -> Dataset:
    """``ds`` projected to ``year`` from the demand growth (world, per driver) and the additions."""
    return project_dataset(
        ds,
        year,
        demand_growth=float(total.loc[year]),
        sector_growth=_sector_growth(ds, scenario, drivers, year),
        added_t=added[added["year"] == year],
        base_year=base_year,
        controller=controller,
        label=scenario.name,
    )


def outlook(
    ds: Dataset,
    scenario: str | Path | OutlookScenario = "STEPS",
    to: int = 2050,
    *,
    draws: int = 2_000,
    seed: int = 0,
    dependence_years: Sequence[int] | None = None,
    regions: Sequence[str] = DEPENDENT_REGIONS,
    products: Sequence[str] = DEPENDENT_PRODUCTS,
    utilisation: float = 0.85,
    controller: str = "CHN",
    ramp_slowdown: float = 1.0,
    weights: Mapping[str, float] | None = None,
) -> Outlook:
    """The outlook of ``scenario`` (a shipped name or a file) to ``to`` (module docs).

    ``draws``/``seed``: the pipeline's Monte Carlo; ``dependence_years``: the projected networks
    on which ``regions``' traced dependence on ``controller`` for ``products`` is followed
    (default 2030, 2040, … and ``to``; each takes a base-year fit, ~4 s); ``utilisation`` of
    new capacity; ``ramp_slowdown`` > 1 slows ramps outside the controller (a technology-export
    ban); ``weights`` of the pressure-point drivers (:func:`~chokepoint.foresight.pressure_points`)."""
    outlook_scenario = _scenario(scenario)
    if outlook_scenario.name not in SCENARIOS:  # it picks IEA's growth for Ga, Ge, W, graphite …
        raise ChokepointError(
            f"outlook: field name: {outlook_scenario.name!r}; an outlook file is named after the IEA scenario "
            f"whose growth it takes for the materials without drivers: {', '.join(SCENARIOS)}"
        )
    as_of = int(outlook_scenario.base_year)
    if to <= as_of:
        raise ChokepointError(f"outlook: --to {to} must be after the base year {as_of}")
    years = np.arange(as_of, to + 1)
    if dependence_years is None:  # each decade's turn, and the last year
        dependence_years = sorted({*range(10 * (as_of // 10 + 1), to + 1, 10), to})
    unknown = sorted(set(dependence_years) - set(years[1:]))
    if unknown:
        raise ChokepointError(f"outlook: dependence year {unknown[0]} is not between {as_of + 1} and {to}")
    demand = technology_demand(outlook_scenario, years)
    pipe = pipeline(ds, to=to, draws=draws, seed=seed, as_of=as_of, ramp_slowdown=ramp_slowdown, controller=controller)
    added = pipeline_output(ds, pipe, base_output(ds, as_of), utilisation, controller)
    supply = supply_path(ds, pipe, utilisation, controller, added=added)
    by_material = demand.groupby(["year", "material"], as_index=False)[["demand_t", "recycled_t"]].sum()
    table = balance(supply, by_material)
    total, drivers = demand_growth(demand, as_of)
    dependence = [controller_dependence(ds, as_of, list(regions), list(products), controller)]
    for year in dependence_years:
        future = _projected(ds, outlook_scenario, total, drivers, added, year, as_of, controller)
        dependence.append(controller_dependence(future, year, list(regions), list(products), controller))
    refining = table[table["stage"] == "refining"]
    path = concentration_path(supply)
    years_ahead = range(as_of + 1, to + 1)
    inputs = pressure_inputs(ds, outlook_scenario.name, years_ahead, balance=refining, concentration_path=path)
    ranking = pressure_points(inputs, weights)
    return Outlook(
        scenario=outlook_scenario.name,
        to=to,
        as_of=as_of,
        dataset=ds.name,
        fingerprint=ds.fingerprint,
        demand=demand,
        balance=table,
        supply=supply,
        concentration=path,
        dependence=pd.concat(dependence, ignore_index=True),
        pressure=ranking.scores,
        top_five=ranking.top_five,
        pipeline=pipe,
        iea=iea_comparison(outlook_scenario),
        supply_check=iea_supply_check(ds, supply),
        weights=ranking.weights,
        notes=_notes(inputs, utilisation, controller),
    )


def _notes(inputs: pd.DataFrame, utilisation: float, controller: str) -> list[str]:
    """What the outlook assumes rather than reads, for the report and the CLI."""
    notes = [
        f"Supply outside {controller} is the base year's reconciled output plus the project pipeline's expected "
        f"capacity at {100 * utilisation:.0f}% utilisation; {controller}'s output follows IEA's base case for its "
        "refining of magnet rare earths (flat after 2035).",
        "Demand is put on the supply's basis: the base year clears and later years grow as the "
        "technology drivers do (docs/outlook.md).",
    ]
    if "missing" in inputs.columns:
        missing = inputs.loc[inputs["missing"].astype(str) != "", ["material", "missing"]].drop_duplicates("material")
        for material, what in zip(missing["material"], missing["missing"], strict=True):
            notes.append(f"{material}: assumed, not read from data: {what}")
    return notes
