"""Boundary tests for every criterion of criteria/acr.yaml (ACR Appropriateness Criteria).

Each ``test_<criterion>`` checks the criterion's own three-valued status ('met', 'not_met',
'undocumented', or 'n/a' when it is not applicable to the request): every numeric threshold
just under / at / just over, every boolean or enum factor TRUE / FALSE / NULL with the Kleene
behaviour of its AND / OR / NOT, and its region applicability. ``test_contrast_support`` then
checks, on an otherwise unremarkable fully documented case, which contrast classes a met
criterion supports at the verdict level.
"""

from __future__ import annotations

from typing import Any

import pytest

from preauth.catalog.fields import cpt_for
from tests.criteria.helpers import (
    C_W,
    C_WO,
    C_WW,
    L_W,
    L_WO,
    L_WW,
    MET,
    NA,
    NOT_MET,
    T_WO,
    T_WW,
    UNDOC,
    c,
)

POLICY = "acr"



def flags_true_and_null(flags: tuple[str, ...], base: dict[str, Any], true: str,
                        **extra: Any) -> list[Any]:
    """For each boolean flag: TRUE gives ``true``; NULL (the others FALSE) is undocumented."""
    out = []
    for f in flags:
        out.append(c(f"{f} TRUE", true, base, **extra, **{f: True}))
        out.append(c(f"{f} NULL", UNDOC, base, **extra, **{f: None}))
    return out


# --- the red-flag screen of variants 1 and 2 ---------------------------------------------
LBP_FLAGS = ("cauda_equina_signs", "cancer_history", "suspected_malignancy", "infection_signs",
             "immunosuppressed", "progressive_neuro_deficit", "osteoporosis",
             "chronic_steroid_use")
NO_LBP_FLAGS: dict[str, Any] = {**dict.fromkeys(LBP_FLAGS, False), "trauma": "none", "age": 45}
ALL_LBP_FLAGS_NULL: dict[str, Any] = {**dict.fromkeys(LBP_FLAGS), "trauma": None, "age": None}


def red_flag_screen(base: dict[str, Any], clear: str) -> list[Any]:
    """The NOT (red flag OR ...) part of variants 1/2: ``base`` has every flag FALSE."""
    return [
        c("age 70 (at 70, not > 70)", clear, base, age=70),
        c("age 71 (just over 70)", NOT_MET, base, age=71),
        c("age NULL", UNDOC, base, age=None),
        c("trauma none", clear, base, trauma="none"),
        c("trauma low_velocity", NOT_MET, base, trauma="low_velocity"),
        c("trauma high_velocity", NOT_MET, base, trauma="high_velocity"),
        c("trauma NULL", UNDOC, base, trauma=None),
        *flags_true_and_null(LBP_FLAGS, base, NOT_MET),
        # Kleene: one TRUE red flag decides the OR (so the NOT) even with the others NULL
        c("cancer TRUE, other flags NULL", NOT_MET, base, ALL_LBP_FLAGS_NULL,
          cancer_history=True),
        c("age 80, other flags NULL", NOT_MET, base, ALL_LBP_FLAGS_NULL, age=80),
        c("all flags NULL", UNDOC, base, ALL_LBP_FLAGS_NULL),
    ]


V1_BASE = {**NO_LBP_FLAGS, "symptom_weeks": 2}
V1 = [
    c("weeks 5.9 (just under 6)", MET, V1_BASE, symptom_weeks=5.9),
    c("weeks 6 (at 6)", NOT_MET, V1_BASE, symptom_weeks=6),
    c("weeks 6.1 (just over 6)", NOT_MET, V1_BASE, symptom_weeks=6.1),
    c("weeks NULL, no red flags", UNDOC, V1_BASE, symptom_weeks=None),
    # Kleene: AND with a FALSE operand is FALSE even when the other operand is NULL
    c("weeks NULL, cauda equina TRUE", NOT_MET, V1_BASE, symptom_weeks=None,
      cauda_equina_signs=True),
    c("weeks 8, all flags NULL", NOT_MET, ALL_LBP_FLAGS_NULL, symptom_weeks=8),
    *red_flag_screen(V1_BASE, MET),
    c("thoracic (by analogy)", MET, V1_BASE, cpt=T_WO),
    c("cervical", NA, V1_BASE, cpt=C_WO),
    c("lumbar with contrast (rated)", MET, V1_BASE, cpt=L_W),
    c("lumbar without and with (rated)", MET, V1_BASE, cpt=L_WW),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), V1)
