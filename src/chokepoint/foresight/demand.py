"""Magnet rare-earth demand from technology drivers, and its check against IEA.

For driver ``d``, material ``m`` and year ``t`` (paths linearly interpolated, flat outside their points):

- ``demand_t = A_d(t) × u_d × s_d(t) × k_d(t) / 1000 × f_dm(t)``: activity × units per activity
  unit × PM share × kg magnet REE per PM unit, split by element;
- the element split ``f`` thrifts heavy rare earths: Dy and Tb shares × ``h_d(t)`` (grain-boundary
  diffusion), the freed share going to Nd and Pr in proportion, so Σ_m f_dm = 1;
- ``end_of_life_t(t) = demand_t(t − L_d)`` for products sold from the base year on (``t − L_d ≥``
  base year; earlier retirements are not modelled, so recycling is zero before the first product
  sold in the outlook retires);
- ``recycled_t = end_of_life_t × collection(t) × recovery(t)``.

A driver with ``calibrate`` instead of ``intensity_kg_per_unit`` gets a constant ``k_d`` in closed
form from the base year only (IEA's base-year bucket × share, less named drivers), never from 2030+.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from chokepoint.foresight.scenario import MATERIALS, Driver, OutlookError, OutlookScenario, Point, load_outlook_file
from chokepoint.yamlfile import with_field_lines

__all__ = [
    "SCENARIOS_DIR",
    "driver_intensity",
    "element_split",
    "iea_comparison",
    "interpolate",
    "load_outlook_scenario",
    "shipped_outlook_scenarios",
    "technology_demand",
]

#: The shipped outlook scenarios (copy one to edit it).
SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
_HEAVY = np.array([m in ("dysprosium", "terbium") for m in MATERIALS])

Floats = npt.NDArray[np.float64]


def shipped_outlook_scenarios() -> list[str]:
    """Names of the shipped outlook scenarios (``aps``, ``nze``, ``steps``)."""
    return sorted(p.stem for p in SCENARIOS_DIR.glob("*.yaml"))


def load_outlook_scenario(name_or_path: str | Path) -> OutlookScenario:
    """A shipped scenario by name (``steps``, ``APS`` …; case-insensitive) or a YAML file by path."""
    text = str(name_or_path)
    if text.casefold() in shipped_outlook_scenarios():
        return load_outlook_file(SCENARIOS_DIR / f"{text.casefold()}.yaml")
    path = Path(text)
    if path.suffix in {".yaml", ".yml"} or path.parent != Path(".") or path.is_file():
        return load_outlook_file(path)
    names = ", ".join(shipped_outlook_scenarios())
    raise OutlookError(f"unknown outlook scenario {text!r}; shipped: {names}; or give the path to a YAML file")


def interpolate(points: Sequence[Point], years: npt.ArrayLike) -> Floats:
    """A path's value in ``years``: linear between points, the first/last value outside them."""
    xs = np.array([p.year for p in points], dtype=float)
    ys = np.array([p.value for p in points], dtype=float)
    return np.interp(np.asarray(years, dtype=float), xs, ys)


def element_split(driver: Driver, years: npt.ArrayLike) -> Floats:
    """Element shares (Y, 4) in MATERIALS order: Dy, Tb × heavy_thrift, Nd, Pr take up the rest."""
    base = np.array([driver.elements[m] for m in MATERIALS]) / sum(driver.elements.values())
    thrift = interpolate(driver.heavy_thrift, years)[:, None]  # (Y, 1)
    heavy = np.where(_HEAVY, base, 0.0)[None, :] * thrift
    freed = base[_HEAVY].sum() * (1.0 - thrift)
    light = np.where(_HEAVY, 0.0, base)[None, :]
    return heavy + light * (1.0 + freed / base[~_HEAVY].sum())


def _units(driver: Driver, years: npt.ArrayLike) -> Floats:
    """PM units in use each year: activity × units per activity unit × PM share."""
    return interpolate(driver.activity, years) * driver.units_per_activity * interpolate(driver.pm_share, years)


@with_field_lines
def driver_intensity(scenario: OutlookScenario) -> dict[str, Floats | float]:
    """kg magnet REE per PM unit for each driver: its path's points, or the base-year calibration.

    Calibrated: ``k = (share × IEA_bucket(base) × 1e6 − Σ_less demand_kg(base)) / units(base)``."""
    base = scenario.base_year
    iea = {(t.year, t.bucket): t.value_kt for t in scenario.targets}
    out: dict[str, Floats | float] = {}
    base_kg: dict[str, float] = {}
    for name, driver in scenario.drivers.items():
        units = float(_units(driver, [base])[0])
        if driver.calibrate is None:
            assert driver.intensity_kg_per_unit is not None  # the model guarantees one of the two
            kg = float(interpolate(driver.intensity_kg_per_unit, [base])[0])
            out[name] = np.array([[p.year, p.value] for p in driver.intensity_kg_per_unit], dtype=float)
        else:
            cal = driver.calibrate
            wanted = cal.share.value * iea[(base, cal.target)] * 1e6 - sum(base_kg[o] for o in cal.less)
            if units <= 0 or wanted <= 0:
                raise OutlookError(
                    f"{scenario.name}: drivers.{name}.calibrate: base-year demand {wanted / 1e6:.3g} kt over "
                    f"{units:g} PM units cannot give a positive intensity; check share, less and activity"
                )
            kg = wanted / units
            out[name] = kg
        base_kg[name] = kg * units
    return out


