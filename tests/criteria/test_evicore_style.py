"""Boundary tests for every criterion of criteria/evicore_style.yaml (eviCore-style RBM policy).

Same layout as test_acr.py: per criterion, thresholds under / at / over, TRUE / FALSE / NULL
of every factor with its Kleene behaviour and region applicability; then the contrast classes
a met criterion supports at the verdict level.
"""

from __future__ import annotations

from typing import Any

import pytest

from preauth.catalog.fields import cpt_for
from tests.criteria.helpers import C_WO, L_W, L_WO, L_WW, MET, NA, NOT_MET, T_WO, UNDOC, c, regions

POLICY = "evicore_style"




ALL_REGIONS = {C_WO: MET, T_WO: MET, L_WO: MET, L_W: MET, L_WW: MET}
CORD_REGIONS = {C_WO: MET, T_WO: MET, L_WO: NA}
LUMBAR_ONLY = {L_WO: MET, L_WW: MET, T_WO: NA, C_WO: NA}

CONSERVATIVE_BASE = {"conservative_therapy_weeks": 8, "neuro_deficit": False}
CONSERVATIVE = [
    c("conservative 5.9 (just under 6)", NOT_MET, CONSERVATIVE_BASE,
      conservative_therapy_weeks=5.9),
    c("conservative 6 (at 6)", MET, CONSERVATIVE_BASE, conservative_therapy_weeks=6),
    c("conservative 6.1 (just over 6)", MET, CONSERVATIVE_BASE,
      conservative_therapy_weeks=6.1),
    c("conservative NULL, exam documented", UNDOC, CONSERVATIVE_BASE,
      conservative_therapy_weeks=None),
    # the exam only has to be documented: a deficit or its absence both count
    c("neuro deficit TRUE", MET, CONSERVATIVE_BASE, neuro_deficit=True),
    c("neuro deficit FALSE", MET, CONSERVATIVE_BASE, neuro_deficit=False),
    c("neuro deficit NULL (exam undocumented)", UNDOC, CONSERVATIVE_BASE, neuro_deficit=None),
    c("deficit NULL, exam documented", MET, CONSERVATIVE_BASE, neuro_deficit=None,
      neuro_exam_documented=True),
    c("deficit NULL, exam documented FALSE", NOT_MET, CONSERVATIVE_BASE, neuro_deficit=None,
      neuro_exam_documented=False),
    # the episode itself must be subacute/chronic: symptom weeks under / at / over 6
    c("symptoms 5.9 weeks", NOT_MET, CONSERVATIVE_BASE, symptom_weeks=5.9),
    c("symptoms 6 weeks", MET, CONSERVATIVE_BASE, symptom_weeks=6),
    c("symptoms 6.1 weeks", MET, CONSERVATIVE_BASE, symptom_weeks=6.1),
    c("symptoms NULL, 8 weeks of care stand in", MET, CONSERVATIVE_BASE, symptom_weeks=None),
    # an acute episode is decided even when the weeks of care are undocumented
    c("symptoms 2 weeks, care NULL", NOT_MET, CONSERVATIVE_BASE, symptom_weeks=2,
      conservative_therapy_weeks=None),
    # Kleene: AND with a FALSE operand
    c("conservative 2, exam NULL", NOT_MET, conservative_therapy_weeks=2),
    c("physical therapy not required", MET, CONSERVATIVE_BASE, physical_therapy=False),
    *regions(ALL_REGIONS, CONSERVATIVE_BASE),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), CONSERVATIVE)
def test_ev_conservative_care(status_of, cpt, case, expected):
    cid = "ev-conservative-care"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


WEAK = {"neuro_deficit": True, "motor_strength_grade": 3, "foot_drop": False}
WEAKNESS = [
    c("grade 2/5", MET, WEAK, motor_strength_grade=2),
    c("grade 3/5 (at 3)", MET, WEAK, motor_strength_grade=3),
    c("grade 4/5 (just over 3)", NOT_MET, WEAK, motor_strength_grade=4),
    c("grade 5/5", NOT_MET, WEAK, motor_strength_grade=5),
    c("grade NULL, no foot drop", UNDOC, WEAK, motor_strength_grade=None),
    c("grade 5, foot drop TRUE", MET, WEAK, motor_strength_grade=5, foot_drop=True),
    # Kleene: OR with one TRUE operand is met although the other is NULL
    c("grade NULL, foot drop TRUE", MET, WEAK, motor_strength_grade=None, foot_drop=True),
    c("grade 3, foot drop NULL", MET, WEAK, foot_drop=None),
    c("grade 4, foot drop NULL", UNDOC, WEAK, motor_strength_grade=4, foot_drop=None),
    c("deficit FALSE, grade 2", NOT_MET, WEAK, neuro_deficit=False, motor_strength_grade=2),
    c("deficit NULL, grade 2", UNDOC, WEAK, neuro_deficit=None, motor_strength_grade=2),
    # Kleene: AND with a FALSE operand is not met although the other is NULL
    c("deficit NULL, grade 5, no foot drop", NOT_MET, WEAK, neuro_deficit=None,
      motor_strength_grade=5),
    c("deficit FALSE, grade and foot drop NULL", NOT_MET, neuro_deficit=False),
    *regions(ALL_REGIONS, WEAK),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), WEAKNESS)