def test_acr_lbp_v1(status_of, cpt, case, expected):
    assert status_of(POLICY, "acr-lbp-v1", {"cpt_code": cpt, **case}) == expected


V2_BASE = {**NO_LBP_FLAGS, "symptom_weeks": 10, "conservative_therapy_weeks": 0,
           "surgical_candidate": False}
V2 = [
    c("weeks 5.9 (just under 6)", NOT_MET, V2_BASE, symptom_weeks=5.9),
    c("weeks 6 (at 6)", MET, V2_BASE, symptom_weeks=6),
    c("weeks 6.1 (just over 6)", MET, V2_BASE, symptom_weeks=6.1),
    c("weeks NULL", UNDOC, V2_BASE, symptom_weeks=None),
    c("weeks 3, all flags NULL", NOT_MET, ALL_LBP_FLAGS_NULL, symptom_weeks=3),
    # NOT (conservative_therapy_weeks >= 6 AND surgical_candidate): variant 3 not reached
    c("candidate, conservative 5.9 (just under 6)", MET, V2_BASE,
      conservative_therapy_weeks=5.9, surgical_candidate=True),
    c("candidate, conservative 6 (at 6)", NOT_MET, V2_BASE,
      conservative_therapy_weeks=6, surgical_candidate=True),
    c("candidate, conservative 6.1 (just over 6)", NOT_MET, V2_BASE,
      conservative_therapy_weeks=6.1, surgical_candidate=True),
    c("conservative 8, not a candidate", MET, V2_BASE, conservative_therapy_weeks=8,
      surgical_candidate=False),
    c("conservative 8, candidate NULL", UNDOC, V2_BASE, conservative_therapy_weeks=8,
      surgical_candidate=None),
    # Kleene: the inner AND is FALSE through its FALSE operand, whatever the NULL one is
    c("conservative 2, candidate NULL", MET, V2_BASE, conservative_therapy_weeks=2,
      surgical_candidate=None),
    c("conservative NULL, not a candidate", MET, V2_BASE, conservative_therapy_weeks=None,
      surgical_candidate=False),
    c("conservative NULL, candidate", UNDOC, V2_BASE, conservative_therapy_weeks=None,
      surgical_candidate=True),
    *red_flag_screen(V2_BASE, MET),
    c("thoracic (by analogy)", MET, V2_BASE, cpt=T_WO),
    c("cervical", NA, V2_BASE, cpt=C_WO),
    c("lumbar with contrast (rated)", MET, V2_BASE, cpt=L_W),
    c("lumbar without and with (rated)", MET, V2_BASE, cpt=L_WW),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), V2)
def test_acr_lbp_v2(status_of, cpt, case, expected):
    assert status_of(POLICY, "acr-lbp-v2", {"cpt_code": cpt, **case}) == expected


V3_BASE = {"conservative_therapy_weeks": 8, "surgical_candidate": True}
V3 = [
    c("candidate, conservative 5.9 (just under 6)", NOT_MET, V3_BASE,
      conservative_therapy_weeks=5.9),
    c("candidate, conservative 6 (at 6)", MET, V3_BASE, conservative_therapy_weeks=6),
    c("candidate, conservative 6.1 (just over 6)", MET, V3_BASE,
      conservative_therapy_weeks=6.1),
    c("conservative NULL, candidate", UNDOC, V3_BASE, conservative_therapy_weeks=None),
    c("conservative 8, not a candidate", NOT_MET, V3_BASE, surgical_candidate=False),
    c("conservative 8, candidate NULL", UNDOC, V3_BASE, surgical_candidate=None),
    c("conservative NULL, not a candidate (AND with FALSE)", NOT_MET,
      conservative_therapy_weeks=None, surgical_candidate=False),
    c("conservative 2, candidate NULL (AND with FALSE)", NOT_MET,
      conservative_therapy_weeks=2, surgical_candidate=None),
    c("radiculopathy not required", MET, V3_BASE, radiculopathy=False),
    c("thoracic (by analogy)", MET, V3_BASE, cpt=T_WO),
    c("cervical", NA, V3_BASE, cpt=C_WO),
    c("lumbar with contrast (rated, not appropriate)", MET, V3_BASE, cpt=L_W),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), V3)
