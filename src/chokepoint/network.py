"""Dataset tables → a :class:`SupplyNetwork`: index sets and sparse arrays for one material and year.

Nodes are (region, commodity) pairs. Production and flows are the reconciled base year
(:func:`chokepoint.baseyear.reconcile`: every reported production, trade and share figure fitted
under mass balance). Each region's supply of a commodity comes from a *mix* of origins: its own
production net of exports plus its fitted imports by origin — consistent by construction, since
the fit ships no more than a region makes. Only a region with no supply at all in the base year
(no data for it) buys at the world production mix, and the network records that it did so.

Technical coefficients follow from recipes × mix: one tonne of commodity ``k`` made in region
``r`` needs ``a[j, k]`` tonnes of input ``j`` (``content_t_per_t / yield_fraction``), supplied to
``r`` by origin ``o`` in proportion ``mix[(o, j), (r, j)]``, so
``A[(o, j), (r, k)] = a[j, k] · mix[(o, j), (r, j)]`` — a multi-regional input–output system
whose Leontief solution traces every region's supply back through all stages.

The network is the hub every analysis and the simulation share: :func:`build_network` builds
it once per (dataset fingerprint, material, base year) with every region that has data for the
material in any table and any year (so a scenario that builds capacity where nothing was
produced in the base year finds its node), caches it, and hands out the same read-only object.
Regions without base-year data buy at the world production mix and are inert until a scenario
gives them demand or capacity.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from chokepoint.baseyear import REST_OF_WORLD, WORLD, BaseYear, data_regions, input_matrix, material_chain, reconcile
from chokepoint.baseyear.targets import concat
from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError

__all__ = [
    "MIX_BASES",
    "OTHER_SECTOR",
    "REST_OF_WORLD",
    "WORLD",
    "SupplyNetwork",
    "build_network",
    "data_regions",
    "input_matrix",
]

#: How a region's supply mix of a commodity was established.
#: The sector that takes final use no named sector explains (industrial motors, catalysts,
#: glass …); scenarios may name it (a substitution in every other use).
OTHER_SECTOR = "other"
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
    #: (dataset fingerprint, material, year, extra regions) the network was built for.
    key: tuple[str, str, int, tuple[str, ...]] = field(default=("", "", 0, ()), compare=False)

    def __post_init__(self) -> None:
        # Shared through the cache by every analysis and run: nobody may write into it.
        for arr in (self.production_t, self.mix.data, self.mix.indices, self.mix.indptr, self.A.data):
            arr.flags.writeable = False
        for arr in (self.A.indices, self.A.indptr):
            arr.flags.writeable = False

    @cached_property
    def regions(self) -> pd.Index:
        """Region codes in node order (sorted); position = the region's index in R-shaped arrays."""
        return pd.Index(self.nodes.levels[0][self.nodes.codes[0]].unique(), name="region_id")

    @cached_property
    def commodities(self) -> pd.Index:
        """Commodity codes in stage order; position = the commodity's index in K-shaped arrays."""
        return pd.Index(self.stages["commodity_id"], name="commodity_id")

    @cached_property
    def region_position(self) -> dict[str, int]:
        """Region code → its position in R-shaped arrays."""
        return {str(r): i for i, r in enumerate(self.regions)}

    @cached_property
    def commodity_position(self) -> dict[str, int]:
        """Commodity code → its position in K-shaped arrays."""
        return {str(k): i for i, k in enumerate(self.commodities)}

    def region_index(self, regions: Iterable[str]) -> npt.NDArray[np.intp]:
        """Positions of ``regions`` in :attr:`regions` (−1 where the network has none)."""
        return np.asarray(self.regions.get_indexer(pd.Index(list(regions))), dtype=np.intp)

    def commodity_index(self, commodities: Iterable[str]) -> npt.NDArray[np.intp]:
        """Positions of ``commodities`` in :attr:`commodities` (−1 where not in the chain)."""
        return np.asarray(self.commodities.get_indexer(pd.Index(list(commodities))), dtype=np.intp)

    def node_index(self, regions: Iterable[str], commodities: Iterable[str]) -> npt.NDArray[np.intp]:
        """Node positions of (region, commodity) pairs, elementwise (−1 where absent)."""
        r, k = self.region_index(regions), self.commodity_index(commodities)
        return np.where((r >= 0) & (k >= 0), r * len(self.commodities) + k, -1).astype(np.intp)

    def node(self, region: str, commodity: str) -> int:
        """Position of a node; a clear error if the region has no node for the commodity."""
        try:
            return int(self.nodes.get_loc((region, commodity)))  # type: ignore[arg-type]
        except KeyError:
            known = ", ".join(sorted(self.regions))
            raise ChokepointError(
                f"region {region!r} has no {commodity} node in {self.material} {self.year}; regions: {known}"
            ) from None


