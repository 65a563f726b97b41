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
from chokepoint.dataset.groups import RARE_EARTHS, commodity_elements
from chokepoint.errors import ChokepointError
from chokepoint.foresight.pipeline import Pipeline
from chokepoint.foresight.projection import base_output, pipeline_output
from chokepoint.foresight.scenario import MATERIALS

__all__ = [
    "balance",
    "concentration_path",
    "iea_controller_index",
    "supply_path",
]

#: The stages a balance is struck at: separation, per element, and magnets.
BALANCED = ("refining", "magnet")
#: The magnet stage's material in the balance: every NdFeB grade together.
MAGNETS = "ndfeb_magnet"


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


def _stage_material(ds: Dataset, output: pd.DataFrame) -> pd.DataFrame:
    """Member rows → the path's (stage, material), read from ``commodities``: mined concentrate as
    all rare earths (t REO), a separated oxide's or a metal's one element, and NdFeB magnets (the
    magnets containing Nd) as one; other rows (SmCo magnets) are dropped."""
    com = ds["commodities"].set_index("commodity_id")
    elements = commodity_elements(ds["commodities"])
    stage = output["commodity_id"].map(com["stage"])
    contains = output["commodity_id"].map(elements)
    single = contains.map(lambda e: RARE_EARTHS.get(next(iter(e))) if len(e) == 1 else None)
    magnet = (stage == "magnet") & contains.map(lambda e: "Nd" in e)
    mined = output["commodity_id"].map(com["material"]).where(stage == "mining")
    material = single.where(stage.isin(["refining", "metal"])).fillna(mined).mask(magnet, MAGNETS)
    out = output.assign(stage=stage, material=material)
    return out[out["material"].notna()]


def supply_path(
    ds: Dataset,
    pipe: Pipeline,
    utilisation: float = 0.85,
    controller: str = "CHN",
    controller_index: pd.Series | None = None,
    added: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Expected supply per year, stage, material and region (module docs): ``supply_t``,
    ``supply_p10_t``, ``supply_p90_t`` and ``basis`` (base year or projected). ``added``: the
    pipeline's additions per member (:func:`~chokepoint.foresight.projection.pipeline_output`),
    when the caller has them already."""
    base_year = pipe.as_of
    years = np.sort(pipe.capacity["year"].unique())
    index = controller_index if controller_index is not None else iea_controller_index(ds, years, base_year, controller)
    output = base_output(ds, base_year)
    if added is None:
        added = pipeline_output(ds, pipe, output, utilisation, controller)
    keys = ["year", "stage", "material", "region_id"]
    base = _stage_material(ds, output).groupby(keys[1:], as_index=False).agg(supply_t=("production_t", "sum"))
    added = (
        _stage_material(ds, added)
        .groupby(keys, as_index=False)
        .agg(
            added_t_per_yr=("added_t_per_yr", "sum"),
            added_p10_ratio=("added_p10_ratio", "first"),
            added_p90_ratio=("added_p90_ratio", "first"),
        )
    )
    grid = base.merge(pd.DataFrame({"year": years}), how="cross").merge(added, on=keys, how="outer")
    grid = grid.fillna({"supply_t": 0.0, "added_t_per_yr": 0.0, "added_p10_ratio": 1.0, "added_p90_ratio": 1.0})
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
    cols = [*keys, "supply_t", "supply_p10_t", "supply_p90_t", "basis"]
    return pd.concat([now[cols], projected[cols]], ignore_index=True).sort_values(keys).reset_index(drop=True)


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
    magnet = need.groupby("year").sum().assign(material=MAGNETS).set_index("material", append=True)
    need = pd.concat([need, magnet])
    if base_year not in need.index.get_level_values("year"):
        raise ChokepointError(f"outlook: demand has no row for the base year {base_year}")
    table = world.reset_index().merge(need.reset_index(), on=["year", "material"])
    base_demand = need.xs(base_year, level="year")["demand_t"].reindex(table["material"]).to_numpy()
    at_base = world.xs(base_year, level="year")["supply_t"]
    base_supply = at_base.reindex(pd.MultiIndex.from_frame(table[["stage", "material"]])).to_numpy()
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
    by_region = ours.groupby(["year", "region_id"], as_index=False)["supply_t"].sum()
    world = by_region.groupby("year", as_index=False)["supply_t"].sum().assign(region_id=WORLD)
    model = pd.concat([by_region, world]).rename(columns={"supply_t": "model_t"})
    table = iea[["year", "region_id", "supply_t"]].rename(columns={"supply_t": "iea_t"}).merge(model)
    at_base = table[table["year"] == base_year].set_index("region_id")
    table["model_index"] = table["model_t"] / table["region_id"].map(at_base["model_t"])
    table["iea_index"] = table["iea_t"] / table["region_id"].map(at_base["iea_t"])
    cols = ["year", "region_id", "model_index", "iea_index", "model_t", "iea_t"]
    return table[cols].sort_values(["region_id", "year"]).reset_index(drop=True)
