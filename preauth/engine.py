"""Vectorized, three-valued evaluation of criteria over a table of cases, on DuckDB.

Stage 1 (SQL): every criterion of the chosen policies becomes a column of one SELECT over the
typed case table, so the data is scanned once, vectorized, on all cores. SQL NULL means "not
documented": Kleene logic gives each criterion TRUE (met), FALSE (not met) or NULL
(undocumented). In the detailed mode the same SELECT also says, for undocumented criteria,
which NULL fields decide them.

Stage 2 (:mod:`preauth.verdicts`, numpy/Arrow): verdicts and explanations from those columns.

A single case is a one-row table through exactly the same SQL (prepared once, so a keystroke
in the explorer does not re-plan it) and the same stage-2 code, so the explorer, the CLI and
batch cannot disagree.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from preauth.expressions import Node
from preauth.fields import CLINICAL_FIELDS, CONTRASTS, CPT_CODES, FIELDS_BY_NAME, REGIONS, Kind
from preauth.library import Library, Policy
from preauth.verdicts import (
    BITS_PER_WORD,
    UNKNOWN_PROCEDURE,
    PolicyTables,
    Statuses,
    Verdict,
    category,
    decide,
    explain,
    n_words,
)

__all__ = ["OUTPUT_COLUMNS", "Engine", "Verdict", "base_select", "case_table", "sql_literal"]

OUTPUT_COLUMNS = ("case_id", "policy", "cpt_code", "region", "contrast", "verdict",
                  "needs_review", "category", "fired", "not_met", "undocumented",
                  "would_flip", "undocumented_fields")
_KEEP = ("case_id", "cpt_code", "region", "contrast")


def sql_literal(value: str) -> str:
    """A SQL string literal (only ever used for catalog / library identifiers)."""
    return "'" + str(value).replace("'", "''") + "'"


def _qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def base_select(columns: set[str], source: str, quote: str = '"', typed: bool = False) -> str:
    """Typed view of the input: every clinical field present (NULL when absent); region and
    contrast derived from the CPT code when missing. ``typed``: the source already has the
    catalog types (the single-case table), so no casts are needed."""

    def q(name: str) -> str:
        return f"{quote}{name}{quote}"

    parts = []
    for f in CLINICAL_FIELDS:
        if f.name in ("region", "contrast"):
            continue
        sql_type = "STRING" if quote == "`" and f.sql_type == "VARCHAR" else f.sql_type
        if typed and f.name in columns:
            expr = q(f.name)
        elif f.name in columns:
            expr = f"CAST({q(f.name)} AS {sql_type})"
        else:
            expr = f"CAST(NULL AS {sql_type})"
        parts.append(f"{expr} AS {q(f.name)}")
    str_type = "STRING" if quote == "`" else "VARCHAR"
    cpt = f"CAST({q('cpt_code')} AS {str_type})" if "cpt_code" in columns else "NULL"
    for name, idx in (("region", 0), ("contrast", 1)):
        derived = f"CASE {cpt} " + " ".join(
            f"WHEN {sql_literal(code)} THEN {sql_literal(pair[idx])}"
            for code, pair in CPT_CODES.items()) + " END"
        given = f"CAST({q(name)} AS {str_type})" if name in columns else "NULL"
        parts.append(f"COALESCE({given}, {derived}) AS {q(name)}")
    return f"SELECT {', '.join(parts)} FROM {source}"


class _Plan:
    """One policy's part of stage 1: its criteria and lookup tables for stage 2."""

    def __init__(self, policy: Policy, index: int) -> None:
        self.policy = policy
        self.index = index
        self.tables = PolicyTables(policy)
        self.names = [f"p{index}_c{j}" for j in range(len(policy.criteria))]
        self.nodes = [list(c.expression.root.walk()) for c in policy.criteria]

    @property
    def word_names(self) -> list[tuple[str, str]]:
        return [(f"p{self.index}_met{w}", f"p{self.index}_known{w}")
                for w in range(n_words(len(self.names)))]

    def status_columns(self, dialect: str) -> list[tuple[str, str]]:
        """Fast mode: status codes straight from the criteria expressions."""
        return [(self.names[j], status_code(c.expression.sql(dialect)))
                for j, c in enumerate(self.policy.criteria)]

    def bit_columns(self, roots: list[str] | None = None) -> list[tuple[str, str]]:
        """Pack the criteria into met / known bit words — from the status-code columns, or
        (``roots``) straight from the columns holding each criterion's three-valued result."""
        out = []
        for w, (met_name, known_name) in enumerate(self.word_names):
            part = slice(w * BITS_PER_WORD, (w + 1) * BITS_PER_WORD)
            if roots is None:
                names = self.names[part]
                met_terms = [f"CAST({n} = {MET} AS BIGINT)" for n in names]
                known_terms = [f"CAST({n} <> {UNDOCUMENTED} AS BIGINT)" for n in names]
            else:
                names = roots[part]
                met_terms = [f"CAST({n} IS TRUE AS BIGINT)" for n in names]
                known_terms = [f"CAST({n} IS NOT NULL AS BIGINT)" for n in names]
            out += [(met_name, " + ".join(f"{t} * {1 << b}" for b, t in enumerate(met_terms))),
                    (known_name,
                     " + ".join(f"{t} * {1 << b}" for b, t in enumerate(known_terms)))]
        return out

    def statuses(self, result: pa.Table, procedure: np.ndarray,
                 layout: Stage1 | None) -> Statuses:
        met = [_int64(result.column(m)) for m, _k in self.word_names]
        known = [_int64(result.column(k)) for _m, k in self.word_names]
        null_fields = None
        if layout is not None:
            trace = layout.trace[self.policy.id]
            nulls = _NullMasks(result)

            def null_fields(j: int) -> dict[str, np.ndarray]:
                cols = {id(n): col for n, col in zip(self.nodes[j], trace[j], strict=True)}
                return _relevant_nulls(self.nodes[j][0], cols, nulls, layout.null_tests)

        return Statuses(procedure, met, known, null_fields)


