"""Scenario files: what shocks the chain and how markets and governments respond.

A scenario is a YAML file validated by the pydantic models below (shape: types, ranges, one of
several instrument kinds) and then checked against the dataset it runs on (known regions,
commodities and sectors; dates inside the horizon; no two controls that contradict each other).
Every problem is one line naming the file, the field path and the value. Units are in the
field names: ``_t`` tonnes, ``_t_per_yr`` tonnes per year, ``_months`` months, shares are
fractions 0–1, dates are ``YYYY-MM``.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Self, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.yamlfile import load_yaml_model

__all__ = [
    "Ban",
    "CapacityProject",
    "ContentRule",
    "DemandChange",
    "Disruption",
    "ExportControl",
    "Leakage",
    "Licence",
    "Observation",
    "Offtake",
    "PriceFloor",
    "Quota",
    "Recycling",
    "Scenario",
    "ScenarioError",
    "Stockpile",
    "Substitution",
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


_YM = re.compile(r"^(\d{4})-(\d{2})$")


class YearMonth(BaseModel):
    """A calendar month, written ``YYYY-MM`` in scenario files."""

    model_config = ConfigDict(frozen=True)
    year: int
    month: int = Field(ge=1, le=12)

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, date):
            return {"year": value.year, "month": value.month}
        if isinstance(value, str):
            match = _YM.match(value.strip())
            if not match:
                raise ValueError(f"{value!r} is not a month; write YYYY-MM, e.g. 2025-04")
            return {"year": int(match.group(1)), "month": int(match.group(2))}
        if isinstance(value, int):
            raise ValueError(f"{value} is not a month; write YYYY-MM, e.g. {value}-01")
        return value

    def index(self, start: YearMonth) -> int:
        """Months after ``start`` (0 for the same month)."""
        return (self.year - start.year) * 12 + (self.month - start.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


Share = Annotated[float, Field(ge=0.0, le=1.0)]
Tonnes = Annotated[float, Field(ge=0.0)]
Months = Annotated[int, Field(ge=0)]


class _Model(BaseModel):
    # Unknown keys are errors: a typo such as `aproval_share` must not be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    """A ceiling on the controller's total exports, allocated evenly over the year."""

    kind: Literal["quota"]
    quota_t_per_yr: Tonnes


class TechnologyBan(_Model):
    """No export of process know-how: new capacity outside the controller ramps and learns slower."""

    kind: Literal["technology_ban"]
    ramp_slowdown: Annotated[float, Field(ge=1.0)] = 1.5
    learning_slowdown: Share = 0.5


class ContentRule(_Model):
    """Extraterritorial rule: products made elsewhere with at least ``content_threshold`` of the
    controller's material are controlled as if exported by the controller."""

    kind: Literal["content_rule"]
    content_threshold: Share
    approval_share: Share = 0.0


Instrument = Annotated[Ban | Licence | Quota | TechnologyBan | ContentRule, Field(discriminator="kind")]


class Leakage(_Model):
    """A share of the controlled flow that still reaches the targets through a third country
    (``via`` names it and must exist; the leaked share reaches the target as if shipped
    directly: the route's own capacity and delay are not modelled)."""

    via: str
    share: Share


class ExportControl(_Model):
    """A control by ``controller`` on its exports of ``commodities`` to ``targets`` from ``start`` to
    ``end`` (inclusive; open-ended without ``end``). ``affected_share`` is the share of each
    commodity's flow the control covers; by default the listed ``elements``' share of rare-earth
    oxide for oxides and metals (all of it without ``elements``), and all of it for magnets."""

    name: str
    controller: str
    commodities: list[str] = Field(min_length=1)
    elements: list[str] = []
    targets: Targets
    instrument: Instrument
    start: YearMonth
    end: YearMonth | None = None
    leakage: list[Leakage] = []
    affected_share: Share | None = None

    @model_validator(mode="after")
    def _dates(self) -> Self:
        if self.end is not None and self.end.index(self.start) < 0:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if sum(leak.share for leak in self.leakage) > 1:
            raise ValueError("leakage shares add up to more than 1")
        return self


class Disruption(_Model):
    """A region's (or a facility's) output of a commodity down by ``share`` for a period."""

    name: str
    region: str
    commodity: str
    facility: str | None = None
    share: Share
    start: YearMonth
    end: YearMonth | None = None


class DemandChange(_Model):
    """A sector's activity path, as multipliers of the base year by calendar year (interpolated)."""

    sector: str
    region: str = "WLD"
    multipliers: dict[int, Annotated[float, Field(ge=0.0)]] = Field(min_length=1)


