"""A scenario checked against the dataset it runs on: codes exist, dates fall in the horizon, and
no two trade controls contradict each other. Every problem is one :class:`ScenarioError` line."""

from __future__ import annotations

import difflib

from chokepoint.dataset import Dataset
from chokepoint.dataset.groups import ELEMENT_SYMBOLS, element_symbol, group_members
from chokepoint.network import OTHER_SECTOR
from chokepoint.scenario import (
    Entrant,
    ExportControl,
    Licence,
    ProducerCost,
    Recycling,
    Scenario,
    ScenarioError,
    Stockpile,
    Targets,
    TechnologyBan,
    YearMonth,
)
from chokepoint.yamlfile import did_you_mean, with_field_lines

__all__ = ["RARE_EARTH_ELEMENTS", "check_scenario"]

#: The 17 rare-earth element symbols (IUPAC), as China's and others' control lists group them.
RARE_EARTH_ELEMENTS = (
    "Sc",
    "Y",
    "La",
    "Ce",
    "Pr",
    "Nd",
    "Pm",
    "Sm",
    "Eu",
    "Gd",
    "Tb",
    "Dy",
    "Ho",
    "Er",
    "Tm",
    "Yb",
    "Lu",
)


def _check_content(c: ExportControl, f: str, groups: dict[str, tuple[str, ...]], origin: str) -> None:
    """A control's ``held_whole`` groups are product groups it lists, its ``elements`` real symbols."""
    for g in c.held_whole:
        if len(groups.get(g, ())) < 2 or g not in c.commodities:
            raise ScenarioError(
                f"{origin}: field {f}.held_whole: {g!r} is not a product group among the control's "
                f"commodities ({', '.join(c.commodities)}); name a group such as ndfeb_magnet"
            )
    for e in c.elements:
        # an unknown symbol would match no commodity and switch the control off silently
        if element_symbol(e) is None:
            raise ScenarioError(
                f"{origin}: field {f}.elements: unknown element symbol {e!r}"
                f"{_closest_symbol(e)}; use chemical symbols such as Dy, Tb, Ga"
            )


@with_field_lines  # errors end with the YAML line of the field they name
def check_scenario(scenario: Scenario, ds: Dataset, origin: str = "scenario") -> None:
    """Check a scenario against the dataset: codes exist, dates fall in the horizon, and no two
    export controls on the same controller, commodity and target overlap in time."""
    regions = set(ds["regions"]["region_id"])
    # a product group (the statistics' code) stands for its members (chokepoint.scenario.groups)
    groups = group_members(ds["commodities"])
    commodities = set(ds["commodities"]["commodity_id"]) | set(groups)
    sectors = set(ds["sectors"]["sector_id"]) | {OTHER_SECTOR}
    facilities = set(ds["facilities"]["facility_id"])
    first, last = 0, scenario.horizon_months - 1

    def need(kind: str, known: set[str], value: str, field: str) -> None:
        if value not in known:
            hint = did_you_mean(value, known)
            raise ScenarioError(
                f"{origin}: field {field}: unknown {kind} {value!r}{hint}; see `chokepoint data export`"
            )

    def within(when: YearMonth | None, field: str) -> None:
        if when is not None and not first <= when.index(scenario.start) <= last:
            raise ScenarioError(
                f"{origin}: field {field}: {when} is outside the horizon {scenario.start} to {scenario.end}"
            )

    if scenario.projected_from is not None:
        need("region", regions, scenario.projected_from.controller, "projected_from.controller")
    for i, fc in enumerate(scenario.focus):
        need("region", regions, fc.region, f"focus[{i}].region")
        if fc.sector is not None:
            need("sector", sectors, fc.sector, f"focus[{i}].sector")
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
        _check_content(c, f, groups, origin)
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
    located: list[tuple[str, Stockpile | Recycling | Entrant | ProducerCost]] = [
        *((f"stockpiles[{i}]", x) for i, x in enumerate(scenario.stockpiles)),
        *((f"recycling[{i}]", x) for i, x in enumerate(scenario.recycling)),
        *((f"supply_response.entrants[{i}]", x) for i, x in enumerate(scenario.supply_response.entrants)),
        *((f"supply_response.costs[{i}]", x) for i, x in enumerate(scenario.supply_response.costs)),
    ]
    for f, item in located:
        need("region", regions, item.region, f"{f}.region")
        need("commodity", commodities, item.commodity, f"{f}.commodity")
        if isinstance(item, Entrant):
            within(item.earliest, f"{f}.earliest")
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
        for field in ("region", "origin", "outside"):
            code = getattr(ob, field)
            if code is not None:
                need("region", regions, code, f"observed[{i}].{field}")
        within(ob.period, f"observed[{i}].period")
    for sector in scenario.priorities:
        need("sector", sectors, sector, "priorities")
    _check_observation_windows(scenario, origin)
    _check_demand_years(scenario, origin)
    _check_contradictions(scenario, origin)


def _closest_symbol(text: str) -> str:
    """``"; did you mean 'Dy'?"`` for the nearest element symbol (symbols are short, so the cut-off
    is lower than for codes: 'Dz' → 'Dy')."""
    folded = [s.casefold() for s in ELEMENT_SYMBOLS]
    same_letter = [s for s in folded if s[0] == text.casefold()[:1]]
    close = difflib.get_close_matches(text.casefold(), same_letter, n=1, cutoff=0.5) or difflib.get_close_matches(
        text.casefold(), folded, n=1, cutoff=0.6
    )
    return f"; did you mean {element_symbol(close[0])!r}?" if close else ""


def _check_observation_windows(scenario: Scenario, origin: str) -> None:
    """Every observation's months fall inside the horizon (its first month is checked with the codes)."""
    last = scenario.horizon_months - 1
    for i, ob in enumerate(scenario.observed):
        if ob.period.index(scenario.start) + ob.months - 1 > last:
            raise ScenarioError(
                f"{origin}: field observed[{i}].months: {ob.months} months from {ob.period} run past the "
                f"horizon end {scenario.end}"
            )


def _check_demand_years(scenario: Scenario, origin: str) -> None:
    """A demand multiplier's year lies between the base year and the horizon's last year: outside it
    shapes no month, and the change would run as if it did not exist."""
    years = (min(scenario.base_year, scenario.start.year), scenario.end.year)
    for i, dc in enumerate(scenario.demand):
        for year in dc.multipliers:
            if not years[0] <= year <= years[1]:
                raise ScenarioError(
                    f"{origin}: field demand[{i}].multipliers: year {year} is outside the base year and horizon "
                    f"{years[0]} to {years[1]}; give multipliers for years in that span"
                )


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
            same_elements = {element_symbol(e) for e in a.elements} == {element_symbol(e) for e in b.elements}
            if overlap and _share_a_target(a.targets, b.targets) and same_elements:
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
