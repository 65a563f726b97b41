"""Criticality indices as pure functions over arrays: EU CRM supply risk and economic importance,
GeoPolRisk, USGS-style supply risk, each with its equation and source.

Shares are fractions (0-1) everywhere. Published shares are rounded, so a stage may sum slightly
above 1; sums up to ``1 + SHARE_SUM_TOLERANCE`` are accepted. What was verified against published
values and what was not: see :mod:`chokepoint.analysis.criticality`, which applies these to a
dataset's tables.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from chokepoint.errors import CheckError

__all__ = [
    "SHARE_SUM_TOLERANCE",
    "eu_economic_importance",
    "eu_supply_risk",
    "geopolrisk",
    "hhi_wgi_t",
    "usgs_disruption_potential",
    "usgs_supply_risk",
    "wgi_scaled_eu",
]

#: Rounded published shares may sum to a little more than 100 %.
SHARE_SUM_TOLERANCE = 0.02


def _array(name: str, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.ndim != 1:
        raise CheckError(f"{name}: expected a 1-D sequence, got shape {arr.shape}")
    if np.isnan(arr).any():
        raise CheckError(f"{name}: contains missing values; fill or drop them first")
    return arr


def _shares(name: str, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    s = _array(name, values)
    if (s < 0).any():
        raise CheckError(f"{name}: negative share {s.min():g}; shares are fractions from 0 to 1")
    if s.sum() > 1 + SHARE_SUM_TOLERANCE:
        raise CheckError(f"{name}: shares sum to {s.sum():.3f} (over 100%); give fractions of one market")
    return s


def _same_length(**arrays: npt.NDArray[np.float64]) -> None:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k}={n}" for k, n in lengths.items())
        raise CheckError(f"mismatched lengths ({detail}); give one value per supplier")


def _fraction(name: str, value: float) -> float:
    v = float(value)
    if not 0.0 <= v <= 1.0:
        raise CheckError(f"{name}={v:g} is outside 0-1; give a fraction (0.35 for 35%)")
    return v


def wgi_scaled_eu(wgi_mean: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """EU-CRM governance score on 0-10 (10 = worst) from the mean of the six WGI estimates.

    ``WGI_scaled = 5 - 2 * WGI_mean``: maps the WGI range [-2.5, 2.5] linearly onto [10, 0].
    Source of the convention: EC (2017) guidelines, doi:10.2873/769526; not read here, verified by
    reproducing published 2023 SR values (module docstring).
    """
    return 5.0 - 2.0 * _array("wgi_mean", wgi_mean)


def hhi_wgi_t(shares: npt.ArrayLike, wgi: npt.ArrayLike, t: npt.ArrayLike | None = None) -> float:
    """Governance- and trade-weighted concentration: ``HHI_WGI,t = Σ_c S_c² · WGI_c · t_c``.

    ``S_c`` supplier shares as fractions (the guidelines' HHI on 0-1), ``WGI_c`` the EU-scaled
    governance (0-10), ``t_c`` the trade-related variable (1 without measures, >1 with export
    restrictions, 0.8 with an EU trade agreement; default 1). A monopoly of a country with
    WGI 6 and t 1 scores 6. EC (2017) guidelines, doi:10.2873/769526.
    """
    s = _shares("shares", shares)
    w = _array("wgi", wgi)
    tt = np.ones_like(s) if t is None else _array("t", t)
    _same_length(shares=s, wgi=w, t=tt)
    if (w < 0).any() or (tt <= 0).any():
        raise CheckError("wgi must be >= 0 and t > 0; check the governance and trade columns")
    return float(np.sum(s**2 * w * tt))


def eu_supply_risk(
    hhi_gs: float,
    hhi_eus: float | None,
    import_reliance: float,
    eol_rir: float,
    si_sr: float,
) -> float:
    """EU supply risk at one stage: ``SR = [HHI_GS · IR/2 + HHI_EUS · (1 - IR/2)] · (1 - EOL_RIR) · SI_SR``.

    ``HHI_GS``, ``HHI_EUS``: :func:`hhi_wgi_t` of global supply and of EU sourcing; ``IR`` import
    reliance (fraction); ``EOL_RIR`` end-of-life recycling input rate; ``SI_SR`` substitution index.
    Without EU sourcing data (``hhi_eus=None``) the study uses global supply alone:
    ``SR = HHI_GS · (1 - EOL_RIR) · SI_SR``. The published SR is the larger of the extraction and
    processing stages (the bottleneck). EC (2017) guidelines, doi:10.2873/769526.
    """
    ir = _fraction("import_reliance", import_reliance)
    eol = _fraction("eol_rir", eol_rir)
    si = float(si_sr)
    if si < 0 or hhi_gs < 0 or (hhi_eus is not None and hhi_eus < 0):
        raise CheckError("hhi and si_sr must be >= 0")
    core = hhi_gs if hhi_eus is None else hhi_gs * ir / 2 + hhi_eus * (1 - ir / 2)
    return float(core * (1 - eol) * si)


def eu_economic_importance(
    end_use_shares: npt.ArrayLike,
    sector_value_added: npt.ArrayLike,
    si_ei: float,
    max_sector_value_added: float,
) -> float:
    """EU economic importance: ``EI = Σ_s A_s · Q_s / Q_max · 10 · SI_EI``.

    ``A_s`` end-use shares allocated to NACE Rev.2 2-digit sectors, ``Q_s`` the sectors' value added,
    scaled to the largest manufacturing sector (``Q_max``; EUR 204,200 m, C28, in the 2023 study) on a
    0-10 scale; ``SI_EI`` substitution index. EC (2017) guidelines, doi:10.2873/769526.
    """
    a = _shares("end_use_shares", end_use_shares)
    q = _array("sector_value_added", sector_value_added)
    _same_length(end_use_shares=a, sector_value_added=q)
    if max_sector_value_added <= 0 or (q < 0).any() or (q > max_sector_value_added).any():
        raise CheckError("sector value added must be >= 0 and at most max_sector_value_added (> 0)")
    return float(np.sum(a * q) / max_sector_value_added * 10.0 * float(si_ei))


def geopolrisk(
    production_shares: npt.ArrayLike,
    governance: npt.ArrayLike,
    imports: npt.ArrayLike,
    domestic_production: float,
) -> float:
    """GeoPolRisk of country A for a material: ``HHI · Σ_c g_c · f_A,c / (p_A + F_A)``.

    ``HHI = Σ s_i²`` of global production shares (fractions, 0-1), ``g_c`` governance risk of supplier
    ``c`` (e.g. WGI political stability rescaled 0-1, higher = riskier; the rescaling is the caller's),
    ``f_A,c`` A's imports from ``c``, ``p_A`` A's production, ``F_A = Σ f_A,c``. With no imports the
    score is 0; with neither imports nor production it is undefined and raises. Gemechu et al. (2016)
    J. Ind. Ecol. 20(1):154-165; Helbig et al. (2016); Santillán-Saldivar et al. (2021).
    """
    hhi = float(np.sum(_shares("production_shares", production_shares) ** 2))
    g = _array("governance", governance)
    f = _array("imports", imports)
    _same_length(governance=g, imports=f)
    if (f < 0).any() or domestic_production < 0:
        raise CheckError("imports and domestic_production must be >= 0")
    total = float(domestic_production) + float(f.sum())
    if total == 0:
        raise CheckError("no imports and no domestic production: GeoPolRisk is undefined")
    return hhi * float(np.sum(g * f)) / total


def usgs_disruption_potential(shares: npt.ArrayLike, governance_risk: npt.ArrayLike) -> float:
    """Governance-weighted concentration of production: ``DP = Σ_c s_c² · r_c``.

    ``s_c`` production shares (fractions), ``r_c`` supplier risk on 0-1 (e.g. ``1 - WGI percentile/100``).
    Structure after Nassar & Fortier (2021), USGS OFR 2021-1045; the exact DP definition (which WGI
    dimensions, which years, any normalisation) was NOT read from the report: treat it as a parameter.
    """
    s = _shares("shares", shares)
    r = _array("governance_risk", governance_risk)
    _same_length(shares=s, governance_risk=r)
    if ((r < 0) | (r > 1)).any():
        raise CheckError("governance_risk must lie in 0-1 (1 = worst)")
    return float(np.sum(s**2 * r))


def usgs_supply_risk(disruption_potential: float, trade_exposure: float, economic_vulnerability: float) -> float:
    """USGS-style supply risk: ``SR = DP · TE · EV``.

    ``DP`` disruption potential (:func:`usgs_disruption_potential`), ``TE`` trade exposure (net import
    reliance, fraction; 0 for a net exporter), ``EV`` economic vulnerability (fraction). Structure of
    Nassar & Fortier (2021), USGS OFR 2021-1045, doi:10.3133/ofr20211045; the report's exact scaling of
    each factor was not verified, so no published USGS value is reproduced.
    """
    te = _fraction("trade_exposure", trade_exposure)
    ev = _fraction("economic_vulnerability", economic_vulnerability)
    if disruption_potential < 0:
        raise CheckError("disruption_potential must be >= 0")
    return float(disruption_potential) * te * ev
