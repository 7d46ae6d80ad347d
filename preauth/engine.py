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


def base_select(columns: set[str], source: str, quote: str = '"') -> str:
    """Typed view of the input: every clinical field present (NULL when absent); region and
    contrast derived from the CPT code when missing."""

    def q(name: str) -> str:
        return f"{quote}{name}{quote}"

    parts = []
    for f in CLINICAL_FIELDS:
        if f.name in ("region", "contrast"):
            continue
        sql_type = "STRING" if quote == "`" and f.sql_type == "VARCHAR" else f.sql_type
        expr = f"CAST({q(f.name)} AS {sql_type})" if f.name in columns \
            else f"CAST(NULL AS {sql_type})"
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
    """Stage-1 SQL of one policy.

    Every criterion becomes a status code (0 not met, 1 met, 2 undocumented); the codes are
    packed into *met* and *known* bit words (62 criteria per BIGINT) for stage 2. The detailed
    mode evaluates clause by clause in projections so the SQL stays linear in size: (1) every
    leaf clause, (2) every AND/OR/NOT over the leaf columns — the root being the criterion —
    and (3) per (criterion, field) whether the criterion is NULL *because of* that field
    (Kleene). The clause columns double as the trace the explorer shows.
    """

    def __init__(self, policy: Policy, index: int) -> None:
        self.policy = policy
        self.index = index
        self.tables = PolicyTables(policy)
        self.names = [f"p{index}_c{j}" for j in range(len(policy.criteria))]
        self.nodes: list[list[tuple[str, Node]]] = []  # per criterion: (column, node)
        self.relevance_names: list[dict[str, str]] = []
        for j, c in enumerate(policy.criteria):
            nodes = list(c.expression.root.walk())
            self.nodes.append([(f"{self.names[j]}_t{k}", n) for k, n in enumerate(nodes)])
            conds = c.expression.null_conditions()
            self.relevance_names.append({f: f"{self.names[j]}_n{k}"
                                         for k, (f, cond) in enumerate(conds.items())
                                         if cond != "TRUE"})

    @property
    def word_names(self) -> list[tuple[str, str]]:
        return [(f"p{self.index}_met{w}", f"p{self.index}_known{w}")
                for w in range(n_words(len(self.names)))]

    def status_columns(self, dialect: str) -> list[tuple[str, str]]:
        """Fast mode: status codes straight from the criteria expressions."""
        return [(self.names[j], status_code(c.expression.sql(dialect)))
                for j, c in enumerate(self.policy.criteria)]

    def bit_columns(self) -> list[tuple[str, str]]:
        """Pack the status-code columns into met / known bit words."""
        out = []
        for w, (met_name, known_name) in enumerate(self.word_names):
            names = self.names[w * BITS_PER_WORD:(w + 1) * BITS_PER_WORD]
            met = " + ".join(f"CAST({n} = {MET} AS BIGINT) * {1 << b}"
                             for b, n in enumerate(names))
            known = " + ".join(f"CAST({n} <> {UNDOCUMENTED} AS BIGINT) * {1 << b}"
                               for b, n in enumerate(names))
            out += [(met_name, met), (known_name, known)]
        return out

    def detail_layers(self, dialect: str = "duckdb") -> tuple[list[tuple[str, str]], ...]:
        """(leaf columns, clause columns, status-code + relevance columns) as (name, SQL)."""
        leaves: list[tuple[str, str]] = []
        clauses: list[tuple[str, str]] = []
        final: list[tuple[str, str]] = []
        for j, c in enumerate(self.policy.criteria):
            col_of = {id(n): name for name, n in self.nodes[j]}

            def ref(node: Node, _col_of: dict[int, str] = col_of) -> str:
                return _col_of[id(node)]

            def inline(node: Node, _ref: Any = ref) -> str:
                if node.kind == "leaf":
                    return _ref(node)
                if node.kind == "not":
                    return f"(NOT {inline(node.children[0], _ref)})"
                op = " AND " if node.kind == "and" else " OR "
                return "(" + op.join(inline(ch, _ref) for ch in node.children) + ")"

            for name, node in self.nodes[j]:
                if node.kind == "leaf":
                    leaves.append((name, node.sql(dialect)))
                else:
                    clauses.append((name, inline(node)))
            final.append((self.names[j], status_code(ref(c.expression.root))))
            conds = c.expression.null_conditions(dialect, ref=ref)
            final.extend((col, conds[f]) for f, col in self.relevance_names[j].items())
        return leaves, clauses, final

    def statuses(self, result: pa.Table, procedure: np.ndarray, detail: bool) -> Statuses:
        met = [_int64(result.column(m)) for m, _k in self.word_names]
        known = [_int64(result.column(k)) for _m, k in self.word_names]
        null_fields = None
        if detail:
            null_fields = [{f: _bools(result.column(col)) for f, col in rel.items()}
                           for rel in self.relevance_names]
        return Statuses(procedure, met, known, null_fields)


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
               trace: bool = False, dialect: str = "duckdb") -> str:
    """Stage-1 SQL over ``source`` for the given policies (fast or detailed)."""
    quote = "`" if dialect == "spark" else '"'
    base = base_select(columns, source, quote=quote)
    keep = ", ".join(f"{quote}{k}{quote}" for k in _KEEP)
    proc = f"{procedure_sql(quote)} AS procedure"

    def sel(cols: list[tuple[str, str]]) -> str:
        return ", ".join(f"({sql}) AS {name}" for name, sql in cols)

    bits = [c for p in plans for c in p.bit_columns()]
    if not detail:
        statuses = [c for p in plans for c in p.status_columns(dialect)]
        inner = f"SELECT {proc}, {sel(statuses)} FROM ({base}) AS c"
        return f"SELECT procedure, {sel(bits)} FROM ({inner}) AS s"
    layers = [p.detail_layers(dialect) for p in plans]
    leaves = [c for lay in layers for c in lay[0]]
    clauses = [c for lay in layers for c in lay[1]]
    final = [c for lay in layers for c in lay[2]]
    traced = [name for name, _ in leaves + clauses] if trace else []
    l1 = f"SELECT *, {sel(leaves)} FROM ({base}) AS c"
    l2 = f"SELECT *, {sel(clauses)} FROM ({l1}) AS l1" if clauses else l1
    extra = "".join(", " + t for t in traced)
    l3 = f"SELECT {keep}, {proc}, {sel(final)}{extra} FROM ({l2}) AS l2"
    relevance = [name for p in plans for rel in p.relevance_names for name in rel.values()]
    passthrough = ", ".join([keep, "procedure", *relevance, *traced])
    return f"SELECT {passthrough}, {sel(bits)} FROM ({l3}) AS l3"


