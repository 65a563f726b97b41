"""Markets: buyers' inventories, precautionary demand and a price in every region's market.

Written once for both allocation modes (batch last); :func:`~chokepoint.simulation.responses.respond`
calls these after each month's allocation.

- **Inventories.** Every buyer holds a commercial inventory of each commodity it uses, normally
  ``cover_months`` months of its need (use less refill). It draws it, before any strategic stock,
  for whatever its deliveries leave missing; it orders ``(target − inventory)/restock_months`` on
  top of its need to rebuild it, or orders that much less to run it down
  (:func:`~chokepoint.simulation.state.restocking`). Government stockpiles are a separate pool
  with their own release rule.
- **Precautionary demand (hoarding).** Target cover is ``cover_months × (1 + hoarding × ĝ)``, with
  ``ĝ`` the expected supply gap: the share of its need a buyer did not receive, smoothed
  exponentially over ``expectation_months`` (``ĝ ← ĝ + (gap − ĝ)/expectation_months``). A buyer
  that was short wants more stock, and keeps wanting it for a while after supply returns, so the
  end of a shortage brings restocking above normal demand.
- **Price per market**, from availability relative to what buyers want to have (the competitive
  storage model, Deaton & Laroque 1992, Review of Economic Studies 59(1): 1-23; Williams & Wright
  1991, *Storage and Commodity Markets*; the supply-of-storage relation of Working 1949, American
  Economic Review 39(6): 1254-62): ``p[k, r] = clip((A / A*)^(−η), 1/price_cap, price_cap)`` with
  availability ``A`` = inventory at the start of the month + shipments received + strategic stock
  released, and desired availability ``A*`` = need × (1 + target cover). With normal stocks and
  supply ``A = A*`` and ``p = 1``; as stocks run down the price rises convexly (η is the inverse
  price elasticity of demand for holding and using the material); hoarding raises ``A*`` and so
  the price before any buyer is short. Producers' unsold output is held off the market (their
  own stock or idle capacity), so blocked exports do not lower the controller's home price; the
  home and foreign markets part because controls stop the arbitrage that would join them.
  The world price of a commodity is the markets' mean weighted by base-year use.
- **Leakage premium.** What a buyer received through a leakage route costs ``premium`` more:
  its index × ``1 + Σ premium × leaked / availability`` (:mod:`~chokepoint.simulation.leakage`).
- **Utilisation.** With ``utilisation_exponent`` κ > 0 every market's index is also multiplied by
  ``(u / u₀)^κ``, ``u`` the world's output of the commodity over its capacity this month and
  ``u₀`` the base year's: capacity left idle by entry, a controller's expansion or thrifted
  demand lowers the price, below the base too (the capacity-utilisation pricing of metals
  markets), which is what drives high-cost producers out (:mod:`~chokepoint.simulation.supply`).
"""

from __future__ import annotations

import numpy as np

from chokepoint.simulation.allocate_fast import Allocation
from chokepoint.simulation.leakage import leaked_shipped
from chokepoint.simulation.ratios import ratio, ratio_upto_1
from chokepoint.simulation.state import Array, Orders, Setup, State, by_commodity, target_cover

__all__ = ["MIN_MARKET_T", "expect", "market_prices", "settle_stocks"]

#: Desired availability (t a month) below which a market keeps the base price: a gram.
MIN_MARKET_T = 1e-6


def market_prices(s: Setup, state: State, o: Orders, al: Allocation) -> Array:
    """The price index of every market (K, R, B) from this month's availability against desired
    availability (module docs); ``state`` still holds the inventory the month started with."""
    p = s.params
    desired = o.need * (1.0 + target_cover(p, state))
    released = (al.draw - state.inventory).clip(min=0.0)  # drawn beyond the inventory: strategic
    available = state.inventory + al.received + released
    # A market of less than a gram a month has no price of its own (its sourcing is rounding
    # noise); in logs, so nothing available (relative 0) is a finite, capped index.
    relative = np.where(desired > MIN_MARKET_T, available / np.maximum(desired, MIN_MARKET_T), 1.0)
    log_price = -p.price_scarcity_exponent * np.log(np.maximum(relative, 1e-300))
    if (p.utilisation_exponent > 0).any():
        log_price += p.utilisation_exponent * np.log(_utilisation(s, state, al))[:, None, :]
    if any(r.plan.premium > 0 for r in s.routes):
        log_price += np.log1p(ratio(_premium_paid(s, o, al), available, 0.0))
    bound = np.log(p.price_cap)
    return np.exp(np.clip(log_price, -bound, bound))


def _premium_paid(s: Setup, o: Orders, al: Allocation) -> Array:
    """Σ over leakage routes of premium × the tonnes each buyer received through it (K, R, B)."""
    paid = np.zeros((s.K, s.R, s.B))
    for r, leak in zip(s.routes, o.leaked, strict=True):
        if leak is not None and r.plan.premium > 0:
            part = leaked_shipped(r, leak, o.allowed, al.shipped)  # (L, R_t, B)
            np.add.at(paid, (r.ks[:, None], r.targets[None, :]), r.plan.premium * part)
    return paid


def _utilisation(s: Setup, state: State, al: Allocation) -> Array:
    """Producers' utilisation of each commodity (K, B), the world's output over its capacity,
    relative to the base year's (1 where a commodity has no capacity)."""
    now = ratio(al.produced.sum(axis=1), by_commodity(state.cap, s.everything), 1.0)
    return np.maximum(ratio(now, s.base_utilisation, 1.0), 1e-300)


def settle_stocks(state: State, o: Orders, al: Allocation) -> None:
    """Draws come from the inventory first, then the strategic stock; builds go to each pool pro
    rata to its refill order (in place)."""
    from_inventory = np.minimum(al.draw, state.inventory)
    to_inventory = al.build * ratio(o.restock, o.refill, 0.0)
    state.strategic_draw = al.draw - from_inventory
    state.strategic_build = al.build - to_inventory
    state.inventory += to_inventory - from_inventory
    state.stock += state.strategic_build - state.strategic_draw


def expect(s: Setup, state: State, o: Orders, al: Allocation) -> None:
    """Update the expected supply gap and the need target cover is counted in (in place): the
    gap is what a buyer did not receive of the lesser of its need and its orders (one running
    its inventory down on purpose is not short)."""
    missing = (np.minimum(o.wanted, o.need) - al.received).clip(min=0.0)
    gap = ratio_upto_1(missing, o.need, 0.0)
    state.expected_gap += (gap - state.expected_gap) / s.params.expectation_months
    state.need = o.need
