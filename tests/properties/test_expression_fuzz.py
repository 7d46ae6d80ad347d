"""Fuzzing the criterion-expression whitelist (hypothesis).

Random SQL fragments — built from tokens (catalog and unknown identifiers, dangerous function
names such as read_csv / pragma / copy / attach / system, literals, operators, ``;``, ``--``,
``/* */``, subqueries) and from a small grammar with random mutations — are either refused
with :class:`ExpressionError` (and nothing else), or, when accepted, provably harmless:

* the checked tree holds only whitelisted node types (no function but COALESCE, no query);
* it references only catalog clinical fields (no identifiers, outcomes or unknown names);
* the generated DuckDB and Spark SQL contain no ``;`` and no comment;
* evaluated on a locked-down DuckDB connection over a tiny typed table (NULLs included) it
  runs and yields a BOOLEAN column of TRUE / FALSE / NULL.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from preauth.engine import _arrow, base_select, case_table
from preauth.expressions import ExpressionError, compile_expression
from preauth.fields import FIELDS, FIELDS_BY_NAME, Kind

CLINICAL = [f.name for f in FIELDS if not f.outcome and f.kind is not Kind.TEXT]
FORBIDDEN = [f.name for f in FIELDS if f.outcome or f.kind is Kind.TEXT]
UNKNOWN = ["foo", "information_schema", "duckdb_settings", "pg_catalog", "cases_in",
           "single_case", "main", "t", "c", "rowid", "AGE", "Age"]
FUNCTIONS = ["read_csv", "read_csv_auto", "read_parquet", "read_text", "pragma", "copy",
             "attach", "system", "getenv", "current_setting", "load", "install", "glob",
             "query", "query_table", "sleep", "range", "coalesce", "COALESCE", "nullif",
             "lower", "len", "json_extract", "http_get", "export_database", "checkpoint"]
LITERALS = ["0", "1", "6", "6.5", "-3", "1e3", "1e999", "99999999999999999999", "NULL",
            "TRUE", "FALSE", "'none'", "'lumbar'", "'cervical'", "'2024-01-01'",
            "'2024-02-30'", "'x'';DROP TABLE t;--'", "'/etc/passwd'", "''", "'F'"]
OPERATORS = ["=", "<>", "!=", "<", "<=", ">", ">=", "AND", "OR", "NOT", "IN", "BETWEEN",
             "IS", "IS NOT", "+", "-", "*", "/", "%", "||", "::", "LIKE", "~", "^", "@"]
PUNCT = ["(", ")", ",", ";", "--", "/*", "*/", "'", '"', "`", ".", "[", "]", "{", "}", "$1",
         "?"]
KEYWORDS = ["SELECT", "FROM", "WHERE", "UNION", "CASE", "WHEN", "THEN", "ELSE", "END",
            "CAST", "AS", "INTEGER", "EXISTS", "PRAGMA", "COPY", "ATTACH", "INSTALL", "LOAD",
            "SET", "CALL", "WITH", "VALUES", "TABLE", "DROP", "INTO"]

SAFE_NODES = (exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null, exp.Neg,
              exp.Paren, exp.And, exp.Or, exp.Not, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT,
              exp.LTE, exp.In, exp.Between, exp.Is, exp.Coalesce)

tokens = st.one_of(st.sampled_from(CLINICAL), st.sampled_from(FORBIDDEN),
                   st.sampled_from(UNKNOWN), st.sampled_from(FUNCTIONS),
                   st.sampled_from(LITERALS), st.sampled_from(OPERATORS),
                   st.sampled_from(PUNCT), st.sampled_from(KEYWORDS))
token_soup = st.lists(tokens, min_size=1, max_size=14).map(" ".join)


def _literal_for(name: str) -> st.SearchStrategy[str]:
    f = FIELDS_BY_NAME.get(name)
    if f is None:
        return st.sampled_from(LITERALS)
    if f.kind is Kind.BOOLEAN:
        return st.sampled_from(["TRUE", "FALSE", "NULL", "1", "'yes'"])
    if f.kind is Kind.ENUM:
        return st.sampled_from([f"'{v}'" for v in f.values] + ["'other'", "1"])
    if f.kind is Kind.DATE:
        return st.sampled_from(["'2024-01-01'", "'2024-02-30'", "'soon'", "6"])
    return st.sampled_from(["0", "1", "3", "6", "6.5", "-1", "1e3", "'6'", "NULL", "TRUE"])


@st.composite
def atoms(draw: st.DrawFn) -> str:
    name = draw(st.one_of(st.sampled_from(CLINICAL), st.sampled_from(FORBIDDEN + UNKNOWN)))
    f = FIELDS_BY_NAME.get(name)
    form = draw(st.integers(0, 9))
    lit = draw(_literal_for(name))
    if form == 0 and f is not None and f.kind is Kind.BOOLEAN:
        return name
    if form == 1:
        return f"{name} IS {draw(st.sampled_from(['NULL', 'NOT NULL', 'TRUE', 'DISTINCT FROM 1']))}"
    if form == 2:
        return f"{name} IN ({lit}, {draw(_literal_for(name))})"
    if form == 3:
        return f"{name} BETWEEN {lit} AND {draw(_literal_for(name))}"
    if form == 4:
        other = draw(st.sampled_from(CLINICAL))
        return f"COALESCE({name}, {other}) {draw(st.sampled_from(OPERATORS[:6]))} {lit}"
    if form == 5:
        fn = draw(st.sampled_from(FUNCTIONS))
        return f"{fn}({draw(st.sampled_from([lit, name, '*']))}) IS NOT NULL"
    if form == 6:
        return f"(SELECT {name} FROM {draw(st.sampled_from(UNKNOWN))}) = {lit}"
    return f"{name} {draw(st.sampled_from(OPERATORS[:6]))} {lit}"


@st.composite
def grammar(draw: st.DrawFn, depth: int = 0) -> str:
    if depth >= 3 or draw(st.booleans()):
        return draw(atoms())
    kind = draw(st.sampled_from(["and", "or", "not", "paren"]))
    if kind == "not":
        return f"NOT {draw(grammar(depth + 1))}"
    if kind == "paren":
        return f"({draw(grammar(depth + 1))})"
    return f"{draw(grammar(depth + 1))} {kind.upper()} {draw(grammar(depth + 1))}"


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A grammar expression with a random token inserted, or a suffix appended."""
    text = draw(grammar())
    words = text.split(" ")
    if draw(st.booleans()):
        at = draw(st.integers(0, len(words)))
        words.insert(at, draw(tokens))
    else:
        words.append(draw(st.sampled_from(["; DROP TABLE t", "-- x", "/* */", "; SELECT 1",
                                           "UNION SELECT 1", "OR 1=1", ")", "("])))
    return " ".join(words)


