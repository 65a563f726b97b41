"""Designs of draws over uncertain parameters: Monte Carlo, Latin hypercube, Sobol (Saltelli) and Morris.

Every sampler has one signature, :func:`sample`, and works in the unit cube: a draw is first a
quantile ``u`` in [0, 1] per parameter, then the parameter's value ``F⁻¹(u)`` (a truncated
distribution's ``F⁻¹(F(low) + u·(F(high) − F(low)))``). Sobol and Morris designs come from
SALib (Herman & Usher 2017), whose analyses read the same unit-cube design back. Rank
correlations are induced on Monte Carlo and Latin-hypercube designs by the Iman & Conover (1982)
method; the Sobol and Morris indices assume independent inputs and refuse them.

Seeds: one recorded root seeds a :class:`numpy.random.SeedSequence`; its first child draws the
design and its second the Iman–Conover scores, so a design is reproducible from the root alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats
from scipy.stats import qmc

from chokepoint.errors import ChokepointError
from chokepoint.scenario.uncertain import RankCorrelation, UncertainParameter, correlation_matrix, support

__all__ = ["METHODS", "Design", "Method", "evaluations", "iman_conover", "quantile_values", "sample"]

Method = Literal["mc", "lhs", "sobol", "morris"]
METHODS: tuple[Method, ...] = ("mc", "lhs", "sobol", "morris")
#: Grid levels of a Morris design (SALib's default; an even number keeps the steps symmetric).
MORRIS_LEVELS = 4

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Design:
    """A design: ``unit`` (draws × parameters) quantiles and ``values`` the parameters' values,
    one row per draw (index ``draw``, a column per parameter path), made by ``method`` with
    ``samples`` (Sobol: base samples; Morris: trajectories) from the root ``seed``."""

    method: Method
    samples: int
    seed: int
    parameters: tuple[UncertainParameter, ...]
    unit: Array
    values: pd.DataFrame

    @property
    def problem(self) -> dict[str, Any]:
        """The SALib problem of the unit-cube design."""
        return _unit_problem(list(self.values.columns))


def _unit_problem(paths: list[str]) -> dict[str, Any]:
    return {"num_vars": len(paths), "names": paths, "bounds": [[0.0, 1.0]] * len(paths)}


def evaluations(method: Method, samples: int, parameters: int) -> int:
    """Draws a design has: ``samples`` (Monte Carlo, Latin hypercube), ``samples·(d + 2)`` for
    Saltelli's first- and total-order scheme, ``samples·(d + 1)`` for Morris trajectories."""
    return samples * {"sobol": parameters + 2, "morris": parameters + 1}.get(method, 1)


def quantile_values(p: UncertainParameter, u: Array) -> Array:
    """The values of ``p`` at quantiles ``u`` (its inverse CDF, truncated to its support)."""
    lo, hi = support(p)
    if p.values is not None:
        order = np.argsort(p.values, kind="stable")
        values = np.asarray(p.values, dtype=float)[order]
        weights = np.asarray(p.weights if p.weights is not None else np.ones(len(values)), dtype=float)[order]
        cumulative = np.cumsum(weights) / weights.sum()
        return values[np.minimum(np.searchsorted(cumulative, u, side="left"), len(values) - 1)]
    dist = _distribution(p, lo, hi)
    f_lo, f_hi = dist.cdf(lo), dist.cdf(hi)
    if not f_hi - f_lo > 1e-12:
        raise ChokepointError(f"uncertainty parameter {p.path}: [{lo}, {hi}] holds no probability of its distribution")
    return np.clip(dist.ppf(f_lo + u * (f_hi - f_lo)), lo, hi)


def _distribution(p: UncertainParameter, lo: float, hi: float) -> Any:
    if p.distribution == "uniform":
        return stats.uniform(lo, hi - lo)
    if p.distribution == "triangular":
        return stats.triang((float(p.mode or 0.0) - lo) / (hi - lo), lo, hi - lo)
    if p.distribution == "normal":
        return stats.norm(p.mean, p.sd)
    if p.distribution == "lognormal":
        return stats.lognorm(p.sigma, scale=p.median)
    return stats.beta(p.alpha, p.beta, lo, hi - lo)


def iman_conover(unit: Array, target: Array, rng: np.random.Generator) -> Array:
    """``unit`` with each column reordered so the columns' rank (Spearman) correlations approach
    ``target`` (Iman & Conover 1982): van der Waerden scores, permuted per column, are given the
    Pearson correlation ``2·sin(π·ρ/6)`` whose normal scores have rank correlation ρ (Pearson
    1907) through Cholesky factors, and each column takes the ranks of its scores. The marginal of
    every column is unchanged."""
    n, d = unit.shape
    if d < 2 or np.allclose(target, np.eye(d)):
        return unit
    target = 2.0 * np.sin(np.pi * target / 6.0)
    scores = stats.norm.ppf(np.arange(1, n + 1) / (n + 1))
    s = np.column_stack([rng.permutation(scores) for _ in range(d)])
    e = np.corrcoef(s, rowvar=False)
    t = s @ np.linalg.inv(np.linalg.cholesky(e)).T @ np.linalg.cholesky(target).T
    ranks = np.argsort(np.argsort(t, axis=0), axis=0)
    return np.take_along_axis(np.sort(unit, axis=0), ranks, axis=0)


def sample(
    parameters: Sequence[UncertainParameter],
    samples: int,
    method: Method = "mc",
    seed: int = 0,
    correlations: Sequence[RankCorrelation] = (),
) -> Design:
    """A design of ``samples`` (see :func:`evaluations` for the draws it makes) over ``parameters``."""
    if not parameters:
        raise ChokepointError("no uncertain parameters: declare some under uncertainty.parameters")
    if method not in METHODS:
        raise ChokepointError(f"unknown sampling method {method!r}; use one of {', '.join(METHODS)}")
    d = len(parameters)
    paths = [p.path for p in parameters]
    target = correlation_matrix(paths, list(correlations))
    if method in ("sobol", "morris") and correlations:
        raise ChokepointError(f"{method} indices assume independent inputs; drop the correlations or sample otherwise")
    design_seq, score_seq = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(design_seq)
    problem = _unit_problem(paths)
    if method == "mc":
        unit = rng.random((samples, d))
    elif method == "lhs":
        unit = qmc.LatinHypercube(d, rng=rng).random(samples)
    elif method == "sobol":
        if samples < 2 or samples & (samples - 1):
            raise ChokepointError(f"sobol needs a power of two samples (e.g. 64, 128, 256), not {samples}")
        from SALib.sample import sobol as saltelli  # SALib loads only when asked for

        unit = saltelli.sample(problem, samples, calc_second_order=False, seed=rng)
    else:
        from SALib.sample import morris

        unit = morris.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=rng)
    unit = iman_conover(unit, target, np.random.default_rng(score_seq))
    values = pd.DataFrame(
        {p.path: quantile_values(p, unit[:, j]) for j, p in enumerate(parameters)},
        index=pd.RangeIndex(len(unit), name="draw"),
    )
    return Design(method, samples, seed, tuple(parameters), unit, values)
