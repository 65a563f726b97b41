"""Export quotas as tonnages: a total the controller allocates among its buyers each month.

A quota caps the controller's exports of the listed commodities to the targets, together, at
``quota_t_per_yr / 12`` a month (the part of the flow the control covers, ``affected_share``;
the rest ships freely). The month's covered orders share it by the scenario's ``allocation``:

- ``orders``: pro rata to what each buyer orders (a buyer that orders less leaves quota to others);
- ``history``: each buyer's share of the base-year exports, whether or not it uses it (unused
  quota is not passed on);
- ``price``: to whoever would pay most, which is the buyer whose market is scarcest: the quota
  raises every buyer's availability (inventory + this quota) to the same share ``θ`` of what it
  wants to have (need × (1 + target cover), :mod:`~chokepoint.simulation.markets`), never
  beyond its order, so their market prices come out equal (the arbitrage a quota auction
  brings); ``θ`` by bisection.

Leakage routes then let their share of what the quota refuses through
(:mod:`~chokepoint.simulation.leakage`), as for the other controls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chokepoint.simulation.layout import lane_rows
from chokepoint.simulation.ratios import ratio

__all__ = ["BELOW_ONE", "QuotaLanes", "QuotaPlan", "allocate_quota", "apply_quotas", "quota_lanes"]

Array = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]

#: A quota lane's planned share stays just below 1 even where the quota would not bind at base
#: orders: a lane at 1 counts as uncontrolled and could carry rerouted output past the quota.
BELOW_ONE = 1.0 - 1e-9


@dataclass(frozen=True)
class QuotaPlan:
    """One quota on the network: commodities ``ks`` from ``controller`` to ``targets``."""

    ks: Index  # (m,) the listed commodities
    controller: int
    targets: npt.NDArray[np.bool_]  # (R,)
    affected: float
    monthly_t: Array  # (T,) tonnes a month (inf outside its months)
    allocation: str
    history: Array  # (m, R) base-year exports to each target, a share of their total


@dataclass(frozen=True)
class QuotaLanes:
    """A quota on the flat lane layout: the controller's lanes of the listed commodities."""

    plan: QuotaPlan
    rows: Index  # (L,) lanes (k in ks, origin = controller) that exist
    ks: Index  # (L,) their commodities
    targets: Index  # (R_t,) target regions
    history: Array  # (L, R_t, 1)

    def in_force(self, t: int) -> bool:
        return bool(np.isfinite(self.plan.monthly_t[t])) and len(self.rows) > 0


def quota_lanes(q: QuotaPlan, lane_key: Index, R: int) -> QuotaLanes:
    """``q`` on the lanes, whose keys ``k·R + origin`` are ``lane_key`` (sorted)."""
    rows, found = lane_rows(lane_key, q.ks, q.controller, R)
    targets = np.flatnonzero(q.targets)
    return QuotaLanes(
        plan=q,
        rows=rows,
        ks=q.ks[found],
        targets=targets,
        history=q.history[found][:, targets][..., None],
    )


def allocate_quota(quota: Array, orders: Array, weight: Array, rule: str, held: Array | None = None) -> Array:
    """The quota's split (L, R_t, B) of ``quota`` (B,) tonnes among ``orders`` (L, R_t, B) by
    ``rule`` (module docs), never more than ordered: ``weight`` is each buyer's history share
    (``history``) or desired availability (``price``, with ``held`` what it has besides)."""
    total = orders.sum(axis=(0, 1))
    if rule == "orders":
        return orders * np.minimum(1.0, ratio(quota, total, 1.0))
    if rule == "history":
        return np.minimum(orders, quota * weight)
    assert held is not None
    enough = total <= quota  # everyone gets its order
    lo = np.zeros_like(quota)
    hi = ((orders + held) / np.where(weight > 0, weight, np.inf)).max(axis=(0, 1))
    for _ in range(60):  # bisection on θ: 60 halvings reach double precision
        mid = 0.5 * (lo + hi)
        granted = np.clip(mid * weight - held, 0.0, orders).sum(axis=(0, 1))
        lo, hi = np.where(granted < quota, mid, lo), np.where(granted < quota, hi, mid)
    return np.where(enough, orders, np.clip(hi * weight - held, 0.0, orders))


def apply_quotas(
    quotas: list[QuotaLanes], t: int, lane: Array, allowed: Array, inventory: Array, desired: Array
) -> None:
    """Cap the allowed orders (N, R, B) on every quota's lanes in month ``t`` at its allocation
    (in place); ``lane`` the month's orders; ``inventory`` and ``desired`` availability (K, R, B)
    for the ``price`` rule."""
    for q in quotas:
        if not q.in_force(t):
            continue
        monthly = q.plan.monthly_t[t]
        orders = lane[q.rows][:, q.targets]  # (L, R_t, B)
        covered = q.plan.affected * orders
        quota = np.full(orders.shape[-1], monthly)
        if q.plan.allocation == "price":
            held = inventory[q.ks][:, q.targets] + orders - covered  # besides the quota: stock, free part
            granted = allocate_quota(quota, covered, desired[q.ks][:, q.targets], "price", held)
        else:
            granted = allocate_quota(quota, covered, q.history, q.plan.allocation)
        allowed[np.ix_(q.rows, q.targets)] = orders - covered + granted
