"""The one month loop both allocation modes run: state → orders → allocation → responses → recorder.

Each month ``t``: :func:`~chokepoint.simulation.state.place_orders` places the month's orders top
down along the current sourcing shares; the allocation step (``fast`` pro rata,
:func:`~chokepoint.simulation.allocate_fast.allocate_fast`, or the period LP,
:class:`~chokepoint.simulation.lp.LPAllocation`) decides production, shipments, stock draws and
what is served; :func:`~chokepoint.simulation.responses.respond` updates stocks, sourcing, prices
and substitution; the recorder keeps what the caller asked for and checks the mass balance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from chokepoint.simulation.allocate_fast import Allocation
from chokepoint.simulation.recorders import Recorder
from chokepoint.simulation.responses import respond
from chokepoint.simulation.state import Orders, Setup, State, initial_state, place_orders

__all__ = ["Allocate", "run_loop"]

#: An allocation step: (setup, month, state, orders) → allocation; it must not change the state.
Allocate = Callable[[Setup, int, State, Orders], Allocation]

T_co = TypeVar("T_co")


def run_loop(
    s: Setup, allocate: Allocate, recorder: Recorder[T_co], on_period: Callable[[int], None] | None = None
) -> T_co:
    """Step every month of ``s`` with ``allocate``; ``on_period`` gets each finished month's index."""
    state = initial_state(s)
    for t in range(s.T):
        state.cap_next = s.capacity_at(min(t + 1, s.T - 1))  # the sourcing set now places next month's orders
        orders = place_orders(s, t, state)
        allocation = allocate(s, t, state, orders)
        respond(s, t, state, orders, allocation)
        recorder.record(t, state, orders, allocation)
        state.cap = state.cap_next
        if on_period is not None:
            on_period(t)
    return recorder.finish()
