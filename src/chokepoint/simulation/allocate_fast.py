"""The ``fast`` allocation step: pro rata, vectorised over the batch (bottom up, level by level).

An origin produces its planned output as far as its inputs arrived (Leontief: the scarcest input
binds), plus recycled supply. Export controls cap each order at its allowed share; an origin fills
its allowed orders pro rata; what it could not ship because orders were blocked is offered to
buyers still short, pro rata to what each lane can take (the buyer's gap on an open lane, a
controlled lane never above its allowed share of what was ordered on it). Buyers draw their
inventories, then strategic stocks, for what is still missing (what they run down on purpose
included). Deliveries serve intermediate and final use pro rata; among sectors higher
``priorities`` come first, and sectors a licence excludes get only uncontrolled supply. Each level
of commodities (:class:`~chokepoint.simulation.state.Group`) is one pass over all its commodities
and lanes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chokepoint.simulation.ratios import ratio, ratio_upto_1
from chokepoint.simulation.state import (
    Array,
    Group,
    Lanes,
    Orders,
    Setup,
    State,
    by_commodity,
    drawable,
)

__all__ = ["Allocation", "allocate_fast"]


@dataclass(frozen=True)
class Allocation:
    """What one month's allocation step decided (batch last). Both steps fill every field."""

    produced: Array  # (K, R, B) output from inputs plus recycled
    shipped: Array  # (N, R, B) on each lane (Setup.lane_k, lane_o) to each buyer
    received: Array  # (K, R, B) shipments arrived
    draw: Array  # (K, R, B) stock drawn (inventory first, then strategic)
    build: Array  # (K, R, B) stock rebuilt (both, pro rata to their refill orders)
    intermediate: Array  # (K, R, B) inputs consumed by the region's production
    served: Array  # (K, S, R, B) final demand served
    dual: Array | None  # (K, R, B) shadow price of the use balance (None: the step has none)


def serve_levels(final: Array, available: Array, levels: list[npt.NDArray[np.intp]] | None) -> Array:
    """Split ``available`` (…, R, B) among sector demands ``final`` (…, S, R, B): higher priority
    first, pro rata within a priority level (``levels``: sector indices per level, highest first;
    ``None``: a single level)."""
    if levels is None:
        return final * ratio(available, final.sum(axis=-3), 1.0).clip(0.0, 1.0)[..., None, :, :]
    served = np.zeros_like(final)
    left = available.copy()
    for cols in levels:
        want = final[..., cols, :, :]
        got = want * ratio(left, want.sum(axis=-3), 1.0).clip(0.0, 1.0)[..., None, :, :]
        served[..., cols, :, :] = got
        left -= got.sum(axis=-3)
    return served


def headroom(allowed: Array, shipped: Array, unlimited: Array) -> Array:
    """What a lane may still carry: its allowed orders less what it shipped; +inf if unlimited."""
    room = allowed - shipped
    room += unlimited
    return room


def _ship(g: Group, lk: Lanes, o: Orders, prod_a: Array) -> Array:
    """Lane shipments (N_g, R, B) of a level from its origins' output ``prod_a`` (N_g, B): allowed
    orders filled pro rata, then the surplus of blocked orders rerouted to buyers still short."""
    allowed = o.allowed[g.rows]
    fill = ratio_upto_1(prod_a, allowed.sum(axis=1), 0.0)
    shipped = allowed * fill[:, None, :]
    surplus = prod_a - shipped.sum(axis=1)
    gap = (o.wanted[g.ks] - by_commodity(shipped, g)).clip(min=0.0)  # (n_k, R, B)
    # What each lane can take: the buyer's gap, on a controlled lane at most its headroom. The
    # surplus is offered pro rata to that, so what a full controlled lane cannot take goes to the
    # other buyers still short (the origin's own market, say) instead of going unsold.
    reach = gap[g.k_of]  # (N, R, B): a copy, safe to scale in place
    if lk.open_ is not None:
        reach *= lk.open_
    if lk.unlimited is not None:
        np.minimum(reach, headroom(allowed, shipped, lk.unlimited), out=reach)
    extra = reach
    extra *= ratio(surplus, reach.sum(axis=1), 0.0)[:, None, :]
    extra *= ratio_upto_1(gap, by_commodity(extra, g), 1.0)[g.k_of]
    shipped += extra
    return shipped


