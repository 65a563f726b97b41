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
   rata; among sectors, higher ``priorities`` are served first, and sectors a licence excludes get
   nothing from controlled flows.
3. **Between months.** Buyers move ``sourcing_adjustment`` of the way from their sourcing shares
   to what actually arrived (rerouting with a lag); stocks refill when nothing is short; the
   price rises with world scarcity, ``p = p₀·exp(η·shortfall share)``; substitution moves toward
   ``min(ceiling, −elasticity·ln(p/p₀))`` with a first-order lag.

Every quantity is in tonnes per month; nothing is created or lost: production + imports + stock
draw = exports + intermediate use + final use + stock build + unsold and unused material
(inventory), which :func:`mass_balance` checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chokepoint.simulate.baseline import Baseline
from chokepoint.simulate.plan import Plan

__all__ = ["Trajectory", "run_fast"]

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
    price_scarcity_exponent: float | Array = 11.0,
    capacity_scale: Array | None = None,
) -> Trajectory:
    """Run the month loop for ``batch`` draws; per-draw parameters are arrays of length ``batch``.

    ``capacity_scale`` (B, n) multiplies capacity per draw (uncertainty in capacity), default 1.
    """
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

    out = {
        name: np.zeros(shape)
        for name, shape in {
            "production": (B, T, R, K),
            "shipped": (B, T, K, R, R),
            "unsold": (B, T, R, K),
            "delivered": (B, T, R, K),
            "draw": (B, T, R, K),
            "build": (B, T, R, K),
            "stock": (B, T, R, K),
            "intermediate": (B, T, R, K),
            "unused": (B, T, R, K),
            "demand": (B, T, R, K, S),
            "served": (B, T, R, K, S),
            "price": (B, T, K),
            "subst": (B, T, S, K),
        }.items()
    }
    for t in range(T):
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
                out["intermediate"][:, t, :, j] += a[j, k] * made
            produced = made + plan.recycled_t[t].reshape(R, K)[:, k]
            orders = mix[:, k] * use[:, None, :, k]  # (B, o, b)
            allowed = orders * plan.allowed[t, k]
            total_allowed = allowed.sum(axis=2)
            fill = np.divide(produced, total_allowed, out=np.zeros((B, R)), where=total_allowed > 0).clip(max=1.0)
            shipped = allowed * fill[..., None]
            surplus = produced - shipped.sum(axis=2)
            gap = use[..., k] - shipped.sum(axis=1)
            weights = plan.allowed[t, k] * gap.clip(min=0.0)[:, None, :]
            wanted = weights.sum(axis=2, keepdims=True)
            offered = np.divide(weights, wanted, out=np.zeros_like(weights), where=wanted > 0)
            extra = offered * surplus[..., None]
            got = extra.sum(axis=1)
            cap_ratio = np.divide(gap.clip(min=0.0), got, out=np.ones_like(got), where=got > 0).clip(max=1.0)
            extra = extra * cap_ratio[:, None, :]
            shipped = shipped + extra
            out["shipped"][:, t, k] = shipped
            out["production"][:, t, :, k] = produced
            out["unsold"][:, t, :, k] = produced - shipped.sum(axis=2)
            received = shipped.sum(axis=1)
            short = (use[..., k] - refill[..., k] - received).clip(min=0.0)
            draw = np.where(releases[:, k], np.minimum(np.minimum(stock[..., k], short), max_release[:, k]), 0.0)
            stock[..., k] -= draw
            delivered[..., k] = received + draw
            out["draw"][:, t, :, k] = draw
            # Final use gets its pro-rata part of deliveries; excluded sectors only uncontrolled supply.
            final_part = np.divide(final_total[..., k], use[..., k], out=np.zeros((B, R)), where=use[..., k] > 0)
            available = delivered[..., k] * final_part
            served = _serve(final[:, :, k, :], available, plan.priority)
            controlled = (shipped * plan.controlled_origin[t, k]).sum(axis=1)
            clean = np.divide(received - controlled, received, out=np.ones((B, R)), where=received > 0)
            excluded = plan.excluded[t] > 0  # (R, S)
            served = np.where(excluded[None], np.minimum(served, final[:, :, k, :] * clean[..., None]), served)
            out["served"][:, t, :, k, :] = served
            out["demand"][:, t, :, k, :] = final[:, :, k, :]
            refill_part = np.divide(refill[..., k], use[..., k], out=np.zeros((B, R)), where=use[..., k] > 0)
            build = delivered[..., k] * refill_part
            stock[..., k] += build
            out["build"][:, t, :, k] = build
            # The share of deliveries meant for downstream inputs, minus what was consumed, is unused.
            out["unused"][:, t, :, k] = delivered[..., k] - served.sum(axis=-1) - build
            # Buyers still short ask origins with spare capacity for the gap next month, and shift
            # sourcing toward what arrived plus those promises (rerouting to spare capacity).
            gap = (use[..., k] - shipped.sum(axis=1)).clip(min=0.0)
            spare = (capacity[..., k] - produced).clip(min=0.0)
            asks = plan.allowed[t, k] * gap[:, None, :]
            asked = asks.sum(axis=2, keepdims=True)
            promised = np.divide(asks, asked, out=np.zeros_like(asks), where=asked > 0) * spare[..., None]
            promised *= np.divide(
                gap, promised.sum(axis=1), out=np.ones_like(gap), where=promised.sum(axis=1) > 0
            ).clip(max=1.0)[:, None, :]
            sourced = shipped + promised
            total = sourced.sum(axis=1, keepdims=True)
            actual = np.divide(sourced, total, out=mix[:, k].copy(), where=total > 0)
            mix[:, k] = (1.0 - lam[:, 0]) * mix[:, k] + lam[:, 0] * actual

        out["unused"][:, t] -= out["intermediate"][:, t]
        out["delivered"][:, t] = delivered
        out["stock"][:, t] = stock
        # 3. Between months: scarcity, price, substitution.
        gap_world = (out["demand"][:, t].sum(axis=-1) - out["served"][:, t].sum(axis=-1)).sum(axis=1)  # (B, K)
        want_world = out["demand"][:, t].sum(axis=(1, 3))
        scarcity = np.divide(gap_world, want_world, out=np.zeros((B, K)), where=want_world > 0)
        price = np.exp(eta * scarcity)
        target_sub = np.minimum(plan.substitution_ceiling, -plan.substitution_elasticity * np.log(price)[:, None, :])
        subst = subst + (target_sub - subst) / plan.substitution_lag
        short_last = (out["demand"][:, t].sum(axis=-1) - out["served"][:, t].sum(axis=-1)) > 1e-9
        out["price"][:, t] = price
        out["subst"][:, t] = subst
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
