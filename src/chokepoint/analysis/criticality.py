"""Criticality indices: EU CRM supply risk and economic importance, GeoPolRisk, USGS-style supply risk.

The indices are pure functions over arrays in :mod:`chokepoint.analysis.indices` (re-exported
here), each with its equation and source; :func:`eu_criticality` applies the
EU method to a dataset's ``supply_shares``, ``governance`` and ``material_indicators`` tables.
Dataset-level tables, one per method: :func:`chokepoint.analysis.eu_crm.eu_assessment` (SR and EI
computed for every material beside the published ones), :func:`eu_table` (SR per stage),
:func:`geopolrisk_table`, :func:`usgs_table` and :func:`technology_moat` (patent filings per
region), dispatched by name through :func:`criticality_table` (registry :data:`CRITICALITY_METHODS`).

Shares are fractions (0-1) everywhere. Published shares are rounded, so a stage may sum slightly
above 1; sums up to ``1 + SHARE_SUM_TOLERANCE`` are accepted.

What was verified and what was not
----------------------------------
* EU supply risk: the equation and the 0-10 WGI scaling ``5 - 2*WGI`` (six WGI estimates
  averaged, 2016-2020) reproduce the published 2023 SR of dysprosium, erbium and gadolinium (China
  100% of processing, global supply only) to the published one decimal. The guidelines' text was not
  read; gallium is reproduced to 3.8 against a published 3.9 and germanium is not reproduced
  (see the tests).
* EU economic importance: the equation with value added scaled to the largest NACE sector
  (C28, EUR 204,200 m) reproduces the published 2023 EI of neodymium (7.2) and terbium (6.4).
* GeoPolRisk and the USGS supply risk implement the structure of the cited papers; their
  governance rescaling and the USGS disruption-potential details were not read from the papers
  and are parameters, not constants. The dataset tables use ``wgi_scaled_eu / 10`` (0-1, 1 = worst)
  as every supplier's governance risk, and the USGS economic vulnerability is the caller's
  parameter (default 1.0, an assumption).
* The published SR/EI in ``material_indicators`` are second-hand copies of the study's results
  (see the rows' notes); the study's own results table was not read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import pandas as pd

from chokepoint.analysis.concentration import producer_shares
from chokepoint.analysis.eu_crm import EU_GROUPS, REE_ELEMENTS, eu_assessment, eu_criticality, eu_table
from chokepoint.analysis.exposure import import_reliance
from chokepoint.analysis.indices import (
    SHARE_SUM_TOLERANCE,
    _fraction,
    eu_economic_importance,
    eu_supply_risk,
    geopolrisk,
    hhi_wgi_t,
    usgs_disruption_potential,
    usgs_supply_risk,
    wgi_scaled_eu,
)
from chokepoint.dataset import Dataset
from chokepoint.dataset.groups import group_members
from chokepoint.errors import CheckError
from chokepoint.network import MIX_BASES, SupplyNetwork, build_network

#: Origins without a region of their own; they have no governance score (see :func:`geopolrisk_table`).
ROW = "ROW"

__all__ = [
    "CRITICALITY_METHODS",
    "EU_REGION",
    "REE_ELEMENTS",
    "SHARE_SUM_TOLERANCE",
    "USGS_REGION",
    "criticality_table",
    "eu_assessment",
    "eu_criticality",
    "eu_economic_importance",
    "eu_supply_risk",
    "eu_table",
    "geopolrisk",
    "geopolrisk_table",
    "hhi_wgi_t",
    "technology_moat",
    "usgs_disruption_potential",
    "usgs_supply_risk",
    "usgs_table",
    "wgi_scaled_eu",
]


# --- dataset-level tables ----------------------------------------------------------------------

Method = Literal["eu", "eu_stages", "geopolrisk", "usgs", "patents"]

#: The region each method was designed for: the EU study assesses the EU only, the USGS method
#: defaults to the United States (its subject).
EU_REGION = "EU27"
USGS_REGION = "USA"


def _check_region(ds: Dataset, region: str) -> None:
    known = set(ds["regions"]["region_id"])
    if region not in known:
        raise CheckError(f"unknown region {region!r}; use a region_id of data/regions.csv, e.g. USA, JPN, DEU")


def _check_material(ds: Dataset, material: str) -> None:
    have = sorted(set(ds["commodities"]["material"].dropna()))
    if material not in have:
        raise CheckError(f"unknown material {material!r}; materials with commodities: {', '.join(have)}")


def _governance_risk(ds: Dataset, year: int) -> pd.DataFrame:
    """Per region: ``governance_risk = wgi_scaled_eu / 10`` (0-1, 1 = worst), latest score year <= ``year``."""
    gov = ds["governance"]
    gov = gov[(gov["indicator"] == "wgi_scaled_eu") & (gov["year"] <= year)].sort_values("year")
    latest = gov.groupby("region_id").last()
    return pd.DataFrame(
        {"governance_risk": latest["score"].astype(float) / 10.0, "governance_year": latest["year"].astype(int)}
    )


def _risk_of(risk: pd.DataFrame, codes: pd.Series, what: str) -> pd.Series:
    missing = sorted(set(codes) - set(risk.index))
    if missing:
        raise CheckError(f"no wgi_scaled_eu score for {', '.join(missing)} ({what}); add rows to data/governance.csv")
    return codes.map(risk["governance_risk"]).astype(float)


def _world_shares(ds: Dataset, material: str, year: int) -> pd.DataFrame:
    """Named countries' shares of world production (``WLD`` row, else the sum of producers)."""
    shares = producer_shares(ds, material, year)
    return shares[shares["counted"]]


