"""Verdict rules on a small purpose-built policy (independent of the bundled clinical files)."""

from __future__ import annotations

import pytest

from preauth.criteria.library import Library, load_policy_text
from preauth.evaluate.engine import Engine

POLICY = """
policy:
  id: rules
  name: Rules test policy
  kind: guideline
  publisher: Test
  version: "1"
  summary: Exercises every verdict rule.
  references: {r: {text: "Test reference."}}
criteria:
  - id: strong
    title: Strong indication
    regions: [lumbar]
    source: Test source
    when: cauda_equina_signs
    appropriateness: {without: usually_appropriate, with: usually_not_appropriate}
    rationale: Strong indication for tests.
    citations: [r]
  - id: weak
    title: Weak indication
    regions: [lumbar]
    source: Test source
    when: radiculopathy AND neuro_deficit
    appropriateness: {without: may_be_appropriate}
    rationale: Weak indication for tests.
    citations: [r]
  - id: against
    title: Scenario against imaging
    regions: [lumbar]
    source: Test source
    when: symptom_weeks < 6
    appropriateness: {without: usually_not_appropriate}
    rationale: Scenario against imaging.
    citations: [r]
  - id: excluded
    title: Exclusion
    kind: exclusion
    regions: [lumbar]
    source: Test source
    when: months_since_prior_mri < 3
    appropriateness: {without: usually_not_appropriate}
    rationale: Exclusion for tests.
    citations: [r]
"""


@pytest.fixture(scope="module")
def rules_engine() -> Engine:
    return Engine(Library(policies=(load_policy_text(POLICY, "rules.yaml"),)))


def verdict(engine: Engine, **case: object) -> dict:
    return engine.evaluate_case({"case_id": "t", "cpt_code": "72148", **case})[0]


def test_met_supporting_indication_meets(rules_engine: Engine) -> None:
    r = verdict(rules_engine, cauda_equina_signs=True)
    assert (r["verdict"], r["needs_review"], r["category"]) == \
        ("meets_criteria", False, "usually_appropriate")


def test_weak_indication_flags_review(rules_engine: Engine) -> None:
    r = verdict(rules_engine, cauda_equina_signs=False, radiculopathy=True, neuro_deficit=True)
    assert (r["verdict"], r["needs_review"]) == ("meets_criteria", True)


def test_undocumented_supporting_indication_is_insufficient(rules_engine: Engine) -> None:
    r = verdict(rules_engine, cauda_equina_signs=False, radiculopathy=True)
    assert r["verdict"] == "insufficient_documentation"
    assert r["undocumented_fields"] == ["neuro_deficit"]  # radiculopathy is documented


def test_kleene_and_with_false_operand_is_decided(rules_engine: Engine) -> None:
    r = verdict(rules_engine, cauda_equina_signs=False, radiculopathy=False)
    assert r["verdict"] == "does_not_meet"
    assert r["undocumented_fields"] == []


def test_against_scenario_fires_but_does_not_decide_alone(rules_engine: Engine) -> None:
    r = verdict(rules_engine, symptom_weeks=2, cauda_equina_signs=True)
    assert r["verdict"] == "meets_criteria"
    assert set(r["fired"]) == {"strong", "against"}


def test_exclusion_only_when_documented(rules_engine: Engine) -> None:
    assert verdict(rules_engine, cauda_equina_signs=True,
                   months_since_prior_mri=None)["verdict"] == "meets_criteria"
    assert verdict(rules_engine, cauda_equina_signs=True,
                   months_since_prior_mri=2)["verdict"] == "does_not_meet"


def test_unrated_procedure_does_not_meet(rules_engine: Engine) -> None:
    r = verdict(rules_engine, cpt_code="72158", cauda_equina_signs=True)
    assert r["verdict"] == "does_not_meet"
    assert r["fired"] == []  # nothing rates without-and-with contrast


def test_would_flip(rules_engine: Engine) -> None:
    r = verdict(rules_engine, cauda_equina_signs=False, radiculopathy=False)
    assert r["would_flip"] == ["strong", "weak"]
    r = verdict(rules_engine, cauda_equina_signs=True)
    assert r["would_flip"] == ["excluded"]
