"""Helpers shared by the importers: reading text files, parsing numbers, naming countries, HS codes.

Every helper reports bad input as one-line :class:`~chokepoint.errors.ImportFileError` messages of
the form ``<file> row <n>, field <field>: <value> <problem>; <fix>``. Row numbers are 1-based file
lines with the header on row 1 (a record with an embedded line break counts as one row).

Resources are bounded before reading: an input must be a regular file (a directory, FIFO or device
is refused without opening it), files read whole may be at most ``CHOKEPOINT_MAX_INPUT_MB`` MB
(default 64; USGS and Comtrade files are a few MB) and files scanned in chunks (BACI) at most
``CHOKEPOINT_MAX_STREAM_MB`` MB (default 4096); the header is checked from the first line before
the rest of the file is read, so a large junk file costs one line.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from chokepoint.errors import ImportFileError
from chokepoint.regions import country_converter
from chokepoint.yamlfile import input_file_problem, size_limit

__all__ = [
    "Commodity",
    "ImportFileError",
    "check_years",
    "checked_input",
    "commodities",
    "conform",
    "file_error",
    "hs_commodity_map",
    "parse_numbers",
    "read_header",
    "read_text_table",
    "region_ids",
    "schema_columns",
]

WORLD = "WLD"
REST_OF_WORLD = "ROW"
#: Largest number an importer accepts: far above any tonnage or dollar figure (world GDP is ~1e14
#: USD), so a value above it is a typo or an overflow such as 1e308 × 1000 = inf.
MAX_VALUE = 1e15
#: Earliest year a file may hold (USGS series start in 1900); the latest is next year.
FIRST_YEAR = 1900
_HEADER_BYTES = 1 << 20

# --------------------------------------------------------------------------- errors


def file_error(path: Path, row: object, field: str | None, value: object, problem: str, fix: str) -> ImportFileError:
    """Build the one-line error: file, row, field, value, what is wrong and how to fix it."""
    where = path.name
    if row is not None:
        where += f" row {row}"
    if field is not None:
        where += f", field {field}" if row is not None else f" field {field}"
    shown = "" if value is None else f"{_one_line(repr(value))} "
    return ImportFileError(_one_line(f"{where}: {shown}{problem}; {fix}"))


def refuse_first(
    path: Path, bad: pd.Series, rows: pd.Series, field: str, values: pd.Series, problem: str, fix: str
) -> None:
    """Raise :func:`file_error` at the first position where ``bad`` holds, naming that row's file
    line (``rows``) and cell (``values``); the three Series line up by position."""
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise file_error(path, int(rows.iloc[i]), field, values.iloc[i], problem, fix)


def _none_unless(values: pd.Series, keep: pd.Series) -> pd.Series:
    """An object Series holding ``values`` where ``keep`` is true and ``None`` elsewhere."""
    cells = values.to_numpy(dtype=object).copy()
    cells[~keep.to_numpy(dtype=bool)] = None
    return pd.Series(cells, index=values.index, dtype=object)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- schema


@cache
def _schema(table: str) -> tuple[tuple[str, str], ...]:
    ref = resources.files("chokepoint").joinpath("schema", f"{table}.csv")
    rows = list(csv.DictReader(io.StringIO(ref.read_text(encoding="utf-8"))))
    return tuple((r["field"], r["dtype"]) for r in rows)


def schema_columns(table: str) -> list[str]:
    """Column names of a project table, in schema order (from ``schema/<table>.csv``)."""
    return [field for field, _ in _schema(table)]


def conform(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Return ``frame`` with exactly the schema's columns, in order, with the schema's dtypes.

    ``str`` columns become pandas ``object`` columns holding ``str`` or ``None``; ``int`` columns
    ``int64``; ``float`` columns ``float64``. Missing optional columns are filled with missing values.
    """
    out: dict[str, pd.Series] = {}
    n = len(frame)
    for field, dtype in _schema(table):
        col = frame[field] if field in frame.columns else pd.Series([None] * n, index=frame.index)
        if dtype == "int":
            out[field] = col.astype("int64")
        elif dtype == "float":
            out[field] = pd.to_numeric(col).astype("float64")
        else:
            out[field] = _none_unless(col, col.notna())
    return pd.DataFrame(out, columns=schema_columns(table)).reset_index(drop=True)


