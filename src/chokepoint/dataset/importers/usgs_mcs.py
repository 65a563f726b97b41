"""Importer for USGS Mineral Commodity Summaries (MCS) data releases.

Two layouts are recognised from the header row (never from the file name):

**Wide world-data tables** — ``MCS2025_World_Data.csv`` (all commodities; columns ``SOURCE,
COMMODITY, COUNTRY, TYPE, UNIT_MEAS, PROD_2023, PROD_EST_ 2024, PROD_NOTES, CAP_2023, CAP_EST_ 2024,
CAP_NOTES, RESERVES_2024, RESERVE_NOTES``; UTF-8 with BOM; the stray space in ``PROD_EST_ 2024``;
the typo ``Gemanium``; country names with trailing spaces; ``World total (rounded) 10`` with a
footnote digit) and the older per-commodity files ``mcs2023-raree_world.csv``,
``mcs2024-raree_world.csv`` and ``rare_earths_mcs2022-raree_world.csv`` (columns ``Source, Country,
Type, Prod_t_2021, Prod_t_est_2022, Prod_notes, Reserves_t, Reserves_notes`` plus dozens of
trailing empty columns and rows; no commodity column — the commodity is the first part of
``Type`` or, failing that, the code in the file name such as ``-raree_``; MCS2022 has no reserves;
``Reserves_t`` has no year and is taken as the edition year minus one).

**Long commodities table** — ``MCS2026_Commodities_Data.csv`` (cp1252; columns ``MCS chapter,
Section, Commodity, Country, Statistics, Statistics_detail, Unit, Year, Value, Notes, …``). Only
``World …`` sections with ``Statistics`` = Production or Reserves are read; ``: rounded`` world
rows are the published world totals.

Cells: ``1,270`` → 1270; ``—`` → 0 (none); ``W`` (withheld), ``NA`` and empty cells → no row (the
tables require a number); ``>90000000`` → 90000000 with "lower bound" in the note. Kilograms
(gallium, germanium) are converted to tonnes (basis stays ``reported``; the note says so).
Estimates (``PROD_EST`` columns, or ``Estimated.`` in the notes) stay ``reported`` with the note
"USGS estimate".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from chokepoint.dataset.importers._common import (
    _WORLD_RE,
    check_years,
    conform,
    file_error,
    join_notes,
    parse_numbers,
    read_text_table,
    refuse_first,
    region_ids,
    require_columns,
)

__all__ = ["DEFAULT_COMMODITIES", "read_usgs_mcs"]

#: USGS commodity (chapter) name, lower-cased → Chokepoint commodity id.
DEFAULT_COMMODITIES: Mapping[str, str] = {
    "rare earths": "ree_concentrate",
    "gallium": "gallium",
    "germanium": "germanium",
    "graphite": "graphite_natural",
    "graphite (natural)": "graphite_natural",
    "antimony": "antimony",
    "tungsten": "tungsten",
}

_SLUGS = {"rare earths": "ree", "graphite (natural)": "graphite"}
_FILE_CODES = {
    "raree": "rare earths",
    "rareee": "rare earths",
    "galli": "gallium",
    "germa": "germanium",
    "graph": "graphite",
    "antim": "antimony",
    "tungs": "tungsten",
}
_URLS = {
    2022: "https://www.sciencebase.gov/catalog/item/6197ccbed34eb622f692ee1c",
    2023: "https://doi.org/10.5066/P9WCYUI6",
    2024: "https://doi.org/10.5066/P144BA54",
    2025: "https://doi.org/10.5066/P13XCP3R",
    2026: "https://doi.org/10.5066/P1WKQ63T",
}
_FIX = "fix the cell or re-download the release"
_LONG_COLUMNS = ("MCS chapter", "Section", "Country", "Statistics", "Statistics_detail", "Unit", "Year", "Value")
_PROD_RE = re.compile(r"^prod_(?:t_)?(est_)?(\d{4})$", re.IGNORECASE)
_RES_RE = re.compile(r"^reserves(?:_t)?(?:_(\d{4}))?$", re.IGNORECASE)

_Parts = list[pd.DataFrame]
# MCS2026 notes repeat these phrases on every row; the note keeps the rest
_BOILERPLATE = (
    r"(?i)^\s*(estimated\.|see appendix c for resource and reserve definitions and "
    r"information concerning data sources\.)\s*(--\s*)?"
)


def read_usgs_mcs(
    path: Path, *, commodities: Mapping[str, str] | None = None, edition: int | None = None
) -> dict[str, pd.DataFrame]:
    """Read a USGS MCS world production/reserves CSV into Chokepoint tables.

    Parameters
    ----------
    path
        An MCS world-data CSV (wide, MCS2022–MCS2025 layouts) or the long MCS2026 commodities CSV.
    commodities
        USGS commodity or chapter name (case-insensitive, e.g. ``"Rare earths"``,
        ``"GRAPHITE (NATURAL)"``) → commodity id. Default :data:`DEFAULT_COMMODITIES`; other
        commodities in the file are skipped. A commodity with more than one production series
        (e.g. mine and refinery) cannot be imported and raises ImportFileError.
    edition
        MCS edition year; default from the ``SOURCE`` column, else ``MCS<year>`` in the file name,
        else (long layout) the latest data year plus one.

    Returns
    -------
    ``{"production", "reserves", "sources"}`` DataFrames with exactly the schema columns.
    ``source_id`` is ``usgs_mcs<edition>_<material>``, e.g. ``usgs_mcs2025_ree``.
    """
    path = Path(path)
    wanted = {_norm(k): v for k, v in (commodities or DEFAULT_COMMODITIES).items()}
    frame = read_text_table(
        path, encodings=("utf-8-sig", "cp1252"), fix="re-download the release", check_header=lambda h: _known(path, h)
    )
    if "MCS chapter" in frame.columns or "Statistics" in frame.columns:
        require_columns(path, frame, _LONG_COLUMNS, "use the unmodified MCS2026 data release")
        long, edition = _from_long(path, frame, wanted, edition)
    else:
        long, edition = _from_wide(path, frame, wanted, edition)
    return _tables(path, long, wanted, edition)


# --------------------------------------------------------------------------- layouts


def _known(path: Path, header: list[str]) -> None:
    """Raise unless line 1 has the Country column every MCS world table has (checked before the rest is read)."""
    if "country" not in {cell.lower() for cell in header}:
        raise file_error(
            path,
            1,
            "COUNTRY",
            None,
            "missing required column: this does not look like a USGS MCS world table",
            "use the unmodified MCS world-data CSV",
        )


def _norm(name: str) -> str:
    text = " ".join(str(name).replace("\u00a0", " ").split()).lower()
    return text.replace("gemanium", "germanium")


def _norm_series(values: pd.Series) -> pd.Series:
    text = values.astype(str).str.replace("\u00a0", " ", regex=False)
    text = text.str.replace(r"\s+", " ", regex=True).str.strip().str.lower()
    return text.str.replace("gemanium", "germanium", regex=False)


def _edition_from(path: Path, frame: pd.DataFrame, col: str | None, given: int | None) -> int | None:
    if given is not None:
        return given
    if col is not None:
        found = frame[col].str.extract(r"(?i)MCS\s*(\d{4})", expand=False).dropna().unique()
        if len(found) > 1:
            raise file_error(
                path, 2, col, ", ".join(sorted(found)), "mixes several MCS editions", "import one edition per file"
            )
        if len(found) == 1:
            return int(found[0])
    match = re.search(r"(?i)mcs[_\- ]?(\d{4})", path.name)
    return int(match.group(1)) if match else None


def _from_wide(
    path: Path, frame: pd.DataFrame, wanted: Mapping[str, str], edition: int | None
) -> tuple[pd.DataFrame, int]:
    cols = {c.replace(" ", "").lower(): c for c in frame.columns}
    fix = "use the unmodified MCS world-data CSV"
    for need in ("country", "type"):
        if need not in cols:
            raise file_error(path, 1, need.upper(), None, "missing required column", fix)
    prod_cols = [(c, m) for c in frame.columns if (m := _PROD_RE.match(c.replace(" ", "")))]
    if not prod_cols:
        raise file_error(path, 1, "PROD_<year>", None, "no production column in the header", fix)
    res_cols = [(c, m) for c in frame.columns if (m := _RES_RE.match(c.replace(" ", "")))]
    source_col = cols.get("source")
    edition = _edition_from(path, frame, source_col, edition)
    if edition is None:
        raise file_error(path, 1, "SOURCE", None, "MCS edition not found in the file", "pass edition=<year>")

    header_years = pd.Series(
        [int(m.group(2)) for _, m in prod_cols] + [int(y) for _, m in res_cols if (y := m.group(1))]
    )
    check_years(path, header_years, pd.Series(1, index=header_years.index), "PROD_<year>", fix)
    _require_world_rows(path, frame, frame[cols["country"]], None)
    ctype = frame[cols["type"]]
    if "commodity" in cols:
        key = _norm_series(frame[cols["commodity"]])
    else:
        first = _norm_series(ctype.str.split(",").str[0])
        code = re.search(r"-([a-z]+)_world", path.name.lower())
        by_file = _FILE_CODES.get(code.group(1), "") if code else ""
        key = first.where(first.isin(list(wanted)) | first.isin(list(DEFAULT_COMMODITIES)), by_file)
        if (key == "").any():
            raise file_error(
                path,
                int(frame["_row"].iloc[0]),
                cols["type"],
                ctype.iloc[0],
                "does not name the commodity",
                "keep the USGS file name (e.g. mcs2024-raree_world.csv)",
            )
    keep = key.isin(list(wanted))
    frame, key, ctype = frame.loc[keep], key.loc[keep], ctype.loc[keep]
    _require_world_rows(path, frame, frame[cols["country"]], key)
    if "unit_meas" in cols:
        unit = frame[cols["unit_meas"]].str.strip().str.lower()
    else:
        low = ctype.str.lower()
        unit = pd.Series("", index=frame.index).mask(low.str.contains("metric ton"), "metric tons")
        unit = unit.mask(low.str.contains("kilogram"), "kilograms")
    kind = ctype.str.lower().str.extract(r"([^,]*production[^,]*)", expand=False).str.strip()
    kind = kind.fillna(ctype.str.strip().str.lower())
    base = pd.DataFrame(
        {"_row": frame["_row"], "key": key, "country": frame[cols["country"]], "unit": unit, "kind": kind}
    )
    prod_note = frame[cols["prod_notes"]] if "prod_notes" in cols else ""
    parts: _Parts = []
    for col, match in prod_cols:
        num = parse_numbers(path, frame[col], frame["_row"], col, _FIX)
        est = "USGS estimate" if match.group(1) else ""
        parts.append(
            base.assign(
                stat="production",
                year=int(match.group(2)),
                field=col,
                value=num["value"],
                flag=num["flag"],
                est=est,
                usgs_note=prod_note,
            )
        )
    res_note_col = cols.get("reserve_notes") or cols.get("reserves_notes")
    res_note = frame[res_note_col] if res_note_col else ""
    for col, match in res_cols:
        num = parse_numbers(path, frame[col], frame["_row"], col, _FIX)
        year = int(match.group(1)) if match.group(1) else edition - 1
        extra = "" if match.group(1) else f"reserves year taken as MCS edition {edition} minus 1"
        parts.append(
            base.assign(
                stat="reserves",
                year=year,
                field=col,
                value=num["value"],
                flag=num["flag"],
                est=extra,
                usgs_note=res_note,
                kind="reserves",
            )
        )
    return pd.concat(parts, ignore_index=True), edition


def _from_long(
    path: Path, frame: pd.DataFrame, wanted: Mapping[str, str], edition: int | None
) -> tuple[pd.DataFrame, int]:
    key = _norm_series(frame["MCS chapter"])
    stat = frame["Statistics"].str.strip().str.lower()
    keep = frame["Section"].str.contains("world", case=False) & stat.isin(["production", "reserves"])
    years = frame["Year"].where(keep).dropna().str.strip()
    rows = frame.loc[years.index, "_row"]
    refuse_first(
        path, ~years.str.fullmatch(r"\d{4}"), rows, "Year", frame.loc[years.index, "Year"], "is not a year", _FIX
    )
    check_years(path, years, rows, "Year", _FIX)
    world = frame["Section"].str.contains("world", case=False)
    _require_world_rows(path, frame.loc[world], frame.loc[world, "Country"], None)
    edition = _edition_from(path, frame, None, edition)
    if edition is None:
        if years.empty:
            raise file_error(
                path,
                1,
                "Section",
                None,
                "no world production table",
                "pass edition=<year> or use the unmodified MCS2026 data release",
            )
        edition = int(years.astype(int).max()) + 1
    keep &= key.isin(list(wanted))
    frame, key, stat = frame.loc[keep], key.loc[keep], stat.loc[keep]
    _require_world_rows(path, frame, frame["Country"], key + ", " + stat)
    num = parse_numbers(path, frame["Value"], frame["_row"], "Value", _FIX)
    notes = frame["Notes"] if "Notes" in frame.columns else pd.Series("", index=frame.index)
    est = notes.str.contains(r"\bestimated\b", case=False).map({True: "USGS estimate", False: ""})
    kind = frame["Statistics_detail"].str.replace(r"(?i):\s*rounded\s*$", "", regex=True)
    long = pd.DataFrame(
        {
            "_row": frame["_row"],
            "key": key,
            "country": frame["Country"],
            "unit": frame["Unit"].str.strip().str.lower(),
            "kind": kind.str.strip().str.lower(),
            "stat": stat,
            "year": frame["Year"].str.strip().astype("int64"),
            "field": "Value",
            "value": num["value"],
            "flag": num["flag"],
            "est": est,
            "usgs_note": notes.str.replace(_BOILERPLATE, "", regex=True),
        }
    )
    return long.reset_index(drop=True), edition


def _require_world_rows(path: Path, frame: pd.DataFrame, country: pd.Series, groups: pd.Series | None) -> None:
    """Raise when a world table looks truncated: USGS ends every commodity's table with its world
    total, so the last row of the file (``groups`` None) and every commodity (or commodity and
    statistic) in ``groups`` must have a world-total row."""
    if frame.empty:
        return
    is_world = country.astype(str).str.replace("\u00a0", " ", regex=False).str.strip().str.match(_WORLD_RE)
    fix = "re-download the release: the file looks truncated"
    if groups is None:
        if not is_world.iloc[-1]:
            raise file_error(
                path,
                int(frame["_row"].iloc[-1]),
                "COUNTRY",
                country.iloc[-1],
                "is the last row, not a world total",
                fix,
            )
        return
    has_world = is_world.groupby(groups).any()
    if not has_world.all():
        name = str(has_world.index[~has_world.to_numpy()][0])
        row = int(frame.loc[groups == name, "_row"].iloc[-1])
        raise file_error(path, row, "COUNTRY", name, "has no world-total row", fix)


# --------------------------------------------------------------------------- tables


def _tables(path: Path, long: pd.DataFrame, wanted: Mapping[str, str], edition: int) -> dict[str, pd.DataFrame]:
    prod = long["stat"] == "production"
    kinds = long.loc[prod].groupby("key")["kind"].unique()
    several = kinds[kinds.map(len) > 1]
    if len(several):
        name = str(several.index[0])
        raise file_error(
            path,
            None,
            "TYPE",
            name,
            f"has several production series ({', '.join(several.iloc[0])})",
            "import a copy of the file that keeps one series for this commodity",
        )
    long = long.loc[long["value"].notna()].copy()
    unit = long["unit"]
    factor = pd.Series(float("nan"), index=long.index)
    factor = factor.mask(unit.str.contains("metric ton"), 1.0).mask(unit.str.contains("kilogram"), 0.001)
    fix = "import only commodities reported in metric tons or kilograms"
    problem = "is not a mass unit (metric tons or kilograms)"
    refuse_first(path, factor.isna(), long["_row"], "unit", long["unit"], problem, fix)
    unit_note = factor.map({1.0: "", 0.001: "converted from kilograms (÷1000)"})
    regions = region_ids(path, long["country"], long["_row"], "COUNTRY")
    slug = long["key"].map({k: _SLUGS.get(k, re.sub(r"\W+", "_", k).strip("_")) for k in long["key"].unique()})
    usgs_note = long["usgs_note"].fillna("").astype(str).str.strip()
    usgs_note = usgs_note.mask(usgs_note.str.lower().isin(["", "na", "nan"]), "")
    out = pd.DataFrame(
        {
            "region_id": regions["region_id"],
            "commodity_id": long["key"].map(wanted),
            "year": long["year"].astype("int64"),
            "value": long["value"] * factor,
            "source_id": f"usgs_mcs{edition}_" + slug,
            "basis": "reported",
            "note": join_notes(
                regions["note"],
                long["est"],
                long["flag"],
                unit_note,
                ("USGS note: " + usgs_note).where(usgs_note != "", ""),
            ),
            "stat": long["stat"],
            "_row": long["_row"],
            "field": long["field"],
        }
    )
    dup = out.duplicated(["stat", "region_id", "commodity_id", "year"], keep="first")
    if dup.any():
        i = dup.idxmax()
        raise file_error(
            path,
            out.at[i, "_row"],
            "COUNTRY",
            long.at[i, "country"],
            f"appears twice for {out.at[i, 'commodity_id']} {out.at[i, 'year']}",
            "remove the duplicate row",
        )
    production = conform(out.loc[out["stat"] == "production"].rename(columns={"value": "production_t"}), "production")
    reserves = conform(out.loc[out["stat"] == "reserves"].rename(columns={"value": "reserves_t"}), "reserves")
    return {"production": production, "reserves": reserves, "sources": _sources(path, long.assign(slug=slug), edition)}


def _sources(path: Path, long: pd.DataFrame, edition: int) -> pd.DataFrame:
    prod = long.loc[long["stat"] == "production"]
    first = long.drop_duplicates("slug")
    kinds = prod.drop_duplicates("key").set_index("key")["kind"]
    has_res = set(long.loc[long["stat"] == "reserves", "key"])
    label = first["key"].str.capitalize()
    kind = first["key"].map(kinds).fillna("production")
    section = label + ": world " + kind + first["key"].map(lambda k: " and reserves" if k in has_res else "")
    frame = pd.DataFrame(
        {
            "source_id": f"usgs_mcs{edition}_" + first["slug"],
            "publisher": "U.S. Geological Survey",
            "title": f"Mineral Commodity Summaries {edition}",
            "section": section,
            "published_year": edition,
            "url": _URLS.get(edition),
            "note": f"USGS MCS{edition} data release, file {path.name}; U.S. Government work (public domain)",
        }
    )
    return conform(frame, "sources")
