"""Emerging pressure points: which materials become chokepoints, when, and why (issue 13 item 4).

:func:`pressure_inputs` gathers, per material and year, six drivers and where each comes from;
:func:`pressure_points` turns them into a score out of 100 whose parts, one per driver, add up to it.

Drivers, each normalised to 0-1 by a stated rule (``x``):

=============  ============================  ===============================================================
driver         input column                  rule
=============  ============================  ===============================================================
deficit        ``deficit_share``             ``max(0, demand - supply) / demand``, clipped to 0-1
concentration  ``hhi``                       ``HHI / 10,000`` of the processing stage (extraction where
                                             ``supply_shares`` has no processing rows)
governance     ``governance_risk``           ``wgi_scaled_eu / 10`` of the top producer (0 best, 1 worst),
                                             as :mod:`chokepoint.analysis.criticality` scores suppliers
control        ``control_regime``            1 in force, ``suspended_control`` (default 0.5) imposed and
                                             suspended, 0 none
substitution   ``substitution_index``        the EU CRM ``SI_SR`` (0-1, 1 = no substitute), as published
growth         ``demand_growth_pct_per_yr``  ``growth / growth_saturation_pct_per_yr`` (default 10 %/yr:
                                             demand doubling in about seven years is full pressure),
                                             clipped to 0-1 (shrinking demand adds nothing)
=============  ============================  ===============================================================

``score = 100 · Σ_d w_d · x_d / Σ_d w_d`` and ``<driver>_points = 100 · w_d · x_d / Σ_d w_d``, so the
points sum to the score. Default weights are equal (1 each, :data:`DEFAULT_WEIGHTS`); a caller's
mapping replaces the weights it names. Each year's materials are ranked by score (ties by name).

Where the data come from (basis and source in the ``<column>_basis`` and ``<column>_source``
columns): concentration from ``supply_shares`` (EU CRM 2023 study, its latest year, moved year by
year by a projected ``concentration_path`` where one is given), governance from ``governance``
(WGI 2016-2020), substitution from ``material_indicators``, and the rest from ``outlook_materials``
(IEA Critical Minerals Dataset 2025 demand per scenario, China's control regimes, helium-3
figures). A ``balance`` of projected demand and supply, when given, supplies the deficit and the
demand growth of its materials instead. A control regime in force
is assumed to stay in force to 2050, a suspended one to stay suspended.

Missing figures are never silent zeros: each is replaced by the value in :data:`ASSUMED_WHEN_MISSING`
(a parameter), its basis is ``assumption`` and the driver is named in the ``missing`` column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from numbers import Real

import numpy as np
import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError
from chokepoint.foresight.pressure_data import (
    ASSUMPTION,
    DEFAULT_SOURCE,
    MATERIALS,
    concentration,
    controls,
    deficit,
    fields,
    governance,
    growth,
    show,
    substitution,
    whole_years,
    with_balance,
    with_concentration,
)

__all__ = [
    "ASSUMED_WHEN_MISSING",
    "DEFAULT_WEIGHTS",
    "DRIVERS",
    "MATERIALS",
    "SCENARIOS",
    "PressureRanking",
    "pressure_inputs",
    "pressure_points",
]

SCENARIOS = ("STEPS", "APS", "NZE")
#: Driver name -> the input column it normalises.
DRIVERS: dict[str, str] = {
    "deficit": "deficit_share",
    "concentration": "hhi",
    "governance": "governance_risk",
    "control": "control_regime",
    "substitution": "substitution_index",
    "growth": "demand_growth_pct_per_yr",
}
DEFAULT_WEIGHTS: dict[str, float] = dict.fromkeys(DRIVERS, 1.0)
#: Raw values used where a figure is missing (basis ``assumption``, listed in ``missing``): no deficit
#: and flat demand are not asserted without a figure; concentration, governance and substitution
#: take the middle of their range (HHI 5,000, risk 0.5, SI 0.5), neither raising nor clearing a material.
ASSUMED_WHEN_MISSING: dict[str, float | str] = {
    "deficit_share": 0.0,
    "hhi": 5000.0,
    "governance_risk": 0.5,
    "control_regime": "none",
    "substitution_index": 0.5,
    "demand_growth_pct_per_yr": 0.0,
}
CONTROL_POINTS = {"in_force": 1.0, "none": 0.0}


@dataclass(frozen=True)
class PressureRanking:
    """``scores``: material, year, score (0-100), rank, one ``<driver>_points`` column per driver
    (they sum to the score) and ``missing``; ``top_five``: material, first_year_in_top_five,
    years_in_top_five (``"2025-2031, 2040"``); ``weights``: driver, input, weight, weight_share_pct, rule."""

    scores: pd.DataFrame
    top_five: pd.DataFrame
    weights: pd.DataFrame


def _fill_missing(table: pd.DataFrame, assumed: Mapping[str, float | str]) -> pd.DataFrame:
    """Missing figures take their assumed value, basis ``assumption``; ``missing`` lists the drivers."""
    missing = pd.Series([""] * len(table), index=table.index, dtype=object)
    for driver, column in DRIVERS.items():
        gone = table[column].isna()
        table = table.astype({f"{column}_basis": object, f"{column}_source": object})
        table.loc[gone, column] = assumed[column]
        table.loc[gone, f"{column}_basis"] = ASSUMPTION
        table.loc[gone, f"{column}_source"] = DEFAULT_SOURCE
        missing = missing.where(~gone, missing.str.cat([driver] * len(table), sep=" ").str.strip())
    return table.assign(missing=missing.astype("string"))


#: The range an assumed value may take, per input (growth: any finite rate).
_ASSUMED_RANGE = {
    "deficit_share": (0.0, 1.0),
    "hhi": (0.0, 1e4),
    "governance_risk": (0.0, 1.0),
    "substitution_index": (0.0, 1.0),
    "demand_growth_pct_per_yr": (-np.inf, np.inf),
}


def _assumed(assumed: Mapping[str, float | str] | None) -> dict[str, float | str]:
    """:data:`ASSUMED_WHEN_MISSING` with the caller's values, each checked against its range."""
    out = dict(ASSUMED_WHEN_MISSING)
    for key, value in (assumed or {}).items():
        if key not in out:
            raise ChokepointError(f"assumed: unknown input {key!r}; inputs: {', '.join(out)}")
        if key == "control_regime":
            if value not in (*CONTROL_POINTS, "suspended"):
                raise ChokepointError(f"assumed, field control_regime: {value!r}; use in_force, suspended or none")
        else:
            low, high = _ASSUMED_RANGE[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, Real)
                or not (np.isfinite(value) and low <= value <= high)
            ):
                raise ChokepointError(
                    f"assumed, field {key}: {show(value)} is not a finite number from {low:g} to {high:g}"
                )
        out[key] = value
    return out


