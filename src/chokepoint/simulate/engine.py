"""The period loop of the ``fast`` allocation mode, vectorised over a batch of parameter draws.

Each month, with arrays shaped (batch B, regions R) per commodity k (stage):

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

import numpy as np
import numpy.typing as npt

from chokepoint.simulate.baseline import Baseline
from chokepoint.simulate.plan import Plan

__all__ = ["DrawSummary", "Trajectory", "run_draws", "run_fast"]

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


def _serve(final: Array, available: Array, priority: Array) -> Array:
    """Split ``available`` (B, R) among sector demands ``final`` (B, R, S): higher priority first,
    pro rata within a priority level."""
    served = np.zeros_like(final)
    left = available.copy()
    for level in np.unique(priority)[::-1]:
        cols = priority == level
        want = final[..., cols]
        total = want.sum(axis=-1)
        ratio = np.divide(left, total, out=np.ones_like(total), where=total > 0).clip(0.0, 1.0)
        served[..., cols] = want * ratio[..., None]
        left = left - served[..., cols].sum(axis=-1)
    return served


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


@dataclass(frozen=True)
class _Lanes:
    """Batch-independent lane constants of one stage in one month, over its active origins."""

    limit: Array  # (A, R) allowed share
    limited: npt.NDArray[np.bool_] | None  # (A, R) lanes with limit < 1 (None: none)
    open_: Array | None  # (A, R) 1.0 where limit > 0 (None: all open)
    controlled: Array | None  # (C, R) controlled share on origins with any control (None: none)
    controlled_rows: npt.NDArray[np.intp]
    clean: Array | None  # (A, R) 1.0 on uncontrolled open lanes (None: all lanes clean and open)
    dirty: Array | None  # (A, R) 1.0 on controlled open lanes
    desired: Array  # (A, R) base mix × limit


def _lanes(limit: Array, controlled: Array, base_mix: Array) -> _Lanes:
    open_ = limit > 0
    clean = (controlled == 0) & open_
    rows = np.flatnonzero((controlled != 0).any(axis=1))
    return _Lanes(
        limit=limit,
        limited=(limit < 1.0) if (limit < 1.0).any() else None,
        open_=None if open_.all() else open_.astype(float),
        controlled=controlled[rows] if len(rows) else None,
        controlled_rows=rows,
        clean=None if clean.all() else clean.astype(float),
        dirty=None if clean.all() else (open_ & ~clean).astype(float),
        desired=base_mix * limit,
    )


def _serve_levels(final: Array, available: Array, levels: list[npt.NDArray[np.bool_]] | None) -> Array:
    """:func:`_serve` with the priority levels precomputed (``None``: a single level)."""
    if levels is None:
        total = final.sum(axis=-1)
        ratio = np.divide(available, total, out=np.ones_like(total), where=total > 0).clip(0.0, 1.0)
        return final * ratio[..., None]
    served = np.zeros_like(final)
    left = available.copy()
    for cols in levels:
        want = final[..., cols]
        total = want.sum(axis=-1)
        ratio = np.divide(left, total, out=np.ones_like(total), where=total > 0).clip(0.0, 1.0)
        served[..., cols] = want * ratio[..., None]
        left = left - served[..., cols].sum(axis=-1)
    return served


def _reserve(mix: Array, reserved_t: Array, allowed: Array, use: Array) -> None:
    """Raise sourcing shares (B, A, R) in place to the offtake floors ``reserved_t / use`` (capped
    by the lane's allowed share), scaling the other shares down so each buyer's still sum to 1."""
    floor = np.minimum(
        np.divide(reserved_t[None], use[:, None, :], out=np.zeros_like(mix), where=use[:, None, :] > 0),
        allowed[None],
    )
    floor_total = floor.sum(axis=1, keepdims=True)
    np.divide(floor, floor_total, out=floor, where=floor_total > 1.0)  # floors above 100%: share out
    raised = np.maximum(mix, floor)
    above = raised - floor
    room = (1.0 - floor.sum(axis=1, keepdims=True)).clip(min=0.0)
    above_total = above.sum(axis=1, keepdims=True)
    scale = np.divide(room, above_total, out=np.zeros_like(room), where=above_total > 0)
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
    # Layout: per-stage node arrays are (K, B, R); lane arrays of stage k are (B, A_k, R) over the
    # stage's *active* origins only (those with capacity, recycling or base-year sales at any time):
    # an origin with none of these never ships, is never promised anything and keeps a zero
    # sourcing share, so leaving its rows out changes no result.
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
    base_mix = [mix0[act[k], k, :, k] for k in range(K)]
    has_offtake = [bool(plan.offtake_t[:, k].any()) for k in range(K)]
    mix = [np.broadcast_to(base_mix[k], (B, len(act[k]), R)).copy() for k in range(K)]
    lam = np.broadcast_to(np.asarray(sourcing_adjustment, dtype=float), (B,))[:, None, None]
    mu = np.broadcast_to(np.asarray(sourcing_reversion, dtype=float), (B,))[:, None, None]
    base_capacity = baseline.capacity_t.reshape(R, K)
    base_cap_a = [base_capacity[act[k], k] for k in range(K)]
    eta = np.broadcast_to(np.asarray(price_scarcity_exponent, dtype=float), (B,))[:, None]
    scale = np.ones((B, R * K)) if capacity_scale is None else np.asarray(capacity_scale, dtype=float)
    levels_all = np.unique(plan.priority)[::-1]
    levels = None if len(levels_all) == 1 else [plan.priority == level for level in levels_all]

    stock = np.broadcast_to(plan.stock_target_t.reshape(R, K), (B, R, K)).copy()
    target = plan.stock_target_t.reshape(R, K)
    max_release = plan.stock_max_release_t.reshape(R, K)
    refill_rate = np.divide(target, plan.stock_refill_months.reshape(R, K))
    releases = plan.stock_release.reshape(R, K) > 0
    release_k = [bool(releases[:, k].any()) for k in range(K)]
    price = np.ones((B, K))
    subst = np.zeros((B, S, K))
    short_last = np.zeros((B, R, K), dtype=bool)
    final0 = baseline.final_t.reshape(R, K, S).transpose(1, 0, 2)  # (K, R, S)

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
    out = {name: np.zeros((B, T, *shape)) for name, shape in shapes.items()} if record_all else {}
    short_rs = np.zeros((B, T, R, S))
    demand_rs = np.zeros((B, T, R, S))
    price_k = np.zeros((B, T, K))
    use = np.zeros((K, B, R))
    plan_out = np.zeros((K, B, R))
    delivered = np.zeros((K, B, R))
    served_all = np.zeros((K, B, R, S))
    served_sum = np.zeros((K, B, R))
    orders_lane: list[Array] = [mix[k] for k in range(K)]
    for t in range(T):
        capacity = (plan.capacity_t[t] * scale).reshape(B, R, K)
        cap_a = [capacity[:, act[k], k] for k in range(K)]
        # final[k, b, r, s]: base demand × multiplier × (1 − substitution)
        final = (final0 * plan.demand_multiplier[t].reshape(R, K, S).transpose(1, 0, 2))[:, None] * (
            1.0 - subst.transpose(2, 0, 1)[:, :, None, :]
        )
        final_total = final.sum(axis=-1)  # (K, B, R)
        refill = np.where(~short_last & (stock < target), np.minimum(refill_rate, target - stock), 0.0)
        recycled = plan.recycled_t[t].reshape(R, K)
        excluded = plan.excluded[t] > 0  # (R, S)
        any_excluded = bool(excluded.any())
        if record_all:
            cur = {name: np.zeros((B, *shape)) for name, shape in shapes.items()}
            intermediate = np.zeros((K, B, R))

        # 1. Orders, top down: use → orders to origins → planned output → its inputs' use.
        for k in reversed(range(K)):
            need = final_total[k] + refill[..., k]
            for out_k in outputs_of[k]:
                need = need + a[k, out_k] * plan_out[out_k]
            use[k] = need
            orders_lane[k] = mix[k] * need[:, None, :]  # (B, A, R) orders on each lane
            plan_out[k] = 0.0
            plan_out[k][:, act[k]] = np.minimum(cap_a[k], orders_lane[k].sum(axis=2))

        # 2. Supply, bottom up.
        for k in range(K):
            lk = lanes[t][k]
            u = use[k]
            ratio = np.ones((B, R))
            for j in inputs_of[k]:
                needed = a[j, k] * plan_out[k]
                avail = delivered[j] * np.divide(needed, use[j], out=np.zeros((B, R)), where=use[j] > 0)
                ratio = np.minimum(ratio, np.divide(avail, needed, out=np.ones((B, R)), where=needed > 0))
            made = plan_out[k] * ratio
            if record_all:
                for j in inputs_of[k]:
                    intermediate[j] += a[j, k] * made
            produced = made + recycled[:, k]
            prod_a = produced[:, act[k]]
            orders = orders_lane[k]
            allowed = orders if lk.limited is None else orders * lk.limit
            total_allowed = allowed.sum(axis=2)
            fill = np.divide(prod_a, total_allowed, out=np.zeros_like(prod_a), where=total_allowed > 0).clip(max=1.0)
            shipped = allowed * fill[..., None]
            surplus = prod_a - shipped.sum(axis=2)
            gap = (u - shipped.sum(axis=1)).clip(min=0.0)
            # Surplus offered to buyers still short, pro rata to their gaps, on open lanes; a
            # controlled lane carries at most its allowed share of what was ordered on it.
            wanted = gap.sum(axis=1)[:, None] if lk.open_ is None else gap @ lk.open_.T
            per_gap = np.divide(surplus, wanted, out=np.zeros_like(surplus), where=wanted > 0)
            extra = gap[:, None, :] * per_gap[..., None]
            if lk.open_ is not None:
                extra *= lk.open_
            if lk.limited is not None:
                headroom = allowed - shipped
                np.minimum(extra, headroom, out=extra, where=lk.limited)
            got = extra.sum(axis=1)
            extra *= np.divide(gap, got, out=np.ones_like(got), where=got > 0).clip(max=1.0)[:, None, :]
            shipped += extra
            received = shipped.sum(axis=1)
            if record_all:
                cur["shipped"][:, k][:, act[k]] = shipped
                cur["production"][:, :, k] = produced
                cur["unsold"][:, :, k] = produced
                cur["unsold"][:, act[k], k] -= shipped.sum(axis=2)
            short = (u - refill[..., k] - received).clip(min=0.0)
            if release_k[k]:
                draw = np.where(releases[:, k], np.minimum(np.minimum(stock[..., k], short), max_release[:, k]), 0.0)
            else:
                draw = np.zeros((B, R))
            stock[..., k] -= draw
            delivered[k] = received + draw
            # Final use gets its pro-rata part of deliveries; excluded sectors only uncontrolled supply.
            final_part = np.divide(final_total[k], u, out=np.zeros((B, R)), where=u > 0)
            available = delivered[k] * final_part
            if any_excluded:
                if lk.controlled is None:
                    controlled = np.zeros((B, R))
                else:
                    controlled = np.einsum("bar,ar->br", shipped[:, lk.controlled_rows], lk.controlled)
                clean = np.minimum((delivered[k] - controlled) * final_part, available)
                want_excluded = final[k] * excluded
                served = _serve_levels(want_excluded, clean, levels)
                served += _serve_levels(final[k] * ~excluded, available - served.sum(axis=-1), levels)
            else:
                served = _serve_levels(final[k], available, levels)
            served_all[k] = served
            served_sum[k] = served.sum(axis=-1)
            refill_part = np.divide(refill[..., k], u, out=np.zeros((B, R)), where=u > 0)
            build = delivered[k] * refill_part
            stock[..., k] += build
            if record_all:
                cur["draw"][:, :, k] = draw
                cur["build"][:, :, k] = build
                cur["unused"][:, :, k] = delivered[k] - served_sum[k] - build
            # Buyers still short ask origins with spare capacity for the gap next month, and shift
            # sourcing toward what arrived plus those promises (rerouting to spare capacity).
            gap = (u - received).clip(min=0.0)
            spare = (cap_a[k] - prod_a).clip(min=0.0)
            if any_excluded:
                unmet_excluded = (want_excluded - served * excluded).sum(axis=-1)
                gap_clean = np.maximum(gap, unmet_excluded)
            else:
                gap_clean = gap
            # Excluded sectors' unmet demand can only be asked of uncontrolled lanes.
            if lk.clean is None:
                asked = gap_clean.sum(axis=1)[:, None]
                per_ask = np.divide(spare, asked, out=np.zeros_like(spare), where=asked > 0)
                promised = gap_clean[:, None, :] * per_ask[..., None]
            else:
                assert lk.dirty is not None
                asked = gap_clean @ lk.clean.T + gap @ lk.dirty.T
                per_ask = np.divide(spare, asked, out=np.zeros_like(spare), where=asked > 0)
                promised = np.where(lk.clean > 0, gap_clean[:, None, :], gap[:, None, :])
                if lk.open_ is not None:
                    promised *= lk.open_
                promised *= per_ask[..., None]
            if lk.limited is not None:
                headroom = allowed - shipped
                np.minimum(promised, headroom, out=promised, where=lk.limited)
            p_sum = promised.sum(axis=1)
            promised *= np.divide(gap_clean, p_sum, out=np.ones_like(gap_clean), where=p_sum > 0).clip(max=1.0)[
                :, None, :
            ]
            promised += shipped  # sourced: what arrived plus what was promised
            total = promised.sum(axis=1)
            has = total > 0
            actual = np.divide(promised, total[:, None, :], out=promised, where=has[:, None, :])
            if not has.all():
                np.copyto(actual, mix[k], where=~has[:, None, :])
            mk = mix[k]
            mk *= 1.0 - lam
            actual *= lam
            mk += actual
            # ... and drift back toward their base-year suppliers as far as controls allow them
            # (weighted by how much of its base capacity each origin has now: no return to a
            # disrupted supplier) ...
            cap_ratio = np.divide(cap_a[k], base_cap_a[k], out=np.zeros_like(cap_a[k]), where=base_cap_a[k] > 0).clip(
                max=1.0
            )
            desired = lk.desired * cap_ratio[..., None]
            desired_total = cap_ratio @ lk.desired
            has = desired_total > 0
            np.divide(desired, desired_total[:, None, :], out=desired, where=has[:, None, :])
            if not has.all():
                np.copyto(desired, np.broadcast_to(base_mix[k], desired.shape), where=~has[:, None, :])
            # ... keeping with uncontrolled suppliers at least the share excluded sectors need.
            if any_excluded:
                need_clean = np.divide(want_excluded.sum(axis=-1), u, out=np.zeros((B, R)), where=u > 0).clip(max=1.0)
                if need_clean.any():
                    clean_now = mk if lk.clean is None else mk * lk.clean
                    clean_total = clean_now.sum(axis=1)
                    keep = np.where(clean_total > 0, need_clean, 0.0)
                    desired *= (1.0 - keep)[:, None, :]
                    desired += (
                        clean_now
                        * np.divide(keep, clean_total, out=np.zeros_like(keep), where=clean_total > 0)[:, None, :]
                    )
            mk *= 1.0 - mu
            desired *= mu
            mk += desired
            # Offtake agreements reserve a seller's share of the buyer's use (within controls).
            if has_offtake[k]:
                _reserve(mk, plan.offtake_t[t, k][act[k]], plan.allowed[t, k][act[k]], u)

        # 3. Between months: scarcity, price, substitution.
        demand_sum = final_total  # (K, B, R)
        gap_node = demand_sum - served_sum
        gap_world = gap_node.sum(axis=2).T  # (B, K)
        want_world = demand_sum.sum(axis=2).T
        scarcity = np.divide(gap_world, want_world, out=np.zeros((B, K)), where=want_world > 0)
        price = np.exp(eta * scarcity)
        target_sub = np.minimum(plan.substitution_ceiling, -plan.substitution_elasticity * np.log(price)[:, None, :])
        subst = subst + (target_sub - subst) / plan.substitution_lag
        short_last = gap_node.transpose(1, 2, 0) > 1e-9
        if record_all:
            cur["unused"] -= intermediate.transpose(1, 2, 0)
            cur["intermediate"] = intermediate.transpose(1, 2, 0)
            cur["delivered"] = delivered.transpose(1, 2, 0)
            cur["stock"] = stock
            cur["demand"] = final.transpose(1, 2, 0, 3)
            cur["served"] = served_all.transpose(1, 2, 0, 3)
            cur["price"] = price
            cur["subst"] = subst
            for name, value in cur.items():
                out[name][:, t] = value
        demand_rs[:, t] = final.sum(axis=0)
        short_rs[:, t] = demand_rs[:, t] - served_all.sum(axis=0)
        price_k[:, t] = price
        if on_period is not None:
            on_period(t)
    return out, DrawSummary(demand_t=demand_rs, shortfall_t=short_rs, price_index=price_k)
