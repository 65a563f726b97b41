"""How exposed each region is: direct import dependence, and dependence traced upstream.

Direct dependence is where a region gets a commodity itself (its supply mix by origin, and net
import reliance). Effective dependence traces that supply back through every stage with the
network's Leontief system: the requirement at each (origin, stage) node per tonne delivered,
``X = (I − A)⁻¹ · m``, where ``m`` is the region's supply mix of the product. Japan's magnets
may be made in Japan, yet rest on Chinese metal and oxide: direct and effective shares side by
side show it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.dataset.groups import group_members
from chokepoint.errors import ChokepointError
from chokepoint.iomath import solve_leontief
from chokepoint.network import SupplyNetwork, build_network

__all__ = ["effective_dependence", "exposure", "import_reliance"]


def import_reliance(
    ds: Dataset, material: str = "rare_earths", year: int = 2024, net: SupplyNetwork | None = None
) -> pd.DataFrame:
    """Net import reliance per region and commodity: ``(imports − exports) / apparent consumption``.

    Apparent consumption = production + imports − exports (USGS definition). Trade is in
    product weight and production in contained units, so reliance is clipped to 0–100%. Flows
    known only in dollars count at their estimated tonnage (see :mod:`chokepoint.network`).
    Regions and commodities with no trade data are absent rather than guessed.
    Indexed by (region_id, commodity_id). ``net``: the shared network (default: the cached one
    of ``ds``, ``material`` and ``year``).
    """
    return _reliance(net if net is not None else build_network(ds, material, year))


def _reliance(net: SupplyNetwork) -> pd.DataFrame:
    mix = net.mix_table
    traded = mix[(mix["mix_basis"] == "production and trade") & (mix["origin_id"] != mix["region_id"])]
    imports = traded.groupby(["region_id", "commodity_id"])["quantity_t"].sum()
    exports = (
        traded.groupby(["origin_id", "commodity_id"])["quantity_t"].sum().rename_axis(["region_id", "commodity_id"])
    )
    production = pd.Series(net.production_t, index=net.nodes)
    table = pd.concat({"production_t": production, "imports_t": imports, "exports_t": exports}, axis=1)
    table = table.loc[table[["imports_t", "exports_t"]].notna().any(axis=1)].fillna(0.0)
    table["apparent_consumption_t"] = (table["production_t"] + table["imports_t"] - table["exports_t"]).clip(lower=0)
    reliance = (table["imports_t"] - table["exports_t"]) / table["apparent_consumption_t"]
    table["net_import_reliance_pct"] = 100.0 * reliance.where(table["apparent_consumption_t"] > 0, 0.0).clip(0.0, 1.0)
    return table.rename_axis(["region_id", "commodity_id"]).sort_index()


def effective_dependence(net: SupplyNetwork, region: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Direct and upstream-traced origin shares for every product delivered to ``region`` (one,
    several, or all).

    Returns a tidy table indexed by (region_id, product_id, stage, origin_id) with
    ``requirement_t_per_t`` (tonnes of the stage's commodity from that origin needed per tonne
    of product delivered, through all tiers), ``effective_share_pct`` (its share of the stage's
    requirement) and ``direct_share_pct`` (the share of that origin in the region's own supply of
    the stage's commodity). For the product's own stage the two shares are equal. ``mix_basis``,
    ``rests_on`` and ``source_id`` name the dataset rows behind the direct share (production or
    trade rows, or the world production mix where the region has no data).
    """
    regions = list(net.regions) if region is None else [region] if isinstance(region, str) else list(region)
    stage_of = net.stages.set_index("commodity_id")["stage"]
    columns = [net.node(r, k) for r in regions for k in net.stages["commodity_id"]]
    Y = net.mix[:, columns].toarray()
    X = solve_leontief(net.A, Y).X
    nodes = net.nodes
    origin = np.asarray(nodes.get_level_values("region_id"))
    commodity = np.asarray(nodes.get_level_values("commodity_id"))
    product_nodes = nodes[columns]
    n, m = X.shape
    table = pd.DataFrame(
        {
            "region_id": np.tile(np.asarray(product_nodes.get_level_values("region_id")), n),
            "product_id": np.tile(np.asarray(product_nodes.get_level_values("commodity_id")), n),
            "origin_id": np.repeat(origin, m),
            "commodity_id": np.repeat(commodity, m),
            "requirement_t_per_t": X.ravel(),
        }
    )
    table = table[table["requirement_t_per_t"] > 1e-12]
    total = table.groupby(["region_id", "product_id", "commodity_id"])["requirement_t_per_t"].transform("sum")
    table["effective_share_pct"] = 100.0 * table["requirement_t_per_t"] / total
    # The region's own sourcing mix of each stage's commodity, for the direct view.
    mix = net.mix_table
    table = table.merge(mix[["region_id", "commodity_id", "origin_id", "share", "rests_on", "source_id"]], how="left")
    table = table.merge(mix.groupby(["region_id", "commodity_id"], as_index=False)["mix_basis"].first(), how="left")
    table["direct_share_pct"] = 100.0 * table.pop("share").fillna(0.0)
    table["stage"] = table["commodity_id"].map(stage_of)
    order = net.stages.set_index("commodity_id")["stage_order"]
    table = table.assign(_p=table["product_id"].map(order), _s=table["commodity_id"].map(order))
    table = table.sort_values(["region_id", "_p", "_s", "effective_share_pct"], ascending=[True, True, True, False])
    return table.drop(columns=["_p", "_s"]).set_index(["region_id", "product_id", "stage", "origin_id"])[
        [
            *("commodity_id", "requirement_t_per_t", "effective_share_pct", "direct_share_pct"),
            *("mix_basis", "rests_on", "source_id"),
        ]
    ]


def exposure(
    ds: Dataset,
    region: str,
    year: int = 2024,
    material: str = "rare_earths",
    products: list[str] | None = None,
    net: SupplyNetwork | None = None,
) -> pd.DataFrame:
    """``region``'s direct and effective dependence for ``products`` (default: every stage; a
    product group such as ``ndfeb_magnet`` means all its members).

    The rows of each product show, stage by stage, which origins its supply rests on, with the
    region's net import reliance for the stage's commodity where trade data exist. ``net``: the
    shared network (default: the cached one of ``ds``, ``material`` and ``year``; a region the
    data never mention is added to it, buying at the world production mix).
    """
    if region not in set(ds["regions"]["region_id"]):
        raise ChokepointError(
            f"unknown region {region!r}; use an ISO3 code such as JPN, USA, DEU (see data/regions.csv)"
        )
    if net is None or region not in net.regions:
        # A region without production or trade data still buys: at the world production mix.
        net = build_network(ds, material, year, consumers=[region])
    table = effective_dependence(net, region)
    reliance = _reliance(net)["net_import_reliance_pct"].rename_axis(["region_id", "commodity_id"])
    keys = pd.MultiIndex.from_arrays([table.index.get_level_values("region_id"), table["commodity_id"]])
    table["net_import_reliance_pct"] = reliance.reindex(keys).to_numpy()
    if products:
        # a product group (the statistics' code, e.g. ndfeb_magnet) stands for its members
        groups = group_members(ds["commodities"])
        products = [m for p in products for m in groups.get(p, (p,))]
        unknown = sorted(set(products) - set(net.stages["commodity_id"]))
        if unknown:
            raise ChokepointError(f"unknown product {unknown[0]!r}; products: {', '.join(net.stages['commodity_id'])}")
        table = table[table.index.get_level_values("product_id").isin(products)]
    return table
