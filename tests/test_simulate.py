"""The shock engine's invariants: mass balance, no negatives, the baseline without shocks, and
monotone responses to stricter controls and larger stockpiles; on the tiny network (properties
over random scenarios) and on the shipped dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chokepoint.dataset import Dataset
from chokepoint.scenario import Scenario, ScenarioError
from chokepoint.schema import validate_table
from chokepoint.simulation import build_baseline, build_plan, run_fast, simulate
from chokepoint.simulation.allocate_fast import Allocation, allocate_fast
from chokepoint.simulation.engine import Trajectory, engine_rates
from chokepoint.simulation.loop import run_loop
from chokepoint.simulation.plan import controller_content
from chokepoint.simulation.recorders import MassBalanceError, SummaryRecorder, TrajectoryRecorder
from chokepoint.simulation.responses import reserve
from chokepoint.simulation.state import Orders, Setup, State, setup
from chokepoint.simulation.state import params as engine_params
from tests.fuzzing import examples
from tests.tiny import PROV, random_scenarios, tiny_dataset, tiny_with


def _scenario(**fields: object) -> Scenario:
    """A tiny-network scenario. Its buyers hold no inventory, so each instrument's effect shows on
    its own (tests/test_markets.py gives them inventories)."""
    return Scenario.model_validate(
        {"name": "t", "start": "2025-01", "horizon_months": 12, "material": "m", "markets": {"cover_months": 0.0}}
        | fields
    )


def _run(ds: Dataset, scenario: Scenario) -> Trajectory:
    baseline = build_baseline(ds, scenario.material, scenario.base_year, scenario.capacity_utilisation)
    return run_fast(baseline, build_plan(baseline, scenario, ds), **engine_rates(scenario))


def _balance_error(tr: Trajectory) -> float:
    """|production + imports + stock draw − (exports + intermediate + final + stock build + inventory)|."""
    ship = tr.shipped_t  # (B, T, K, o, b)
    own = np.einsum("btkii->btik", ship)
    imports = ship.sum(axis=3).transpose(0, 1, 3, 2) - own
    exports = ship.sum(axis=4).transpose(0, 1, 3, 2) - own
    lhs = tr.production_t + imports + tr.stock_draw_t
    rhs = exports + tr.intermediate_use_t + tr.served_t.sum(-1) + tr.stock_build_t + tr.unsold_t + tr.unused_t
    return float(np.abs(lhs - rhs).max())


def _target_shortfall(tr: Trajectory, region: int) -> float:
    return float((tr.demand_t - tr.served_t)[0, :, region].sum())


def _region(ds: Dataset, code: str) -> int:
    """Position of region ``code`` in the tiny network built from ``ds``."""
    return list(build_baseline(ds, "m", 2024).net.regions).index(code)


def _ban(kind: dict[str, object], **extra: object) -> dict[str, object]:
    return {
        "name": "c",
        "controller": "AUT",
        "commodities": ["oxide"],
        "targets": {"countries": ["CHE"]},
        "instrument": kind,
        "start": "2025-03",
        **extra,
    }


def test_no_shock_reproduces_the_baseline() -> None:
    ds = tiny_dataset()
    tr = _run(ds, _scenario())
    baseline = build_baseline(ds, "m", 2024)
    assert np.abs(tr.demand_t - tr.served_t).max() < 1e-9
    assert np.allclose(tr.production_t[0], baseline.production_t.reshape(-1, 2)[None], rtol=1e-12)
    assert np.allclose(tr.price_index, 1.0, rtol=0, atol=1e-12)
    # Baseline by hand: CHE and AUT each use 30 t/yr of oxide for lamps (30,000 units × 1 kg);
    # of 400 t ore mined, 1.25 × 60 t feed the oxide, so 325 t is final use of ore ("other").
    lamps = baseline.final_t[:, baseline.sectors.index("lamps")].sum() * 12
    other = baseline.final_t[:, baseline.sectors.index("other")].sum() * 12
    # The base year is a weighted fit (docs/baseyear.md), not an identity: its prior on lanes moves
    # the reported figures by a few parts per million, hence rel=1e-5 rather than pytest's 1e-6.
    assert (lamps, other) == (pytest.approx(60.0, rel=1e-5), pytest.approx(325.0, rel=1e-5))
    # ... where the data place it: AUT mines 100 + imports 100 − 75 into its oxide = 125 t; DNK
    # mines 200 t and reports no exports (so uses them at home); BEL exports all it mines.
    by_region = baseline.demand_table.query("sector_id == 'other'").set_index("region_id")["final_t_per_yr"]
    assert by_region[by_region > 1e-3].to_dict() == {
        "AUT": pytest.approx(125.0, rel=1e-5),
        "DNK": pytest.approx(200.0, rel=1e-5),
    }


def test_residual_use_the_data_cannot_place_is_split_like_named_demand() -> None:
    # DNK's world export total (150 t of its 200 t) counts even without bilateral rows: it uses 50 t
    # at home. The fit places the 150 t no statistic gives a destination on the lanes to regions with
    # a use for ore (docs/baseyear.md): only AUT makes something from it (BEL mines ore, CHE buys
    # oxide), so AUT's final use of ore is its own 125 t + 150 t.
    flows = {("BEL", "AUT", "ore"): 100, ("AUT", "CHE", "oxide"): 30, ("DNK", "WLD", "ore"): 150}
    baseline = build_baseline(tiny_dataset(trade=flows), "m", 2024)
    other = baseline.demand_table.query("sector_id == 'other'").groupby("region_id")["final_t_per_yr"].sum()
    expected = {"AUT": 275.0, "DNK": 50.0}
    # rel 5e-5: the fit's lane prior moves DNK's 50 t by 0.9 kg here (18 ppm; see the test above)
    assert other[other > 1e-3].to_dict() == {r: pytest.approx(q, rel=5e-5) for r, q in expected.items()}


def test_ban_cuts_the_target_by_hand() -> None:
    # CHE gets all its oxide from AUT; a ban from month 3 leaves it nothing, and AUT's spare
    # capacity has nowhere else allowed to go, so CHE's lamps lose everything from March.
    tr = _run(tiny_dataset(), _scenario(export_controls=[_ban({"kind": "ban"})]))
    r, oxide = _region(tiny_dataset(), "CHE"), 1
    che = tr.demand_t[0, :, r, oxide].sum(-1), tr.served_t[0, :, r, oxide].sum(-1)
    assert che[0] == pytest.approx([2.5] * 12, rel=1e-5)  # 30 t/yr of lamps (a fit: see the baseline test)
    assert np.allclose(che[1][:2], che[0][:2])
    assert np.allclose(che[1][2:], 0.0)
    assert _balance_error(tr) < 1e-9


@examples(20)  # derandomised; --fuzz multiplies them
@random_scenarios
def test_invariants_over_random_scenarios(
    approval: float, stricter: float, stock_months: float, more_stock: float, ore_bel: float, lamps_che: float
) -> None:
    ds = tiny_with(ore_bel, lamps_che)
    stock = [{"region": "CHE", "commodity": "oxide", "months_of_demand": stock_months}]
    loose = _run(
        ds, _scenario(export_controls=[_ban({"kind": "licence", "approval_share": approval})], stockpiles=stock)
    )
    for tr in (loose,):
        assert _balance_error(tr) < 1e-6
        for name in ("production_t", "shipped_t", "unsold_t", "served_t", "stock_t", "intermediate_use_t"):
            assert getattr(tr, name).min() > -1e-9, name
        assert (tr.served_t <= tr.demand_t + 1e-9).all()
    che = _region(ds, "CHE")
    strict = _run(
        ds,
        _scenario(export_controls=[_ban({"kind": "licence", "approval_share": approval * stricter})], stockpiles=stock),
    )
    assert _target_shortfall(strict, che) >= _target_shortfall(loose, che) - 1e-6
    bigger = [{"region": "CHE", "commodity": "oxide", "months_of_demand": stock_months + more_stock}]
    larger = _run(
        ds, _scenario(export_controls=[_ban({"kind": "licence", "approval_share": approval})], stockpiles=bigger)
    )
    assert _target_shortfall(larger, che) <= _target_shortfall(loose, che) + 1e-6


def test_default_dataset_invariants_and_determinism(default: Dataset) -> None:
    controls = [
        {
            "name": "ban",
            "controller": "CHN",
            "commodities": ["ndfeb_magnet"],
            "targets": {"countries": ["USA"]},
            "instrument": {"kind": "ban"},
            "start": "2025-03",
            "end": "2025-08",
        }
    ]
    # no inventories, so the first month of the ban shows China's share of US supply at once
    scenario = Scenario.model_validate(
        {"name": "t", "start": "2025-01", "horizon_months": 24, "export_controls": controls,
         "markets": {"cover_months": 0.0}}
    )  # fmt: skip
    tr = _run(default, scenario)
    assert _balance_error(tr) < 1e-6
    baseline_run = _run(default, Scenario.model_validate({"name": "none", "start": "2025-01", "horizon_months": 6}))
    assert np.abs(baseline_run.demand_t - baseline_run.served_t).max() < 1e-6
    first, second = simulate(default, scenario), simulate(default, scenario)
    assert first.summary.equals(second.summary)
    usa = first.summary.query("region_id == 'USA' and sector_id == 'ev'").iloc[0]
    # China's part of US magnet supply: 75.3% of US HS 850511 imports by value (2024), less US
    # output; the rest (Japan, Germany, Korea, Taiwan …) keeps arriving.
    assert 60.0 < usa["peak_shortfall_pct"] < 80.0


def test_an_offtake_reserves_at_most_the_sellers_capacity() -> None:
    # One buyer using 10 t/month, sourcing half from each of two origins; a 5 t/month offtake from
    # a third. With no capacity the third reserves nothing; with 2.5 t it reserves 2.5 / 10 = 25%,
    # and the other two shares shrink to 37.5% each.
    for capacity, expected in ((0.0, [0.5, 0.5, 0.0]), (2.5, [0.375, 0.375, 0.25])):
        mix = np.array([0.5, 0.5, 0.0]).reshape(3, 1, 1)
        reserve(
            mix,
            reserved_t=np.array([[0.0], [0.0], [5.0]]),
            capacity=np.array([[10.0], [10.0], [capacity]]),
            allowed=np.ones((3, 1)),
            use=np.array([[10.0]]),
        )
        assert mix.ravel() == pytest.approx(expected)


def test_observations_over_a_window_by_hand() -> None:
    # CHE's oxide all comes from AUT; a ban from month 3 stops it. Over months 1-4 AUT's exports
    # are (30 + 30 + 0 + 0) / (4 × 30) = 0.5 of the first month's, and CHE's imports stay 100% AUT's.
    scenario = _scenario(
        export_controls=[_ban({"kind": "ban"})],
        observed=[
            {"role": "validate", "metric": "export_ratio", "commodity": "oxide", "region": "AUT", "period": "2025-01",
             "months": 4, "value": 0.5, "source": "hand"},
            {"role": "validate", "metric": "import_share", "commodity": "oxide", "region": "CHE", "origin": "AUT",
             "period": "2025-01", "months": 2, "value": 1.0, "source": "hand"},
        ],
    )  # fmt: skip
    observed = simulate(tiny_dataset(), scenario).tables["observed"].set_index("metric")["simulated"]
    assert observed["export_ratio"] == pytest.approx(0.5)
    assert observed["import_share"] == pytest.approx(1.0)


def test_a_price_floor_pays_the_gap_by_hand() -> None:
    # AUT makes 60 t/yr of oxide (5 t a month) at a market price of USD 4/kg; a USD 10/kg floor
    # on half of it costs (10 − 4) × 2.5 t × 1,000 = USD 15,000 a month, for months 3-5.
    ds = tiny_dataset()
    price = {
        "product": "oxide",
        "commodity_id": "oxide",
        "market": "spot",
        "year": 2024,
        "price_usd_per_kg": 4.0,
        **PROV,
    }
    ds = Dataset(ds.name, {**ds.tables, "prices": validate_table("prices", pd.DataFrame([price]).astype("string"))})
    floor = {"region": "AUT", "commodity": "oxide", "usd_per_kg": 10, "covered_share": 0.5, "start": "2025-03"}
    scenario = _scenario(price_floors=[{**floor, "end": "2025-05"}])
    paid = simulate(ds, scenario).tables["price_floors"].set_index("period")["payment_usd"]
    assert paid.to_dict() == {pd.Period(p, "M"): pytest.approx(15_000.0) for p in ("2025-03", "2025-04", "2025-05")}
    with pytest.raises(ScenarioError, match=r"price_floors\[0\]\.commodity: no 2024 price for 'ore'"):
        simulate(ds, _scenario(price_floors=[{**floor, "commodity": "ore"}]))


def test_projects_learn_by_wrights_law_and_a_technology_ban_halves_it() -> None:
    # DNK adds 120 t/yr of ore capacity (10 t a month, at full capacity from the first month). Its
    # output is its share of DNK's capacity times DNK's output; unit cost follows Wright's law
    # from one month at nameplate, b = −log2(1 − 0.2); AUT's technology ban halves the rate.
    project = {"name": "p", "region": "DNK", "commodity": "ore", "capacity_t_per_yr": 120, "start": "2025-01",
               "ramp_months": 1, "learning_rate": 0.2, "cost_usd": 6e6}  # fmt: skip
    ds = tiny_dataset()
    res = simulate(ds, _scenario(projects=[project]))
    months = res.tables["project_months"]
    baseline = build_baseline(ds, "m", 2024, extra_regions=["DNK"])
    dnk = baseline.net.node("DNK", "ore")
    node_capacity = baseline.capacity_t[dnk] + 10.0
    dnk_output = res.tables["production"].query("region_id == 'DNK' and commodity_id == 'ore'")["production_t"]
    assert months["output_t"].to_numpy() == pytest.approx(10.0 / node_capacity * dnk_output.to_numpy())
    cumulative = months["output_t"].cumsum().to_numpy()
    expected = np.where(cumulative > 10.0, (np.maximum(cumulative, 10.0) / 10.0) ** np.log2(0.8), 1.0)
    assert months["unit_cost_index"].to_numpy() == pytest.approx(expected)
    summary = res.tables["projects"].iloc[0]
    assert (summary["first_capacity"], summary["full_capacity"]) == (pd.Period("2025-01", "M"),) * 2
    assert summary["capex_usd_per_t_per_yr"] == pytest.approx(50_000.0)
    ban = {"name": "tech", "controller": "AUT", "commodities": ["ore"], "targets": {"countries": ["DNK"]},
           "instrument": {"kind": "technology_ban", "learning_slowdown": 0.5}, "start": "2025-01"}  # fmt: skip
    slowed = simulate(ds, _scenario(projects=[project], export_controls=[ban])).tables["projects"].iloc[0]
    assert slowed["learning_rate"] == pytest.approx(0.1)


def test_a_content_rule_reaches_products_above_its_threshold() -> None:
    # AUT's oxide is made from ore half its own, half BEL's: 50% BEL content. A BEL content rule on
    # oxide shipped to CHE blocks AUT's oxide at a 40% threshold and lets it pass at 60%.
    ds = tiny_dataset()
    baseline = build_baseline(ds, "m", 2024)
    content = controller_content(baseline, "BEL")
    assert content[list(baseline.net.regions).index("AUT"), 1] == pytest.approx(0.5)
    che = list(baseline.net.regions).index("CHE")
    for threshold, blocked in ((0.4, True), (0.6, False)):
        rule = {"kind": "content_rule", "content_threshold": threshold}
        control = _ban(rule, controller="BEL")
        tr = _run(ds, _scenario(export_controls=[control]))
        short = float((tr.demand_t - tr.served_t)[0, 3:, che].sum())
        assert (short > 1.0) == blocked


def test_monte_carlo_percentiles_are_seeded_and_collapse_to_the_run_without_spread(default: Dataset) -> None:
    control = _ban({"kind": "licence", "approval_share": 0.5})
    fixed = {"sourcing_adjustment": None, "sourcing_reversion": None, "price_scarcity_exponent": None,
             "spare_capacity_scale": [1.0, 1.0]}  # fmt: skip
    res = simulate(tiny_dataset(), _scenario(export_controls=[control], uncertainty={"draws": 3, **fixed}))
    short = res.tables["shortfall"].groupby("period")[["demand_t", "shortfall_t"]].sum()
    world = res.tables["uncertainty_world"].set_index("period")
    for column in ("shortfall_pct_p05", "shortfall_pct_p50", "shortfall_pct_p95"):
        assert world[column].to_numpy() == pytest.approx((100 * short["shortfall_t"] / short["demand_t"]).to_numpy())
    # China licenses half its magnet exports: rerouting speed and spare capacity now matter
    licence = {"name": "l", "controller": "CHN", "commodities": ["ndfeb_magnet"], "targets": {"all_but": ["CHN"]},
               "instrument": {"kind": "licence", "approval_share": 0.5}, "start": "2025-03"}  # fmt: skip
    spread = Scenario.model_validate(
        {"name": "mc", "start": "2025-01", "horizon_months": 12, "export_controls": [licence],
         "uncertainty": {"draws": 20, "seed": 7}}
    )  # fmt: skip
    first = simulate(default, spread).tables["uncertainty_world"]
    again = simulate(default, spread).tables["uncertainty_world"]
    reseeded = spread.model_copy(update={"uncertainty": spread.uncertainty.model_copy(update={"seed": 8})})
    other = simulate(default, reseeded).tables["uncertainty_world"]
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)
    assert (first["shortfall_pct_p05"] <= first["shortfall_pct_p95"] + 1e-12).all()
    assert (first["shortfall_pct_p95"] - first["shortfall_pct_p05"]).max() > 0.1
    # only spare capacity varies: no draw is short before the licence starts (month 3)
    assert first["shortfall_pct_p95"].iloc[:2].max() < 1e-9


def test_a_technology_ban_after_a_project_has_ramped_does_not_slow_it() -> None:
    project = {"name": "p", "region": "DNK", "commodity": "ore", "capacity_t_per_yr": 120, "start": "2025-01",
               "ramp_months": 2, "learning_rate": 0.2}  # fmt: skip
    ban = {"name": "tech", "controller": "AUT", "commodities": ["ore"], "targets": {"countries": ["DNK"]},
           "instrument": {"kind": "technology_ban"}}  # fmt: skip
    for start, slowed in (("2025-02", True), ("2025-06", False)):
        plan = build_plan(
            build_baseline(tiny_dataset(), "m", 2024, extra_regions=["DNK"]),
            _scenario(projects=[project], export_controls=[{**ban, "start": start}]),
            tiny_dataset(),
        )
        assert plan.project_learning_rate[0] == pytest.approx(0.1 if slowed else 0.2)
        assert plan.project_capacity_t[1, 0] == pytest.approx(10.0 * (2 / 3 if slowed else 1.0))


def test_lp_mode_skips_the_monte_carlo_with_a_note() -> None:
    res = simulate(tiny_dataset(), _scenario(uncertainty={"draws": 5}), mode="lp")
    assert res.tables["uncertainty_world"].empty
    assert "fast mode only" in res.messages[0]


@pytest.mark.parametrize("recorder", [TrajectoryRecorder, SummaryRecorder])
def test_an_allocation_that_creates_material_raises_naming_node_and_month(
    recorder: type[TrajectoryRecorder] | type[SummaryRecorder],
) -> None:
    # Serve CHE's lamps 0.5 t more oxide than arrived in April: either recorder stops the run there.
    ds = tiny_dataset()
    baseline = build_baseline(ds, "m", 2024)
    params = engine_params(1, cover_months=0.0)
    s = setup(baseline, build_plan(baseline, _scenario(), ds), 1, params, None)
    che, oxide = list(baseline.net.regions).index("CHE"), baseline.commodities.index("oxide")

    def broken(s: Setup, t: int, state: State, orders: Orders) -> Allocation:
        allocation = allocate_fast(s, t, state, orders)
        if t == 3:
            allocation.served[oxide, :, che] += 0.5 / len(baseline.sectors)
        return allocation

    run_loop(s, allocate_fast, recorder(s))  # the real step balances
    with pytest.raises(MassBalanceError, match=r"negative unused 0\.5 t at CHE oxide in 2025-04 \(draw 0\)"):
        run_loop(s, broken, recorder(s))


def test_a_licence_that_approves_nothing_keeps_the_mass_balance(default: Dataset) -> None:
    # china-2025 with the April and May licences at approval_share 0: controlled Chinese lanes carry
    # nothing, so buyers get (and are promised) next to nothing on them. Normalising that rounding
    # noise (1e-18 t) into sourcing shares made negative shares, orders and shipments: the mass
    # balance broke by 0.47 kg at ROW ree_metal_y in 2025-05 until a buyer that got next to nothing
    # kept its shares (responses._resource). Over Jan-Jun, April and May ship none of the licensed
    # Dy metal from China, and nothing anywhere is negative beyond rounding noise.
    from pathlib import Path

    from chokepoint.scenario import load_scenario
    from chokepoint.scenario.groups import resolve_groups
    from chokepoint.simulation import scenario_baseline
    from chokepoint.simulation.engine import run_scenario

    shipped = Path(__file__).resolve().parents[1] / "examples" / "scenarios" / "china-2025-licensing.yaml"
    scenario = load_scenario(shipped)
    controls = list(scenario.export_controls)
    for i, c in enumerate(controls):
        if c.name in ("licensing-april-2025", "licensing-may-2025"):
            controls[i] = c.model_copy(update={"instrument": c.instrument.model_copy(update={"approval_share": 0.0})})
    assert sum(c.instrument.approval_share == 0.0 for c in controls if c.instrument.kind == "licence") == 2
    scenario = scenario.model_copy(update={"export_controls": controls, "horizon_months": 6, "uncertainty": None})
    scenario = resolve_groups(scenario, default)
    baseline = scenario_baseline(default, scenario)
    tr = run_scenario(baseline, build_plan(baseline, scenario, default), scenario, "fast")  # checks the balance
    assert tr.shipped_t.min() > -1e-9  # rounding noise at most, not 0.47 kg
    assert tr.unused_t.min() > -1e-6
    regions, dy = list(baseline.net.regions), baseline.commodities.index("ree_metal_dy")
    chn = regions.index("CHN")
    abroad = np.delete(tr.shipped_t[0, :, dy, chn], chn, axis=-1).sum(axis=-1)  # (T,)
    assert abroad[0] > 1.0  # January: China exports Dy metal
    assert abroad[3:5] == pytest.approx([0.0, 0.0], abs=1e-9)  # April, May: the licence approves none
