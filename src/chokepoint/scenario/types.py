"""Field types every scenario model shares: months, tonnages, shares, and strict models."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator

from chokepoint.yamlfile import Number

__all__ = ["MAX_T", "MAX_USD", "STRICT", "YEARS", "Capacity", "Months", "Share", "Tonnes", "Whole", "YearMonth"]


_YM = re.compile(r"^(\d{4})-(\d{2})$")


#: Years a scenario may name: the engine's data start in the 1990s; a year outside is a typo
#: (1800 or 20250 would run as if the shock never happened).
YEARS = (1950, 2200)


class YearMonth(BaseModel):
    """A calendar month, written ``YYYY-MM`` in scenario files."""

    model_config = ConfigDict(frozen=True)
    year: int = Field(ge=YEARS[0], le=YEARS[1])
    month: int = Field(ge=1, le=12)

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, date):
            return {"year": value.year, "month": value.month}
        if isinstance(value, str):
            match = _YM.match(value.strip())
            if not match:
                raise ValueError(f"{value!r} is not a month; write YYYY-MM, e.g. 2025-04")
            return {"year": int(match.group(1)), "month": int(match.group(2))}
        if isinstance(value, int):
            raise ValueError(f"{value} is not a month; write YYYY-MM, e.g. {value}-01")
        return value

    def index(self, start: YearMonth) -> int:
        """Months after ``start`` (0 for the same month)."""
        return (self.year - start.year) * 12 + (self.month - start.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


# Numbers are strict and finite (yamlfile.Number): an .inf would run and fill the results with
# NaN while the summary says nobody is short.
Whole = Annotated[int, Strict()]
#: Ceiling on tonnages: a million times the world's yearly rare-earth output (≈ 4e5 t REO) and
#: above any metal's (iron ore ≈ 2.5e9 t); more is a typo, and 1e308 overflows the engine's sums.
MAX_T = 1e12
#: Ceiling on money: ten times world GDP (≈ 1e14 USD a year).
MAX_USD = 1e15
Share = Annotated[Number, Field(ge=0.0, le=1.0)]
Tonnes = Annotated[Number, Field(ge=0.0, le=MAX_T)]
#: A plant's capacity: at least a kilogram a year (a subnormal capacity, 5e-324, found by the fuzz
#: tests, is zero a month and made the learning curve 0/0).
Capacity = Annotated[Number, Field(ge=1e-3, le=MAX_T)]
#: Delays and ramps: at most the longest horizon (600 months).
Months = Annotated[Whole, Field(ge=0, le=600)]


#: Every scenario model's configuration. Unknown keys are errors: a typo such as `aproval_share`
#: must not be silently ignored.
STRICT = ConfigDict(extra="forbid", frozen=True)
