"""Put fitted values back into a scenario file in place: each value's text is replaced where the
file writes it, so comments, key order, flow style and every other byte stay as they were."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from chokepoint.errors import ChokepointError
from chokepoint.files import atomic_file
from chokepoint.scenario import ScenarioError, load_scenario
from chokepoint.scenario.calibration import parameter_location, value_at

__all__ = ["write_fitted"]


def _value_span(text: str, path: str) -> tuple[int, int]:
    """Character offsets of the scalar the file writes at ``path``."""
    node: yaml.Node | None = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    for part in parameter_location(path):
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            found = [v for k, v in node.value if k.value == part]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            found = [node.value[part]]
        else:
            found = []
        if not found:
            raise ChokepointError(
                f"{path}: the file does not write this value (it takes its default); "
                "add it to the file, then write again"
            )
        node = found[0]
    if not isinstance(node, yaml.ScalarNode):
        raise ChokepointError(f"{path}: the file writes no single number there")
    return node.start_mark.index, node.end_mark.index


def write_fitted(path: Path | str, values: dict[str, float]) -> Path:
    """Rewrite only the values at ``values``' paths in the scenario file ``path``, atomically (a
    temporary file in the same folder replaces it, so a failure leaves the old file whole); the
    result is read back and must hold exactly ``values``. Returns the path."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    spans = sorted(((*_value_span(text, p), f"{v:.10g}") for p, v in values.items()), reverse=True)
    for start, end, new in spans:  # from the end, so earlier offsets stay valid
        text = text[:start] + new + text[end:]
    mode = path.stat().st_mode & 0o7777
    with atomic_file(path) as temp:  # the project's one atomic replace (files.py)
        temp.write_text(text, encoding="utf-8")
        os.chmod(temp, mode)  # a user's file keeps its mode, not the umask's
        written = load_scenario(temp).model_dump()
        wrong = [p for p, v in values.items() if value_at(written, p) != v]
        if wrong:
            raise ScenarioError(f"{path.name}: writing {wrong[0]} did not give the fitted value; file left unchanged")
    return path
