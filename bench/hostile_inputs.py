"""Hostile-input timings: how long refusing (or reading) hostile files takes on this machine.

    .venv/bin/python bench/hostile_inputs.py [--skip-cli]

The tests bound this work by counting function calls (tests/work.py), never by a clock; the
seconds they used to assert live here, as figures to read (JSON on stdout):

* ``criteria``: refusing the hostile YAML of tests/test_criteria_uploads.py and
  tests/test_hostile_criteria.py (5,000-digit numbers, 100,000-deep nesting, billion laughs,
  an oversized file), and loading + evaluating the largest policy allowed (wall and CPU);
* ``corpus``: reading or refusing each file of the hostile corpus (tests/hostile_corpus.py),
  with its function calls against the tests' budget;
* ``cli``: `preauth evaluate` on XFD1048576 and on the 1 GB zip bomb in a fresh process
  (seconds, exit status, peak RSS).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' corpus and policies

from preauth.criteria.library import (  # noqa: E402
    MAX_FILE_BYTES,
    MAX_YAML_DEPTH,
    Library,
    load_policy_text,
)
from preauth.evaluate.engine import Engine  # noqa: E402
from preauth.ingest import read_raw, validate  # noqa: E402
from tests import hostile_corpus as hc  # noqa: E402
from tests.test_hostile_criteria import TITLE, worst_policy_text  # noqa: E402
from tests.test_library import GOOD  # noqa: E402
from tests.work import calls_of  # noqa: E402


def _timed(fn: Callable[[], object]) -> dict[str, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        fn()
        outcome = "read"
    except Exception as err:
        outcome = f"refused: {str(err)[:120]}"
    return {"seconds": round(time.perf_counter() - wall, 4),
            "cpu_seconds": round(time.process_time() - cpu, 4), "outcome": outcome}


def _billion_laughs() -> str:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join([*lines, "policy: *i", "criteria: *i"]) + "\n"


def criteria() -> dict[str, object]:
    texts = {
        "number 9 x 5,000": GOOD.replace(TITLE, "title: " + "9" * 5000),
        "number 0x f x 5,000": GOOD.replace(TITLE, "title: 0x" + "f" * 5000),
        "sexagesimal 1:0 x 3,000": GOOD.replace(TITLE, "title: 1" + ":0" * 3000),
        "nesting [ x 100,000": "[" * 100_000 + "]" * 100_000,
        "nesting {a: x 5,000": "{a: " * 5_000 + "1" + "}" * 5_000,
        f"nesting k: x {MAX_YAML_DEPTH + 5}": "".join("  " * i + "k:\n"
                                                      for i in range(MAX_YAML_DEPTH + 5)),
        "billion laughs": _billion_laughs(),
        "file over the size limit": GOOD + "# " + "x" * MAX_FILE_BYTES + "\n",
    }
    out: dict[str, object] = {name: _timed(lambda t=text: load_policy_text(t, "bench.yaml"))
                              for name, text in texts.items()}
    worst = worst_policy_text()

    def load_and_evaluate() -> None:
        policy = load_policy_text(worst, "worst.yaml")
        engine = Engine(Library(policies=(policy,)), threads=1)
        try:
            engine.evaluate_case({"case_id": "a", "cpt_code": "72148", "age": 40})
        finally:
            engine.close()

    out["worst allowed policy: load + evaluate"] = _timed(load_and_evaluate)
    return out


def corpus(directory: Path) -> dict[str, object]:
    paths = hc.write_corpus(directory)
    out: dict[str, object] = {}
    for item in hc.CORPUS:
        path = paths[item.name]
        figures = _timed(lambda p=path: validate(read_raw(p)))
        figures["calls"] = calls_of(lambda p=path: validate(read_raw(p)))[0]
        figures["calls_budget"] = hc.CORPUS_CALLS
        figures["bytes"] = path.stat().st_size
        out[item.name] = figures
    return out


_CHILD = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], "
          "capture_output=True); print(p.returncode, "
          "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def cli(directory: Path) -> dict[str, object]:
    files = {"xfd.xlsx": hc.write_xfd(directory / "xfd.xlsx"),
             "bomb_1gb.xlsx": hc.write_bomb(directory / "bomb_1gb.xlsx")}
    out: dict[str, object] = {}
    for name, path in files.items():
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _CHILD, sys.executable, "-m", "preauth",
                               "evaluate", str(path)], capture_output=True, text=True,
                              cwd=ROOT, check=True)
        code, peak_kb = proc.stdout.split()
        out[name] = {"seconds": round(time.perf_counter() - started, 3), "exit": int(code),
                     "peak_rss_mb": round(int(peak_kb) / 1024, 1),
                     "file_mb": round(path.stat().st_size / 2**20, 2)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-cli", action="store_true",
                        help="leave out the fresh-process `preauth evaluate` runs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        figures: dict[str, object] = {
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                        "load_average": os.getloadavg()},
            "criteria": criteria(),
            "corpus": corpus(Path(tmp) / "corpus"),
        }
        if not args.skip_cli:
            figures["cli"] = cli(Path(tmp))
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
