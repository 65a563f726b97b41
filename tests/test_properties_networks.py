"""Engine properties over random networks of 10–14 regions and three stages (ore → oxide →
magnet, two sectors), under scenarios that use every instrument family, in both modes: mass
balance holds, nothing is negative or NaN, shortfalls lie in [0, demand]; without shocks both
modes reproduce the baseline and agree with each other.

The datasets are built like tests/tiny.py: production, trade and sector activity drawn at
random, the baseline reconciling them (Leontief production from final use).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from chokepoint.dataset import Dataset
from chokepoint.scenario import Scenario, check_scenario
from chokepoint.schema import schema, validate_table
from chokepoint.simulation import build_baseline, build_plan, run_fast
from chokepoint.simulation.engine import Trajectory, engine_rates
from chokepoint.simulation.lp import run_lp
from chokepoint.simulation.recorders import ATOL_T
from tests.fuzzing import examples
from tests.test_lp import NAMES
from tests.test_simulate import _balance_error
from tests.tiny import PROV

CODES = ("AUT", "BEL", "CHE", "DNK", "ESP", "FIN", "FRA", "GRC", "HUN", "IRL", "ITA", "NLD", "POL", "PRT")
STAGES = (("ore", "mining", 1), ("oxide", "refining", 2), ("magnet", "magnet", 3))
#: Sector → (commodity it uses, kg per unit).
SECTORS = {"lamps": ("oxide", 1.0), "motors": ("magnet", 2.0)}


def _table(name: str, rows: list[dict[str, object]]) -> pd.DataFrame:
    # no rows (no trade drawn) is an empty table with the schema's columns
    frame = pd.DataFrame(rows) if rows else pd.DataFrame(columns=schema(name).columns)
    return validate_table(name, frame.astype("string"))


def network_dataset(
    regions: list[str],
    production: dict[tuple[str, str], float],
    trade: dict[tuple[str, str, str], float],
    activity: dict[tuple[str, str], float],
) -> Dataset:
    """A three-stage dataset with the given production, trade and sector activity (year 2024)."""
    commodities = [
        {"commodity_id": k, "name": k, "material": "m", "stage": s, "stage_order": o, "quantity_basis": "t"}
        for k, s, o in STAGES
    ]
    recipes = [
        {"output_commodity_id": "oxide", "input_commodity_id": "ore", "content_t_per_t": 1, "yield_fraction": 0.8},
        {"output_commodity_id": "magnet", "input_commodity_id": "oxide", "content_t_per_t": 0.3, "yield_fraction": 0.9},
    ]
    tables = {
        "sources": [{"source_id": "s", "publisher": "p", "title": "t", "section": "x", "published_year": 2024}],
        "regions": [{"region_id": r, "name": r, "kind": "country"} for r in regions]
        + [{"region_id": "WLD", "name": "World", "kind": "aggregate"}],
        "commodities": commodities,
        "recipes": [r | PROV for r in recipes],
        "production": [
            {"region_id": r, "commodity_id": k, "year": 2024, "production_t": q, **PROV}
            for (r, k), q in production.items()
        ],
        "trade": [
            {"exporter_id": e, "importer_id": i, "commodity_id": k, "year": 2024, "quantity_t": q, **PROV}
            for (e, i, k), q in trade.items()
        ],
        "sectors": [{"sector_id": s, "name": s, "activity_unit": "units"} for s in SECTORS],
        "intensities": [
            {"sector_id": s, "commodity_id": k, "intensity_kg_per_unit": kg, **PROV} for s, (k, kg) in SECTORS.items()
        ],
        "sector_activity": [
            {"region_id": r, "sector_id": s, "year": 2024, "activity": a, **PROV} for (r, s), a in activity.items()
        ],
    }
    return Dataset("net", {name: _table(name, rows) for name, rows in tables.items()})


@st.composite
def networks(draw: st.DrawFn) -> tuple[Dataset, list[str]]:
    """A random network: every region mines, some refine and make magnets, trade between them."""
    regions = list(CODES[: draw(st.integers(10, len(CODES)))])
    amount = st.floats(10.0, 1000.0)
    refiners = draw(st.lists(st.sampled_from(regions), min_size=2, max_size=4, unique=True))
    makers = draw(st.lists(st.sampled_from(regions), min_size=2, max_size=4, unique=True))
    production = {(r, "ore"): draw(amount) for r in regions}
    production |= {(r, "oxide"): draw(amount) / 2 for r in refiners}
    production |= {(r, "magnet"): draw(amount) / 10 for r in makers}
    trade: dict[tuple[str, str, str], float] = {}
    for commodity, sellers in (("ore", regions), ("oxide", refiners), ("magnet", makers)):
        for seller in sellers:
            buyers = draw(st.lists(st.sampled_from(regions), max_size=3, unique=True))
            for buyer in (b for b in buyers if b != seller):
                trade[(seller, buyer, commodity)] = production[(seller, commodity)] * draw(st.floats(0.05, 0.3))
    activity = {(r, s): draw(st.floats(1_000.0, 50_000.0)) for r in regions for s in SECTORS if draw(st.booleans())}
    activity |= {("WLD", s): sum(a for (r, t), a in activity.items() if t == s) * 1.2 + 1000 for s in SECTORS}
    return network_dataset(regions, production, trade, activity), regions


def _month(i: int) -> str:
    return f"2025-{i + 1:02d}"


@st.composite
def every_instrument(draw: st.DrawFn, regions: list[str]) -> dict[str, Any]:
    """A 12-month scenario using every instrument family on the network's ``regions``."""
    r = draw(st.permutations(regions))
    share, month = st.floats(0.0, 1.0), st.integers(0, 11).map(_month)
    start = draw(month)

    def control(controller: str, commodity: str, instrument: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "name": f"{instrument['kind']}-{controller}",
            "controller": controller,
            "commodities": [commodity],
            "targets": {"countries": [r[1], r[2]]} if draw(st.booleans()) else {"all_but": [controller]},
            "instrument": instrument,
            "start": start,
            **extra,
        }

    controls = [
        control(
            r[0],
            "oxide",
            {"kind": "licence", "approval_share": draw(share), "processing_delay_months": draw(st.integers(0, 3))}
            | {"excluded_sectors": ["lamps"]},
            leakage=[{"via": r[3], "share": draw(st.floats(0.0, 0.5))}],
        ),
        control(r[1], "magnet", {"kind": "ban"}, end=_month(11)),
        control(r[2], "ore", {"kind": "quota", "quota_t_per_yr": draw(st.floats(0.0, 500.0))}),
        control(r[0], "magnet", {"kind": "content_rule", "content_threshold": draw(share)}),
        control(r[0], "ore", {"kind": "technology_ban"}),
    ]
    return {
        "name": "every",
        "material": "m",
        "start": "2025-01",
        "horizon_months": 12,
        "export_controls": controls,
        "disruptions": [{"name": "d", "region": r[4], "commodity": "ore", "share": draw(share), "start": draw(month)}],
        "demand": [{"sector": "motors", "multipliers": {2024: 1.0, 2025: draw(st.floats(0.5, 2.0))}}],
        "stockpiles": [{"region": r[1], "commodity": "oxide", "months_of_demand": draw(st.floats(0.0, 6.0))}],
        "projects": [
            {"name": "p", "region": r[5], "commodity": "oxide", "capacity_t_per_yr": 50.0, "start": start}
            | {"ramp_months": draw(st.integers(0, 6))}
        ],
        "recycling": [
            {"region": r[2], "commodity": "magnet", "collection_rate": draw(share), "recovery_rate": 0.9}
            | {"start": start}
        ],
        "substitution": [
            {"name": "s", "sector": "motors", "commodity": "magnet", "price_elasticity": -0.2, "ceiling": 0.3}
        ],
        "offtakes": [
            {"buyer": r[6], "seller": r[7], "commodity": "oxide", "quantity_t_per_yr": draw(st.floats(0, 50))}
            | {"start": start}
        ],
        "priorities": {"motors": 2.0, "lamps": 1.0},
        "markets": {
            "cover_months": draw(st.floats(0.0, 4.0)),
            "hoarding": draw(st.floats(0.0, 3.0)),
            "restock_months": draw(st.floats(1.0, 6.0)),
            "expectation_months": draw(st.floats(1.0, 12.0)),
        },
    }


