"""Boundary tests for every criterion of criteria/aetna_style.yaml (Aetna CPB 0236-style).

Same layout as test_acr.py. The bulletin as modelled rates every contrast class alike
("covered"), so a met criterion supports all three MRI codes of its regions.
"""

from __future__ import annotations

from typing import Any

import pytest

from preauth.catalog.fields import cpt_for
from tests.criteria.helpers import (
    C_W,
    C_WO,
    L_W,
    L_WO,
    L_WW,
    MET,
    NA,
    NOT_MET,
    T_WO,
    UNDOC,
    c,
    regions,
)

POLICY = "aetna_style"




ALL_REGIONS = {C_WO: MET, T_WO: MET, L_WO: MET, L_W: MET, L_WW: MET}
CORD_REGIONS = {C_WO: MET, C_W: MET, T_WO: MET, L_WO: NA}
LUMBAR_ONLY = {L_WO: MET, L_W: MET, L_WW: MET, T_WO: NA, C_WO: NA}

RADIC = {"radiculopathy": True, "neuro_deficit": True, "conservative_therapy_weeks": 8}
RADICULOPATHY = [
    c("conservative 5.9 (just under 6)", NOT_MET, RADIC, conservative_therapy_weeks=5.9),
    c("conservative 6 (at 6)", MET, RADIC, conservative_therapy_weeks=6),
    c("conservative 6.1 (just over 6)", MET, RADIC, conservative_therapy_weeks=6.1),
    c("conservative NULL", UNDOC, RADIC, conservative_therapy_weeks=None),
    c("radiculopathy FALSE", NOT_MET, RADIC, radiculopathy=False),
    c("radiculopathy NULL", UNDOC, RADIC, radiculopathy=None),
    c("no objective deficit", NOT_MET, RADIC, neuro_deficit=False),
    c("objective deficit NULL", UNDOC, RADIC, neuro_deficit=None),
    # Kleene: AND with one FALSE operand is not met although the others are NULL
    c("deficit FALSE, rest NULL", NOT_MET, neuro_deficit=False),
    c("conservative 3, rest NULL", NOT_MET, conservative_therapy_weeks=3),
    c("radiculopathy and deficit, conservative 3", NOT_MET, RADIC,
      conservative_therapy_weeks=3),
    *regions(ALL_REGIONS, RADIC),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), RADICULOPATHY)
def test_ae_radiculopathy_6wk(status_of, cpt, case, expected):
    cid = "ae-radiculopathy-6wk"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


DEGEN = {"degenerative_spine_disease": True, "conservative_therapy_weeks": 4}
DEGENERATIVE = [
    c("conservative 3.9 (just under 4)", NOT_MET, DEGEN, conservative_therapy_weeks=3.9),
    c("conservative 4 (at 4)", MET, DEGEN),
    c("conservative 4.1 (just over 4)", MET, DEGEN, conservative_therapy_weeks=4.1),
    c("conservative NULL", UNDOC, DEGEN, conservative_therapy_weeks=None),
    c("degenerative disease FALSE", NOT_MET, DEGEN, degenerative_spine_disease=False),
    c("degenerative disease NULL", UNDOC, DEGEN, degenerative_spine_disease=None),
    # Kleene: AND with one FALSE operand
    c("degenerative NULL, conservative 2", NOT_MET, DEGEN, degenerative_spine_disease=None,
      conservative_therapy_weeks=2),
    c("degenerative FALSE, conservative NULL", NOT_MET, degenerative_spine_disease=False),
    *regions(ALL_REGIONS, DEGEN),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), DEGENERATIVE)
def test_ae_degenerative_4wk(status_of, cpt, case, expected):
    cid = "ae-degenerative-4wk"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


CAUDA = [
    c("cauda equina TRUE", MET, cauda_equina_signs=True),
    c("cauda equina FALSE", NOT_MET, cauda_equina_signs=False),
    c("cauda equina NULL", UNDOC, cauda_equina_signs=None),
    *regions(LUMBAR_ONLY, {"cauda_equina_signs": True}),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), CAUDA)
