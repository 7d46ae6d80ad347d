"""Seeded, vectorized synthetic spine-MRI preauthorization requests.

Calibrated to Kebaish KJ et al., "Is There Utility to Requiring Spine MRI
Pre-authorizations?", Clin Spine Surg 2023;36(5):186–189 (see data/README.md): the share of
requests needing preauthorization, its adjusted odds by region and carrier, peer-to-peer,
initial denial and eventual completion rates. Clinical attributes are drawn so that the
criteria verdict under each carrier's modelled policy relates plausibly to the payer's
decision, with a visible share of "denied although criteria met".

Everything here is synthetic: no real patient, request or carrier. Assumptions that the
paper does not report (region and carrier mix, attribute prevalences, documentation gaps,
denied vs cancelled split) are named in :data:`preauth.synthetic.calibration.ASSUMPTIONS`
and in the data card.

Every field a bundled criterion reads is drawn (tests/test_bundled_data.py derives the list
from the compiled criteria). The fields added for the issue-10 criteria are drawn from the
fields they refine, on a stream of their own (:data:`ADDED_STREAM`).
"""

from __future__ import annotations

import copy
import datetime as dt
import math

import numpy as np
import pyarrow as pa

from preauth.catalog.fields import CPT_CODES
from preauth.catalog.schema import arrow_schema
from preauth.synthetic.calibration import (
    ADDED_RATES,
    ASSUMPTIONS,
    CARRIERS,
    EMPTY_RATES,
    EMPTY_WITH,
    GAP,
    TARGETS,
)

__all__ = ["ADDED_STREAM", "synthesize"]




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
        ``gap`` of the rows (by default the field's rate: :data:`EMPTY_WITH`,
        :data:`EMPTY_RATES`, else the base rate). Returns the true values."""
        if empty is None and name in EMPTY_WITH:
            empty = self.empty[EMPTY_WITH[name]]
        if empty is None:
            rate = GAP * EMPTY_RATES.get(name, (1, ""))[0] if gap is None else gap
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
    d.flag("immunosuppressed", np.where(signs, *ADDED_RATES["immunosuppressed"]))
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
    d.flag("radiographs_inconclusive",
           np.where(films, ADDED_RATES["radiographs_inconclusive"], 0.0))
    d.put("pain_score", np.clip(np.round(rng.normal(6.5, 2, n)), 0, 10).astype(np.int32),
          GAP * 2)
    d.flag("degenerative_spine_disease", np.where(d.true["age"] > 65, 0.5, 0.25), GAP * 3)
    # the kind of each deficit: motor weakness, a reflex change only, or sensory only
    kind, neuro = added.rng.random(n), d.true["neuro_deficit"]
    motor = neuro & (kind < ADDED_RATES["deficit_motor"])
    d.true["_motor_or_reflex"] = neuro & (
        kind < ADDED_RATES["deficit_motor"] + ADDED_RATES["deficit_reflex_only"])
    d.put("motor_strength_grade", np.where(motor, rng.integers(2, 5, n), 5).astype(np.int32))
    d.flag("foot_drop", np.where(motor & lumbar, ADDED_RATES["foot_drop"], 0.0))
    d.flag("suspected_fracture", np.where(d.true["trauma"] != "none", 0.4, 0.02), GAP * 3)
    d.flag("hospitalized_for_pain", 0.01, GAP * 3)
    d.put("months_since_prior_mri", np.round(rng.uniform(1, 36, n), 1), 0.85)
    d.flag("neuro_exam_documented", ASSUMPTIONS["neuro_exam_documented_rate"], GAP * 2)


def _draw_added_exam(d: _Draws, ridx: np.ndarray) -> None:
    """Issue-10 fields of the examination and of conservative care."""
    a, t, n, lumbar = ADDED_RATES, d.true, d.n, ridx == 2
    # the deficit's details are documented with it (EMPTY_WITH)
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
    a, t = ADDED_RATES, d.true
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
