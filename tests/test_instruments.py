"""Each scenario instrument on the tiny network, in both allocation modes, against a number
worked out by hand. The tiny network (tests/tiny.py): AUT makes the only oxide, 60 t/yr = 5 t a
month, half for its own lamps and half shipped to CHE (2.5 t a month each); CHE has no other
supplier. Quantities are read by region and commodity code, never by position."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from chokepoint.dataset import Dataset
from chokepoint.scenario import Scenario
from chokepoint.simulation import build_baseline, build_plan
from chokepoint.simulation.engine import Mode, Trajectory, run_fast, run_scenario
from chokepoint.simulation.lp import run_lp
from chokepoint.simulation.tabulate import tabulate
from tests.test_simulate import _balance_error, _ban, _scenario
from tests.tiny import tiny_dataset

MODES = pytest.mark.parametrize("mode", ["fast", "lp"])
#: The base year is a numerical fit reproducing reported figures to ~5e-6 relative, so hand figures
#: hold to rel 1e-5, and zeros/shortfalls to 1e-5 of the world's 5 t a month.
FIT = 1e-5
ABS = 5 * FIT


class Run:
    """A trajectory with labelled look-ups (batch 0)."""

    def __init__(self, ds: Dataset, scenario: Scenario, mode: Mode) -> None:
        extra = {o.seller for o in scenario.offtakes} | {o.buyer for o in scenario.offtakes}
        baseline = build_baseline(
            ds, scenario.material, scenario.base_year, scenario.capacity_utilisation, extra_regions=extra
        )
        self._inputs = (baseline, build_plan(baseline, scenario, ds), scenario)
        self.tr: Trajectory = run_scenario(*self._inputs, mode)
        self.regions = list(baseline.net.regions)
        self.commodities = baseline.commodities
        self.sectors = list(baseline.sectors)
        assert _balance_error(self.tr) < 1e-9

    @functools.cached_property
    def tables(self) -> dict[str, pd.DataFrame]:
        baseline, plan, scenario = self._inputs
        return tabulate(baseline, plan, self.tr, scenario)

    def r(self, code: str) -> int:
        return self.regions.index(code)

    def k(self, code: str) -> int:
        return self.commodities.index(code)

    def short(self, region: str, commodity: str = "oxide") -> np.ndarray:
        """Monthly shortfall (T,) of a region's final use of a commodity, all sectors."""
        r, k = self.r(region), self.k(commodity)
        return (self.tr.demand_t - self.tr.served_t)[0, :, r, k].sum(-1)

    def demand(self, region: str, commodity: str = "oxide", sector: str = "lamps") -> np.ndarray:
        return self.tr.demand_t[0, :, self.r(region), self.k(commodity), self.sectors.index(sector)]

    def node(self, field: str, region: str, commodity: str = "oxide") -> np.ndarray:
        """A node series (T,) of the trajectory, e.g. ``node("inventory_t", "CHE")``."""
        return getattr(self.tr, field)[0, :, self.r(region), self.k(commodity)]

    def shipped(self, origin: str, buyer: str, commodity: str = "oxide") -> np.ndarray:
        return self.tr.shipped_t[0, :, self.k(commodity), self.r(origin), self.r(buyer)]

    def world_short(self) -> np.ndarray:
        return (self.tr.demand_t - self.tr.served_t)[0].sum(axis=(1, 2, 3))


@MODES
def test_a_disruption_of_the_only_producer_without_spare_capacity(mode: Mode) -> None:
    # AUT's oxide capacity falls 30% for March-June (no spare capacity: utilisation 1): the world
    # is 30% of its 5 t/month short those months, i.e. 1.5 t, and nothing after.
    disruption = {
        "name": "d",
        "region": "AUT",
        "commodity": "oxide",
        "share": 0.3,
        "start": "2025-03",
        "end": "2025-06",
    }
    run = Run(tiny_dataset(), _scenario(disruptions=[disruption], capacity_utilisation=1.0), mode)
    assert run.world_short() == pytest.approx([0, 0, 1.5, 1.5, 1.5, 1.5, 0, 0, 0, 0, 0, 0], abs=ABS)


