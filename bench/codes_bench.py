"""Diagnosis-code benchmark: what deriving fields from ICD-10-CM codes adds to validation.

    .venv/bin/python bench/codes_bench.py --rows 1000000 --codes-per-row 3

Builds the ingest benchmark's text table (every catalog column), gives each row about
``--codes-per-row`` diagnosis codes (listed codes, codes under a ``*`` entry or a range,
unlisted codes, dotless and lower-case spellings, a few malformed tokens, mixed separators),
times ``validate`` on it and then ``derive_from_codes`` on the validated table. Prints JSON
figures, including the derivation time as a fraction of the validation time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_bench import synthesise

from preauth.ingest.raw import RawTable
from preauth.ingest.validate import validate
from preauth.sources.codes import (
    CODES_COLUMN,
    DERIVABLE_FIELDS,
    default_code_list,
    derive_from_codes,
)

# A mix as an export might hold it: listed codes, codes under prefixes and ranges, codes the
# list does not hold, other spellings and some junk.
POOL = ("M54.50", "M54.16", "m5416", "G83.4", "Z85.3", "Z85.46", "M46.26", "M51.16",
        "M47.816", "M48.062", "I10", "E11.9", "E78.5", "M54.2", "R63.4", "Z79.52", "M81.0",
        "M80.08XA", "S32.010A", "K21.9", "F41.1", "J45.909", "g8929", "M79.18", "n/a")
SEPARATORS = (", ", ";", " | ", " ")


def codes_column(n: int, per_row: float, seed: int = 11) -> pa.Array:
    """n cells of about ``per_row`` codes each, built column-wise (no per-row Python)."""
    rng = np.random.default_rng(seed)
    pool = pa.array(POOL)
    width = max(1, round(per_row * 2) - 1)  # counts uniform on 1..width: mean per_row
    counts = rng.integers(1, width + 1, n)
    total = int(counts.sum())
    flat = pool.take(pa.array(rng.integers(0, len(POOL), total)))
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    lists = pa.ListArray.from_arrays(offsets, flat)
    sep = SEPARATORS[int(rng.integers(0, len(SEPARATORS)))]
    joined = pc.binary_join(lists, sep)
    empty = pa.array(rng.random(n) < 0.1)  # 10% of rows without codes
    return pc.if_else(empty, pa.scalar(None, pa.string()), joined)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--codes-per-row", type=float, default=3.0)
    ap.add_argument("--repeat", type=int, default=3, help="best of N timings")
    args = ap.parse_args()

    table = synthesise(args.rows)
    codes = codes_column(args.rows, args.codes_per_row)
    table = table.set_column(table.schema.get_field_index(CODES_COLUMN), CODES_COLUMN, codes)
    default_code_list()  # load the list outside the timings

    def timed(run):  # best of --repeat: wall seconds and process CPU seconds (all threads)
        best = (float("inf"), float("inf"), None)
        for _ in range(args.repeat):
            w0, c0 = time.perf_counter(), time.process_time()
            out = run()
            best = min(best, (time.perf_counter() - w0, time.process_time() - c0, out),
                       key=lambda x: x[0])
        return best

    t_validate, c_validate, result = timed(lambda: validate(RawTable.from_arrow(table, "memory")))
    typed = result.accepted
    t_derive, c_derive, derivation = timed(lambda: derive_from_codes(typed))
    # The case the list is for: an export with codes and none of the clinical columns.
    blank = typed
    for name in DERIVABLE_FIELDS:
        i = blank.schema.get_field_index(name)
        f = blank.schema.field(i)
        blank = blank.set_column(i, f, pa.nulls(len(blank), f.type))
    t_blank, c_blank, blank_derivation = timed(lambda: derive_from_codes(blank))

    tokens = pc.list_value_length(pc.split_pattern_regex(codes, r"[,;|\s]+"))
    print(json.dumps({
        "rows": args.rows,
        "rows_accepted": typed.num_rows,
        "tokens": int(pc.sum(tokens).as_py() or 0),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "pyarrow": pa.__version__,
        "repeat": args.repeat,
        "validate_s": round(t_validate, 3),
        "validate_cpu_s": round(c_validate, 3),
        "derive_from_codes_s": round(t_derive, 3),
        "derive_from_codes_cpu_s": round(c_derive, 3),
        "derive_over_validate": round(t_derive / t_validate, 3),
        "derive_over_validate_cpu": round(c_derive / c_validate, 3),
        "clinical_columns_empty": {
            "derive_from_codes_s": round(t_blank, 3),
            "derive_from_codes_cpu_s": round(c_blank, 3),
            "derive_over_validate": round(t_blank / t_validate, 3),
            "rows_with_provenance": int(len(blank_derivation.provenance)
                                        - blank_derivation.provenance.null_count),
        },
        "rows_with_provenance": int(len(derivation.provenance) - derivation.provenance.null_count),
        "warnings": len(derivation.warnings),
        "derived": dict(derivation.derived),
    }, indent=2))


if __name__ == "__main__":
    main()
