"""Write a simulation's results to a folder, all at once: Parquet and CSV tables, summary.json,
and the HTML report."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from chokepoint.files import atomic_folder
from chokepoint.simulation.results import Results

__all__ = ["headline", "save_results"]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def headline(results: Results) -> dict[str, Any]:
    """The numbers a reader wants first: worst shortfalls, price peaks, recovery."""
    prices = results.tables["prices"]
    peaks = prices.groupby("commodity_id")["price_index"].max()
    worst = results.summary.sort_values("peak_shortfall_pct", ascending=False).head(10)
    observed = results.tables.get("observed")
    return {
        "observed_vs_simulated": []
        if observed is None
        else [{k: _clean(v) for k, v in row.items()} for row in observed.to_dict("records")],
        "price_floor_payments_usd": _floor_totals(results.tables.get("price_floors")),
        "uncertainty_peaks": _top_peaks(results.tables.get("uncertainty_peaks")),
        "projects": []
        if "projects" not in results.tables
        else [{k: _clean(v) for k, v in row.items()} for row in results.tables["projects"].to_dict("records")],
        "max_price_index": {k: round(float(v), 3) for k, v in peaks.items()},
        "worst_shortfalls": [{k: _clean(v) for k, v in row.items()} for row in worst.to_dict("records")],
        "all_recovered": bool(results.summary["recovered"].all()) if len(results.summary) else True,
    }


def _top_peaks(peaks: pd.DataFrame | None, n: int = 10) -> list[dict[str, Any]]:
    """The ``n`` region × sector peaks with the highest median across the Monte Carlo draws."""
    if peaks is None or peaks.empty:
        return []
    top = peaks.sort_values("peak_shortfall_pct_p50", ascending=False).head(n)
    return [{str(k): _clean(v) for k, v in row.items()} for row in top.to_dict("records")]


def _floor_totals(floors: pd.DataFrame | None) -> dict[str, float]:
    """Total price-floor payment per guaranteed region and commodity, USD."""
    if floors is None or floors.empty:
        return {}
    totals = floors.groupby(floors["region_id"] + " " + floors["commodity_id"])["payment_usd"].sum()
    return {str(key): round(float(value), 0) for key, value in totals.items()}


def save_results(results: Results, out: Path | str, report_html: str | None = None) -> Path:
    """Write ``results`` into the folder ``out`` (replaced only once everything is written)."""
    out = Path(out)
    tables: dict[str, pd.DataFrame] = {**results.tables, "summary": results.summary}
    with atomic_folder(out) as tmp:
        for name, table in tables.items():
            table.to_parquet(tmp / f"{name}.parquet", index=False)
            table.to_csv(tmp / f"{name}.csv", index=False)
        document = {"info": results.info, "headline": headline(results)}
        (tmp / "summary.json").write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
        if report_html is not None:
            (tmp / "report.html").write_text(report_html, encoding="utf-8")
    return out
