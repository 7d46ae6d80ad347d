"""DuckDB vs Spark: the same criteria, the same stage-1 SQL (Spark dialect), the same stage-2
code run inside Spark's Python workers — verdicts and statuses must be identical.

One session-scoped ``local[2]`` SparkSession (UI off, two shuffle partitions). Outside CI the
module skips with a reason when PySpark or Java is missing; under ``CI=true`` that fails.
"""

from __future__ import annotations

import importlib
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from _pytest.mark import ParameterSet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preauth.catalog.fields import CPT_CODES, FIELDS_BY_NAME
from preauth.catalog.schema import case_table
from preauth.criteria.library import Library
from preauth.evaluate.engine import Engine
from preauth.evaluate.stage1 import stage1_sql
from preauth.synthetic.scenarios import SCENARIOS
from tests.properties.strategies import cases

pytestmark = pytest.mark.spark

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _require_spark() -> None:
    reason = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        reason = "PySpark is not installed (pip install -e '.[test,spark]')"
    if reason is None and not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        reason = "Java is not installed (Spark needs Java 17)"
    if reason:
        if IN_CI:
            pytest.fail(f"the Spark parity tests must run in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    _require_spark()
    from preauth.evaluate.spark_engine import spark_session

    session = spark_session("local[2]", app_name="preauth-tests",
                            config={"spark.sql.shuffle.partitions": "2",
                                    "spark.default.parallelism": "2",
                                    "spark.driver.memory": "1g"})
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_engine(spark: Any, library: Library) -> Any:
    from preauth.evaluate.spark_engine import SparkEngine

    return SparkEngine(library, spark=spark)


def assert_same(duck: pa.Table, spark_result: pa.Table) -> None:
    assert spark_result.column_names == duck.column_names
    assert spark_result.num_rows == duck.num_rows
    assert spark_result.to_pylist() == duck.to_pylist()


def assert_parity(engine: Engine, spark_engine: Any, table: pa.Table | pd.DataFrame,
                  policies: Any = None) -> None:
    assert_same(engine.verdicts(table, policies), spark_engine.verdicts(table, policies))
    assert_same(engine.evaluate(table, policies), spark_engine.evaluate(table, policies))


# --- the case sets -------------------------------------------------------------------------

def _criterion_test_cases() -> list[dict[str, Any]]:
    """Every case of the per-criterion boundary tests and the vignettes' parametrisations."""
    from tests.criteria.conftest import QUIET

    out: list[dict[str, Any]] = []
    for name in ("test_acr", "test_aetna_style", "test_bcbs_style", "test_evicore_style",
                 "test_vignettes"):
        module = importlib.import_module(f"tests.criteria.{name}")
        for obj in vars(module).values():
            for mark in getattr(obj, "pytestmark", []):
                if mark.name != "parametrize":
                    continue
                names = mark.args[0]
                names = [n.strip() for n in names.split(",")] if isinstance(names, str) \
                    else list(names)
                for param in mark.args[1]:
                    if isinstance(param, ParameterSet):
                        values = param.values
                    else:
                        values = param if len(names) > 1 else (param,)
                    d = dict(zip(names, values, strict=False))
                    if isinstance(d.get("case"), dict) and "cpt" in d:
                        out.append({**d["case"], "cpt_code": d["cpt"]})
                    elif isinstance(d.get("overlay"), dict) and "cpt" in d:
                        out.append({**QUIET, **d["overlay"], "cpt_code": d["cpt"]})
    return out


def gallery() -> list[dict[str, Any]]:
    from tests.criteria.conftest import QUIET
    from tests.criteria.test_vignettes import random_cases

    rows = [dict(s.case) for s in SCENARIOS]
    rows += [{**QUIET, "cpt_code": cpt} for cpt in CPT_CODES]
    rows += random_cases(20260523, 400)
    rows += _criterion_test_cases()
    rows += _criterion_examples()
    return [{**r, "case_id": f"g{i}"} for i, r in enumerate(rows)]


def _criterion_examples() -> list[dict[str, Any]]:
    """Every example kept beside a criterion in criteria/*.yaml (thresholds, NULLs)."""
    from preauth.criteria.examples import example_case
    from preauth.criteria.library import load_library

    return [example_case(c, e) for p in load_library().policies for c in p.criteria
            for e in c.examples]


# --- tests ---------------------------------------------------------------------------------

def test_stage1_sql_is_valid_spark_sql(spark: Any, engine: Engine) -> None:
    """Both stage-1 modes, for every policy, over full and minimal column sets, are accepted
    (parsed and analysed) by Spark SQL."""
    plans = engine.plans(None)
    spark.createDataFrame(case_table([s.case for s in SCENARIOS])).createOrReplaceTempView(
        "parity_sql_check")
    for columns in (set(FIELDS_BY_NAME), {"case_id", "cpt_code"}, {"cpt_code", "age"}):
        for detail in (False, True):
            sql = stage1_sql(plans, columns, "parity_sql_check", detail, dialect="spark",
                             keep_ids="case_id" in columns).sql
            df = spark.sql(sql)
            assert "procedure" in df.columns
    spark.catalog.dropTempView("parity_sql_check")


def test_scenario_gallery_and_criterion_cases(engine: Engine, spark_engine: Any) -> None:
    """The scenario gallery, the quiet case for every CPT code, random partly undocumented
    vignette cases, every case of the per-criterion boundary tests and every criterion
    example — under both readings of silence."""
    rows = gallery()
    assert len(rows) > 1200
    assert_parity(engine, spark_engine, case_table(rows))
    for_reviewer = case_table(rows)
    assert_same(engine.evaluate(for_reviewer, reading="reviewer"),
                spark_engine.evaluate(for_reviewer, reading="reviewer"))
    assert_same(engine.verdicts(for_reviewer, reading="reviewer"),
                spark_engine.verdicts(for_reviewer, reading="reviewer"))


@st.composite
def batches(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 40))
    return [draw(cases(case_id=f"h{i}")) for i in range(n)]


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=batches())
def test_hypothesis_cases_with_nulls(engine: Engine, spark_engine: Any,
                                     batch: list[dict[str, Any]]) -> None:
    assert_parity(engine, spark_engine, case_table(batch))


