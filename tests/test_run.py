"""The Run: every registered table in every run, periods as Periods, provenance, the exact
save/open round trip, shadow prices, the controller share against the dense inverse, compare_runs."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import chokepoint as cp
from chokepoint.dataset import Dataset
from chokepoint.iomath import solve_leontief
from chokepoint.runfiles import run_facts
from chokepoint.scenario import Scenario
from chokepoint.simulation import TABLES, Run, build_baseline, build_plan, run_fast, simulate
from chokepoint.simulation.recorders import ATOL_T
from chokepoint.simulation.tables import tables_markdown
from chokepoint.simulation.tabulate import controller_shares
from tests.tiny import tiny_dataset


def _scenario(**fields: object) -> Scenario:
    return Scenario.model_validate({"name": "t", "start": "2025-01", "horizon_months": 12, "material": "m", **fields})


#: AUT bans its oxide exports to CHE from March.
BAN = {"name": "c", "controller": "AUT", "commodities": ["oxide"], "targets": {"countries": ["CHE"]},
       "instrument": {"kind": "ban"}, "start": "2025-03"}  # fmt: skip


@pytest.fixture(scope="module")
def ban() -> Run:
    """The ban with a stockpile, a project and an observation: most tables have rows."""
    return simulate(tiny_dataset(), _scenario(
        export_controls=[BAN],
        stockpiles=[{"region": "CHE", "commodity": "oxide", "stock_t": 2, "max_release_t_per_month": 1}],
        projects=[{"name": "p", "region": "DNK", "commodity": "ore", "capacity_t_per_yr": 120, "start": "2025-01",
                   "ramp_months": 1, "learning_rate": 0.2, "cost_usd": 6e6}],
        observed=[{"role": "validate", "metric": "export_ratio", "commodity": "oxide", "region": "AUT",
                   "period": "2025-01", "months": 4, "value": 0.5, "source": "hand"}],
    ))  # fmt: skip


def test_every_registered_table_exists_with_its_columns_and_dtypes() -> None:
    plain = simulate(tiny_dataset(), _scenario())
    assert list(plain.tables) == list(TABLES)
    for name, spec in TABLES.items():
        table = plain.tables[name]
        assert list(table.columns) == spec.names, name
        assert {c: str(t) for c, t in table.dtypes.items()} == {c.name: c.dtype for c in spec.columns}, name
    # Nothing in the scenario for these: they are empty, not missing.
    for name in ("controller_share", "observed", "projects", "price_floors", "uncertainty_world", "shadow_prices"):
        assert plain.tables[name].empty, name
    assert plain.tables["prices"]["period"].iloc[0] == pd.Period("2025-01", "M")


def test_a_run_is_immutable_and_holds_exactly_the_registry() -> None:
    plain = simulate(tiny_dataset(), _scenario())
    with pytest.raises(TypeError):
        plain.tables["flows"] = plain.tables["prices"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plain.provenance = plain.provenance  # type: ignore[misc]
    with pytest.raises(ValueError, match="registered tables"):
        Run(plain.scenario, {"flows": plain.tables["flows"]}, plain.provenance)


def test_provenance_names_the_dataset_version_scenario_and_time(ban: Run) -> None:
    p = ban.provenance
    assert p.dataset_fingerprint == tiny_dataset().fingerprint
    assert p.chokepoint_version == cp.__version__
    canonical = json.dumps(ban.scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    assert p.scenario_sha256 == hashlib.sha256(canonical.encode()).hexdigest()
    assert (p.mode, p.draws) == ("fast", 0)
    created = datetime.fromisoformat(p.created)
    assert created.tzinfo is not None
    assert created.utcoffset() == UTC.utcoffset(None)


@pytest.mark.parametrize("mode", ["fast", "lp"])
def test_open_run_gives_back_an_equal_run(mode: str, ban: Run, tmp_path: Path) -> None:
    run = simulate(tiny_dataset(), ban.scenario, mode=mode, draws=3)  # type: ignore[arg-type]
    filled = {"stocks", "projects", "project_months", "observed", "controller_traced_share"}
    filled |= {"uncertainty_world"} if mode == "fast" else {"shadow_prices"}
    assert [n for n in filled if run.tables[n].empty] == []
    back = cp.open_run(run.save(tmp_path / "run"))
    assert back == run
    for name in TABLES:
        assert (tmp_path / "run" / f"{name}.csv").is_file()
    assert (tmp_path / "run" / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    # A changed value breaks equality: the comparison reads the tables, not just their names.
    changed = {**run.tables, "prices": run.tables["prices"].assign(price_index=run.tables["prices"]["price_index"] * 2)}
    assert dataclasses.replace(run, tables=changed) != run


def test_open_run_rejects_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(cp.ChokepointError, match="not a saved run"):
        cp.open_run(tmp_path)


def test_shadow_prices_are_a_table_in_lp_mode_only(ban: Run) -> None:
    assert ban.tables["shadow_prices"].empty
    lp = simulate(tiny_dataset(), ban.scenario, mode="lp").tables["shadow_prices"]
    assert len(lp) == 12 * 4 * 2  # every month × region × commodity
    assert np.isfinite(lp["shadow_price_per_t"]).all()


def test_the_controller_share_is_the_scenarios_controller(ban: Run) -> None:
    share = ban.tables["controller_share"].set_index(["period", "controller_id", "region_id", "commodity_id"])
    assert set(share.index.get_level_values("controller_id")) == {"AUT"}
    che = share["direct_share_pct"].xs(("AUT", "CHE", "oxide"), level=["controller_id", "region_id", "commodity_id"])
    assert che[pd.Period("2025-01", "M")] == pytest.approx(100.0)  # CHE's oxide all comes from AUT
    assert che[pd.Period("2025-06", "M")] == pytest.approx(0.0)  # banned


def _dense_traced(baseline: object, shipped: np.ndarray, c: int) -> np.ndarray:
    """The former formula: the whole (I − A)⁻¹·M per month, dense, then the controller's rows."""
    R, K = len(baseline.net.regions), len(baseline.commodities)  # type: ignore[attr-defined]
    a = baseline.inputs  # type: ignore[attr-defined]
    out = np.zeros((shipped.shape[0], R, K, K))
    for t in range(shipped.shape[0]):
        got = shipped[t].sum(axis=1, keepdims=True)
        m = np.divide(shipped[t], got, out=np.zeros_like(shipped[t]), where=got > 0)
        # The engine's arithmetic can leave −1e-19 on a lane it empties; solve_leontief refuses any
        # negative coefficient, controller_shares (solved by stages) never forms A.
        m = np.clip(m, 0.0, None)
        M = np.zeros((R, K, R, K))
        for k in range(K):
            M[:, k, :, k] = m[k]
        A = (m.transpose(1, 0, 2)[..., None] * a[None, :, None, :]).reshape(R * K, R * K)
        X = solve_leontief(A, M.reshape(R * K, R * K)).X.reshape(R, K, R, K)
        total = X.sum(axis=0)
        out[t] = np.divide(X[c], total, out=np.zeros_like(total), where=total > 1e-12).transpose(1, 2, 0)
    return out


