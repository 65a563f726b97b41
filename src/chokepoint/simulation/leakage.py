"""Leakage: the part of a controlled flow that reaches its targets through a third country.

Each ``leakage`` entry of a control is a *route* through ``via``. Of what the control refuses on
its lanes (the controller's orders of the listed commodities from the targets, less what the
controls and quotas allow), ``share`` goes through the route each month, at most
``capacity_t_per_yr / 12`` over all the route's lanes (shared pro rata to what each would leak).
Buyers pay ``premium`` more for what arrives that way: a market's price index is multiplied by
``1 + premium × (leaked tonnes received / availability)``
(:func:`~chokepoint.simulation.markets.market_prices`). The tonnes are recorded per route (the
``leakage`` table): they move controller → via → target, shipped on the controller's lane.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chokepoint.simulation.layout import lane_rows
from chokepoint.simulation.ratios import ratio

__all__ = ["RouteLanes", "RoutePlan", "apply_routes", "leaked_shipped", "route_lanes"]

Array = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]


@dataclass(frozen=True)
class RoutePlan:
    """One leakage route of one control, on the network."""

    control: str  # the control's name
    via: str
    ks: Index  # (m,) the control's commodities
    controller: int
    targets: npt.NDArray[np.bool_]  # (R,)
    active: npt.NDArray[np.bool_]  # (T,) the control's months
    share: float
    monthly_t: float  # capacity a month (inf: none)
    premium: float


@dataclass(frozen=True)
class RouteLanes:
    """A route on the flat lane layout: the controller's lanes of its commodities."""

    plan: RoutePlan
    rows: Index  # (L,) lanes that exist
    ks: Index  # (L,) their commodities
    targets: Index  # (R_t,) target regions

    def in_force(self, t: int) -> bool:
        return bool(self.plan.active[t]) and len(self.rows) > 0


def route_lanes(r: RoutePlan, lane_key: Index, R: int) -> RouteLanes:
    """``r`` on the lanes, whose keys ``k·R + origin`` are ``lane_key`` (sorted)."""
    rows, found = lane_rows(lane_key, r.ks, r.controller, R)
    return RouteLanes(plan=r, rows=rows, ks=r.ks[found], targets=np.flatnonzero(r.targets))


def apply_routes(routes: list[RouteLanes], t: int, lane: Array, allowed: Array) -> list[Array | None]:
    """Add each route's leak to the allowed orders (N, R, B) in month ``t``, in place, and return
    it per route (L, R_t, B; None when not in force). Every route reads what the controls refuse
    before any route adds to it, so two routes of one control share the same refused flow."""
    refused = [
        (lane[r.rows][:, r.targets] - allowed[r.rows][:, r.targets]).clip(min=0.0) if r.in_force(t) else None
        for r in routes
    ]
    leaks: list[Array | None] = []
    for r, off in zip(routes, refused, strict=True):
        if off is None:
            leaks.append(None)
            continue
        leak = r.plan.share * off
        if np.isfinite(r.plan.monthly_t):
            leak *= np.minimum(1.0, ratio(np.full(leak.shape[-1], r.plan.monthly_t), leak.sum(axis=(0, 1)), 1.0))
        allowed[np.ix_(r.rows, r.targets)] += leak
        leaks.append(leak)
    return leaks


def leaked_shipped(r: RouteLanes, leak: Array, allowed: Array, shipped: Array) -> Array:
    """What route ``r`` carried (L, R_t, B): each lane's shipments to the targets times the share
    of its allowed orders that was the route's ``leak``."""
    lanes = np.ix_(r.rows, r.targets)
    return shipped[lanes] * ratio(leak, allowed[lanes], 0.0)
