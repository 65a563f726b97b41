"""Cross-table rules: the second layer of validation, after each table's shape.

Each ``check_*`` takes a :class:`~chokepoint.dataset.Dataset` and returns a list of
:class:`Finding`; :func:`check_dataset` runs them all and returns one tidy table. Errors make a
dataset unusable (an import with errors is refused); warnings are worth a look but may be true of
real data (a country's exports above its production can be re-exports from stock).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd

from chokepoint.dataset import Dataset
from chokepoint.dataset.groups import group_members
from chokepoint.dataset.provenance import CITING_TABLES
from chokepoint.errors import CheckError
from chokepoint.regions import is_iso3
from chokepoint.schema import schema

__all__ = [
    "CHECKS",
    "Finding",
    "check_basis_notes",
    "check_codes",
    "check_country_codes",
    "check_dataset",
    "check_exports_within_supply",
    "check_outlook_materials",
    "check_reporters",
    "check_shares",
    "check_stage_chain",
    "raise_on_errors",
]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One broken rule: where (table, row key, field), the value, and what to do."""

    severity: Severity
    check: str
    table: str
    row: str
    field: str
    value: str
    message: str

    def line(self) -> str:
        return f"{self.severity}: {self.table} [{self.row}] field {self.field}: {self.value!r} — {self.message}"


def _row_label(df: pd.DataFrame, key: list[str]) -> pd.Series:
    parts = [f"{k}=" + df[k].astype("string").fillna("") for k in key]
    label = parts[0]
    for p in parts[1:]:
        label = label + ", " + p
    return label


def _key_of(table: str) -> list[str]:
    return schema(table).key


# (table, field, code table, code field) for every reference between tables.
_REFERENCES: tuple[tuple[str, str, str, str], ...] = (
    ("element_content", "commodity_id", "commodities", "commodity_id"),
    ("element_content", "region_id", "regions", "region_id"),
    ("recipes", "output_commodity_id", "commodities", "commodity_id"),
    ("group_shares", "commodity_id", "commodities", "commodity_id"),
    ("group_shares", "region_id", "regions", "region_id"),
    ("recipes", "input_commodity_id", "commodities", "commodity_id"),
    ("facilities", "region_id", "regions", "region_id"),
    ("facilities", "commodity_id", "commodities", "commodity_id"),
    ("facility_capacity", "facility_id", "facilities", "facility_id"),
    ("production", "region_id", "regions", "region_id"),
    ("production", "commodity_id", "commodities", "commodity_id"),
    ("reserves", "region_id", "regions", "region_id"),
    ("reserves", "commodity_id", "commodities", "commodity_id"),
    ("trade", "exporter_id", "regions", "region_id"),
    ("trade", "importer_id", "regions", "region_id"),
    ("trade", "commodity_id", "commodities", "commodity_id"),
    ("trade", "reporter_id", "regions", "region_id"),
    ("trade_shares", "importer_id", "regions", "region_id"),
    ("trade_shares", "exporter_id", "regions", "region_id"),
    ("trade_shares", "commodity_id", "commodities", "commodity_id"),
    ("intensities", "sector_id", "sectors", "sector_id"),
    ("intensities", "commodity_id", "commodities", "commodity_id"),
    ("sector_activity", "region_id", "regions", "region_id"),
    ("sector_activity", "sector_id", "sectors", "sector_id"),
    ("sector_values", "sector_id", "sectors", "sector_id"),
    ("stocks", "region_id", "regions", "region_id"),
    ("stocks", "commodity_id", "commodities", "commodity_id"),
    ("prices", "commodity_id", "commodities", "commodity_id"),
    ("governance", "region_id", "regions", "region_id"),
    ("supply_shares", "region_id", "regions", "region_id"),
    ("nace_value_added", "region_id", "regions", "region_id"),
    ("patents", "region_id", "regions", "region_id"),
    ("leverage", "controller_id", "regions", "region_id"),
    ("leverage", "target_id", "regions", "region_id"),
    ("outlook_materials", "top1_region", "regions", "region_id"),
)


# Fields that may hold several codes joined by "+" (a share of the sum of several commodities).
_JOINED: frozenset[tuple[str, str]] = frozenset({("trade_shares", "commodity_id")})


