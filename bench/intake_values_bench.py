"""Values as exports write them: does reading them cost time? Prints JSON figures.

    .venv/bin/python bench/intake_values_bench.py --rows 1000000 --repeat 3

Three versions of the same N synthetic rows (``bench/ingest_bench.py``'s table, every catalog
column) are validated: ``catalog`` - the catalog's own spellings (ISO dates, F/M, approved);
``export`` - as a utilization-management export writes them (M/D/YYYY dates, Male/Female,
status words with some "Withdrawn", a checkbox column, decimal commas in a semicolon file);
``export_profile`` - the export with a mapping profile (``values`` for the status,
``formats`` for the date). Each is written as CSV, read once, and validated ``--repeat``
times; the best wall time and the CPU time of that run are reported (the machine may be
shared: CPU time is the steadier figure).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_bench import _pick, synthesise

from preauth.ingest.read import read_raw
from preauth.ingest.validate import validate

PROFILE: dict[str, Any] = {"values": {"decision": {"Withdrawn": "cancelled"}},
                           "formats": {"request_date": "%m/%d/%Y"}}


def as_exported(table: pa.Table, seed: int = 3) -> pa.Table:
    """``table`` with columns spelled as an export spells them (vectorized)."""
    rng = np.random.default_rng(seed)
    n = table.num_rows
    days = table["request_date"].cast(pa.date32())  # ISO text -> dates
    valid = pc.is_valid(days)
    us = pc.binary_join_element_wise(
        pc.cast(pc.month(days), pa.string()), pc.cast(pc.day(days), pa.string()),
        pc.cast(pc.year(days), pa.string()), "/")
    columns = {
        "request_date": pc.if_else(valid, us, ""),
        "sex": _pick(rng, ["Male", "Female", "Male", "Female", ""], n),
        "decision": _pick(rng, ["Approved", "Denied", "Pended", "Withdrawn", "Cancelled", ""],
                          n),
        "physical_therapy": _pick(rng, ["X", "", ""], n),
        "symptom_weeks": pc.replace_substring(table["symptom_weeks"], ".", ","),
        "conservative_therapy_weeks": pc.replace_substring(
            table["conservative_therapy_weeks"], ".", ","),
    }
    for name, values in columns.items():
        table = table.set_column(table.schema.get_field_index(name), name, values)
    return table


def measure(table: pa.Table, path: Path, delimiter: str, repeat: int,
            profile: dict[str, Any] | None = None) -> dict[str, Any]:
    pcsv.write_csv(table, path, write_options=pcsv.WriteOptions(
        quoting_style="needed", delimiter=delimiter))
    raw = read_raw(path)
    best: tuple[float, float] | None = None
    result = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = validate(raw, **(profile or {}))
        run = (time.perf_counter() - wall, time.process_time() - cpu)
        best = run if best is None or run[0] < best[0] else best
    assert best is not None and result is not None
    path.unlink()
    return {"validate_wall_s": round(best[0], 3), "validate_cpu_s": round(best[1], 3),
            "summary": result.summary(), "notes": result.notes,
            "warnings": result.warning_counts()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", default="/tmp")
    args = ap.parse_args()
    table = synthesise(args.rows, 0.0)
    exported = as_exported(table)
    where = Path(args.dir)
    figures = {
        "rows": args.rows, "cpus": os.cpu_count(),
        "catalog": measure(table, where / "values_catalog.csv", ",", args.repeat),
        "export": measure(exported, where / "values_export.csv", ";", args.repeat),
        "export_profile": measure(exported, where / "values_export.csv", ";", args.repeat,
                                  PROFILE),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
