"""Importer for CEPII BACI bilateral trade files.

Format (BACI V2021xx and later): the main file ``BACI_HS92_Y2022_V202501.csv`` has columns
``t, i, j, k, v, q`` — year, exporter code, importer code, HS6 product, value in **thousand**
US dollars (FOB) and quantity in metric tons. Quirks: ``k`` loses its leading zero for chapters
01–09 (``10121`` is ``010121``); a missing quantity is written ``NA`` padded with spaces.
Country codes are BACI's own numeric codes (842 USA, 251 FRA, 699 IND, 490 "Other Asia, nes"),
resolved through ``country_codes_V2025xx.csv`` (``country_code, country_name, country_iso2,
country_iso3``; the pre-2023 headers ``country_name_abbreviation, iso_3digit_alpha`` work too).
``product_codes_HS92_V2025xx.csv`` (``code, description``), when present, names the products in
the note and rejects codes it does not list.

BACI reconciles importer and exporter reports into one flow, so there is no mirror to choose;
rows of several HS codes of one commodity are summed. ``value_usd`` = v × 1000; ``quantity_t`` = q.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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

__all__ = ["read_baci"]

_COLUMNS = ("t", "i", "j", "k", "v", "q")
_FIX = "re-download the BACI release"
_DUP_FIX = "keep one row per code (use the code list of the BACI release unchanged)"


def read_baci(
    path: Path,
    country_codes: Path | None = None,
    product_codes: Path | None = None,
    *,
    hs_map: Mapping[str, str] | None = None,
    source_id: str | None = None,
) -> dict[str, pd.DataFrame]:
    """Read a CEPII BACI file into the ``trade`` and ``sources`` tables.

    Parameters
    ----------
    path
        The main BACI CSV (``t,i,j,k,v,q``).
    country_codes, product_codes
        The release's code lists; default: ``country_codes_*.csv`` and ``product_codes_*.csv``
        beside ``path`` (the country file is required, the product file optional).
    hs_map
        HS6 code → commodity id, overriding the mapping from ``commodities.csv``. Only products
        that map to a commodity are kept.
    source_id
        Default ``cepii_baci_<hs>_v<version>`` from the file name, e.g. ``cepii_baci_hs92_v202501``.

    Returns
    -------
    ``{"trade", "sources"}`` DataFrames with exactly the schema columns.
    """
    path = Path(path)
    header = pd.DataFrame(columns=[c.lower() for c in read_header(path, fix=_FIX)])
    require_columns(path, header, _COLUMNS, "use an unmodified BACI file (t,i,j,k,v,q)")
    frame = _read_mapped_rows(path, hs_map)
    frame.columns = [c.strip().lower() for c in frame.columns]
    country_codes = country_codes or _beside(path, "country_codes_*.csv")
    product_codes = product_codes or _beside(path, "product_codes_*.csv")
    if country_codes is None:
        raise file_error(
            path,
            None,
            None,
            None,
            "has no country_codes_*.csv beside it",
            "pass country_codes=<path to the release's country_codes_*.csv>",
        )

    data = _checked_codes(path, frame[[*_COLUMNS, "_row"]].copy())
    descriptions = _checked_products(path, data, product_codes)
    mapping = hs_commodity_map(sorted(set(data["k"])), hs_map)
    data = data.assign(commodity_id=data["k"].map(mapping)).dropna(subset=["commodity_id"])
    if data.empty:
        raise file_error(
            path,
            2,
            "k",
            None,
            "no product maps to a Chokepoint commodity",
            "pass hs_map={hs6: commodity_id} or check the HS codes",
        )
    trade = aggregate_trade(_flows(path, data, country_codes, descriptions))
    match = re.search(r"(?i)BACI_(HS\d\d)_Y\d{4}_V(\d{6})", path.name)
    hs_rev, version = (match.group(1).upper(), match.group(2)) if match else ("HS", "")
    sid = source_id or ("cepii_baci_" + hs_rev.lower() + (f"_v{version}" if version else ""))
    trade = trade.assign(
        source_id=sid,
        basis="reported",
        note=join_notes(
            trade["note"], pd.Series("value = v x 1000 USD (FOB); quantity is product weight in t", index=trade.index)
        ),
    )
    sources = _source(path, country_codes, sid, hs_rev, version, trade["year"], sorted(set(data["k"])))
    return {"trade": conform(trade, "trade"), "sources": conform(sources, "sources")}


def _checked_codes(path: Path, data: pd.DataFrame) -> pd.DataFrame:
    """``data`` with its year and codes stripped (products as 6 digits); a bad one is a one-line error."""
    for col in ("t", "i", "j", "k"):
        data[col] = data[col].str.strip()
        pattern = r"\d{4}" if col == "t" else r"\d{1,6}"
        problem = "is not a " + ("year" if col == "t" else "numeric code")
        refuse_first(path, ~data[col].str.fullmatch(pattern), data["_row"], col, data[col], problem, _FIX)
    data["k"] = data["k"].str.zfill(6)
    check_years(path, data["t"], data["_row"], "t", _FIX)
    # BACI has one row per year, exporter, importer and product: a repeated one would be summed twice
    twice = data.duplicated(["t", "i", "j", "k"]).reset_index(drop=True)
    fix = "remove the repeated row (use the BACI file unchanged)"
    refuse_first(path, twice, data["_row"], "k", data["k"], "repeats an earlier row (same t, i, j and k)", fix)
    return data


def _checked_products(path: Path, data: pd.DataFrame, product_codes: Path | None) -> Mapping[str, str]:
    """HS6 code → description from the release's product list (empty without one); a product
    missing from it is a one-line error."""
    if product_codes is None:
        return {}
    descriptions = _product_codes(product_codes)
    unknown = ~data["k"].isin(list(descriptions))
    fix = "use the product list of the same BACI release"
    refuse_first(path, unknown, data["_row"], "k", data["k"], f"is not in {product_codes.name}", fix)
    return descriptions


def _flows(path: Path, data: pd.DataFrame, country_codes: Path, descriptions: Mapping[str, str]) -> pd.DataFrame:
    """One trade row per BACI row: regions resolved, value in USD (BACI's is thousands), weight in t."""
    value = parse_numbers(path, data["v"], data["_row"], "v", _FIX)
    qty = parse_numbers(path, data["q"], data["_row"], "q", _FIX)
    names = _country_codes(country_codes)
    exp, imp = (
        trade_region_ids(
            path,
            data[col],
            data[col].map(names["iso3"]).fillna(""),
            data[col].map(names["name"]).fillna(""),
            data["_row"],
            col,
        )
        for col in ("i", "j")
    )
    desc = data["k"].map(descriptions).fillna("") if descriptions else ""
    hs = data["k"] + (" (" + desc + ")" if descriptions else "")
    return pd.DataFrame(
        {
            "exporter_id": exp["region_id"],
            "importer_id": imp["region_id"],
            "commodity_id": data["commodity_id"],
            "year": data["t"].astype("int64"),
            "quantity_t": qty["value"],
            "value_usd": value["value"] * 1000.0,
            "side": "reconciled",
            "who": "CEPII BACI reconciled flow",
            "hs": hs,
            "extra": join_notes(
                exp["note"],
                imp["note"],
                pd.Series(np.where(qty["value"].isna(), "quantity not available", ""), index=data.index),
            ).fillna(""),
        }
    )


def _source(
    path: Path, country_codes: Path, sid: str, hs_rev: str, version: str, years: pd.Series, products: list[str]
) -> pd.DataFrame:
    """The ``sources`` row citing this BACI release."""
    return pd.DataFrame(
        {
            "source_id": [sid],
            "publisher": ["CEPII (Gaulier and Zignago)"],
            "title": [
                "BACI: International Trade Database at the Product-Level" + (f", version {version}" if version else "")
            ],
            "section": [f"{hs_rev} bilateral flows {years.min()}-{years.max()}, products " + ", ".join(products)],
            "published_year": [int(version[:4]) if version else int(years.max()) + 1],
            "url": ["https://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=37"],
            "note": [
                f"File {path.name}; country codes from {country_codes.name}. Licence: Etalab "
                "Open Licence 2.0 (cite Gaulier and Zignago 2010, CEPII WP 2010-23)."
            ],
        }
    )


def _read_mapped_rows(path: Path, hs_map: Mapping[str, str] | None, chunk_rows: int = 1_000_000) -> pd.DataFrame:
    """The rows of a BACI file whose product maps to a commodity, with their file rows.

    A release holds ~10 million rows of which a few thousand are rare-earth products, so the file
    is scanned in chunks by pandas' C parser and only mapped rows are kept. Anything the fast
    path cannot parse is re-read by :func:`read_text_table`, which names the bad row.
    """
    checked_input(path, streaming=True)
    scanned = 0
    try:
        kept = []
        reader = pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=chunk_rows, encoding="utf-8-sig")
        with reader:  # closed even when a chunk is refused
            for chunk in reader:
                chunk.columns = [c.strip().lower() for c in chunk.columns]
                # the C parser pads a short row with "" and BACI writes every cell (NA for no quantity),
                # so an empty cell is a short or damaged row that would otherwise be dropped silently
                empty = chunk.eq("")
                if empty.to_numpy().any():
                    at = empty.any(axis=1).to_numpy().nonzero()[0][0]
                    field = str(empty.columns[empty.iloc[at].to_numpy()][0])
                    raise file_error(
                        path, int(chunk.index[at]) + 2, field, None, "is empty (a short or damaged row)", _FIX
                    )
                scanned += len(chunk)
                codes = chunk["k"].str.strip().str.zfill(6)
                mapping = hs_commodity_map(sorted(set(codes)), hs_map)
                # codes that are not six digits stay in, so the careful checks below can reject them
                keep = codes.isin(list(mapping)) | ~codes.str.fullmatch(r"\d{6}")
                kept.append(chunk[keep].assign(_row=chunk.index[keep] + 2))
    except ImportFileError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError):
        return read_text_table(path, fix=_FIX)  # names the bad row (files above the whole-read limit: the size)
    if scanned == 0:
        raise file_error(path, 2, None, None, "has a header but no data rows", _FIX)
    return pd.concat(kept, ignore_index=True)


