"""A cutoff's cost from the simulation's shortfalls valued by sector, checked by hand on the tiny
dataset (AUT makes all 60 t of oxide and ships 30 t to CHE, whose lamps use 1 kg each)."""

from __future__ import annotations

import pandas as pd
import pytest

from chokepoint.dataset import Dataset
from chokepoint.leverage import Pathway, load_dependences, run_pathway
from chokepoint.leverage.cutoff import CutoffError, loss_curve, simulated_cutoff, unit_values
from chokepoint.schema import validate_table
from tests.tiny import PROV, tiny_dataset

#: The base year is now a reconciliation fit (docs/baseyear.md) whose lane prior (p = 0.01) pulls
#: the tiny dataset's exact 30 t lane ~2e-6 below 30 (29.99996 t); hand figures hold to this.
FIT = 1e-5


def _valued(values: dict[tuple[str, int], float], material: str = "m") -> Dataset:
    """The tiny dataset with lamp unit values per (region, year) and its commodities' material."""
    ds = tiny_dataset()
    rows = [
        {"region_id": r, "sector_id": "lamps", "year": y, "unit_value_usd": v, **PROV} for (r, y), v in values.items()
    ]
    commodities = ds["commodities"].assign(material=material)
    tables = {
        **ds.tables,
        "commodities": commodities,
        "sector_values": validate_table("sector_values", pd.DataFrame(rows).astype("string")),
    }
    return Dataset(ds.name, tables)


def test_a_complete_cutoff_stops_the_targets_whole_supply() -> None:
    # CHE's 30 t a year all come from AUT, the only oxide maker: a year's ban leaves it 30 t short
    # less the 2 months (5 t) of inventory its buyers hold (the engine's default cover): 25 t,
    # 25,000 lamps not made at USD 5 each.
    out = simulated_cutoff(_valued({("WLD", 2024): 5.0}), "AUT", "CHE", 1.0, 2024, 12, material="m")
    row = out.set_index(["sector_id", "commodity_id"]).loc[("lamps", "oxide")]
    assert row["shortfall_t"] == pytest.approx(25.0, rel=FIT)
    assert row["units_lost"] == pytest.approx(25_000, rel=FIT)
    assert row["value_lost_usd"] == pytest.approx(125_000, rel=FIT)
    assert row["valued_at"] == "sector output"


def test_the_targets_own_value_wins_over_the_worlds() -> None:
    ds = _valued({("WLD", 2024): 5.0, ("CHE", 2023): 8.0})
    out = simulated_cutoff(ds, "AUT", "CHE", 1.0, 2024, 12, material="m")
    assert out["value_lost_usd"].sum() == pytest.approx(25_000 * 8.0, rel=FIT)


def test_unit_values_take_the_nearest_year_at_or_before() -> None:
    ds = _valued({("WLD", 2020): 1.0, ("WLD", 2023): 2.0, ("WLD", 2026): 3.0})
    assert unit_values(ds, 2024)["lamps"] == 2.0
    assert unit_values(ds, 2026)["lamps"] == 3.0
    assert unit_values(ds, 2019)["lamps"] == 1.0  # nothing earlier: the earliest later one


def test_loss_grows_with_coverage() -> None:
    # Licences for half the flow lose less than half of a ban's 125,000 (nobody else makes oxide):
    # CHE draws its inventory and, expecting a shortage, orders more, of which half is approved.
    curve = loss_curve(_valued({("WLD", 2024): 5.0}), "AUT", "CHE", 2024, coverages=(0.0, 0.5, 1.0), material="m")
    assert curve[0.0] == 0.0
    assert curve[1.0] == pytest.approx(125_000, rel=FIT)
    assert 0.0 < curve[0.5] < 62_500


def test_an_unknown_region_is_one_line() -> None:
    with pytest.raises(CutoffError, match="target 'USA' is not a region of the 2024 m network") as info:
        simulated_cutoff(_valued({("WLD", 2024): 5.0}), "AUT", "USA", material="m")
    assert "\n" not in str(info.value)


def test_the_leverage_model_takes_the_rare_earth_cost_from_the_simulation() -> None:
    # AUT → CHE rare earths with d₀ = 0.5: Y = loss of a year's complete cutoff / d₀ = 125,000 / 0.5,
    # so leverage L₀ = Y·d₀·(1 − λ) = 125,000 × 0.8; a half control costs CHE (1 − λ) times the
    # simulated loss of licences for half the flow.
    ds = _valued({("WLD", 2024): 5.0}, material="rare_earths")
    metrics = {
        "dependence_share": 0.5,
        "controller_revenue_usd": 1.0,
        "market_ceded_share": 0.0,
        "leakage_share": 0.2,
        "substitution_years": 10.0,
    }
    assumptions = [
        {"controller": "AUT", "target": "CHE", "domain": "rare_earths", "metric": m, "value": v, "rationale": "test"}
        for m, v in metrics.items()
    ]
    control = {"controller": "AUT", "target": "CHE", "domain": "rare_earths", "coverage": 0.5, "start": 2025}
    pathway = Pathway.model_validate(
        {"name": "p", "horizon_years": 2, "assumptions": assumptions, "controls": [control]}
    )
    (dep,) = load_dependences(ds, pathway)
    assert dep.downstream_output_usd == pytest.approx(250_000, rel=FIT)
    first = run_pathway(ds, pathway, "AUT", "CHE")["domains"].iloc[0]
    assert first["leverage_usd"] == pytest.approx(100_000, rel=FIT)
    half = loss_curve(ds, "AUT", "CHE", 2024, coverages=(0.0, 0.5, 1.0))[0.5]
    assert first["cost_to_target_usd"] == pytest.approx(0.8 * half, rel=FIT)