def pressure_inputs(
    ds: Dataset,
    scenario: str = "STEPS",
    years: Iterable[int] = range(2025, 2051),
    balance: pd.DataFrame | None = None,
    *,
    concentration_path: pd.DataFrame | None = None,
    assumed: Mapping[str, float | str] | None = None,
) -> pd.DataFrame:
    """The ranking's inputs, one row per (material, year) for every material of :data:`MATERIALS`.

    Columns: ``material, year, scenario``; ``deficit_share``; ``top1_share, top1_region, hhi``
    (0-10,000) of ``concentration_stage`` and ``extraction_top1_share, extraction_top1_region,
    extraction_hhi``; ``governance_risk`` (top producer, 0-1); ``control_regime`` (in_force,
    suspended, none) and ``control_since``; ``substitution_index``; ``demand_growth_pct_per_yr``;
    for each driver's column ``<column>_basis`` and ``<column>_source``; ``missing`` (drivers whose
    figure was missing and took ``assumed``, default :data:`ASSUMED_WHEN_MISSING`). ``balance``:
    columns ``material, year, demand_t, supply_t``, supplies the deficit and growth of its materials.
    ``concentration_path``: a projected path (``year, stage, material, top1_share, hhi``, e.g.
    :func:`~chokepoint.foresight.balance.concentration_path`) moves the cited concentration of its
    materials year by year (:func:`~chokepoint.foresight.pressure_data.with_concentration`).
    """
    if scenario not in SCENARIOS:
        raise ChokepointError(f"scenario: {scenario!r} is unknown; use one of {', '.join(SCENARIOS)}")
    yrs, fill = whole_years(years), _assumed(assumed)
    materials = list(MATERIALS)
    outlook = ds["outlook_materials"]
    grid = pd.MultiIndex.from_product([materials, yrs], names=["material", "year"]).to_frame(index=False)
    conc = concentration(ds, outlook)
    table = grid.merge(conc, left_on="material", right_index=True, how="left")
    table = table.merge(substitution(ds, outlook), left_on="material", right_index=True, how="left")
    for part in (
        governance(ds, conc, yrs),
        controls(outlook, materials, yrs),
        growth(outlook, scenario, yrs),
        deficit(outlook, scenario, yrs),
    ):
        table = table.merge(part, on=["material", "year"], how="left")
    if balance is not None:
        table = with_balance(table, balance, yrs)
    if concentration_path is not None:
        table = with_concentration(table, concentration_path)
    table = _fill_missing(table.astype({"control_regime": object}), fill)
    order = {m: i for i, m in enumerate(materials)}
    table = table.sort_values(["material", "year"], key=lambda s: s.map(order) if s.name == "material" else s)
    columns = [
        "material", "year", "scenario", *fields("deficit_share"), "top1_share", "top1_region", *fields("hhi"),
        "concentration_stage", "extraction_top1_share", "extraction_top1_region", "extraction_hhi",
        *fields("governance_risk"), *fields("control_regime"), "control_since", *fields("substitution_index"),
        *fields("demand_growth_pct_per_yr"), "missing",
    ]  # fmt: skip
    out = table.assign(scenario=scenario)[columns].reset_index(drop=True)
    floats = ["deficit_share", "hhi", "governance_risk", "substitution_index", "demand_growth_pct_per_yr"]
    return out.astype(dict.fromkeys(floats, float) | {"control_since": "Int64", "year": int})