# --------------------------------------------------------------------------- reading text


def checked_input(path: Path, *, streaming: bool = False) -> None:
    """Raise unless ``path`` is a regular file within the size limit (see the module docstring)."""
    variable = "CHOKEPOINT_MAX_STREAM_MB" if streaming else "CHOKEPOINT_MAX_INPUT_MB"
    problem = input_file_problem(path, size_limit(variable, 4096 if streaming else 64), variable)
    if problem is not None:
        raise ImportFileError(f"{path if problem.startswith('file not found') else path.name}: {problem}")


def read_header(path: Path, encodings: Iterable[str] = ("utf-8-sig",), fix: str = "re-download the file") -> list[str]:
    """The cells of line 1, reading at most 1 MB: a file whose first line is longer is no CSV."""
    checked_input(path, streaming=True)
    with path.open("rb") as handle:
        head = handle.read(_HEADER_BYTES)
    if not head.strip():
        raise file_error(path, None, None, None, "is empty", fix)
    line, newline, _ = head.partition(b"\n")
    if not newline and len(head) == _HEADER_BYTES:
        raise file_error(path, 1, None, None, "has no line break in its first 1 MB: not a CSV file", fix)
    text = _decode(path, line, tuple(encodings))
    if "\x00" in text:
        raise file_error(path, 1, None, None, "contains NUL bytes (UTF-16 or binary file?)", "save it as UTF-8 CSV")
    return [cell.strip() for cell in next(csv.reader([text.rstrip("\r")]), [])]


