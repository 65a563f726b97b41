"""Hypothesis strategies built from the schemas: pydantic models (scenario and pathway files) and
the table schemas, both valid inputs and single mutations that must be refused.

A model is read field by field (type, bounds, literals, nested models, discriminated unions);
code fields draw from a vocabulary keyed by field name, and a few cross-field rules the models
check in validators (ordered periods, exactly-one-of pairs, shares adding up to at most 1) are
restored by per-model repairs, so a generated "valid" input is valid by construction. A mutation
changes one value at a known path into one the schema forbids, so the refusal can be checked to
name that path.

``--fuzz`` (tests/conftest.py) multiplies every example count here by :data:`FACTOR`.
"""

from __future__ import annotations

import functools
import math
import os
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union

import annotated_types as at
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

#: Examples multiply by this under ``pytest --fuzz`` (the conftest sets the variable).
FACTOR = int(os.environ.get("CHOKEPOINT_FUZZ_FACTOR", "1"))


def examples(n: int) -> Any:
    """Hypothesis settings for ``n`` examples (×FACTOR under --fuzz), no deadline, no database.
    Without --fuzz the examples are derandomised: CI runs the same ones every time, so a red run
    is reproducible and never a coin toss; --fuzz explores new ones (and found the noise bug in
    ``responses._resource``)."""
    return settings(
        max_examples=n * FACTOR,
        derandomize=FACTOR == 1,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


Path_ = tuple[int | str, ...]


@dataclass(frozen=True)
class Leaf:
    """What the schema says about one value."""

    kind: str  # number whole text code literal month list dict model union optional tuple
    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple[Any, ...] = ()
    items: tuple[Leaf, ...] = ()
    model: type[BaseModel] | None = None
    min_len: int = 0
    name: str = ""


def _bounds(metadata: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in metadata:
        if isinstance(m, FieldInfo):
            out |= _bounds(list(m.metadata))
        elif isinstance(m, at.Ge):
            out["lo"] = float(m.ge)  # type: ignore[arg-type]
        elif isinstance(m, at.Gt):
            out["lo"], out["lo_open"] = float(m.gt), True  # type: ignore[arg-type]
        elif isinstance(m, at.Le):
            out["hi"] = float(m.le)  # type: ignore[arg-type]
        elif isinstance(m, at.Lt):
            out["hi"], out["hi_open"] = float(m.lt), True  # type: ignore[arg-type]
        elif isinstance(m, at.MinLen):
            out["min_len"] = m.min_length
    return out


def describe(annotation: Any, metadata: list[Any], name: str, vocab: Mapping[str, Any] | frozenset[str]) -> Leaf:
    """The :class:`Leaf` of a field ``name`` with this annotation (as pydantic holds it)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        return describe(base, [*metadata, *extra], name, vocab)
    bounds = _bounds(metadata)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) < len(typing.get_args(annotation)):  # X | None
            inner = args[0] if len(args) == 1 else Union[tuple(args)]  # noqa: UP007
            return Leaf("optional", items=(describe(inner, metadata, name, vocab),), name=name)
        return Leaf("union", items=tuple(describe(a, [], name, vocab) for a in args), name=name)
    if origin is Literal:
        return Leaf("literal", choices=typing.get_args(annotation), name=name)
    if origin is list:
        (item,) = typing.get_args(annotation)
        return Leaf("list", items=(describe(item, [], name, vocab),), min_len=bounds.get("min_len", 0), name=name)
    if origin is dict:
        key, value = typing.get_args(annotation)
        return Leaf("dict", items=(describe(key, [], name, vocab), describe(value, [], name, vocab)), name=name)
    if origin is tuple:
        return Leaf("tuple", items=tuple(describe(a, [], name, vocab) for a in typing.get_args(annotation)), name=name)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        kind = "month" if annotation.__name__ == "YearMonth" else "model"
        return Leaf(kind, model=annotation, name=name)
    if annotation is float:
        return Leaf("number", name=name, **{k: v for k, v in bounds.items() if k != "min_len"})
    if annotation is int:
        return Leaf("whole", name=name, **{k: v for k, v in bounds.items() if k != "min_len"})
    if annotation is str:
        return Leaf("code" if name in vocab else "text", name=name)
    raise TypeError(f"no strategy for {annotation!r} ({name})")


def fields_of(model: type[BaseModel], vocab: Mapping[str, Any]) -> dict[str, tuple[Leaf, FieldInfo]]:
    """Each field of ``model``: its :class:`Leaf` and pydantic's FieldInfo."""
    return _fields(model, frozenset(vocab))


@functools.cache
def _fields(model: type[BaseModel], codes: frozenset[str]) -> dict[str, tuple[Leaf, FieldInfo]]:
    return {n: (describe(f.annotation, list(f.metadata), n, codes), f) for n, f in model.model_fields.items()}


@dataclass
class Context:
    """What a generator needs beyond the model: code vocabularies (field name → values, or a
    strategy), fixed fields, months in the horizon, per-model repairs and joint draws."""

    vocab: Mapping[str, Any]
    fixed: Mapping[str, st.SearchStrategy[Any]] = field(default_factory=dict)
    months: st.SearchStrategy[str] = field(default_factory=lambda: st.just("2025-01"))
    repairs: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]] = field(default_factory=dict)
    joint: Mapping[str, st.SearchStrategy[dict[str, Any]]] = field(default_factory=dict)
    skip: frozenset[str] = frozenset()
    max_items: int = 2


