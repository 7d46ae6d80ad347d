"""What the examples beside each criterion of criteria/bcbs_style.yaml cannot say.

The thresholds (under / at / over) and the TRUE / FALSE / NULL status of every factor with its
Kleene behaviour are the criteria's ``examples:`` in the YAML (BCBS SC CAM 741 neck-pain and
deficit items, CAM 709's multimodal conservative therapy, the overlapping-imaging rule), run
and checked for coverage by tests/criteria/test_examples.py. Here: region applicability, the
verdict per contrast class, the one exclusion's effect on the verdict, and the verdict-level
readings of the policies' wording (the cervical items are alternatives; multimodal therapy is
active + inactive, not PT + medication; no radiographs-first rule in the text read).
"""

from __future__ import annotations

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
    T_W,
    T_WO,
    c,
    regions,
)

POLICY = "bcbs_style"

ALL_REGIONS = {C_WO: MET, T_WO: MET, L_WO: MET, L_W: MET, L_WW: MET}
LUMBAR_THORACIC = {L_WO: MET, L_WW: MET, T_WO: MET, T_W: MET, C_WO: NA, C_WW: NA}
CERVICAL_ONLY = {C_WO: MET, C_W: MET, C_WW: MET, T_WO: NA, L_WO: NA}
LUMBAR_ONLY = {L_WO: MET, L_W: MET, L_WW: MET, T_WO: NA, C_WO: NA}

MULTI = {"conservative_therapy_weeks": 8, "physical_therapy": True, "medication_trial": True}
CERV_CONS = {**MULTI, "symptom_weeks": 10}
TR = {"trauma": "low_velocity", "prior_radiographs": True}
REP = {"months_since_prior_mri": 2, "new_or_progressive_symptoms": False,
       "progressive_neuro_deficit": False}

# criterion → (regions it applies to, a case that meets it)
MEETING: dict[str, tuple[dict[str, str], dict[str, object]]] = {
    "bc-cervical-new-deficit": (CERVICAL_ONLY, {"progressive_neuro_deficit": True}),
    "bc-cervical-conservative-6wk": (CERVICAL_ONLY, CERV_CONS),
    "bc-cervical-progression": (CERVICAL_ONLY, {"progression_during_conservative_care": True}),
    "bc-cervical-emg": (CERVICAL_ONLY, {"abnormal_emg_ncs": True}),
    "bc-multimodal-6wk": (LUMBAR_THORACIC, MULTI),
    "bc-progressive-deficit": (LUMBAR_THORACIC, {"progressive_neuro_deficit": True}),
    "bc-cauda-equina": (LUMBAR_ONLY, {"cauda_equina_signs": True}),
    "bc-tumour-infection": (ALL_REGIONS, {"cancer_history": True}),
    "bc-trauma": (ALL_REGIONS, TR),
    "bc-repeat-within-3-months": (ALL_REGIONS, REP),
}

