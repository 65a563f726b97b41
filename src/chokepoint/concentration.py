"""Who controls each stage: producer shares, Herfindahl–Hirschman index and top-k shares.

The maths are pure functions over arrays (:func:`hhi`, :func:`top_k_share`); :func:`overview`
applies them to a dataset's production table for one material (every stage) or commodity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError

__all__ = ["Overview", "hhi", "overview", "top_k_share"]


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


def _commodities_for(ds: Dataset, subject: str) -> pd.DataFrame:
    com = ds["commodities"]
    chosen = com[(com["material"] == subject) | (com["commodity_id"] == subject)]
    if chosen.empty:
        names = sorted({*com["material"].dropna(), *com["commodity_id"].dropna()})
        raise ChokepointError(f"unknown commodity or material {subject!r}; choose one of: {', '.join(names)}")
    return chosen.sort_values("stage_order")


def overview(ds: Dataset, commodity: str, year: int) -> Overview:
    """Producer shares, HHI and top-k shares at every stage of ``commodity`` in ``year``.

    ``commodity`` is a material (``rare_earths``: all its stages) or a commodity id. Shares are of
    the world total (region ``WLD``; ``world_basis`` says whether it is reported, derived or
    assumed) where the dataset has one, else of the sum of all producers. The HHI and top-k shares
    count named countries only: ``ROW`` (other countries) is
    a residual of many small producers, not one firm-like producer.
    """
    chosen = _commodities_for(ds, commodity)
    regions = ds["regions"].set_index("region_id")
    prod = ds["production"]
    prod = prod[(prod["year"] == year) & prod["commodity_id"].isin(chosen["commodity_id"])]
    if prod.empty:
        years = ds["production"].loc[ds["production"]["commodity_id"].isin(chosen["commodity_id"]), "year"]
        have = ", ".join(str(y) for y in sorted(years.dropna().unique())) or "none"
        raise ChokepointError(f"no production of {commodity!r} in {year}; years with data: {have}")
    kind = prod["region_id"].map(regions["kind"]).fillna("country")
    stage_rows, producer_frames = [], []
    for c in chosen.itertuples():
        rows = prod[prod["commodity_id"] == c.commodity_id]
        world_row = rows[rows["region_id"] == "WLD"]
        producers = rows[(rows["region_id"] != "WLD") & (rows["production_t"] > 0)]
        if producers.empty and world_row.empty:
            continue
        if len(world_row):
            world_t = float(world_row["production_t"].iloc[0])
            world_basis = f"WLD row, {world_row['basis'].iloc[0]}"
        else:
            world_t = float(producers["production_t"].sum())
            world_basis = "sum of producers"
        share = producers["production_t"] / world_t if world_t > 0 else producers["production_t"] * np.nan
        is_country = (kind.loc[producers.index] == "country").to_numpy()
        ranked = producers.assign(share_pct=100.0 * share).sort_values(
            ["share_pct", "region_id"], ascending=[False, True]
        )
        ranked = ranked.assign(rank=np.arange(1, len(ranked) + 1))
        country_shares = share.to_numpy()[is_country]
        countries = producers[is_country]
        top = countries.loc[countries["production_t"].idxmax()] if len(countries) else None
        stage_rows.append(
            {
                "stage": c.stage,
                "stage_order": c.stage_order,
                "commodity_id": c.commodity_id,
                "quantity_basis": c.quantity_basis,
                "year": year,
                "world_t": world_t,
                "world_basis": world_basis,
                "producers": int(is_country.sum()),
                "hhi": hhi(country_shares),
                "top1_region_id": None if top is None else top["region_id"],
                "top1_share_pct": 100.0 * top_k_share(country_shares, 1),
                "top3_share_pct": 100.0 * top_k_share(country_shares, 3),
                "source_ids": " ".join(sorted({*rows["source_id"].dropna()})),
            }
        )
        producer_frames.append(ranked.assign(stage=c.stage, stage_order=c.stage_order))
    producers_df = pd.concat(producer_frames, ignore_index=True) if producer_frames else prod.iloc[:0]
    producers_df = producers_df.assign(region_name=producers_df["region_id"].map(regions["name"]))[
        [
            "stage",
            "stage_order",
            "commodity_id",
            "rank",
            "region_id",
            "region_name",
            "production_t",
            "share_pct",
            "source_id",
            "basis",
        ]
    ]
    stages = pd.DataFrame(stage_rows)
    cited = {*producers_df["source_id"].dropna(), *" ".join(stages["source_ids"]).split()}
    sources = ds["sources"][ds["sources"]["source_id"].isin(cited)].reset_index(drop=True)
    return Overview(commodity, year, stages, producers_df.reset_index(drop=True), sources)
