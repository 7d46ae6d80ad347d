"""Evaluation on Apache Spark (PySpark — the optional ``spark`` extra).

The same criteria and the same two stages as :class:`preauth.evaluate.engine.Engine`, so the
verdicts cannot differ:

* **Stage 1** is the very SQL :func:`preauth.evaluate.stage1.stage1_sql` writes for DuckDB,
  generated for the Spark dialect (the criteria expressions transpiled by sqlglot, back-quoted
  identifiers, ``STRING`` types) and run by Spark SQL over a temporary view of the cases.
* **Stage 2** — :func:`preauth.evaluate.stage2.evaluate_wide` /
  :func:`preauth.evaluate.stage2.evaluate_long`, pure numpy / Arrow on bit planes — runs
  *distributed*, inside Spark's Python workers, one Arrow record batch at a time
  (``mapInArrow``). The workers rebuild the policies from their JSON form (validated pydantic
  models; nothing is executed from it), once per worker process.

Nothing is collected to the driver except the result the caller asks for: :meth:`verdicts` and
:meth:`evaluate` return Arrow tables (the rows of DuckDB's result, in the same order — policy-
major for :meth:`evaluate` — with plain ``string`` / ``list<string>`` types where DuckDB uses
dictionaries); :meth:`verdicts_df` / :meth:`evaluate_df` return lazy Spark DataFrames for
results too big for one machine.

Engine differences handled here: pandas ``NaN`` (missing) becomes SQL NULL before Spark sees
it — to Spark a NaN is a number greater than every other — exactly as DuckDB reads pandas;
Arrow dictionary / large-string / null-typed columns are given plain Spark-compatible types.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import threading
import uuid
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.fields import FIELDS_BY_NAME
from preauth.catalog.schema import arrow_schema
from preauth.criteria.library import Library, Policy
from preauth.evaluate.reading import Reading, read_table
from preauth.evaluate.stage1 import Plan, Stage1, stage1_sql
from preauth.evaluate.stage2 import OUTPUT_COLUMNS, evaluate_long, evaluate_wide

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkEngine", "SparkUnavailable", "spark_available", "spark_session"]

DEFAULT_MASTER = "local[2]"
_LIST_COLUMNS = ("fired", "not_met", "undocumented", "would_flip", "undocumented_fields")
_POLICY_INDEX = "_policy_index"


class SparkUnavailable(RuntimeError):
    """PySpark (or Java) is not available; the message says how to get it."""


def spark_available() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return True


def spark_session(master: str = DEFAULT_MASTER, app_name: str = "preauth",
                  config: dict[str, str] | None = None) -> SparkSession:
    """A Spark session for evaluation: UI off, few shuffle partitions, Arrow transfers,
    UTC session time zone, and the current Python for the workers. Returns the active
    session if there is one (its master is then what it was started with)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable("the Spark engine needs PySpark: pip install "
                               "'preauth-explorer[spark]' (and Java 17)") from None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    settings = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": "100000",
        "spark.sql.session.timeZone": "UTC",
        # local mode: the driver JVM also runs the tasks; room for the collected result
        "spark.driver.memory": "4g",
        "spark.driver.maxResultSize": "4g",
    }
    settings.update(config or {})
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        with _quiet(), _jvm_stderr_to_log():
            session = builder.getOrCreate()
    except Exception as err:  # the JVM did not start (no Java, bad master URL ...)
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SparkUnavailable(f"could not start Spark ({master}): {first[:300]} (JVM log: "
                               f"{_jvm_log_path()})") from None
    session.sparkContext.setLogLevel("ERROR")
    if not master.startswith("local"):
        _ship_package(session)
    return session


def _jvm_log_path() -> Path:
    return Path(tempfile.gettempdir()) / f"preauth-spark-{os.getpid()}.log"