@dataclass
class Stage1:
    """Stage-1 SQL and where each policy's results are in its output.

    In the detailed mode every distinct clause (leaf, or AND/OR/NOT over leaves) is computed
    once — criteria and policies share many (the red flags) — so the SQL stays small.
    ``trace[policy][j]`` lists the column of each clause of criterion j, in pre-order;
    ``null_tests`` maps a field to a column "field IS NULL" (for leaves over several fields).
    """

    sql: str
    detail: bool
    trace: dict[str, list[list[str]]] = field(default_factory=dict)
    null_tests: dict[str, str] = field(default_factory=dict)


class _NullMasks:
    """Lazily converted "is NULL" masks of result columns."""

    def __init__(self, result: pa.Table) -> None:
        self.result = result
        self._cache: dict[str, np.ndarray] = {}

    def __call__(self, col: str) -> np.ndarray:
        mask = self._cache.get(col)
        if mask is None:
            column = _plain(self.result.column(col), pa.bool_())
            if col.startswith("isnull_"):  # a stage-1 "field IS NULL" test (never NULL)
                mask = column.to_numpy(zero_copy_only=False).astype(bool)
            else:
                mask = column.is_null().to_numpy(zero_copy_only=False)
            self._cache[col] = mask
        return mask


def _relevant_nulls(node: Node, cols: dict[int, str], nulls: _NullMasks,
                    null_tests: dict[str, str]) -> dict[str, np.ndarray]:
    """Per field, where the clause is NULL *because of* that field being undocumented
    (Kleene: the NULL operands of a NULL AND / OR decide it; NOT passes it through).
    Meaningful only where the clause itself is NULL."""
    if node.kind == "leaf":
        if len(node.fields) == 1:
            return {node.fields[0]: np.ones(1, dtype=bool)}
        return {f: nulls(null_tests[f]) for f in node.fields}
    if node.kind == "not":
        return _relevant_nulls(node.children[0], cols, nulls, null_tests)
    acc: dict[str, np.ndarray] = {}
    for child in node.children:
        child_null = nulls(cols[id(child)])
        for f, mask in _relevant_nulls(child, cols, nulls, null_tests).items():
            part = child_null & mask
            acc[f] = acc[f] | part if f in acc else part
    return acc


NOT_MET, MET, UNDOCUMENTED = 0, 1, 2


def status_code(sql: str) -> str:
    """A criterion's three-valued result as a TINYINT code: 0 not met, 1 met, 2 undocumented."""
    return f"COALESCE(CAST(({sql}) AS TINYINT), {UNDOCUMENTED})"


