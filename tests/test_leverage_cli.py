"""Shipped leverage pathways, their comparison, headline and sensitivity, the `leverage` commands
and the offline report."""

from __future__ import annotations

import io
import json
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import chokepoint as cp
from chokepoint.leverage import (
    DECOUPLED,
    ENGAGED,
    SENSITIVITY_PARAMETERS,
    LeverageError,
    Pathway,
    break_even,
    comparison_tables,
    find_pathway,
    leverage_headline,
    load_dependences,
    load_pathway,
    run_pathway,
    sensitivity,
)
from chokepoint.report.leverage import render_leverage_report
from tests.test_cli import assert_one_line_error, run

PATHWAYS = Path(__file__).resolve().parents[1] / "src" / "chokepoint" / "pathways"
NAMES = ["blanket-decoupling", "calibrated-engagement", "rare-earth-crisis", "status-quo"]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `leverage compare` keeps its simulated losses between runs: in the test's folder, not the user's
    monkeypatch.setenv("CHOKEPOINT_CACHE", str(tmp_path / "cache"))


@cache
def _pathways() -> tuple[Pathway, ...]:
    return tuple(load_pathway(PATHWAYS / f"{n}.yaml") for n in NAMES)


@cache
def _tables() -> dict[str, pd.DataFrame]:
    return comparison_tables(cp.default_dataset(), list(_pathways()), "USA", "CHN")


def test_every_shipped_pathway_is_listed_and_runs() -> None:
    assert sorted(p.stem for p in PATHWAYS.glob("*.yaml")) == NAMES
    ds = cp.default_dataset()
    for pathway in _pathways():
        assert (pathway.start_year, pathway.horizon_years) == (2025, 15)
        out = run_pathway(ds, pathway, "USA", "CHN")
        assert len(out["balance"]) == 15
        assert (out["domains"]["leverage_usd"] >= 0).all()


def test_pathways_differ_only_in_their_controls() -> None:
    first, *rest = _pathways()
    for other in rest:
        assert other.assumptions == first.assumptions
        fields = ("discount_rate", "coercion_share", "baseline_effort", "effort_response", "data_year")
        assert [getattr(other, f) for f in fields] == [getattr(first, f) for f in fields]


def test_assumptions_fill_gaps_and_never_replace_data() -> None:
    """An assumption where the dataset has a figure would present an assumption in place of data."""
    rows = cp.default_dataset()["leverage"]
    rows = rows[rows["year"] == 2024]
    data = set(zip(rows["controller_id"], rows["target_id"], rows["domain"], rows["metric"], strict=True))
    for pathway in _pathways():
        for a in pathway.assumptions:
            assert (a.controller, a.target, a.domain, a.metric) not in data, f"{pathway.name}: {a} replaces data"
            assert a.rationale.startswith("ASSUMPTION"), a


def test_compare_has_one_row_per_pathway_year_direction_and_domain() -> None:
    comparison = _tables()["comparison"]
    deps = load_dependences(cp.default_dataset(), _pathways()[0])
    assert len(comparison) == len(NAMES) * 15 * len(deps)
    assert not comparison.duplicated(["pathway", "year", "direction", "domain"]).any()
    # the pair-level columns are constant within a pathway-year
    per_year = comparison.groupby(["pathway", "year"])[["net_balance_usd", "deterrence_holds"]].nunique()
    assert (per_year == 1).all().all()
    # a complete cutoff costs the target its leverage; the control in force costs it coverage × that,
    # except for rare earths, where the share is the simulated loss at that coverage
    share = {(d.controller, d.target, d.domain): d for d in deps}
    keys = zip(comparison["controller_id"], comparison["target_id"], comparison["domain"], strict=True)
    expected = [
        share[k].cost_share(c) * lev
        for k, c, lev in zip(keys, comparison["coverage"], comparison["leverage_usd"], strict=True)
    ]
    assert np.allclose(comparison["cost_to_target_usd"], expected, rtol=1e-12)
    linear = comparison["domain"] != "rare_earths"
    assert np.allclose(
        comparison["cost_to_target_usd"][linear], (comparison["coverage"] * comparison["leverage_usd"])[linear]
    )


def test_headline_decoupling_erodes_leverage_from_the_year_after_it_starts() -> None:
    head = leverage_headline(_tables()["comparison"], "USA", "CHN")
    assert head.less_leverage is True
    # pathways diverge in 2026; dependence responds a year later
    assert head.from_year == 2027
    assert head.gap_usd is not None
    assert head.gap_usd < 0
    assert "from 2027" in head.text
    assert set(head.pathways["pathway"]) == set(NAMES)
    # same controls in 2025 everywhere: equal leverage in the first year
    assert head.pathways["a_over_b_first_usd"].nunique() == 1


def test_headline_without_both_pathways_says_so() -> None:
    only = _tables()["comparison"].query("pathway == 'status-quo'")
    head = leverage_headline(only, "USA", "CHN")
    assert head.less_leverage is None
    assert DECOUPLED in head.text
    assert ENGAGED in head.text


