"""Elements as flows: a control on named elements acts on exactly the commodities that contain them.

The hand-checkable case: CHN mines 100 t of ore and makes lanthanum oxide, dysprosium oxide and a
Dy-bearing magnet; the USA makes nothing and imports 30 t/yr of La oxide (lamps, 1 kg a lamp)
and 12 t/yr of magnets (motors, 1 kg a motor). A Dy ban from April stops the magnets — the USA's
motors lose all 1 t a month for the nine months left — and leaves lamps untouched: the La oxide
shortfall is exactly 0. The same for gallium next to indium.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from chokepoint.baseyear import reconcile
from chokepoint.baseyear.residuals import residual_table
from chokepoint.dataset import Dataset
from chokepoint.dataset.groups import covered_commodities, group_members
from chokepoint.scenario import Scenario, ScenarioError, check_scenario
from chokepoint.scenario.groups import resolve_groups
from chokepoint.schema import validate_table
from chokepoint.simulation import build_baseline, build_plan, simulate
from tests.tiny import PROV

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "scenarios"
#: The reconciled base year reproduces consistent hand figures to ~5e-6 (a numerical fit).
FIT = 1e-5


def _table(name: str, rows: list[dict[str, object]]) -> pd.DataFrame:
    return validate_table(name, pd.DataFrame(rows).astype("string"))


def _commodity(k: str, stage: str, order: int, elements: str, group: str = "") -> dict[str, object]:
    return {
        "commodity_id": k,
        "name": k,
        "material": "m",
        "stage": stage,
        "stage_order": order,
        "quantity_basis": "t",
        "product_group": group or k,
        "elements": elements,
    }


def element_dataset() -> Dataset:
    """The module's tiny case. CHN's oxide output is filed under the group ``oxide`` (70 t),
    split 6:1 into La and Dy oxide by ``group_shares``."""
    sectors = {"lamps": "oxide_la", "motors": "magnet"}
    return Dataset(
        "elements",
        {
            "sources": _table(
                "sources", [{"source_id": "s", "publisher": "p", "title": "t", "section": "x", "published_year": 2024}]
            ),
            "regions": _table(
                "regions",
                [{"region_id": r, "name": r, "kind": "country"} for r in ("CHN", "USA")]
                + [{"region_id": "WLD", "name": "World", "kind": "aggregate"}],
            ),
            "commodities": _table(
                "commodities",
                [
                    _commodity("ore", "mining", 1, "La Dy"),
                    _commodity("oxide_la", "refining", 2, "La", "oxide"),
                    _commodity("oxide_dy", "refining", 2, "Dy", "oxide"),
                    _commodity("magnet", "magnet", 4, "Nd Dy"),
                ],
            ),
            "recipes": _table(
                "recipes",
                [
                    {
                        "output_commodity_id": o,
                        "input_commodity_id": i,
                        "content_t_per_t": c,
                        "yield_fraction": 1,
                        **PROV,
                    }
                    for o, i, c in (("oxide_la", "ore", 1), ("oxide_dy", "ore", 1), ("magnet", "oxide_dy", 0.1))
                ],
            ),
            "group_shares": _table(
                "group_shares",
                [
                    {"product_group": "oxide", "commodity_id": k, "region_id": "WLD", "share": s, **PROV}
                    for k, s in (("oxide_la", 6 / 7), ("oxide_dy", 1 / 7))
                ],
            ),
            "production": _table(
                "production",
                [
                    {"region_id": "CHN", "commodity_id": k, "year": 2024, "production_t": q, **PROV}
                    for k, q in (("ore", 100), ("oxide", 70), ("magnet", 50))
                ],
            ),
            "trade": _table(
                "trade",
                [
                    {
                        "exporter_id": "CHN",
                        "importer_id": "USA",
                        "commodity_id": k,
                        "year": 2024,
                        "quantity_t": q,
                        **PROV,
                    }
                    for k, q in (("oxide_la", 30), ("magnet", 12))
                ],
            ),
            "sectors": _table("sectors", [{"sector_id": s, "name": s, "activity_unit": "units"} for s in sectors]),
            "intensities": _table(
                "intensities",
                [{"sector_id": s, "commodity_id": k, "intensity_kg_per_unit": 1, **PROV} for s, k in sectors.items()],
            ),
            "sector_activity": _table(
                "sector_activity",
                [
                    {"region_id": r, "sector_id": s, "year": 2024, "activity": a, **PROV}
                    for r, s, a in (("USA", "lamps", 30_000), ("USA", "motors", 12_000))
                ]
                + [
                    {"region_id": "WLD", "sector_id": s, "year": 2024, "activity": a, **PROV}
                    for s, a in (("lamps", 60_000), ("motors", 50_000))
                ],
            ),
        },
    )


def _ban(commodities: list[str], elements: list[str], held_whole: tuple[str, ...] = ()) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "element-ban",
            "material": "m",
            "start": "2025-01",
            "horizon_months": 12,
            "markets": {"cover_months": 0.0},  # no inventories: the hand figures are the ban's alone
            "export_controls": [
                {
                    "name": "ban",
                    "controller": "CHN",
                    "commodities": commodities,
                    "elements": elements,
                    "held_whole": list(held_whole),
                    "targets": {"countries": ["USA"]},
                    "instrument": {"kind": "ban"},
                    "start": "2025-04",
                }
            ],
        }
    )


def _shortfall(ds: Dataset, scenario: Scenario) -> pd.Series:
    summary = simulate(ds, scenario).tables["summary"]
    return summary.set_index(["region_id", "sector_id"])["cumulative_shortfall_t"]


def test_a_group_row_is_a_target_on_its_members_divided_by_group_shares() -> None:
    ds = element_dataset()
    assert set(ds["production"]["commodity_id"]) == {"ore", "oxide", "magnet"}  # rows stay as filed
    by = reconcile(ds, "m", 2024)
    x = pd.DataFrame(by.production_t, index=by.regions, columns=by.commodities)
    # 70 t of oxide, 6:1 (group_shares): 60 t La oxide, 10 t Dy oxide (consistent: exact up to the
    # solver's tolerance on targets weighted 0.01, the member weight).
    assert x.loc["CHN", "oxide_la"] == pytest.approx(60.0, rel=1e-4)
    assert x.loc["CHN", "oxide_dy"] == pytest.approx(10.0, rel=1e-4)
    table = residual_table(by).set_index("target_id")
    assert table.loc["production:CHN:oxide:s", "reconciled"] == pytest.approx(70.0, rel=1e-5)
    member = table[table["kind"] == "member_production"]
    assert set(member["commodity_id"]) == {"oxide_la", "oxide_dy"}
    assert (member["basis"] == "derived").all()


def test_a_dy_control_stops_dy_products_and_leaves_la_untouched_by_hand() -> None:
    ds = element_dataset()
    short = _shortfall(ds, _ban(["oxide", "magnet"], ["Dy"]))
    # April to December: 9 months of the USA's 12 t/yr of magnets, none of them made elsewhere.
    assert short[("USA", "motors")] == pytest.approx(9 * 12 / 12, rel=FIT)
    assert short[("USA", "lamps")] == 0.0  # La oxide final use: exactly no shortfall
    # A control on La instead stops the lamps' oxide and leaves the Dy magnet alone.
    la = _shortfall(ds, _ban(["oxide", "magnet"], ["la"]))
    assert la[("USA", "lamps")] == pytest.approx(9 * 30 / 12, rel=FIT)
    assert la[("USA", "motors")] == pytest.approx(0.0, abs=1e-9)  # float noise of the fitted base


def test_a_group_held_whole_stops_its_uncovered_members_too() -> None:
    # Customs clearing the oxide group under one code hold La oxide with the Dy oxide: the lamps
    # lose their 30 t/yr for the same nine months; the magnet (not held whole, no Dy listed) is
    # still stopped only because it contains Dy.
    ds = element_dataset()
    short = _shortfall(ds, _ban(["oxide", "magnet"], ["Dy"], held_whole=("oxide",)))
    assert short[("USA", "lamps")] == pytest.approx(9 * 30 / 12, rel=FIT)
    assert short[("USA", "motors")] == pytest.approx(9 * 12 / 12, rel=FIT)
    # A group none of whose members is covered is not held: a La control leaves the magnet alone.
    la = _shortfall(ds, _ban(["oxide", "magnet"], ["La"], held_whole=("oxide",)))
    assert la[("USA", "motors")] == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ScenarioError, match=r"held_whole: 'magnet' is not a product group among"):
        check_scenario(_ban(["oxide", "magnet"], ["Dy"], held_whole=("magnet",)), ds)


def gallium_dataset() -> Dataset:
    """Gallium and indium, both from CHN; the USA imports 12 t/yr of each."""
    uses = {"chips": "gallium", "solar": "indium"}

    def com(k: str, symbol: str) -> dict[str, object]:
        return {**_commodity(k, "refining", 2, symbol), "material": "minor"}

    return Dataset(
        "gallium",
        {
            "sources": _table(
                "sources", [{"source_id": "s", "publisher": "p", "title": "t", "section": "x", "published_year": 2024}]
            ),
            "regions": _table(
                "regions",
                [{"region_id": r, "name": r, "kind": "country"} for r in ("CHN", "USA")]
                + [{"region_id": "WLD", "name": "World", "kind": "aggregate"}],
            ),
            "commodities": _table("commodities", [com("gallium", "Ga"), com("indium", "In")]),
            "production": _table(
                "production",
                [
                    {"region_id": "CHN", "commodity_id": k, "year": 2024, "production_t": 24, **PROV}
                    for k in uses.values()
                ],
            ),
            "trade": _table(
                "trade",
                [
                    {
                        "exporter_id": "CHN",
                        "importer_id": "USA",
                        "commodity_id": k,
                        "year": 2024,
                        "quantity_t": 12,
                        **PROV,
                    }
                    for k in uses.values()
                ],
            ),
            "sectors": _table("sectors", [{"sector_id": s, "name": s, "activity_unit": "units"} for s in uses]),
            "intensities": _table(
                "intensities",
                [{"sector_id": s, "commodity_id": k, "intensity_kg_per_unit": 1, **PROV} for s, k in uses.items()],
            ),
            "sector_activity": _table(
                "sector_activity",
                [
                    {"region_id": r, "sector_id": s, "year": 2024, "activity": a, **PROV}
                    for r, a in (("USA", 12_000), ("CHN", 12_000), ("WLD", 24_000))
                    for s in uses
                ],
            ),
        },
    )


def test_a_gallium_control_acts_on_gallium_only() -> None:
    scenario = _ban(["gallium", "indium"], ["Ga"]).model_copy(update={"material": "minor"})
    short = _shortfall(gallium_dataset(), scenario)
    assert short[("USA", "chips")] == pytest.approx(9.0, rel=FIT)  # 9 months x 1 t
    assert short[("USA", "solar")] == 0.0


def test_unknown_element_symbols_are_refused_with_a_suggestion() -> None:
    with pytest.raises(ScenarioError, match=r"unknown element symbol 'Dz'.*did you mean"):
        check_scenario(_ban(["oxide"], ["Dz"]), element_dataset())
    check_scenario(_ban(["oxide"], ["dy", "GA"]), element_dataset())  # any case is fine


def test_group_codes_resolve_to_members_with_quantities_split_by_shares() -> None:
    ds = element_dataset()
    data = _ban(["oxide"], []).model_dump(mode="json")
    scenario = Scenario.model_validate({**data, "stockpiles": [{"region": "USA", "commodity": "oxide", "stock_t": 70}]})
    resolved = resolve_groups(scenario, ds)
    assert resolved.export_controls[0].commodities == ["oxide_la", "oxide_dy"]
    stocks = {s.commodity: s.stock_t for s in resolved.stockpiles}
    assert stocks == pytest.approx({"oxide_la": 60.0, "oxide_dy": 10.0})
    assert group_members(ds["commodities"])["oxide"] == ("oxide_la", "oxide_dy")


def test_china_2025_licences_act_through_elements(default: Dataset) -> None:
    """The April 2025 list (Sm, Gd, Tb, Dy, Lu, Sc, Y) and the October 2025 round (Ho, Er, Tm, Eu,
    Yb, suspended before it took effect: added here as the variant the scenario describes) cover
    exactly the oxides, metals and magnets containing their elements, never La, Ce, Nd or Pr."""
    scenario = Scenario.from_yaml(EXAMPLES / "china-2025-licensing.yaml").model_copy(
        update={"horizon_months": 12, "uncertainty": None}
    )
    april = next(c for c in scenario.export_controls if c.name == "licensing-april-2025")
    october = april.model_copy(
        update={
            "name": "licensing-october-2025",
            "elements": ["Ho", "Er", "Tm", "Eu", "Yb"],
            "start": scenario.start.model_validate({"year": 2025, "month": 10}),
            "end": None,
        }
    )
    com = default["commodities"]
    for control, elements in (
        (april, {"Sm", "Gd", "Tb", "Dy", "Lu", "Sc", "Y"}),
        (october, {"Ho", "Er", "Tm", "Eu", "Yb"}),
    ):
        covered = covered_commodities(com, control.elements) & set(
            com.loc[com["material"] == "rare_earths", "commodity_id"]
        )
        oxides = {k for k in covered if k.startswith("ree_oxide_")}
        assert oxides == {f"ree_oxide_{e.lower()}" for e in elements}
        assert not covered & {"ree_oxide_la", "ree_oxide_ce", "ree_oxide_nd", "ree_oxide_pr", "ndfeb_sintered"}
    assert {"ndfeb_sintered_hre", "smco_magnet"} <= covered_commodities(com, april.elements)
    # In the plan: China's April exports of Dy oxide and Dy/Tb magnets are under control, La oxide's not.
    resolved = resolve_groups(scenario, default)
    baseline = build_baseline(default, "rare_earths", 2024)
    plan = build_plan(baseline, resolved, default)
    net, chn = baseline.net, list(baseline.net.regions).index("CHN")
    april_month = 3
    controlled = {k: plan.controlled_origin[april_month, net.commodity_position[k], chn].max() for k in net.commodities}
    assert controlled["ree_oxide_dy"] == 1.0
    assert controlled["ndfeb_sintered_hre"] == 1.0
    assert controlled["smco_magnet"] == 1.0
    assert controlled["ree_oxide_la"] == 0.0
    # Magnets are held whole (one customs code for every grade), so the plain grade waits too
    assert controlled["ndfeb_sintered"] == 1.0 == controlled["ndfeb_bonded"]