class Stockpile(_Model):
    """A strategic stock of ``commodity`` in ``region``, released on shortfall (its tonnes join the
    region's supply, served by the scenario's sector ``priorities``) and refilled when nothing is
    short."""

    region: str
    commodity: str
    stock_t: Tonnes | None = None
    months_of_demand: Annotated[float, Field(ge=0.0)] | None = None
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
    capacity_t_per_yr: Annotated[float, Field(gt=0.0)]
    start: YearMonth
    permitting_delay_months: Months = 0
    ramp_months: Months = 24
    learning_rate: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    cost_usd: Tonnes = 0.0


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
    price_elasticity: Annotated[float, Field(le=0.0)]
    lag_months: Months = 12
    ceiling: Share


class Offtake(_Model):
    buyer: str
    seller: str
    commodity: str
    quantity_t_per_yr: Tonnes
    start: YearMonth
    end: YearMonth | None = None


class PriceFloor(_Model):
    """A guaranteed price for ``region``'s output of ``commodity`` (the DoD's USD 110/kg NdPr floor
    for MP Materials): whoever guarantees it pays ``usd_per_kg`` minus the market price on the
    ``covered_share`` of the output whenever the market is below the floor. The engine does not
    idle capacity on low prices, so the floor changes no flow; its result is that payment."""

    region: str
    commodity: str
    usd_per_kg: Annotated[float, Field(gt=0.0)]
    covered_share: Share = 1.0
    start: YearMonth
    end: YearMonth | None = None

    @model_validator(mode="after")
    def _dates(self) -> Self:
        if self.end is not None and self.end.index(self.start) < 0:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


Range = tuple[Annotated[float, Field(ge=0.0)], Annotated[float, Field(ge=0.0)]]


