"""Buyers' inventories, hoarding and per-market prices (simulation/markets.py) on the tiny network,
in both allocation modes, against numbers worked out by hand. CHE buys its 2.5 t a month of oxide
from AUT only; a ban stops that lane in March and April (months 2 and 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chokepoint.scenario import Scenario, ScenarioError, load_scenario
from chokepoint.simulation import simulate
from chokepoint.simulation.engine import Mode, engine_rates
from chokepoint.simulation.state import RATE_DEFAULTS
from tests.test_instruments import ABS, FIT, MODES, Run
from tests.test_simulate import _ban, _scenario
from tests.tiny import tiny_dataset

#: Two months of cover, restocked in one month, expectations of one month, price (A/A*)^−1.
MARKETS = {"cover_months": 2.0, "hoarding": 0.0, "restock_months": 1.0, "expectation_months": 1.0, "price_cap": 50.0}
BAN = _ban({"kind": "ban"}, end="2025-04")


def _run(mode: Mode, **markets: float) -> Run:
    # utilisation 0.25: AUT can make 4x its base oxide, so restocking is never capacity-bound
    scenario = _scenario(
        export_controls=[BAN], markets=MARKETS | markets, price_scarcity_exponent=1.0, capacity_utilisation=0.25
    )
    return Run(tiny_dataset(), scenario, mode)


@MODES
def test_two_months_of_cover_carry_a_buyer_through_a_two_month_ban(mode: Mode) -> None:
    # CHE holds 2 x 2.5 = 5 t. March: it draws 2.5 t; April: it orders 2.5 t to restock (banned)
    # and draws its last 2.5 t; May: it orders 2.5 + 5 t of restocking, which AUT ships.
    run = _run(mode)
    assert run.short("CHE") == pytest.approx(0.0, abs=ABS)
    assert run.node("inventory_t", "CHE") == pytest.approx([5, 5, 2.5, 0, 5, 5, 5, 5, 5, 5, 5, 5], abs=ABS)
    assert run.shipped("AUT", "CHE") == pytest.approx([2.5, 2.5, 0, 0, 7.5, *[2.5] * 7], abs=ABS)
    # CHE's price: availability (inventory at the start + deliveries) over need x (1 + 2 months):
    # March 5/7.5, April 2.5/7.5, May 7.5/7.5, to the power -1. AUT's market is untouched.
    assert run.node("market_price_t", "CHE")[:6] == pytest.approx([1, 1, 1.5, 3, 1, 1], rel=FIT)
    assert run.node("market_price_t", "AUT") == pytest.approx(1.0, rel=FIT)
    # The world price weighs the two oxide markets by base use, 2.5 t each: (3 + 1)/2 in April.
    assert run.tr.price_index[0, 3, run.k("oxide")] == pytest.approx(2.0, rel=FIT)


@MODES
def test_without_cover_the_ban_is_short_at_once_and_the_price_hits_the_cap(mode: Mode) -> None:
    run = _run(mode, cover_months=0.0)
    assert run.short("CHE") == pytest.approx([0, 0, 2.5, 2.5, *[0] * 8], abs=ABS)
    assert run.node("market_price_t", "CHE")[2:4] == pytest.approx(50.0, rel=FIT)


@MODES
def test_hoarding_brings_restocking_above_normal_then_destocking(mode: Mode) -> None:
    # With hoarding 1, March's full gap (expected gap 1, one month's memory) doubles CHE's target
    # cover to 4 months: April orders 10 - 2.5 t more (banned); May, the gap closed, it orders
    # 2.5 + 10 t (5x normal) and ends May with 10 t. In June its target is back to 5 t: it orders
    # nothing and runs down 2.5 t a month until it holds 5 t (July), then orders normally.
    run = _run(mode, hoarding=1.0)
    assert run.shipped("AUT", "CHE") == pytest.approx([2.5, 2.5, 0, 0, 12.5, 0, 0, *[2.5] * 5], abs=ABS)
    assert run.node("inventory_t", "CHE") == pytest.approx([5, 5, 2.5, 0, 10, 7.5, 5, 5, 5, 5, 5, 5], abs=ABS)
    assert run.short("CHE") == pytest.approx(0.0, abs=ABS)
    # April: 2.5 t available against 2.5 x (1 + 4) wanted: price 5; June: 10 t against 7.5: 0.75.
    assert run.node("market_price_t", "CHE")[[3, 4, 5]] == pytest.approx([5.0, 1.0, 0.75], rel=FIT)


def test_observations_read_the_world_one_market_the_markets_outside_a_region_and_one_flow() -> None:
    obs = [
        {"role": "validate", "metric": "price_index", "commodity": "oxide", "period": "2025-04", "value": 2.0,
         "source": "s", **where}
        for where in ({}, {"region": "AUT"}, {"outside": "AUT"})
    ] + [
        {"role": "validate", "metric": "flow_ratio", "commodity": "oxide", "region": "CHE", "origin": "AUT",
         "period": "2025-05", "value": 3.0, "source": "s"}
    ]  # fmt: skip
    scenario = _scenario(
        export_controls=[BAN], markets=MARKETS, price_scarcity_exponent=1.0, capacity_utilisation=0.25, observed=obs
    )
    observed = simulate(tiny_dataset(), scenario).tables["observed"]
    # April's prices (world, AUT's market, the markets outside AUT: CHE's) and May's restocking
    # flow AUT -> CHE against January's: 7.5 / 2.5
    assert list(observed["simulated"]) == pytest.approx([2.0, 1.0, 3.0, 3.0], rel=FIT)
    assert list(observed["outside_id"].fillna("")) == ["", "", "AUT", ""]


def test_the_engine_and_a_scenario_file_share_their_defaults() -> None:
    minimal = Scenario.model_validate({"name": "t", "start": "2025-01"})
    assert engine_rates(minimal) == RATE_DEFAULTS


@pytest.mark.parametrize(
    ("markets", "message"),
    [
        ("{cover_months: -1}", r"markets\.cover_months.*-1"),
        ("{restock_months: 0.5}", r"markets\.restock_months.*0\.5"),
        ("{hoarding: .nan}", r"markets\.hoarding"),
        ("{cover: 2}", r"markets\.cover"),
    ],
)
def test_a_bad_markets_block_is_one_line_naming_the_field(tmp_path: Path, markets: str, message: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nstart: 2025-01\nmarkets: {markets}\n")
    with pytest.raises(ScenarioError, match=message) as err:
        load_scenario(path)
    assert "\n" not in str(err.value)


@MODES
def test_idle_capacity_lowers_every_markets_price_with_the_utilisation_exponent(mode: Mode) -> None:
    # A project doubles AUT's oxide capacity from January while orders stay at 5 t a month: the
    # world's oxide utilisation halves against the base year's, so with κ = 1 both oxide markets
    # price at (1/2)^1 = 0.5 every month; ore, used as before, stays at 1.
    project = {"name": "p", "region": "AUT", "commodity": "oxide", "capacity_t_per_yr": 60 / 0.85,
               "start": "2025-01", "ramp_months": 1}  # fmt: skip
    scenario = _scenario(projects=[project], markets={"cover_months": 0.0, "utilisation_exponent": 1.0})
    run = Run(tiny_dataset(), scenario, mode)
    assert run.node("market_price_t", "CHE") == pytest.approx(0.5, rel=FIT)
    assert run.node("market_price_t", "AUT") == pytest.approx(0.5, rel=FIT)
    assert run.node("market_price_t", "AUT", "ore") == pytest.approx(1.0, rel=FIT)
    assert run.short("CHE") == pytest.approx(0.0, abs=ABS)
