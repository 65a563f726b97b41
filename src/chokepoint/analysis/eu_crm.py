"""The EU CRM method applied to a whole dataset: supply risk and economic importance computed for
every material and rare-earth element, beside the European Commission's published figures.

Method: EC (2017) *Methodology for establishing the EU list of critical raw materials: guidelines*,
doi:10.2873/769526, applied unchanged in the 2023 study (Grohol & Veeh, doi:10.2873/725585); the
economic-importance terms as defined by the JRC (RMIS, "JRC revised methodology: Economic
Importance", https://rmis.jrc.ec.europa.eu/?page=jrc-revised-methodology-economic-importance-924e6b):

* ``SR = [HHI_GS · IR/2 + HHI_EUS · (1 − IR/2)] · (1 − EOL_RIR) · SI_SR`` per stage (extraction,
  processing), ``HHI = Σ S_c² · WGI_c · t_c``; the published SR is the larger stage (bottleneck).
* ``EI = Σ_s A_s · Q_s / Q_max · 10 · SI_EI``: ``A_s`` end-use share allocated to NACE 2-digit sector
  ``s``, ``Q_s`` the sector's EU27 value added, ``Q_max`` the largest manufacturing (C) sector's value
  added (C28 in 2023), which puts EI on the study's 0–10 scale. The brief's ``Σ A_s Q_s / Σ Q_s``
  is not the study's scaling: it does not reproduce Nd 7.2 / Tb 6.4, the ``Q_max`` form does.
* Groups (``hree``, ``lree``) are the plain means of their members: the published member values
  give the published group values this way (SR 5.09 → 5.1 and 3.74 → 3.7; EI 4.28 → 4.2 and 5.94 → 5.9).

Inputs never default silently: every gap (a supplier without a governance score, an end use the
study gives no NACE sector, an absent indicator) is named in the ``missing_inputs`` column.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from chokepoint.analysis.indices import eu_economic_importance, eu_supply_risk, hhi_wgi_t
from chokepoint.dataset import Dataset
from chokepoint.dataset.groups import RARE_EARTHS
from chokepoint.errors import CheckError

__all__ = [
    "EU_GOVERNANCE_YEAR",
    "EU_GROUPS",
    "REE_ELEMENTS",
    "eu_assessment",
    "eu_criticality",
    "eu_economic_importance_table",
    "eu_stage_supply_risk",
    "eu_table",
]

#: The 17 rare-earth elements: EU-assessed materials that belong to the ``rare_earths`` family.
REE_ELEMENTS = tuple(RARE_EARTHS.values())
#: The study's rare-earth groups (2023 study, p.2): ten heavy and five light elements; scandium apart.
EU_GROUPS: dict[str, tuple[str, ...]] = {
    "hree": (
        *("dysprosium", "erbium", "europium", "gadolinium", "holmium"),
        *("lutetium", "terbium", "thulium", "ytterbium", "yttrium"),
    ),
    "lree": ("cerium", "lanthanum", "neodymium", "praseodymium", "samarium"),
}
#: Last year of the study's 2016-2020 WGI averaging window (governance.csv ``year``).
EU_GOVERNANCE_YEAR = 2020
#: EU sourcing shares that pair with each stage's global shares.
_EU_SOURCING = {"extraction": "eu_sourcing_extraction", "processing": "eu_sourcing"}
_STAGES = tuple(_EU_SOURCING)
_TERMS = ["hhi_gs", "hhi_eus", "import_reliance", "eol_rir", "si_sr", "supply_risk"]
_UNALLOCATED = "unallocated"


def _scores(ds: Dataset, governance_year: int, wgi: Mapping[str, float] | None = None) -> pd.Series:
    gov = ds["governance"]
    gov = gov[(gov["indicator"] == "wgi_scaled_eu") & (gov["year"] == governance_year)]
    scores = pd.Series(gov["score"].astype(float).to_numpy(), index=gov["region_id"].to_numpy())
    return pd.concat([scores.drop(list(wgi or {}), errors="ignore"), pd.Series(wgi or {}, dtype=float)])


def _hhi(rows: pd.DataFrame, scores: pd.Series, what: str, missing: list[str]) -> float | None:
    """``Σ S² · WGI · t`` over the suppliers with a score; the others are named in ``missing``
    with their share (ROW is a residual of many suppliers, never scored as one)."""
    if rows.empty:
        return None
    scored = rows["region_id"].isin(scores.index)
    if not scored.all():
        gone = rows[~scored]
        listed = ", ".join(f"{r} {100 * s:.1f}%" for r, s in zip(gone["region_id"], gone["share"], strict=True))
        missing.append(f"{what}: no wgi_scaled_eu for {listed} (HHI term left out)")
    kept = rows[scored]
    t = kept["trade_restriction_t"].astype(float).fillna(1.0)
    return hhi_wgi_t(kept["share"].astype(float), kept["region_id"].map(scores), t)


def _stage_terms(
    sh: pd.DataFrame, scores: pd.Series, ind: pd.Series, stage: str
) -> tuple[dict[str, float] | None, list[str]]:
    """The SR of one stage and its terms (:data:`_TERMS`), or None, with the inputs it lacked.

    ``sh``: the material's supply shares of the year; ``ind``: its indicators by name. Suppliers
    without a score are left out of the HHI and listed (each term is at most ``share² · 10``);
    without EU sourcing shares, or where the study records that it used global supply only
    (indicator ``eu_sourcing_used_<stage>`` = 0), the SR uses global supply alone, as the study does.
    """
    missing: list[str] = []
    gs = _hhi(sh[sh["stage"] == stage], scores, f"{stage} supply", missing)
    # the study's own choice where it records one (eu_sourcing_used_<stage> = 0: global supply only)
    use_eu = float(ind.get(f"eu_sourcing_used_{stage}", 1.0)) != 0.0
    eu_rows = sh[sh["stage"] == _EU_SOURCING[stage]] if use_eu else sh.iloc[0:0]
    eus = _hhi(eu_rows, scores, f"{stage} EU sourcing", missing)
    needed = [f"import_reliance_{stage}", "eol_rir", "si_sr"]
    lacking = [n for n in needed if n not in ind.index]
    if gs is None:
        return None, [f"no {stage} supply shares", *missing]
    if lacking:
        return None, [f"{stage}: material_indicators lacks {', '.join(lacking)}", *missing]
    ir, eol, si = (float(ind[n]) for n in needed)
    sr = eu_supply_risk(gs, eus, ir, eol, si)
    terms = dict(zip(_TERMS, (gs, np.nan if eus is None else eus, ir, eol, si, sr), strict=True))
    return terms, missing


def _inputs(ds: Dataset, material: str, year: int) -> tuple[pd.DataFrame, pd.Series]:
    sh = ds["supply_shares"]
    rows = ds["material_indicators"]
    ind = rows[(rows["material"] == material) & (rows["year"] == year)].set_index("indicator")["value"]
    return sh[(sh["material"] == material) & (sh["year"] == year)], ind.astype(float)


def eu_stage_supply_risk(
    ds: Dataset, material: str, year: int, stage: str, governance_year: int = EU_GOVERNANCE_YEAR
) -> tuple[float | None, list[str]]:
    """Supply risk of one stage (``extraction`` or ``processing``) and the inputs it lacked
    (``(None, [...])`` when the stage has no global shares or an indicator is absent)."""
    sh, ind = _inputs(ds, material, year)
    terms, missing = _stage_terms(sh, _scores(ds, governance_year), ind, stage)
    return (None if terms is None else terms["supply_risk"]), missing


def eu_criticality(
    ds: Dataset,
    material: str,
    year: int,
    governance_year: int = EU_GOVERNANCE_YEAR,
    wgi: Mapping[str, float] | None = None,
    stages: tuple[str, ...] = _STAGES,
) -> pd.DataFrame:
    """EU supply risk of ``material`` at each stage, strictly: every supplier needs a score.

    Reads ``supply_shares`` (global ``extraction``/``processing``, EU sourcing
    ``eu_sourcing_extraction``/``eu_sourcing``, with t), ``governance`` (``wgi_scaled_eu`` of
    ``governance_year``; ``wgi`` overrides or adds scores) and ``material_indicators``
    (``import_reliance_<stage>``, ``eol_rir``, ``si_sr``); a stage without shares or import reliance
    is left out. One row per stage indexed by ``(material, stage)``: ``hhi_gs``, ``hhi_eus``,
    ``import_reliance``, ``eol_rir``, ``si_sr``, ``supply_risk`` and ``bottleneck`` (the larger SR,
    which the study publishes). :func:`eu_table` is the lenient form that names gaps instead.
    """
    unknown = sorted(set(stages) - set(_STAGES))
    if unknown:
        raise CheckError(f"unknown stage {', '.join(unknown)}; stages are: {', '.join(_STAGES)}")
    sh, ind = _inputs(ds, material, year)
    sh = sh[sh["stage"].isin([*stages, *(_EU_SOURCING[s] for s in stages)])]
    if sh.empty:
        have = sorted(ds["supply_shares"]["material"].dropna().unique())
        raise CheckError(f"no supply shares for {material!r} in {year}; materials: {', '.join(have)}")
    scores = _scores(ds, governance_year, wgi)
    unscored = sorted(set(sh["region_id"]) - set(scores.index))
    if unscored:
        raise CheckError(
            f"no wgi_scaled_eu score for {', '.join(unscored)} ({material}, governance year {governance_year});"
            " add rows to governance.csv or pass wgi={code: score}"
        )
    if "eol_rir" not in ind.index or "si_sr" not in ind.index:
        raise CheckError(f"material_indicators lacks eol_rir or si_sr for {material!r} in {year}")
    records = []
    for stage in stages:
        terms, _ = _stage_terms(sh, scores, ind, stage)
        if terms is not None:
            records.append({"material": material, "stage": stage, **terms})
    out = pd.DataFrame.from_records(records, columns=["material", "stage", *_TERMS]).set_index(["material", "stage"])
    return out.assign(bottleneck=out["supply_risk"] == out["supply_risk"].max())


def eu_table(ds: Dataset, year: int = 2023, materials: list[str] | None = None) -> pd.DataFrame:
    """EU supply risk per stage next to the published SR and EI, for each assessed material.

    ``materials`` default: every material with ``supply_shares`` rows in ``year``. Each stage with
    global shares is computed as in :func:`eu_assessment` (governance year 2020, the end of the
    study's 2016-2020 WGI window): suppliers without a score are left out of the HHI and named in
    ``note``, a stage whose material lacks an indicator keeps its ``note`` and no SR.
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
    scores = _scores(ds, EU_GOVERNANCE_YEAR)
    published = _published(ds, year)
    records = []
    for material in chosen:
        rows, ind = _inputs(ds, material, year)
        for stage in [s for s in _STAGES if (rows["stage"] == s).any()]:
            terms, missing = _stage_terms(rows, scores, ind, stage)
            records.append({"material": material, "stage": stage, **(terms or {}), "note": "; ".join(missing)})
    out = pd.DataFrame.from_records(records).reindex(columns=["material", "stage", *_TERMS, "note"])
    out = out.astype(dict.fromkeys(_TERMS, float)).set_index(["material", "stage"])
    sr = out["supply_risk"]
    out["bottleneck"] = sr.eq(sr.groupby(level="material").transform("max")) & sr.notna()
    mats = out.index.get_level_values("material")
    out["published_supply_risk"] = published["supply_risk"].reindex(mats).to_numpy()
    out["published_economic_importance"] = published["economic_importance"].reindex(mats).to_numpy()
    out["difference"] = out["supply_risk"] - out["published_supply_risk"]
    return out[
        [
            *("supply_risk", "published_supply_risk", "difference", "published_economic_importance", "bottleneck"),
            *("hhi_gs", "hhi_eus", "import_reliance", "eol_rir", "si_sr", "note"),
        ]
    ]


def eu_economic_importance_table(ds: Dataset, year: int = 2023, region: str = "EU27") -> pd.DataFrame:
    """EI computed per material from ``end_use_shares`` × ``nace_value_added`` × ``si_ei``.

    One row per material with end-use shares (index ``material``): ``economic_importance``
    (NaN where an input is missing), ``allocated_share`` (end use with a NACE sector and value added),
    ``unallocated_share`` (end use the study gives no sector: counted in none, so the EI is a
    lower bound), ``si_ei``, ``q_max_eur_m`` (the scaling sector's value added), ``sectors`` and
    ``missing_inputs``.
    """
    uses = ds["end_use_shares"]
    uses = uses[uses["year"] == year]
    va = ds["nace_value_added"]
    va = va[(va["region_id"] == region) & (va["year"] == year)].set_index("nace_code")
    manufacturing = va.loc[va.index.str.startswith("C"), "value_added_eur_m"].astype(float)
    q_max = float(manufacturing.max()) if len(manufacturing) else np.nan
    ind = ds["material_indicators"]
    si_ei = ind[(ind["indicator"] == "si_ei") & (ind["year"] == year)].set_index("material")["value"]
    records = []
    for material, rows in uses.groupby("material", sort=True):
        missing: list[str] = []
        allocated = rows[rows["nace_code"] != _UNALLOCATED]
        no_va = sorted(set(allocated["nace_code"]) - set(va.index))
        if no_va:
            missing.append(f"no {region} value added for {', '.join(no_va)}")
        allocated = allocated[allocated["nace_code"].isin(va.index)]
        unallocated = float(rows.loc[rows["nace_code"] == _UNALLOCATED, "share"].sum())
        if unallocated > 0:
            missing.append(f"{100 * unallocated:.0f}% of end use has no NACE sector in the source (counted in none)")
        si = si_ei.get(material)
        if si is None:
            missing.append("material_indicators lacks si_ei")
        if np.isnan(q_max):
            missing.append(f"no {region} manufacturing value added in {year}")
        ei = np.nan
        if si is not None and not np.isnan(q_max) and len(allocated):
            q = allocated["nace_code"].map(va["value_added_eur_m"]).astype(float)
            ei = eu_economic_importance(allocated["share"].astype(float), q, float(si), q_max)
        records.append(
            {
                "material": material,
                "economic_importance": ei,
                "allocated_share": float(allocated["share"].sum()),
                "unallocated_share": unallocated,
                "si_ei": np.nan if si is None else float(si),
                "q_max_eur_m": q_max,
                "sectors": " ".join(sorted(set(allocated["nace_code"]))),
                "missing_inputs": "; ".join(missing),
            }
        )
    columns = ["material", "economic_importance", "allocated_share", "unallocated_share", "si_ei"]
    columns += ["q_max_eur_m", "sectors", "missing_inputs"]
    return pd.DataFrame.from_records(records, columns=columns).set_index("material")


def _assessed(ds: Dataset, year: int) -> list[str]:
    """Every material the dataset ships (commodity materials, rare earths as their 17 elements) or assesses."""
    shipped = set(ds["commodities"]["material"].dropna()) - {"rare_earths"}
    listed = {
        *ds["supply_shares"].loc[ds["supply_shares"]["year"] == year, "material"],
        *ds["end_use_shares"].loc[ds["end_use_shares"]["year"] == year, "material"],
        *ds["material_indicators"].loc[ds["material_indicators"]["year"] == year, "material"],
    }
    others = sorted((shipped | listed) - set(REE_ELEMENTS) - set(EU_GROUPS))
    return [*REE_ELEMENTS, *others]


def _published(ds: Dataset, year: int) -> pd.DataFrame:
    ind = ds["material_indicators"]
    ind = ind[(ind["year"] == year) & ind["indicator"].isin(["supply_risk", "economic_importance"])]
    wide = ind.pivot_table(index="material", columns="indicator", values="value", aggfunc="first")
    return wide.reindex(columns=["supply_risk", "economic_importance"]).astype(float)


def eu_assessment(
    ds: Dataset, year: int = 2023, materials: list[str] | None = None, governance_year: int = EU_GOVERNANCE_YEAR
) -> pd.DataFrame:
    """Computed EU supply risk and economic importance beside the published ones, per material.

    Rows: the 17 rare-earth elements, every other material the dataset ships or assesses, then the
    groups ``hree`` and ``lree`` (means of their members, computed only when every member is).
    ``materials`` keeps those rows only. Indexed by ``material``: ``kind`` (element, material,
    group), ``supply_risk`` (computed, bottleneck stage), ``bottleneck_stage``,
    ``published_supply_risk``, ``sr_difference``, ``economic_importance`` (computed),
    ``published_economic_importance``, ``ei_difference``, ``unallocated_end_use_share`` and
    ``missing_inputs`` (every input the computation lacked, ``""`` when none).
    """
    ei = eu_economic_importance_table(ds, year)
    published = _published(ds, year)
    records = []
    for material in _assessed(ds, year):
        missing: list[str] = []
        stages = {}
        unassessed = []
        for stage in ("extraction", "processing"):
            sr, gaps = eu_stage_supply_risk(ds, material, year, stage, governance_year)
            if sr is not None:
                stages[stage] = sr
            # a material is assessed at one stage or both: a stage without shares is not a gap
            unassessed += [g for g in gaps if g == f"no {stage} supply shares"]
            missing += [g for g in gaps if g != f"no {stage} supply shares"]
        if len(unassessed) == 2:
            missing.insert(0, "no supply shares (extraction or processing)")
        bottleneck = max(stages, key=lambda s: stages[s]) if stages else ""
        row = ei.loc[material] if material in ei.index else None
        if row is None:
            missing.append("no end-use shares")
        elif row["missing_inputs"]:
            missing.append(str(row["missing_inputs"]))
        records.append(
            {
                "material": material,
                "kind": "element" if material in REE_ELEMENTS else "material",
                "supply_risk": stages[bottleneck] if stages else np.nan,
                "bottleneck_stage": bottleneck,
                "economic_importance": np.nan if row is None else float(row["economic_importance"]),
                "unallocated_end_use_share": np.nan if row is None else float(row["unallocated_share"]),
                "missing_inputs": "; ".join(dict.fromkeys(missing)),
            }
        )
    out = pd.DataFrame.from_records(records).set_index("material")
    out = pd.concat([out, _groups(out)])
    out["published_supply_risk"] = published.get("supply_risk", pd.Series(dtype=float)).reindex(out.index)
    out["published_economic_importance"] = published.get("economic_importance", pd.Series(dtype=float)).reindex(
        out.index
    )
    out["sr_difference"] = out["supply_risk"] - out["published_supply_risk"]
    out["ei_difference"] = out["economic_importance"] - out["published_economic_importance"]
    if materials is not None:
        out = out.loc[[m for m in out.index if m in set(materials)]]
    return out[
        [
            *("kind", "supply_risk", "published_supply_risk", "sr_difference", "bottleneck_stage"),
            *("economic_importance", "published_economic_importance", "ei_difference"),
            *("unallocated_end_use_share", "missing_inputs"),
        ]
    ]


def _groups(members: pd.DataFrame) -> pd.DataFrame:
    """Group rows as the means of their members' computed values (NaN unless every member has one)."""
    rows = []
    for group, names in EU_GROUPS.items():
        block = members.loc[list(names)]
        gaps = [
            f"{what}: not computed for {', '.join(block.index[block[col].isna()])}"
            for col, what in (("supply_risk", "SR"), ("economic_importance", "EI"))
            if block[col].isna().any()
        ]
        rows.append(
            {
                "material": group,
                "kind": "group",
                "supply_risk": block["supply_risk"].mean(skipna=False),
                "bottleneck_stage": "",
                "economic_importance": block["economic_importance"].mean(skipna=False),
                "unallocated_end_use_share": np.nan,
                "missing_inputs": "; ".join(gaps),
            }
        )
    return pd.DataFrame.from_records(rows).set_index("material")
