"""Stage 1 of evaluation: one SQL SELECT that computes every distinct leaf predicate once.

Every distinct leaf predicate of the chosen policies' criteria (a comparison, IN, BETWEEN,
IS NULL, a boolean field ...; criteria and policies share many, e.g. the red flags) becomes a
column of one SELECT over the typed case table, so the data is scanned once, vectorized, on all
cores. SQL NULL means "not documented". The AND / OR / NOT above the leaves are left to stage 2
(:mod:`preauth.evaluate.stage2`), which combines them on bit planes: Kleene logic over nullable
booleans is where SQL engines are slowest. The same SQL, generated for the Spark dialect, runs
on Spark.

A leaf that is just a boolean field needs no SQL when the input already holds that field as a
boolean column: stage 2 reads the column itself (``direct``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from preauth.catalog.fields import CLINICAL_FIELDS, CONTRASTS, CPT_CODES, REGIONS
from preauth.criteria.expressions import Node, unparen
from preauth.criteria.library import Policy
from preauth.evaluate.verdicts import UNKNOWN_PROCEDURE, PolicyTables

__all__ = ["KEEP", "Plan", "Stage1", "bare_field", "base_select", "procedure_sql",
           "sql_literal", "stage1_sql"]

KEEP = ("case_id", "cpt_code", "region", "contrast")  # passed through in the detailed mode


def sql_literal(value: str) -> str:
    """A SQL string literal (only ever used for catalog / library identifiers)."""
    return "'" + str(value).replace("'", "''") + "'"


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


def procedure_sql(quote: str = '"') -> str:
    """Procedure code (region × contrast, 0–8; 9 when either is missing) as SQL."""
    region = " ".join(f"WHEN {sql_literal(r)} THEN {i * len(CONTRASTS)}"
                      for i, r in enumerate(REGIONS))
    contrast = " ".join(f"WHEN {sql_literal(c)} THEN {i}" for i, c in enumerate(CONTRASTS))
    return (f"CAST(COALESCE((CASE {quote}region{quote} {region} END) + "
            f"(CASE {quote}contrast{quote} {contrast} END), {UNKNOWN_PROCEDURE}) AS TINYINT)")


class Plan:
    """One policy prepared for evaluation: its criteria's clause trees (``nodes[j]``: the
    clauses of criterion j in pre-order), a dialect-independent key of every leaf (its DuckDB
    SQL, so that equal leaves share one stage-1 column), the field of every leaf that is just
    a boolean field (``bare``) and its stage-2 tables."""

    def __init__(self, policy: Policy, index: int) -> None:
        self.policy = policy
        self.index = index
        self.tables = PolicyTables(policy)
        self.nodes = [list(c.expression.root.walk()) for c in policy.criteria]
        leaves = [n for nodes in self.nodes for n in nodes if n.kind == "leaf"]
        self.leaf_keys = {id(n): n.sql() for n in leaves}
        self.bare = {id(n): bare_field(n) for n in leaves}


def bare_field(node: Node) -> str | None:
    """The field of a leaf that is just a (boolean) column reference, else None."""
    e = unparen(node.expr)
    return e.name if node.kind == "leaf" and isinstance(e, exp.Column) else None


@dataclass(frozen=True)
class Stage1:
    """Stage-1 SQL and where stage 2 finds each leaf: ``columns`` maps a leaf's key to its
    output column, ``direct`` lists the boolean fields whose bare-column leaves stage 2 reads
    from the input instead, ``null_tests`` maps a field to an output column "field IS NULL"
    (detailed mode, for leaves over several fields). ``outputs``: the SELECT's columns in
    order; ``reads``: the input fields the SQL reads. Names only, so the layout travels to
    Spark's workers."""

    sql: str
    detail: bool
    outputs: tuple[str, ...]
    columns: Mapping[str, str] = field(default_factory=dict)
    direct: frozenset[str] = frozenset()
    null_tests: Mapping[str, str] = field(default_factory=dict)
    reads: frozenset[str] = frozenset()

    def source(self, plan: Plan, node: Node) -> tuple[bool, str]:
        """Where the values of a leaf of ``plan`` are: (True, field) for an input column,
        (False, column) for a stage-1 output column."""
        name = plan.bare[id(node)]
        if name is not None and name in self.direct:
            return True, name
        return False, self.columns[plan.leaf_keys[id(node)]]


def stage1_sql(plans: Sequence[Plan], columns: set[str], source: str, detail: bool,
               dialect: str = "duckdb", typed: bool = False, keep_ids: bool = False,
               direct: Iterable[str] = ()) -> Stage1:
    """Stage-1 SQL over ``source`` (with the catalog ``columns`` it has) for the given
    policies: the procedure code and each distinct leaf predicate once. The detailed mode
    also keeps case_id, cpt_code, region and contrast and adds "field IS NULL" tests for
    leaves over several fields (stage 2 explains from these). ``keep_ids``: the fast mode
    also selects ``case_id`` (engines that cannot rely on row order, e.g. Spark); ``direct``:
    boolean fields whose bare-column leaves stage 2 reads from the (already boolean) input."""
    quote = "`" if dialect == "spark" else '"'
    skip = frozenset(direct)
    leaf_columns: dict[str, str] = {}
    leaves: list[tuple[str, str]] = []
    null_tests: dict[str, str] = {}
    reads = {"cpt_code", "region", "contrast"}  # the procedure
    for p in plans:
        for nodes in p.nodes:
            for node in nodes:
                if node.kind != "leaf" or p.bare[id(node)] in skip:
                    continue
                key = p.leaf_keys[id(node)]
                if key not in leaf_columns:
                    leaf_columns[key] = f"l{len(leaf_columns)}"
                    leaves.append((leaf_columns[key], node.sql(dialect)))
                    reads.update(node.fields)
                if detail and len(node.fields) > 1:
                    for f in node.fields:
                        null_tests.setdefault(f, f"isnull_{f}")
    head = list(KEEP) if detail else (["case_id"] if keep_ids else [])
    select = [f"{quote}{k}{quote}" for k in head] + [f"{procedure_sql(quote)} AS procedure"]
    select += [f"({sql}) AS {name}" for name, sql in leaves]
    select += [f"({quote}{f}{quote} IS NULL) AS {name}" for f, name in null_tests.items()]
    base = base_select(columns, source, quote=quote, typed=typed)
    outputs = (*head, "procedure", *(n for n, _ in leaves), *null_tests.values())
    reads.update(head, null_tests)
    return Stage1(f"SELECT {', '.join(select)} FROM ({base}) AS c", detail, outputs,
                  leaf_columns, skip, null_tests, frozenset(reads))
