"""Seeded, vectorized synthetic spine-MRI preauthorization requests.

Calibrated to Kebaish KJ et al., "Is There Utility to Requiring Spine MRI
Pre-authorizations?", Clin Spine Surg 2023;36(5):186–189 (see data/README.md): the share of
requests needing preauthorization, its adjusted odds by region and carrier, peer-to-peer,
initial denial and eventual completion rates. Clinical attributes are drawn so that the
criteria verdict under each carrier's modelled policy relates plausibly to the payer's
decision, with a visible share of "denied although criteria met".

Everything here is synthetic: no real patient, request or carrier. Assumptions that the
paper does not report (region and carrier mix, attribute prevalences, documentation gaps,
denied vs cancelled split) are named in :data:`ASSUMPTIONS` and in the data card.

Every field a bundled criterion reads is drawn (tests/test_bundled_data.py derives the list
from the compiled criteria). The fields added for the issue-10 criteria are drawn from the
fields they refine, on a stream of their own (:data:`ADDED_STREAM`).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
import pyarrow as pa

from preauth.catalog.fields import CPT_CODES
from preauth.catalog.schema import arrow_schema

__all__ = ["ASSUMPTIONS", "CARRIERS", "TARGETS", "Assumptions", "Carrier", "Targets",
           "synthesize"]


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


class _AddedRates(TypedDict):
    """:data:`_ADDED`: one rate, or one per case of the rule (in the order commented)."""

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
_ADDED: _AddedRates = {
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
_EMPTY_RATE: dict[str, tuple[float, str]] = {
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
_EMPTY_WITH = {"motor_or_reflex_deficit": "neuro_deficit",
               "major_motor_weakness": "neuro_deficit",
               "conservative_therapy_weeks_last_6_months": "conservative_therapy_weeks"}
GAP = 0.08  # base documentation gap rate


def _pc(x: float) -> str:
    return f"{100 * x:g}%"


def _added_assumptions() -> dict[str, str]:
    """Plain-language draw rule of each field drawn for the issue-10 criteria, and where it
    is left empty."""
    rules = _added_rules(_ADDED)
    for name, (times, like) in _EMPTY_RATE.items():
        rules[name] += f"; empty {_pc(round(GAP * times, 4))}" + (f", as {like}" if like else "")
    return rules | {name: f"{rules[name]}; empty with {like}"
                    for name, like in _EMPTY_WITH.items()}


def _added_rules(a: _AddedRates) -> dict[str, str]:
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


def _solve_intercept(linear: np.ndarray, target: float) -> float:
    """Intercept b0 so that mean(sigmoid(b0 + linear)) == target (bisection)."""
    lo, hi = -20.0, 20.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if np.mean(1 / (1 + np.exp(-(mid + linear)))) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


class _Draws:
    """The columns drawn so far: the true values, and where each column is left empty
    (not documented). A later field is drawn from the true values of earlier ones."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.rng, self.n = rng, n
        self.cols: dict[str, pa.Array] = {}
        self.true: dict[str, np.ndarray] = {}
        self.empty: dict[str, np.ndarray] = {}

    def stream(self, rng: np.random.Generator) -> _Draws:
        """The same columns, drawn on from another random stream."""
        other = copy.copy(self)
        other.rng = rng
        return other

    def put(self, name: str, values: np.ndarray, gap: float | None = None, *,
            empty: np.ndarray | None = None) -> np.ndarray:
        """Column ``name``: ``values``, empty exactly where ``empty``, or in a random share
        ``gap`` of the rows (by default the field's rate: :data:`_EMPTY_WITH`,
        :data:`_EMPTY_RATE`, else the base rate). Returns the true values."""
        if empty is None and name in _EMPTY_WITH:
            empty = self.empty[_EMPTY_WITH[name]]
        if empty is None:
            rate = GAP * _EMPTY_RATE.get(name, (1, ""))[0] if gap is None else gap
            empty = self.rng.random(self.n) < rate
        self.true[name], self.empty[name] = values, empty
        self.cols[name] = pa.array(values, mask=empty)
        return values

    def flag(self, name: str, p: float | np.ndarray, gap: float | None = None, *,
             empty: np.ndarray | None = None) -> np.ndarray:
        """A yes/no column, yes with probability ``p`` (a rate or one per row)."""
        return self.put(name, self.rng.random(self.n) < p, gap, empty=empty)