def test_acr_lbp_v3(status_of, cpt, case, expected):
    assert status_of(POLICY, "acr-lbp-v3", {"cpt_code": cpt, **case}) == expected


V4 = [
    c("cauda equina TRUE", MET, cauda_equina_signs=True),
    c("cauda equina FALSE", NOT_MET, cauda_equina_signs=False),
    c("cauda equina NULL", UNDOC, cauda_equina_signs=None),
    c("lumbar without and with", MET, cauda_equina_signs=True, cpt=L_WW),
    c("lumbar with contrast (rated)", MET, cauda_equina_signs=True, cpt=L_W),
    c("thoracic (lumbar only)", NA, cauda_equina_signs=True, cpt=T_WO),
    c("cervical", NA, cauda_equina_signs=True, cpt=C_WO),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), V4)
def test_acr_lbp_v4(status_of, cpt, case, expected):
    assert status_of(POLICY, "acr-lbp-v4", {"cpt_code": cpt, **case}) == expected


def post_surgery(region: str, cpt: str, other_cpt: str, other_region: str) -> list[Any]:
    """prior_spine_surgery_region = <region> AND (new_or_progressive OR progressive deficit)."""
    base = {"prior_spine_surgery_region": region, "new_or_progressive_symptoms": True,
            "progressive_neuro_deficit": False}
    return [
        c("prior surgery here, new symptoms", MET, base, cpt=cpt),
        c(f"prior surgery {other_region} (another region)", NOT_MET, base, cpt=cpt,
          prior_spine_surgery_region=other_region),
        c("prior surgery none", NOT_MET, base, cpt=cpt, prior_spine_surgery_region="none"),
        c("prior surgery NULL", UNDOC, base, cpt=cpt, prior_spine_surgery_region=None),
        c("new symptoms FALSE, progressive deficit FALSE", NOT_MET, base, cpt=cpt,
          new_or_progressive_symptoms=False),
        c("new symptoms FALSE, progressive deficit TRUE", MET, base, cpt=cpt,
          new_or_progressive_symptoms=False, progressive_neuro_deficit=True),
        c("new symptoms NULL, progressive deficit FALSE", UNDOC, base, cpt=cpt,
          new_or_progressive_symptoms=None),
        # Kleene: OR with one TRUE operand is met although the other is NULL
        c("new symptoms TRUE, progressive deficit NULL", MET, base, cpt=cpt,
          progressive_neuro_deficit=None),
        c("new symptoms NULL, progressive deficit TRUE", MET, base, cpt=cpt,
          new_or_progressive_symptoms=None, progressive_neuro_deficit=True),
        # Kleene: AND with a FALSE operand is not met although the other is NULL
        c(f"prior surgery {other_region}, symptoms NULL", NOT_MET, cpt=cpt,
          prior_spine_surgery_region=other_region),
        c("other region's request", NA, base, cpt=other_cpt),
    ]


V5 = [
    *post_surgery("lumbar", L_WO, T_WO, "cervical"),
    c("thoracic surgery, lumbar request", NOT_MET, prior_spine_surgery_region="thoracic",
      new_or_progressive_symptoms=True),
    c("lumbar without and with", MET, prior_spine_surgery_region="lumbar",
      new_or_progressive_symptoms=True, cpt=L_WW),
    c("cervical request", NA, prior_spine_surgery_region="lumbar",
      new_or_progressive_symptoms=True, cpt=C_WO),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), V5)
def test_acr_lbp_v5(status_of, cpt, case, expected):
    assert status_of(POLICY, "acr-lbp-v5", {"cpt_code": cpt, **case}) == expected


