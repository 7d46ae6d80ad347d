"""Benchmark: prints figures, asserts nothing (targets are in the issue and the README).

Measures, on synthetic in-memory requests: evaluation of every policy (fast verdict path and
the detailed path with explanation lists) on DuckDB or Spark, case-policy evaluations per
second, ingest of the same rows written as CSV (``read_raw`` + ``validate``), the statistics
(:mod:`preauth.evidence`, when present), single-case latency with full trace (median, p99), the
pure-Python reference evaluator's rate on a sample and the speed-up over it, and peak RSS.

:func:`run_targets` (``preauth bench --targets``) measures the issue's targets in fresh
processes: 10M requests x every policy on the fast path (time and peak RSS), statistics on 10M
rows, and a 1M-row Parquet file evaluated end to end by ``preauth evaluate`` (whole process)
against a bare pandas read-and-write of the same file.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["run_benchmark", "run_targets"]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "platform": platform.platform()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        info["memory_gb"] = round(int(mem) / 1024 / 1024, 1)
        info["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    except (OSError, IndexError, ValueError):
        pass
    return info


def _jvm_peak_rss_mb(engine: Any) -> float | None:
    """Peak RSS of the Spark driver JVM (a child process of this one), when there is one."""
    try:
        pid = engine.spark.sparkContext._gateway.proc.pid
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (AttributeError, OSError, ValueError, IndexError):
        return None
    return None


def _ingest_csv(table: Any) -> dict[str, Any]:
    """The same rows written as CSV to a temporary file, then ``read_raw`` + ``validate``."""
    import pyarrow.csv as pacsv

    from preauth.ingest.read import read_raw
    from preauth.ingest.validate import validate

    with tempfile.TemporaryDirectory(prefix="preauth-bench-") as tmp:
        path = Path(tmp) / "requests.csv"
        pacsv.write_csv(table, path)
        size = path.stat().st_size
        t0 = time.perf_counter()
        raw = read_raw(path)
        t1 = time.perf_counter()
        result = validate(raw)
        t2 = time.perf_counter()
    return {"csv_mb": round(size / 1e6, 1), "read_raw_s": round(t1 - t0, 3),
            "validate_s": round(t2 - t1, 3), "total_s": round(t2 - t0, 3),
            "rows_per_s": round(table.num_rows / (t2 - t0)) if t2 > t0 else None,
            "rows_in": result.rows_in, "rows_accepted": result.rows_accepted,
            "rows_rejected": result.rows_rejected}


def _statistics(table: Any, engine: Any, repeat: int) -> dict[str, Any]:
    """:func:`preauth.evidence.analyse` (rates, both models, concordance), if the module exists."""
    try:
        from preauth.evidence.report import analyse
    except ImportError:
        return {"status": "not available (preauth.evidence is missing)"}
    try:
        verdict = engine.verdicts(table, ["acr"]).column("verdict:acr")
        plain_s, _ = _timed(lambda: analyse(table, policy=None), repeat)
        with_s, _ = _timed(lambda: analyse(table, policy="acr", verdict=verdict), repeat)
    except Exception as err:  # report, do not hide, a failure of another module
        return {"status": f"failed: {type(err).__name__}: {err}"}
    return {"status": "ok", "analyse_s": round(plain_s, 3),
            "analyse_with_concordance_s": round(with_s, 3)}


def _timed(fn: Any, repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def _single_case_latency(engine: Any, table: Any, runs: int) -> dict[str, list[float]]:
    """Milliseconds of ``evaluate_case_traced`` — what the explorer calls on every widget
    change, always on the embedded (DuckDB) engine — for every policy and for each policy
    alone. Each call is a new case (every changed column of the one-row table is updated:
    the worst case of a keystroke), after a warm-up that prepares each selection's statement
    as the explorer's first call does."""
    cases = table.slice(0, min(runs, table.num_rows)).to_pylist()
    selections: dict[str, list[str] | None] = {"all_policies": None}
    selections.update({p.id: [p.id] for p in engine.library.policies})
    latency: dict[str, list[float]] = {}
    for key, sel in selections.items():
        for case in cases[:10]:
            engine.evaluate_case_traced(case, sel)
        latency[key] = []
        for case in cases:
            t = time.perf_counter()
            engine.evaluate_case_traced(case, sel)
            latency[key].append((time.perf_counter() - t) * 1000)
    return latency


