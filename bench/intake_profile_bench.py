"""A mapping profile and a diagnosis-code column: what do they cost in validation? Prints JSON.

    .venv/bin/python bench/intake_profile_bench.py --rows 1000000 --repeat 3

The issue's bar: 1M rows with a profile and a diagnosis-code column validate in at most 1.5x
the time without them. The rows are the US export of ``tests/messy_exports.py`` (the bundled
requests repeated: Windows-1252 CSV, M/D/YYYY dates, Male/Female, Y/N, X/blank, status words
with "Withdrawn", ICD-10-CM codes in "Dx Codes" instead of the clinical yes/no columns, an
unmapped "Notes" column), validated as

* ``catalog`` - the same requests as catalog columns (field names, ISO dates, F/M, true/false,
  approved/cancelled), the codes column left out, no profile;
* ``profile`` - the export with the profile ``preauth profile`` proposes, edited as a person
  would (PT Completed -> physical_therapy, Withdrawn -> cancelled), the codes column left out;
* ``profile_codes`` - the export with that profile and its codes column: the issue's case.

Each table is written as CSV and as Parquet (text columns) and read once (``read_raw``); then
``--repeat`` rounds validate the three in turn (a busy moment of a shared machine falls on all
of them alike). Best and median of wall and process CPU time (all threads, system time
included) are reported, and the ratios to ``catalog``. The machine may be shared: CPU time is
the steadier figure.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from preauth.ingest.profile import MappingProfile, propose_profile
from preauth.ingest.raw import RawTable
from preauth.ingest.read import read_raw
from preauth.ingest.validate import validate
from tests.messy_exports import us_export

_CATALOG_NAMES = {"Request ID": "case_id", "Date Requested": "request_date",
                  "Procedure Code": "cpt_code", "Payer": "carrier", "Patient Age": "age",
                  "Gender": "sex", "Symptom Weeks": "symptom_weeks",
                  "Neuro Deficit": "neuro_deficit", "PT Completed": "physical_therapy",
                  "Status": "decision", "Peer to Peer": "peer_to_peer", "Notes": "Notes"}
_WORDS = {"Male": "M", "Female": "F", "Other": "other", "Y": "true", "N": "false",
          "X": "true", "Approved": "approved", "Denied": "denied", "Withdrawn": "cancelled",
          "Pending": "pending"}


def _recode(col: pa.ChunkedArray, blank: str = "") -> pa.ChunkedArray:
    """Export words as the catalog writes them (vectorized: a look-up per distinct value)."""
    keys = pa.array(list(_WORDS))
    found = pa.array(list(_WORDS.values())).take(pc.index_in(col, value_set=keys))
    out = pc.coalesce(found, col)
    return pc.if_else(pc.equal(col, ""), blank, out) if blank else out


def as_catalog(export: pa.Table) -> pa.Table:
    """The export's requests as catalog columns, without the codes column."""
    columns = {}
    for header, name in _CATALOG_NAMES.items():
        col = export.column(header)
        if name == "request_date":
            dates = pc.strptime(pc.if_else(pc.equal(col, ""), None, col), "%m/%d/%Y", "s",
                                error_is_null=True).cast(pa.date32())
            col = pc.fill_null(dates.cast(pa.string()), "")
        elif name == "peer_to_peer":
            col = _recode(col, blank="false")
        elif name in ("sex", "neuro_deficit", "physical_therapy", "decision"):
            col = _recode(col)
        columns[name] = col
    return pa.table(columns)


def the_profile(raw: RawTable) -> MappingProfile:
    """What ``preauth profile`` proposes, edited as a person would."""
    proposed, _ = propose_profile(raw)
    columns = dict(proposed.columns) | {"PT Completed": "physical_therapy"}
    values = {f: dict(t) for f, t in proposed.values.items()}
    values.setdefault("decision", {})["Withdrawn"] = "cancelled"
    return MappingProfile(columns, values, dict(proposed.formats))


def _timings(walls: list[float], cpus: list[float]) -> dict[str, float]:
    return {"wall_best_s": round(min(walls), 3),
            "wall_median_s": round(statistics.median(walls), 3),
            "cpu_best_s": round(min(cpus), 3), "cpu_median_s": round(statistics.median(cpus), 3)}


def _ratios(case: dict[str, Any], base: dict[str, Any]) -> dict[str, float]:
    return {k.removesuffix("_s"): round(case[k] / base[k], 3)
            for k in ("wall_best_s", "wall_median_s", "cpu_best_s", "cpu_median_s")}


def _run(tables: dict[str, pa.Table], options: dict[str, dict[str, Any]], fmt: str,
         where: Path, repeat: int) -> dict[str, Any]:
    """Each table written as ``fmt`` and read once; then ``repeat`` rounds, each validating
    every table in turn (so a busy moment of a shared machine falls on all of them alike)."""
    raws: dict[str, RawTable] = {}
    out: dict[str, Any] = {}
    for label, table in tables.items():
        path = where / f"intake_{label}.{fmt}"
        if fmt == "csv":
            pcsv.write_csv(table, path)
        else:
            pq.write_table(table, path)
        read = time.perf_counter()
        raws[label] = read_raw(path)
        out[label] = {"read_raw_s": round(time.perf_counter() - read, 3)}
        path.unlink()
    walls: dict[str, list[float]] = {label: [] for label in tables}
    cpus: dict[str, list[float]] = {label: [] for label in tables}
    for _ in range(repeat):
        for label, raw in raws.items():
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            result = validate(raw, **options[label])
            walls[label].append(time.perf_counter() - wall)
            cpus[label].append(time.process_time() - cpu)
            out[label].update(summary=result.summary(), notes=result.notes)
            del result
    for label in tables:
        out[label].update(_timings(walls[label], cpus[label]))
    for label in ("profile", "profile_codes"):
        out[label]["over_catalog"] = _ratios(out[label], out["catalog"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", default="/tmp")
    ap.add_argument("--formats", default="csv,parquet")
    args = ap.parse_args()
    built = time.perf_counter()
    data, name = us_export(args.rows, seed=1)
    raw = read_raw(data, name)  # Windows-1252, decoded once here
    del data
    profile = the_profile(raw)
    export = raw.table
    build_s = time.perf_counter() - built
    tables = {"catalog": as_catalog(export),
              "profile": export.drop_columns(["Dx Codes"]),
              "profile_codes": export}
    no_codes = {h: f for h, f in profile.columns.items() if h != "Dx Codes"}
    options = {"catalog": {},
               "profile": MappingProfile(no_codes, profile.values, profile.formats)
               .validate_options(),
               "profile_codes": profile.validate_options()}
    del raw
    figures: dict[str, Any] = {
        "rows": args.rows, "repeat": args.repeat, "cpus": os.cpu_count(),
        "python": platform.python_version(), "pyarrow": pa.__version__,
        "build_s": round(build_s, 1),
        "profile": {"columns": sum(1 for f in profile.columns.values() if f),
                    "values": {f: len(t) for f, t in profile.values.items()},
                    "formats": profile.formats},
    }
    for fmt in args.formats.split(","):
        figures[fmt] = _run(tables, options, fmt, Path(args.dir), args.repeat)
    print(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
