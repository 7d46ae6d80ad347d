"""Expression language: what is accepted, what is refused (with the offending token)."""

from __future__ import annotations

import pytest

from preauth.criteria.expressions import ExpressionError, compile_expression

ACCEPTED = [
    "conservative_therapy_weeks >= 6 AND surgical_candidate AND (radiculopathy OR neuro_deficit)",
    "trauma IN ('low_velocity', 'high_velocity')",
    "age BETWEEN 18 AND 50",
    "months_since_prior_mri IS NULL",
    "neuro_deficit IS NOT NULL",
    "NOT (cauda_equina_signs OR cancer_history)",
    "COALESCE(hospitalized_for_pain, FALSE)",
    "radiculopathy = TRUE",
    "trauma <> 'none'",
    "trauma != 'none'",
    "prior_spine_surgery_region = region",
    "cpt_code = '72148'",
    "request_date >= '2020-01-01'",
    "age > 70",
]


@pytest.mark.parametrize("source", ACCEPTED)
def test_accepted(source: str) -> None:
    compiled = compile_expression(source)
    assert compiled.fields
    assert compiled.sql("duckdb")
    assert compiled.sql("spark")


REFUSED = [
    ("read_csv('/etc/passwd')", "read_csv"),
    ("upper(carrier) = 'X'", "upper"),
    ("radiculopathy; DROP TABLE t", ";"),
    ("(SELECT 1) = 1", "SELECT"),
    ("age = 'old'", "'old'"),
    ("trauma = 'severe'", "'severe'"),
    ("trauma > 'none'", "trauma > 'none'"),
    ("no_such_field", "no_such_field"),
    ("Radiculopathy", "Radiculopathy"),
    ("decision = 'denied'", "decision"),
    ("case_id = 'x'", "case_id"),
    ("age", "age"),
    ("age = NULL", "age = NULL"),
    ("radiculopathy AND", "AND"),
    ("cpt_code = '99999'", "'99999'"),
    ("request_date > 'yesterday'", "'yesterday'"),
    ("radiculopathy AND age", "age"),
    ("t.age > 3", "t.age"),
    ("age IN (SELECT 1)", "IN"),
    ("", None),
]


@pytest.mark.parametrize(("source", "token"), REFUSED)
def test_refused_with_token(source: str, token: str | None) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(source)
    if token is not None:
        assert token.lower() in (str(info.value) + " " + (info.value.token or "")).lower()


def test_function_call_message_names_the_function() -> None:
    with pytest.raises(ExpressionError, match=r"(?i)function call read_csv"):
        compile_expression("read_csv('x') IS NULL")


def test_overlong_expression_refused() -> None:
    with pytest.raises(ExpressionError, match="characters long"):
        compile_expression(" OR ".join(["radiculopathy"] * 1000))


def test_fields_in_source_order() -> None:
    c = compile_expression("surgical_candidate AND conservative_therapy_weeks >= 6 AND age > 3")
    assert c.fields == ("surgical_candidate", "conservative_therapy_weeks", "age")


def test_clause_tree_flattens_and_or() -> None:
    node = compile_expression(
        "radiculopathy AND neuro_deficit AND (cancer_history OR night_pain)").root
    assert node.kind == "and"
    assert [ch.kind for ch in node.children] == ["leaf", "leaf", "or"]


def test_spark_sql_uses_backticks() -> None:
    assert "`age`" in compile_expression("age > 70").sql("spark")
