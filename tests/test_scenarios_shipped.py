"""The shipped example scenarios run, and their calibrated numbers hold (docs/backtest.md)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import pytest

import chokepoint as cp
from chokepoint.dataset.groups import group_members
from chokepoint.scenario import load_scenario
from chokepoint.scenario.groups import resolve_groups
from chokepoint.simulation import Run, build_baseline, build_plan, simulate
from chokepoint.simulation.engine import run_scenario
from tests.test_story import check_headline

SCENARIOS = Path(__file__).resolve().parents[1] / "examples" / "scenarios"
NAMES = [
    "china-2025-licensing",
    "myanmar-disruption",
    "us-mp-materials",
    "japan-2010",
    "gallium-2023",
    "germanium-2023",
]
#: Every magnet type the statistics report as HS 850511 (sintered grades, bonded NdFeB, SmCo).
MAGNETS = group_members(cp.default_dataset()["commodities"])["ndfeb_magnet"]


@cache
def _run(name: str) -> Run:
    # without the Monte Carlo (tests/test_simulate.py checks it): these tests read one trajectory
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    return simulate(cp.default_dataset(), scenario.model_copy(update={"uncertainty": None}))


def _chn_magnet_exports(res: Run) -> pd.Series:
    """China's NdFeB magnet exports to all other regions per month, as a share of the first month."""
    f = res.tables["flows"]
    f = f[f["commodity_id"].isin(MAGNETS) & (f["exporter_id"] == "CHN") & (f["importer_id"] != "CHN")]
    periods = res.tables["prices"]["period"].unique()
    by_month = f.groupby("period")["flow_t"].sum().reindex(periods).fillna(0.0)
    return by_month / by_month.iloc[0]


def _shortfall_pct(res: Run, region: str | None = None, sector: str | None = None) -> pd.Series:
    s = res.tables["shortfall"]
    if region is not None:
        s = s[s["region_id"] == region]
    if sector is not None:
        s = s[s["sector_id"] == sector]
    g = s.groupby("period")[["demand_t", "shortfall_t"]].sum()
    return 100.0 * g["shortfall_t"] / g["demand_t"]


@pytest.mark.parametrize("name", NAMES)
def test_scenario_has_no_shortfall_before_its_first_shock(name: str) -> None:
    res = _run(name)
    first_shock = {
        "china-2025-licensing": "2025-04",
        "myanmar-disruption": "2024-10",
        # the offtake of US metal for MP's magnet line from January takes the small US metal lane
        # the base-year fit placed to Japan (0.03% world shortfall in Feb-Mar)
        "us-mp-materials": "2025-01",
        "japan-2010": "2010-09",  # the halt to Japan (the 2010 quota did not bind)
        "gallium-2023": "2023-08",  # MOFCOM/GAC Announcement No. 23: licences from 1 Aug 2023
        "germanium-2023": "2023-08",  # the same announcement
    }[name]
    before = _shortfall_pct(res)
    assert (before[before.index < first_shock] < 1e-6).all()


def test_china_2025_magnet_exports_are_calibrated() -> None:
    # Observed China NdFeB exports / 2024 monthly average (4,783 t): April 2,628 t = 0.550,
    # May 1,238 t = 0.259 (-74% y/y, automotiveworld.com). The licences act through elements, and
    # customs held every magnet grade under the one tariff code (held_whole): the fitted approval
    # shares meet both months.
    exports = _chn_magnet_exports(_run("china-2025-licensing"))
    assert exports["2025-04"] == pytest.approx(0.549, abs=0.002)
    assert exports["2025-05"] == pytest.approx(0.259, abs=0.002)
    assert exports["2025-06"] == pytest.approx(0.667, abs=0.002)
    assert exports["2025-07"] == pytest.approx(1.166, abs=0.002)
    # Aug-Oct 2025 observed 1.29 / 1.21 / 1.14 (validate): buyers rebuild the inventories they ran
    # down, so exports overshoot; record the simulated values so a change in the engine shows.
    assert exports[["2025-08", "2025-09", "2025-10"]].tolist() == pytest.approx([1.181, 1.143, 1.098], abs=0.01)


