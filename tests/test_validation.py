"""Scenario and pathway files refuse every impossible value in one line naming file, field and value:
non-finite and overflowing numbers, true/false as a number, reversed periods, years outside the
horizon, unknown or lower-case element codes, misspelt pathway metrics and domains, shares above 1."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from chokepoint.dataset import Dataset
from chokepoint.leverage import LeverageError, load_dependences
from chokepoint.leverage.files import load_pathway, pathway_markdown, shipped_pathways
from chokepoint.scenario import ScenarioError, check_scenario, load_scenario

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "scenarios"


def _base() -> dict[str, Any]:
    """A scenario with one item of every kind (the MP Materials example, plus the rest)."""
    raw = yaml.safe_load((EXAMPLES / "us-mp-materials.yaml").read_text(encoding="utf-8"))
    raw["name"] = "s"
    raw["disruptions"] = [
        {
            "name": "d",
            "region": "MMR",
            "commodity": "ree_concentrate",
            "share": 1.0,
            "start": "2025-10",
            "end": "2026-09",
        }
    ]
    raw["demand"] = [{"sector": "defence", "region": "WLD", "multipliers": {2025: 1.0, 2030: 1.5}}]
    raw["stockpiles"] = [{"region": "JPN", "commodity": "ree_oxide", "stock_t": 500.0}]
    raw["recycling"] = [
        {
            "region": "JPN",
            "commodity": "ndfeb_magnet",
            "collection_rate": 0.05,
            "recovery_rate": 0.9,
            "start": "2026-01",
        }
    ]
    raw["substitution"] = [
        {"name": "w", "sector": "wind", "commodity": "ndfeb_magnet", "price_elasticity": -0.1, "ceiling": 0.1}
    ]
    raw["uncertainty"] = {"draws": 10, "seed": 1}
    return raw


def _set(raw: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    """A copy of ``raw`` with the dotted ``path`` (``projects.0.capacity_t_per_yr``) set to ``value``."""
    out = copy.deepcopy(raw)
    *parents, last = path.split(".")
    node: Any = out
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(last) if last.isdigit() else last] = value
    return out


def _refusal(tmp_path: Path, raw: dict[str, Any], default: Dataset) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        check_scenario(load_scenario(path), default, origin=path.name)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("s.yaml: field ")
    return message


def _where(path: str) -> str:
    parts = path.split(".")
    where = parts[0] + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts[1:])
    # pydantic names the instrument kind in the path of a discriminated union
    return where.replace("instrument.", "instrument.technology_ban.")


def test_the_base_scenario_is_valid(tmp_path: Path, default: Dataset) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(_base(), sort_keys=False), encoding="utf-8")
    check_scenario(load_scenario(path), default, origin=path.name)


NUMBERS = [
    "price_scarcity_exponent",
    "capacity_utilisation",
    "sourcing_adjustment",
    "priorities.defence",
    "projects.0.capacity_t_per_yr",
    "projects.0.cost_usd",
    "offtakes.0.quantity_t_per_yr",
    "price_floors.0.usd_per_kg",
    "price_floors.0.covered_share",
    "disruptions.0.share",
    "demand.0.multipliers.2030",
    "stockpiles.0.stock_t",
    "recycling.0.collection_rate",
    "substitution.0.price_elasticity",
    "export_controls.1.instrument.ramp_slowdown",
    "observed.0.value",
]


@pytest.mark.parametrize("field", NUMBERS)
@pytest.mark.parametrize(
    ("value", "says"),
    [
        (float("inf"), "finite number"),
        (float("-inf"), "finite number"),
        (float("nan"), "finite number"),
        (True, "true/false is not a number"),
    ],
    ids=["inf", "-inf", "nan", "bool"],
)
def test_non_finite_and_bool_numbers_are_refused(
    tmp_path: Path, default: Dataset, field: str, value: object, says: str
) -> None:
    raw = _base()
    if field.startswith("observed"):
        raw["observed"] = [
            {
                "role": "validate",
                "metric": "price_index",
                "commodity": "ree_oxide",
                "period": "2026-01",
                "value": 1.0,
                "source": "x",
            }
        ]
    message = _refusal(tmp_path, _set(raw, field, value), default)
    assert f"field {_where(field)}: " in message
    assert says in message


@pytest.mark.parametrize("field", [f for f in NUMBERS if f != "observed.0.value"])
def test_overflowing_numbers_meet_a_ceiling(tmp_path: Path, default: Dataset, field: str) -> None:
    value = -1e308 if field == "substitution.0.price_elasticity" else 1e308
    message = _refusal(tmp_path, _set(_base(), field, value), default)
    assert f"field {_where(field)}: 1e+308: Input should be less than or equal to" in message or (
        "greater than or equal to" in message
    )


@pytest.mark.parametrize(
    "field", ["horizon_months", "projects.0.ramp_months", "projects.0.permitting_delay_months", "uncertainty.draws"]
)
def test_bool_is_not_a_whole_number(tmp_path: Path, default: Dataset, field: str) -> None:
    message = _refusal(tmp_path, _set(_base(), field, True), default)
    assert f"field {_where(field)}: True: true/false is not a number" in message


def test_exponent_without_sign_still_reads_as_a_number(tmp_path: Path, default: Dataset) -> None:
    # PyYAML reads 1.0e9 as text; the shipped MP Materials file writes costs that way
    raw = _set(_base(), "projects.0.cost_usd", "1.0e9")
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    assert load_scenario(path).projects[0].cost_usd == 1e9
    message = _refusal(tmp_path, _set(_base(), "projects.0.cost_usd", "inf"), default)
    assert "field projects[0].cost_usd: 'inf': Input should be a valid number" in message


@pytest.mark.parametrize("item", ["disruptions.0", "offtakes.0", "price_floors.0", "export_controls.0"])
def test_a_period_that_ends_before_it_starts_is_refused(tmp_path: Path, default: Dataset, item: str) -> None:
    raw = _set(_set(_base(), f"{item}.start", "2027-06"), f"{item}.end", "2026-01")
    message = _refusal(tmp_path, raw, default)
    assert f"field {_where(item)}: end 2026-01 is before start 2027-06" in message


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("demand.0.multipliers", {1800: 1.0}, "year 1800 is outside the base year and horizon 2024 to 2034"),
        ("demand.0.multipliers", {2024: 1.0, 2090: 2.0}, "year 2090 is outside"),
        ("disruptions.0.start", "1800-01", "Input should be greater than or equal to 1950"),
        ("base_year", 20240, "Input should be less than or equal to 2200"),
        ("projects.0.start", "2040-01", "2040-01 is outside the horizon 2025-01 to 2034-12"),
    ],
)
def test_years_outside_the_horizon_are_refused(
    tmp_path: Path, default: Dataset, field: str, value: object, says: str
) -> None:
    assert says in _refusal(tmp_path, _set(_base(), field, value), default)


@pytest.mark.parametrize(
    ("elements", "says"),
    [
        (["Dz", "Tb"], "unknown element symbol 'Dz'; did you mean 'Dy'?"),
        (["Dysprosium"], "unknown element symbol 'Dysprosium'"),
        (["Xx"], "unknown element symbol 'Xx'"),
    ],
)
def test_unknown_elements_are_refused(tmp_path: Path, default: Dataset, elements: list[str], says: str) -> None:
    raw = _set(_base(), "export_controls.0.elements", elements)
    message = _refusal(tmp_path, raw, default)
    assert "field export_controls[0].elements: " in message
    assert says in message


def test_element_symbols_match_in_any_case(tmp_path: Path, default: Dataset) -> None:
    path = tmp_path / "s.yaml"
    raw = _set(_base(), "export_controls.0.elements", ["dy", "TB", "Ga"])  # Ga: any material's element
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    check_scenario(load_scenario(path), default, origin=path.name)


def test_misspelt_codes_get_a_suggestion(tmp_path: Path, default: Dataset) -> None:
    message = _refusal(tmp_path, _set(_base(), "disruptions.0.commodity", "ree_concentrat"), default)
    assert "unknown commodity 'ree_concentrat'; did you mean 'ree_concentrate'?" in message
    message = _refusal(tmp_path, _set(_base(), "disruptions.0.region", "mmr"), default)
    assert "did you mean 'MMR'?" in message


@pytest.mark.parametrize(
    "field",
    ["disruptions.0.share", "price_floors.0.covered_share", "recycling.0.recovery_rate", "sourcing_reversion"],
)
def test_shares_above_one_are_refused(tmp_path: Path, default: Dataset, field: str) -> None:
    message = _refusal(tmp_path, _set(_base(), field, 5), default)
    assert f"field {_where(field)}: 5: Input should be less than or equal to 1" in message


# --- pathways -------------------------------------------------------------------------------------

PATHWAY = """
name: p
controls:
  - {controller: USA, target: CHN, domain: ai_chips, coverage: 0.5, start: 2025, end: 2026}
