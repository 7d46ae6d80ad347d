"""Vectorized, three-valued evaluation of criteria over a table of cases, on DuckDB.

Stage 1 (SQL): every distinct leaf predicate of the chosen policies' criteria (a comparison,
IN, BETWEEN, IS NULL, a boolean field ...; shared across criteria and policies) becomes a
column of one SELECT over the typed case table, so the data is scanned once, vectorized, on all
cores. SQL NULL means "not documented". The same SQL runs on Spark
(:mod:`preauth.evaluate.spark_engine`).

Stage 2 (:mod:`preauth.evaluate.verdicts`, numpy/Arrow): each leaf column becomes two packed bit
planes, TRUE and FALSE (NULL = neither), and the criteria's AND / OR / NOT are applied with
Kleene logic as bitwise operations — eight rows per byte and no NULL handling, where SQL
engines are slowest — giving each criterion TRUE (met), FALSE (not met) or NULL
(undocumented); then verdicts and, in the detailed mode, explanations, including which NULL
fields decide an undocumented criterion.

A single case is a one-row table through exactly the same SQL (prepared once, so a keystroke
in the explorer does not re-plan it) and the same stage-2 code, so the explorer, the CLI and
batch cannot disagree.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from sqlglot import exp

from preauth.catalog.fields import (
    CLINICAL_FIELDS,
    CONTRASTS,
    CPT_CODES,
    FIELDS_BY_NAME,
    REGIONS,
    Kind,
)
from preauth.catalog.schema import case_table
from preauth.criteria.expressions import Node, unparen
from preauth.criteria.library import Library, Policy
from preauth.evaluate.verdicts import (
    UNKNOWN_PROCEDURE,
    Planes,
    PolicyTables,
    Statuses,
    Verdict,
    bool_planes,
    category,
    decide,
    explain,
    kleene_planes,
    pack_words,
    procedure_masks,
    verdict_codes,
    verdict_names,
)

__all__ = ["OUTPUT_COLUMNS", "Engine", "Verdict", "base_select", "sql_literal"]

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
    """One policy's part of evaluation: its criteria's clause trees and stage-2 tables."""

    def __init__(self, policy: Policy, index: int) -> None:
        self.policy = policy
        self.index = index
        self.tables = PolicyTables(policy)
        self.nodes = [list(c.expression.root.walk()) for c in policy.criteria]
        # a dialect-independent key (DuckDB SQL) of every leaf, to share its column
        self.leaf_keys = {id(n): n.sql() for nodes in self.nodes for n in nodes
                          if n.kind == "leaf"}

    def clause_planes(self, layout: Stage1, leaf: Callable[[str], Planes]
                      ) -> list[dict[int, Planes]]:
        """For each criterion, the TRUE / FALSE planes of every clause (by ``id(node)``),
        from its leaves' stage-1 columns (``leaf(column)``)."""
        out = []
        for nodes, cols in zip(self.nodes, layout.trace[self.policy.id], strict=True):
            column = {id(n): c for n, c in zip(nodes, cols, strict=True) if c is not None}
            memo: dict[int, Planes] = {}
            kleene_planes(nodes[0], lambda n, column=column: leaf(column[id(n)]), memo)
            out.append(memo)
        return out

    def statuses(self, procedure: np.ndarray, planes: list[dict[int, Planes]],
                 nulls: _NullMasks, null_tests: dict[str, str]) -> Statuses:
        n = len(procedure)
        roots = [memo[id(nodes[0])] for memo, nodes in zip(planes, self.nodes, strict=True)]
        met = pack_words(np.stack([_bits(t, n) for t, _f in roots], axis=1))
        known = pack_words(np.stack([_bits(t | f, n) for t, f in roots], axis=1))
        cache: dict[int, np.ndarray] = {}

        def clause_null(j: int, node: Node) -> np.ndarray:
            mask = cache.get(id(node))
            if mask is None:
                t, f = planes[j][id(node)]
                mask = cache[id(node)] = _bits(~(t | f), n)
            return mask

        def null_fields(j: int) -> dict[str, np.ndarray]:
            return _relevant_nulls(self.nodes[j][0], lambda node: clause_null(j, node),
                                   nulls, null_tests)

        return Statuses(procedure, met, known, null_fields)


def _bits(plane: np.ndarray, n: int) -> np.ndarray:
    """A packed plane as n booleans."""
    return np.unpackbits(plane, count=n, bitorder="little").view(bool)


@dataclass
class Stage1:
    """Stage-1 SQL and where each policy's leaves are in its output.

    Every distinct leaf predicate (comparison, IN, IS NULL, a boolean field ...) is computed
    once — criteria and policies share many (the red flags) — and stage 2 evaluates the
    AND / OR / NOT above them on bit planes. ``trace[policy][j]`` lists, for each clause of
    criterion j in pre-order, the column of a leaf (None for an AND / OR / NOT clause);
    ``null_tests`` maps a field to a column "field IS NULL" (for leaves over several fields).
    Positions and names only, so the layout travels to Spark's workers.
    """

    sql: str
    detail: bool
    trace: dict[str, list[list[str | None]]] = field(default_factory=dict)
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