def check_codes(ds: Dataset) -> list[Finding]:
    """Every code used (region, commodity, sector, facility, source) is defined in its table."""
    refs = [*_REFERENCES, *((t, "source_id", "sources", "source_id") for t in CITING_TABLES)]
    findings = []
    for table, fld, code_table, code_field in refs:
        df = ds[table]
        if df.empty:
            continue
        known = set(ds[code_table][code_field].dropna())
        if code_table == "commodities" and table != "group_shares":
            known |= set(group_members(ds["commodities"]))  # statistics file rows under a product group
        if (table, fld) in _JOINED:
            parts = df[fld].str.split("+").explode()
            unknown = ~parts.isin(known) & parts.notna()
            bad = df[unknown.groupby(level=0).any().reindex(df.index, fill_value=False).to_numpy()]
        else:
            bad = df[~df[fld].isin(known) & df[fld].notna()]
        labels = _row_label(bad, _key_of(table))
        findings += [
            Finding(
                "error",
                "codes",
                table,
                label,
                fld,
                str(value),
                f"unknown {code_field} {value!r}; add it to {code_table} or correct the code",
            )
            for label, value in zip(labels, bad[fld], strict=True)
        ]
    return findings


def check_country_codes(ds: Dataset) -> list[Finding]:
    """Regions of kind ``country`` carry real ISO 3166-1 alpha-3 codes (checked with pycountry)."""
    regions = ds["regions"]
    countries = regions[regions["kind"] == "country"]
    if countries.empty:
        return []
    bad = countries[~countries["region_id"].map(is_iso3).astype(bool)]
    return [
        Finding(
            "error",
            "country_codes",
            "regions",
            f"region_id={code}",
            "region_id",
            str(code),
            "not an ISO 3166-1 alpha-3 country code; use the ISO3 code or set kind=aggregate",
        )
        for code in bad["region_id"]
    ]


def check_basis_notes(ds: Dataset) -> list[Finding]:
    """A derived figure says how it was derived, an assumption says why; both in ``note``."""
    findings = []
    for table in CITING_TABLES:
        df = ds[table]
        if df.empty:
            continue
        bad = df[(df["basis"] != "reported") & df["note"].isna()]
        findings += [
            Finding(
                "error",
                "basis_notes",
                table,
                label,
                "note",
                "",
                f"basis is {basis}; write the derivation or rationale in note",
            )
            for label, basis in zip(_row_label(bad, _key_of(table)), bad["basis"], strict=True)
        ]
    return findings


def check_shares(ds: Dataset, tolerance: float = 0.0) -> list[Finding]:
    """Shares add up to at most 100%.

    Element shares of one commodity's REO (per region) sum to at most 1; the countries' production
    of a commodity in a year does not exceed the published world total (``WLD``) by more than the
    publication's rounding allows, plus ``tolerance`` × world. USGS rounds every figure to two
    significant figures, so each country and the world total may each be off by half a unit in the
    second significant digit (240,000 stands for 235,000–245,000): the allowance is the sum of
    those half-units over the countries and the world total.
    """
    findings = []
    content = ds["element_content"]
    if not content.empty:
        sums = content.groupby(["commodity_id", "region_id"], as_index=False)["share_of_reo"].sum()
        findings += [
            Finding(
                "error",
                "shares",
                "element_content",
                f"commodity_id={row['commodity_id']}, region_id={row['region_id']}",
                "share_of_reo",
                f"{row['share_of_reo']:.3f}",
                "element shares sum above 100%; correct the shares so they add up to at most 1",
            )
            for row in sums[sums["share_of_reo"] > 1 + 1e-6].to_dict("records")
        ]
    prod = ds["production"]
    regions = ds["regions"].set_index("region_id")["kind"]
    if not prod.empty:
        kinds = prod["region_id"].map(regions)
        key = ["commodity_id", "year"]
        world = prod[prod["region_id"] == "WLD"].set_index(key)["production_t"]
        country = prod[kinds == "country"].assign(rounding=lambda t: _half_unit(t["production_t"].to_numpy()))
        totals = country.groupby(key)[["production_t", "rounding"]].sum()
        joined = pd.concat(
            {"countries": totals["production_t"], "rounding": totals["rounding"], "world": world}, axis=1
        ).dropna()
        world_t = joined["world"].to_numpy()
        allowed = world_t + _half_unit(world_t) + joined["rounding"].to_numpy() + tolerance * world_t
        over = joined[joined["countries"].to_numpy() > allowed]
        findings += [
            Finding(
                "error",
                "shares",
                "production",
                f"commodity_id={c}, year={y}",
                "production_t",
                f"{row.countries:,.0f} > {row.world:,.0f}",
                f"countries add up to more than the world total (+{row.countries / row.world - 1:.0%}); "
                "check units and double counting",
            )
            for (c, y), row in over.iterrows()
        ]
    return findings