@MODES
def test_a_draws_capacity_scale_applies_to_base_capacity(mode: Mode) -> None:
    # A draw scaling AUT's oxide capacity to 70% (utilisation 1: no spare) leaves 30% of the world's
    # 5 t a month unserved, every month, in either allocation step.
    ds = tiny_dataset()
    scenario = _scenario(capacity_utilisation=1.0)
    baseline = build_baseline(ds, "m", 2024, 1.0)
    plan = build_plan(baseline, scenario, ds)
    scale = np.ones((1, len(baseline.net.nodes)))
    scale[0, baseline.net.node("AUT", "oxide")] = 0.7
    tr = (
        run_fast(baseline, plan, capacity_scale=scale, cover_months=0.0)
        if mode == "fast"
        else run_lp(baseline, plan, capacity_scale=scale, cover_months=0.0)
    )
    assert (tr.demand_t - tr.served_t)[0].sum(axis=(1, 2, 3)) == pytest.approx(1.5)
    assert _balance_error(tr) < 1e-9


@MODES
def test_a_quota_lets_its_monthly_twelfth_through(mode: Mode) -> None:
    # A 12 t/yr quota on AUT's oxide to CHE lets 1 t a month through from March; CHE, with no
    # other supplier, is 2.5 − 1 = 1.5 t a month short.
    run = Run(tiny_dataset(), _scenario(export_controls=[_ban({"kind": "quota", "quota_t_per_yr": 12})]), mode)
    assert run.shipped("AUT", "CHE")[2:] == pytest.approx(1.0, rel=FIT)
    assert run.short("CHE") == pytest.approx([0, 0, *[1.5] * 10], abs=ABS)
    assert run.short("AUT") == pytest.approx(0.0, abs=ABS)


@MODES
def test_leakage_gets_its_share_of_a_ban_through(mode: Mode) -> None:
    # A ban with 20% leaking through a third country lets 0.2 × 2.5 = 0.5 t a month reach CHE.
    control = _ban({"kind": "ban"}, leakage=[{"via": "DNK", "share": 0.2}])
    run = Run(tiny_dataset(), _scenario(export_controls=[control]), mode)
    assert run.shipped("AUT", "CHE")[2:] == pytest.approx(0.5, rel=FIT)
    assert run.short("CHE")[2:] == pytest.approx(2.0, rel=FIT)


@MODES
def test_a_stockpile_covers_exactly_its_tonnes(mode: Mode) -> None:
    # A ban on CHE from March leaves it 2.5 t a month short, 25 t over ten months; a 4 t stock
    # (never refilled) covers exactly 4 t of it: all of March and 1.5 t of April.
    stock = [{"region": "CHE", "commodity": "oxide", "stock_t": 4.0}]
    bare = Run(tiny_dataset(), _scenario(export_controls=[_ban({"kind": "ban"})]), mode)
    held = Run(tiny_dataset(), _scenario(export_controls=[_ban({"kind": "ban"})], stockpiles=stock), mode)
    assert bare.short("CHE").sum() == pytest.approx(25.0, rel=FIT)
    assert held.short("CHE").sum() == pytest.approx(21.0, rel=FIT)
    assert held.short("CHE")[2:4] == pytest.approx([0.0, 1.0], abs=ABS)
    assert held.tr.stock_t[0, :, held.r("CHE"), held.k("oxide")][-1] == pytest.approx(0.0, abs=ABS)


@MODES
def test_recycling_serves_a_banned_buyer(mode: Mode) -> None:
    # CHE recycles 50% × 80% of its base final use (2.5 t/month) = 1 t a month from January;
    # banned from AUT in March, it is 2.5 − 1 = 1.5 t short each month.
    recycling = [{"region": "CHE", "commodity": "oxide", "collection_rate": 0.5, "recovery_rate": 0.8,
                  "start": "2025-01"}]  # fmt: skip
    run = Run(tiny_dataset(), _scenario(export_controls=[_ban({"kind": "ban"})], recycling=recycling), mode)
    assert run.node("production_t", "CHE") == pytest.approx(1.0, rel=FIT)
    assert run.short("CHE") == pytest.approx([0, 0, *[1.5] * 10], abs=ABS)


