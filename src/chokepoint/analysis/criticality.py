"""Criticality indices: EU CRM supply risk and economic importance, GeoPolRisk, USGS-style supply risk.

The indices are pure functions over arrays in :mod:`chokepoint.analysis.indices` (re-exported
here), each with its equation and source; :func:`eu_criticality` applies the
EU method to a dataset's ``supply_shares``, ``governance`` and ``material_indicators`` tables.
Dataset-level tables, one per method: :func:`eu_table`, :func:`geopolrisk_table`, :func:`usgs_table`,
dispatched by name through :func:`criticality_table` (registry :data:`CRITICALITY_METHODS`).

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

from collections.abc import Callable, Mapping
from typing import Literal

import numpy as np
import pandas as pd

from chokepoint.analysis.concentration import producer_shares
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

__all__ = [
    "CRITICALITY_METHODS",
    "EU_REGION",
    "REE_ELEMENTS",
    "SHARE_SUM_TOLERANCE",
    "USGS_REGION",
    "criticality_table",
    "eu_criticality",
    "eu_economic_importance",
    "eu_supply_risk",
    "eu_table",
    "geopolrisk",
    "geopolrisk_table",
    "hhi_wgi_t",
    "usgs_disruption_potential",
    "usgs_supply_risk",
    "usgs_table",
    "wgi_scaled_eu",
]
#: The EU method's stages with global supply shares.
_STAGES = ("extraction", "processing")


def _indicator(ind: pd.DataFrame, name: str) -> float | None:
    rows = ind.loc[ind["indicator"] == name, "value"]
    return None if rows.empty else float(rows.iloc[0])


def eu_criticality(
    ds: Dataset,
    material: str,
    year: int,
    governance_year: int = 2020,
    wgi: Mapping[str, float] | None = None,
    stages: tuple[str, ...] = _STAGES,
) -> pd.DataFrame:
    """EU supply risk of ``material`` at each stage from the dataset's tables.

    Reads ``supply_shares`` (global ``extraction``/``processing`` and ``eu_sourcing``, with t),
    ``governance`` (indicator ``wgi_scaled_eu`` of ``governance_year``, or ``wgi`` to override) and
    ``material_indicators`` (``import_reliance_<stage>``, ``eol_rir``, ``si_sr``). EU sourcing rows
    are used at the processing stage (the only stage stored). Returns one row per stage indexed by
    ``(material, stage)``: ``hhi_gs``, ``hhi_eus``, ``import_reliance``, ``eol_rir``, ``si_sr``,
    ``supply_risk`` and ``bottleneck`` (the stage with the larger SR, which the study publishes).
    ``stages`` limits the stages computed (every supplier of a computed stage needs a score).
    """
    unknown = sorted(set(stages) - set(_STAGES))
    if unknown:
        raise CheckError(f"unknown stage {', '.join(unknown)}; stages are: {', '.join(_STAGES)}")
    sh = ds["supply_shares"]
    used = [*stages, *(["eu_sourcing"] if "processing" in stages else [])]
    sh = sh[(sh["material"] == material) & (sh["year"] == year) & sh["stage"].isin(used)]
    if sh.empty:
        have = sorted(ds["supply_shares"]["material"].dropna().unique())
        raise CheckError(f"no supply shares for {material!r} in {year}; materials: {', '.join(have)}")
    gov = ds["governance"]
    gov = gov[(gov["indicator"] == "wgi_scaled_eu") & (gov["year"] == governance_year)]
    scores = {**dict(zip(gov["region_id"], gov["score"].astype(float), strict=True)), **(wgi or {})}
    missing = sorted(set(sh["region_id"]) - set(scores))
    if missing:
        raise CheckError(
            f"no wgi_scaled_eu score for {', '.join(missing)} ({material}, governance year {governance_year});"
            " add rows to governance.csv or pass wgi={code: score}"
        )
    ind = ds["material_indicators"]
    ind = ind[(ind["material"] == material) & (ind["year"] == year)]
    eol, si = _indicator(ind, "eol_rir"), _indicator(ind, "si_sr")
    if eol is None or si is None:
        raise CheckError(f"material_indicators lacks eol_rir or si_sr for {material!r} in {year}")

    def _hhi(rows: pd.DataFrame) -> float | None:
        if rows.empty:
            return None
        t = rows["trade_restriction_t"].astype(float).fillna(1.0)
        return hhi_wgi_t(rows["share"].astype(float), rows["region_id"].map(scores), t)

    records = []
    for stage in stages:
        gs = _hhi(sh[sh["stage"] == stage])
        ir = _indicator(ind, f"import_reliance_{stage}")
        if gs is None or ir is None:
            continue
        eus = _hhi(sh[sh["stage"] == "eu_sourcing"]) if stage == "processing" else None
        sr = eu_supply_risk(gs, eus, ir, eol, si)
        records.append((material, stage, gs, np.nan if eus is None else eus, ir, eol, si, sr))
    cols = ["material", "stage", "hhi_gs", "hhi_eus", "import_reliance", "eol_rir", "si_sr", "supply_risk"]
    out = pd.DataFrame.from_records(records, columns=cols).set_index(["material", "stage"])
    return out.assign(bottleneck=out["supply_risk"] == out["supply_risk"].max())


# --- dataset-level tables ----------------------------------------------------------------------

#: The 17 rare-earth elements: EU-assessed materials that belong to the ``rare_earths`` family.
REE_ELEMENTS = (
    *("lanthanum", "cerium", "praseodymium", "neodymium", "promethium", "samarium", "europium"),
    *("gadolinium", "terbium", "dysprosium", "holmium", "erbium", "thulium", "ytterbium", "lutetium"),
    *("scandium", "yttrium"),
)

Method = Literal["eu", "geopolrisk", "usgs"]

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

    Returns one row per commodity (index ``commodity_id``): ``stage``, ``hhi``, ``imports_t``,
    ``domestic_production_t``, ``import_share`` (``F / (p + F)``), ``import_governance_risk``
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


def _eu_stage_gap(ds: Dataset, material: str, year: int, stage: str, governance_year: int) -> str:
    """Why a stage cannot be computed ('' when it can)."""
    sh = ds["supply_shares"]
    used = [stage, *(["eu_sourcing"] if stage == "processing" else [])]
    sh = sh[(sh["material"] == material) & (sh["year"] == year) & sh["stage"].isin(used)]
    gov = ds["governance"]
    scored = set(gov.loc[(gov["indicator"] == "wgi_scaled_eu") & (gov["year"] == governance_year), "region_id"])
    missing = sorted(set(sh["region_id"]) - scored)
    if missing:
        return f"skipped: no wgi_scaled_eu score ({governance_year}) for {', '.join(missing)}"
    ind = ds["material_indicators"]
    have = set(ind.loc[(ind["material"] == material) & (ind["year"] == year), "indicator"])
    lacking = [n for n in (f"import_reliance_{stage}", "eol_rir", "si_sr") if n not in have]
    if lacking:
        return f"skipped: material_indicators lacks {', '.join(lacking)}"
    return ""


def eu_table(ds: Dataset, year: int = 2023, materials: list[str] | None = None) -> pd.DataFrame:
    """EU supply risk computed per stage next to the published SR and EI, for each assessed material.

    ``materials`` default: every material with ``supply_shares`` rows in ``year``. Each stage with
    global shares is computed with :func:`eu_criticality` (governance year 2020, the end of the
    study's 2016-2020 WGI window); a stage whose suppliers lack a governance score or whose
    material lacks an indicator is kept with a ``note`` saying why and no SR, rather than raising.
    Indexed by ``(material, stage)``: ``supply_risk`` (computed), ``published_supply_risk`` and
    ``published_economic_importance`` (``material_indicators``; the study publishes the SR of the
    bottleneck stage), ``difference`` (computed - published), ``bottleneck`` (the stage with the
    larger computed SR), ``hhi_gs``, ``hhi_eus``, ``import_reliance``, ``eol_rir``, ``si_sr``, ``note``.
    """
    sh = ds["supply_shares"]
    available = sorted(set(sh.loc[sh["year"] == year, "material"]))
    chosen = available if materials is None else list(materials)
    unknown = sorted(set(chosen) - set(available))
    if unknown:
        raise CheckError(
            f"no supply shares for {', '.join(unknown)} in {year}; materials: {', '.join(available) or 'none'}"
        )
    governance_year = 2020
    ind = ds["material_indicators"]
    cols = ["hhi_gs", "hhi_eus", "import_reliance", "eol_rir", "si_sr", "supply_risk"]
    frames = []
    for material in chosen:
        stages = [
            s for s in _STAGES if ((sh["material"] == material) & (sh["year"] == year) & (sh["stage"] == s)).any()
        ]
        rows = []
        for stage in stages:
            gap = _eu_stage_gap(ds, material, year, stage, governance_year)
            if gap:
                rows.append(pd.DataFrame({"note": [gap]}, index=pd.MultiIndex.from_tuples([(material, stage)])))
                continue
            res = eu_criticality(ds, material, year, governance_year=governance_year, stages=(stage,))
            rows.append(res[cols].assign(note=""))
        block = pd.concat(rows).reindex(columns=[*cols, "note"])
        block.index = block.index.set_names(["material", "stage"])
        sr = block["supply_risk"].astype(float)
        block["bottleneck"] = sr.eq(sr.max()) & sr.notna()
        published = ind[(ind["material"] == material) & (ind["year"] == year)].set_index("indicator")["value"]
        block["published_supply_risk"] = float(published.get("supply_risk", np.nan))
        block["published_economic_importance"] = float(published.get("economic_importance", np.nan))
        frames.append(block)
    out = pd.concat(frames).astype(dict.fromkeys(cols, float))
    out["difference"] = out["supply_risk"] - out["published_supply_risk"]
    return out[
        [
            *("supply_risk", "published_supply_risk", "difference", "published_economic_importance", "bottleneck"),
            *("hhi_gs", "hhi_eus", "import_reliance", "eol_rir", "si_sr", "note"),
        ]
    ]


def _eu_method(ds: Dataset, year: int | None, region: str | None, material: str) -> pd.DataFrame:
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


def _geopolrisk_method(ds: Dataset, year: int | None, region: str | None, material: str) -> pd.DataFrame:
    if region is None:
        raise CheckError("GeoPolRisk is per importing region: give region (an ISO3 code such as JPN)")
    return geopolrisk_table(ds, region, 2024 if year is None else year, material)


def _usgs_method(ds: Dataset, year: int | None, region: str | None, material: str) -> pd.DataFrame:
    return usgs_table(ds, USGS_REGION if region is None else region, 2024 if year is None else year, material)


#: Criticality methods by name: each takes (dataset, year or None, region or None, material).
CRITICALITY_METHODS: dict[str, Callable[[Dataset, int | None, str | None, str], pd.DataFrame]] = {
    "eu": _eu_method,
    "geopolrisk": _geopolrisk_method,
    "usgs": _usgs_method,
}


def criticality_table(
    ds: Dataset,
    method: Method,
    *,
    year: int | None = None,
    region: str | None = None,
    material: str = "rare_earths",
) -> pd.DataFrame:
    """One method's criticality table: ``"eu"`` (:func:`eu_table`), ``"geopolrisk"``
    (:func:`geopolrisk_table`, needs ``region``) or ``"usgs"`` (:func:`usgs_table`, region default USA).

    ``year`` defaults to each method's own (2023 for the EU study, 2024 otherwise). For ``"eu"``,
    ``material`` is an assessed material (``"dysprosium"``) or ``"rare_earths"`` for every assessed
    rare-earth element; ``region`` must be omitted or ``"EU27"``.
    """
    run = CRITICALITY_METHODS.get(method)
    if run is None:
        raise CheckError(f"unknown method {method!r}; methods: {', '.join(CRITICALITY_METHODS)}")
    return run(ds, year, region, material)
