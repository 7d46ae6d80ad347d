"""What the examples beside each criterion of criteria/acr.yaml cannot say.

The thresholds (under / at / over) and the TRUE / FALSE / NULL status of every factor with its
Kleene behaviour are the criteria's ``examples:`` in the YAML, run and checked for coverage by
tests/criteria/test_examples.py. Here: region applicability (each criterion is met, or not
applicable, for each region's request — ``n/a`` is not a status an example can state), the
contrast classes a criterion is rated for, the verdict each met criterion gives per contrast
class on an otherwise unremarkable case, and the ACR-wide rules on legacy ratings.
"""

from __future__ import annotations

import pytest

from preauth.catalog.fields import cpt_for
from preauth.criteria.library import LEGACY_RATING_BANDS, Category, load_library
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
    T_WW,
    c,
    regions,
)

POLICY = "acr"

ALL_REGIONS = {C_WO: MET, T_WO: MET, L_WO: MET}
LUMBAR_ONLY = {L_WO: MET, L_WW: MET, T_WO: NA, C_WO: NA}
THORACIC_ONLY = {T_WO: MET, C_WO: NA, L_WO: NA}
CERVICAL_ONLY = {C_WO: MET, T_WO: NA, L_WO: NA}
LUMBAR_THORACIC = {L_WO: MET, T_WO: MET, C_WO: NA}
CORD = {C_WO: MET, T_WO: MET, L_WO: NA}

# Every red flag of the no-red-flag variants documented absent.
CLEAR = {"cauda_equina_signs": False, "cancer_history": False, "unexplained_weight_loss": False,
         "infection_signs": False, "immunosuppressed": False, "progressive_neuro_deficit": False,
         "osteoporosis": False, "chronic_steroid_use": False, "trauma": "none", "age": 45}
THORACIC_CLEAR = {**CLEAR, "radiculopathy": False, "myelopathy_signs": False,
                  "prior_spine_surgery_region": "none"}
NECK_CLEAR = {**CLEAR, "radiculopathy": False, "myelopathy_signs": False}
POST_OP = {"new_or_progressive_symptoms": True}
DEGENERATIVE = {"prior_radiographs": True, "radiograph_degenerative_findings": True,
                "new_or_progressive_symptoms": False}

