"""A future year's dataset: the base year's rows carried forward under an outlook's growth.

The base year is the last year with reported data; a projected year is built from it so that
the same base-year fit, network and exposure core (and the simulation) run on it unchanged:

- **final use**: every ``sector_activity`` row of the base year is multiplied by its sector's
  growth (the outlook's driver for that sector; ``demand_growth`` for a sector it does not name);
- **production**, per member commodity from the *reconciled* base year (:func:`base_output`,
  which includes output no production row reports, such as Germany's magnets seen in its
  exports): the world total grows with ``demand_growth``; a producer outside the controller
  makes its base-year output plus what the pipeline adds (``added_t``, :func:`pipeline_additions`:
  its expected capacity at a utilisation, less what the region made; a group's addition divided
  among its members by :func:`member_additions`); the controller makes the rest, the residual
  supplier it has been since 2011 (never below zero: where others outgrow demand, the world
  total is theirs);
- **trade**: every *reconciled* base-year flow becomes a trade row (the reported rows, the value
  rows and the sourcing shares the fit read are all in it, so Japan's oxide imports, seen only
  in a share, are kept); each grows as its exporter's output of the product group grows (China's
  with the demand others cannot meet), less the share of the importer's grown imports that its
  own new output replaces (clipped to 0–1); ``trade_shares`` are not carried (the flows hold
  what they said, and the projection lets the sourcing move); ``prices``, ``stocks`` and
  ``sector_values`` are carried unchanged (real prices and stock cover held at the base year, an
  assumption).

Every projected row says in its note what it was projected from; a carried sector-activity,
price or stock row keeps its source, and a row from the fit (production, flows) cites
``chokepoint_projection``, a source row the projection adds, since it rests on many (the base
year's ``base_year_fit`` table names them). The projected dataset passes the schema like any other.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from chokepoint.analysis.exposure import effective_dependence
from chokepoint.baseyear import WORLD, material_chain, product_groups, reconcile
from chokepoint.dataset import Dataset
from chokepoint.dataset.groups import group_members
from chokepoint.errors import ChokepointError
from chokepoint.foresight.pipeline import Pipeline
from chokepoint.network import build_network

__all__ = [
    "base_output",
    "controller_dependence",
    "member_additions",
    "pipeline_additions",
    "pipeline_output",
    "project_dataset",
]

OXIDES = "ree_oxide"
#: The source of a projected year's rows that come from the fit, added to a projected dataset.
PROJECTION_SOURCE = "chokepoint_projection"
_PROJECTION_ROW = {
    "source_id": PROJECTION_SOURCE,
    "publisher": "Chokepoint project",
    "title": "Projected base year of the outlook (docs/outlook.md)",
    "section": "Rows of a projected year: the reconciled base year carried forward under an outlook scenario",
    "published_year": 2026,
    "url": None,
    "note": "Not a publication: marks the derived rows of a projected year; each row's note says what it was "
    "projected from. The base year's own rows and their sources are in the base_year_fit table.",
}

#: Tables carried unchanged into the projected year.
CARRIED = ("prices", "stocks", "sector_values")


def _note(frame: pd.DataFrame, base_year: int, how: str) -> pd.Series:
    return f"Projected from {base_year} ({how}). " + frame["note"].fillna("").astype(str)


def base_output(ds: Dataset, base_year: int, material: str = "rare_earths") -> pd.DataFrame:
    """The reconciled base year's output (``region_id, commodity_id, production_t``; members,
    positive only): what the fit says each region made, including where no production row
    reports it (Germany's magnets, seen only in its exports)."""
    by = reconcile(ds, material, base_year)
    out = _long(by.production_t, by.regions, by.commodities, "production_t", ["region_id", "commodity_id"])
    return out[out["production_t"] > 1e-6].reset_index(drop=True)


def _long(values: np.ndarray, rows: pd.Index, columns: pd.Index, name: str, names: list[str]) -> pd.DataFrame:
    """A (rows × columns) array as a tidy table: ``names`` and ``name``, one row per cell."""
    index = pd.MultiIndex.from_product([rows, columns], names=names)
    return pd.DataFrame({name: np.asarray(values, dtype=float).ravel()}, index=index).reset_index()


def _member_split(
    ds: Dataset, base: pd.DataFrame, final_use: pd.DataFrame, regions: list[str], group: str
) -> pd.DataFrame:
    """How new capacity of ``group`` in each of ``regions`` divides among its members (rows sum
    to 1). Separated oxides: as the region's ore assays (``element_content``; hard rock where it
    mines both kinds) — the base year's regional oxide mix is what the fit needed to place, not
    what a plant makes (it puts 366 t of Dy oxide in Australia). Other groups (magnets, metals):
    as the region's own base-year final use of the members (a new plant makes what its region
    uses, an assumption: no plant's grade mix is in the data). Else as the world's base-year
    output of the members."""
    members = list(group_members(ds["commodities"]).get(group, (group,)))
    made = base.groupby("commodity_id")["production_t"].sum().reindex(members).fillna(0.0)
    world = made / max(float(made.sum()), 1e-300)
    if group == OXIDES:
        assay = ds["element_content"]
        assay = assay[assay["commodity_id"].str.startswith("ree_concentrate")].sort_values("commodity_id")
        assay = assay[assay["commodity_id"] == assay.groupby("region_id")["commodity_id"].transform("first")]
        assay = assay.assign(member=OXIDES + "_" + assay["element"].str.lower())
        own = assay.pivot_table(index="region_id", columns="member", values="share_of_reo", aggfunc="sum")
    else:
        own = final_use[final_use["commodity_id"].isin(members)].pivot_table(
            index="region_id", columns="commodity_id", values="final_t", aggfunc="sum"
        )
    split = own.reindex(index=regions, columns=members).fillna(0.0)
    unknown = split.sum(axis=1) <= 0
    split.loc[unknown] = world.to_numpy()
    return split.div(split.sum(axis=1), axis=0).rename_axis("region_id")


def pipeline_additions(
    ds: Dataset, pipe: Pipeline, base: pd.DataFrame, utilisation: float = 0.85, controller: str = "CHN"
) -> pd.DataFrame:
    """The output the pipeline adds outside ``controller`` by year, region and product group:
    ``added_t_per_yr = max(0, utilisation × expected capacity − base-year output)``, the
    expected capacity counting the facilities operating now, so a plant still ramping in the
    base year (MP's separation, 1,294 t of oxide in 2024) adds the rest of its nameplate. The
    world's ``added_p10_ratio``/``added_p90_ratio``: the same with the pipeline's 10/90%
    quantiles, over the expected, per group and year (1 where nothing is added). Quantiles of
    a region are not additive, so an element's band scales its additions by the world's ratio."""
    if not 0 < utilisation <= 1:
        raise ChokepointError(f"outlook: utilisation {utilisation} must be in (0, 1]")
    cap = pipe.capacity[pipe.capacity["region_id"] != controller]
    by_group = _by_group(base, _group_of(ds))
    made = by_group.reindex(pd.MultiIndex.from_frame(cap[["region_id", "commodity_id"]])).fillna(0.0).to_numpy()
    out = cap[["year", "region_id", "commodity_id"]].copy()
    for q in ("expected", "p10", "p90"):
        out[q] = np.clip(utilisation * cap[f"{q}_t_per_yr"].to_numpy() - made, 0.0, None)
    world = out.groupby(["year", "commodity_id"])[["expected", "p10", "p90"]].transform("sum")
    mean = world["expected"].where(world["expected"] > 0)
    return out.assign(
        added_t_per_yr=out.pop("expected"),
        added_p10_ratio=(world["p10"] / mean).fillna(1.0).to_numpy(),
        added_p90_ratio=(world["p90"] / mean).fillna(1.0).to_numpy(),
    ).drop(columns=["p10", "p90"])


def pipeline_output(
    ds: Dataset, pipe: Pipeline, base: pd.DataFrame, utilisation: float = 0.85, controller: str = "CHN"
) -> pd.DataFrame:
    """:func:`pipeline_additions` divided among each group's members (:func:`member_additions`):
    the new output by year, region and member commodity that the balance and a projected year use."""
    return member_additions(ds, base, pipeline_additions(ds, pipe, base, utilisation, controller), pipe.as_of)


def member_additions(
    ds: Dataset, base: pd.DataFrame, added: pd.DataFrame, base_year: int = 2024, material: str = "rare_earths"
) -> pd.DataFrame:
    """``added`` (rows with ``region_id``, ``commodity_id`` — a product group or a member —
    ``added_t_per_yr`` and any other columns) with each group row divided among its members
    (:func:`_member_split`; ``base`` is :func:`base_output` of ``base_year``); a member row is
    kept as it is."""
    split_up = {g for g, ms in group_members(ds["commodities"]).items() if ms != (g,)}
    by = reconcile(ds, material, base_year)
    final_use = _long(by.final_use_t, by.regions, by.commodities, "final_t", ["region_id", "commodity_id"])
    out = [added[~added["commodity_id"].isin(split_up)]]
    for group, rows in added[added["commodity_id"].isin(split_up)].groupby("commodity_id"):
        split = _member_split(ds, base, final_use, sorted(rows["region_id"].unique()), str(group))
        long = _long(split.to_numpy(), split.index, split.columns, "split", ["region_id", "member"])
        rows = rows.merge(long[long["split"] > 0], on="region_id")
        rows = rows.assign(commodity_id=rows.pop("member"), added_t_per_yr=rows["added_t_per_yr"] * rows.pop("split"))
        out.append(rows)
    return pd.concat(out, ignore_index=True)


def _production(base: pd.DataFrame, added: pd.Series, growth: float, controller: str, year: int) -> pd.DataFrame:
    """The projected year's production rows per member (module docs): ``base`` is the
    reconciled base year's output, ``added`` the output the pipeline adds per member."""
    keys = ["region_id", "commodity_id"]
    output = base.set_index(keys)["production_t"]
    output = output.add(added[added.index.get_level_values("region_id") != controller], fill_value=0.0)
    world = base.groupby("commodity_id")["production_t"].sum() * growth
    regions = output.index.get_level_values("region_id")
    others = output[regions != controller]
    residual = (world - others.groupby("commodity_id").sum().reindex(world.index).fillna(0.0)).clip(lower=0.0)
    ctrl = pd.Series(residual.to_numpy(), index=pd.MultiIndex.from_product([[controller], residual.index], names=keys))
    rows = pd.concat([others, ctrl]).rename("production_t").reset_index()
    rows = rows.assign(basis="derived", quality="weak", source_id=PROJECTION_SOURCE, note="")
    rows.loc[rows["region_id"] == controller, "note"] = "The controller supplies what other producers cannot."
    world_rows = (
        world.rename("production_t")
        .reset_index()
        .assign(
            region_id=WORLD,
            basis="derived",
            quality="weak",
            source_id=PROJECTION_SOURCE,
            note="World output grows with demand.",
        )
    )
    return pd.concat([rows, world_rows], ignore_index=True).assign(year=year)


def _flows(flows: pd.DataFrame, added: pd.Series, output: pd.Series, group_of: Mapping[str, str]) -> pd.DataFrame:
    """The base year's reconciled flows (``origin_id, destination_id, commodity_id, flow_t``) as
    the projected year's trade rows (module docs). ``output``: each region's projected ÷
    base-year output by (region, product group); ``added``: its new output by the same keys."""
    group = flows["commodity_id"].map(group_of)
    importer = pd.MultiIndex.from_arrays([flows["destination_id"], group])
    exporter = pd.MultiIndex.from_arrays([flows["origin_id"], group])
    grown = flows["flow_t"].to_numpy() * output.reindex(exporter).fillna(1.0).to_numpy()
    keys = [flows["destination_id"].to_numpy(), group.to_numpy()]
    grown_imports = pd.Series(grown).groupby(keys).transform("sum").to_numpy()
    new_own = added.reindex(importer).fillna(0.0).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        replaced = np.where(grown_imports > 0, new_own / grown_imports, 0.0)
    quantity = grown * np.clip(1.0 - replaced, 0.0, 1.0)
    return pd.DataFrame(
        {
            "exporter_id": flows["origin_id"].to_numpy(),
            "importer_id": flows["destination_id"].to_numpy(),
            "commodity_id": flows["commodity_id"].to_numpy(),
            "reporter_id": None,
            "quantity_t": quantity,
            "value_usd": np.nan,
            "source_id": PROJECTION_SOURCE,
            "basis": "derived",
            "quality": "weak",
            "note": "The base year's reconciled flow, grown with its exporter's output, less the imports "
            "the importer's own new output replaces.",
        }
    )[quantity > 1e-6]


def _other(table: pd.DataFrame, year: int, codes: set[str]) -> pd.DataFrame:
    """``table`` without its rows of ``codes`` in ``year`` (a share row's ``a+b`` by its first code)."""
    return table[~(table["year"].eq(year) & table["commodity_id"].str.split("+").str[0].isin(codes))]


def _group_of(ds: Dataset) -> dict[str, str]:
    """Member commodity → its product group."""
    return {m: g for g, ms in group_members(ds["commodities"]).items() for m in ms}


def _replace(table: pd.DataFrame, year: int, codes: set[str] | None, rows: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its rows of ``codes`` (every row, if None) in ``year`` replaced by ``rows``,
    in the table's own columns and dtypes."""
    kept = table[table["year"] != year] if codes is None else _other(table, year, codes)
    return pd.concat([kept, rows[table.columns].astype(table.dtypes.to_dict())], ignore_index=True)


def _by_group(output: pd.DataFrame, group_of: Mapping[str, str]) -> pd.Series:
    """Production summed per (region, product group)."""
    grouped = output.assign(commodity_id=output["commodity_id"].map(group_of))
    return grouped.groupby(["region_id", "commodity_id"])["production_t"].sum()


def project_dataset(
    ds: Dataset,
    year: int,
    *,
    demand_growth: float,
    sector_growth: Mapping[str, float] | None = None,
    added_t: pd.DataFrame | None = None,
    base_year: int = 2024,
    material: str = "rare_earths",
    controller: str = "CHN",
    label: str = "outlook",
) -> Dataset:
    """``ds`` with ``material``'s base-year rows carried to ``year`` (module docs).

    ``demand_growth``: world demand in ``year`` ÷ base year; ``sector_growth``: the same per
    sector; ``added_t``: the output the pipeline adds by then (``region_id, commodity_id,
    added_t_per_yr``, :func:`pipeline_additions` of one year); ``label`` names the outlook in
    every projected row's note.
    """
    if year <= base_year:
        raise ChokepointError(f"projection: year {year} must be after the base year {base_year}")
    values = {"demand_growth": demand_growth, **{f"sector_growth.{k}": v for k, v in (sector_growth or {}).items()}}
    for field, value in values.items():
        if not (np.isfinite(value) and value > 0):
            raise ChokepointError(f"projection {label}: field {field}: {value!r} is not a positive finite number")
    ks = list(material_chain(ds, material)["commodity_id"])
    codes = set(product_groups(ds, ks)["group_id"]) | set(ks)
    if added_t is None:
        added_t = pd.DataFrame({"region_id": [], "commodity_id": [], "added_t_per_yr": np.zeros(0)})
    keys = ["region_id", "commodity_id"]
    how = f"{label}, {year}"

    tables = dict(ds.tables)
    sources = ds["sources"]
    if PROJECTION_SOURCE not in set(sources["source_id"]):
        row = pd.DataFrame([_PROJECTION_ROW]).astype(sources.dtypes.to_dict())
        tables["sources"] = pd.concat([sources, row], ignore_index=True)
    prod = ds["production"]
    base = base_output(ds, base_year, material)
    added = member_additions(ds, base, added_t, base_year, material).groupby(keys)["added_t_per_yr"].sum()
    added = added.clip(lower=0.0)
    projected = _production(base, added, demand_growth, controller, year)
    projected = projected.assign(note=_note(projected, base_year, how))
    tables["production"] = _replace(prod, year, codes, projected)

    group_of = _group_of(ds)
    added_groups = added.rename(lambda m: group_of.get(m, m), level="commodity_id").groupby(keys).sum()
    made = _by_group(projected[projected["region_id"] != WORLD], group_of) / _by_group(base, group_of)
    made = made.replace([np.inf], np.nan)
    carried = _flows(reconcile(ds, material, base_year).flows, added_groups, made, group_of)
    carried = carried.assign(year=year, note=_note(carried, base_year, how))
    trade = ds["trade"]
    tables["trade"] = _replace(trade, year, codes, carried)
    shares = ds["trade_shares"]
    tables["trade_shares"] = _other(shares, year, codes)

    act = ds["sector_activity"]
    rows = act[act["year"] == base_year]
    factor = rows["sector_id"].map(dict(sector_growth or {})).fillna(demand_growth).astype(float)
    rows = rows.assign(activity=rows["activity"] * factor, year=year, basis="derived")
    tables["sector_activity"] = _replace(act, year, None, rows.assign(note=_note(rows, base_year, how)))
    for name in CARRIED:
        table = ds[name]
        tables[name] = _replace(table, year, None, table[table["year"] == base_year].assign(year=year))
    return Dataset(name=f"{ds.name}+{label}{year}", tables=tables)


def controller_dependence(
    ds: Dataset,
    year: int,
    regions: list[str],
    products: list[str],
    controller: str = "CHN",
    material: str = "rare_earths",
) -> pd.DataFrame:
    """Each region's traced dependence on ``controller`` for ``products`` in ``year``: per
    product and stage, the controller's share of the tonnes of that stage the product rests on
    through every tier (the exposure core, :func:`chokepoint.analysis.exposure.effective_dependence`,
    on ``year``'s network). Columns ``year, region_id, commodity_id`` (the product), ``stage``,
    ``controller_share_pct``."""
    net = build_network(ds, material, year, consumers=regions)
    table = effective_dependence(net, regions).reset_index()
    table = table[table["region_id"].isin(regions) & table["product_id"].isin(products)]
    keys = ["region_id", "product_id", "stage"]
    total = table.groupby(keys)["requirement_t_per_t"].sum()
    held = table[table["origin_id"] == controller].groupby(keys)["requirement_t_per_t"].sum()
    share = (100.0 * held.reindex(total.index).fillna(0.0) / total).clip(0.0, 100.0).rename("controller_share_pct")
    table = share.reset_index().rename(columns={"product_id": "commodity_id"})
    return table.assign(year=year)[["year", "region_id", "commodity_id", "stage", "controller_share_pct"]]
