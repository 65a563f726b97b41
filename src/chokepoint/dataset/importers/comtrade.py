"""Importer for UN Comtrade annual trade CSV exports.

Two layouts are recognised from the header row:

**Comtrade+ API / bulk rows** — columns ``refYear, reporterCode, reporterISO, flowCode,
partnerCode, partnerISO, partnerDesc, partner2Code, cmdCode, customsCode, motCode, netWgt,
isNetWgtEstimated, primaryValue, …``. ISO columns may be empty (then the numeric codes are used:
842 USA, 156 CHN, 0 World). Only totals are kept: ``partner2Code`` 0, ``motCode`` 0 and
``customsCode`` C00 when those columns exist; monthly data (``freqCode`` M) are refused.

**Simple extract** — columns ``year, reporter_iso, flow, partner_code, partner_iso, partner_desc,
cmd_code, net_weight_kg, net_weight_estimated, primary_value_usd, …``.

Mapping: flow M (imports reported by R from partner P) → exporter P, importer R; flow X →
exporter R, importer P; re-exports/re-imports are skipped. Partner World (0, ``W00``) → WLD,
``Other Asia, nes`` → TWN, unspecified areas → ROW. HS codes map to commodities through
``hs_codes`` in the package's ``commodities.csv`` (2846 → ree_oxide, 280530 → ree_metal,
850511 → ndfeb_magnet, 253090 → ree_concentrate); codes that map to nothing are skipped.

Quantities: ``quantity_t`` = net weight in kg / 1000 (product weight, not element content). A net
weight of 0 or empty next to a trade value means "not reported": quantity is left missing and the
note says so; Comtrade-estimated weights are kept and flagged in the note. ``value_usd`` is
``primaryValue`` (CIF for imports, FOB for exports).

Files above the whole-read limit (``CHOKEPOINT_MAX_INPUT_MB``, default 64 MB: a bulk download of
every HS code) are streamed: read in chunks of records with the same structural checks (cells per
row, a cut-off last row, encoding), keeping only the rows that map to a commodity, so memory stays
bounded by the rare-earth rows, not the file (up to ``CHOKEPOINT_MAX_STREAM_MB``).

Duplicates after mapping: rows of the same reporter side and key (different HS codes of one
commodity) are summed. When the importer and the exporter both report a flow (mirror data), the
importer's report is kept and the note records the dropped exporter figure.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from chokepoint.dataset.importers._common import (
    check_years,
    checked_input,
    conform,
    file_error,
    hs_commodity_map,
    join_notes,
    parse_numbers,
    read_header,
    read_text_table,
    refuse_first,
    require_columns,
)
from chokepoint.dataset.importers._trade import aggregate_trade, trade_region_ids
from chokepoint.errors import ImportFileError
from chokepoint.yamlfile import size_limit

__all__ = ["read_comtrade"]

_RAW = {
    "year": "refYear",
    "reporter_code": "reporterCode",
    "reporter_iso": "reporterISO",
    "reporter_desc": "reporterDesc",
    "flow": "flowCode",
    "partner_code": "partnerCode",
    "partner_iso": "partnerISO",
    "partner_desc": "partnerDesc",
    "cmd": "cmdCode",
    "net_kg": "netWgt",
    "net_est": "isNetWgtEstimated",
    "value": "primaryValue",
}
_EXTRACT = {
    "year": "year",
    "reporter_code": "reporter_code",
    "reporter_iso": "reporter_iso",
    "reporter_desc": "reporter_desc",
    "flow": "flow",
    "partner_code": "partner_code",
    "partner_iso": "partner_iso",
    "partner_desc": "partner_desc",
    "cmd": "cmd_code",
    "net_kg": "net_weight_kg",
    "net_est": "net_weight_estimated",
    "value": "primary_value_usd",
}
_RAW_REQUIRED = ("refYear", "flowCode", "partnerCode", "cmdCode", "netWgt", "primaryValue")
_EXTRACT_REQUIRED = (
    "year",
    "reporter_iso",
    "flow",
    "partner_code",
    "partner_iso",
    "cmd_code",
    "net_weight_kg",
    "primary_value_usd",
)
_FIX = "re-download the Comtrade export"
_NOT_COMTRADE = (
    "does not look like a UN Comtrade export (no refYear or cmd_code column)",
    "export the data from comtradeplus.un.org as CSV",
)


def read_comtrade(
    path: Path,
    *,
    hs_map: Mapping[str, str] | None = None,
    source_id: str | None = None,
    published_year: int | None = None,
) -> dict[str, pd.DataFrame]:
    """Read a UN Comtrade annual CSV export into the ``trade`` and ``sources`` tables.

    Parameters
    ----------
    path
        Comtrade+ API/bulk CSV or the simple extract layout (see the module docstring).
    hs_map
        HS code → commodity id, overriding the mapping from ``commodities.csv``.
    source_id
        Source id for every row; default ``un_comtrade_<hs codes>_<first year>_<last year>``.
    published_year
        Year the extract was taken; default the latest data year (Comtrade revises continuously).

    Returns
    -------
    ``{"trade", "sources"}`` DataFrames with exactly the schema columns; one ``sources`` row.
    """
    path = Path(path)
    frame, cols = _read(path, hs_map)
    data = pd.DataFrame(
        {k: (frame[v].str.strip() if v in frame.columns else "") for k, v in cols.items()}, index=frame.index
    )
    data["_row"] = frame["_row"]
    data["flow"] = data["flow"].str.upper()
    data = data.loc[data["flow"].isin(["M", "X"])]
    _check_codes(path, data, cols)
    mapping = hs_commodity_map(sorted(set(data["cmd"])), hs_map)
    data = data.assign(commodity_id=data["cmd"].map(mapping)).dropna(subset=["commodity_id"])
    if data.empty:
        raise file_error(
            path,
            2,
            cols["cmd"],
            ", ".join(sorted(set(frame[cols["cmd"]])))[:80],
            "has no HS code that maps to a Chokepoint commodity",
            "pass hs_map={code: commodity_id} or export the HS codes listed in commodities.csv",
        )
    dupe = data.duplicated(["year", "reporter_code", "reporter_iso", "flow", "partner_code", "partner_iso", "cmd"])
    if dupe.any():
        i = dupe.idxmax()
        raise file_error(
            path,
            data.at[i, "_row"],
            cols["partner_code"],
            data.at[i, "partner_code"],
            "repeats an earlier row (same year, reporter, flow, partner and HS code)",
            "remove the duplicate row",
        )
    rows, reporters = _flows(path, data, cols)
    trade = aggregate_trade(rows)
    years = trade["year"]
    codes = sorted(set(data["cmd"]))
    sid = source_id or f"un_comtrade_{'_'.join(codes)}_{years.min()}_{years.max()}"
    trade = trade.assign(
        source_id=sid,
        basis="reported",
        note=join_notes(trade["note"], pd.Series("quantity is product net weight (kg / 1000)", index=trade.index)),
    )
    sources = pd.DataFrame(
        {
            "source_id": [sid],
            "publisher": ["United Nations Statistics Division"],
            "title": ["UN Comtrade Database"],
            "section": [
                f"Annual trade, HS {', '.join(codes)}; reporters {', '.join(reporters)}; {years.min()}-{years.max()}"
            ],
            "published_year": [published_year or int(years.max())],
            "url": ["https://comtradeplus.un.org/"],
            "note": [
                f"File {path.name}. UN Comtrade terms of use apply (attribution; check "
                "redistribution terms). " + ("" if published_year else "published_year is the latest data year.")
            ],
        }
    )
    return {"trade": conform(trade, "trade"), "sources": conform(sources, "sources")}


def _read(path: Path, hs_map: Mapping[str, str] | None) -> tuple[pd.DataFrame, dict[str, str]]:
    """The rows to read and the column of each field: the whole file, or streamed above the limit."""
    try:
        checked_input(path)
    except ImportFileError:
        checked_input(path, streaming=True)  # a FIFO or a file too large even to stream says so here
        if path.stat().st_size > size_limit("CHOKEPOINT_MAX_INPUT_MB", 64):
            return _streamed(path, hs_map)
        raise
    return _layout(path, read_text_table(path, fix=_FIX, check_header=lambda cells: _known(path, cells)))


def _streamed(
    path: Path, hs_map: Mapping[str, str] | None, chunk_rows: int = 50_000
) -> tuple[pd.DataFrame, dict[str, str]]:
    """:func:`_read` for a file above the whole-read limit: each chunk of records is laid out and
    cut to the rows that matter (annual totals of M/X flows whose HS code maps, plus any row whose
    year or code is malformed, so the checks after reading still refuse it)."""
    _known(path, read_header(path, fix=_FIX))
    kept, cols = [], _EXTRACT
    for chunk in _chunks(path, chunk_rows):
        frame, cols = _layout(path, chunk)
        flow = frame[cols["flow"]].str.strip().str.upper()
        code = frame[cols["cmd"]].str.strip()
        mapped = code.isin(list(hs_commodity_map(sorted(set(code)), hs_map)))
        odd = ~code.str.fullmatch(r"\d{2,6}|TOTAL") | ~frame[cols["year"]].str.strip().str.fullmatch(r"\d{4}")
        kept.append(frame.loc[(flow.isin(["M", "X"]) & mapped) | odd])
    return pd.concat(kept, ignore_index=True), cols


def _chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The file's records as all-string frames of up to ``chunk_rows`` with their file ``_row``,
    checked as :func:`read_text_table` checks a whole file: one cell per header column, no NUL
    bytes, a last row that is not cut off, UTF-8 text. Each record is checked when the next one
    has been read, so the last can be told apart as cut off."""
    with path.open("rb") as raw:
        raw.seek(-1, io.SEEK_END)
        ends_in_newline = raw.read(1) in (b"\n", b"\r")
    records: list[list[str]] = []
    lines: list[int] = []
    seen, last, row = 0, None, 2
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader, [])]
            width = len(header)
            for rec in reader:
                if last is not None:
                    _check_record(path, *last, width)
                last = (rec, row)
                if any(c.strip() for c in rec):
                    records.append((rec + [""] * width)[:width])
                    lines.append(row)
                row = reader.line_num + 1
                if len(records) == chunk_rows:
                    yield _frame(records, lines, header)
                    seen, records, lines = seen + len(records), [], []
        except UnicodeDecodeError as exc:
            raise file_error(path, None, None, None, f"is not UTF-8 text ({exc.reason})", _FIX) from None
        except csv.Error as exc:
            raise file_error(path, row, None, None, f"is not valid CSV ({exc})", _FIX) from None
    if last is not None:
        if not ends_in_newline and len(last[0]) < width:
            problem = (
                f"last row is cut off ({len(last[0])} of {width} cells, no final line break): the file looks truncated"
            )
            raise file_error(path, last[1], None, None, problem, _FIX)
        _check_record(path, *last, width)
    if records:
        yield _frame(records, lines, header)
    elif not seen:
        raise file_error(path, 2, None, None, "has a header but no data rows", _FIX)


