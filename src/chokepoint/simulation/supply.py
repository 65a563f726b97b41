"""Entry and exit: capacity outside named projects that answers the price producers sell at.

- **The price a producer sees** is what the markets it ships to pay, weighted by what it shipped
  to each; one that shipped nothing sees the world's markets weighted by base-year use (what it
  could sell at). Producers judge it smoothed: ``p̂ ← p̂ + (p − p̂)/price_months``.
- **Entry.** An entrant (region, commodity, capacity, cost) commits the first month ``p̂`` at its
  region covers its cost (not before ``earliest``); its capacity comes on line after the
  permitting delay and ramps linearly, as a named project does
  (:func:`~chokepoint.simulation.instruments.plan_project`). A commitment is not undone.
- **Exit.** Capacity that has a cost (a region's existing capacity with a
  :class:`~chokepoint.scenario.ProducerCost`, or an entrant) leaves for good after ``exit_months``
  months in a row with ``p̂`` below its cost (Molycorp's 2015 bankruptcy); a month at or above
  cost starts the count again. Capacity without a cost never leaves.

Costs are indices of the base-year price (1 = the base-year price of the commodity). A controller
expands the same way, as an entrant in its own region with its (lower) cost; with more capacity
than orders it cannot sell more, but others' exits hand it their buyers (sourcing,
:mod:`~chokepoint.simulation.responses`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chokepoint.scenario import Scenario
from chokepoint.simulation.baseline import Baseline
from chokepoint.simulation.instruments import ramp_share

__all__ = ["SupplyLanes", "SupplyPlan", "SupplyState", "capacity", "respond_supply", "supply_plan"]

Array = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Index = npt.NDArray[np.intp]


@dataclass(frozen=True)
class SupplyPlan:
    """A scenario's entrants and costs as arrays over nodes ``n`` and entrants ``E``."""

    entrant_node: Index  # (E,) node of each entrant
    entrant_t: Array  # (E,) its capacity, t a month at full ramp
    entrant_cost: Array  # (E,) its cost index
    entrant_delay: Array  # (E,) months from commitment to first output
    entrant_ramp: Array  # (E,) months to full capacity (at least one)
    entrant_earliest: Array  # (E,) first month it may commit
    node_cost: Array  # (n,) cost index of each node's existing capacity (0: it never leaves)
    price_months: float
    exit_months: float

    @property
    def in_use(self) -> bool:
        """Whether the scenario has any entrant or costed capacity (else entry and exit are skipped)."""
        return bool(len(self.entrant_node)) or bool((self.node_cost > 0).any())


def supply_plan(baseline: Baseline, scenario: Scenario) -> SupplyPlan:
    """The arrays of ``scenario.supply_response``. An entrant's region always has its nodes
    (:func:`~chokepoint.simulation.scenario_baseline`); a cost on a node the base year lacks
    (no capacity there to leave) is dropped, as a disruption of one is."""
    net, sr = baseline.net, scenario.supply_response
    entrants = [e for e in sr.entrants if net.node_index([e.region], [e.commodity])[0] >= 0]
    costs = [c for c in sr.costs if net.node_index([c.region], [c.commodity])[0] >= 0]
    node_cost = np.zeros(len(net.nodes))
    node_cost[net.node_index([c.region for c in costs], [c.commodity for c in costs])] = [c.cost_index for c in costs]
    earliest = [0 if e.earliest is None else e.earliest.index(scenario.start) for e in entrants]
    return SupplyPlan(
        entrant_node=net.node_index([e.region for e in entrants], [e.commodity for e in entrants]).astype(np.intp),
        entrant_t=np.array([e.capacity_t_per_yr / 12.0 for e in entrants]),
        entrant_cost=np.array([e.cost_index for e in entrants]),
        entrant_delay=np.array([float(e.permitting_delay_months) for e in entrants]),
        entrant_ramp=np.array([float(e.ramp_months) for e in entrants]),
        entrant_earliest=np.array(earliest, dtype=float),
        node_cost=node_cost,
        price_months=sr.price_months,
        exit_months=sr.exit_months,
    )


@dataclass(frozen=True)
class SupplyLanes:
    """The supply plan on the flat lane layout (:mod:`~chokepoint.simulation.state`)."""

    plan: SupplyPlan
    entrant_lane: Index  # (E,) lane of each entrant
    lane_cost: Array  # (N, 1) cost index of each lane origin's existing capacity (0: none)


@dataclass
class SupplyState:
    """Entry and exit that move from month to month (batch last)."""

    price_seen: Array  # (N, B) smoothed price each lane's origin sells at
    committed: Array  # (E, B) month each entrant committed (inf: not yet)
    below: Array  # (N, B) months in a row existing capacity was below cost
    entrant_below: Array  # (E, B)
    left: Bools  # (N, B) existing capacity gone
    entrant_left: Bools  # (E, B)

    @classmethod
    def start(cls, n_lanes: int, n_entrants: int, batch: int) -> SupplyState:
        return cls(
            price_seen=np.ones((n_lanes, batch)),
            committed=np.full((n_entrants, batch), np.inf),
            below=np.zeros((n_lanes, batch)),
            entrant_below=np.zeros((n_entrants, batch)),
            left=np.zeros((n_lanes, batch), dtype=bool),
            entrant_left=np.zeros((n_entrants, batch), dtype=bool),
        )


def entrant_capacity(sp: SupplyPlan, committed: Array, left: Bools, t: int) -> Array:
    """Each entrant's capacity (E, B) in month ``t``: nothing until ``committed + delay``, then a
    linear ramp to full; nothing once it has left."""
    share = ramp_share(t, committed + sp.entrant_delay[:, None], sp.entrant_ramp[:, None])
    return np.where(left, 0.0, share * sp.entrant_t[:, None])


def capacity(lanes: SupplyLanes, state: SupplyState, planned: Array, t: int) -> Array:
    """Capacity (N, B) of each lane's origin in month ``t``: the planned capacity ``planned`` less
    what has left, plus the entrants on line."""
    out = np.where(state.left, 0.0, planned)
    if len(lanes.entrant_lane):
        np.add.at(out, lanes.entrant_lane, entrant_capacity(lanes.plan, state.committed, state.entrant_left, t))
    return out


def respond_supply(lanes: SupplyLanes, state: SupplyState, price: Array, t: int) -> None:
    """After month ``t``: smooth the price each origin sold at (``price`` (N, B), module docs),
    commit entrants whose cost it covers, count months below cost and retire capacity (in place)."""
    sp = lanes.plan
    state.price_seen += (price - state.price_seen) / sp.price_months
    if len(lanes.entrant_lane):
        seen = state.price_seen[lanes.entrant_lane]
        cost = sp.entrant_cost[:, None]
        ready = np.isinf(state.committed) & (seen >= cost) & (t >= sp.entrant_earliest[:, None])
        state.committed[ready] = t
        producing = entrant_capacity(sp, state.committed, state.entrant_left, t) > 0
        state.entrant_below = np.where(producing & (seen < cost), state.entrant_below + 1.0, 0.0)
        state.entrant_left |= state.entrant_below >= sp.exit_months
    costed = lanes.lane_cost > 0
    state.below = np.where(costed & (state.price_seen < lanes.lane_cost), state.below + 1.0, 0.0)
    state.left |= state.below >= sp.exit_months
