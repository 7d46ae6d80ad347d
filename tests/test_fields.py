"""The field catalog honours the shared column contract and drives the docs."""

from __future__ import annotations

from preauth.catalog.case import Case
from preauth.catalog.docs import ROOT, fields_markdown, template_csv
from preauth.catalog.fields import CPT_CODES, FIELDS, FIELDS_BY_NAME, Kind, cpt_for
from preauth.catalog.schema import arrow_schema

# The public contract (shared/case-schema.md): names and kinds must not change.
CONTRACT = {
    "case_id": Kind.TEXT, "request_date": Kind.DATE, "carrier": Kind.TEXT,
    "cpt_code": Kind.ENUM, "region": Kind.ENUM, "contrast": Kind.ENUM, "age": Kind.INTEGER,
    "sex": Kind.ENUM, "symptom_weeks": Kind.NUMBER, "conservative_therapy_weeks": Kind.NUMBER,
    "physical_therapy": Kind.BOOLEAN, "medication_trial": Kind.BOOLEAN,
    "radiculopathy": Kind.BOOLEAN, "neuro_deficit": Kind.BOOLEAN,
    "progressive_neuro_deficit": Kind.BOOLEAN, "myelopathy_signs": Kind.BOOLEAN,
    "cauda_equina_signs": Kind.BOOLEAN, "cancer_history": Kind.BOOLEAN,
    "suspected_malignancy": Kind.BOOLEAN, "infection_signs": Kind.BOOLEAN,
    "immunosuppressed": Kind.BOOLEAN, "trauma": Kind.ENUM, "osteoporosis": Kind.BOOLEAN,
    "chronic_steroid_use": Kind.BOOLEAN, "unexplained_weight_loss": Kind.BOOLEAN,
    "night_pain": Kind.BOOLEAN, "prior_spine_surgery_region": Kind.ENUM,
    "new_or_progressive_symptoms": Kind.BOOLEAN, "surgical_candidate": Kind.BOOLEAN,
    "functional_impairment": Kind.BOOLEAN, "prior_radiographs": Kind.BOOLEAN,
    "preauth_required": Kind.BOOLEAN, "decision": Kind.ENUM, "peer_to_peer": Kind.BOOLEAN,
    "final_decision": Kind.ENUM, "completed": Kind.BOOLEAN,
}


def test_contract_fields_present_with_their_kinds() -> None:
    for name, kind in CONTRACT.items():
        assert FIELDS_BY_NAME[name].kind is kind, name
    assert FIELDS_BY_NAME["trauma"].values == ("none", "low_velocity", "high_velocity")
    assert FIELDS_BY_NAME["age"].minimum == 0 and FIELDS_BY_NAME["age"].maximum == 120


def test_added_fields_say_why() -> None:
    for f in FIELDS:
        if f.name not in CONTRACT:
            assert f.added, f"{f.name} is not in the contract and does not say why it was added"


def test_cpt_codes() -> None:
    assert len(CPT_CODES) == 9
    assert cpt_for("lumbar", "without_and_with") == "72158"
    assert CPT_CODES["72147"] == ("thoracic", "with")


def test_case_model_and_arrow_schema_derive_from_catalog() -> None:
    assert list(Case.model_fields) == [f.name for f in FIELDS]
    assert arrow_schema().names == [f.name for f in FIELDS]


def test_generated_docs_are_current() -> None:
    assert (ROOT / "docs" / "fields.md").read_text(encoding="utf-8") == fields_markdown(), \
        "docs/fields.md is stale: run `python -m preauth.catalog.docs`"
    assert (ROOT / "data" / "template.csv").read_text(encoding="utf-8") == template_csv()
    for f in FIELDS:
        assert f"`{f.name}`" in fields_markdown()
