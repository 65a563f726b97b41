"""Supply that answers prices: entry outside named projects, and exit below cost.

Rules in :mod:`chokepoint.simulation.supply`. Costs are unit cash costs as an index of the base
year's price of the commodity (1 = the base-year price), so a scenario can state a cost curve by
region without a price level the dataset does not hold.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from chokepoint.scenario.types import STRICT, Capacity, Months, YearMonth
from chokepoint.yamlfile import Number

__all__ = ["Entrant", "ProducerCost", "SupplyResponse"]

#: A cost index beyond a thousand times the base price is a typo (no producer runs there).
CostIndex = Annotated[Number, Field(gt=0.0, le=1e3)]


class _Model(BaseModel):
    model_config = STRICT


class Entrant(_Model):
    """Capacity ``region`` would build for ``commodity`` once the price its producers would sell
    at (smoothed over ``price_months``) covers ``cost_index``; it comes on line after
    ``permitting_delay_months`` and ramps over ``ramp_months``, and never before ``earliest``."""

    name: str
    region: str
    commodity: str
    capacity_t_per_yr: Capacity
    cost_index: CostIndex
    permitting_delay_months: Months = 24
    ramp_months: Months = 24
    earliest: YearMonth | None = None


class ProducerCost(_Model):
    """The unit cost of a region's existing capacity for a commodity (base year and named
    projects): below it for ``exit_months`` the capacity leaves the market."""

    region: str
    commodity: str
    cost_index: CostIndex


class SupplyResponse(_Model):
    """Entry and exit (:mod:`chokepoint.simulation.supply`): producers judge the price they sell
    at, smoothed over ``price_months``; an entrant commits when it covers its cost; any capacity
    with a cost leaves after ``exit_months`` in a row below it."""

    price_months: Annotated[Number, Field(ge=1.0, le=600.0)] = 12.0
    exit_months: Annotated[Number, Field(ge=1.0, le=600.0)] = 12.0
    entrants: list[Entrant] = []
    costs: list[ProducerCost] = []