def test_ev_severe_weakness(status_of, cpt, case, expected):
    cid = "ev-severe-weakness"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


PROGRESSIVE = [
    c("progressive deficit TRUE", MET, progressive_neuro_deficit=True),
    c("progressive deficit FALSE", NOT_MET, progressive_neuro_deficit=False),
    c("progressive deficit NULL", UNDOC, progressive_neuro_deficit=None),
    *regions(ALL_REGIONS, {"progressive_neuro_deficit": True}),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), PROGRESSIVE)
def test_ev_progressive_deficit(status_of, cpt, case, expected):
    cid = "ev-progressive-deficit"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


CANCER = [
    c("cancer history TRUE", MET, cancer_history=True, suspected_malignancy=False),
    c("suspected malignancy TRUE", MET, cancer_history=False, suspected_malignancy=True),
    c("both FALSE", NOT_MET, cancer_history=False, suspected_malignancy=False,
      unexplained_weight_loss=False),
    c("both FALSE, weight loss NULL", UNDOC, cancer_history=False, suspected_malignancy=False),
    # suspected from its listed findings: weight loss with night pain or age > 70
    c("weight loss + night pain", MET, cancer_history=False, suspected_malignancy=False,
      unexplained_weight_loss=True, night_pain=True, age=50),
    c("weight loss, age 71 (just over 70)", MET, cancer_history=False,
      suspected_malignancy=False, unexplained_weight_loss=True, night_pain=False, age=71),
    c("weight loss, age 70 (at 70)", NOT_MET, cancer_history=False,
      suspected_malignancy=False, unexplained_weight_loss=True, night_pain=False, age=70),
    c("weight loss alone, night pain NULL, age 50", UNDOC, cancer_history=False,
      suspected_malignancy=False, unexplained_weight_loss=True, age=50),
    c("night pain alone", NOT_MET, cancer_history=False, suspected_malignancy=False,
      unexplained_weight_loss=False, night_pain=True),
    c("history FALSE, suspicion NULL", UNDOC, cancer_history=False),
    c("history NULL, suspicion FALSE", UNDOC, suspected_malignancy=False),
    c("both NULL", UNDOC),
    # Kleene: OR with one TRUE operand
    c("history TRUE, suspicion NULL", MET, cancer_history=True),
    c("history NULL, suspicion TRUE", MET, suspected_malignancy=True),
    *regions(ALL_REGIONS, {"cancer_history": True}),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), CANCER)
def test_ev_cancer(status_of, cpt, case, expected):
    assert status_of(POLICY, "ev-cancer", {"cpt_code": cpt, **case}) == expected


CAUDA = [
    c("cauda equina TRUE", MET, cauda_equina_signs=True),
    c("cauda equina FALSE", NOT_MET, cauda_equina_signs=False),
    c("cauda equina NULL", UNDOC, cauda_equina_signs=None),
    *regions(LUMBAR_ONLY, {"cauda_equina_signs": True}),
    c("lumbar with contrast (rated)", MET, cauda_equina_signs=True, cpt=L_W),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), CAUDA)
def test_ev_cauda_equina(status_of, cpt, case, expected):
    assert status_of(POLICY, "ev-cauda-equina", {"cpt_code": cpt, **case}) == expected


INFECTION = [
    c("infection TRUE", MET, infection_signs=True),
    c("infection FALSE", NOT_MET, infection_signs=False),
    c("infection NULL", UNDOC, infection_signs=None),
    c("immunosuppressed alone is not this red flag", NOT_MET, infection_signs=False,
      immunosuppressed=True),
    *regions(ALL_REGIONS, {"infection_signs": True}),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), INFECTION)