# (criterion, parameter) — region / contrast applicability
APPLICABILITY = [
    *[("acr-lbp-v1", p) for p in regions(LUMBAR_ONLY, {**CLEAR, "symptom_weeks": 2})],
    ("acr-lbp-v1", c("lumbar with contrast (rated)", MET, CLEAR, symptom_weeks=2, cpt=L_W)),
    *[("acr-lbp-v2", p) for p in regions(LUMBAR_ONLY, {**CLEAR, "symptom_weeks": 10,
                                                       "conservative_therapy_weeks": 0})],
    *[("acr-lbp-v3", p) for p in regions(
        LUMBAR_ONLY, {"conservative_therapy_weeks": 8, "surgical_candidate": True})],
    ("acr-lbp-v3", c("lumbar with contrast (rated)", MET, conservative_therapy_weeks=8,
                     surgical_candidate=True, cpt=L_W)),
    *[("acr-lbp-v4", p) for p in regions(LUMBAR_ONLY, {"cauda_equina_signs": True})],
    *[("acr-lbp-v5", p) for p in regions(
        LUMBAR_ONLY, {"prior_spine_surgery_region": "lumbar", **POST_OP})],
    *[("acr-lbp-v6", p) for p in regions(LUMBAR_THORACIC, {"osteoporosis": True})],
    ("acr-lbp-v6", c("thoracic without and with (by analogy)", MET, osteoporosis=True,
                     cpt=T_WW)),
    *[("acr-lbp-v7", p) for p in regions(LUMBAR_THORACIC, {"cancer_history": True})],
    ("acr-lbp-v7", c("thoracic with contrast (rated)", MET, cancer_history=True, cpt=T_W)),
    *[("acr-red-flag-progressive-deficit", p) for p in regions(
        ALL_REGIONS, {"progressive_neuro_deficit": True})],
    # rates MRI without contrast only: no source gives a contrast category
    *[("acr-red-flag-progressive-deficit", c(f"{cpt} (not rated)", NA,
                                             progressive_neuro_deficit=True, cpt=cpt))
      for cpt in (L_W, L_WW, T_WW, C_WW)],
    *[("acr-thoracic-v1", p) for p in regions(THORACIC_ONLY,
                                              {**THORACIC_CLEAR, "symptom_weeks": 2})],
    *[("acr-thoracic-v2", p) for p in regions(THORACIC_ONLY,
                                              {**THORACIC_CLEAR, "symptom_weeks": 10})],
    ("acr-thoracic-v2", c("thoracic without and with (rated)", MET, THORACIC_CLEAR,
                          symptom_weeks=10, cpt=T_WW)),
    *[("acr-thoracic-v3", p) for p in regions(THORACIC_ONLY, {"radiculopathy": True})],
    # the copy read cuts off before variant 3's contrast categories
    ("acr-thoracic-v3", c("thoracic without and with (not rated)", NA, radiculopathy=True,
                          cpt=T_WW)),
    ("acr-thoracic-v3", c("thoracic with contrast (not rated)", NA, radiculopathy=True,
                          cpt=T_W)),
    *[("acr-thoracic-prior-surgery", p) for p in regions(
        THORACIC_ONLY, {"prior_spine_surgery_region": "thoracic", **POST_OP})],
    *[("acr-neck-pain-no-red-flags", p) for p in regions(CERVICAL_ONLY, NECK_CLEAR)],
    # contrast-enhanced MRI is not named for the variant: not rated
    *[("acr-neck-pain-no-red-flags", c(f"{cpt} (not rated)", NA, NECK_CLEAR, cpt=cpt))
      for cpt in (C_W, C_WW)],
    *[("acr-neck-chronic-degenerative", p) for p in regions(CERVICAL_ONLY, DEGENERATIVE)],
    *[("acr-neck-chronic-degenerative", c(f"{cpt} (not rated)", NA, DEGENERATIVE, cpt=cpt))
      for cpt in (C_W, C_WW)],
    *[("acr-neck-radiculopathy", p) for p in regions(CERVICAL_ONLY, {"radiculopathy": True})],
    *[("acr-neck-radiculopathy", c(f"{cpt} (not rated)", NA, radiculopathy=True, cpt=cpt))
      for cpt in (C_W, C_WW)],
    *[("acr-neck-infection", p) for p in regions(CERVICAL_ONLY, {"infection_signs": True})],
    ("acr-neck-infection", c("cervical without and with", MET, infection_signs=True,
                             cpt=C_WW)),
    ("acr-neck-infection", c("cervical with contrast (not rated: ambiguous source)", NA,
                             infection_signs=True, cpt=C_W)),
    *[("acr-neck-known-malignancy", p) for p in regions(CERVICAL_ONLY,
                                                        {"cancer_history": True})],
    ("acr-neck-known-malignancy", c("cervical with contrast (rated)", MET,
                                    cancer_history=True, cpt=C_W)),
    *[("acr-neck-prior-surgery", p) for p in regions(
        CERVICAL_ONLY, {"prior_spine_surgery_region": "cervical", **POST_OP})],
    ("acr-neck-prior-surgery", c("cervical with contrast (rated)", MET,
                                 prior_spine_surgery_region="cervical", **POST_OP, cpt=C_W)),
    *[("acr-myelopathy", p) for p in regions(CORD, {"myelopathy_signs": True})],
    ("acr-myelopathy", c("thoracic without and with", MET, myelopathy_signs=True, cpt=T_WW)),
    *[("acr-trauma-neuro-deficit", p) for p in regions(
        ALL_REGIONS, {"trauma": "high_velocity", "neuro_deficit": True})],
    *[("acr-trauma-neuro-deficit", c(f"{cpt} (not rated)", NA, trauma="high_velocity",
                                     neuro_deficit=True, cpt=cpt)) for cpt in (L_W, L_WW)],
]
APPLICABILITY_PARAMS = [
    pytest.param(cid, *p.values, id=f"{cid} {p.id}", marks=p.marks) for cid, p in APPLICABILITY
]