ADDED_STREAM = 1  # issue-10 fields: stream (seed, 1), so earlier columns stayed as they were


def synthesize(rows: int, seed: int = 7, outcomes: bool = True,
               engine: object | None = None) -> pa.Table:
    """``rows`` synthetic requests as an Arrow table with the catalog schema.

    ``outcomes`` adds the payer outcome columns (needs an engine to compute each carrier's
    policy verdict; one is built from the bundled criteria when not given).
    """
    n = int(rows)
    rng = np.random.default_rng(seed)
    d = _Draws(rng, n)
    added = d.stream(np.random.default_rng((seed, ADDED_STREAM)))
    # Each generator is drawn in a fixed order: the bundled file depends on the order of draws.
    cidx, ridx = _draw_request(rng, n, seed, d.cols)
    _draw_history(d)
    _draw_findings(d, ridx)
    _draw_course(d, added, ridx)
    _draw_added_exam(added, ridx)
    _draw_added_history(added, ridx)

    cols = d.cols
    table = pa.table({f.name: cols[f.name].cast(f.type) if f.name in cols
                      else pa.nulls(n, f.type) for f in arrow_schema()}, schema=arrow_schema())
    if outcomes:
        table = _add_outcomes(table, rng, cidx, ridx, engine)
    return table


_REGIONS = np.array(["cervical", "thoracic", "lumbar"])


def _draw_request(rng: np.random.Generator, n: int, seed: int,
                  cols: dict[str, pa.Array]) -> tuple[np.ndarray, np.ndarray]:
    """Id, date, carrier and requested MRI; returns the carrier and region indices."""
    cols["case_id"] = pa.array([f"SYN-{seed}-{i:08d}" for i in range(n)], pa.string())
    start = dt.date(2013, 1, 1).toordinal()
    days = rng.integers(0, dt.date(2019, 12, 31).toordinal() - start + 1, n)
    cols["request_date"] = pa.array((days + start - dt.date(1970, 1, 1).toordinal())
                                    .astype("int32"), pa.int32()).cast(pa.date32())
    carriers = CARRIERS
    cidx = rng.choice(len(carriers), n, p=[c.share for c in carriers])
    cols["carrier"] = pa.DictionaryArray.from_arrays(
        pa.array(cidx.astype(np.int8)), pa.array([c.name for c in carriers])).cast(pa.string())

    regions = _REGIONS
    rmix = ASSUMPTIONS["region_mix"]
    ridx = rng.choice(3, n, p=[rmix[r] for r in regions])
    contrasts = np.array(["without", "with", "without_and_with"])
    cmix = ASSUMPTIONS["contrast_mix"]
    kidx = rng.choice(3, n, p=[cmix[c] for c in contrasts])
    code_of = {pair: code for code, pair in CPT_CODES.items()}
    codes = np.array([[code_of[(r, c)] for c in contrasts] for r in regions])
    cols["cpt_code"] = pa.array(codes[ridx, kidx])
    cols["region"] = pa.array(regions[ridx])
    cols["contrast"] = pa.array(contrasts[kidx])
    return cidx, ridx


def _draw_history(d: _Draws) -> None:
    """Age, sex, symptom duration and weeks of conservative care."""
    rng, n = d.rng, d.n
    d.put("age", np.clip(np.round(rng.normal(54, 15, n)), 18, 95).astype(np.int32), GAP / 4)
    d.put("sex", rng.choice(np.array(["F", "M"]), n), GAP / 2)
    weeks = d.put("symptom_weeks", np.round(rng.lognormal(math.log(9), 0.8, n), 1))
    cons = np.where(rng.random(n) < 0.6, np.minimum(weeks, rng.uniform(6, 16, n)),
                    np.minimum(weeks, rng.uniform(0, 6, n)))
    d.put("conservative_therapy_weeks", np.round(np.where(rng.random(n) < 0.12, 0.0, cons), 1))


