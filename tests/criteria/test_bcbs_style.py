"""Boundary tests for every criterion of criteria/bcbs_style.yaml (BCBS CAM 709/741-style).

Same layout as test_acr.py, plus the one exclusion (repeat MRI within 3 months), whose effect
on the verdict is tested as well.
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
    T_W,
    T_WO,
    UNDOC,
    c,
    regions,
)

POLICY = "bcbs_style"




ALL_REGIONS = {C_WO: MET, T_WO: MET, L_WO: MET, L_W: MET, L_WW: MET}
LUMBAR_THORACIC = {L_WO: MET, L_WW: MET, T_WO: MET, T_W: MET, C_WO: NA, C_WW: NA}
CERVICAL_ONLY = {C_WO: MET, C_W: MET, C_WW: MET, T_WO: NA, L_WO: NA}
LUMBAR_ONLY = {L_WO: MET, L_W: MET, L_WW: MET, T_WO: NA, C_WO: NA}

MULTIMODAL_PARTS = ("physical_therapy", "medication_trial", "prior_radiographs")
MULTI = {"conservative_therapy_weeks": 8, **dict.fromkeys(MULTIMODAL_PARTS, True)}


def multimodal(base: dict[str, Any], cpt: str, parts: tuple[str, ...]) -> list[Any]:
    """conservative_therapy_weeks >= 6 AND every part in ``parts`` (all TRUE in ``base``)."""
    return [
        c("conservative 5.9 (just under 6)", NOT_MET, base, cpt=cpt,
          conservative_therapy_weeks=5.9),
        c("conservative 6 (at 6)", MET, base, cpt=cpt, conservative_therapy_weeks=6),
        c("conservative 6.1 (just over 6)", MET, base, cpt=cpt,
          conservative_therapy_weeks=6.1),
        c("conservative NULL", UNDOC, base, cpt=cpt, conservative_therapy_weeks=None),
        *[c(f"{p} FALSE", NOT_MET, base, cpt=cpt, **{p: False}) for p in parts],
        *[c(f"{p} NULL", UNDOC, base, cpt=cpt, **{p: None}) for p in parts],
        # Kleene: AND with one FALSE operand is not met although the others are NULL
        c(f"{parts[0]} FALSE, rest NULL", NOT_MET, cpt=cpt, **{parts[0]: False}),
        c("conservative 3, rest NULL", NOT_MET, cpt=cpt, conservative_therapy_weeks=3),
    ]


MULTIMODAL = [
    *multimodal(MULTI, L_WO, MULTIMODAL_PARTS),
    c("medication only (not multimodal)", NOT_MET, MULTI, physical_therapy=False),
    *regions(LUMBAR_THORACIC, MULTI),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), MULTIMODAL)
def test_bc_multimodal_6wk(status_of, cpt, case, expected):
    assert status_of(POLICY, "bc-multimodal-6wk", {"cpt_code": cpt, **case}) == expected


NEW = {"progressive_neuro_deficit": False, "myelopathy_signs": False}
NEW_DEFICIT = [
    c("progressive deficit TRUE", MET, NEW, progressive_neuro_deficit=True, cpt=C_WO),
    c("myelopathy TRUE", MET, NEW, myelopathy_signs=True, cpt=C_WO),
    c("both FALSE", NOT_MET, NEW, cpt=C_WO),
    c("progressive NULL, myelopathy FALSE", UNDOC, NEW, progressive_neuro_deficit=None,
      cpt=C_WO),
    c("progressive FALSE, myelopathy NULL", UNDOC, NEW, myelopathy_signs=None, cpt=C_WO),
    # Kleene: OR with one TRUE operand is met although the other is NULL
    c("myelopathy TRUE, progressive NULL", MET, myelopathy_signs=True, cpt=C_WO),
    c("progressive TRUE, myelopathy NULL", MET, progressive_neuro_deficit=True, cpt=C_WO),
    # radiculopathy with a (not new) objective deficit does not qualify
    c("radiculopathy with stable deficit", NOT_MET, NEW, radiculopathy=True,
      neuro_deficit=True, cpt=C_WO),
    *regions(CERVICAL_ONLY, {"progressive_neuro_deficit": True}),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), NEW_DEFICIT)
def test_bc_cervical_new_deficit(status_of, cpt, case, expected):
    cid = "bc-cervical-new-deficit"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


CERV_PARTS = (*MULTIMODAL_PARTS, "neuro_deficit")
CERV = {**MULTI, "neuro_deficit": True}
CERVICAL_MULTIMODAL = [
    *multimodal(CERV, C_WO, CERV_PARTS),
    *regions(CERVICAL_ONLY, CERV),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), CERVICAL_MULTIMODAL)
def test_bc_cervical_multimodal_deficit(status_of, cpt, case, expected):
    cid = "bc-cervical-multimodal-deficit"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


PROGRESSIVE = [
    c("progressive deficit TRUE", MET, progressive_neuro_deficit=True),
    c("progressive deficit FALSE", NOT_MET, progressive_neuro_deficit=False),
    c("progressive deficit NULL", UNDOC, progressive_neuro_deficit=None),
    *regions(LUMBAR_THORACIC, {"progressive_neuro_deficit": True}),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), PROGRESSIVE)
def test_bc_progressive_deficit(status_of, cpt, case, expected):
    cid = "bc-progressive-deficit"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


CAUDA = [
    c("cauda equina TRUE", MET, cauda_equina_signs=True),
    c("cauda equina FALSE", NOT_MET, cauda_equina_signs=False),
    c("cauda equina NULL", UNDOC, cauda_equina_signs=None),
    *regions(LUMBAR_ONLY, {"cauda_equina_signs": True}),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), CAUDA)
def test_bc_cauda_equina(status_of, cpt, case, expected):
    assert status_of(POLICY, "bc-cauda-equina", {"cpt_code": cpt, **case}) == expected


TUMOUR_FLAGS = ("cancer_history", "suspected_malignancy", "infection_signs")
TUMOUR_NONE = dict.fromkeys(TUMOUR_FLAGS, False)
TUMOUR = [
    *[c(f"{f} TRUE", MET, TUMOUR_NONE, **{f: True}) for f in TUMOUR_FLAGS],
    *[c(f"{f} NULL, rest FALSE", UNDOC, TUMOUR_NONE, **{f: None}) for f in TUMOUR_FLAGS],
    c("all FALSE", NOT_MET, TUMOUR_NONE),
    c("all NULL", UNDOC),
    # Kleene: OR with one TRUE operand
    c("infection TRUE, rest NULL", MET, infection_signs=True),
    *regions(ALL_REGIONS, {"cancer_history": True}),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), TUMOUR)
def test_bc_tumour_infection(status_of, cpt, case, expected):
    assert status_of(POLICY, "bc-tumour-infection", {"cpt_code": cpt, **case}) == expected


TR = {"trauma": "low_velocity", "prior_radiographs": True}
TRAUMA = [
    c("low_velocity trauma, radiographs", MET, TR),
    c("high_velocity trauma, radiographs", MET, TR, trauma="high_velocity"),
    c("trauma none", NOT_MET, TR, trauma="none"),
    c("trauma NULL", UNDOC, TR, trauma=None),
    c("no radiographs (radiographs first)", NOT_MET, TR, prior_radiographs=False),
    c("radiographs NULL", UNDOC, TR, prior_radiographs=None),
    # Kleene: AND with one FALSE operand
    c("trauma none, radiographs NULL", NOT_MET, trauma="none"),
    c("trauma NULL, no radiographs", NOT_MET, prior_radiographs=False),
    *regions(ALL_REGIONS, TR),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), TRAUMA)
def test_bc_trauma(status_of, cpt, case, expected):
    assert status_of(POLICY, "bc-trauma", {"cpt_code": cpt, **case}) == expected


def post_op(region: str, cpt: str, other: str) -> list[Any]:
    base = {"prior_spine_surgery_region": region, "new_or_progressive_symptoms": True}
    return [
        c(f"{region} surgery, {region} request", MET, base, cpt=cpt),
        c(f"{other} surgery, {region} request", NOT_MET, base, cpt=cpt,
          prior_spine_surgery_region=other),
        c(f"no surgery, {region} request", NOT_MET, base, cpt=cpt,
          prior_spine_surgery_region="none"),
        c(f"surgery NULL, {region} request", UNDOC, base, cpt=cpt,
          prior_spine_surgery_region=None),
    ]


POST_BASE = {"prior_spine_surgery_region": "lumbar", "new_or_progressive_symptoms": True}
POST_OP = [
    *post_op("lumbar", L_WO, "cervical"),
    *post_op("cervical", C_WO, "lumbar"),
    *post_op("thoracic", T_WO, "cervical"),
    c("new symptoms FALSE", NOT_MET, POST_BASE, new_or_progressive_symptoms=False),
    c("new symptoms NULL", UNDOC, POST_BASE, new_or_progressive_symptoms=None),
    # Kleene: AND with a FALSE operand
    c("cervical surgery, lumbar request, symptoms NULL", NOT_MET,
      prior_spine_surgery_region="cervical"),
    c("lumbar without and with", MET, POST_BASE, cpt=L_WW),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), POST_OP)
def test_bc_post_operative(status_of, cpt, case, expected):
    assert status_of(POLICY, "bc-post-operative", {"cpt_code": cpt, **case}) == expected


# exclusion: months_since_prior_mri < 3 AND NOT COALESCE(new OR progressive deficit, FALSE)
REP = {"months_since_prior_mri": 2, "new_or_progressive_symptoms": False,
       "progressive_neuro_deficit": False}
REPEAT = [
    c("prior MRI 2.9 months ago (just under 3)", MET, REP, months_since_prior_mri=2.9),
    c("prior MRI 3 months ago (at 3)", NOT_MET, REP, months_since_prior_mri=3),
    c("prior MRI 3.1 months ago (just over 3)", NOT_MET, REP, months_since_prior_mri=3.1),
    c("no prior MRI documented (NULL)", UNDOC, REP, months_since_prior_mri=None),
    c("new symptoms TRUE (justified)", NOT_MET, REP, new_or_progressive_symptoms=True),
    c("progressive deficit TRUE (justified)", NOT_MET, REP, progressive_neuro_deficit=True),
    # justification must be documented: NULL reads as no justification (COALESCE to FALSE)
    c("new symptoms NULL, deficit FALSE", MET, REP, new_or_progressive_symptoms=None),
    c("new symptoms and deficit NULL", MET, REP, new_or_progressive_symptoms=None,
      progressive_neuro_deficit=None),
    # Kleene: the inner OR is TRUE through its TRUE operand although the other is NULL
    c("new symptoms NULL, deficit TRUE", NOT_MET, REP, new_or_progressive_symptoms=None,
      progressive_neuro_deficit=True),
    # Kleene: AND with a FALSE operand (3.5 months) although the justification is NULL
    c("prior MRI 3.5 months, justification NULL", NOT_MET, months_since_prior_mri=3.5),
    c("months NULL, new symptoms TRUE", NOT_MET, REP, months_since_prior_mri=None,
      new_or_progressive_symptoms=True),
    *regions(ALL_REGIONS, REP),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), REPEAT)
def test_bc_repeat_within_3_months(status_of, cpt, case, expected):
    cid = "bc-repeat-within-3-months"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


@pytest.mark.parametrize(("months", "expected"), [
    pytest.param(2.9, "does_not_meet", id="repeat at 2.9 months excludes"),
    pytest.param(3, "meets", id="repeat at 3 months allowed"),
    pytest.param(None, "meets", id="no prior MRI"),
])
def test_bc_repeat_within_3_months_overrides_indication(outcome, evaluator, quiet, months,
                                                       expected):
    """The exclusion wins over a met indication (known cancer) and is then not a would-flip."""
    case = {**quiet, "cpt_code": L_WO, "cancer_history": True,
            "months_since_prior_mri": months}
    assert outcome(POLICY, case) == expected
    row = evaluator.row(POLICY, case)
    assert "bc-tumour-infection" in row["fired"]
    excluded = months is not None and months < 3
    assert ("bc-repeat-within-3-months" in row["fired"]) is excluded


# --- contrast classes at the verdict level -------------------------------------------------
DNM = "does_not_meet"
ALL3 = ("cervical", "thoracic", "lumbar")
WITHOUT_ONLY = ("meets", DNM, DNM)
WITH_CONTRAST_TOO = ("meets", DNM, "meets")
SUPPORT = [
    ("bc-multimodal-6wk", ("lumbar", "thoracic"), MULTI, WITHOUT_ONLY),
    ("bc-cervical-new-deficit", ("cervical",), {"myelopathy_signs": True}, WITHOUT_ONLY),
    ("bc-cervical-multimodal-deficit", ("cervical",), CERV, WITHOUT_ONLY),
    ("bc-progressive-deficit", ("lumbar", "thoracic"), {"progressive_neuro_deficit": True},
     WITHOUT_ONLY),
    ("bc-cauda-equina", ("lumbar",), {"cauda_equina_signs": True}, WITH_CONTRAST_TOO),
    ("bc-tumour-infection", ALL3, {"suspected_malignancy": True}, WITH_CONTRAST_TOO),
    ("bc-trauma", ALL3, TR, WITHOUT_ONLY),
    *[("bc-post-operative", (r,), {"prior_spine_surgery_region": r,
                                   "new_or_progressive_symptoms": True}, WITH_CONTRAST_TOO)
      for r in ALL3],
    # an exclusion never supports imaging: on its own it leaves every code not met
    ("bc-repeat-within-3-months", ALL3, REP, (DNM, DNM, DNM)),
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