@pytest.mark.parametrize(("cid", "cpt", "case", "expected"), APPLICABILITY_PARAMS)
def test_region_and_contrast_applicability(status_of, cid, cpt, case, expected):
    assert status_of(POLICY, cid, {"cpt_code": cpt, **case}) == expected


def test_every_criterion_has_an_applicability_test(library):
    tested = {cid for cid, _ in APPLICABILITY}
    assert tested == {c.id for c in library[POLICY].criteria}


# --- contrast classes at the verdict level -------------------------------------------------
# (criterion, regions, fields that make it true on the quiet case, verdict for
#  without / with / without_and_with). 'meets' = meets criteria, 'review' = meets criteria but
# only "may be appropriate" supports it (flagged for review). The quiet case is an unremarkable
# fully documented case: for a cervical request it already meets the no-red-flag neck-pain
# variant (MRI without contrast may be appropriate), so cervical overlays that keep that
# variant met are reviewed at least.
DNM, MEETS, REVIEW = "does_not_meet", "meets", "review"
SUPPORT = [
    ("acr-lbp-v1", ("lumbar",), {"symptom_weeks": 2}, (DNM, DNM, DNM)),
    ("acr-lbp-v2", ("lumbar",), {"symptom_weeks": 12}, (DNM, DNM, DNM)),
    ("acr-lbp-v3", ("lumbar",), {"conservative_therapy_weeks": 8, "surgical_candidate": True},
     (MEETS, DNM, REVIEW)),
    ("acr-lbp-v4", ("lumbar",), {"cauda_equina_signs": True}, (MEETS, DNM, MEETS)),
    ("acr-lbp-v5", ("lumbar",), {"prior_spine_surgery_region": "lumbar", **POST_OP},
     (MEETS, DNM, MEETS)),
    ("acr-lbp-v6", ("lumbar", "thoracic"), {"osteoporosis": True}, (MEETS, DNM, REVIEW)),
    ("acr-lbp-v6", ("lumbar", "thoracic"), {"age": 75}, (MEETS, DNM, REVIEW)),
    ("acr-lbp-v7", ("lumbar", "thoracic"), {"cancer_history": True}, (MEETS, DNM, MEETS)),
    ("acr-lbp-v7", ("lumbar", "thoracic"), {"immunosuppressed": True}, (MEETS, DNM, MEETS)),
    ("acr-lbp-v7", ("lumbar", "thoracic"), {"unexplained_weight_loss": True, "age": 60},
     (MEETS, DNM, MEETS)),
    ("acr-red-flag-progressive-deficit", ("lumbar", "thoracic"),
     {"progressive_neuro_deficit": True}, (MEETS, DNM, DNM)),
    ("acr-thoracic-v1", ("thoracic",), {"symptom_weeks": 2}, (DNM, DNM, DNM)),
    # failed management in a surgery candidate: thoracic MRI still usually not appropriate
    ("acr-thoracic-v2", ("thoracic",), {"symptom_weeks": 12, "conservative_therapy_weeks": 8,
                                        "surgical_candidate": True}, (DNM, DNM, DNM)),
    ("acr-thoracic-v3", ("thoracic",), {"radiculopathy": True}, (MEETS, DNM, DNM)),
    ("acr-thoracic-prior-surgery", ("thoracic",),
     {"prior_spine_surgery_region": "thoracic", **POST_OP}, (MEETS, DNM, MEETS)),
    ("acr-neck-pain-no-red-flags", ("cervical",), {"symptom_weeks": 12}, (REVIEW, DNM, DNM)),
    ("acr-neck-chronic-degenerative", ("cervical",), DEGENERATIVE, (MEETS, DNM, DNM)),
    ("acr-neck-radiculopathy", ("cervical",), {"radiculopathy": True}, (MEETS, DNM, DNM)),
    ("acr-neck-infection", ("cervical",), {"infection_signs": True}, (REVIEW, DNM, MEETS)),
    ("acr-neck-known-malignancy", ("cervical",), {"cancer_history": True},
     (MEETS, REVIEW, MEETS)),
    ("acr-neck-prior-surgery", ("cervical",),
     {"prior_spine_surgery_region": "cervical", **POST_OP}, (REVIEW, DNM, REVIEW)),
    ("acr-myelopathy", ("cervical", "thoracic"), {"myelopathy_signs": True},
     (MEETS, DNM, MEETS)),
    ("acr-trauma-neuro-deficit", ("lumbar", "thoracic", "cervical"),
     {"trauma": "high_velocity", "neuro_deficit": True}, (MEETS, DNM, DNM)),
]
CONTRASTS = ("without", "with", "without_and_with")
RATED = {(c.id, contrast) for c in load_library()[POLICY].criteria
         for contrast in c.appropriateness}
