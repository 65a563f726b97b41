"""The responses between months, written once for every allocation step (batch last).

- **Markets** (:mod:`~chokepoint.simulation.markets`): each region's price from its availability
  against the stock and use its buyers want; draws and builds split between inventories and
  strategic stocks (strategic refill is ordered only when nothing was short); the expected gap
  that drives hoarding.
- **Sourcing**: buyers still short ask origins with spare capacity for the gap, and move
  ``sourcing_adjustment`` of the way from their shares to what arrived plus those promises
  (rerouting with a lag); then ``sourcing_reversion`` of the way back to their base-year
  suppliers as far as next month's controls and capacities allow, keeping with uncontrolled
  suppliers the share licence-excluded sectors need; offtakes raise a buyer's share from its
  seller to ``reserved / use`` (within the seller's capacity).
- **Substitution** in each region moving toward ``min(ceiling, −elasticity·ln p)`` of its own
  market's price, with a first-order lag (``lag`` months on the way in, ``reversal`` on the way
  back: thrifting is sticky).
- **Entry and exit** (:mod:`~chokepoint.simulation.supply`) from the price each origin sold at.
"""

from __future__ import annotations

import numpy as np

from chokepoint.simulation.allocate_fast import Allocation, headroom
from chokepoint.simulation.markets import expect, market_prices, settle_stocks
from chokepoint.simulation.ratios import ratio, ratio_upto_1
from chokepoint.simulation.state import Array, Lanes, Orders, Setup, State, by_commodity
from chokepoint.simulation.supply import capacity, respond_supply

__all__ = ["reserve", "respond"]


def reserve(mix: Array, reserved_t: Array, capacity: Array, allowed: Array, use: Array) -> None:
    """Raise sourcing shares (A, R, B) in place to the offtake floors ``reserved_t / use`` (capped
    by the lane's allowed share), scaling the other shares down so each buyer's still sum to 1.
    A seller reserves at most its ``capacity`` (A, B) this month, shared pro rata among its
    offtakers: an agreement cannot make a buyer wait for a plant that is not built yet."""
    # ratio_upto_1, not min(capacity / asked, 1): a subnormal offtake (1e-310 t) would overflow
    asked = reserved_t.sum(axis=1)[:, None]
    reserved = reserved_t[..., None] * ratio_upto_1(capacity, asked, 1.0)[:, None]
    floor = np.minimum(ratio(reserved, use[None], 0.0), allowed[..., None])
    floor_total = floor.sum(axis=0, keepdims=True)
    np.divide(floor, floor_total, out=floor, where=floor_total > 1.0)  # floors above 100%: share out
    raised = np.maximum(mix, floor)
    above = raised - floor
    room = (1.0 - floor.sum(axis=0, keepdims=True)).clip(min=0.0)
    scale = ratio(room, above.sum(axis=0, keepdims=True), 0.0)
    mix[...] = floor + above * scale


def _promised(s: Setup, state: State, o: Orders, al: Allocation, lk: Lanes) -> Array:
    """What arrived on each lane plus what origins with spare capacity promise buyers still short
    (excluded sectors' unmet demand only on uncontrolled lanes), (N, R, B)."""
    g = s.everything
    gap = (o.wanted - al.received).clip(min=0.0)
    spare = (state.cap - g.origin_values(al.produced)).clip(min=0.0)
    gap_clean = gap
    if o.any_excluded:
        gap_clean = np.maximum(gap, o.need_excluded - (al.served * o.excluded).sum(axis=1))
    if lk.clean is None:
        promised = gap_clean[g.k_of] * ratio(spare, gap_clean.sum(axis=1)[g.k_of], 0.0)[:, None, :]
    else:
        assert lk.dirty is not None
        ask_clean, ask = gap_clean[g.k_of], gap[g.k_of]
        per_ask = ratio(spare, (lk.clean * ask_clean).sum(axis=1) + (lk.dirty * ask).sum(axis=1), 0.0)
        promised = np.where(lk.clean > 0, ask_clean, ask)
        if lk.open_ is not None:
            promised *= lk.open_
        promised *= per_ask[:, None, :]
    if lk.unlimited is not None:
        np.minimum(promised, headroom(o.allowed, al.shipped, lk.unlimited), out=promised)
    promised *= ratio_upto_1(gap_clean, by_commodity(promised, g), 1.0)[g.k_of]
    promised += al.shipped
    return promised