def test_ev_infection(status_of, cpt, case, expected):
    assert status_of(POLICY, "ev-infection", {"cpt_code": cpt, **case}) == expected


FRAGILITY = {"trauma": "none", "osteoporosis": True, "chronic_steroid_use": False,
             "suspected_fracture": True, "prior_radiographs": True}
FRACTURE = [
    c("high_velocity trauma, nothing else documented", MET, trauma="high_velocity"),
    c("high_velocity trauma, no radiographs", MET, trauma="high_velocity",
      prior_radiographs=False, suspected_fracture=False),
    c("low_velocity trauma, suspected fracture, radiographs", MET, FRAGILITY,
      trauma="low_velocity", osteoporosis=False),
    c("osteoporosis, suspected fracture, radiographs", MET, FRAGILITY),
    c("steroids, suspected fracture, radiographs", MET, FRAGILITY, osteoporosis=False,
      chronic_steroid_use=True),
    c("no fragility factor", NOT_MET, FRAGILITY, osteoporosis=False),
    c("fragility, radiographs FALSE (radiographs first)", NOT_MET, FRAGILITY,
      prior_radiographs=False),
    c("fragility, radiographs NULL", UNDOC, FRAGILITY, prior_radiographs=None),
    c("fragility, fracture not suspected", NOT_MET, FRAGILITY, suspected_fracture=False),
    c("fragility, suspected fracture NULL", UNDOC, FRAGILITY, suspected_fracture=None),
    c("trauma none, osteoporosis NULL, steroids FALSE", UNDOC, FRAGILITY, osteoporosis=None),
    c("trauma NULL, no other factor", UNDOC, FRAGILITY, trauma=None, osteoporosis=False),
    # Kleene: the inner OR is TRUE through osteoporosis, so a NULL trauma does not matter
    c("trauma NULL, osteoporosis, suspected fracture, radiographs", MET, FRAGILITY,
      trauma=None),
    # Kleene: the inner AND is FALSE through radiographs FALSE, whatever osteoporosis is
    c("trauma none, osteoporosis NULL, radiographs FALSE", NOT_MET, FRAGILITY,
      osteoporosis=None, prior_radiographs=False),
    c("all NULL", UNDOC),
    *regions(ALL_REGIONS, {"trauma": "high_velocity"}),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), FRACTURE)
def test_ev_fracture(status_of, cpt, case, expected):
    assert status_of(POLICY, "ev-fracture", {"cpt_code": cpt, **case}) == expected


SEVERE = {"radiculopathy": True, "pain_score": 9, "conservative_therapy_weeks": 1,
          "surgical_candidate": True}
RADICULAR = [
    c("pain 8 (just under 9)", NOT_MET, SEVERE, pain_score=8),
    c("pain 9 (at 9)", MET, SEVERE, pain_score=9),
    c("pain 10 (over 9)", MET, SEVERE, pain_score=10),
    c("pain NULL", UNDOC, SEVERE, pain_score=None),
    c("treated 0.9 weeks (just under 7 days)", NOT_MET, SEVERE,
      conservative_therapy_weeks=0.9),
    c("treated 1 week (at 7 days)", MET, SEVERE, conservative_therapy_weeks=1),
    c("treated 1.1 weeks (just over)", MET, SEVERE, conservative_therapy_weeks=1.1),
    c("treatment NULL", UNDOC, SEVERE, conservative_therapy_weeks=None),
    c("radiculopathy FALSE", NOT_MET, SEVERE, radiculopathy=False),
    c("radiculopathy NULL", UNDOC, SEVERE, radiculopathy=None),
    c("no intervention planned", NOT_MET, SEVERE, surgical_candidate=False),
    c("intervention NULL", UNDOC, SEVERE, surgical_candidate=None),
    # Kleene: AND with one FALSE operand is not met although the others are NULL
    c("pain 5, rest NULL", NOT_MET, pain_score=5),
    c("radiculopathy FALSE, rest NULL", NOT_MET, radiculopathy=False),
    *regions(ALL_REGIONS, SEVERE),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), RADICULAR)
def test_ev_severe_radicular_pain(status_of, cpt, case, expected):
    cid = "ev-severe-radicular-pain"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


MYELOPATHY = [
    c("myelopathy TRUE", MET, myelopathy_signs=True, cpt=C_WO),
    c("myelopathy FALSE", NOT_MET, myelopathy_signs=False, cpt=C_WO),
    c("myelopathy NULL", UNDOC, myelopathy_signs=None, cpt=C_WO),
    *regions(CORD_REGIONS, {"myelopathy_signs": True}),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), MYELOPATHY)
