"""Determinations: verdict labels, reasons in plain words, missing documentation, flips."""

from __future__ import annotations

import pytest

from preauth.evaluate.determination import determine
from preauth.evaluate.engine import Engine
from preauth.evaluate.vocabulary import NO_PROCEDURE_LABEL, Verdict
from tests.cases import NO_RED_FLAGS, acute_lbp

# The worked denial: prior cervical fusion, burning mid and low back pain, thoracic + lumbar
# MRI without and with contrast, no documented conservative care, no radicular signs, not a
# surgical candidate.
WORKED_DENIAL = dict(
    age=54, symptom_weeks=8, prior_spine_surgery_region="cervical",
    conservative_therapy_weeks=None, physical_therapy=None, medication_trial=None,
    radiculopathy=False, neuro_deficit=False, surgical_candidate=False,
    **{k: v for k, v in NO_RED_FLAGS.items() if k != "prior_spine_surgery_region"},
)


@pytest.mark.parametrize("cpt", ["72157", "72158"])
def test_worked_denial_is_not_approved(engine: Engine, cpt: str) -> None:
    case = dict(WORKED_DENIAL, case_id=f"worked-{cpt}", cpt_code=cpt)
    for d in determine(engine, case):
        assert d.verdict != "meets_criteria", (d.policy.id, d.summary())
        # It lists what would change it: the red flags ...
        flip_ids = {r.id for r in d.would_flip}
        assert flip_ids, d.policy.id
        titles = " ".join(r.title.lower() for r in d.would_flip)
        assert any(w in titles for w in ("cancer", "tumour", "metastasis")), d.policy.id
        assert "infection" in titles or d.policy.id == "acr", d.policy.id
        # ... and the documentation still missing.
        assert d.missing_documentation, d.policy.id
    acr = determine(engine, case, ["acr"])[0]
    flips = {r.id for r in acr.would_flip}
    assert {"acr-lbp-v7", "acr-lbp-v6"} <= flips
    if cpt == "72158":
        assert "acr-lbp-v4" in flips  # cauda equina: lumbar only
        assert "acr-lbp-v5" in flips  # prior LUMBAR surgery would qualify; cervical does not
    docs = " ".join(acr.missing_documentation).lower()
    if cpt == "72158":
        assert "6 weeks" in docs and "surgical" in docs
    else:
        # ACR Thoracic Back Pain 2024: 6 weeks of failed care in a surgery candidate does not
        # make thoracic MRI appropriate without myelopathy or radiculopathy; the cord
        # examination and the red flags are what would change it
        assert "6 weeks" not in docs
        assert "upper-motor-neuron" in docs and "cancer" in docs


def test_worked_denial_explains_the_failed_clauses(engine: Engine) -> None:
    case = dict(WORKED_DENIAL, case_id="w", cpt_code="72158", conservative_therapy_weeks=0)
    acr = determine(engine, case, ["acr"])[0]
    v5 = next(r for r in acr.results if r.id == "acr-lbp-v5")
    texts = [str(c) for c in v5.blocking]
    assert "Prior spine surgery is lumbar — documented: cervical" in texts
    v3 = next(r for r in acr.results if r.id == "acr-lbp-v3")
    assert "Conservative therapy ≥ 6 weeks — documented: 0 weeks" in [str(c) for c in v3.blocking]


def test_failed_clause_wording_with_documented_value(engine: Engine) -> None:
    case = acute_lbp(symptom_weeks=10, conservative_therapy_weeks=2, surgical_candidate=True)
    d = determine(engine, case, ["acr"])[0]
    v3 = next(r for r in d.results if r.id == "acr-lbp-v3")
    assert v3.status == "not_met"
    assert [str(c) for c in v3.blocking] == [
        "Conservative therapy ≥ 6 weeks — documented: 2 weeks"]


def test_negated_red_flag_wording(engine: Engine) -> None:
    d = determine(engine, acute_lbp(osteoporosis=True), ["acr"])[0]
    v1 = next(r for r in d.results if r.id == "acr-lbp-v1")
    assert "No osteoporosis — documented: Yes" in [str(c) for c in v1.blocking]


def test_missing_clauses_are_the_kleene_relevant_ones(engine: Engine) -> None:
    # Aetna CPB 0236: radiculopathy with motor or reflex changes. The kind of deficit is
    # undocumented (missing); the objective-deficit field is undocumented too, but it cannot
    # decide the criterion (undocumented, it does not exclude a motor or reflex change), so
    # it is not listed.
    case = acute_lbp(cpt_code="72148", radiculopathy=True, neuro_deficit=None,
                     motor_or_reflex_deficit=None, symptom_weeks=10,
                     conservative_therapy_weeks=8)
    d = determine(engine, case, ["aetna_style"])[0]
    r = next(r for r in d.results if r.id == "ae-radiculopathy-6wk")
    assert r.status == "undocumented"
    assert [c.fields for c in r.missing] == [("motor_or_reflex_deficit",)]


def test_verdict_labels_and_summary(engine: Engine) -> None:
    assert [v.label for v in Verdict] == [
        "Meets criteria", "Does not meet criteria", "Insufficient documentation"]
    assert Verdict.labels() == {"meets_criteria": "Meets criteria",
                                "does_not_meet": "Does not meet criteria",
                                "insufficient_documentation": "Insufficient documentation"}
    d = determine(engine, acute_lbp(cauda_equina_signs=True), ["acr"])[0]
    assert d.verdict_label == "Meets criteria"
    assert "cauda equina" in d.summary().lower()
    d = determine(engine, acute_lbp(cauda_equina_signs=None), ["acr"])[0]
    assert d.verdict_label == "Insufficient documentation"
    assert d.undocumented_field_labels == ["Cauda equina signs"]
    assert "Cauda equina signs" in d.summary()


def test_a_determination_speaks_the_vocabulary(engine: Engine) -> None:
    """Its verdict is a Verdict (equal to the verdict column's string), and its label, symbol
    and icon are the vocabulary's; no procedure has its own words."""
    d = determine(engine, acute_lbp(cauda_equina_signs=True), ["acr"])[0]
    assert d.verdict is Verdict.MEETS and d.verdict == "meets_criteria"
    assert (d.verdict_label, d.icon, d.material_icon) == (
        "Meets criteria", "✓", ":material/check_circle:")
    d = determine(engine, {"case_id": "no-procedure", "age": 40}, ["acr"])[0]
    assert d.verdict is None
    assert d.verdict_label == NO_PROCEDURE_LABEL == "No requested procedure"
    assert (d.icon, d.material_icon) == ("!", ":material/warning:")