def test_ae_cauda_equina(status_of, cpt, case, expected):
    assert status_of(POLICY, "ae-cauda-equina", {"cpt_code": cpt, **case}) == expected


CORD = [
    c("myelopathy TRUE", MET, myelopathy_signs=True, cpt=C_WO),
    c("myelopathy FALSE", NOT_MET, myelopathy_signs=False, cpt=C_WO),
    c("myelopathy NULL", UNDOC, myelopathy_signs=None, cpt=C_WO),
    *regions(CORD_REGIONS, {"myelopathy_signs": True}),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), CORD)
def test_ae_cord_compression(status_of, cpt, case, expected):
    assert status_of(POLICY, "ae-cord-compression", {"cpt_code": cpt, **case}) == expected


PROGRESSIVE = [
    c("progressive deficit TRUE", MET, progressive_neuro_deficit=True),
    c("progressive deficit FALSE", NOT_MET, progressive_neuro_deficit=False),
    c("progressive deficit NULL", UNDOC, progressive_neuro_deficit=None),
    c("no conservative care needed", MET, progressive_neuro_deficit=True,
      conservative_therapy_weeks=0),
    *regions(ALL_REGIONS, {"progressive_neuro_deficit": True}),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), PROGRESSIVE)
def test_ae_progressive_deficit(status_of, cpt, case, expected):
    cid = "ae-progressive-deficit"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


HOSPITALISED = [
    c("hospitalised TRUE", MET, hospitalized_for_pain=True),
    c("hospitalised FALSE", NOT_MET, hospitalized_for_pain=False),
    # COALESCE(hospitalized_for_pain, FALSE): an undocumented admission reads as none
    c("hospitalised NULL (read as FALSE)", NOT_MET, hospitalized_for_pain=None),
    *regions(ALL_REGIONS, {"hospitalized_for_pain": True}),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), HOSPITALISED)
def test_ae_severe_pain_hospitalised(status_of, cpt, case, expected):
    cid = "ae-severe-pain-hospitalised"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


INF_FLAGS = ("infection_signs", "cancer_history", "suspected_malignancy")
INF_NONE = dict.fromkeys(INF_FLAGS, False)
INFECTION = [
    *[c(f"{f} TRUE", MET, INF_NONE, **{f: True}) for f in INF_FLAGS],
    *[c(f"{f} NULL, rest FALSE", UNDOC, INF_NONE, **{f: None}) for f in INF_FLAGS],
    c("all FALSE", NOT_MET, INF_NONE),
    c("all NULL", UNDOC),
    # Kleene: OR with one TRUE operand is met although the others are NULL
    c("suspected malignancy TRUE, rest NULL", MET, suspected_malignancy=True),
    c("immunosuppressed alone is not listed", NOT_MET, INF_NONE, immunosuppressed=True),
    *regions(ALL_REGIONS, {"infection_signs": True}),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), INFECTION)
def test_ae_infection_metastasis(status_of, cpt, case, expected):
    cid = "ae-infection-metastasis"
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


def post_surgery(region: str, cpt: str, other: str) -> list[Any]:
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
POST_SURGERY = [
    *post_surgery("lumbar", L_WO, "cervical"),
    *post_surgery("cervical", C_WO, "thoracic"),
    *post_surgery("thoracic", T_WO, "lumbar"),
    c("new symptoms FALSE", NOT_MET, POST_BASE, new_or_progressive_symptoms=False),
    c("new symptoms NULL", UNDOC, POST_BASE, new_or_progressive_symptoms=None),
    # Kleene: AND with a FALSE operand
    c("cervical surgery, lumbar request, symptoms NULL", NOT_MET,
      prior_spine_surgery_region="cervical"),
    c("surgery NULL, symptoms FALSE", NOT_MET, new_or_progressive_symptoms=False),
    c("lumbar with contrast (rated)", MET, POST_BASE, cpt=L_W),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), POST_SURGERY)
def test_ae_post_surgery(status_of, cpt, case, expected):
    assert status_of(POLICY, "ae-post-surgery", {"cpt_code": cpt, **case}) == expected