def _number(leaf: Leaf) -> st.SearchStrategy[float]:
    lo = leaf.lo if math.isfinite(leaf.lo) else -1e6
    hi = leaf.hi if math.isfinite(leaf.hi) else 1e6
    hi = min(hi, max(lo, 0.0) + 1e6)  # tonnages near 1e12 are valid but make no interesting runs
    return st.floats(lo, hi, exclude_min=leaf.lo_open, exclude_max=leaf.hi_open, allow_nan=False)


def strategy(leaf: Leaf, ctx: Context) -> st.SearchStrategy[Any]:
    """Valid values for ``leaf``."""
    if leaf.name in ctx.fixed:
        return ctx.fixed[leaf.name]
    if leaf.kind == "number":
        return _number(leaf)
    if leaf.kind == "whole":
        lo = int(leaf.lo) if math.isfinite(leaf.lo) else -1000
        return st.integers(lo, int(min(leaf.hi, lo + 1000)) if math.isfinite(leaf.hi) else lo + 1000)
    if leaf.kind == "code":
        known = ctx.vocab[leaf.name]
        return known if isinstance(known, st.SearchStrategy) else st.sampled_from(list(known))
    if leaf.kind == "text":
        return st.text(st.characters(codec="utf-8", categories=("L", "N", "Zs")), max_size=12)
    if leaf.kind == "literal":
        return st.sampled_from(leaf.choices)
    if leaf.kind == "month":
        return ctx.months
    if leaf.kind == "optional":
        return st.one_of(st.none(), strategy(leaf.items[0], ctx))
    if leaf.kind == "union":
        return st.one_of(*(strategy(i, ctx) for i in leaf.items))
    if leaf.kind == "tuple":
        return st.tuples(*(strategy(i, ctx) for i in leaf.items)).map(lambda t: sorted(t))
    if leaf.kind == "list":
        unique = leaf.items[0].kind in ("code",)
        item = strategy(leaf.items[0], ctx)
        return st.lists(item, min_size=leaf.min_len, max_size=max(leaf.min_len, ctx.max_items), unique=unique)
    if leaf.kind == "dict":
        key = ctx.fixed.get(f"{leaf.name}.key")
        key = strategy(leaf.items[0], ctx) if key is None else key
        return st.dictionaries(key, strategy(leaf.items[1], ctx), min_size=1, max_size=3)
    assert leaf.model is not None
    return model_strategy(leaf.model, ctx)


