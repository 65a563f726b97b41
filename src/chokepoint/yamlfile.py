"""Read a YAML file into a pydantic model; every problem is one line naming file, field and value."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from chokepoint.errors import ChokepointError

__all__ = ["load_yaml_model"]

M = TypeVar("M", bound=BaseModel)

#: libyaml's parser where PyYAML was built with it (about 10× faster); its errors are re-parsed
#: with the pure-Python one so a message reads the same either way.
_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _parse(text: str) -> object:
    try:
        return yaml.load(text, Loader=_FAST_LOADER)  # a safe loader, C or Python
    except yaml.YAMLError:
        return yaml.safe_load(text)  # raises the pure-Python parser's error, with its wording


def load_yaml_model(path: Path | str, model: type[M], error: type[ChokepointError], what: str) -> M:
    """Parse ``path`` as YAML and validate it as ``model``; raise ``error`` with one line.

    ``what`` names the kind of file in messages ("scenario", "pathway").
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path.name}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    try:
        raw = _parse(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{path.name}{where}: malformed YAML ({problem}); check indentation and colons") from None
    if not isinstance(raw, dict):
        kind = type(raw).__name__
        raise error(f"{path.name}: a {what} is a mapping of fields (name:, …), got {kind}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        # A misspelt key also makes the right key "missing": report the misspelling first.
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        first = errors[0]
        value = first.get("input")
        shown = "" if isinstance(value, dict | list) else f" {value!r}:"
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = f"is not a field of a {what} here; check its spelling against docs/{what}s.md"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise error(f"{path.name}: field {_where(first['loc'])}:{shown} {message}{more}") from None
