"""A scenario turned into arrays over time: capacity, allowed trade, demand, stocks, responses.

Everything the period loop needs is precomputed here, once, as plain arrays indexed by period
``t`` (months from the scenario start), region ``r``, commodity ``k`` (stage) and sector ``s``;
the loop itself (:mod:`chokepoint.simulation.engine`) only does arithmetic on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.iomath import solve_leontief
from chokepoint.scenario import (
    Ban,
    CapacityProject,
    ContentRule,
    ExportControl,
    Licence,
    Quota,
    Scenario,
    TechnologyBan,
    YearMonth,
)
from chokepoint.simulation.baseline import Baseline

__all__ = ["Plan", "build_plan"]

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
    priority: Array  # (S,) weight of each sector when supply is short
    offtake_t: Array  # (T, K, R, R) tonnes per month reserved from seller o for buyer b
    project_capacity_t: Array  # (T, P) each capacity project's capacity per month
    project_node: npt.NDArray[np.intp]  # (P,) the node a project adds to (-1: not in the network)
    project_learning_rate: Array  # (P,) learning rate after any technology ban's slowdown


def _months(scenario: Scenario, when: YearMonth | None, default: int) -> int:
    return default if when is None else when.index(scenario.start)


def _affected_share(control: ExportControl, commodity: str, ds: Dataset) -> float:
    if control.affected_share is not None:
        return control.affected_share
    if commodity == "ndfeb_magnet" or not control.elements:
        return 1.0
    split = ds["element_content"]
    world = split[(split["region_id"] == "WLD") & (split["commodity_id"] == "ree_concentrate")]
    return float(world.loc[world["element"].isin(control.elements), "share_of_reo"].sum())


def build_plan(baseline: Baseline, scenario: Scenario, ds: Dataset) -> Plan:
    """Turn ``scenario`` into time paths on ``baseline`` (codes already checked by check_scenario)."""
    net = baseline.net
    T = scenario.horizon_months
    regions = list(net.regions)
    ks = baseline.commodities
    R, K, n, S = len(regions), len(ks), len(net.nodes), len(baseline.sectors)
    r_of = {r: i for i, r in enumerate(regions)}
    k_of = {k: i for i, k in enumerate(ks)}
    node_of = {key: i for i, key in enumerate(net.nodes)}
    periods = pd.period_range(f"{scenario.start}", periods=T, freq="M")
    t = np.arange(T)

    def active(start: YearMonth, end: YearMonth | None) -> npt.NDArray[np.bool_]:
        return (t >= _months(scenario, start, 0)) & (t <= _months(scenario, end, T))

    # Capacity: base, minus disruptions, plus projects ramping after permitting.
    capacity = np.tile(baseline.capacity_t, (T, 1))
    for d in scenario.disruptions:
        if (d.region, d.commodity) not in node_of:
            continue
        i = node_of[(d.region, d.commodity)]
        share = d.share
        if d.facility is not None:
            cap = ds["facility_capacity"]
            fac = cap[cap["facility_id"] == d.facility]["capacity_t_per_yr"].dropna()
            region_cap = baseline.capacity_t[i] * 12
            share *= min(1.0, float(fac.iloc[-1]) / region_cap) if len(fac) and region_cap > 0 else 0.0
        capacity[active(d.start, d.end), i] *= 1.0 - share

    def ramping(p: CapacityProject, c: ExportControl) -> bool:
        """The ban is in force at some point of the project's (unslowed) ramp."""
        online = _months(scenario, p.start, 0) + p.permitting_delay_months
        return _months(scenario, c.start, 0) < online + max(1, p.ramp_months) and _months(scenario, c.end, T) >= online

    hit_by = [
        [
            c.instrument
            for c in scenario.export_controls
            if isinstance(c.instrument, TechnologyBan)
            and p.commodity in c.commodities
            and c.targets.hits(p.region)
            and p.region != c.controller
            and ramping(p, c)
        ]
        for p in scenario.projects
    ]
    project_capacity = np.zeros((T, len(scenario.projects)))
    project_node = np.full(len(scenario.projects), -1, dtype=np.intp)
    learning = np.zeros(len(scenario.projects))
    for j, (p, bans) in enumerate(zip(scenario.projects, hit_by, strict=True)):
        slow = max([1.0, *(b.ramp_slowdown for b in bans)])
        learning[j] = p.learning_rate * min([1.0, *(1.0 - b.learning_slowdown for b in bans)])
        online = _months(scenario, p.start, 0) + p.permitting_delay_months
        ramp_months = max(1.0, p.ramp_months * slow)
        project_capacity[:, j] = np.clip((t - online + 1) / ramp_months, 0.0, 1.0) * p.capacity_t_per_yr / 12.0
        if (p.region, p.commodity) in node_of:
            project_node[j] = node_of[(p.region, p.commodity)]
            capacity[:, project_node[j]] += project_capacity[:, j]

    # Trade controls: allowed share of each origin→buyer flow, per commodity and month.
    allowed = np.ones((T, K, R, R))
    controlled = np.zeros((T, K, R, R))
    excluded = np.zeros((T, R, S))
    sector_of = {s: i for i, s in enumerate(baseline.sectors)}
    base_orders = _baseline_orders(baseline, R, K)
    for c in scenario.export_controls:
        if isinstance(c.instrument, TechnologyBan) or c.controller not in r_of:
            continue
        when = active(c.start, c.end)
        targets = np.array([c.targets.hits(r) and r != c.controller for r in regions])
        leak = sum(x.share for x in c.leakage)
        for k in c.commodities:
            if k not in k_of:
                continue
            ki = k_of[k]
            affected = _affected_share(c, k, ds)
            inst = c.instrument
            origins = np.zeros(R, dtype=bool)
            origins[r_of[c.controller]] = True
            if isinstance(inst, ContentRule):
                # Products made elsewhere whose upstream content from the controller reaches the
                # threshold (traced through the base-year network).
                origins = controller_content(baseline, c.controller)[:, ki] >= inst.content_threshold
                origins[r_of[c.controller]] = False
            if isinstance(inst, Ban):
                keep = np.full(T, 1.0 - affected)
            elif isinstance(inst, Licence):
                delay = _months(scenario, c.start, 0) + inst.processing_delay_months
                approval = np.where(t < delay, 0.0, inst.approval_share)
                keep = 1.0 - affected * (1.0 - approval)
                for s in inst.excluded_sectors:
                    if s in sector_of:
                        excluded[np.ix_(when, targets, np.array([sector_of[s]]))] = 1.0
            elif isinstance(inst, Quota):
                exports = base_orders[ki, r_of[c.controller], targets].sum()
                ratio = min(1.0, inst.quota_t_per_yr / 12.0 / exports) if exports > 0 else 1.0
                keep = np.full(T, 1.0 - affected * (1.0 - ratio))
            else:
                assert isinstance(inst, ContentRule)
                keep = np.full(T, 1.0 - affected * (1.0 - inst.approval_share))
            keep = keep + leak * (1.0 - keep)  # leakage through third countries gets part through
            block = np.outer(origins, targets)
            for ti in np.flatnonzero(when):
                allowed[ti, ki][block] = np.minimum(allowed[ti, ki][block], keep[ti])
                controlled[ti, ki][block] = np.maximum(controlled[ti, ki][block], affected)

    # Demand paths: multipliers by calendar year, interpolated monthly, per sector and region.
    multiplier = np.ones((T, n, S))
    years = periods.year.to_numpy() + (periods.month.to_numpy() - 0.5) / 12.0
    node_region = np.asarray(net.nodes.get_level_values("region_id"))
    for dc in scenario.demand:
        if dc.sector not in sector_of:
            continue
        knots = sorted(dc.multipliers.items())
        xs = np.array([scenario.base_year + 0.5] + [y + 0.5 for y, _ in knots])
        ys = np.array([1.0] + [m for _, m in knots])
        path = np.interp(years, xs, ys)
        rows = np.ones(n, dtype=bool) if dc.region == "WLD" else node_region == dc.region
        multiplier[:, rows, sector_of[dc.sector]] = path[:, None]

    # Strategic stocks, recycling and substitution parameters.
    base_use = _baseline_use(baseline)
    stock = np.zeros(n)
    max_release = np.full(n, np.inf)
    refill = np.full(n, np.inf)
    release = np.zeros(n)
    for sp_ in scenario.stockpiles:
        if (sp_.region, sp_.commodity) not in node_of:
            continue
        i = node_of[(sp_.region, sp_.commodity)]
        stock[i] = sp_.stock_t if sp_.stock_t is not None else (sp_.months_of_demand or 0.0) * base_use[i]
        max_release[i] = sp_.max_release_t_per_month if sp_.max_release_t_per_month is not None else np.inf
        refill[i] = sp_.refill_months if sp_.refill_months else np.inf
        release[i] = 1.0 if sp_.release == "on_shortfall" else 0.0
    recycled = np.zeros((T, n))
    final_use = baseline.final_t.sum(axis=1)
    for rc in scenario.recycling:
        if (rc.region, rc.commodity) not in node_of:
            continue
        i = node_of[(rc.region, rc.commodity)]
        start = _months(scenario, rc.start, 0)
        ramp_share = np.clip((t - start + 1) / max(1, rc.ramp_months), 0.0, 1.0)
        # End-of-life flow taken equal to the region's base final use (stock turnover in steady state).
        recycled[:, i] = ramp_share * rc.collection_rate * rc.recovery_rate * final_use[i]
    ceiling = np.zeros((S, K))
    elasticity = np.zeros((S, K))
    lag = np.ones((S, K))
    for sub in scenario.substitution:
        if sub.sector not in sector_of or sub.commodity not in k_of:
            continue
        si, ki = sector_of[sub.sector], k_of[sub.commodity]
        ceiling[si, ki], elasticity[si, ki], lag[si, ki] = sub.ceiling, sub.price_elasticity, max(1, sub.lag_months)
    priority = np.array([scenario.priorities.get(s, 1.0) for s in baseline.sectors])
    offtake = np.zeros((T, K, R, R))
    for o in scenario.offtakes:
        if o.seller in r_of and o.buyer in r_of and o.commodity in k_of:
            offtake[active(o.start, o.end), k_of[o.commodity], r_of[o.seller], r_of[o.buyer]] += (
                o.quantity_t_per_yr / 12.0
            )
    return Plan(
        periods=periods,
        capacity_t=capacity,
        allowed=allowed,
        demand_multiplier=multiplier,
        excluded=excluded,
        controlled_origin=controlled,
        stock_target_t=stock,
        stock_max_release_t=max_release,
        stock_refill_months=refill,
        stock_release=release,
        recycled_t=recycled,
        substitution_ceiling=ceiling,
        substitution_elasticity=elasticity,
        substitution_lag=lag,
        priority=priority,
        offtake_t=offtake,
        project_capacity_t=project_capacity,
        project_node=project_node,
        project_learning_rate=learning,
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