def _kg_per_unit(intensity: Floats | float, years: Floats) -> Floats:
    if isinstance(intensity, float):
        return np.full(years.shape, intensity)
    return np.interp(years, intensity[:, 0], intensity[:, 1])


def _demand(driver: Driver, intensity: Floats | float, years: Floats) -> Floats:
    """Demand (Y, 4) in tonnes by element."""
    total_t = _units(driver, years) * _kg_per_unit(intensity, years) / 1000.0
    return total_t[:, None] * element_split(driver, years)


def technology_demand(scenario: OutlookScenario, years: Iterable[int]) -> pd.DataFrame:
    """Gross magnet-REE demand, end-of-life and recycled supply by driver, material and year.

    Columns: ``scenario, year, driver, material, activity, activity_unit, demand_t, end_of_life_t,
    recycled_t`` (tonnes of element; ``activity`` in the driver's ``activity_unit``)."""
    try:
        ys = np.array(list(years), dtype=float)
    except (TypeError, ValueError):
        raise OutlookError(f"{scenario.name}: years must be whole calendar years, got {years!r}") from None
    if ys.ndim != 1 or ys.size == 0 or not np.all(np.isfinite(ys)) or np.any(ys != np.round(ys)):
        raise OutlookError(f"{scenario.name}: years must be whole calendar years, got {ys.tolist()}")
    if ys.min() < scenario.base_year:
        raise OutlookError(f"{scenario.name}: year {int(ys.min())} is before the base year {scenario.base_year}")
    rec = scenario.recycling
    recovered = interpolate(rec.collection_rate, ys) * interpolate(rec.recovery_yield, ys)
    intensity = driver_intensity(scenario)
    frames = []
    for name, driver in scenario.drivers.items():
        lifetime = driver.lifetime_yr.value
        sold = ys - lifetime
        eol = np.where((sold >= scenario.base_year)[:, None], _demand(driver, intensity[name], sold), 0.0)
        demand = _demand(driver, intensity[name], ys)
        frames.append(
            pd.DataFrame(
                {
                    "year": np.repeat(ys.astype(int), len(MATERIALS)),
                    "driver": name,
                    "material": np.tile(MATERIALS, len(ys)),
                    "activity": np.repeat(interpolate(driver.activity, ys), len(MATERIALS)),
                    "activity_unit": driver.activity_unit,
                    "demand_t": demand.ravel(),
                    "end_of_life_t": eol.ravel(),
                    "recycled_t": (eol * recovered[:, None]).ravel(),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "scenario", scenario.name)
    return out


def iea_comparison(scenario: OutlookScenario) -> pd.DataFrame:
    """Bottom-up demand per IEA bucket against each target in the scenario file.

    Columns: ``scenario, year, bucket, bottom_up_kt, iea_kt, gap_pct, split``;
    ``gap_pct = (bottom_up / iea − 1) × 100``."""
    targets = pd.DataFrame([t.model_dump() for t in scenario.targets])
    if targets.empty:
        raise OutlookError(f"{scenario.name}: no targets to compare against")
    demand = technology_demand(scenario, sorted(set(targets["year"])))
    buckets = {name: d.bucket for name, d in scenario.drivers.items()}
    demand["bucket"] = demand["driver"].map(buckets)
    by_bucket = demand.groupby(["year", "bucket"])["demand_t"].sum()
    total = demand.groupby("year")["demand_t"].sum()
    total.index = pd.MultiIndex.from_arrays([total.index, ["total"] * len(total)], names=["year", "bucket"])
    bottom_up = pd.concat([by_bucket, total]).rename("bottom_up_kt") / 1000.0
    out = targets.join(bottom_up, on=["year", "bucket"])
    out["bottom_up_kt"] = out["bottom_up_kt"].fillna(0.0)  # a bucket with no driver has none
    out = out.rename(columns={"value_kt": "iea_kt"})
    out["gap_pct"] = (out["bottom_up_kt"] / out["iea_kt"] - 1.0) * 100.0
    out.insert(0, "scenario", scenario.name)
    order = {b: i for i, b in enumerate(("ev", "wind", "other", "total"))}
    out = out.sort_values(["year", "bucket"], key=lambda s: s.map(order) if s.name == "bucket" else s)
    return out[["scenario", "year", "bucket", "bottom_up_kt", "iea_kt", "gap_pct", "split"]].reset_index(drop=True)
