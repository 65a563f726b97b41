"""Dataset tables → a :class:`SupplyNetwork`: index sets and sparse arrays for one material and year.

Nodes are (region, commodity) pairs. Each region's supply of a commodity comes from a *mix* of
origins: its own production net of exports (all of it when it imports none), plus imports by
origin (trade quantities; where a flow is known only in US dollars, its tonnage is estimated at
the exporter's average unit value to the world that year). A region with neither production
nor known imports of a commodity is assumed to buy at the world production mix, and the
network records that it did so.

Technical coefficients follow from recipes × mix: one tonne of commodity ``k`` made in region
``r`` needs ``a[j, k]`` tonnes of input ``j`` (``content_t_per_t / yield_fraction``), supplied to
``r`` by origin ``o`` in proportion ``mix[(o, j), (r, j)]``, so
``A[(o, j), (r, k)] = a[j, k] · mix[(o, j), (r, j)]`` — a multi-regional input–output system
whose Leontief solution traces every region's supply back through all stages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError

__all__ = ["MIX_BASES", "SupplyNetwork", "build_network", "input_matrix", "trade_quantities"]

#: How a region's supply mix of a commodity was established.
MIX_BASES = ("production and trade", "world production mix (no data for this region)")


@dataclass(frozen=True)
class SupplyNetwork:
    """One material's chain in one year as arrays; build it with :func:`build_network`.

    ``nodes`` is a MultiIndex (region_id, commodity_id); ``production_t`` is indexed like it;
    ``mix`` (nodes × nodes, sparse) holds the share of the column region's supply of the column
    commodity coming from the row node (same commodity); ``A`` the technical coefficients;
    ``mix_table`` the same shares as a tidy table with the rows they rest on.
    """

    material: str
    year: int
    nodes: pd.MultiIndex
    stages: pd.DataFrame
    production_t: npt.NDArray[np.float64]
    mix: sp.csc_array
    A: sp.csc_array
    recipe: pd.DataFrame
    mix_table: pd.DataFrame

    @property
    def regions(self) -> pd.Index:
        return self.nodes.get_level_values("region_id").unique()

    def node(self, region: str, commodity: str) -> int:
        """Position of a node; a clear error if the region has no node for the commodity."""
        try:
            return int(self.nodes.get_loc((region, commodity)))  # type: ignore[arg-type]
        except KeyError:
            known = ", ".join(sorted(self.regions))
            raise ChokepointError(
                f"region {region!r} has no {commodity} node in {self.material} {self.year}; regions: {known}"
            ) from None


def input_matrix(recipes: pd.DataFrame, commodities: list[str]) -> npt.NDArray[np.float64]:
    """``a[j, k]``: tonnes of input ``j`` per tonne of ``k`` (``content_t_per_t / yield_fraction``)."""
    a = np.zeros((len(commodities), len(commodities)))
    index = pd.Index(commodities)
    rows = index.get_indexer(pd.Index(recipes["input_commodity_id"]))
    cols = index.get_indexer(pd.Index(recipes["output_commodity_id"]))
    keep = (rows >= 0) & (cols >= 0)
    values = (recipes["content_t_per_t"] / recipes["yield_fraction"]).to_numpy(dtype=float)
    a[rows[keep], cols[keep]] = values[keep]
    return a


def trade_quantities(trade: pd.DataFrame) -> pd.DataFrame:
    """Bilateral flows in tonnes; value-only flows priced at the exporter's unit value to WLD."""
    world = trade[(trade["importer_id"] == "WLD") & trade["quantity_t"].gt(0) & trade["value_usd"].gt(0)]
    unit_value = (
        (world["value_usd"] / world["quantity_t"]).groupby([world["exporter_id"], world["commodity_id"]]).mean()
    )
    flows = trade[(trade["importer_id"] != "WLD") & (trade["exporter_id"] != "WLD")].copy()
    missing = flows["quantity_t"].isna() & flows["value_usd"].gt(0)
    key = pd.MultiIndex.from_frame(flows[["exporter_id", "commodity_id"]])
    estimate = flows["value_usd"] / unit_value.reindex(key).to_numpy()
    flows["quantity_t"] = flows["quantity_t"].where(~missing, estimate)
    flows["quantity_basis"] = np.where(missing & estimate.notna(), "estimated from value at exporter unit value", "")
    return flows.dropna(subset=["quantity_t"])


