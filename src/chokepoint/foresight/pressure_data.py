"""The inputs of the pressure-point ranking, gathered per material and year from a dataset's tables
(:func:`chokepoint.foresight.pressure.pressure_inputs` assembles them; its docstring says where each
comes from). Each gatherer returns one tidy frame with the figure and its ``_basis`` and ``_source``."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from chokepoint.analysis.concentration import hhi
from chokepoint.analysis.criticality import _governance_risk
from chokepoint.analysis.eu_crm import REE_ELEMENTS
from chokepoint.dataset import Dataset
from chokepoint.errors import ChokepointError

#: The materials ranked: the 17 rare-earth elements, then the other controlled or emerging ones.
MATERIALS: tuple[str, ...] = (*REE_ELEMENTS, "gallium", "germanium", "graphite", "antimony", "tungsten", "helium-3")
ASSUMPTION = "assumption"
DEFAULT_SOURCE = "chokepoint_assumptions"
BALANCE_SOURCE = "balance"
ROW = "ROW"  # a residual of many producers: never the top producer, never an HHI term
_STAGES = ("processing", "extraction")


def show(value: object) -> str:
    """A value for a one-line message: strings quoted, numbers as written (``-1.0``, ``nan``)."""
    return repr(value) if isinstance(value, str) else str(value.item() if isinstance(value, np.generic) else value)


def whole_years(years: Iterable[int]) -> list[int]:
    """The distinct years, sorted; anything but a whole number (2025.5, "2030", True) raises."""
    try:
        given = list(years)
    except TypeError:
        raise ChokepointError(f"years: {years!r} is not a sequence of whole years") from None
    for y in given:
        if isinstance(y, bool | str) or not isinstance(y, int | np.integer | float) or not float(y).is_integer():
            raise ChokepointError(f"years: {show(y)} is not a whole year; give e.g. range(2025, 2051)")
    out = sorted({int(y) for y in given})
    if not out:
        raise ChokepointError(f"years: {years!r} holds no whole year; give e.g. range(2025, 2051)")
    return out


def stage_concentration(shares: pd.DataFrame, stage: str) -> pd.DataFrame:
    """Per material at one stage: top producer, its share, HHI (0-10,000) over named producers."""
    rows = shares[(shares["stage"] == stage) & (shares["region_id"] != ROW)]
    rows = rows[rows["year"] == rows.groupby("material")["year"].transform("max")]
    top = rows.sort_values("share", ascending=False).groupby("material").first()
    grouped = rows.groupby("material")
    return pd.DataFrame(
        {
            "top1_region": top["region_id"].astype("string"),
            "top1_share": top["share"].astype(float),
            "hhi": grouped["share"].apply(lambda s: hhi(s.to_numpy(float))),
            "basis": grouped["basis"].agg(lambda b: "reported" if set(b) == {"reported"} else "derived"),
            "source": grouped["source_id"].agg(lambda s: " ".join(sorted(set(s)))),
        }
    )


def concentration(ds: Dataset, outlook: pd.DataFrame) -> pd.DataFrame:
    """Per material: processing-stage concentration (extraction where there is none), the
    extraction stage beside it, and ``outlook_materials`` rows for materials supply_shares lacks."""
    shares = ds["supply_shares"]
    proc, extr = (stage_concentration(shares, s) for s in _STAGES)
    out = proc.assign(concentration_stage="processing")
    out = pd.concat([out, extr.drop(out.index, errors="ignore").assign(concentration_stage="extraction")])
    rows = outlook[outlook["input"] == "concentration"].sort_values("from_year").groupby("material").last()
    rows = rows.drop(out.index, errors="ignore")
    extra = pd.DataFrame(
        {
            "top1_region": rows["top1_region"],
            "top1_share": rows["top1_share"],
            "hhi": rows["hhi"],
            "basis": rows["basis"],
            "source": rows["source_id"],
            "concentration_stage": "supply",
        }
    )
    out = pd.concat([out, extra]) if len(extra) else out
    out = out.rename(columns={"basis": "hhi_basis", "source": "hhi_source"})
    ext = extr[["top1_region", "top1_share", "hhi"]].add_prefix("extraction_")
    return out.join(ext, how="left")


def governance(ds: Dataset, conc: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """Governance risk of each material's top producer per year (latest WGI score <= year)."""
    frames = []
    sources = ds["governance"].set_index(["region_id", "year"])["source_id"]
    for year in years:
        risk = _governance_risk(ds, year)
        top = conc["top1_region"].dropna()
        known = top[top.isin(risk.index)]
        score_year = known.map(risk["governance_year"])
        frames.append(
            pd.DataFrame(
                {
                    "material": known.index,
                    "year": year,
                    "governance_risk": known.map(risk["governance_risk"]).to_numpy(float),
                    # an assumed top producer makes its governance an assumption too
                    "governance_risk_basis": np.where(
                        conc.loc[known.index, "hhi_basis"] == ASSUMPTION, ASSUMPTION, "derived"
                    ),
                    "governance_risk_source": [
                        sources.get((r, y), DEFAULT_SOURCE) for r, y in zip(known, score_year, strict=True)
                    ],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def controls(outlook: pd.DataFrame, materials: list[str], years: list[int]) -> pd.DataFrame:
    """China's regime per material and year: the latest control row with from_year <= year."""
    rows = outlook[(outlook["input"] == "control") & outlook["material"].isin(materials)]
    rows = rows.sort_values(["material", "from_year"])
    records = []
    for material, group in rows.groupby("material"):
        imposed = group[group["control_status"] != "none"]
        since = int(imposed["from_year"].min()) if len(imposed) else pd.NA
        for year in years:
            now = group[group["from_year"] <= year]
            row = now.iloc[-1] if len(now) else None
            records.append(
                {
                    "material": material,
                    "year": year,
                    "control_regime": "none" if row is None else row["control_status"],
                    "control_since": since if row is not None and row["control_status"] != "none" else pd.NA,
                    "control_regime_basis": group.iloc[0]["basis"] if row is None else row["basis"],
                    "control_regime_source": group.iloc[0]["source_id"] if row is None else row["source_id"],
                }
            )
    return pd.DataFrame.from_records(
        records,
        columns=[
            "material",
            "year",
            "control_regime",
            "control_since",
            "control_regime_basis",
            "control_regime_source",
        ],
    )


def substitution(ds: Dataset, outlook: pd.DataFrame) -> pd.DataFrame:
    """EU SI_SR per material (latest year), else an ``outlook_materials`` substitution row."""
    ind = ds["material_indicators"]
    ind = ind[ind["indicator"] == "si_sr"].sort_values("year").groupby("material").last()
    rows = outlook[outlook["input"] == "substitution"].sort_values("from_year").groupby("material").last()
    rows = rows.drop(ind.index, errors="ignore")
    return pd.DataFrame(
        {
            "substitution_index": pd.concat([ind["value"], rows["substitution_index"]]).astype(float),
            "substitution_index_basis": pd.concat([ind["basis"], rows["basis"]]),
            "substitution_index_source": pd.concat([ind["source_id"], rows["source_id"]]),
        }
    )


def growth(outlook: pd.DataFrame, scenario: str, years: list[int]) -> pd.DataFrame:
    """Demand growth per material and year: the period with ``from_year < year <= to_year``
    (years before the first period take the first); a scenario's row before an ``all`` row."""
    rows = outlook[(outlook["input"] == "demand_growth") & outlook["scenario"].isin([scenario, "all"])]
    rows = rows.assign(_order=(rows["scenario"] == "all").astype(int)).sort_values(["material", "_order", "from_year"])
    records = []
    for material, group in rows.groupby("material"):
        group = group[group["_order"] == group["_order"].min()]
        start, end = group["from_year"].to_numpy(int), group["to_year"].to_numpy(int)
        for year in years:
            hit = np.flatnonzero((start < year) & (year <= end))
            i = int(hit[0]) if len(hit) else (0 if year <= start.min() else int(np.argmax(end)))
            row = group.iloc[i]
            records.append(
                {
                    "material": material,
                    "year": year,
                    "demand_growth_pct_per_yr": row["demand_growth_pct_per_yr"],
                    "demand_growth_pct_per_yr_basis": row["basis"],
                    "demand_growth_pct_per_yr_source": row["source_id"],
                }
            )
    return pd.DataFrame.from_records(records, columns=["material", "year", *fields("demand_growth_pct_per_yr")])


def deficit(outlook: pd.DataFrame, scenario: str, years: list[int]) -> pd.DataFrame:
    """Deficit share per material and year, linear between the years given and held beyond them."""
    rows = outlook[(outlook["input"] == "deficit") & outlook["scenario"].isin([scenario, "all"])]
    rows = rows.dropna(subset=["deficit_share"]).sort_values("from_year")
    records = []
    for material, group in rows.groupby("material"):
        values = np.interp(years, group["from_year"].to_numpy(float), group["deficit_share"].to_numpy(float))
        basis = "reported" if set(group["basis"]) == {"reported"} else "derived"
        if ASSUMPTION in set(group["basis"]):
            basis = ASSUMPTION
        source = " ".join(sorted(set(group["source_id"])))
        records += [
            {
                "material": material,
                "year": y,
                "deficit_share": v,
                "deficit_share_basis": basis,
                "deficit_share_source": source,
            }
            for y, v in zip(years, values, strict=True)
        ]
    return pd.DataFrame.from_records(records, columns=["material", "year", *fields("deficit_share")])


def fields(column: str) -> list[str]:
    return [column, f"{column}_basis", f"{column}_source"]


def balance_inputs(balance: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """Deficit share and demand growth of the balance's materials: ``max(0, d - s) / d`` and the
    compound growth of demand a year since the balance's previous year (to its next year, in its
    first year)."""
    where = "balance"
    need = ["material", "year", "demand_t", "supply_t"]
    if not isinstance(balance, pd.DataFrame):
        raise ChokepointError(
            f"{where}: expected a DataFrame with columns {', '.join(need)}, got {type(balance).__name__}"
        )
    lacking = [c for c in need if c not in balance.columns]
    if lacking:
        raise ChokepointError(f"{where}: missing column {lacking[0]!r}; a balance has columns {', '.join(need)}")
    unknown = sorted(set(balance["material"].astype(str)) - set(MATERIALS))
    if unknown:
        raise ChokepointError(
            f"{where}, field material: {unknown[0]!r} is not ranked; use one of {', '.join(MATERIALS)}"
        )
    for col in ("year", "demand_t", "supply_t"):
        values = pd.to_numeric(balance[col], errors="coerce").to_numpy(float)
        bad = ~np.isfinite(values) | (values < 0) | ((values == 0) & (col == "demand_t"))
        bad |= (col == "year") & (np.nan_to_num(values) % 1 != 0)
        if bad.any():
            raise ChokepointError(
                f"{where}, field {col}: {show(balance[col].iloc[int(np.flatnonzero(bad)[0])])} is not a finite number"
                f"{' above 0' if col == 'demand_t' else ' at least 0'}"
            )
    bal = balance[need].astype({"year": int, "demand_t": float, "supply_t": float}).sort_values(["material", "year"])
    if bal.duplicated(["material", "year"]).any():
        dup = bal[bal.duplicated(["material", "year"])].iloc[0]
        raise ChokepointError(f"{where}: two rows for material {dup['material']}, year {dup['year']}; keep one")
    d, by = bal["demand_t"], bal.groupby("material")
    # compound growth a year, over gaps of more than one year too
    after = (by["demand_t"].shift(-1) / d) ** (1.0 / (by["year"].shift(-1) - bal["year"])) - 1.0
    before = (d / by["demand_t"].shift(1)) ** (1.0 / (bal["year"] - by["year"].shift(1))) - 1.0
    out = pd.DataFrame(
        {
            "material": bal["material"].astype(str),
            "year": bal["year"],
            "deficit_share": np.maximum(0.0, d - bal["supply_t"]) / d,
            "demand_growth_pct_per_yr": 100.0 * before.fillna(after),
        }
    )
    return out[out["year"].isin(years)]


def with_balance(table: pd.DataFrame, balance: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """The balance's deficit and growth replace the data table's where the balance has them."""
    bal = balance_inputs(balance, years).set_index(["material", "year"])
    table = table.set_index(["material", "year"])
    for column in ("deficit_share", "demand_growth_pct_per_yr"):
        given = bal[column].dropna()
        idx = given.index.intersection(table.index)
        table.loc[idx, column] = given.loc[idx]
        table.loc[idx, f"{column}_basis"] = "derived"
        table.loc[idx, f"{column}_source"] = BALANCE_SOURCE
    return table.reset_index()


#: Where a concentration moved by the projected path comes from.
PATH_SOURCE = "concentration path"


def with_concentration(table: pd.DataFrame, path: pd.DataFrame, stage: str = "refining") -> pd.DataFrame:
    """The cited concentration moved year by year as the projected path moves it: for each
    material the path has at ``stage``, the top-1 share and the HHI are the cited ones × the
    path's value in the year ÷ its value in its first year (the path's own level rests on the
    base-year fit, the cited one on the study; only the change is taken from the path). The
    top-1 share stays within 0–1 and the HHI within 10,000 · top-1² to 10,000."""
    rows = path[path["stage"] == stage].sort_values("year")
    if rows.empty:
        return table
    first = rows.groupby("material")[["top1_share", "hhi"]].transform("first")
    change = pd.DataFrame(
        {
            "material": rows["material"],
            "year": rows["year"],
            "top1_change": rows["top1_share"] / first["top1_share"],
            "hhi_change": rows["hhi"] / first["hhi"],
        }
    )
    out = table.merge(change, on=["material", "year"], how="left")
    moved = out["top1_change"].notna() & out["top1_share"].notna()
    top1 = (out["top1_share"] * out["top1_change"]).clip(upper=1.0)
    hhi = np.maximum((out["hhi"] * out["hhi_change"]).clip(upper=1e4), 1e4 * top1**2)
    out.loc[moved, "top1_share"] = top1[moved]
    out.loc[moved, "hhi"] = hhi[moved]
    out.loc[moved, "hhi_basis"] = "derived"
    out.loc[moved, "hhi_source"] = out.loc[moved, "hhi_source"].astype(str) + " × " + PATH_SOURCE
    return out.drop(columns=["top1_change", "hhi_change"])
