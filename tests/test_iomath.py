"""Upstream tracing maths: a published worked example, pymrio's accounts, and the error paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymrio
import pytest
import scipy.sparse as sp

from chokepoint.errors import ChokepointError
from chokepoint.iomath import IOInputError, Method, calc_A, calc_x, solve_leontief, upstream_footprint

METHODS: list[Method] = ["dense", "series", "krylov", "splu", "auto"]


def test_miller_blair_two_sector_example() -> None:
    """Miller & Blair (2009), *Input-Output Analysis: Foundations and Extensions*, 2nd ed.,
    section 2.3 (numerical example, Table 2.3): A and L = (I − A)⁻¹ to the book's decimals."""
    Z = np.array([[150.0, 500.0], [200.0, 100.0]])
    f = np.array([[350.0], [1700.0]])
    x = calc_x(Z, f)
    np.testing.assert_allclose(x, [1000.0, 2000.0])
    A = calc_A(Z, x)
    np.testing.assert_allclose(A, [[0.15, 0.25], [0.20, 0.05]])
    for method in METHODS:
        L = solve_leontief(A, np.eye(2), method=method).X  # columns L·e_j
        np.testing.assert_allclose(np.round(L, 3), [[1.254, 0.330], [0.264, 1.122]])
        np.testing.assert_allclose(L, np.linalg.inv(np.eye(2) - A), rtol=1e-12)
    # Tracing the book's final demand through L reproduces total output.
    for method in METHODS:
        np.testing.assert_allclose(upstream_footprint(Z, f, method=method)[:, 0], [1000.0, 2000.0], rtol=1e-12)


def _mrio(regions: int = 6, sectors: int = 30, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A random productive multi-regional system with pymrio's labels: Z, Y (one column per region), F."""
    rng = np.random.default_rng(seed)
    n = regions * sectors
    names = [f"r{i}" for i in range(regions)]
    idx = pd.MultiIndex.from_product([names, [f"s{j}" for j in range(sectors)]], names=["region", "sector"])
    A = rng.random((n, n)) * (rng.random((n, n)) < 0.2) + np.eye(n) * 1e-3
    A *= rng.uniform(0.3, 0.7, n) / A.sum(axis=0)
    y = rng.lognormal(3.0, 1.0, (n, regions))
    x = np.linalg.solve(np.eye(n) - A, y.sum(axis=1))
    Z = pd.DataFrame(A * x, index=idx, columns=idx)
    Y = pd.DataFrame(y, index=idx, columns=pd.MultiIndex.from_product([names, ["FD"]], names=["region", "category"]))
    F = pd.DataFrame(rng.random((3, n)) * x, index=pd.Index(["co2", "water", "land"], name="stressor"), columns=idx)
    return Z, Y, F


@pytest.fixture(scope="module")
def pymrio_cba() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    Z, Y, F = _mrio()
    io = pymrio.IOSystem(Z=Z, Y=Y)
    io.stressor = pymrio.Extension(name="stressor", F=F)
    io.calc_all()
    cba = io.stressor.D_cba.T.groupby(level="region", sort=False).sum().T
    return Z, Y, F, cba


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind", ["frame", "numpy", "sparse"])
def test_equals_pymrio_consumption_based_account(
    pymrio_cba: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame], method: Method, kind: str
) -> None:
    Z, Y, F, cba = pymrio_cba
    Y_region = Y.T.groupby(level="region", sort=False).sum().T
    if kind == "frame":
        got = upstream_footprint(Z, Y_region, F, method=method)
        assert list(got.index) == list(F.index)
        assert list(got.columns) == list(Y_region.columns)
        values = got.to_numpy()
    elif kind == "numpy":
        values = upstream_footprint(Z.to_numpy(), Y_region.to_numpy(), F.to_numpy(), method=method)
    else:
        values = upstream_footprint(
            sp.csr_array(Z.to_numpy()),
            Y_region.to_numpy(),
            sp.csr_array(F.to_numpy()),
            method=method,
        )
    expected = cba.loc[F.index, Y_region.columns].to_numpy()
    np.testing.assert_allclose(values, expected, rtol=1e-9, atol=0)


