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

import datetime as dt
from collections.abc import Iterator

import duckdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from preauth.catalog.fields import FIELDS, FIELDS_BY_NAME, Kind
from preauth.catalog.schema import case_table
from preauth.criteria.expressions import ExpressionError, compile_expression
from preauth.evaluate.stage1 import base_select
from tests.fast import examples

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
def boolean_tree(draw: st.DrawFn, atom: st.SearchStrategy[str], depth: int = 0) -> str:
    """AND / OR / NOT / parentheses over ``atom`` expressions, at most three levels deep."""
    if depth >= 3 or draw(st.booleans()):
        return draw(atom)
    kind = draw(st.sampled_from(["and", "or", "not", "paren"]))
    if kind == "not":
        return f"NOT {draw(boolean_tree(atom, depth + 1))}"
    if kind == "paren":
        return f"({draw(boolean_tree(atom, depth + 1))})"
    left, right = draw(boolean_tree(atom, depth + 1)), draw(boolean_tree(atom, depth + 1))
    return f"{left} {kind.upper()} {right}"


def grammar() -> st.SearchStrategy[str]:
    return boolean_tree(atoms())


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
    values = [row[0] for row in rel.fetchall()]
    assert len(values) == 3 and set(values) <= {True, False, None}


SETTINGS = settings(max_examples=examples(300), deadline=None,
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


# --------------------------------------------------------------------------------------
# The contract: whatever compile_expression (and so `preauth validate-criteria`) accepts,
# the DuckDB engine evaluates without error — whatever the literals.
# --------------------------------------------------------------------------------------
NUMBERS = ["0", "1", "3", "6.5", "-1", "120", "121", "10", "2147483647", "2147483648",
           "-2147483649", str(2**63), str(2**127), str(2**128), "99999999999999999999",
           "1e308", "1e309", "-1e308", "1e-400", "0.000001", "1" * 35, ".5", "1_0", "0x10",
           "1e3", "1.7976931348623157e308"]
STRINGS = ["'2020-01-01'", "'20200101'", "'2020-W01-1'", "'2020-02-30'", "'2024-02-29'",
           "'0001-01-01'", "'9999-12-31'", "'0000-01-01'", "'2020-1-1'", "' 2020-01-01'",
           "'2020-01-01T00:00'", "'2020-01-01 '", "'+2020-01-01'", "'２０２０-01-01'",
           "'x''y'", "''''", "''", "'none'", "'lumbar'", "'F'", "'72148'", "'é'", "'\\'",
           "'%s'", "'low_velocity'", "'with'", "'NULL'"]
HOSTILE_LITERALS = NUMBERS + STRINGS + ["TRUE", "FALSE", "NULL"]


def _values_for(name: str) -> list[str]:
    f = FIELDS_BY_NAME[name]
    if f.kind is Kind.ENUM:
        return [f"'{v}'" for v in f.values]
    if f.kind is Kind.DATE:
        return ["'2020-01-01'", "'2024-02-29'"]
    if f.kind is Kind.BOOLEAN:
        return ["TRUE", "FALSE"]
    return ["0", "1", "5", "6.5", "10"]


@st.composite
def literal_for(draw: st.DrawFn, name: str) -> str:
    """Mostly hostile literals, sometimes one the field can take."""
    return draw(st.one_of(st.sampled_from(HOSTILE_LITERALS),
                          st.sampled_from(_values_for(name)),
                          st.integers(-(2**130), 2**130).map(str),
                          st.floats(allow_nan=False, allow_infinity=False).map(repr),
                          st.dates().map(lambda d: f"'{d.isoformat()}'")))


def _group(name: str) -> str:
    f = FIELDS_BY_NAME[name]
    return "number" if f.is_numeric else str(f.kind)


ORDERED = [n for n in CLINICAL if _group(n) in ("number", "date")]
BOOLEANS = [n for n in CLINICAL if _group(n) == "boolean"]


@st.composite
def typed_atoms(draw: st.DrawFn) -> str:
    """Mostly well-typed atoms (so that many are accepted), with hostile literals."""
    form = draw(st.integers(0, 9))
    name = draw(st.sampled_from(ORDERED if form in (3, 7) and draw(st.booleans())
                                else CLINICAL))
    same = [n for n in CLINICAL if _group(n) == _group(name)]
    other = draw(st.sampled_from(same if draw(st.integers(0, 3)) else CLINICAL))
    lit = draw(literal_for(name))
    op = draw(st.sampled_from(["=", "<>", "!=", "<", "<=", ">", ">="]))
    if form == 0:
        return draw(st.sampled_from(BOOLEANS))
    if form == 1:
        return f"{lit} {op} {name}"
    if form == 2:
        items = draw(st.lists(literal_for(name), min_size=1, max_size=4))
        return f"{name} {draw(st.sampled_from(['IN', 'NOT IN']))} ({', '.join(items)})"
    if form == 3:
        return f"{name} BETWEEN {lit} AND {draw(literal_for(name))}"
    if form == 4:
        args = [name] + ([other] if draw(st.booleans()) else []) + [lit]
        return f"COALESCE({', '.join(args)}) {op} {draw(literal_for(name))}"
    if form == 5:
        return f"{name} IS {draw(st.sampled_from(['NULL', 'NOT NULL']))}"
    if form == 6:
        return f"{name} {op} {other}"
    if form == 7:
        return f"{lit} {op} {draw(literal_for(name))}"
    return f"{name} {op} {lit}"


def typed_grammar() -> st.SearchStrategy[str]:
    return boolean_tree(typed_atoms())


EDGE_CASES = [
    {"case_id": "edges-low", "cpt_code": "72148", "age": 0, "symptom_weeks": 0.0,
     "pain_score": 0, "motor_strength_grade": 0, "months_since_prior_mri": 0.0,
     "conservative_therapy_weeks": 0.0, "request_date": dt.date(1, 1, 1), "radiculopathy": False,
     "trauma": "none", "sex": "F", "prior_spine_surgery_region": "none"},
    {"case_id": "edges-high", "cpt_code": "72156", "age": 120, "symptom_weeks": 1e300,
     "pain_score": 10, "motor_strength_grade": 5, "months_since_prior_mri": 1e300,
     "conservative_therapy_weeks": 1e300, "request_date": dt.date(9999, 12, 31),
     "radiculopathy": True, "trauma": "high_velocity", "sex": "other",
     "prior_spine_surgery_region": "cervical"},
    {"case_id": "nothing"},
]


def engine_runs(source: str) -> bool:
    """Compile ``source``; if accepted, evaluate it with the DuckDB engine (batch and one
    case) and read it in plain words. False when refused."""
    from preauth.catalog.schema import case_table
    from preauth.criteria.library import Library, Policy
    from preauth.criteria.wording import describe, read_expression
    from preauth.evaluate.engine import Engine

    try:
        compiled = compile_expression(source)
    except ExpressionError as err:
        assert str(err) and "\n" not in str(err)
        return False
    if not compiled.fields:
        return True  # the library refuses a constant condition
    policy = Policy.model_validate({
        "id": "fuzz", "name": "Fuzz policy", "kind": "payer", "publisher": "tests",
        "version": "1", "summary": "One generated criterion.",
        "references": {"r": {"text": "A reference."}},
        "criteria": [{"id": "fuzz-1", "title": "Generated", "regions": ["lumbar", "cervical"],
                      "source": "generated", "when": source,
                      "appropriateness": {"without": "covered", "with": "not_covered",
                                          "without_and_with": "may_be_appropriate"},
                      "rationale": "A generated criterion.", "citations": ["r"]}]})
    engine = Engine(Library(policies=(policy,)), threads=1)
    try:
        rows = engine.evaluate(case_table(EDGE_CASES)).to_pylist()
        assert len(rows) == len(EDGE_CASES)
        for case in EDGE_CASES:
            engine.evaluate_case(case)
        assert len(engine.verdicts(case_table(EDGE_CASES))) == len(EDGE_CASES)
    finally:
        engine.close()
    assert read_expression(compiled.root)
    for node in compiled.root.walk():
        if node.kind == "leaf":
            assert describe(node.expr) and describe(node.expr, negate=True)
    return True


CONTRACT = settings(max_examples=examples(400), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@CONTRACT
@given(source=typed_grammar())
@example(source="request_date > '20200101'")
@example(source="request_date IN ('2020-01-01', '2020-W01-1')")
@example(source="request_date BETWEEN '2020-01-01' AND '2020-W01-1'")
@example(source="COALESCE(request_date, '20200101') > '2020-01-01'")
@example(source=f"age > {2**127}")
@example(source=f"age IN (1, {2**127})")
@example(source=f"COALESCE(age, {2**127}) > 3")
@example(source=f"COALESCE(age, pain_score) BETWEEN 0 AND {2**127}")
@example(source="symptom_weeks > 1e308")
@example(source="symptom_weeks > 1e309")
@example(source="trauma = 'x'';DROP TABLE t;--'")
@example(source="age BETWEEN pain_score AND 10")
@example(source="age > COALESCE(pain_score, 3)")
def test_what_is_accepted_the_engine_evaluates(source: str) -> None:
    engine_runs(source)


def test_the_contract_test_reaches_accepted_expressions() -> None:
    for source in ["request_date > '2020-01-01'", "age > 120", "symptom_weeks > 1e308",
                   "COALESCE(age, symptom_weeks) > 1e300", "age IN (0, 120)",
                   "trauma NOT IN ('none')", "age BETWEEN pain_score AND 10"]:
        assert engine_runs(source), source
