"""Outlook scenario files: magnet rare-earth demand from technology drivers, as data.

A scenario (``outlook/scenarios/steps.yaml`` …) names, for each demand driver (electric cars, wind,
inverter air conditioners …), an activity path, the share of units that use rare-earth permanent
magnets, the magnet REE per such unit (or a closed-form calibration of it to the base year), the
element split with its Dy/Tb thrifting path and the product lifetime; then recycling rates and IEA's
figures to compare against. Every point names its source and basis. The models are strict: an
unknown key, a negative or non-finite number, a share above 1 or an unknown material is a one-line
:class:`OutlookError` naming the file and the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from chokepoint.errors import ChokepointError
from chokepoint.scenario.types import STRICT, YEARS, Share, Whole
from chokepoint.yamlfile import Number, load_yaml_model

__all__ = [
    "BUCKETS",
    "MATERIALS",
    "Calibration",
    "Driver",
    "OutlookError",
    "OutlookScenario",
    "Param",
    "Point",
    "Recycling",
    "SharePoint",
    "Target",
    "load_outlook_file",
]

Material = Literal["neodymium", "praseodymium", "dysprosium", "terbium"]
#: The magnet rare earths, as the dataset names them (src/chokepoint/data/material_indicators.csv).
MATERIALS: tuple[Material, ...] = ("neodymium", "praseodymium", "dysprosium", "terbium")
#: IEA's demand buckets (Critical Minerals Dataset 2025: EV, wind, other uses, total).
BUCKETS = ("ev", "wind", "other", "total")

Basis = Literal["reported", "derived", "assumption"]
Year = Annotated[Whole, Field(ge=YEARS[0], le=YEARS[1])]
#: Ceiling on an activity or intensity value: far above any real one (1e12 t is MAX_T).
Positive = Annotated[Number, Field(ge=0.0, le=1e12)]


class OutlookError(ChokepointError):
    """A malformed outlook scenario file or an inconsistent one."""


class Point(BaseModel):
    """One point of a path: linearly interpolated between points, held flat outside them."""

    model_config = STRICT
    year: Year
    value: Positive
    unit: str | None = None
    source: str = Field(min_length=1)
    basis: Basis
    note: str = ""


class SharePoint(Point):
    """A point of a path of shares (0–1)."""

    value: Share


class Param(BaseModel):
    """A single cited (or assumed) constant."""

    model_config = STRICT
    value: Positive
    source: str = Field(min_length=1)
    basis: Basis
    note: str = ""


class ShareParam(Param):
    value: Share


def _increasing(points: Sequence[Point], field: str) -> None:
    years = [p.year for p in points]
    if any(b <= a for a, b in pairwise(years)):
        raise ValueError(f"{field}: years {years} must increase strictly")


Path_ = Annotated[list[Point], Field(min_length=1)]
SharePath = Annotated[list[SharePoint], Field(min_length=1)]


class Calibration(BaseModel):
    """Magnet REE per unit fitted in closed form to the base year only: ``share`` of IEA's
    base-year ``target`` bucket, less the base-year demand of the drivers in ``less``, divided by
    the base-year activity × units × PM share. Never fitted to a later year."""

    model_config = STRICT
    target: Literal["ev", "wind", "other", "total"]
    share: ShareParam
    less: list[str] = []


class Driver(BaseModel):
    """A demand driver: demand_t = activity × units_per_activity × pm_share × kg per unit / 1000.
    ``sector``: the dataset sector (``sectors.csv``) whose activity this driver's activity moves
    when a base year is projected (``projected_from`` in a shock scenario); none for a driver
    the dataset has no sector for."""

    model_config = STRICT
    bucket: Literal["ev", "wind", "other"]
    description: str = Field(min_length=1)
    sector: str | None = Field(default=None, min_length=1)
    activity_unit: str = Field(min_length=1)
    units_per_activity: Annotated[Number, Field(gt=0.0, le=1e12)]
    activity: Path_
    pm_share: SharePath
    intensity_kg_per_unit: list[Point] | None = None
    calibrate: Calibration | None = None
    elements: dict[Material, Share]
    elements_source: str = Field(min_length=1)
    heavy_thrift: SharePath
    lifetime_yr: Param

    @model_validator(mode="after")
    def _check(self) -> Driver:
        for name in ("activity", "pm_share", "heavy_thrift"):
            _increasing(getattr(self, name), name)
        if (self.intensity_kg_per_unit is None) == (self.calibrate is None):
            raise ValueError("give exactly one of intensity_kg_per_unit and calibrate")
        if self.intensity_kg_per_unit is not None:
            if not self.intensity_kg_per_unit:
                raise ValueError("intensity_kg_per_unit: give at least one point")
            _increasing(self.intensity_kg_per_unit, "intensity_kg_per_unit")
        if set(self.elements) != set(MATERIALS):
            missing = ", ".join(sorted(set(MATERIALS) - set(self.elements)))
            raise ValueError(f"elements: give a share for each of {', '.join(MATERIALS)} (missing {missing})")
        total = sum(self.elements.values())
        if abs(total - 1.0) > 1e-3:
            raise ValueError(f"elements: shares sum to {total:.4f}, not 1")
        if not 1 <= self.lifetime_yr.value <= 100:
            raise ValueError(f"lifetime_yr: {self.lifetime_yr.value:g} is not a lifetime (1–100 years)")
        return self


class Recycling(BaseModel):
    """Secondary supply: end-of-life magnet REE × collection rate × recovery yield."""

    model_config = STRICT
    collection_rate: SharePath
    recovery_yield: SharePath

    @model_validator(mode="after")
    def _check(self) -> Recycling:
        _increasing(self.collection_rate, "collection_rate")
        _increasing(self.recovery_yield, "recovery_yield")
        return self


class Target(BaseModel):
    """A published figure to compare against: calibrate (base year) or validate (later years)."""

    model_config = STRICT
    year: Year
    bucket: Literal["ev", "wind", "other", "total"]
    value_kt: Positive
    source: str = Field(min_length=1)
    split: Literal["calibrate", "validate"]


class OutlookScenario(BaseModel):
    """An outlook scenario: drivers, recycling and the targets the bottom-up result is held to."""

    model_config = STRICT
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    base_year: Year
    drivers: Annotated[dict[str, Driver], Field(min_length=1)]
    recycling: Recycling
    targets: list[Target] = []

    @model_validator(mode="after")
    def _check(self) -> OutlookScenario:
        seen: list[str] = []
        for name, driver in self.drivers.items():
            if driver.calibrate is not None:
                for other in driver.calibrate.less:
                    if other not in seen:
                        raise ValueError(
                            f"drivers.{name}.calibrate.less: {other!r} is not a driver listed before {name!r}"
                        )
                if not any(t.year == self.base_year and t.bucket == driver.calibrate.target for t in self.targets):
                    raise ValueError(
                        f"drivers.{name}.calibrate: no {driver.calibrate.target} target for base year {self.base_year}"
                    )
            seen.append(name)
        keys = [(t.year, t.bucket) for t in self.targets]
        if len(set(keys)) != len(keys):
            raise ValueError("targets: a (year, bucket) is given twice")
        bad = [t for t in self.targets if (t.split == "calibrate") != (t.year == self.base_year)]
        if bad:
            raise ValueError(f"targets: {bad[0].year} {bad[0].bucket} split must be calibrate only for the base year")
        return self


def load_outlook_file(path: Path | str) -> OutlookScenario:
    """Read and validate an outlook scenario file (one-line :class:`OutlookError`)."""
    try:
        return load_yaml_model(path, OutlookScenario, OutlookError, "outlook scenario")
    except OutlookError as exc:
        raise OutlookError(str(exc).replace("docs/outlook scenarios.md", "docs/outlook.md")) from None
