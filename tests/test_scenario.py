"""Scenario files: the shipped examples load, and every kind of mistake is one line naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from chokepoint.dataset import Dataset
from chokepoint.scenario import Licence, ScenarioError, YearMonth, check_scenario, load_scenario

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "scenarios"
GOOD = """
name: t
start: 2025-01
horizon_months: 24
export_controls:
  - name: ban
    controller: CHN
    commodities: [ndfeb_magnet]
    targets: {countries: [USA]}
    instrument: {kind: ban}
    start: 2025-04
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_scenarios_load_and_check(path: Path, default: Dataset) -> None:
    scenario = load_scenario(path)
    check_scenario(scenario, default, origin=path.name)
    assert scenario.name == path.stem


def test_fields_and_dates(tmp_path: Path) -> None:
    s = load_scenario(_write(tmp_path, GOOD))
    assert s.start == YearMonth(year=2025, month=1)
    assert str(s.end) == "2026-12"
    assert s.export_controls[0].start.index(s.start) == 3
    licence = load_scenario(EXAMPLES / "china-2025-licensing.yaml").export_controls[0].instrument
    assert isinstance(licence, Licence)
    # The April share is CALIBRATED (`chokepoint backtest --fit`; test_backtest checks the fit).
    assert licence.excluded_sectors == ["defence"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("kind: ban", "kind: embargo"), "field export_controls[0].instrument: Input tag 'embargo'"),
        (("start: 2025-04", "start: April"), "field export_controls[0].start: 'April': 'April' is not a month"),
        (
            ("horizon_months: 24", "horizon_months: many"),
            "field horizon_months: 'many': Input should be a valid integer",
        ),
        (("instrument: {kind: ban}", "instrument: {kind: licence, approval_share: 1.5}"), "approval_share: 1.5:"),
        (("targets: {countries: [USA]}", "targets: {}"), "give exactly one of countries or all_but"),
        (("name: ban", "nmae: ban"), "field export_controls[0].nmae: 'ban': is not a field"),
        (("controller: CHN", "controller: CHN: x"), "malformed YAML"),
    ],
)
def test_shape_errors_are_one_line(tmp_path: Path, edit: tuple[str, str], expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, GOOD.replace(*edit)))
    message = str(info.value)
    assert message.startswith("s.yaml")
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("controller: CHN", "controller: XYZ"), "field export_controls[0].controller: unknown region 'XYZ'"),
        (("[ndfeb_magnet]", "[unobtainium]"), "field export_controls[0].commodities: unknown commodity 'unobtainium'"),
        (("start: 2025-04", "start: 2030-01"), "2030-01 is outside the horizon 2025-01 to 2026-12"),
    ],
)
def test_dataset_errors_are_one_line(tmp_path: Path, default: Dataset, edit: tuple[str, str], expected: str) -> None:
    scenario = load_scenario(_write(tmp_path, GOOD.replace(*edit)))
    with pytest.raises(ScenarioError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        check_scenario(scenario, default, origin="s.yaml")


def test_contradictory_controls(tmp_path: Path, default: Dataset) -> None:
    twice = (
        GOOD
        + """  - name: licence
    controller: CHN
    commodities: [ndfeb_magnet, ree_oxide]
    targets: {all_but: [CHN]}
    instrument: {kind: licence, approval_share: 0.5}
    start: 2025-06
"""
    )
    with pytest.raises(ScenarioError, match="export controls 'ban' and 'licence' both control ndfeb_magnet"):
        check_scenario(load_scenario(_write(tmp_path, twice)), default)
    # the same two, one after the other, are fine
    check_scenario(
        load_scenario(_write(tmp_path, twice.replace("start: 2025-04", "start: 2025-04\n    end: 2025-05"))), default
    )


def test_missing_file_and_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "nope.yaml")
    with pytest.raises(ScenarioError, match="a scenario is a mapping of fields"):
        load_scenario(_write(tmp_path, "- just\n- a list\n"))


def test_scenario_reference_page_is_current() -> None:
    from chokepoint.scenario import scenario_markdown

    page = Path(__file__).resolve().parents[1] / "docs" / "scenarios.md"
    assert page.read_text(encoding="utf-8") == scenario_markdown(), (
        "run: chokepoint scenario-schema > docs/scenarios.md"
    )