SUPPORT_PARAMS = [
    pytest.param(cid, cpt_for(region, contrast), overlay,
                 MET if (cid, contrast) in RATED else NA, want,
                 id=f"{cid} {'+'.join(overlay)} {region} {contrast} -> {want}")
    for cid, regs, overlay, wants in SUPPORT
    for region in regs
    for contrast, want in zip(CONTRASTS, wants, strict=True)
]


@pytest.mark.parametrize(("cid", "cpt", "overlay", "own", "expected"), SUPPORT_PARAMS)
def test_contrast_support(status_of, outcome, quiet, cid, cpt, overlay, own, expected):
    """The criterion is met where it rates the contrast class (not applicable elsewhere), and
    the verdict for the whole case is the expected one."""
    case = {**quiet, **overlay, "cpt_code": cpt}
    assert status_of(POLICY, cid, case) == own
    assert outcome(POLICY, case) == expected


# --- ratings shown honestly ------------------------------------------------------------------
def test_legacy_ratings_sit_in_their_category_band_and_say_legacy(library):
    """Item 4: a 1–9 number is shown only where it lies in its category's band, and it says it
    is the legacy scale."""
    for crit in library[POLICY].criteria:
        for name, rating in (*crit.appropriateness.items(), *crit.other_procedures.items()):
            if rating.rating is None:
                continue
            lo, hi = LEGACY_RATING_BANDS[rating.category]
            assert lo <= rating.rating <= hi, (crit.id, name, rating)
            assert "legacy" in rating.rating_note, (crit.id, name, rating)


def test_every_criterion_cites_an_edition_and_variant(library):
    """Every ACR criterion names the topic and edition (a year) it models, and a variant or
    says why there is none."""
    for crit in library[POLICY].criteria:
        assert "ACR AC" in crit.source, crit.id
        assert any(str(y) in crit.source for y in range(2007, 2027)), crit.id
        assert "Variant" in crit.source or "variant" in crit.source, crit.id


def test_contrast_alone_is_rated_usually_not_appropriate_except_known_cervical_malignancy(
        library):
    """MRI with IV contrast alone is usually not appropriate in these topics. The one
    exception the sources state: known malignancy, cervical 2018 edition (its patient summary
    lists "MRI with contrast" among the may-be-appropriate studies)."""
    for crit in library[POLICY].criteria:
        rating = crit.appropriateness.get("with")
        if rating is None:
            continue
        if crit.id == "acr-neck-known-malignancy":
            assert rating.category is Category.MAY_BE_APPROPRIATE
        else:
            assert rating.category is Category.USUALLY_NOT_APPROPRIATE, crit.id
