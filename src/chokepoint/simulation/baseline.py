"""The calibrated starting point of a simulation: demand, capacity and production per node.

Built from a dataset for one material and base year, in tonnes per month:

- **Final demand** by region and sector. World final use of each commodity is what is produced
  and not consumed by the next stage (``W_k − Σ a[k, k']·W_k'``, from production and recipes).
  Sectors with activity and intensity data (EVs, wind, robots …) take activity × intensity in
  each region that reports activity; the world remainder of a sector is ``ROW``'s. What the
  named sectors do not explain is sector ``other`` (industrial motors, catalysts, glass …):
  each region first takes its *apparent use* left unexplained (production + imports − exports −
  what its own next-stage production takes, less its named demand), and what the data cannot
  place is split like named demand.
- **Production** consistent with that demand and each region's sourcing mix (the Leontief
  solution ``x = (I − A)⁻¹·M·y``), so a run without shocks reproduces the baseline exactly.
- **Capacity** = max(production, reported production) / ``utilisation``.
- **Price** of each stage: its quote marked ``price_role = reference`` in ``prices`` (the NdPr
  oxide quote for oxide in the shipped data), else the median of the stage's quotes that year.

The network is the shared hub (:func:`chokepoint.network.build_network`): every region with
data for the material; regions without base-year data have no demand and no capacity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.iomath import solve_leontief
from chokepoint.network import REST_OF_WORLD, WORLD, SupplyNetwork, build_network, input_matrix, trade_quantities

__all__ = ["OTHER", "Baseline", "build_baseline", "reference_prices"]

#: The sector that takes final use no named sector explains.
OTHER = "other"
Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Baseline:
    """Arrays over the network's nodes (region, commodity) and sectors, per month."""

    net: SupplyNetwork
    sectors: tuple[str, ...]
    final_t: Array  # (nodes, sectors) final demand per month
    production_t: Array  # (nodes,) baseline production per month
    capacity_t: Array  # (nodes,) capacity per month
    price_usd_per_kg: Array  # (commodities,) base-year price per stage commodity (NaN if unknown)
    demand_table: pd.DataFrame  # how final demand was built, per region × sector × commodity

    @property
    def commodities(self) -> list[str]:
        return list(self.net.stages["commodity_id"])

    @property
    def inputs(self) -> Array:
        """``a[j, k]``: tonnes of input ``j`` per tonne of ``k``."""
        return input_matrix(self.net.recipe, self.commodities)

    @property
    def commodity_index(self) -> npt.NDArray[np.intp]:
        """Position of each node's commodity in :attr:`commodities`."""
        codes = pd.Index(self.commodities).get_indexer(self.net.nodes.get_level_values("commodity_id"))
        return np.asarray(codes, dtype=np.intp)


def _world(prod: pd.DataFrame) -> pd.Series:
    world = prod[prod["region_id"] == WORLD].set_index("commodity_id")["production_t"]
    summed = prod[prod["region_id"] != WORLD].groupby("commodity_id")["production_t"].sum()
    return world.combine_first(summed)


def _without_members(activity: pd.DataFrame, regions: pd.DataFrame) -> pd.DataFrame:
    """Drop a country's rows where an aggregate it belongs to (EU27) reports the same sector."""
    members = regions.dropna(subset=["members"])
    pairs = {
        (m, sector)
        for agg, text in zip(members["region_id"], members["members"], strict=True)
        for sector in activity.loc[activity["region_id"] == agg, "sector_id"]
        for m in str(text).split()
    }
    covered = [(r, s) in pairs for r, s in zip(activity["region_id"], activity["sector_id"], strict=True)]
    return activity[~np.asarray(covered, dtype=bool)]


