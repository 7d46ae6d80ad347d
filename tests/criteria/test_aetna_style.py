"""What the examples beside each criterion of criteria/aetna_style.yaml cannot say.

The thresholds (under / at / over) and the TRUE / FALSE / NULL status of every factor with its
Kleene behaviour are the criteria's ``examples:`` in the YAML (Aetna CPB 0236 Policy §I, one
criterion per bullet), run and checked for coverage by tests/criteria/test_examples.py. Here:
region applicability (each criterion is met, or not applicable, for each region's request),
the verdict per contrast class (the bulletin rates every MRI code alike, "covered"), and the
verdict-level interactions the bulletin's wording decides.
"""

from __future__ import annotations

import pytest

from preauth.catalog.fields import cpt_for
from tests.criteria.helpers import C_W, C_WO, C_WW, L_W, L_WO, L_WW, MET, NA, T_WO, c, regions

POLICY = "aetna_style"

ALL_REGIONS = {C_WO: MET, T_WO: MET, L_WO: MET, L_W: MET, L_WW: MET}
CORD_REGIONS = {C_WO: MET, C_W: MET, C_WW: MET, T_WO: MET, L_WO: NA}
LUMBAR_ONLY = {L_WO: MET, L_W: MET, L_WW: MET, T_WO: NA, C_WO: NA}

RADIC = {"radiculopathy": True, "neuro_deficit": True, "motor_or_reflex_deficit": True,
         "conservative_therapy_weeks": 8}
DEGEN = {"degenerative_spine_disease": True, "conservative_therapy_weeks": 4}
FRACT = {"trauma": "low_velocity", "suspected_fracture": True,
         "radiographs_inconclusive": True}
CORD_INJURY = {"trauma": "high_velocity", "suspected_cord_injury": True}

# criterion → (regions it applies to, a case that meets it)
MEETING: dict[str, tuple[dict[str, str], dict[str, object]]] = {
    "ae-spinal-stenosis": (ALL_REGIONS, {"clinical_spinal_stenosis": True}),
    "ae-cauda-equina": (LUMBAR_ONLY, {"cauda_equina_signs": True}),
    "ae-cord-compression": (CORD_REGIONS, {"myelopathy_signs": True}),
    "ae-pre-epidural": (ALL_REGIONS, {"epidural_injection_planned": True}),
    "ae-follow-up-malignancy-infection": (ALL_REGIONS,
                                          {"known_spinal_malignancy_or_infection": True}),
    "ae-myelopathy-initial-diagnosis": (CORD_REGIONS, {"myelopathy_initial_diagnosis": True}),
    "ae-radiculopathy-6wk": (ALL_REGIONS, RADIC),
    "ae-metastasis-or-bone-tumour": (ALL_REGIONS, {"suspected_malignancy": True}),
    "ae-progressive-symptoms": (ALL_REGIONS, {"progression_during_conservative_care": True}),
    "ae-progressive-deficit": (ALL_REGIONS, {"major_motor_weakness": True,
                                              "neuro_deficit": True}),
    "ae-severe-back-pain": (ALL_REGIONS, {"severe_back_pain": True}),
    "ae-degenerative-4wk": (ALL_REGIONS, DEGEN),
    "ae-suspected-infection": (ALL_REGIONS, {"infection_signs": True}),
    "ae-cord-injury-trauma": (CORD_REGIONS, CORD_INJURY),
    "ae-trauma-fracture": (ALL_REGIONS, FRACT),
}

APPLICABILITY = [
    *[(cid, p) for cid, (regs, case) in MEETING.items() for p in regions(regs, case)],
    *[("ae-post-surgery", c(f"{r} surgery, {r} request", MET,
                            prior_spine_surgery_region=r, new_or_progressive_symptoms=True,
                            cpt=cpt))
      for r, cpt in (("cervical", C_WO), ("thoracic", T_WO), ("lumbar", L_WW))],
]
APPLICABILITY_PARAMS = [
    pytest.param(cid, *p.values, id=f"{cid} {p.id}", marks=p.marks) for cid, p in APPLICABILITY
]


@pytest.mark.parametrize(("cid", "cpt", "case", "expected"), APPLICABILITY_PARAMS)
def test_region_and_contrast_applicability(status_of, cid, cpt, case, expected):
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


# --- contrast classes at the verdict level: every MRI code is rated "covered" ---------------
ALL3 = ("cervical", "thoracic", "lumbar")
REGION_NAMES = {C_WO: "cervical", T_WO: "thoracic", L_WO: "lumbar"}
SUPPORT = [
    *[(cid, tuple(REGION_NAMES[k] for k, v in regs.items() if k in REGION_NAMES and v == MET),
       case) for cid, (regs, case) in MEETING.items()],
    *[("ae-post-surgery", (r,), {"prior_spine_surgery_region": r,
                                 "new_or_progressive_symptoms": True}) for r in ALL3],
]
CONTRASTS = ("without", "with", "without_and_with")
SUPPORT_PARAMS = [
    pytest.param(cid, cpt_for(region, contrast), overlay,
                 id=f"{cid} {region} {contrast} -> meets")
    for cid, regs, overlay in SUPPORT
    for region in regs
    for contrast in CONTRASTS
]