@MODES
def test_substitution_follows_the_price(mode: Mode) -> None:
    # The ban leaves CHE (no inventory here) with nothing from March: availability 0 puts its market
    # at the price cap, 50, so ln p = 3.9 and lamps substitute min(ceiling 0.4, 1 × 3.9) = 40% from
    # April (one-month lag): CHE's demand falls from 2.5 to 1.5 t a month, and all of it stays short.
    # AUT's lamps see their own market's price, 1, and do not substitute.
    sub = [{"name": "s", "sector": "lamps", "commodity": "oxide", "price_elasticity": -1.0, "lag_months": 1,
            "ceiling": 0.4}]  # fmt: skip
    run = Run(tiny_dataset(), _scenario(export_controls=[_ban({"kind": "ban"})], substitution=sub), mode)
    assert run.demand("CHE") == pytest.approx([2.5, 2.5, 2.5, *[1.5] * 9], rel=FIT)
    assert run.short("CHE") == pytest.approx([0, 0, 2.5, *[1.5] * 9], abs=ABS)
    assert run.demand("AUT") == pytest.approx(2.5, rel=FIT)
    assert run.tr.market_price_t[0, 2, run.r("CHE"), run.k("oxide")] == pytest.approx(50.0, rel=FIT)


@MODES
def test_thrifting_is_undone_over_its_reversal_months(mode: Mode) -> None:
    # The ban of March-April puts CHE's price at the cap: lamps substitute 40% in April and May
    # (as above). From May CHE gets what it orders, its price is 1 and the target 0: with a
    # reversal of 4 months the share falls by a quarter of the gap a month (0.3, 0.225, 0.169 …),
    # where a reversal as fast as the lag (1 month) gives the whole demand back in June.
    sub = {"name": "s", "sector": "lamps", "commodity": "oxide", "price_elasticity": -1.0, "lag_months": 1,
           "ceiling": 0.4}  # fmt: skip
    ban = [_ban({"kind": "ban"}, end="2025-04")]
    sticky = Run(tiny_dataset(), _scenario(export_controls=ban, substitution=[sub | {"reversal_months": 4}]), mode)
    shares = [0.0, 0.0, 0.0, 0.4, 0.4, 0.3, 0.225, 0.16875]
    assert sticky.demand("CHE")[:8] == pytest.approx([2.5 * (1 - x) for x in shares], rel=FIT)
    quick = Run(tiny_dataset(), _scenario(export_controls=ban, substitution=[sub]), mode)
    assert quick.demand("CHE")[5:] == pytest.approx(2.5, rel=FIT)


@MODES
def test_a_demand_multiplier_beyond_capacity_is_short_by_the_excess(mode: Mode) -> None:
    # CHE's lamps ×1.2 by mid-2025 (from 1 at mid-2024, linear by month): July's CHE demand is
    # 1.2 × 2.5 = 3 t. With no spare capacity AUT still makes 5 t, so the world is 0.5 t short.
    demand = [{"sector": "lamps", "region": "CHE", "multipliers": {2025: 1.2, 2026: 1.2}}]
    run = Run(tiny_dataset(), _scenario(demand=demand, capacity_utilisation=1.0), mode)
    assert run.demand("CHE")[6:] == pytest.approx(3.0, rel=FIT)
    assert run.demand("AUT") == pytest.approx(2.5, rel=FIT)
    assert run.world_short()[6:] == pytest.approx(0.5, rel=FIT)


@MODES
def test_an_offtake_reserves_its_tonnes_from_the_second_month(mode: Mode) -> None:
    # AUT buys its ore half from itself and half from BEL; an offtake of 60 t/yr (5 t/month) from
    # DNK makes DNK supply AUT from the second month (the floor applies to next month's sourcing).
    # At 50% utilisation DNK (200 t/yr, all used at home) has 200 t/yr spare for it.
    offtake = [{"buyer": "AUT", "seller": "DNK", "commodity": "ore", "quantity_t_per_yr": 60, "start": "2025-01"}]
    run = Run(tiny_dataset(), _scenario(offtakes=offtake, capacity_utilisation=0.5), mode)
    shipped = run.shipped("DNK", "AUT", "ore")
    assert shipped[0] == 0.0
    assert shipped[1:] == pytest.approx(5.0)
    assert run.world_short() == pytest.approx(0.0, abs=1e-9)  # DNK has spare capacity: nobody is short
