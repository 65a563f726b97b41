"""docs/baseyear.md shows the residual summaries the shipped data give (scripts/baseyear_doc.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chokepoint.baseyear import reconcile
from chokepoint.baseyear.residuals import residual_markdown
from chokepoint.dataset import Dataset

DOC = Path(__file__).resolve().parents[1] / "docs" / "baseyear.md"


@pytest.mark.parametrize("year", [2024, 2010])
def test_the_residual_sections_are_current(default: Dataset, year: int) -> None:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(rf"<!-- residuals {year} -->\n(.*?)<!-- end residuals {year} -->", text, re.DOTALL)
    assert found, f"docs/baseyear.md has no residuals {year} section"
    assert found.group(1) == residual_markdown(reconcile(default, "rare_earths", year)), (
        "run: .venv/bin/python scripts/baseyear_doc.py"
    )
