"""Calibration of the synthetic data: the published targets it is calibrated to, the carriers,
and every assumption the sources do not give (prevalences, documentation gaps, the rates of
the fields added for the issue-10 criteria) — each named, so the data card can list it.

Targets: Kebaish KJ et al., Clin Spine Surg 2023;36(5):186–189 (see data/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

__all__ = ["ADDED_RATES", "ASSUMPTIONS", "CARRIERS", "EMPTY_RATES", "EMPTY_WITH", "GAP",
           "TARGETS", "AddedRates", "Assumptions", "Carrier", "Targets"]


class Targets(TypedDict):
    """The calibration targets (:data:`TARGETS`): rates are shares (0–1), odds ratios
    plain."""

    preauth_required_rate: float
    or_thoracic_vs_cervical: float
    or_lumbar_vs_cervical: float
    carrier_or_range: tuple[float, float]
    peer_to_peer_rate_preauth: float
    approved_rate_preauth: float
    denied_or_cancelled_rate_preauth: float
    p2p_still_denied_rate: float
    denied_completed_rate: float


# Calibration targets from Kebaish et al. 2023 (Clin Spine Surg 36(5):186–189).
TARGETS: Targets = {
    "preauth_required_rate": 2122 / 2480,  # 85.56%
    "or_thoracic_vs_cervical": 2.71,
    "or_lumbar_vs_cervical": 2.46,
    "carrier_or_range": (1.54, 10.17),  # four of five carriers vs the reference carrier
    "peer_to_peer_rate_preauth": 204 / 2122,  # 9.61% of preauthorized
    "approved_rate_preauth": 1747 / 2122,  # 82.33%
    "denied_or_cancelled_rate_preauth": 375 / 2122,  # 17.67%
    "p2p_still_denied_rate": 59 / 204,  # 28.92%
    "denied_completed_rate": 290 / 375,  # 77.33% of initially denied completed within 3 mo
}


@dataclass(frozen=True)
class Carrier:
    name: str
    share: float
    odds_ratio: float  # odds of requiring preauthorization vs the reference carrier
    policy: str  # the modelled policy whose verdict drives this carrier's decisions


# Generic carrier names. The reference (largest, lowest odds) carrier and four others whose
# odds ratios span the published 1.54–10.17 range.
CARRIERS: tuple[Carrier, ...] = (
    Carrier("Carrier A", 0.32, 1.00, "evicore_style"),
    Carrier("Carrier B", 0.22, 1.54, "aetna_style"),
    Carrier("Carrier C", 0.18, 2.60, "evicore_style"),
    Carrier("Carrier D", 0.16, 4.80, "bcbs_style"),
    Carrier("Carrier E", 0.12, 10.17, "aetna_style"),
)


class AddedRates(TypedDict):
    """:data:`ADDED_RATES`: one rate, or one per case of the rule (in the order commented)."""

    deficit_motor: float
    deficit_reflex_only: float
    major_weakness_by_grade: tuple[float, float, float]
    stenosis_lumbar: tuple[float, float, float]
    stenosis_cord: tuple[float, float]
    cord_injury: tuple[float, float, float]
    myelopathy_work_up: tuple[float, float]
    emg: tuple[float, float, float]
    other_active: float
    other_inactive: float
    progression: tuple[float, float]
    severe_pain: tuple[float, float, float]
    ivdu: tuple[float, float]
    recent_procedure: tuple[float, float, float]
    immunosuppressed: tuple[float, float]
    known_spinal: tuple[float, float, float]
    radiograph_degenerative: tuple[float, float]
    foot_drop: float
    radiographs_inconclusive: float
    overlap: tuple[float, float]


# Rates of the fields added for the issue-10 criteria. No source gives them: each is an
# assumption, described in ASSUMPTIONS["issue10_fields"] and the data card.
ADDED_RATES: AddedRates = {
    "deficit_motor": 0.70,  # objective deficits with motor weakness (MRC 2–4/5) …
    "deficit_reflex_only": 0.10,  # … with a reflex change only; the rest are sensory only
    "major_weakness_by_grade": (0.90, 0.60, 0.05),  # MRC 2, 3, 4 (5: no weakness)
    "stenosis_lumbar": (0.08, 0.12, 0.10),  # base, + age > 65, + degenerative disease
    "stenosis_cord": (0.40, 0.02),  # cervical/thoracic: with / without myelopathy signs
    "cord_injury": (0.60, 0.30, 0.03),  # high / low velocity with neuro findings; without
    "myelopathy_work_up": (0.20, 0.005),  # cervical/thoracic: with / without myelopathy signs
    "emg": (0.12, 0.04, 0.005),  # radiculopathy with / without a deficit; neither
    "other_active": 0.15,  # chiropractic / OMT when there was care but no PT or exercise
    "other_inactive": 0.70,  # rest, ice, heat, activity change, injections … without drugs
    "progression": (0.80, 0.40),  # during care: progressive deficit / new or worse symptoms
    "severe_pain": (0.50, 0.10, 0.01),  # pain 9–10, 7–8, lower (always when hospitalized)
    "ivdu": (0.10, 0.01),  # with / without signs of infection
    "recent_procedure": (0.20, 0.04, 3.0),  # after prior spine surgery / not; × with signs
    "immunosuppressed": (0.15, 0.04),  # with / without signs of infection
    "known_spinal": (0.12, 0.20, 0.01),  # cancer history; infection signs; risk factor only
    "radiograph_degenerative": (0.85, 0.10),  # radiographs with / without known degeneration
    "foot_drop": 0.12,  # of lumbar motor deficits
    "radiographs_inconclusive": 0.30,  # of the radiographs obtained
    "overlap": (0.30, 0.40),  # prior MRI < 3 months: inconclusive; justification documented
}
# Where they are left empty (not documented): as often as the existing field each is nearest
# to (a multiple of the base rate, and that field), or exactly where the field it details is.
EMPTY_RATES: dict[str, tuple[float, str]] = {
    "motor_strength_grade": (3, ""), "foot_drop": (3, ""), "infection_signs": (1, ""),
    "immunosuppressed": (1, ""), "radiographs_inconclusive": (3, ""),
    "clinical_spinal_stenosis": (3, "degenerative_spine_disease"),
    "suspected_cord_injury": (3, "suspected_fracture"),
    "abnormal_emg_ncs": (3, "radiographs_inconclusive"),
    "radiograph_degenerative_findings": (3, "radiographs_inconclusive"),
    **dict.fromkeys(("prior_study_inconclusive", "overlap_justification_documented"),
                    (3, "the other payer-added fields")),
    "severe_back_pain": (2, "pain_score"),
    "known_spinal_malignancy_or_infection": (0.5, "cancer_history"),
    "myelopathy_initial_diagnosis": (1, "myelopathy_signs"),
    "progression_during_conservative_care": (1, "new_or_progressive_symptoms"),
    "iv_drug_use": (1, "immunosuppressed"), "recent_spinal_procedure": (1, "immunosuppressed"),
}
EMPTY_WITH = {"motor_or_reflex_deficit": "neuro_deficit",
               "major_motor_weakness": "neuro_deficit",
               "conservative_therapy_weeks_last_6_months": "conservative_therapy_weeks"}
GAP = 0.08  # base documentation gap rate


def _pc(x: float) -> str:
    return f"{100 * x:g}%"


def _added_assumptions() -> dict[str, str]:
    """Plain-language draw rule of each field drawn for the issue-10 criteria, and where it
    is left empty."""
    rules = _added_rules(ADDED_RATES)
    for name, (times, like) in EMPTY_RATES.items():
        rules[name] += f"; empty {_pc(round(GAP * times, 4))}" + (f", as {like}" if like else "")
    return rules | {name: f"{rules[name]}; empty with {like}"
                    for name, like in EMPTY_WITH.items()}


def _added_rules(a: AddedRates) -> dict[str, str]:
    mg, ls, lc, ci = (a["major_weakness_by_grade"], a["stenosis_lumbar"], a["stenosis_cord"],
                      a["cord_injury"])
    mw, emg, pr, sp, iv, rp, ks, rd, ov = (
        a["myelopathy_work_up"], a["emg"], a["progression"], a["severe_pain"], a["ivdu"],
        a["recent_procedure"], a["known_spinal"], a["radiograph_degenerative"], a["overlap"])
    return {
        "motor_or_reflex_deficit": (
            f"objective deficits are motor weakness (MRC 2–4/5) in {_pc(a['deficit_motor'])}, "
            f"a reflex change only in {_pc(a['deficit_reflex_only'])}, sensory only otherwise "
            "(MRC 5/5); yes for the first two"),
        "major_motor_weakness": (
            f"by MRC grade: 2/5 {_pc(mg[0])}, 3/5 {_pc(mg[1])}, 4/5 {_pc(mg[2])}, none without "
            "weakness"),
        "motor_strength_grade": "2–4/5 (uniform) with motor weakness, 5/5 otherwise",
        "foot_drop": f"{_pc(a['foot_drop'])} of lumbar motor deficits; never without weakness",
        "clinical_spinal_stenosis": (
            f"lumbar {_pc(ls[0])}, + {_pc(ls[1])} over 65, + {_pc(ls[2])} with degenerative "
            f"disease; cervical / thoracic {_pc(lc[0])} with myelopathy signs, {_pc(lc[1])} "
            "without"),
        "suspected_cord_injury": (
            f"cervical / thoracic after trauma with neurologic findings: high velocity "
            f"{_pc(ci[0])}, low velocity {_pc(ci[1])}; trauma without them {_pc(ci[2])}; "
            "never without trauma or in lumbar requests"),
        "myelopathy_initial_diagnosis": (
            f"cervical / thoracic: {_pc(mw[0])} with myelopathy signs, {_pc(mw[1])} without; "
            "never lumbar"),
        "abnormal_emg_ncs": (
            f"radiculopathy with an objective deficit {_pc(emg[0])}, without {_pc(emg[1])}, "
            f"no radiculopathy {_pc(emg[2])}"),
        "active_conservative_therapy": (
            f"yes with PT / exercise; otherwise, with any conservative care, "
            f"{_pc(a['other_active'])} (chiropractic, OMT); empty {_pc(GAP)} where PT is "
            "not documented as done"),
        "inactive_conservative_therapy": (
            f"yes with a medication trial; otherwise, with any conservative care, "
            f"{_pc(a['other_inactive'])} (rest, ice, heat, activity change, injections); "
            f"empty {_pc(GAP)} where a medication trial is not documented as done"),
        "conservative_therapy_weeks_last_6_months": (
            "the course of care placed uniformly within the episode; the weeks of it in the 26 "
            "weeks before the request (all of it when the episode is ≤ 26 weeks)"),
        "progression_during_conservative_care": (
            f"only with conservative care: {_pc(pr[0])} with a progressive deficit, "
            f"{_pc(pr[1])} with new or progressive symptoms, never otherwise"),
        "severe_back_pain": (
            f"always when hospitalized for pain; pain 9–10/10 {_pc(sp[0])}, 7–8 {_pc(sp[1])}, "
            f"lower {_pc(sp[2])}"),
        "infection_signs": "1.5% (fever, raised ESR/CRP; risk factors drawn apart)",
        "iv_drug_use": f"{_pc(iv[0])} with signs of infection, {_pc(iv[1])} without",
        "recent_spinal_procedure": (
            f"{_pc(rp[0])} after prior spine surgery, {_pc(rp[1])} otherwise; × {rp[2]:g} "
            "with signs of infection"),
        "immunosuppressed": "{} with signs of infection, {} without".format(
            *map(_pc, a["immunosuppressed"])),
        "known_spinal_malignancy_or_infection": (
            f"{_pc(ks[0])} of cancer histories (spinal disease under follow-up), "
            f"+ {_pc(ks[1])} with signs of infection, {_pc(ks[2])} with an infection risk "
            "factor only"),
        "radiograph_degenerative_findings": (
            f"only with radiographs: {_pc(rd[0])} with known degenerative disease, "
            f"{_pc(rd[1])} without"),
        "radiographs_inconclusive": (
            f"{_pc(a['radiographs_inconclusive'])} of the radiographs obtained; never without"),
        "prior_study_inconclusive": f"{_pc(ov[0])} of requests with an MRI < 3 months ago, "
                                    "never otherwise",
        "overlap_justification_documented": f"{_pc(ov[1])} of requests with an MRI < 3 months "
                                            "ago, never otherwise",
    }


class Assumptions(TypedDict):
    """The assumptions the paper does not report (:data:`ASSUMPTIONS`): shares (0–1) by
    name, rates, and rules in words."""

    region_mix: dict[str, float]
    contrast_mix: dict[str, float]
    carrier_mix: dict[str, float]
    documentation_gap_rate: float
    denied_vs_cancelled: dict[str, float]
    denial_odds_by_verdict: str
    request_dates: str
    carrier_odds_ratios: str
    carrier_policies: dict[str, str]
    neuro_exam_documented_rate: float
    issue10_fields: dict[str, str]
    peer_to_peer: str
    completion: str
    pending: str


ASSUMPTIONS: Assumptions = {
    "region_mix": {"cervical": 0.36, "thoracic": 0.10, "lumbar": 0.54},
    "contrast_mix": {"without": 0.80, "with": 0.03, "without_and_with": 0.17},
    "carrier_mix": {c.name: c.share for c in CARRIERS},
    "documentation_gap_rate": GAP,
    "denied_vs_cancelled": {"denied": 0.7, "cancelled": 0.3},
    "denial_odds_by_verdict": "meets 1×, insufficient 4×, does not meet 9× (before calibration)",
    "request_dates": "uniform over 2013-01-01 .. 2019-12-31",
    "carrier_odds_ratios": "reference 1.00; others 1.54, 2.60, 4.80, 10.17 (the paper gives "
                           "only the range 1.54–10.17 for four of five carriers)",
    "carrier_policies": {c.name: c.policy for c in CARRIERS},
    "neuro_exam_documented_rate": 0.85,
    "issue10_fields": _added_assumptions(),
    "peer_to_peer": "only after an initial denial or cancellation",
    "completion": "requests not needing preauthorization and those approved (initially, after "
                  "peer-to-peer or on resubmission) are completed; the rest are not",
    "pending": "no request is left pending",
}