V6_FLAGS = ("osteoporosis", "chronic_steroid_use")
V6_NONE = {"trauma": "none", "osteoporosis": False, "chronic_steroid_use": False, "age": 45}
V6_NULL = {"trauma": None, "osteoporosis": None, "chronic_steroid_use": None, "age": None}
V6 = [
    c("age 70 (not > 70)", NOT_MET, V6_NONE, age=70),
    c("age 71 (just over 70)", MET, V6_NONE, age=71),
    c("age NULL, rest FALSE", UNDOC, V6_NONE, age=None),
    c("trauma low_velocity", MET, V6_NONE, trauma="low_velocity"),
    c("trauma high_velocity (not this variant)", NOT_MET, V6_NONE, trauma="high_velocity"),
    c("trauma none", NOT_MET, V6_NONE),
    c("trauma NULL, rest FALSE", UNDOC, V6_NONE, trauma=None),
    *[c(f"{f} TRUE", MET, V6_NONE, **{f: True}) for f in V6_FLAGS],
    *[c(f"{f} NULL, rest FALSE", UNDOC, V6_NONE, **{f: None}) for f in V6_FLAGS],
    # Kleene: one TRUE operand decides the OR
    c("osteoporosis TRUE, rest NULL", MET, V6_NULL, osteoporosis=True),
    c("age 71, rest NULL", MET, V6_NULL, age=71),
    c("trauma low_velocity, rest NULL", MET, V6_NULL, trauma="low_velocity"),
    c("age 70, rest NULL", UNDOC, V6_NULL, age=70),
    c("all NULL", UNDOC, V6_NULL),
    c("thoracic (by analogy)", MET, V6_NONE, osteoporosis=True, cpt=T_WO),
    c("cervical", NA, V6_NONE, osteoporosis=True, cpt=C_WO),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), V6)
def test_acr_lbp_v6(status_of, cpt, case, expected):
    assert status_of(POLICY, "acr-lbp-v6", {"cpt_code": cpt, **case}) == expected


CANCER_INFECTION = ("cancer_history", "suspected_malignancy", "infection_signs",
                    "immunosuppressed")


def any_of(flags: tuple[str, ...], cpt: str) -> list[Any]:
    """An OR of boolean flags: each TRUE meets, all FALSE does not, a NULL among FALSE ones
    is undocumented, and one TRUE among NULL ones still meets."""
    none = dict.fromkeys(flags, False)
    null = dict.fromkeys(flags)
    return [
        *flags_true_and_null(flags, none, MET, cpt=cpt),
        c("all FALSE", NOT_MET, none, cpt=cpt),
        c("all NULL", UNDOC, null, cpt=cpt),
        c(f"{flags[-1]} TRUE, rest NULL", MET, null, cpt=cpt, **{flags[-1]: True}),
    ]


V7 = [
    *any_of(CANCER_INFECTION, L_WO),
    c("thoracic (by analogy)", MET, cancer_history=True, cpt=T_WO),
    c("lumbar without and with", MET, cancer_history=True, cpt=L_WW),
    c("cervical (own criterion there)", NA, cancer_history=True, cpt=C_WO),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), V7)
def test_acr_lbp_v7(status_of, cpt, case, expected):
    assert status_of(POLICY, "acr-lbp-v7", {"cpt_code": cpt, **case}) == expected


PROGRESSIVE = [
    c("progressive deficit TRUE", MET, progressive_neuro_deficit=True),
    c("progressive deficit FALSE", NOT_MET, progressive_neuro_deficit=False),
    c("progressive deficit NULL", UNDOC, progressive_neuro_deficit=None),
    c("thoracic", MET, progressive_neuro_deficit=True, cpt=T_WO),
    c("cervical", MET, progressive_neuro_deficit=True, cpt=C_WO),
    c("cervical with contrast (rated)", MET, progressive_neuro_deficit=True, cpt=C_W),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), PROGRESSIVE)
def test_acr_red_flag_progressive_deficit(status_of, cpt, case, expected):
    cid = "acr-red-flag-progressive-deficit"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


THORACIC_SURGERY = [
    *post_surgery("thoracic", T_WO, L_WO, "lumbar"),
    c("thoracic without and with", MET, prior_spine_surgery_region="thoracic",
      new_or_progressive_symptoms=True, cpt=T_WW),
    c("cervical request", NA, prior_spine_surgery_region="thoracic",
      new_or_progressive_symptoms=True, cpt=C_WO),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), THORACIC_SURGERY)
def test_acr_thoracic_prior_surgery(status_of, cpt, case, expected):
    cid = "acr-thoracic-prior-surgery"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


NECK_FLAGS = ("myelopathy_signs", "progressive_neuro_deficit", "cancer_history",
              "suspected_malignancy", "infection_signs", "immunosuppressed")
