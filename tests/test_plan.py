"""The compiled plan: each instrument's rule by hand, draws stacked like scalar calls, data-driven shares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chokepoint.dataset import Dataset
from chokepoint.scenario import ExportControl, Scenario
from chokepoint.simulation import build_baseline, build_plan
from chokepoint.simulation.baseline import reference_prices
from chokepoint.simulation.instruments import (
    active_months,
    plan_ban,
    plan_demand_path,
    plan_disruption,
    plan_licence,
    plan_offtake,
    plan_project,
    plan_quota,
    plan_recycling,
    plan_stockpile,
    plan_technology_ban,
    plan_trade_control,
)
from chokepoint.simulation.plan import affected_share
from tests.tiny import tiny_dataset

D = 5
rng = np.random.default_rng(9)


def _scenario(**fields: object) -> Scenario:
    return Scenario.model_validate({"name": "t", "start": "2025-01", "horizon_months": 6, "material": "m", **fields})


def test_licence_blocks_during_the_delay_then_approves_its_share_on_the_controlled_lanes_only() -> None:
    ds = tiny_dataset()
    control = {
        "name": "c",
        "controller": "AUT",
        "commodities": ["oxide"],
        "targets": {"countries": ["CHE"]},
        "instrument": {"kind": "licence", "approval_share": 0.5, "processing_delay_months": 2},
        "start": "2025-01",
    }
    baseline = build_baseline(ds, "m", 2024)
    plan = build_plan(baseline, _scenario(export_controls=[control]), ds)
    net = baseline.net
    aut, che = net.region_index(["AUT", "CHE"])
    oxide, ore = net.commodity_index(["oxide", "ore"])
    assert plan.allowed[:, oxide, aut, che].tolist() == [0.0, 0.0, 0.5, 0.5, 0.5, 0.5]
    assert plan.controlled_origin[:, oxide, aut, che].tolist() == [1.0] * 6
    untouched = np.ones_like(plan.allowed, dtype=bool)
    untouched[:, oxide, aut, che] = False
    assert (plan.allowed[untouched] == 1.0).all()  # other lanes, and ore, are free
    assert (plan.allowed[:, ore] == 1.0).all()


def test_licence_rule_by_hand() -> None:
    active = active_months(6, 1, 4)  # months 1-4
    keep = plan_licence(0.8, 0.25, 1, 2, active)
    # before start: free; delay (months 1, 2): 1 − 0.8; then 1 − 0.8·0.75; after end: free
    assert np.allclose(keep, [1.0, 0.2, 0.2, 0.4, 0.4, 1.0])


def test_quota_rule_by_hand() -> None:
    active = active_months(3, 0, 2)
    assert np.allclose(plan_quota(1.0, 120.0, 20.0, active), 0.5)  # 10 t a month of 20 t exports
    assert np.allclose(plan_quota(0.5, 120.0, 20.0, active), 0.75)
    assert np.allclose(plan_quota(1.0, 0.0, 0.0, active), 1.0)  # nothing exported: nothing to cut


def test_licence_draws_stack_like_scalar_calls() -> None:
    active = active_months(12, 2, 9)
    affected, approval, delay = rng.uniform(size=D), rng.uniform(size=D), rng.integers(0, 6, size=D)
    drawn = plan_licence(affected, approval, 2, delay, active)
    assert drawn.shape == (D, 12)
    stacked = np.stack([plan_licence(affected[d], approval[d], 2, delay[d], active) for d in range(D)])
    assert np.array_equal(drawn, stacked)


def test_disruption_draws_stack_like_scalar_calls_and_repeats_multiply() -> None:
    node = np.array([3, 1, 3], dtype=np.intp)
    active = active_months(8, np.array([0, 2, 4]), np.array([5, 7, 7]))
    shares = rng.uniform(size=(D, 3))
    drawn = plan_disruption(6, node, shares, active)
    assert drawn.shape == (D, 8, 6)
    stacked = np.stack([plan_disruption(6, node, shares[d], active) for d in range(D)])
    assert np.array_equal(drawn, stacked)
    one = plan_disruption(6, node, [0.5, 0.1, 0.5], active)
    assert one[4, 3] == pytest.approx(0.25)  # both disruptions of node 3 in force
    assert one[6, 3] == pytest.approx(0.5)
    assert one[1, 1] == 1.0
    assert one[2, 1] == pytest.approx(0.9)


def test_stockpile_draws_stack_like_scalar_calls() -> None:
    node = np.array([0, 4], dtype=np.intp)
    use = np.arange(6.0) + 1.0
    stock = np.array([np.nan, 50.0])  # the first sized in months of demand
    months = rng.uniform(0, 6, size=(D, 2))
    release = rng.uniform(1, 10, size=(D, 2))
    drawn = plan_stockpile(6, node, use, stock, months, release, [3.0, np.inf], [1.0, 0.0])
    for d in range(D):
        one = plan_stockpile(6, node, use, stock, months[d], release[d], [3.0, np.inf], [1.0, 0.0])
        for a, b in zip(drawn, one, strict=True):
            assert np.array_equal(a[d], b)
    target = drawn[0]
    assert target[:, 0] == pytest.approx(months[:, 0] * 1.0)
    assert (target[:, 4] == 50.0).all()
    assert (target[:, [1, 2, 3, 5]] == 0.0).all()


def test_demand_path_draws_stack_like_scalar_calls() -> None:
    years = 2025 + (np.arange(36) + 0.5) / 12.0
    knots = np.array([2024.5, 2025.5, 2027.5])
    mult = np.column_stack([np.ones(D), rng.uniform(0.5, 2.0, size=(D, 2))])
    drawn = plan_demand_path(years, knots, mult)
    assert drawn.shape == (D, 36)
    stacked = np.stack([np.interp(years, knots, mult[d]) for d in range(D)])
    assert np.allclose(drawn, stacked, rtol=1e-14, atol=1e-14)
    assert np.allclose(drawn[0], [plan_demand_path(years, knots, mult[0])])


def test_projects_recycling_offtakes_and_technology_bans_take_draws() -> None:
    cap, online, ramp = rng.uniform(100, 1000, size=(D, 2)), np.array([2.0, 5.0]), rng.uniform(1, 12, size=(D, 2))
    drawn = plan_project(10, cap, online, ramp)
    assert np.array_equal(drawn, np.stack([plan_project(10, cap[d], online, ramp[d]) for d in range(D)]))
    node = np.array([2], dtype=np.intp)
    rec = rng.uniform(size=(D, 1))
    eol = np.arange(4.0)
    drawn = plan_recycling(6, 4, node, [1], [3], rec, eol)
    assert np.array_equal(drawn, np.stack([plan_recycling(6, 4, node, [1], [3], rec[d], eol) for d in range(D)]))
    assert drawn[0, :, 2] == pytest.approx(rec[0, 0] * 2.0 * np.array([0, 1 / 3, 2 / 3, 1, 1, 1]))
    q = rng.uniform(0, 120, size=(D, 2))
    lane = np.array([0, 0], dtype=np.intp), np.array([1, 1], dtype=np.intp), np.array([2, 2], dtype=np.intp)
    active = active_months(4, np.array([0, 2]), np.array([3, 3]))
    drawn = plan_offtake(4, 1, 3, *lane, q, active)
    assert np.array_equal(drawn, np.stack([plan_offtake(4, 1, 3, *lane, q[d], active) for d in range(D)]))
    assert drawn[0, 3, 0, 1, 2] == pytest.approx((q[0, 0] + q[0, 1]) / 12.0)  # two offtakes on a lane add
    hit = np.array([[True, False], [True, True]])
    slow, factor = plan_technology_ban(hit, [1.5, 2.0], [0.5, 0.2])
    assert slow.tolist() == [1.5, 2.0]
    assert factor.tolist() == [0.5, 0.5]


def test_an_element_control_covers_exactly_the_commodities_containing_its_elements(default: Dataset) -> None:
    control = ExportControl.model_validate(
        {
            "name": "c",
            "controller": "CHN",
            "commodities": ["ree_oxide"],
            "elements": ["Dy", "tb"],  # symbols match in any case
            "targets": {"all_but": []},
            "instrument": {"kind": "ban"},
            "start": "2025-01",
        }
    )
    covered = {
        "ree_oxide_dy": 1.0,
        "ree_oxide_tb": 1.0,
        "ree_metal_dy": 1.0,
        "ndfeb_sintered_hre": 1.0,  # Nd Pr Dy Tb
        "ree_oxide_la": 0.0,
        "ree_oxide_ce": 0.0,
        "ree_metal_nd": 0.0,
        "ndfeb_sintered": 0.0,  # grades without heavy rare earths
        "ndfeb_bonded": 0.0,
        "smco_magnet": 0.0,
        "ree_concentrate_ionic": 1.0,  # a concentrate contains every rare earth
    }
    assert {k: affected_share(control, k, default) for k in covered} == covered
    gallium = control.model_copy(update={"elements": ["Ga"]})
    assert affected_share(gallium, "gallium", default) == 1.0
    assert affected_share(gallium, "ree_oxide_dy", default) == 0.0
    given = control.model_copy(update={"affected_share": 0.3})
    assert affected_share(given, "ree_oxide_la", default) == 0.3  # the scenario's own share wins


def test_reference_price_is_the_marked_quote_else_the_median(default: Dataset) -> None:
    prices = default["prices"]
    oxide = prices[(prices["commodity_id"] == "ree_oxide_nd") & (prices["year"] == 2024)]
    marked = oxide.loc[oxide["price_role"] == "reference", "price_usd_per_kg"]
    assert len(marked) == 1
    assert reference_prices(default, ["ree_oxide_nd"], 2024)[0] == float(marked.iloc[0])
    unmarked = Dataset("unmarked", {**default.tables, "prices": prices.assign(price_role=pd.NA)})
    median = float(oxide["price_usd_per_kg"].median())
    assert reference_prices(unmarked, ["ree_oxide_nd", "ree_concentrate_ionic"], 2024)[0] == pytest.approx(median)


def test_trade_control_writes_drawn_keeps_like_scalar_calls() -> None:
    T, K, R = 4, 2, 3
    active = active_months(T, 1, 2)
    affected = rng.uniform(size=D)
    keep = plan_ban(affected, active)
    origins, targets = np.array([True, False, False]), np.array([False, True, True])
    allowed, controlled = np.ones((D, T, K, R, R)), np.zeros((D, T, K, R, R))
    plan_trade_control(allowed, controlled, keep, affected, active, 1, origins, targets)
    for d in range(D):
        a, c = np.ones((T, K, R, R)), np.zeros((T, K, R, R))
        plan_trade_control(a, c, keep[d], affected[d], active, 1, origins, targets)
        assert np.array_equal(allowed[d], a)
        assert np.array_equal(controlled[d], c)
    # ban: 1 − φ on 0→1 and 0→2 only (leakage is routed each month: tests/test_leakage.py)
    assert allowed[0, 1, 1, 0, 2] == pytest.approx(1.0 - affected[0])
    assert allowed[0, 0, 1, 0, 2] == 1.0
    assert (allowed[:, :, 0] == 1.0).all()
    assert (allowed[:, :, 1, 1:] == 1.0).all()
