"""Rank the nodes whose loss would hurt a region's end use most: the list an analyst would brief.

Each (origin, stage) node that produces is knocked out in turn, all knock-outs at once as the
columns of one availability matrix. Availability ``a`` (fraction of normal output) flows down
the chain stage by stage: a node can run at the availability of its scarcest input, and the
input delivered to region ``r`` is the mix-weighted availability of its origins,
``d[(r, j)] = Σₒ mix[(o, j), (r, j)] · a[(o, j)]``. Two readings:

- *static*: no rerouting; buyers of the lost node lose that share of their supply;
- *rerouted*: other producers of the same stage run their spare capacity (production ×
  ``(1/utilisation − 1)``, available only as far as their own inputs are) and the lost output is
  replaced up to that spare.

The loss is ``1 − d`` at the sector's products delivered to the region, weighted by the
sector's use of each (activity × intensity).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.network import SupplyNetwork, build_network

__all__ = ["chokepoints", "knockout_availability", "sector_products"]


def sector_products(ds: Dataset, sector: str, region: str, year: int) -> pd.Series:
    """Tonnes (or relative weights) of each commodity a sector uses in a region and year.

    Weights are activity × intensity where the region's activity is in the dataset, else the
    intensities alone (the ranking only needs relative weights).
    """
    sectors = set(ds["sectors"]["sector_id"])
    if sector not in sectors:
        raise ChokepointError(f"unknown sector {sector!r}; sectors: {', '.join(sorted(sectors))}")
    intensities = ds["intensities"]
    uses = intensities[intensities["sector_id"] == sector].set_index("commodity_id")["intensity_kg_per_unit"]
    if uses.empty:
        raise ChokepointError(f"sector {sector!r} has no intensities in the dataset; add rows to intensities.csv")
    activity = ds["sector_activity"]
    act = activity[(activity["sector_id"] == sector) & (activity["region_id"] == region) & (activity["year"] == year)][
        "activity"
    ]
    scale = float(act.iloc[0]) / 1000.0 if len(act) else 1.0
    return pd.Series(uses.to_numpy() * scale, index=uses.index, name="weight")


def knockout_availability(
    net: SupplyNetwork, knocked: npt.NDArray[np.intp], utilisation: float | None
) -> npt.NDArray[np.float64]:
    """Delivered availability of every node (rows) with each ``knocked`` node lost (columns).

    ``utilisation`` None means no rerouting; otherwise spare capacity is production ×
    ``(1/utilisation − 1)``. Returns ``d`` (nodes × knock-outs): the fraction of each region's
    normal supply of each commodity that still arrives.
    """
    n, K = len(net.nodes), len(knocked)
    commodity = np.asarray(net.nodes.get_level_values("commodity_id"))
    region = np.asarray(net.nodes.get_level_values("region_id"))
    a = np.ones((n, K))
    d = np.ones((n, K))
    columns = np.arange(K)
    mix = net.mix.tocsr()
    spare_share = 0.0 if utilisation is None else 1.0 / utilisation - 1.0
    for k in net.stages["commodity_id"]:
        idx = np.flatnonzero(commodity == k)
        inputs = net.recipe.loc[net.recipe["output_commodity_id"] == k, "input_commodity_id"]
        for j in inputs:
            # delivered availability of input j in the same region as each node of stage k
            source = net.nodes.get_indexer(pd.MultiIndex.from_arrays([region[idx], np.full(len(idx), j)]))
            a[idx] = np.minimum(a[idx], d[source])
        here = np.isin(knocked, idx)
        if here.any():
            lost = knocked[here]
            a[lost, columns[here]] = 0.0
            if spare_share > 0:
                prod = net.production_t
                spare = spare_share * (prod[idx, None] * a[idx][:, here]).sum(axis=0)
                a[lost, columns[here]] = np.minimum(1.0, spare / np.maximum(prod[lost], 1e-300))
        block = mix[idx][:, idx]
        d[idx] = block.T @ a[idx]
    return d


def chokepoints(
    ds: Dataset,
    region: str,
    sector: str,
    year: int = 2024,
    material: str = "rare_earths",
    utilisation: float = 0.8,
    net: SupplyNetwork | None = None,
) -> pd.DataFrame:
    """Rank every producing (origin, stage) node by the end-use supply ``region``'s ``sector`` loses.

    ``utilisation``: assumed capacity utilisation of producers (no public figures), which sets
    the spare capacity available for rerouting. Returns a table indexed by (origin_id, stage)
    with ``loss_static_pct``, ``loss_rerouted_pct``, the node's ``production_t`` and ``rank``.
    ``net``: the shared network (default: the cached one of ``ds``, ``material`` and ``year``).
    """
    if not 0 < utilisation <= 1:
        raise ChokepointError(f"utilisation {utilisation} must be in (0, 1]; 0.8 means 20% of capacity is idle")
    weights = sector_products(ds, sector, region, year)
    net = net if net is not None else build_network(ds, material, year)
    products = [k for k in weights.index if k in set(net.stages["commodity_id"])]
    if not products:
        raise ChokepointError(f"sector {sector!r} uses no {material} commodity; it uses {', '.join(weights.index)}")
    targets = [net.node(region, k) for k in products]
    w = weights[products].to_numpy() / weights[products].sum()
    knocked = np.flatnonzero(net.production_t > 0)
    static = 1.0 - w @ knockout_availability(net, knocked, None)[targets]
    rerouted = 1.0 - w @ knockout_availability(net, knocked, utilisation)[targets]
    stage_of = net.stages.set_index("commodity_id")["stage"]
    knocked_commodity = net.nodes.get_level_values("commodity_id")[knocked]
    table = pd.DataFrame(
        {
            "origin_id": net.nodes.get_level_values("region_id")[knocked],
            "stage": stage_of.reindex(knocked_commodity).to_numpy(),
            "commodity_id": knocked_commodity,
            "production_t": net.production_t[knocked],
            "loss_static_pct": 100.0 * static,
            "loss_rerouted_pct": 100.0 * rerouted,
        }
    )
    table = table.sort_values(["loss_static_pct", "loss_rerouted_pct"], ascending=False, kind="stable")
    table["rank"] = np.arange(1, len(table) + 1)
    return table.set_index(["origin_id", "stage"])