def _check_record(path: Path, rec: list[str], row: int, width: int) -> None:
    """Refuse a record with cells lost or added (its values would land in the wrong columns) or NUL bytes."""
    if any("\x00" in c for c in rec):
        raise file_error(path, row, None, None, "contains NUL bytes (UTF-16 or binary file?)", "save it as UTF-8 CSV")
    short = len(rec) < width and any(c.strip() for c in rec)
    if short or (len(rec) > width and any(c.strip() for c in rec[width:])):
        fix = "give every row one cell per header column; " + _FIX
        raise file_error(path, row, None, None, f"has {len(rec)} cells but the header has {width}", fix)


def _frame(records: list[list[str]], lines: list[int], header: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=header, dtype=object)
    frame["_row"] = np.asarray(lines, dtype="int64")
    return frame


def _layout(path: Path, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The rows to read (API/bulk layout: totals only) and the column of each field, by layout."""
    if "refYear" in frame.columns:
        require_columns(path, frame, _RAW_REQUIRED, _FIX)
        if not ({"reporterCode", "reporterISO"} & set(frame.columns)):
            raise file_error(path, 1, "reporterCode", None, "missing required column", _FIX)
        frame = _totals_only(path, frame)
        return frame, _RAW
    if "cmd_code" in frame.columns:
        require_columns(path, frame, _EXTRACT_REQUIRED, _FIX)
        return frame, _EXTRACT
    raise file_error(path, 1, None, None, *_NOT_COMTRADE)


def _known(path: Path, header: list[str]) -> None:
    """Raise unless line 1 is the header of a layout this importer reads (checked before the rest is read)."""
    if "refYear" not in header and "cmd_code" not in header:
        raise file_error(path, 1, None, None, *_NOT_COMTRADE)


def _flows(path: Path, data: pd.DataFrame, cols: dict[str, str]) -> tuple[pd.DataFrame, list[str]]:
    """One trade row per reported flow (the reporter's side of it), and the reporters."""
    value = parse_numbers(path, data["value"], data["_row"], cols["value"], _FIX)
    net = parse_numbers(path, data["net_kg"], data["_row"], cols["net_kg"], _FIX)
    rep = trade_region_ids(
        path, data["reporter_code"], data["reporter_iso"], data["reporter_desc"], data["_row"], cols["reporter_code"]
    )
    par = trade_region_ids(
        path, data["partner_code"], data["partner_iso"], data["partner_desc"], data["_row"], cols["partner_code"]
    )
    imports = data["flow"] == "M"
    no_weight = (net["value"].isna() | (net["value"] == 0)) & value["value"].gt(0)
    estimated = data["net_est"].str.lower().isin(["true", "1", "yes"]) & ~no_weight
    rows = pd.DataFrame(
        {
            "exporter_id": par["region_id"].where(imports, rep["region_id"]),
            "importer_id": rep["region_id"].where(imports, par["region_id"]),
            "commodity_id": data["commodity_id"],
            "year": data["year"].astype("int64"),
            "quantity_t": (net["value"] / 1000.0).mask(no_weight),
            "value_usd": value["value"],
            "side": np.where(imports, "importer", "exporter"),
            "who": "reported by " + rep["region_id"] + np.where(imports, " (imports)", " (exports)"),
            "hs": data["cmd"],
            "extra": join_notes(
                pd.Series(np.where(no_weight, "net weight not reported, quantity missing", ""), index=data.index),
                pd.Series(np.where(estimated, "net weight estimated by UN Comtrade", ""), index=data.index),
                rep["note"],
                par["note"],
            ).fillna(""),
        }
    )
    return rows, sorted(set(rep["region_id"]))


def _totals_only(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """Keep the all-partner2, all-modes, all-customs-procedure rows of a Comtrade+ extract."""
    if "freqCode" in frame.columns:
        monthly = ~frame["freqCode"].str.strip().isin(["A", ""])
        fix = "download annual (freqCode A) data"
        refuse_first(path, monthly, frame["_row"], "freqCode", frame["freqCode"], "is not annual data", fix)
    keep = pd.Series(True, index=frame.index)
    for col, total in (("partner2Code", "0"), ("motCode", "0"), ("customsCode", "C00")):
        if col in frame.columns:
            cell = frame[col].str.strip().str.replace(r"\.0$", "", regex=True)
            keep &= cell.isin([total, ""])
    return frame.loc[keep]


def _check_codes(path: Path, data: pd.DataFrame, cols: Mapping[str, str]) -> None:
    """Raise on a year or HS code that is not a code (e.g. '20x3', '28A6')."""
    for field, pattern in (("year", r"\d{4}"), ("cmd", r"\d{2,6}|TOTAL")):
        what = "a year" if field == "year" else "an HS code"
        bad = ~data[field].str.fullmatch(pattern)
        refuse_first(path, bad, data["_row"], cols[field], data[field], f"is not {what}", _FIX)
    check_years(path, data["year"], data["_row"], cols["year"], _FIX)
