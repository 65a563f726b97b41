"""Rebuild ``src/chokepoint/data/trade.csv`` from the shared reference trade files.

Reads ``../shared/data/reference/trade/`` (SOURCES.md §3 and §7), keeps every annual bilateral
flow whose HS code maps to one commodity of the dataset, and writes one row per
(exporter, importer, commodity, year, reporter). Rows that do not come from the reference files
(2009–2014 press figures, the Lynas AUS → MYS feed) are kept from the current trade.csv as they
are. Run from the repository root: ``.venv/bin/python scripts/build_trade.py``. The rules (what
maps, what is left out and why) are in docs/data.md, "Trade".
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "data" / "reference" / "trade"
DATA = ROOT / "src" / "chokepoint" / "data"
COLUMNS = [
    "exporter_id",
    "importer_id",
    "commodity_id",
    "year",
    "reporter_id",
    "quantity_t",
    "value_usd",
    "source_id",
    "basis",
    "quality",
    "note",
]
YEARS = {2010, *range(2018, 2026)}
REST = "ROW"

# Sources this script writes; rows citing anything else are curated by hand and kept as they are.
GACC = "gacc_china_customs"
GACC_COMTRADE = "gacc_via_un_comtrade"
CENSUS_COMTRADE = "census_via_un_comtrade"
ECA = "eca_crm_2026"
GENERATED = {GACC, GACC_COMTRADE, CENSUS_COMTRADE, ECA}
# Sources of the rows this script replaced (the same figures, read from the same extracts).
REPLACED = {
    "un_comtrade_hs2846_chn_imports",
    "un_comtrade_us_china_hs2846_280530",
    "un_comtrade_us_imports_850511_concentration",
    "argus_china_magnet_exports_2020",
    "adamas_china_magnet_exports_2024",
}

# HS code → commodity. 2846 as a whole is separated compounds by default; see MIXED_FEED.
HS_COMMODITY = {
    "253090": "ree_concentrate",
    "2530902000": "ree_concentrate",
    "2612/2530": "ree_concentrate",
    "2846": "ree_oxide",
    "284610": "ree_oxide",
    "284690": "ree_oxide",
    "280530": "ree_metal",
    "850511": "ndfeb_magnet",
    "85051110": "ndfeb_magnet",
    "8505111000": "ndfeb_magnet",
}
# Origins whose HS 2846 shipments to China are unseparated mixed carbonate and mixed oxide
# (separation feed), booked as concentrate, as commodities.csv defines it: GITI's split of China's
# 2023 imports puts 95% of the 'mixed rare-earth oxides' line on Myanmar and 38% of mixed carbonate
# on Laos (bilateral_trade_compiled rows 928-942).
MIXED_FEED = {"MMR", "LAO"}
MIXED_FEED_NOTE = (
    "Booked as ree_concentrate, not the HS 2846 default ree_oxide: {origin}'s HS 2846 shipments to China are "
    "mixed rare-earth carbonate and unseparated mixed oxides, i.e. separation feed (GITI's 8-digit split of "
    "China's 2023 imports: Myanmar 95% of 'mixed RE oxides' 2846901, Laos 38% of mixed carbonate 28469). "
    "Product weight, not REO content."
)


@dataclass
class Row:
    exporter_id: str
    importer_id: str
    commodity_id: str
    year: int
    reporter_id: str
    source_id: str
    quality: str
    basis: str = "reported"
    quantity_t: float | None = None
    value_usd: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str, int, str]:
        return (self.exporter_id, self.importer_id, self.commodity_id, self.year, self.reporter_id)

    def record(self) -> dict[str, str]:
        return {
            "exporter_id": self.exporter_id,
            "importer_id": self.importer_id,
            "commodity_id": self.commodity_id,
            "year": str(self.year),
            "reporter_id": self.reporter_id,
            "quantity_t": _number(self.quantity_t),
            "value_usd": _number(self.value_usd, digits=0),
            "source_id": self.source_id,
            "basis": self.basis,
            "quality": self.quality,
            "note": " ".join(self.notes),
        }


def _number(x: float | None, digits: int = 3) -> str:
    if x is None:
        return ""
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{x:.0f}"
    return text or "0"


def _regions() -> set[str]:
    with (DATA / "regions.csv").open(encoding="utf-8") as fh:
        return {r["region_id"] for r in csv.DictReader(fh)}


def _read(name: str) -> list[dict[str, str]]:
    with (REFERENCE / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def us_imports(regions: set[str]) -> list[Row]:
    """US-reported imports by partner (value, USD): one row per partner region, commodity and year.

    Partners without a region of their own are summed into ROW (whose note lists them), so the
    partner rows of a code-year add up to the US total; HS 284610 and 284690 add up to ree_oxide."""
    groups: dict[tuple[str, str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in _read("bilateral_trade_compiled_2010_2025.csv"):
        if not r["reporter"].startswith("USA (importer) via UN Comtrade"):
            continue
        partner = r["exporter_iso3"] if r["exporter_iso3"] in regions else REST
        key = (partner, HS_COMMODITY[r["hs_code"]], int(r["period"]))
        groups[key][f"{r['hs_code']}:{r['exporter_iso3']}"] += float(r["value"])
    rows = []
    for (partner, commodity, year), parts in sorted(groups.items()):
        codes = sorted({p.split(":")[0] for p in parts})
        row = Row(partner, "USA", commodity, year, "USA", CENSUS_COMTRADE, "primary", value_usd=sum(parts.values()))
        row.notes.append(
            f"US-reported imports (US Census Bureau, imports for consumption, customs value) as published in UN "
            f"Comtrade (reporter 842, primaryValue), HS {'+'.join(codes)}"
            + (" (permanent magnets of metal: NdFeB, SmCo and AlNiCo together)" if commodity == "ndfeb_magnet" else "")
            + "."
        )
        if partner == REST:
            members = sorted({p.split(":")[1] for p in parts})
            row.notes.append(f"ROW = sum over partners without a region of their own: {' '.join(members)}.")
        if year == 2025:
            row.notes.append("2025 as exported by the compiling repository; completeness of the year not verified.")
        row.notes.append(
            "Compiled from akashok1/semiconductor-rare-earth-supply-chain-risk @ 72a6515c exports/"
            "fct_supplier_share.csv (shared reference trade/comtrade_us_imports_ree_by_partner_2018_2025_akashok1.csv; "
            "totals as in un_comtrade_us_imports_850511_concentration)."
        )
        rows.append(row)
    return rows


def _kg(text: str) -> float | None:
    return float(text) / 1000.0 if text not in ("", None) else None


def us_china_comtrade() -> list[Row]:
    """Both sides of the US–China flows (and each side's exports to the world) from the raw Comtrade rows."""
    rows = []
    for r in _read("comtrade_us_china_hs2846_280530_2020_2024_redliana.csv"):
        reporter = {"842": "USA", "156": "CHN"}[r["reporterCode"]]
        partner = {"842": "USA", "156": "CHN", "0": "WLD"}[r["partnerCode"]]
        code, flow, year = r["cmdCode"], r["flowCode"], int(r["refYear"])
        if flow == "M" and reporter == "CHN":
            continue  # China's imports by origin come from the 1993-2024 extract (all partners)
        if flow == "M" and partner == "WLD":
            continue  # a total of imports has no exporter; the partner rows carry it
        exporter, importer = (partner, reporter) if flow == "M" else (reporter, partner)
        commodity = HS_COMMODITY[code]
        note = []
        if reporter == "USA" and flow == "X" and code == "2846":
            commodity = "ree_concentrate"
            note.append(
                "Booked as ree_concentrate, not the HS 2846 default: the US exports MP Materials' Mountain Pass "
                "bastnaesite concentrate under 2846, which China's customs record as ore (HS 2530902000: 55,000 t "
                "from the US in 2024, SMM) while reporting almost no 2846 from the US."
            )
        row = Row(exporter, importer, commodity, year, reporter, _comtrade_source(reporter), "primary")
        row.quantity_t = _kg(r["netWgt"])
        row.value_usd = float(r["primaryValue"])
        if row.quantity_t == 0.0:
            row.quantity_t = None  # Comtrade writes 0 for an estimate it did not make
        side = "imports" if flow == "M" else "exports"
        who = "US-reported" if reporter == "USA" else "China-reported"
        agency = "US Census Bureau" if reporter == "USA" else "China customs, GACC"
        note.insert(
            0,
            f"{who} {side} ({agency}) as published in UN Comtrade, HS {code}, net weight "
            f"{r['netWgt']} kg / 1000 = t product weight, not REO content; value = primaryValue "
            f"({'CIF' if flow == 'M' else 'FOB'}, current USD)."
            + (" Net weight flagged as estimated by Comtrade." if r["isNetWgtEstimated"] == "True" else ""),
        )
        note.append(
            "Compiled from Redliana/cmm-data @ 99a987b API_Scripts/gold_qa_data/heavy_ree_trade_data.csv "
            "(shared reference trade/comtrade_us_china_hs2846_280530_2020_2024_redliana.csv; "
            "un_comtrade_us_china_hs2846_280530)."
        )
        row.notes = note
        rows.append(row)
    return rows


def _comtrade_source(reporter: str) -> str:
    return CENSUS_COMTRADE if reporter == "USA" else GACC_COMTRADE


def china_imports_2846(regions: set[str]) -> list[Row]:
    """China-reported imports of HS 2846 by origin, for the model's years; origins without a region go to ROW."""
    groups: dict[tuple[str, int], list[dict[str, str]]] = defaultdict(list)
    for r in _read("comtrade_china_imports_hs2846_by_origin_1993_2024.csv"):
        year = int(r["year"])
        if year not in YEARS or r["partner_iso"] in ("W00", "CHN"):
            continue  # the World total has no exporter; partner China is re-imports
        partner = r["partner_iso"].strip() if r["partner_iso"].strip() in regions else REST
        groups[(partner, year)].append(r)
    rows = []
    for (partner, year), parts in sorted(groups.items()):
        commodity = "ree_concentrate" if partner in MIXED_FEED else "ree_oxide"
        weights = [_kg(p["net_weight_kg"]) for p in parts]
        row = Row(partner, "CHN", commodity, year, "CHN", GACC_COMTRADE, "primary")
        row.quantity_t = sum(w for w in weights if w is not None) if any(w is not None for w in weights) else None
        row.value_usd = sum(float(p["primary_value_usd"]) for p in parts)
        est = any(p["net_weight_estimated"] == "True" for p in parts)
        row.notes.append(
            "China-reported imports (China customs, GACC) as published in UN Comtrade (reporter 156), HS 2846 "
            "(4-digit), net weight kg / 1000 = t product weight, not REO content; value = primaryValue (CIF, "
            "current USD)." + (" Net weight flagged as estimated by Comtrade." if est else "")
        )
        if partner in MIXED_FEED:
            row.notes.append(MIXED_FEED_NOTE.format(origin=partner))
        if partner == REST:
            names = sorted({p["partner_desc"] for p in parts})
            row.notes.append(f"ROW = sum over origins without a region of their own: {'; '.join(names)}.")
        row.notes.append(
            "Compiled from therealjameswilson/critical-minerals-records-stage-v3 @ a67e3d4 "
            f"data/raw/un_comtrade_china/2846/{year}.json (shared reference "
            "trade/comtrade_china_imports_hs2846_by_origin_1993_2024.csv; un_comtrade_hs2846_chn_imports)."
        )
        rows.append(row)
    return rows


# hs_code strings of the compiled file that name exactly one commodity's code (sub-lines of HS 2846
# such as '2846 (NdPr compounds)' and every customs aggregate are left out: docs/data.md says why).
COMPILED_HS = {
    "8505111000": "ndfeb_magnet",
    "85051110": "ndfeb_magnet",
    "8505111000 (+alloys)": "ndfeb_magnet",
    "850511 (permanent magnets used by EU industry)": "ndfeb_magnet",
    "2530902000 (bastnaesite)": "ree_concentrate",
    "2530902000 (RE metal ore/concentrate)": "ree_concentrate",
    "2530902000 (RE metal ore)": "ree_concentrate",
    "2612/2530 (monazite)": "ree_concentrate",
    "280530": "ree_metal",
}
# Outlets that sources.csv already describes (the outlet's row is cited in the note).
OUTLET_SOURCES = {
    "https://mineralprices.com/china-exports-more-rare-earth-magnet-materials-in-2020/": (
        "argus_china_magnet_exports_2020"
    ),
    "https://www.adamasintel.com/record-rare-earth-magnet-exports-from-china-in-2024/": (
        "adamas_china_magnet_exports_2024"
    ),
}
REPORTERS = {"China customs": ("CHN", GACC), "Eurostat/Commission": ("EU27", ECA)}


def compiled_press(regions: set[str]) -> list[Row]:
    """Annual flows of the compiled file read from customs figures as quoted by the press and analysts."""
    by_key: dict[tuple[str, str, str, int, str], Row] = {}
    url_of: dict[tuple[str, str, str, int, str], str] = {}
    rank = {"primary": 0, "secondary": 1, "weak": 2}
    for i, r in enumerate(_read("bilateral_trade_compiled_2010_2025.csv")):
        commodity = COMPILED_HS.get(r["hs_code"])
        reporter = next((v for k, v in REPORTERS.items() if r["reporter"].startswith(k)), None)
        if commodity is None or reporter is None or not re.fullmatch(r"\d{4}", r["period"]):
            continue
        exporter, importer = r["exporter_iso3"], r["importer_iso3"]
        if exporter == "WLD" or int(r["period"]) not in YEARS or r["unit"] not in ("t", "USD"):
            continue
        if not {exporter, importer} <= regions:
            continue  # CHN -> ITA 2020 only: Italy has no region, and ROW is not Italy alone
        reporter_id, source = reporter
        row = Row(exporter, importer, commodity, int(r["period"]), reporter_id, source, r["quality"])
        key = row.key
        if key in by_key and url_of[key] == r["url"]:
            row = by_key[key]  # the same publication's quantity and value of one flow
        elif key in by_key and rank[by_key[key].quality] <= rank[row.quality]:
            continue  # a flow already read from a publication at least as good
        else:
            derived = "DERIVED" in r["product"] or r["quote_or_row"].startswith("DERIVED")
            row.basis = "derived" if derived else "reported"
            row.notes = [
                f"{r['reporter']}: {r['product']} (HS {r['hs_code']}).",
                f"Compiled from {r['source']} ({r['url']}), shared reference "
                f"trade/bilateral_trade_compiled_2010_2025.csv line {i + 2}"
                + (f"; outlet: {OUTLET_SOURCES[r['url']]}." if r["url"] in OUTLET_SOURCES else "."),
            ]
        what = "Quantity (t product weight)" if r["unit"] == "t" else "Value (current USD)"
        row.notes.insert(len(row.notes) - 1, f"{what}: {r['quote_or_row']}")
        if r["unit"] == "t":
            row.quantity_t = float(r["value"])
        else:
            row.value_usd = float(r["value"])
        by_key[key], url_of[key] = row, r["url"]
    return list(by_key.values())


def monthly_totals(regions: set[str]) -> list[Row]:
    """Annual flows summed from monthly rows, only where all twelve months of one flow, code and
    unit are in the file (a part of a year is not an annual total). None are, in the current file."""
    months: dict[tuple[str, str, str, int, str], dict[int, dict[str, str]]] = defaultdict(dict)
    for r in _read("bilateral_trade_compiled_2010_2025.csv"):
        m = re.fullmatch(r"(\d{4})-(\d{2})", r["period"])
        commodity = COMPILED_HS.get(r["hs_code"])
        reporter = next((v for k, v in REPORTERS.items() if r["reporter"].startswith(k)), None)
        if m and commodity and reporter and r["unit"] in ("t", "USD") and int(m.group(1)) in YEARS:
            key = (r["exporter_iso3"], r["importer_iso3"], commodity, int(m.group(1)), r["unit"])
            months[key].setdefault(int(m.group(2)), r)
    rows = []
    for (exporter, importer, commodity, year, unit), by_month in sorted(months.items()):
        if len(by_month) < 12 or exporter == "WLD" or not {exporter, importer} <= regions:
            continue
        first = by_month[1]
        reporter_id, source = next(v for k, v in REPORTERS.items() if first["reporter"].startswith(k))
        row = Row(exporter, importer, commodity, year, reporter_id, source, first["quality"])
        total = sum(float(r["value"]) for r in by_month.values())
        row.quantity_t, row.value_usd = (total, None) if unit == "t" else (None, total)
        row.notes.append(f"Sum of the twelve monthly figures of {year} ({first['reporter']}, HS {first['hs_code']}).")
        rows.append(row)
    return rows


# reporter_id and quality of the hand-curated rows (press figures for 2009-2014, company feed data).
CURATED = {
    "wsj_china_customs_2010": ("CHN", "secondary"),
    "japantimes_kyodo_2012": ("CHN", "weak"),
    "reuters_japan_mof_2010": ("JPN", "secondary"),
    "xinhua_mofcom_2010": ("CHN", "secondary"),
    "sina_nikkei_2012": ("JPN", "weak"),
    "searchina_mof_2015": ("JPN", "weak"),
    "ccr_ndfeb_2011": ("CHN", "secondary"),
    "lynas_ar2024": ("", "secondary"),
    # gallium: China's 2022 exports and the pre-control lanes held for the 2023 base year
    "reuters_gage_exports_2022": ("CHN", "secondary"),
    "yomiuri_japan_gallium_2025": ("JPN", "secondary"),
    "globaltimes_gallium_exports_2023": ("CHN", "weak"),
}


# Before 2018 the reference has no flow at HS level: China's exports and Japan's imports of "rare
# earths" are customs aggregates (ores, metals and compounds). They stay for the 2010 base year as
# ree_oxide, the bulk of them, marked as aggregates and weak targets; trade_shares has Japan's shares.
AGGREGATE_NOTE = (
    "CUSTOMS AGGREGATE: 'rare earths' (ores, metals and compounds), not HS 2846 alone, booked as ree_oxide "
    "because no HS-level flow of these years is in the reference files (2010 base year); a weak target. "
)


def curated() -> list[dict[str, str]]:
    """Rows of the current trade.csv that this script does not generate, with reporter and quality."""
    with (DATA / "trade.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["source_id"] not in GENERATED | REPLACED]
    for r in rows:
        reporter, quality = CURATED[r["source_id"]]
        if r["source_id"] == "wsj_china_customs_2010" and r["importer_id"] == "ROW":
            reporter = ""  # a residual of China-reported exports minus Japan-reported imports
        if r["commodity_id"] == "ree_oxide":
            quality = "weak"
            if not r["note"].startswith("CUSTOMS AGGREGATE"):
                r["note"] = AGGREGATE_NOTE + r["note"]
        r["reporter_id"], r["quality"] = reporter, quality
    return [{c: r.get(c, "") or "" for c in COLUMNS} for r in rows]


def main() -> None:
    regions = _regions()
    generated = us_imports(regions)
    merged = {row.key: row for row in generated}
    for row in us_china_comtrade():
        if row.key in merged:  # US imports from China: the partner row gains the net weight
            base = merged[row.key]
            if abs((base.value_usd or 0.0) - (row.value_usd or 0.0)) > 1.0:
                raise SystemExit(f"{row.key}: partner value {base.value_usd} != Comtrade {row.value_usd}")
            base.quantity_t = row.quantity_t
            detail = row.notes[0].split("as published in UN Comtrade, ")[1]
            base.notes.insert(1, f"Net weight from the raw Comtrade rows of the same reporter: {detail}")
            base.notes.insert(-1, row.notes[-1])
        else:
            merged[row.key] = row
    for row in china_imports_2846(regions) + compiled_press(regions) + monthly_totals(regions):
        if row.key in merged:
            raise SystemExit(f"two generated rows for {row.key}")
        merged[row.key] = row
    records = [row.record() for row in merged.values()] + curated()
    order = {"ree_concentrate": 0, "ree_oxide": 1, "ree_metal": 2, "ndfeb_magnet": 3}
    records.sort(
        key=lambda r: (
            int(r["year"]),
            order.get(r["commodity_id"], 9),
            r["exporter_id"],
            r["importer_id"],
            r["reporter_id"],
        )
    )
    with (DATA / "trade.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    print(f"trade.csv: {len(records)} rows ({len(records) - len(curated())} from the reference files)")


if __name__ == "__main__":
    main()
