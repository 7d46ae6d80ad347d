"""The explanations a reader sees never show SQL, and numbers agree with their units.

Walks every bundled criterion's wording — its plain-words reading, each clause and its
opposite — and the determinations the explorer shows for every example beside each criterion
(what is missing, what blocks it, categories, summary). It fails on SQL tokens (COALESCE,
IS NULL, AND/OR/NOT, a function call's parenthesis, >= / <> operators, ``snake_case`` field
names) and on plurals that disagree with their number ("1 weeks").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from preauth.catalog.fields import FIELDS_BY_NAME
from preauth.criteria.examples import Example, example_case
from preauth.criteria.expressions import compile_expression
from preauth.criteria.wording import describe, format_value, read_expression
from preauth.evaluate.determination import determine
from preauth.evaluate.engine import Engine
from tests.criteria.test_examples import CRITERIA, LIBRARY

LEAKS = [
    (re.compile(r"\bCOALESCE\b", re.IGNORECASE), "COALESCE"),
    (re.compile(r"\bIS\s+(NOT\s+)?NULL\b", re.IGNORECASE), "IS NULL"),
    (re.compile(r"\b(AND|OR|NOT|NULL|BETWEEN|TRUE|FALSE)\b"), "an SQL keyword"),
    (re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\("), "a function call's parenthesis"),
    (re.compile(r">=|<=|<>|!=|=="), "an SQL operator (write ≥ ≤ ≠)"),
    (re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b"), "a snake_case field name or value"),
    (re.compile(r"(?<![\d.])1 (weeks|years|months|days)\b"), "a plural after 1"),
    (re.compile(r"(?<![\d.])(?:[02-9]|\d{2,}|\d+\.\d+) (week|year|month|day)\b(?!s)"),
     "a singular after a number other than 1"),
]


def leaks(text: str) -> list[str]:
    """What in ``text`` reads as SQL or a wrong plural, e.g. ["COALESCE: 'COALESCE'"]."""
    return [f"{what}: {m.group(0)!r}" for pattern, what in LEAKS
            for m in pattern.finditer(text)]


@pytest.mark.parametrize(("text", "found"), [
    ("COALESCE(symptom_weeks, conservative_therapy_weeks) ≥ 6", [
        "COALESCE: 'COALESCE'", "a function call's parenthesis: 'COALESCE('",
        "a snake_case field name or value: 'symptom_weeks'",
        "a snake_case field name or value: 'conservative_therapy_weeks'"]),
    ("Conservative therapy ≥ 1 weeks", ["a plural after 1: '1 weeks'"]),
    ("neuro_deficit IS NOT NULL", ["IS NULL: 'IS NOT NULL'",
                                   "an SQL keyword: 'NOT'", "an SQL keyword: 'NULL'",
                                   "a snake_case field name or value: 'neuro_deficit'"]),
    ("age >= 6", ["an SQL operator (write ≥ ≤ ≠): '>='"]),
    ("Symptom duration 2 week", ["a singular after a number other than 1: '2 week'"]),
    ("Symptom duration (or, if not recorded, conservative therapy) ≥ 6 weeks", []),
    ("Conservative therapy ≥ 1 week — documented: 0.5 weeks, 11 weeks, 1.5 weeks", []),
    ("Motor strength (MRC grade) ≤ 3/5; Trauma is low velocity", []),
])
def test_the_leak_check_sees_sql_and_plurals(text: str, found: list[str]) -> None:
    assert leaks(text) == found


# --------------------------------------------------------------------------------------
# The fixed wording, before → after
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("when", "words", "opposite"), [
    # before: "Symptom duration (else conservative therapy) ≥ 6 weeks" (and, in older builds,
    # "COALESCE(symptom_weeks, conservative_therapy_weeks) ≥ 6")
    ("COALESCE(symptom_weeks, conservative_therapy_weeks) >= 6",
     "Symptom duration (or, if not recorded, conservative therapy) ≥ 6 weeks",
     "Symptom duration (or, if not recorded, conservative therapy) < 6 weeks"),
    ("6 <= COALESCE(symptom_weeks, conservative_therapy_weeks)",
     "Symptom duration (or, if not recorded, conservative therapy) ≥ 6 weeks",
     "Symptom duration (or, if not recorded, conservative therapy) < 6 weeks"),
    # before: "Conservative therapy ≥ 1 weeks"
    ("conservative_therapy_weeks >= 1", "Conservative therapy ≥ 1 week",
     "Conservative therapy < 1 week"),
    ("age > 1", "Age > 1 year", "Age ≤ 1 year"),
    ("months_since_prior_mri < 1", "Months since prior MRI of this region < 1 month",
     "Months since prior MRI of this region ≥ 1 month"),
    ("COALESCE(age, 0) > 70", "Age (or, if not recorded, 0 years) > 70 years",
     "Age (or, if not recorded, 0 years) ≤ 70 years"),
    ("COALESCE(symptom_weeks, conservative_therapy_weeks) IS NULL",
     "Symptom duration (or, if not recorded, conservative therapy) not documented",
     "Symptom duration (or, if not recorded, conservative therapy) documented"),
    ("(radiculopathy AND neuro_deficit) = TRUE",
     "(Radiculopathy and objective neurologic deficit) = Yes",
     "(Radiculopathy and objective neurologic deficit) ≠ Yes"),
    # before: "((No a and No b) and No c)" — a chain reads as one list
    ("COALESCE(NOT (radiculopathy OR neuro_deficit OR foot_drop), TRUE)",
     "(No radiculopathy and no objective neurologic deficit and no new foot drop) "
     "(undocumented counts as Yes)",
     "(Radiculopathy or objective neurologic deficit or new foot drop) "
     "(undocumented counts as Yes)"),
])
def test_wording_reads_in_words(when: str, words: str, opposite: str) -> None:
    tree = compile_expression(when).tree
    assert describe(tree) == words
    assert describe(tree, negate=True) == opposite
    assert leaks(words) == leaks(opposite) == []


@pytest.mark.parametrize(("field", "value", "text"), [
    ("conservative_therapy_weeks", 1.0, "1 week"),  # before: "1 weeks"
    ("conservative_therapy_weeks", 1, "1 week"),
    ("conservative_therapy_weeks", 0.5, "0.5 weeks"),
    ("conservative_therapy_weeks", 2.0, "2 weeks"),
    ("symptom_weeks", 0, "0 weeks"),
    ("age", 1, "1 year"),
    ("age", 70, "70 years"),
    ("months_since_prior_mri", 1.0, "1 month"),
    ("pain_score", 1, "1/10"),
    ("motor_strength_grade", 3, "3/5"),
    ("trauma", "low_velocity", "low velocity"),
    ("radiculopathy", True, "Yes"),
    ("radiculopathy", None, "not documented"),
])
def test_values_agree_with_their_units(field: str, value: object, text: str) -> None:
    assert format_value(FIELDS_BY_NAME[field], value) == text


# --------------------------------------------------------------------------------------
# Every bundled criterion, and what the explorer shows for its examples
# --------------------------------------------------------------------------------------
def static_wording(policy_id: str, criterion_id: str) -> Iterator[tuple[str, str]]:
    c = LIBRARY[policy_id].criterion(criterion_id)
    yield "plain words", read_expression(c.expression.root)
    for node in c.expression.root.walk():
        if node.kind == "leaf":
            yield "clause", describe(node.expr)
            yield "opposite clause", describe(node.expr, negate=True)


@pytest.mark.parametrize(("policy_id", "criterion_id"), CRITERIA)
def test_every_criterion_reads_in_words(policy_id: str, criterion_id: str) -> None:
    bad = [f"{where} {text!r} shows {leak}"
           for where, text in static_wording(policy_id, criterion_id)
           for leak in leaks(text)]
    assert not bad, f"{LIBRARY[policy_id].file}, criterion {criterion_id!r}:\n" + "\n".join(bad)


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    eng = Engine(LIBRARY, threads=1)
    yield eng
    eng.close()


def explained(engine: Engine, policy_id: str, case: dict) -> Iterator[tuple[str, str]]:
    """Every text the explorer shows for a case under one policy."""
    for d in determine(engine, case, [policy_id]):
        yield "summary", d.summary()
        for r in d.results:
            yield f"{r.id} category", r.category_label
            for clause in (*r.blocking, *r.missing):
                yield f"{r.id} clause", str(clause)
        for doc in d.missing_documentation:
            yield "documentation to add", doc


@pytest.mark.parametrize(("policy_id", "criterion_id"), CRITERIA)
def test_explanations_of_every_example_read_in_words(engine: Engine, policy_id: str,
                                                     criterion_id: str) -> None:
    c = LIBRARY[policy_id].criterion(criterion_id)
    examples = [*c.examples, Example(expect="undocumented", case={})]
    bad = []
    for i, example in enumerate(examples, start=1):
        for where, text in explained(engine, policy_id, example_case(c, example)):
            bad += [f"example #{i}: {where} {text!r} shows {leak}" for leak in leaks(text)]
    assert not bad, (f"{LIBRARY[policy_id].file}, criterion {criterion_id!r}:\n"
                     + "\n".join(dict.fromkeys(bad)))
