"""Region codes: ISO 3166-1 alpha-3 for countries (names from country_converter) and a few aggregates."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import country_converter as coco
import pandas as pd
import pycountry

from chokepoint.errors import CheckError

__all__ = ["AGGREGATES", "EU27", "country_converter", "is_iso3", "region_table"]

EU27 = "AUT BEL BGR HRV CYP CZE DNK EST FIN FRA DEU GRC HUN IRL ITA LVA LTU LUX MLT NLD POL PRT ROU SVK SVN ESP SWE"

#: Aggregate codes the datasets use, with their names and fixed members.
AGGREGATES: dict[str, tuple[str, str]] = {
    "WLD": ("World", ""),
    "ROW": ("Other countries", ""),
    "EU27": ("European Union (27)", EU27),
}


@cache
def country_converter() -> coco.CountryConverter:
    """One shared country_converter, built from its own data file read so that Namibia's ISO2
    code "NA" stays text (the library's default loader turns it into a missing value)."""
    from country_converter.country_converter import COUNTRY_DATA_FILE

    data = pd.read_csv(
        COUNTRY_DATA_FILE, sep="\t", encoding="utf-8", keep_default_na=False, na_values=[""], dtype=object
    )
    ints = ["ISOnumeric", "UNcode", "FAOcode", "GBDcode", "EURO", "UN", "UNmember", "obsolete", "GEOnumeric"]
    for col in ints:
        data[col] = pd.to_numeric(data[col]).astype("Int64")
    return coco.CountryConverter(country_data=data)


def is_iso3(code: str) -> bool:
    """True for a current ISO 3166-1 alpha-3 country code (checked with pycountry)."""
    return len(code) == 3 and code.isupper() and pycountry.countries.get(alpha_3=code) is not None


def region_table(codes: Iterable[str]) -> pd.DataFrame:
    """Rows of the ``regions`` table for ``codes``: aggregates by name, countries via ISO3.

    Raises :class:`CheckError` for a code that is neither a known aggregate nor an ISO3 code.
    """
    codes = sorted(set(codes))
    countries = [c for c in codes if c not in AGGREGATES]
    unknown = [c for c in countries if not is_iso3(c)]
    if unknown:
        raise CheckError(
            f"region code {unknown[0]!r} is not an ISO 3166-1 alpha-3 country code nor one of {', '.join(AGGREGATES)}"
        )
    names = country_converter().convert(countries, src="ISO3", to="name_short") if countries else []
    names = [names] if isinstance(names, str) else list(names)
    rows = [
        {"region_id": c, "name": n, "kind": "country", "members": pd.NA} for c, n in zip(countries, names, strict=True)
    ]
    rows += [
        {"region_id": c, "name": AGGREGATES[c][0], "kind": "aggregate", "members": AGGREGATES[c][1] or pd.NA}
        for c in codes
        if c in AGGREGATES
    ]
    return pd.DataFrame(rows, columns=["region_id", "name", "kind", "members"]).sort_values(
        "region_id", ignore_index=True
    )