class Uncertainty(_Model):
    """Monte Carlo over the engine's uncertain parameters (fast mode): ``draws`` runs, each with
    parameters drawn uniformly from their ranges and every node's spare capacity (its base-year
    headroom above production) multiplied by a factor from ``spare_capacity_scale``; ``seed``
    makes the draws repeatable. Results: 5th/50th/95th percentiles
    of shortfall and prices. The default ranges are ASSUMED spans around the engine's defaults
    (no published distribution exists); ``null`` keeps the scenario's own value."""

    draws: Annotated[int, Field(ge=2, le=100_000)] = 1000
    seed: Annotated[int, Field(ge=0)] = 0
    sourcing_adjustment: Range | None = (0.1, 0.6)
    sourcing_reversion: Range | None = (0.05, 0.9)
    price_scarcity_exponent: Range | None = (5.0, 20.0)
    spare_capacity_scale: Range | None = (0.5, 1.5)

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
    ``price_index``: the commodity's price relative to the base (pre-shock) level;
    ``export_ratio``: ``region``'s exports of the commodity to all other regions relative to the
    first (no-shock) month; ``import_share``: the share of ``region``'s imports of the commodity
    that come from ``origin``. An observation of a year or a quarter covers ``months`` months from
    ``period`` (prices averaged, flows summed before the ratio)."""

    metric: Literal["price_index", "export_ratio", "import_share"]
    commodity: str
    region: str | None = None
    origin: str | None = None
    period: YearMonth
    months: Annotated[int, Field(ge=1, le=120)] = 1
    value: Annotated[float, Field(ge=0.0)]
    source: str

    @model_validator(mode="after")
    def _region(self) -> Self:
        if self.metric == "export_ratio" and self.region is None:
            raise ValueError("export_ratio needs the exporting region")
        if self.metric == "import_share" and (self.region is None or self.origin is None):
            raise ValueError("import_share needs the importing region and the origin")
        return self


class Scenario(_Model):
    """A scenario: dataset and base year, monthly horizon from ``start``, the shocks and responses.
    ``notes`` are shown in the report (sources, calibration targets and fit).
    Model parameters (assumptions until calibrated): ``capacity_utilisation`` of producers in the
    base year (spare capacity = 1/utilisation − 1); ``sourcing_adjustment``, the share of the gap
    between last month's sourcing and what actually arrived that buyers close each month;
    ``sourcing_reversion``, the share of the way back to base-year suppliers (as far as controls
    allow) that buyers go each month;
    ``price_scarcity_exponent`` η in price = base price × exp(η × world shortfall share)."""

    name: str
    description: str = ""
    notes: list[str] = []
    datasets: list[str] = ["default"]
    material: str = "rare_earths"
    base_year: int = 2024
    start: YearMonth
    horizon_months: Annotated[int, Field(ge=1, le=600)] = 120
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
    uncertainty: Uncertainty | None = None
    priorities: dict[str, Annotated[float, Field(gt=0.0)]] = {}
    capacity_utilisation: Annotated[float, Field(gt=0.0, le=1.0)] = 0.85
    sourcing_adjustment: Share = 0.3
    sourcing_reversion: Share = 0.1
    price_scarcity_exponent: Annotated[float, Field(ge=0.0)] = 11.0

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        if isinstance(data, dict) and "seed" in data:
            raise ValueError("seed is now uncertainty.seed (the seed of the Monte Carlo draws)")
        return data

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


def check_scenario(scenario: Scenario, ds: Dataset, origin: str = "scenario") -> None:
    """Check a scenario against the dataset: codes exist, dates fall in the horizon, and no two
    export controls on the same controller, commodity and target overlap in time."""
    regions = set(ds["regions"]["region_id"])
    commodities = set(ds["commodities"]["commodity_id"])
    sectors = set(ds["sectors"]["sector_id"])
    facilities = set(ds["facilities"]["facility_id"])
    first, last = 0, scenario.horizon_months - 1

    def need(kind: str, known: set[str], value: str, field: str) -> None:
        if value not in known:
            raise ScenarioError(f"{origin}: field {field}: unknown {kind} {value!r}; see `chokepoint data export`")

    def within(when: YearMonth | None, field: str) -> None:
        if when is not None and not first <= when.index(scenario.start) <= last:
            raise ScenarioError(
                f"{origin}: field {field}: {when} is outside the horizon {scenario.start} to {scenario.end}"
            )

    for i, c in enumerate(scenario.export_controls):
        f = f"export_controls[{i}]"
        need("region", regions, c.controller, f"{f}.controller")
        for k in c.commodities:
            need("commodity", commodities, k, f"{f}.commodities")
        for r in (c.targets.countries or []) + (c.targets.all_but or []):
            need("region", regions, r, f"{f}.targets")
        for leak in c.leakage:
            need("region", regions, leak.via, f"{f}.leakage.via")
        if isinstance(c.instrument, Licence):
            for s in c.instrument.excluded_sectors:
                need("sector", sectors, s, f"{f}.instrument.excluded_sectors")
        within(c.start, f"{f}.start")
    for i, d in enumerate(scenario.disruptions):
        f = f"disruptions[{i}]"
        need("region", regions, d.region, f"{f}.region")
        need("commodity", commodities, d.commodity, f"{f}.commodity")
        if d.facility is not None:
            need("facility", facilities, d.facility, f"{f}.facility")
        within(d.start, f"{f}.start")
    for i, dc in enumerate(scenario.demand):
        need("sector", sectors, dc.sector, f"demand[{i}].sector")
        need("region", regions, dc.region, f"demand[{i}].region")
    located: list[tuple[str, Stockpile | Recycling]] = [
        *((f"stockpiles[{i}]", x) for i, x in enumerate(scenario.stockpiles)),
        *((f"recycling[{i}]", x) for i, x in enumerate(scenario.recycling)),
    ]
    for f, item in located:
        need("region", regions, item.region, f"{f}.region")
        need("commodity", commodities, item.commodity, f"{f}.commodity")
    for i, p in enumerate(scenario.projects):
        need("region", regions, p.region, f"projects[{i}].region")
        need("commodity", commodities, p.commodity, f"projects[{i}].commodity")
        within(p.start, f"projects[{i}].start")
    for i, sub in enumerate(scenario.substitution):
        need("sector", sectors, sub.sector, f"substitution[{i}].sector")
        need("commodity", commodities, sub.commodity, f"substitution[{i}].commodity")
    for i, o in enumerate(scenario.offtakes):
        need("region", regions, o.buyer, f"offtakes[{i}].buyer")
        need("region", regions, o.seller, f"offtakes[{i}].seller")
        need("commodity", commodities, o.commodity, f"offtakes[{i}].commodity")
    priced = set(ds["prices"].loc[ds["prices"]["year"] == scenario.base_year, "commodity_id"])
    for i, pf in enumerate(scenario.price_floors):
        need("region", regions, pf.region, f"price_floors[{i}].region")
        need("commodity", commodities, pf.commodity, f"price_floors[{i}].commodity")
        if pf.commodity not in priced:
            raise ScenarioError(
                f"{origin}: field price_floors[{i}].commodity: no {scenario.base_year} price for {pf.commodity!r} "
                "in the prices table; a floor is paid against the market price"
            )
        within(pf.start, f"price_floors[{i}].start")
    for i, ob in enumerate(scenario.observed):
        need("commodity", commodities, ob.commodity, f"observed[{i}].commodity")
        for field in ("region", "origin"):
            code = getattr(ob, field)
            if code is not None:
                need("region", regions, code, f"observed[{i}].{field}")
        within(ob.period, f"observed[{i}].period")
        if ob.period.index(scenario.start) + ob.months - 1 > last:
            raise ScenarioError(
                f"{origin}: field observed[{i}].months: {ob.months} months from {ob.period} run past the "
                f"horizon end {scenario.end}"
            )
    for sector in scenario.priorities:
        need("sector", sectors, sector, "priorities")
    _check_contradictions(scenario, origin)


def _check_contradictions(scenario: Scenario, origin: str) -> None:
    """Two trade controls (not technology bans) by one controller on one commodity and target must
    not overlap in time: which would apply is ambiguous."""
    horizon = scenario.horizon_months
    controls = [c for c in scenario.export_controls if not isinstance(c.instrument, TechnologyBan)]
    for i, a in enumerate(controls):
        for b in controls[i + 1 :]:
            if a.controller != b.controller or not set(a.commodities) & set(b.commodities):
                continue
            a_end = a.end.index(scenario.start) if a.end else horizon
            b_end = b.end.index(scenario.start) if b.end else horizon
            overlap = max(a.start.index(scenario.start), b.start.index(scenario.start)) <= min(a_end, b_end)
            if overlap and _share_a_target(a.targets, b.targets) and a.elements == b.elements:
                shared = sorted(set(a.commodities) & set(b.commodities))[0]
                raise ScenarioError(
                    f"{origin}: export controls {a.name!r} and {b.name!r} both control {shared} from "
                    f"{a.controller} to the same targets at the same time; end one before the other starts"
                )


def _share_a_target(a: Targets, b: Targets) -> bool:
    if a.countries is None and b.countries is None:
        return True  # two "all but" lists always share the countries neither names
    listed = a.countries if a.countries is not None else b.countries or []
    return any(a.hits(r) and b.hits(r) for r in listed)


_SECTIONS: tuple[tuple[str, type[BaseModel]], ...] = (
    ("Scenario (top level)", Scenario),
    ("export_controls[]", ExportControl),
    ("targets", Targets),
    ("instrument: ban", Ban),
    ("instrument: licence", Licence),
    ("instrument: quota", Quota),
    ("instrument: technology_ban", TechnologyBan),
    ("instrument: content_rule", ContentRule),
    ("leakage[]", Leakage),
    ("disruptions[]", Disruption),
    ("demand[]", DemandChange),
    ("stockpiles[]", Stockpile),
    ("projects[]", CapacityProject),
    ("recycling[]", Recycling),
    ("substitution[]", Substitution),
    ("offtakes[]", Offtake),
    ("observed[]", Observation),
)


_BOUNDS = (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"), ("min_length", "at least"))


def _type_name(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _type_name(args[0])
    if origin in (Union, UnionType):
        names = " or ".join(_type_name(a) for a in args if a is not type(None))
        return names + (" or none" if type(None) in args else "")
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}"
    if origin is Literal:
        return " or ".join(f"`{a}`" for a in args)
    return str(getattr(annotation, "__name__", annotation))


def scenario_markdown() -> str:
    """The field-by-field reference of scenario files (``docs/scenarios.md``), from the models."""
    lines = [
        "# Scenario files",
        "",
        "Generated from `src/chokepoint/scenario.py` by `chokepoint scenario-schema`; do not edit by hand.",
        "Units are in field names (`_t` tonnes, `_t_per_yr` tonnes per year, `_months` months); shares",
        "are fractions 0–1; dates are `YYYY-MM`. Unknown fields are errors. Example:",
        "`examples/scenarios/china-2025-licensing.yaml`.",
        "",
    ]
    for title, model in _SECTIONS:
        doc = " ".join((model.__doc__ or "").split())
        lines += (
            [f"## {title}", "", doc, "", "| field | type | default |", "|---|---|---|"]
            if doc
            else [
                f"## {title}",
                "",
                "| field | type | default |",
                "|---|---|---|",
            ]
        )
        for name, info in model.model_fields.items():
            kind = _type_name(info.annotation)
            bounds = [f"{sym} {getattr(m, attr)}" for m in info.metadata for attr, sym in _BOUNDS if hasattr(m, attr)]
            if bounds:
                kind += f" ({', '.join(bounds)})"
            default = "required" if info.is_required() else f"`{info.default!r}`"
            lines.append(f"| `{name}` | {kind} | {default} |")
        lines.append("")
    return "\n".join(lines)