def test_ev_myelopathy(status_of, cpt, case, expected):
    assert status_of(POLICY, "ev-myelopathy", {"cpt_code": cpt, **case}) == expected


def post_op(region: str, cpt: str, other: str) -> list[Any]:
    base = {"prior_spine_surgery_region": region, "new_or_progressive_symptoms": True,
            "prior_radiographs": True}
    return [
        c(f"{region} surgery, {region} request", MET, base, cpt=cpt),
        c(f"{other} surgery, {region} request", NOT_MET, base, cpt=cpt,
          prior_spine_surgery_region=other),
        c(f"no surgery, {region} request", NOT_MET, base, cpt=cpt,
          prior_spine_surgery_region="none"),
        c(f"surgery NULL, {region} request", UNDOC, base, cpt=cpt,
          prior_spine_surgery_region=None),
    ]


POST_OP_BASE = {"prior_spine_surgery_region": "lumbar", "new_or_progressive_symptoms": True,
                "prior_radiographs": True}
POST_OP = [
    *post_op("lumbar", L_WO, "cervical"),
    *post_op("cervical", C_WO, "lumbar"),
    *post_op("thoracic", T_WO, "lumbar"),
    c("new symptoms FALSE", NOT_MET, POST_OP_BASE, new_or_progressive_symptoms=False),
    c("new symptoms NULL", UNDOC, POST_OP_BASE, new_or_progressive_symptoms=None),
    c("radiographs FALSE (radiographs first)", NOT_MET, POST_OP_BASE, prior_radiographs=False),
    c("radiographs NULL", UNDOC, POST_OP_BASE, prior_radiographs=None),
    # Kleene: AND with a FALSE operand (surgery of another region) although the rest is NULL
    c("cervical surgery, lumbar request, rest NULL", NOT_MET,
      prior_spine_surgery_region="cervical"),
    c("lumbar without and with", MET, POST_OP_BASE, cpt=L_WW),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), POST_OP)
def test_ev_post_operative(status_of, cpt, case, expected):
    assert status_of(POLICY, "ev-post-operative", {"cpt_code": cpt, **case}) == expected


# --- contrast classes at the verdict level -------------------------------------------------
DNM = "does_not_meet"
ALL3 = ("cervical", "thoracic", "lumbar")
WITHOUT_ONLY = ("meets", DNM, DNM)
TUMOUR_LIKE = ("meets", DNM, "meets")
SUPPORT = [
    ("ev-conservative-care", ALL3, {"conservative_therapy_weeks": 8}, WITHOUT_ONLY),
    ("ev-severe-weakness", ALL3, {"neuro_deficit": True, "motor_strength_grade": 3},
     WITHOUT_ONLY),
    ("ev-progressive-deficit", ALL3, {"progressive_neuro_deficit": True}, WITHOUT_ONLY),
    ("ev-cancer", ALL3, {"suspected_malignancy": True}, TUMOUR_LIKE),
    ("ev-cauda-equina", ("lumbar",), {"cauda_equina_signs": True}, TUMOUR_LIKE),
    ("ev-infection", ALL3, {"infection_signs": True}, TUMOUR_LIKE),
    ("ev-fracture", ALL3, {"trauma": "high_velocity"}, WITHOUT_ONLY),
    ("ev-severe-radicular-pain", ALL3, SEVERE, WITHOUT_ONLY),
    ("ev-myelopathy", ("cervical", "thoracic"), {"myelopathy_signs": True}, WITHOUT_ONLY),
    *[("ev-post-operative", (r,), {"prior_spine_surgery_region": r,
                                   "new_or_progressive_symptoms": True,
                                   "prior_radiographs": True}, TUMOUR_LIKE) for r in ALL3],
]
CONTRASTS = ("without", "with", "without_and_with")
SUPPORT_PARAMS = [
    pytest.param(cid, cpt_for(region, contrast), overlay, want,
                 id=f"{cid} {region} {contrast} -> {want}")
    for cid, regs, overlay, wants in SUPPORT
    for region in regs
    for contrast, want in zip(CONTRASTS, wants, strict=True)
]


@pytest.mark.parametrize(("cid", "cpt", "overlay", "expected"), SUPPORT_PARAMS)
def test_contrast_support(status_of, outcome, quiet, cid, cpt, overlay, expected):
    case = {**quiet, **overlay, "cpt_code": cpt}
    assert status_of(POLICY, cid, case) == MET
    assert outcome(POLICY, case) == expected
