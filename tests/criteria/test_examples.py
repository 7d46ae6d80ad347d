"""The examples kept beside every criterion (``examples:`` in criteria/*.yaml), run and checked.

One generic test for all policy files (as StyraInc/regal keeps a rule's tests beside it):

* every example goes through the explorer's single-case path (``Engine.evaluate_case_traced``,
  the procedure filled from the criterion when the example omits it) and the criterion's
  status must equal ``expect``;
* coverage is read from the compiled expression (:mod:`preauth.criteria.coverage`): every
  status the expression can give has an example, and every numeric threshold has examples at,
  just below and just above its literal. A status the expression cannot give is proved
  impossible by construction (and the engine's answer for the all-undocumented case and every
  example is checked to lie within what the analysis says is possible).

Failures name the file, the criterion, the example (counted from 1) and the mismatch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from preauth.criteria.coverage import coverage_gaps, possible_statuses
from preauth.criteria.examples import Example, example_case
from preauth.criteria.library import Criterion, Library, Policy, load_library, load_policy_text
from preauth.evaluate.engine import Engine
from tests.test_library import GOOD

LIBRARY = load_library()
CRITERIA = [pytest.param(p.id, c.id, id=f"{p.file}::{c.id}")
            for p in LIBRARY.policies for c in p.criteria]
_STATUS = {True: "met", False: "not_met", None: "undocumented"}


def status_of(engine: Engine, policy: Policy, criterion: Criterion,
              case: dict[str, Any]) -> str:
    """The criterion's status for a full case record, through the single-case path; the row's
    status lists and the clause trace's root must agree."""
    rows, traces = engine.evaluate_case_traced(case, [policy.id])
    row = rows[0]
    listed = [s for s, key in (("met", "fired"), ("not_met", "not_met"),
                               ("undocumented", "undocumented")) if criterion.id in row[key]]
    root = _STATUS[traces[policy.id][criterion.id][0]]
    assert listed == [root], (
        f"{policy.file}, criterion {criterion.id!r}: the row lists {listed or 'no status'} "
        f"(request {case['cpt_code']}) but the trace says {root}")
    return root


def mismatches(engine: Engine, policy: Policy, criterion: Criterion) -> Iterator[str]:
    """One line per example whose status is not its ``expect``."""
    for i, example in enumerate(criterion.examples, start=1):
        case = example_case(criterion, example)
        got = status_of(engine, policy, criterion, case)
        if got != example.expect:
            note = f"; note: {example.note}" if example.note else ""
            yield (f"{policy.file}, criterion {criterion.id!r}, example #{i}: expected "
                   f"{example.expect}, got {got} for {example.case} (request "
                   f"{case['cpt_code']}){note}")


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    eng = Engine(LIBRARY, threads=1)
    yield eng
    eng.close()


@pytest.mark.parametrize(("policy_id", "criterion_id"), CRITERIA)
def test_examples_give_their_expected_status(engine: Engine, policy_id: str,
                                             criterion_id: str) -> None:
    policy = LIBRARY[policy_id]
    criterion = policy.criterion(criterion_id)
    wrong = list(mismatches(engine, policy, criterion))
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(("policy_id", "criterion_id"), CRITERIA)
def test_examples_cover_the_criterion(policy_id: str, criterion_id: str) -> None:
    policy = LIBRARY[policy_id]
    criterion = policy.criterion(criterion_id)
    gaps = coverage_gaps(criterion)
    assert not gaps, "\n".join(
        f"{policy.file}, criterion {criterion_id!r}: {gap}" for gap in gaps)


