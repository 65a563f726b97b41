"""Fuzzing scenario and pathway files from their pydantic models (tests/fuzzing.py).

A generated valid file loads and passes the dataset checks (a sample also runs); the same file
with one value made impossible (non-finite, bool for a number, past a bound, unknown or mis-cased
code, reversed or out-of-horizon date, unknown key, missing field) is refused with one line that
starts with the file name, names that field (or the item holding it) and ends with its YAML line.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from chokepoint.cli import main
from chokepoint.dataset import Dataset, default_dataset
from chokepoint.dataset.groups import group_members
from chokepoint.leverage import LeverageError, load_dependences, simulated_losses
from chokepoint.leverage.files import load_pathway, shipped_pathways
from chokepoint.leverage.model import _METRICS, METRIC_BOUNDS, Pathway
from chokepoint.scenario import Scenario, ScenarioError, check_scenario, load_scenario
from chokepoint.scenario.checks import RARE_EARTH_ELEMENTS
from chokepoint.simulation import simulate
from tests.fuzzing import Context, bad_values, examples, leaf_at, leaves, model_strategy

START = "2025-01"
SLUG = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
#: Month fields check_scenario holds to the horizon: a recycling scheme or offtake may have begun
#: before the scenario starts, and any item may end after it.
IN_HORIZON = {"export_controls", "disruptions", "projects", "price_floors", "observed"}


@functools.cache
def _ds() -> Dataset:
    return default_dataset()


@functools.cache
def _vocab_cached() -> dict[str, Any]:
    return _vocab_of(_ds())


def _month(index: int) -> str:
    return f"{2025 + index // 12:04d}-{index % 12 + 1:02d}"


def _vocab() -> dict[str, Any]:
    return _vocab_cached()


def _vocab_of(ds: Dataset) -> dict[str, Any]:
    regions = sorted(ds["regions"].loc[ds["regions"]["kind"] == "country", "region_id"])
    commodities = sorted(ds["commodities"].loc[ds["commodities"]["material"] == "rare_earths", "commodity_id"])
    sectors = sorted(ds["sectors"]["sector_id"])
    names = ("controller", "countries", "all_but", "via", "region", "buyer", "seller", "origin", "outside")
    return {
        **dict.fromkeys(names, regions),
        **dict.fromkeys(("commodity", "commodities"), commodities),
        **dict.fromkeys(("sector", "excluded_sectors"), sectors),
        "elements": list(RARE_EARTH_ELEMENTS),
        "held_whole": sorted(g for g, ks in group_members(ds["commodities"]).items() if len(ks) > 1),
    }


# --------------------------------------------------------------------------- scenarios


def _ordered(raw: dict[str, Any]) -> dict[str, Any]:
    if raw.get("end") is not None and raw["end"] < raw["start"]:
        raw = raw | {"start": raw["end"], "end": raw["start"]}
    return raw


def _one_stock(raw: dict[str, Any]) -> dict[str, Any]:
    has = [k for k in ("stock_t", "months_of_demand") if raw.get(k) is not None]
    raw = {k: v for k, v in raw.items() if k not in ("stock_t", "months_of_demand")}
    return raw | ({"stock_t": 100.0} if not has else {has[0]: 100.0 if has[0] == "stock_t" else 2.0})


def _control(raw: dict[str, Any]) -> dict[str, Any]:
    # a group is held whole only among the control's own commodities
    raw = raw | {"held_whole": [g for g in raw.get("held_whole", []) if g in raw["commodities"]]}
    total = sum(leak["share"] for leak in raw.get("leakage", []))
    if total > 1:
        raw = raw | {"leakage": [leak | {"share": leak["share"] / total / 2} for leak in raw["leakage"]]}
    return _ordered(raw)


def _uncertainty(raw: dict[str, Any]) -> dict[str, Any]:
    for name in ("sourcing_adjustment", "sourcing_reversion"):
        if raw.get(name) is not None:
            raw = raw | {name: [min(v, 1.0) for v in raw[name]]}
    # a generated path names no field: declare one every scenario has uncertain, over its whole range
    uncertain = [{"path": "sourcing_reversion", "distribution": "uniform", "low": 0.0, "high": 1.0, "source": "f"}]
    return raw | {"parameters": uncertain if raw.get("parameters") else [], "correlations": []}


def _observation(horizon: int) -> Any:
    def repair(raw: dict[str, Any]) -> dict[str, Any]:
        if raw["metric"] != "price_index":
            raw = {k: v for k, v in raw.items() if k != "outside"} | {"region": raw.get("region") or "JPN"}
        elif raw.get("outside") is not None:
            raw = {k: v for k, v in raw.items() if k != "region"}  # a price outside a region names no market
        if raw["metric"] in ("import_share", "flow_ratio"):
            raw = raw | {"origin": raw.get("origin") or "CHN"}
        left = horizon - (int(raw["period"][:4]) - 2025) * 12 - int(raw["period"][5:]) + 1
        return raw | {"months": min(raw.get("months", 1), left)}

    return repair


def _calibration(raw: dict[str, Any]) -> dict[str, Any]:
    # a generated path names no field: fit one every scenario has, over its whole range
    return raw | {"parameters": [{"path": "sourcing_reversion", "lower": 0.0, "upper": 1.0}]}


def _calibrated(raw: dict[str, Any]) -> dict[str, Any]:
    """A calibration block needs a calibrate observation: mark the first one, or drop the block."""
    if raw.get("calibration") is None or any(o["role"] == "calibrate" for o in raw.get("observed", [])):
        return raw
    if not raw.get("observed"):
        return {k: v for k, v in raw.items() if k != "calibration"}
    return raw | {"observed": [raw["observed"][0] | {"role": "calibrate"}, *raw["observed"][1:]]}


def _scenario(raw: dict[str, Any]) -> dict[str, Any]:
    raw = _calibrated(raw)
    # two trade controls by one controller on one commodity overlapping in time contradict: keep the first
    seen: set[str] = set()
    kept = []
    for c in raw.get("export_controls", []):
        if c["instrument"]["kind"] == "technology_ban" or c["controller"] not in seen:
            kept.append(c)
            seen.add(c["controller"]) if c["instrument"]["kind"] != "technology_ban" else None
    return raw | {"export_controls": kept} if "export_controls" in raw else raw


#: Commodities with a 2024 price (prices.csv), which a price floor is paid against
PRICED = ("ndfeb_sintered", "ree_oxide_dy", "ree_oxide_nd", "ree_oxide_pr")


def _priced(raw: dict[str, Any]) -> dict[str, Any]:
    return raw if raw["commodity"] in PRICED else raw | {"commodity": "ree_oxide_nd"}


def scenarios(max_items: int = 2) -> st.SearchStrategy[dict[str, Any]]:
    """Valid scenario mappings (every list may hold up to ``max_items`` items)."""
    return st.integers(1, 24).flatmap(lambda horizon: _scenarios(horizon, max_items))


@functools.cache  # one strategy per horizon: building one costs more than drawing from it
def _scenarios(horizon: int, max_items: int) -> st.SearchStrategy[dict[str, Any]]:
    last_year = 2025 + (horizon - 1) // 12
    regions = _vocab()["region"]
    targets = st.one_of(
        st.fixed_dictionaries({"countries": st.lists(st.sampled_from(regions), min_size=1, max_size=3, unique=True)}),
        st.fixed_dictionaries({"all_but": st.lists(st.sampled_from(regions), max_size=3, unique=True)}),
    )
    ctx = Context(
        vocab=_vocab(),
        fixed={
            "name": SLUG,
            "datasets": st.just(["default"]),
            "material": st.just("rare_earths"),
            "base_year": st.just(2024),
            "start": st.integers(0, horizon - 1).map(_month),
            "horizon_months": st.just(horizon),
            "targets": targets,
            "draws": st.integers(2, 5),
            "multipliers.key": st.integers(2024, last_year),
            "priorities.key": st.sampled_from(_vocab()["sector"]),
        },
        months=st.integers(0, horizon - 1).map(_month),
        repairs={
            "ExportControl": _control,
            "Disruption": _ordered,
            "Offtake": _ordered,
            "PriceFloor": lambda raw: _ordered(_priced(raw)),
            "Stockpile": _one_stock,
            "Uncertainty": _uncertainty,
            "Observation": _observation(horizon),
            "Calibration": _calibration,
            "Scenario": _scenario,
        },
        # a projected base year costs a projection (~10 s) per draw: tests/test_outlook.py runs one
        skip=frozenset({"facility", "projected_from"}),
        max_items=max_items,
    )
    return model_strategy(Scenario, ctx).map(lambda raw: raw | {"start": START})


def _write(tmp_path: Path, raw: dict[str, Any], name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _loaded(path: Path) -> Scenario:
    scenario = load_scenario(path)
    check_scenario(scenario, _ds(), origin=path.name)
    return scenario


def _named(message: str) -> tuple[int | str, ...]:
    """The field path a refusal names, union tags dropped (``instrument.licence.x`` → ``instrument.x``)."""
    match = re.search(r"field (?:\(top level\): )?((?:[A-Za-z_]\w*|\[\d+\]|\.\w+)+):", message)
    if match is None:
        return ()
    parts = tuple(int(i) if i else n for i, n in re.findall(r"\[(\d+)\]|\.?(\w+)", match.group(1)))
    kinds = {"ban", "licence", "quota", "technology_ban", "content_rule"}
    return tuple(p for i, p in enumerate(parts) if not (i and parts[i - 1] == "instrument" and p in kinds))


def _names_it(named: tuple[int | str, ...], mutated: tuple[int | str, ...]) -> bool:
    """Whether the named path holds the mutated one: the same item, then a prefix of its field
    names (dataset checks name ``leakage.via`` for ``leakage[1].via``)."""
    head = 2 if len(named) > 1 and isinstance(named[1], int) else 1
    if named[:head] != mutated[:head]:
        return False
    rest = [p for p in named[head:] if isinstance(p, str)]
    held = [p for p in mutated[head:] if isinstance(p, str)]
    # a month's own parts (start.month) lie below the field that was given
    return rest[: len(held)] == held[: len(rest)] and set(rest[len(held) :]) <= {"year", "month"}


def _mutations(raw: dict[str, Any], model: type[Any], vocab: dict[str, Any]) -> list[tuple[tuple[Any, ...], str, Any]]:
    """Every single-value mutation of ``raw`` the schema forbids: (path, label, new value);
    the value ``_DROP`` removes the key."""
    out: list[tuple[tuple[Any, ...], str, Any]] = []
    before = {"outside (before)": ["2024-06"], "outside (after)": ["2031-01"]}
    for path in leaves(raw):
        leaf = leaf_at(model, raw, path, vocab)
        value = _get(raw, path)
        checked = leaf.kind == "month" and path[0] in IN_HORIZON and path[-1] in ("start", "period")
        months = before if checked else {}
        # element symbols are read in any case ('y' is Y): a swapped case is not a mistake there
        any_case = "elements" in path
        out += [
            (path, label, bad) for label, bad in bad_values(leaf, value, months) if not (any_case and label == "case")
        ]
        if leaf.kind == "model" and isinstance(value, dict):
            assert leaf.model is not None
            first = next(iter(leaf.model.model_fields))
            out.append(((*path, f"{first}x"), "unknown key", 1))
            out += [((*path, k), "missing", _DROP) for k, f in leaf.model.model_fields.items() if f.is_required()]
        if isinstance(value, dict) and value.get("end") is not None:
            start = value["start"]  # YYYY-MM in a scenario, a year in a pathway
            earlier = start - 1 if isinstance(start, int) else f"{int(start[:4]) - 1:04d}-{start[5:]}"
            out.append(((*path, "end"), "reversed", earlier))
    out.append((("namex",), "unknown key", 1))
    if model is Scenario:
        out += [(("name",), "folder", bad) for bad in ("", "../up", "/tmp/abs", "a b", ".")]
    if raw.get("priorities"):
        out.append((("priorities", "ZZZ9"), "unknown sector", 1.0))
    return out


_DROP = object()


def _get(raw: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        raw = raw[part]
    return raw


def _mutated(raw: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    node = _get(out, path[:-1])
    if value is _DROP:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


def _check_refusal(message: str, name: str, mutated: tuple[Any, ...], text: str) -> None:
    assert "\n" not in message
    assert message.startswith(f"{name}: "), message
    named = _named(message)
    assert named, message
    assert _names_it(named, mutated), (mutated, message)
    line = re.search(r"\(line (\d+)\)$", message)
    assert line is not None, message
    assert 1 <= int(line.group(1)) <= len(text.splitlines()), message


@examples(150)
@given(raw=scenarios())
def test_valid_scenarios_load_and_pass_the_checks(tmp_path: Path, raw: dict[str, Any]) -> None:
    assert _loaded(_write(tmp_path, raw)).name == raw["name"]


@examples(650)
@given(data=st.data())
def test_one_impossible_value_is_refused_naming_its_field_and_line(tmp_path: Path, data: st.DataObject) -> None:
    raw = data.draw(scenarios())
    path, _label, bad = data.draw(st.sampled_from(_mutations(raw, Scenario, _vocab())), label="mutation")
    file = _write(tmp_path, _mutated(raw, path, bad))
    with pytest.raises(ScenarioError) as info:
        _loaded(file)
    _check_refusal(str(info.value), "s.yaml", path, file.read_text(encoding="utf-8"))


@examples(12)
@given(raw=scenarios(max_items=1))
def test_a_sample_of_valid_scenarios_runs(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw = {k: v for k, v in raw.items() if k != "uncertainty"}  # Monte Carlo is its own test
    run = simulate(_ds(), _loaded(_write(tmp_path, raw)))
    peak, total = run.summary["peak_shortfall_pct"].to_numpy(), run.summary["cumulative_shortfall_t"].to_numpy()
    assert np.isfinite(peak).all()  # recovery_months may be NA: never short
    assert np.isfinite(total).all()
    assert (peak >= -1e-9).all()
    assert (peak <= 100 + 1e-6).all()
    assert (total >= -1e-9).all()


@examples(15)
@given(data=st.data())
def test_the_cli_refuses_a_sample_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: st.DataObject
) -> None:
    raw = data.draw(scenarios(max_items=1))
    path, _label, bad = data.draw(st.sampled_from(_mutations(raw, Scenario, _vocab())), label="mutation")
    file = _write(tmp_path, _mutated(raw, path, bad))
    capsys.readouterr()
    code = main(["simulate", str(file), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1, err
    assert err.startswith("chokepoint: error: s.yaml: "), err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- pathways


@functools.cache
def _dependences() -> tuple[tuple[str, str, str], ...]:
    rows = _ds()["leverage"]
    rows = rows[rows["year"] == 2024]
    return tuple(sorted(set(zip(rows["controller_id"], rows["target_id"], rows["domain"], strict=True))))


@functools.cache
def _losses() -> Any:
    """The simulated cutoff losses every generated pathway needs (rare earths, CHN→USA), once."""
    return simulated_losses(_ds(), [Pathway(name="all")])


def _pathway_vocab() -> dict[str, Any]:
    deps = _dependences()
    return {
        "controller": sorted({c for c, _, _ in deps}),
        "target": sorted({t for _, t, _ in deps}),
        "domain": sorted({d for _, _, d in deps}),
        "via": sorted({d for _, _, d in deps}),
        "metric": list(_METRICS),
    }


def _triple() -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(_dependences()).map(lambda d: {"controller": d[0], "target": d[1], "domain": d[2]})


def _denial() -> st.SearchStrategy[dict[str, Any]]:
    pairs = [(a, b) for a in _dependences() for b in _dependences() if a[:2] == b[:2] and a[2] != b[2]]
    return st.sampled_from(pairs).map(
        lambda p: {"controller": p[0][0], "target": p[0][1], "domain": p[0][2], "via": p[1][2]}
    )


def _assumption(raw: dict[str, Any]) -> dict[str, Any]:
    high = METRIC_BOUNDS[raw["metric"]][0]
    value = min(raw["value"], high)
    # a zero substitution time is refused by the model, and a zero simulated dependence has no
    # output at stake (refused as a missing downstream_output_usd)
    positive = raw["metric"] in ("substitution_years", "dependence_share")
    return raw | {"value": value if value > 0 or not positive else 0.5}


@functools.cache
def _shipped_assumptions() -> tuple[dict[str, Any], ...]:
    """The assumptions every shipped pathway makes (the dataset leaves some metrics to them)."""
    text = (shipped_pathways()[0]).read_text(encoding="utf-8")
    return tuple(yaml.safe_load(text)["assumptions"])


def _pathway(raw: dict[str, Any]) -> dict[str, Any]:
    raw = raw | {"assumptions": [*copy.deepcopy(_shipped_assumptions()), *raw.get("assumptions", [])]}
    first, years = raw.get("start_year", 2025), raw.get("horizon_years", 15)
    controls = []
    for c in raw.get("controls", []):
        start = first + (c["start"] - first) % years
        end = c.get("end")
        controls.append(c | {"start": start} | ({} if end is None else {"end": max(end, start)}))
    return raw | ({"controls": controls} if "controls" in raw else {})


@functools.cache
def pathways() -> st.SearchStrategy[dict[str, Any]]:
    """Valid pathway mappings on the dataset's 2024 dependences."""
    ctx = Context(
        vocab=_pathway_vocab(),
        fixed={"start_year": st.just(2025), "data_year": st.just(2024), "horizon_years": st.integers(1, 15)},
        repairs={"Assumption": _assumption, "Pathway": _pathway},
        joint={"PathwayControl": _triple(), "Denial": _denial(), "Assumption": _triple()},
    )
    return model_strategy(Pathway, ctx)