def procedure_sql(quote: str = '"') -> str:
    """Procedure code (region × contrast, 0–8; 9 when either is missing) as SQL."""
    region = " ".join(f"WHEN {sql_literal(r)} THEN {i * len(CONTRASTS)}"
                      for i, r in enumerate(REGIONS))
    contrast = " ".join(f"WHEN {sql_literal(c)} THEN {i}" for i, c in enumerate(CONTRASTS))
    return (f"CAST(COALESCE((CASE {quote}region{quote} {region} END) + "
            f"(CASE {quote}contrast{quote} {contrast} END), {UNKNOWN_PROCEDURE}) AS TINYINT)")


def _plain(col: pa.Array | pa.ChunkedArray, empty_type: pa.DataType) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks else pa.array([], empty_type)
    return col


def _int64(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return _plain(col, pa.int64()).to_numpy(zero_copy_only=False)


def _bools(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean column known to hold no NULLs (relevance columns) as a numpy array."""
    return _plain(col, pa.bool_()).to_numpy(zero_copy_only=False)


def stage1_sql(plans: Sequence[_Plan], columns: set[str], source: str, detail: bool,
               trace: bool = False, dialect: str = "duckdb", typed: bool = False) -> Stage1:
    """Stage-1 SQL over ``source`` for the given policies: fast (bit words only) or detailed
    (also every distinct clause's value — the trace — from which stage 2 explains).
    ``trace`` is accepted for symmetry; the detailed mode always includes the clauses."""
    quote = "`" if dialect == "spark" else '"'
    base = base_select(columns, source, quote=quote, typed=typed)
    keep = ", ".join(f"{quote}{k}{quote}" for k in _KEEP)
    proc = f"{procedure_sql(quote)} AS procedure"

    def sel(cols: Iterable[tuple[str, str]]) -> str:
        return ", ".join(f"({sql}) AS {name}" for name, sql in cols)

    if not detail:
        bits = [c for p in plans for c in p.bit_columns()]
        statuses = [c for p in plans for c in p.status_columns(dialect)]
        inner = f"SELECT {proc}, {sel(statuses)} FROM ({base}) AS c"
        return Stage1(f"SELECT procedure, {sel(bits)} FROM ({inner}) AS s", detail=False)

    leaves: dict[str, str] = {}  # SQL → column (distinct leaf clauses)
    clauses: dict[str, str] = {}  # SQL over leaf columns → column
    out = Stage1("", detail=True)
    bits: list[tuple[str, str]] = []
    for p in plans:
        trace_list: list[list[str]] = []
        roots: list[str] = []
        for j in range(len(p.policy.criteria)):
            col_of: dict[int, str] = {}

            def inline(node: Node, _col_of: dict[int, str] = col_of) -> str:
                if node.kind == "leaf":
                    return _col_of[id(node)]
                if node.kind == "not":
                    return f"(NOT {inline(node.children[0], _col_of)})"
                op = " AND " if node.kind == "and" else " OR "
                return "(" + op.join(inline(ch, _col_of) for ch in node.children) + ")"

            for node in reversed(p.nodes[j]):  # children before parents
                if node.kind == "leaf":
                    sql = node.sql(dialect)
                    col_of[id(node)] = leaves.setdefault(sql, f"l{len(leaves)}")
                    if len(node.fields) > 1:
                        for f in node.fields:
                            out.null_tests.setdefault(f, f"isnull_{f}")
                else:
                    sql = inline(node)
                    col_of[id(node)] = clauses.setdefault(sql, f"k{len(clauses)}")
            trace_list.append([col_of[id(n)] for n in p.nodes[j]])
            roots.append(col_of[id(p.nodes[j][0])])
        out.trace[p.policy.id] = trace_list
        bits += p.bit_columns(roots=roots)
    null_cols = [(name, f"{quote}{f}{quote} IS NULL") for f, name in out.null_tests.items()]
    leaf_cols = [(name, sql) for sql, name in leaves.items()]
    clause_cols = [(name, sql) for sql, name in clauses.items()]
    # 1: distinct leaves (and NULL tests) over the typed base
    l1 = f"SELECT {keep}, {proc}, {sel(leaf_cols + null_cols)} FROM ({base}) AS c"
    # 2: distinct AND / OR / NOT clauses over the leaf columns
    carry = ", ".join([keep, "procedure", *leaves.values(), *out.null_tests.values()])
    l2 = f"SELECT {carry}, {sel(clause_cols)} FROM ({l1}) AS l1" if clause_cols else l1
    # 3: every clause value (the trace; stage 2 derives Kleene relevance from it) and the
    #    met / known bit words from each criterion's root clause
    passthrough = ", ".join([*leaves.values(), *clauses.values(), *out.null_tests.values()])
    out.sql = f"SELECT {keep}, procedure, {passthrough}, {sel(bits)} FROM ({l2}) AS l2"
    return out


def _procedures(result: pa.Table) -> np.ndarray:
    return _plain(result.column("procedure"), pa.int8()).to_numpy(zero_copy_only=False)


def stage2(plans: Sequence[_Plan], result: pa.Table, layout: Stage1) -> pa.Table:
    """Verdicts and explanations (long: one row per case and policy) from stage-1 output."""
    procedure = _procedures(result)
    parts = []
    for p in plans:
        st = p.statuses(result, procedure, layout)
        dec = decide(p.tables, st)
        cols: dict[str, Any] = {k: result.column(k) for k in _KEEP}
        cols["policy"] = pa.array([p.policy.id] * st.n, pa.string())
        cols["verdict"] = dec.verdict_names()
        cols["needs_review"] = pa.array(dec.needs_review)
        cols["category"] = category(p.tables, st)
        cols.update(explain(p.tables, st, dec))
        parts.append(pa.table(cols).select(list(OUTPUT_COLUMNS)))
    if not parts:
        raise ValueError("no policy selected")
    return pa.concat_tables(parts)


def stage2_wide(plans: Sequence[_Plan], result: pa.Table,
                case_id: pa.ChunkedArray | pa.Array) -> pa.Table:
    """Verdicts only (wide: ``case_id`` and one ``verdict:<policy>`` column per policy)."""
    procedure = _procedures(result)
    out: dict[str, Any] = {"case_id": case_id}
    for p in plans:
        dec = decide(p.tables, p.statuses(result, procedure, None))
        out[f"verdict:{p.policy.id}"] = dec.verdict_names()
    return pa.table(out)


class Engine:
    """Evaluates a :class:`Library` on DuckDB. Thread-safe: calls are serialised on one
    locked-down in-process connection (no file or network access from SQL)."""

    name = "duckdb"

    def __init__(self, library: Library, threads: int | None = None) -> None:
        self.library = library
        self._con = duckdb.connect(":memory:")
        if threads:
            self._con.execute(f"SET threads = {int(threads)}")
        self._con.execute(f"CREATE TEMP TABLE single_case ({_typed_columns()})")
        self._con.execute("INSERT INTO single_case DEFAULT VALUES")  # always exactly one row
        self._con.execute("SET enable_external_access = false")
        self._con.execute("SET lock_configuration = true")
        self._lock = threading.Lock()
        self._plans = {p.id: _Plan(p, i) for i, p in enumerate(library.policies)}
        self._prepared: dict[tuple[str, ...], tuple[str, Stage1]] = {}

    def close(self) -> None:
        self._con.close()

    def plans(self, policies: Iterable[str] | str | None = None) -> list[_Plan]:
        return [self._plans[p.id] for p in self.library.select(policies)]

    # -- stage 1 ----------------------------------------------------------------------------

    def _run(self, sql: str, table: pa.Table | pd.DataFrame) -> pa.Table:
        with self._lock:
            self._con.register("cases_in", table)
            try:
                return _arrow(self._con.sql(sql))
            finally:
                self._con.unregister("cases_in")

    def _run_single(self, plans: Sequence[_Plan], table: pa.Table) -> tuple[pa.Table, Stage1]:
        """One case: a prepared statement over a one-row temp table, planned once per policy
        selection. Same stage-1 SQL as batch (plus the trace columns)."""
        key = tuple(p.policy.id for p in plans)
        with self._lock:
            if key not in self._prepared:
                name = f"single_{len(self._prepared)}"
                layout = stage1_sql(plans, set(FIELDS_BY_NAME), "single_case", True,
                                    trace=True, typed=True)
                self._con.execute(f"PREPARE {name} AS {layout.sql}")
                self._prepared[key] = (name, layout)
            name, layout = self._prepared[key]
            self._con.execute(_UPDATE_SINGLE, [table.column(f)[0].as_py()
                                               for f in FIELDS_BY_NAME])
            return _arrow(self._con.execute(f"EXECUTE {name}")), layout

    @staticmethod
    def _columns(table: pa.Table | pd.DataFrame) -> set[str]:
        names = table.column_names if isinstance(table, pa.Table) else list(table.columns)
        return {n for n in names if n in FIELDS_BY_NAME}

    # -- public API -----------------------------------------------------------------------
    def verdicts(self, table: pa.Table | pd.DataFrame,
                 policies: Iterable[str] | str | None = None) -> pa.Table:
        """Fast path, wide: ``case_id`` and a ``verdict:<policy>`` column per policy."""
        plans = self.plans(policies)
        sql = stage1_sql(plans, self._columns(table), "cases_in", detail=False).sql
        if "case_id" not in self._columns(table):
            ids: Any = pa.nulls(len(table), pa.string())
        elif isinstance(table, pa.Table):
            ids = table.column("case_id")
        else:
            ids = pa.array(table["case_id"], pa.string(), from_pandas=True)
        return stage2_wide(plans, self._run(sql, table), ids)

    def evaluate(self, table: pa.Table | pd.DataFrame,
                 policies: Iterable[str] | str | None = None) -> pa.Table:
        """Long: one row per (case, policy) — policy-major, case order kept — with
        :data:`OUTPUT_COLUMNS`."""
        plans = self.plans(policies)
        layout = stage1_sql(plans, self._columns(table), "cases_in", detail=True)
        return stage2(plans, self._run(layout.sql, table), layout)

    def evaluate_case(self, case: Mapping[str, Any],
                      policies: Iterable[str] | str | None = None) -> list[dict[str, Any]]:
        """One case as a one-row table through the same SQL and stage-2 code as batch."""
        plans = self.plans(policies)
        result, layout = self._run_single(plans, case_table([dict(case)]))
        return stage2(plans, result, layout).to_pylist()

    def evaluate_case_traced(self, case: Mapping[str, Any],
                             policies: Iterable[str] | str | None = None,
                             ) -> tuple[list[dict[str, Any]], dict[str, dict[str, list]]]:
        """Like :meth:`evaluate_case`, plus the trace: for each policy and criterion, the
        truth value of every clause (pre-order of the clause tree). One SQL execution."""
        plans = self.plans(policies)
        result, layout = self._run_single(plans, case_table([dict(case)]))
        rows = stage2(plans, result, layout).to_pylist()
        row = result.slice(0, 1).to_pylist()[0]
        traces = {p.policy.id: {c.id: [row[col] for col in layout.trace[p.policy.id][j]]
                                for j, c in enumerate(p.policy.criteria)} for p in plans}
        return rows, traces

    def trace(self, case: Mapping[str, Any], policy: str) -> dict[str, list[bool | None]]:
        """Truth value of every clause of every criterion of ``policy`` for one case."""
        return self.evaluate_case_traced(case, [policy])[1][policy]


_UPDATE_SINGLE = ("UPDATE single_case SET "
                  + ", ".join(f"{_qi(f)} = ?" for f in FIELDS_BY_NAME))


def _typed_columns() -> str:
    return ", ".join(f"{_qi(f.name)} {f.sql_type}" for f in FIELDS_BY_NAME.values())


def _arrow(result: Any) -> pa.Table:
    """Fetch a DuckDB relation as an Arrow table (DuckDB 2.x and 1.x spellings)."""
    fetch = getattr(result, "to_arrow_table", None) or result.fetch_arrow_table
    with warnings.catch_warnings():
        # DuckDB 2 warns that a DB-API result's Arrow output is a copy; results here are
        # small (one case) or already materialised, so the copy is what we want.
        warnings.simplefilter("ignore", UserWarning)
        return fetch()


_ARROW_TYPES = {
    Kind.TEXT: pa.string(),
    Kind.ENUM: pa.string(),
    Kind.DATE: pa.date32(),
    Kind.INTEGER: pa.int32(),
    Kind.NUMBER: pa.float64(),
    Kind.BOOLEAN: pa.bool_(),
}


def arrow_schema() -> pa.Schema:
    """The Arrow schema of a typed case table (every catalog field)."""
    return pa.schema([(f.name, _ARROW_TYPES[f.kind]) for f in FIELDS_BY_NAME.values()])


def case_table(cases: Sequence[Mapping[str, Any]]) -> pa.Table:
    """A typed Arrow table with every catalog column from case dicts (missing = NULL)."""
    schema = arrow_schema()
    return pa.table({f.name: pa.array([c.get(f.name) for c in cases], type=f.type)
                     for f in schema}, schema=schema)