def _apparent_final_use(
    ds: Dataset, prod: pd.DataFrame, ks: list[str], a: npt.NDArray[np.float64], year: int
) -> pd.Series:
    """Per (region, commodity), t/yr: production + imports − exports − what the region's own
    production of the next stages takes as input. Exports are a region's world total where the
    data give one, else the sum of its bilateral rows; a producer with no export data uses its
    output at home, as its sourcing mix assumes (:mod:`chokepoint.network`)."""
    made = prod[prod["region_id"] != WORLD].groupby(["region_id", "commodity_id"])["production_t"].sum()
    trade = ds["trade"]
    trade = trade[(trade["year"] == year) & trade["commodity_id"].isin(ks)]
    keys = ["region_id", "commodity_id"]
    to_world = trade[(trade["importer_id"] == WORLD) & trade["quantity_t"].notna()]
    world_total = to_world.groupby(["exporter_id", "commodity_id"])["quantity_t"].sum().rename_axis(keys)
    flows = trade_quantities(trade)
    flows = flows[flows["exporter_id"] != flows["importer_id"]]
    imports = flows.groupby(["importer_id", "commodity_id"])["quantity_t"].sum().rename_axis(keys)
    bilateral = flows.groupby(["exporter_id", "commodity_id"])["quantity_t"].sum().rename_axis(keys)
    exports = pd.concat([bilateral, world_total], axis=1).max(axis=1)
    apparent = made.add(imports, fill_value=0.0).sub(exports, fill_value=0.0)
    grid = made.unstack("commodity_id").reindex(columns=ks).fillna(0.0)
    inputs = pd.DataFrame(grid.to_numpy() @ a.T, index=grid.index, columns=pd.Index(ks, name="commodity_id")).stack()
    return apparent.sub(inputs, fill_value=0.0).clip(lower=0.0)


def _named_demand(ds: Dataset, ks: list[str], world_final: pd.Series, year: int) -> pd.DataFrame:
    """Final demand of sectors with activity × intensity data, t/yr per (region, sector,
    commodity); the world remainder of a sector is :data:`REST_OF_WORLD`'s, and a commodity whose
    named demand exceeds world final use is scaled down to it."""
    uses = ds["intensities"][ds["intensities"]["commodity_id"].isin(ks)]
    act = ds["sector_activity"]
    act = act[(act["year"] == year) & act["sector_id"].isin(uses["sector_id"])]
    reported = _without_members(act[act["region_id"] != WORLD], ds["regions"])
    world_act = act[act["region_id"] == WORLD].set_index("sector_id")["activity"]
    rest = (world_act - reported.groupby("sector_id")["activity"].sum().reindex(world_act.index).fillna(0.0)).clip(
        lower=0
    )
    activity = pd.concat(
        [
            reported[["region_id", "sector_id", "activity"]],
            rest.rename("activity").reset_index().assign(region_id=REST_OF_WORLD),
        ]
    )
    demand = activity.merge(uses[["sector_id", "commodity_id", "intensity_kg_per_unit"]], on="sector_id")
    demand["final_t_per_yr"] = demand["activity"] * demand["intensity_kg_per_unit"] / 1000.0
    named = demand.groupby("commodity_id")["final_t_per_yr"].sum().reindex(ks).fillna(0.0)
    scale = (world_final / named.where(named > 0)).clip(upper=1.0).fillna(1.0)
    demand["final_t_per_yr"] *= demand["commodity_id"].map(scale)
    demand["basis"] = "activity × intensity" + np.where(
        demand["commodity_id"].map(scale) < 1, ", scaled to world use", ""
    )
    return demand


def _other_demand(demand: pd.DataFrame, other: pd.Series, unexplained: pd.Series) -> pd.DataFrame:
    """Final use no named sector explains (``other`` t/yr per commodity), as sector :data:`OTHER`.

    Each region first takes the use its data leave unexplained (production + imports − exports −
    its own next-stage input, less its named demand), scaled down if together they exceed the
    world's; the rest (use the data cannot place: exports to unknown destinations, stocks) is
    split like named demand.
    """
    region_weight = demand.groupby("region_id")["final_t_per_yr"].sum()
    region_weight /= region_weight.sum()
    residual = []
    for k, total in other[other > 0].items():
        placed = unexplained.xs(k, level="commodity_id") if k in unexplained.index.get_level_values(1) else None
        placed = placed[placed > 0] if placed is not None else pd.Series(dtype=float)
        placed *= min(1.0, total / placed.sum()) if placed.sum() > 0 else 0.0
        rest = total - placed.sum()
        residual += [
            {"region_id": r, "sector_id": OTHER, "commodity_id": k, "final_t_per_yr": q, "basis": "apparent use"}
            for r, q in placed.items()
        ]
        residual += [
            {
                "region_id": r,
                "sector_id": OTHER,
                "commodity_id": k,
                "final_t_per_yr": rest * w,
                "basis": "residual, split like named demand",
            }
            for r, w in region_weight.items()
            if w > 0 and rest > 1e-9
        ]
    return pd.DataFrame(residual)


