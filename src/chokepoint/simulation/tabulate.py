"""Simulation results as tidy tables with units in column names, plus a summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from chokepoint.iomath import solve_leontief
from chokepoint.scenario import Observation, Scenario
from chokepoint.simulation.baseline import Baseline
from chokepoint.simulation.engine import Trajectory
from chokepoint.simulation.plan import Plan

__all__ = ["Results", "compare_observed", "tabulate"]

#: A region's supply counts as recovered once its shortfall stays below this share of demand.
RECOVERED_BELOW = 0.01


@dataclass(frozen=True)
class Results:
    """Tables of one run (the first draw when several were run) and its summary."""

    scenario: str
    tables: dict[str, pd.DataFrame] = field(repr=False)
    summary: pd.DataFrame = field(repr=False)
    info: dict[str, Any] = field(default_factory=dict)


def _traced_shares(baseline: Baseline, shipped: npt.NDArray[np.float64], controller: str) -> npt.NDArray[np.float64]:
    """Share of each region's supply of each commodity resting on ``controller`` at each upstream
    stage, traced through the month's actual shipments with the exposure core's Leontief solve.

    Returns (T, R, K_product, K_stage) fractions: ``A[(o, j), (r, k)] = a[j, k]·m_j[o, r]`` with
    ``m_j`` the month's sourcing shares of ``j``, and ``X = (I − A)⁻¹·M`` per delivered unit.
    """
    net = baseline.net
    regions, ks = list(net.regions), baseline.commodities
    R, K = len(regions), len(ks)
    a = baseline.inputs
    c = regions.index(controller)
    out = np.zeros((shipped.shape[0], R, K, K))
    for t in range(shipped.shape[0]):
        got = shipped[t].sum(axis=1, keepdims=True)  # (K, 1, b)
        m = np.divide(shipped[t], got, out=np.zeros_like(shipped[t]), where=got > 0)  # (K, o, b)
        M = np.zeros((R, K, R, K))
        for k in range(K):
            M[:, k, :, k] = m[k]
        A = (m.transpose(1, 0, 2)[..., None] * a[None, :, None, :]).reshape(R * K, R * K)
        X = solve_leontief(A, M.reshape(R * K, R * K)).X.reshape(R, K, R, K)  # (o, j, r, k)
        total = X.sum(axis=0)  # (j, r, k)
        out[t] = np.divide(X[c], total, out=np.zeros_like(total), where=total > 1e-12).transpose(1, 2, 0)
    return out


def tabulate(baseline: Baseline, plan: Plan, trajectory: Trajectory, scenario: str, controller: str = "CHN") -> Results:
    """Tidy tables of the first draw of ``trajectory`` and a summary per region and sector."""
    net = baseline.net
    regions, ks, sectors = list(net.regions), baseline.commodities, list(baseline.sectors)
    periods = [str(p) for p in plan.periods]
    T, R, K = len(periods), len(regions), len(ks)
    tr = trajectory

    def cube(values: npt.NDArray[np.float64], names: list[str], axes: list[list[str]]) -> pd.DataFrame:
        idx = pd.MultiIndex.from_product(axes, names=names)
        return pd.DataFrame({"value": values.ravel()}, index=idx).reset_index()

    production = cube(tr.production_t[0], ["period", "region_id", "commodity_id"], [periods, regions, ks])
    production = production.rename(columns={"value": "production_t"})
    flows = cube(
        tr.shipped_t[0], ["period", "commodity_id", "exporter_id", "importer_id"], [periods, ks, regions, regions]
    )
    flows = flows.rename(columns={"value": "flow_t"})
    flows = flows[flows["flow_t"] > 1e-9].reset_index(drop=True)
    demand = tr.demand_t[0]
    served = tr.served_t[0]
    short = cube(demand, ["period", "region_id", "commodity_id", "sector_id"], [periods, regions, ks, sectors])
    short = short.rename(columns={"value": "demand_t"})
    short["served_t"] = served.ravel()
    short["shortfall_t"] = (short["demand_t"] - short["served_t"]).clip(lower=0.0)
    short = short[short["demand_t"] > 0].reset_index(drop=True)
    short["shortfall_pct"] = 100.0 * short["shortfall_t"] / short["demand_t"]
    prices = cube(tr.price_index[0], ["period", "commodity_id"], [periods, ks]).rename(columns={"value": "price_index"})
    prices["price_usd_per_kg"] = prices["price_index"] * np.tile(baseline.price_usd_per_kg, T)
    stocks = cube(tr.stock_t[0], ["period", "region_id", "commodity_id"], [periods, regions, ks]).rename(
        columns={"value": "stock_t"}
    )
    stocks["draw_t"] = tr.stock_draw_t[0].ravel()
    stocks["build_t"] = tr.stock_build_t[0].ravel()
    stocks = stocks[(plan.stock_target_t.reshape(R, K) > 0)[None].repeat(T, 0).ravel()].reset_index(drop=True)

    # China's share of each region's supply: direct (shipments) and traced to the mine.
    shipped = tr.shipped_t[0]
    received = shipped.sum(axis=2)  # (T, K, b)
    c = regions.index(controller) if controller in regions else None
    direct = (
        np.zeros((T, K, R))
        if c is None
        else np.divide(shipped[:, :, c, :], received, out=np.zeros((T, K, R)), where=received > 0)
    )
    share = cube(direct.transpose(0, 2, 1), ["period", "region_id", "commodity_id"], [periods, regions, ks])
    share = share.rename(columns={"value": "direct_share_pct"})
    share["direct_share_pct"] *= 100.0
    if c is not None:
        traced = _traced_shares(baseline, shipped, controller)  # (T, R, K, K_stage)
        stage_names = list(net.stages["stage"])
        for j, stage in enumerate(stage_names):
            share[f"traced_{stage}_pct"] = 100.0 * traced[..., j].ravel()

    summary = _summary(short, periods)
    return Results(
        scenario=scenario,
        tables={
            "production": production,
            "flows": flows,
            "shortfall": short,
            "prices": prices,
            "stocks": stocks,
            "controller_share": share,
        },
        summary=summary,
    )


def compare_observed(results: Results, observations: list[Observation]) -> pd.DataFrame:
    """Observed values next to the simulated ones, with their ratio (simulated / observed)."""
    prices = results.tables["prices"]
    periods = list(pd.unique(prices["period"]))
    flows = results.tables["flows"]
    flows = flows[flows["exporter_id"] != flows["importer_id"]]
    rows = []
    for ob in observations:
        period = str(ob.period)
        window = periods[periods.index(period) : periods.index(period) + ob.months] if period in periods else []
        if ob.metric == "price_index":
            mine = prices[(prices["commodity_id"] == ob.commodity) & prices["period"].isin(window)]
            simulated = float(mine["price_index"].mean()) if len(mine) else float("nan")
        elif ob.metric == "export_ratio":
            out = flows[(flows["commodity_id"] == ob.commodity) & (flows["exporter_id"] == ob.region)]
            first = float(out.loc[out["period"] == periods[0], "flow_t"].sum())
            total = float(out.loc[out["period"].isin(window), "flow_t"].sum())
            simulated = total / (first * len(window)) if first > 0 and window else float("nan")
        else:
            into = flows[(flows["commodity_id"] == ob.commodity) & (flows["importer_id"] == ob.region)]
            into = into[into["period"].isin(window)]
            total = float(into["flow_t"].sum())
            simulated = (
                float(into.loc[into["exporter_id"] == ob.origin, "flow_t"].sum()) / total if total > 0 else float("nan")
            )
        rows.append(
            {
                "period": period,
                "months": ob.months,
                "metric": ob.metric,
                "commodity_id": ob.commodity,
                "region_id": ob.region,
                "origin_id": ob.origin,
                "observed": ob.value,
                "simulated": simulated,
                "simulated_over_observed": simulated / ob.value if ob.value > 0 else float("nan"),
                "source": ob.source,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            *("period", "months", "metric", "commodity_id", "region_id", "origin_id", "observed", "simulated"),
            *("simulated_over_observed", "source"),
        ],
    )


def project_tables(
    baseline: Baseline, plan: Plan, trajectory: Trajectory, scenario: Scenario
) -> dict[str, pd.DataFrame]:
    """Capacity projects month by month (``project_months``) and in sum (``projects``).

    A project's output is its share of its node's capacity times the node's output. Learning is
    Wright's law on unit cost: ``cost/cost₀ = (Q/Q₀)^(−b)`` with ``b = −log₂(1 − learning_rate)``,
    ``Q`` the cumulative output and ``Q₀`` one month at nameplate capacity (the index is 1 until
    then); a technology ban has already cut the learning rate (:func:`build_plan`). The engine
    does not use costs to allocate, so learning shows here, not in the flows.
    """
    T = len(plan.periods)
    produced = trajectory.production_t[0].reshape(T, -1)  # (T, nodes)
    periods = [str(p) for p in plan.periods]
    months, rows = [], []
    for j, p in enumerate(scenario.projects):
        cap = plan.project_capacity_t[:, j]
        node = plan.project_node[j]
        node_cap = plan.capacity_t[:, node] if node >= 0 else np.zeros(T)
        output = (
            np.divide(cap * produced[:, node], node_cap, out=np.zeros(T), where=node_cap > 0) if node >= 0 else cap * 0
        )
        cumulative = np.cumsum(output)
        first = p.capacity_t_per_yr / 12.0
        b = -np.log2(1.0 - plan.project_learning_rate[j])
        cost_index = np.where(cumulative > first, (np.maximum(cumulative, first) / first) ** -b, 1.0)
        months.append(
            pd.DataFrame(
                {
                    "period": periods,
                    "project": p.name,
                    "capacity_t": cap,
                    "output_t": output,
                    "cumulative_output_t": cumulative,
                    "unit_cost_index": cost_index,
                }
            )
        )
        online = np.flatnonzero(cap > 0)
        full = np.flatnonzero(cap >= first * (1 - 1e-9))
        rows.append(
            {
                "project": p.name,
                "region_id": p.region,
                "commodity_id": p.commodity,
                "capacity_t_per_yr": p.capacity_t_per_yr,
                "first_capacity": periods[online[0]] if len(online) else None,
                "full_capacity": periods[full[0]] if len(full) else None,
                "output_t": float(cumulative[-1]),
                "utilisation_at_end": float(output[-1] / cap[-1]) if cap[-1] > 0 else float("nan"),
                "learning_rate": float(plan.project_learning_rate[j]),
                "unit_cost_index_at_end": float(cost_index[-1]),
                "capex_usd": p.cost_usd,
                "capex_usd_per_t_per_yr": p.cost_usd / p.capacity_t_per_yr if p.capacity_t_per_yr > 0 else float("nan"),
            }
        )
    return {"projects": pd.DataFrame(rows), "project_months": pd.concat(months, ignore_index=True)}


def price_floor_payments(results: Results, scenario: Scenario) -> pd.DataFrame:
    """Per price floor and month in force: the market price, the floor, the covered output and
    what the guarantor pays, ``max(0, floor − market) × covered output`` (USD; the market price
    is the commodity's base-year price × the simulated index)."""
    prices = results.tables["prices"].set_index(["period", "commodity_id"])["price_usd_per_kg"]
    production = results.tables["production"].set_index(["period", "region_id", "commodity_id"])["production_t"]
    periods = list(pd.unique(results.tables["prices"]["period"]))
    rows = []
    for pf in scenario.price_floors:
        last = len(periods) - 1 if pf.end is None else pf.end.index(scenario.start)
        for period in periods[pf.start.index(scenario.start) : last + 1]:
            market = float(prices.get((period, pf.commodity), np.nan))
            output = float(production.get((period, pf.region, pf.commodity), 0.0)) * pf.covered_share
            rows.append(
                {
                    "period": period,
                    "region_id": pf.region,
                    "commodity_id": pf.commodity,
                    "floor_usd_per_kg": pf.usd_per_kg,
                    "market_usd_per_kg": market,
                    "covered_output_t": output,
                    "payment_usd": max(0.0, pf.usd_per_kg - market) * output * 1000.0,
                }
            )
    columns = [
        *("period", "region_id", "commodity_id", "floor_usd_per_kg", "market_usd_per_kg"),
        *("covered_output_t", "payment_usd"),
    ]
    return pd.DataFrame(rows, columns=columns)


def _summary(short: pd.DataFrame, periods: npt.ArrayLike) -> pd.DataFrame:
    """Per region and sector: peak shortfall, cumulative shortfall, months short, recovery."""
    order = {p: i for i, p in enumerate(np.asarray(periods))}
    by = short.groupby(["region_id", "sector_id", "period"], as_index=False)[["demand_t", "shortfall_t"]].sum()
    by["share"] = by["shortfall_t"] / by["demand_t"]
    by["t"] = by["period"].map(order)
    rows = []
    for (region, sector), g in by.groupby(["region_id", "sector_id"]):
        g = g.sort_values("t")
        hit = g[g["share"] >= RECOVERED_BELOW]
        first = int(hit["t"].min()) if len(hit) else None
        last = int(hit["t"].max()) if len(hit) else None
        rows.append(
            {
                "region_id": region,
                "sector_id": sector,
                "peak_shortfall_pct": 100.0 * float(g["share"].max()),
                "cumulative_shortfall_t": float(g["shortfall_t"].sum()),
                "months_short": len(hit),
                "first_short": None if first is None else str(g.loc[g["t"] == first, "period"].iloc[0]),
                "recovery_months": None if first is None or last is None else last - first + 1,
                "recovered": last is None or last < int(g["t"].max()),
            }
        )
    table = pd.DataFrame(rows)
    return table.sort_values("cumulative_shortfall_t", ascending=False, ignore_index=True)
