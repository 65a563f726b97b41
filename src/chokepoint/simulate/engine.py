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


def _loop(
    baseline: Baseline,
    plan: Plan,
    batch: int,
    rates: tuple[float | Array, float | Array, float | Array],
    capacity_scale: Array | None,
    on_period: Callable[[int], None] | None,
    record_all: bool,
) -> tuple[dict[str, Array], DrawSummary]:
    sourcing_adjustment, sourcing_reversion, price_scarcity_exponent = rates
    net = baseline.net
    ks = baseline.commodities
    R, K, S = len(net.regions), len(ks), len(baseline.sectors)
    T = len(plan.periods)
    B = batch
    a = baseline.inputs
    inputs_of = [np.flatnonzero(a[:, k] > 0) for k in range(K)]
    outputs_of = [np.flatnonzero(a[k, :] > 0) for k in range(K)]
    mix0 = net.mix.toarray().reshape(R, K, R, K)
    mix = np.stack([np.broadcast_to(mix0[:, k, :, k], (B, R, R)).copy() for k in range(K)], axis=1)  # (B,K,R,R)
    final0 = baseline.final_t.reshape(R, K, S)
    lam = np.broadcast_to(np.asarray(sourcing_adjustment, dtype=float), (B,))[:, None, None, None]
    mu = np.broadcast_to(np.asarray(sourcing_reversion, dtype=float), (B,))[:, None, None, None]
    base_mix = [mix0[:, k, :, k] for k in range(K)]
    base_capacity = baseline.capacity_t.reshape(R, K)
    eta = np.broadcast_to(np.asarray(price_scarcity_exponent, dtype=float), (B,))[:, None]
    scale = np.ones((B, R * K)) if capacity_scale is None else np.asarray(capacity_scale, dtype=float)

    stock = np.broadcast_to(plan.stock_target_t.reshape(R, K), (B, R, K)).copy()
    target = plan.stock_target_t.reshape(R, K)
    max_release = plan.stock_max_release_t.reshape(R, K)
    refill_rate = np.divide(target, plan.stock_refill_months.reshape(R, K))
    releases = plan.stock_release.reshape(R, K) > 0
    price = np.ones((B, K))
    subst = np.zeros((B, S, K))
    short_last = np.zeros((B, R, K), dtype=bool)

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
    dtype = np.float64
    out = {name: np.zeros((B, T, *shape), dtype) for name, shape in shapes.items()} if record_all else {}
    short_rs = np.zeros((B, T, R, S))
    demand_rs = np.zeros((B, T, R, S))
    price_k = np.zeros((B, T, K))
    for t in range(T):
        cur = {name: np.zeros((B, *shape), dtype) for name, shape in shapes.items()}
        capacity = (plan.capacity_t[t] * scale).reshape(B, R, K)
        final = final0 * plan.demand_multiplier[t].reshape(R, K, S) * (1.0 - subst.transpose(0, 2, 1)[:, None, :, :])
        final_total = final.sum(axis=-1)  # (B, R, K)
        refill = np.where(~short_last & (stock < target), np.minimum(refill_rate, target - stock), 0.0)

        # 1. Orders, top down: use → orders to origins → planned output → its inputs' use.
        use = np.zeros((B, R, K))
        plan_out = np.zeros((B, R, K))
        for k in reversed(range(K)):
            need = final_total[..., k] + refill[..., k]
            for out_k in outputs_of[k]:
                need = need + a[k, out_k] * plan_out[..., out_k]
            use[..., k] = need
            orders = (mix[:, k] @ need[..., None])[..., 0]  # Σ_b mix[o, b]·need[b]
            plan_out[..., k] = np.minimum(capacity[..., k], orders)

        # 2. Supply, bottom up.
        delivered = np.zeros((B, R, K))
        for k in range(K):
            ratio = np.ones((B, R))
            for j in inputs_of[k]:
                needed = a[j, k] * plan_out[..., k]
                avail = delivered[..., j] * np.divide(
                    a[j, k] * plan_out[..., k], use[..., j], out=np.zeros((B, R)), where=use[..., j] > 0
                )
                ratio = np.minimum(ratio, np.divide(avail, needed, out=np.ones((B, R)), where=needed > 0))
            made = plan_out[..., k] * ratio
            for j in inputs_of[k]:
                cur["intermediate"][:, :, j] += a[j, k] * made
            produced = made + plan.recycled_t[t].reshape(R, K)[:, k]
            orders = mix[:, k] * use[:, None, :, k]  # (B, o, b)
            allowed = orders * plan.allowed[t, k]
            total_allowed = allowed.sum(axis=2)
            fill = np.divide(produced, total_allowed, out=np.zeros((B, R)), where=total_allowed > 0).clip(max=1.0)
            shipped = allowed * fill[..., None]
            surplus = produced - shipped.sum(axis=2)
            gap = use[..., k] - shipped.sum(axis=1)
            # A controlled lane carries at most its allowed share of what the buyer ordered on it.
            limit = plan.allowed[t, k]
            lane_cap = np.where(limit < 1.0, orders * limit, np.inf)
            weights = (limit > 0) * gap.clip(min=0.0)[:, None, :]
            wanted = weights.sum(axis=2, keepdims=True)
            offered = np.divide(weights, wanted, out=np.zeros_like(weights), where=wanted > 0)
            extra = np.minimum(offered * surplus[..., None], lane_cap - shipped)
            got = extra.sum(axis=1)
            cap_ratio = np.divide(gap.clip(min=0.0), got, out=np.ones_like(got), where=got > 0).clip(max=1.0)
            extra = extra * cap_ratio[:, None, :]
            shipped = shipped + extra
            cur["shipped"][:, k] = shipped
            cur["production"][:, :, k] = produced
            cur["unsold"][:, :, k] = produced - shipped.sum(axis=2)
            received = shipped.sum(axis=1)
            short = (use[..., k] - refill[..., k] - received).clip(min=0.0)
            draw = np.where(releases[:, k], np.minimum(np.minimum(stock[..., k], short), max_release[:, k]), 0.0)
            stock[..., k] -= draw
            delivered[..., k] = received + draw
            cur["draw"][:, :, k] = draw
            # Final use gets its pro-rata part of deliveries; excluded sectors only uncontrolled supply.
            final_part = np.divide(final_total[..., k], use[..., k], out=np.zeros((B, R)), where=use[..., k] > 0)
            available = delivered[..., k] * final_part
            # Sectors a licence excludes are served first, and only from uncontrolled supply.
            excluded = (plan.excluded[t] > 0)[None]  # (1, R, S)
            controlled = (shipped * plan.controlled_origin[t, k]).sum(axis=1)
            clean = np.minimum((delivered[..., k] - controlled) * final_part, available)
            want_excluded = final[:, :, k, :] * excluded
            served = _serve(want_excluded, clean, plan.priority)
            served += _serve(final[:, :, k, :] * ~excluded, available - served.sum(axis=-1), plan.priority)
            cur["served"][:, :, k, :] = served
            cur["demand"][:, :, k, :] = final[:, :, k, :]
            refill_part = np.divide(refill[..., k], use[..., k], out=np.zeros((B, R)), where=use[..., k] > 0)
            build = delivered[..., k] * refill_part
            stock[..., k] += build
            cur["build"][:, :, k] = build
            # The share of deliveries meant for downstream inputs, minus what was consumed, is unused.
            cur["unused"][:, :, k] = delivered[..., k] - served.sum(axis=-1) - build
            # Buyers still short ask origins with spare capacity for the gap next month, and shift
            # sourcing toward what arrived plus those promises (rerouting to spare capacity).
            gap = (use[..., k] - shipped.sum(axis=1)).clip(min=0.0)
            unmet_excluded = (want_excluded - served * excluded).sum(axis=-1)
            gap_clean = np.maximum(gap, unmet_excluded)
            spare = (capacity[..., k] - produced).clip(min=0.0)
            # Excluded sectors' unmet demand can only be asked of uncontrolled lanes.
            clean_lane = (plan.controlled_origin[t, k] == 0) & (limit > 0)
            asks = np.where(clean_lane, gap_clean[:, None, :], (limit > 0) * gap[:, None, :])
            gap = gap_clean
            asked = asks.sum(axis=2, keepdims=True)
            promised = np.divide(asks, asked, out=np.zeros_like(asks), where=asked > 0) * spare[..., None]
            promised = np.minimum(promised, lane_cap - shipped)
            promised *= np.divide(
                gap, promised.sum(axis=1), out=np.ones_like(gap), where=promised.sum(axis=1) > 0
            ).clip(max=1.0)[:, None, :]
            sourced = shipped + promised
            total = sourced.sum(axis=1, keepdims=True)
            actual = np.divide(sourced, total, out=mix[:, k].copy(), where=total > 0)
            mix[:, k] = (1.0 - lam[:, 0]) * mix[:, k] + lam[:, 0] * actual
            # ... and drift back toward their base-year suppliers as far as controls allow them.
            # (weighted by how much of its base capacity each origin has now: no return to a
            # disrupted supplier)
            desired = (
                base_mix[k]
                * limit
                * np.divide(
                    capacity[..., k], base_capacity[:, k], out=np.zeros((B, R)), where=base_capacity[:, k] > 0
                ).clip(max=1.0)[..., None]
            )
            desired_total = desired.sum(axis=1, keepdims=True)
            desired = np.divide(
                desired, desired_total, out=np.broadcast_to(base_mix[k], desired.shape).copy(), where=desired_total > 0
            )
            # ... keeping with uncontrolled suppliers at least the share excluded sectors need.
            need_clean = np.divide(want_excluded.sum(axis=-1), use[..., k], out=np.zeros((B, R)), where=use[..., k] > 0)
            clean_now = mix[:, k] * clean_lane
            clean_total = clean_now.sum(axis=1, keepdims=True)
            clean_mix = np.divide(clean_now, clean_total, out=np.zeros_like(clean_now), where=clean_total > 0)
            keep = np.where(clean_total[:, 0, :] > 0, need_clean.clip(max=1.0), 0.0)[:, None, :]
            desired = (1.0 - keep) * desired + keep * clean_mix
            mix[:, k] = (1.0 - mu[:, 0]) * mix[:, k] + mu[:, 0] * desired

        cur["unused"] -= cur["intermediate"]
        cur["delivered"] = delivered
        cur["stock"] = stock
        # 3. Between months: scarcity, price, substitution.
        gap_world = (cur["demand"].sum(axis=-1) - cur["served"].sum(axis=-1)).sum(axis=1)  # (B, K)
        want_world = cur["demand"].sum(axis=(1, 3))
        scarcity = np.divide(gap_world, want_world, out=np.zeros((B, K)), where=want_world > 0)
        price = np.exp(eta * scarcity)
        target_sub = np.minimum(plan.substitution_ceiling, -plan.substitution_elasticity * np.log(price)[:, None, :])
        subst = subst + (target_sub - subst) / plan.substitution_lag
        short_last = (cur["demand"].sum(axis=-1) - cur["served"].sum(axis=-1)) > 1e-9
        cur["price"] = price
        cur["subst"] = subst
        for name, value in cur.items() if record_all else ():
            out[name][:, t] = value
        demand_rs[:, t] = cur["demand"].sum(axis=2)
        short_rs[:, t] = demand_rs[:, t] - cur["served"].sum(axis=2)
        price_k[:, t] = price
        if on_period is not None:
            on_period(t)
    return out, DrawSummary(demand_t=demand_rs, shortfall_t=short_rs, price_index=price_k)