@pytest.mark.parametrize("method", METHODS)
def test_without_stressors_is_leontief_times_demand(method: Method) -> None:
    Z, Y, _ = _mrio(regions=4, sectors=25, seed=3)
    Zn, Yn = Z.to_numpy(), Y.to_numpy()
    A = calc_A(Zn, calc_x(Zn, Yn))
    expected = np.linalg.solve(np.eye(len(Zn)) - A, Yn)
    got = upstream_footprint(Zn, Yn, method=method)
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    frame = upstream_footprint(Z, Y, method=method)
    assert frame.index.equals(Z.index)
    assert frame.columns.equals(Y.columns)


@pytest.mark.parametrize("method", ["series", "krylov"])
def test_iterative_methods_agree_with_lu_above_dense_limit(method: Method) -> None:
    rng = np.random.default_rng(11)
    n = 2_500
    A = sp.random_array((n, n), density=0.004, rng=rng, format="csr")
    A = sp.csr_array(A @ sp.diags_array(rng.uniform(0.3, 0.9, n) / np.maximum(A.sum(axis=0), 1e-300)))
    Y = rng.random((n, 3))
    sol = solve_leontief(A, Y, method=method)
    assert sol.method == method
    assert sol.residual <= 1e-13
    np.testing.assert_allclose(sol.X, solve_leontief(A, Y, method="splu").X, rtol=1e-10)


def test_physical_units_acyclic_chain_is_productive() -> None:
    """Recipes in tonnes may need more than 1 t of input per t (column sums > 1) yet be productive."""
    A = np.array([[0.0, 1.4, 0.0], [0.0, 0.0, 1.2], [0.0, 0.0, 0.0]])  # ore → oxide → metal
    for method in METHODS:
        X = solve_leontief(A, np.array([0.0, 0.0, 1.0]), method=method).X
        np.testing.assert_allclose(X[:, 0], [1.68, 1.2, 1.0])


def _one_line(exc: pytest.ExceptionInfo[IOInputError]) -> None:
    assert isinstance(exc.value, ChokepointError)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(
    ("Z", "Y", "F", "match"),
    [
        (np.ones((2, 3)), np.ones((2, 1)), None, "square"),
        (np.ones((2, 2)), np.ones((3, 1)), None, "Y has 3 rows"),
        (np.ones((2, 2)), np.ones((2, 1)), np.ones((1, 3)), "F has 3 columns"),
        (np.array([[1.0, -1.0], [0.0, 1.0]]), np.ones((2, 1)), None, "negative"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), np.ones((2, 1)), None, "NaN"),
        (np.ones((2, 2)), np.array([[1.0], [np.nan]]), None, "NaN"),
        (np.ones((2, 2)), np.ones((2, 1)), np.array([[np.inf, 1.0]]), "NaN"),
        (np.ones((2, 2, 2)), np.ones((2, 1)), None, "2-D"),
    ],
)
def test_bad_input_raises(Z: np.ndarray, Y: np.ndarray, F: np.ndarray | None, match: str) -> None:
    with pytest.raises(IOInputError, match=match) as exc:
        upstream_footprint(Z, Y, F)
    _one_line(exc)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n", [3, 2_100])
def test_non_productive_system_raises_for_every_method(method: Method, n: int) -> None:
    """Node 0 uses more of its own output than it makes (negative final demand): A[0, 0] > 1."""
    Z = np.zeros((n, n))
    Z[0, 0] = 5.0
    Z[0, 1] = 1.0
    Z[1, 2 % n] += 1.0
    Y = np.ones((n, 1))
    Y[0, 0] = -3.0  # x[0] = 5 + 1 − 3 = 3 < Z[0, 0]
    with pytest.raises(IOInputError, match="not productive") as exc:
        upstream_footprint(Z, Y, method=method)
    _one_line(exc)


@pytest.mark.parametrize("method", METHODS)
def test_closed_loop_without_final_demand_is_singular(method: Method) -> None:
    """Two nodes that only supply each other: A has spectral radius 1, I − A is singular."""
    Z = np.array([[0.0, 2.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    Y = np.array([[0.0], [0.0], [1.0]])
    with pytest.raises(IOInputError, match="not productive") as exc:
        upstream_footprint(Z, Y, method=method)
    _one_line(exc)


def test_one_dimensional_demand_and_series_input() -> None:
    Z, Y, _ = _mrio(regions=2, sectors=5, seed=1)
    y = Y.iloc[:, 0]
    got = upstream_footprint(Z, y)
    assert got.shape == (10, 1)
    np.testing.assert_allclose(got.to_numpy()[:, 0], upstream_footprint(Z.to_numpy(), y.to_numpy())[:, 0])