def _half_unit(tonnes: np.ndarray) -> np.ndarray:
    """Half a unit in the second significant digit: the most a figure rounded to two significant
    figures can differ from the true one (0 for zero)."""
    magnitude = np.floor(np.log10(np.maximum(np.abs(tonnes), 1.0)))
    return np.where(tonnes == 0, 0.0, 0.5 * 10.0 ** (magnitude - 1))


def check_stage_chain(ds: Dataset) -> list[Finding]:
    """Recipes go from an earlier stage to a later one of the same material, and every stage after
    the first that has production also has a recipe feeding it from the stage before."""
    com = ds["commodities"].set_index("commodity_id")
    findings = []
    rec = ds["recipes"]
    if not rec.empty:
        known = rec[rec["output_commodity_id"].isin(com.index) & rec["input_commodity_id"].isin(com.index)]
        out_c = com.loc[known["output_commodity_id"]]
        in_c = com.loc[known["input_commodity_id"]]
        bad = (out_c["stage_order"].to_numpy() <= in_c["stage_order"].to_numpy()) | (
            out_c["material"].to_numpy() != in_c["material"].to_numpy()
        )
        findings += [
            Finding(
                "error",
                "stage_chain",
                "recipes",
                f"output_commodity_id={o}, input_commodity_id={i}",
                "input_commodity_id",
                str(i),
                "an input must be an earlier stage of the same material; fix the recipe or the commodity's stage_order",
            )
            for o, i in zip(known["output_commodity_id"][bad], known["input_commodity_id"][bad], strict=True)
        ]
    fed = set(rec["output_commodity_id"])
    # a row filed under a product group produces the members group_shares gives a share of it
    shares = ds["group_shares"]
    filed = set(ds["production"]["commodity_id"])
    produced = filed | set(shares.loc[shares["product_group"].isin(filed), "commodity_id"])
    for material, group in com.groupby("material"):
        first = group["stage_order"].min()
        for cid, row in group.iterrows():
            if row["stage_order"] > first and cid in produced and cid not in fed:
                findings.append(
                    Finding(
                        "error",
                        "stage_chain",
                        "commodities",
                        f"commodity_id={cid}",
                        "stage",
                        str(row["stage"]),
                        f"stage chain of {material} is broken: {cid} is produced but no recipe gives its input; "
                        "add a recipe",
                    )
                )
    return findings


def check_exports_within_supply(ds: Dataset, tolerance: float = 0.25) -> list[Finding]:
    """A country's exports of a commodity in a year stay within its production plus imports.

    Trade is in product weight while production is often in contained content, so the rule allows
    ``tolerance`` and only warns: exports above supply usually mean a unit mismatch or re-exports.
    """
    trade = ds["trade"].dropna(subset=["quantity_t"])
    trade = trade[(trade["importer_id"] != "WLD") & (trade["exporter_id"] != "WLD")]
    if trade.empty:
        return []
    keys = ["commodity_id", "year"]
    # A flow reported by both sides counts once (the larger figure): reporter and mirror are two
    # readings of the same shipments, not two shipments.
    flows = trade.groupby(["exporter_id", "importer_id", *keys], as_index=False)["quantity_t"].max()
    exports = flows.groupby(["exporter_id", *keys])["quantity_t"].sum().rename_axis(["region_id", *keys])
    imports = flows.groupby(["importer_id", *keys])["quantity_t"].sum().rename_axis(["region_id", *keys])
    prod = ds["production"].groupby(["region_id", *keys])["production_t"].sum()
    table = pd.concat({"exports": exports, "imports": imports, "production": prod}, axis=1)
    table = table[table["exports"].notna() & table["production"].notna()].fillna(0.0)
    supply = table["production"] + table["imports"]
    over = table[table["exports"] > supply * (1 + tolerance)].reset_index()
    return [
        Finding(
            "warning",
            "exports_within_supply",
            "trade",
            f"exporter_id={row['region_id']}, commodity_id={row['commodity_id']}, year={row['year']}",
            "quantity_t",
            f"{row['exports']:,.0f} t",
            f"exports exceed production plus imports ({row['production'] + row['imports']:,.0f} t) by more than "
            f"{tolerance:.0%}; check units (product weight vs contained) or re-exports",
        )
        for row in over.to_dict("records")
    ]


def check_reporters(ds: Dataset) -> list[Finding]:
    """A trade row's reporter is one side of its flow: import statistics report the importer,
    export statistics the exporter (an unknown or mixed reporter is left empty)."""
    trade = ds["trade"]
    known = trade[trade["reporter_id"].notna()]
    bad = known[(known["reporter_id"] != known["exporter_id"]) & (known["reporter_id"] != known["importer_id"])]
    return [
        Finding(
            "error",
            "reporters",
            "trade",
            label,
            "reporter_id",
            str(reporter),
            "the reporter must be the exporter (export statistics) or the importer (import statistics); "
            "leave it empty when unknown",
        )
        for label, reporter in zip(_row_label(bad, _key_of("trade")), bad["reporter_id"], strict=True)
    ]