APPLICABILITY = [
    *[(cid, p) for cid, (regs, case) in MEETING.items() for p in regions(regs, case)],
    *[("bc-post-operative", c(f"{r} surgery, {r} request", MET,
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


# --- the exclusion at the verdict level ----------------------------------------------------
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


@pytest.mark.parametrize(("justification", "expected"), [
    pytest.param({}, "does_not_meet", id="nothing documented"),
    pytest.param({"new_or_progressive_symptoms": True}, "does_not_meet",
                 id="new symptoms alone are no justification"),
    pytest.param({"prior_study_inconclusive": True}, "meets", id="prior study inconclusive"),
    pytest.param({"overlap_justification_documented": True}, "meets",
                 id="notes say why and how it changes management"),
    pytest.param({"progressive_neuro_deficit": True}, "meets",
                 id="new progressive deficit (the model's reading)"),
])
def test_overlapping_mri_needs_the_policys_justification(outcome, quiet, justification,
                                                         expected):
    """CAM 709 / 741: an overlapping request within 3 months needs an inconclusive prior study
    or notes documenting why it is needed and how it will change management."""
    case = {**quiet, "cpt_code": L_WO, "cancer_history": True, "months_since_prior_mri": 1,
            **justification}
    assert outcome(POLICY, case) == expected


# --- contrast classes at the verdict level -------------------------------------------------
DNM = "does_not_meet"
ALL3 = ("cervical", "thoracic", "lumbar")
WITHOUT_ONLY = ("meets", DNM, DNM)
WITH_CONTRAST_TOO = ("meets", DNM, "meets")
SUPPORT = [
    ("bc-cervical-new-deficit", ("cervical",), {"myelopathy_signs": True}, WITHOUT_ONLY),
    ("bc-cervical-conservative-6wk", ("cervical",), CERV_CONS, WITHOUT_ONLY),
    ("bc-cervical-progression", ("cervical",), {"progression_during_conservative_care": True},
     WITHOUT_ONLY),
    ("bc-cervical-emg", ("cervical",), {"abnormal_emg_ncs": True}, WITHOUT_ONLY),
    ("bc-multimodal-6wk", ("lumbar", "thoracic"), MULTI, WITHOUT_ONLY),
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


def test_every_criterion_has_contrast_support_tests(library):
    assert {cid for cid, _, _, _ in SUPPORT} == {c.id for c in library[POLICY].criteria}


@pytest.mark.parametrize(("cid", "cpt", "overlay", "expected"), SUPPORT_PARAMS)
def test_contrast_support(status_of, outcome, quiet, cid, cpt, overlay, expected):
    case = {**quiet, **overlay, "cpt_code": cpt}
    assert status_of(POLICY, cid, case) == MET
    assert outcome(POLICY, case) == expected


# --- verdict-level readings of the policies' wording ---------------------------------------
INSUF = "insufficient"


def neck_pain(quiet: dict[str, object], **extra: object) -> dict[str, object]:
    """Cervical MRI without contrast for neck pain: no deficit, no radiographs."""
    return {**quiet, "cpt_code": C_WO, "symptom_weeks": 10, "radiculopathy": True,
            "neuro_deficit": False, "prior_radiographs": False, **extra}


def test_cervical_items_are_alternatives(outcome, quiet):
    """CAM 741 neck pain "with any of the following": 6 weeks of multimodal treatment within
    the last 6 months meets without a neurologic deficit or radiographs; progression during
    treatment meets before 6 weeks; an abnormal EMG meets on its own."""
    assert outcome(POLICY, neck_pain(quiet)) == DNM
    assert outcome(POLICY, neck_pain(quiet, conservative_therapy_weeks=6,
                                     physical_therapy=True, medication_trial=True)) == "meets"
    assert outcome(POLICY, neck_pain(quiet, conservative_therapy_weeks=3,
                                     progression_during_conservative_care=True)) == "meets"
    assert outcome(POLICY, neck_pain(quiet, abnormal_emg_ncs=True)) == "meets"


def test_cervical_treatment_must_fall_within_the_last_6_months(outcome, quiet):
    """A year-old episode whose 8 weeks of treatment lie mostly outside the window."""
    case = neck_pain(quiet, symptom_weeks=52, conservative_therapy_weeks=8,
                     physical_therapy=True, medication_trial=True)
    assert outcome(POLICY, case) == INSUF  # the weeks within the last 6 months are undocumented
    assert outcome(POLICY, {**case, "conservative_therapy_weeks_last_6_months": 2}) == DNM
    assert outcome(POLICY, {**case, "conservative_therapy_weeks_last_6_months": 6}) == "meets"


@pytest.mark.parametrize("cpt", [C_WO, L_WO])
def test_multimodal_is_active_plus_inactive_not_pt_plus_medication(outcome, quiet, cpt):
    """CAM 709: chiropractic care (active) with heat and activity modification (inactive)
    is multimodal without physical therapy or medication; medication alone is not."""
    case = {**quiet, "cpt_code": cpt, "symptom_weeks": 10, "conservative_therapy_weeks": 8,
            "physical_therapy": False, "medication_trial": False,
            "active_conservative_therapy": True, "inactive_conservative_therapy": True}
    assert outcome(POLICY, case) == "meets"
    medication_only = {**case, "active_conservative_therapy": False, "medication_trial": True}
    assert outcome(POLICY, medication_only) == DNM
