"""The period loop of the ``fast`` allocation mode, vectorised over a batch of parameter draws.

Each month, with arrays shaped (regions R, batch B) per commodity k (stage):

1. **Orders, top down.** Each region needs its final demand plus the inputs its planned output
   needs; it orders from origins along its current sourcing shares ``mix[k][o, b]``, and an
   origin plans to produce ``min(capacity, orders)``.
2. **Supply, bottom up.** An origin produces its plan as far as its inputs arrived (Leontief:
   the scarcest input binds), plus recycled supply. Export controls cap each order at its allowed
   share; an origin fills its allowed orders pro rata; what it could not ship because orders were
   blocked is offered to buyers still short (rerouting to spare supply, pro rata to their gaps).
   Buyers draw strategic stocks on shortfall. Deliveries serve intermediate and final use pro
   rata, and a controlled lane never carries more than its allowed share of what was ordered on
   it; among sectors, higher ``priorities`` are served first, and sectors a licence excludes get
   nothing from controlled flows.
3. **Between months.** Buyers move ``sourcing_adjustment`` of the way from their sourcing shares
   to what actually arrived or was promised from spare capacity (rerouting with a lag), then
   ``sourcing_reversion`` of the way back to their base-year suppliers as far as controls allow
   (cheaper suppliers win back buyers once a control is lifted); stocks refill when nothing is short; the
   price rises with world scarcity, ``p = p₀·exp(η·shortfall share)``; substitution moves toward
   ``min(ceiling, −elasticity·ln(p/p₀))`` with a first-order lag.

Every quantity is in tonnes per month; nothing is created or lost: production + imports + stock
draw = exports + intermediate use + final use + stock build + unsold and unused material
(inventory), which :func:`mass_balance` checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from chokepoint.simulation.baseline import Baseline
from chokepoint.simulation.plan import Plan

if TYPE_CHECKING:
    from chokepoint.scenario import Scenario

__all__ = ["DrawSummary", "Mode", "Trajectory", "run_draws", "run_fast", "run_scenario"]

Mode = Literal["fast", "lp"]

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Trajectory:
    """Per-period arrays of one run (batch first): (B, T, …)."""

    production_t: Array  # (B, T, R, K)
    shipped_t: Array  # (B, T, K, R, R) origin → buyer
    unsold_t: Array  # (B, T, R, K) produced but not shipped
    delivered_t: Array  # (B, T, R, K) shipments received plus stock draw
    stock_draw_t: Array  # (B, T, R, K)
    stock_build_t: Array  # (B, T, R, K)
    stock_t: Array  # (B, T, R, K) strategic stock at the end of the month
    intermediate_use_t: Array  # (B, T, R, K) inputs consumed by the region's production
    unused_t: Array  # (B, T, R, K) delivered but not used (inventory)
    demand_t: Array  # (B, T, R, K, S) final demand (after substitution)
    served_t: Array  # (B, T, R, K, S) final demand served
    price_index: Array  # (B, T, K) price relative to the base year
    substitution: Array  # (B, T, S, K) share of demand substituted
    shadow_price_t: Array  # (B, T, R, K) dual of the use balance (LP mode; NaN where the allocation has none)


def run_fast(
    baseline: Baseline,
    plan: Plan,
    *,
    batch: int = 1,
    sourcing_adjustment: float | Array = 0.3,
    sourcing_reversion: float | Array = 0.1,
    price_scarcity_exponent: float | Array = 11.0,
    capacity_scale: Array | None = None,
    on_period: Callable[[int], None] | None = None,
) -> Trajectory:
    """Run the month loop for ``batch`` draws, keeping every quantity of every month.

    Per-draw parameters are arrays of length ``batch``; ``capacity_scale`` (B, n) multiplies
    capacity per draw. ``on_period`` is called with each finished month's index.
    """
    out, _ = _loop(
        baseline,
        plan,
        batch,
        (sourcing_adjustment, sourcing_reversion, price_scarcity_exponent),
        capacity_scale,
        on_period,
        True,
    )
    return Trajectory(
        production_t=out["production"],
        shipped_t=out["shipped"],
        unsold_t=out["unsold"],
        delivered_t=out["delivered"],
        stock_draw_t=out["draw"],
        stock_build_t=out["build"],
        stock_t=out["stock"],
        intermediate_use_t=out["intermediate"],
        unused_t=out["unused"],
        demand_t=out["demand"],
        served_t=out["served"],
        price_index=out["price"],
        substitution=out["subst"],
        shadow_price_t=np.full_like(out["production"], np.nan),
    )


@dataclass(frozen=True)
class DrawSummary:
    """What a Monte Carlo batch keeps per draw and month."""

    demand_t: Array  # (B, T, R, S) final demand, all commodities
    shortfall_t: Array  # (B, T, R, S)
    price_index: Array  # (B, T, K)


def run_draws(
    baseline: Baseline,
    plan: Plan,
    *,
    batch: int,
    sourcing_adjustment: float | Array = 0.3,
    sourcing_reversion: float | Array = 0.1,
    price_scarcity_exponent: float | Array = 11.0,
    capacity_scale: Array | None = None,
) -> DrawSummary:
    """Run ``batch`` parameter draws at once, keeping only shortfall and prices (memory stays
    O(batch × months × regions × sectors) instead of the full flows)."""
    _, kept = _loop(
        baseline,
        plan,
        batch,
        (sourcing_adjustment, sourcing_reversion, price_scarcity_exponent),
        capacity_scale,
        None,
        False,
    )
    return kept


# Internals work batch-LAST: node arrays (R, B), lane arrays (A, R, B), sector arrays (S, R, B). Every
# elementwise pass then runs over B contiguous values and every sum over origins, buyers or sectors
# adds whole rows, instead of numpy looping over short trailing axes of 6 or 17 values.


@dataclass(frozen=True)
class _Lanes:
    """Batch-independent lane constants of one stage in one month, over its active origins, shaped
    (A, R, 1) to broadcast over the batch (matrices for products are (A, R))."""

    limit: Array  # (A, R, 1) allowed share
    unlimited: Array | None  # (A, R, 1) +inf on lanes without a limit, else 0 (None: no lane limited)
    open_: Array | None  # (A, R) 1.0 where limit > 0 (None: all open)
    controlled: Array | None  # (C, R, 1) controlled share on origins with any control (None: none)
    controlled_rows: npt.NDArray[np.intp]
    clean: Array | None  # (A, R) 1.0 on uncontrolled open lanes (None: all lanes clean and open)
    dirty: Array | None  # (A, R) 1.0 on controlled open lanes
    desired: Array  # (A, R, 1) base mix × limit
    desired_t: Array  # (R, A) its transpose, for the product with capacity ratios


def _lanes(limit: Array, controlled: Array, base_mix: Array) -> _Lanes:
    open_ = limit > 0
    clean = (controlled == 0) & open_
    rows = np.flatnonzero((controlled != 0).any(axis=1))
    desired = base_mix * limit
    return _Lanes(
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


def _ratio(num: Array, den: Array, default: float) -> Array:
    """``num / den`` where ``den > 0``, else ``default``. (Plain passes: a ufunc with ``where=`` runs
    an unvectorised masked loop, about ten times slower.)"""
    positive = den > 0
    return np.where(positive, num / np.where(positive, den, 1.0), default)


def _headroom(allowed: Array, shipped: Array, unlimited: Array) -> Array:
    """What a lane may still carry: its allowed orders less what it shipped; +inf if unlimited."""
    headroom = allowed - shipped
    headroom += unlimited
    return headroom


def _serve_levels(final: Array, available: Array, levels: list[npt.NDArray[np.intp]] | None) -> Array:
    """Split ``available`` (R, B) among sector demands ``final`` (S, R, B): higher priority first,
    pro rata within a priority level (``levels``: sector indices per level, highest first;
    ``None``: a single level)."""
    if levels is None:
        ratio = _ratio(available, final.sum(axis=0), 1.0).clip(0.0, 1.0)
        return final * ratio
    served = np.zeros_like(final)
    left = available.copy()
    for cols in levels:
        want = final[cols]
        ratio = _ratio(left, want.sum(axis=0), 1.0).clip(0.0, 1.0)
        got = want * ratio
        served[cols] = got
        left -= got.sum(axis=0)
    return served


def _reserve(mix: Array, reserved_t: Array, capacity: Array, allowed: Array, use: Array) -> None:
    """Raise sourcing shares (A, R, B) in place to the offtake floors ``reserved_t / use`` (capped
    by the lane's allowed share), scaling the other shares down so each buyer's still sum to 1.
    A seller reserves at most its ``capacity`` (A, B) this month, shared pro rata among its
    offtakers: an agreement cannot make a buyer wait for a plant that is not built yet."""
    reserved = reserved_t[..., None] * _ratio(capacity, reserved_t.sum(axis=1)[:, None], 1.0).clip(max=1.0)[:, None]
    floor = np.minimum(_ratio(reserved, use[None], 0.0), allowed[..., None])
    floor_total = floor.sum(axis=0, keepdims=True)
    np.divide(floor, floor_total, out=floor, where=floor_total > 1.0)  # floors above 100%: share out
    raised = np.maximum(mix, floor)
    above = raised - floor
    room = (1.0 - floor.sum(axis=0, keepdims=True)).clip(min=0.0)
    scale = _ratio(room, above.sum(axis=0, keepdims=True), 0.0)
    mix[...] = floor + above * scale


def _loop(
    baseline: Baseline,
    plan: Plan,
    batch: int,
    rates: tuple[float | Array, float | Array, float | Array],
    capacity_scale: Array | None,
    on_period: Callable[[int], None] | None,
    record_all: bool,
) -> tuple[dict[str, Array], DrawSummary]:
    # Layout (batch last, see above): per-stage node arrays are (K, R, B); lane arrays of stage k
    # are (A_k, R, B) over the stage's *active* origins only (those with capacity, recycling or
    # base-year sales at any time): an origin with none of these never ships, is never promised
    # anything and keeps a zero sourcing share, so leaving its rows out changes no result.
    sourcing_adjustment, sourcing_reversion, price_scarcity_exponent = rates
    net = baseline.net
    R, K, S = len(net.regions), len(baseline.commodities), len(baseline.sectors)
    T = len(plan.periods)
    B = batch
    a = baseline.inputs
    inputs_of = [np.flatnonzero(a[:, k] > 0) for k in range(K)]
    outputs_of = [np.flatnonzero(a[k, :] > 0) for k in range(K)]
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
    node_a = [act[k] * K + k for k in range(K)]  # flat node index of each active origin
    base_mix = [mix0[act[k], k, :, k] for k in range(K)]
    has_offtake = [bool(plan.offtake_t[:, k].any()) for k in range(K)]
    mix = [np.repeat(base_mix[k][..., None], B, axis=2) for k in range(K)]
    lam = np.broadcast_to(np.asarray(sourcing_adjustment, dtype=float), (B,))
    mu = np.broadcast_to(np.asarray(sourcing_reversion, dtype=float), (B,))
    eta = np.broadcast_to(np.asarray(price_scarcity_exponent, dtype=float), (B,))
    scale = np.ones((R * K, B)) if capacity_scale is None else np.asarray(capacity_scale, dtype=float).T
    scale_a = [np.ascontiguousarray(scale[node_a[k]]) for k in range(K)]  # (A, B)
    # A draw's capacity scale applies to the base-year capacity (after disruptions), not to the
    # projects added on top; a supplier's pull is its capacity now over its scaled base capacity.
    project_cap = np.zeros((T, R * K))
    placed = plan.project_node >= 0
    np.add.at(project_cap.T, plan.project_node[placed], plan.project_capacity_t[:, placed].T)
    base_part = plan.capacity_t - project_cap
    base_cap_a = [baseline.capacity_t[node_a[k]][:, None] * scale_a[k] for k in range(K)]  # (A, B)

    def capacity_at(t: int) -> list[Array]:  # (A, B) per stage
        return [base_part[t, node_a[k], None] * scale_a[k] + project_cap[t, node_a[k], None] for k in range(K)]

    levels_all = np.unique(plan.priority)[::-1]
    levels = None if len(levels_all) == 1 else [np.flatnonzero(plan.priority == level) for level in levels_all]

    def per_node(x: Array) -> Array:  # (n,) → (K, R, 1)
        return np.ascontiguousarray(x.reshape(R, K).T)[..., None]

    target = per_node(plan.stock_target_t)
    stock = np.repeat(target, B, axis=2)
    max_release = per_node(plan.stock_max_release_t)
    refill_rate = np.divide(target, per_node(plan.stock_refill_months))
    releases = per_node(plan.stock_release) > 0
    release_k = [bool(releases[k].any()) for k in range(K)]
    price = np.ones((K, B))
    subst = np.zeros((K, S, B))
    short_last = np.zeros((K, R, B), dtype=bool)
    final0 = baseline.final_t.reshape(R, K, S).transpose(1, 2, 0)  # (K, S, R)
    ceiling = plan.substitution_ceiling.T[..., None]  # (K, S, 1)
    elasticity = plan.substitution_elasticity.T[..., None]
    lag = plan.substitution_lag.T[..., None]

    # Batch-independent constants per month, shared by consecutive months with the same controls.
    lanes: list[list[_Lanes]] = []
    for t in range(T):
        same = t > 0 and np.array_equal(plan.allowed[t], plan.allowed[t - 1])
        if same and np.array_equal(plan.controlled_origin[t], plan.controlled_origin[t - 1]):
            lanes.append(lanes[-1])
        else:
            lanes.append(
                [
                    _lanes(plan.allowed[t, k][act[k]], plan.controlled_origin[t, k][act[k]], base_mix[k])
                    for k in range(K)
                ]
            )

    shapes = {
        "production": (R, K),
        "shipped": (K, R, R),
        "unsold": (R, K),
        "delivered": (R, K),
        "draw": (R, K),
        "build": (R, K),
        "stock": (R, K),
        "intermediate": (R, K),
        "unused": (R, K),
        "demand": (R, K, S),
        "served": (R, K, S),
        "price": (K,),
        "subst": (S, K),
    }
    # Recorded batch last too, (T, …, B); moved to batch first once at the end.
    out = {name: np.zeros((T, *shape, B)) for name, shape in shapes.items()} if record_all else {}
    short_t = np.zeros((T, S, R, B))
    demand_t = np.zeros((T, S, R, B))
    price_t = np.zeros((T, K, B))
    use = np.zeros((K, R, B))
    plan_out = np.zeros((K, R, B))
    delivered = np.zeros((K, R, B))
    served_all = np.zeros((K, S, R, B))
    served_sum = np.zeros((K, R, B))
    intermediate = np.zeros((K, R, B))
    orders_lane: list[Array] = [mix[k] for k in range(K)]
    cap_next = capacity_at(0)
    for t in range(T):
        cap_a = cap_next
        cap_next = capacity_at(min(t + 1, T - 1))  # the sourcing set this month places next month's orders
        # final[k, s, r, b]: base demand × multiplier × (1 − substitution)
        mult = plan.demand_multiplier[t].reshape(R, K, S).transpose(1, 2, 0)
        final = (final0 * mult)[..., None] * (1.0 - subst)[:, :, None, :]
        final_total = final.sum(axis=1)  # (K, R, B)
        refill = np.where(~short_last & (stock < target), np.minimum(refill_rate, target - stock), 0.0)
        recycled = plan.recycled_t[t].reshape(R, K).T[..., None]  # (K, R, 1)
        excluded = plan.excluded[t].T[..., None] > 0  # (S, R, 1)
        any_excluded = bool(excluded.any())
        if record_all:
            cur = {name: out[name][t] for name in shapes}
            intermediate[...] = 0.0

        # 1. Orders, top down: use → orders to origins → planned output → its inputs' use.
        for k in reversed(range(K)):
            need = final_total[k] + refill[k]
            for out_k in outputs_of[k]:
                need += a[k, out_k] * plan_out[out_k]
            use[k] = need
            orders_lane[k] = mix[k] * need  # (A, R, B) orders on each lane
            plan_out[k] = 0.0
            plan_out[k][act[k]] = np.minimum(cap_a[k], orders_lane[k].sum(axis=1))

        # 2. Supply, bottom up.
        for k in range(K):
            lk = lanes[t][k]
            u = use[k]
            ratio = np.ones((R, B))
            for j in inputs_of[k]:
                needed = a[j, k] * plan_out[k]
                avail = delivered[j] * _ratio(needed, use[j], 0.0)
                np.minimum(ratio, _ratio(avail, needed, 1.0), out=ratio)
            made = plan_out[k] * ratio
            if record_all:
                for j in inputs_of[k]:
                    intermediate[j] += a[j, k] * made
            produced = made + recycled[k]
            prod_a = produced[act[k]]
            orders = orders_lane[k]
            allowed = orders if lk.unlimited is None else orders * lk.limit
            fill = _ratio(prod_a, allowed.sum(axis=1), 0.0).clip(max=1.0)
            shipped = allowed * fill[:, None, :]
            surplus = prod_a - shipped.sum(axis=1)
            gap = (u - shipped.sum(axis=0)).clip(min=0.0)
            # Surplus offered to buyers still short, pro rata to their gaps, on open lanes; a
            # controlled lane carries at most its allowed share of what was ordered on it.
            wanted = gap.sum(axis=0) if lk.open_ is None else lk.open_ @ gap
            extra = gap * _ratio(surplus, wanted, 0.0)[:, None, :]
            if lk.open_ is not None:
                extra *= lk.open_[..., None]
            if lk.unlimited is not None:
                np.minimum(extra, _headroom(allowed, shipped, lk.unlimited), out=extra)
            extra *= _ratio(gap, extra.sum(axis=0), 1.0).clip(max=1.0)
            shipped += extra
            received = shipped.sum(axis=0)
            if record_all:
                cur["shipped"][k][act[k]] = shipped
                cur["production"][:, k] = produced
                cur["unsold"][:, k] = produced
                cur["unsold"][act[k], k] -= shipped.sum(axis=1)
            short = (u - refill[k] - received).clip(min=0.0)
            if release_k[k]:
                draw = np.where(releases[k], np.minimum(np.minimum(stock[k], short), max_release[k]), 0.0)
            else:
                draw = np.zeros((R, B))
            stock[k] -= draw
            delivered[k] = received + draw
            # Final use gets its pro-rata part of deliveries; excluded sectors only uncontrolled supply.
            final_part = _ratio(final_total[k], u, 0.0)
            available = delivered[k] * final_part
            if any_excluded:
                if lk.controlled is None:
                    controlled = np.zeros((R, B))
                else:
                    controlled = (shipped[lk.controlled_rows] * lk.controlled).sum(axis=0)
                clean = np.minimum((delivered[k] - controlled) * final_part, available)
                want_excluded = final[k] * excluded
                served_excluded = _serve_levels(want_excluded, clean, levels)
                served = served_excluded + _serve_levels(
                    final[k] - want_excluded, available - served_excluded.sum(axis=0), levels
                )
            else:
                served = _serve_levels(final[k], available, levels)
            served_all[k] = served
            served_sum[k] = served.sum(axis=0)
            build = delivered[k] * _ratio(refill[k], u, 0.0)
            stock[k] += build
            if record_all:
                cur["draw"][:, k] = draw
                cur["build"][:, k] = build
                cur["unused"][:, k] = delivered[k] - served_sum[k] - build
            # Buyers still short ask origins with spare capacity for the gap next month, and shift
            # sourcing toward what arrived plus those promises (rerouting to spare capacity).
            gap = (u - received).clip(min=0.0)
            spare = (cap_a[k] - prod_a).clip(min=0.0)
            if any_excluded:
                unmet_excluded = (want_excluded - served_excluded).sum(axis=0)
                gap_clean = np.maximum(gap, unmet_excluded)
            else:
                gap_clean = gap
            # Excluded sectors' unmet demand can only be asked of uncontrolled lanes.
            if lk.clean is None:
                per_ask = _ratio(spare, gap_clean.sum(axis=0), 0.0)
                promised = gap_clean * per_ask[:, None, :]
            else:
                assert lk.dirty is not None
                per_ask = _ratio(spare, lk.clean @ gap_clean + lk.dirty @ gap, 0.0)
                promised = np.where(lk.clean[..., None] > 0, gap_clean, gap)
                if lk.open_ is not None:
                    promised *= lk.open_[..., None]
                promised *= per_ask[:, None, :]
            if lk.unlimited is not None:
                np.minimum(promised, _headroom(allowed, shipped, lk.unlimited), out=promised)
            promised *= _ratio(gap_clean, promised.sum(axis=0), 1.0).clip(max=1.0)
            promised += shipped  # sourced: what arrived plus what was promised
            total = promised.sum(axis=0)
            has = total > 0
            actual = np.divide(promised, np.where(has, total, 1.0), out=promised)
            if not has.all():
                np.copyto(actual, mix[k], where=~has)
            mk = mix[k]
            mk *= 1.0 - lam
            actual *= lam
            mk += actual
            # ... and drift back toward their base-year suppliers as far as next month's controls
            # allow them (the shares set now place next month's orders: a lifted ban is reflected
            # at once), weighted by how much of its base capacity each origin has now (no return
            # to a disrupted supplier) ...
            nxt = lanes[min(t + 1, T - 1)][k]
            cap_ratio = _ratio(cap_next[k], base_cap_a[k], 0.0).clip(max=1.0)
            desired = nxt.desired * cap_ratio[:, None, :]
            desired_total = nxt.desired_t @ cap_ratio
            has = desired_total > 0
            np.divide(desired, np.where(has, desired_total, 1.0), out=desired)
            if not has.all():
                np.copyto(desired, np.broadcast_to(base_mix[k][..., None], desired.shape), where=~has)
            # ... keeping with uncontrolled suppliers at least the share excluded sectors need.
            if any_excluded:
                need_clean = _ratio(want_excluded.sum(axis=0), u, 0.0).clip(max=1.0)
                if need_clean.any():
                    clean_now = mk if nxt.clean is None else mk * nxt.clean[..., None]
                    clean_total = clean_now.sum(axis=0)
                    keep = np.where(clean_total > 0, need_clean, 0.0)
                    desired *= 1.0 - keep
                    desired += clean_now * _ratio(keep, clean_total, 0.0)
            mk *= 1.0 - mu
            desired *= mu
            mk += desired
            # Offtake agreements reserve a seller's share of the buyer's use (within controls).
            if has_offtake[k]:
                t1 = min(t + 1, T - 1)
                _reserve(mk, plan.offtake_t[t1, k][act[k]], cap_next[k], plan.allowed[t1, k][act[k]], u)

        # 3. Between months: scarcity, price, substitution.
        gap_node = final_total - served_sum  # (K, R, B)
        scarcity = _ratio(gap_node.sum(axis=1), final_total.sum(axis=1), 0.0)  # (K, B)
        price = np.exp(eta * scarcity)
        target_sub = np.minimum(ceiling, -elasticity * np.log(price)[:, None, :])
        subst = subst + (target_sub - subst) / lag
        short_last = gap_node > 1e-9
        if record_all:
            cur["unused"] -= intermediate.transpose(1, 0, 2)
            cur["intermediate"][...] = intermediate.transpose(1, 0, 2)
            cur["delivered"][...] = delivered.transpose(1, 0, 2)
            cur["stock"][...] = stock.transpose(1, 0, 2)
            cur["demand"][...] = final.transpose(2, 0, 1, 3)
            cur["served"][...] = served_all.transpose(2, 0, 1, 3)
            cur["price"][...] = price
            cur["subst"][...] = subst.transpose(1, 0, 2)
        final.sum(axis=0, out=demand_t[t])
        np.subtract(demand_t[t], served_all.sum(axis=0), out=short_t[t])
        price_t[t] = price
        if on_period is not None:
            on_period(t)
    recorded = {name: np.ascontiguousarray(np.moveaxis(value, -1, 0)) for name, value in out.items()}
    # The Monte Carlo outputs are returned as batch-first *views* (no copy of the largest arrays).
    return recorded, DrawSummary(
        demand_t=demand_t.transpose(3, 0, 2, 1),
        shortfall_t=short_t.transpose(3, 0, 2, 1),
        price_index=price_t.transpose(2, 0, 1),
    )


def run_scenario(
    baseline: Baseline,
    plan: Plan,
    scenario: Scenario,
    mode: Mode = "fast",
    on_period: Callable[[int], None] | None = None,
) -> Trajectory:
    """Step ``plan`` month by month in ``mode`` with the scenario's engine parameters."""
    if mode == "lp":
        from chokepoint.simulation.lp import run_lp

        return run_lp(baseline, plan, price_scarcity_exponent=scenario.price_scarcity_exponent)
    return run_fast(
        baseline,
        plan,
        sourcing_adjustment=scenario.sourcing_adjustment,
        sourcing_reversion=scenario.sourcing_reversion,
        price_scarcity_exponent=scenario.price_scarcity_exponent,
        on_period=on_period,
    )
