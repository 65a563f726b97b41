"""What the month loop carries: the constants of a run (:class:`Setup`), the state that moves
from month to month (:class:`State`) and what one month's orders are (:class:`Orders`).

Internals work batch-LAST: node arrays (K, R, B), lane arrays (A, R, B) over a stage's active
origins, sector arrays (K, S, R, B). Every elementwise pass then runs over B contiguous values and
every sum over origins, buyers or sectors adds whole rows, instead of numpy looping over short
trailing axes of 6 or 17 values. An origin is *active* for a stage if it has capacity, recycling
or base-year sales at any time; any other never ships, is never promised anything and keeps a
zero sourcing share, so leaving its rows out changes no result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chokepoint.simulation.baseline import Baseline
from chokepoint.simulation.plan import Plan

Array = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Lanes:
    """Batch-independent lane constants of one stage in one month, over its active origins, shaped
    (A, R, 1) to broadcast over the batch (matrices for products are (A, R))."""

    limit: Array  # (A, R, 1) allowed share
    unlimited: Array | None  # (A, R, 1) +inf on lanes without a limit, else 0 (None: no lane limited)
    open_: Array | None  # (A, R) 1.0 where limit > 0 (None: all open)
    controlled: Array | None  # (C, R, 1) controlled share on origins with any control (None: none)
    controlled_rows: Index
    clean: Array | None  # (A, R) 1.0 on uncontrolled open lanes (None: all lanes clean and open)
    dirty: Array | None  # (A, R) 1.0 on controlled open lanes
    desired: Array  # (A, R, 1) base mix × limit
    desired_t: Array  # (R, A) its transpose, for the product with capacity ratios


def lanes(limit: Array, controlled: Array, base_mix: Array) -> Lanes:
    """The lane constants of one stage and month from its allowed and controlled shares (A, R)."""
    open_ = limit > 0
    clean = (controlled == 0) & open_
    rows = np.flatnonzero((controlled != 0).any(axis=1))
    desired = base_mix * limit
    return Lanes(
        limit=limit[..., None],
        unlimited=np.where(limit < 1.0, 0.0, np.inf)[..., None] if (limit < 1.0).any() else None,
        open_=None if open_.all() else open_.astype(float),
        controlled=controlled[rows][..., None] if len(rows) else None,
        controlled_rows=rows,
        clean=None if clean.all() else clean.astype(float),
        dirty=None if clean.all() else (open_ & ~clean).astype(float),
        desired=desired[..., None],
        desired_t=np.ascontiguousarray(desired.T),
    )


@dataclass(frozen=True)
class Params:
    """Per-draw response parameters, each (B,)."""

    sourcing_adjustment: Array
    sourcing_reversion: Array
    price_scarcity_exponent: Array


@dataclass(frozen=True)
class Setup:
    """The constants of one run: the plan's arrays laid out batch last, over active origins."""

    baseline: Baseline
    plan: Plan
    params: Params
    R: int
    K: int
    S: int
    T: int
    B: int
    a: Array  # (K, K) inputs a[j, k]
    inputs_of: list[Index]
    outputs_of: list[Index]
    act: list[Index]  # active origins per stage
    base_mix: list[Array]  # (A, R) base-year sourcing shares per stage
    base_cap_a: list[Array]  # (A, B) scaled base capacity
    base_part: Array  # (T, n) capacity less projects
    project_cap: Array  # (T, n)
    scale_a: list[Array]  # (A, B)
    has_offtake: list[bool]
    levels: list[Index] | None  # sector indices per priority level, highest first (None: one level)
    target: Array  # (K, R, 1) strategic stock target
    max_release: Array  # (K, R, 1)
    refill_rate: Array  # (K, R, 1)
    releases: npt.NDArray[np.bool_]  # (K, R, 1)
    release_k: list[bool]
    final0: Array  # (K, S, R) base final demand
    ceiling: Array  # (K, S, 1)
    elasticity: Array  # (K, S, 1)
    lag: Array  # (K, S, 1)
    lanes: list[list[Lanes]]  # per month, per stage
    #: Joint products: (input j, the outputs made from j alone), where j yields several (separation).
    joint: list[tuple[int, Index]]
    base_out: Array  # (K, R, 1) base-year production

    def capacity_at(self, t: int) -> list[Array]:
        """Capacity (A, B) per stage in month ``t``: a draw's scale applies to the base-year
        capacity (after disruptions), not to the projects added on top."""
        K = self.K
        return [
            self.base_part[t, self.act[k] * K + k, None] * self.scale_a[k]
            + self.project_cap[t, self.act[k] * K + k, None]
            for k in range(K)
        ]