assumptions:
  - {controller: USA, target: CHN, domain: ai_chips, metric: market_ceded_share, value: 0.05, rationale: x}
"""


def _pathway_refusal(tmp_path: Path, text: str) -> str:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LeverageError) as info:
        load_pathway(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("p.yaml: field ")
    return message


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (("coverage: 0.5", "coverage: .inf"), "field controls[0].coverage: inf: Input should be a finite number"),
        (("coverage: 0.5", "coverage: .nan"), "Input should be a finite number"),
        (("coverage: 0.5", "coverage: true"), "field controls[0].coverage: True: true/false is not a number"),
        (("coverage: 0.5", "coverage: 5"), "field controls[0].coverage: 5: Input should be less than or equal to 1"),
        (("value: 0.05", "value: .inf"), "field assumptions[0].value: inf: Input should be a finite number"),
        (("metric: market_ceded_share", "metric: dependance_share"), "did you mean 'dependence_share'?"),
        (("metric: market_ceded_share, value: 0.05", "metric: leakage_share, value: 5"), "leakage_share 5.0 must be"),
        (("metric: market_ceded_share, value: 0.05", "metric: substitution_years, value: 0"), "above 0"),
        (("start: 2025, end: 2026", "start: 2027, end: 2026"), "end 2026 is before start 2027"),
        (("start: 2025, end: 2026", "start: 1800"), "field controls[0].start: 1800: Input should be greater"),
        (("start: 2025, end: 2026", "start: 2045"), "start 2045 is outside the horizon 2025 to 2039"),
        (("name: p", "name: p\ndiscount_rate: 1e308"), "field discount_rate: '1e308': Input should be less"),
        (("name: p", "name: p\nhorizon_years: true"), "field horizon_years: True: true/false is not a number"),
        (("name: p", "name: p\nbaseline_effort: 1.5"), "field baseline_effort: 1.5: Input should be less"),
    ],
)
def test_bad_pathway_values_are_one_line(tmp_path: Path, edit: tuple[str, str], says: str) -> None:
    assert edit[0] in PATHWAY
    assert says in _pathway_refusal(tmp_path, PATHWAY.replace(*edit, 1))


def test_unknown_pathway_fields_point_to_a_page_that_exists(tmp_path: Path) -> None:
    message = _pathway_refusal(tmp_path, PATHWAY.replace("name: p", "name: p\nleakage: 0.1"))
    page = message.split("against ")[-1].split(";")[0].split(" ")[0]
    assert (Path(__file__).resolve().parents[1] / page).is_file(), page


@pytest.mark.parametrize("domain", ["frontier-ai", "Frontier_AI", "ai_chip"])
def test_a_control_on_an_unknown_domain_is_refused(tmp_path: Path, default: Dataset, domain: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(PATHWAY.replace("domain: ai_chips, coverage", f"domain: {domain}, coverage"), encoding="utf-8")
    pathway = load_pathway(path)
    with pytest.raises(LeverageError, match=r"controls\[0\]\.domain: no dependence USA→CHN") as info:
        load_dependences(default, pathway, losses={})
    assert "did you mean" in str(info.value)


@pytest.mark.parametrize("path", shipped_pathways(), ids=lambda p: p.stem)
def test_shipped_pathways_still_load(path: Path) -> None:
    assert load_pathway(path).name == path.stem


def test_pathway_reference_page_is_current() -> None:
    page = Path(__file__).resolve().parents[1] / "docs" / "pathways.md"
    assert page.read_text(encoding="utf-8") == pathway_markdown()


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "name: p\ncontrols:\n  - {controller: USA, target: CHN, domain: ai_chips,\n"
            "     coverage: .inf, start: 2025}\n",
            4,
        ),
        ("name: p\n\n\ncoercion_share: true\n", 4),
        (
            "name: p\nassumptions:\n  - {controller: USA, target: CHN, domain: ai_chips,\n"
            "     metric: dependance_share, value: 1, rationale: x}\n",
            4,
        ),
    ],
)
def test_a_refusal_names_the_line(tmp_path: Path, text: str, line: int) -> None:
    assert _pathway_refusal(tmp_path, text).endswith(f"(line {line})")


def test_a_scenario_refusal_names_the_line_inside_an_instrument(tmp_path: Path) -> None:
    text = (EXAMPLES / "us-mp-materials.yaml").read_text(encoding="utf-8")
    number = next(i for i, row in enumerate(text.splitlines(), 1) if "ramp_slowdown: 1.5" in row)
    path = tmp_path / "s.yaml"
    path.write_text(text.replace("ramp_slowdown: 1.5", "ramp_slowdown: .inf"), encoding="utf-8")
    with pytest.raises(ScenarioError, match=rf"ramp_slowdown: inf: .*finite.*\(line {number}\)$"):
        load_scenario(path)