def run_benchmark(rows: int = 1_000_000, repeat: int = 3, latency_runs: int = 200,
                  reference_rows: int = 20_000, engine: str = "duckdb",
                  spark_master: str = "local[*]") -> dict[str, Any]:
    from preauth.criteria.library import load_library
    from preauth.evaluate import reference
    from preauth.evaluate.engine import Engine
    from preauth.synthetic.generator import synthesize

    machine = _machine()
    library = load_library()
    duck = Engine(library)
    n_policies = len(library.policies)
    t0 = time.perf_counter()
    table = synthesize(rows, seed=11, outcomes=True, engine=duck)
    synth_s = time.perf_counter() - t0

    if engine == "spark":
        from preauth.evaluate.spark_engine import SparkEngine

        evaluator: Any = SparkEngine(library, master=spark_master)
        evaluator.verdicts(table.slice(0, min(rows, 1000)))  # JVM and workers warm
    else:
        evaluator = duck
    fast_s, _ = _timed(lambda: evaluator.verdicts(table), repeat)
    detail_s, detailed = _timed(lambda: evaluator.evaluate(table), max(1, repeat - 1))
    del detailed
    jvm_rss = _jvm_peak_rss_mb(evaluator) if engine == "spark" else None
    ingest = _ingest_csv(table)
    stats_figures = _statistics(table, duck, repeat)
    if engine == "spark":
        evaluator.close()

    sample = table.slice(0, min(reference_rows, rows)).to_pylist()
    t0 = time.perf_counter()
    for case in sample:
        reference.evaluate_case(library, case)
    ref_s = time.perf_counter() - t0
    ref_rate = len(sample) * n_policies / ref_s if ref_s else float("nan")

    latency = _single_case_latency(duck, table, latency_runs)

    def pct(xs: list[float], q: float) -> float:
        xs = sorted(xs)
        return round(xs[min(len(xs) - 1, int(q * len(xs)))], 2)

    evals = rows * n_policies
    fast_rate = evals / fast_s
    return {
        "machine": machine,
        "engine": evaluator.name,
        "rows": rows,
        "policies": n_policies,
        "criteria": sum(len(p.criteria) for p in library.policies),
        "synthesize_s": round(synth_s, 3),
        "evaluate_fast_s": round(fast_s, 3),
        "evaluations_per_s_fast": round(fast_rate),
        "evaluate_detailed_s": round(detail_s, 3),
        "evaluations_per_s_detailed": round(evals / detail_s),
        "ingest_csv": ingest,
        "statistics": stats_figures,
        "reference_evaluations_per_s": round(ref_rate),
        "speedup_vs_reference_fast": round(fast_rate / ref_rate, 1),
        "single_case_traced_median_ms": round(statistics.median(latency["all_policies"]), 2),
        "single_case_traced_ms": {key: {"median": round(statistics.median(v), 2),
                                        "p99": pct(v, 0.99)} for key, v in latency.items()},
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "spark_driver_jvm_peak_rss_mb": jvm_rss,
        "targets": {"evaluations_per_s_fast": ">= 5,000,000 (1M rows, every policy)",
                    "single_case_traced_median_ms": "<= 5 (every policy, as the explorer "
                                                    "calls it)",
                    "speedup_vs_reference_fast": ">= 100"},
    }


# --------------------------------------------------------------------------------------------
# The targets, each measured in a fresh process
# --------------------------------------------------------------------------------------------

_FAST_PATH_CHILD = """
import json, resource, sys, time
import pyarrow.parquet as pq
from preauth.evaluate.engine import Engine
from preauth.criteria.library import load_library
table = pq.read_table(sys.argv[1])
rss_input = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
engine = Engine(load_library())
times = []
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    out = engine.verdicts(table)
    times.append(time.perf_counter() - t0)
    del out
print(json.dumps({"rows": table.num_rows, "input_mb": round(table.nbytes / 1e6, 1),
                  "rss_after_loading_input_mb": round(rss_input, 1),
                  "policies": len(engine.library.policies), "times_s": times}))
"""

_STATS_CHILD = """
import json, sys, time
import pyarrow.parquet as pq
try:
    from preauth.evidence.report import analyse
except ImportError:
    print(json.dumps({"status": "not available (preauth.evidence is missing)"}))
    sys.exit(0)
path, repeat = sys.argv[1], int(sys.argv[2])
# categorical text as Arrow dictionaries (as Parquet stores it), and as plain strings
categorical = ["carrier", "region", "cpt_code", "decision", "final_decision"]
tables = {"dictionary": pq.read_table(path, read_dictionary=categorical),
          "plain_text": pq.read_table(path)}
analyse(tables["plain_text"].slice(0, 1000), policy=None)  # imports statsmodels
times = {}
for kind, table in tables.items():
    times[kind] = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        analyse(table, policy=None)
        times[kind].append(time.perf_counter() - t0)
print(json.dumps({"status": "ok", "rows": table.num_rows, "times_s": times}))
"""

_PANDAS_CHILD = ("import sys, pandas as pd; "
                 "pd.read_parquet(sys.argv[1]).to_parquet(sys.argv[2])")


def _run_measured(cmd: list[str], workdir: Path) -> dict[str, Any]:
    """Run ``cmd`` in a fresh process: wall and CPU seconds, peak RSS, exit code, output."""
    out_path, err_path = workdir / "child.out", workdir / "child.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "exit": proc.returncode,
            "stdout": out_path.read_text(errors="replace"),
            "stderr": err_path.read_text(errors="replace")}


def _child_json(cmd: list[str], workdir: Path) -> dict[str, Any]:
    run = _run_measured(cmd, workdir)
    if run["exit"] != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} … failed ({run['exit']}): "
                           f"{run['stderr'].strip()[-500:]}")
    return {**json.loads(run["stdout"].strip().splitlines()[-1]), "_run": run}


