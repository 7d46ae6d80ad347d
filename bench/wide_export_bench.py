"""The wide result (one row per request) against the long one: build and CSV write.

    .venv/bin/python bench/wide_export_bench.py --rows 1000000 [--repeat 3]

Synthesises ``--rows`` requests, evaluates them under every policy once (not timed) and keeps
the cases and the determinations as uncompressed Arrow IPC files. Each step then runs in a
fresh process that memory-maps them (so loading allocates nothing) and reports wall and CPU
seconds; one more run of each step, with ``tracemalloc`` on (it slows Python down, so it is
not timed), reports its peak memory: Arrow's pool (``max_memory``: every buffer the step
allocated) plus Python's and numpy's allocations (``tracemalloc``), and the process's peak
RSS (``VmHWM``; it also counts the mapped input pages read). Steps:

* ``wide_build`` — :func:`preauth.evaluate.wide.wide_result` on the whole table (as the Upload
  page builds it on click), every catalog field echoed;
* ``wide_csv`` — the same, then written as CSV (formula-safe) to a file;
* ``wide_csv_batched`` — built and written 200,000 requests at a time (``preauth evaluate
  --layout wide --format csv``'s batches);
* ``long_csv`` — the long result written as CSV, 800,000 rows at a time (the default layout,
  as ``preauth evaluate --format csv`` writes it).

Prints JSON: the best of ``--repeat`` per step (time) and the largest peak. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("wide_build", "wide_csv", "wide_csv_batched", "long_csv")
CASES_PER_BATCH = 200_000  # preauth.evaluate.batch.BATCH_ROWS


def prepare(rows: int, work: Path) -> dict[str, Any]:
    import pyarrow as pa

    from preauth.criteria.library import load_library
    from preauth.evaluate.batch import evaluate_all
    from preauth.evaluate.engine import Engine
    from preauth.synthetic.generator import synthesize

    cases = synthesize(rows, seed=7)
    engine = Engine(load_library())
    try:
        t0 = time.perf_counter()
        long = evaluate_all(engine, cases, "all")
        evaluate_s = time.perf_counter() - t0
    finally:
        engine.close()
    for name, table in (("cases", cases), ("long", long.unify_dictionaries())):
        with pa.OSFile(str(work / f"{name}.arrow"), "wb") as sink, \
                pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    return {"requests": cases.num_rows, "determinations": long.num_rows,
            "evaluate_s": round(evaluate_s, 2)}


def step(name: str, work: Path, trace: bool) -> dict[str, Any]:
    import pyarrow as pa

    from preauth.criteria.library import load_library
    from preauth.evaluate.wide import echoed_fields, wide_result
    from preauth.ingest.export import TableWriter

    def mapped(stem: str) -> pa.Table:
        return pa.ipc.open_file(pa.memory_map(str(work / f"{stem}.arrow"))).read_all()

    library = load_library()
    cases, long = mapped("cases"), mapped("long")
    ids = [p.id for p in library.policies]
    k = len(ids)
    fields = echoed_fields(None)
    out = work / f"{name}.csv"
    pool = pa.default_memory_pool()
    arrow0 = pool.bytes_allocated()
    if trace:
        tracemalloc.start()
    w0, c0 = time.perf_counter(), time.process_time()
    rows = 0
    if name == "wide_build":
        rows = wide_result(cases, long, library, ids, fields=fields).num_rows
    elif name == "wide_csv":
        wide = wide_result(cases, long, library, ids, fields=fields)
        rows = wide.num_rows
        with TableWriter("csv", out) as writer:
            writer.write(wide)
    elif name == "wide_csv_batched":
        with TableWriter("csv", out, background=True) as writer:
            for start in range(0, cases.num_rows, CASES_PER_BATCH):
                part = cases.slice(start, CASES_PER_BATCH)
                wide = wide_result(part, long.slice(start * k, part.num_rows * k), library,
                                   ids, fields=fields)
                rows += wide.num_rows
                writer.write(wide)
                del wide
    elif name == "long_csv":
        with TableWriter("csv", out, background=True) as writer:
            for start in range(0, long.num_rows, CASES_PER_BATCH * k):
                writer.write(long.slice(start, CASES_PER_BATCH * k))
        rows = long.num_rows
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    _, py_peak = tracemalloc.get_traced_memory() if trace else (0, 0)
    tracemalloc.stop()
    return {"step": name, "rows_written": rows, "wall_s": round(wall, 3),
            "cpu_s": round(cpu, 3),
            "arrow_peak_mb": round((pool.max_memory() - arrow0) / 2**20, 1),
            "python_peak_mb": round(py_peak / 2**20, 1),
            "max_rss_mb": _peak_rss_mb(),
            "csv_mb": round(out.stat().st_size / 2**20, 1) if out.exists() else None}


def _peak_rss_mb() -> float:
    """This process's peak RSS (``VmHWM``: unlike ``ru_maxrss``, not inherited from the
    parent across ``exec``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def _child(name: str, work: Path, trace: bool) -> dict[str, Any]:
    child = subprocess.run([sys.executable, __file__, "--step", name, "--work", str(work),
                            *(["--trace"] if trace else [])], capture_output=True, text=True,
                           cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if child.returncode:
        raise SystemExit(f"{name}: {child.stderr[-2000:]}")
    return dict(json.loads(child.stdout))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)  # in the child
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:
        print(json.dumps(step(args.step, args.work, args.trace)))
        return
    with tempfile.TemporaryDirectory(prefix="preauth-wide-bench-") as tmp:
        work = Path(tmp)
        out: dict[str, Any] = {"cpus": os.cpu_count(), "load_avg": os.getloadavg(),
                               **prepare(args.rows, work)}
        runs: dict[str, list[dict[str, Any]]] = {s: [] for s in STEPS}
        for _ in range(args.repeat):
            for s in STEPS:  # interleaved: every step sees the same machine load
                runs[s].append(_child(s, work, trace=False))
        traced = {s: _child(s, work, trace=True) for s in STEPS}
        out["steps"] = {s: {"wall_s_best": min(r["wall_s"] for r in rs),
                            "cpu_s_best": min(r["cpu_s"] for r in rs),
                            "arrow_peak_mb": traced[s]["arrow_peak_mb"],
                            "python_peak_mb": traced[s]["python_peak_mb"],
                            "max_rss_mb": max(r["max_rss_mb"] for r in rs),
                            "rows_written": rs[0]["rows_written"], "csv_mb": rs[0]["csv_mb"]}
                        for s, rs in runs.items()}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
