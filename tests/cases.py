"""Case builders shared by tests."""

from __future__ import annotations

NO_RED_FLAGS = dict(
    cauda_equina_signs=False, cancer_history=False, suspected_malignancy=False,
    infection_signs=False, immunosuppressed=False, progressive_neuro_deficit=False,
    osteoporosis=False, chronic_steroid_use=False, trauma="none", myelopathy_signs=False,
    prior_spine_surgery_region="none", new_or_progressive_symptoms=False,
    unexplained_weight_loss=False, night_pain=False,
)


def acute_lbp(**overrides: object) -> dict[str, object]:
    """Acute low back pain, 2 weeks, no red flags, no management — the textbook denial."""
    case: dict[str, object] = dict(
        case_id="acute", cpt_code="72148", age=40, symptom_weeks=2,
        conservative_therapy_weeks=0, physical_therapy=False, medication_trial=False,
        radiculopathy=False, neuro_deficit=False, surgical_candidate=False,
        prior_radiographs=False, **NO_RED_FLAGS)
    case.update(overrides)
    return case