def joint_products(a: Array) -> list[tuple[int, Index]]:
    """``(j, outputs)`` for every input ``j`` that is the only input of two or more outputs: a plant
    separating ``j`` yields all of them at once (a concentrate's element oxides), so their output
    moves together (:func:`settle_joint`)."""
    sole = (a > 0).sum(axis=0) == 1
    out = []
    for j in range(a.shape[0]):
        members = np.flatnonzero(sole & (a[j] > 0))
        if members.size > 1:
            out.append((j, members))
    return out


def settle_joint(plan: Array, base: Array, cap: Array) -> Array:
    """Planned output (m, R, B) of joint products, made proportional to their base-year output
    ``base`` (m, R, 1): the utilisation ``θ = max_i plan_i / base_i`` (the most-wanted product
    sets how much is separated; the others come with it, unsold if nobody orders them), at most
    ``min_i cap_i / base_i``. A product the region did not make in the base year keeps its plan."""
    made = base > 0
    theta = np.where(made, ratio(plan, base, 0.0), 0.0).max(axis=0)
    theta = np.minimum(theta, np.where(made, ratio(cap, base, np.inf), np.inf).min(axis=0))
    return np.where(made, theta[None] * base, plan)


def setup(baseline: Baseline, plan: Plan, batch: int, params: Params, capacity_scale: Array | None) -> Setup:
    """Lay ``plan`` out for a batch of ``batch`` draws (module docs); ``capacity_scale`` (B, n)."""
    net = baseline.net
    R, K, S, T = len(net.regions), len(baseline.commodities), len(baseline.sectors), len(plan.periods)
    a = baseline.inputs
    mix0 = net.mix.toarray().reshape(R, K, R, K)
    cap_all = plan.capacity_t.reshape(T, R, K)
    rec_all = plan.recycled_t.reshape(T, R, K)
    act = [
        np.flatnonzero(
            (cap_all[:, :, k] != 0).any(axis=0)
            | (rec_all[:, :, k] != 0).any(axis=0)
            | (mix0[:, k, :, k] != 0).any(axis=1)
        )
        for k in range(K)
    ]
    node_a = [act[k] * K + k for k in range(K)]
    base_mix = [mix0[act[k], k, :, k] for k in range(K)]
    scale = np.ones((R * K, batch)) if capacity_scale is None else np.asarray(capacity_scale, dtype=float).T
    scale_a = [np.ascontiguousarray(scale[node_a[k]]) for k in range(K)]
    project_cap = np.zeros((T, R * K))
    placed = plan.project_node >= 0
    np.add.at(project_cap.T, plan.project_node[placed], plan.project_capacity_t[:, placed].T)
    levels_all = np.unique(plan.priority)[::-1]

    def per_node(x: Array) -> Array:  # (n,) → (K, R, 1)
        return np.ascontiguousarray(x.reshape(R, K).T)[..., None]

    target = per_node(plan.stock_target_t)
    releases = per_node(plan.stock_release) > 0
    month_lanes: list[list[Lanes]] = []
    for t in range(T):  # consecutive months with the same controls share their constants
        if (
            t > 0
            and np.array_equal(plan.allowed[t], plan.allowed[t - 1])
            and np.array_equal(plan.controlled_origin[t], plan.controlled_origin[t - 1])
        ):
            month_lanes.append(month_lanes[-1])
        else:
            month_lanes.append(
                [lanes(plan.allowed[t, k][act[k]], plan.controlled_origin[t, k][act[k]], base_mix[k]) for k in range(K)]
            )
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
        inputs_of=[np.flatnonzero(a[:, k] > 0) for k in range(K)],
        outputs_of=[np.flatnonzero(a[k, :] > 0) for k in range(K)],
        act=act,
        base_mix=base_mix,
        base_cap_a=[baseline.capacity_t[node_a[k]][:, None] * scale_a[k] for k in range(K)],
        base_part=plan.capacity_t - project_cap,
        project_cap=project_cap,
        scale_a=scale_a,
        has_offtake=[bool(plan.offtake_t[:, k].any()) for k in range(K)],
        levels=None if len(levels_all) == 1 else [np.flatnonzero(plan.priority == lv) for lv in levels_all],
        target=target,
        max_release=per_node(plan.stock_max_release_t),
        refill_rate=np.divide(target, per_node(plan.stock_refill_months)),
        releases=releases,
        release_k=[bool(releases[k].any()) for k in range(K)],
        final0=baseline.final_t.reshape(R, K, S).transpose(1, 2, 0),
        ceiling=plan.substitution_ceiling.T[..., None],
        elasticity=plan.substitution_elasticity.T[..., None],
        lag=plan.substitution_lag.T[..., None],
        lanes=month_lanes,
        joint=joint_products(a),
        base_out=per_node(baseline.production_t),
    )