def _run(ds: Dataset, raw: dict[str, Any], mode: str) -> tuple[Trajectory, Any]:
    scenario = Scenario.model_validate(raw)
    check_scenario(scenario, ds)
    baseline = build_baseline(ds, "m", 2024, scenario.capacity_utilisation)
    plan = build_plan(baseline, scenario, ds)
    engine = run_fast if mode == "fast" else run_lp
    return engine(baseline, plan, **engine_rates(scenario)), baseline


def _check(tr: Trajectory) -> None:
    scale = max(1.0, float(tr.production_t.max()))
    for name in (*NAMES, "demand_t", "intermediate_use_t", "stock_build_t", "price_index"):
        assert np.isfinite(getattr(tr, name)).all(), name
    assert _balance_error(tr) < 1e-7 * scale
    # plus the engine's gram (recorders.ATOL_T): HiGHS holds rows to its 1e-7 t feasibility tolerance
    for name in NAMES:
        assert getattr(tr, name).min() > -(1e-9 * scale + ATOL_T), name
    short = tr.demand_t - tr.served_t
    assert short.min() > -(1e-9 * scale + ATOL_T)  # a shortfall lies in [0, demand]
    assert (short <= tr.demand_t + 1e-12).all()


@examples(15)
@given(data=st.data())
def test_every_instrument_keeps_the_invariants_in_fast_mode(data: st.DataObject) -> None:
    ds, regions = data.draw(networks())
    tr, _ = _run(ds, data.draw(every_instrument(regions)), "fast")
    _check(tr)


@examples(8)
@given(data=st.data())
def test_every_instrument_keeps_the_invariants_in_lp_mode(data: st.DataObject) -> None:
    ds, regions = data.draw(networks())
    tr, _ = _run(ds, data.draw(every_instrument(regions)), "lp")
    _check(tr)


@examples(6)
@given(network=networks())
def test_without_shocks_both_modes_reproduce_the_baseline(network: tuple[Dataset, list[str]]) -> None:
    ds, _ = network
    raw = {"name": "none", "material": "m", "start": "2025-01", "horizon_months": 6}
    fast, baseline = _run(ds, raw, "fast")
    lp, _ = _run(ds, raw, "lp")
    for tr in (fast, lp):
        _check(tr)
        assert np.abs(tr.demand_t - tr.served_t).max() < 1e-9 * max(1.0, float(tr.demand_t.max()))
        assert np.allclose(tr.production_t[0], baseline.production_t.reshape(tr.production_t.shape[2:])[None])
    # A gram of slack (ATOL_T) on top of rtol: the LP holds its rows only to HiGHS's 1e-7 t
    # feasibility tolerance (a random network showed 1.05e-8 t on an 82 t lane).
    assert np.allclose(fast.shipped_t, lp.shipped_t, rtol=1e-9, atol=ATOL_T)
    assert np.allclose(fast.price_index, lp.price_index)
