"""The fixed registry of a run's tables: name, labelling columns, value columns with units, description.

The report, the CLI, :meth:`Run.save <chokepoint.simulation.run.Run.save>` and
:func:`chokepoint.runfiles.open_run` all read :data:`TABLES`; every table exists in every run
(empty, with its columns and dtypes, when the scenario has nothing for it), so no reader has to
ask whether a table is there or recover labels from column names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from chokepoint.simulation.uncertainty import QUANTILES

__all__ = ["TABLES", "Column", "TableSpec", "conform", "empty_tables", "tables_markdown"]

#: Monthly periods are ``pandas.Period`` values.
PERIOD = "period[M]"
TEXT = "object"
NUMBER = "float64"
COUNT = "int64"
OPTIONAL_COUNT = "Int64"
FLAG = "bool"


@dataclass(frozen=True)
class Column:
    """One column: its name (units as a suffix), pandas dtype, unit and meaning."""

    name: str
    dtype: str
    unit: str
    description: str


@dataclass(frozen=True)
class TableSpec:
    """A registered table. ``index`` names the labelling columns (one row per combination)."""

    name: str
    index: tuple[str, ...]
    columns: tuple[Column, ...]
    description: str

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def units(self) -> dict[str, str]:
        return {c.name: c.unit for c in self.columns}

    def empty(self) -> pd.DataFrame:
        """The table with no rows, its columns and dtypes."""
        return pd.DataFrame({c.name: pd.Series([], dtype=c.dtype) for c in self.columns})


def _label(name: str, description: str) -> Column:
    return Column(name, TEXT, "", description)


_PERIOD = Column("period", PERIOD, "month", "calendar month")
_REGION = _label("region_id", "region")
_COMMODITY = _label("commodity_id", "commodity (a stage of the chain)")
_SECTOR = _label("sector_id", "final-use sector")
_CONTROLLER = _label("controller_id", "region controlling exports in the scenario")
_Q = [f"p{round(100 * q):02d}" for q in QUANTILES]


def _spec(name: str, index: tuple[Column, ...], values: tuple[Column, ...], description: str) -> TableSpec:
    return TableSpec(name, tuple(c.name for c in index), (*index, *values), description)


def _n(name: str, unit: str, description: str) -> Column:
    return Column(name, NUMBER, unit, description)


_SPECS = [
    _spec(
        "chain",
        (_COMMODITY,),
        (_label("stage", "stage name"), Column("position", COUNT, "", "0 = most upstream")),
        "The chain's commodities, upstream first.",
    ),
    _spec(
        "summary",
        (_REGION, _SECTOR),
        (
            _n("peak_shortfall_pct", "%", "worst month's unserved share of demand"),
            Column("peak_period", PERIOD, "month", "the worst month (the first of equal peaks)"),
            _n("cumulative_shortfall_t", "t", "unserved demand over the horizon"),
            Column("months_short", COUNT, "month", "months with a shortfall of at least 1% of demand"),
            Column("first_short", PERIOD, "month", "first month short (NaT: never)"),
            Column("recovery_months", OPTIONAL_COUNT, "month", "first to last month short (NA: never short)"),
            Column("recovered", FLAG, "", "not short in the last month"),
        ),
        "Per region and sector: peak and cumulative shortfall and recovery, worst first.",
    ),
    _spec(
        "production",
        (_PERIOD, _REGION, _COMMODITY),
        (
            _n("production_t", "t", "output in the month"),
            _n("capacity_t", "t", "capacity in the month: base year after disruptions, projects, entry and exit"),
        ),
        "Output and capacity of every node, every month.",
    ),
    _spec(
        "flows",
        (_PERIOD, _COMMODITY, _label("exporter_id", "shipping region"), _label("importer_id", "receiving region")),
        (_n("flow_t", "t", "shipped in the month; a region's own supply is a flow to itself"),),
        "Shipments, nonzero ones only.",
    ),
    _spec(
        "shortfall",
        (_PERIOD, _REGION, _COMMODITY, _SECTOR),
        (
            _n("demand_t", "t", "final demand after substitution"),
            _n("served_t", "t", "final demand served"),
            _n("shortfall_t", "t", "demand not served"),
            _n("shortfall_pct", "%", "shortfall as a share of demand"),
        ),
        "Final demand and its shortfall, where there is demand.",
    ),
    _spec(
        "prices",
        (_PERIOD, _COMMODITY),
        (
            _n("price_index", "1", "price relative to the base year"),
            _n("price_usd_per_kg", "USD/kg", "base-year price × index (NaN where unknown)"),
        ),
        "World price of every commodity, every month: the markets' mean weighted by base-year use.",
    ),
    _spec(
        "market_prices",
        (_PERIOD, _REGION, _COMMODITY),
        (
            _n("price_index", "1", "price in the region's market relative to the base year"),
            _n("price_usd_per_kg", "USD/kg", "base-year price × index (NaN where unknown)"),
            _n("base_use_t", "t", "the market's base-year use per month: its weight in the world price"),
        ),
        "Price in every region's market, for the commodities it uses.",
    ),
    _spec(
        "stocks",
        (_PERIOD, _REGION, _COMMODITY),
        (
            _n("stock_t", "t", "strategic stock at the end of the month"),
            _n("draw_t", "t", "released in the month"),
            _n("build_t", "t", "added in the month"),
        ),
        "Strategic stockpiles, for nodes that hold one.",
    ),
    _spec(
        "inventories",
        (_PERIOD, _REGION, _COMMODITY),
        (
            _n("inventory_t", "t", "buyers' commercial inventory at the end of the month"),
            _n("draw_t", "t", "run down in the month"),
            _n("build_t", "t", "added in the month"),
        ),
        "Buyers' commercial inventories, for the commodities each region uses.",
    ),
    _spec(
        "leakage",
        (
            _PERIOD,
            _label("control", "the export control the route leaks from"),
            _label("exporter_id", "the controller"),
            _label("via_id", "the third country the route runs through"),
            _label("importer_id", "the target reached"),
            _COMMODITY,
        ),
        (_n("leaked_t", "t", "carried in the month (part of the exporter's flow to the importer)"),),
        "Leakage routes' tonnes, nonzero ones only.",
    ),
    _spec(
        "shadow_prices",
        (_PERIOD, _REGION, _COMMODITY),
        (_n("shadow_price_per_t", "objective/t", "LP dual of the use balance: objective gained per extra tonne"),),
        "LP shadow prices (lp mode; empty in fast mode, which has no duals).",
    ),
    _spec(
        "controller_share",
        (_PERIOD, _CONTROLLER, _REGION, _COMMODITY),
        (_n("direct_share_pct", "%", "share of the region's receipts shipped by the controller"),),
        "Each scenario controller's direct share of every region's supply (empty without export controls).",
    ),
    _spec(
        "controller_traced_share",
        (_PERIOD, _CONTROLLER, _REGION, _COMMODITY, _label("upstream_commodity_id", "upstream stage traced to")),
        (_n("traced_share_pct", "%", "share of the supply resting on the controller at the upstream stage"),),
        "Controller's share traced through the month's shipments to the commodity's own and each upstream stage.",
    ),
    _spec(
        "observed",
        (
            _PERIOD,
            _label("metric", "observed quantity"),
            _COMMODITY,
            _REGION,
            _label("origin_id", "origin"),
            _label("outside_id", "a price outside this region's market"),
        ),
        (
            _label("role", "calibrate (fitted to) or validate (only scored)"),
            Column("months", COUNT, "month", "months averaged from period"),
            _n("observed", "", "observed value (unit of the metric)"),
            _n("simulated", "", "simulated value (unit of the metric)"),
            _n("simulated_over_observed", "1", "ratio"),
            _n("abs_log_error", "1", "|ln(simulated / observed)|, the ratio floored at 1e-3"),
            _label("source", "where the observation comes from"),
        ),
        "The scenario's observations next to the simulated values.",
    ),
    _spec(
        "projects",
        (_label("project", "capacity project"),),
        (
            _REGION,
            _COMMODITY,
            _n("capacity_t_per_yr", "t/yr", "nameplate capacity"),
            Column("first_capacity", PERIOD, "month", "first month with capacity (NaT: never)"),
            Column("full_capacity", PERIOD, "month", "first month at nameplate (NaT: never)"),
            _n("output_t", "t", "output over the horizon"),
            _n("utilisation_at_end", "1", "output / capacity in the last month"),
            _n("learning_rate", "1", "cost fall per doubling of output"),
            _n("unit_cost_index_at_end", "1", "unit cost relative to the first month at nameplate"),
            _n("capex_usd", "USD", "investment"),
            _n("capex_usd_per_t_per_yr", "USD/(t/yr)", "investment per unit of capacity"),
        ),
        "Capacity projects in sum.",
    ),
    _spec(
        "project_months",
        (_PERIOD, _label("project", "capacity project")),
        (
            _n("capacity_t", "t", "capacity in the month"),
            _n("output_t", "t", "output in the month"),
            _n("cumulative_output_t", "t", "output so far"),
            _n("unit_cost_index", "1", "Wright's-law unit cost index"),
        ),
        "Capacity projects month by month.",
    ),
    _spec(
        "price_floors",
        (_PERIOD, _REGION, _COMMODITY),
        (
            _n("floor_usd_per_kg", "USD/kg", "guaranteed price"),
            _n("market_usd_per_kg", "USD/kg", "simulated market price"),
            _n("covered_output_t", "t", "output the floor covers"),
            _n("payment_usd", "USD", "max(0, floor − market) × covered output"),
        ),
        "Price-floor payments per month in force.",
    ),
    _spec(
        "uncertainty_world",
        (_PERIOD,),
        tuple(_n(f"shortfall_pct_{q}", "%", f"world shortfall, {q} over draws") for q in _Q),
        "Monte Carlo percentiles of the world's shortfall (empty without draws).",
    ),
    _spec(
        "uncertainty_prices",
        (_PERIOD, _COMMODITY),
        tuple(_n(f"price_index_{q}", "1", f"price index, {q} over draws") for q in _Q),
        "Monte Carlo percentiles of prices (empty without draws).",
    ),
    _spec(
        "uncertainty_peaks",
        (_REGION, _SECTOR),
        tuple(_n(f"peak_shortfall_pct_{q}", "%", f"peak shortfall, {q} over draws") for q in _Q),
        "Monte Carlo percentiles of each region × sector's peak shortfall (empty without draws).",
    ),
    _spec(
        "base_year_fit",
        (_label("target_id", "target of the base-year fit (docs/baseyear.md)"),),
        (
            _label("kind", "kind of target (production, trade_quantity, trade_share …)"),
            _n("reported", "", "reported value (t, or a share)"),
            _n("reconciled", "", "reconciled value (same unit)"),
            _n("residual_pct", "%", "reconciled − reported, % of reported"),
            _n("weight", "1", "weight of the squared relative residual"),
            _label("reason", "why the target misses"),
            Column("targets", COUNT, "1", "targets in the fit"),
            _n("within_10pct_share_pct", "%", "share of the fit's targets within 10% of reported"),
        ),
        "The base year's fit: its five worst targets, with the fit's summary on every row.",
    ),
]

#: Every table of a run, by name, in the order they are written.
TABLES: Mapping[str, TableSpec] = {s.name: s for s in _SPECS}


def conform(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with exactly the registered columns of ``name`` in order, in their dtypes,
    and a fresh 0..n index. Raises ``KeyError`` naming a missing column (a builder's bug)."""
    spec = TABLES[name]
    missing = [c for c in spec.names if c not in frame.columns]
    if missing:
        raise KeyError(f"table {name!r} lacks columns {missing}")
    out = frame[spec.names].reset_index(drop=True)
    return out.astype({c.name: c.dtype for c in spec.columns}, copy=False)


def empty_tables() -> dict[str, pd.DataFrame]:
    """Every registered table, empty."""
    return {name: spec.empty() for name, spec in TABLES.items()}


def tables_markdown() -> str:
    """The reference of a run's tables (``docs/results.md``), generated from :data:`TABLES`."""
    lines = [
        "# A run's tables",
        "",
        "Generated from `src/chokepoint/simulation/tables.py` (`chokepoint.simulation.tables.tables_markdown()`);",
        "do not edit by hand. Every run has every table (empty when the scenario has nothing for it);",
        "`run.tables[name]` in Python, `<name>.parquet` / `<name>.csv` in a saved run's folder.",
        "",
    ]
    for spec in TABLES.values():
        lines += [f"## `{spec.name}`", "", spec.description, "", f"One row per {', '.join(spec.index)}.", ""]
        lines += ["| column | dtype | unit | meaning |", "|---|---|---|---|"]
        lines += [f"| `{c.name}` | {c.dtype} | {c.unit or '–'} | {c.description} |" for c in spec.columns]
        lines.append("")
    return "\n".join(lines)
