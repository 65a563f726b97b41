"""A scenario turned into arrays over time: capacity, allowed trade, demand, stocks, responses.

Everything the period loop needs is precomputed here, once, as plain arrays indexed by period
``t`` (months from the scenario start), region ``r``, commodity ``k`` (stage) and sector ``s``;
the loop itself (:mod:`chokepoint.simulation.engine`) only does arithmetic on them. Each
instrument family's rule is one array function in :mod:`chokepoint.simulation.instruments`;
:func:`build_plan` gathers each family's values from the scenario and calls it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.dataset.groups import covered_commodities, group_members
from chokepoint.iomath import solve_leontief
from chokepoint.network import WORLD
from chokepoint.scenario import (
    Ban,
    ContentRule,
    ExportControl,
    Licence,
    Quota,
    Scenario,
    TechnologyBan,
    YearMonth,
)
from chokepoint.scenario.groups import resolve_groups
from chokepoint.simulation.baseline import Baseline
from chokepoint.simulation.instruments import (
    active_months,
    plan_ban,
    plan_content_rule,
    plan_demand_path,
    plan_disruption,
    plan_excluded_sectors,
    plan_licence,
    plan_offtake,
    plan_priority,
    plan_project,
    plan_quota,
    plan_recycling,
    plan_stockpile,
    plan_substitution,
    plan_technology_ban,
    plan_trade_control,
)
from chokepoint.simulation.leakage import RoutePlan
from chokepoint.simulation.quotas import BELOW_ONE, QuotaPlan
from chokepoint.simulation.supply import SupplyPlan, supply_plan

__all__ = ["Plan", "affected_share", "build_plan", "controller_content"]

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Plan:
    """Time paths for one scenario on one baseline (monthly; shapes in comments)."""

    periods: pd.PeriodIndex  # (T,)
    capacity_t: Array  # (T, n) capacity per month, after disruptions and projects
    allowed: Array  # (T, K, R, R) share of orders from buyer b to origin o that may ship
    demand_multiplier: Array  # (T, n, S) multiplier of base final demand
    excluded: Array  # (T, R, S) 1 where a sector of a region may not use controlled supply
    controlled_origin: Array  # (T, K, R, R) share of the o→b flow under a control
    stock_target_t: Array  # (n,) strategic stock held at the start
    stock_max_release_t: Array  # (n,) largest monthly release
    stock_refill_months: Array  # (n,) months to refill (inf: never)
    stock_release: Array  # (n,) 1 where stock is released on shortfall
    recycled_t: Array  # (T, n) secondary supply per month
    substitution_ceiling: Array  # (S, K)
    substitution_elasticity: Array  # (S, K) (≤ 0)
    substitution_lag: Array  # (S, K) months
    substitution_reversal: Array  # (S, K) months to undo it when the price falls
    priority: Array  # (S,) weight of each sector when supply is short
    offtake_t: Array  # (T, K, R, R) tonnes per month reserved from seller o for buyer b
    project_capacity_t: Array  # (T, P) each capacity project's capacity per month
    supply: SupplyPlan  # entrants and producers' costs (entry and exit)
    quotas: list[QuotaPlan]  # export quotas, allocated monthly
    routes: list[RoutePlan]  # leakage routes through third countries, applied monthly
    project_node: npt.NDArray[np.intp]  # (P,) the node a project adds to (-1: not in the network)
    project_learning_rate: Array  # (P,) learning rate after any technology ban's slowdown
    #: product group → its members in the chain (a statistic's code; observations may name one)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _months(scenario: Scenario, when: YearMonth | None, default: int) -> int:
    return default if when is None else when.index(scenario.start)


def covered_by(control: ExportControl, ds: Dataset) -> frozenset[str]:
    """The commodities a control on ``elements`` covers in full: those containing a listed element
    and every member of a ``held_whole`` group with one such member."""
    covered = covered_commodities(ds["commodities"], control.elements)
    groups = group_members(ds["commodities"]) if control.held_whole else {}
    return covered.union(*(groups[g] for g in control.held_whole if covered.intersection(groups[g])))


def affected_share(control: ExportControl, commodity: str, ds: Dataset, covered: frozenset[str] | None = None) -> float:
    """Share of ``commodity``'s flow a control covers: the scenario's ``affected_share`` if given;
    all of it without ``elements``; else all of it when the commodity contains one of the listed
    elements (``commodities.elements``, case-insensitive; a commodity listing none is covered in
    full) and none of it otherwise. With element-resolved commodities a control on Dy and Tb thus
    stops Dy and Tb oxide, metal and the magnets made with them, and leaves La or Ce untouched.
    A member of a ``held_whole`` group is covered in full when any member of the group is
    (:func:`covered_by`; pass ``covered`` to reuse it across a control's commodities)."""
    if control.affected_share is not None:
        return control.affected_share
    if not control.elements:
        return 1.0
    return 1.0 if commodity in (covered_by(control, ds) if covered is None else covered) else 0.0


def build_plan(baseline: Baseline, scenario: Scenario, ds: Dataset) -> Plan:
    """Turn ``scenario`` into time paths on ``baseline`` (codes already checked by check_scenario
    and product groups resolved to members by :func:`chokepoint.scenario.groups.resolve_groups`):
    one ``plan_<instrument>`` call per family (:mod:`chokepoint.simulation.instruments`). Product
    groups are resolved here too (idempotent), so a control on ``ndfeb_magnet`` never goes unplanned."""
    scenario = resolve_groups(scenario, ds)
    net = baseline.net
    T, R, K, S, n = (
        scenario.horizon_months,
        len(net.regions),
        len(net.commodities),
        len(baseline.sectors),
        len(net.nodes),
    )
    periods = pd.period_range(f"{scenario.start}", periods=T, freq="M")
    project_capacity, project_node, learning = _projects(baseline, scenario)
    capacity = baseline.capacity_t[None, :] * _disruptions(baseline, scenario, ds)
    inside = project_node >= 0
    np.add.at(capacity.T, project_node[inside], project_capacity[:, inside].T)  # projects on one node add
    allowed, controlled, excluded, quotas, routes = _trade_controls(baseline, scenario, ds)
    stock, max_release, refill, release = _stockpiles(baseline, scenario)
    sub = [x for x in scenario.substitution if x.sector in baseline.sectors and x.commodity in net.commodities]
    ceiling, elasticity, lag, reversal = plan_substitution(
        S,
        K,
        pd.Index(baseline.sectors).get_indexer(pd.Index([x.sector for x in sub])),
        net.commodity_index(x.commodity for x in sub),
        [x.ceiling for x in sub],
        [x.price_elasticity for x in sub],
        [x.lag_months for x in sub],
        [x.lag_months if x.reversal_months is None else x.reversal_months for x in sub],
    )
    off = [
        o
        for o in scenario.offtakes
        if o.seller in net.regions and o.buyer in net.regions and o.commodity in net.commodities
    ]
    offtake = plan_offtake(
        T,
        K,
        R,
        net.commodity_index(o.commodity for o in off),
        net.region_index(o.seller for o in off),
        net.region_index(o.buyer for o in off),
        [o.quantity_t_per_yr for o in off],
        _window(scenario, [(o.start, o.end) for o in off]),
    )
    return Plan(
        periods=periods,
        capacity_t=capacity,
        allowed=allowed,
        demand_multiplier=_demand(baseline, scenario, periods, n, S),
        excluded=excluded,
        controlled_origin=controlled,
        stock_target_t=stock,
        stock_max_release_t=max_release,
        stock_refill_months=refill,
        stock_release=release,
        recycled_t=_recycling(baseline, scenario),
        substitution_ceiling=ceiling,
        substitution_elasticity=elasticity,
        substitution_lag=lag,
        substitution_reversal=reversal,
        priority=plan_priority([scenario.priorities.get(s, 1.0) for s in baseline.sectors]),
        offtake_t=offtake,
        project_capacity_t=project_capacity,
        supply=supply_plan(baseline, scenario),
        quotas=quotas,
        routes=routes,
        project_node=project_node,
        project_learning_rate=learning,
        groups={g: ks for g, ks in group_members(ds["commodities"]).items() if set(ks) <= set(net.commodities)},
    )


def _window(scenario: Scenario, spans: list[tuple[YearMonth, YearMonth | None]]) -> npt.NDArray[np.bool_]:
    """(len(spans), T) months each (start, end) span is in force."""
    T = scenario.horizon_months
    starts = np.array([_months(scenario, s, 0) for s, _ in spans], dtype=int)
    ends = np.array([_months(scenario, e, T) for _, e in spans], dtype=int)
    return active_months(T, starts, ends).reshape(len(spans), T)


def _disruptions(baseline: Baseline, scenario: Scenario, ds: Dataset) -> Array:
    """(T, n) capacity multiplier; a facility's outage counts at its share of the region's capacity
    (of every member of its product group when the facility is filed under a group: a separation
    plant's tonnes are all its oxides')."""
    net = baseline.net
    hits = [d for d in scenario.disruptions if net.node_index([d.region], [d.commodity])[0] >= 0]
    node = net.node_index([d.region for d in hits], [d.commodity for d in hits])
    cap, facilities = ds["facility_capacity"], ds["facilities"].set_index("facility_id")["commodity_id"]
    groups = group_members(ds["commodities"])
    shares = []
    for d, i in zip(hits, node, strict=True):
        share = d.share
        if d.facility is not None:
            fac = cap[cap["facility_id"] == d.facility]["capacity_t_per_yr"].dropna()
            filed = str(facilities.get(d.facility, d.commodity))
            same = net.node_index([d.region] * len(groups.get(filed, ())), list(groups.get(filed, ())))
            region_cap = baseline.capacity_t[same[same >= 0] if (same >= 0).any() else [i]].sum() * 12
            share *= min(1.0, float(fac.iloc[-1]) / region_cap) if len(fac) and region_cap > 0 else 0.0
        shares.append(share)
    return plan_disruption(len(net.nodes), node, shares, _window(scenario, [(d.start, d.end) for d in hits]))


def _projects(baseline: Baseline, scenario: Scenario) -> tuple[Array, npt.NDArray[np.intp], Array]:
    """Each project's monthly capacity (T, P), node (P,; −1 outside the network) and learning rate,
    after the slowdown of technology bans in force at some point of its (unslowed) ramp."""
    T, projects = scenario.horizon_months, scenario.projects
    bans = [c for c in scenario.export_controls if isinstance(c.instrument, TechnologyBan)]
    online = np.array([_months(scenario, p.start, 0) + p.permitting_delay_months for p in projects], dtype=float)
    ramp = np.array([p.ramp_months for p in projects], dtype=float)
    begin = np.array([_months(scenario, c.start, 0) for c in bans], dtype=float)
    end = np.array([_months(scenario, c.end, T) for c in bans], dtype=float)
    hit = np.array(
        [
            [p.commodity in c.commodities and c.targets.hits(p.region) and p.region != c.controller for c in bans]
            for p in projects
        ],
        dtype=bool,
    ).reshape(len(projects), len(bans))
    hit &= (begin[None, :] < (online + np.maximum(1.0, ramp))[:, None]) & (end[None, :] >= online[:, None])
    slow, factor = plan_technology_ban(
        hit,
        [c.instrument.ramp_slowdown for c in bans if isinstance(c.instrument, TechnologyBan)],
        [c.instrument.learning_slowdown for c in bans if isinstance(c.instrument, TechnologyBan)],
    )
    capacity = plan_project(T, [p.capacity_t_per_yr for p in projects], online, np.maximum(1.0, ramp * slow))
    node = baseline.net.node_index([p.region for p in projects], [p.commodity for p in projects])
    learning = np.array([p.learning_rate for p in projects], dtype=float) * factor
    return capacity.reshape(T, len(projects)), node, learning.reshape(len(projects))


def _trade_controls(
    baseline: Baseline, scenario: Scenario, ds: Dataset
) -> tuple[Array, Array, Array, list[QuotaPlan], list[RoutePlan]]:
    """Allowed and controlled shares of each lane (T, K, R, R), licence-excluded sectors (T, R, S),
    the quotas and the leakage routes (both applied monthly: :mod:`chokepoint.simulation.quotas`,
    :mod:`chokepoint.simulation.leakage`)."""
    net = baseline.net
    T, regions, R, K = scenario.horizon_months, list(net.regions), len(net.regions), len(net.commodities)
    allowed, controlled = np.ones((T, K, R, R)), np.zeros((T, K, R, R))
    excluded = np.zeros((T, R, len(baseline.sectors)))
    base_orders = _baseline_orders(baseline, R, K)
    quotas: list[QuotaPlan] = []
    routes: list[RoutePlan] = []
    content: dict[str, Array] = {}  # controller → its upstream content of every product (one solve each)
    for c in scenario.export_controls:
        if isinstance(c.instrument, TechnologyBan) or c.controller not in net.regions:
            continue
        inst, controller = c.instrument, net.region_position[c.controller]
        active = _window(scenario, [(c.start, c.end)])[0]
        targets = np.array([c.targets.hits(r) and r != c.controller for r in regions])
        if isinstance(inst, Licence) and any(k in net.commodities for k in c.commodities):
            sectors = pd.Index(baseline.sectors).get_indexer(pd.Index(inst.excluded_sectors))
            plan_excluded_sectors(excluded, active, targets, sectors[sectors >= 0])
        covered = covered_by(c, ds) if c.elements and c.affected_share is None else None
        for k in (k for k in c.commodities if k in net.commodities):
            ki, affected = net.commodity_position[k], affected_share(c, k, ds, covered)
            origins = np.arange(R) == controller
            if isinstance(inst, Ban):
                keep = plan_ban(affected, active)
            elif isinstance(inst, Licence):
                start = _months(scenario, c.start, 0)
                keep = plan_licence(affected, inst.approval_share, start, inst.processing_delay_months, active)
            elif isinstance(inst, Quota):
                # one quota on the listed commodities together (China's 2010-14 quotas covered every
                # rare-earth product): the plan holds quota / their joint base exports to the targets
                # (sourcing aims at it); each month the tonnage is allocated (simulation/quotas.py)
                listed = net.commodity_index(c.commodities)
                listed = listed[listed >= 0]
                base = base_orders[listed][:, controller] * targets  # (m, R)
                keep = plan_quota(affected, inst.quota_t_per_yr, base.sum(), active)
                keep = np.where(active, np.minimum(keep, BELOW_ONE), keep)
                if ki == listed[0]:  # one allocation for all the listed commodities
                    monthly = np.where(active, inst.quota_t_per_yr / 12.0, np.inf)
                    quotas.append(
                        QuotaPlan(
                            listed,
                            controller,
                            targets,
                            affected,
                            monthly,
                            inst.allocation,
                            base / base.sum() if base.sum() > 0 else base,
                        )
                    )
            else:
                assert isinstance(inst, ContentRule)
                # Products made elsewhere whose upstream content from the controller reaches the
                # threshold (traced through the base-year network).
                if c.controller not in content:
                    content[c.controller] = controller_content(baseline, c.controller)
                origins = content[c.controller][:, ki] >= inst.content_threshold
                origins[controller] = False
                keep = plan_content_rule(affected, inst.approval_share, active)
            plan_trade_control(allowed, controlled, keep, affected, active, ki, origins, targets)
        listed = net.commodity_index(c.commodities)
        for leak in c.leakage:  # routed each month (simulation/leakage.py)
            cap = np.inf if leak.capacity_t_per_yr is None else leak.capacity_t_per_yr / 12.0
            routes.append(
                RoutePlan(
                    c.name, leak.via, listed[listed >= 0], controller, targets, active, leak.share, cap, leak.premium
                )
            )
    return allowed, controlled, excluded, quotas, routes


def _demand(baseline: Baseline, scenario: Scenario, periods: pd.PeriodIndex, n: int, S: int) -> Array:
    """(T, n, S) multipliers of base final demand: each demand change's path on its sector in its
    region (every region for :data:`WORLD`); a later change of the same cells replaces an earlier."""
    multiplier = np.ones((len(periods), n, S))
    years = periods.year.to_numpy() + (periods.month.to_numpy() - 0.5) / 12.0
    node_region = np.asarray(baseline.net.nodes.get_level_values("region_id"))
    for dc in scenario.demand:
        if dc.sector not in baseline.sectors:
            continue
        knots = sorted(dc.multipliers.items())
        xs = np.array([scenario.base_year + 0.5] + [y + 0.5 for y, _ in knots])
        path = plan_demand_path(years, xs, [1.0] + [m for _, m in knots])
        rows = np.ones(n, dtype=bool) if dc.region == WORLD else node_region == dc.region
        multiplier[:, rows, baseline.sectors.index(dc.sector)] = path[:, None]
    return multiplier


def _stockpiles(baseline: Baseline, scenario: Scenario) -> tuple[Array, Array, Array, Array]:
    net = baseline.net
    piles = [x for x in scenario.stockpiles if net.node_index([x.region], [x.commodity])[0] >= 0]
    return plan_stockpile(
        len(net.nodes),
        net.node_index([x.region for x in piles], [x.commodity for x in piles]),
        _baseline_use(baseline),
        [np.nan if x.stock_t is None else x.stock_t for x in piles],
        [x.months_of_demand or 0.0 for x in piles],
        [np.inf if x.max_release_t_per_month is None else x.max_release_t_per_month for x in piles],
        [x.refill_months if x.refill_months else np.inf for x in piles],
        [1.0 if x.release == "on_shortfall" else 0.0 for x in piles],
    )


def _recycling(baseline: Baseline, scenario: Scenario) -> Array:
    net = baseline.net
    rec = [x for x in scenario.recycling if net.node_index([x.region], [x.commodity])[0] >= 0]
    return plan_recycling(
        scenario.horizon_months,
        len(net.nodes),
        net.node_index([x.region for x in rec], [x.commodity for x in rec]),
        [_months(scenario, x.start, 0) for x in rec],
        [x.ramp_months for x in rec],
        [x.collection_rate * x.recovery_rate for x in rec],
        baseline.final_t.sum(axis=1),
    )


def controller_content(baseline: Baseline, controller: str) -> Array:
    """(R, K): the largest share, over the upstream stages of each region's product, of that
    stage's requirement supplied by ``controller`` (e.g. 0.9 for Japanese magnets made from 90%
    Chinese metal), from the Leontief solve of one tonne made at each node; 0 without inputs."""
    net = baseline.net
    R, K = len(net.regions), len(baseline.commodities)
    X = np.asarray(solve_leontief(net.A, np.eye(R * K)).X).reshape(R, K, R, K)  # (origin, stage, region, product)
    total = X.sum(axis=0)  # (stage, region, product)
    share = np.divide(X[list(net.regions).index(controller)], total, out=np.zeros_like(total), where=total > 1e-12)
    share[np.arange(K), :, np.arange(K)] = 0.0  # a product's own stage is not upstream content
    return np.asarray(share.max(axis=0))


def _baseline_use(baseline: Baseline) -> Array:
    """Each node's monthly use of its commodity in the baseline: final use plus inputs."""
    return np.asarray(baseline.final_t.sum(axis=1) + _inputs_by_region(baseline), dtype=float)


def _inputs_by_region(baseline: Baseline) -> Array:
    """Inputs each region's production uses, at the node of the input commodity."""
    K = len(baseline.commodities)
    x = baseline.production_t.reshape(-1, K)  # (R, K)
    return np.asarray((x @ baseline.inputs.T).ravel(), dtype=float)


def _baseline_orders(baseline: Baseline, R: int, K: int) -> Array:
    """Baseline flows o→b per commodity (K, R, R): the mix applied to each region's use."""
    use = _baseline_use(baseline).reshape(R, K)
    mix = baseline.net.mix.toarray().reshape(R, K, R, K)
    orders = np.zeros((K, R, R))
    for k in range(K):
        orders[k] = mix[:, k, :, k] * use[None, :, k]
    return orders