def _resource(s: Setup, t: int, state: State, o: Orders, al: Allocation) -> None:
    """Move every lane's sourcing shares in place: adjustment, reversion, clean share, offtakes."""
    g, mk = s.everything, state.mix
    actual = _promised(s, state, o, al, s.lanes[t].all).clip(min=0.0)
    total = by_commodity(actual, g)
    # A buyer that got and was promised next to nothing keeps its shares: normalising rounding
    # noise (1e-18 t against tonnes of use) would turn it into shares, negative ones included.
    # (Use itself can be -1e-18 t of rounding noise: the floor is never below 0.)
    has = total > 1e-9 * o.use.clip(min=0.0)
    np.divide(actual, np.where(has, total, 1.0)[g.k_of], out=actual)
    if not has.all():
        np.copyto(actual, mk, where=~has[g.k_of])
    lam = s.params.sourcing_adjustment
    mk *= 1.0 - lam
    actual *= lam
    mk += actual
    # Back toward base-year suppliers as far as next month's controls allow (the shares set now
    # place next month's orders: a lifted ban shows at once), weighted by how much of its base
    # capacity each origin has then (no return to a disrupted supplier) ...
    t1 = min(t + 1, s.T - 1)
    nxt = s.lanes[t1].all
    cap_ratio = ratio_upto_1(state.cap_next, s.base_cap_a, 0.0)
    desired = nxt.desired * cap_ratio[:, None, :]
    desired_total = by_commodity(desired, g)
    has = desired_total > 0
    np.divide(desired, np.where(has, desired_total, 1.0)[g.k_of], out=desired)
    if not has.all():
        np.copyto(desired, np.broadcast_to(s.base_mix[..., None], desired.shape), where=~has[g.k_of])
    # ... keeping with uncontrolled suppliers at least the share excluded sectors need.
    if o.any_excluded:
        need_clean = ratio_upto_1(o.need_excluded, o.use, 0.0)
        if need_clean.any():
            clean_now = mk if nxt.clean is None else mk * nxt.clean
            clean_total = by_commodity(clean_now, g)
            keep = np.where(clean_total > 0, need_clean, 0.0)
            desired *= 1.0 - keep[g.k_of]
            desired += clean_now * ratio(keep, clean_total, 0.0)[g.k_of]
    mu = s.params.sourcing_reversion
    mk *= 1.0 - mu
    desired *= mu
    mk += desired
    for k in s.offtake_k:  # the few commodities under an offtake agreement
        rows, own = s.k_rows[k], s.lane_o[s.k_rows[k]]
        reserve(mk[rows], s.plan.offtake_t[t1, k][own], state.cap_next[rows], s.plan.allowed[t1, k][own], o.use[k])


def _sold_at(s: Setup, market_price: Array, shipped: Array) -> Array:
    """The price (N, B) each lane's origin sold at: its buyers' markets weighted by what it
    shipped to each, or by base-year use where it shipped nothing (what it could sell at)."""
    g = s.everything
    price = market_price[g.k_of]  # (N, R, B) each buyer's market
    total = shipped.sum(axis=1)
    sold = ratio((shipped * price).sum(axis=1), total, 0.0)
    return np.where(total > 0, sold, (s.weight[g.k_of] * price).sum(axis=1))


def respond(s: Setup, t: int, state: State, o: Orders, al: Allocation) -> None:
    """Update ``state`` in place after month ``t`` (module docs)."""
    state.market_price = market_prices(s, state, o, al)
    state.price = (s.weight * state.market_price).sum(axis=1)
    if s.supply.plan.in_use:
        respond_supply(s.supply, state.supply, _sold_at(s, state.market_price, al.shipped), t)
        state.cap_next = capacity(s.supply, state.supply, state.cap_next, min(t + 1, s.T - 1))
    settle_stocks(state, o, al)
    expect(s, state, o, al)
    _resource(s, t, state, o, al)
    target = np.minimum(s.ceiling[..., None], -s.elasticity[..., None] * np.log(state.market_price)[:, None])
    state.subst += (target - state.subst) / np.where(target >= state.subst, s.lag[..., None], s.reversal[..., None])
    state.short_last = o.final_total - al.served.sum(axis=1) > 1e-9
