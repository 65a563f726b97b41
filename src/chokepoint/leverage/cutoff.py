"""What a rare-earth cutoff costs the target, from the simulation engine's shortfalls valued by sector.

A control by ``controller`` on ``target`` covering a share ``c`` of the controller's rare-earth
exports (every stage) is simulated for a year on the dataset's base-year network, with the
market's rerouting to spare capacity elsewhere. The target's shortfall of each commodity in each
end-use sector is valued as the sector output it stops:

- a named sector (EVs, wind, defence …): units not built ``= shortfall_kg / intensity_kg_per_unit``
  times the sector's ``unit_value_usd`` in the target (dataset table ``sector_values``; the
  world's value where the target has none);
- sector ``other`` and any sector without an intensity or a unit value: at the material's own
  base-year price — a floor, since the output resting on the material is worth more (not valued
  where the dataset has no price for the commodity).

:func:`loss_curve` gives the first-year loss at coverages from 0 to 1; the leverage model uses it
for the cost of a rare-earth control (:mod:`chokepoint.leverage`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.simulation.recorders import ATOL_T

if TYPE_CHECKING:  # the engine is imported where a cutoff is simulated: a cached study needs none of it
    from chokepoint.scenario import Scenario
    from chokepoint.simulation.baseline import Baseline

__all__ = [
    "COVERAGE_GRID",
    "CutoffError",
    "curve_of",
    "cutoff_at",
    "cutoff_losses",
    "cutoff_scenario",
    "loss_curve",
    "simulated_cutoff",
    "unit_values",
]

#: Coverages at which :func:`loss_curve` simulates a cutoff (the cost in between is interpolated).
COVERAGE_GRID: tuple[float, ...] = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))


class CutoffError(ChokepointError):
    """A cutoff that cannot be simulated or valued."""


def cutoff_scenario(
    ds: Dataset, controller: str, target: str, coverage: float, year: int, months: int, material: str = "rare_earths"
) -> Scenario:
    """A control by ``controller`` on ``target`` from January after ``year`` for ``months``: every
    stage of ``material``, licences approved for ``1 − coverage`` of the flow (a ban at coverage 1)."""
    commodities = ds["commodities"]
    stages = commodities.loc[commodities["material"] == material, "commodity_id"].astype(str).tolist()
    instrument = {"kind": "ban"} if coverage >= 1.0 else {"kind": "licence", "approval_share": float(1.0 - coverage)}
    start = {"year": year + 1, "month": 1}
    from chokepoint.scenario import Scenario

    return Scenario.model_validate(
        {
            "name": f"{controller}-cuts-{target}-{coverage:g}",
            "material": material,
            "base_year": year,
            "start": start,
            "horizon_months": months,
            "export_controls": [
                {
                    "name": "cutoff",
                    "controller": controller,
                    "commodities": stages,
                    "targets": {"countries": [target]},
                    "instrument": instrument,
                    "start": start,
                }
            ]
            if coverage > 0
            else [],
        }
    )


def unit_values(ds: Dataset, year: int, region: str = "WLD") -> pd.Series:
    """USD per unit of each sector's activity in ``region`` (its own ``sector_values`` rows, else
    the world's): the row of ``year``, else the latest earlier one, else the earliest later one."""
    rows = ds["sector_values"]
    rows = rows[rows["region_id"].isin([region, "WLD"])]
    if rows.empty:
        return pd.Series(dtype=float, name="unit_value_usd")
    # rank: own region before the world's, then nearest year at or before ``year``, then after it
    distance = np.where(rows["year"] <= year, year - rows["year"], 1000 + rows["year"] - year)
    rank = distance + np.where(rows["region_id"] == region, 0, 10_000)
    best = rows.assign(rank=rank).sort_values("rank").drop_duplicates("sector_id")
    return best.set_index("sector_id")["unit_value_usd"].astype(float)


def _value_per_t(ds: Dataset, baseline: Baseline, year: int, region: str) -> pd.DataFrame:
    """USD per tonne of ``region``'s shortfall of each commodity in each sector, and how it is valued."""
    from chokepoint.simulation.baseline import OTHER

    ks, sectors = baseline.commodities, list(baseline.sectors)
    prices_usd_per_t = pd.Series(baseline.price_usd_per_kg * 1000.0, index=ks)
    intensity = ds["intensities"].set_index(["sector_id", "commodity_id"])["intensity_kg_per_unit"].astype(float)
    values = unit_values(ds, year, region)
    rows = []
    for s in sectors:
        for k in ks:
            kg = intensity.get((s, k), np.nan)
            usd = values.get(s, np.nan)
            if s != OTHER and np.isfinite(kg) and kg > 0 and np.isfinite(usd):
                rows.append((s, k, 1000.0 / kg, usd, 1000.0 / kg * usd, "sector output"))
            elif np.isfinite(prices_usd_per_t[k]):
                rows.append((s, k, np.nan, np.nan, float(prices_usd_per_t[k]), "material price (floor)"))
            else:
                rows.append((s, k, np.nan, np.nan, 0.0, "not valued (no price)"))
    columns = ["sector_id", "commodity_id", "units_per_t", "unit_value_usd", "usd_per_t", "valued_at"]
    return pd.DataFrame(rows, columns=columns)


