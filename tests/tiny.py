"""A dataset small enough to check by hand: ore (mining) → oxide (refining), four countries.

AUT and DNK mine 100 and 200 t of ore, BEL mines 100 t and ships it all to AUT; AUT makes 60 t
of oxide (1.25 t ore per t) and ships 30 t to CHE. Sector ``lamps`` uses 1 kg oxide per unit;
CHE and AUT report activity. Numbers are per year of 2024.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from chokepoint.dataset import Dataset
from chokepoint.schema import validate_table

PROV = {"source_id": "s", "basis": "reported", "note": ""}


def _table(name: str, rows: list[dict[str, object]]) -> pd.DataFrame:
    return validate_table(name, pd.DataFrame(rows).astype("string"))


def tiny_dataset(
    production: dict[tuple[str, str], float] | None = None,
    trade: dict[tuple[str, str, str], float] | None = None,
    activity: dict[str, float] | None = None,
) -> Dataset:
    """The tiny dataset, with any of its production, trade or lamp activity replaced."""
    prod = production or {("AUT", "ore"): 100, ("BEL", "ore"): 100, ("DNK", "ore"): 200, ("AUT", "oxide"): 60}
    flows = trade or {("BEL", "AUT", "ore"): 100, ("AUT", "CHE", "oxide"): 30}
    lamps = activity or {"CHE": 30_000, "AUT": 30_000, "WLD": 60_000}
    regions = sorted(
        ({r for r, _ in prod} | {e for e, _, _ in flows} | {i for _, i, _ in flows} | set(lamps)) - {"WLD"}
    )
    return Dataset(
        "tiny",
        {
            "sources": _table(
                "sources", [{"source_id": "s", "publisher": "p", "title": "t", "section": "x", "published_year": 2024}]
            ),
            "regions": _table(
                "regions",
                [{"region_id": r, "name": r, "kind": "country"} for r in regions]
                + [{"region_id": "WLD", "name": "World", "kind": "aggregate"}],
            ),
            "commodities": _table(
                "commodities",
                [
                    {
                        "commodity_id": "ore",
                        "name": "ore",
                        "material": "m",
                        "stage": "mining",
                        "stage_order": 1,
                        "quantity_basis": "t",
                    },
                    {
                        "commodity_id": "oxide",
                        "name": "oxide",
                        "material": "m",
                        "stage": "refining",
                        "stage_order": 2,
                        "quantity_basis": "t",
                    },
                ],
            ),
            "recipes": _table(
                "recipes",
                [
                    {
                        "output_commodity_id": "oxide",
                        "input_commodity_id": "ore",
                        "content_t_per_t": 1,
                        "yield_fraction": 0.8,
                        **PROV,
                    }
                ],
            ),
            "production": _table(
                "production",
                [
                    {"region_id": r, "commodity_id": k, "year": 2024, "production_t": q, **PROV}
                    for (r, k), q in prod.items()
                ],
            ),
            "trade": _table(
                "trade",
                [
                    {"exporter_id": e, "importer_id": i, "commodity_id": k, "year": 2024, "quantity_t": q, **PROV}
                    for (e, i, k), q in flows.items()
                ],
            ),
            "sectors": _table("sectors", [{"sector_id": "lamps", "name": "lamps", "activity_unit": "units"}]),
            "intensities": _table(
                "intensities", [{"sector_id": "lamps", "commodity_id": "oxide", "intensity_kg_per_unit": 1, **PROV}]
            ),
            "sector_activity": _table(
                "sector_activity",
                [{"region_id": r, "sector_id": "lamps", "year": 2024, "activity": a, **PROV} for r, a in lamps.items()],
            ),
        },
    )


#: Random scenarios for the engines' property tests (the same in both modes): a licence's approval
#: share, a stricter one, CHE's stockpile and a larger one, BEL's ore output and CHE's lamp demand.
random_scenarios = given(
    approval=st.floats(0.0, 1.0),
    stricter=st.floats(0.0, 1.0),
    stock_months=st.floats(0.0, 6.0),
    more_stock=st.floats(0.0, 6.0),
    ore_bel=st.floats(10.0, 300.0),
    lamps_che=st.floats(1_000.0, 60_000.0),
)


def tiny_with(ore_bel: float, lamps_che: float) -> Dataset:
    """The tiny dataset with BEL's ore output and CHE's lamp activity varied."""
    return tiny_dataset(
        production={("AUT", "ore"): 100, ("BEL", "ore"): ore_bel, ("DNK", "ore"): 200, ("AUT", "oxide"): 60},
        activity={"CHE": lamps_che, "AUT": 30_000, "WLD": 30_000 + lamps_che},
    )