def test_sensitivity_varies_each_parameter_both_ways() -> None:
    table = sensitivity(cp.default_dataset(), list(_pathways()), "USA", "CHN")
    assert table.iloc[0]["parameter"] == "base"
    assert set(table["parameter"][1:]) == set(SENSITIVITY_PARAMETERS)
    assert len(table) == 1 + 2 * len(SENSITIVITY_PARAMETERS)
    response = table[(table["parameter"] == "effort_response") & (table["factor"] == 2.0)].iloc[0]
    assert response["clipped"]
    assert response["varied_max"] == 1.0
    assert (table["varied_max"].dropna() >= 0).all()
    assert table["flips"].dtype == bool


def test_sensitivity_flip_is_reported() -> None:
    """With no response to controls, decoupling no longer costs leverage: the headline flips."""
    base = [p.model_copy(update={"baseline_effort": 0.0}) for p in _pathways()]
    base = [p.model_copy(update={"effort_response": 0.0}) for p in base]
    table = sensitivity(cp.default_dataset(), base, "USA", "CHN", parameters=["effort_response"])
    assert not table.iloc[0]["less_leverage"]
    assert not table["flips"].any()  # 0 × 0.5 and 0 × 2 stay 0
    raised = [p.model_copy(update={"effort_response": 1.0}) for p in base]
    table = sensitivity(cp.default_dataset(), raised, "USA", "CHN", parameters=["effort_response"], factors=[0.0])
    assert table.iloc[1]["flips"]
    assert "less_leverage: True → False" in table.iloc[1]["changes"]


def test_duplicate_pathway_names_are_an_error() -> None:
    p = _pathways()[0]
    with pytest.raises(LeverageError, match="used twice"):
        comparison_tables(cp.default_dataset(), [p, p], "USA", "CHN")


def test_find_pathway_by_name_and_by_path() -> None:
    assert find_pathway("calibrated-engagement").name == "calibrated-engagement"
    assert find_pathway(PATHWAYS / "status-quo.yaml").name == "status-quo"
    with pytest.raises(LeverageError, match="unknown pathway 'nope'; shipped pathways: blanket-decoupling"):
        find_pathway("nope")


def test_run_command_formats(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "leverage", "run", "USA", "CHN", "--pathway", "calibrated-engagement", "-f", "csv")
    assert code == 0, err
    table = pd.read_csv(pd.io.common.StringIO(out))
    assert set(table["year"]) == set(range(2025, 2040))
    code, out, _ = run(capsys, "leverage", "run", "USA", "CHN", "-p", "status-quo", "--horizon", "3", "-f", "json")
    rows = json.loads(out)
    assert {r["year"] for r in rows} == {2025, 2026, 2027}
    code, out, _ = run(capsys, "leverage", "run", "USA", "CHN", "-p", "blanket-decoupling", "--horizon", "3")
    assert code == 0
    assert "deterrence" in out


def test_compare_command_writes_tables_and_an_offline_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_dir = tmp_path / "compare"
    code, out, err = run(capsys, "leverage", "compare", "USA", "CHN", "-f", "json", "--out", str(out_dir))
    assert code == 0, err
    doc = json.loads(out)
    assert doc["less_leverage"] is True
    assert doc["headline"].startswith("Blanket decoupling leaves USA with less leverage over CHN")
    assert {p["pathway"] for p in doc["pathways"]} == set(NAMES)
    names = {"comparison", "balance", "deterrence", "matrix", "sensitivity", "headline", "assumptions"}
    names |= {"thresholds", "rare_earth_cutoff", "ladder", "global_sensitivity", "global_verdict"}
    assert {f"{n}.{ext}" for n in names for ext in ("csv", "parquet")} | {"report.html", "chokepoint.json"} == {
        p.name for p in out_dir.iterdir()
    }
    assert len(pd.read_parquet(out_dir / "comparison.parquet")) == len(doc["comparison"])
    assert not list(tmp_path.glob(".compare*"))
    html = (out_dir / "report.html").read_text(encoding="utf-8")
    _assert_offline(html)
    # the values that reverse the headline and the simulated rare-earth cost are on the page
    assert "Which values reverse the headline" in html
    assert "Rare earths: the cost of a cutoff, simulated" in html
    assert "Global sensitivity" in html
    # the deterrence game's parameters never reach the last year's leverage: no share of its variance
    st = {r["parameter"]: r["ST"] for r in doc["global_sensitivity"]}
    assert st["coercion_share"] == st["discount_rate"] == 0.0
    assert doc["global_verdict"][0]["draws"] == 256 * (8 + 2)
    flips = {r["parameter"] for r in doc["thresholds"] if r["flips_at_factor"] is not None}
    assert "denial_strength" in flips
    cutoff = pd.DataFrame(doc["rare_earth_cutoff"])
    assert set(cutoff["direction"]) == {"CHN→USA"}
    # the US is a net exporter of concentrate (it mines more than it uses): no concentrate is short;
    # every short commodity with a price loses value
    assert not cutoff["commodity_id"].str.startswith("ree_concentrate").any()
    priced = cutoff["valued_at"] != "not valued (no price)"
    assert (cutoff.loc[priced, "value_lost_usd"] > 0).all()


