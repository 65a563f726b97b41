"""The command line, run in-process: outputs in every format, one-line errors, export and import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from chokepoint.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, out: str, err: str, expected: str) -> None:
    """A user error: exit 2, one stderr line naming it, no traceback."""
    assert code == 2
    assert err.startswith("chokepoint: error: ")
    assert expected in err
    assert err.count("\n") == 1
    assert "Traceback" not in err + out


def test_overview_json_matches_usgs_and_cites_sources(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "overview", "--commodity", "rare_earths", "--year", "2024", "--format", "json", "--sources"
    )
    assert code == 0
    doc = json.loads(out)
    mining = next(s for s in doc["stages"] if s["stage"] == "mining")
    china = next(p for p in mining["producers"] if p["region_id"] == "CHN")
    assert (china["production_t"], mining["world_t"]) == (270_000, 390_000)
    assert china["share_pct"] == pytest.approx(69.2307692)
    assert mining["top1_region_id"] == "CHN"
    cited = {p["source_id"] for s in doc["stages"] for p in s["producers"]}
    listed = {s["source_id"]: s for s in doc["sources"]}
    assert cited <= set(listed)
    assert listed["usgs_mcs2025_ree"]["url"] == "https://doi.org/10.5066/P13XCP3R"


def test_overview_table_and_csv(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "overview", "--year", "2024")
    assert code == 0
    assert "China" in out
    assert "HHI" in out
    code, out, _ = run(capsys, "overview", "-c", "gallium", "-y", "2024", "-f", "csv")
    df = pd.read_csv(pd.io.common.StringIO(out))
    china = df.set_index("region_id").loc["CHN"]
    assert china["production_t"] == 750  # USGS MCS2025: 750,000 kg in 2024
    assert china["share_pct"] == pytest.approx(100 * 750 / 760)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["overview", "--commodity", "unobtainium"], "unknown commodity or material 'unobtainium'"),
        (["overview", "--year", "1900"], "no production of 'rare_earths' in 1900"),
        (["overview", "--format", "yaml"], "'yaml' is not one of"),
        (["overview", "--dataset", "nope"], "no dataset named 'nope'"),
        (["data", "import", "usgs-mcs", "/no/such/file.csv"], "file not found"),
        (["data", "import", "xls", "/no/such/file.csv"], "unknown import format 'xls'"),
    ],
)
def test_user_errors_are_one_line(capsys: pytest.CaptureFixture[str], args: list[str], expected: str) -> None:
    assert_one_line_error(*run(capsys, *args), expected)


def test_sources_and_assumptions_cover_the_dataset(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "data", "sources", "--format", "json")
    assert code == 0
    sources = json.loads(out)
    uncited = [s["source_id"] for s in sources if s["rows_cited"] + s["notes_citing"] == 0]
    assert not uncited
    code, out, _ = run(capsys, "data", "assumptions", "--format", "csv")
    table = pd.read_csv(pd.io.common.StringIO(out))
    assert set(table["basis"]) <= {"derived", "assumption"}
    assert table["note"].notna().all()


def test_check_passes_on_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "data", "check", "--format", "csv")
    assert code == 0
    assert " 0 errors" in err


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_export_round_trips(capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str) -> None:
    out = tmp_path / ("export.xlsx" if fmt == "xlsx" else "export")
    code, _, _ = run(capsys, "data", "export", "--format", fmt, "--out", str(out))
    assert code == 0
    if fmt == "xlsx":
        prod = pd.read_excel(out, sheet_name="production")
    elif fmt == "csv":
        prod = pd.read_csv(out / "production.csv")
    else:
        prod = pd.read_parquet(out / "production.parquet")
    row = prod[(prod["region_id"] == "CHN") & (prod["commodity_id"] == "ree_concentrate") & (prod["year"] == 2024)]
    assert row["production_t"].tolist() == [270_000]
    assert not list(tmp_path.glob(".export*"))  # no temporary left behind


def test_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    env = {"CHOKEPOINT_DB": str(tmp_path / "s.duckdb"), "PATH": str(Path(sys.executable).parent)}
    proc = subprocess.run(
        [sys.executable, "-m", "chokepoint", "overview", "--commodity", "nope"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith("chokepoint: error: unknown commodity or material 'nope'")


def test_exposure_json_traces_japan_magnets_and_oxides(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "exposure", "--region", "JPN", "-p", "ndfeb_magnet", "-p", "ree_oxide", "-f", "json")
    assert code == 0
    rows = pd.DataFrame(json.loads(out))
    assert set(rows["product_id"]) == {"ndfeb_magnet", "ree_oxide"}
    metal = rows.query("product_id == 'ndfeb_magnet' and stage == 'metal' and origin_id == 'CHN'").iloc[0]
    assert metal["effective_share_pct"] == pytest.approx(90.0)
    assert metal["source_id"] == "chokepoint_assumptions"  # the CHN ree_metal production row
    magnet = rows.query("product_id == 'ndfeb_magnet' and stage == 'magnet'").iloc[0]
    assert (magnet["origin_id"], magnet["direct_share_pct"]) == ("JPN", 100.0)


def test_chokepoints_and_concentration_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "chokepoints", "--region", "USA", "--sector", "defence", "-f", "csv")
    assert code == 0
    ranked = pd.read_csv(pd.io.common.StringIO(out))
    assert ranked.iloc[0]["origin_id"] == "CHN"
    assert (ranked["loss_rerouted_pct"] <= ranked["loss_static_pct"] + 1e-9).all()
    code, out, _ = run(capsys, "concentration", "-c", "ree_concentrate", "-f", "json")
    years = {r["year"]: r for r in json.loads(out)}
    assert years[2024]["top1_share_pct"] == pytest.approx(100 * 270_000 / 390_000)
    assert years[2019]["top1_share_pct"] == pytest.approx(100 * 132_000 / 223_000)  # Minerals Yearbook 2022 T8


@pytest.mark.parametrize("method", ["eu", "geopolrisk", "usgs"])
def test_criticality_command(capsys: pytest.CaptureFixture[str], method: str) -> None:
    code, out, _ = run(capsys, "criticality", "--method", method, "-f", "json")
    assert code == 0
    rows = json.loads(out)
    assert rows
    if method == "eu":
        dy = next(r for r in rows if r["material"] == "dysprosium" and r["stage"] == "processing")
        assert dy["supply_risk"] == pytest.approx(5.6, abs=0.05)  # EU CRM 2023: Dy SR 5.6


def test_simulate_writes_tables_summary_and_report(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    scenario = tmp_path / "ban.yaml"
    scenario.write_text(
        "name: ban\nstart: 2025-01\nhorizon_months: 6\nexport_controls:\n"
        "  - {name: b, controller: CHN, commodities: [ndfeb_magnet], targets: {countries: [USA]},\n"
        "     instrument: {kind: ban}, start: 2025-03}\n",
        encoding="utf-8",
    )
    out = tmp_path / "runs" / "ban"  # a folder that does not exist yet, like the default runs/<name>
    code, stdout, err = run(capsys, "simulate", str(scenario), "--out", str(out), "-f", "json")
    assert code == 0, err
    rows = json.loads(stdout)
    usa = next(r for r in rows if r["region_id"] == "USA" and r["sector_id"] == "ev")
    assert usa["peak_shortfall_pct"] == pytest.approx(100.0)  # US magnets all come from China in the data
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["info"]["months"] == 6
    assert {f"{t}.parquet" for t in ("flows", "shortfall", "prices", "summary")} <= {p.name for p in out.iterdir()}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script src=" not in html
    assert not list(out.parent.glob(".ban*"))  # no temporary folder left


def test_simulate_rejects_a_bad_scenario_in_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(
        "name: bad\nstart: 2025-01\nhorizon_months: 6\n"
        "stockpiles:\n  - {region: XYZ, commodity: ree_oxide, stock_t: 5}\n"
    )
    code, _, err = run(capsys, "simulate", str(scenario), "--out", str(tmp_path / "run"))
    assert code == 2
    assert err.startswith("chokepoint: error: bad.yaml: field stockpiles[0].region: unknown region 'XYZ'")
    assert err.count("\n") == 1
    assert not (tmp_path / "run").exists()