def _draw_findings(d: _Draws, ridx: np.ndarray) -> None:
    """Treatment, neurologic findings and red flags."""
    rng, n = d.rng, d.n
    cons, old = d.true["conservative_therapy_weeks"], d.true["age"] > 65
    d.flag("physical_therapy", np.where(cons >= 6, 0.7, 0.3))
    d.flag("medication_trial", np.where(cons > 0, 0.85, 0.3))
    d.flag("radiculopathy", np.where(ridx == 1, 0.2, 0.55))
    neuro = d.flag("neuro_deficit", 0.3, GAP * 1.5)
    d.flag("progressive_neuro_deficit", np.where(neuro, 0.12, 0.01))
    d.flag("myelopathy_signs", np.where(ridx == 0, 0.10, np.where(ridx == 1, 0.06, 0.0)))
    d.flag("cauda_equina_signs", np.where(ridx == 2, 0.015, 0.0))
    cancer = d.flag("cancer_history", 0.06, GAP / 2)
    d.flag("suspected_malignancy", np.where(cancer, 0.25, 0.015))
    signs = d.flag("infection_signs", 0.015)  # fever, raised ESR/CRP (not risk factors)
    d.flag("immunosuppressed", np.where(signs, *_ADDED["immunosuppressed"]))
    d.put("trauma", rng.choice(np.array(["none", "low_velocity", "high_velocity"]), n,
                               p=[0.92, 0.06, 0.02]), GAP / 2)
    d.flag("osteoporosis", np.where(old, 0.18, 0.03))
    d.flag("chronic_steroid_use", 0.03)
    d.flag("unexplained_weight_loss", np.where(cancer, 0.15, 0.02))
    d.flag("night_pain", 0.08)


def _draw_course(d: _Draws, added: _Draws, ridx: np.ndarray) -> None:
    """Prior surgery, symptoms, intervention, radiographs, pain and motor findings, prior
    MRI. ``added`` draws the kind of each neurologic deficit."""
    rng, n = d.rng, d.n
    cons, lumbar = d.true["conservative_therapy_weeks"], ridx == 2
    prior = rng.random(n) < 0.12
    prior_region = np.where(prior, np.where(rng.random(n) < 0.75, _REGIONS[ridx],
                                            _REGIONS[rng.integers(0, 3, n)]), "none")
    d.put("prior_spine_surgery_region", prior_region, GAP / 2)
    d.flag("new_or_progressive_symptoms", np.where(prior, 0.6, 0.25))
    surgical = d.flag("surgical_candidate", np.where(cons >= 6, 0.55, 0.15))
    d.put("epidural_injection_planned", surgical & (rng.random(n) < 0.5), GAP * 2)
    d.flag("functional_impairment", 0.5)
    films = d.flag("prior_radiographs", 0.6)
    d.flag("radiographs_inconclusive", np.where(films, _ADDED["radiographs_inconclusive"], 0.0))
    d.put("pain_score", np.clip(np.round(rng.normal(6.5, 2, n)), 0, 10).astype(np.int32),
          GAP * 2)
    d.flag("degenerative_spine_disease", np.where(d.true["age"] > 65, 0.5, 0.25), GAP * 3)
    # the kind of each deficit: motor weakness, a reflex change only, or sensory only
    kind, neuro = added.rng.random(n), d.true["neuro_deficit"]
    motor = neuro & (kind < _ADDED["deficit_motor"])
    d.true["_motor_or_reflex"] = neuro & (
        kind < _ADDED["deficit_motor"] + _ADDED["deficit_reflex_only"])
    d.put("motor_strength_grade", np.where(motor, rng.integers(2, 5, n), 5).astype(np.int32))
    d.flag("foot_drop", np.where(motor & lumbar, _ADDED["foot_drop"], 0.0))
    d.flag("suspected_fracture", np.where(d.true["trauma"] != "none", 0.4, 0.02), GAP * 3)
    d.flag("hospitalized_for_pain", 0.01, GAP * 3)
    d.put("months_since_prior_mri", np.round(rng.uniform(1, 36, n), 1), 0.85)
    d.flag("neuro_exam_documented", ASSUMPTIONS["neuro_exam_documented_rate"], GAP * 2)


