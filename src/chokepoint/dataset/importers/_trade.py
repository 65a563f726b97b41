"""Trade partners and trade rows, shared by the Comtrade and BACI importers: numeric partner codes to
region ids, and reported flows aggregated to one ``trade`` row per key."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from chokepoint.dataset.importers._common import (
    REST_OF_WORLD,
    WORLD,
    _coco,
    _iso3_codes,
    file_error,
    join_notes,
)
from chokepoint.regions import country_converter

__all__ = ["TRADE_CODES", "aggregate_trade", "trade_region_ids"]

# --------------------------------------------------------------------------- trade partners

#: Numeric codes used by UN Comtrade and CEPII BACI that differ from ISO 3166 numeric codes.
TRADE_CODES: Mapping[str, tuple[str, str]] = {
    "842": ("USA", ""),
    "841": ("USA", "USA incl. Puerto Rico and Virgin Islands"),
    "251": ("FRA", ""),
    "579": ("NOR", ""),
    "757": ("CHE", ""),
    "699": ("IND", ""),
    "381": ("ITA", ""),
    "490": ("TWN", "'Other Asia, nes' (code 490), i.e. Taiwan"),
    "58": ("BEL", "Belgium-Luxembourg (until 1998) assigned to BEL"),
    "711": ("ZAF", "Southern African Customs Union (until 1999) assigned to ZAF"),
}
_ISO_OVERRIDES: Mapping[str, str] = {"S19": "490", "ZA1": "711"}
_NES_RE = re.compile(r"\bnes\b|bunkers|free zones?|special categories|neutral zone|areas", re.IGNORECASE)


def trade_region_ids(
    path: Path, codes: pd.Series, isos: pd.Series, descs: pd.Series, rows: pd.Series, field: str
) -> pd.DataFrame:
    """Trade partner (numeric code, ISO3, description) → region id, vectorised over unique triples.

    World (code 0, ``W00``) → WLD; ``Other Asia, nes`` (490, ``S19``) → TWN; other numeric codes
    that Comtrade and BACI use instead of ISO numeric (842 USA, 251 FRA, 699 IND, 757 CHE, 579 NOR,
    381 ITA, 58 Belgium-Luxembourg, 711 SACU) via :data:`TRADE_CODES`; a valid ISO3; else the
    UN numeric code through country_converter; unspecified areas (``_X``, ``X1``, "Areas, nes",
    "Bunkers", "Free Zones") → ROW with the original name in the note. Anything else raises.
    """
    triples = pd.DataFrame(
        {
            "code": codes.astype(str).str.strip().str.replace(r"\.0$", "", regex=True),
            "iso": isos.astype(str).str.strip().str.upper(),
            "desc": descs.astype(str).str.strip(),
        },
        index=codes.index,
    )
    triples["code"] = triples["code"].where(triples["code"] != "", triples["iso"].map(_ISO_OVERRIDES).fillna(""))
    uniq = triples.drop_duplicates()
    iso_cands = sorted(set(uniq["iso"]))
    isos_ok = {i: i for i in iso_cands if i in _iso3_codes()}
    known_un = set(country_converter().data["UNcode"].dropna().astype(int).astype(str))
    code_cands = sorted(
        {
            c
            for c, i in zip(uniq["code"], uniq["iso"], strict=True)
            if c in known_un and c not in TRADE_CODES and not isos_ok.get(i)
        }
    )
    un_ok = dict(zip(code_cands, _coco(code_cands, src="UNcode"), strict=True))
    found: list[tuple[str, str, str, str, str]] = []
    for code, iso, desc in uniq.itertuples(index=False, name=None):
        label = desc or iso or code
        if code == "0" or iso == "W00" or desc.lower() == "world":
            hit = (WORLD, "")
        elif code in TRADE_CODES or iso in _ISO_OVERRIDES:
            hit = TRADE_CODES[code if code in TRADE_CODES else _ISO_OVERRIDES[iso]]
        elif isos_ok.get(iso):
            hit = (str(isos_ok[iso]), "")
        elif re.fullmatch(r"_X|X\w*", iso) or _NES_RE.search(desc):
            hit = (REST_OF_WORLD, f"unspecified area {label!r} counted as ROW")
        elif un_ok.get(code):
            hit = (str(un_ok[code]), "")
        else:
            same = (triples["code"] == code) & (triples["iso"] == iso) & (triples["desc"] == desc)
            i = int(np.flatnonzero(same.to_numpy())[0])
            raise file_error(
                path,
                int(rows.iloc[i]),
                field,
                label,
                "is not a country code Chokepoint recognises",
                "check the code against the UN M49 list or drop the row",
            )
        found.append((code, iso, desc, *hit))
    table = pd.DataFrame(found, columns=["code", "iso", "desc", "region_id", "note"])
    merged = triples.merge(table, on=["code", "iso", "desc"], how="left")
    return pd.DataFrame(
        {"region_id": merged["region_id"].to_numpy(), "note": merged["note"].to_numpy()}, index=codes.index
    )


def aggregate_trade(rows: pd.DataFrame) -> pd.DataFrame:
    """Collapse trade rows to one per (exporter, importer, commodity, year).

    ``rows`` has exporter_id, importer_id, commodity_id, year, quantity_t, value_usd, side
    (``importer``/``exporter``/``reconciled``), who (e.g. "reported by CHN (imports)"), hs (code)
    and extra (note fragments). Rows of one reporter side are summed (different HS codes of the
    same commodity, or several unspecified partners folded into ROW); a quantity is missing when
    any summed part lacks it. When both the importer and the exporter reported the same flow
    (mirror flows), the importer's report is kept and the note says what was dropped; its side is
    the row's ``reporter_id``.
    """
    key = ["exporter_id", "importer_id", "commodity_id", "year"]
    rows = rows.assign(q_missing=rows["quantity_t"].isna())
    grouped = rows.groupby([*key, "side"], sort=True, dropna=False)
    summed = grouped.agg(
        quantity_t=("quantity_t", "sum"),
        value_usd=("value_usd", lambda s: s.sum(min_count=1)),
        q_missing=("q_missing", "any"),
        who=("who", "first"),
        hs=("hs", lambda s: " + ".join(dict.fromkeys(s))),
        extra=("extra", lambda s: "; ".join(dict.fromkeys(x for x in s if x))),
        parts=("hs", "size"),
    ).reset_index()
    summed["quantity_t"] = summed["quantity_t"].mask(summed["q_missing"])
    summed_note = np.where(summed["parts"] > 1, f" ({'summed'})", "")
    summed["note"] = summed["who"] + ", HS " + summed["hs"] + summed_note
    summed["note"] = join_notes(summed["note"], summed["extra"])
    rank = summed["side"].map({"importer": 0, "reconciled": 0, "exporter": 1})
    summed = summed.assign(_rank=rank).sort_values([*key, "_rank"])
    dropped = summed.duplicated(key, keep="first")
    kept = summed.loc[~dropped]
    mirror = summed.loc[dropped, [*key, "who", "value_usd"]]
    if len(mirror):
        mirror = mirror.assign(
            mirror_note="mirror report "
            + mirror["who"].str.replace("reported by ", "by ", regex=False)
            + " of "
            + mirror["value_usd"].map(lambda v: "n/a" if pd.isna(v) else f"{v:,.0f}")
            + " USD dropped (importer report "
            "preferred)"
        )
        kept = kept.merge(mirror[[*key, "mirror_note"]], on=key, how="left")
        kept["note"] = join_notes(kept["note"], kept["mirror_note"])
    # the trade table's reporter_id: the side whose statistics the kept row is (none for BACI's reconciled flows)
    reporter = np.where(kept["side"] == "importer", kept["importer_id"], kept["exporter_id"])
    kept["reporter_id"] = pd.Series(reporter, index=kept.index).where(kept["side"] != "reconciled")
    return kept.reset_index(drop=True)