def _relevant_nulls(node: Node, clause_null: Callable[[Node], np.ndarray], nulls: _NullMasks,
                    null_tests: dict[str, str]) -> dict[str, np.ndarray]:
    """Per field, where the clause is NULL *because of* that field being undocumented
    (Kleene: the NULL operands of a NULL AND / OR decide it; NOT passes it through).
    Meaningful only where the clause itself is NULL."""
    if node.kind == "leaf":
        if len(node.fields) == 1:
            return {node.fields[0]: np.ones(1, dtype=bool)}
        return {f: nulls(null_tests[f]) for f in node.fields}
    if node.kind == "not":
        return _relevant_nulls(node.children[0], clause_null, nulls, null_tests)
    acc: dict[str, np.ndarray] = {}
    for child in node.children:
        child_null = clause_null(child)
        for f, mask in _relevant_nulls(child, clause_null, nulls, null_tests).items():
            part = child_null & mask
            acc[f] = acc[f] | part if f in acc else part
    return acc


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


def _fast_leaves(plans: Sequence[_Plan]) -> tuple[dict[int, str], list[tuple[str, Node]]]:
    """The distinct leaf predicates of the plans' criteria: (column of each leaf node by
    ``id(node)``, [(column, node)] in first-use order). Stage 1 and stage 2 both derive the
    columns from this, so they always agree."""
    column_of: dict[str, str] = {}
    by_node: dict[int, str] = {}
    columns: list[tuple[str, Node]] = []
    for p in plans:
        for nodes in p.nodes:
            for node in nodes:
                if node.kind != "leaf":
                    continue
                key = p.leaf_keys[id(node)]
                name = column_of.get(key)
                if name is None:
                    name = column_of[key] = f"l{len(column_of)}"
                    columns.append((name, node))
                by_node[id(node)] = name
    return by_node, columns


def bare_field(node: Node) -> str | None:
    """The field of a leaf that is just a (boolean) column reference, else None."""
    e = unparen(node.expr)
    return e.name if node.kind == "leaf" and isinstance(e, exp.Column) else None


def stage1_sql(plans: Sequence[_Plan], columns: set[str], source: str, detail: bool,
               trace: bool = False, dialect: str = "duckdb", typed: bool = False,
               keep_ids: bool = False, direct: Iterable[str] = ()) -> Stage1:
    """Stage-1 SQL over ``source`` for the given policies: the procedure code and each
    distinct leaf predicate once (stage 2 applies the criteria's AND / OR / NOT on bit
    planes); the detailed mode also keeps case_id, cpt_code, region and contrast and adds
    "field IS NULL" tests for leaves over several fields (stage 2 explains from these).
    ``trace`` is accepted for symmetry. ``keep_ids``: the fast mode also selects ``case_id``
    (engines that cannot rely on row order, e.g. Spark); ``direct``: boolean fields whose
    bare-column leaves stage 2 reads from the (already boolean) input instead."""
    quote = "`" if dialect == "spark" else '"'
    base = base_select(columns, source, quote=quote, typed=typed)
    keep = ", ".join(f"{quote}{k}{quote}" for k in _KEEP)
    proc = f"{procedure_sql(quote)} AS procedure"

    def sel(cols: Iterable[tuple[str, str]]) -> str:
        return ", ".join(f"({sql}) AS {name}" for name, sql in cols)

    if not detail:
        # Kleene AND / OR over nullable booleans is the slow part of SQL engines; the leaves
        # (comparisons etc.) are cheap, and stage 2 combines them eight rows per byte.
        _by_node, leaves = _fast_leaves(plans)
        skip = set(direct)
        leaves = [(name, node) for name, node in leaves if bare_field(node) not in skip]
        head = ([f"{quote}case_id{quote}"] if keep_ids else []) + [proc]
        leaf_cols = sel((name, node.sql(dialect)) for name, node in leaves)
        select = ", ".join(head + ([leaf_cols] if leaves else []))
        return Stage1(f"SELECT {select} FROM ({base}) AS c", detail=False)

    by_node, leaves = _fast_leaves(plans)
    out = Stage1("", detail=True)
    for p in plans:
        out.trace[p.policy.id] = [[by_node[id(n)] if n.kind == "leaf" else None for n in nodes]
                                  for nodes in p.nodes]
        for nodes in p.nodes:
            for n in nodes:
                if n.kind == "leaf" and len(n.fields) > 1:
                    for f in n.fields:
                        out.null_tests.setdefault(f, f"isnull_{f}")
    leaf_cols = [(name, node.sql(dialect)) for name, node in leaves]
    null_cols = [(name, f"{quote}{f}{quote} IS NULL") for f, name in out.null_tests.items()]
    out.sql = f"SELECT {keep}, {proc}, {sel(leaf_cols + null_cols)} FROM ({base}) AS c"
    return out


