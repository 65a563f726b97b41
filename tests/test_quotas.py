"""Export quotas as a tonnage the controller allocates (simulation/quotas.py), both allocation
modes, against numbers worked out by hand. AUT makes 5 t of oxide a month: 2.5 t for its own
lamps, 1.667 t for CHE and 0.833 t for DNK; a quota of 18 t a year (1.5 t a month) covers its
exports for the whole of 2025. Buyers hold no inventory."""

from __future__ import annotations

import numpy as np
import pytest

from chokepoint.simulation.engine import Mode
from chokepoint.simulation.quotas import allocate_quota
from tests.test_instruments import ABS, FIT, MODES, Run
from tests.test_simulate import _scenario
from tests.tiny import tiny_dataset


def _run(mode: Mode, allocation: str, dnk_demand: float = 1.0) -> Run:
    ds = tiny_dataset(
        trade={("BEL", "AUT", "ore"): 100, ("AUT", "CHE", "oxide"): 20, ("AUT", "DNK", "oxide"): 10},
        activity={"AUT": 30_000, "CHE": 20_000, "DNK": 10_000, "WLD": 60_000},
    )
    quota = {
        "name": "q",
        "controller": "AUT",
        "commodities": ["oxide"],
        "targets": {"all_but": ["AUT"]},
        "instrument": {"kind": "quota", "quota_t_per_yr": 18.0, "allocation": allocation},
        "start": "2025-01",
    }
    # DNK's lamps fall linearly from 1 (mid-2024) to dnk_demand (mid-2025) and stay there
    demand = [{"sector": "lamps", "region": "DNK", "multipliers": {2025: dnk_demand, 2026: dnk_demand}}]
    return Run(ds, _scenario(export_controls=[quota], demand=demand, capacity_utilisation=0.25), mode)


@MODES
@pytest.mark.parametrize("allocation", ["orders", "history", "price"])
def test_a_quota_ships_its_tonnage_shared_by_orders(mode: Mode, allocation: str) -> None:
    # 2.5 t ordered against 1.5 t of quota: each buyer gets 60% of its order whatever the rule
    # (history shares are the base orders' 2/3 and 1/3; no price differs while all are short
    # alike: both markets see (0.6)^-3).
    run = _run(mode, allocation)
    assert run.shipped("AUT", "CHE") == pytest.approx(1.0, rel=FIT)
    assert run.shipped("AUT", "DNK") == pytest.approx(0.5, rel=FIT)
    assert run.short("CHE") == pytest.approx(0.4 * 20 / 12, rel=FIT)


@MODES
def test_unused_quota_passes_to_others_by_orders_but_not_by_history(mode: Mode) -> None:
    # From July DNK wants 0.2 x 0.833 = 0.1667 t. Pro rata to orders, 1.5 t over 1.8333 t ordered:
    # CHE gets 1.3636 t, DNK 0.1364 t. By history CHE keeps its 1.0 t (2/3 of the quota) and DNK
    # ships all it wants: the 0.333 t DNK leaves unused is lost.
    by_orders, by_history = _run(mode, "orders", 0.2), _run(mode, "history", 0.2)
    assert by_orders.shipped("AUT", "CHE")[6:] == pytest.approx(1.5 * 1.6667 / 1.8333, rel=1e-4)
    assert by_orders.shipped("AUT", "DNK")[6:] == pytest.approx(1.5 * 0.16667 / 1.8333, rel=1e-4)
    assert by_history.shipped("AUT", "CHE")[6:] == pytest.approx(1.0, rel=FIT)
    assert by_history.shipped("AUT", "DNK")[6:] == pytest.approx(0.16667, rel=1e-4)
    assert by_history.short("DNK")[6:] == pytest.approx(0.0, abs=ABS)


def test_by_price_the_quota_evens_out_scarcity() -> None:
    # Three buyers order 2 t each and want 4 t available; the third already holds 3 t. The quota
    # brings each to the same share θ of its 4 t, within its order: with 3 t, the first two get
    # 4θ each and the third nothing (4θ < 3): 8θ = 3, θ = 0.375, 1.5 t each.
    orders = np.array([[[2.0], [2.0], [2.0]]])  # one commodity, three buyers, one draw
    desired = np.array([[[4.0], [4.0], [4.0]]])
    held = np.array([[[0.0], [0.0], [3.0]]])
    got = allocate_quota(np.array([3.0]), orders, desired, "price", held)
    assert got[0, :, 0] == pytest.approx([1.5, 1.5, 0.0])
    # 5 t: the first two reach their 2 t orders (θ ≥ 0.5) and the third gets the last 1 t
    # (2 + 2 + 4θ − 3 = 5, θ = 1: it then holds all the 4 t it wants)
    got = allocate_quota(np.array([5.0]), orders, desired, "price", held)
    assert got[0, :, 0] == pytest.approx([2.0, 2.0, 1.0])
    # more quota than orders: everyone gets its order
    got = allocate_quota(np.array([9.0]), orders, desired, "price", held)
    assert got[0, :, 0] == pytest.approx([2.0, 2.0, 2.0])
