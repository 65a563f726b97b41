"""Imports go one way: foundation → dataset → baseyear → network/scenario → analysis → simulation →
leverage → edges.

docs/architecture.md draws the same picture. A module may import its own layer and the layers below it;
the only upward imports allowed are the few convenience methods listed in ``UPWARD`` (a ``Run`` that can
write its own report), and those must be made inside the function, never at module level.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "chokepoint"

#: Top-level package or module → layer rank.
LAYERS: dict[str, int] = {
    **dict.fromkeys(["errors", "files", "yamlfile", "regions", "iomath", "schema"], 0),
    "dataset": 1,
    "baseyear": 2,
    **dict.fromkeys(["network", "scenario"], 3),
    **dict.fromkeys(["analysis", "foresight"], 4),
    "simulation": 5,
    **dict.fromkeys(["leverage", "backtesting", "sweeps"], 6),
    **dict.fromkeys(["report", "runfiles", "api"], 7),
    **dict.fromkeys(["cli", "__main__"], 8),
}

#: (importing unit, imported unit) pairs allowed upward, inside functions only.
UPWARD: set[tuple[str, str]] = {("simulation", "report"), ("simulation", "runfiles"), ("sweeps", "report")}


def _unit(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "chokepoint" else None


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported chokepoint unit, at module level?) for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module == "chokepoint":
            # ``from chokepoint import __version__`` reads the package root; only units count
            names = [f"chokepoint.{a.name}" for a in node.names if a.name in LAYERS]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            unit = _unit(name)
            if unit is not None:
                found.append((unit, id(node) in top))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p != SRC / "__init__.py")


def test_every_unit_has_a_layer() -> None:
    units = {p.relative_to(SRC).parts[0].removesuffix(".py") for p in _modules()}
    assert units <= set(LAYERS), f"give these a layer in tests/test_layers.py: {sorted(units - set(LAYERS))}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_go_one_way(path: Path) -> None:
    unit = path.relative_to(SRC).parts[0].removesuffix(".py")
    rank = LAYERS[unit]
    for imported, module_level in _imports(path):
        if LAYERS[imported] <= rank:
            continue
        allowed = (unit, imported) in UPWARD and not module_level
        assert allowed, (
            f"{path.relative_to(SRC)} (layer {rank}) imports chokepoint.{imported} (layer {LAYERS[imported]})"
        )
