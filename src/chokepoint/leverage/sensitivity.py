"""The headline's sensitivity: one at a time, global (Sobol or Morris on the sweeps' samplers),
and the parameter values that reverse it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.leverage.compare import DECOUPLED, ENGAGED, _unique
from chokepoint.leverage.model import (
    Array,
    Dependence,
    LeverageError,
    Pathway,
    SimulatedLosses,
    _coverage,
    _pair,
    _paths,
    _rate_factor,
    load_dependences,
    simulated_losses,
)
from chokepoint.leverage.run import _dependence_columns, _deterrence_checks
from chokepoint.scenario.uncertain import UncertainParameter
from chokepoint.sweeps.analyse import morris_indices, sobol_indices
from chokepoint.sweeps.samplers import Design, sample

# --- one-at-a-time sensitivity --------------------------------------------------------------------

#: Parameters :func:`sensitivity` varies: the pathway's game and effort parameters, and metrics of
#: every dependence (all domains, both directions at once).
PATHWAY_PARAMETERS = ("baseline_effort", "effort_response", "coercion_share", "discount_rate")
DEPENDENCE_PARAMETERS = {
    "substitution_years": "substitution_years",
    "leakage_share": "leakage_share",
    "dependence_share": "dependence",
}
SENSITIVITY_PARAMETERS = (
    "substitution_years",
    "baseline_effort",
    "effort_response",
    "denial_strength",
    "leakage_share",
    "coercion_share",
    "discount_rate",
    "dependence_share",
)
#: Valid range of each parameter; scaled values are clipped into it.
_BOUNDS = dict.fromkeys((*PATHWAY_PARAMETERS, "denial_strength", "leakage_share", "dependence_share"), (0.0, 1.0)) | {
    "substitution_years": (1e-6, math.inf)
}


def _scaled(value: float, name: str, factor: float) -> float:
    lo, hi = _BOUNDS[name]
    return float(min(max(value * factor, lo), hi))


def _vary(
    deps: dict[str, list[Dependence]], pathways: list[Pathway], name: str, factor: float
) -> tuple[dict[str, list[Dependence]], list[Pathway], list[float], list[float]]:
    """The inputs with ``name`` scaled by ``factor``, and the values before and after."""
    if name == "denial_strength":
        before = [n.strength for p in pathways for n in p.denials]
        varied = [
            p.model_copy(
                update={
                    "denials": [n.model_copy(update={"strength": _scaled(n.strength, name, factor)}) for n in p.denials]
                }
            )
            for p in pathways
        ]
        return deps, varied, before, [n.strength for p in varied for n in p.denials]
    if name in PATHWAY_PARAMETERS:
        before = [float(getattr(p, name)) for p in pathways]
        after = [_scaled(v, name, factor) for v in before]
        varied = [p.model_copy(update={name: v}) for p, v in zip(pathways, after, strict=True)]
        return deps, varied, before, after
    field = DEPENDENCE_PARAMETERS[name]
    before = [float(getattr(d, field)) for pair in deps.values() for d in pair]
    new = {
        k: [_with(d, field, _scaled(float(getattr(d, field)), name, factor)) for d in pair] for k, pair in deps.items()
    }
    after = [float(getattr(d, field)) for pair in new.values() for d in pair]
    return new, pathways, before, after


def _with(dep: Dependence, field: str, value: float) -> Dependence:
    changes: dict[str, Any] = {field: value}
    return replace(dep, **changes)


def _group_sum(values: Sequence[Array], n: int) -> Array:
    """``Σ values`` (arrays of length ``n``) in order, compensated exactly as pandas' groupby sum
    (Kahan, NaN skipped), so a verdict from arrays is bit for bit the one the tables give."""
    total, comp = np.zeros(n), np.zeros(n)
    with np.errstate(invalid="ignore"):
        for v in values:
            y = v - comp
            t = total + y
            c = t - total - y
            c[np.isnan(c)] = 0.0  # pandas' reset where an infinity makes the compensation NaN
            live = ~np.isnan(v)
            total, comp = np.where(live, t, total), np.where(live, c, comp)
    return total


#: The headline's relative tolerance (leverage_headline's default).
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class _Verdict:
    """What :func:`~chokepoint.leverage.leverage_headline` concludes, as the sensitivity reads it."""

    less_leverage: bool | None
    from_year: int | None
    gap_share: float | None
    conclusion: dict[str, object]


def _verdict(
    deps: dict[str, list[Dependence]], pathways: list[Pathway], a: str, b: str, decoupled: str, engaged: str
) -> _Verdict:
    """The headline's verdict and findings from the dependence arrays alone: the same floats as
    :func:`~chokepoint.leverage.leverage_headline` on the comparison table, without building it
    (the sensitivity evaluates 17 of them)."""
    findings: dict[str, object] = {}
    over_a: dict[str, tuple[npt.NDArray[np.int_], Array]] = {}
    for p in pathways:
        pair = deps[p.name]
        years, columns = _dependence_columns(pair, p)
        lev = [c["leverage_usd"] for c in columns]
        mine = _group_sum([v for d, v in zip(pair, lev, strict=True) if d.controller == a], len(years))
        theirs = _group_sum([v for d, v in zip(pair, lev, strict=True) if d.controller == b], len(years))
        net_last = float(mine[-1] - theirs[-1])
        over_a[p.name] = (years, mine)
        findings[f"{p.name}: balance favours"] = a if net_last > 0 else (b if net_last < 0 else "neither")
        checks = _deterrence_checks(pair, columns, p, years, a, b)
        findings[f"{p.name}: deterrence holds every year"] = all(bool(r["deterrence_holds"]) for r in checks)
    if decoupled not in over_a or engaged not in over_a:
        return _Verdict(None, None, None, {"less_leverage": None, **findings})
    (y_dec, dec), (y_eng, eng) = over_a[decoupled], over_a[engaged]
    common, i_dec, i_eng = np.intersect1d(y_dec, y_eng, return_indices=True)
    dec, eng = dec[i_dec], eng[i_eng]
    below = dec < eng * (1.0 - _TOLERANCE)
    less = bool(below[-1])
    gap = float(dec[-1] - eng[-1])
    return _Verdict(
        less,
        int(common[np.argmax(below)]) if less else None,
        gap / float(eng[-1]) if eng[-1] > 0 else None,
        {"less_leverage": less, **findings},
    )


def sensitivity(
    ds: Dataset,
    base: list[Pathway],
    a: str,
    b: str,
    parameters: Sequence[str] = SENSITIVITY_PARAMETERS,
    factors: Sequence[float] = (0.5, 2.0),
    *,
    decoupled: str = DECOUPLED,
    engaged: str = ENGAGED,
    losses: SimulatedLosses | None = None,
) -> pd.DataFrame:
    """One-at-a-time sensitivity of the headline: each parameter scaled by each factor (clipped to
    its valid range) in every pathway, or in every dependence for ``substitution_years``,
    ``leakage_share`` and ``dependence_share``, everything else at its base value.

    One row per parameter × factor after a ``base`` row: the values before and after (min and max
    over pathways or dependences), the verdict (``less_leverage``, ``from_year``, ``gap_share``),
    ``flips`` (the verdict differs from the base run's) and ``changes`` (every finding of
    :meth:`Headline.conclusion` that differs, and a moved ``from_year``). ``losses``: see
    :func:`~chokepoint.leverage.load_dependences`.
    """
    pathways = _unique(base)
    unknown = [p for p in parameters if p not in SENSITIVITY_PARAMETERS]
    if unknown:
        raise LeverageError(
            f"unknown sensitivity parameter {unknown[0]!r}; choose from {', '.join(SENSITIVITY_PARAMETERS)}"
        )
    known = simulated_losses(ds, pathways) if losses is None else losses  # shared by the pathways
    deps = {p.name: _pair(load_dependences(ds, p, known), p, a, b) for p in pathways}
    ref = _verdict(deps, pathways, a, b, decoupled, engaged)
    rows = [_sensitivity_row("base", 1.0, [], [], ref, ref)]
    for name in parameters:
        for factor in factors:
            new_deps, new_pathways, before, after = _vary(deps, pathways, name, factor)
            head = _verdict(new_deps, new_pathways, a, b, decoupled, engaged)
            rows.append(_sensitivity_row(name, factor, before, after, head, ref))
    out = pd.DataFrame(rows)
    out["from_year"] = out["from_year"].astype("Int64")
    return out


def _sensitivity_row(
    name: str,
    factor: float,
    before: list[float],
    after: list[float],
    head: _Verdict,
    ref: _Verdict,
) -> dict[str, object]:
    changes = [f"{k}: {ref.conclusion.get(k)} → {v}" for k, v in head.conclusion.items() if ref.conclusion.get(k) != v]
    if head.from_year != ref.from_year and head.less_leverage and ref.less_leverage:
        changes.append(f"from year: {ref.from_year} → {head.from_year}")
    return {
        "parameter": name,
        "factor": factor,
        "base_min": min(before) if before else math.nan,
        "base_max": max(before) if before else math.nan,
        "varied_min": min(after) if after else math.nan,
        "varied_max": max(after) if after else math.nan,
        "clipped": bool(before) and any(abs(x * factor - y) > 1e-12 for x, y in zip(before, after, strict=True)),
        "less_leverage": head.less_leverage,
        "from_year": head.from_year,
        "gap_share": head.gap_share if head.gap_share is not None else math.nan,
        "flips": head.less_leverage != ref.less_leverage,
        "changes": "; ".join(changes),
    }


def _last_year_gap(
    deps: dict[str, list[Dependence]], pathways: list[Pathway], a: str, decoupled: str, engaged: str
) -> float:
    """``(L_dec − L_eng) / L_eng``: the headline's relative gap in ``a``'s total leverage in the
    last year, computed from the dependence paths alone (no tables), for fast searches."""
    last = {}
    for p in pathways:
        if p.name in (decoupled, engaged):
            years = (p.start_year + np.arange(p.horizon_years)).astype(float)
            total = 0.0
            for dep in deps[p.name]:
                if dep.controller != a:
                    continue
                c = _coverage(p, (dep.controller, dep.target, dep.domain), years)
                d = _paths(dep, c, p.baseline_effort, p.effort_response, _rate_factor(p, dep, years))[2][-1]
                total += dep.downstream_output_usd * d * (1.0 - dep.leakage_share)
            last[p.name] = total
    if decoupled not in last or engaged not in last:
        raise LeverageError(f"break-even needs both {decoupled} and {engaged} among the pathways")
    return (last[decoupled] - last[engaged]) / last[engaged] if last[engaged] > 0 else math.nan


def break_even(
    ds: Dataset,
    base: list[Pathway],
    a: str,
    b: str,
    parameters: Sequence[str] = SENSITIVITY_PARAMETERS,
    span: float = 10.0,
    *,
    decoupled: str = DECOUPLED,
    engaged: str = ENGAGED,
    tolerance: float = 1e-9,
    steps: int = 12,
    losses: SimulatedLosses | None = None,
) -> pd.DataFrame:
    """Which values of each parameter reverse the headline: per parameter and direction (``down``:
    scaled by factors from 1 to ``1/span``; ``up``: from 1 to ``span``, clipped to the valid
    range, as in :func:`sensitivity`), the factor at which the verdict (``decoupled`` leaves ``a``
    with less leverage than ``engaged`` in the last year) first changes, found on a geometric grid
    of ``steps`` and refined by bisection to 0.1%; NaN where it does not change within ``span``.
    ``value_min``/``value_max`` are the parameter's values at that factor; ``losses``: see
    :func:`~chokepoint.leverage.load_dependences`."""
    pathways = _unique(base)
    known = simulated_losses(ds, pathways) if losses is None else losses  # shared by the pathways
    deps = {p.name: _pair(load_dependences(ds, p, known), p, a, b) for p in pathways}

    # the verdict reads only the two headline pathways: vary those alone while searching
    pair = [p for p in pathways if p.name in (decoupled, engaged)]
    pair_deps = {p.name: deps[p.name] for p in pair}

    def less(name: str, factor: float) -> bool:
        new_deps, new_pathways, _, _ = _vary(pair_deps, pair, name, factor)
        return _last_year_gap(new_deps, new_pathways, a, decoupled, engaged) < -tolerance

    rows = []
    for name in parameters:
        if name not in SENSITIVITY_PARAMETERS:
            raise LeverageError(
                f"unknown sensitivity parameter {name!r}; choose from {', '.join(SENSITIVITY_PARAMETERS)}"
            )
        verdict = less(name, 1.0)
        for direction, end in (("down", 1.0 / span), ("up", span)):
            grid = np.geomspace(1.0, end, steps + 1)[1:]
            flipped = next((i for i, f in enumerate(grid) if less(name, float(f)) != verdict), None)
            factor = math.nan
            if flipped is not None:
                lo, hi = math.log(grid[flipped - 1] if flipped else 1.0), math.log(grid[flipped])
                while abs(hi - lo) > 1e-3:
                    mid = (lo + hi) / 2
                    lo, hi = (lo, mid) if less(name, math.exp(mid)) != verdict else (mid, hi)
                factor = math.exp(hi)
            values = _vary(deps, pathways, name, factor)[3] if math.isfinite(factor) else []
            rows.append(
                {
                    "parameter": name,
                    "direction": direction,
                    "base_less_leverage": verdict,
                    "flips_at_factor": factor,
                    "value_min": min(values) if values else math.nan,
                    "value_max": max(values) if values else math.nan,
                }
            )
    return pd.DataFrame(rows)


# --- global sensitivity (the sweeps' samplers and analyses) -----------------------------------------

#: A global sensitivity scales each parameter by a factor drawn log-uniformly in [1/span, span]:
#: the one-at-a-time table's ×0.5 and ×2 are its ends.
GLOBAL_SPAN = 2.0
GLOBAL_SEED = 20251009


@dataclass(frozen=True)
class GlobalSensitivity:
    """A global sensitivity of the headline: the ``design`` (its ``values`` are each draw's factor
    on every parameter) and per draw ``gap_share``, the last year's relative gap in A's leverage
    (decoupled − engaged) ÷ engaged, and ``less_leverage`` (the headline's verdict)."""

    design: Design
    outcomes: pd.DataFrame
    span: float

    def indices(self) -> pd.DataFrame:
        """Per parameter, of ``gap_share``: Sobol ``S1``/``ST`` with their 95% half-widths, or
        Morris ``mu_star``/``sigma`` (the design's method)."""
        analyse = sobol_indices if self.design.method == "sobol" else morris_indices
        return analyse(self.design, self.outcomes, "gap_share", seed=self.design.seed)

    def summary(self) -> pd.DataFrame:
        """One row: the method, draws, span, the share of draws in which decoupling leaves A with
        less leverage, and the 5th, 50th and 95th percentiles of ``gap_share``."""
        gap = self.outcomes["gap_share"]
        return pd.DataFrame(
            [
                {
                    "method": self.design.method,
                    "draws": len(gap),
                    "factor_span": self.span,
                    "less_leverage_share": float(self.outcomes["less_leverage"].mean()),
                    **{f"gap_share_p{round(100 * q):02d}": float(gap.quantile(q)) for q in (0.05, 0.5, 0.95)},
                }
            ]
        )


def global_sensitivity(
    ds: Dataset,
    base: list[Pathway],
    a: str,
    b: str,
    method: Literal["sobol", "morris"] = "sobol",
    samples: int = 256,
    parameters: Sequence[str] = SENSITIVITY_PARAMETERS,
    span: float = GLOBAL_SPAN,
    seed: int = GLOBAL_SEED,
    *,
    decoupled: str = DECOUPLED,
    engaged: str = ENGAGED,
    tolerance: float = 1e-9,
    losses: SimulatedLosses | None = None,
) -> GlobalSensitivity:
    """Every parameter scaled at once, by factors drawn log-uniformly in [1/``span``, ``span``] on a
    Sobol (Saltelli, ``samples`` base samples) or Morris (``samples`` trajectories) design of the
    sweeps' samplers (:func:`chokepoint.sweeps.samplers.sample`, root ``seed``), each draw scored
    by the headline's last-year gap as :func:`break_even` reads it. ``losses``: see
    :func:`~chokepoint.leverage.load_dependences`."""
    unknown = [p for p in parameters if p not in SENSITIVITY_PARAMETERS]
    if unknown:
        raise LeverageError(
            f"unknown sensitivity parameter {unknown[0]!r}; choose from {', '.join(SENSITIVITY_PARAMETERS)}"
        )
    if not (math.isfinite(span) and span > 1.0):
        raise LeverageError(f"span {span!r}: the factors' range needs a span above 1, e.g. 2 for ×0.5–×2")
    pathways = _unique(base)
    known = simulated_losses(ds, pathways) if losses is None else losses
    pair = [p for p in pathways if p.name in (decoupled, engaged)]
    deps = {p.name: _pair(load_dependences(ds, p, known), p, a, b) for p in pair}
    # a factor's exponent e is uniform on [-1, 1]: the factor span**e is log-uniform
    declared = [
        UncertainParameter(
            path=name,
            distribution="uniform",
            low=-1.0,
            high=1.0,
            unit=f"exponent e of the factor {span:g}**e on every pathway's or dependence's value",
            source="ASSUMED: the one-at-a-time range (×0.5 to ×2) for every parameter at once",
        )
        for name in parameters
    ]
    design = sample(declared, samples, method, seed)
    factors = design.values.rpow(span)
    gaps = []
    for row in factors.itertuples(index=False):
        new_deps, new_pathways = deps, pair
        for name, factor in zip(parameters, row, strict=True):
            new_deps, new_pathways, _, _ = _vary(new_deps, new_pathways, name, float(factor))
        gaps.append(_last_year_gap(new_deps, new_pathways, a, decoupled, engaged))
    gap = pd.Series(gaps, index=design.values.index, name="gap_share")
    outcomes = pd.DataFrame({"gap_share": gap, "less_leverage": gap < -tolerance})
    return GlobalSensitivity(replace(design, values=factors), outcomes, span)