def _serve(
    s: Setup, g: Group, lk: Lanes, o: Orders, usable: Array, shipped: Array, arrived: Array, received: Array
) -> Array:
    """Final use's pro-rata part of what is usable, by priority; excluded sectors only clean supply
    (of the arrivals, the part ``arrived`` that serves the need rather than rebuilds stock)."""
    final_part = ratio(o.final_total[g.ks], o.need[g.ks], 0.0)
    available = usable * final_part
    if not o.any_excluded:
        return serve_levels(o.final[g.ks], available, s.priority_levels)
    kept = ratio(arrived, received, 1.0)
    controlled = np.zeros_like(usable) if lk.controlled is None else by_commodity(shipped * lk.controlled, g) * kept
    clean = np.minimum((usable - controlled) * final_part, available)
    want_excluded = o.want_excluded[g.ks]
    served_excluded = serve_levels(want_excluded, clean, s.priority_levels)
    rest = serve_levels(o.final[g.ks] - want_excluded, available - served_excluded.sum(axis=1), s.priority_levels)
    return served_excluded + rest


def _made(s: Setup, i: int, o: Orders, usable: Array, intermediate: Array) -> Array:
    """Level ``i``'s output from inputs (n_k, R, B): its plan scaled by the scarcest input's
    arrived share of what the plan needs (inputs serve a region's uses pro rata); adds the inputs
    it consumes to ``intermediate``."""
    g = s.levels[i]
    plan = o.plan_out[g.ks]
    j, k, a_jk = s.level_inputs[i]
    if not len(j):
        return plan.copy()
    needed = a_jk[:, None, None] * plan[k]  # (pairs, R, B), sorted by output
    avail = usable[j] * ratio(needed, o.need[j], 0.0)
    binding = np.ones_like(plan)
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    binding[k[starts]] = np.minimum.reduceat(ratio_upto_1(avail, needed, 1.0), starts, axis=0)
    made = plan * binding
    np.add.at(intermediate, j, a_jk[:, None, None] * made[k])
    return made


def allocate_fast(s: Setup, t: int, state: State, o: Orders) -> Allocation:
    """The pro-rata allocation of month ``t`` (module docs); leaves ``state`` unchanged."""
    K, R, B = s.K, s.R, s.B
    recycled = s.plan.recycled_t[t].reshape(R, K).T[..., None]
    produced = np.zeros((K, R, B))
    received = np.zeros((K, R, B))
    can_draw = drawable(s, state)
    draw = np.zeros((K, R, B))
    build = np.zeros((K, R, B))
    intermediate = np.zeros((K, R, B))
    usable = np.zeros((K, R, B))
    served = np.zeros_like(o.final)
    shipped = np.empty_like(o.allowed)
    for i, g in enumerate(s.levels):
        lk = s.lanes[t].level[i]
        ks = g.ks
        produced[ks] = _made(s, i, o, usable, intermediate) + recycled[ks]
        shipped[g.rows] = _ship(g, lk, o, g.origin_values(produced))
        received[ks] = by_commodity(shipped[g.rows], g)
        # Arrivals serve the need first and rebuild stocks with the rest; what they leave of the
        # need is drawn from stock as far as it goes (stock drawn rebuilds none).
        arrived = np.minimum(received[ks], o.need[ks])
        np.minimum(o.need[ks] - arrived, can_draw[ks], out=draw[ks])
        usable[ks] = arrived + draw[ks]
        build[ks] = received[ks] - arrived
        served[ks] = _serve(s, g, lk, o, usable[ks], shipped[g.rows], arrived, received[ks])
    return Allocation(
        produced=produced,
        shipped=shipped,
        received=received,
        draw=draw,
        build=build,
        intermediate=intermediate,
        served=served,
        dual=None,
    )