EPI = {"surgical_candidate": True, "epidural_injection_planned": True}
PRE_EPIDURAL = [
    c("candidate, epidural planned", MET, EPI),
    c("epidural not planned", NOT_MET, EPI, epidural_injection_planned=False),
    c("epidural NULL", UNDOC, EPI, epidural_injection_planned=None),
    c("not a candidate", NOT_MET, EPI, surgical_candidate=False),
    c("candidate NULL", UNDOC, EPI, surgical_candidate=None),
    # Kleene: AND with one FALSE operand
    c("candidate NULL, epidural FALSE", NOT_MET, epidural_injection_planned=False),
    c("no conservative care needed", MET, EPI, conservative_therapy_weeks=0),
    *regions(ALL_REGIONS, EPI),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), PRE_EPIDURAL)
def test_ae_pre_epidural(status_of, cpt, case, expected):
    assert status_of(POLICY, "ae-pre-epidural", {"cpt_code": cpt, **case}) == expected


FRACT = {"trauma": "low_velocity", "suspected_fracture": True,
         "radiographs_inconclusive": True}
TRAUMA = [
    c("low_velocity trauma, suspected fracture, films inconclusive", MET, FRACT),
    c("high_velocity trauma", MET, FRACT, trauma="high_velocity"),
    c("trauma none", NOT_MET, FRACT, trauma="none"),
    c("trauma NULL", UNDOC, FRACT, trauma=None),
    c("fracture not suspected", NOT_MET, FRACT, suspected_fracture=False),
    c("suspected fracture NULL", UNDOC, FRACT, suspected_fracture=None),
    c("films conclusive", NOT_MET, FRACT, radiographs_inconclusive=False),
    c("films NULL", UNDOC, FRACT, radiographs_inconclusive=None),
    # Kleene: AND with one FALSE operand although the others are NULL
    c("trauma none, rest NULL", NOT_MET, trauma="none"),
    c("films conclusive, rest NULL", NOT_MET, radiographs_inconclusive=False),
    *regions(ALL_REGIONS, FRACT),
]


@pytest.mark.parametrize(("cpt", "case", "expected"), TRAUMA)
def test_ae_trauma_fracture(status_of, cpt, case, expected):
    assert status_of(POLICY, "ae-trauma-fracture", {"cpt_code": cpt, **case}) == expected


# --- contrast classes at the verdict level: every MRI code is rated "covered" ---------------
ALL3 = ("cervical", "thoracic", "lumbar")
SUPPORT = [
    ("ae-radiculopathy-6wk", ALL3, RADIC),
    ("ae-degenerative-4wk", ALL3, DEGEN),
    ("ae-cauda-equina", ("lumbar",), {"cauda_equina_signs": True}),
    ("ae-cord-compression", ("cervical", "thoracic"), {"myelopathy_signs": True}),
    ("ae-progressive-deficit", ALL3, {"progressive_neuro_deficit": True}),
    ("ae-severe-pain-hospitalised", ALL3, {"hospitalized_for_pain": True}),
    ("ae-infection-metastasis", ALL3, {"cancer_history": True}),
    *[("ae-post-surgery", (r,), {"prior_spine_surgery_region": r,
                                 "new_or_progressive_symptoms": True}) for r in ALL3],
    ("ae-pre-epidural", ALL3, EPI),
    ("ae-trauma-fracture", ALL3, FRACT),
]
CONTRASTS = ("without", "with", "without_and_with")
SUPPORT_PARAMS = [
    pytest.param(cid, cpt_for(region, contrast), overlay,
                 id=f"{cid} {region} {contrast} -> meets")
    for cid, regs, overlay in SUPPORT
    for region in regs
    for contrast in CONTRASTS
]


@pytest.mark.parametrize(("cid", "cpt", "overlay"), SUPPORT_PARAMS)
def test_contrast_support(status_of, outcome, quiet, cid, cpt, overlay):
    case = {**quiet, **overlay, "cpt_code": cpt}
    assert status_of(POLICY, cid, case) == MET
    assert outcome(POLICY, case) == "meets"
