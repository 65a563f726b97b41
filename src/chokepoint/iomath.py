"""Input–output maths for upstream tracing, named after the maths (as in pymrio's ``iomath``).

Notation (Miller & Blair, *Input-Output Analysis*, 2nd ed., ch. 2): ``Z`` inter-industry flows
(row = supplying node, column = using node), ``Y`` final demand (one column per demand category),
``x = Z·1 + Y·1`` total output, ``A = Z·diag(x)⁻¹`` technical coefficients, ``L = (I − A)⁻¹`` the
Leontief inverse, ``F`` stressors (rows) by node, ``S = F·diag(x)⁻¹``.

The footprint ``S·L·Y`` is computed without ever forming ``L``: the system ``(I − A)·X = Y`` is
solved only for the demand columns needed — by dense LU for small systems, else by a Krylov
method (GMRES, which needs at most as many products with ``A`` as the Neumann series
``X = Σₖ Aᵏ·Y`` and usually several times fewer) on a sparse or dense ``A``, with the true
residual checked, falling back to LU when it converges too slowly (spectral radius of ``A`` near 1).
Every method checks that the system is productive (spectral radius of ``A`` below 1).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, TypeAlias, overload

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from threadpoolctl import ThreadpoolController

from chokepoint.errors import ChokepointError

__all__ = ["IOInputError", "Solution", "calc_A", "calc_x", "solve_leontief", "upstream_footprint"]

Method = Literal["auto", "dense", "krylov", "series", "splu"]
Matrix: TypeAlias = npt.NDArray[np.float64] | sp.sparray | sp.spmatrix
ArrayOrFrame: TypeAlias = npt.NDArray[np.float64] | pd.DataFrame

#: Systems up to this many nodes are solved by dense LU: for them it is faster than anything else.
DENSE_LIMIT = 2_000
#: Above :data:`DENSE_LIMIT`, ``A`` is kept sparse (CSR) when at most this share of it is nonzero;
#: denser, a multi-threaded dense product beats the single-threaded sparse one (measured ~9× per entry).
SPARSE_DENSITY = 0.05
#: Krylov steps between restarts (memory: this many n×m blocks).
RESTART = 40
#: Largest system the ``auto`` fallback factorises densely (n² floats); larger ones use sparse LU.
_DENSE_FALLBACK_LIMIT = 30_000
#: ``L·1`` larger than this means ``I − A`` is numerically singular.
_MULTIPLIER_LIMIT = 1e14


class IOInputError(ChokepointError):
    """An input–output system that cannot be traced (shape, negative flows, singular I − A)."""


@dataclass(frozen=True)
class Solution:
    """``X`` solving ``(I − A)·X = Y``, with how it was found.

    ``iterations`` counts products with ``A`` (0 for LU); ``residual`` is the largest column-wise
    ``‖Y − (I − A)·X‖₂ / ‖Y‖₂``.
    """

    X: npt.NDArray[np.float64]
    method: str
    iterations: int
    residual: float


def calc_x(Z: Matrix, Y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Total output ``x = Z·1 + Y·1`` (row sums of flows plus final demand)."""
    Z, Y = _as_matrix("Z", Z), _as_matrix("Y", Y)
    _rows("Y", Y, _square("Z", Z))
    _finite(Z=Z, Y=Y)
    return np.asarray(Z.sum(axis=1), dtype=float).ravel() + np.asarray(Y, dtype=float).sum(axis=1)


def calc_A(Z: Matrix, x: npt.NDArray[np.float64]) -> Matrix:
    """Technical coefficients ``A = Z·diag(x)⁻¹``; columns of nodes with zero output are zero."""
    Z, x = _as_matrix("Z", Z), np.asarray(_as_matrix("Y", x)).ravel()  # "Y" lets x be 1-D
    if x.size != _square("Z", Z):
        raise IOInputError(f"x has {x.size} entries but Z has {Z.shape[0]} nodes; give one total output per node")
    _finite(Z=Z, x=x)
    _nonnegative("Z", Z, "flow")
    _nonnegative("x", x, "total output")
    inv_x = np.divide(1.0, x, out=np.zeros_like(x, dtype=float), where=x != 0)
    if sp.issparse(Z):
        return sp.csr_array(Z) @ sp.diags_array(inv_x)
    return np.asarray(Z, dtype=float) * inv_x[np.newaxis, :]


