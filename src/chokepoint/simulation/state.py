"""What the month loop carries: the constants of a run (:class:`Setup`), the state that moves
from month to month (:class:`State`) and what one month's orders are (:class:`Orders`).

Internals work batch-LAST: node arrays (K, R, B), sector arrays (K, S, R, B), and lane arrays
(N, R, B) over one flat list of *lanes*: the pairs (commodity k, active origin o), sorted by
commodity then origin. Every elementwise pass then runs over B contiguous values and every sum
over origins, buyers or sectors adds whole rows, instead of numpy looping over short trailing
axes. An origin is *active* for a commodity if it has capacity, recycling or base-year sales at
any time; any other never ships, is never promised anything and keeps a zero sourcing share, so
leaving its rows out changes no result.

Commodities are stepped in *levels* (:class:`Group`): runs of consecutive commodities none of
which is an input of another, so a level is one vectorised pass over all its commodities and
lanes (a stage's output feeds the next level, which is why levels, not months, are the loop).
Sums over the origins of each commodity are segment sums over its lanes (:func:`by_commodity`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chokepoint.simulation.baseline import Baseline
from chokepoint.simulation.joint import joint_products, settle_joint
from chokepoint.simulation.layout import lane_rows
from chokepoint.simulation.leakage import RouteLanes, apply_routes, route_lanes
from chokepoint.simulation.plan import Plan
from chokepoint.simulation.quotas import QuotaLanes, apply_quotas, quota_lanes
from chokepoint.simulation.ratios import ratio
from chokepoint.simulation.supply import SupplyLanes, SupplyState

Array = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Group:
    """Consecutive commodities ``ks`` and their lanes ``rows`` in the flat lane layout."""

    ks: slice
    rows: slice
    k_of: Index  # (N_g,) commodity of each lane, counted from ks.start
    o_of: Index  # (N_g,) origin of each lane
    starts: Index  # first lane (counted from rows.start) of each commodity that has lanes
    has_lanes: Index  # those commodities, counted from ks.start
    n_k: int

    def origin_values(self, node: Array) -> Array:
        """Each lane's origin's value (N_g, B) of a node array ``node`` (K, R, B)."""
        return node[self.ks][self.k_of, self.o_of]


def by_commodity(x: Array, g: Group) -> Array:
    """Sum of lane values ``x`` (N_g, …) over each commodity's origins, (n_k, …); 0 for a
    commodity without lanes. (Each segment is added row by row, as ``x.sum(axis=0)`` does.)"""
    if len(g.starts) == g.n_k:
        return np.add.reduceat(x, g.starts, axis=0)
    out = np.zeros((g.n_k, *x.shape[1:]))
    if len(g.starts):
        out[g.has_lanes] = np.add.reduceat(x, g.starts, axis=0)
    return out


def group(k_lo: int, k_hi: int, lane_k: Index, lane_o: Index) -> Group:
    """The :class:`Group` of commodities ``k_lo ≤ k < k_hi`` (``lane_k`` sorted)."""
    lo, hi = np.searchsorted(lane_k, [k_lo, k_hi])
    k_of = lane_k[lo:hi] - k_lo
    has, starts = np.unique(k_of, return_index=True)
    return Group(
        ks=slice(k_lo, k_hi),
        rows=slice(int(lo), int(hi)),
        k_of=k_of,
        o_of=lane_o[lo:hi],
        starts=starts.astype(np.intp),
        has_lanes=has.astype(np.intp),
        n_k=k_hi - k_lo,
    )


def levels(a: Array) -> list[tuple[int, int]]:
    """Split commodities 0…K−1 (inputs before outputs) into maximal runs ``[lo, hi)`` in which
    no commodity is an input of another: each run can be allocated in one pass."""
    bounds, lo = [], 0
    for k in range(1, a.shape[0]):
        if (a[lo:k, k] > 0).any():
            bounds.append((lo, k))
            lo = k
    bounds.append((lo, a.shape[0]))
    return bounds


@dataclass(frozen=True)
class Lanes:
    """Batch-independent lane constants of a group of lanes in one month, shaped (N, R, 1) to
    broadcast over the batch ((N, R) where only compared or summed)."""

    limit: Array  # (N, R, 1) allowed share
    unlimited: Array | None  # (N, R, 1) +inf on lanes without a limit, else 0 (None: no lane limited)
    open_: Array | None  # (N, R, 1) 1.0 where limit > 0 (None: all open)
    controlled: Array | None  # (N, R, 1) controlled share (None: none controlled)
    clean: Array | None  # (N, R, 1) 1.0 on uncontrolled open lanes (None: all lanes clean and open)
    dirty: Array | None  # (N, R, 1) 1.0 on controlled open lanes
    desired: Array  # (N, R, 1) base mix × limit


def lanes(limit: Array, controlled: Array, base_mix: Array) -> Lanes:
    """The lane constants of a group and month from its allowed and controlled shares (N, R)."""
    open_ = limit > 0
    clean = (controlled == 0) & open_
    return Lanes(
        limit=limit[..., None],
        unlimited=np.where(limit < 1.0, 0.0, np.inf)[..., None] if (limit < 1.0).any() else None,
        open_=None if open_.all() else open_.astype(float)[..., None],
        controlled=controlled[..., None] if (controlled != 0).any() else None,
        clean=None if clean.all() else clean.astype(float)[..., None],
        dirty=None if clean.all() else (open_ & ~clean).astype(float)[..., None],
        desired=(base_mix * limit)[..., None],
    )


@dataclass(frozen=True)
class MonthLanes:
    """One month's lane constants: per level (allocation) and over all lanes (responses)."""

    level: list[Lanes]
    all: Lanes


