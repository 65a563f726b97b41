"""Read a YAML file into a pydantic model; every problem is one line naming file, field and value."""

from __future__ import annotations

import difflib
import functools
import os
import re
import stat
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import yaml
from pydantic import AllowInfNan, BaseModel, BeforeValidator, Strict, ValidationError

from chokepoint.errors import ChokepointError

__all__ = [
    "MAX_YAML_DEPTH",
    "Number",
    "did_you_mean",
    "field_line",
    "input_file_problem",
    "load_yaml_model",
    "size_limit",
    "with_field_lines",
]

M = TypeVar("M", bound=BaseModel)
P = ParamSpec("P")
R = TypeVar("R")

_DECIMAL = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _exponent_text(value: Any) -> Any:
    # PyYAML (YAML 1.1) reads 1e9 and 1.0e9 as text, not numbers: take them as the number meant
    return float(value) if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()) else value


#: A number in a YAML file: strict (``true`` is not 1, ``"0.5"`` is not 0.5) and finite (``.inf``
#: or ``.nan`` would run and fill results with NaN); ``1e9`` counts as the number it reads as.
Number = Annotated[float, BeforeValidator(_exponent_text), Strict(), AllowInfNan(False)]

#: libyaml's parser where PyYAML was built with it (about 10× faster); its errors are re-parsed
#: with the pure-Python one so a message reads the same either way.
_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


#: The fix appended to pydantic's message for errors whose message names none.
_FIXES = {
    "finite_number": ".inf and .nan are not values; write the number itself",
    "float_type": "write a plain number (no quotes, no true/false)",
    "int_type": "write a whole number (no quotes, no true/false)",
    "int_from_float": "write a whole number",
}


def did_you_mean(value: str, known: set[str] | list[str]) -> str:
    """``"; did you mean 'Dy'?"`` for the closest known code (case-insensitive), or ``""``."""
    by_fold = {k.casefold(): k for k in known}
    if value.casefold() in by_fold:
        return f"; did you mean {by_fold[value.casefold()]!r}? (codes are case-sensitive)"
    close = difflib.get_close_matches(value.casefold(), list(by_fold), n=1, cutoff=0.6)
    return f"; did you mean {by_fold[close[0]]!r}?" if close else ""


#: Deepest nesting of mappings and lists a scenario or pathway may have; real files use under 10.
MAX_YAML_DEPTH = 50
#: Most values a YAML file may expand to (scenarios hold hundreds).
MAX_YAML_NODES = 1_000_000
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"))


def size_limit(variable: str, default_mb: int) -> int:
    """A size limit in bytes: ``default_mb`` MB unless the environment variable ``variable`` gives
    another number of MB (a bad value is ignored, so a typo cannot lift the limit to nothing)."""
    try:
        mb = float(os.environ.get(variable, default_mb))
    except ValueError:
        mb = default_mb
    return int(mb * 1024 * 1024) if mb > 0 else int(default_mb * 1024 * 1024)


def input_file_problem(path: Path, limit: int, variable: str) -> str | None:
    """Why ``path`` cannot be read as an input file, or None: checked with ``stat`` before opening,
    so a FIFO never blocks and a huge file is refused before a byte of it is read."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return "file not found; check the path"
    except OSError as exc:
        return f"cannot be read ({exc.strerror}); check the path and its permissions"
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "a device")
        return f"is {kind}, not a regular file; pass the path of the file itself"
    if info.st_size > limit:
        return (
            f"is {info.st_size / 2**20:.3g} MB, above the {limit / 2**20:.3g} MB limit for this kind of file; "
            f"check it is the right file, or raise the limit with {variable}=<MB>"
        )
    return None


def _depth(tree: object) -> int:
    """Nesting depth of parsed YAML, without recursion (a deep file must not overflow the stack).

    Stops past MAX_YAML_DEPTH, or past MAX_YAML_NODES values (aliases that expand a small file into
    billions of values, reported as too deep too: either way the file is no scenario)."""
    deepest, todo, seen = 0, [(tree, 1)], 0
    while todo:
        node, level = todo.pop()
        seen += 1
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            if level > MAX_YAML_DEPTH or seen > MAX_YAML_NODES:
                return MAX_YAML_DEPTH + 1
            todo += [(child, level + 1) for child in (node.values() if isinstance(node, dict) else node)]
    return deepest


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _line(text: str, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the deepest node of ``loc`` that the YAML text has, or ``None``."""
    try:
        node = yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = [(k, v) for k, v in node.value if str(k.value) == str(part)]
            if not found:
                continue  # a discriminated union's tag, or a missing key: the node found so far
            key, node = found[0]
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