def test_china_2025_inventories_carry_magnet_users_and_the_held_metals_do_not() -> None:
    res = _run("china-2025-licensing")
    # Two months of buyers' inventory carry every magnet user outside China through April-July
    short = res.tables["shortfall"]
    magnets = short[short["commodity_id"].isin(MAGNETS)]
    assert magnets["shortfall_t"].sum() < 1e-6
    assert (_shortfall_pct(res, "EU27", "ev") < 1e-6).all()
    # ... but the heavy rare-earth oxides and metals held from August (the approval fitted to
    # November's yttrium price) leave their users outside China short from September 2025.
    row = res.summary.query("region_id == 'ROW' and sector_id == 'other'").iloc[0]
    assert row["peak_shortfall_pct"] == pytest.approx(3.34, abs=0.05)
    assert str(row["first_short"]) == "2025-09"


def test_myanmar_disruption_shortens_the_heavy_rare_earths_china_cannot_mine() -> None:
    res = _run("myanmar-disruption")
    world = _shortfall_pct(res)
    # The ionic clays' elements run short while Myanmar is shut (Oct 2024 - Sep 2025): China's spare
    # hard-rock mining cannot replace them. Buyers' inventories at every stage (concentrate, oxide,
    # metal, magnet: two months each) bridge the first six months; the world is 0.55% short at most
    # from April to September 2025 and not after.
    assert world[:"2025-03"].max() < 1e-6
    assert world["2025-04":"2025-09"].max() == pytest.approx(0.55, abs=0.05)
    assert world["2025-10":].max() < 1e-6
    price = res.tables["prices"].pivot(index="period", columns="commodity_id", values="price_index")
    assert price["ree_concentrate_ionic"].max() > 40 * price["ree_concentrate_hardrock"].max() / 1.04
    # prices fall back as the inventories are rebuilt, within 1% of base by October 2027
    assert (price.loc["2027-10":] - 1.0).abs().max().max() < 0.01


def test_us_defence_is_served_by_uncontrolled_magnet_makers() -> None:
    # Defence users get no Chinese licences, but on the reconciled base a quarter of US magnet
    # imports come from Japan, Germany, Korea, Taiwan and others (US customs, by value): the
    # F-35 proxy's 0.9 t/yr is served from them from the first licensing month on.
    res = _run("us-mp-materials")
    defence = _shortfall_pct(res, "USA", "defence")
    assert defence["2025-04":].max() < 1e-6


@pytest.mark.xfail(
    strict=True,
    reason="element base, measured: Japan 30.8% short in Sep-Oct 2010 (the stockpile no longer covers "
    "it), 50.5% in Nov, 5.0% in Dec, 19.9% Jan 2011, 15.7% Jul 2014; some element's price index hits "
    "exp(11) (a commodity 100% short): not yet re-calibrated on the element base (docs/backtest.md)",
)
def test_japan_2010_on_the_2010_base() -> None:
    res = _run("japan-2010")
    japan = _shortfall_pct(res, "JPN")
    # The 60-day stockpile covers September and October; Japan runs short in November, once it is
    # spent, and less in December, as its buyers return to China when the halt ends.
    assert japan[["2010-09", "2010-10"]].max() < 0.1  # the stockpile covers all but 0.06%
    assert japan["2010-11"] == pytest.approx(19.9, abs=1.0)
    assert japan["2010-12"] == pytest.approx(7.3, abs=1.0)
    # the 2011-2014 quotas keep Japan 14-22% short (less as Lynas ramps); none after they end
    assert japan["2011-01"] == pytest.approx(22.4, abs=1.0)
    assert japan["2014-07"] == pytest.approx(14.3, abs=1.0)
    assert japan["2015-06":].max() < 1e-6
    price = res.tables["prices"].pivot(index="period", columns="commodity_id", values="price_index")["ree_oxide"]
    assert price["2010-11"] == pytest.approx(2.76, abs=0.1)
    assert price["2011-06"] == pytest.approx(5.51, abs=0.1)
    assert price["2015-06"] == pytest.approx(1.0, abs=1e-6)


