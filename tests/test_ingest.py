"""Importing real files into the store: published totals come through, bad copies change nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from chokepoint.cli import main
from chokepoint.dataset import Dataset
from chokepoint.dataset.groups import as_filed
from chokepoint.dataset.importers import read_usgs_mcs
from chokepoint.dataset.store import open_store

MCS2025 = "usgs_mcs/MCS2025_World_Data.csv"
MCS2026 = "usgs_mcs/MCS2026_Commodities_Data.csv"
COMTRADE = "trade/comtrade_china_imports_hs2846_by_origin_1993_2024.csv"
BACI = Path(__file__).parent / "data" / "baci" / "BACI_HS92_Y2022_V202501_sample.csv"


def _snapshot(db: Path) -> dict[str, pd.DataFrame]:
    with open_store(db) as store:
        names = list(store.datasets()["name"])
        return {n: store.read(n)["production"] for n in names} | {"_names": pd.DataFrame({"n": names})}


def test_shipped_mining_rows_are_what_the_importer_reads(reference: Path, default: Dataset) -> None:
    """The default's MCS2025 figures are the publication's, as the importer reads the release."""
    imported = read_usgs_mcs(reference / MCS2025)["production"]
    key = ["region_id", "commodity_id", "year"]
    shipped = as_filed(default["production"])  # the rows as filed, not their split into members
    shipped = shipped[shipped["source_id"].str.startswith("usgs_mcs2025")]
    joined = shipped.merge(imported, on=key, suffixes=("_shipped", "_imported"), validate="one_to_one")
    assert len(joined) == len(shipped)
    assert (joined["production_t_shipped"] == joined["production_t_imported"]).all()
    assert (joined["source_id_shipped"] == joined["source_id_imported"]).all()


@pytest.mark.parametrize(
    ("kind", "relpath", "table", "key", "expected"),
    [
        # USGS MCS2026 data release: world rare-earth mine production 2024 revised to 380,000 t
        ("usgs-mcs", MCS2026, "production", ("WLD", "ree_concentrate", 2024), 380_000),
        ("usgs-mcs", MCS2025, "production", ("CHN", "ree_concentrate", 2024), 270_000),
        # UN Comtrade, China imports of HS 2846 from Myanmar, 2023: 72,073.76 t net weight
        ("comtrade", COMTRADE, "trade", ("MMR", "CHN", "ree_oxide", 2023), 72_073.76),
    ],
)
def test_import_reproduces_published_figures(
    capsys: pytest.CaptureFixture[str],
    reference: Path,
    tmp_path: Path,
    kind: str,
    relpath: str,
    table: str,
    key: tuple[object, ...],
    expected: float,
) -> None:
    db = tmp_path / "s.duckdb"
    assert main(["data", "import", kind, str(reference / relpath), "--name", "mine", "--db", str(db)]) == 0
    assert "imported" in capsys.readouterr().out
    with open_store(db) as store:
        ds = store.load(["default", "mine"])
    df = ds[table].set_index(list(ds[table].columns[: len(key)]))
    value = df.loc[key, "quantity_t" if table == "trade" else "production_t"]
    assert float(value) == pytest.approx(expected)


def test_import_baci_fixture(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "baci"
    shutil.copytree(BACI.parent, folder)
    assert main(["data", "import", "baci", str(folder / BACI.name), "--db", str(tmp_path / "s.duckdb")]) == 0
    assert "as dataset 'baci_hs92_y2022_v202501_sample'" in capsys.readouterr().out


# One rare-earth figure per file, spoiled: (text that picks the line, figure, spoiled figure).
_SPOIL = {
    MCS2025: ("MCS2025,Rare earths,China,", ",270000,", ",27x000,"),
    MCS2026: ("RARE EARTHS,World Mine Production and Reserves,Rare Earths,China,Production", '"270,000"', '"27x,000"'),
    COMTRADE: ("2023,CHN,M,104,MMR,", "72073760.0", "72O7376O.0"),
}


def _corrupt(relpath: str, source: Path, target: Path, how: str) -> Path:
    data = source.read_bytes()
    if how == "truncated":
        target.write_bytes(data[: len(data) // 2])
    elif how == "bad_number":
        marker, figure, spoiled = (s.encode("cp1252") for s in _SPOIL[relpath])
        lines = data.splitlines(keepends=True)
        row = next(i for i, line in enumerate(lines) if marker in line and figure in line)
        lines[row] = lines[row].replace(figure, spoiled)
        target.write_bytes(b"".join(lines))
    else:  # a binary file under the expected name
        target.write_bytes(b"\xff\xfe\x00garbage" + data[:200])
    return target


@pytest.mark.parametrize("relpath", [MCS2025, MCS2026, COMTRADE])
@pytest.mark.parametrize("how", ["truncated", "bad_number", "binary"])
def test_corrupted_copies_are_rejected_and_change_nothing(
    capsys: pytest.CaptureFixture[str], reference: Path, tmp_path: Path, relpath: str, how: str
) -> None:
    db = tmp_path / "s.duckdb"
    kind = "comtrade" if "comtrade" in relpath else "usgs-mcs"
    before = _snapshot(db)
    bad = _corrupt(relpath, reference / relpath, tmp_path / Path(relpath).name, how)
    code = main(["data", "import", kind, str(bad), "--name", "mine", "--db", str(db)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"chokepoint: error: {bad.name}")
    assert err.count("\n") == 1
    after = _snapshot(db)
    assert before.keys() == after.keys()
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name])