def _procedures(result: pa.Table) -> np.ndarray:
    return _plain(result.column("procedure"), pa.int8()).to_numpy(zero_copy_only=False)


def stage2(plans: Sequence[_Plan], result: pa.Table) -> pa.Table:
    """Verdicts and explanations (long: one row per case and policy) from stage-1 output."""
    procedure = _procedures(result)
    parts = []
    for p in plans:
        st = p.statuses(result, procedure, detail=True)
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
        dec = decide(p.tables, p.statuses(result, procedure, detail=False))
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
        self._con.execute("SET enable_external_access = false")
        self._con.execute("SET lock_configuration = true")
        self._lock = threading.Lock()
        self._plans = {p.id: _Plan(p, i) for i, p in enumerate(library.policies)}
        self._prepared: dict[tuple[str, ...], str] = {}

    def close(self) -> None:
        self._con.close()

    def plans(self, policies: Iterable[str] | str | None = None) -> list[_Plan]:
        return [self._plans[p.id] for p in self.library.select(policies)]

    # -- stage 1 ----------------------------------------------------------------------------
    def stage1_sql(self, plans: Sequence[_Plan], columns: set[str], source: str,
                   detail: bool, trace: bool = False) -> str:
        """The one stage-1 SELECT (``trace`` also returns every clause's value)."""
        return stage1_sql(plans, columns, source, detail, trace)

    def _run(self, sql: str, table: pa.Table | pd.DataFrame) -> pa.Table:
        with self._lock:
            self._con.register("cases_in", table)
            try:
                return _arrow(self._con.sql(sql))
            finally:
                self._con.unregister("cases_in")

    def _run_single(self, plans: Sequence[_Plan], table: pa.Table) -> pa.Table:
        """One case: a prepared statement over a one-row temp table, planned once per policy
        selection. Same stage-1 SQL as batch."""
        key = tuple(p.policy.id for p in plans)
        with self._lock:
            name = self._prepared.get(key)
            if name is None:
                name = f"single_{len(self._prepared)}"
                sql = self.stage1_sql(plans, set(FIELDS_BY_NAME), "single_case", True,
                                      trace=True)
                self._con.execute(f"PREPARE {name} AS {sql}")
                self._prepared[key] = name
            self._con.execute("DELETE FROM single_case")
            self._con.execute(_INSERT_SINGLE, [table.column(f).to_pylist()[0]
                                               for f in FIELDS_BY_NAME])
            return _arrow(self._con.execute(f"EXECUTE {name}"))

    @staticmethod
    def _columns(table: pa.Table | pd.DataFrame) -> set[str]:
        names = table.column_names if isinstance(table, pa.Table) else list(table.columns)
        return {n for n in names if n in FIELDS_BY_NAME}

    # -- public API -----------------------------------------------------------------------
    def verdicts(self, table: pa.Table | pd.DataFrame,
                 policies: Iterable[str] | str | None = None) -> pa.Table:
        """Fast path, wide: ``case_id`` and a ``verdict:<policy>`` column per policy."""
        plans = self.plans(policies)
        sql = self.stage1_sql(plans, self._columns(table), "cases_in", detail=False)
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
        sql = self.stage1_sql(plans, self._columns(table), "cases_in", detail=True)
        return stage2(plans, self._run(sql, table))

    def evaluate_case(self, case: Mapping[str, Any],
                      policies: Iterable[str] | str | None = None) -> list[dict[str, Any]]:
        """One case as a one-row table through the same SQL and stage-2 code as batch."""
        plans = self.plans(policies)
        return stage2(plans, self._run_single(plans, case_table([dict(case)]))).to_pylist()

    def evaluate_case_traced(self, case: Mapping[str, Any],
                             policies: Iterable[str] | str | None = None,
                             ) -> tuple[list[dict[str, Any]], dict[str, dict[str, list]]]:
        """Like :meth:`evaluate_case`, plus the trace: for each policy and criterion, the
        truth value of every clause (pre-order of the clause tree). One SQL execution."""
        plans = self.plans(policies)
        result = self._run_single(plans, case_table([dict(case)]))
        rows = stage2(plans, result).to_pylist()
        row = result.slice(0, 1).to_pylist()[0]
        traces = {p.policy.id: {c.id: [row[name] for name, _ in p.nodes[j]]
                                for j, c in enumerate(p.policy.criteria)} for p in plans}
        return rows, traces

    def trace(self, case: Mapping[str, Any], policy: str) -> dict[str, list[bool | None]]:
        """Truth value of every clause of every criterion of ``policy`` for one case."""
        return self.evaluate_case_traced(case, [policy])[1][policy]


_INSERT_SINGLE = ("INSERT INTO single_case VALUES ("
                  + ", ".join("?" for _ in FIELDS_BY_NAME) + ")")


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
