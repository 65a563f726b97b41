"""The sensitivity's fast paths are bit for bit the tables': its verdict from arrays is what
``leverage_headline`` concludes from the comparison table, and the deterrence check's own costs for
all years at once are the scalar path from each year."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

from chokepoint.dataset import Dataset
from chokepoint.leverage import DECOUPLED, ENGAGED, leverage_headline, pathways_to_compare
from chokepoint.leverage.compare import _tables
from chokepoint.leverage.model import _pair, load_dependences, simulated_losses

# the package re-exports the function `sensitivity`, which shadows its module
sens = importlib.import_module("chokepoint.leverage.sensitivity")


def test_group_sum_is_pandas_groupby_sum_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    # magnitudes far apart, cancellations, a NaN: where naive and compensated sums differ
    values = [rng.normal(size=6) * 10.0 ** rng.integers(-3, 17, size=6) for _ in range(9)]
    values[3][2] = np.nan
    values.append(-values[0])
    frame = pd.DataFrame({"t": np.tile(np.arange(6), len(values)), "v": np.concatenate(values)})
    expected = frame.groupby("t")["v"].sum().to_numpy()
    got = sens._group_sum(values, 6)
    assert got.tobytes() == expected.tobytes()
    assert not np.array_equal(got, np.sum(values, axis=0))  # the data do tell the two sums apart


@pytest.mark.parametrize(("a", "b"), [("USA", "CHN"), ("CHN", "USA")])
def test_verdict_matches_the_headline_of_the_tables(default: Dataset, a: str, b: str) -> None:
    pathways = pathways_to_compare(horizon=6)
    losses = simulated_losses(default, pathways)
    deps = {p.name: _pair(load_dependences(default, p, losses), p, a, b) for p in pathways}
    cases = [(n, f) for n in sens.SENSITIVITY_PARAMETERS for f in (1.0, 0.5, 2.0)]
    verdicts = set()
    for name, factor in cases:
        new_deps, new_pathways, _, _ = sens._vary(deps, pathways, name, factor)
        # the headline of the full tables, as `sensitivity` computed it before the array verdict
        comparison = pd.concat(
            [_tables(new_deps[p.name], p, a, b)["comparison"] for p in new_pathways], ignore_index=True
        )
        head = leverage_headline(comparison, a, b)
        got = sens._verdict(new_deps, new_pathways, a, b, DECOUPLED, ENGAGED)
        assert (got.less_leverage, got.from_year, got.gap_share) == (head.less_leverage, head.from_year, head.gap_share)
        assert got.conclusion == head.conclusion()
        assert list(got.conclusion) == list(head.conclusion())  # the order the `changes` text lists them in
        verdicts.add((got.from_year, got.gap_share, *got.conclusion.values()))
    assert len(verdicts) > 1  # the variations move the verdict, so agreement is not trivial


def test_own_cost_of_escalating_is_the_scalar_path_from_each_year(default: Dataset) -> None:
    # the deterrence check's own cost of a full cutoff from year t, computed for all t at once, is
    # bit for bit the path run from t alone with the dependence left at t (the model's definition)
    from dataclasses import replace

    from chokepoint.leverage.model import _controller_cost, _paths, _rate_factor, present_value
    from chokepoint.leverage.run import _dependence_columns, _own_costs

    for pathway in pathways_to_compare(horizon=12):
        deps = _pair(load_dependences(default, pathway), pathway, "USA", "CHN")
        years, columns = _dependence_columns(deps, pathway)
        for dep, col in zip(deps, columns, strict=True):
            share = col["dependence_share"]
            got = _own_costs(dep, share, pathway, years)
            for t in range(len(years)):
                chosen = replace(dep, dependence=float(share[t]))
                full = np.ones(len(years) - t)
                factor = _rate_factor(pathway, chosen, years[t:].astype(float))
                d = _paths(chosen, full, pathway.baseline_effort, pathway.effort_response, factor)[2]
                expected = present_value(_controller_cost(chosen, full, d), pathway.discount_rate)
                assert got[t] == expected, (pathway.name, dep.domain, t)


def test_strongest_answer_is_nlargest_one_ties_and_nan_included() -> None:
    from chokepoint.leverage.compare import _strongest

    rng = np.random.default_rng(3)
    for _ in range(200):
        values = rng.choice([1.0, 2.0, 3.0, np.nan], size=int(rng.integers(0, 6)))
        frame = pd.DataFrame({"leverage_usd": values, "domain": [f"d{i}" for i in range(len(values))]})
        expected = frame.nlargest(1, "leverage_usd").to_dict("records")
        # by domain: the chosen row (NaN never equals itself)
        assert _strongest(frame.to_dict("records")).get("domain") == (expected[0]["domain"] if expected else None)
