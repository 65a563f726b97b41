"""Scenario files: what shocks the chain and how markets and governments respond.

A scenario is a YAML file validated by the pydantic models below (shape: types, ranges, one of
several instrument kinds) and then checked against the dataset it runs on (known regions,
commodities and sectors; dates inside the horizon; no two controls that contradict each other).
Every problem is one line naming the file, the field path and the value. Units are in the
field names: ``_t`` tonnes, ``_t_per_yr`` tonnes per year, ``_months`` months, shares are
fractions 0–1, dates are ``YYYY-MM``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from chokepoint.errors import ChokepointError
from chokepoint.files import check_folder_name
from chokepoint.scenario.calibration import Calibration, FittedParameter, check_calibration
from chokepoint.scenario.supply import Entrant, ProducerCost, SupplyResponse
from chokepoint.scenario.types import MAX_USD, STRICT, YEARS, Capacity, Months, Share, Tonnes, Whole, YearMonth
from chokepoint.scenario.uncertain import RankCorrelation, UncertainParameter, check_uncertain
from chokepoint.yamlfile import Number, load_yaml_model

__all__ = [
    "Ban",
    "Calibration",
    "CapacityProject",
    "ContentRule",
    "DemandChange",
    "Disruption",
    "Entrant",
    "ExportControl",
    "FittedParameter",
    "Focus",
    "Leakage",
    "Licence",
    "Markets",
    "Observation",
    "Offtake",
    "PriceFloor",
    "ProducerCost",
    "Projection",
    "Quota",
    "Recycling",
    "Scenario",
    "ScenarioError",
    "Stockpile",
    "Substitution",
    "SupplyResponse",
    "Targets",
    "TechnologyBan",
    "Uncertainty",
    "YearMonth",
    "check_scenario",
    "load_scenario",
    "scenario_markdown",
]


class ScenarioError(ChokepointError):
    """A scenario file that cannot be run: malformed YAML, a bad field, or a contradiction."""


class _Model(BaseModel):
    model_config = STRICT


class Targets(_Model):
    """Whom a control hits: listed countries, or everyone except those listed."""

    countries: list[str] | None = None
    all_but: list[str] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.countries is None) == (self.all_but is None):
            raise ValueError("give exactly one of countries or all_but")
        return self

    def hits(self, region: str) -> bool:
        return region in self.countries if self.countries is not None else region not in (self.all_but or [])


class _Dated(_Model):
    """An item in force from ``start`` to ``end`` (inclusive): ``end`` must not precede ``start``
    (a reversed period would run as if the item did not exist)."""

    start: YearMonth
    end: YearMonth | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end is not None and self.end.index(self.start) < 0:
            raise ValueError(f"end {self.end} is before start {self.start}; swap them or fix the year")
        return self


class Ban(_Model):
    """No exports to the targets."""

    kind: Literal["ban"]


class Licence(_Model):
    """Exports need a licence: a share is approved, after a processing delay; listed end users
    (e.g. defence) are refused."""

    kind: Literal["licence"]
    approval_share: Share
    processing_delay_months: Months = 0
    excluded_sectors: list[str] = []


class Quota(_Model):
    """A ceiling on the controller's total exports of the listed commodities together (a product
    group counts all its members), a twelfth of it each month, shared among the buyers' orders by
    ``allocation``: ``orders`` (pro rata to what each orders), ``history`` (each buyer's share of
    the base year's exports, unused quota not passed on) or ``price`` (pro rata to orders × the
    buyer's market price). Rules in :mod:`chokepoint.simulation.quotas`."""

    kind: Literal["quota"]
    quota_t_per_yr: Tonnes
    allocation: Literal["orders", "history", "price"] = "orders"


class TechnologyBan(_Model):
    """No export of process know-how: new capacity outside the controller ramps and learns slower."""

    kind: Literal["technology_ban"]
    ramp_slowdown: Annotated[Number, Field(ge=1.0, le=100.0)] = 1.5
    learning_slowdown: Share = 0.5


class ContentRule(_Model):
    """Extraterritorial rule: products made elsewhere with at least ``content_threshold`` of the
    controller's material are controlled as if exported by the controller."""

    kind: Literal["content_rule"]
    content_threshold: Share
    approval_share: Share = 0.0


Instrument = Annotated[Ban | Licence | Quota | TechnologyBan | ContentRule, Field(discriminator="kind")]


class Leakage(_Model):
    """A route through a third country ``via``: ``share`` of what the control refuses still
    reaches the targets, at most ``capacity_t_per_yr`` over all the control's lanes, and buyers
    pay ``premium`` more for it (rules in :mod:`chokepoint.simulation.leakage`; its tonnes are
    the ``leakage`` table)."""

    via: str
    share: Share
    capacity_t_per_yr: Tonnes | None = None
    # ten times the price is beyond any smuggling premium reported
    premium: Annotated[Number, Field(ge=0.0, le=10.0)] = 0.0


class ExportControl(_Dated):
    """A control by ``controller`` on its exports of ``commodities`` to ``targets`` from ``start`` to
    ``end`` (inclusive; open-ended without ``end``). With ``elements`` (chemical symbols, any case:
    ``[Dy, Tb]``, ``[Ga]``) it covers exactly the listed commodities that contain one of them
    (``commodities.elements``: Dy oxide and metal and the Dy/Tb-grade magnets, never La oxide);
    a commodity whose content the dataset does not list is covered in full. ``held_whole`` names
    product groups whose every member is held once one member is covered: customs clear the group
    under one tariff code and cannot tell the grades apart (China's 2025 magnet licences: HS
    8505.11 for every NdFeB grade, so magnets without Dy or Tb waited too). ``affected_share``,
    if given, is the share of each commodity's flow the control covers instead."""

    name: str
    controller: str
    commodities: list[str] = Field(min_length=1)
    elements: list[str] = []
    held_whole: list[str] = []
    targets: Targets
    instrument: Instrument
    leakage: list[Leakage] = []
    affected_share: Share | None = None

    @model_validator(mode="after")
    def _leaks(self) -> Self:
        if sum(leak.share for leak in self.leakage) > 1:
            raise ValueError("leakage shares add up to more than 1")
        return self


class Disruption(_Dated):
    """A region's (or a facility's) output of a commodity down by ``share`` for a period."""

    name: str
    region: str
    commodity: str
    facility: str | None = None
    share: Share


class DemandChange(_Model):
    """A sector's activity path, as multipliers of the base year by calendar year (interpolated)."""

    sector: str
    region: str = "WLD"
    # a thousandfold activity is beyond any sector's growth over the longest horizon
    multipliers: dict[Whole, Annotated[Number, Field(ge=0.0, le=1000.0)]] = Field(min_length=1)


class Stockpile(_Model):
    """A strategic stock of ``commodity`` in ``region``, released on shortfall (its tonnes join the
    region's supply, served by the scenario's sector ``priorities``) and refilled when nothing is
    short."""

    region: str
    commodity: str
    stock_t: Tonnes | None = None
    months_of_demand: Annotated[Number, Field(ge=0.0, le=1200.0)] | None = None
    release: Literal["on_shortfall", "never"] = "on_shortfall"
    max_release_t_per_month: Tonnes | None = None
    refill_months: Months | None = None

    @model_validator(mode="after")
    def _size(self) -> Self:
        if (self.stock_t is None) == (self.months_of_demand is None):
            raise ValueError("give exactly one of stock_t or months_of_demand")
        return self


class CapacityProject(_Model):
    name: str
    region: str
    commodity: str
    capacity_t_per_yr: Capacity
    start: YearMonth
    permitting_delay_months: Months = 0
    ramp_months: Months = 24
    learning_rate: Annotated[Number, Field(ge=0.0, lt=1.0)] = 0.0
    cost_usd: Annotated[Number, Field(ge=0.0, le=MAX_USD)] = 0.0


class Recycling(_Model):
    region: str
    commodity: str
    collection_rate: Share
    recovery_rate: Share
    start: YearMonth
    ramp_months: Months = 0


class Substitution(_Model):
    name: str
    sector: str
    commodity: str
    price_elasticity: Annotated[Number, Field(ge=-100.0, le=0.0)]
    lag_months: Months = 12
    ceiling: Share
    # thrifting is sticky: a redesigned magnet is not undone when the price falls (None: as lag)
    reversal_months: Months | None = None


class Offtake(_Dated):
    buyer: str
    seller: str
    commodity: str
    quantity_t_per_yr: Tonnes


class Focus(_Model):
    """A region (and optionally one of its sectors) whose answer the scenario asks for: the run's
    headline reports it beside the worst-hit region and sector (``USA``, ``defence``)."""

    region: str
    sector: str | None = None


class PriceFloor(_Dated):
    """A guaranteed price for ``region``'s output of ``commodity`` (the DoD's USD 110/kg NdPr floor
    for MP Materials): whoever guarantees it pays ``usd_per_kg`` minus the market price on the
    ``covered_share`` of the output whenever the market is below the floor. The engine does not
    idle capacity on low prices, so the floor changes no flow; its result is that payment."""

    region: str
    commodity: str
    # a million dollars a kilogram is a thousand times the dearest rare-earth metal's price
    usd_per_kg: Annotated[Number, Field(gt=0.0, le=1e6)]
    covered_share: Share = 1.0


#: Each end at most 100: the price exponent's own ceiling, and a hundredfold spare capacity.
Range = tuple[Annotated[Number, Field(ge=0.0, le=100.0)], Annotated[Number, Field(ge=0.0, le=100.0)]]


class Uncertainty(_Model):
    """Monte Carlo over the engine's uncertain parameters (fast mode): ``draws`` runs, each with
    parameters drawn uniformly from their ranges and every node's spare capacity (its base-year
    headroom above production) multiplied by a factor from ``spare_capacity_scale``; ``seed``
    makes the draws repeatable. Results: 5th/50th/95th percentiles
    of shortfall and prices. The default ranges are ASSUMED spans around the engine's defaults
    (no published distribution exists); ``null`` keeps the scenario's own value.
    ``parameters`` declare any other number of the scenario uncertain, with a distribution, and
    ``correlations`` their rank correlations (:mod:`chokepoint.scenario.uncertain`); ``chokepoint
    sweep`` samples them (the root ``seed`` and ``draws`` are its defaults too)."""

    draws: Annotated[Whole, Field(ge=2, le=100_000)] = 1000
    seed: Annotated[Whole, Field(ge=0, le=2**63 - 1)] = 0
    sourcing_adjustment: Range | None = (0.1, 0.6)
    sourcing_reversion: Range | None = (0.05, 0.9)
    price_scarcity_exponent: Range | None = (1.5, 12.0)
    spare_capacity_scale: Range | None = (0.5, 1.5)
    parameters: list[UncertainParameter] = []
    correlations: list[RankCorrelation] = []

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        for name in ("sourcing_adjustment", "sourcing_reversion", "price_scarcity_exponent", "spare_capacity_scale"):
            lo_hi = getattr(self, name)
            if lo_hi is not None and lo_hi[0] > lo_hi[1]:
                raise ValueError(f"{name}: low {lo_hi[0]} is above high {lo_hi[1]}")
            if lo_hi is not None and name.startswith("sourcing") and lo_hi[1] > 1:
                raise ValueError(f"{name}: {lo_hi[1]} is a share and must be at most 1")
        return self


class Observation(_Model):
    """An observed value to compare with the simulation (shown in the report with the fit).
    ``price_index``: the commodity's price relative to the base (pre-shock) level: the world
    price, the price in ``region``'s market, or the mean of every market ``outside`` a region
    (weighted by base-year use; FOB export prices of the controller are prices outside it);
    ``export_ratio``: ``region``'s exports of the commodity to all other regions relative to the
    first (no-shock) month; ``flow_ratio``: the flow from ``origin`` to ``region`` relative to the
    first month; ``import_share``: the share of ``region``'s imports of the commodity that come
    from ``origin``. An observation of a year or a quarter covers ``months`` months from
    ``period`` (prices averaged, flows summed before the ratio). ``role`` is required: ``calibrate``
    (the scenario's ``calibration`` fits its parameters to it) or ``validate`` (only scored: no
    calibration reads it), so every score says whether it is in or out of sample."""

    role: Literal["calibrate", "validate"]
    metric: Literal["price_index", "export_ratio", "flow_ratio", "import_share"]
    commodity: str
    region: str | None = None
    origin: str | None = None
    outside: str | None = None
    period: YearMonth
    months: Annotated[Whole, Field(ge=1, le=120)] = 1
    value: Annotated[Number, Field(ge=0.0, le=1e6)]
    source: str

    @model_validator(mode="before")
    @classmethod
    def _has_role(cls, data: Any) -> Any:
        # refused, not defaulted: guessing would score a fitted observation as out of sample
        if isinstance(data, dict) and "role" not in data:
            raise ValueError("role is missing; mark it calibrate (fitted to) or validate (only scored)")
        return data

    @model_validator(mode="after")
    def _region(self) -> Self:
        if self.metric == "export_ratio" and self.region is None:
            raise ValueError("export_ratio needs the exporting region")
        if self.metric in ("import_share", "flow_ratio") and (self.region is None or self.origin is None):
            raise ValueError(f"{self.metric} needs the importing region and the origin")
        if self.outside is not None and (self.metric != "price_index" or self.region is not None):
            raise ValueError("outside is for a price_index without a region: the markets outside that region")
        return self


class Markets(_Model):
    """Buyers' inventories, hoarding and market prices (rules in
    :mod:`chokepoint.simulation.markets`): buyers normally hold ``cover_months`` of their need as
    inventory and close the gap to their target over ``restock_months``; target cover grows by
    ``hoarding`` × the supply gap they expect (their recent gaps, smoothed over
    ``expectation_months``); a market's price index is (availability / desired availability)
    ^ −``price_scarcity_exponent`` (a top-level field) × (producers' utilisation / the base
    year's)^``utilisation_exponent``, within [1/``price_cap``, ``price_cap``]: idle capacity
    (entry, a controller's expansion, thrifted demand) lowers prices, below the base too."""

    cover_months: Annotated[Number, Field(ge=0.0, le=60.0)] = 2.0
    hoarding: Annotated[Number, Field(ge=0.0, le=100.0)] = 1.0
    expectation_months: Annotated[Number, Field(ge=1.0, le=600.0)] = 6.0
    restock_months: Annotated[Number, Field(ge=1.0, le=600.0)] = 3.0
    price_cap: Annotated[Number, Field(ge=1.0, le=1e4)] = 50.0
    utilisation_exponent: Annotated[Number, Field(ge=0.0, le=100.0)] = 0.0


class Projection(_Model):
    """Run on a future base year: the dataset's last year with data (``from_year``) carried
    forward to the scenario's ``base_year`` under an ``outlook`` scenario — a shipped one
    (``STEPS``, ``APS``, ``NZE``) or the path of an outlook file. World demand and each sector's
    activity grow as the outlook's technology drivers do; producers outside ``controller`` add
    the project pipeline's expected capacity at the scenario's ``capacity_utilisation``; the
    controller supplies the rest (docs/outlook.md, "Shocks on a future network")."""

    outlook: str = Field(min_length=1)
    from_year: Annotated[Whole, Field(ge=YEARS[0], le=YEARS[1])] = 2024
    controller: str = "CHN"


class Scenario(_Model):
    """A scenario: dataset and base year, monthly horizon from ``start``, the shocks and responses.
    ``name`` is also the run folder ``runs/<name>``: letters, digits, ``-``, ``_`` and ``.`` only.
    ``focus`` names the regions and sectors the scenario asks about (the report's headline answers
    for them). ``notes`` are shown in the report (sources, calibration targets and fit). ``calibration``
    declares the parameters ``chokepoint backtest --fit`` fits to the ``calibrate`` observations.
    Model parameters (assumptions until calibrated): ``capacity_utilisation`` of producers in the
    base year (spare capacity = 1/utilisation − 1); ``sourcing_adjustment``, the share of the gap
    between last month's sourcing and what actually arrived that buyers close each month;
    ``sourcing_reversion``, the share of the way back to base-year suppliers (as far as controls
    allow) that buyers go each month;
    ``price_scarcity_exponent`` η in each market's price index (availability / desired
    availability)^−η; ``markets``, buyers' inventories, hoarding and the price cap.
    ``projected_from`` runs the scenario on a projected ``base_year`` (:class:`Projection`)."""

    name: str
    description: str = ""
    focus: list[Focus] = []
    notes: list[str] = []
    datasets: list[str] = ["default"]
    material: str = "rare_earths"
    base_year: Annotated[Whole, Field(ge=YEARS[0], le=YEARS[1])] = 2024
    projected_from: Projection | None = None
    start: YearMonth
    horizon_months: Annotated[Whole, Field(ge=1, le=600)] = 120
    export_controls: list[ExportControl] = []
    disruptions: list[Disruption] = []
    demand: list[DemandChange] = []
    stockpiles: list[Stockpile] = []
    projects: list[CapacityProject] = []
    recycling: list[Recycling] = []
    substitution: list[Substitution] = []
    offtakes: list[Offtake] = []
    price_floors: list[PriceFloor] = []
    observed: list[Observation] = []
    calibration: Calibration | None = None
    uncertainty: Uncertainty | None = None
    priorities: dict[str, Annotated[Number, Field(gt=0.0, le=1e6)]] = {}
    # spare capacity is 1/utilisation − 1: below 1% it is over 99 times output, and a subnormal
    # utilisation (2e-311, found by the fuzz tests) overflows it to inf
    capacity_utilisation: Annotated[Number, Field(ge=0.01, le=1.0)] = 0.85
    sourcing_adjustment: Share = 0.3
    sourcing_reversion: Share = 0.1
    price_scarcity_exponent: Annotated[Number, Field(ge=0.0, le=100.0)] = 3.0
    markets: Markets = Markets()
    supply_response: SupplyResponse = SupplyResponse()

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        if isinstance(data, dict) and "seed" in data:
            raise ValueError("seed is now uncertainty.seed (the seed of the Monte Carlo draws)")
        return data

    @model_validator(mode="after")
    def _projected(self) -> Self:
        if self.projected_from is not None and self.base_year <= self.projected_from.from_year:
            raise ValueError(
                f"base_year {self.base_year} must be after projected_from.from_year {self.projected_from.from_year}"
            )
        return self

    @model_validator(mode="after")
    def _calibration(self) -> Self:
        if self.calibration is not None:
            # the bounds are tried on a copy without this block (no recursion); a Python dump, since
            # a JSON one turns the int keys of demand multipliers into text the strict model refuses
            data = self.model_dump(exclude={"calibration", "uncertainty"})
            check_calibration(data, self.calibration, [o.role for o in self.observed], Scenario.model_validate)
        return self

    @model_validator(mode="after")
    def _uncertain(self) -> Self:
        if self.uncertainty is not None and (self.uncertainty.parameters or self.uncertainty.correlations):
            data = self.model_dump(exclude={"calibration", "uncertainty"})  # a Python dump, as above
            u = self.uncertainty
            check_uncertain(data, list(u.parameters), list(u.correlations), Scenario.model_validate)
        return self

    @field_validator("name")
    @classmethod
    def _folder_name(cls, value: str) -> str:
        # refused, not slugified: the name is the run folder, so two names must never share one,
        # and the folder should be exactly what the file says
        return check_folder_name(value)

    @field_validator("datasets")
    @classmethod
    def _some_dataset(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one dataset, e.g. [default]")
        return value

    @property
    def end(self) -> YearMonth:
        months = self.start.year * 12 + self.start.month - 1 + self.horizon_months - 1
        return YearMonth(year=months // 12, month=months % 12 + 1)

    @classmethod
    def from_yaml(cls, path: Path | str) -> Scenario:
        """Shorthand for :func:`load_scenario`."""
        return load_scenario(path)


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario file; any problem is one :class:`ScenarioError` line."""
    return load_yaml_model(path, Scenario, ScenarioError, "scenario")


# Cross-checks against a dataset and the generated reference live in submodules (imported last:
# they use the models above).
from chokepoint.scenario.checks import check_scenario  # noqa: E402
from chokepoint.scenario.reference import scenario_markdown  # noqa: E402