@dataclass(frozen=True)
class Params:
    """Per-draw response parameters, each (B,) (their rules: :mod:`~chokepoint.simulation.markets`
    and :mod:`~chokepoint.simulation.responses`)."""

    sourcing_adjustment: Array
    sourcing_reversion: Array
    price_scarcity_exponent: Array
    cover_months: Array
    hoarding: Array
    expectation_months: Array
    restock_months: Array
    price_cap: Array
    utilisation_exponent: Array


#: The engine's defaults, the same as a scenario file's (``Scenario`` and its ``markets`` block).
RATE_DEFAULTS: dict[str, float] = {
    "sourcing_adjustment": 0.3,
    "sourcing_reversion": 0.1,
    "price_scarcity_exponent": 3.0,
    "cover_months": 2.0,
    "hoarding": 1.0,
    "expectation_months": 6.0,
    "restock_months": 3.0,
    "price_cap": 50.0,
    "utilisation_exponent": 0.0,
}


def params(batch: int, **rates: float | Array) -> Params:
    """:class:`Params` for ``batch`` draws: each rate a scalar or a (batch,) array, missing ones
    at :data:`RATE_DEFAULTS`."""
    unknown = set(rates) - set(RATE_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown engine parameters: {sorted(unknown)}")
    values = RATE_DEFAULTS | rates
    return Params(**{k: np.broadcast_to(np.asarray(values[k], dtype=float), (batch,)) for k in RATE_DEFAULTS})


@dataclass(frozen=True)
class Setup:
    """The constants of one run: the plan's arrays laid out batch last, lanes flat (module docs)."""

    baseline: Baseline
    plan: Plan
    params: Params
    R: int
    K: int
    S: int
    T: int
    B: int
    a: Array  # (K, K) inputs a[j, k]
    lane_k: Index  # (N,) commodity of each lane
    lane_o: Index  # (N,) origin of each lane
    lane_node: Index  # (N,) its node o·K + k
    k_rows: list[slice]  # the lanes of each commodity
    levels: list[Group]  # commodities allocated in one pass, inputs first
    everything: Group  # all commodities and lanes
    #: Input pairs of each level, sorted by output: (input j, output k from ks.start, a[j, k]).
    level_inputs: list[tuple[Index, Index, Array]]
    #: Output pairs of each level, sorted by input: (input j from ks.start, output k, a[j, k]).
    level_outputs: list[tuple[Index, Index, Array]]
    base_mix: Array  # (N, R) base-year sourcing shares
    base_cap_a: Array  # (N, B) scaled base capacity
    base_part: Array  # (T, n) capacity less projects
    project_cap: Array  # (T, n)
    scale_a: Array  # (N, B)
    offtake_k: list[int]  # commodities with an offtake at any time
    priority_levels: list[Index] | None  # sector indices per priority level, highest first (None: one)
    target: Array  # (K, R, 1) strategic stock target
    max_release: Array  # (K, R, 1)
    refill_rate: Array  # (K, R, 1)
    releases: npt.NDArray[np.bool_]  # (K, R, 1)
    final0: Array  # (K, S, R) base final demand
    ceiling: Array  # (K, S, 1)
    elasticity: Array  # (K, S, 1)
    lag: Array  # (K, S, 1)
    reversal: Array  # (K, S, 1)
    lanes: list[MonthLanes]  # per month
    #: Joint products: (input j, the outputs made from j alone), where j yields several (separation).
    joint: list[tuple[int, Index]]
    base_out: Array  # (K, R, 1) base-year production
    base_use: Array  # (K, R, 1) base-year use: final demand plus the inputs of base production
    weight: Array  # (K, R, 1) each region's share of the world's base use (world price weights)
    base_utilisation: Array  # (K, B) world base output over base capacity of each commodity
    supply: SupplyLanes  # entry and exit
    quotas: list[QuotaLanes]  # export quotas on their lanes
    routes: list[RouteLanes]  # leakage routes on their lanes

    def capacity_at(self, t: int) -> Array:
        """Capacity (N, B) of each lane's origin in month ``t``: a draw's scale applies to the
        base-year capacity (after disruptions), not to the projects added on top."""
        return self.base_part[t, self.lane_node, None] * self.scale_a + self.project_cap[t, self.lane_node, None]

    def node_values(self, lane_values: Array) -> Array:
        """Lane-origin values (N, B) as a node array (K, R, B), zero at inactive origins."""
        out = np.zeros((self.K, self.R, lane_values.shape[-1]))
        out[self.lane_k, self.lane_o] = lane_values
        return out


def _pairs(a: Array, lo: int, hi: int, inputs: bool) -> tuple[Index, Index, Array]:
    """Recipe pairs of commodities ``lo ≤ k < hi``: as outputs (their inputs j, sorted by output)
    or as inputs (their outputs, sorted by input); the level's own index counted from ``lo``."""
    if inputs:
        k, j = np.nonzero(a[:, lo:hi].T > 0)
        return j.astype(np.intp), k.astype(np.intp), a[j, lo + k]
    j, k = np.nonzero(a[lo:hi] > 0)
    return j.astype(np.intp), k.astype(np.intp), a[lo + j, k]


def _month_lanes(s_levels: list[Group], limit: Array, controlled: Array, base_mix: Array) -> MonthLanes:
    """:class:`MonthLanes` from one month's allowed and controlled shares on the lanes (N, R)."""
    return MonthLanes(
        level=[lanes(limit[g.rows], controlled[g.rows], base_mix[g.rows]) for g in s_levels],
        all=lanes(limit, controlled, base_mix),
    )


def _own_mix(baseline: Baseline) -> Array:
    """Base-year sourcing shares (K, o, b): a commodity is bought as itself."""
    R, K = len(baseline.net.regions), len(baseline.commodities)
    return baseline.net.mix.toarray().reshape(R, K, R, K)[:, np.arange(K), :, np.arange(K)]


def active_lanes(baseline: Baseline, plan: Plan) -> tuple[Index, Index]:
    """Commodity and origin of every lane the engine keeps, sorted by commodity: origins with
    capacity or recycling in any month or base-year sales, and entrants (they may ship once built)."""
    R, K, T = len(baseline.net.regions), len(baseline.commodities), len(plan.periods)
    active = (
        (plan.capacity_t.reshape(T, R, K) != 0).any(axis=0).T
        | (plan.recycled_t.reshape(T, R, K) != 0).any(axis=0).T
        | (_own_mix(baseline) != 0).any(axis=2)
    )  # (K, R)
    entrants = plan.supply.entrant_node
    active[entrants % K, entrants // K] = True
    lane_k, lane_o = (i.astype(np.intp) for i in np.nonzero(active))
    return lane_k, lane_o


def setup(baseline: Baseline, plan: Plan, batch: int, params: Params, capacity_scale: Array | None) -> Setup:
    """Lay ``plan`` out for a batch of ``batch`` draws (module docs); ``capacity_scale`` (B, n)."""
    net = baseline.net
    R, K, S, T = len(net.regions), len(baseline.commodities), len(baseline.sectors), len(plan.periods)
    a = baseline.inputs
    own = _own_mix(baseline)
    lane_k, lane_o = active_lanes(baseline, plan)
    lane_node = lane_o * K + lane_k
    entrants = plan.supply.entrant_node
    base_mix = own[lane_k, lane_o]  # (N, R)
    scale = np.ones((R * K, batch)) if capacity_scale is None else np.asarray(capacity_scale, dtype=float).T
    scale_a = np.ascontiguousarray(scale[lane_node])
    project_cap = np.zeros((T, R * K))
    placed = plan.project_node >= 0
    np.add.at(project_cap.T, plan.project_node[placed], plan.project_capacity_t[:, placed].T)
    priorities = np.unique(plan.priority)[::-1]
    bounds = levels(a)
    level_groups = [group(lo, hi, lane_k, lane_o) for lo, hi in bounds]

    def per_node(x: Array) -> Array:  # (n,) → (K, R, 1)
        return np.ascontiguousarray(x.reshape(R, K).T)[..., None]

    target = per_node(plan.stock_target_t)
    releases = per_node(plan.stock_release) > 0
    month_lanes: list[MonthLanes] = []
    for t in range(T):  # consecutive months with the same controls share their constants
        if (
            t > 0
            and np.array_equal(plan.allowed[t], plan.allowed[t - 1])
            and np.array_equal(plan.controlled_origin[t], plan.controlled_origin[t - 1])
        ):
            month_lanes.append(month_lanes[-1])
        else:
            limit, controlled = plan.allowed[t][lane_k, lane_o], plan.controlled_origin[t][lane_k, lane_o]
            month_lanes.append(_month_lanes(level_groups, limit, controlled, base_mix))
    k_bounds = np.searchsorted(lane_k, np.arange(K + 1))
    base_use = baseline.use_t[..., None]
    everything = group(0, K, lane_k, lane_o)
    base_cap_a = baseline.capacity_t[lane_node][:, None] * scale_a
    base_out = per_node(baseline.production_t)
    return Setup(
        baseline=baseline,
        plan=plan,
        params=params,
        R=R,
        K=K,
        S=S,
        T=T,
        B=batch,
        a=a,
        lane_k=lane_k,
        lane_o=lane_o,
        lane_node=lane_node,
        k_rows=[slice(int(k_bounds[k]), int(k_bounds[k + 1])) for k in range(K)],
        levels=level_groups,
        everything=everything,
        level_inputs=[_pairs(a, lo, hi, inputs=True) for lo, hi in bounds],
        level_outputs=[_pairs(a, lo, hi, inputs=False) for lo, hi in bounds],
        base_mix=base_mix,
        base_cap_a=base_cap_a,
        base_part=plan.capacity_t - project_cap,
        project_cap=project_cap,
        scale_a=scale_a,
        offtake_k=[k for k in range(K) if plan.offtake_t[:, k].any()],
        priority_levels=None if len(priorities) == 1 else [np.flatnonzero(plan.priority == p) for p in priorities],
        target=target,
        max_release=per_node(plan.stock_max_release_t),
        refill_rate=np.divide(target, per_node(plan.stock_refill_months)),
        releases=releases,
        final0=baseline.final_t.reshape(R, K, S).transpose(1, 2, 0),
        ceiling=plan.substitution_ceiling.T[..., None],
        elasticity=plan.substitution_elasticity.T[..., None],
        lag=plan.substitution_lag.T[..., None],
        reversal=plan.substitution_reversal.T[..., None],
        lanes=month_lanes,
        joint=joint_products(a),
        base_out=base_out,
        base_use=base_use,
        weight=ratio(base_use, base_use.sum(axis=1, keepdims=True), 0.0),
        base_utilisation=ratio(base_out.sum(axis=1), by_commodity(base_cap_a, everything), 1.0),
        supply=SupplyLanes(
            plan=plan.supply,
            entrant_lane=lane_rows(lane_k * R + lane_o, entrants % K, entrants // K, R)[0],  # all active
            lane_cost=plan.supply.node_cost[lane_node][:, None],
        ),
        quotas=[quota_lanes(q, lane_k * R + lane_o, R) for q in plan.quotas],
        routes=[route_lanes(r, lane_k * R + lane_o, R) for r in plan.routes],
    )


@dataclass
class State:
    """What moves from month to month (batch last); the responses update it in place."""

    mix: Array  # (N, R, B) sourcing shares on each lane
    stock: Array  # (K, R, B) strategic (government) stock
    inventory: Array  # (K, R, B) buyers' commercial stock
    expected_gap: Array  # (K, R, B) expected supply gap, a share of need (hoarding)
    need: Array  # (K, R, B) last month's use less refill (the base of target cover)
    market_price: Array  # (K, R, B) price index in each region's market
    price: Array  # (K, B) world price index: markets weighted by base-year use
    subst: Array  # (K, S, R, B) share of final demand substituted
    short_last: npt.NDArray[np.bool_]  # (K, R, B) short last month
    strategic_draw: Array  # (K, R, B) last month's draw on the strategic stock
    strategic_build: Array  # (K, R, B) and what it added to it
    cap: Array  # (N, B) this month's capacity of each lane's origin
    cap_next: Array  # (N, B) next month's
    supply: SupplyState  # entry and exit


def initial_state(s: Setup) -> State:
    """Base-year sourcing, full stocks, inventories at normal cover, base prices, no substitution."""
    cap = s.capacity_at(0)
    K, R, B = s.K, s.R, s.B
    return State(
        mix=np.repeat(s.base_mix[..., None], B, axis=2),
        stock=np.repeat(s.target, B, axis=2),
        inventory=s.base_use * s.params.cover_months,
        expected_gap=np.zeros((K, R, B)),
        need=np.repeat(s.base_use, B, axis=2),
        market_price=np.ones((K, R, B)),
        price=np.ones((K, B)),
        subst=np.zeros((K, s.S, R, B)),
        short_last=np.zeros((K, R, B), dtype=bool),
        strategic_draw=np.zeros((K, R, B)),
        strategic_build=np.zeros((K, R, B)),
        cap=cap,
        cap_next=cap,
        supply=SupplyState.start(len(s.lane_k), len(s.supply.entrant_lane), B),
    )


def drawable(s: Setup, state: State) -> Array:
    """What each buyer may draw this month (K, R, B): all of its commercial inventory plus its
    strategic stock as far as the release rule lets go (the same cap in both allocation modes)."""
    strategic = np.where(s.releases, np.minimum(state.stock, s.max_release), 0.0)
    return state.inventory + strategic


@dataclass(frozen=True)
class Orders:
    """One month's orders, placed top down along the sourcing shares (batch last)."""

    final: Array  # (K, S, R, B) final demand after multipliers and substitution
    final_total: Array  # (K, R, B)
    refill: Array  # (K, R, B) stock each buyer wants to rebuild: strategic plus commercial
    restock: Array  # (K, R, B) its commercial part
    use: Array  # (K, R, B) final demand + refill + inputs of planned output
    need: Array  # (K, R, B) use less refill: final demand and inputs
    wanted: Array  # (K, R, B) what each buyer orders: its use less the inventory it runs down
    lane: Array  # (N, R, B) orders on each lane
    allowed: Array  # (N, R, B) the part of them controls let ship
    plan_out: Array  # (K, R, B) planned output min(capacity, orders)
    excluded: npt.NDArray[np.bool_]  # (S, R, 1) sectors that may not use controlled supply
    any_excluded: bool
    want_excluded: Array  # (K, S, R, B) final demand of those sectors (zeros (K, S, R, 1) if none)
    need_excluded: Array  # (K, R, B) its sum over sectors
    leaked: list[Array | None]  # per leakage route, its part of the allowed orders (L, R_t, B)


def _settle_level(s: Setup, lo: int, hi: int, plan_out: Array, cap: Array) -> None:
    """Settle the joint outputs of every separated input ``lo ≤ j < hi`` (their plans are set)."""
    for j, members in s.joint:
        if lo <= j < hi:
            plan_out[members] = settle_joint(plan_out[members], s.base_out[members], cap[members])


def target_cover(p: Params, state: State) -> Array:
    """Months of need (K, R, B) buyers want in inventory: ``cover_months × (1 + hoarding ×
    expected gap)``, so buyers who expect a shortage want more stock."""
    return p.cover_months * (1.0 + p.hoarding * state.expected_gap)


def restocking(p: Params, state: State) -> tuple[Array, Array]:
    """Commercial restocking and destocking (K, R, B): the gap between the target cover of last
    month's need and the inventory, closed over ``restock_months``."""
    gap = (target_cover(p, state) * state.need - state.inventory) / p.restock_months
    return gap.clip(min=0.0), (-gap).clip(min=0.0)


def place_orders(s: Setup, t: int, state: State) -> Orders:
    """Orders, top down: each region's use (final demand, refill and the inputs its planned output
    needs), less the inventory it runs down, ordered from origins along its sourcing shares; an
    origin plans ``min(capacity, orders)``.
    One pass per level, outputs before inputs (a level's use needs its outputs' plans)."""
    R, K, B = s.R, s.K, s.B
    mult = s.plan.demand_multiplier[t].reshape(R, K, s.S).transpose(1, 2, 0)
    final = (s.final0 * mult)[..., None] * (1.0 - state.subst)
    final_total = final.sum(axis=1)
    stock = state.stock
    refill = np.where(~state.short_last & (stock < s.target), np.minimum(s.refill_rate, s.target - stock), 0.0)
    restock, destock = restocking(s.params, state)
    refill += restock
    use = final_total + refill
    wanted = np.empty_like(use)
    plan_out = np.zeros((K, R, B))
    lane = np.empty_like(state.mix)
    limited = s.lanes[t].all.unlimited is not None
    allowed = np.empty_like(state.mix) if limited else lane  # a limit of 1 changes nothing
    cap = s.node_values(state.cap) if s.joint else plan_out
    for i in reversed(range(len(s.levels))):
        g, lk = s.levels[i], s.lanes[t].level[i]
        _settle_level(s, g.ks.start, g.ks.stop, plan_out, cap)
        j, k, a_jk = s.level_outputs[i]
        need = use[g.ks]
        if len(j):
            np.add.at(need, j, a_jk[:, None, None] * plan_out[k])
        rows = g.rows
        np.subtract(need, destock[g.ks], out=wanted[g.ks])
        wanted[g.ks].clip(min=0.0, out=wanted[g.ks])  # (a slice: clipped in place)
        np.multiply(state.mix[rows], wanted[g.ks][g.k_of], out=lane[rows])
        if limited:
            np.multiply(lane[rows], lk.limit, out=allowed[rows])
        plan_out[g.ks][g.k_of, g.o_of] = np.minimum(state.cap[rows], lane[rows].sum(axis=1))
    if s.quotas:
        desired = (use - refill) * (1.0 + target_cover(s.params, state))  # as markets.market_prices
        apply_quotas(s.quotas, t, lane, allowed, state.inventory, desired)
    leaked = apply_routes(s.routes, t, lane, allowed) if s.routes else []
    excluded = s.plan.excluded[t].T[..., None] > 0
    any_excluded = bool(excluded.any())
    want_excluded = final * excluded if any_excluded else np.zeros((K, s.S, R, 1))
    return Orders(
        final=final,
        final_total=final_total,
        refill=refill,
        restock=restock,
        use=use,
        need=use - refill,
        wanted=wanted,
        lane=lane,
        allowed=allowed,
        plan_out=plan_out,
        excluded=excluded,
        any_excluded=any_excluded,
        want_excluded=want_excluded,
        need_excluded=want_excluded.sum(axis=1),
        leaked=leaked,
    )