def run_targets(rows: int = 10_000_000, parquet_rows: int = 1_000_000, repeat: int = 3,
                workdir: str | Path | None = None) -> dict[str, Any]:
    """The issue's targets, measured in fresh processes on synthetic data (seeded)."""
    py = sys.executable
    machine = _machine()
    with tempfile.TemporaryDirectory(prefix="preauth-targets-",
                                     dir=str(workdir) if workdir else None) as tmp:
        work = Path(tmp)
        big, small = work / "requests_big.parquet", work / "requests_1m.parquet"
        for path, n in ((big, rows), (small, parquet_rows)):
            run = _run_measured([py, "-m", "preauth", "synth", "--rows", str(n), "--seed", "11",
                                 "--out", str(path)], work)
            if run["exit"] != 0:
                raise RuntimeError(f"synth failed: {run['stderr'].strip()[-500:]}")

        fast = _child_json([py, "-c", _FAST_PATH_CHILD, str(big), str(repeat)], work)
        fast_run = fast.pop("_run")
        stats_fig = _child_json([py, "-c", _STATS_CHILD, str(big), str(repeat)], work)
        stats_fig.pop("_run")

        evaluate_runs, pandas_runs = [], []
        out = work / "out.parquet"
        for _ in range(repeat):  # interleaved, so both see the same machine load
            evaluate_runs.append(_run_measured(
                [py, "-m", "preauth", "evaluate", str(small), "--policy", "all", "--format",
                 "parquet", "--out", str(out)], work))
            if evaluate_runs[-1]["exit"] != 0:
                raise RuntimeError(f"evaluate failed: {evaluate_runs[-1]['stderr'][-500:]}")
            pandas_runs.append(_run_measured([py, "-c", _PANDAS_CHILD, str(small),
                                              str(work / "pandas.parquet")], work))
        evaluate_summary = evaluate_runs[-1]["stderr"].strip().splitlines()[-1]

    def best(runs: list[dict[str, Any]], key: str) -> float:
        return round(min(r[key] for r in runs), 3)

    def median(runs: list[dict[str, Any]], key: str) -> float:
        return round(statistics.median(r[key] for r in runs), 3)

    fast_best = min(fast["times_s"])
    e2e = {
        "rows": parquet_rows,
        "preauth_evaluate_wall_s": {"best": best(evaluate_runs, "wall_s"),
                                    "median": median(evaluate_runs, "wall_s")},
        "preauth_evaluate_cpu_s": best(evaluate_runs, "cpu_s"),
        "preauth_evaluate_peak_rss_mb": max(r["peak_rss_mb"] for r in evaluate_runs),
        "pandas_read_write_wall_s": {"best": best(pandas_runs, "wall_s"),
                                     "median": median(pandas_runs, "wall_s")},
        "pandas_read_write_cpu_s": best(pandas_runs, "cpu_s"),
        "ratio_best": round(best(evaluate_runs, "wall_s") / best(pandas_runs, "wall_s"), 2),
        "ratio_median": round(median(evaluate_runs, "wall_s")
                              / median(pandas_runs, "wall_s"), 2),
        "ratio_cpu": round(best(evaluate_runs, "cpu_s") / best(pandas_runs, "cpu_s"), 2),
        "summary_line": evaluate_summary,
    }
    stats_out: dict[str, Any] = {"status": stats_fig.get("status")}
    if stats_fig.get("times_s"):
        times = stats_fig["times_s"]
        stats_out.update({"rows": stats_fig["rows"],
                          "analyse_best_s": round(min(times["dictionary"]), 3),
                          "analyse_best_s_plain_text": round(min(times["plain_text"]), 3),
                          "target_met": min(times["dictionary"]) <= 1.0,
                          "note": "analyse_best_s: carrier, region, CPT and decisions as "
                                  "Arrow dictionary columns (as stored in Parquet); "
                                  "_plain_text: the same as plain strings"})
    return {
        "machine": machine,
        "fast_path": {
            "rows": fast["rows"], "policies": fast["policies"],
            "input_mb": fast["input_mb"],
            "best_s": round(fast_best, 3),
            "all_s": [round(t, 3) for t in fast["times_s"]],
            "evaluations_per_s": round(fast["rows"] * fast["policies"] / fast_best),
            "peak_rss_mb": fast_run["peak_rss_mb"],
            "rss_after_loading_input_mb": fast["rss_after_loading_input_mb"],
            "target_met": fast_best <= 2.0 and fast_run["peak_rss_mb"] <= 3072,
        },
        "statistics": stats_out,
        "parquet_end_to_end": {**e2e, "target_met": e2e["ratio_best"] <= 4.0},
        "targets": {"fast_path": "10M requests x every policy <= 2 s, peak RSS <= 3 GB",
                    "statistics": "10M rows <= 1 s",
                    "parquet_end_to_end": "<= 4x a bare pandas read-and-write"},
    }