#: Networks by (fingerprint, material, year, extra regions); a few, most recently used last.
_CACHE: OrderedDict[tuple[str, str, int, tuple[str, ...]], SupplyNetwork] = OrderedDict()
_CACHE_SIZE = 8


def build_network(
    ds: Dataset, material: str = "rare_earths", year: int = 2024, consumers: Iterable[str] = ()
) -> SupplyNetwork:
    """The supply network of ``material`` in ``year``: built once per (dataset, material, year).

    Its regions are :func:`data_regions` of the material's commodities; ``consumers`` adds regions
    the data never mention (they buy at the world production mix). The result is cached and
    read-only, so every analysis and run on the same dataset shares one network.
    """
    chain = material_chain(ds, material)
    ks = list(chain["commodity_id"])
    known = data_regions(ds, ks)
    extra = tuple(sorted(set(consumers) - known - {WORLD}))
    key = (ds.fingerprint, material, int(year), extra)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    net = _build(ds, chain, int(year), sorted(known | set(extra)), key)
    _CACHE[key] = net
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return net


def _build(
    ds: Dataset, chain: pd.DataFrame, year: int, regions: list[str], key: tuple[str, str, int, tuple[str, ...]]
) -> SupplyNetwork:
    """The reconciled base year of one chain (:func:`chokepoint.baseyear.reconcile`) → the network."""
    material, ks = str(chain["material"].iloc[0]), list(chain["commodity_id"])
    by = reconcile(ds, material, year)
    regions = sorted({*regions, *by.regions})
    nodes = pd.MultiIndex.from_product([regions, ks], names=["region_id", "commodity_id"])
    n = len(nodes)
    fitted = pd.Series(by.production_t.ravel(), index=pd.MultiIndex.from_product([by.regions, by.commodities]))
    production = fitted.reindex(nodes).fillna(0.0)
    mix_table = _mix_table(nodes, by, production)
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
        production_t=np.asarray(production.to_numpy(dtype=float), dtype=np.float64),
        mix=mix,
        A=A,
        recipe=recipe.reset_index(drop=True),
        mix_table=mix_table.reset_index(drop=True),
        key=key,
    )


def _lane_sources(by: BaseYear) -> pd.DataFrame:
    """The source ids of the trade targets on each (origin, destination, commodity), space-joined."""
    t = by.targets
    t = t[t["kind"].isin(["trade_quantity", "trade_value"]) & (t["region_id"] != WORLD) & (t["partner_id"] != WORLD)]
    return (
        t.groupby(["region_id", "partner_id", "commodity_id"])["source_id"]
        .agg(lambda s: " ".join(sorted(set(s) - {""})))
        .rename_axis(["origin_id", "region_id", "commodity_id"])
        .reset_index()
    )


def _production_sources(by: BaseYear) -> pd.Series:
    """The source ids of the production targets that read each (region, commodity)'s output,
    space-joined: a row filed under a product group is the source of each member it sums."""
    made = np.flatnonzero((by.targets["kind"] == "production").to_numpy())
    terms = by.terms[by.terms["target"].isin(made) & (by.terms["var"] < len(by.regions) * len(by.commodities))]
    r, k = np.divmod(terms["var"].to_numpy(), len(by.commodities))
    read = pd.DataFrame(
        {
            "region_id": by.regions[r],
            "commodity_id": by.commodities[k],
            "source_id": by.targets["source_id"].to_numpy()[terms["target"].to_numpy()],
        }
    )
    return read.groupby(["region_id", "commodity_id"])["source_id"].agg(lambda s: " ".join(sorted(set(s))))


