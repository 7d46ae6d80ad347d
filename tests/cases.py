"""Case builders shared by tests."""

from __future__ import annotations

from preauth.catalog.fields import RED_FLAG_FIELDS

# Every red flag of the catalog documented absent, and no neurologic red flag, earlier spine
# surgery or new symptoms either.
NO_RED_FLAGS = dict(
    {f.name: f.absent_value for f in RED_FLAG_FIELDS},
    progressive_neuro_deficit=False, myelopathy_signs=False,
    prior_spine_surgery_region="none", new_or_progressive_symptoms=False,
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