def _draw_added_exam(d: _Draws, ridx: np.ndarray) -> None:
    """Issue-10 fields of the examination and of conservative care."""
    a, t, n, lumbar = _ADDED, d.true, d.n, ridx == 2
    # the deficit's details are documented with it (_EMPTY_WITH)
    d.put("motor_or_reflex_deficit", t["_motor_or_reflex"])
    d.flag("major_motor_weakness", np.array([1.0, 1.0, *a["major_weakness_by_grade"], 0.0])
           [t["motor_strength_grade"]])
    emg = a["emg"]
    d.flag("abnormal_emg_ncs", np.where(t["radiculopathy"], np.where(
        t["neuro_deficit"], emg[0], emg[1]), emg[2]))
    myelopathy, work_up = t["myelopathy_signs"], a["myelopathy_work_up"]
    d.flag("myelopathy_initial_diagnosis",
           np.where(lumbar, 0.0, np.where(myelopathy, work_up[0], work_up[1])))
    ls, lc = a["stenosis_lumbar"], a["stenosis_cord"]
    d.flag("clinical_spinal_stenosis", np.where(
        lumbar, ls[0] + ls[1] * (t["age"] > 65) + ls[2] * t["degenerative_spine_disease"],
        np.where(myelopathy, lc[0], lc[1])))
    # conservative care: its active and inactive parts, the weeks of it in the last 26
    # weeks (the course placed uniformly within the episode), progression during it
    cons, weeks = t["conservative_therapy_weeks"], t["symptom_weeks"]
    care = cons > 0
    for name, part, p in (("active_conservative_therapy", "physical_therapy", a["other_active"]),
                          ("inactive_conservative_therapy", "medication_trial",
                           a["other_inactive"])):
        # documented wherever the PT / medication trial it includes is documented as done
        d.put(name, t[part] | (care & (d.rng.random(n) < p)),
              empty=(d.rng.random(n) < GAP) & ~(t[part] & ~d.empty[part]))
    start = d.rng.random(n) * (weeks - cons)  # weeks after onset
    recent = start + cons - np.maximum(start, weeks - 26)
    d.put("conservative_therapy_weeks_last_6_months",
          np.minimum(cons, np.round(np.clip(recent, 0, None), 1)))
    pr = a["progression"]
    d.flag("progression_during_conservative_care", np.where(care, np.where(
        t["progressive_neuro_deficit"], pr[0],
        np.where(t["new_or_progressive_symptoms"], pr[1], 0.0)), 0.0))


def _draw_added_history(d: _Draws, ridx: np.ndarray) -> None:
    """Issue-10 fields of the history: pain, infection risk factors, known spinal disease,
    cord injury, radiographs, overlapping imaging."""
    a, t = _ADDED, d.true
    sp = a["severe_pain"]
    pain = t["pain_score"]
    d.flag("severe_back_pain", np.where(t["hospitalized_for_pain"], 1.0, np.select(
        [pain >= 9, pain >= 7], sp[:2], sp[2])))
    signs, iv, rp = t["infection_signs"], a["ivdu"], a["recent_procedure"]
    drugs = d.flag("iv_drug_use", np.where(signs, iv[0], iv[1]))
    base = np.where(t["prior_spine_surgery_region"] != "none", rp[0], rp[1])
    procedure = d.flag("recent_spinal_procedure", np.where(signs, base * rp[2], base))
    ks = a["known_spinal"]
    risk = drugs | procedure | t["immunosuppressed"]
    d.flag("known_spinal_malignancy_or_infection", np.where(t["cancer_history"], ks[0], 0.0)
           + np.where(signs, ks[1], np.where(risk, ks[2], 0.0)))
    trauma, ci = t["trauma"], a["cord_injury"]
    findings = t["neuro_deficit"] | t["myelopathy_signs"] | t["cauda_equina_signs"]
    d.flag("suspected_cord_injury", np.where(
        (trauma != "none") & (ridx != 2), np.where(
            findings, np.where(trauma == "high_velocity", ci[0], ci[1]), ci[2]), 0.0))
    rd = a["radiograph_degenerative"]
    d.flag("radiograph_degenerative_findings", np.where(t["prior_radiographs"], np.where(
        t["degenerative_spine_disease"], rd[0], rd[1]), 0.0))
    overlap = ~d.empty["months_since_prior_mri"] & (t["months_since_prior_mri"] < 3)
    d.flag("prior_study_inconclusive", np.where(overlap, a["overlap"][0], 0.0))
    d.flag("overlap_justification_documented", np.where(overlap, a["overlap"][1], 0.0))


