"""Rewrite the generated residual sections of docs/baseyear.md (2024 and 2010) from the shipped data.

Each section sits between ``<!-- residuals YEAR -->`` and ``<!-- end residuals YEAR -->``;
``tests/test_baseyear_doc.py`` fails when they differ from what the fit gives. Run from the
repository root: ``.venv/bin/python scripts/baseyear_doc.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import chokepoint as cp
from chokepoint.baseyear import reconcile
from chokepoint.baseyear.residuals import residual_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "baseyear.md"
YEARS = (2024, 2010)


def section(year: int, body: str) -> str:
    return f"<!-- residuals {year} -->\n{body}<!-- end residuals {year} -->"


if __name__ == "__main__":
    ds = cp.default_dataset()
    text = DOC.read_text(encoding="utf-8")
    for year in YEARS:
        pattern = re.compile(rf"<!-- residuals {year} -->\n.*?<!-- end residuals {year} -->", re.DOTALL)
        text = pattern.sub(lambda _m, y=year: section(y, residual_markdown(reconcile(ds, "rare_earths", y))), text)
    DOC.write_text(text, encoding="utf-8")