def geopolrisk_table(
    ds: Dataset, region: str, year: int = 2024, material: str = "rare_earths", net: SupplyNetwork | None = None
) -> pd.DataFrame:
    """GeoPolRisk of ``region`` for each commodity of ``material``: ``HHI · Σ_c g_c · f_c / (p + F)``.

    * ``HHI`` (0-1) of world production shares of named countries (``ROW`` counts in the world total
      but not as a producer, as in :func:`chokepoint.analysis.concentration.producer_shares`);
    * ``f_c`` the region's imports by origin and ``p`` its production, from the rows of
      :func:`chokepoint.network.build_network` whose ``mix_basis`` is ``"production and trade"``;
      commodities the region has no trade or production data for are left out, and a region with
      none at all raises;
    * ``g_c`` governance risk of supplier ``c`` = ``wgi_scaled_eu / 10`` from ``ds["governance"]``
      (EU-scaled mean of the six WGI estimates, latest score year <= ``year``; 0 = best, 1 = worst).
      The cited papers use other WGI rescalings (e.g. political stability alone): this is a choice.
    * imports from ``ROW`` (origins without a region of their own) have no governance score: they are
      EXCLUDED from ``f`` and ``F`` (so from ``imports_t`` and ``import_share``) and reported in
      ``unscored_imports_t``, rather than given an invented score.

    Returns one row per commodity (index ``commodity_id``): ``stage``, ``hhi``, ``imports_t``,
    ``domestic_production_t``, ``unscored_imports_t`` (ROW tonnes left out), ``import_share``
    (``F / (p + F)``), ``import_governance_risk``
    (import-weighted mean ``g``), ``suppliers`` (origins of imports), ``governance_year`` and
    ``geopolrisk`` (:func:`geopolrisk`). ``net``: the shared network (default: the cached one).
    """
    _check_region(ds, region)
    _check_material(ds, material)
    net = net if net is not None else build_network(ds, material, year)
    mix = net.mix_table
    mix = mix[(mix["region_id"] == region) & (mix["mix_basis"] == MIX_BASES[0])]
    if mix.empty:
        raise CheckError(
            f"{region} has no production or trade data for {material} in {year}; GeoPolRisk needs its imports"
            f" by origin (add trade rows with importer_id {region})"
        )
    shares = _world_shares(ds, material, year)
    risk = _governance_risk(ds, year)
    production = pd.Series(net.production_t, index=net.nodes)
    stage_of = net.stages.set_index("commodity_id")["stage"]
    records = []
    for commodity in [k for k in net.stages["commodity_id"] if k in set(mix["commodity_id"])]:
        rows = mix[(mix["commodity_id"] == commodity) & (mix["origin_id"] != region)]
        rows = rows.groupby("origin_id", as_index=False)["quantity_t"].sum()
        # ROW (origins without a region of their own) has no governance score: its tonnes are left
        # out of f and F and reported in ``unscored_imports_t`` (see the docstring), never scored.
        unscored = float(rows.loc[rows["origin_id"] == ROW, "quantity_t"].sum())
        rows = rows[rows["origin_id"] != ROW]
        g = _risk_of(risk, rows["origin_id"], f"suppliers of {commodity} to {region}")
        p = float(production.get((region, commodity), 0.0))
        f = rows["quantity_t"].to_numpy(dtype=float)
        s = shares.loc[shares["commodity_id"] == commodity, "share"].to_numpy(dtype=float)
        total = p + float(f.sum())
        records.append(
            {
                "commodity_id": commodity,
                "stage": stage_of[commodity],
                "hhi": float(np.sum(s**2)),
                "imports_t": float(f.sum()),
                "unscored_imports_t": unscored,
                "domestic_production_t": p,
                "import_share": float(f.sum()) / total if total > 0 else np.nan,
                "import_governance_risk": float(np.sum(g * f) / f.sum()) if f.sum() > 0 else np.nan,
                "suppliers": " ".join(rows.loc[rows["quantity_t"] > 0, "origin_id"]),
                "governance_year": int(risk["governance_year"].reindex(rows["origin_id"]).max())
                if len(rows)
                else pd.NA,
                "geopolrisk": geopolrisk(s, g.to_numpy(), f, p),
            }
        )
    out = pd.DataFrame.from_records(records).set_index("commodity_id")
    return out.astype({"governance_year": "Int64"})