NECK_BASE: dict[str, Any] = {"radiculopathy": False, **dict.fromkeys(NECK_FLAGS, False),
                             "trauma": "none"}
NECK_NULL: dict[str, Any] = {**dict.fromkeys(NECK_FLAGS), "trauma": None}
NECK_PAIN = [
    c("no radiculopathy, no red flags", MET, NECK_BASE, cpt=C_WO),
    c("radiculopathy TRUE", NOT_MET, NECK_BASE, radiculopathy=True, cpt=C_WO),
    c("radiculopathy NULL", UNDOC, NECK_BASE, radiculopathy=None, cpt=C_WO),
    *flags_true_and_null(NECK_FLAGS, NECK_BASE, NOT_MET, cpt=C_WO),
    c("trauma low_velocity", NOT_MET, NECK_BASE, trauma="low_velocity", cpt=C_WO),
    c("trauma high_velocity", NOT_MET, NECK_BASE, trauma="high_velocity", cpt=C_WO),
    c("trauma NULL", UNDOC, NECK_BASE, trauma=None, cpt=C_WO),
    # Kleene: AND with a FALSE operand (NOT radiculopathy) although the flags are NULL
    c("radiculopathy TRUE, flags NULL", NOT_MET, NECK_NULL, radiculopathy=True, cpt=C_WO),
    c("radiculopathy FALSE, flags NULL", UNDOC, NECK_NULL, radiculopathy=False, cpt=C_WO),
    c("radiculopathy NULL, infection TRUE", NOT_MET, NECK_NULL, infection_signs=True,
      cpt=C_WO),
    c("cervical without and with (rated)", MET, NECK_BASE, cpt=C_WW),
    c("thoracic", NA, NECK_BASE, cpt=T_WO),
    c("lumbar", NA, NECK_BASE, cpt=L_WO),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), NECK_PAIN)
def test_acr_neck_pain_no_red_flags(status_of, cpt, case, expected):
    cid = "acr-neck-pain-no-red-flags"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


NECK_RADICULOPATHY = [
    c("radiculopathy TRUE", MET, radiculopathy=True, cpt=C_WO),
    c("radiculopathy FALSE", NOT_MET, radiculopathy=False, cpt=C_WO),
    c("radiculopathy NULL", UNDOC, radiculopathy=None, cpt=C_WO),
    c("no conservative care needed", MET, radiculopathy=True, conservative_therapy_weeks=0,
      cpt=C_WO),
    c("cervical without and with (rated)", MET, radiculopathy=True, cpt=C_WW),
    c("thoracic", NA, radiculopathy=True, cpt=T_WO),
    c("lumbar", NA, radiculopathy=True, cpt=L_WO),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), NECK_RADICULOPATHY)
def test_acr_neck_radiculopathy(status_of, cpt, case, expected):
    cid = "acr-neck-radiculopathy"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


NECK_INFECTION = [
    *any_of(CANCER_INFECTION, C_WO),
    c("cervical without and with", MET, infection_signs=True, cpt=C_WW),
    c("thoracic (variant 7 there)", NA, infection_signs=True, cpt=T_WO),
    c("lumbar (variant 7 there)", NA, infection_signs=True, cpt=L_WO),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), NECK_INFECTION)
def test_acr_neck_infection_malignancy(status_of, cpt, case, expected):
    cid = "acr-neck-infection-malignancy"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


NECK_SURGERY = [
    *post_surgery("cervical", C_WO, L_WO, "lumbar"),
    c("thoracic surgery, cervical request", NOT_MET, prior_spine_surgery_region="thoracic",
      new_or_progressive_symptoms=True, cpt=C_WO),
    c("cervical with contrast (rated)", MET, prior_spine_surgery_region="cervical",
      new_or_progressive_symptoms=True, cpt=C_W),
    c("thoracic request", NA, prior_spine_surgery_region="cervical",
      new_or_progressive_symptoms=True, cpt=T_WO),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), NECK_SURGERY)
def test_acr_neck_prior_surgery(status_of, cpt, case, expected):
    cid = "acr-neck-prior-surgery"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


