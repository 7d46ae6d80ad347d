"""The ``preauth`` command line (also ``python -m preauth``).

Contract (analysts script against these names):

* ``preauth evaluate FILE [--policy ID|all] [--criteria DIR] [--format json|csv|parquet]
  [--layout long|wide] [--bom] [--out PATH] [--errors PATH] [--engine duckdb|spark]
  [--spark-master URL]`` — exit 0 when
  the file was read (even with row errors), 2 with one clear line when it is unusable (also
  when ``--engine spark`` is asked for without PySpark). Never a traceback.
* ``preauth validate-criteria [DIR]`` — exit 0 with a summary, 1 naming file, criterion and
  reason.
* ``preauth synth --rows N --seed S --out FILE`` — seeded synthetic requests.
* ``preauth bench --rows N [--engine duckdb|spark] [--format json]`` — benchmark figures
  (JSON).
* ``preauth stats FILE [--format json|table] [--carrier-reference NAME] [--policy ID]`` —
  rates, odds ratios (``odds_ratios``) and verdict–decision concordance (JSON object).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["main"]

LAYOUTS = ("long", "wide")  # preauth.evaluate.wide.LAYOUTS (not imported: a fast --help)

EXIT_OK, EXIT_INVALID, EXIT_UNUSABLE = 0, 1, 2
# Files from this size on are read and validated in batches (preauth.ingest.stream).
STREAM_FROM_BYTES = 64 << 20


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, no usage dump on stderr
        self.exit(EXIT_UNUSABLE, f"preauth: {message} (see '{self.prog} --help')\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="preauth", description="Spine MRI preauthorization criteria explorer.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ev = sub.add_parser("evaluate", help="evaluate a file of requests against criteria")
    ev.add_argument("file", help="CSV, Parquet, JSON (lines or array) or XLSX file of requests")
    ev.add_argument("--policy", default="all", help="policy id, comma-separated ids, or all")
    ev.add_argument("--criteria", default=None, help="criteria directory (default: bundled)")
    ev.add_argument("--format", choices=("json", "csv", "parquet"), default="json")
    ev.add_argument("--layout", choices=LAYOUTS, default="long",
                    help="long: one row per request and policy, with the lists of criterion "
                         "ids (the default); wide: one row per request — its columns as "
                         "read, then per policy the verdict, whether it is flagged for "
                         "review, the titles of the criteria met and the documentation "
                         "needed (for spreadsheets)")
    ev.add_argument("--bom", action="store_true",
                    help="start the CSV with a UTF-8 byte order mark, so Excel reads it as "
                         "UTF-8 (--format csv only)")
    ev.add_argument("--reading", choices=("strict", "reviewer"), default="strict",
                    help="how empty red flags are read: strict (not documented, the "
                         "default) or reviewer (an unmentioned red flag is absent)")
    ev.add_argument("--out", default=None, help="output path (default: standard output)")
    ev.add_argument("--errors", default=None, help="write rejected rows here as CSV")
    ev.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                    help="evaluation engine (spark needs the optional PySpark extra)")
    ev.add_argument("--spark-master", default="local[*]", metavar="URL",
                    help="Spark master for --engine spark (default: local[*])")

    vc = sub.add_parser("validate-criteria", help="check a criteria directory")
    vc.add_argument("dir", nargs="?", default=None)

    sy = sub.add_parser("synth", help="write seeded synthetic requests")
    sy.add_argument("--rows", type=int, required=True)
    sy.add_argument("--seed", type=int, default=7)
    sy.add_argument("--out", required=True, help="output .csv or .parquet")
    sy.add_argument("--no-outcomes", action="store_true", help="omit payer outcome columns")

    be = sub.add_parser("bench", help="benchmark the engine; prints JSON figures")
    be.add_argument("--rows", type=int, default=1_000_000)
    be.add_argument("--format", choices=("json",), default="json")
    be.add_argument("--repeat", type=int, default=3)
    be.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    be.add_argument("--spark-master", default="local[*]", metavar="URL")
    be.add_argument("--targets", action="store_true",
                    help="measure the issue's targets in fresh processes (10M-row fast path, "
                         "statistics, 1M-row Parquet end to end; needs a few GB and minutes)")

    st = sub.add_parser("stats", help="rates, odds ratios and verdict–decision concordance")
    st.add_argument("file", help="CSV, Parquet, JSON or XLSX file of requests with outcomes")
    st.add_argument("--format", choices=("json", "table"), default="json")
    st.add_argument("--carrier-reference", default=None, metavar="NAME",
                    help="reference carrier (default: the carrier with the most requests)")
    st.add_argument("--policy", default="acr",
                    help="policy whose verdicts are compared with the decisions (default acr)")
    st.add_argument("--criteria", default=None, help="criteria directory (default: bundled)")
    return p


def _say(message: str) -> None:
    print(f"preauth: {message}", file=sys.stderr)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from preauth.criteria.library import load_library
    from preauth.evaluate.batch import evaluate_in_batches
    from preauth.evaluate.engine import Engine
    from preauth.evaluate.reading import Reading
    from preauth.ingest.export import TableWriter, write_table

    if args.format == "parquet" and not args.out:
        _say("--format parquet needs --out PATH")
        return EXIT_UNUSABLE
    if args.bom and args.format != "csv":
        _say(f"--bom is for --format csv (a byte order mark has no place in {args.format})")
        return EXIT_UNUSABLE
    if args.engine == "spark" and not _spark_ready():
        return EXIT_UNUSABLE
    library = load_library(args.criteria)
    try:
        policies = library.select(args.policy)
    except KeyError as err:
        _say(str(err.args[0]))
        return EXIT_UNUSABLE
    path = Path(args.file)
    if not path.is_file():
        _say(f"{args.file}: no such file")
        return EXIT_UNUSABLE
    result, raw = _read_requests_and_source(path)
    if result.rows_in == 0:
        _say(f"{path.name}: has a header row but no data rows; expected one row per request")
        return EXIT_UNUSABLE
    shape = _Shape(args.layout, library, [p.id for p in policies], result,
                   raw if args.layout == "wide" else None)
    del raw
    if args.errors:
        write_table(result.errors, "csv", args.errors)
    engine: Any = Engine(library) if args.engine == "duckdb" else _spark_engine(args, library)
    if engine is None:
        return EXIT_UNUSABLE
    written = 0
    try:
        # preauth.evaluate.batch, as the Upload page: batches of cases in input order, each
        # written as soon as it is evaluated (in a writer thread, while the next batch is),
        # so the determinations (one row per case and policy, with lists) never have to fit
        # in memory at once.
        with TableWriter(args.format, args.out, background=True, bom=args.bom) as writer:
            for batch in evaluate_in_batches(engine, result.accepted, [p.id for p in policies],
                                             reading=args.reading):
                written += batch.table.num_rows
                writer.write(shape.of(batch))
                del batch
    finally:
        engine.close()
    _say(f"{path.name}: {result.summary()}; evaluated {result.rows_accepted:,} cases × "
         f"{len(policies)} policies = {written:,} determinations "
         f"({Reading(args.reading).label.lower()})" + shape.note()
         + ("" if not result.rows_rejected or args.errors else
            " (use --errors PATH to write the rejected rows)"))
    return EXIT_OK


class _Shape:
    """The layout of ``evaluate``'s output: a batch's determinations as they are (long), or
    one row per request (:func:`preauth.evaluate.wide.wide_result`) echoing the fields the
    file's columns were mapped to and, when the file was read whole (``raw``), its unmapped
    columns."""

    def __init__(self, layout: str, library: Any, policies: list[str], result: Any,
                 raw: Any) -> None:
        from preauth.evaluate.wide import echoed_fields

        self.layout, self.library, self.policies = layout, library, policies
        self.cases = result.accepted
        self.fields = echoed_fields(result.mapping.values())
        self.unmapped = list(result.unmapped_columns)
        self.source = None
        if layout == "wide" and raw is not None and self.unmapped:
            from preauth.ingest.export import source_columns

            self.source = source_columns(raw, result.accepted, self.unmapped)

    def of(self, batch: Any) -> Any:
        if self.layout == "long":
            return batch.table
        from preauth.evaluate.wide import wide_result

        size = batch.stop - batch.start
        source = None if self.source is None else self.source.slice(batch.start, size)
        return wide_result(self.cases.slice(batch.start, size), batch.table, self.library,
                           self.policies, fields=self.fields, source=source)

    def note(self) -> str:
        if self.layout == "long":
            return ""
        if self.unmapped and self.source is None:
            return (f"; one row per request (the file was read in batches, so its unmapped "
                    f"columns are not echoed: {', '.join(self.unmapped)})")
        return "; one row per request"


def _read_requests(path: Path) -> Any:
    """Read and validate a requests file: big UTF-8 CSV and Parquet files in batches
    (:mod:`preauth.ingest.stream`), everything else whole. An :class:`IngestResult`."""
    return _read_requests_and_source(path)[0]


def _read_requests_and_source(path: Path) -> tuple[Any, Any]:
    """:func:`_read_requests`, and the file's text table (a :class:`RawTable`) when it was
    read whole (``None`` when it was read in batches)."""
    from preauth.ingest import stream
    from preauth.ingest.read import read_raw
    from preauth.ingest.validate import validate

    if path.stat().st_size >= STREAM_FROM_BYTES:
        streamed = stream.validate_in_batches(path)
        if streamed is not None:
            return streamed, None
    raw = read_raw(path, path.name)
    return validate(raw), raw


def _spark_ready() -> bool:
    from preauth.evaluate.spark_engine import spark_available

    if not spark_available():
        _say("--engine spark needs PySpark: pip install 'preauth-explorer[spark]' (and Java 17)")
        return False
    return True


def _spark_engine(args: argparse.Namespace, library: Any) -> Any:
    from preauth.evaluate.spark_engine import SparkEngine, SparkUnavailable

    try:
        return SparkEngine(library, master=args.spark_master)
    except SparkUnavailable as err:
        _say(str(err))
        return None


def _cmd_validate(args: argparse.Namespace) -> int:
    from preauth.criteria.library import load_library

    library = load_library(args.dir)
    _check_runs(library)
    n = sum(len(p.criteria) for p in library.policies)
    print(f"criteria OK: {len(library.policies)} policies, {n} criteria "
          f"({', '.join(f'{p.id}: {len(p.criteria)}' for p in library.policies)})")
    return EXIT_OK


def _check_runs(library: Any) -> None:
    """What validate-criteria accepts, evaluate must run: evaluate an empty case under every
    policy (DuckDB binds every literal of its SQL). The expression checker makes a failure
    here a bug; should one slip through, it is still a CriteriaError naming the criterion."""
    import duckdb

    from preauth.criteria.library import CriteriaError, Library
    from preauth.evaluate.engine import Engine

    def fails(policy: Any) -> str | None:
        engine = Engine(Library(policies=(policy,)), threads=1)
        try:
            engine.evaluate_case({"case_id": "validate-criteria"})
        except duckdb.Error as err:
            return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        finally:
            engine.close()
        return None

    for policy in library.policies:
        reason = fails(policy)
        if reason is None:
            continue
        for c in policy.criteria:  # name the first criterion that fails alone
            if fails(policy.model_copy(update={"criteria": (c,)})) is not None:
                raise CriteriaError(policy.file, c.id, f"when: the engine cannot evaluate it: "
                                                       f"{reason}")
        raise CriteriaError(policy.file, None, f"the engine cannot evaluate it: {reason}")


def _cmd_synth(args: argparse.Namespace) -> int:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from preauth.synthetic.generator import synthesize

    if args.rows < 0:
        _say("--rows must be ≥ 0")
        return EXIT_UNUSABLE
    table = synthesize(args.rows, seed=args.seed, outcomes=not args.no_outcomes)
    out = Path(args.out)
    if out.suffix.lower() in (".parquet", ".pq"):
        pq.write_table(table, out, compression="zstd")
    elif out.suffix.lower() == ".csv":
        pacsv.write_csv(table, out)
    else:
        _say(f"{out.name}: use a .csv or .parquet file name")
        return EXIT_UNUSABLE
    _say(f"wrote {table.num_rows:,} synthetic requests (seed {args.seed}) to {out}")
    return EXIT_OK


def _cmd_stats(args: argparse.Namespace) -> int:
    import json

    from preauth.criteria.library import load_library
    from preauth.evaluate.engine import Engine
    from preauth.evidence.cells import carriers_in
    from preauth.evidence.report import analyse

    library = load_library(args.criteria)
    if args.policy not in {p.id for p in library.policies}:
        _say(f"unknown policy {args.policy!r}; expected one of "
             f"{', '.join(p.id for p in library.policies)}")
        return EXIT_UNUSABLE
    path = Path(args.file)
    if not path.is_file():
        _say(f"{args.file}: no such file")
        return EXIT_UNUSABLE
    result = _read_requests(path)
    carriers = carriers_in(result.accepted)
    if args.carrier_reference is not None and args.carrier_reference not in carriers:
        _say(f"--carrier-reference {args.carrier_reference!r} is not a carrier in "
             f"{path.name}; expected one of {', '.join(carriers) or '(no carriers recorded)'}")
        return EXIT_UNUSABLE
    engine = Engine(library)
    try:
        evidence = analyse(result.accepted, engine, policy=args.policy,
                           carrier_reference=args.carrier_reference)
    finally:
        engine.close()
    if args.format == "json":
        out = {"file": path.name, "rows_in": result.rows_in,
               "rows_accepted": result.rows_accepted, "rows_rejected": result.rows_rejected,
               **evidence.to_dict()}
        print(json.dumps(out, indent=2, ensure_ascii=False, allow_nan=False))
    else:
        print(evidence.to_text())
    _say(f"{path.name}: {result.summary()}; statistics on {result.rows_accepted:,} requests")
    return EXIT_OK


def _cmd_bench(args: argparse.Namespace) -> int:
    import json

    from preauth.bench import run_benchmark

    if args.targets:
        from preauth.bench import run_targets

        print(json.dumps(run_targets(repeat=args.repeat), indent=2))
        return EXIT_OK
    if args.engine == "spark" and not _spark_ready():
        return EXIT_UNUSABLE
    print(json.dumps(run_benchmark(args.rows, repeat=args.repeat, engine=args.engine,
                                   spark_master=args.spark_master), indent=2))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    from preauth.criteria.library import CriteriaError
    from preauth.ingest.errors import IngestError

    args = _parser().parse_args(argv)
    handlers = {"evaluate": _cmd_evaluate, "validate-criteria": _cmd_validate,
                "synth": _cmd_synth, "bench": _cmd_bench, "stats": _cmd_stats}
    try:
        return handlers[args.command](args)
    except CriteriaError as err:
        _say(f"invalid criteria: {err}")
        return EXIT_INVALID if args.command == "validate-criteria" else EXIT_UNUSABLE
    except IngestError as err:
        _say(str(err))
        return EXIT_UNUSABLE
    except (OSError, ValueError) as err:
        _say(f"{type(err).__name__}: {err}")
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except Exception as err:  # never a traceback for the user
        first = str(err).strip().splitlines()[0][:300] if str(err).strip() else ""
        _say(f"internal error ({type(err).__name__}): {first}")  # one line (Spark's are long)
        return 70


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