def _pathway_loaded(path: Path) -> Pathway:
    pathway = load_pathway(path)
    load_dependences(_ds(), pathway, losses=_losses())
    return pathway


@examples(150)
@given(raw=pathways())
def test_valid_pathways_load_and_name_known_dependences(tmp_path: Path, raw: dict[str, Any]) -> None:
    assert _pathway_loaded(_write(tmp_path, raw, "p.yaml")).name == raw["name"]


@examples(300)
@given(data=st.data())
def test_one_impossible_pathway_value_is_refused_naming_its_field_and_line(tmp_path: Path, data: st.DataObject) -> None:
    raw = data.draw(pathways())
    choices = [
        (path, label, bad)
        for path, label, bad in _mutations(raw, Pathway, _pathway_vocab())
        # an assumption on a new dependence is allowed (it is how a pathway adds one)
        if not (path[0] == "assumptions" and path[-1] in ("controller", "target", "domain"))
    ]
    path, _label, bad = data.draw(st.sampled_from(choices), label="mutation")
    file = _write(tmp_path, _mutated(raw, path, bad), "p.yaml")
    with pytest.raises(LeverageError) as info:
        _pathway_loaded(file)
    message = str(info.value)
    if not message.startswith("p.yaml: "):  # refused against the data: named by the pathway's name
        message = "p.yaml: field " + message.split(": ", 1)[1].replace(" (p.yaml line", " (line")
        # a control on an unknown controller or target is refused as an unknown dependence (its domain)
        if path[-1] in ("controller", "target"):
            path = (*path[:2], "domain")
    _check_refusal(message, "p.yaml", path, file.read_text(encoding="utf-8"))
