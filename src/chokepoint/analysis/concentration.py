"""Who controls each stage: producer shares, Herfindahl–Hirschman index and top-k shares.

The maths are pure functions over arrays (:func:`hhi`, :func:`top_k_share`); :func:`overview`
applies them to a dataset's production table for one material (every stage) or commodity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from chokepoint.baseyear.members import member_production
from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError

#: The dataset's world-total code, as :data:`chokepoint.network.WORLD` (not imported from there:
#: ``overview`` stays free of scipy).
WORLD = "WLD"

__all__ = [
    "CIRCULAR",
    "Overview",
    "concentration",
    "hhi",
    "overview",
    "producer_shares",
    "share_basis",
    "summarise_shares",
    "top_k_share",
]

#: ``share_basis`` of a share whose world total was derived from that very share.
CIRCULAR = "world total derived from this share (circular)"
# a note that says a figure was derived from a share: "... / 0.92", "share", "divided by"
_FROM_SHARE = re.compile(r"\bshare\b|/\s*0?\.\d+|divided by", re.IGNORECASE)
_NOT_REPORTED = ("derived", "assumption")


def hhi(shares: npt.ArrayLike) -> float:
    """Herfindahl–Hirschman index on the 0–10,000 scale: ``HHI = Σ (100·sᵢ)²``.

    ``shares`` are fractions of the market (0–1). A monopoly scores 10,000; the US DOJ/FTC 2023
    merger guidelines call markets above 1,800 highly concentrated.
    """
    s = np.asarray(shares, dtype=float)
    return float(np.sum((100.0 * s) ** 2))


def top_k_share(shares: npt.ArrayLike, k: int) -> float:
    """Sum of the ``k`` largest shares (fractions)."""
    s = np.sort(np.asarray(shares, dtype=float))[::-1]
    return float(s[:k].sum())


@dataclass(frozen=True)
class Overview:
    """Stage-by-stage concentration of one material or commodity in one year.

    ``stages``: one row per commodity (stage) — world total, its basis, HHI, top-1 and top-3.
    ``producers``: one row per producer and commodity, ranked, with share and source.
    ``sources``: the sources table restricted to the figures shown.
    """

    subject: str
    year: int
    stages: pd.DataFrame
    producers: pd.DataFrame
    sources: pd.DataFrame


By = Literal["country", "owner", "element"]


def _units(com: pd.DataFrame) -> pd.DataFrame:
    """The codes statistics report under: one row per product group (a group's stage, order and
    basis are its first member's), each commodity reported under its own code as it is."""
    group = com["product_group"].fillna(com["commodity_id"]) if "product_group" in com else com["commodity_id"]
    grouped = com.assign(commodity_id=group).sort_values("stage_order", kind="stable")
    return grouped.drop_duplicates("commodity_id").reset_index(drop=True)


def _commodities_for(ds: Dataset, subject: str | None) -> pd.DataFrame:
    """A material's reporting units (product groups: the figures production statistics give, so
    a stage reads as one line however many elements it resolves), or one commodity or group."""
    com, units = ds["commodities"], _units(ds["commodities"])
    if subject is None:
        return units.sort_values(["material", "stage_order"])
    chosen = units[units["material"] == subject]
    if chosen.empty:
        chosen = pd.concat(
            [units[units["commodity_id"] == subject], com[com["commodity_id"] == subject]]
        ).drop_duplicates("commodity_id")
    if chosen.empty:
        names = sorted({*com["material"].dropna(), *com["commodity_id"].dropna()})
        raise ChokepointError(f"unknown commodity or material {subject!r}; choose one of: {', '.join(names)}")
    return chosen.sort_values("stage_order")


def _world_totals(prod: pd.DataFrame) -> pd.DataFrame:
    """Per (commodity, year): the WLD row where there is one, else the sum of producers."""
    keys = ["commodity_id", "year"]
    world = prod[prod["region_id"] == WORLD].set_index(keys)
    summed = prod[prod["region_id"] != WORLD].groupby(keys)["production_t"].sum()
    out = pd.DataFrame({"world_t": summed, "world_basis": "sum of producers"})
    out.loc[world.index, "world_t"] = world["production_t"]
    out.loc[world.index, "world_basis"] = "WLD row, " + world["basis"]
    return out


def producer_shares(ds: Dataset, commodity: str | None = None, year: int | None = None) -> pd.DataFrame:
    """Every producer's share of world output, per commodity and year (tidy, long).

    Shares are of the world total (``WLD`` row where the dataset has one, else the sum of
    producers). ``counted`` marks named countries, the producers the HHI and top-k shares count:
    ``ROW`` (other countries) is a residual of many small producers, not one producer.
    """
    chosen = _commodities_for(ds, commodity)
    prod = ds["production"]
    prod = prod[prod["commodity_id"].isin(chosen["commodity_id"])]
    if year is not None:
        prod = prod[prod["year"] == year]
    if prod.empty:
        years = ds["production"].loc[ds["production"]["commodity_id"].isin(chosen["commodity_id"]), "year"]
        have = ", ".join(str(y) for y in sorted(years.dropna().unique())) or "none"
        raise ChokepointError(f"no production of {commodity!r} in {year}; years with data: {have}")
    world = _world_totals(prod)
    rows = prod[(prod["region_id"] != WORLD) & (prod["production_t"] > 0)]
    rows = rows.join(world, on=["commodity_id", "year"])
    kinds = ds["regions"].set_index("region_id")["kind"]
    stage = chosen.set_index("commodity_id")
    rows = rows.assign(share_basis=share_basis(prod))
    return rows.assign(
        share=rows["production_t"] / rows["world_t"],
        counted=rows["region_id"].map(kinds).eq("country").to_numpy(),
        stage=rows["commodity_id"].map(stage["stage"]),
        stage_order=rows["commodity_id"].map(stage["stage_order"]),
    ).reset_index(drop=True)


def _named(note: str, codes: pd.Series) -> list[str]:
    return [c for c in codes if re.search(rf"\b{re.escape(str(c))}\b", note)]


def _group_basis(group: pd.DataFrame) -> pd.Series:
    """``share_basis`` of the producers of one commodity-year (see :func:`share_basis`)."""
    world = group[group["region_id"] == WORLD]
    producers = group[(group["region_id"] != WORLD) & (group["production_t"] > 0)]
    out = pd.Series("reported", index=producers.index, dtype=object)
    # without a world row the total is the sum of producers, which rests on a share when a
    # producer was derived from one (e.g. "other countries = China / 0.9 - China")
    sources = world if len(world) else producers
    notes = sources["note"].fillna("").astype(str)
    from_share = sources[sources["basis"].isin(_NOT_REPORTED) & notes.str.contains(_FROM_SHARE)]
    if len(world) and from_share.empty and world["basis"].iloc[0] in _NOT_REPORTED:
        out[:] = f"world total {world['basis'].iloc[0]} (see the WLD row's note), not from a share"
        return out
    if from_share.empty:
        return out
    derived_ids = set(from_share["region_id"])
    candidates = producers[~producers["region_id"].isin(derived_ids)]
    named = [c for note in from_share["note"].fillna("") for c in _named(str(note), candidates["region_id"])]
    if not named and len(candidates):
        named = [str(candidates.sort_values("production_t", ascending=False)["region_id"].iloc[0])]
    who = " ".join(dict.fromkeys(named))
    region = producers["region_id"]
    labels = np.where(
        region.isin(named),
        CIRCULAR,
        np.where(
            region.isin(derived_ids),
            f"derived from {who}'s share (circular)",
            f"share of a world total derived from {who}'s share",
        ),
    )
    return pd.Series(labels, index=producers.index, dtype=object)


def share_basis(prod: pd.DataFrame) -> pd.Series:
    """Whether each producer's share of world output is independent of that share, per row of ``prod``.

    ``prod`` is production rows (with ``basis`` and ``note``), WLD rows included. A world total rests
    on a share when the WLD row (or, without one, a producer row) is ``derived``/``assumption`` and
    its note says it came from a share (``/ 0.92``, "share", "divided by"): then the producer the
    note names (else the largest other producer) gets :data:`CIRCULAR`, the derived producer row
    "derived from X's share (circular)" and the others "share of a world total derived from X's
    share". A derived or assumed WLD row whose note names no share gives "world total derived (see
    the WLD row's note), not from a share"; everything else is ``"reported"``. Indexed like the
    producer rows (non-WLD, positive output) of ``prod``.
    """
    if prod.empty:
        return pd.Series(dtype=object)
    parts = [_group_basis(g) for _, g in prod.groupby(["commodity_id", "year"], sort=False)]
    return pd.concat(parts) if parts else pd.Series(dtype=object)


def summarise_shares(shares: pd.DataFrame, keys: list[str], who: str) -> pd.DataFrame:
    """HHI, top-1 and top-3 shares per group of ``keys`` over the ``counted`` rows of ``shares``.

    ``shares`` has the ``keys``, a ``who`` column naming each producer, ``share`` (fraction of
    the group's world total) and ``counted``. One row per group, indexed by ``keys``.
    """
    counted = shares[shares["counted"]].sort_values("share", ascending=False, kind="stable")
    groups = counted.groupby(keys, sort=False)
    out = pd.DataFrame(
        {
            "producers": groups.size(),
            "hhi": ((100.0 * counted["share"]) ** 2).groupby([counted[k] for k in keys]).sum(),
            f"top1_{who}": groups[who].first(),
            "top1_share_pct": 100.0 * groups["share"].first(),
            "top3_share_pct": 100.0 * groups.head(3).groupby(keys)["share"].sum(),
        }
    )
    return out.sort_index()


def concentration(
    ds: Dataset, commodity: str | None = None, year: int | None = None, by: By = "country"
) -> pd.DataFrame:
    """Concentration per commodity × stage × year: HHI (0–10,000), top-1 and top-3 shares.

    ``by="country"``: producers are countries (shares of the world total; ``top1_share_basis`` says
    when that total was derived from the top share, :func:`share_basis`). ``by="owner"``:
    producers are the facilities' owners (facility output, or capacity where output is not
    reported, as shares of world production; ``coverage_pct`` says how much of the world the
    listed facilities cover). ``by="element"``: mined rare-earth output split by element with the
    ore compositions of ``element_content`` (the region's own split, else the world split),
    indexed by (element, year).
    """
    if by == "element":
        return _element_concentration(ds, commodity, year)
    shares = producer_shares(ds, commodity, year)
    keys = ["commodity_id", "stage", "year"]
    if by == "country":
        return _by_country(shares)
    if by != "owner":
        raise ChokepointError(f"unknown grouping {by!r}; use country, owner or element")
    fac = ds["facilities"].merge(ds["facility_capacity"], on="facility_id")
    fac = fac.assign(output_t=fac["production_t"].fillna(fac["capacity_t_per_yr"]))
    world = shares.groupby(keys)["world_t"].first().reset_index()
    owners = fac.groupby(["commodity_id", "year", "owner"], as_index=False)["output_t"].sum()
    owners = owners.merge(world, on=["commodity_id", "year"])
    owners = owners.assign(share=owners["output_t"] / owners["world_t"], counted=True)
    covered = owners.groupby(keys)["share"].sum().rename("coverage_pct") * 100.0
    return world.set_index(keys).join(covered, how="inner").join(summarise_shares(owners, keys, "owner"))


def _by_country(shares: pd.DataFrame) -> pd.DataFrame:
    keys = ["commodity_id", "stage", "year"]
    world = shares.groupby(keys)[["world_t", "world_basis"]].first()
    table = world.join(summarise_shares(shares, keys, "region_id"))
    # the headline share says whether its world total was derived from it (share_basis)
    counted = shares[shares["counted"]].sort_values("share", ascending=False, kind="stable")
    top1 = counted.groupby(keys)["share_basis"].first().rename("top1_share_basis")
    return table.join(top1)


def _element_concentration(ds: Dataset, subject: str | None, year: int | None) -> pd.DataFrame:
    """Element split of the first stage of ``subject`` (default: any material) that
    ``element_content`` splits: the mined ore, whose composition the data give."""
    split = ds["element_content"]
    com = ds["commodities"]
    chosen = _commodities_for(ds, subject)
    members = com[com["material"].isin(chosen["material"]) & com["commodity_id"].isin(split["commodity_id"])]
    if members.empty:
        raise ChokepointError(f"no element_content rows for {subject or 'any commodity'}; --by element needs them")
    # every commodity of the first split stage (hard-rock and ionic-clay concentrate alike)
    first = members[members["stage_order"] == members["stage_order"].min()]["commodity_id"]
    # mine output is filed per product group: each deposit type's part as the fit's member targets
    prod = ds["production"]
    groups = set(members.get("product_group", members["commodity_id"]).dropna())
    by_member = member_production(ds, prod[prod["commodity_id"].isin(groups)])
    view = Dataset(ds.name, {**ds.tables, "production": pd.concat([prod, by_member], ignore_index=True)})
    mined = pd.concat([producer_shares(view, str(k), year) for k in first], ignore_index=True)
    split = split[split["commodity_id"].isin(first)]
    own = mined.merge(split, on=["commodity_id", "region_id"])
    world_split = split[split["region_id"] == WORLD]
    placed = pd.MultiIndex.from_frame(own[["commodity_id", "region_id"]].drop_duplicates())
    rest = mined[~pd.MultiIndex.from_frame(mined[["commodity_id", "region_id"]]).isin(placed)]
    fallback = rest.merge(world_split.drop(columns="region_id"), on="commodity_id")
    rows = pd.concat([own, fallback], ignore_index=True)
    rows = rows.assign(element_t=rows["production_t"] * rows["share_of_reo"])
    keys = ["element", "year"]
    rows["share"] = rows["element_t"] / rows.groupby(keys)["element_t"].transform("sum")
    world = rows.groupby(keys)["element_t"].sum().rename("world_t")
    return pd.DataFrame(world).join(summarise_shares(rows, keys, "region_id"))


def _patent_filings(ds: Dataset, producers: pd.DataFrame) -> pd.Series:
    """Each producer's cumulative patent filings for its commodity's material (the ``patents``
    table, latest count), NaN where the table has none: the technology moat beside the share."""
    pat = ds["patents"].sort_values("year").groupby(["material", "region_id"])["filings"].last()
    com = ds["commodities"]
    by_code = com.set_index("commodity_id")["material"]
    if "product_group" in com.columns:  # a product group's rows (the statistics' codes) too
        by_code = pd.concat([by_code, com.dropna(subset=["product_group"]).set_index("product_group")["material"]])
    material = producers["commodity_id"].map(by_code[~by_code.index.duplicated()])
    keys = pd.MultiIndex.from_arrays([material, producers["region_id"]])
    return pd.Series(pat.reindex(keys).to_numpy(dtype=float), index=producers.index)


def overview(ds: Dataset, commodity: str, year: int) -> Overview:
    """Producer shares, HHI and top-k shares at every stage of ``commodity`` in ``year``.

    ``commodity`` is a material (``rare_earths``: all its stages) or a commodity id. Shares are
    of the world total (region ``WLD``; ``world_basis`` says whether it is reported, derived or
    assumed) where the dataset has one, else of the sum of all producers; HHI and top-k count
    named countries only (see :func:`producer_shares`). ``share_basis`` beside every share (and
    ``top1_share_basis`` per stage) says when the world total was derived from that share
    (:func:`share_basis`); ``patent_filings`` is the producer's cumulative patent count for the
    material (``patents`` table), the technology moat beside the output share.
    """
    shares = producer_shares(ds, commodity, year)
    shares = shares.sort_values(["stage_order", "share", "region_id"], ascending=[True, False, True])
    shares["rank"] = shares.groupby("commodity_id").cumcount() + 1
    shares["share_pct"] = 100.0 * shares["share"]
    shares["region_name"] = shares["region_id"].map(ds["regions"].set_index("region_id")["name"])
    producers = shares[
        [
            *("stage", "stage_order", "commodity_id", "rank", "region_id", "region_name"),
            *("production_t", "share_pct", "share_basis", "source_id", "basis"),
        ]
    ].reset_index(drop=True)
    producers["patent_filings"] = _patent_filings(ds, producers)
    stages = _by_country(shares).reset_index()
    com = (
        pd.concat([_units(ds["commodities"]), ds["commodities"]])
        .drop_duplicates("commodity_id")
        .set_index("commodity_id")
    )
    stages = stages.assign(
        stage_order=stages["commodity_id"].map(com["stage_order"]),
        quantity_basis=stages["commodity_id"].map(com["quantity_basis"]),
        source_ids=stages["commodity_id"].map(
            shares.groupby("commodity_id")["source_id"].agg(lambda s: " ".join(sorted(set(s))))
        ),
    ).sort_values("stage_order", ignore_index=True)
    cited = set(producers["source_id"].dropna())
    if producers["patent_filings"].notna().any():
        cited |= set(ds["patents"]["source_id"])
    sources = ds["sources"][ds["sources"]["source_id"].isin(cited)].reset_index(drop=True)
    return Overview(commodity, year, stages, producers, sources)
