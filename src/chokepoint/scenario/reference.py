"""The field-by-field reference of scenario files (``docs/scenarios.md``), generated from the models."""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from chokepoint.scenario import (
    Ban,
    Calibration,
    CapacityProject,
    ContentRule,
    DemandChange,
    Disruption,
    ExportControl,
    FittedParameter,
    Focus,
    Leakage,
    Licence,
    Observation,
    Offtake,
    Projection,
    Quota,
    Recycling,
    Scenario,
    Stockpile,
    Substitution,
    Targets,
    TechnologyBan,
    Uncertainty,
)
from chokepoint.scenario.uncertain import RankCorrelation, UncertainParameter

__all__ = ["models_markdown", "scenario_markdown"]


_SECTIONS: tuple[tuple[str, type[BaseModel]], ...] = (
    ("Scenario (top level)", Scenario),
    ("focus[]", Focus),
    ("projected_from", Projection),
    ("export_controls[]", ExportControl),
    ("targets", Targets),
    ("instrument: ban", Ban),
    ("instrument: licence", Licence),
    ("instrument: quota", Quota),
    ("instrument: technology_ban", TechnologyBan),
    ("instrument: content_rule", ContentRule),
    ("leakage[]", Leakage),
    ("disruptions[]", Disruption),
    ("demand[]", DemandChange),
    ("stockpiles[]", Stockpile),
    ("projects[]", CapacityProject),
    ("recycling[]", Recycling),
    ("substitution[]", Substitution),
    ("offtakes[]", Offtake),
    ("observed[]", Observation),
    ("calibration", Calibration),
    ("calibration.parameters[]", FittedParameter),
    ("uncertainty", Uncertainty),
    ("uncertainty.parameters[]", UncertainParameter),
    ("uncertainty.correlations[]", RankCorrelation),
)


_BOUNDS = (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"), ("min_length", "at least"))


def _type_name(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _type_name(args[0])
    if origin in (Union, UnionType):
        names = " or ".join(_type_name(a) for a in args if a is not type(None))
        return names + (" or none" if type(None) in args else "")
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}"
    if origin is Literal:
        return " or ".join(f"`{a}`" for a in args)
    return str(getattr(annotation, "__name__", annotation))


def scenario_markdown() -> str:
    """The field-by-field reference of scenario files (``docs/scenarios.md``), from the models."""
    intro = [
        "# Scenario files",
        "",
        "Generated from `src/chokepoint/scenario.py` by `chokepoint scenario-schema`; do not edit by hand.",
        "Units are in field names (`_t` tonnes, `_t_per_yr` tonnes per year, `_months` months); shares",
        "are fractions 0–1; dates are `YYYY-MM`. Unknown fields are errors. Example:",
        "`examples/scenarios/china-2025-licensing.yaml`.",
        "",
        "**Product groups.** Wherever a field names a commodity it may name a product group instead",
        "(`commodities.product_group`: the code statistics report under, e.g. `ree_oxide` for every",
        "separated oxide, `ndfeb_magnet` for every metal permanent magnet, HS 850511). The group is",
        "resolved to its members in one place (`chokepoint.scenario.groups.resolve_groups`) before the",
        "run: a list of commodities or a rate (a disruption's share, recycling and substitution rates,",
        "a price floor) applies to every member; a quantity (a stockpile's `stock_t` and",
        "`max_release_t_per_month`, a project's `capacity_t_per_yr` and `cost_usd`, an offtake's",
        "`quantity_t_per_yr`) is split at each member's base-year share of the group (`group_shares`:",
        "the item's region, else the world's), members without a share getting none. An `observed`",
        "figure on a group compares with the sum of its members' flows.",
        "",
    ]
    return models_markdown(intro, _SECTIONS)


def models_markdown(intro: list[str], sections: tuple[tuple[str, type[BaseModel]], ...]) -> str:
    """``intro`` then, per (title, model) section, the model's docstring and a table of its fields
    with type, bounds and default."""
    lines = list(intro)
    for title, model in sections:
        doc = " ".join((model.__doc__ or "").split())
        lines += (
            [f"## {title}", "", doc, "", "| field | type | default |", "|---|---|---|"]
            if doc
            else [
                f"## {title}",
                "",
                "| field | type | default |",
                "|---|---|---|",
            ]
        )
        for name, info in model.model_fields.items():
            kind = _type_name(info.annotation)
            bounds = [f"{sym} {getattr(m, attr)}" for m in info.metadata for attr, sym in _BOUNDS if hasattr(m, attr)]
            if bounds:
                kind += f" ({', '.join(bounds)})"
            default = "required" if info.is_required() else f"`{info.default!r}`"
            lines.append(f"| `{name}` | {kind} | {default} |")
        lines.append("")
    return "\n".join(lines)
