"""Evaluation on DuckDB, in process: the default engine.

Stage 1 (:mod:`preauth.evaluate.stage1`) is one SELECT over the cases — an Arrow table or
pandas frame registered on a locked-down in-memory connection (no file or network access from
SQL) — computing every distinct leaf predicate once, vectorized, on all cores. Stage 2
(:mod:`preauth.evaluate.stage2`) applies the criteria's Kleene logic and the verdict rules on
bit planes. The Spark engine (:mod:`preauth.evaluate.spark_engine`) runs the same two stages.

A single case is a one-row table through the same SQL and the same stage-2 code, so the
explorer, the CLI and batch cannot disagree. The explorer evaluates one on every widget change,
so that path avoids every avoidable cost: the row lives in a temporary table of its own
connection (a batch query of another session does not hold it up) read by a statement prepared
once per policy selection. That connection runs without DuckDB's query optimizer: a one-row
table has nothing to optimize, yet DuckDB re-optimizes a prepared statement on every execution
(about 2 ms of the explorer's keystroke for every policy; optimizers never change results). Only
the columns the statement reads and that differ from what the row holds are updated; the
result is fetched as one tuple, and stage 2 runs on int planes (a few integer operations per
clause instead of numpy calls).
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from preauth.catalog.fields import FIELDS_BY_NAME, Kind
from preauth.catalog.schema import case_table
from preauth.criteria.library import Library
from preauth.evaluate.reading import Reading, read_case, read_table
from preauth.evaluate.stage1 import Plan, Stage1, stage1_sql
from preauth.evaluate.stage2 import OUTPUT_COLUMNS, evaluate_long, evaluate_row, evaluate_wide
from preauth.evaluate.vocabulary import Verdict

__all__ = ["OUTPUT_COLUMNS", "Engine", "Verdict"]

_FIELDS = tuple(FIELDS_BY_NAME)  # the single-case table's columns, in order
_BOOLEAN_FIELDS = frozenset(f for f, spec in FIELDS_BY_NAME.items() if spec.kind is Kind.BOOLEAN)

Trace = dict[str, dict[str, list[bool | None]]]


class Engine:
    """Evaluates a :class:`Library` on DuckDB. Thread-safe: one in-process database, locked
    down (no file or network access from SQL); batches run on one connection and single cases
    on another, each under its own lock; stage 2 is pure and runs outside them."""

    name = "duckdb"

    def __init__(self, library: Library, threads: int | None = None) -> None:
        self.library = library
        self._con = duckdb.connect(":memory:")
        if threads:
            self._con.execute(f"SET threads = {int(threads)}")
        self._single_con = self._con.cursor()  # same database, its own connection
        self._single_con.execute("SET SESSION enable_optimizer = false")  # this one only
        columns = ", ".join(f"{_qi(f)} {FIELDS_BY_NAME[f].sql_type}" for f in _FIELDS)
        self._single_con.execute(f"CREATE TEMP TABLE single_case ({columns})")
        self._single_con.execute("INSERT INTO single_case DEFAULT VALUES")  # always one row
        self._con.execute("SET enable_external_access = false")  # for the whole database
        self._con.execute("SET lock_configuration = true")
        self._lock = threading.Lock()
        self._single_lock = threading.Lock()
        self._plans = {p.id: Plan(p, i) for i, p in enumerate(library.policies)}
        self._single: dict[tuple[str, ...], tuple[str, Stage1]] = {}
        self._loaded: list[Any] = [None] * len(_FIELDS)  # what single_case holds

    def close(self) -> None:
        self._single_con.close()
        self._con.close()

    def plans(self, policies: Iterable[str] | str | None = None) -> list[Plan]:
        return [self._plans[p.id] for p in self.library.select(policies)]

    # -- batches ----------------------------------------------------------------------------
    def verdicts(self, table: pa.Table | pd.DataFrame,
                 policies: Iterable[str] | str | None = None,
                 reading: Reading | str = Reading.STRICT) -> pa.Table:
        """Fast path, wide: ``case_id`` and a ``verdict:<policy>`` column per policy."""
        plans = self.plans(policies)
        table = read_table(table, reading)
        inputs = _boolean_inputs(table)
        layout = stage1_sql(plans, _columns(table), "cases_in", detail=False, direct=inputs)
        if "case_id" not in _columns(table):
            ids: Any = pa.nulls(len(table), pa.string())
        elif isinstance(table, pa.Table):
            ids = table.column("case_id")
        else:
            ids = pa.array(table["case_id"], pa.string(), from_pandas=True)
        return evaluate_wide(plans, self._run(layout.sql, table), ids, layout, inputs)

    def evaluate(self, table: pa.Table | pd.DataFrame,
                 policies: Iterable[str] | str | None = None,
                 reading: Reading | str = Reading.STRICT) -> pa.Table:
        """Long: one row per (case, policy) — policy-major, case order kept — with
        :data:`OUTPUT_COLUMNS`. ``reading``: how empty red flags are read
        (:mod:`preauth.evaluate.reading`)."""
        plans = self.plans(policies)
        table = read_table(table, reading)
        inputs = _boolean_inputs(table)
        layout = stage1_sql(plans, _columns(table), "cases_in", detail=True, direct=inputs)
        return evaluate_long(plans, self._run(layout.sql, table), layout, inputs)

    def _run(self, sql: str, table: pa.Table | pd.DataFrame) -> pa.Table:
        with self._lock:
            self._con.register("cases_in", table)
            try:
                return _arrow(self._con.sql(sql))
            finally:
                self._con.unregister("cases_in")

    # -- one case ---------------------------------------------------------------------------
    def evaluate_case(self, case: Mapping[str, Any],
                      policies: Iterable[str] | str | None = None,
                      reading: Reading | str = Reading.STRICT) -> list[dict[str, Any]]:
        """One case as a one-row table through the same SQL and stage-2 code as batch: the
        rows :meth:`evaluate` would give for it."""
        return self.evaluate_case_traced(case, policies, reading)[0]

    def evaluate_case_traced(self, case: Mapping[str, Any],
                             policies: Iterable[str] | str | None = None,
                             reading: Reading | str = Reading.STRICT,
                             ) -> tuple[list[dict[str, Any]], Trace]:
        """Like :meth:`evaluate_case`, plus the trace: for each policy and criterion, the
        truth value of every clause (pre-order of the clause tree). One SQL execution."""
        plans = self.plans(policies)
        typed = read_case(case_table([dict(case)]).to_pylist()[0], reading)
        values, layout = self._stage1_row(plans, [typed[f] for f in _FIELDS])
        return evaluate_row(plans, layout, values, typed)

    def trace(self, case: Mapping[str, Any], policy: str,
              reading: Reading | str = Reading.STRICT) -> dict[str, list[bool | None]]:
        """Truth value of every clause of every criterion of ``policy`` for one case."""
        return self.evaluate_case_traced(case, [policy], reading)[1][policy]

    def _stage1_row(self, plans: Sequence[Plan], values: list[Any]
                    ) -> tuple[dict[str, Any], Stage1]:
        """Stage 1 of one case (``values`` in :data:`_FIELDS` order): the batch SQL over the
        one-row table, prepared once per policy selection; its row by output column."""
        key = tuple(p.policy.id for p in plans)
        with self._single_lock:
            prepared = self._single.get(key)
            if prepared is None:
                layout = stage1_sql(plans, set(_FIELDS), "single_case", detail=True,
                                    typed=True, direct=_BOOLEAN_FIELDS)
                name = f"single_{len(self._single)}"
                self._single_con.execute(f"PREPARE {name} AS {layout.sql}")
                prepared = self._single[key] = (name, layout)
            name, layout = prepared
            self._load(values, layout.reads)
            row = self._single_con.execute(f"EXECUTE {name}").fetchone()
        assert row is not None
        return dict(zip(layout.outputs, row, strict=True)), layout

    def _load(self, values: list[Any], reads: frozenset[str]) -> None:
        """Put one case in the single-case table: the columns in ``reads`` whose value
        differs from what the row holds (caller holds the lock)."""
        loaded = self._loaded
        changed = [i for i, f in enumerate(_FIELDS)
                   if f in reads and not _same(loaded[i], values[i])]
        if not changed:
            return
        for i in changed:
            loaded[i] = _UNKNOWN  # until the update has succeeded
        assignments = ", ".join(f"{_qi(_FIELDS[i])} = ?" for i in changed)
        self._single_con.execute(f"UPDATE single_case SET {assignments}",
                                 [values[i] for i in changed])
        for i in changed:
            loaded[i] = values[i]


_UNKNOWN = object()  # a value the single-case row may or may not hold


def _same(a: Any, b: Any) -> bool:
    """The same SQL value (``-0.0`` and ``0.0`` kept apart, NaN never equal: updated)."""
    if a is None or b is None:
        return a is b
    if type(a) is not type(b) or a != b:
        return False
    return not isinstance(a, float) or math.copysign(1, a) == math.copysign(1, b)


def _qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(table: pa.Table | pd.DataFrame) -> set[str]:
    names = table.column_names if isinstance(table, pa.Table) else list(table.columns)
    return {n for n in names if n in FIELDS_BY_NAME}


def _boolean_inputs(table: pa.Table | pd.DataFrame) -> dict[str, pa.ChunkedArray]:
    """Boolean catalog fields that an Arrow input holds as boolean columns: stage 2 reads
    their bare-column leaves from the input (no round trip through SQL)."""
    if not isinstance(table, pa.Table):
        return {}
    return {f: table.column(f) for f in _columns(table) if f in _BOOLEAN_FIELDS
            and pa.types.is_boolean(table.schema.field(f).type)}


def _arrow(result: Any) -> pa.Table:
    """Fetch a DuckDB relation as an Arrow table (DuckDB 2.x and 1.x spellings)."""
    fetch = getattr(result, "to_arrow_table", None) or result.fetch_arrow_table
    with warnings.catch_warnings():
        # DuckDB 2 warns that a DB-API result's Arrow output is a copy; results here are
        # already materialised, so the copy is what we want.
        warnings.simplefilter("ignore", UserWarning)
        return fetch()
