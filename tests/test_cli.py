"""The command line, run in-process: outputs in every format, one-line errors, export and import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from chokepoint.cli import main
from chokepoint.report.story import headline
from chokepoint.runfiles import open_run


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
    uncited = [s["source_id"] for s in sources if s["rows_cited"] + s["notes_citing"] + s["scenarios_citing"] == 0]
    assert not uncited
    # the germanium backtest's March 2024 customs figure is cited by that scenario only
    by_id = {s["source_id"]: s for s in sources}
    assert by_id["germanium_com_2024_03"]["scenarios_citing"] == 1
    assert by_id["germanium_com_2024_03"]["rows_cited"] == 0
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
    # no temporary left behind (a workbook keeps its hidden manifest beside it)
    assert [p.name for p in tmp_path.glob(".export*")] == ([".export.xlsx.chokepoint.json"] if fmt == "xlsx" else [])


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
    # the groups stand for their members: every magnet type and every separated oxide
    assert {"ndfeb_sintered_hre", "smco_magnet", "ree_oxide_dy", "ree_oxide_la"} <= set(rows["product_id"])
    assert not {"ndfeb_magnet", "ree_oxide"} & set(rows["product_id"])
    magnet = rows.query("stage == 'magnet' and origin_id == 'JPN'").set_index("product_id")
    # Japan's reported output (argus_japan_2023, filed under ndfeb_magnet) is the source of each member
    assert (magnet["source_id"] == "argus_japan_2023").all()
    assert magnet.loc["ndfeb_sintered", "direct_share_pct"] > 90.0
    metal = rows.query("product_id == 'ndfeb_sintered' and stage == 'metal'")
    assert set(metal["commodity_id"]) == {"ree_metal_nd", "ree_metal_pr"}  # its composition
    assert metal["rests_on"].str.startswith("reconciled").all()


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


@pytest.mark.parametrize("method", ["eu", "eu_stages", "geopolrisk", "usgs", "patents"])
def test_criticality_command(capsys: pytest.CaptureFixture[str], method: str) -> None:
    code, out, _ = run(capsys, "criticality", "--method", method, "-f", "json")
    assert code == 0
    rows = json.loads(out)
    assert rows
    if method == "eu":  # computed beside published: EU CRM 2023 Dy SR 5.6, Nd EI 7.2
        by = {r["material"]: r for r in rows}
        assert by["dysprosium"]["supply_risk"] == pytest.approx(5.6, abs=0.05)
        assert by["dysprosium"]["published_supply_risk"] == 5.6
        assert by["neodymium"]["economic_importance"] == pytest.approx(7.2, abs=0.05)
        assert by["neodymium"]["published_economic_importance"] == 7.2
    if method == "eu_stages":
        dy = next(r for r in rows if r["material"] == "dysprosium" and r["stage"] == "processing")
        assert dy["supply_risk"] == pytest.approx(5.6, abs=0.05)
    if method == "patents":
        assert rows[0] == {**rows[0], "region_id": "CHN", "filings": 25_911}


def test_simulate_writes_tables_summary_and_report(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    scenario = tmp_path / "ban.yaml"
    scenario.write_text(
        "name: ban\nstart: 2025-01\nhorizon_months: 6\nmarkets: {cover_months: 0}\nexport_controls:\n"
        "  - {name: b, controller: CHN, commodities: [ndfeb_magnet], targets: {countries: [USA]},\n"
        "     instrument: {kind: ban}, start: 2025-03}\n",
        encoding="utf-8",
    )
    out = tmp_path / "runs" / "ban"  # a folder that does not exist yet, like the default runs/<name>
    code, stdout, err = run(capsys, "simulate", str(scenario), "--out", str(out), "-f", "json")
    assert code == 0, err
    rows = json.loads(stdout)
    usa = next(r for r in rows if r["region_id"] == "USA" and r["sector_id"] == "ev")
    # US EVs use the Dy/Tb-grade magnets, of which the reconciled base year gives China 66.6% of US
    # supply (2,852 of 4,281 t; the rest from fitted lanes of Japan, Germany, Korea ...), so a ban
    # leaves a peak of 60.3%, under China's share (rerouting covers the rest; buyers hold no
    # inventory in this file).
    assert usa["peak_shortfall_pct"] == pytest.approx(60.33, abs=0.1)
    assert usa["peak_shortfall_pct"] < 66.7
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["info"]["months"] == 6
    assert summary["answer"] == headline(open_run(out))  # also printed, to stderr beside json
    assert summary["answer"] in err
    assert {f"{t}.parquet" for t in ("flows", "shortfall", "prices", "summary")} <= {p.name for p in out.iterdir()}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script src=" not in html
    assert not list(out.parent.glob(".ban*"))  # no temporary folder left
    # The saved run exports to one workbook: its facts first, then the same numbers as the folder.
    code, stdout, err = run(capsys, "export-run", str(out), "--out", str(tmp_path / "ban.xlsx"), "-t", "shortfall")
    assert (code, stdout.strip()) == (0, f"wrote {tmp_path / 'ban.xlsx'}"), err
    book = pd.read_excel(tmp_path / "ban.xlsx", sheet_name=None)
    assert list(book) == ["run", "shortfall"]
    assert book["run"].set_index("fact")["value"]["scenario"] == "ban"
    saved = pd.read_parquet(out / "shortfall.parquet")
    assert book["shortfall"]["shortfall_pct"].max() == pytest.approx(saved["shortfall_pct"].max())
    code, out_text, err = run(capsys, "export-run", str(out), "--out", str(tmp_path / "x"), "-t", "shortfal")
    assert_one_line_error(code, out_text, err, "unknown run table 'shortfal'; use some of chain, summary")


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


class TestNeverDestroysForeignFiles:
    """Output folders come from --out or runs/<name>; what Chokepoint did not write stays in place."""

    @staticmethod
    def scenario(folder: Path, name: str) -> Path:
        path = folder / "s.yaml"
        path.write_text(f"name: {name}\nstart: 2025-01\nhorizon_months: 2\n", encoding="utf-8")
        return path

    @staticmethod
    def files(folder: Path) -> dict[str, str]:
        return {str(p.relative_to(folder)): p.read_text(encoding="utf-8") for p in folder.rglob("*") if p.is_file()}

    @pytest.fixture
    def work(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        """A working folder whose runs/ holds someone's own files beside a previous run."""
        monkeypatch.chdir(tmp_path)
        (tmp_path / "runs" / "ban").mkdir(parents=True)
        (tmp_path / "runs" / "ban" / "notes.txt").write_text("mine", encoding="utf-8")
        (tmp_path / "runs" / "keep.txt").write_text("mine too", encoding="utf-8")
        return tmp_path

    def test_a_scenario_named_after_an_existing_folder(self, capsys: pytest.CaptureFixture[str], work: Path) -> None:
        before = self.files(work / "runs")
        code, out, err = run(capsys, "simulate", str(self.scenario(work, "ban")))
        assert_one_line_error(code, out, err, "runs/ban: exists and was not written by Chokepoint (no chokepoint.json)")
        assert "--out" in err
        assert self.files(work / "runs") == before

    @pytest.mark.parametrize(
        ("name", "shown"), [("''", "''"), (".", "'.'"), ("../x", "'../x'"), ("runs/ban", "'runs/ban'")]
    )
    def test_an_empty_or_path_like_name(
        self, capsys: pytest.CaptureFixture[str], work: Path, name: str, shown: str
    ) -> None:
        before = self.files(work)
        code, out, err = run(capsys, "simulate", str(self.scenario(work, name)))
        assert_one_line_error(code, out, err, f"s.yaml: field name: {shown}: is used as the run folder runs/<name>")
        assert self.files(work) == before | {"s.yaml": (work / "s.yaml").read_text(encoding="utf-8")}

    def test_a_name_with_an_absolute_path(self, capsys: pytest.CaptureFixture[str], work: Path) -> None:
        victim = work / "elsewhere"
        victim.mkdir()
        (victim / "data.csv").write_text("1,2", encoding="utf-8")
        code, out, err = run(capsys, "simulate", str(self.scenario(work, str(victim))))
        assert_one_line_error(code, out, err, "field name:")
        assert self.files(victim) == {"data.csv": "1,2"}

    def test_out_into_a_foreign_folder(self, capsys: pytest.CaptureFixture[str], work: Path) -> None:
        before = self.files(work)
        for out_dir in ("runs", "", "."):
            code, out, err = run(capsys, "simulate", str(self.scenario(work, "fine")), "--out", out_dir)
            says = "is the current folder" if out_dir in ("", ".") else "exists and was not written by Chokepoint"
            assert_one_line_error(code, out, err, says)
        assert self.files(work) == before | {"s.yaml": (work / "s.yaml").read_text(encoding="utf-8")}

    def test_data_export_into_a_non_empty_folder(self, capsys: pytest.CaptureFixture[str], work: Path) -> None:
        before = self.files(work / "runs")
        code, out, err = run(capsys, "data", "export", "--out", "runs")
        assert_one_line_error(code, out, err, "runs: exists and was not written by Chokepoint")
        assert self.files(work / "runs") == before

    def test_a_rerun_replaces_the_previous_run(self, capsys: pytest.CaptureFixture[str], work: Path) -> None:
        scenario = self.scenario(work, "again")
        assert run(capsys, "simulate", str(scenario), "-f", "json")[0] == 0
        first = json.loads((work / "runs" / "again" / "chokepoint.json").read_text(encoding="utf-8"))
        assert first["kind"] == "run"
        (work / "runs" / "again" / "stale.csv").write_text("from before", encoding="utf-8")
        scenario.write_text(scenario.read_text(encoding="utf-8").replace("horizon_months: 2", "horizon_months: 3"))
        code, _, err = run(capsys, "simulate", str(scenario), "-f", "json")
        assert code == 0, err
        assert not (work / "runs" / "again" / "stale.csv").exists()
        assert json.loads((work / "runs" / "again" / "summary.json").read_text(encoding="utf-8"))["info"]["months"] == 3
        assert sorted(p.name for p in (work / "runs").iterdir()) == ["again", "ban", "keep.txt"]

    def test_a_rerun_of_an_export_replaces_it(self, capsys: pytest.CaptureFixture[str], work: Path) -> None:
        for _ in range(2):
            code, _, err = run(capsys, "data", "export", "--out", "exported")
            assert code == 0, err
        manifest = json.loads((work / "exported" / "chokepoint.json").read_text(encoding="utf-8"))
        assert manifest["kind"] == "dataset-export"


def test_data_list_json_carries_import_times(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "data", "list", "--format", "json")
    assert code == 0, err
    listed = {row["name"]: row for row in json.loads(out)}
    assert "default" in listed
    assert all(isinstance(value, str | int | float | None) for value in listed["default"].values())
