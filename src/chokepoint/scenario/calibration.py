"""The ``calibration:`` block of a scenario: which parameters a fit may move, within which bounds,
and the objective it minimises over the ``calibrate`` observations. The fitter is
:func:`chokepoint.backtesting.fit_scenario`.

A parameter is named by its path in the scenario file, as error messages write it:
``export_controls[0].instrument.approval_share`` or ``sourcing_reversion``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, model_validator

from chokepoint.yamlfile import Number

__all__ = [
    "Calibration",
    "FittedParameter",
    "check_calibration",
    "check_path",
    "parameter_location",
    "value_at",
    "with_values",
]

_PATH = re.compile(r"^[a-z_]\w*(?:\[\d+\]|\.[a-z_]\w*)*$")
_PART = re.compile(r"\[(\d+)\]|\.?([a-z_]\w*)")
#: Roots that are not parameters: the observations a fit is scored on, the calibration and
#: uncertainty blocks themselves, and labels.
_NOT_PARAMETERS = {"observed", "calibration", "uncertainty", "name", "description", "notes", "datasets", "material"}


def check_path(path: str) -> None:
    """``ValueError`` unless ``path`` is written as a field path to something that may be a parameter."""
    if not _PATH.match(path):
        raise ValueError(f"path {path!r} is not a field path; write e.g. export_controls[0].instrument.approval_share")
    if path.split(".")[0].split("[")[0] in _NOT_PARAMETERS:
        raise ValueError(f"path {path!r} is not a parameter (observations, labels and these blocks are not)")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FittedParameter(_Model):
    """A parameter the fit moves: its ``path`` in the scenario (a number the file sets, e.g.
    ``export_controls[0].instrument.approval_share``) and the ``lower`` and ``upper`` bounds of the
    search, which must hold the scenario's own value and the field's valid range."""

    path: str
    lower: Number
    upper: Number

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        check_path(self.path)
        if not self.lower < self.upper:
            raise ValueError(f"lower {self.lower} must be below upper {self.upper}")
        return self


class Calibration(_Model):
    """What ``chokepoint backtest --fit`` fits: the ``parameters`` moved (bounded), the
    ``objective`` minimised — ``mean_abs_log_error``, the mean of |ln(simulated / observed)| over
    the observations with ``role: calibrate`` (a ``validate`` observation is never read) — and
    at most ``max_evaluations`` simulations."""

    parameters: list[FittedParameter] = Field(min_length=1)
    objective: Literal["mean_abs_log_error"] = "mean_abs_log_error"
    max_evaluations: Annotated[int, Strict(), Field(ge=1, le=10_000)] = 200

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        paths = [p.path for p in self.parameters]
        twice = sorted({p for p in paths if paths.count(p) > 1})
        if twice:
            raise ValueError(f"parameter {twice[0]} is listed twice")
        return self


def parameter_location(path: str) -> tuple[str | int, ...]:
    """``"export_controls[0].instrument.approval_share"`` → ``("export_controls", 0, "instrument",
    "approval_share")``."""
    return tuple(int(i) if i else name for i, name in _PART.findall(path))


def value_at(data: Any, path: str) -> Any:
    """The value at ``path`` in a scenario's ``model_dump``; ``KeyError`` naming the first missing part."""
    node = data
    for part in parameter_location(path):
        in_list = isinstance(part, int) and isinstance(node, list) and part < len(node)
        if in_list or (isinstance(part, str) and isinstance(node, dict) and part in node):
            node = node[part]
        else:
            raise KeyError(f"{path}: the scenario has no {part!r} there")
    return node


def with_values(data: dict[str, Any], values: dict[str, float]) -> dict[str, Any]:
    """A deep copy of the dumped scenario ``data`` with each path in ``values`` set."""
    out = copy.deepcopy(data)
    for path, value in values.items():
        *parents, last = parameter_location(path)
        holder = value_at(out, "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parents).lstrip("."))
        holder[last] = value
    return out


def check_calibration(
    data: dict[str, Any], calibration: Calibration, roles: list[str], validate: Callable[[dict[str, Any]], object]
) -> None:
    """Raise ``ValueError`` unless every parameter names a number the scenario has, inside its
    bounds, both bounds are valid values of the field (``validate`` checks a scenario dump with
    the bound in place: a fit must not stop half-way on a share of 1.5), and some observation has
    ``role: calibrate`` (a fit needs something to fit to)."""
    if "calibrate" not in roles:
        raise ValueError("calibration needs at least one observation with role: calibrate")
    for i, p in enumerate(calibration.parameters):
        try:
            value = value_at(data, p.path)
        except KeyError as exc:
            raise ValueError(
                f"calibration.parameters[{i}].path: {exc.args[0]}; name a field the scenario sets"
            ) from None
        if isinstance(value, bool) or not isinstance(value, float):
            raise ValueError(
                f"calibration.parameters[{i}].path: {p.path} is {value!r}, not a real number; only those are fitted"
            )
        if not p.lower <= value <= p.upper:
            raise ValueError(
                f"calibration.parameters[{i}]: {p.path} = {value} lies outside its bounds [{p.lower}, {p.upper}]"
            )
        for bound in (p.lower, p.upper):
            try:
                validate(with_values(data, {p.path: bound}))
            except ValidationError as exc:
                problem = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
                raise ValueError(
                    f"calibration.parameters[{i}]: {p.path} = {bound} (a bound) is not valid: {problem}"
                ) from None
