"""What the examples beside each criterion of criteria/evicore_style.yaml cannot say.

The thresholds (under / at / over) and the TRUE / FALSE / NULL status of every factor with
its Kleene behaviour are the criteria's ``examples:`` in the YAML, run and checked for
coverage by tests/criteria/test_examples.py. Here: region applicability (each criterion is
met, or not applicable, for each region's request), the contrast classes a criterion is
rated for, and the verdict each met criterion gives per contrast class.
"""

from __future__ import annotations

import pytest

from preauth.catalog.fields import cpt_for
from tests.criteria.helpers import C_WO, L_W, L_WO, L_WW, MET, NA, T_WO, c, regions

POLICY = "evicore_style"

ALL_REGIONS = {C_WO: MET, T_WO: MET, L_WO: MET, L_W: MET, L_WW: MET}
CORD_REGIONS = {C_WO: MET, T_WO: MET, L_WO: NA}
LUMBAR_ONLY = {L_WO: MET, L_WW: MET, T_WO: NA, C_WO: NA}

SEVERE = {"radiculopathy": True, "pain_score": 9, "conservative_therapy_weeks": 1,
          "surgical_candidate": True}
POST_OP_BASE = {"prior_spine_surgery_region": "lumbar", "new_or_progressive_symptoms": True,
                "prior_radiographs": True}

# (criterion, requested procedure, case, expected status) — region / contrast applicability
APPLICABILITY = [
    *[("ev-conservative-care", p) for p in regions(
        ALL_REGIONS, {"conservative_therapy_weeks": 8, "neuro_deficit": False})],
    *[("ev-severe-weakness", p) for p in regions(
        ALL_REGIONS, {"neuro_deficit": True, "motor_strength_grade": 3, "foot_drop": False})],
    *[("ev-progressive-deficit", p) for p in regions(
        ALL_REGIONS, {"progressive_neuro_deficit": True})],
    *[("ev-cancer", p) for p in regions(ALL_REGIONS, {"cancer_history": True})],
    *[("ev-cauda-equina", p) for p in regions(LUMBAR_ONLY, {"cauda_equina_signs": True})],
    ("ev-cauda-equina", c("lumbar with contrast (rated)", MET, cauda_equina_signs=True,
                          cpt=L_W)),
    *[("ev-infection", p) for p in regions(ALL_REGIONS, {"infection_signs": True})],
    *[("ev-fracture", p) for p in regions(ALL_REGIONS, {"trauma": "high_velocity"})],
    *[("ev-severe-radicular-pain", p) for p in regions(ALL_REGIONS, SEVERE)],
    *[("ev-myelopathy", p) for p in regions(CORD_REGIONS, {"myelopathy_signs": True})],
    ("ev-post-operative", c("lumbar without and with", MET, POST_OP_BASE, cpt=L_WW)),
]
APPLICABILITY_PARAMS = [
    pytest.param(cid, *p.values, id=f"{cid} {p.id}", marks=p.marks) for cid, p in APPLICABILITY
]


@pytest.mark.parametrize(("cid", "cpt", "case", "expected"), APPLICABILITY_PARAMS)
def test_region_and_contrast_applicability(status_of, cid, cpt, case, expected):
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


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
