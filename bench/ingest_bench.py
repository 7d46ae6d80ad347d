"""Ingest benchmark: synthesise N rows of case text, time ``read_raw`` (CSV) and ``validate``.

    .venv/bin/python bench/ingest_bench.py --rows 1000000

Every catalog column is present, as text the way a user's file would have it (mixed boolean
spellings, some empty cells); ``--bad`` makes that fraction of rows invalid in one cell. The
data is built column-wise with numpy / Arrow (no per-row Python). Prints JSON figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from preauth.catalog.fields import CPT_CODES, FIELDS, Kind
from preauth.ingest.raw import RawTable
from preauth.ingest.read import read_raw
from preauth.ingest.validate import validate

_BOOLS = ("true", "false", "yes", "no", "Y", "N", "1", "0", "")


def _pick(rng: np.random.Generator, values: tuple[str, ...] | list[str], n: int) -> pa.Array:
    """n random choices from ``values`` as a string array (via a dictionary, no Python loop)."""
    idx = pa.array(rng.integers(0, len(values), n, dtype=np.int32))
    return pa.DictionaryArray.from_arrays(idx, pa.array(list(values), pa.string())) \
        .cast(pa.string())


def _numbers(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def synthesise(n: int, bad_fraction: float = 0.0, seed: int = 7) -> pa.Table:
    """A text table of ``n`` valid-looking cases with every catalog column."""
    rng = np.random.default_rng(seed)
    columns: dict[str, pa.Array] = {}
    codes = rng.integers(0, len(CPT_CODES), n)
    code_values = np.array(list(CPT_CODES))
    region_values = np.array([CPT_CODES[c][0] for c in CPT_CODES])
    contrast_values = np.array([CPT_CODES[c][1] for c in CPT_CODES])
    for f in FIELDS:
        if f.name == "case_id":
            col = pc.binary_join_element_wise(
                "C", pc.utf8_lpad(_numbers(np.arange(n)), 8, "0"), "")
        elif f.name == "cpt_code":
            col = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)),
                                                 pa.array(code_values)).cast(pa.string())
        elif f.name in ("region", "contrast"):
            values = region_values if f.name == "region" else contrast_values
            given = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)),
                                                   pa.array(values)).cast(pa.string())
            blank = pa.array(rng.random(n) < 0.5)  # half given (agreeing), half derived
            col = pc.if_else(blank, "", given)
        elif f.name == "carrier":
            col = _pick(rng, ["Aetna", "BCBS", "Cigna", "UnitedHealthcare", "Humana"], n)
        elif f.kind is Kind.BOOLEAN:
            col = _pick(rng, _BOOLS, n)
        elif f.kind is Kind.ENUM:
            col = _pick(rng, [*f.values, ""], n)
        elif f.kind is Kind.INTEGER:
            lo, hi = int(f.minimum or 0), int(f.maximum or 100)
            col = _numbers(rng.integers(lo, hi + 1, n))
        elif f.kind is Kind.NUMBER:
            col = _numbers(np.round(rng.random(n) * 52, 1))
        elif f.kind is Kind.DATE:
            days = rng.integers(19000, 20000, n).astype(np.int32)
            col = pc.cast(pa.array(days, pa.date32()), pa.string())
        else:
            col = _pick(rng, ["note a", "note b", ""], n)
        columns[f.name] = col
    table = pa.table(columns)
    if bad_fraction > 0:
        bad = pa.array(rng.random(n) < bad_fraction)
        table = table.set_column(table.schema.get_field_index("age"), "age",
                                 pc.if_else(bad, "old", table.column("age")))
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--bad", type=float, default=0.001, help="fraction of invalid rows")
    ap.add_argument("--csv", default="/tmp/ingest_bench.csv")
    args = ap.parse_args()

    t0 = time.perf_counter()
    table = synthesise(args.rows, args.bad)
    t_synth = time.perf_counter() - t0
    path = Path(args.csv)
    pcsv.write_csv(table, path, write_options=pcsv.WriteOptions(quoting_style="needed"))

    t0 = time.perf_counter()
    raw = read_raw(path)
    t_read = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = validate(raw)
    t_validate = time.perf_counter() - t0

    t0 = time.perf_counter()
    validate(RawTable.from_arrow(table, "memory"))
    t_validate_memory = time.perf_counter() - t0

    print(json.dumps({
        "rows": args.rows,
        "columns": table.num_columns,
        "csv_mb": round(path.stat().st_size / 1e6, 1),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "synthesise_s": round(t_synth, 3),
        "read_raw_csv_s": round(t_read, 3),
        "validate_s": round(t_validate, 3),
        "validate_in_memory_s": round(t_validate_memory, 3),
        "read_rows_per_s": round(args.rows / t_read),
        "validate_rows_per_s": round(args.rows / t_validate),
        "rows_accepted": result.rows_accepted,
        "rows_rejected": result.rows_rejected,
        "errors": result.error_count,
        "summary": result.summary(),
    }, indent=2))


if __name__ == "__main__":
    main()
