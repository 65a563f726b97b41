"""What a sweep's outcomes say: percentile bands, Sobol and Morris indices, and PRIM boxes.

- Sobol first-order ``S1`` and total ``ST`` indices with bootstrap 95% confidence half-widths, from
  SALib's implementation of Saltelli et al. (2010) on a Saltelli design.
- Morris μ* (mean absolute elementary effect) and σ on a trajectory design, in the unit cube:
  μ* is the outcome's change per whole range of the parameter's quantile, so parameters with
  different units compare directly (Campolongo et al. 2007).
- PRIM, the Patient Rule Induction Method (Friedman & Fisher 1999), as used for scenario discovery
  (Bryant & Lempert 2010): starting from the whole design, repeatedly peel the ``alpha`` share of
  draws off the one side of one parameter whose removal most raises the share of draws inside
  the box where the outcome happens, down to ``mass_min`` of the draws; the box reported is the
  one with the highest coverage among those whose density reaches ``density``. Each restriction
  carries its quasi-p-value (Bryant & Lempert 2010, as the EMA Workbench computes it): the
  binomial probability of at least the box's hits among its draws if the restriction were lifted
  and the density were that of the wider box; above ~0.05 the restriction may be noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from chokepoint.errors import ChokepointError
from chokepoint.sweeps.samplers import MORRIS_LEVELS, Design

__all__ = ["PrimBox", "bands", "morris_indices", "percentiles", "prim", "sobol_indices"]

Array = npt.NDArray[np.float64]
#: Bootstrap resamples behind the Sobol and Morris confidence intervals (SALib's default).
RESAMPLES = 100


def percentiles(outcomes: pd.DataFrame, quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
    """Per outcome: its mean and percentiles over the draws (columns ``mean``, ``p05``, …)."""
    table = outcomes.quantile(list(quantiles)).T
    table.columns = [f"p{round(100 * q):02d}" for q in quantiles]
    table.insert(0, "mean", outcomes.mean())
    return table.rename_axis("outcome").reset_index()


def bands(paths: pd.DataFrame, quantiles: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)) -> pd.DataFrame:
    """Per path and period of ``paths`` (columns ``path`` × ``period``, a row per draw): the mean
    and percentiles over the draws (columns ``mean``, ``p05``, …), one row per path and period."""
    table = paths.quantile(list(quantiles)).T
    table.columns = [f"p{round(100 * q):02d}" for q in quantiles]
    table.insert(0, "mean", paths.mean())
    return table.reset_index()


def _outcome(design: Design, outcomes: pd.DataFrame, outcome: str, method: str) -> Array:
    if design.method != method:
        raise ChokepointError(f"{method} indices need a {method} design; this sweep sampled {design.method}")
    if outcome not in outcomes.columns:
        raise ChokepointError(f"unknown outcome {outcome!r}; outcomes are: {', '.join(outcomes.columns)}")
    return outcomes[outcome].to_numpy(dtype=float)


def sobol_indices(design: Design, outcomes: pd.DataFrame, outcome: str, seed: int = 0) -> pd.DataFrame:
    """Per parameter: ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` of ``outcome`` (a Saltelli design).
    An outcome that never varies has no variance to share out: its indices are 0."""
    from SALib.analyze import sobol

    y = _outcome(design, outcomes, outcome, "sobol")
    names = list(design.values.columns)
    if np.ptp(y) == 0:
        zero = np.zeros(len(names))
        return pd.DataFrame({"parameter": names, "S1": zero, "S1_conf": zero, "ST": zero, "ST_conf": zero})
    result = sobol.analyze(design.problem, y, calc_second_order=False, num_resamples=RESAMPLES, seed=seed)
    table = pd.DataFrame({k: result[k] for k in ("S1", "S1_conf", "ST", "ST_conf")})
    table.insert(0, "parameter", names)
    return table.sort_values("ST", ascending=False, kind="stable").reset_index(drop=True)


def morris_indices(design: Design, outcomes: pd.DataFrame, outcome: str, seed: int = 0) -> pd.DataFrame:
    """Per parameter: ``mu_star``, ``mu_star_conf`` and ``sigma`` of ``outcome`` (a Morris design)."""
    from SALib.analyze import morris

    y = _outcome(design, outcomes, outcome, "morris")
    result = morris.analyze(
        design.problem, design.unit, y, num_resamples=RESAMPLES, num_levels=MORRIS_LEVELS, seed=seed
    )
    table = pd.DataFrame({k: np.asarray(result[k], dtype=float) for k in ("mu_star", "mu_star_conf", "sigma")})
    table.insert(0, "parameter", list(design.values.columns))
    return table.sort_values("mu_star", ascending=False, kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class PrimBox:
    """A PRIM box: ``limits`` per parameter (``low``, ``high``, ``restricted`` where the box is
    narrower than the draws), ``coverage`` (share of the draws where the outcome happens that lie
    inside), ``density`` (share of the draws inside where it happens), ``mass`` (share of all draws
    inside), and the peeling ``trajectory`` it was chosen from."""

    limits: pd.DataFrame
    coverage: float
    density: float
    mass: float
    trajectory: pd.DataFrame


def prim(
    values: pd.DataFrame, hit: pd.Series, density: float = 0.8, alpha: float = 0.05, mass_min: float = 0.05
) -> PrimBox:
    """The PRIM box (module docs) of the draws ``values`` where ``hit`` (bool per draw) is true."""
    x = values.to_numpy(dtype=float)
    y = hit.reindex(values.index).to_numpy(dtype=bool)
    if not y.any():
        raise ChokepointError("the outcome happens in no draw; there is nothing to find a box for")
    n, d = x.shape
    inside = np.ones(n, dtype=bool)
    steps = [(x.min(axis=0), x.max(axis=0), inside)]
    while inside.sum() > mass_min * n:
        peels = [(j, side, keep) for j in range(d) for side, keep in enumerate(_peels(x[:, j], inside, alpha))]
        peels = [p for p in peels if mass_min * n <= p[2].sum() < inside.sum()]
        if not peels:
            break
        # the peel leaving the densest box; of equally dense ones, the one keeping most draws
        j, side, inside = max(peels, key=lambda p: (y[p[2]].mean(), p[2].sum()))
        lo, hi = steps[-1][0].copy(), steps[-1][1].copy()
        if side == 0:
            lo[j] = x[inside, j].min()
        else:
            hi[j] = x[inside, j].max()
        steps.append((lo, hi, inside))
    trajectory = pd.DataFrame(
        {
            "coverage": [y[s[2]].sum() / y.sum() for s in steps],
            "density": [y[s[2]].mean() for s in steps],
            "mass": [s[2].mean() for s in steps],
        }
    ).rename_axis("step")
    dense = trajectory[trajectory["density"] >= density]
    chosen = int(dense["coverage"].idxmax()) if len(dense) else int(trajectory["density"].idxmax())
    lo, hi, inside = steps[chosen]
    full_lo, full_hi = steps[0][0], steps[0][1]
    restricted = (lo > full_lo) | (hi < full_hi)
    limits = pd.DataFrame({"parameter": list(values.columns), "low": lo, "high": hi, "restricted": restricted})
    limits["qp_value"] = [_quasi_p(x, y, lo, hi, inside, j) if restricted[j] else np.nan for j in range(d)]
    row = trajectory.loc[chosen]
    return PrimBox(limits, float(row["coverage"]), float(row["density"]), float(row["mass"]), trajectory.reset_index())


def _quasi_p(x: Array, y: npt.NDArray[np.bool_], lo: Array, hi: Array, inside: npt.NDArray[np.bool_], j: int) -> float:
    """The quasi-p-value of the box's restriction on parameter ``j`` (module docs)."""
    from scipy import stats

    others = [k for k in range(x.shape[1]) if k != j]
    wider = ((x[:, others] >= lo[others]) & (x[:, others] <= hi[others])).all(axis=1)
    return float(stats.binom.sf(y[inside].sum() - 1, inside.sum(), y[wider].mean()))


def _peels(xj: Array, inside: npt.NDArray[np.bool_], alpha: float) -> list[npt.NDArray[np.bool_]]:
    """The box without its lowest and without its highest ``alpha`` share along one parameter (a
    whole tied level where the quantile falls on the edge, so a discrete parameter peels too)."""
    values = xj[inside]
    lo, hi = np.quantile(values, alpha), np.quantile(values, 1 - alpha)
    keep_lo = xj > lo if lo == values.min() else xj >= lo
    keep_hi = xj < hi if hi == values.max() else xj <= hi
    return [inside & keep_lo, inside & keep_hi]
