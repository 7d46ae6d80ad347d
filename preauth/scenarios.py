"""Teaching scenarios (vignettes) — data, with sources and teaching notes.

The explorer opens on :data:`DEFAULT_CASE`; the scenario gallery lists :data:`SCENARIOS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_CASE", "NO_RED_FLAGS", "SCENARIOS", "Scenario"]

NO_RED_FLAGS: dict[str, Any] = dict(
    cauda_equina_signs=False, cancer_history=False, suspected_malignancy=False,
    infection_signs=False, immunosuppressed=False, progressive_neuro_deficit=False,
    myelopathy_signs=False, trauma="none", osteoporosis=False, chronic_steroid_use=False,
    unexplained_weight_loss=False, night_pain=False, prior_spine_surgery_region="none",
    new_or_progressive_symptoms=False,
)

DEFAULT_CASE: dict[str, Any] = dict(
    case_id="explorer-case", cpt_code="72148", age=42, sex="F", symptom_weeks=3,
    conservative_therapy_weeks=1, physical_therapy=False, medication_trial=True,
    radiculopathy=False, neuro_deficit=False, surgical_candidate=False,
    prior_radiographs=False, functional_impairment=True, **NO_RED_FLAGS,
)


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    case: dict[str, Any]
    teaching: str
    sources: tuple[str, ...]
    expected: dict[str, str] = field(default_factory=dict)  # policy id → verdict


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "acute-lbp-no-red-flags", "Acute low back pain, no red flags",
        dict(DEFAULT_CASE, case_id="acute-lbp-no-red-flags"),
        "Three weeks of mechanical low back pain, no red flags: imaging is usually not "
        "appropriate (ACR LBP variant 1; Choosing Wisely).",
        ("ACR AC Low Back Pain 2021, Variant 1", "NASS Choosing Wisely"),
        {"acr": "does_not_meet"},
    ),
)