def model_strategy(model: type[BaseModel], ctx: Context) -> st.SearchStrategy[dict[str, Any]]:
    """Valid mappings for ``model``: required fields always, optional ones sometimes."""
    required, optional = {}, {}
    for name, (leaf, info) in fields_of(model, ctx.vocab).items():
        if name in ctx.skip:
            continue
        (required if info.is_required() or name in ctx.fixed else optional)[name] = strategy(leaf, ctx)
    draw = st.fixed_dictionaries(required, optional=optional)
    if model.__name__ in ctx.joint:
        draw = st.tuples(draw, ctx.joint[model.__name__]).map(lambda pair: pair[0] | pair[1])
    repair = ctx.repairs.get(model.__name__)
    return draw.map(repair) if repair else draw


# --------------------------------------------------------------------------- mutations


def leaf_at(model: type[BaseModel], raw: Any, path: Path_, vocab: Mapping[str, Any]) -> Leaf:
    """The schema's :class:`Leaf` for the value at ``path`` of the valid mapping ``raw``."""
    leaf = Leaf("model", model=model)
    node = raw
    for part in path:
        while leaf.kind in ("optional", "union"):
            leaf = _pick(leaf, node)
        if leaf.kind == "model":
            assert leaf.model is not None
            leaf = fields_of(leaf.model, vocab)[str(part)][0]
        elif leaf.kind in ("list", "tuple"):
            leaf = leaf.items[0] if leaf.kind == "list" else leaf.items[int(part)]
        elif leaf.kind == "dict":
            leaf = leaf.items[1]
        node = node[part]
    while leaf.kind in ("optional", "union"):
        leaf = _pick(leaf, node)
    return leaf


def _pick(leaf: Leaf, node: Any) -> Leaf:
    """The member of a union (or optional) that ``node`` is."""
    if leaf.kind == "optional":
        return leaf.items[0]
    kind = node.get("kind") if isinstance(node, dict) else None
    for item in leaf.items:
        if item.model is not None and kind in typing.get_args(item.model.model_fields["kind"].annotation):
            return item
    return leaf.items[0]


def leaves(raw: Any, path: Path_ = ()) -> list[Path_]:
    """Every path in ``raw`` to a value (mappings and lists included, for structural mutations)."""
    out = [path] if path else []
    if isinstance(raw, dict):
        for key, value in raw.items():
            out += leaves(value, (*path, key))
    elif isinstance(raw, list):
        for i, value in enumerate(raw):
            out += leaves(value, (*path, i))
    return out


def bad_values(leaf: Leaf, value: Any, months: Mapping[str, list[str]]) -> list[tuple[str, Any]]:
    """Values the schema forbids at a field like ``leaf`` (now holding ``value``), with a label."""
    out: list[tuple[str, Any]] = []
    if leaf.kind in ("number", "whole"):
        out += [("inf", math.inf), ("-inf", -math.inf), ("nan", math.nan), ("bool", True), ("text", "1.5")]
        if math.isfinite(leaf.hi):
            out.append(("above", leaf.hi + 1 if leaf.kind == "whole" else leaf.hi * 2 + 1))
        if math.isfinite(leaf.lo):
            out.append(("below", leaf.lo - (1 if leaf.kind == "whole" else max(1.0, abs(leaf.lo)))))
        if leaf.kind == "number" and leaf.hi < 1e308:
            out.append(("1e308", 1e308))
        if leaf.kind == "whole":
            out.append(("fraction", 2.5))
    elif leaf.kind == "code":
        out += [("unknown", "ZZZ9"), ("number", 5)]
        if isinstance(value, str) and value.swapcase() != value:
            out.append(("case", value.swapcase()))
    elif leaf.kind == "text":
        out.append(("number", 5))
    elif leaf.kind == "literal":
        out += [("unknown", f"{value}_x"), ("number", 5)]
    elif leaf.kind == "month":
        out += [("month 13", "2025-13"), ("year 1800", "1800-01"), ("bare year", 2025), ("five digits", "20250-01")]
        out += [(label, m) for label, ms in months.items() for m in ms]
    elif leaf.kind == "list":
        out.append(("not a list", 5))
        if leaf.min_len:
            out.append(("empty", []))
    elif leaf.kind == "model":
        out += [("not a mapping", 5)]
    return out