def usgs_table(
    ds: Dataset,
    region: str = USGS_REGION,
    year: int = 2024,
    material: str = "rare_earths",
    economic_vulnerability: float = 1.0,
    net: SupplyNetwork | None = None,
) -> pd.DataFrame:
    """USGS-style supply risk of ``region`` for each commodity of ``material``: ``SR = DP · TE · EV``.

    * ``DP = Σ_c s_c² · r_c`` (:func:`usgs_disruption_potential`): ``s_c`` named countries' shares of
      world production in ``year``, ``r_c = wgi_scaled_eu / 10`` (0-1, 1 = worst; latest score year
      <= ``year``). Nassar & Fortier (2021) weight by their own WGI-based risk; this one is a choice.
    * ``TE`` net import reliance of ``region`` (:func:`chokepoint.analysis.exposure.import_reliance`, as a
      fraction); commodities without the region's trade data are left out, a region without any raises.
    * ``EV`` economic vulnerability: not estimated here. It is the caller's parameter; the default
      1.0 (full vulnerability) is an ASSUMPTION, recorded in ``ev_basis``.

    Returns one row per commodity (index ``commodity_id``): ``stage``, ``disruption_potential``,
    ``trade_exposure``, ``economic_vulnerability``, ``ev_basis``, ``governance_year``, ``supply_risk``.
    ``net``: the shared network (default: the cached one of ``ds``, ``material`` and ``year``).
    """
    _check_region(ds, region)
    _check_material(ds, material)
    _fraction("economic_vulnerability", economic_vulnerability)
    table = import_reliance(ds, material, year, net=net).reset_index()
    table = table[table["region_id"] == region]
    if table.empty:
        raise CheckError(
            f"{region} has no trade data for {material} in {year}; trade exposure (net import reliance) needs it"
        )
    reliance = pd.Series(
        table["net_import_reliance_pct"].to_numpy(dtype=float) / 100.0, index=table["commodity_id"].to_numpy()
    )
    shares = _world_shares(ds, material, year)
    risk = _governance_risk(ds, year)
    stages = ds["commodities"].set_index("commodity_id")
    ev_basis = (
        "assumption: default 1.0 (full vulnerability), not estimated"
        if economic_vulnerability == 1.0
        else "given by the caller"
    )
    records = []
    # producer shares come as statistics report them (per product group); trade exposure per member
    group_of = {k: g for g, ks in group_members(ds["commodities"]).items() for k in ks}
    for commodity, te in reliance.items():
        rows = shares[shares["commodity_id"].isin([commodity, group_of.get(str(commodity), str(commodity))])]
        if rows.empty:
            continue  # nobody makes it in the year (e.g. scandium oxide): no disruption potential
        r = _risk_of(risk, rows["region_id"], f"producers of {commodity} in {year}")
        dp = usgs_disruption_potential(rows["share"].to_numpy(dtype=float), r.to_numpy())
        records.append(
            {
                "commodity_id": commodity,
                "stage": stages.at[commodity, "stage"],
                "disruption_potential": dp,
                "trade_exposure": float(te),
                "economic_vulnerability": float(economic_vulnerability),
                "ev_basis": ev_basis,
                "governance_year": int(risk["governance_year"].reindex(rows["region_id"]).max()),
                "supply_risk": usgs_supply_risk(dp, float(te), economic_vulnerability),
            }
        )
    order = {k: i for i, k in enumerate(stages.sort_values("stage_order").index)}
    out = pd.DataFrame.from_records(records).set_index("commodity_id")
    return out.sort_index(key=lambda idx: idx.map(order))


def _eu_method(ds: Dataset, year: int | None, region: str | None, material: str) -> pd.DataFrame:
    """Computed SR and EI beside the published ones: ``rare_earths`` = the elements and the groups,
    ``all`` = every row of :func:`chokepoint.analysis.eu_crm.eu_assessment`, else one material."""
    if region not in (None, EU_REGION):
        raise CheckError(f"the EU method assesses the EU only; got region {region!r} (use EU27 or none)")
    table = eu_assessment(ds, 2023 if year is None else year)
    if material == "all":
        return table
    chosen = [*REE_ELEMENTS, *EU_GROUPS] if material == "rare_earths" else [material]
    if material not in table.index and material != "rare_earths":
        raise CheckError(
            f"unknown material {material!r} for the EU method; materials: all, rare_earths, {', '.join(table.index)}"
        )
    return table.loc[[m for m in table.index if m in chosen]]


