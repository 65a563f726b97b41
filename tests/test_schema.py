"""The shape layer: schemas load, and every kind of bad cell gets one line naming file, line, field, value."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from chokepoint.dataset import read_table_csv
from chokepoint.dataset.provenance import CITING_TABLES
from chokepoint.errors import SchemaError
from chokepoint.schema import TABLES, schema, schema_markdown, validate_table

HEADER = "region_id,commodity_id,year,production_t,source_id,basis,note\n"


def test_every_table_with_figures_cites_its_source() -> None:
    assert set(CITING_TABLES) | {"sources", "regions", "commodities", "sectors"} == set(TABLES)
    for table in CITING_TABLES:
        spec = schema(table)
        assert {"source_id", "basis", "note"} <= set(spec.columns), table
        assert spec.spec("source_id").required
        assert spec.spec("basis").allowed == ("reported", "derived", "assumption")


def test_schema_reference_page_is_current() -> None:
    page = Path(__file__).resolve().parents[1] / "docs" / "schema.md"
    assert page.read_text(encoding="utf-8") == schema_markdown(), "run: chokepoint data schema > docs/schema.md"


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "production.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_valid_rows_get_schema_dtypes(tmp_path: Path) -> None:
    df = read_table_csv("production", _write(tmp_path, 'CHN,ree_concentrate,2024,"270,000",s,reported,\n'))
    assert df["production_t"].iloc[0] == 270_000.0
    assert str(df["year"].dtype) == "Int64"
    assert df.index[0] == 2  # the file line of the first data row


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("CHN,ree_concentrate,2024,-5,s,reported,\n", "production.csv line 2, field production_t: -5 is negative"),
        (
            "CHN,ree_concentrate,2024,12x00,s,reported,\n",
            "production.csv line 2, field production_t: '12x00' is not a number",
        ),
        (
            "CHN,ree_concentrate,2024.5,1,s,reported,\n",
            "production.csv line 2, field year: '2024.5' is not a whole number",
        ),
        ("CHN,ree_concentrate,2024,1,,reported,\n", "production.csv line 2, field source_id: is empty"),
        ("CHN,ree_concentrate,2024,1,s,guessed,\n", "production.csv line 2, field basis: 'guessed' is not allowed"),
        (
            "CHN,ree_concentrate,2024,1,s,reported,\nCHN,ree_concentrate,2024,2,s,reported,\n",
            "production.csv line 3: duplicate row for region_id=CHN, commodity_id=ree_concentrate, year=2024",
        ),
    ],
)
def test_bad_cells_raise_one_line(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(SchemaError) as info:
        read_table_csv("production", _write(tmp_path, body))
    message = str(info.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_fraction_above_one_is_refused() -> None:
    df = pd.DataFrame(
        {
            "commodity_id": ["ree_oxide"],
            "region_id": ["WLD"],
            "element": ["Nd"],
            "share_of_reo": ["1.2"],
            "source_id": ["s"],
            "basis": ["reported"],
            "note": [""],
        }
    )
    with pytest.raises(SchemaError, match=r"row 1, field share_of_reo: 1.2 is above 1; shares are fractions"):
        validate_table("element_content", df, origin="element_content.csv")


def test_missing_and_unknown_columns(tmp_path: Path) -> None:
    path = tmp_path / "production.csv"
    path.write_text("region_id,commodity_id,year,source_id,basis,note\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"production\.csv: missing column 'production_t'"):
        read_table_csv("production", path)
    path.write_text(HEADER.strip() + ",tonnes\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"production\.csv: unknown column 'tonnes'"):
        read_table_csv("production", path)


def test_unreadable_files(tmp_path: Path) -> None:
    path = tmp_path / "production.csv"
    path.write_bytes(HEADER.encode() + b"CHN,ree_concentrate,2024,1,s,reported,caf\xe9\n")
    with pytest.raises(SchemaError, match=r"production\.csv: not UTF-8 text"):
        read_table_csv("production", path)
    path.write_text("", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"production\.csv: not a readable CSV table"):
        read_table_csv("production", path)
