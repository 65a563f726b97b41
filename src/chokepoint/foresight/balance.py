"""The balance and the concentration path: demand against expected supply, year by year.

**Supply** of a stage (mined concentrate; separated oxide and metal per element; NdFeB magnets)
in a year is the base year's reconciled output (:func:`chokepoint.foresight.projection.base_output`)
plus what the project pipeline adds (:func:`~chokepoint.foresight.projection.pipeline_additions`:
its expected capacity, operating plants included, at ``utilisation``, less the base year's
output), with the controller's own output at every stage following ``controller_index`` (its
output ÷ the base year's; by default IEA's base case for China's refining of magnet rare earths,
:func:`iea_controller_index`). A plant's additions divide among the members of its group as
:func:`~chokepoint.foresight.projection.member_additions` says (an oxide plant's by the region's
ore assays). The p10/p90 band scales an element's additions by the ratio of the world
pipeline's quantile to its mean.

**Demand** comes from the outlook's technology drivers in tonnes of element on IEA's basis,
which is not the basis of the oxide statistics (IEA's 2024 magnet-REE demand, 90.9 kt, is about
the NdFeB alloy that China's blank output implies; reconciled oxide output of Nd, Pr, Dy and Tb
is 133 kt). The balance therefore puts demand on the supply's basis: the base year clears (an
assumption: 2024 had no physical shortage) and demand in a later year is the base year's supply
× demand's growth since then. Recycled end-of-life material adds to supply on the same basis.

**Concentration** per stage and year: HHI (0–10,000) and the top producer's share of the
projected output by region.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from chokepoint.baseyear import WORLD
from chokepoint.dataset import Dataset
from chokepoint.dataset.groups import RARE_EARTHS
from chokepoint.errors import ChokepointError
from chokepoint.foresight.pipeline import Pipeline
from chokepoint.foresight.projection import base_output, member_additions, pipeline_additions
from chokepoint.foresight.scenario import MATERIALS

__all__ = [
    "balance",
    "concentration_path",
    "iea_controller_index",
    "supply_path",
]

#: The stages a balance is struck at: separation, per element, and magnets.
BALANCED = ("refining", "magnet")
MINED_PREFIX, OXIDE_PREFIX, METAL_PREFIX, MAGNET_PREFIX = "ree_concentrate_", "ree_oxide_", "ree_metal_", "ndfeb_"


def iea_controller_index(ds: Dataset, years: np.ndarray, base_year: int, controller: str = "CHN") -> pd.Series:
    """The controller's refining output ÷ its base year's, by year: IEA's base case
    (``supply_outlook``, stage refining), linear between its years and flat after the last;
    1 (output held) where the table has no row for the controller."""
    rows = ds["supply_outlook"]
    rows = rows[(rows["region_id"] == controller) & (rows["stage"] == "refining")].sort_values("year")
    if rows.empty or base_year not in set(rows["year"]):
        return pd.Series(1.0, index=pd.Index(years, name="year"), name="controller_index")
    base = float(rows.loc[rows["year"] == base_year, "supply_t"].iloc[0])
    path = np.interp(years, rows["year"].to_numpy(dtype=float), rows["supply_t"].to_numpy(dtype=float) / base)
    return pd.Series(path, index=pd.Index(years, name="year"), name="controller_index")


def _stage_material(output: pd.DataFrame) -> pd.DataFrame:
    """Member rows → the path's (stage, material): mined concentrate as all rare earths (t REO),
    an oxide's or a metal's element, or all NdFeB magnets."""
    k = output["commodity_id"]
    stage = pd.Series(pd.NA, index=output.index, dtype=object)
    material = pd.Series(pd.NA, index=output.index, dtype=object)
    for prefix, name in ((MINED_PREFIX, "mining"), (OXIDE_PREFIX, "refining"), (METAL_PREFIX, "metal")):
        rows = k.str.startswith(prefix)
        stage[rows] = name
        material[rows] = k[rows].str.removeprefix(prefix).str.title().map(RARE_EARTHS)
    mined, magnets = k.str.startswith(MINED_PREFIX), k.str.startswith(MAGNET_PREFIX)
    material[mined] = "rare_earths"
    stage[magnets], material[magnets] = "magnet", "ndfeb_magnet"
    out = output.assign(stage=stage, material=material)
    return out[out["material"].notna()]


def supply_path(
    ds: Dataset,
    pipe: Pipeline,
    utilisation: float = 0.85,
    controller: str = "CHN",
    controller_index: pd.Series | None = None,
) -> pd.DataFrame:
    """Expected supply per year, stage, material and region (module docs): ``supply_t``,
    ``supply_p10_t``, ``supply_p90_t`` and ``basis`` (base year or projected)."""
    base_year = pipe.as_of
    years = np.sort(pipe.capacity["year"].unique())
    index = controller_index if controller_index is not None else iea_controller_index(ds, years, base_year, controller)
    output = base_output(ds, base_year)
    by_region = _stage_material(output).groupby(["stage", "material", "region_id"], as_index=False)
    base = by_region.agg(supply_t=("production_t", "sum"))
    added = pipeline_additions(ds, pipe, output, utilisation, controller)
    added = _stage_material(member_additions(ds, output, added, base_year))
    keys = ["year", "stage", "material", "region_id"]
    added = added.groupby(keys, as_index=False).agg(
        added_t_per_yr=("added_t_per_yr", "sum"),
        added_p10_ratio=("added_p10_ratio", "first"),
        added_p90_ratio=("added_p90_ratio", "first"),
    )
    grid = base.merge(pd.DataFrame({"year": years}), how="cross")
    grid = grid.merge(added, on=["year", "stage", "material", "region_id"], how="outer")
    grid["supply_t"] = grid["supply_t"].fillna(0.0)
    grid[["added_t_per_yr"]] = grid[["added_t_per_yr"]].fillna(0.0)
    grid[["added_p10_ratio", "added_p90_ratio"]] = grid[["added_p10_ratio", "added_p90_ratio"]].fillna(1.0)
    ctrl = (grid["region_id"] == controller).to_numpy()
    grid.loc[ctrl, "supply_t"] *= index.reindex(grid.loc[ctrl, "year"]).to_numpy()
    extra = grid["added_t_per_yr"]
    projected = grid.assign(
        supply_t=grid["supply_t"] + extra,
        supply_p10_t=grid["supply_t"] + extra * grid["added_p10_ratio"],
        supply_p90_t=grid["supply_t"] + extra * grid["added_p90_ratio"],
        basis="projected",
    )
    now = base.assign(year=base_year, supply_p10_t=base["supply_t"], supply_p90_t=base["supply_t"], basis="base year")
    cols = ["year", "stage", "material", "region_id", "supply_t", "supply_p10_t", "supply_p90_t", "basis"]
    return pd.concat([now[cols], projected[cols]], ignore_index=True).sort_values(cols[:4]).reset_index(drop=True)


def balance(supply: pd.DataFrame, demand: pd.DataFrame) -> pd.DataFrame:
    """Demand against expected supply per year and material at the :data:`BALANCED` stages.

    ``demand``: ``year, material, demand_t`` and optionally ``recycled_t``, on its own basis;
    the magnet stage's demand grows as the magnet rare earths' total. Returns ``year, stage,
    material, demand_t, supply_t, supply_p10_t, supply_p90_t, recycled_t, balance_t,
    deficit_share`` (0–1: the share of demand that expected supply does not meet)."""
    base_year = int(supply["year"].min())
    struck = supply[supply["stage"].isin(BALANCED)]
    world = struck.groupby(["year", "stage", "material"])[["supply_t", "supply_p10_t", "supply_p90_t"]].sum()
    need = (
        demand.assign(recycled_t=demand.get("recycled_t", 0.0))
        .groupby(["year", "material"])[["demand_t", "recycled_t"]]
        .sum()
    )
    magnet = need.groupby("year").sum().assign(material="ndfeb_magnet").set_index("material", append=True)
    need = pd.concat([need, magnet])
    if base_year not in need.index.get_level_values("year"):
        raise ChokepointError(f"outlook: demand has no row for the base year {base_year}")
    at_base = need.xs(base_year, level="year")
    table = world.reset_index().merge(need.reset_index(), on=["year", "material"])
    base_demand = at_base["demand_t"].reindex(table["material"]).to_numpy()
    base_supply = table.merge(
        world.xs(base_year, level="year")["supply_t"].rename("base_t").reset_index(), on=["stage", "material"]
    )["base_t"].to_numpy()
    scale = base_supply / base_demand  # supply basis ÷ demand basis, fixed at the base year
    table["demand_t"] = table["demand_t"] * scale
    table["recycled_t"] = table["recycled_t"] * scale
    for column in ("supply_t", "supply_p10_t", "supply_p90_t"):
        table[column] = table[column] + table["recycled_t"]
    table["balance_t"] = table["supply_t"] - table["demand_t"]
    table["deficit_share"] = (-table["balance_t"] / table["demand_t"]).clip(lower=0.0)
    cols = ["year", "stage", "material", "demand_t", "supply_t", "supply_p10_t", "supply_p90_t", "recycled_t"]
    return (
        table[[*cols, "balance_t", "deficit_share"]].sort_values(["stage", "material", "year"]).reset_index(drop=True)
    )


def concentration_path(supply: pd.DataFrame) -> pd.DataFrame:
    """HHI (0–10,000, :func:`~chokepoint.analysis.concentration.hhi`'s scale) and the top
    producer with its share per year, stage and material."""
    keys = ["year", "stage", "material"]
    rows = supply[supply["supply_t"] > 0]
    share = rows["supply_t"] / rows.groupby(keys)["supply_t"].transform("sum")
    rows = rows.assign(share=share, hhi=(100.0 * share) ** 2)
    top = rows.loc[rows.groupby(keys)["share"].idxmax(), [*keys, "region_id", "share"]]
    out = rows.groupby(keys, as_index=False)["hhi"].sum().merge(top, on=keys)
    return out.rename(columns={"region_id": "top1_region", "share": "top1_share"})


def iea_supply_check(ds: Dataset, supply: pd.DataFrame) -> pd.DataFrame:
    """The projected refining of the magnet rare earths against IEA's base case, both as
    multiples of their base year, per region IEA names (the rest pooled as ROW) and the world:
    ``year, region_id, model_index, iea_index, model_t, iea_t``. A cross-check, not a fit: IEA
    weights a longer project list by its own probabilities."""
    iea = ds["supply_outlook"]
    iea = iea[(iea["stage"] == "refining") & (iea["material"] == "magnet_rare_earths")]
    if iea.empty:
        return pd.DataFrame(columns=["year", "region_id", "model_index", "iea_index", "model_t", "iea_t"])
    base_year = int(supply["year"].min())
    named = set(iea["region_id"]) - {WORLD}
    ours = supply[(supply["stage"] == "refining") & supply["material"].isin(MATERIALS)]
    ours = ours.assign(region_id=ours["region_id"].where(ours["region_id"].isin(named), "ROW"))
    model = ours.groupby(["year", "region_id"])["supply_t"].sum()
    model = pd.concat(
        [
            model,
            model.groupby("year")
            .sum()
            .to_frame()
            .assign(region_id=WORLD)
            .set_index("region_id", append=True)["supply_t"],
        ]
    )
    table = iea.set_index(["year", "region_id"])["supply_t"].rename("iea_t").to_frame()
    table = table.join(model.rename("model_t"), how="inner").reset_index()
    at_base = table[table["year"] == base_year].set_index("region_id")
    table["model_index"] = table["model_t"] / table["region_id"].map(at_base["model_t"])
    table["iea_index"] = table["iea_t"] / table["region_id"].map(at_base["iea_t"])
    cols = ["year", "region_id", "model_index", "iea_index", "model_t", "iea_t"]
    return table[cols].sort_values(["region_id", "year"]).reset_index(drop=True)
