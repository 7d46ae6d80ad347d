"""Coverage of the criteria library by its examples — the analysis behind test_examples.py.

Every criterion in criteria/*.yaml is covered by the examples beside it; which examples it
needs is read from its compiled expression by :mod:`preauth.criteria.coverage` (not from
test source). Here: every policy file is reached by the generic examples test, and the
analysis itself is right — the statuses it calls impossible are impossible (a property test
against the reference evaluator), and it finds every threshold with the sides that exist.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preauth.criteria.coverage import (
    coverage_gaps,
    operand_value,
    possible_statuses,
    thresholds,
)
from preauth.criteria.expressions import ExpressionError, compile_expression
from preauth.criteria.library import default_criteria_dir, load_policy_text
from preauth.evaluate.reference import kleene
from tests.criteria.test_examples import CRITERIA, LIBRARY
from tests.fast import examples
from tests.test_library import GOOD

ALL3 = {"met", "not_met", "undocumented"}
_STATUS = {True: "met", False: "not_met", None: "undocumented"}


def test_every_policy_file_is_run_by_the_examples_test() -> None:
    files = sorted(p.name for p in default_criteria_dir().iterdir()
                   if p.suffix in (".yaml", ".yml") and p.is_file())
    assert files, "no criteria/*.yaml found"
    assert sorted(p.file for p in LIBRARY.policies) == files
    run = {(param.values[0], param.values[1]) for param in CRITERIA}
    assert run == {(p.id, c.id) for p in LIBRARY.policies for c in p.criteria}


# --------------------------------------------------------------------------------------
# Possible statuses
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("when", "statuses"), [
    ("radiculopathy", ALL3),
    ("age > 70", ALL3),
    ("radiculopathy IS NULL", {"met", "not_met"}),
    ("radiculopathy IS NOT NULL OR neuro_exam_documented IS NULL", {"met", "not_met"}),
    ("COALESCE(hospitalized_for_pain, FALSE)", {"met", "not_met"}),
    ("COALESCE(age, 0) > 70", {"met", "not_met"}),
    ("COALESCE(symptom_weeks, conservative_therapy_weeks) >= 6", ALL3),
    # correlated leaves on one field: undocumented is impossible and found so
    ("radiculopathy AND radiculopathy IS NOT NULL", {"met", "not_met"}),
    ("radiculopathy IS NULL OR radiculopathy", {"met", "not_met"}),
    ("radiculopathy IS NULL AND radiculopathy IS NOT NULL", {"not_met"}),
    # documented values are taken as independent: a tautology over them (only ever met)
    # is still asked for a not_met example — which exposes the mistake in the criterion
    ("radiculopathy OR radiculopathy IS NULL OR NOT radiculopathy", {"met", "not_met"}),
    # the procedure is always documented (the examples' test supplies it)
    ("prior_spine_surgery_region = region", ALL3),
    ("region = 'lumbar'", {"met", "not_met"}),
    ("COALESCE(radiculopathy, FALSE) AND age IS NOT NULL", {"met", "not_met"}),
    ("(radiculopathy AND neuro_deficit) IS NULL", {"met", "not_met"}),
])
def test_possible_statuses(when: str, statuses: set[str]) -> None:
    assert possible_statuses(compile_expression(when)) == statuses


def test_bundled_criteria_that_cannot_be_undocumented_are_recognised() -> None:
    """A criterion that reads a missing record as "no" has no undocumented example to give."""
    exempt = {c.id: possible_statuses(c.expression) for p in LIBRARY.policies
              for c in p.criteria if possible_statuses(c.expression) != ALL3}
    for cid, statuses in exempt.items():
        c = next(c for p in LIBRARY.policies for c in p.criteria if c.id == cid)
        assert "COALESCE" in c.when.upper() or "NULL" in c.when.upper(), (cid, statuses)


# A small grammar of accepted expressions and cases over the same fields: whatever the
# reference evaluator gives must be among the possible statuses (the analysis is sound).
BOOLS = ["radiculopathy", "neuro_deficit", "foot_drop"]
NUMS = {"age": [0, 69, 70, 71, 120], "pain_score": [0, 8, 9, 10],
        "symptom_weeks": [0.0, 5.9, 6.0, 6.1], "conservative_therapy_weeks": [0.0, 6.0, 8.0]}
ENUMS = {"trauma": ["none", "low_velocity", "high_velocity"]}


@st.composite
def atom(draw: st.DrawFn) -> str:
    form = draw(st.integers(0, 8))
    b = draw(st.sampled_from(BOOLS))
    n = draw(st.sampled_from(sorted(NUMS)))
    lit = draw(st.sampled_from(NUMS[n]))
    op = draw(st.sampled_from(["=", "<>", "<", "<=", ">", ">="]))
    if form == 0:
        return b
    if form == 1:
        return f"{draw(st.sampled_from([b, n, 'trauma']))} IS " \
               f"{draw(st.sampled_from(['NULL', 'NOT NULL']))}"
    if form == 2:
        return f"{n} {op} {lit}"
    if form == 3:
        return f"{lit} {op} {n}"
    if form == 4:
        return f"COALESCE({b}, {draw(st.sampled_from(['TRUE', 'FALSE']))})"
    if form == 5:
        fallback = draw(st.sampled_from(["", ", 0"]))
        return f"COALESCE(symptom_weeks, conservative_therapy_weeks{fallback}) {op} {lit}"
    if form == 6:
        return f"{n} BETWEEN {lit} AND {draw(st.sampled_from(NUMS[n]))}"
    if form == 7:
        items = draw(st.lists(st.sampled_from(ENUMS["trauma"]), min_size=1, max_size=2))
        return f"trauma IN ({', '.join(repr(v) for v in items)})"
    return f"{b} = {draw(st.sampled_from(['TRUE', 'FALSE']))}"


def expression() -> st.SearchStrategy[str]:
    return st.recursive(atom(), lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda e: f"NOT ({e})"),
        inner.map(lambda e: f"({e}) IS NULL")), max_leaves=6)


@st.composite
def case(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in BOOLS:
        out[name] = draw(st.sampled_from([None, True, False]))
    for name, values in NUMS.items():
        out[name] = draw(st.sampled_from([None, *values]))
    out["trauma"] = draw(st.sampled_from([None, *ENUMS["trauma"]]))
    return out


@settings(max_examples=examples(300), deadline=None)
@given(when=expression(), cases=st.lists(case(), min_size=1, max_size=20))
def test_the_possible_statuses_contain_every_status_a_case_gives(
        when: str, cases: list[dict[str, Any]]) -> None:
    try:
        compiled = compile_expression(when)
    except ExpressionError:  # e.g. comparing two constants; not what this property is about
        return
    possible = possible_statuses(compiled)
    for c in cases:
        status = _STATUS[kleene(compiled.tree, c)]
        assert status in possible, (when, c, status, possible)


# --------------------------------------------------------------------------------------
# Thresholds
# --------------------------------------------------------------------------------------
def _sides(when: str) -> list[tuple[str, float, list[str]]]:
    return [(t.operand_text, t.value, [s for s in ("below", "at", "above") if t.feasible(s)])
            for t in thresholds(compile_expression(when))]


@pytest.mark.parametrize(("when", "found"), [
    ("age > 70", [('age', 70, ["below", "at", "above"])]),
    ("70 < age", [('age', 70, ["below", "at", "above"])]),
    ("age BETWEEN 18 AND 65", [('age', 18, ["below", "at", "above"]),
                                ('age', 65, ["below", "at", "above"])]),
    ("NOT (symptom_weeks <> 6)", [('symptom_weeks', 6, ["below", "at", "above"])]),
    ("COALESCE(symptom_weeks, conservative_therapy_weeks) >= 6",
     [('COALESCE(symptom_weeks, conservative_therapy_weeks)', 6,
       ["below", "at", "above"])]),
    # the catalog range decides which sides exist
    ("pain_score >= 0", [('pain_score', 0, ["at", "above"])]),
    ("motor_strength_grade <= 5", [('motor_strength_grade', 5, ["below", "at"])]),
    ("age > 70.5", [('age', 70.5, ["below", "above"])]),
    ("symptom_weeks >= 0", [('symptom_weeks', 0, ["at", "above"])]),
    # not thresholds: field against field, dates, enums, IN, booleans
    ("age > pain_score", []),
    ("request_date > '2020-01-01'", []),
    ("trauma = 'none'", []),
    ("age IN (1, 2)", []),
    ("radiculopathy = TRUE", []),
])
def test_thresholds_are_found_with_the_sides_that_exist(when: str, found: list[Any]) -> None:
    assert _sides(when) == found


def test_operand_values() -> None:
    t = thresholds(compile_expression(
        "COALESCE(symptom_weeks, conservative_therapy_weeks, 0) >= 6"))[0]
    assert operand_value(t.operand, {"symptom_weeks": None,
                                     "conservative_therapy_weeks": 7.0}) == 7.0
    assert operand_value(t.operand, {"symptom_weeks": 2.0,
                                     "conservative_therapy_weeks": 7.0}) == 2.0
    assert operand_value(t.operand, {}) == 0


@pytest.mark.parametrize(("values", "missing"), [
    ([6, 5.5, 7], []),
    ([6, 5, 7], []),  # one unit away still counts
    ([6, 4.9, 7], ["below"]),  # further away does not
    ([5.9, 7.1], ["at", "above"]),
    ([], ["below", "at", "above"]),
])
def test_threshold_sides_are_near_the_literal(values: list[float], missing: list[str]) -> None:
    text = GOOD.replace("when: conservative_therapy_weeks >= 6",
                        "when: symptom_weeks >= 6")
    c = load_policy_text(text, "demo.yaml").criteria[0]
    gaps = coverage_gaps(c, [("met", {"symptom_weeks": v}) for v in values])
    assert [m.group(1) for g in gaps
            if (m := re.search(r"no example with symptom_weeks (\w+) 6", g))] == missing


def test_a_date_is_not_a_number() -> None:
    c = load_policy_text(GOOD.replace("when: conservative_therapy_weeks >= 6",
                                      "when: request_date > '2020-01-01'"), "d.yaml")
    assert thresholds(c.criteria[0].expression) == []
    assert coverage_gaps(c.criteria[0], [("met", {"request_date": dt.date(2021, 1, 1)}),
                                         ("not_met", {}), ("undocumented", {})]) == []
