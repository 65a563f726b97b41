"""Benchmark the simulation engine: LP and fast mode, Monte Carlo throughput, and two references.

Run from the repository root (about 2–3 minutes on 2 cores)::

    .venv/bin/python benchmarks/simulate.py

Every measurement runs in its own subprocess. Results go to ``benchmarks/results/simulate.csv``
and ``.md``. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _tables import RESULTS, markdown_table

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "examples" / "scenarios" / "china-2025-licensing.yaml"
SEED = 20250404
DRAWS = 10_000
CHUNK = 256  # draws per run_draws call: stage-0 lane arrays (14 × 17 × 256 float64, batch last) stay in L2
WORKERS = 2
REF_CHECK_MONTHS = 24  # months over which the plain-Python reference must match run_fast
#: The engine the Monte Carlo throughput is compared with, in the same run: the last commit with
#: separate fast and LP month loops.
BEFORE = "5a3541e"
COMPARE_ROUNDS = 3


# ---------------------------------------------------------------- inputs (not timed)
def inputs() -> tuple[Any, Any, Any]:
    import chokepoint as cp
    from chokepoint.scenario import load_scenario
    from chokepoint.simulation import build_baseline, build_plan

    ds = cp.default_dataset()
    sc = load_scenario(SCENARIO)
    b = build_baseline(ds, sc.material, sc.base_year, sc.capacity_utilisation)
    return sc, b, build_plan(b, sc, ds)


def draws(n_nodes: int, count: int = DRAWS, seed: int = SEED) -> dict[str, np.ndarray]:
    """Per-draw parameters from a seeded Generator (uniform ranges around the scenario defaults)."""
    rng = np.random.default_rng(seed)
    return {
        "sourcing_adjustment": rng.uniform(0.1, 0.6, count),
        "sourcing_reversion": rng.uniform(0.05, 0.9, count),
        "price_scarcity_exponent": rng.uniform(5.0, 20.0, count),
        "capacity_scale": rng.uniform(0.8, 1.2, (count, n_nodes)),
    }


def _best(fn: Callable[[], object], budget_s: float, repeats: int = 3) -> tuple[float, int, object]:
    """Best wall time of up to ``repeats`` runs (fewer once ``budget_s`` is spent)."""
    times: list[float] = []
    result: object = None
    while len(times) < repeats and sum(times) < budget_s:
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), len(times), result


# ---------------------------------------------------------------- plain-Python reference (one draw)
def reference(b: Any, p: Any, months: int, lam: float, mu: float, eta: float, scale: list[float]) -> list:
    """The fast engine's month loop for ONE draw in plain Python: nested loops over stages,
    origins and buyers, the same pro-rata allocation, rerouting, stocks, serving and responses
    (see the docstring of ``chokepoint.simulation.engine``). Returns shortfall[t][r][s]."""
    net = b.net
    R, K, S = len(net.regions), len(b.commodities), len(b.sectors)
    a = b.inputs.tolist()
    inputs_of = [[j for j in range(K) if a[j][k] > 0] for k in range(K)]
    outputs_of = [[o for o in range(K) if a[k][o] > 0] for k in range(K)]
    m4 = net.mix.toarray().reshape(R, K, R, K)
    base = [[[float(m4[o, k, r, k]) for r in range(R)] for o in range(R)] for k in range(K)]
    mix = [[row[:] for row in base[k]] for k in range(K)]
    base_cap = b.capacity_t.reshape(R, K).tolist()
    final0 = b.final_t.reshape(R, K, S).tolist()
    target = p.stock_target_t.reshape(R, K).tolist()
    max_rel = p.stock_max_release_t.reshape(R, K).tolist()
    refill_months = p.stock_refill_months.reshape(R, K).tolist()
    releases = (p.stock_release.reshape(R, K) > 0).tolist()
    ceiling, elast, lag = (x.tolist() for x in (p.substitution_ceiling, p.substitution_elasticity, p.substitution_lag))
    prio = p.priority.tolist()
    levels = sorted(set(prio), reverse=True)
    stock = [row[:] for row in target]
    subst = [[0.0] * K for _ in range(S)]
    short_last = [[False] * K for _ in range(R)]
    inf = math.inf

    def serve(want: list[list[float]], avail: list[float]) -> list[list[float]]:
        served = [[0.0] * S for _ in range(R)]
        for r in range(R):
            left = avail[r]
            for level in levels:
                cols = [s for s in range(S) if prio[s] == level]
                total = sum(want[r][s] for s in cols)
                ratio = min(max(left / total, 0.0), 1.0) if total > 0 else 1.0
                for s in cols:
                    served[r][s] = want[r][s] * ratio
                left -= sum(served[r][s] for s in cols)
        return served

    shortfall = []
    for t in range(months):
        cap_row, rec_row = p.capacity_t[t].tolist(), p.recycled_t[t].tolist()
        cap = [[cap_row[r * K + k] * scale[r * K + k] for k in range(K)] for r in range(R)]
        rec = [[rec_row[r * K + k] for k in range(K)] for r in range(R)]
        mult = p.demand_multiplier[t].tolist()
        allowed, ctrl, excl = p.allowed[t].tolist(), p.controlled_origin[t].tolist(), p.excluded[t].tolist()
        t_next = min(t + 1, len(p.periods) - 1)  # sourcing set now places next month's orders
        allowed_next, ctrl_next = p.allowed[t_next].tolist(), p.controlled_origin[t_next].tolist()
        next_row = p.capacity_t[t_next].tolist()
        cap_next = [[next_row[r * K + k] * scale[r * K + k] for k in range(K)] for r in range(R)]
        final = [[[final0[r][k][s] * mult[r * K + k][s] * (1.0 - subst[s][k]) for s in range(S)] for k in range(K)]
                 for r in range(R)]  # fmt: skip
        ftot = [[sum(final[r][k]) for k in range(K)] for r in range(R)]
        refill = [
            [
                min(target[r][k] / refill_months[r][k], target[r][k] - stock[r][k])
                if not short_last[r][k] and stock[r][k] < target[r][k]
                else 0.0
                for k in range(K)
            ]
            for r in range(R)
        ]
        use = [[0.0] * K for _ in range(R)]
        plan_out = [[0.0] * K for _ in range(R)]
        for k in reversed(range(K)):
            for r in range(R):
                use[r][k] = ftot[r][k] + refill[r][k] + sum(a[k][o] * plan_out[r][o] for o in outputs_of[k])
            for o in range(R):
                plan_out[o][k] = min(cap[o][k], sum(mix[k][o][r] * use[r][k] for r in range(R)))
        delivered = [[0.0] * K for _ in range(R)]
        demand_sum = [[0.0] * K for _ in range(R)]
        served_sum = [[0.0] * K for _ in range(R)]
        short_rs = [[0.0] * S for _ in range(R)]
        for k in range(K):
            lim, co, m = allowed[k], ctrl[k], mix[k]
            produced = [0.0] * R
            for o in range(R):
                ratio = 1.0
                for j in inputs_of[k]:
                    needed = a[j][k] * plan_out[o][k]
                    avail = delivered[o][j] * (needed / use[o][j] if use[o][j] > 0 else 0.0)
                    ratio = min(ratio, avail / needed if needed > 0 else 1.0)
                produced[o] = plan_out[o][k] * ratio + rec[o][k]
            orders = [[m[o][r] * use[r][k] for r in range(R)] for o in range(R)]
            lane_cap = [[orders[o][r] * lim[o][r] if lim[o][r] < 1.0 else inf for r in range(R)] for o in range(R)]
            shipped = [[0.0] * R for _ in range(R)]
            surplus = [0.0] * R
            for o in range(R):
                allowed_o = [orders[o][r] * lim[o][r] for r in range(R)]
                total = sum(allowed_o)
                fill = min(produced[o] / total, 1.0) if total > 0 else 0.0
                shipped[o] = [x * fill for x in allowed_o]
                surplus[o] = produced[o] - sum(shipped[o])
            gap = [max(use[r][k] - sum(shipped[o][r] for o in range(R)), 0.0) for r in range(R)]
            extra = [[0.0] * R for _ in range(R)]
            for o in range(R):
                wanted = sum(gap[r] for r in range(R) if lim[o][r] > 0)
                for r in range(R):
                    offer = (gap[r] if lim[o][r] > 0 else 0.0) / wanted * surplus[o] if wanted > 0 else 0.0
                    extra[o][r] = min(offer, lane_cap[o][r] - shipped[o][r])
            for r in range(R):
                got = sum(extra[o][r] for o in range(R))
                cut = min(gap[r] / got, 1.0) if got > 0 else 1.0
                for o in range(R):
                    shipped[o][r] += extra[o][r] * cut
            received = [sum(shipped[o][r] for o in range(R)) for r in range(R)]
            for r in range(R):
                short = max(use[r][k] - refill[r][k] - received[r], 0.0)
                draw = min(stock[r][k], short, max_rel[r][k]) if releases[r][k] else 0.0
                stock[r][k] -= draw
                delivered[r][k] = received[r] + draw
            want_ex = [[final[r][k][s] * (1.0 if excl[r][s] > 0 else 0.0) for s in range(S)] for r in range(R)]
            want_rest = [[final[r][k][s] * (0.0 if excl[r][s] > 0 else 1.0) for s in range(S)] for r in range(R)]
            part = [ftot[r][k] / use[r][k] if use[r][k] > 0 else 0.0 for r in range(R)]
            available = [delivered[r][k] * part[r] for r in range(R)]
            controlled = [sum(shipped[o][r] * co[o][r] for o in range(R)) for r in range(R)]
            clean = [min((delivered[r][k] - controlled[r]) * part[r], available[r]) for r in range(R)]
            served = serve(want_ex, clean)
            rest = serve(want_rest, [available[r] - sum(served[r]) for r in range(R)])
            for r in range(R):
                for s in range(S):
                    served[r][s] += rest[r][s]
                    short_rs[r][s] += final[r][k][s] - served[r][s]
                demand_sum[r][k], served_sum[r][k] = ftot[r][k], sum(served[r])
                build = delivered[r][k] * (refill[r][k] / use[r][k] if use[r][k] > 0 else 0.0)
                stock[r][k] += build
            # Rerouting: promises from spare capacity, then the sourcing update and the drift back.
            gap = [max(use[r][k] - received[r], 0.0) for r in range(R)]
            unmet_ex = [sum(want_ex[r][s] - served[r][s] * (1.0 if excl[r][s] > 0 else 0.0) for s in range(S))
                        for r in range(R)]  # fmt: skip
            gap_clean = [max(gap[r], unmet_ex[r]) for r in range(R)]
            promised = [[0.0] * R for _ in range(R)]
            for o in range(R):
                spare = max(cap[o][k] - produced[o], 0.0)
                asks = [
                    gap_clean[r] if co[o][r] == 0 and lim[o][r] > 0 else (gap[r] if lim[o][r] > 0 else 0.0)
                    for r in range(R)
                ]
                asked = sum(asks)
                for r in range(R):
                    offer = asks[r] / asked * spare if asked > 0 else 0.0
                    promised[o][r] = min(offer, lane_cap[o][r] - shipped[o][r])
            for r in range(R):
                total = sum(promised[o][r] for o in range(R))
                cut = min(gap_clean[r] / total, 1.0) if total > 0 else 1.0
                for o in range(R):
                    promised[o][r] *= cut
                sourced_total = sum(shipped[o][r] + promised[o][r] for o in range(R))
                for o in range(R):
                    actual = (shipped[o][r] + promised[o][r]) / sourced_total if sourced_total > 0 else m[o][r]
                    m[o][r] = (1.0 - lam) * m[o][r] + lam * actual
            cap_ratio = [
                min(cap_next[o][k] / (base_cap[o][k] * scale[o * K + k]), 1.0) if base_cap[o][k] > 0 else 0.0
                for o in range(R)
            ]
            for r in range(R):
                desired = [base[k][o][r] * allowed_next[k][o][r] * cap_ratio[o] for o in range(R)]
                total = sum(desired)
                desired = [x / total for x in desired] if total > 0 else [base[k][o][r] for o in range(R)]
                need_clean = sum(want_ex[r]) / use[r][k] if use[r][k] > 0 else 0.0
                clean_now = [
                    m[o][r] if ctrl_next[k][o][r] == 0 and allowed_next[k][o][r] > 0 else 0.0 for o in range(R)
                ]
                clean_total = sum(clean_now)
                keep = min(need_clean, 1.0) if clean_total > 0 else 0.0
                for o in range(R):
                    clean_mix = clean_now[o] / clean_total if clean_total > 0 else 0.0
                    d = (1.0 - keep) * desired[o] + keep * clean_mix
                    m[o][r] = (1.0 - mu) * m[o][r] + mu * d
        # Between months: scarcity → price → substitution.
        for k in range(K):
            want_world = sum(demand_sum[r][k] for r in range(R))
            gap_world = sum(demand_sum[r][k] - served_sum[r][k] for r in range(R))
            price = math.exp(eta * (gap_world / want_world if want_world > 0 else 0.0))
            for s in range(S):
                target_sub = min(ceiling[s][k], -elast[s][k] * math.log(price))
                subst[s][k] += (target_sub - subst[s][k]) / lag[s][k]
        short_last = [[demand_sum[r][k] - served_sum[r][k] > 1e-9 for k in range(K)] for r in range(R)]
        shortfall.append(short_rs)
    return shortfall


# ---------------------------------------------------------------- cases (each in a subprocess)
def case_lp() -> dict[str, object]:
    from chokepoint.simulation.engine import run_scenario

    sc, b, p = inputs()
    seconds, runs, _ = _best(lambda: run_scenario(b, p, sc, "lp"), 30.0)
    return {"seconds": seconds, "runs": runs}


def case_fast() -> dict[str, object]:
    from chokepoint.simulation import run_fast

    sc, b, p = inputs()

    def fn() -> object:
        return run_fast(
            b,
            p,
            sourcing_adjustment=sc.sourcing_adjustment,
            sourcing_reversion=sc.sourcing_reversion,
            price_scarcity_exponent=sc.price_scarcity_exponent,
        )

    seconds, runs, _ = _best(fn, 10.0)
    return {"seconds": seconds, "runs": runs}


_STATE: dict[str, Any] = {}


def _chunk(bounds: tuple[int, int]) -> tuple[int, np.ndarray]:
    from chokepoint.simulation.engine import run_draws

    lo, hi = bounds
    par, b, p = _STATE["par"], _STATE["b"], _STATE["p"]
    res = run_draws(b, p, batch=hi - lo, **{name: value[lo:hi] for name, value in par.items()})
    return lo, res.shortfall_t.sum(axis=(2, 3))  # (draws, months) world shortfall, t/month


def case_draws(workers: int, repeats: int = 3) -> dict[str, object]:
    _, b, p = inputs()
    _STATE.update(par=draws(len(b.net.nodes)), b=b, p=p)
    chunks = [(lo, min(lo + CHUNK, DRAWS)) for lo in range(0, DRAWS, CHUNK)]
    ctx = mp.get_context("fork")
    with ctx.Pool(workers) as pool:
        pool.map(_chunk, chunks[:workers])  # warm the workers (imports), not timed

        def fn() -> np.ndarray:
            out = np.zeros((DRAWS, len(p.periods)))
            for lo, world in pool.imap_unordered(_chunk, chunks):
                out[lo : lo + len(world)] = world
            return out

        seconds, runs, result = _best(fn, 60.0, repeats)
    world = np.asarray(result)
    return {"seconds": seconds, "runs": runs, "mean_world_shortfall_t": float(world.mean())}


def case_reference() -> dict[str, object]:
    from chokepoint.simulation import run_fast

    _, b, p = inputs()
    par = draws(len(b.net.nodes))
    one = {name: value[:1] for name, value in par.items()}
    args = (
        float(one["sourcing_adjustment"][0]),
        float(one["sourcing_reversion"][0]),
        float(one["price_scarcity_exponent"][0]),
        one["capacity_scale"][0].tolist(),
    )
    T = len(p.periods)
    seconds, runs, result = _best(lambda: reference(b, p, T, *args), 30.0)
    ref = np.asarray(result)
    tr = run_fast(b, p, batch=1, **one)
    fast = (tr.demand_t - tr.served_t).sum(axis=3)[0]  # (T, R, S)
    scale = float(np.abs(fast).max()) or 1.0
    m = REF_CHECK_MONTHS
    return {
        "seconds": seconds,
        "runs": runs,
        "check_rel_diff": float(np.abs(ref[:m] - fast[:m]).max() / scale),
        "full_rel_diff": float(np.abs(ref - fast).max() / scale),
    }


def case_bandwidth() -> dict[str, object]:
    """numpy copy bandwidth, counted as bytes read + bytes written, on 256 MB (far beyond cache)."""
    src = np.random.default_rng(0).random(2**25)
    dst = np.empty_like(src)
    seconds, runs, _ = _best(lambda: np.copyto(dst, src), 5.0, repeats=5)
    return {"seconds": seconds, "runs": runs, "bytes_per_s": 2 * src.nbytes / seconds}


def lane_count() -> dict[str, int]:
    """Node-step sizes: nodes and the lanes the engine keeps (origins with capacity, recycling or
    base-year sales at any time × buyers, per stage)."""
    _, b, p = inputs()
    R, K = len(b.net.regions), len(b.commodities)
    T = len(p.periods)
    cap, rec = p.capacity_t.reshape(T, R, K), p.recycled_t.reshape(T, R, K)
    mix = b.net.mix.toarray().reshape(R, K, R, K)
    active = sum(
        int(((cap[:, :, k] != 0).any(0) | (rec[:, :, k] != 0).any(0) | (mix[:, k, :, k] != 0).any(1)).sum())
        for k in range(K)
    )
    return {"nodes": R * K, "regions": R, "stages": K, "sectors": len(b.sectors), "months": T, "lanes": active * R}


CASES: dict[str, Callable[..., dict[str, object]]] = {
    "lp": case_lp,
    "fast": case_fast,
    "draws": case_draws,
    "reference": case_reference,
    "bandwidth": case_bandwidth,
    "sizes": lane_count,
}


def _child(*args: object, source: Path | None = None) -> dict[str, Any]:
    """Run a case in a fresh interpreter; ``source``: import ``chokepoint`` from that src/ tree."""
    cmd = [sys.executable, __file__, "--child", json.dumps(list(args))]
    env = {**os.environ, "PYTHONPATH": str(source)} if source is not None else None
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--before", default=BEFORE, help="git revision whose engine to compare (default %(default)s)")
    args = parser.parse_args()
    if args.child:
        name, *rest = json.loads(args.child)
        print(json.dumps(CASES[name](*rest)))
        return

    size = _child("sizes")
    nodes, T = size["nodes"], size["months"]
    rows: list[dict[str, object]] = []

    def record(row: dict[str, object]) -> None:
        rows.append(row)
        print(json.dumps(row), flush=True)

    lp, fast = _child("lp"), _child("fast")
    record({"case": "LP mode, 1 run × 120 months", "draws": 1, "seconds": lp["seconds"], "runs": lp["runs"],
            "node_steps_per_s": nodes * T / lp["seconds"], "ratio": "", "goal": "≤5 s",
            "goal_met": "yes" if lp["seconds"] <= 5 else "no"})  # fmt: skip
    record({"case": "fast mode, 1 run × 120 months", "draws": 1, "seconds": fast["seconds"], "runs": fast["runs"],
            "node_steps_per_s": nodes * T / fast["seconds"], "ratio": f"{lp['seconds'] / fast['seconds']:.1f}× LP",
            "goal": "", "goal_met": ""})  # fmt: skip
    ref = _child("reference")
    ref_rate = nodes * T / float(ref["seconds"])
    record({"case": "plain-Python reference, 1 draw × 120 months", "draws": 1, "seconds": ref["seconds"],
            "runs": ref["runs"], "node_steps_per_s": ref_rate,
            "ratio": f"matches run_fast: {ref['check_rel_diff']:.1e} ({REF_CHECK_MONTHS} months), "
                     f"{ref['full_rel_diff']:.1e} (120)",
            "goal": f"≤1e-9 over {REF_CHECK_MONTHS} months",
            "goal_met": "yes" if ref["check_rel_diff"] <= 1e-9 else "no"})  # fmt: skip
    bw = _child("bandwidth")
    # Bytes the engine must touch per draw-month: read and write its sourcing shares (float64 over
    # the kept lanes), read and write the node state (stock, refill/short flags as float64), read
    # and write substitution (S×K), write demand and shortfall (R×S) and prices (K).
    per_draw_month = 8 * (2 * size["lanes"] + 2 * 2 * nodes + 2 * size["sectors"] * size["stages"]
                          + 2 * size["regions"] * size["sectors"] + size["stages"])  # fmt: skip
    floor_rate = float(bw["bytes_per_s"]) / (per_draw_month / nodes)
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", args.before, "src"], cwd=ROOT, capture_output=True, check=True)
        archive_path = Path(tmp) / "src.tar"
        archive_path.write_bytes(archive.stdout)
        with tarfile.open(archive_path) as tar:
            tar.extractall(tmp, filter="data")
        # Now and before alternate, one timed run each per round, so a change in the machine's load
        # falls on both (the best round of each counts).
        rounds = [(_child("draws", WORKERS, 1), _child("draws", WORKERS, 1, source=Path(tmp) / "src"))
                  for _ in range(COMPARE_ROUNDS)]  # fmt: skip
    now = min((r[0] for r in rounds), key=lambda x: float(x["seconds"]))
    old = min((r[1] for r in rounds), key=lambda x: float(x["seconds"]))
    for workers in (1, WORKERS):
        d = _child("draws", workers) if workers == 1 else {**now, "runs": COMPARE_ROUNDS}
        rate = DRAWS * T * nodes / float(d["seconds"])
        record({"case": f"fast mode, {DRAWS:,} draws × 120 months, run_draws in chunks of {CHUNK}, "
                        f"{workers} process{'es' if workers > 1 else ''}",
                "draws": DRAWS, "seconds": d["seconds"], "runs": d["runs"], "node_steps_per_s": rate,
                "ratio": f"{rate / ref_rate:.0f}× Python; {rate / floor_rate:.3f} of bandwidth floor",
                "goal": "≤60 s; ≥1e7 node-steps/s" if workers == WORKERS else "",
                "goal_met": ("yes" if d["seconds"] <= 60 else "no") + " / " + ("yes" if rate >= 1e7 else "no")
                if workers == WORKERS else ""})  # fmt: skip
    old_rate = DRAWS * T * nodes / float(old["seconds"])
    record({"case": f"the same, engine at {args.before} (before the one month loop), {WORKERS} processes, "
                    f"alternating with the row above",
            "draws": DRAWS, "seconds": old["seconds"], "runs": COMPARE_ROUNDS, "node_steps_per_s": old_rate,
            "ratio": f"now {rate / old_rate:.2f}× of before; mean world shortfall "
                     f"{float(now['mean_world_shortfall_t']):.6g} t now, "
                     f"{float(old['mean_world_shortfall_t']):.6g} before",
            "goal": "≥0.85× of before", "goal_met": "yes" if rate >= 0.85 * old_rate else "no"})  # fmt: skip
    record({"case": "memory-bandwidth floor (numpy copy, 256 MB)", "draws": "", "seconds": float("nan"),
            "runs": bw["runs"], "node_steps_per_s": floor_rate,
            "ratio": f"{float(bw['bytes_per_s']) / 1e9:.1f} GB/s ÷ {per_draw_month / nodes:.0f} B/node-step",
            "goal": "", "goal_met": ""})  # fmt: skip

    table = pd.DataFrame(rows)
    RESULTS.mkdir(exist_ok=True)
    table.to_csv(RESULTS / "simulate.csv", index=False, float_format="%.4g")
    header = (
        f"# Simulation engine benchmark\n\nMachine: {platform.processor() or platform.machine()}, "
        f"{mp.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}. Command: "
        "`.venv/bin/python benchmarks/simulate.py`.\n\n"
        f"Scenario `china-2025-licensing`: {nodes} nodes ({size['regions']} regions × {size['stages']} stages), "
        f"{size['sectors']} sectors, {T} months; {size['lanes']} kept lanes (active origin × buyer). "
        "Times in seconds: wall clock, inputs already built, best of up to 3 runs within a budget. "
        "node-steps/s = draws × months × nodes / s. Draw parameters come from "
        f"`numpy.random.default_rng({SEED})`; the draw cases include gathering each draw's monthly world "
        "shortfall from the worker processes. The bandwidth floor is the copy bandwidth (read + write) "
        "divided by the bytes a draw-month must touch (sourcing shares, node state, outputs, float64) "
        "per node: an upper bound on node-steps/s for any implementation that streams its state "
        "through memory once a month.\n\n"
    )
    (RESULTS / "simulate.md").write_text(header + markdown_table(table) + "\n")


if __name__ == "__main__":
    main()