def _eu_stages_method(ds: Dataset, year: int | None, region: str | None, material: str) -> pd.DataFrame:
    """Per-stage EU supply risk (:func:`eu_table`) of one assessed material or the rare-earth elements."""
    if region not in (None, EU_REGION):
        raise CheckError(f"the EU method assesses the EU only; got region {region!r} (use EU27 or none)")
    y = 2023 if year is None else year
    sh = ds["supply_shares"]
    assessed = sorted(set(sh.loc[sh["year"] == y, "material"]))
    if material in assessed:
        return eu_table(ds, y, [material])
    family = [m for m in assessed if m in REE_ELEMENTS] if material == "rare_earths" else []
    if not family:
        raise CheckError(f"unknown material {material!r} for the EU method in {y}; materials: {', '.join(assessed)}")
    return eu_table(ds, y, family)


def technology_moat(ds: Dataset, material: str = "rare_earths", year: int | None = None) -> pd.DataFrame:
    """Patent filings per region for ``material`` (``patents`` table), latest count year <= ``year``.

    Indexed by ``region_id``: ``filings``, ``share_of_listed_pct`` (of the regions listed, not of the
    world: the sources count the leading filers only), ``period``, ``year`` and ``source_id``; largest first.
    """
    pat = ds["patents"]
    pat = pat[(pat["material"] == material) & ((pat["year"] <= year) if year is not None else True)]
    if pat.empty:
        have = ", ".join(sorted(set(ds["patents"]["material"]))) or "none"
        raise CheckError(f"no patent counts for {material!r}; materials with counts: {have}")
    latest = pat.sort_values("year").groupby("region_id").last()
    out = latest[["filings", "period", "year", "source_id"]].sort_values("filings", ascending=False)
    share = 100.0 * out["filings"] / out["filings"].sum()
    return out.assign(share_of_listed_pct=share)[["filings", "share_of_listed_pct", "period", "year", "source_id"]]


def _patents_method(ds: Dataset, year: int | None, region: str | None, material: str) -> pd.DataFrame:
    table = technology_moat(ds, material, year)
    return table if region is None else table.loc[[region]] if region in table.index else table.iloc[0:0]


def _geopolrisk_method(ds: Dataset, year: int | None, region: str | None, material: str) -> pd.DataFrame:
    if region is None:
        raise CheckError("GeoPolRisk is per importing region: give region (an ISO3 code such as JPN)")
    return geopolrisk_table(ds, region, 2024 if year is None else year, material)


def _usgs_method(ds: Dataset, year: int | None, region: str | None, material: str) -> pd.DataFrame:
    return usgs_table(ds, USGS_REGION if region is None else region, 2024 if year is None else year, material)


#: Criticality methods by name: each takes (dataset, year or None, region or None, material).
CRITICALITY_METHODS: dict[str, Callable[[Dataset, int | None, str | None, str], pd.DataFrame]] = {
    "eu": _eu_method,
    "eu_stages": _eu_stages_method,
    "geopolrisk": _geopolrisk_method,
    "usgs": _usgs_method,
    "patents": _patents_method,
}


def criticality_table(
    ds: Dataset,
    method: Method,
    *,
    year: int | None = None,
    region: str | None = None,
    material: str = "rare_earths",
) -> pd.DataFrame:
    """One method's criticality table: ``"eu"`` (computed SR and EI beside the published ones,
    :func:`chokepoint.analysis.eu_crm.eu_assessment`), ``"eu_stages"`` (SR per stage, :func:`eu_table`),
    ``"geopolrisk"`` (:func:`geopolrisk_table`, needs ``region``), ``"usgs"`` (:func:`usgs_table`,
    region default USA) or ``"patents"`` (:func:`technology_moat`, per region).

    ``year`` defaults to each method's own (2023 for the EU study, 2024 otherwise; the latest count
    for patents). For ``"eu"``, ``material`` is one material (``"dysprosium"``), ``"rare_earths"``
    (the elements and the HREE/LREE groups) or ``"all"``; ``region`` must be omitted or ``"EU27"``.
    """
    run = CRITICALITY_METHODS.get(method)
    if run is None:
        raise CheckError(f"unknown method {method!r}; methods: {', '.join(CRITICALITY_METHODS)}")
    return run(ds, year, region, material)
