"""The ``fast`` allocation step: pro rata, vectorised over the batch (bottom up, stage by stage).

An origin produces its planned output as far as its inputs arrived (Leontief: the scarcest input
binds), plus recycled supply. Export controls cap each order at its allowed share; an origin fills
its allowed orders pro rata; what it could not ship because orders were blocked is offered to
buyers still short, pro rata to what each lane can take (the buyer's gap on an open lane, a
controlled lane never above its allowed share of what was ordered on it). Buyers draw strategic
stocks on shortfall. Deliveries serve intermediate and final use pro rata; among sectors higher
``priorities`` come first, and sectors a licence excludes get only uncontrolled supply.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chokepoint.simulation.state import Array, Orders, Setup, State, ratio

__all__ = ["Allocation", "allocate_fast"]


@dataclass(frozen=True)
class Allocation:
    """What one month's allocation step decided (batch last). Both steps fill every field."""

    produced: Array  # (K, R, B) output from inputs plus recycled
    shipped: list[Array]  # (A, R, B) per stage, over its active origins
    received: Array  # (K, R, B) shipments arrived
    draw: Array  # (K, R, B) strategic stock drawn
    build: Array  # (K, R, B) strategic stock rebuilt
    intermediate: Array  # (K, R, B) inputs consumed by the region's production
    served: Array  # (K, S, R, B) final demand served
    dual: Array | None  # (K, R, B) shadow price of the use balance (None: the step has none)


def serve_levels(final: Array, available: Array, levels: list[npt.NDArray[np.intp]] | None) -> Array:
    """Split ``available`` (R, B) among sector demands ``final`` (S, R, B): higher priority first,
    pro rata within a priority level (``levels``: sector indices per level, highest first;
    ``None``: a single level)."""
    if levels is None:
        return final * ratio(available, final.sum(axis=0), 1.0).clip(0.0, 1.0)
    served = np.zeros_like(final)
    left = available.copy()
    for cols in levels:
        want = final[cols]
        got = want * ratio(left, want.sum(axis=0), 1.0).clip(0.0, 1.0)
        served[cols] = got
        left -= got.sum(axis=0)
    return served


def headroom(allowed: Array, shipped: Array, unlimited: Array) -> Array:
    """What a lane may still carry: its allowed orders less what it shipped; +inf if unlimited."""
    room = allowed - shipped
    room += unlimited
    return room


def _ship(s: Setup, t: int, k: int, o: Orders, produced: Array) -> Array:
    """Lane shipments (A, R, B) of stage ``k``: allowed orders filled pro rata, then the surplus
    of blocked orders rerouted to buyers still short."""
    lk = s.lanes[t][k]
    prod_a = produced[s.act[k]]
    allowed = o.allowed[k]
    fill = ratio(prod_a, allowed.sum(axis=1), 0.0).clip(max=1.0)
    shipped = allowed * fill[:, None, :]
    surplus = prod_a - shipped.sum(axis=1)
    gap = (o.use[k] - shipped.sum(axis=0)).clip(min=0.0)
    # What each lane can take: the buyer's gap, on a controlled lane at most its headroom. The
    # surplus is offered pro rata to that, so what a full controlled lane cannot take goes to the
    # other buyers still short (the origin's own market, say) instead of going unsold.
    reach = np.broadcast_to(gap, allowed.shape) if lk.open_ is None else gap * lk.open_[..., None]
    if lk.unlimited is not None:
        reach = np.minimum(reach, headroom(allowed, shipped, lk.unlimited))
    extra = reach * ratio(surplus, reach.sum(axis=1), 0.0)[:, None, :]
    extra *= ratio(gap, extra.sum(axis=0), 1.0).clip(max=1.0)
    shipped += extra
    return shipped


def _serve(s: Setup, t: int, k: int, o: Orders, delivered: Array, shipped: Array) -> Array:
    """Final use's pro-rata part of deliveries, by priority; excluded sectors only clean supply."""
    final_part = ratio(o.final_total[k], o.use[k], 0.0)
    available = delivered * final_part
    if not o.any_excluded:
        return serve_levels(o.final[k], available, s.levels)
    lk = s.lanes[t][k]
    if lk.controlled is None:
        controlled = np.zeros_like(delivered)
    else:
        controlled = (shipped[lk.controlled_rows] * lk.controlled).sum(axis=0)
    clean = np.minimum((delivered - controlled) * final_part, available)
    want_excluded = o.want_excluded[k]
    served_excluded = serve_levels(want_excluded, clean, s.levels)
    rest = serve_levels(o.final[k] - want_excluded, available - served_excluded.sum(axis=0), s.levels)
    return served_excluded + rest


def allocate_fast(s: Setup, t: int, state: State, o: Orders) -> Allocation:
    """The pro-rata allocation of month ``t`` (module docs); leaves ``state`` unchanged."""
    K, R, B = s.K, s.R, s.B
    recycled = s.plan.recycled_t[t].reshape(R, K).T[..., None]
    produced = np.zeros((K, R, B))
    received = np.zeros((K, R, B))
    draw = np.zeros((K, R, B))
    build = np.zeros((K, R, B))
    intermediate = np.zeros((K, R, B))
    delivered = np.zeros((K, R, B))
    served = np.zeros_like(o.final)
    shipped_all: list[Array] = []
    for k in range(K):
        ratio_k = np.ones((R, B))
        for j in s.inputs_of[k]:
            needed = s.a[j, k] * o.plan_out[k]
            avail = delivered[j] * ratio(needed, o.use[j], 0.0)
            np.minimum(ratio_k, ratio(avail, needed, 1.0), out=ratio_k)
        made = o.plan_out[k] * ratio_k
        for j in s.inputs_of[k]:
            intermediate[j] += s.a[j, k] * made
        produced[k] = made + recycled[k]
        shipped = _ship(s, t, k, o, produced[k])
        shipped_all.append(shipped)
        received[k] = shipped.sum(axis=0)
        if s.release_k[k]:
            short = (o.use[k] - o.refill[k] - received[k]).clip(min=0.0)
            draw[k] = np.where(s.releases[k], np.minimum(np.minimum(state.stock[k], short), s.max_release[k]), 0.0)
        delivered[k] = received[k] + draw[k]
        served[k] = _serve(s, t, k, o, delivered[k], shipped)
        build[k] = delivered[k] * ratio(o.refill[k], o.use[k], 0.0)
    return Allocation(
        produced=produced,
        shipped=shipped_all,
        received=received,
        draw=draw,
        build=build,
        intermediate=intermediate,
        served=served,
        dual=None,
    )
