"""Input–output maths for upstream tracing, named after the maths (as in pymrio's ``iomath``).

Notation (Miller & Blair, *Input-Output Analysis*, 2nd ed., ch. 2): ``Z`` inter-industry flows
(row = supplying node, column = using node), ``Y`` final demand (one column per demand category),
``x = Z·1 + Y·1`` total output, ``A = Z·diag(x)⁻¹`` technical coefficients, ``L = (I − A)⁻¹`` the
Leontief inverse, ``F`` stressors (rows) by node, ``S = F·diag(x)⁻¹``.

The footprint ``S·L·Y`` is computed without ever forming ``L``: the system ``(I − A)·X = Y`` is
solved only for the demand columns needed — by dense LU for small systems, else by the Neumann
(power) series ``X = Σₖ Aᵏ·Y`` on a sparse or dense ``A`` with the residual checked each step,
falling back to LU when the series converges too slowly (spectral radius of ``A`` near 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias, overload

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from chokepoint.errors import ChokepointError

__all__ = ["IOInputError", "Solution", "calc_A", "calc_x", "solve_leontief", "upstream_footprint"]

Method = Literal["auto", "dense", "series", "splu"]
Matrix: TypeAlias = npt.NDArray[np.float64] | sp.sparray | sp.spmatrix
ArrayOrFrame: TypeAlias = npt.NDArray[np.float64] | pd.DataFrame

#: Systems up to this many nodes are solved by dense LU: for them it is faster than anything else.
DENSE_LIMIT = 2_000


class IOInputError(ChokepointError):
    """An input–output system that cannot be traced (shape, negative flows, singular I − A)."""


@dataclass(frozen=True)
class Solution:
    """``X`` solving ``(I − A)·X = Y``, with how it was found."""

    X: npt.NDArray[np.float64]
    method: str
    iterations: int
    residual: float


def calc_x(Z: Matrix, Y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Total output ``x = Z·1 + Y·1`` (row sums of flows plus final demand)."""
    return np.asarray(Z.sum(axis=1)).ravel() + np.asarray(Y).sum(axis=1)


def calc_A(Z: Matrix, x: npt.NDArray[np.float64]) -> Matrix:
    """Technical coefficients ``A = Z·diag(x)⁻¹``; columns of nodes with zero output are zero."""
    inv_x = np.divide(1.0, x, out=np.zeros_like(x, dtype=float), where=x != 0)
    if sp.issparse(Z):
        return sp.csr_array(Z) @ sp.diags_array(inv_x)
    return np.asarray(Z, dtype=float) * inv_x[np.newaxis, :]


def _residual(A: Matrix, X: npt.NDArray[np.float64], Y: npt.NDArray[np.float64]) -> float:
    scale = max(float(np.abs(Y).max()), np.finfo(float).tiny)
    return float(np.abs(Y - (X - A @ X)).max()) / scale


def _singular(detail: str) -> IOInputError:
    return IOInputError(
        f"I − A is singular or not productive ({detail}): some nodes use at least as much of their "
        "own output as they make; check Z for flows larger than total output"
    )


