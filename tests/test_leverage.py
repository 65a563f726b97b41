"""Leverage maths on cases with hand-computable answers, and pathway files' one-line errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chokepoint.dataset import Dataset
from chokepoint.leverage import (
    Dependence,
    LeverageError,
    Pathway,
    cutoff_costs,
    dependence_path,
    deterrence,
    escalation_ladder,
    load_pathway,
    present_value,
    run_pathway,
    substitution_rate,
)


def _dep(controller: str, target: str, domain: str, **kw: float) -> Dependence:
    values = {
        "dependence": 0.8,
        "downstream_output_usd": 100.0,
        "controller_revenue_usd": 10.0,
        "market_ceded_share": 0.0,
        "leakage_share": 0.0,
        "substitution_years": 10.0,
    } | kw
    return Dependence(controller, target, domain, *values.values())


def _assume(controller: str, target: str, domain: str, **metrics: float) -> list[dict[str, object]]:
    base = {
        "dependence_share": 0.8,
        "downstream_output_usd": 100.0,
        "controller_revenue_usd": 10.0,
        "market_ceded_share": 0.0,
        "leakage_share": 0.0,
        "substitution_years": 10.0,
    } | metrics
    return [
        {"controller": controller, "target": target, "domain": domain, "metric": m, "value": v, "rationale": "test"}
        for m, v in base.items()
    ]


def test_substitution_by_hand() -> None:
    # Full effort for T_sub = 10 years replaces 90% of the dependence: 0.8 → 0.08.
    rate = substitution_rate(10.0)
    assert rate == pytest.approx(math.log(10) / 10)
    path = dependence_path(0.8, rate, np.ones(11))
    assert path[0] == 0.8
    assert path[10] == pytest.approx(0.08)


def test_zero_substitution_effort_means_no_erosion() -> None:
    costs = cutoff_costs(_dep("USA", "CHN", "ai_chips"), np.ones(15), baseline_effort=0.0, response=0.0)
    assert np.allclose(costs["dependence_share"], 0.8)
    assert np.allclose(costs["leverage_usd"], 80.0)  # Y·d·(1 − λ) = 100 × 0.8
    # the controller loses only the blocked sales, R·d/d₀ = 10 a year: nothing is eroded for good
    assert np.allclose(costs["cost_to_controller_usd"], 10.0)


def test_controls_erode_the_controllers_leverage() -> None:
    dep = _dep("USA", "CHN", "ai_chips", leakage_share=0.25)
    engaged = cutoff_costs(dep, np.zeros(10), baseline_effort=0.1, response=1.0)
    decoupled = cutoff_costs(dep, np.ones(10), baseline_effort=0.1, response=1.0)
    assert (decoupled["leverage_usd"].iloc[1:] < engaged["leverage_usd"].iloc[1:]).all()
    # year 1 under control: d = 0.8·exp(−ln10/10 × 1.0) ; leverage = 100·d·0.75
    assert decoupled["leverage_usd"].iloc[1] == pytest.approx(100 * 0.8 * math.exp(-math.log(10) / 10) * 0.75)


def test_a_symmetric_pair_has_zero_net_leverage(default: Dataset) -> None:
    pathway = Pathway.model_validate(
        {
            "name": "mirror",
            "horizon_years": 5,
            "assumptions": _assume("USA", "CHN", "ai_chips") + _assume("CHN", "USA", "rare_earths"),
            "controls": [
                {"controller": "USA", "target": "CHN", "domain": "ai_chips", "coverage": 1.0, "start": 2026},
                {"controller": "CHN", "target": "USA", "domain": "rare_earths", "coverage": 1.0, "start": 2026},
            ],
        }
    )
    out = run_pathway(
        default.__class__(default.name, {**default.tables, "leverage": default["leverage"].iloc[:0]}),
        pathway,
        "USA",
        "CHN",
    )
    assert np.allclose(out["balance"]["net_usd"], 0.0)
    assert out["deterrence"]["USA_restrained"].tolist() == out["deterrence"]["CHN_restrained"].tolist()


def test_deterrence_threshold_by_hand(default: Dataset) -> None:
    # One year, no discounting effect: A's gain = θ·Y·d = θ·80; its own cost of a full cutoff = R = 10;
    # B's retaliation = 100·0.5 = 50. Restraint holds while θ·80 ≤ 60, i.e. θ ≤ 0.75.
    assert deterrence(gain=60.0, own_cost=10.0, retaliation=50.0)
    assert not deterrence(gain=60.01, own_cost=10.0, retaliation=50.0)
    empty = default.__class__(default.name, {**default.tables, "leverage": default["leverage"].iloc[:0]})
    for theta, holds in ((0.75, True), (0.76, False)):
        pathway = Pathway.model_validate(
            {
                "name": "one-year",
                "horizon_years": 1,
                "coercion_share": theta,
                "baseline_effort": 0.0,
                "effort_response": 0.0,
                "assumptions": _assume("USA", "CHN", "ai_chips")
                + _assume("CHN", "USA", "rare_earths", dependence_share=0.5, controller_revenue_usd=0.0),
            }
        )
        row = run_pathway(empty, pathway, "USA", "CHN")["deterrence"].iloc[0]
        assert row["USA_gain_usd"] == pytest.approx(theta * 80.0)
        assert row["USA_own_cost_usd"] == pytest.approx(10.0)
        assert row["USA_retaliation_usd"] == pytest.approx(50.0)
        assert row["USA_restrained"] == holds


def test_present_value_by_hand() -> None:
    assert present_value([100.0, 100.0], 0.25) == pytest.approx(180.0)


def test_missing_metric_is_named(default: Dataset) -> None:
    pathway = Pathway.model_validate(
        {"name": "gap", "assumptions": _assume("USA", "CHN", "ai_chips")[:-1]}  # no substitution_years
    )
    empty = default.__class__(default.name, {**default.tables, "leverage": default["leverage"].iloc[:0]})
    with pytest.raises(LeverageError, match="USA→CHN ai_chips has no substitution_years for 2024"):
        run_pathway(empty, pathway, "USA", "CHN")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: p\ncoercion_share: 2\n", "field coercion_share: 2: Input should be less than or equal to 1"),
        (
            "name: p\ncontrols:\n"
            "  - {controller: USA, target: CHN, domain: ai_chips, coverage: 1, start: 2030, end: 2026}\n",
            "end 2026 is before start 2030",
        ),
        ("name: p\nhorizon: 15\n", "field horizon: 15: is not a field of a pathway"),
        ("name: [p\n", "malformed YAML"),
    ],
)
def test_bad_pathway_files_are_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LeverageError) as info:
        load_pathway(path)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def _denial_pathway(strength: float, via: str = "chip_equipment") -> Pathway:
    return Pathway.model_validate(
        {
            "name": "denied",
            "horizon_years": 3,
            "baseline_effort": 0.0,
            "effort_response": 1.0,
            "assumptions": _assume("USA", "CHN", "ai_chips") + _assume("USA", "CHN", "chip_equipment"),
            "controls": [
                {"controller": "USA", "target": "CHN", "domain": "ai_chips", "coverage": 1.0, "start": 2025},
                {"controller": "USA", "target": "CHN", "domain": "chip_equipment", "coverage": 0.8, "start": 2025},
            ],
            "denials": [
                {
                    "controller": "USA",
                    "target": "CHN",
                    "domain": "ai_chips",
                    "via": via,
                    "strength": strength,
                    "rationale": "test",
                }
            ],
        }
    )


def test_denied_tools_slow_substitution_by_hand(default: Dataset) -> None:
    # A complete chip control at full effort: d₁ = 0.8·exp(−κ·(1 − s·c)) with the tool control's
    # coverage c = 0.8 and strength s = 0.5, κ = ln10/10; with s = 0 it is the undenied 0.8·exp(−κ).
    empty = default.__class__(default.name, {**default.tables, "leverage": default["leverage"].iloc[:0]})
    kappa = math.log(10) / 10
    for strength in (0.0, 0.5):
        domains = run_pathway(empty, _denial_pathway(strength), "USA", "CHN")["domains"]
        chips = domains[domains["domain"] == "ai_chips"].set_index("t")
        assert chips.loc[1, "rate_factor"] == pytest.approx(1 - strength * 0.8)
        assert chips.loc[1, "dependence_share"] == pytest.approx(0.8 * math.exp(-kappa * (1 - strength * 0.8)))
        tools = domains[domains["domain"] == "chip_equipment"].set_index("t")
        assert tools.loc[1, "rate_factor"] == 1.0  # no denial names it


def test_a_denial_of_an_unknown_domain_is_one_line(default: Dataset) -> None:
    empty = default.__class__(default.name, {**default.tables, "leverage": default["leverage"].iloc[:0]})
    with pytest.raises(LeverageError, match=r"denials\[0\]\.via: no dependence USA→CHN 'euv' in the data") as info:
        run_pathway(empty, _denial_pathway(0.5, via="euv"), "USA", "CHN")
    assert "\n" not in str(info.value)


def test_escalation_ladder_by_hand() -> None:
    # A can cut x (costs A 1, B 10) or y (costs A 5, B 100); B can cut z (costs B 2, A 50).
    matrix = pd.DataFrame(
        {
            "pathway": "p",
            "year": 2030,
            "direction": ["A→B", "A→B", "B→A"],
            "domain": ["y", "x", "z"],
            "leverage_usd": [100.0, 10.0, 50.0],
            "cutoff_cost_to_controller_usd": [5.0, 1.0, 2.0],
            "cutoff_cost_ratio": [20.0, 10.0, 25.0],
        }
    )
    ladder = escalation_ladder(matrix).set_index(["side", "rung"])
    assert ladder.loc[("A", 1), "domain"] == "x"  # the cheapest rung first
    assert ladder.loc[("A", 1), "answer_domain"] == "z"  # 50 ≥ 10: a proportionate answer
    assert not ladder.loc[("A", 1), "escalation_dominance"]
    assert ladder.loc[("A", 2), "domain"] == "y"
    assert ladder.loc[("A", 2), "escalation_dominance"]  # B has nothing that imposes 100
    assert ladder.loc[("B", 1), "answer_domain"] == "y"  # A's cheapest cut imposing ≥ 50
    assert ladder.loc[("B", 1), "answer_cost_to_self_usd"] == 5.0


def test_a_denial_of_a_domain_by_itself_is_one_line(default: Dataset) -> None:
    empty = default.__class__(default.name, {**default.tables, "leverage": default["leverage"].iloc[:0]})
    with pytest.raises(LeverageError, match=r"denials\[0\]\.via: 'ai_chips' is the denied domain itself"):
        run_pathway(empty, _denial_pathway(0.5, via="ai_chips"), "USA", "CHN")


def test_a_side_without_answers_has_escalation_dominance() -> None:
    matrix = pd.DataFrame(
        {
            "pathway": "p",
            "year": 2030,
            "direction": ["A→B"],
            "domain": ["x"],
            "leverage_usd": [10.0],
            "cutoff_cost_to_controller_usd": [1.0],
            "cutoff_cost_ratio": [10.0],
        }
    )
    rung = escalation_ladder(matrix).iloc[0]
    assert rung["escalation_dominance"]
    assert rung["answer_domain"] is None


@pytest.mark.parametrize("text", ["name: [p\n", "name: a\n  b: c\n", "a: 1\n\tb: 2\n", "name: x: y\n"])
def test_malformed_yaml_reads_the_same_with_the_c_parser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    import yaml

    import chokepoint.yamlfile as yamlfile

    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    messages = []
    for loader in (yamlfile._FAST_LOADER, yaml.SafeLoader):
        monkeypatch.setattr(yamlfile, "_FAST_LOADER", loader)
        with pytest.raises(LeverageError) as err:
            load_pathway(path)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert " line " in messages[0]