def _procedures(result: pa.Table) -> np.ndarray:
    return _plain(result.column("procedure"), pa.int8()).to_numpy(zero_copy_only=False)


def stage2(plans: Sequence[_Plan], result: pa.Table, layout: Stage1) -> pa.Table:
    """Verdicts and explanations (long: one row per case and policy) from stage-1 output."""
    procedure = _procedures(result)
    leaf_cache: dict[str, Planes] = {}

    def leaf(col: str) -> Planes:
        planes = leaf_cache.get(col)
        if planes is None:
            planes = leaf_cache[col] = bool_planes(_plain(result.column(col), pa.bool_()))
        return planes

    clause_planes = {p.policy.id: p.clause_planes(layout, leaf) for p in plans}

    def one(p: _Plan) -> pa.Table:
        st = p.statuses(procedure, clause_planes[p.policy.id], _NullMasks(result),
                        layout.null_tests)
        dec = decide(p.tables, st)
        cols: dict[str, Any] = {k: result.column(k) for k in _KEEP}
        cols["policy"] = pa.array([p.policy.id] * st.n, pa.string())
        cols["verdict"] = dec.verdict_names()
        cols["needs_review"] = pa.array(dec.needs_review)
        cols["category"] = category(p.tables, st)
        cols.update(explain(p.tables, st, dec))
        return pa.table(cols).select(list(OUTPUT_COLUMNS))

    if not plans:
        raise ValueError("no policy selected")
    workers = min(len(plans), os.cpu_count() or 1)
    if workers > 1 and len(procedure) >= 100_000:  # policies in parallel threads
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(one, plans))
    else:
        parts = [one(p) for p in plans]
    return pa.concat_tables(parts)


def stage2_wide(plans: Sequence[_Plan], result: pa.Table | pa.RecordBatch,
                case_id: pa.ChunkedArray | pa.Array,
                direct: Mapping[str, pa.Array | pa.ChunkedArray] | None = None) -> pa.Table:
    """Verdicts only (wide: ``case_id`` and one ``verdict:<policy>`` column per policy), from
    fast stage-1 output: the criteria's Kleene logic on packed bit planes of the leaf columns
    (eight rows per byte), then :func:`preauth.verdicts.verdict_codes`; policies in parallel
    threads (numpy releases the GIL). ``direct``: boolean input columns standing for the
    bare-column leaves that stage 1 left out (same rows, same order)."""
    by_node, _leaves = _fast_leaves(plans)
    procedure = _procedures(result)
    masks = procedure_masks(procedure)
    cache: dict[str, Planes] = {}

    def leaf(node: Node) -> Planes:
        field_name = bare_field(node)
        name = by_node[id(node)]
        if direct is not None and field_name in direct:
            name, col = f"input:{field_name}", direct[field_name]
        else:
            col = result.column(name)
        planes = cache.get(name)
        if planes is None:
            planes = cache[name] = bool_planes(_plain(col, pa.bool_()))
        return planes

    for p in plans:  # every leaf's planes, before the threads share the cache
        for nodes in p.nodes:
            for node in nodes:
                if node.kind == "leaf":
                    leaf(node)

    def one(p: _Plan) -> pa.Array:
        planes = [kleene_planes(nodes[0], leaf) for nodes in p.nodes]
        return verdict_names(verdict_codes(p.tables, planes, procedure, masks))

    workers = min(len(plans), os.cpu_count() or 1)
    if workers > 1 and len(procedure) >= 100_000:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            names = list(pool.map(one, plans))
    else:
        names = [one(p) for p in plans]
    out: dict[str, Any] = {"case_id": case_id}
    out.update({f"verdict:{p.policy.id}": v for p, v in zip(plans, names, strict=True)})
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
        # Boolean Arrow input columns go straight to stage 2 (no round trip through SQL).
        direct = {f: table.column(f) for f in self._columns(table)
                  if isinstance(table, pa.Table) and FIELDS_BY_NAME[f].kind is Kind.BOOLEAN
                  and pa.types.is_boolean(table.schema.field(f).type)}
        sql = stage1_sql(plans, self._columns(table), "cases_in", detail=False,
                         direct=direct).sql
        if "case_id" not in self._columns(table):
            ids: Any = pa.nulls(len(table), pa.string())
        elif isinstance(table, pa.Table):
            ids = table.column("case_id")
        else:
            ids = pa.array(table["case_id"], pa.string(), from_pandas=True)
        return stage2_wide(plans, self._run(sql, table), ids, direct)

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

        def leaf(col: str) -> Planes:
            return bool_planes(_plain(result.column(col), pa.bool_()))

        def first(planes: Planes) -> bool | None:
            return True if planes[0][0] & 1 else (False if planes[1][0] & 1 else None)

        traces = {}
        for p in plans:
            memos = p.clause_planes(layout, leaf)
            traces[p.policy.id] = {c.id: [first(memos[j][id(n)]) for n in p.nodes[j]]
                                   for j, c in enumerate(p.policy.criteria)}
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