def reference_prices(ds: Dataset, commodities: list[str], year: int) -> npt.NDArray[np.float64]:
    """USD/kg per commodity in ``year``: the median of its quotes marked ``price_role = reference``,
    else the median of all its quotes; NaN without any quote."""
    prices = ds["prices"]
    prices = prices[(prices["year"] == year) & prices["commodity_id"].isin(commodities)]
    by_commodity = prices.groupby("commodity_id")["price_usd_per_kg"]
    reference = prices[prices["price_role"] == "reference"].groupby("commodity_id")["price_usd_per_kg"].median()
    price = reference.combine_first(by_commodity.median())
    return np.asarray(price.reindex(commodities).to_numpy(dtype=float), dtype=float)


def build_baseline(
    ds: Dataset,
    material: str = "rare_earths",
    year: int = 2024,
    utilisation: float = 0.85,
    extra_regions: Iterable[str] = (),
) -> Baseline:
    """Calibrate demand, production and capacity of ``material`` in ``year`` (see module docs).
    ``extra_regions`` get nodes even without data (where a scenario builds capacity); the
    network is the shared one of (``ds``, ``material``, ``year``) whenever they already have one."""
    if not 0 < utilisation <= 1:
        raise ChokepointError(f"utilisation {utilisation} must be in (0, 1]")
    chain = ds["commodities"]
    chain = chain[chain["material"] == material].sort_values("stage_order")
    ks = list(chain["commodity_id"])
    prod = ds["production"]
    prod = prod[(prod["year"] == year) & prod["commodity_id"].isin(ks)]
    world = _world(prod).reindex(ks).fillna(0.0)
    a = input_matrix(ds["recipes"], ks)
    world_final = (world - a @ world.to_numpy()).clip(lower=0.0)

    demand = _named_demand(ds, ks, world_final, year)
    if demand["final_t_per_yr"].sum() <= 0:
        raise ChokepointError(f"no sector activity × intensity for {material} in {year}; add sector_activity rows")
    named = demand.groupby("commodity_id")["final_t_per_yr"].sum().reindex(ks).fillna(0.0)
    other = (world_final - named.clip(upper=world_final)).clip(lower=0.0)
    unexplained = (
        _apparent_final_use(ds, prod, ks, a, year)
        .sub(demand.groupby(["region_id", "commodity_id"])["final_t_per_yr"].sum(), fill_value=0.0)
        .clip(lower=0.0)
    )
    table = pd.concat([demand, _other_demand(demand, other, unexplained)], ignore_index=True)[
        ["region_id", "sector_id", "commodity_id", "final_t_per_yr", "basis"]
    ]
    table = table[table["final_t_per_yr"] > 0].reset_index(drop=True)

    net = build_network(ds, material, year, consumers=sorted(set(table["region_id"]) | set(extra_regions)))
    sectors = (*sorted(set(table["sector_id"]) - {OTHER}), OTHER)
    rows = net.nodes.get_indexer(pd.MultiIndex.from_frame(table[["region_id", "commodity_id"]]))
    cols = pd.Index(sectors).get_indexer(table["sector_id"])
    final = np.zeros((len(net.nodes), len(sectors)))
    np.add.at(final, (rows, cols), table["final_t_per_yr"].to_numpy() / 12.0)
    delivered = net.mix @ final.sum(axis=1)
    production = np.asarray(solve_leontief(net.A, delivered).X, dtype=float).ravel()
    reported_prod = prod[prod["region_id"] != WORLD].set_index(["region_id", "commodity_id"])["production_t"]
    reported_t = reported_prod.reindex(net.nodes).fillna(0.0).to_numpy(dtype=float) / 12.0
    capacity = np.maximum(production, reported_t) / utilisation
    return Baseline(
        net=net,
        sectors=sectors,
        final_t=final,
        production_t=production,
        capacity_t=capacity,
        price_usd_per_kg=reference_prices(ds, ks, year),
        demand_table=table,
    )