def _beside(path: Path, pattern: str) -> Path | None:
    """The last (newest version) file matching ``pattern`` in the folder of ``path``."""
    found = sorted(path.parent.glob(pattern))
    return found[-1] if found else None


def _country_codes(path: Path) -> pd.DataFrame:
    """BACI country list → frame indexed by code (str) with ``iso3`` and ``name``."""
    frame = read_text_table(path, fix=_FIX)
    cols = {c.strip().lower(): c for c in frame.columns}
    iso = cols.get("country_iso3") or cols.get("iso_3digit_alpha")
    name = cols.get("country_name") or cols.get("country_name_abbreviation")
    if "country_code" not in cols or iso is None or name is None:
        raise file_error(
            path, 1, "country_iso3", None, "missing required column", "use the country_codes file of the BACI release"
        )
    codes = frame[cols["country_code"]].str.strip().str.lstrip("0").replace("", "0")
    twice = codes.duplicated()
    refuse_first(path, twice, frame["_row"], "country_code", frame[cols["country_code"]], "is listed twice", _DUP_FIX)
    return pd.DataFrame(
        {"iso3": frame[iso].str.strip().to_numpy(), "name": frame[name].str.strip().to_numpy()}, index=codes.to_numpy()
    )


def _product_codes(path: Path) -> Mapping[str, str]:
    frame = read_text_table(path, fix=_FIX)
    require_columns(path, frame, ("code", "description"), "use the product_codes file of the BACI release")
    codes = frame["code"].str.strip().str.zfill(6)
    refuse_first(path, codes.duplicated(), frame["_row"], "code", frame["code"], "is listed twice", _DUP_FIX)
    return dict(zip(codes, frame["description"].str.strip(), strict=True))