# NULL in an outcome column: what np.where makes of a None (a 0-d object array; numpy's type
# stubs do not take a bare None there)
_NULL = np.array(None, dtype=object)


def _add_outcomes(table: pa.Table, rng: np.random.Generator, cidx: np.ndarray,
                  ridx: np.ndarray, engine: object | None) -> pa.Table:
    from preauth.criteria.library import load_library
    from preauth.evaluate.engine import Engine

    n = table.num_rows
    eng = engine if engine is not None else Engine(load_library())
    assert isinstance(eng, Engine)
    t = TARGETS

    # 1. Preauthorization required: logistic in region + carrier with the published ORs.
    region_beta = np.array([0.0, math.log(t["or_thoracic_vs_cervical"]),
                            math.log(t["or_lumbar_vs_cervical"])])
    carrier_beta = np.array([math.log(c.odds_ratio) for c in CARRIERS])
    linear = region_beta[ridx] + carrier_beta[cidx]
    b0 = _solve_intercept(linear, t["preauth_required_rate"])
    required = rng.random(n) < 1 / (1 + np.exp(-(b0 + linear)))

    # 2. Initial decision among the preauthorized, driven by the carrier policy's verdict.
    policies = sorted({c.policy for c in CARRIERS})
    verdicts = eng.verdicts(table, policies)
    verdict = np.empty(n, dtype=object)
    for k, c in enumerate(CARRIERS):
        col = verdicts.column(f"verdict:{c.policy}").to_numpy(zero_copy_only=False)
        verdict[cidx == k] = col[cidx == k]
    weight = np.select([verdict == "meets_criteria", verdict == "insufficient_documentation"],
                       [0.0, math.log(4.0)], default=math.log(9.0)).astype(float)
    target_denied = t["denied_or_cancelled_rate_preauth"]
    d0 = _solve_intercept(weight[required], target_denied) if required.any() else 0.0
    denied = required & (rng.random(n) < 1 / (1 + np.exp(-(d0 + weight))))
    cancelled = denied & (rng.random(n) < ASSUMPTIONS["denied_vs_cancelled"]["cancelled"])
    decision = np.where(~required, _NULL, np.where(cancelled, "cancelled",
                                                   np.where(denied, "denied", "approved")))

    # 3. Peer-to-peer: among the initially denied, sized to 9.61% of the preauthorized.
    n_req, n_den = int(required.sum()), int(denied.sum())
    p2p_share = min(1.0, t["peer_to_peer_rate_preauth"] * n_req / max(n_den, 1))
    p2p = denied & (rng.random(n) < p2p_share)
    still_denied = p2p & (rng.random(n) < t["p2p_still_denied_rate"])
    # 4. Completion within 3 months of the initially denied: 77.33% in total, counting the
    #    peer-to-peer overturns; the rest come through resubmission / appeal.
    overturned = p2p & ~still_denied
    need = t["denied_completed_rate"] * n_den - overturned.sum()
    rest = denied & ~p2p
    resubmit_p = min(1.0, max(0.0, need / max(int(rest.sum()), 1)))
    resubmitted = rest & (rng.random(n) < resubmit_p)
    approved_final = (required & ~denied) | overturned | resubmitted
    final = np.where(~required, _NULL, np.where(approved_final, "approved", decision))
    completed = ~required | approved_final

    out = table
    for name, values in (("preauth_required", required), ("decision", decision),
                         ("peer_to_peer", np.where(required, p2p, _NULL)),
                         ("final_decision", final), ("completed", completed)):
        idx = out.schema.get_field_index(name)
        out = out.set_column(idx, out.schema.field(name),
                             pa.array(values, out.schema.field(name).type))
    return out