def read_text_table(
    path: Path,
    *,
    encodings: Iterable[str] = ("utf-8-sig",),
    fix: str = "re-download the file",
    check_header: Callable[[list[str]], None] | None = None,
) -> pd.DataFrame:
    """Read a CSV file into an all-string DataFrame (no NA guessing, cells stripped of nothing).

    Tries each encoding in turn; bytes that none of them decode, NUL bytes (UTF-16 files),
    an empty or header-only file, a short or long record, or a truncated last record raise
    :class:`ImportFileError` naming the row. ``check_header`` is called with the header cells
    before the file is read whole, so it can refuse a wrong file after one line.
    Adds a column ``_row`` with the 1-based file row of each record (header = row 1).
    """
    path = Path(path)
    header_cells = read_header(path, encodings, fix)
    if check_header is not None:
        check_header(header_cells)
    checked_input(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise file_error(path, None, None, None, f"cannot be read ({exc.strerror})", "check the path") from None
    if not raw.strip():
        raise file_error(path, None, None, None, "is empty", fix)
    text = _decode(path, raw, tuple(encodings))
    if "\x00" in text:
        row = text[: text.index("\x00")].count("\n") + 1
        raise file_error(path, row, None, None, "contains NUL bytes (UTF-16 or binary file?)", "save it as UTF-8 CSV")
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise file_error(path, None, None, None, f"is not valid CSV ({exc})", fix) from None
    header = [h.strip() for h in records[0]]
    body = records[1:]
    # file row of each record: header is row 1; count line breaks inside quoted fields
    starts = np.cumsum([1] + [1 + sum(c.count("\n") for c in rec) for rec in records[:-1]])
    width = len(header)
    cut = bool(body) and not text.endswith(("\n", "\r")) and len(body[-1]) < width
    for i, rec in enumerate(body[:-1] if cut else body):
        long = len(rec) > width and any(c.strip() for c in rec[width:])
        # a short record that is not blank lost cells (a joined line or a cut copy), so its values
        # would land in the wrong columns
        short = len(rec) < width and any(c.strip() for c in rec)
        if long or short:
            raise file_error(
                path,
                int(starts[i + 1]),
                None,
                None,
                f"has {len(rec)} cells but the header has {width}",
                "give every row one cell per header column; " + fix,
            )
    if cut:
        raise file_error(
            path,
            int(starts[-1]),
            None,
            None,
            f"last row is cut off ({len(body[-1])} of {width} cells, no final line break): the file looks truncated",
            fix,
        )
    rows = [rec[:width] + [""] * (width - len(rec)) if len(rec) != width else rec for rec in body]
    frame = pd.DataFrame(rows, columns=_dedupe(header), dtype=object)
    frame["_row"] = starts[1:].astype("int64") if len(body) else np.array([], dtype="int64")
    # drop all-blank records (trailing ",,,," lines in USGS files) and unnamed blank columns
    cells = frame.drop(columns="_row")
    blank_rows = cells.apply(lambda c: c.str.strip().eq("")).all(axis=1) if len(cells) else None
    if blank_rows is not None:
        frame = frame.loc[~blank_rows]
    if frame.empty:
        raise file_error(path, 2, None, None, "has a header but no data rows", fix)
    unnamed = [c for c in cells.columns if c.startswith("_unnamed_") and frame[c].str.strip().eq("").all()]
    return frame.drop(columns=unnamed).reset_index(drop=True)


def _dedupe(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(header):
        key = name or f"_unnamed_{i}"
        if key in seen:
            seen[key] += 1
            key = f"{key}.{seen[key]}"
        else:
            seen[key] = 0
        out.append(key)
    return out


def _decode(path: Path, raw: bytes, encodings: tuple[str, ...]) -> str:
    first_error: UnicodeDecodeError | None = None
    for enc in encodings:
        try:
            return raw.decode(enc)
        except UnicodeDecodeError as exc:
            first_error = first_error or exc
    assert first_error is not None
    pos = first_error.start + (
        3 if raw.startswith(b"\xef\xbb\xbf") and first_error.encoding.replace("-", "_") == "utf_8" else 0
    )
    row = raw[:pos].count(b"\n") + 1
    bad = raw[pos : pos + 1]
    raise file_error(
        path,
        row,
        None,
        None,
        f"byte {bad!r} at offset {pos} is not valid {' or '.join(encodings)} text",
        "save the file in the encoding of the original release (or re-download it)",
    )


def require_columns(path: Path, frame: pd.DataFrame, columns: Iterable[str], fix: str) -> None:
    """Raise if any of ``columns`` is not in the header (row 1)."""
    for col in columns:
        if col not in frame.columns:
            raise file_error(path, 1, col, None, "missing required column", fix)


# --------------------------------------------------------------------------- numbers

_NONE_TOKENS = {"—", "–", "-", "--"}
_MISSING_TOKENS = {
    "W": "withheld by USGS",
    "NA": "not available",
    "XX": "not applicable",
    "S": "included in the world total",
    "": "",
}
_QUALITATIVE = r"(?i)(very )?(small|moderate|large)( to (small|moderate|large))?"


def parse_numbers(
    path: Path, values: pd.Series, rows: pd.Series, field: str, fix: str = "fix the cell or re-download the release"
) -> pd.DataFrame:
    """Parse USGS/trade number cells, vectorised.

    Returns a frame with ``value`` (float, NaN = missing) and ``flag`` (text for the note):

    * ``"1,270"`` → 1270 (thousands commas, spaces and no-break spaces are removed);
    * ``"—"``/``"–"``/``"-"`` (USGS: zero or negligible) → 0, flag ``"none (—)"``;
    * ``"W"`` (withheld), ``"NA"``, ``"XX"`` (not applicable), ``"s"`` (included in the world
      total), qualitative words (``"Large"``) and empty cells → NaN, flag says which;
    * ``">90000000"`` → 90000000, flag ``"lower bound"``; ``"<0.5"`` → 0.5, flag ``"upper bound"``.

    Anything else raises :class:`ImportFileError` naming the first bad row.
    """
    text = values.astype(str).str.replace("\u00a0", " ", regex=False).str.strip()
    compact = text.str.replace(r"[,\s]", "", regex=True)
    bound = compact.str.extract(r"^([<>])", expand=False)
    digits = compact.str.replace(r"^[<>]=?", "", regex=True)
    number = pd.to_numeric(
        digits.where(digits.str.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")), errors="coerce"
    )
    is_none = compact.isin(_NONE_TOKENS)
    missing = compact.str.upper().map(_MISSING_TOKENS)
    qualitative = text.str.fullmatch(_QUALITATIVE)
    missing = missing.mask(qualitative, "qualitative: " + text)
    refuse_first(path, number.isna() & ~is_none & missing.isna(), rows, field, values, "is not a number", fix)
    huge = number.abs().gt(MAX_VALUE)  # 1e309 parses as inf
    refuse_first(path, huge, rows, field, values, f"is not a finite number at most {MAX_VALUE:.0e}", fix)
    value = number.where(~is_none, 0.0).astype("float64")
    flag = pd.Series("", index=values.index, dtype=object)
    flag = flag.mask(is_none, "none (—)")
    flag = flag.mask(missing.notna() & number.isna() & ~is_none, missing)
    flag = flag.mask(bound.eq(">"), "lower bound").mask(bound.eq("<"), "upper bound")
    return pd.DataFrame({"value": value, "flag": flag.fillna("")}, index=values.index)


def check_years(path: Path, cells: pd.Series, rows: pd.Series, field: str, fix: str) -> None:
    """Raise on a year (text of digits, or int) outside FIRST_YEAR..next year: ``0000`` or ``2999``
    is a typo, not data."""
    last = datetime.date.today().year + 1
    bad = ~pd.to_numeric(cells).between(FIRST_YEAR, last)
    refuse_first(path, bad, rows, field, cells.astype(str), f"is not a year between {FIRST_YEAR} and {last}", fix)


# --------------------------------------------------------------------------- regions


def _coco(values: list[str], src: str | None = None) -> list[str | None]:
    """Convert with country_converter; None where it finds nothing or several countries."""
    if not values:
        return []
    conv = country_converter()
    if src is None:
        # ask coco only about names that exactly one of its regexes matches, so that unknown
        # names become our error instead of a log line from country_converter
        regexes = conv.regexes
        single = [sum(bool(rx.search(v)) for rx in regexes) == 1 for v in values]
        asked = [v for v, ok in zip(values, single, strict=True) if ok]
        answers = iter(_coco(asked, src="regex") if asked else [])
        return [next(answers) if ok else None for ok in single]
    kwargs: dict[str, object] = {"to": "ISO3", "not_found": None, "enforce_list": True}
    if src is not None:
        kwargs["src"] = src
    result = conv.convert(values, **kwargs)
    out: list[str | None] = []
    for _given, got in zip(values, result, strict=True):
        hit = got[0] if isinstance(got, list) and len(got) == 1 else got
        ok = isinstance(hit, str) and hit in _iso3_codes()
        out.append(hit if ok else None)
    return out


@cache
def _iso3_codes() -> frozenset[str]:
    """Every ISO3 code country_converter knows."""
    return frozenset(str(c) for c in country_converter().data["ISO3"])


_WORLD_RE = re.compile(r"^world( total)?\b", re.IGNORECASE)
_OTHER_RE = re.compile(r"^(other countries|rest of (the )?world)\b", re.IGNORECASE)
_QUALIFIER_RE = re.compile(r"\s*\(([^)]*)\)\s*$")

#: Names country_converter does not know but USGS or Comtrade use.
NAME_OVERRIDES: Mapping[str, str] = {
    "burma": "MMR",
    "other asia, nes": "TWN",
    "southern african customs union (...1999)": "ZAF",
}


def region_ids(path: Path, names: pd.Series, rows: pd.Series, field: str) -> pd.DataFrame:
    """Country names → region ids (ISO3, ``WLD``, ``ROW``), vectorised over unique names.

    Quirks handled: trailing and no-break spaces (``"Canada "``, ``"United\\xa0States"``),
    ``"Burma"`` → MMR, ``"Korea, Republic of"`` → KOR, ``"Other countries"``/``"Other Countries"``
    (with any qualifier) → ROW, ``"World total"``, ``"World total (rounded)"`` and
    ``"World total (rounded) 10"`` (footnote digit) → WLD. A trailing qualifier such as
    ``"Brazil (beneficiated)"`` is dropped from the name and returned in ``note``.
    Returns a frame with ``region_id`` and ``note``; an unknown name raises ImportFileError.
    """
    clean = names.astype(str).str.replace("\u00a0", " ", regex=False).str.strip()
    uniq = pd.unique(clean)
    ids: dict[str, str] = {}
    notes: dict[str, str] = {}
    lookup: dict[str, str] = {}
    for name in uniq:
        if _WORLD_RE.match(name):
            ids[name] = WORLD
            notes[name] = "world total, rounded by the publisher" if "rounded" in name.lower() else "world total"
        elif _OTHER_RE.match(name):
            ids[name] = REST_OF_WORLD
            notes[name] = "other countries"
        elif name.lower() in NAME_OVERRIDES:
            ids[name] = NAME_OVERRIDES[name.lower()]
            notes[name] = f"reported as {name!r}" if name.lower() != "burma" else ""
        else:
            qual = _QUALIFIER_RE.search(name)
            base = _QUALIFIER_RE.sub("", name) if qual else name
            lookup[name] = base
            notes[name] = f"{qual.group(1)}" if qual else ""
    found = _coco(list(lookup.values()))
    for (name, _), iso in zip(lookup.items(), found, strict=True):
        if iso is None:
            i = int(np.flatnonzero(clean.to_numpy() == name)[0])
            raise file_error(
                path,
                int(rows.iloc[i]),
                field,
                names.iloc[i],
                "is not a country name Chokepoint recognises",
                "use the country's English short name or ISO3 code",
            )
        ids[name] = iso
    return pd.DataFrame({"region_id": clean.map(ids), "note": clean.map(notes).fillna("")}, index=names.index)


# --------------------------------------------------------------------------- commodities


@dataclass(frozen=True)
class Commodity:
    """One row of the packaged ``data/commodities.csv`` (only what the importers need)."""

    commodity_id: str
    material: str
    stage_order: int
    hs_codes: tuple[str, ...]


@cache
def commodities() -> tuple[Commodity, ...]:
    """The codes statistics report under, from the package data ``data/commodities.csv``: one entry
    per ``product_group`` (every separated oxide is ``ree_oxide``), with its members' HS codes."""
    ref = resources.files("chokepoint").joinpath("data", "commodities.csv")
    groups: dict[str, Commodity] = {}
    for r in csv.DictReader(io.StringIO(ref.read_text(encoding="utf-8"))):
        code = r.get("product_group") or r["commodity_id"]
        hs = tuple((r.get("hs_codes") or "").split())
        seen = groups.get(code)
        hs = hs if seen is None else seen.hs_codes + tuple(h for h in hs if h not in seen.hs_codes)
        groups[code] = Commodity(code, r["material"], int(r["stage_order"]), hs)
    return tuple(groups.values())


def hs_commodity_map(codes: Iterable[str], overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Map trade product codes (HS 2-, 4- or 6-digit) to commodity ids.

    Rules, in order: an ``overrides`` entry (code → commodity id) wins; a code listed verbatim in
    ``commodities.csv`` ``hs_codes`` maps to that commodity (a code listed under several
    commodities, like 284690, goes to the one with the highest ``stage_order``, i.e. the
    processed form the heading describes); a 6-digit code inside a listed 4-digit heading
    (250410 in 2504) maps to that commodity; a 4-digit heading (2846) maps to the commodity that
    lists most subheadings of it (ree_oxide: 284610 and 284690). Codes that match nothing are
    left out of the result.
    """
    table = commodities()
    out: dict[str, str] = {}
    for code in codes:
        if overrides and code in overrides:
            out[code] = overrides[code]
            continue
        exact = [c for c in table if code in c.hs_codes]
        if exact:
            out[code] = max(exact, key=lambda c: c.stage_order).commodity_id
            continue
        heading = [c for c in table if any(len(h) < len(code) and code.startswith(h) for h in c.hs_codes)]
        if heading:
            out[code] = max(heading, key=lambda c: c.stage_order).commodity_id
            continue
        inside = [
            (sum(h.startswith(code) for h in c.hs_codes), c.stage_order, c.commodity_id)
            for c in table
            if any(h.startswith(code) for h in c.hs_codes)
        ]
        if inside and len(code) >= 4:
            out[code] = max(inside)[2]
    return out


def join_notes(*parts: pd.Series) -> pd.Series:
    """Join note fragments row-wise with ``"; "``, skipping empty ones; empty result → None."""
    out = parts[0].fillna("").astype(str)
    for part in parts[1:]:
        nxt = part.fillna("").astype(str)
        sep = np.where((out != "") & (nxt != ""), "; ", "")
        out = out + sep + nxt
    return _none_unless(out, out != "")