@pytest.fixture(scope="module")
def tiny() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(":memory:")
    table = case_table([
        {"case_id": "a", "cpt_code": "72148", "age": 40, "symptom_weeks": 6.0,
         "radiculopathy": True, "trauma": "none", "request_date": None},
        {"case_id": "b", "cpt_code": "72141", "age": None, "radiculopathy": False,
         "prior_spine_surgery_region": "cervical"},
        {"case_id": "c"},
    ])
    con.register("cases_raw", table)
    con.execute(f"CREATE TABLE t AS {base_select(set(FIELDS_BY_NAME), 'cases_raw')}")
    con.unregister("cases_raw")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    yield con
    con.close()


def check(source: str, con: duckdb.DuckDBPyConnection) -> None:
    try:
        compiled = compile_expression(source)
    except ExpressionError as err:
        assert str(err)
        return
    for node in compiled.tree.walk():
        assert isinstance(node, SAFE_NODES), (source, type(node).__name__)
    columns = {c.name for c in compiled.tree.find_all(exp.Column)}
    assert columns <= set(CLINICAL), source  # (a constant is refused by the library)
    assert set(compiled.fields) == columns
    for dialect in ("duckdb", "spark"):
        sql = compiled.sql(dialect)
        assert ";" not in sql and "--" not in sql and "/*" not in sql, sql
        for node in compiled.root.walk():
            assert ";" not in node.sql(dialect)
    rel = con.sql(f"SELECT ({compiled.sql('duckdb')}) AS v FROM t")
    assert [str(t) for t in rel.types] == ["BOOLEAN"], (source, rel.types)
    values = _arrow(rel).column("v").to_pylist()
    assert len(values) == 3 and set(values) <= {True, False, None}


SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@SETTINGS
@given(source=token_soup)
@example(source="read_csv('/etc/passwd') IS NOT NULL")
@example(source="age > 6; ATTACH '/tmp/x.db'")
@example(source="age > 6 -- */ ; COPY t TO '/tmp/x.csv'")
@example(source="(SELECT 1) = 1")
def test_token_soup_is_refused_or_harmless(tiny: duckdb.DuckDBPyConnection,
                                           source: str) -> None:
    check(source, tiny)


@SETTINGS
@given(source=grammar())
def test_grammar_expressions_are_refused_or_harmless(tiny: duckdb.DuckDBPyConnection,
                                                     source: str) -> None:
    check(source, tiny)


@SETTINGS
@given(source=mutated())
def test_mutated_expressions_are_refused_or_harmless(tiny: duckdb.DuckDBPyConnection,
                                                     source: str) -> None:
    check(source, tiny)


def test_the_grammar_reaches_accepted_expressions() -> None:
    """The fuzzing is not vacuous: well-formed grammar output is often accepted."""
    accepted = 0
    for source in ["age > 6 AND radiculopathy", "trauma IN ('none', 'low_velocity')",
                   "COALESCE(symptom_weeks, conservative_therapy_weeks) >= 6",
                   "NOT (neuro_deficit OR myelopathy_signs) AND age BETWEEN 18 AND 65",
                   "pain_score IS NOT NULL"]:
        compile_expression(source)
        accepted += 1
    assert accepted == 5