def test_traced_shares_by_stages_match_the_dense_inverse(default: Dataset) -> None:
    scenario = Scenario.model_validate(
        {
            "name": "t",
            "start": "2025-01",
            "horizon_months": 4,
            "export_controls": [
                {
                    "name": "b",
                    "controller": "CHN",
                    "commodities": ["ndfeb_magnet"],
                    "targets": {"countries": ["USA"]},
                    "instrument": {"kind": "ban"},
                    "start": "2025-02",
                }
            ],
        }
    )
    baseline = build_baseline(default, scenario.material, scenario.base_year, scenario.capacity_utilisation)
    shipped = run_fast(baseline, build_plan(baseline, scenario, default)).shipped_t[0]
    regions = list(baseline.net.regions)
    controllers = ["CHN", "USA"]
    direct, traced = controller_shares(baseline, shipped, controllers)
    # Compared where the region receives at least a gram (ATOL_T) of the commodity: a share of the
    # 1e-8 t the engine's arithmetic leaves on an emptied lane (EU27's Pr metal) is rounding noise.
    real = (shipped.sum(axis=2) >= ATOL_T).transpose(0, 2, 1)[..., None]  # (T, R, K, 1)
    for i, c in enumerate(controllers):
        expected = _dense_traced(baseline, shipped, regions.index(c))
        assert np.where(real, traced[:, i], 0.0) == pytest.approx(np.where(real, expected, 0.0), abs=1e-9)
    usa, magnet = regions.index("USA"), baseline.commodities.index("ndfeb_sintered_hre")  # a member of the group
    assert traced[0, 0, usa, magnet, magnet] > 0.5 > traced[3, 0, usa, magnet, magnet]  # the ban cuts it
    assert direct[3, 0, usa, magnet] == pytest.approx(0.0)