MYELOPATHY = [
    c("myelopathy TRUE", MET, myelopathy_signs=True, cpt=C_WO),
    c("myelopathy FALSE", NOT_MET, myelopathy_signs=False, cpt=C_WO),
    c("myelopathy NULL", UNDOC, myelopathy_signs=None, cpt=C_WO),
    c("thoracic", MET, myelopathy_signs=True, cpt=T_WO),
    c("thoracic without and with (rated)", MET, myelopathy_signs=True, cpt=T_WW),
    c("lumbar (cord ends above)", NA, myelopathy_signs=True, cpt=L_WO),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), MYELOPATHY)
def test_acr_myelopathy(status_of, cpt, case, expected):
    assert status_of(POLICY, "acr-myelopathy", {"cpt_code": cpt, **case}) == expected


TRAUMA_MYELO = {"myelopathy_signs": True, "trauma": "high_velocity"}
MYELOPATHY_TRAUMATIC = [
    c("myelopathy, high_velocity trauma", MET, TRAUMA_MYELO, cpt=C_WO),
    c("myelopathy, low_velocity trauma", MET, TRAUMA_MYELO, trauma="low_velocity", cpt=C_WO),
    c("myelopathy, trauma none", NOT_MET, TRAUMA_MYELO, trauma="none", cpt=C_WO),
    c("myelopathy, trauma NULL", UNDOC, TRAUMA_MYELO, trauma=None, cpt=C_WO),
    c("no myelopathy, trauma", NOT_MET, TRAUMA_MYELO, myelopathy_signs=False, cpt=C_WO),
    c("myelopathy NULL, trauma", UNDOC, TRAUMA_MYELO, myelopathy_signs=None, cpt=C_WO),
    c("no myelopathy, trauma NULL (AND with FALSE)", NOT_MET, myelopathy_signs=False,
      cpt=C_WO),
    c("myelopathy NULL, trauma none (AND with FALSE)", NOT_MET, trauma="none", cpt=C_WO),
    c("thoracic", MET, TRAUMA_MYELO, cpt=T_WO),
    c("cervical with contrast (rated)", MET, TRAUMA_MYELO, cpt=C_W),
    # without_and_with is not rated by this criterion: not applicable to 72156 / 72157
    c("cervical without and with (not rated)", NA, TRAUMA_MYELO, cpt=C_WW),
    c("thoracic without and with (not rated)", NA, TRAUMA_MYELO, cpt=T_WW),
    c("lumbar", NA, TRAUMA_MYELO, cpt=L_WO),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), MYELOPATHY_TRAUMATIC)
def test_acr_myelopathy_traumatic(status_of, cpt, case, expected):
    cid = "acr-myelopathy-traumatic"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


# --- contrast classes at the verdict level -------------------------------------------------
# (criterion, regions, fields that make it true on the quiet case, verdict for
#  without / with / without_and_with). 'meets' = meets criteria, 'review' = meets criteria but
# only "may be appropriate" supports it (flagged for review).
DNM = "does_not_meet"
SUPPORT = [
    ("acr-lbp-v1", ("lumbar", "thoracic"), {"symptom_weeks": 2}, (DNM, DNM, DNM)),
    ("acr-lbp-v2", ("lumbar", "thoracic"), {"symptom_weeks": 12}, (DNM, DNM, DNM)),
    ("acr-lbp-v3", ("lumbar", "thoracic"),
     {"conservative_therapy_weeks": 8, "surgical_candidate": True}, ("meets", DNM, "review")),
    ("acr-lbp-v4", ("lumbar",), {"cauda_equina_signs": True}, ("meets", DNM, "meets")),
    ("acr-lbp-v5", ("lumbar",),
     {"prior_spine_surgery_region": "lumbar", "new_or_progressive_symptoms": True},
     ("meets", DNM, "meets")),
    ("acr-lbp-v6", ("lumbar", "thoracic"), {"osteoporosis": True}, ("meets", DNM, "review")),
    ("acr-lbp-v6", ("lumbar", "thoracic"), {"age": 75}, ("meets", DNM, "review")),
    ("acr-lbp-v7", ("lumbar", "thoracic"), {"cancer_history": True}, ("meets", DNM, "meets")),
    ("acr-lbp-v7", ("lumbar", "thoracic"), {"immunosuppressed": True},
     ("meets", DNM, "meets")),
    ("acr-red-flag-progressive-deficit", ("lumbar", "thoracic", "cervical"),
     {"progressive_neuro_deficit": True}, ("meets", DNM, "review")),
    ("acr-thoracic-prior-surgery", ("thoracic",),
     {"prior_spine_surgery_region": "thoracic", "new_or_progressive_symptoms": True},
     ("meets", DNM, "meets")),
    ("acr-neck-pain-no-red-flags", ("cervical",), {"symptom_weeks": 12}, (DNM, DNM, DNM)),
    ("acr-neck-radiculopathy", ("cervical",), {"radiculopathy": True}, ("meets", DNM, DNM)),
    ("acr-neck-infection-malignancy", ("cervical",), {"infection_signs": True},
     ("meets", DNM, "meets")),
    ("acr-neck-prior-surgery", ("cervical",),
     {"prior_spine_surgery_region": "cervical", "new_or_progressive_symptoms": True},
     ("meets", DNM, "review")),
    ("acr-myelopathy", ("cervical", "thoracic"), {"myelopathy_signs": True},
     ("meets", DNM, "review")),
    # not rated without_and_with: that verdict comes from acr-myelopathy ("may be appropriate")
    ("acr-myelopathy-traumatic", ("cervical", "thoracic"),
     {"myelopathy_signs": True, "trauma": "high_velocity"}, ("meets", DNM, "review")),
]
CONTRASTS = ("without", "with", "without_and_with")
UNRATED = {("acr-myelopathy-traumatic", "without_and_with")}  # criterion is n/a there
SUPPORT_PARAMS = [
    pytest.param(cid, cpt_for(region, contrast), overlay,
                 NA if (cid, contrast) in UNRATED else MET, want,
                 id=f"{cid} {'+'.join(overlay)} {region} {contrast} -> {want}")
    for cid, regions, overlay, wants in SUPPORT
    for region in regions
    for contrast, want in zip(CONTRASTS, wants, strict=True)
]


