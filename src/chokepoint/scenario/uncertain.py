"""Uncertain parameters as data: any number a scenario sets, named by its path, with a distribution.

``uncertainty.parameters`` in a scenario file lists them; ``chokepoint sweep`` samples them
(:mod:`chokepoint.sweeps`). A parameter is named by its path as error messages write it
(``export_controls[0].instrument.approval_share``, ``stockpiles[1].months_of_demand``,
``markets.hoarding``), exactly as in a ``calibration:`` block. Every distribution has a finite
support (``normal`` and ``lognormal`` are truncated at ``low`` and ``high``), and both ends must be
valid values of the field, so no draw can stop a sweep half-way. Rank correlations between
parameters (Spearman, induced by the Iman–Conover method) are ``correlations``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from chokepoint.scenario.calibration import check_path, value_at, with_values
from chokepoint.yamlfile import Number

__all__ = [
    "DISTRIBUTIONS",
    "RankCorrelation",
    "UncertainParameter",
    "check_uncertain",
    "correlation_matrix",
    "support",
]

Distribution = Literal["uniform", "triangular", "normal", "lognormal", "beta", "discrete"]

#: The fields each distribution needs; any other distribution field is refused (a stray ``mode``
#: on a uniform would be silently ignored).
DISTRIBUTIONS: dict[str, frozenset[str]] = {
    "uniform": frozenset({"low", "high"}),
    "triangular": frozenset({"low", "mode", "high"}),
    "normal": frozenset({"mean", "sd", "low", "high"}),
    "lognormal": frozenset({"median", "sigma", "low", "high"}),
    "beta": frozenset({"alpha", "beta", "low", "high"}),
    "discrete": frozenset({"values"}),
}
_OPTIONAL = {"discrete": frozenset({"weights"})}
_SHAPE_FIELDS = ("low", "high", "mode", "mean", "sd", "median", "sigma", "alpha", "beta", "values", "weights")

Positive = Annotated[Number, Field(gt=0.0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UncertainParameter(_Model):
    """A number of the scenario drawn from a distribution: ``uniform`` (``low``, ``high``),
    ``triangular`` (``low``, ``mode``, ``high``), ``normal`` (``mean``, ``sd``) and ``lognormal``
    (``median``, ``sigma`` of the log) truncated to [``low``, ``high``], ``beta`` (``alpha``,
    ``beta``) scaled to [``low``, ``high``], or ``discrete`` (``values`` with optional ``weights``).
    A whole-number field (months, years) takes the draw rounded. ``unit`` and ``source`` (where the
    range comes from: a source id, or ``ASSUMED: why``) say what the range means and rests on."""

    path: str
    distribution: Distribution
    low: Number | None = None
    high: Number | None = None
    mode: Number | None = None
    mean: Number | None = None
    sd: Positive | None = None
    median: Positive | None = None
    sigma: Positive | None = None
    alpha: Positive | None = None
    beta: Positive | None = None
    values: Annotated[list[Number], Field(min_length=1, max_length=10_000)] | None = None
    weights: list[Annotated[Number, Field(ge=0.0)]] | None = None
    unit: str = ""
    source: Annotated[str, Field(min_length=1)]

    @model_validator(mode="after")
    def _shape(self) -> Self:
        check_path(self.path)
        given = {name for name in _SHAPE_FIELDS if getattr(self, name) is not None}
        needed = DISTRIBUTIONS[self.distribution]
        missing = sorted(needed - given)
        if missing:
            raise ValueError(f"a {self.distribution} distribution needs {', '.join(missing)}")
        stray = sorted(given - needed - _OPTIONAL.get(self.distribution, frozenset()))
        if stray:
            raise ValueError(f"a {self.distribution} distribution takes no {', '.join(stray)}")
        lo, hi = support(self)
        if not lo < hi:
            raise ValueError(f"low {lo} must be below high {hi}")
        if self.mode is not None and not lo <= self.mode <= hi:
            raise ValueError(f"mode {self.mode} must lie in [low, high] = [{lo}, {hi}]")
        if self.median is not None and lo <= 0:
            raise ValueError(f"low {lo} must be above 0 for a lognormal distribution")
        if self.weights is not None:
            if len(self.weights) != len(self.values or []):
                raise ValueError(f"{len(self.weights)} weights for {len(self.values or [])} values")
            if not sum(self.weights) > 0:
                raise ValueError("the weights sum to 0")
        return self


def support(p: UncertainParameter) -> tuple[float, float]:
    """The lowest and highest value a draw of ``p`` can take."""
    if p.values is not None:
        return min(p.values), max(p.values)
    # every continuous distribution needs both (checked first in _shape)
    return float(p.low), float(p.high)  # type: ignore[arg-type]


class RankCorrelation(_Model):
    """The Spearman rank correlation ``rank`` (−1 < rank < 1) between two parameters' draws."""

    between: tuple[str, str]
    rank: Annotated[Number, Field(gt=-1.0, lt=1.0)]


def correlation_matrix(paths: list[str], correlations: list[RankCorrelation]) -> np.ndarray:
    """The parameters' target rank-correlation matrix; ``ValueError`` naming the first correlation
    of an unknown parameter or listed twice, or if the matrix is not positive definite."""
    index = {path: i for i, path in enumerate(paths)}
    matrix = np.eye(len(paths))
    for n, c in enumerate(correlations):
        a, b = c.between
        for path in (a, b):
            if path not in index:
                raise ValueError(f"correlations[{n}].between: {path!r} is not one of the parameters' paths")
        if a == b:
            raise ValueError(f"correlations[{n}].between: a parameter is not correlated with itself")
        if matrix[index[a], index[b]] != 0.0:
            raise ValueError(f"correlations[{n}]: {a} and {b} are correlated twice")
        matrix[index[a], index[b]] = matrix[index[b], index[a]] = c.rank
    if len(paths) and np.linalg.eigvalsh(matrix).min() <= 1e-9:
        raise ValueError("the rank correlations cannot hold together (their matrix is not positive definite)")
    return matrix


def check_uncertain(
    data: dict[str, Any],
    parameters: list[UncertainParameter],
    correlations: list[RankCorrelation],
    validate: Callable[[dict[str, Any]], object],
) -> None:
    """``ValueError`` unless every parameter names a number the scenario has (once) and both ends
    of its support are valid values of the field (``validate`` checks a dump with the end in
    place), and the correlations name parameters and can hold together."""
    paths = [p.path for p in parameters]
    for i, p in enumerate(parameters):
        where = f"uncertainty.parameters[{i}]"
        if paths.index(p.path) != i:
            raise ValueError(f"{where}.path: {p.path} is listed twice")
        try:
            value = value_at(data, p.path)
        except KeyError as exc:
            raise ValueError(f"{where}.path: {exc.args[0]}; name a number the scenario sets") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where}.path: {p.path} is {value!r}, not a number; only numbers can be uncertain")
        for end in support(p):
            try:
                validate(with_values(data, {p.path: round(end) if isinstance(value, int) else end}))
            except ValidationError as exc:
                problem = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
                raise ValueError(f"{where}: {p.path} = {end} (an end of its range) is not valid: {problem}") from None
    try:
        correlation_matrix(paths, correlations)
    except ValueError as exc:
        raise ValueError(f"uncertainty.{exc}") from None