def test_pandas_nan_is_null_not_a_number(engine: Engine, spark_engine: Any) -> None:
    """To Spark a NaN is a number greater than every other; a pandas NaN means "not
    documented" and must reach Spark as NULL — as DuckDB reads it."""
    base = {**SCENARIOS[0].case, "cpt_code": "72148", "radiculopathy": True,
            "neuro_deficit": True, "conservative_therapy_weeks": 8.0}
    rows = [{**base, "case_id": "nan-weeks", "symptom_weeks": math.nan,
             "conservative_therapy_weeks": math.nan},
            {**base, "case_id": "nan-age", "age": math.nan},
            {**base, "case_id": "none-weeks", "symptom_weeks": None,
             "conservative_therapy_weeks": None},
            {**base, "case_id": "documented", "symptom_weeks": 12.0}]
    frame = pd.DataFrame(rows)
    assert frame["symptom_weeks"].isna().sum() == 2
    spark_rows = spark_engine.evaluate(frame).to_pylist()
    assert spark_rows == engine.evaluate(frame).to_pylist()
    by = {(r["case_id"], r["policy"]): r for r in spark_rows}
    for policy in {r["policy"] for r in spark_rows}:
        nan, none = by[("nan-weeks", policy)], by[("none-weeks", policy)]
        assert {**nan, "case_id": "x"} == {**none, "case_id": "x"}
    # and NaN-as-NULL equals an Arrow table with explicit NULLs
    arrow_rows = engine.evaluate(case_table([{k: (None if isinstance(v, float)
                                                  and math.isnan(v) else v)
                                              for k, v in r.items()} for r in rows]))
    assert spark_rows == arrow_rows.to_pylist()


def test_arrow_nan_values_agree(engine: Engine, spark_engine: Any) -> None:
    """A real NaN in an Arrow float column (not missing data) orders above every number in
    both engines, so they still agree."""
    table = case_table([{**SCENARIOS[0].case, "case_id": "a"}, {**SCENARIOS[0].case,
                                                                "case_id": "b"}])
    weeks = pa.array([float("nan"), 2.0], pa.float64())
    table = table.set_column(table.schema.get_field_index("symptom_weeks"), "symptom_weeks",
                             weeks)
    assert_parity(engine, spark_engine, table)


def test_narrow_and_empty_inputs(engine: Engine, spark_engine: Any) -> None:
    rows = [{"case_id": f"n{i}", "cpt_code": cpt} for i, cpt in enumerate(CPT_CODES)]
    rows.append({"case_id": "no-cpt", "cpt_code": None})
    assert_parity(engine, spark_engine, pa.Table.from_pylist(rows))
    no_ids = pa.table({"cpt_code": ["72148", "72141"], "age": [40, 80],
                       "radiculopathy": [True, None]})
    assert_parity(engine, spark_engine, no_ids)
    assert_parity(engine, spark_engine, case_table([]))
    assert_parity(engine, spark_engine, case_table([dict(s.case) for s in SCENARIOS]),
                  "bcbs_style,acr")


def test_ingested_file_and_partition_order(engine: Engine, spark_engine: Any,
                                           tmp_path: Path) -> None:
    """Rows validated by ingest (with their ``row`` column), spread over several Spark
    partitions: same rows, same order."""
    from preauth.ingest.read import read_raw
    from preauth.ingest.validate import validate
    from preauth.synthetic.generator import synthesize

    path = tmp_path / "requests.csv"
    synthesize(3000, seed=5).to_pandas().to_csv(path, index=False)
    accepted = validate(read_raw(path)).accepted
    assert spark_engine.dataframe(accepted).rdd.getNumPartitions() >= 2
    assert_parity(engine, spark_engine, accepted)


def test_stage2_runs_lazily_in_the_workers(spark_engine: Any) -> None:
    from pyspark.sql import DataFrame

    df = spark_engine.dataframe(case_table([dict(s.case) for s in SCENARIOS]))
    wide = spark_engine.verdicts_df(df, "acr")
    long = spark_engine.evaluate_df(df, "acr")
    assert isinstance(wide, DataFrame) and isinstance(long, DataFrame)
    assert wide.columns == ["case_id", "verdict:acr"]
    assert wide.count() == len(SCENARIOS)


def test_cli_spark_engine_matches_duckdb(spark: Any, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from preauth.cli import main
    from preauth.synthetic.generator import synthesize

    src = tmp_path / "requests.csv"
    synthesize(500, seed=3).to_pandas().to_csv(src, index=False)
    outs = {}
    for name in ("duckdb", "spark"):
        out = tmp_path / f"{name}.csv"
        assert main(["evaluate", str(src), "--engine", name, "--format", "csv",
                     "--out", str(out)]) == 0
        outs[name] = out.read_bytes()
    assert outs["spark"] == outs["duckdb"]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("preauth: ") for line in err)
    assert spark.sparkContext._jsc is not None  # the shared session is still running