def _shortfall_t(
    baseline: Baseline, ds: Dataset, scenarios: Sequence[Scenario], target: str
) -> npt.NDArray[np.float64]:
    """Total shortfall of ``target`` per scenario × commodity × sector over the horizon (t)."""
    from chokepoint.simulation import build_plan, run_scenario

    r = list(baseline.net.regions).index(target)
    out = []
    for scenario in scenarios:
        tr = run_scenario(baseline, build_plan(baseline, scenario, ds), scenario)
        out.append(np.clip(tr.demand_t[0] - tr.served_t[0], 0.0, None)[:, r].sum(axis=0))  # (K, S)
    return np.asarray(out)


def _baseline(ds: Dataset, controller: str, target: str, year: int, material: str) -> Baseline:
    from chokepoint.scenario import Scenario
    from chokepoint.simulation import build_baseline

    baseline = build_baseline(ds, material, year, Scenario.model_fields["capacity_utilisation"].default)
    regions = set(baseline.net.regions)
    for role, region in (("controller", controller), ("target", target)):
        if region not in regions:
            raise CutoffError(
                f"cannot simulate a {material} cutoff: {role} {region!r} is not a region of the {year} "
                f"{material} network ({', '.join(sorted(regions))})"
            )
    return baseline


def cutoff_losses(
    ds: Dataset,
    controller: str,
    target: str,
    year: int = 2024,
    months: int = 12,
    coverages: Sequence[float] = COVERAGE_GRID,
    material: str = "rare_earths",
) -> pd.DataFrame:
    """Coverage × sector × commodity: the target's shortfall (``shortfall_t``) and its value
    (``value_lost_usd``, ``units_lost``, ``valued_at``), every coverage run on one baseline. The
    expensive intermediate of a rare-earth leverage study: compute it once and derive the loss curve
    (:func:`curve_of`) and a cutoff's table (:func:`cutoff_at`) from it."""
    baseline = _baseline(ds, controller, target, year, material)
    scenarios = [cutoff_scenario(ds, controller, target, c, year, months, material) for c in coverages]
    short = _shortfall_t(baseline, ds, scenarios, target)  # (coverages, K, S)
    table = _value_per_t(ds, baseline, year, target)
    k = pd.Index(baseline.commodities).get_indexer(pd.Index(table["commodity_id"]))
    s = pd.Index(baseline.sectors).get_indexer(pd.Index(table["sector_id"]))
    out = pd.concat(
        [table.assign(coverage=c, shortfall_t=short[i][k, s]) for i, c in enumerate(coverages)], ignore_index=True
    )
    out["units_lost"] = out["shortfall_t"] * out["units_per_t"]
    out["value_lost_usd"] = out["shortfall_t"] * out["usd_per_t"]
    return out


def simulated_cutoff(
    ds: Dataset,
    controller: str,
    target: str,
    coverage: float = 1.0,
    year: int = 2024,
    months: int = 12,
    material: str = "rare_earths",
) -> pd.DataFrame:
    """The target's shortfall over ``months`` of a control of ``coverage`` (0–1) by ``controller``,
    per sector × commodity, valued: columns ``shortfall_t``, ``units_lost`` (where valued at sector
    output), ``unit_value_usd``, ``value_lost_usd`` and ``valued_at``."""
    if not 0.0 <= coverage <= 1.0:
        raise CutoffError(f"coverage must be between 0 and 1, got {coverage}")
    return cutoff_at(cutoff_losses(ds, controller, target, year, months, [coverage], material), coverage)


_CUTOFF_COLUMNS = [
    "sector_id",
    "commodity_id",
    "shortfall_t",
    "units_lost",
    "unit_value_usd",
    "value_lost_usd",
    "valued_at",
]


def cutoff_at(losses: pd.DataFrame, coverage: float) -> pd.DataFrame:
    """:func:`simulated_cutoff`'s table at ``coverage`` from a :func:`cutoff_losses` table that has it:
    the sector × commodity rows short of at least a gram (``ATOL_T``: below it a shortfall is the
    engine's rounding, 1e-12 t on a lane the control empties), dearest first."""
    table = losses[losses["coverage"] == coverage]
    if table.empty:
        raise CutoffError(f"coverage {coverage} was not simulated; simulated: {sorted(set(losses['coverage']))}")
    table = table[table["shortfall_t"] >= ATOL_T].sort_values("value_lost_usd", ascending=False)
    return table.loc[:, _CUTOFF_COLUMNS].reset_index(drop=True)


def curve_of(losses: pd.DataFrame) -> pd.Series:
    """:func:`loss_curve` from a :func:`cutoff_losses` table: output lost (USD) by coverage."""
    return losses.groupby("coverage", sort=False)["value_lost_usd"].sum().rename("value_lost_usd")


def loss_curve(
    ds: Dataset,
    controller: str,
    target: str,
    year: int = 2024,
    months: int = 12,
    coverages: Sequence[float] = COVERAGE_GRID,
    material: str = "rare_earths",
) -> pd.Series:
    """The target's output lost (USD) in ``months`` of a control at each of ``coverages``, indexed by
    coverage: the sum of :func:`simulated_cutoff`'s ``value_lost_usd``, run as one baseline."""
    return curve_of(cutoff_losses(ds, controller, target, year, months, coverages, material))
