"""Re-derive the calibrated licence approval shares of examples/scenarios/china-2025-licensing.yaml.

Bisection on the April and May approval shares so that China's simulated magnet exports (flows
from CHN to all other regions, relative to the no-shock month) match the observed ratios to the
2024 monthly average (April 2,628 t, May 1,238 t, 2024 average 4,783 t). Run from the repository
root: ``.venv/bin/python scripts/calibrate_china_2025.py``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import chokepoint as cp
from chokepoint.dataset.groups import group_members
from chokepoint.scenario import Scenario

SCENARIO = Path(__file__).resolve().parents[1] / "examples" / "scenarios" / "china-2025-licensing.yaml"
OBSERVED = {"2025-04": 2_628 / 4_783, "2025-05": 1_238 / 4_783}


def export_ratios(scenario: Scenario, ds: cp.Dataset) -> pd.Series:
    """China's magnet exports each month (indexed by ``pandas.Period``) relative to the first (no-shock) month."""
    flows = cp.simulate(scenario, ds).tables["flows"]
    magnets = group_members(ds["commodities"])["ndfeb_magnet"]  # every magnet type in HS 850511
    mask = flows["commodity_id"].isin(magnets) & (flows["exporter_id"] == "CHN") & (flows["importer_id"] != "CHN")
    monthly = flows[mask].groupby("period")["flow_t"].sum()
    return monthly / monthly.iloc[0]


def with_approval(scenario: Scenario, shares: dict[str, float]) -> Scenario:
    data = scenario.model_dump(mode="json")
    for control in data["export_controls"]:
        key = f"{control['start']['year']:04d}-{control['start']['month']:02d}"
        if key in shares and control["end"] is not None:
            control["instrument"]["approval_share"] = shares[key]
    return Scenario.model_validate(data)


def calibrate(rounds: int = 3, steps: int = 30) -> dict[str, float]:
    ds = cp.default_dataset()
    # The Monte Carlo block is not needed to fit the central path.
    scenario = cp.Scenario.from_yaml(SCENARIO).model_copy(update={"horizon_months": 12, "uncertainty": None})
    shares = dict.fromkeys(OBSERVED, 0.5)
    for _ in range(rounds):
        for month, target in OBSERVED.items():
            lo, hi = 0.0, 1.0
            for _ in range(steps):
                shares[month] = (lo + hi) / 2
                ratio = export_ratios(with_approval(scenario, shares), ds)[month]
                lo, hi = (shares[month], hi) if ratio < target else (lo, shares[month])
    return shares


if __name__ == "__main__":
    for month, share in calibrate().items():
        print(f"{month}: approval_share {share:.4f} (observed export ratio {OBSERVED[month]:.3f})")