def test_us_magnets_come_from_mp_once_10x_runs() -> None:
    # The DoD offtake reserves 10X's output for US buyers from 2028-01 (9,000 t/yr = 750 t/month).
    f = _run("us-mp-materials").tables["flows"]
    us = f[f["commodity_id"].isin(MAGNETS) & (f["importer_id"] == "USA")]
    by = us.pivot_table(index="period", columns="exporter_id", values="flow_t", aggfunc="sum").fillna(0.0)
    assert by.loc["2027-12", "USA"] < 50.0  # 29 t: MP Independence's output goes to US buyers that are short
    assert by.loc["2030-01", "USA"] > 500.0
    assert by.loc["2030-01", "CHN"] < by.loc["2027-12", "CHN"] / 2


def test_the_ndpr_price_floor_costs_the_dod_the_gap_to_the_market() -> None:
    # USD 110/kg against the 2024 NdPr price of USD 55/kg x the oxide index on MP's Nd oxide (the
    # element base puts 87 t a month of it under the floor): about USD 58 m a year.
    floors = _run("us-mp-materials").tables["price_floors"]
    paid = floors.assign(year=floors["period"].dt.year).groupby("year")["payment_usd"].sum()
    assert paid[2026] == pytest.approx(57.7e6, rel=0.02)  # 87 t/month of MP's Nd oxide at USD 55/kg below
    assert list(paid.index[[0, -1]]) == [2025, 2034]


def _chinas_exports(name: str, commodity: str, exports_2022_t: float) -> tuple[pd.Series, pd.DataFrame]:
    """China's monthly exports of ``commodity`` in the shipped run ``name`` over the 2022 monthly
    mean (the first simulated month is that mean by construction, checked), and its export flows."""
    f = _run(name).tables["flows"]
    f = f[(f["commodity_id"] == commodity) & (f["exporter_id"] == "CHN") & (f["importer_id"] != "CHN")]
    by_month = f.groupby("period")["flow_t"].sum()
    assert by_month.iloc[0] == pytest.approx(exports_2022_t / 12, rel=1e-3)
    return by_month / by_month.iloc[0], f


def _nothing_to_the_us_during_the_ban(flows: pd.DataFrame) -> None:
    """MOFCOM Announcement No. 46: nothing to the US from December 2024 until the suspension."""
    to_us = flows[flows["importer_id"] == "USA"].groupby("period")["flow_t"].sum()
    ban = pd.period_range("2024-12", "2025-10", freq="M")
    assert to_us.reindex(ban).fillna(0.0).sum() == 0.0
    assert to_us["2025-11"] > 0.0


def test_gallium_exports_follow_the_licences_and_stop_to_the_us_during_the_ban() -> None:
    # China's gallium exports (2022: 94 t); the five licence periods are fitted to China's customs
    # exports (docs/backtest.md).
    ratio, flows = _chinas_exports("gallium-2023", "gallium", 94.0)
    assert ratio[["2023-08", "2023-09", "2023-10"]].mean() == pytest.approx(0.0106, abs=0.0005)
    assert ratio[[f"2024-{m:02d}" for m in range(4, 12)]].mean() == pytest.approx(0.943, abs=0.005)
    # validate misses, recorded so a change shows: December 2023's 7.3 t (0.93) is a year-end
    # batch of licences one share per period cannot give; December 2024's 6.42 t (0.82) likewise
    assert ratio["2023-12"] == pytest.approx(0.138, abs=0.01)
    assert ratio["2024-12"] == pytest.approx(0.219, abs=0.01)
    _nothing_to_the_us_during_the_ban(flows)


