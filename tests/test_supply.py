"""Entry and exit (simulation/supply.py) on the tiny network, both allocation modes, against
numbers worked out by hand. AUT makes the world's 5 t a month of oxide, half for its own lamps
and half for CHE; a ban stops AUT→CHE from March. DNK mines ore but makes no oxide: it is the
entrant. Buyers hold no inventory, and a market's price is (available / wanted)^−1."""

from __future__ import annotations

import pytest

from chokepoint.scenario import ScenarioError
from chokepoint.simulation.engine import Mode
from tests.test_instruments import ABS, FIT, MODES, Run
from tests.test_simulate import _ban, _scenario
from tests.tiny import tiny_dataset

BAN = _ban({"kind": "ban"}, end="2025-12")
#: DNK builds 2 t a month of oxide two months after it commits, in one month's ramp, at cost 2.
ENTRANT = {
    "name": "dnk-oxide",
    "region": "DNK",
    "commodity": "oxide",
    "capacity_t_per_yr": 24.0,
    "cost_index": 2.0,
    "permitting_delay_months": 2,
    "ramp_months": 1,
}


def _run(mode: Mode, controls: list[dict[str, object]], **supply: object) -> Run:
    scenario = _scenario(
        export_controls=controls,
        price_scarcity_exponent=1.0,
        supply_response={"price_months": 1.0, "exit_months": 2.0} | supply,
    )
    return Run(tiny_dataset(), scenario, mode)


@MODES
def test_an_entrant_commits_when_the_price_covers_its_cost_and_leaves_after_months_below(mode: Mode) -> None:
    run = _run(mode, [BAN], entrants=[ENTRANT])
    # March: CHE gets nothing, its price hits the cap (50); DNK, selling nothing yet, sees the
    # markets weighted by base use (AUT 2.5 t, CHE 2.5 t): (1 + 50)/2 = 25.5 >= 2, so it commits
    # in March and has its 2 t from May (two months' permitting, one month's ramp).
    assert run.node("market_price_t", "CHE")[2] == pytest.approx(50.0, rel=FIT)
    # Its output lowers CHE's price to 2.5 / shipped; in August and September it sells below its
    # cost of 2, so after those two months it leaves: no capacity from October.
    assert run.node("capacity_t", "DNK") == pytest.approx([0, 0, 0, 0, 2, 2, 2, 2, 2, 0, 0, 0], abs=ABS)
    shipped = run.shipped("DNK", "CHE")
    assert run.node("market_price_t", "CHE")[5:9] == pytest.approx(2.5 / shipped[5:9], rel=FIT)
    assert (run.node("market_price_t", "CHE")[5:7] >= 2.0).all()
    assert (run.node("market_price_t", "CHE")[7:9] < 2.0).all()
    assert run.short("CHE")[9:] == pytest.approx(2.5, abs=ABS)


@MODES
def test_an_entrant_waits_for_its_earliest_month(mode: Mode) -> None:
    run = _run(mode, [BAN], entrants=[ENTRANT | {"earliest": "2025-06"}], exit_months=12.0)
    assert run.node("capacity_t", "DNK") == pytest.approx([0] * 7 + [2] * 5, abs=ABS)


@MODES
def test_an_entrant_whose_cost_the_price_never_covers_changes_nothing(mode: Mode) -> None:
    # The price cap is 50: a cost of 60 is never covered, so the run is the run without it.
    entered = _run(mode, [BAN], entrants=[ENTRANT | {"cost_index": 60.0}])
    plain = Run(tiny_dataset(), _scenario(export_controls=[BAN], price_scarcity_exponent=1.0), mode)
    assert entered.node("capacity_t", "DNK") == pytest.approx(0.0, abs=ABS)
    for field in ("production_t", "shipped_t", "served_t", "market_price_t", "capacity_t"):
        assert getattr(entered.tr, field) == pytest.approx(getattr(plain.tr, field), abs=ABS), field


@MODES
def test_existing_capacity_below_cost_leaves(mode: Mode) -> None:
    # No shock: every price stays 1, below AUT's cost of 1.5, so after two months below (January,
    # February) AUT's oxide capacity (5 t / 0.85 utilisation) leaves from March and the world is
    # short of all its oxide.
    run = _run(mode, [], costs=[{"region": "AUT", "commodity": "oxide", "cost_index": 1.5}])
    assert run.node("capacity_t", "AUT") == pytest.approx([5 / 0.85] * 2 + [0] * 10, rel=FIT, abs=ABS)
    assert run.world_short() == pytest.approx([0, 0, *[5.0] * 10], abs=ABS)


def test_an_entrant_in_an_unknown_region_is_one_line() -> None:
    from chokepoint.scenario import check_scenario

    scenario = _scenario(supply_response={"entrants": [ENTRANT | {"region": "XXX"}]})
    with pytest.raises(ScenarioError, match=r"supply_response\.entrants\[0\]\.region: unknown region 'XXX'"):
        check_scenario(scenario, tiny_dataset())
