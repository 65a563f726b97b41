"""Leakage routes (simulation/leakage.py) on the tiny network, both allocation modes, against
numbers worked out by hand. A ban stops AUT→CHE oxide (2.5 t a month) from March; a route
through DNK gets part of what it refuses through. CHE holds no inventory; its market prices at
(available / wanted)^−1."""

from __future__ import annotations

import pytest

from chokepoint.simulation.engine import Mode
from tests.test_instruments import ABS, FIT, MODES, Run
from tests.test_simulate import _ban, _scenario
from tests.tiny import tiny_dataset


def _run(mode: Mode, **route: object) -> Run:
    control = _ban({"kind": "ban"}, leakage=[{"via": "DNK", "share": 0.5} | route])
    return Run(tiny_dataset(), _scenario(export_controls=[control], price_scarcity_exponent=1.0), mode)


def _leaked(run: Run) -> list[float]:
    table = run.tables["leakage"]
    return table.groupby("period")["leaked_t"].sum().tolist()


@MODES
def test_a_route_carries_its_share_of_the_refused_flow_up_to_its_capacity(mode: Mode) -> None:
    # Half of the 2.5 t refused would leak (1.25 t); the route carries at most 12 t a year, 1 t a
    # month: CHE receives 1 t from March and is 1.5 t short. The leakage table has the 1 t, AUT →
    # DNK → CHE, in each of the ten months of the ban.
    run = _run(mode, capacity_t_per_yr=12.0)
    assert run.shipped("AUT", "CHE") == pytest.approx([2.5, 2.5, *[1.0] * 10], abs=ABS)
    assert run.short("CHE") == pytest.approx([0, 0, *[1.5] * 10], abs=ABS)
    table = run.tables["leakage"]
    assert set(zip(table["exporter_id"], table["via_id"], table["importer_id"], strict=True)) == {("AUT", "DNK", "CHE")}
    assert _leaked(run) == pytest.approx([1.0] * 10, abs=ABS)
    # without a capacity the route carries all of its half: 1.25 t
    assert _run(mode).shipped("AUT", "CHE")[2:] == pytest.approx(1.25, abs=ABS)


@MODES
def test_buyers_pay_the_routes_premium_for_what_it_carries(mode: Mode) -> None:
    # CHE gets 1.25 t of the 2.5 t it wants: index 2.5 / 1.25 = 2 without a premium; with a
    # premium of 0.6 on all it received, 2 × (1 + 0.6 × 1.25 / 1.25) = 3.2.
    plain, dear = _run(mode), _run(mode, premium=0.6)
    che, oxide = plain.r("CHE"), plain.k("oxide")
    assert plain.tr.market_price_t[0, 2:, che, oxide] == pytest.approx(2.0, rel=FIT)
    assert dear.tr.market_price_t[0, 2:, che, oxide] == pytest.approx(3.2, rel=FIT)