#: A field path as messages write it (``export_controls[0].instrument.approval_share``), after
#: ``field `` or a ``<name>: `` prefix and before a colon.
_PATH = re.compile(r"(?:^|(?<=field )|(?<=: ))([A-Za-z_]\w*(?:\[\d+\]|\.\w+)*):")
_PART = re.compile(r"\[(\d+)\]|\.?(\w+)")


def _loc(path: str) -> tuple[int | str, ...]:
    """``"a[0].b"`` → ``("a", 0, "b")``."""
    return tuple(int(i) if i else name for i, name in _PART.findall(path))


def _message_line(text: str, message: str) -> int | None:
    """The line of the first field path in ``message`` that the YAML text has (a model-level check
    such as ``controls[0]: end … is before start`` names its item in the text, not in its loc)."""
    for match in _PATH.finditer(message):
        line = _line(text, _loc(match.group(1)))
        if line is not None:
            return line
    return None


#: The YAML text of the models :func:`load_yaml_model` returned last, for errors found after
#: validation (a scenario checked against a dataset). Keyed by ``id`` and holding the model, so an
#: id is never reused while its entry lives; bounded, since a model outlives few checks.
_SOURCES: OrderedDict[int, tuple[BaseModel, str, str]] = OrderedDict()
_KEEP_SOURCES = 64


def _remember(model: M, text: str, name: str) -> M:
    _SOURCES[id(model)] = (model, text, name)
    while len(_SOURCES) > _KEEP_SOURCES:
        _SOURCES.popitem(last=False)
    return model


def field_line(model: BaseModel, message: str) -> tuple[str, int] | None:
    """The name of the YAML file ``model`` was read from by :func:`load_yaml_model` and the 1-based
    line in it of the first field path ``message`` names (``field export_controls[0].controller:
    …``), or ``None`` (no path, or a model built in Python: it has no file)."""
    entry = _SOURCES.get(id(model))
    if entry is None or entry[0] is not model:
        return None
    line = _message_line(entry[1], message)
    return None if line is None else (entry[2], line)


def with_field_lines(check: Callable[P, R]) -> Callable[P, R]:
    """Decorate a check of loaded models so its one-line errors end with ``(line N)``: the line, in
    the file the checked model was read from, of the first field path the message names."""

    @functools.wraps(check)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return check(*args, **kwargs)
        except ChokepointError as exc:
            message = str(exc)
            models = [a for a in (*args, *kwargs.values()) if isinstance(a, BaseModel)]
            found = next((n for m in models if (n := field_line(m, message)) is not None), None)
            if found is None or re.search(r"line \d+\)$", message):
                raise
            name, line = found
            # a message that does not start with the file's name (a pathway's starts with its name) gets it here
            at = f"line {line}" if message.startswith(f"{name}:") else f"{name} line {line}"
            raise type(exc)(f"{message} ({at})") from None

    return checked


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
    variable = "CHOKEPOINT_MAX_YAML_MB"
    problem = input_file_problem(path, size_limit(variable, 8), variable)
    if problem is not None:
        raise error(f"{path if problem.startswith('file not found') else path.name}: {problem}")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path.name}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    too_deep = False
    try:
        raw = _parse(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{path.name}{where}: malformed YAML ({problem}); check indentation and colons") from None
    except RecursionError:
        raw, too_deep = None, True  # too deep even for the parser
    if too_deep or _depth(raw) > MAX_YAML_DEPTH:
        raise error(
            f"{path.name}: nested more than {MAX_YAML_DEPTH} levels deep or expanding to more than "
            f"{MAX_YAML_NODES:,} values; a {what} needs only a few levels, check for runaway indentation, "
            "brackets or aliases"
        )
    if not isinstance(raw, dict):
        kind = type(raw).__name__
        raise error(f"{path.name}: a {what} is a mapping of fields (name:, …), got {kind}")
    try:
        return _remember(model.model_validate(raw), text, path.name)
    except ValidationError as exc:
        # A misspelt key also makes the right key "missing": report the misspelling first.
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        first = errors[0]
        value = first.get("input")
        shown = "" if isinstance(value, dict | list) else f" {value!r}:"
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = f"is not a field of a {what} here; check its spelling against docs/{what}s.md"
        elif isinstance(value, bool) and first["type"] in ("float_type", "int_type"):
            message = "true/false is not a number; write the number itself"
        elif first["type"] in _FIXES:
            message = f"{message}; {_FIXES[first['type']]}"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        line = _line(text, tuple(first["loc"])) or _message_line(text, message)
        at = f" (line {line})" if line is not None else ""
        raise error(f"{path.name}: field {_where(first['loc'])}:{shown} {message}{more}{at}") from None