@dataclass
class State:
    """What moves from month to month (batch last); the responses update it in place."""

    mix: list[Array]  # (A, R, B) sourcing shares per stage
    stock: Array  # (K, R, B) strategic stock
    price: Array  # (K, B) price index
    subst: Array  # (K, S, B) share of final demand substituted
    short_last: npt.NDArray[np.bool_]  # (K, R, B) short last month
    cap: list[Array]  # (A, B) this month's capacity per stage
    cap_next: list[Array]  # (A, B) next month's


def initial_state(s: Setup) -> State:
    """Base-year sourcing, full stocks, base prices, no substitution."""
    cap = s.capacity_at(0)
    return State(
        mix=[np.repeat(m[..., None], s.B, axis=2) for m in s.base_mix],
        stock=np.repeat(s.target, s.B, axis=2),
        price=np.ones((s.K, s.B)),
        subst=np.zeros((s.K, s.S, s.B)),
        short_last=np.zeros((s.K, s.R, s.B), dtype=bool),
        cap=cap,
        cap_next=cap,
    )


@dataclass(frozen=True)
class Orders:
    """One month's orders, placed top down along the sourcing shares (batch last)."""

    final: Array  # (K, S, R, B) final demand after multipliers and substitution
    final_total: Array  # (K, R, B)
    refill: Array  # (K, R, B) stock each buyer wants to rebuild
    use: Array  # (K, R, B) final demand + refill + inputs of planned output
    lane: list[Array]  # (A, R, B) orders on each lane
    allowed: list[Array]  # (A, R, B) the part of them controls let ship
    plan_out: Array  # (K, R, B) planned output min(capacity, orders)
    excluded: npt.NDArray[np.bool_]  # (S, R, 1) sectors that may not use controlled supply
    any_excluded: bool
    want_excluded: Array  # (K, S, R, B) final demand of those sectors (zeros (K, S, R, 1) if none)
    need_excluded: Array  # (K, R, B) its sum over sectors


def ratio(num: Array, den: Array, default: float) -> Array:
    """``num / den`` where ``den > 0``, else ``default``. (Plain passes: a ufunc with ``where=`` runs
    an unvectorised masked loop, about ten times slower.)"""
    positive = den > 0
    return np.where(positive, num / np.where(positive, den, 1.0), default)


def place_orders(s: Setup, t: int, state: State) -> Orders:
    """Orders, top down: each region's use (final demand, refill and the inputs its planned output
    needs) ordered from origins along its sourcing shares; an origin plans ``min(capacity, orders)``."""
    R, K, B = s.R, s.K, s.B
    mult = s.plan.demand_multiplier[t].reshape(R, K, s.S).transpose(1, 2, 0)
    final = (s.final0 * mult)[..., None] * (1.0 - state.subst)[:, :, None, :]
    final_total = final.sum(axis=1)
    stock = state.stock
    refill = np.where(~state.short_last & (stock < s.target), np.minimum(s.refill_rate, s.target - stock), 0.0)
    use = np.zeros((K, R, B))
    plan_out = np.zeros((K, R, B))
    lane: list[Array] = [state.mix[k] for k in range(K)]
    allowed: list[Array] = list(lane)
    joint = dict(s.joint)
    for k in reversed(range(K)):
        if k in joint:  # its joint outputs are planned: separate them together
            members = joint[k]
            cap = np.zeros((members.size, R, B))
            for i, m in enumerate(members):
                cap[i][s.act[m]] = state.cap[m]
            plan_out[members] = settle_joint(plan_out[members], s.base_out[members], cap)
        need = final_total[k] + refill[k]
        for out_k in s.outputs_of[k]:
            need += s.a[k, out_k] * plan_out[out_k]
        use[k] = need
        lane[k] = state.mix[k] * need
        lk = s.lanes[t][k]
        allowed[k] = lane[k] if lk.unlimited is None else lane[k] * lk.limit
        plan_out[k][s.act[k]] = np.minimum(state.cap[k], lane[k].sum(axis=1))
    excluded = s.plan.excluded[t].T[..., None] > 0
    any_excluded = bool(excluded.any())
    want_excluded = final * excluded if any_excluded else np.zeros((K, s.S, R, 1))
    return Orders(
        final=final,
        final_total=final_total,
        refill=refill,
        use=use,
        lane=lane,
        allowed=allowed,
        plan_out=plan_out,
        excluded=excluded,
        any_excluded=any_excluded,
        want_excluded=want_excluded,
        need_excluded=want_excluded.sum(axis=1),
    )