def test_compare_runs_is_a_tidy_difference_by_region_and_sector(ban: Run) -> None:
    plain = simulate(tiny_dataset(), _scenario())
    diff = cp.compare_runs(plain, ban)
    assert list(diff.columns) == ["region_id", "sector_id", "measure", "unit", "a", "b", "difference"]
    row = diff.set_index(["region_id", "sector_id", "measure"]).loc[("CHE", "lamps", "cumulative_shortfall_t")]
    assert row["unit"] == "t"
    assert row["a"] == pytest.approx(0.0, abs=1e-9)
    assert row["difference"] == pytest.approx(row["b"])
    assert row["b"] > 0
    assert (cp.compare_runs(ban, ban)["difference"] == 0).all()


def test_results_reference_is_current() -> None:
    page = Path(__file__).resolve().parents[1] / "docs" / "results.md"
    assert page.read_text(encoding="utf-8") == tables_markdown(), (
        "run: python -c 'from chokepoint.simulation.tables import tables_markdown; print(tables_markdown(), end=\"\")'"
        " > docs/results.md"
    )


def test_a_run_exports_to_one_workbook_with_its_facts_first(ban: Run, tmp_path: Path) -> None:
    book = pd.read_excel(ban.to_excel(tmp_path / "ban"), sheet_name=None)
    assert list(book) == ["run", *TABLES]
    facts = book["run"].set_index("fact")["value"]
    assert (facts["mode"], facts["dataset_fingerprint"]) == (ban.provenance.mode, ban.provenance.dataset_fingerprint)
    # Values survive the workbook: the months as text, every price equal.
    prices = book["prices"].set_index(["period", "commodity_id"])["price_index"]
    expected = ban.tables["prices"].assign(period=lambda t: t["period"].astype(str))
    assert prices.to_dict() == pytest.approx(expected.set_index(["period", "commodity_id"])["price_index"].to_dict())


def test_a_run_exports_to_csv_files_and_refuses_an_unknown_format(ban: Run, tmp_path: Path) -> None:
    folder = ban.export(tmp_path / "ban")
    assert sorted(p.stem for p in folder.glob("*.csv")) == sorted(["run", *TABLES])
    stocks = pd.read_csv(folder / "stocks.csv")
    assert stocks["stock_t"].sum() == pytest.approx(ban.tables["stocks"]["stock_t"].sum())
    with pytest.raises(cp.ChokepointError, match="unknown export format 'ods'; use csv, parquet or xlsx"):
        ban.export(tmp_path / "other", "ods")
    assert not (tmp_path / "other").exists()


def test_a_run_exports_the_tables_named_and_refuses_what_a_workbook_cannot_hold(
    ban: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = ban.export(tmp_path / "some", "parquet", tables=["prices", "stocks"])
    assert sorted(p.stem for p in folder.glob("*.parquet")) == ["prices", "run", "stocks"]
    with pytest.raises(cp.ChokepointError, match="unknown run table 'price'; use some of chain, summary"):
        ban.export(tmp_path / "bad", tables=["price"])
    rows = len(ban.tables["prices"])
    assert rows == 12 * 2 > len(run_facts(ban))  # months x commodities, more rows than the facts
    monkeypatch.setattr("chokepoint.dataset.export.XLSX_MAX_ROWS", rows - 1)
    too_long = rf"table prices has {rows} rows, more than a worksheet holds \({rows - 1}\)"
    with pytest.raises(cp.ChokepointError, match=too_long):
        ban.to_excel(tmp_path / "big.xlsx", tables=["prices"])
    assert list(tmp_path.glob("big*")) == []