@contextlib.contextmanager
def _jvm_stderr_to_log() -> Iterator[None]:
    """While the JVM is spawned, file descriptor 2 points to a log file, so the JVM's own
    start-up chatter (and anything it logs later) goes there, not to the user's terminal.
    Only when no JVM runs yet; Python's ``sys.stderr`` is restored right after."""
    from pyspark import SparkContext

    if SparkContext._jvm is not None:  # already running: nothing is spawned
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with open(_jvm_log_path(), "ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _ship_package(session: SparkSession) -> None:
    """Make ``preauth`` importable on cluster workers (a zip of the package's modules)."""
    root = Path(__file__).resolve().parents[1]
    path = Path(tempfile.gettempdir()) / f"preauth-{os.getpid()}.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for module in sorted(root.rglob("*.py")):
            zf.write(module, f"preauth/{module.relative_to(root).as_posix()}")
    session.sparkContext.addPyFile(str(path))


# --------------------------------------------------------------------------------------------
# Worker side: policies from their JSON form, plans built once per Python worker process
# --------------------------------------------------------------------------------------------

_WORKER_PLANS: dict[tuple[str, tuple[str, ...]], list[Plan]] = {}
_WORKER_LOCK = threading.Lock()


def _payload(library: Library) -> str:
    return json.dumps([p.model_dump(mode="json") for p in library.policies],
                      ensure_ascii=False, sort_keys=True)


def _worker_plans(payload: str, policy_ids: tuple[str, ...]) -> list[Plan]:
    key = (hashlib.sha256(payload.encode("utf-8")).hexdigest(), policy_ids)
    with _WORKER_LOCK:
        plans = _WORKER_PLANS.get(key)
        if plans is None:
            policies = [Policy.model_validate(d) for d in json.loads(payload)]
            by_id = {p.id: Plan(p, i) for i, p in enumerate(policies)}
            plans = _WORKER_PLANS[key] = [by_id[pid] for pid in policy_ids]
    return plans


def _plain_column(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Spark-transportable: dictionaries decoded, lists of dictionaries to lists of strings."""
    t = arr.type
    if pa.types.is_dictionary(t):
        return arr.cast(t.value_type)
    if pa.types.is_list(t) and pa.types.is_dictionary(t.value_type):
        return arr.cast(pa.list_(pa.field("element", t.value_type.value_type)))
    return arr


def _wide_fn(payload: str, policy_ids: tuple[str, ...], layout: Stage1, schema: pa.Schema
             ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        plans = _worker_plans(payload, policy_ids)
        for batch in batches:
            out = evaluate_wide(plans, batch, batch.column("case_id"), layout)
            yield from pa.Table.from_arrays([_plain_column(c) for c in out.columns],
                                            schema=schema).to_batches()
    return run


def _long_fn(payload: str, policy_ids: tuple[str, ...], layout: Stage1, schema: pa.Schema
             ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        plans = _worker_plans(payload, policy_ids)
        for batch in batches:
            if batch.num_rows == 0:
                continue
            out = evaluate_long(plans, pa.Table.from_batches([batch]), layout)
            cols = [_plain_column(out.column(name)) for name in OUTPUT_COLUMNS]
            policy = out.column("policy").cast(pa.string())
            cols.append(pc.index_in(policy, value_set=pa.array(policy_ids)).cast(pa.int8()))
            yield from pa.Table.from_arrays(cols, schema=schema).to_batches()
    return run


# --------------------------------------------------------------------------------------------
# Driver side
# --------------------------------------------------------------------------------------------

def _spark_input(table: pa.Table | pd.DataFrame) -> pa.Table:
    """Catalog columns of ``table`` as an Arrow table Spark can take, NULLs explicit."""
    if isinstance(table, pd.DataFrame):
        # from_pandas turns NaN / None / NaT into NULL — as DuckDB reads a pandas frame.
        table = pa.Table.from_pandas(table, preserve_index=False)
    if not isinstance(table, pa.Table):
        raise TypeError(f"expected a pyarrow Table or pandas DataFrame, got "
                        f"{type(table).__name__}")
    types = {f.name: f.type for f in arrow_schema()}
    names, cols = [], []
    for name, col in zip(table.column_names, table.columns, strict=True):
        if name not in FIELDS_BY_NAME or name in names:
            continue
        t = col.type
        if pa.types.is_dictionary(t):
            col, t = col.cast(t.value_type), t.value_type
        if pa.types.is_null(t):
            col = col.cast(types[name])
        elif pa.types.is_large_string(t) or pa.types.is_string_view(t):
            col = col.cast(pa.string())
        names.append(name)
        cols.append(col)
    return pa.table(cols, names=names) if names else pa.table({})


class SparkEngine:
    """Evaluates a :class:`Library` on Spark; same public results as
    :class:`preauth.evaluate.engine.Engine` (``verdicts``, ``evaluate``)."""

    name = "spark"

    def __init__(self, library: Library, master: str = DEFAULT_MASTER,
                 spark: SparkSession | None = None,
                 config: dict[str, str] | None = None) -> None:
        self.library = library
        if spark is None:
            active = _active_session()
            self._own_session = active is None
            spark = active if active is not None else spark_session(master, config=config)
        else:
            self._own_session = False
        self.spark = spark
        self._plans = {p.id: Plan(p, i) for i, p in enumerate(library.policies)}
        self._payload = _payload(library)

    def close(self) -> None:
        """Stop the Spark session if this engine started it."""
        if self._own_session:
            self.spark.stop()

    def plans(self, policies: Iterable[str] | str | None = None) -> list[Plan]:
        return [self._plans[p.id] for p in self.library.select(policies)]

    # -- input ------------------------------------------------------------------------------
    def dataframe(self, table: pa.Table | pd.DataFrame) -> DataFrame:
        """A Spark DataFrame of the catalog columns of an Arrow table / pandas frame."""
        data = _spark_input(table)
        if data.num_columns == 0:
            data = pa.table({"case_id": pa.nulls(len(table), pa.string())})
        with _quiet():
            return self.spark.createDataFrame(data)

    def _stage1(self, df: DataFrame, plans: list[Plan], detail: bool
                ) -> tuple[DataFrame, Stage1]:
        if not plans:
            raise ValueError("no policy selected")
        view = f"preauth_cases_{uuid.uuid4().hex}"
        columns = {c for c in df.columns if c in FIELDS_BY_NAME}
        if "case_id" not in columns:
            from pyspark.sql import functions as F

            df = df.withColumn("case_id", F.lit(None).cast("string"))
            columns.add("case_id")
        df.createOrReplaceTempView(view)
        layout = stage1_sql(plans, columns, f"`{view}`", detail=detail, dialect="spark",
                            keep_ids=True)
        stage1 = self.spark.sql(layout.sql)
        # The view is resolved into the plan now; dropping it keeps the catalog clean.
        self.spark.catalog.dropTempView(view)
        return stage1, layout

    # -- lazy (distributed) results ---------------------------------------------------------
    def verdicts_df(self, df: DataFrame,
                    policies: Iterable[str] | str | None = None) -> DataFrame:
        """Fast path, wide, as a lazy DataFrame: ``case_id`` and ``verdict:<policy>``."""
        plans = self.plans(policies)
        stage1, layout = self._stage1(df, plans, detail=False)
        schema = pa.schema([("case_id", pa.string())]
                           + [(f"verdict:{p.policy.id}", pa.string()) for p in plans])
        fn = _wide_fn(self._payload, tuple(p.policy.id for p in plans), layout, schema)
        with _quiet():
            return stage1.mapInArrow(fn, _spark_schema(schema))

    def evaluate_df(self, df: DataFrame,
                    policies: Iterable[str] | str | None = None) -> DataFrame:
        """Detailed, long, as a lazy DataFrame (:data:`OUTPUT_COLUMNS` plus the policy's
        position, ``_policy_index``; per partition, rows are policy-major)."""
        plans = self.plans(policies)
        stage1, layout = self._stage1(df, plans, detail=True)
        schema = _long_schema()
        fn = _long_fn(self._payload, tuple(p.policy.id for p in plans), layout, schema)
        with _quiet():
            return stage1.mapInArrow(fn, _spark_schema(schema))

    # -- collected results (the same shape as DuckDB's) ---------------------------------------
    def verdicts(self, table: pa.Table | pd.DataFrame,
                 policies: Iterable[str] | str | None = None,
                 reading: Reading | str = Reading.STRICT) -> pa.Table:
        """Fast path, wide: ``case_id`` and a ``verdict:<policy>`` column per policy."""
        table = read_table(table, reading)
        out = _collect(self.verdicts_df(self.dataframe(table), policies))
        if out.num_rows != len(table):  # pragma: no cover - defensive
            raise RuntimeError("Spark returned a different number of rows")
        return out

    def evaluate(self, table: pa.Table | pd.DataFrame,
                 policies: Iterable[str] | str | None = None,
                 reading: Reading | str = Reading.STRICT) -> pa.Table:
        """Long: one row per (case, policy) — policy-major, case order kept — with
        :data:`preauth.evaluate.stage2.OUTPUT_COLUMNS`. ``reading`` as for the DuckDB
        engine, applied by the same function (:func:`preauth.evaluate.reading.read_table`)."""
        table = read_table(table, reading)
        n_policies = len(self.plans(policies))
        out = _collect(self.evaluate_df(self.dataframe(table), policies))
        index = out.column(_POLICY_INDEX)
        parts = [out.filter(pc.equal(index, i)) for i in range(n_policies)]
        return pa.concat_tables(parts).select(list(OUTPUT_COLUMNS)).combine_chunks()


def _active_session() -> SparkSession | None:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return None
    return SparkSession.getActiveSession()


class _quiet(warnings.catch_warnings):
    """PySpark warns that it does not fully support pandas 3; no pandas conversion is used
    here (Arrow only), so the warning is noise."""

    def __enter__(self) -> None:
        super().__enter__()
        warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support",
                                category=FutureWarning)


def _long_schema() -> pa.Schema:
    strings = ("case_id", "policy", "cpt_code", "region", "contrast", "verdict", "category")
    fields = []
    for name in OUTPUT_COLUMNS:
        if name in strings:
            fields.append(pa.field(name, pa.string()))
        elif name == "needs_review":
            fields.append(pa.field(name, pa.bool_()))
        else:
            fields.append(pa.field(name, pa.list_(pa.field("element", pa.string()))))
    return pa.schema([*fields, pa.field(_POLICY_INDEX, pa.int8())])


def _spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql import types as T

    def spark_type(t: pa.DataType) -> Any:
        if pa.types.is_string(t):
            return T.StringType()
        if pa.types.is_boolean(t):
            return T.BooleanType()
        if pa.types.is_int8(t):
            return T.ByteType()
        if pa.types.is_list(t):
            return T.ArrayType(spark_type(t.value_type), containsNull=True)
        raise TypeError(f"no Spark type for {t}")  # pragma: no cover

    return T.StructType([T.StructField(f.name, spark_type(f.type), nullable=True)
                         for f in schema])


def _collect(df: DataFrame) -> pa.Table:
    """A DataFrame's rows as an Arrow table (partition order kept), plain types."""
    with _quiet():
        table = df.toArrow()
    cols = []
    for f, col in zip(table.schema, table.columns, strict=True):
        if pa.types.is_large_list(f.type) or (pa.types.is_list(f.type)
                                               and f.type.value_field.name != "item"):
            col = col.cast(pa.list_(pa.string()))
        elif pa.types.is_large_string(f.type):
            col = col.cast(pa.string())
        cols.append(col)
    return pa.table(cols, names=table.column_names)
