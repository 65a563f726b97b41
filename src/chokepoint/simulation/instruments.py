"""One array function per instrument family: the rule that turns a scenario's values into time paths.

Each ``plan_<instrument>`` is pure and vectorised over months, nodes and instances (no Python
loop where numpy can do it). Numeric scenario values may carry an optional LEADING draw axis
(shape ``(D,)`` for a scalar value, ``(D, Q)`` for one value per instance): the result then has
the same leading axis, so Monte Carlo or a sensitivity sweep over scenario values stays one array
operation. Without it, the results have the shapes :class:`chokepoint.simulation.plan.Plan`
holds. Index arguments (months, nodes, lanes) are never drawn.

Trade controls produce ``keep``, the share of a controlled lane's orders that may still ship in
each month (1 outside the control's months); :func:`plan_trade_control` writes it onto the lanes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "active_months",
    "plan_ban",
    "plan_content_rule",
    "plan_demand_path",
    "plan_disruption",
    "plan_excluded_sectors",
    "plan_licence",
    "plan_offtake",
    "plan_priority",
    "plan_project",
    "plan_quota",
    "plan_recycling",
    "plan_stockpile",
    "plan_substitution",
    "plan_technology_ban",
    "plan_trade_control",
    "ramp_share",
]

Array = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Index = npt.NDArray[np.intp]
Value = float | npt.ArrayLike


def _f(x: Value) -> Array:
    return np.asarray(x, dtype=float)


def active_months(T: int, start: npt.ArrayLike, end: npt.ArrayLike) -> Bools:
    """(…, T) True in months ``start ≤ t ≤ end`` (month indices from the scenario start)."""
    t = np.arange(T)
    s, e = np.asarray(start)[..., None], np.asarray(end)[..., None]
    return np.asarray((t >= s) & (t <= e), dtype=bool)


def plan_ban(affected: Value, active: Bools) -> Array:
    """Ban: ``keep = 1 − affected`` while active, 1 otherwise. ``affected`` (…,) the share of the
    commodity the control covers; ``active`` (T,). Returns (…, T)."""
    a = _f(affected)[..., None]
    return np.where(active, 1.0 - a, 1.0)


def plan_licence(affected: Value, approval_share: Value, start: int, delay_months: Value, active: Bools) -> Array:
    """Licence: nothing is approved until ``start + delay_months``, then ``approval_share`` of the
    covered flow is: ``keep = 1 − affected · (1 − approval_t)`` while active, 1 otherwise
    (``approval_t = 0`` for ``t < start + delay``). Returns (…, T)."""
    t = np.arange(active.shape[-1])
    ready = t >= start + _f(delay_months)[..., None]
    approval = np.where(ready, _f(approval_share)[..., None], 0.0)
    return np.where(active, 1.0 - _f(affected)[..., None] * (1.0 - approval), 1.0)


def plan_quota(affected: Value, quota_t_per_yr: Value, base_exports_t: Value, active: Bools) -> Array:
    """Quota: the covered flow ships at ``min(1, quota / 12 / base monthly exports to the targets)``
    (1 without base exports): ``keep = 1 − affected · (1 − ratio)`` while active. Returns (…, T)."""
    exports = _f(base_exports_t)
    monthly = _f(quota_t_per_yr) / 12.0
    ratio = np.where(exports > 0, np.minimum(1.0, monthly / np.where(exports > 0, exports, 1.0)), 1.0)
    return np.where(active, 1.0 - _f(affected)[..., None] * (1.0 - ratio[..., None]), 1.0)


def plan_content_rule(affected: Value, approval_share: Value, active: Bools) -> Array:
    """Content rule (on the lanes of third-country producers above the content threshold):
    ``keep = 1 − affected · (1 − approval_share)`` while active. Returns (…, T)."""
    return np.where(active, 1.0 - _f(affected)[..., None] * (1.0 - _f(approval_share)[..., None]), 1.0)


def plan_trade_control(
    allowed: Array,
    controlled: Array,
    keep: Array,
    affected: Value,
    active: Bools,
    commodity: int,
    origins: Bools,
    targets: Bools,
) -> None:
    """Write one control onto its lanes, in place: on ``origins × targets`` of ``commodity``,
    ``allowed = min(allowed, keep)`` and, in active months, ``controlled = max(controlled,
    affected)`` (overlapping controls: the tightest wins). ``allowed``/``controlled`` (…, T, K, R, R),
    ``keep`` (…, T), ``origins``/``targets`` (R,) masks."""
    o, b = np.flatnonzero(origins), np.flatnonzero(targets)
    lanes = np.ix_(o, b)
    sub = allowed[..., commodity, :, :][..., lanes[0], lanes[1]]
    allowed[..., commodity, lanes[0], lanes[1]] = np.minimum(sub, keep[..., None, None])
    share = np.where(active, _f(affected)[..., None], 0.0)
    sub = controlled[..., commodity, :, :][..., lanes[0], lanes[1]]
    controlled[..., commodity, lanes[0], lanes[1]] = np.maximum(sub, share[..., None, None])


def plan_excluded_sectors(excluded: Array, active: Bools, targets: Bools, sectors: Index) -> None:
    """Licence exclusions, in place: ``excluded[t, r, s] = 1`` where the licence is active, ``r`` a
    target and ``s`` a refused end use (e.g. defence). ``excluded`` (T, R, S)."""
    excluded[np.ix_(active, targets, sectors)] = 1.0


def plan_technology_ban(hit: Bools, ramp_slowdown: Value, learning_slowdown: Value) -> tuple[Array, Array]:
    """Technology ban: a project hit by bans (``hit`` (P, C), the bans ``C`` in force during its
    ramp) ramps ``max(1, max ramp_slowdown)`` times slower and keeps ``min(1, min(1 −
    learning_slowdown))`` of its learning rate. Slowdowns (…, C). Returns (slow, learning factor),
    each (…, P)."""
    ramp = _f(ramp_slowdown)[..., None, :]
    learn = 1.0 - _f(learning_slowdown)[..., None, :]
    slow = np.maximum(1.0, np.where(hit, ramp, 1.0).max(axis=-1, initial=1.0))
    factor = np.minimum(1.0, np.where(hit, learn, 1.0).min(axis=-1, initial=1.0))
    return slow, factor


def plan_project(T: int, capacity_t_per_yr: Value, online: Value, ramp_months: Value) -> Array:
    """Capacity project: after ``online`` (start + permitting delay) capacity ramps linearly over
    ``max(1, ramp_months)`` months to ``capacity_t_per_yr / 12``:
    ``clip((t − online + 1) / ramp, 0, 1) · capacity / 12``. Values (…, P). Returns (…, T, P)."""
    t = np.arange(T)[:, None]
    share = ramp_share(t, _f(online)[..., None, :], _f(ramp_months)[..., None, :])
    return share * _f(capacity_t_per_yr)[..., None, :] / 12.0


def ramp_share(t: Value, online: Value, ramp_months: Value) -> Array:
    """Share of full capacity in month ``t`` of a plant on line from ``online``, ramping linearly
    over ``max(1, ramp_months)``: ``clip((t − online + 1) / ramp, 0, 1)`` (projects, entrants)."""
    return np.clip((_f(t) - _f(online) + 1.0) / np.maximum(1.0, _f(ramp_months)), 0.0, 1.0)


def plan_disruption(n: int, node: Index, share: Value, active: Bools) -> Array:
    """Disruption: node ``node[q]`` keeps ``1 − share[q]`` of its capacity in its active months;
    disruptions of one node multiply. ``share`` (…, Q), ``active`` (Q, T). Returns the capacity
    multiplier (…, T, n)."""
    s = _f(share)
    lead = s.shape[:-1]
    factor = np.ones((n, *lead, active.shape[-1]))
    # (Q, …, T): each disruption's monthly factor, multiplied onto its node (repeats multiply).
    per = np.where(
        active.reshape(active.shape[0], *([1] * len(lead)), active.shape[-1]),
        1.0 - np.moveaxis(s, -1, 0)[..., None],
        1.0,
    )
    np.multiply.at(factor, node, per)
    return np.moveaxis(factor, 0, -1)


def plan_demand_path(years: Array, knot_years: Array, multipliers: Value) -> Array:
    """Demand path: the multiplier of base final demand at each month's mid-point ``years`` (T,),
    linear between the knots (``knot_years`` (J,), mid-year, with the base year's 1 first) and
    flat beyond. Linear in the multipliers, so a drawn (…, J) set is one matrix product.
    Returns (…, T)."""
    xs = _f(knot_years)
    weights = np.stack([np.interp(years, xs, e) for e in np.eye(len(xs))], axis=-1)  # (T, J)
    return np.asarray(_f(multipliers) @ weights.T, dtype=float)


def plan_stockpile(
    n: int,
    node: Index,
    base_use_t: Array,
    stock_t: Value,
    months_of_demand: Value,
    max_release_t: Value,
    refill_months: Value,
    release: Value,
) -> tuple[Array, Array, Array, Array]:
    """Stockpile at ``node[p]``: ``stock = stock_t`` where given (not NaN), else ``months_of_demand ·
    base monthly use of the node``; release capped at ``max_release_t`` per month (inf: no cap),
    refilled over ``refill_months`` (inf: never), released on shortfall where ``release`` is 1.
    Values (…, P); a node listed twice takes the last. Returns (target, max release, refill
    months, release), each (…, n), zero stock and inf/inf/0 elsewhere."""
    given = _f(stock_t)
    target_p = np.where(np.isnan(given), _f(months_of_demand) * base_use_t[node], given)
    values = np.broadcast_arrays(target_p, _f(max_release_t), _f(refill_months), _f(release))
    lead = np.broadcast_shapes(*(v.shape[:-1] for v in values))
    out = []
    for v, fill in zip(values, (0.0, np.inf, np.inf, 0.0), strict=True):
        arr = np.full((*lead, n), fill)
        arr[..., node] = np.broadcast_to(v, (*lead, len(node)))
        out.append(arr)
    return out[0], out[1], out[2], out[3]


def plan_recycling(
    T: int, n: int, node: Index, start: Value, ramp_months: Value, recovery: Value, end_of_life_t: Array
) -> Array:
    """Recycling at ``node[p]``: secondary supply ramps linearly from ``start`` over ``ramp_months``
    to ``recovery · end_of_life_t[node]`` a month (``recovery`` = collection × recovery rate; the
    end-of-life flow is the node's base final use, stock turnover in steady state). A node listed
    twice takes the last. Values (…, P). Returns (…, T, n)."""
    t = np.arange(T)[:, None]
    ramp = np.clip((t - _f(start)[..., None, :] + 1.0) / np.maximum(1.0, _f(ramp_months))[..., None, :], 0.0, 1.0)
    flow = ramp * (_f(recovery) * end_of_life_t[node])[..., None, :]  # (…, T, P)
    out = np.zeros((*flow.shape[:-1], n))
    out[..., node] = flow
    return out


def plan_substitution(
    S: int,
    K: int,
    sector: Index,
    commodity: Index,
    ceiling: Value,
    elasticity: Value,
    lag_months: Value,
    reversal_months: Value,
) -> tuple[Array, Array, Array, Array]:
    """Substitution of commodity ``commodity[q]`` in sector ``sector[q]``: up to ``ceiling`` of
    demand, responding to price with ``elasticity`` (≤ 0) over ``max(1, lag)`` months, and
    undone over ``max(1, reversal)`` months when the price falls back (thrifting is sticky).
    Values (…, Q); a pair listed twice takes the last. Returns (ceiling, elasticity, lag,
    reversal), each (…, S, K), 0/0/1/1 where nothing substitutes."""
    values = np.broadcast_arrays(
        _f(ceiling), _f(elasticity), np.maximum(1.0, _f(lag_months)), np.maximum(1.0, _f(reversal_months))
    )
    lead = values[0].shape[:-1]
    out = []
    for v, fill in zip(values, (0.0, 0.0, 1.0, 1.0), strict=True):
        arr = np.full((*lead, S, K), fill)
        arr[..., sector, commodity] = v
        out.append(arr)
    return out[0], out[1], out[2], out[3]


def plan_offtake(
    T: int, K: int, R: int, commodity: Index, seller: Index, buyer: Index, quantity_t_per_yr: Value, active: Bools
) -> Array:
    """Offtake: ``quantity_t_per_yr / 12`` a month reserved from ``seller`` for ``buyer`` in the
    active months (``active`` (O, T)); offtakes on one lane add. Values (…, O). Returns
    (…, T, K, R, R)."""
    q = _f(quantity_t_per_yr)
    lead = q.shape[:-1]
    monthly = np.where(active, q[..., None] / 12.0, 0.0)  # (…, O, T)
    out = np.zeros((K, R, R, *lead, T))
    np.add.at(out, (commodity, seller, buyer), np.moveaxis(monthly, -2, 0))
    return np.moveaxis(out, (0, 1, 2), (-3, -2, -1))


def plan_priority(weights: Value) -> Array:
    """Priority: each sector's weight when supply is short (1 where the scenario names none);
    ``weights`` (…, S). Returns it as floats."""
    return _f(weights)
