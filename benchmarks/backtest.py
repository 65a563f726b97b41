"""Why the fitter is bounded Powell: the china-2025-licensing calibration (two approval shares,
mean absolute log error of April and May 2025) solved by Powell, L-BFGS-B (finite differences),
bounded Nelder-Mead and differential evolution, from the shipped values and from a poor start
(0.9, 0.9), on the same objective (:class:`chokepoint.backtesting.fit.Objective`), in one run.

Run from the repository root: ``.venv/bin/python benchmarks/backtest.py`` (~20 minutes on 2
cores). Writes ``benchmarks/results/backtest.md``. Reported per method and start: distinct
simulations, objective reached, fitted shares, seconds (ratios to Powell's in the same run).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, differential_evolution, minimize

import chokepoint as cp
from chokepoint.backtesting.fit import Objective
from chokepoint.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "backtest.md"
BUDGET = 120


def _methods(objective: Objective) -> dict[str, Callable[[np.ndarray], object]]:
    bounds = Bounds(objective.lower, objective.upper)
    pairs = list(zip(objective.lower, objective.upper, strict=True))
    return {
        "Powell (the fitter)": lambda x0: minimize(
            objective, x0, method="Powell", bounds=bounds, options={"maxfev": BUDGET, "xtol": 1e-4, "ftol": 1e-6}
        ),
        "L-BFGS-B": lambda x0: minimize(objective, x0, method="L-BFGS-B", bounds=bounds, options={"maxfun": BUDGET}),
        "Nelder-Mead": lambda x0: minimize(
            objective, x0, method="Nelder-Mead", bounds=bounds, options={"maxfev": BUDGET, "xatol": 1e-4}
        ),
        "differential_evolution": lambda x0: differential_evolution(
            objective, pairs, x0=x0, popsize=5, maxiter=BUDGET // 10, seed=0, polish=False, tol=1e-6
        ),
    }


def main() -> None:
    ds = cp.default_dataset()
    scenario = load_scenario(ROOT / "examples" / "scenarios" / "china-2025-licensing.yaml")
    rows = []
    for start_name, start in (("shipped", None), ("0.9, 0.9", np.array([0.9, 0.9]))):
        for name in _methods(Objective(scenario, ds)):
            objective = Objective(scenario, ds)
            x0 = objective.start if start is None else start
            t0 = time.perf_counter()
            _methods(objective)[name](x0)
            seconds = time.perf_counter() - t0
            best = objective.best()
            rows.append((start_name, name, len(objective.seen), objective(best), best, seconds))
            print(rows[-1], flush=True)
    powell = {r[0]: r[5] for r in rows if r[1].startswith("Powell")}
    lines = [
        "# Calibration optimisers on china-2025-licensing (benchmarks/backtest.py)",
        "",
        f"Budget {BUDGET} simulations each; objective: mean |ln(simulated / observed)| of April and May 2025.",
        "",
        "| start | method | simulations | objective | April share | May share | time ÷ Powell's |",
        "|---|---|---|---|---|---|---|",
    ]
    for start_name, name, n, value, best, seconds in rows:
        lines.append(
            f"| {start_name} | {name} | {n} | {value:.2e} | {best[0]:.4f} | {best[1]:.4f} | "
            f"{seconds / powell[start_name]:.2f} |"
        )
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(OUT.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
