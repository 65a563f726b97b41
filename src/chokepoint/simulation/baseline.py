"""The calibrated starting point of a simulation: demand, capacity and production per node.

Built from a dataset for one material and base year, in tonnes per month:

- **Final demand** by region and sector: the reconciled base year's final use ``y``
  (:func:`chokepoint.baseyear.reconcile`, which fits every reported production, trade and share
  figure under mass balance) split into the sectors with activity and intensity data (EVs, wind,
  robots …; activity × intensity, the world remainder of a sector ``ROW``'s, scaled down where it
  exceeds ``y``) and sector ``other`` (industrial motors, catalysts, glass …) for the rest.
- **Production**: the reconciled production, recovered as the Leontief solution of that demand
  through the network's sourcing mix (``x = (I − A)⁻¹·M·y``), so a run without shocks reproduces
  the baseline exactly.
- **Capacity**: reported facility capacity where every operating facility of a node reports one
  (the fit never exceeds it), else production / ``utilisation`` (a visible parameter, 0.85).
- **Price** of each stage: its quote marked ``price_role = reference`` in ``prices`` (the NdPr
  oxide quote for oxide in the shipped data), else the median of the stage's quotes that year.

The network is the shared hub (:func:`chokepoint.network.build_network`): every region with
data for the material; regions without base-year data have no demand and no capacity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd

from chokepoint.baseyear import BaseYear, input_matrix, reconcile
from chokepoint.baseyear.targets import concat, named_final_use
from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.iomath import solve_leontief
from chokepoint.network import OTHER_SECTOR, SupplyNetwork, build_network

__all__ = ["OTHER", "Baseline", "build_baseline", "reference_prices"]

OTHER = OTHER_SECTOR
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

    @cached_property
    def use_t(self) -> Array:
        """(commodities, regions) base-year use per month: final demand plus the inputs of base
        production (what a market's buyers normally take)."""
        R, K = len(self.net.regions), len(self.commodities)
        final = self.final_t.sum(axis=1).reshape(R, K).T
        return np.asarray(final + self.inputs @ self.production_t.reshape(R, K).T)

    @property
    def commodity_index(self) -> npt.NDArray[np.intp]:
        """Position of each node's commodity in :attr:`commodities`."""
        codes = pd.Index(self.commodities).get_indexer(self.net.nodes.get_level_values("commodity_id"))
        return np.asarray(codes, dtype=np.intp)


def _final_demand(by: BaseYear, ds: Dataset, ks: list[str], year: int) -> pd.DataFrame:
    """Reconciled final use ``y`` split into sectors, t/yr per (region, sector, commodity): the
    named sectors' activity × intensity (scaled down where it exceeds ``y``), the rest ``other``."""
    named = named_final_use(ds, ks, year)
    named = named[named["region_id"].isin(by.regions)]
    y = pd.Series(
        by.final_use_t.ravel(),
        index=pd.MultiIndex.from_product([by.regions, by.commodities], names=["region_id", "commodity_id"]),
    )
    total = named.groupby(["region_id", "commodity_id"])["final_t_per_yr"].sum()
    scale = (y.reindex(total.index).fillna(0.0) / total).clip(upper=1.0)
    key = pd.MultiIndex.from_frame(named[["region_id", "commodity_id"]])
    factor = scale.reindex(key).fillna(0.0).to_numpy()
    named = named.assign(
        final_t_per_yr=named["final_t_per_yr"] * factor,
        basis=np.where(
            factor < 1 - 1e-9, "activity × intensity, scaled to reconciled final use", "activity × intensity"
        ),
    )
    placed = named.groupby(["region_id", "commodity_id"])["final_t_per_yr"].sum()
    other = (y - placed.reindex(y.index).fillna(0.0)).clip(lower=0.0)
    rest = other[other > 1e-9].rename("final_t_per_yr").reset_index()
    rest = rest.assign(sector_id=OTHER, basis="reconciled final use not named by a sector")
    return concat([named, rest])


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
    by = reconcile(ds, material, year)
    ks = list(by.commodities)
    table = _final_demand(by, ds, ks, year)[["region_id", "sector_id", "commodity_id", "final_t_per_yr", "basis"]]
    table = table[table["final_t_per_yr"] > 0].reset_index(drop=True)
    if table.empty:
        raise ChokepointError(f"no final use of {material} in {year}; add production and sector_activity rows")

    net = build_network(ds, material, year, consumers=sorted(set(table["region_id"]) | set(extra_regions)))
    sectors = (*sorted(set(table["sector_id"]) - {OTHER}), OTHER)
    rows = net.nodes.get_indexer(pd.MultiIndex.from_frame(table[["region_id", "commodity_id"]]))
    cols = pd.Index(sectors).get_indexer(table["sector_id"])
    final = np.zeros((len(net.nodes), len(sectors)))
    np.add.at(final, (rows, cols), table["final_t_per_yr"].to_numpy() / 12.0)
    delivered = net.mix @ final.sum(axis=1)
    # Equals the reconciled production up to the flows dropped as solver noise; solving it keeps
    # a run without shocks on the baseline exactly.
    # sparse LU: ~40 commodities × ~40 regions make dense LU the slowest step of a short run
    production = np.asarray(solve_leontief(net.A, delivered, method="splu").X, dtype=float).ravel()
    reported = by.capacity_t.reindex(net.nodes).to_numpy(dtype=float) / 12.0
    capacity = np.where(np.isnan(reported), production / utilisation, np.maximum(reported, production))
    return Baseline(
        net=net,
        sectors=sectors,
        final_t=final,
        production_t=production,
        capacity_t=capacity,
        price_usd_per_kg=reference_prices(ds, ks, year),
        demand_table=table,
    )
