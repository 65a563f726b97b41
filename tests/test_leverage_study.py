"""A whole leverage study (:func:`chokepoint.leverage.compare_all`): the rare-earth cutoff is simulated
once, and sharing it changes no table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import chokepoint.leverage.cutoff as cutoff
import chokepoint.simulation as simulation
from chokepoint.dataset import Dataset
from chokepoint.leverage import (
    DECOUPLED,
    ENGAGED,
    LeverageError,
    assumptions_table,
    break_even,
    compare_all,
    comparison_tables,
    find_pathway,
    global_sensitivity,
    leverage_headline,
    pathways_to_compare,
    sensitivity,
    simulated_cutoffs,
    simulated_losses,
    with_horizon,
)


def _two(horizon: int = 4) -> list[Any]:
    return [with_horizon(find_pathway(name), horizon) for name in (DECOUPLED, ENGAGED)]


def _counting(monkeypatch: pytest.MonkeyPatch, calls: Counter[str], name: str) -> None:
    real: Callable[..., Any] = getattr(simulation, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(simulation, name, counted)  # cutoff imports the engine where it runs it


def test_the_cutoff_is_simulated_once_per_coverage(default: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: Counter[str] = Counter()
    for name in ("build_baseline", "run_scenario"):
        _counting(monkeypatch, calls, name)
    study = compare_all(default, pathways_to_compare(horizon=3), "USA", "CHN")
    # one simulated dependence (CHN→USA rare earths): one baseline, one engine run per coverage,
    # however many pathways, sensitivity runs and break-even searches use it
    assert calls == {"build_baseline": 1, "run_scenario": len(cutoff.COVERAGE_GRID)}
    assert set(study.tables["rare_earth_cutoff"]["direction"]) == {"CHN→USA"}
    assert {p.name for p in study.pathways} == {DECOUPLED, ENGAGED, "rare-earth-crisis", "status-quo"}


def test_sharing_the_cutoff_changes_no_table(default: Dataset) -> None:
    pathways = _two()
    study = compare_all(default, pathways, "USA", "CHN")
    # each library function on its own simulates the cutoff afresh
    alone = comparison_tables(default, pathways, "USA", "CHN")
    alone["sensitivity"] = sensitivity(default, pathways, "USA", "CHN")
    found = global_sensitivity(default, pathways, "USA", "CHN")
    alone["global_sensitivity"], alone["global_verdict"] = found.indices(), found.summary()
    alone["thresholds"] = break_even(default, pathways, "USA", "CHN")
    alone["rare_earth_cutoff"] = simulated_cutoffs(default, pathways[1], "USA", "CHN")
    alone["assumptions"] = assumptions_table(pathways)
    head = leverage_headline(alone["comparison"], "USA", "CHN", discount_rate=pathways[1].discount_rate)
    alone["headline"] = head.pathways
    assert list(study.tables) == list(alone)
    for name, table in alone.items():
        pd.testing.assert_frame_equal(study.tables[name], table, check_exact=True, obj=name)
    assert study.headline.text == head.text
    cut = study.tables["rare_earth_cutoff"].set_index(["sector_id", "commodity_id"])
    # The reconciled base year has a 424 t CHN→USA concentrate lane, but the US mines far more
    # concentrate than it uses (net exporter): cutting that lane leaves no concentrate short; every
    # row with a price loses value, a row without one (Sc oxide, bonded NdFeB) says so.
    lost = cut["value_lost_usd"]
    assert not cut.index.get_level_values("commodity_id").str.startswith("ree_concentrate").any()
    priced = cut["valued_at"] != "not valued (no price)"
    assert (lost[priced] > 0).all()
    assert (lost[~priced] == 0).all()
    # two months of buyers' inventory and rerouting to spare capacity bridge every stage in the first
    # year but Ce oxide for the residual uses (valued at its price)
    assert priced.sum() >= 1
    assert lost.is_monotonic_decreasing


def test_a_user_file_replaces_its_namesake(tmp_path: Any) -> None:
    text = find_pathway(ENGAGED).model_copy(update={"description": "my copy"}).model_dump_json()
    (tmp_path / "mine.yaml").write_text(text, encoding="utf-8")  # JSON is YAML
    chosen = {p.name: p for p in pathways_to_compare([tmp_path / "mine.yaml"], horizon=2)}
    assert chosen[ENGAGED].description == "my copy"
    assert {p.horizon_years for p in chosen.values()} == {2}


def test_an_unknown_region_is_one_line(default: Dataset) -> None:
    with pytest.raises(LeverageError, match="unknown region 'XXX'"):
        compare_all(default, _two(), "USA", "XXX")


def test_cached_losses_are_the_simulated_ones_and_a_warm_run_simulates_nothing(
    default: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chokepoint.leverage.cache as lcache

    pathways = _two(horizon=3)
    calls: Counter[str] = Counter()
    _counting(monkeypatch, calls, "run_scenario")
    cold = lcache.cached_losses(default, pathways, tmp_path)
    assert calls["run_scenario"] == len(cutoff.COVERAGE_GRID)
    warm = lcache.cached_losses(default, pathways, tmp_path)
    assert calls["run_scenario"] == len(cutoff.COVERAGE_GRID)  # read back, not simulated again
    assert list(warm) == list(cold) == list(simulated_losses(default, pathways))
    for key, table in cold.items():
        pd.testing.assert_frame_equal(warm[key], table, check_exact=True)
    a = compare_all(default, pathways, "USA", "CHN", losses=warm)
    b = compare_all(default, pathways, "USA", "CHN")
    for name, table in b.tables.items():
        pd.testing.assert_frame_equal(a.tables[name], table, check_exact=True)


def test_cache_file_is_per_dataset_and_a_broken_one_is_ignored(
    default: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chokepoint.leverage.cache as lcache

    other = Dataset("other", {**default.tables, "regions": default["regions"].iloc[:-1]})
    assert lcache.cache_file(other, tmp_path) != lcache.cache_file(default, tmp_path)
    path = lcache.cache_file(default, tmp_path)
    path.write_bytes(b"not a pickle")
    pathways = _two(horizon=3)
    got = lcache.cached_losses(default, pathways, tmp_path)  # simulates, and rewrites the file
    assert set(got) == set(lcache._read(path))
    monkeypatch.setenv("CHOKEPOINT_CACHE", "")
    assert lcache.default_cache_dir() is None
    monkeypatch.setenv("CHOKEPOINT_CACHE", str(tmp_path / "c"))
    assert lcache.default_cache_dir() == tmp_path / "c"


def test_each_global_draw_is_the_headline_of_its_factors(default: Dataset) -> None:
    """A draw that scales one parameter has the gap the one-at-a-time table (read off the
    comparison's own tables) gives at that factor; factors are log-uniform within ×0.5–×2."""
    pathways = _two()
    found = global_sensitivity(default, pathways, "USA", "CHN", "morris", 4, parameters=["substitution_years"])
    factors = found.design.values["substitution_years"]
    assert factors.between(0.5, 2.0).all()
    assert factors.nunique() > 1
    table = sensitivity(default, pathways, "USA", "CHN", ["substitution_years"], list(factors.unique()))
    by_factor = table[table["parameter"] == "substitution_years"].set_index("factor")["gap_share"]
    for draw, factor in factors.items():
        assert found.outcomes.loc[draw, "gap_share"] == pytest.approx(by_factor[factor], rel=1e-9, abs=1e-12)
        assert found.outcomes.loc[draw, "less_leverage"] == (by_factor[factor] < 0)


def test_parameters_that_never_reach_the_headline_have_no_global_index(default: Dataset) -> None:
    # the last year's leverage reads neither the coercion share nor the discount rate (they enter
    # the deterrence game only): Sobol gives them nothing; it gives the others something
    found = global_sensitivity(default, _two(), "USA", "CHN", "sobol", 64)
    st = found.indices().set_index("parameter")["ST"]
    assert st["coercion_share"] == 0.0
    assert st["discount_rate"] == 0.0
    assert (st.drop(["coercion_share", "discount_rate"]) > 0).all()
    verdict = found.summary().iloc[0]
    assert verdict["draws"] == 64 * (8 + 2)
    assert verdict["less_leverage_share"] == pytest.approx(float(found.outcomes["less_leverage"].mean()))


def test_a_global_span_must_exceed_one(default: Dataset) -> None:
    with pytest.raises(LeverageError, match=r"span 1\.0: .*above 1"):
        global_sensitivity(default, _two(), "USA", "CHN", span=1.0)
