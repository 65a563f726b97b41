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


def test_reordered_frames_give_the_same_account_as_pymrio(
    pymrio_cba: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame],
) -> None:
    """Labels, not positions, decide which row is which: shuffling Z's rows and columns, Y's rows
    and F's columns independently changes nothing (a positional reading would mix up nodes)."""
    Z, Y, F, cba = pymrio_cba
    Y_region = Y.T.groupby(level="region", sort=False).sum().T
    rng = np.random.default_rng(5)
    n = len(Z)
    shuffled = upstream_footprint(
        Z.iloc[rng.permutation(n), rng.permutation(n)],
        Y_region.iloc[rng.permutation(n)],
        F.iloc[:, rng.permutation(n)],
    )
    np.testing.assert_allclose(
        shuffled.loc[F.index, Y_region.columns].to_numpy(), cba.loc[F.index, Y_region.columns].to_numpy(), rtol=1e-9
    )


def test_reordered_frames_without_stressors_match_a_dense_solve() -> None:
    Z, Y, _ = _mrio(regions=3, sectors=4, seed=9)
    Zn, Yn = Z.to_numpy(), Y.to_numpy()
    expected = pd.DataFrame(
        np.linalg.solve(np.eye(len(Zn)) - calc_A(Zn, calc_x(Zn, Yn)), Yn), index=Z.index, columns=Y.columns
    )
    order = np.random.default_rng(2).permutation(len(Z))
    got = upstream_footprint(Z.iloc[order, ::-1], Y.iloc[order[::-1]])
    assert list(got.index) == list(Z.index[order])  # result rows follow Z's row labels
    np.testing.assert_allclose(got.loc[Z.index, Y.columns].to_numpy(), expected.to_numpy(), rtol=1e-10)


def _labelled() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    nodes = pd.Index(["a", "b", "c"])
    Z = pd.DataFrame(np.full((3, 3), 0.1), index=nodes, columns=nodes)
    return Z, pd.DataFrame({"fd": [1.0, 2.0, 3.0]}, index=nodes), pd.DataFrame([[1.0, 1.0, 1.0]], columns=nodes)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda Z, Y, F: (Z, Y.rename(index={"c": "d"}), F), r"Y's index does not match Z's index: missing \['c'\], "),
        (lambda Z, Y, F: (Z, Y.iloc[:2], F), r"Y's index .*missing \['c'\], extra \[\]"),
        (lambda Z, Y, F: (Z.rename(columns={"a": "x"}), Y, F), r"Z's columns .*extra \['x'\]"),
        (lambda Z, Y, F: (Z, Y, F.rename(columns={"b": "B"})), r"F's columns .*missing \['b'\], extra \['B'\]"),
        (lambda Z, Y, F: (Z.rename(index={"b": "a"}), Y, F), r"Z's index repeats labels \['a'\]"),
        (lambda Z, Y, F: (Z, pd.concat([Y, Y.iloc[:1]]), F), r"Y's index repeats labels \['a'\]"),
        (lambda Z, Y, F: (Z, Y.to_numpy(), F), "must be DataFrames or a Series"),
        (lambda Z, Y, F: (Z, Y, F.to_numpy()), "must be DataFrames or a Series"),
        (lambda Z, Y, F: (Z.to_numpy(), Y, None), "Y or F is a DataFrame but Z is not"),
        (lambda Z, Y, F: (Z.astype(object).replace({0.1: "n/a"}), Y, F), "Z must hold real numbers"),
    ],
)
def test_frames_with_mismatched_labels_are_refused_by_name(change: object, match: str) -> None:
    Z, Y, F = change(*_labelled())  # type: ignore[operator]
    with pytest.raises(IOInputError, match=match) as exc:
        upstream_footprint(Z, Y, F)
    _one_line(exc)


@pytest.mark.parametrize(
    ("Z", "Y", "match"),
    [
        ([[0.1, "a"], [0.0, 0.1]], np.ones((2, 1)), "Z must hold real numbers"),
        ([[0.1], [0.0, 0.1]], np.ones((2, 1)), "Z must hold real numbers"),  # ragged
        (np.ones((2, 2), dtype=complex), np.ones((2, 1)), "Z must hold real numbers"),
        (np.ones((2, 2), dtype=bool), np.ones((2, 1)), "Z must hold real numbers"),
        ("Z", np.ones((2, 1)), "Z must hold real numbers"),
        (None, np.ones((2, 1)), "Z must hold real numbers"),
        (np.eye(2), np.ones((2, 2, 2)), "Y must be a 2-D matrix"),
        (np.eye(2), np.array(1.0), "Y must be a 2-D matrix"),
        (np.eye(2), np.array([[1.0], [np.inf]]), "Y must hold finite"),
        (sp.csr_array(np.ones((2, 3))), np.ones((2, 1)), "square"),
    ],
)
def test_unusable_values_are_refused_in_one_line(Z: object, Y: object, match: str) -> None:
    with pytest.raises(IOInputError, match=match) as exc:
        upstream_footprint(Z, Y)  # type: ignore[call-overload]
    _one_line(exc)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: calc_x(np.ones((2, 3)), np.ones((2, 1))), "Z must be square"),
        (lambda: calc_x(np.ones((2, 2)), np.ones((3, 1))), "Y has 3 rows but there are 2 nodes"),
        (lambda: calc_x(np.array([[np.nan, 0.0], [0.0, 0.0]]), np.ones((2, 1))), "Z must hold finite"),
        (lambda: calc_A(np.ones((2, 2)), np.ones(3)), "x has 3 entries but Z has 2 nodes"),
        (lambda: calc_A(np.ones((2, 2)), np.array([1.0, -2.0])), "negative total output"),
        (lambda: calc_A(-np.ones((2, 2)), np.ones(2)), "negative flow"),
        (lambda: calc_A(np.ones((2, 2)), np.array([1.0, np.nan])), "x must hold finite"),
        (lambda: solve_leontief(np.ones((2, 3)), np.ones(2)), "A must be square"),
        (lambda: solve_leontief(np.eye(2) * 0.1, np.ones(3)), "Y has 3 rows"),
        (lambda: solve_leontief(sp.csr_array(np.array([[0.1, np.inf], [0, 0]])), np.ones(2)), "A must hold finite"),
        (lambda: solve_leontief(np.array([[0.1, -0.2], [0.0, 0.1]]), np.ones(2)), "negative coefficient"),
        (lambda: solve_leontief(np.eye(2) * 0.1, np.ones(2), method="cholesky"), "unknown method 'cholesky'"),  # type: ignore[arg-type]
        (lambda: solve_leontief(np.eye(2) * 0.1, np.ones(2), method="krylov", tol=0.0), "tol > 0"),
        (lambda: solve_leontief(np.eye(2) * 0.1, np.ones(2), method="series", max_iter=0), "max_iter ≥ 1"),
    ],
)
def test_building_blocks_validate_their_inputs(call: object, match: str) -> None:
    with pytest.raises(IOInputError, match=match) as exc:
        call()  # type: ignore[operator]
    _one_line(exc)


def test_sparse_demand_is_accepted_as_dense() -> None:
    Z = np.array([[150.0, 500.0], [200.0, 100.0]])
    f = np.array([[350.0], [1700.0]])
    np.testing.assert_allclose(upstream_footprint(Z, sp.csr_array(f))[:, 0], [1000.0, 2000.0], rtol=1e-12)