def _solve_dense(A: Matrix, Y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    dense = A.toarray() if isinstance(A, (sp.sparray, sp.spmatrix)) else np.asarray(A)
    M = np.eye(dense.shape[0]) - dense
    try:
        lu = sla.lu_factor(M, check_finite=False)
    except (sla.LinAlgError, ValueError) as exc:
        raise _singular("LU failed") from exc
    if np.any(np.abs(np.diag(lu[0])) < 1e-14 * max(1.0, float(np.abs(np.diag(lu[0])).max()))):
        raise _singular("zero pivot")
    X: npt.NDArray[np.float64] = sla.lu_solve(lu, Y, check_finite=False)
    return X


def _solve_splu(A: Matrix, Y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    M = sp.identity(A.shape[0], format="csc") - sp.csc_array(A)
    try:
        lu = spla.splu(M)
    except RuntimeError as exc:  # "Factor is exactly singular"
        raise _singular(str(exc)) from exc
    X: npt.NDArray[np.float64] = lu.solve(Y)
    return X


def _series(
    A: Matrix, Y: npt.NDArray[np.float64], tol: float, max_iter: int
) -> tuple[npt.NDArray[np.float64], int, float] | None:
    """Neumann series ``X = Y + A·Y + A²·Y + …``; ``None`` if it does not reach ``tol`` in time."""
    scale = max(float(np.abs(Y).max()), np.finfo(float).tiny)
    term = Y
    X = Y.copy()
    previous = np.inf
    for k in range(1, max_iter + 1):
        term = A @ term
        X += term
        # The next term is the residual Y − (I − A)·X exactly, so its size is the error bound.
        size = float(np.abs(term).max()) / scale
        if size <= tol:
            return X, k, size
        if size > previous * 0.999999:  # not shrinking: spectral radius ≥ 1 or too close to it
            return None
        previous = size
    return None


def solve_leontief(
    A: Matrix, Y: npt.NDArray[np.float64], *, method: Method = "auto", tol: float = 1e-13, max_iter: int = 2_000
) -> Solution:
    """Solve ``(I − A)·X = Y`` for the columns of ``Y`` without forming ``(I − A)⁻¹``.

    ``method``: ``dense`` (LU), ``splu`` (sparse LU), ``series`` (Neumann power series, sparse
    or dense products, stopping when the next term is below ``tol`` relative to ``max|Y|``), or
    ``auto``: dense LU up to :data:`DENSE_LIMIT` nodes; above, the series when the largest
    column sum of ``A`` (a bound on its spectral radius) promises convergence in ``max_iter``
    steps, with dense LU as the fallback.
    """
    n = A.shape[0]
    Y = np.asarray(Y, dtype=float)
    if method == "dense" or (method == "auto" and n <= DENSE_LIMIT):
        X = _solve_dense(A, Y)
        return Solution(X, "dense", 0, _residual(A, X, Y))
    if method == "splu":
        X = _solve_splu(A, Y)
        return Solution(X, "splu", 0, _residual(A, X, Y))
    found = _series(A, Y, tol, max_iter)
    if found is not None:
        X, k, size = found
        return Solution(X, "series", k, size)
    if method == "series":
        raise _singular(f"the power series did not converge in {max_iter} steps")
    X = _solve_dense(A, Y)
    return Solution(X, "dense", 0, _residual(A, X, Y))


def _as_matrix(name: str, value: object) -> Matrix:
    if sp.issparse(value):
        return sp.csr_array(value, dtype=float)
    if isinstance(value, pd.DataFrame):
        return value.to_numpy(dtype=float)
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 1 and name == "Y":
        arr = arr[:, np.newaxis]
    if arr.ndim != 2:
        raise IOInputError(f"{name} must be a 2-D matrix, got shape {arr.shape}")
    return arr


def _check(Z: Matrix, Y: npt.NDArray[np.float64], F: Matrix | None) -> None:
    n, m = Z.shape
    if n != m:
        raise IOInputError(f"Z must be square (flows from each node to each node), got {n}×{m}")
    if Y.shape[0] != n:
        raise IOInputError(f"Y has {Y.shape[0]} rows but Z has {n} nodes; give one row of final demand per node")
    if F is not None and F.shape[1] != n:
        raise IOInputError(f"F has {F.shape[1]} columns but Z has {n} nodes; give one column of stressors per node")
    values = np.asarray(Z.data if isinstance(Z, (sp.sparray, sp.spmatrix)) else Z)
    if not np.all(np.isfinite(values)) or not np.all(np.isfinite(Y)):
        raise IOInputError("Z and Y must be finite numbers; found NaN or infinity")
    if values.size and float(values.min()) < 0:
        raise IOInputError(f"Z has a negative flow ({float(values.min()):g}); flows between nodes cannot be negative")


@overload
def upstream_footprint(
    Z: pd.DataFrame,
    Y: pd.DataFrame | pd.Series,
    F: pd.DataFrame | None = None,
    *,
    method: Method = ...,
    tol: float = ...,
) -> pd.DataFrame: ...


@overload
def upstream_footprint(
    Z: npt.NDArray[np.float64] | sp.sparray | sp.spmatrix,
    Y: npt.NDArray[np.float64],
    F: npt.NDArray[np.float64] | sp.sparray | sp.spmatrix | None = None,
    *,
    method: Method = ...,
    tol: float = ...,
) -> npt.NDArray[np.float64]: ...


def upstream_footprint(
    Z: object, Y: object, F: object | None = None, *, method: Method = "auto", tol: float = 1e-13
) -> ArrayOrFrame:
    """Upstream (consumption-based) footprint of each final-demand column: ``S·(I − A)⁻¹·Y``.

    ``Z`` (n×n flows, row supplies column; numpy, scipy.sparse or DataFrame), ``Y`` (n×m final
    demand), ``F`` (k×n stressors per node, optional). With ``F`` the result is k×m: the stressor
    embodied in each demand column — pymrio's consumption-based account ``D_cba`` aggregated by
    demand column. Without ``F`` it is n×m: the output of every node needed, directly and through
    all upstream tiers, to deliver each demand column (``L·Y``), which is what origin tracing
    needs. DataFrames in give a DataFrame out labelled by ``F``'s (or ``Z``'s) index and ``Y``'s
    columns; arrays in give an array out.
    """
    frames = isinstance(Z, pd.DataFrame)
    Zm = _as_matrix("Z", Z)
    Yv = Y.to_frame() if isinstance(Y, pd.Series) else Y
    Ym: npt.NDArray[np.float64] = np.asarray(
        _as_matrix("Y", Yv.to_numpy(dtype=float) if isinstance(Yv, pd.DataFrame) else Yv), dtype=float
    )
    Fm = None if F is None else _as_matrix("F", F)
    _check(Zm, Ym, Fm)
    x = calc_x(Zm, Ym)
    A = calc_A(Zm, x)
    X = solve_leontief(A, Ym, method=method, tol=tol).X
    if Fm is None:
        result = X
    else:
        inv_x = np.divide(1.0, x, out=np.zeros_like(x), where=x != 0)
        result = np.asarray(Fm @ (X * inv_x[:, np.newaxis]))
    if not frames:
        return result
    assert isinstance(Z, pd.DataFrame)
    index = F.index if isinstance(F, pd.DataFrame) else Z.index
    columns = Yv.columns if isinstance(Yv, pd.DataFrame) else pd.RangeIndex(Ym.shape[1])
    return pd.DataFrame(result, index=index, columns=columns)
