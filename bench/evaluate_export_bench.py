"""`preauth evaluate FILE --format parquet` against a bare pandas read + write of FILE.

    .venv/bin/python -m preauth synth --rows 1000000 --out /tmp/requests-1m.parquet
    .venv/bin/python bench/evaluate_export_bench.py /tmp/requests-1m.parquet --repeat 3

Two parts, printed as JSON:

* ``end_to_end``: fresh processes, interleaved so both see the same machine load —
  ``python -m preauth evaluate FILE --policy all --format parquet --out …`` and
  ``pd.read_parquet(FILE).to_parquet(…)`` — wall and CPU seconds, best and median, and their
  ratio (the issue's target: ≤ 3×).
* ``phases``: in this process, the same work step by step — read and validate (ingest),
  evaluate (:func:`preauth.evaluate.batch.evaluate_all`, every policy) and write
  (:class:`preauth.ingest.export.TableWriter`) — best of ``--repeat``; ``--formats`` adds the
  write time for CSV and JSON Lines when asked.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

_PANDAS = "import sys, pandas as pd; pd.read_parquet(sys.argv[1]).to_parquet(sys.argv[2])"
# This checkout's preauth, in this process and in the timed ones (not whichever one the
# interpreter has installed: a worktree's bench measures the worktree)
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _measured(cmd: list[str]) -> dict[str, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd[:5])} failed: {err[-500:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime}


def end_to_end(path: Path, work: Path, repeat: int) -> dict[str, Any]:
    py, path = sys.executable, path.resolve()  # the processes run in ROOT
    ev, pd_ = [], []
    for _ in range(repeat):
        ev.append(_measured([py, "-m", "preauth", "evaluate", str(path), "--policy", "all",
                             "--format", "parquet", "--out", str(work / "evaluate.parquet")]))
        pd_.append(_measured([py, "-c", _PANDAS, str(path), str(work / "pandas.parquet")]))

    def fig(runs: list[dict[str, float]], key: str) -> dict[str, float]:
        xs = [r[key] for r in runs]
        return {"best": round(min(xs), 3), "median": round(statistics.median(xs), 3)}

    out = {"evaluate_wall_s": fig(ev, "wall_s"), "pandas_wall_s": fig(pd_, "wall_s"),
           "evaluate_cpu_s": fig(ev, "cpu_s"), "pandas_cpu_s": fig(pd_, "cpu_s")}
    out["ratio_best"] = round(out["evaluate_wall_s"]["best"] / out["pandas_wall_s"]["best"], 2)
    out["ratio_median"] = round(out["evaluate_wall_s"]["median"]
                                / out["pandas_wall_s"]["median"], 2)
    return out


def phases(path: Path, work: Path, repeat: int, formats: list[str]) -> dict[str, Any]:
    import pyarrow as pa

    from preauth.criteria.library import load_library
    from preauth.evaluate.batch import evaluate_all
    from preauth.evaluate.engine import Engine
    from preauth.ingest.export import TableWriter
    from preauth.ingest.read import read_raw
    from preauth.ingest.stream import validate_in_batches
    from preauth.ingest.validate import validate

    def read_requests(path: Path) -> Any:  # as the CLI reads (streamed from 64 MB on)
        streamed = validate_in_batches(path) if path.stat().st_size >= 64 << 20 else None
        return streamed if streamed is not None else validate(read_raw(path, path.name))

    library = load_library()
    engine = Engine(library)
    ids = [p.id for p in library.policies]
    steps = ["ingest", "evaluate", *(f"write_{f}" for f in formats)]
    wall: dict[str, list[float]] = {k: [] for k in steps}
    cpu: dict[str, list[float]] = {k: [] for k in steps}
    rows = 0

    def timed(step: str, fn: Any) -> Any:
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall[step].append(time.perf_counter() - w0)
        cpu[step].append(time.process_time() - c0)
        return out

    def write(fmt: str, table: pa.Table) -> None:
        with TableWriter(fmt, str(work / f"phase.{fmt}")) as writer:
            for start in range(0, table.num_rows, 800_000):  # the CLI's batches
                writer.write(table.slice(start, 800_000))

    for _ in range(repeat):
        result = timed("ingest", partial(read_requests, path))
        table = timed("evaluate", partial(evaluate_all, engine, result.accepted, ids))
        rows = table.num_rows
        for fmt in formats:
            timed(f"write_{fmt}", partial(write, fmt, table))
        del table, result
    engine.close()
    return {"output_rows": rows,
            "wall_s_best": {k: round(min(v), 3) for k, v in wall.items()},
            "cpu_s_best": {k: round(min(v), 3) for k, v in cpu.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--formats", default="parquet",
                    help="comma-separated formats whose write is timed (parquet,csv,json)")
    ap.add_argument("--skip-end-to-end", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="preauth-export-bench-") as tmp:
        work = Path(tmp)
        out: dict[str, Any] = {"file": str(args.file), "cpus": os.cpu_count(),
                               "load_avg": os.getloadavg()}
        out["phases"] = phases(args.file, work, args.repeat, args.formats.split(","))
        if not args.skip_end_to_end:
            out["end_to_end"] = end_to_end(args.file, work, args.repeat)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