def test_germanium_exports_follow_the_licences_and_stop_to_the_us_during_the_ban() -> None:
    # China's germanium exports (2022: 43.7 t); the three licence periods are fitted to China's
    # customs exports (docs/backtest.md).
    ratio, flows = _chinas_exports("germanium-2023", "germanium", 43.7)
    assert ratio[["2023-08", "2023-09", "2023-10"]].mean() == pytest.approx(0.0594, abs=0.0005)
    assert ratio[[f"2024-{m:02d}" for m in range(1, 12)]].mean() == pytest.approx(0.6488, abs=0.005)
    assert ratio[[f"2025-{m:02d}" for m in range(1, 7)]].mean() == pytest.approx(0.2319, abs=0.005)
    # validate misses, recorded so a change shows: December 2024's 3,401 kg (0.93) is a batch of
    # licences one share per period cannot give; April 2025's 98 kg (0.027) the reverse
    assert ratio["2024-12"] == pytest.approx(0.253, abs=0.01)
    assert ratio["2025-04"] == pytest.approx(0.228, abs=0.01)
    _nothing_to_the_us_during_the_ban(flows)


def test_reports_compare_observed_and_simulated() -> None:
    def ratios(name: str, *keys: str) -> dict[tuple[str, ...], list[float]]:
        out: dict[tuple[str, ...], list[float]] = {}
        for r in _run(name).tables["observed"].to_dict("records"):
            out.setdefault(tuple(str(r[k]) for k in keys), []).append(float(r["simulated_over_observed"]))
        return out

    china = ratios("china-2025-licensing", "metric", "commodity_id", "period")
    assert china[("export_ratio", "ndfeb_magnet", "2025-05")] == pytest.approx([1.0], abs=0.01)  # calibrated
    assert china[("export_ratio", "ndfeb_magnet", "2025-08")] == pytest.approx([0.92], abs=0.02)  # restocking
    assert china[("price_index", "ree_oxide_dy", "2025-05")] == pytest.approx([1.90, 0.91], abs=0.02)
    japan = ratios("japan-2010", "metric", "period")
    # calibrated; Powell stops 5% over, traded against Malaysia's 2014 share (docs/backtest.md)
    assert japan[("price_index", "2011-06")] == pytest.approx([1.05], abs=0.01)
    assert japan[("price_index", "2012-01")] == pytest.approx([2.48], abs=0.05)  # the price stays up in 2012
    assert japan[("flow_ratio", "2010-12")] == pytest.approx([0.56], abs=0.03)  # half of December's rebound
    # China's exports sit at the quota (0.60 of 2010) in 2011-2013: above 2011's 0.45 and 2012's 0.41
    assert japan[("export_ratio", "2011-01")] == pytest.approx([1.33], abs=0.05)
    assert japan[("export_ratio", "2012-01")] == pytest.approx([1.47], abs=0.05)


@pytest.mark.parametrize("name", NAMES)
def test_the_modes_agree_on_the_worlds_cumulative_shortfall(name: str) -> None:
    # Both modes share the month loop, orders and responses and differ only in the allocation
    # step (docs/simulation.md lists how): the world's cumulative shortfall in lp is within 25% of
    # fast, or both are below 0.1% of demand.
    ds = cp.default_dataset()
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    extra = {p.region for p in scenario.projects} | {o.seller for o in scenario.offtakes}
    extra |= {o.buyer for o in scenario.offtakes}
    baseline = build_baseline(
        ds, scenario.material, scenario.base_year, scenario.capacity_utilisation, extra_regions=extra
    )
    scenario = resolve_groups(scenario, ds)
    plan = build_plan(baseline, scenario, ds)
    short, demand = {}, {}
    for mode in ("fast", "lp"):
        tr = run_scenario(baseline, plan, scenario, mode)
        short[mode] = float((tr.demand_t - tr.served_t)[0].sum())
        demand[mode] = float(tr.demand_t[0].sum())
    both_small = all(short[m] < 1e-3 * demand[m] for m in short)
    assert both_small or abs(short["lp"] - short["fast"]) <= 0.25 * short["fast"], short


@pytest.mark.parametrize("name", NAMES)
def test_the_headline_answers_from_the_runs_tables(name: str) -> None:
    check_headline(_run(name))  # the worst hit, each region the scenario asks about, the price peak