def _colnorm(M: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    norms: npt.NDArray[np.float64] = np.sqrt(np.einsum("ij,ij->j", M, M))
    return norms


def _residual(A: Matrix, X: npt.NDArray[np.float64], Y: npt.NDArray[np.float64]) -> float:
    """Largest column-wise ``‖Y − (I − A)·X‖₂ / ‖Y‖₂`` (columns of zero demand count absolutely)."""
    scale = _colnorm(Y)
    scale[scale == 0] = 1.0
    return float((_colnorm(Y - (X - A @ X)) / scale).max(initial=0.0))


def _singular(detail: str) -> IOInputError:
    return IOInputError(
        f"I − A is singular or not productive ({detail}): some nodes use at least as much of their "
        "own output, directly or around a loop, as they make; check Z for flows larger than total output"
    )


#: Dense solves up to this many nodes run on one BLAS thread: OpenBLAS's thread start-up and hand-off
#: cost more than the work (a 68-node LU was 8.0 ms with the default threads on a busy 2-core machine,
#: 0.1 ms on one).
SINGLE_THREAD_LIMIT = 500


@functools.cache
def _blas() -> ThreadpoolController:
    # scanning the loaded libraries takes milliseconds: once (scipy's and numpy's BLAS are loaded by now)
    return ThreadpoolController()


@contextmanager
def _blas_threads(n: int) -> Iterator[None]:
    """One BLAS thread for a problem of ``n ≤ SINGLE_THREAD_LIMIT`` nodes; the default above."""
    if n > SINGLE_THREAD_LIMIT:
        yield
        return
    with _blas().limit(limits=1, user_api="blas"):
        yield


def _solve_dense(A: Matrix, Y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    with _blas_threads(A.shape[0]):
        return _lu_solve(A, Y)


def _lu_solve(A: Matrix, Y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    M = -A.toarray() if isinstance(A, (sp.sparray, sp.spmatrix)) else -np.asarray(A, dtype=float)
    M[np.diag_indices_from(M)] += 1.0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", sla.LinAlgWarning)  # "exactly zero" pivot
            lu = sla.lu_factor(M, overwrite_a=True, check_finite=False)
    except (sla.LinAlgError, sla.LinAlgWarning, ValueError) as exc:
        raise _singular("LU failed") from exc
    pivots = np.abs(np.diag(lu[0]))
    if not np.all(np.isfinite(pivots)) or pivots.min(initial=1.0) < 1e-14 * max(1.0, float(pivots.max(initial=0.0))):
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
    """Neumann series ``X = Y + A·Y + A²·Y + …``; ``None`` if it does not reach ``tol`` in time.

    After adding ``Aᵏ·Y`` the residual ``Y − (I − A)·X`` is exactly the next term ``Aᵏ⁺¹·Y``, so
    the loop stops when that term is below ``tol`` relative to its column of ``Y`` (2-norm).
    """
    scale = _colnorm(Y)
    scale[scale == 0] = 1.0
    X = Y.copy()
    term = A @ Y
    for k in range(1, max_iter + 1):
        size = float((_colnorm(term) / scale).max(initial=0.0))
        if size <= tol:
            return X, k, size
        if not np.isfinite(size) or size > _MULTIPLIER_LIMIT:  # diverging: spectral radius > 1
            return None
        X += term
        term = A @ term
    return None


def _krylov(
    A: Matrix, Y: npt.NDArray[np.float64], tol: float, max_iter: int, restart: int = RESTART
) -> tuple[npt.NDArray[np.float64], int, float] | None:
    """Restarted GMRES on ``(I − A)·X = Y``, one Krylov space per column, all columns batched.

    The k-th iterate minimises the residual over ``span{Y, A·Y, …, Aᵏ⁻¹·Y}``, the space the first
    k Neumann terms live in, so it never needs more products with ``A`` than the series (usually
    several times fewer). Each step is one product ``A @ V`` for all columns; orthogonalisation is
    classical Gram–Schmidt (repeated when needed), as batched matrix products. Stops when every column's true
    residual ``‖Y − (I − A)·X‖₂`` is below ``tol·‖Y‖₂``; ``None`` if that takes over ``max_iter`` products.
    """
    n = Y.shape[0]
    scale = _colnorm(Y)
    scale[scale == 0] = 1.0
    X = np.zeros_like(Y)
    R = Y.copy()
    products = 0
    while True:
        beta = _colnorm(R)
        worst = float((beta / scale).max(initial=0.0))
        if worst <= tol:
            return X, products, worst
        if products >= max_iter or not np.isfinite(worst):
            return None
        cols = np.flatnonzero(beta > tol * scale)
        mc = cols.size
        target = tol * scale[cols]
        steps = min(restart, max_iter - products)
        V = np.empty((mc, steps + 1, n))  # V[c, j] is the j-th basis vector of column c
        V[:, 0, :] = (R[:, cols] / beta[cols]).T
        H = np.zeros((mc, steps + 1, steps))
        cs = np.zeros((steps, mc))
        sn = np.zeros((steps, mc))
        g = np.zeros((steps + 1, mc))
        g[0] = beta[cols]
        size = np.full(mc, steps)  # Krylov dimension used per column
        open_ = np.ones(mc, dtype=bool)
        for j in range(steps):
            Vj = V[:, j, :].T
            W = np.ascontiguousarray((Vj - A @ Vj).T)  # (mc, n)
            products += 1
            before = np.sqrt(np.einsum("cn,cn->c", W, W))
            for _ in range(2):  # classical Gram–Schmidt, repeated when cancellation lost orthogonality
                h = np.matmul(V[:, : j + 1, :], W[:, :, np.newaxis])  # (mc, j+1, 1)
                W -= np.matmul(h.transpose(0, 2, 1), V[:, : j + 1, :])[:, 0, :]
                H[:, : j + 1, j] += h[:, :, 0]
                hn = np.sqrt(np.einsum("cn,cn->c", W, W))
                if np.all(hn > 0.5 * before):  # "twice is enough" (Giraud et al. 2005): no second pass needed
                    break
                before = hn
            H[:, j + 1, j] = hn
            broke = hn <= 1e-14 * np.abs(H[:, : j + 1, j]).max(axis=1)  # exact solution in the space
            V[:, j + 1, :] = W / np.where(broke, 1.0, hn)[:, np.newaxis]
            for i in range(j):  # apply the earlier Givens rotations to the new column of H
                a, b = H[:, i, j].copy(), H[:, i + 1, j].copy()
                H[:, i, j] = cs[i] * a + sn[i] * b
                H[:, i + 1, j] = -sn[i] * a + cs[i] * b
            a, b = H[:, j, j], H[:, j + 1, j]
            d = np.hypot(a, b)
            d_safe = np.where(d == 0, 1.0, d)
            cs[j] = np.where(d == 0, 1.0, a / d_safe)
            sn[j] = np.where(d == 0, 0.0, b / d_safe)
            H[:, j, j] = d
            H[:, j + 1, j] = 0.0
            g[j + 1] = -sn[j] * g[j]
            g[j] = cs[j] * g[j]
            done = open_ & ((np.abs(g[j + 1]) <= 0.5 * target) | broke | (d == 0))
            size[done] = j + 1 - (d[done] == 0)
            open_ &= ~done
            if not open_.any():
                break
        for c in range(mc):
            k = int(size[c])
            if k == 0:
                continue
            coef = sla.solve_triangular(H[c, :k, :k], g[:k, c], check_finite=False)
            X[:, cols[c]] += coef @ V[c, :k, :]
        R = Y - (X - A @ X)
        products += 1


def _productive_by_norm(A: Matrix) -> bool:
    """True when a norm bound proves the spectral radius of ``A ≥ 0`` is below 1."""
    if A.shape[0] == 0:
        return True
    cols = np.asarray(abs(A).sum(axis=0)).ravel()
    rows = np.asarray(abs(A).sum(axis=1)).ravel()
    return bool(cols.max() < 1.0 or rows.max() < 1.0)


def solve_leontief(
    A: Matrix, Y: npt.NDArray[np.float64], *, method: Method = "auto", tol: float = 1e-13, max_iter: int = 2_000
) -> Solution:
    """Solve ``(I − A)·X = Y`` for the columns of ``Y`` without forming ``(I − A)⁻¹``.

    ``method``: ``dense`` (LU), ``splu`` (sparse LU), ``series`` (Neumann power series
    ``Σₖ Aᵏ·Y``), ``krylov`` (batched restarted GMRES, never more products with ``A`` than the
    series), or ``auto``: dense LU up to :data:`DENSE_LIMIT` nodes, above it ``krylov`` with LU as
    the fallback if it has not converged after ``max_iter`` products. Iterative methods stop when
    every column's residual ``‖Y − (I − A)·X‖₂`` is below ``tol·‖Y‖₂``; products use ``A`` as given
    (sparse or dense), so pass a sparse ``A`` only when it is mostly zeros.

    Every method checks that the system is productive (spectral radius of ``A`` below 1, so that
    ``(I − A)⁻¹ = I + A + A² + … ≥ 0`` exists). When neither the largest column nor row sum of
    ``|A|`` is below 1 (physical units, or a suspect table), ``L·1`` is solved alongside ``Y``: it
    is ``≥ 1`` everywhere exactly when the system is productive. Raises :class:`IOInputError`
    if it is not, or if an iterative ``method`` does not converge in ``max_iter`` products.
    """
    A, Y = _as_matrix("A", A), np.asarray(_as_matrix("Y", Y))
    n = _square("A", A)
    _rows("Y", Y, n)
    _finite(A=A, Y=Y)
    _nonnegative("A", A, "coefficient")  # the productivity check below holds for A ≥ 0
    if method not in ("auto", "dense", "krylov", "series", "splu"):
        raise IOInputError(f"unknown method {method!r}; use auto, dense, krylov, series or splu")
    if not (np.isfinite(tol) and tol > 0) or int(max_iter) < 1:
        raise IOInputError(f"need tol > 0 and max_iter ≥ 1, got tol={tol!r}, max_iter={max_iter!r}")
    probe = not _productive_by_norm(A)
    B = np.hstack([Y, np.ones((n, 1))]) if probe else Y
    if method == "auto":
        method = "dense" if n <= DENSE_LIMIT else "krylov"
    used: str = method
    iterations = 0
    residual = 0.0
    if method == "dense":
        X = _solve_dense(A, B)
    elif method == "splu":
        X = _solve_splu(A, B)
    else:
        found = (_series if method == "series" else _krylov)(A, B, tol, max_iter)
        if found is None:
            if probe or method == "series":
                raise _singular(f"the {method} solution did not converge in {max_iter} products with A")
            # Productive but slow to converge (spectral radius near 1): factorise instead.
            X, used = (_solve_dense(A, B), "dense") if n <= _DENSE_FALLBACK_LIMIT else (_solve_splu(A, B), "splu")
        else:
            X, iterations, residual = found
    if probe:
        multipliers = X[:, -1]
        X = X[:, :-1]
        if not np.all(np.isfinite(multipliers)) or multipliers.min(initial=1.0) < 0.5:
            raise _singular("(I − A)⁻¹·1 has entries below 1")
        if multipliers.max(initial=0.0) > _MULTIPLIER_LIMIT:
            raise _singular(f"(I − A)⁻¹·1 exceeds {_MULTIPLIER_LIMIT:g}")
    if not np.all(np.isfinite(X)):
        raise _singular("the solution is not finite")
    if used in ("dense", "splu"):
        residual = _residual(A, X, Y)
    return Solution(X, used, iterations, residual)


def _as_matrix(name: str, value: object) -> Matrix:
    """``value`` as a float matrix (sparse stays sparse); anything else is an :class:`IOInputError`."""
    try:
        if sp.issparse(value):  # demand is dense: one solve per column
            return sp.csr_array(value, dtype=float) if name != "Y" else _as_matrix(name, sp.csr_array(value).toarray())
        arr = value.to_numpy(dtype=float) if isinstance(value, (pd.DataFrame, pd.Series)) else np.asarray(value)
        if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.number) and not np.iscomplexobj(arr)):
            raise TypeError(arr.dtype)
        arr = arr.astype(float, copy=False)
    except (TypeError, ValueError) as exc:  # strings, objects, complex, ragged lists
        raise IOInputError(f"{name} must hold real numbers ({exc}); convert it to floats") from None
    if arr.ndim == 1 and name == "Y":
        arr = arr[:, np.newaxis]
    if arr.ndim != 2:
        raise IOInputError(f"{name} must be a 2-D matrix, got shape {arr.shape}")
    return arr


def _finite(**named: Matrix | None) -> None:
    for name, M in named.items():
        if M is not None and not np.isfinite(M.data if isinstance(M, (sp.sparray, sp.spmatrix)) else M).all():
            raise IOInputError(f"{name} must hold finite numbers; found NaN or infinity — fill gaps with 0")


def _nonnegative(name: str, M: Matrix, what: str) -> None:
    values = np.asarray(M.data if isinstance(M, (sp.sparray, sp.spmatrix)) else M)  # sparse: stored entries
    if values.size and float(values.min()) < 0:
        raise IOInputError(f"{name} has a negative {what} ({float(values.min()):g}); {what}s cannot be negative")


def _square(name: str, M: Matrix) -> int:
    n, m = M.shape
    if n != m:
        raise IOInputError(f"{name} must be square (flows from each node to each node), got {n}×{m}")
    return int(n)


def _rows(name: str, M: Matrix, n: int) -> None:
    if M.shape[0] != n:
        raise IOInputError(f"{name} has {M.shape[0]} rows but there are {n} nodes; give one row of demand per node")


def _same_labels(what: str, got: pd.Index, nodes: pd.Index) -> None:
    """Refuse ``got`` unless it holds exactly ``nodes``' labels, once each, naming the difference."""
    if got.has_duplicates:
        raise IOInputError(f"{what} repeats labels {list(got[got.duplicated()].unique()[:5])}; give each node once")
    missing, extra = nodes.difference(got, sort=False), got.difference(nodes, sort=False)
    if len(missing) or len(extra):
        raise IOInputError(
            f"{what} does not match Z's index: missing {list(missing[:5])}, extra {list(extra[:5])} "
            f"({len(missing)} missing, {len(extra)} extra); label every node the same way"
        )


def _align(Z: pd.DataFrame, Y: object, F: object | None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Z, Y and F reordered to Z's row order by label, never by position (a reordered table is the same system)."""
    Yv = Y.to_frame() if isinstance(Y, pd.Series) else Y
    if not isinstance(Yv, pd.DataFrame) or not (F is None or isinstance(F, pd.DataFrame)):
        raise IOInputError("Z is a DataFrame, so Y (and F) must be DataFrames or a Series too, to align by label")
    nodes = Z.index
    _same_labels("Z's index", nodes, nodes)  # duplicates
    _same_labels("Z's columns", Z.columns, nodes)
    _same_labels("Y's index", Yv.index, nodes)
    if F is not None:
        _same_labels("F's columns", F.columns, nodes)
        F = F.reindex(columns=nodes)
    return Z.reindex(columns=nodes), Yv.reindex(nodes), F


def _dense_to_csr(Z: npt.NDArray[np.float64]) -> sp.csr_array:
    """CSR of a dense square matrix in one pass over it (``csr_array(Z)`` goes through COO)."""
    if Z.flags.f_contiguous and not Z.flags.c_contiguous:  # e.g. DataFrame.to_numpy(): scan in memory order
        return sp.csr_array(_dense_to_csr(Z.T).T)
    n = Z.shape[0]
    flat = np.ravel(Z)  # a view for C-ordered input
    where = np.flatnonzero(flat)
    indptr = np.searchsorted(where, np.arange(n + 1, dtype=np.int64) * n)
    return sp.csr_array((flat[where], where % n, indptr), shape=Z.shape)


def _check(Z: Matrix, Y: npt.NDArray[np.float64], F: Matrix | None) -> None:
    n = _square("Z", Z)
    _rows("Y", Y, n)
    if F is not None and F.shape[1] != n:
        raise IOInputError(f"F has {F.shape[1]} columns but Z has {n} nodes; give one column of stressors per node")
    _finite(Z=Z, Y=Y, F=F)
    _nonnegative("Z", Z, "flow")


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
    if isinstance(Z, pd.DataFrame):
        Z, Y, F = _align(Z, Y, F)
    elif isinstance(Y, pd.DataFrame | pd.Series) or isinstance(F, pd.DataFrame):
        raise IOInputError("Y or F is a DataFrame but Z is not; pass Z as a DataFrame too so rows align by label")
    Zm = _as_matrix("Z", Z)
    Ym: npt.NDArray[np.float64] = np.asarray(_as_matrix("Y", Y))
    Fm = None if F is None else _as_matrix("F", F)
    n = Zm.shape[0]
    if (
        isinstance(Zm, np.ndarray)
        and Zm.shape[0] == Zm.shape[1]
        and method in ("auto", "krylov", "series", "splu")
        and (method == "splu" or n > DENSE_LIMIT)
        and np.count_nonzero(Zm[:: max(1, n // 200)]) <= SPARSE_DENSITY * n * len(range(0, n, max(1, n // 200)))
    ):
        # Products with a mostly-zero A are cheaper sparse; NaN and negatives survive the conversion,
        # so the checks below then scan only the nonzeros.
        Zm = _dense_to_csr(Zm)
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
    assert isinstance(Y, pd.DataFrame)
    index = F.index if isinstance(F, pd.DataFrame) else Z.index
    return pd.DataFrame(result, index=index, columns=Y.columns)
