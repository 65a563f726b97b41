"""What a run keeps of each month: the full trajectory or a Monte Carlo summary, and the mass
balance every run is checked against.

A recorder has ``record(t, state, orders, allocation)`` (called after the month's responses) and
``finish()``; :class:`TrajectoryRecorder` keeps every flow, :class:`SummaryRecorder` only demand,
shortfall and prices (memory O(batch × months × regions × sectors)). Both check the mass balance
at every node and month, production + imports + stock draw = exports + input use + final use +
stock build + unsold and unused inventory, where unsold and unused may not be negative (nothing
is created): :class:`TrajectoryRecorder` once at the end over all months, vectorised,
:class:`SummaryRecorder` each month on the node totals it never stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np

from chokepoint.errors import ChokepointError
from chokepoint.simulation.allocate_fast import Allocation
from chokepoint.simulation.leakage import leaked_shipped
from chokepoint.simulation.state import Array, Index, Orders, Setup, State

__all__ = ["DrawSummary", "MassBalanceError", "Recorder", "SummaryRecorder", "Trajectory", "TrajectoryRecorder"]

#: Largest imbalance allowed, relative to the world's throughput (production + imports + draw) that month.
RTOL = 1e-9
#: Plus an absolute gram per node: the LP mode's solver (HiGHS) accepts row violations up to its
#: primal feasibility tolerance (1e-7 in tonnes), which fitted, non-round base years expose.
ATOL_T = 1e-6

R_co = TypeVar("R_co", covariant=True)


class MassBalanceError(ChokepointError):
    """An allocation created or lost material (a bug in an allocation step, not in the input)."""


@dataclass(frozen=True)
class Trajectory:
    """Per-period arrays of one run (batch first): (B, T, …)."""

    production_t: Array  # (B, T, R, K)
    capacity_t: Array  # (B, T, R, K) of each lane origin (after disruptions, projects, entry and exit)
    shipped_t: Array  # (B, T, K, R, R) origin → buyer
    unsold_t: Array  # (B, T, R, K) produced but not shipped
    delivered_t: Array  # (B, T, R, K) shipments received plus stock draw
    stock_draw_t: Array  # (B, T, R, K)
    stock_build_t: Array  # (B, T, R, K)
    stock_t: Array  # (B, T, R, K) strategic stock at the end of the month
    strategic_draw_t: Array  # (B, T, R, K) the part of stock_draw_t from the strategic stock
    strategic_build_t: Array  # (B, T, R, K) the part of stock_build_t added to it
    inventory_t: Array  # (B, T, R, K) buyers' commercial inventory at the end of the month
    intermediate_use_t: Array  # (B, T, R, K) inputs consumed by the region's production
    unused_t: Array  # (B, T, R, K) delivered but not used (inventory)
    demand_t: Array  # (B, T, R, K, S) final demand (after substitution)
    served_t: Array  # (B, T, R, K, S) final demand served
    price_index: Array  # (B, T, K) world price relative to the base year (markets weighted by base use)
    market_price_t: Array  # (B, T, R, K) price index in each region's market
    substitution: Array  # (B, T, R, S, K) share of demand substituted
    shadow_price_t: Array  # (B, T, R, K) dual of the use balance (LP mode; NaN where the allocation has none)
    leaked_t: Array  # (B, T, V, K, R) tonnes each leakage route carried to each target (Plan.routes)


@dataclass(frozen=True)
class DrawSummary:
    """What a Monte Carlo batch keeps per draw and month."""

    demand_t: Array  # (B, T, R, S) final demand, all commodities
    shortfall_t: Array  # (B, T, R, S)
    price_index: Array  # (B, T, K)


class Recorder(Protocol[R_co]):
    def record(self, t: int, state: State, orders: Orders, allocation: Allocation) -> None: ...

    def finish(self) -> R_co: ...


def _raise(s: Setup, excess: Array, where: tuple[int, ...], what: str) -> None:
    """Name the worst node and month; ``where`` is (b, t, r, k)."""
    b, t, r, k = where
    raise MassBalanceError(
        f"mass balance broken: {what} {float(excess):.3g} t at {s.baseline.net.regions[r]} "
        f"{s.baseline.commodities[k]} in {s.plan.periods[t]} (draw {b}); the allocation created or lost material"
    )


def check_trajectory(s: Setup, tr: Trajectory) -> None:
    """The mass balance of every node and month of ``tr`` (module docs), vectorised."""
    ship = tr.shipped_t  # (B, T, K, o, b)
    exports = ship.sum(axis=4).transpose(0, 1, 3, 2)
    imports = ship.sum(axis=3).transpose(0, 1, 3, 2)
    supply = tr.production_t + imports + tr.stock_draw_t
    tol = RTOL * supply.sum(axis=(2, 3), keepdims=True) + ATOL_T
    unsold = tr.production_t - exports
    unused = imports + tr.stock_draw_t - tr.intermediate_use_t - tr.served_t.sum(-1) - tr.stock_build_t
    for name, value, recorded in (("unsold", unsold, tr.unsold_t), ("unused", unused, tr.unused_t)):
        created = (-value - tol).max()
        if created > 0:
            worst = np.unravel_index(int(np.argmax(-value - tol)), value.shape)
            _raise(s, -value[worst], tuple(int(i) for i in worst), f"negative {name}")
        off = np.abs(value - recorded) - tol
        if off.max() > 0:
            worst = np.unravel_index(int(np.argmax(off)), off.shape)
            _raise(
                s, off[worst] + tol[worst[0], worst[1], 0, 0], tuple(int(i) for i in worst), f"{name} recorded off by"
            )


class TrajectoryRecorder:
    """Keeps every quantity of every month (batch last while running, batch first at the end)."""

    def __init__(self, s: Setup) -> None:
        self.s = s
        R, K, S, T, B = s.R, s.K, s.S, s.T, s.B
        shapes = {
            "production": (R, K),
            "capacity": (R, K),
            "shipped": (K, R, R),
            "draw": (R, K),
            "build": (R, K),
            "stock": (R, K),
            "strategic_draw": (R, K),
            "strategic_build": (R, K),
            "inventory": (R, K),
            "market_price": (R, K),
            "intermediate": (R, K),
            "received": (R, K),
            "demand": (R, K, S),
            "served": (R, K, S),
            "price": (K,),
            "subst": (R, S, K),
            "dual": (R, K),
            "leaked": (len(s.routes), K, R),
        }
        self.out = {name: np.zeros((T, *shape, B)) for name, shape in shapes.items()}
        self.out["dual"][...] = np.nan

    def record(self, t: int, state: State, orders: Orders, allocation: Allocation) -> None:
        cur = {name: value[t] for name, value in self.out.items()}
        cur["shipped"][self.s.lane_k, self.s.lane_o] = allocation.shipped
        cur["capacity"][self.s.lane_o, self.s.lane_k] = state.cap
        for name, value in (
            ("production", allocation.produced),
            ("draw", allocation.draw),
            ("build", allocation.build),
            ("stock", state.stock),
            ("strategic_draw", state.strategic_draw),
            ("strategic_build", state.strategic_build),
            ("inventory", state.inventory),
            ("market_price", state.market_price),
            ("intermediate", allocation.intermediate),
            ("received", allocation.received),
        ):
            cur[name][...] = value.transpose(1, 0, 2)
        if allocation.dual is not None:
            cur["dual"][...] = allocation.dual.transpose(1, 0, 2)
        cur["demand"][...] = orders.final.transpose(2, 0, 1, 3)
        cur["served"][...] = allocation.served.transpose(2, 0, 1, 3)
        cur["price"][...] = state.price
        cur["subst"][...] = state.subst.transpose(2, 1, 0, 3)
        for v, (r, leak) in enumerate(zip(self.s.routes, orders.leaked, strict=True)):
            if leak is not None:
                part = leaked_shipped(r, leak, orders.allowed, allocation.shipped)
                cur["leaked"][v][r.ks[:, None], r.targets[None, :]] = part

    def finish(self) -> Trajectory:
        o = {name: np.ascontiguousarray(np.moveaxis(value, -1, 0)) for name, value in self.out.items()}
        delivered = o["received"] + o["draw"]
        tr = Trajectory(
            production_t=o["production"],
            capacity_t=o["capacity"],
            shipped_t=o["shipped"],
            unsold_t=o["production"] - o["shipped"].sum(axis=4).transpose(0, 1, 3, 2),
            delivered_t=delivered,
            stock_draw_t=o["draw"],
            stock_build_t=o["build"],
            stock_t=o["stock"],
            strategic_draw_t=o["strategic_draw"],
            strategic_build_t=o["strategic_build"],
            inventory_t=o["inventory"],
            intermediate_use_t=o["intermediate"],
            unused_t=delivered - o["intermediate"] - o["served"].sum(axis=-1) - o["build"],
            demand_t=o["demand"],
            served_t=o["served"],
            price_index=o["price"],
            market_price_t=o["market_price"],
            substitution=o["subst"],
            shadow_price_t=o["dual"],
            leaked_t=o["leaked"],
        )
        check_trajectory(self.s, tr)
        return tr


class SummaryRecorder:
    """Keeps demand, shortfall and prices; checks each month that no node created material."""

    def __init__(self, s: Setup) -> None:
        self.s = s
        self.demand_t = np.zeros((s.T, s.S, s.R, s.B))
        self.short_t = np.zeros((s.T, s.S, s.R, s.B))
        self.price_t = np.zeros((s.T, s.K, s.B))

    def record(self, t: int, state: State, orders: Orders, allocation: Allocation) -> None:
        s, al = self.s, allocation
        orders.final.sum(axis=0, out=self.demand_t[t])
        np.subtract(self.demand_t[t], al.served.sum(axis=0), out=self.short_t[t])
        self.price_t[t] = state.price
        supply = al.produced.sum(axis=(0, 1))
        supply += al.received.sum(axis=(0, 1))
        supply += al.draw.sum(axis=(0, 1))
        tol = RTOL * supply + ATOL_T  # (B,)
        unused = al.received + al.draw
        unused -= al.intermediate
        unused -= al.build
        unused -= al.served.sum(axis=1)
        unsold = s.everything.origin_values(al.produced) - al.shipped.sum(axis=1)
        self._check(t, unsold, s.lane_k, s.lane_o, tol, "negative unsold")
        K, R = s.K, s.R
        nodes = np.arange(K * R)
        self._check(t, unused.reshape(K * R, -1), nodes // R, nodes % R, tol, "negative unused")

    def _check(self, t: int, value: Array, ks: Index, rs: Index, tol: Array, what: str) -> None:
        """Raise if ``value`` (rows, B), rows at commodities ``ks`` and regions ``rs``, falls below
        ``-tol`` anywhere."""
        excess = -value - tol
        if excess.size and excess.max() > 0:  # no lanes at all: no rows
            i, b = np.unravel_index(int(np.argmax(excess)), excess.shape)
            _raise(self.s, -value[i, b], (int(b), t, int(rs[i]), int(ks[i])), what)

    def finish(self) -> DrawSummary:
        # Returned as batch-first *views* (no copy of the largest arrays).
        return DrawSummary(
            demand_t=self.demand_t.transpose(3, 0, 2, 1),
            shortfall_t=self.short_t.transpose(3, 0, 2, 1),
            price_index=self.price_t.transpose(2, 0, 1),
        )