def _mix_table(nodes: pd.MultiIndex, by: BaseYear, production: pd.Series) -> pd.DataFrame:
    """Each node's supply by origin with the rows it rests on, and its ``share`` of the node.

    Reconciled, so consistent by construction: a region's own supply is its production net of
    exports (the fit ships no more than a region makes) and its imports are the fitted flows.
    """
    flows = by.flows.rename(columns={"destination_id": "region_id", "flow_t": "quantity_t"})
    exports = flows.groupby(["origin_id", "commodity_id"])["quantity_t"].sum()
    exports = exports.rename_axis(["region_id", "commodity_id"]).reindex(nodes).fillna(0.0)
    domestic = (production - exports).clip(lower=0.0)
    own_sources = _production_sources(by)
    own = pd.DataFrame(
        {
            "origin_id": nodes.get_level_values(0),
            "region_id": nodes.get_level_values(0),
            "commodity_id": nodes.get_level_values(1),
            "quantity_t": domestic.to_numpy(),
            "rests_on": "reconciled production net of exports",
            "source_id": own_sources.reindex(nodes).fillna("").to_numpy(),
        }
    ).query("quantity_t > 0")
    imports = flows.merge(_lane_sources(by), how="left")
    imports["source_id"] = imports["source_id"].fillna("")
    imports["rests_on"] = np.where(
        imports["source_id"] != "", "reconciled import (reported lane)", "reconciled import (lane no statistic reports)"
    )
    sources = concat([own, imports[own.columns]]).assign(mix_basis=MIX_BASES[0])
    # A node whose supply is below the fit's noise (a millionth of the commodity's largest output)
    # has none: a producer then supplies itself (it ships all it makes), any other region buys at
    # the world production mix.
    biggest = production.groupby(level="commodity_id").transform("max").clip(lower=1.0)
    noise = 1e-6 * biggest
    supply = sources.groupby(["region_id", "commodity_id"])["quantity_t"].sum().reindex(nodes).fillna(0.0)
    empty = nodes[(supply <= noise).to_numpy()]
    sources = sources[~pd.MultiIndex.from_frame(sources[["region_id", "commodity_id"]]).isin(empty)]
    makers = (production > noise) & nodes.isin(empty)
    self_supplied = pd.DataFrame(
        {
            "origin_id": nodes[makers].get_level_values(0),
            "region_id": nodes[makers].get_level_values(0),
            "commodity_id": nodes[makers].get_level_values(1),
            "quantity_t": production[makers].to_numpy(),
            "rests_on": "reconciled production (all exported; supplies itself)",
            "source_id": own_sources.reindex(nodes[makers]).fillna("").to_numpy(),
            "mix_basis": MIX_BASES[0],
        }
    )
    sources = concat([sources, self_supplied])

    # Regions without any supply in the base year buy at the world production mix.
    covered = pd.MultiIndex.from_frame(sources[["region_id", "commodity_id"]])
    world = production[production > noise].rename("quantity_t").reset_index()
    world = world.rename(columns={"region_id": "origin_id"})
    world["quantity_t"] /= world.groupby("commodity_id")["quantity_t"].transform("sum")
    world = world.merge(own[["origin_id", "commodity_id", "source_id"]], how="left").fillna({"source_id": ""})
    gaps = nodes[~nodes.isin(covered)].to_frame(index=False).merge(world, on="commodity_id")
    gaps = gaps.assign(rests_on="world production share", mix_basis=MIX_BASES[1])
    mix_table = concat([sources, gaps])
    mix_table["share"] = mix_table["quantity_t"] / mix_table.groupby(["region_id", "commodity_id"])[
        "quantity_t"
    ].transform("sum")
    return mix_table.sort_values(["region_id", "commodity_id", "share"], ascending=[True, True, False])