def test_an_export_ratio_observation_names_its_exporter(tmp_path: Path) -> None:
    text = (
        GOOD
        + "observed:\n  - {role: validate, metric: export_ratio, commodity: ndfeb_magnet, period: 2025-05,"
        + " value: 0.26, source: s}\n"
    )
    with pytest.raises(ScenarioError, match=r"field observed\[0\]: export_ratio needs the exporting region"):
        load_scenario(_write(tmp_path, text))


def test_an_observation_without_a_role_is_refused_with_its_line(tmp_path: Path) -> None:
    # the default is refused, not guessed: a fitted observation scored as out of sample would flatter the model
    text = GOOD + (
        "observed:\n  - {role: validate, metric: price_index, commodity: ree_oxide, period: 2025-05, value: 2,"
        " source: s}\n"
        "  - {metric: price_index, commodity: ree_oxide, period: 2025-06, value: 2, source: s}\n"
    )
    line = text.splitlines().index(
        "  - {metric: price_index, commodity: ree_oxide, period: 2025-06, value: 2, source: s}"
    )
    with pytest.raises(
        ScenarioError,
        match=rf"^s\.yaml: field observed\[1\]: role is missing; mark it calibrate .* \(line {line + 1}\)$",
    ):
        load_scenario(_write(tmp_path, text))
    with pytest.raises(ScenarioError, match=r"observed\[0\]\.role: 'fit': Input should be 'calibrate' or 'validate'"):
        load_scenario(_write(tmp_path, text.replace("role: validate", "role: fit")))


def test_an_import_share_observation_names_importer_and_origin(tmp_path: Path, default: Dataset) -> None:
    bad = GOOD + (
        "observed:\n  - {role: validate, metric: import_share, commodity: ree_oxide, region: JPN, period: 2025-05,"
        " value: 0.6, source: s}\n"
    )
    with pytest.raises(ScenarioError, match=r"import_share needs the importing region and the origin"):
        load_scenario(_write(tmp_path, bad))
    late = GOOD + (
        "observed:\n  - {role: validate, metric: import_share, commodity: ree_oxide, region: JPN, origin: CHN,"
        " period: 2026-06,"
        " months: 12, value: 0.6, source: s}\n"
    )
    with pytest.raises(ScenarioError, match=r"observed\[0\]\.months: 12 months from 2026-06 run past the horizon end"):
        check_scenario(load_scenario(_write(tmp_path, late)), default, origin="s.yaml")


def test_a_price_floor_ending_before_it_starts_is_one_line(tmp_path: Path) -> None:
    text = (
        GOOD + "price_floors:\n  - {region: USA, commodity: ree_oxide, usd_per_kg: 110, start: 2026-01, end: 2025-06}\n"
    )
    with pytest.raises(ScenarioError, match=r"field price_floors\[0\]: end 2025-06 is before start 2026-01"):
        load_scenario(_write(tmp_path, text))


def test_an_uncertainty_range_upside_down_is_one_line(tmp_path: Path) -> None:
    text = GOOD + "uncertainty: {draws: 100, price_scarcity_exponent: [20, 5]}\n"
    with pytest.raises(
        ScenarioError, match=r"field uncertainty: .*price_scarcity_exponent: low 20.0 is above high 5.0"
    ):
        load_scenario(_write(tmp_path, text))


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("seed: 3\n", "seed is now uncertainty.seed"),
        (
            "projects:\n  - {name: p, region: USA, commodity: ree_oxide, capacity_t_per_yr: 100, start: 2025-01,"
            " learning_rate: 1.0}\n",
            "learning_rate: 1.0: Input should be less than 1",
        ),
        (
            "projects:\n  - {name: p, region: USA, commodity: ree_oxide, capacity_t_per_yr: 0, start: 2025-01}\n",
            "capacity_t_per_yr: 0: Input should be greater than or equal to 0.001",
        ),
    ],
)
def test_new_fields_are_checked_in_one_line(tmp_path: Path, extra: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, GOOD + extra))
    assert expected in str(info.value)
    assert "\n" not in str(info.value)