# --- scores ------------------------------------------------------------------------------------

_RULES = {
    "deficit": "deficit_share, clipped to 0-1",
    "concentration": "hhi / 10,000",
    "governance": "governance_risk (wgi_scaled_eu / 10 of the top producer)",
    "control": "1 in force, suspended_control if suspended, 0 none",
    "substitution": "substitution_index (EU SI_SR), clipped to 0-1",
    "growth": "demand_growth_pct_per_yr / growth_saturation_pct_per_yr, clipped to 0-1",
}


def _number(name: str, value: object, low: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(float(value)) or value < low:
        raise ChokepointError(f"{name}: {value!r} is not a finite number at least {low:g}")
    return float(value)


def _weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    if weights is not None and not isinstance(weights, Mapping):
        raise ChokepointError(f"weights: expected a mapping of driver to weight, got {type(weights).__name__}")
    out = dict(DEFAULT_WEIGHTS)
    for driver, value in (weights or {}).items():
        if driver not in DRIVERS:
            raise ChokepointError(f"weights: unknown driver {driver!r}; drivers: {', '.join(DRIVERS)}")
        out[driver] = _number(f"weights, driver {driver}", value)
    if sum(out.values()) <= 0:
        raise ChokepointError("weights: every weight is 0; give at least one driver a positive weight")
    return out


def _normalised(inputs: pd.DataFrame, suspended_control: float, saturation: float) -> pd.DataFrame:
    """Each driver on 0-1 by the rule of the module docstring (columns named by driver)."""
    lacking = [c for c in ("material", "year", *DRIVERS.values()) if c not in inputs.columns]
    if lacking:
        raise ChokepointError(f"inputs: missing column {lacking[0]!r}; build inputs with pressure_inputs")
    regime = inputs["control_regime"].astype(object)
    known = {**CONTROL_POINTS, "suspended": suspended_control}
    if not regime.isin(list(known)).all():
        bad = regime[~regime.isin(list(known))].iloc[0]
        raise ChokepointError(f"inputs, field control_regime: {bad!r}; use in_force, suspended or none")
    x = pd.DataFrame(
        {
            "deficit": inputs["deficit_share"],
            "concentration": inputs["hhi"] / 1e4,
            "governance": inputs["governance_risk"],
            "control": regime.map(known),
            "substitution": inputs["substitution_index"],
            "growth": inputs["demand_growth_pct_per_yr"] / saturation,
        }
    ).astype(float)
    if not np.isfinite(x.to_numpy()).all():
        row, col = np.argwhere(~np.isfinite(x.to_numpy()))[0]
        column = DRIVERS[x.columns[col]]
        raise ChokepointError(
            f"inputs, field {column}: {show(inputs[column].iloc[row])} for {inputs['material'].iloc[row]} is not a "
            "finite number; pressure_inputs fills missing figures"
        )
    return x.clip(0.0, 1.0)


def _runs(years: pd.Series) -> str:
    """``[2025, 2026, 2027, 2040]`` -> ``"2025-2027, 2040"``."""
    ys = sorted(int(y) for y in years)
    # a run ends where the next year is not the year after
    ends = [i for i in range(len(ys)) if i == len(ys) - 1 or ys[i + 1] != ys[i] + 1]
    starts = [0, *(i + 1 for i in ends[:-1])]
    return ", ".join(str(ys[a]) if a == b else f"{ys[a]}-{ys[b]}" for a, b in zip(starts, ends, strict=True))


def pressure_points(
    inputs: pd.DataFrame,
    weights: Mapping[str, float] | None = None,
    *,
    suspended_control: float = 0.5,
    growth_saturation_pct_per_yr: float = 10.0,
) -> PressureRanking:
    """Score and rank ``inputs`` (:func:`pressure_inputs`) per year; see the module docstring.

    ``weights``: driver -> weight (>= 0), replacing the equal defaults for the drivers it names.
    ``suspended_control`` (0-1): the control points of a regime imposed and suspended (default 0.5,
    an assumption: a lever shown and holstered). ``growth_saturation_pct_per_yr`` (> 0): the growth
    that earns full growth points (default 10 %/yr, an assumption).
    """
    w = _weights(weights)
    suspended = _number("suspended_control", suspended_control)
    if suspended > 1:
        raise ChokepointError(f"suspended_control: {suspended_control!r} is above 1; give a fraction of full points")
    saturation = _number("growth_saturation_pct_per_yr", growth_saturation_pct_per_yr)
    if saturation == 0:
        raise ChokepointError("growth_saturation_pct_per_yr: 0; give the growth, %/yr, that earns full points")
    x = _normalised(inputs, suspended, saturation)
    total = sum(w.values())
    points = pd.DataFrame({f"{d}_points": 100.0 * w[d] * x[d] / total for d in DRIVERS})
    missing = inputs["missing"] if "missing" in inputs.columns else pd.Series("", index=inputs.index)
    scores = pd.concat([inputs[["material", "year"]], points], axis=1).assign(
        score=points.sum(axis=1), missing=missing.fillna("").astype("string")
    )
    scores = scores.sort_values(["year", "score", "material"], ascending=[True, False, True], kind="stable")
    scores["rank"] = scores.groupby("year").cumcount() + 1
    scores = scores[["material", "year", "score", "rank", *points.columns, "missing"]].reset_index(drop=True)
    top = scores[scores["rank"] <= 5]
    top_five = (
        top.groupby("material")
        .agg(first_year_in_top_five=("year", "min"), years_in_top_five=("year", _runs), best=("rank", "min"))
        .reset_index()
        .sort_values(["first_year_in_top_five", "best", "material"])
        .drop(columns="best")
        .reset_index(drop=True)
    )
    table = pd.DataFrame(
        {
            "driver": list(DRIVERS),
            "input": list(DRIVERS.values()),
            "weight": [w[d] for d in DRIVERS],
            "weight_share_pct": [100.0 * w[d] / total for d in DRIVERS],
            "rule": [_RULES[d] for d in DRIVERS],
        }
    )
    return PressureRanking(scores, top_five, table)