@pytest.mark.parametrize(("policy_id", "criterion_id"), CRITERIA)
def test_the_engine_stays_within_the_possible_statuses(engine: Engine, policy_id: str,
                                                       criterion_id: str) -> None:
    """The coverage analysis is sound where the engine can check it: the all-undocumented
    case and every example give a status the analysis calls possible (an exempted status is
    never one the engine produces)."""
    policy = LIBRARY[policy_id]
    criterion = policy.criterion(criterion_id)
    possible = possible_statuses(criterion.expression)
    empty = example_case(criterion, Example(expect="undocumented", case={}))
    assert status_of(engine, policy, criterion, empty) in possible
    for i, example in enumerate(criterion.examples, start=1):
        got = status_of(engine, policy, criterion, example_case(criterion, example))
        assert got in possible, (f"{policy.file}, criterion {criterion_id!r}, example #{i}: "
                                 f"{got} is outside the possible {sorted(possible)}")


# --------------------------------------------------------------------------------------
# The checks themselves can fail
# --------------------------------------------------------------------------------------
DEMO_EXAMPLES = """    examples:
      - {expect: met, case: {conservative_therapy_weeks: 6}, note: at the 6-week threshold}
      - {expect: not_met, case: {conservative_therapy_weeks: 5.9}, note: just under}
      - {expect: met, case: {conservative_therapy_weeks: 7}}
      - {expect: undocumented, case: {}, note: weeks not documented}
"""


def demo(examples: str = DEMO_EXAMPLES, when: str | None = None) -> Policy:
    text = GOOD.rstrip("\n") + "\n" + examples
    if when is not None:
        text = text.replace("when: conservative_therapy_weeks >= 6", f"when: {when}")
    return load_policy_text(text, "demo.yaml")


@pytest.fixture(scope="module")
def demo_engine() -> Iterator[Engine]:
    eng = Engine(Library(policies=(demo(),)), threads=1)
    yield eng
    eng.close()


def test_a_covered_demo_passes(demo_engine: Engine) -> None:
    policy = demo()
    c = policy.criteria[0]
    assert list(mismatches(demo_engine, policy, c)) == []
    assert coverage_gaps(c) == []


def test_a_wrong_expect_is_named_with_file_criterion_and_example(demo_engine: Engine) -> None:
    policy = demo(DEMO_EXAMPLES.replace("{expect: not_met, case: {conservative_therapy_weeks: "
                                        "5.9}", "{expect: met, case: {conservative_therapy_"
                                        "weeks: 5.9}"))
    wrong = list(mismatches(demo_engine, policy, policy.criteria[0]))
    assert len(wrong) == 1
    assert wrong[0].startswith("demo.yaml, criterion 'demo-1', example #2: expected met, "
                               "got not_met")


@pytest.mark.parametrize(("drop", "gap"), [
    ("      - {expect: not_met, case: {conservative_therapy_weeks: 5.9}, note: just under}\n",
     "conservative_therapy_weeks >= 6: no example with conservative_therapy_weeks below 6"),
    ("      - {expect: met, case: {conservative_therapy_weeks: 7}}\n",
     "no example with conservative_therapy_weeks above 6 (e.g. 7)"),
    ("      - {expect: met, case: {conservative_therapy_weeks: 6}, note: at the 6-week "
     "threshold}\n", "no example with conservative_therapy_weeks at 6"),
    ("      - {expect: undocumented, case: {}, note: weeks not documented}\n",
     "no undocumented example"),
])
def test_a_missing_example_is_a_gap(drop: str, gap: str) -> None:
    assert drop in DEMO_EXAMPLES
    gaps = coverage_gaps(demo(DEMO_EXAMPLES.replace(drop, "")).criteria[0])
    assert any(gap in g for g in gaps), gaps


def test_a_far_value_does_not_cover_a_side() -> None:
    """2 weeks is below 6 but not at the boundary: it does not count as "just below"."""
    c = demo(DEMO_EXAMPLES.replace("5.9", "2")).criteria[0]
    assert [g for g in coverage_gaps(c) if "below" in g]


def test_no_examples_at_all_is_every_gap() -> None:
    c = demo("").criteria[0]
    gaps = coverage_gaps(c)
    assert {"no met example", "no not_met example", "no undocumented example"} <= set(gaps)
    assert sum("threshold" in g for g in gaps) == 3