def test_pathways_run_by_default_and_are_listed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # `leverage A B` is `leverage run A B`, as the issue writes it
    code, out, err = run(
        capsys, "leverage", "USA", "CHN", "--pathway", "calibrated-engagement", "--horizon", "2", "-f", "csv"
    )
    assert code == 0, err
    assert set(pd.read_csv(io.StringIO(out))["year"]) == {2025, 2026}
    code, _, err = run(capsys, "leverage", "compar", "USA", "CHN")  # a typo is not a region
    assert code == 2
    assert "No such command 'compar'" in err
    code, out, _ = run(capsys, "leverage", "pathways", "-f", "csv")
    listed = pd.read_csv(io.StringIO(out))
    assert listed["name"].tolist() == NAMES
    assert all(Path(f).is_file() for f in listed["file"])
    # an edited copy with a shipped pathway's name replaces it in the comparison
    edited = tmp_path / "mine.yaml"
    text = (PATHWAYS / "calibrated-engagement.yaml").read_text(encoding="utf-8")
    edited.write_text(text.replace("coverage: 0.3, start: 2026", "coverage: 1.0, start: 2026"), encoding="utf-8")
    code, out, err = run(capsys, "leverage", "compare", "USA", "CHN", "--horizon", "3", "-p", str(edited), "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    chips = [
        r["coverage"]
        for r in doc["comparison"]
        if r["pathway"] == "calibrated-engagement" and r["domain"] == "ai_chips" and r["year"] == 2026
    ]
    assert chips == [1.0]


class _Attributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        self.links += [v or "" for k, v in attrs if k in {"src", "href"}]


def _assert_offline(html: str) -> None:
    parser = _Attributes()
    parser.feed(html)
    assert not [link for link in parser.links if link.startswith(("http:", "https:", "//"))]
    assert "<script src=" not in html
    assert html.count("Plotly") > 0


def test_report_shows_headline_matrix_sensitivity_and_assumptions() -> None:
    tables = _tables()
    head = leverage_headline(tables["comparison"], "USA", "CHN")
    sens = pd.DataFrame(
        [{"parameter": "base", "factor": 1.0, "less_leverage": True, "from_year": 2027, "gap_share": -0.01,
          "flips": False, "changes": ""}]
    )  # fmt: skip
    from chokepoint.leverage import assumptions_table

    html = render_leverage_report(tables, head, sens, assumptions=assumptions_table(list(_pathways())[:1]))
    _assert_offline(html)
    assert head.text.replace("'", "&#39;") in html
    for text in (
        "Balance matrix",
        "Deterrence by year",
        "Sensitivity",
        "Assumed, not data",
        "Leverage by domain and direction",
    ):
        assert text in html


def _bad_pathway(tmp_path: Path) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\ncontrols: [\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["leverage", "run", "USA", "CHN", "--pathway", "nope"], "unknown pathway 'nope'"),
        (["leverage", "run", "USA", "XXX"], "unknown region 'XXX'"),
        (["leverage", "compare", "ZZZ", "CHN"], "unknown region 'ZZZ'"),
        (["leverage", "run", "USA", "JPN"], "no dependence between USA and JPN"),
        (["leverage", "run", "USA", "CHN", "--pathway", "BAD"], "bad.yaml line 3, column 1: malformed YAML"),
        (["leverage", "run", "USA", "CHN", "--horizon", "0"], "--horizon"),
    ],
)
def test_leverage_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], expected: str
) -> None:
    args = [_bad_pathway(tmp_path) if a == "BAD" else a for a in args]
    assert_one_line_error(*run(capsys, *args), expected)


def test_break_even_factor_is_where_the_full_headline_flips() -> None:
    # The fast search (last-year leverage only) against the full tables of `sensitivity`: just
    # past the factor the verdict has flipped, just short of it, it has not.
    ds, pathways = cp.default_dataset(), _pathways()
    table = break_even(ds, pathways, "USA", "CHN", parameters=["denial_strength"]).set_index("direction")
    assert np.isnan(table.loc["down", "flips_at_factor"])  # weaker denial only strengthens the verdict
    factor = float(table.loc["up", "flips_at_factor"])
    assert 1.0 < factor < 10.0
    around = sensitivity(
        ds, pathways, "USA", "CHN", parameters=["denial_strength"], factors=(factor * 0.995, factor * 1.005)
    )
    assert around["flips"].tolist() == [False, False, True]  # base, just below, just above


def test_compare_refuses_a_foreign_out_folder_before_running(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "mine.txt").write_text("keep me", encoding="utf-8")
    ran = []
    monkeypatch.setattr("chokepoint.leverage.compare_all", lambda *args, **kwargs: ran.append(args))
    code, out, err = run(capsys, "leverage", "compare", "USA", "CHN", "--out", str(foreign))
    assert_one_line_error(code, out, err, "was not written by Chokepoint")
    assert (foreign / "mine.txt").read_text(encoding="utf-8") == "keep me"
    assert ran == []  # refused before the study ran