def build_network(
    ds: Dataset, material: str = "rare_earths", year: int = 2024, consumers: Iterable[str] = ()
) -> SupplyNetwork:
    """Build the supply network of ``material`` in ``year`` from production, trade and recipes.

    ``consumers`` adds regions that neither produce nor trade in the data (they buy at the world
    production mix), so that their demand can be traced too.
    """
    com = ds["commodities"]
    chain = com[com["material"] == material].sort_values("stage_order")
    if chain.empty:
        raise ChokepointError(f"unknown material {material!r}; materials: {', '.join(sorted(set(com['material'])))}")
    ks = list(chain["commodity_id"])
    prod = ds["production"]
    prod = prod[(prod["year"] == year) & prod["commodity_id"].isin(ks) & (prod["region_id"] != "WLD")]
    prod = prod[prod["production_t"] > 0]
    if prod.empty:
        raise ChokepointError(f"no production of {material} in {year}; choose another --year")
    trade = ds["trade"]
    flows = trade_quantities(trade[(trade["year"] == year) & trade["commodity_id"].isin(ks)])
    flows = flows[flows["quantity_t"] > 0]  # a reported zero flow carries no share of anyone's supply
    regions = sorted({*prod["region_id"], *flows["exporter_id"], *flows["importer_id"], *consumers})
    nodes = pd.MultiIndex.from_product([regions, ks], names=["region_id", "commodity_id"])
    n = len(nodes)
    production = prod.set_index(["region_id", "commodity_id"])["production_t"].reindex(nodes).fillna(0.0)
    exports = flows.groupby(["exporter_id", "commodity_id"])["quantity_t"].sum()
    exports = exports.rename_axis(["region_id", "commodity_id"]).reindex(nodes).fillna(0.0)
    imported = flows.groupby(["importer_id", "commodity_id"])["quantity_t"].sum()
    imported = imported.rename_axis(["region_id", "commodity_id"]).reindex(nodes).fillna(0.0)
    # Production net of exports; a producer that imports none of the commodity supplies itself
    # even when its exports (product weight) exceed its production (contained REO).
    net_of_exports = (production - exports).clip(lower=0.0)
    domestic = net_of_exports.where((net_of_exports > 0) | (imported > 0), production)

    # Sources of each region's supply: domestic retention and imports by origin.
    own = pd.DataFrame(
        {
            "origin_id": nodes.get_level_values(0),
            "region_id": nodes.get_level_values(0),
            "commodity_id": nodes.get_level_values(1),
            "quantity_t": domestic.to_numpy(),
            "rests_on": "production net of exports",
        }
    )
    own = own.merge(
        prod[["region_id", "commodity_id", "source_id"]], on=["region_id", "commodity_id"], how="left"
    ).query("quantity_t > 0")
    imports = flows.rename(columns={"exporter_id": "origin_id", "importer_id": "region_id"})
    imports = imports.assign(
        rests_on=np.where(imports["quantity_basis"] != "", "import " + imports["quantity_basis"], "import quantity")
    )[["origin_id", "region_id", "commodity_id", "quantity_t", "rests_on", "source_id"]]
    sources = pd.concat([own, imports], ignore_index=True)
    sources = sources.assign(mix_basis=MIX_BASES[0])

    # Regions without any data buy at the world production mix.
    covered = set(zip(sources["region_id"], sources["commodity_id"], strict=True))
    world = prod.assign(
        world_share=prod["production_t"] / prod.groupby("commodity_id")["production_t"].transform("sum")
    )
    gaps = pd.DataFrame(
        [(r, k) for r, k in nodes if (r, k) not in covered], columns=["region_id", "commodity_id"]
    ).merge(world[["commodity_id", "region_id", "world_share", "source_id"]].rename(columns={"region_id": "origin_id"}))
    gaps = gaps.rename(columns={"world_share": "quantity_t"}).assign(
        rests_on="world production share", mix_basis=MIX_BASES[1]
    )
    mix_table = pd.concat([sources, gaps], ignore_index=True)
    mix_table["share"] = mix_table["quantity_t"] / mix_table.groupby(["region_id", "commodity_id"])[
        "quantity_t"
    ].transform("sum")
    mix_table = mix_table.sort_values(["region_id", "commodity_id", "share"], ascending=[True, True, False])

    row = nodes.get_indexer(pd.MultiIndex.from_frame(mix_table[["origin_id", "commodity_id"]]))
    col = nodes.get_indexer(pd.MultiIndex.from_frame(mix_table[["region_id", "commodity_id"]]))
    mix = sp.csc_array((mix_table["share"].to_numpy(), (row, col)), shape=(n, n))

    recipes = ds["recipes"]
    recipes = recipes[recipes["output_commodity_id"].isin(ks) & recipes["input_commodity_id"].isin(ks)]
    recipe = recipes.assign(input_t_per_t=recipes["content_t_per_t"] / recipes["yield_fraction"])
    # A[(o, j), (r, k)] = a[j, k] · mix[(o, j), (r, j)]: expand each mix entry of input j to the outputs k.
    expanded = mix_table.merge(
        recipe[["input_commodity_id", "output_commodity_id", "input_t_per_t"]],
        left_on="commodity_id",
        right_on="input_commodity_id",
    )
    a_row = nodes.get_indexer(pd.MultiIndex.from_frame(expanded[["origin_id", "input_commodity_id"]]))
    a_col = nodes.get_indexer(pd.MultiIndex.from_frame(expanded[["region_id", "output_commodity_id"]]))
    A = sp.csc_array(((expanded["share"] * expanded["input_t_per_t"]).to_numpy(), (a_row, a_col)), shape=(n, n))
    return SupplyNetwork(
        material=material,
        year=year,
        nodes=nodes,
        stages=chain[["commodity_id", "stage", "stage_order", "quantity_basis"]].reset_index(drop=True),
        production_t=production.to_numpy(),
        mix=mix,
        A=A,
        recipe=recipe.reset_index(drop=True),
        mix_table=mix_table.reset_index(drop=True),
    )
