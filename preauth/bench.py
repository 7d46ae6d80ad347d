"""Benchmark: prints figures, asserts nothing (targets are in the issue and the README).

Measures, on synthetic in-memory requests: evaluation of every policy (fast verdict path and
the detailed path with explanation lists), case-policy evaluations per second, single-case
latency with full trace (median, p99), the pure-Python reference evaluator's rate on a sample
and the speed-up over it, and peak RSS.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from typing import Any

__all__ = ["run_benchmark"]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn: Any, repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def run_benchmark(rows: int = 1_000_000, repeat: int = 3, latency_runs: int = 200,
                  reference_rows: int = 20_000) -> dict[str, Any]:
    from preauth import reference
    from preauth.engine import Engine
    from preauth.library import load_library
    from preauth.synth import synthesize

    library = load_library()
    engine = Engine(library)
    n_policies = len(library.policies)
    t0 = time.perf_counter()
    table = synthesize(rows, seed=11, outcomes=False)
    synth_s = time.perf_counter() - t0

    fast_s, _ = _timed(lambda: engine.verdicts(table), repeat)
    detail_s, detailed = _timed(lambda: engine.evaluate(table), max(1, repeat - 1))
    del detailed

    sample = table.slice(0, min(reference_rows, rows)).to_pylist()
    t0 = time.perf_counter()
    for case in sample:
        reference.evaluate_case(library, case)
    ref_s = time.perf_counter() - t0
    ref_rate = len(sample) * n_policies / ref_s if ref_s else float("nan")

    cases = table.slice(0, min(latency_runs, rows)).to_pylist()
    selections: dict[str, list[str] | None] = {"all_policies": None}
    selections.update({p.id: [p.id] for p in library.policies})
    latency: dict[str, list[float]] = {k: [] for k in selections}
    for sel in selections.values():
        engine.evaluate_case_traced(cases[0], sel)  # prepared once, as the explorer does
    for case in cases:
        for key, sel in selections.items():
            t = time.perf_counter()
            engine.evaluate_case_traced(case, sel)
            latency[key].append((time.perf_counter() - t) * 1000)

    def pct(xs: list[float], q: float) -> float:
        xs = sorted(xs)
        return round(xs[min(len(xs) - 1, int(q * len(xs)))], 2)

    evals = rows * n_policies
    fast_rate = evals / fast_s
    return {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "rows": rows,
        "policies": n_policies,
        "criteria": sum(len(p.criteria) for p in library.policies),
        "synthesize_s": round(synth_s, 3),
        "evaluate_fast_s": round(fast_s, 3),
        "evaluations_per_s_fast": round(fast_rate),
        "evaluate_detailed_s": round(detail_s, 3),
        "evaluations_per_s_detailed": round(evals / detail_s),
        "reference_evaluations_per_s": round(ref_rate),
        "speedup_vs_reference_fast": round(fast_rate / ref_rate, 1),
        "single_case_traced_ms": {key: {"median": round(statistics.median(v), 2),
                                        "p99": pct(v, 0.99)} for key, v in latency.items()},
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "targets": {"evaluations_per_s_fast": ">= 5,000,000 (1M rows, every policy)",
                    "single_case_traced_median_ms": "<= 10 (one policy)"},
    }