@pytest.mark.parametrize(("cid", "cpt", "overlay", "own", "expected"), SUPPORT_PARAMS)
def test_contrast_support(status_of, outcome, quiet, cid, cpt, overlay, own, expected):
    case = {**quiet, **overlay, "cpt_code": cpt}
    assert status_of(POLICY, cid, case) == own
    assert outcome(POLICY, case) == expected


TRAUMA_NEURO = {"trauma": "high_velocity", "neuro_deficit": True, "myelopathy_signs": False,
                "progressive_neuro_deficit": False}
TRAUMA_NEURO_CASES = [
    c("high-velocity trauma + deficit", MET, TRAUMA_NEURO),
    c("high-velocity trauma + myelopathy", MET, TRAUMA_NEURO, neuro_deficit=False,
      myelopathy_signs=True),
    c("high-velocity trauma + progressive deficit", MET, TRAUMA_NEURO, neuro_deficit=False,
      progressive_neuro_deficit=True),
    c("high-velocity trauma, no deficit", NOT_MET, TRAUMA_NEURO, neuro_deficit=False),
    c("low-velocity trauma + deficit", NOT_MET, TRAUMA_NEURO, trauma="low_velocity"),
    c("no trauma + deficit", NOT_MET, TRAUMA_NEURO, trauma="none"),
    c("trauma NULL + deficit", UNDOC, TRAUMA_NEURO, trauma=None),
    # Kleene: OR with one TRUE operand is met although the others are NULL
    c("trauma + deficit, others NULL", MET, TRAUMA_NEURO, myelopathy_signs=None,
      progressive_neuro_deficit=None),
    c("trauma + deficit NULL, others FALSE", UNDOC, TRAUMA_NEURO, neuro_deficit=None),
    # Kleene: AND with a FALSE operand is not met although the deficit is NULL
    c("no trauma, deficit NULL", NOT_MET, TRAUMA_NEURO, trauma="none", neuro_deficit=None),
    c("cervical", MET, TRAUMA_NEURO, cpt=C_WO),
    c("thoracic", MET, TRAUMA_NEURO, cpt=T_WO),
    c("lumbar with contrast (rated)", MET, TRAUMA_NEURO, cpt=L_W),
    c("lumbar without and with (not rated)", NA, TRAUMA_NEURO, cpt=L_WW),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), TRAUMA_NEURO_CASES)
def test_acr_trauma_neuro_deficit(status_of, cpt, case, expected):
    assert status_of(POLICY, "acr-trauma-neuro-deficit", {"cpt_code": cpt, **case}) == expected