def test_every_criterion_has_contrast_support_tests(library):
    assert {cid for cid, _, _ in SUPPORT} == {c.id for c in library[POLICY].criteria}


@pytest.mark.parametrize(("cid", "cpt", "overlay"), SUPPORT_PARAMS)
def test_contrast_support(status_of, outcome, quiet, cid, cpt, overlay):
    case = {**quiet, **overlay, "cpt_code": cpt}
    assert status_of(POLICY, cid, case) == MET
    assert outcome(POLICY, case) == "meets"


# --- verdict-level readings of the bulletin's wording ---------------------------------------
DNM, INSUF = "does_not_meet", "insufficient"


def test_cancer_history_alone_is_not_suspected_metastases(outcome, evaluator, quiet):
    """§I: "suspected … metastases" — a history of cancer documented with the suspicion
    documented absent does not meet; with the suspicion undocumented the chart is
    insufficient, not approved."""
    case = {**quiet, "cpt_code": L_WO, "symptom_weeks": 2, "cancer_history": True}
    assert outcome(POLICY, case) == DNM
    undocumented = {**case, "suspected_malignancy": None}
    assert outcome(POLICY, undocumented) == INSUF
    row = evaluator.row(POLICY, undocumented)
    assert row["undocumented"] == ["ae-metastasis-or-bone-tumour"]
    assert outcome(POLICY, {**case, "suspected_malignancy": True}) == "meets"


def test_sensory_only_radiculopathy_after_6_weeks_does_not_meet(outcome, quiet):
    """§I: radiculopathy "as evidenced by … motor or reflex changes" — a sensory deficit
    alone after 8 weeks of therapy does not meet; a motor or reflex change does."""
    case = {**quiet, "cpt_code": L_WO, "symptom_weeks": 10, "conservative_therapy_weeks": 8,
            "radiculopathy": True, "neuro_deficit": True, "motor_or_reflex_deficit": False}
    assert outcome(POLICY, case) == DNM
    assert outcome(POLICY, {**case, "motor_or_reflex_deficit": None}) == INSUF
    assert outcome(POLICY, {**case, "motor_or_reflex_deficit": True}) == "meets"


def test_major_motor_weakness_alone_meets_at_presentation(outcome, quiet):
    """§I: "Rapidly progressing neurological deficit, or major motor weakness" — weakness
    documented as major meets without progression and without a conservative trial."""
    case = {**quiet, "cpt_code": C_WO, "symptom_weeks": 1, "conservative_therapy_weeks": 0,
            "neuro_deficit": True, "progressive_neuro_deficit": False,
            "major_motor_weakness": True}
    assert outcome(POLICY, case) == "meets"
    assert outcome(POLICY, {**case, "major_motor_weakness": False,
                            "motor_strength_grade": 3}) == DNM


def test_severe_pain_without_admission_meets(outcome, quiet):
    """§I: "Severe back pain (e.g., requiring hospitalization)" — the admission is an
    example, not the test."""
    case = {**quiet, "cpt_code": L_WO, "symptom_weeks": 1, "severe_back_pain": True,
            "hospitalized_for_pain": False}
    assert outcome(POLICY, case) == "meets"
    assert outcome(POLICY, {**case, "severe_back_pain": False,
                            "hospitalized_for_pain": True}) == "meets"


def test_epidural_planned_without_surgical_candidacy_meets(outcome, quiet):
    """§I: "Evaluation prior to epidural injection" asks for no surgical candidacy and no
    conservative trial."""
    case = {**quiet, "cpt_code": L_WO, "symptom_weeks": 2, "surgical_candidate": False,
            "epidural_injection_planned": True}
    assert outcome(POLICY, case) == "meets"


def test_cord_injury_after_trauma_needs_no_radiographs(outcome, quiet):
    """§I: "Suspected spinal cord injury secondary to trauma" has no plain-film condition,
    unlike the fracture bullet."""
    case = {**quiet, "cpt_code": C_WO, "symptom_weeks": 0, "trauma": "high_velocity",
            "suspected_fracture": True, "prior_radiographs": False,
            "radiographs_inconclusive": False}
    assert outcome(POLICY, case) == DNM  # fracture bullet: plain films conclusive / not taken
    assert outcome(POLICY, {**case, "suspected_cord_injury": True}) == "meets"


def test_prior_surgery_of_another_region_does_not_open_the_post_surgical_bullet(outcome,
                                                                                  quiet):
    """The model's stated reading of "recurrent symptoms after spinal surgery": the surgery
    must be in the region imaged."""
    case = {**quiet, "cpt_code": L_WW, "prior_spine_surgery_region": "cervical",
            "new_or_progressive_symptoms": True}
    assert outcome(POLICY, case) == DNM
    assert outcome(POLICY, {**case, "prior_spine_surgery_region": "lumbar"}) == "meets"
