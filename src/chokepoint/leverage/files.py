"""Pathway files: reading one, the shipped ones, and finding one by name or path."""

from __future__ import annotations

from pathlib import Path

from chokepoint.leverage.model import METRIC_BOUNDS, Assumption, Denial, LeverageError, Pathway, PathwayControl
from chokepoint.scenario.reference import models_markdown
from chokepoint.yamlfile import load_yaml_model

__all__ = ["PATHWAYS_DIR", "find_pathway", "load_pathway", "pathway_markdown", "shipped_pathways"]


def load_pathway(path: Path | str) -> Pathway:
    """Read and validate a pathway file (one-line :class:`LeverageError` for any problem)."""
    return load_yaml_model(path, Pathway, LeverageError, "pathway")


#: The pathway files shipped with the package (copy one to edit it; ``chokepoint leverage pathways``).
PATHWAYS_DIR = Path(__file__).resolve().parents[1] / "pathways"


def shipped_pathways() -> list[Path]:
    """The shipped pathway files, in name order."""
    return sorted(PATHWAYS_DIR.glob("*.yaml"))


def find_pathway(name_or_path: str | Path) -> Pathway:
    """A shipped pathway by name (``calibrated-engagement``), or a pathway YAML file by path."""
    text = str(name_or_path)
    path = Path(text)
    if path.suffix in {".yaml", ".yml"} or path.parent != Path(".") or path.is_file():
        return load_pathway(path)
    for candidate in shipped_pathways():
        if candidate.stem == text:
            return load_pathway(candidate)
    names = ", ".join(p.stem for p in shipped_pathways()) or "none found"
    raise LeverageError(f"unknown pathway {text!r}; shipped pathways: {names}; or give the path to a YAML file")


def pathway_markdown() -> str:
    """The field-by-field reference of pathway files (``docs/pathways.md``), from the models."""
    intro = [
        "# Pathway files",
        "",
        "Generated from `src/chokepoint/leverage/model.py` by `chokepoint.leverage.files.pathway_markdown()`;",
        "do not edit by hand. Years are calendar years; shares are fractions 0–1; every number is finite.",
        "Unknown fields are errors. The model is in `docs/leverage.md`; examples: `chokepoint leverage pathways`.",
        "An assumption's `metric` is one of these, its `value` at most the ceiling shown:",
        "",
        *(f"- `{metric}` ≤ {high:g} ({why})" for metric, (high, why) in METRIC_BOUNDS.items()),
        "",
    ]
    sections = (("Pathway (top level)", Pathway), ("controls[]", PathwayControl), ("denials[]", Denial))
    return models_markdown(intro, (*sections, ("assumptions[]", Assumption)))