#: The figure each kind of ``outlook_materials`` row gives (concentration also names top1_region).
_OUTLOOK_FIELDS: dict[str, tuple[str, ...]] = {
    "demand_growth": ("demand_growth_pct_per_yr",),
    "deficit": ("deficit_share",),
    "control": ("control_status",),
    "concentration": ("top1_share", "hhi"),
    "substitution": ("substitution_index",),
}


def _outlook_finding(label: str, fld: str, value: object, message: str) -> Finding:
    return Finding("error", "outlook_materials", "outlook_materials", label, fld, str(value), message)


def check_outlook_materials(ds: Dataset) -> list[Finding]:
    """An ``outlook_materials`` row fills only the figure of its ``input`` (``_OUTLOOK_FIELDS``); an
    empty figure is a missing one and must have basis ``assumption`` (its note says it is missing);
    a control row always names its status; a growth period ends after it starts; an HHI lies
    between ``10,000 · top1_share²`` and 10,000."""
    df = ds["outlook_materials"]
    if df.empty:
        return []
    labels = _row_label(df, _key_of("outlook_materials"))
    every = {f for fields in _OUTLOOK_FIELDS.values() for f in fields}
    findings = []
    for i, row in enumerate(df.to_dict("records")):
        own = _OUTLOOK_FIELDS[str(row["input"])]
        for fld in sorted(every - set(own)):
            if pd.notna(row[fld]):
                findings.append(
                    _outlook_finding(
                        labels.iloc[i],
                        fld,
                        row[fld],
                        f"a {row['input']} row gives {own[0]} only; move it to its own row",
                    )
                )
        empty = [f for f in own if pd.isna(row[f])]
        if row["input"] == "control" and empty:
            findings.append(
                _outlook_finding(labels.iloc[i], "control_status", "", "name the regime: in_force, suspended or none")
            )
        elif empty and row["basis"] != "assumption":
            findings.append(
                _outlook_finding(
                    labels.iloc[i], empty[0], "", "an empty figure is missing: set basis assumption and say so in note"
                )
            )
        if row["input"] == "demand_growth" and not (pd.notna(row["to_year"]) and row["to_year"] > row["from_year"]):
            findings.append(
                _outlook_finding(labels.iloc[i], "to_year", row["to_year"], "a growth period ends after from_year")
            )
        if (
            pd.notna(row["hhi"])
            and not 1e4 * (0.0 if pd.isna(row["top1_share"]) else float(row["top1_share"])) ** 2 - 1e-6
            <= row["hhi"]
            <= 1e4
        ):
            findings.append(
                _outlook_finding(
                    labels.iloc[i], "hhi", row["hhi"], "an HHI lies between 10,000 x top1_share^2 and 10,000"
                )
            )
    return findings


#: Every cross-table rule, by name (a plain registry: extend by adding a function here).
CHECKS: dict[str, Callable[[Dataset], list[Finding]]] = {
    "codes": check_codes,
    "country_codes": check_country_codes,
    "basis_notes": check_basis_notes,
    "shares": check_shares,
    "stage_chain": check_stage_chain,
    "exports_within_supply": check_exports_within_supply,
    "reporters": check_reporters,
    "outlook_materials": check_outlook_materials,
}


def check_dataset(ds: Dataset) -> pd.DataFrame:
    """Run every check; one row per finding, errors first."""
    findings = [f for check in CHECKS.values() for f in check(ds)]
    columns = list(Finding.__dataclass_fields__)
    table = pd.DataFrame([asdict(f) for f in findings], columns=columns)
    order = np.argsort(table["severity"].map({"error": 0, "warning": 1}).to_numpy(), kind="stable")
    return table.iloc[order].reset_index(drop=True)


def raise_on_errors(findings: pd.DataFrame, origin: str) -> None:
    """Raise :class:`CheckError` for the first error finding, counting the rest."""
    errors = findings[findings["severity"] == "error"]
    if errors.empty:
        return
    first = Finding(*(str(errors.iloc[0][f]) for f in Finding.__dataclass_fields__))  # type: ignore[arg-type]
    more = f" (and {len(errors) - 1} more: run `chokepoint data check`)" if len(errors) > 1 else ""
    raise CheckError(f"{origin}: {first.line()}{more}")
