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
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from preauth.catalog.fields import CPT_CODES
from preauth.catalog.schema import arrow_schema

__all__ = ["ASSUMPTIONS", "CARRIERS", "TARGETS", "Carrier", "synthesize"]

# Calibration targets from Kebaish et al. 2023 (Clin Spine Surg 36(5):186–189).
TARGETS = {
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

ASSUMPTIONS = {
    "region_mix": {"cervical": 0.36, "thoracic": 0.10, "lumbar": 0.54},
    "contrast_mix": {"without": 0.80, "with": 0.03, "without_and_with": 0.17},
    "carrier_mix": {c.name: c.share for c in CARRIERS},
    "documentation_gap_rate": 0.08,
    "denied_vs_cancelled": {"denied": 0.7, "cancelled": 0.3},
    "denial_odds_by_verdict": "meets 1×, insufficient 4×, does not meet 9× (before calibration)",
    "request_dates": "uniform over 2013-01-01 .. 2019-12-31",
    "carrier_odds_ratios": "reference 1.00; others 1.54, 2.60, 4.80, 10.17 (the paper gives "
                           "only the range 1.54–10.17 for four of five carriers)",
    "carrier_policies": {c.name: c.policy for c in CARRIERS},
    "neuro_exam_documented_rate": 0.85,
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


def _with_gaps(rng: np.random.Generator, values: np.ndarray, rate: float) -> pa.Array:
    mask = rng.random(len(values)) < rate
    return pa.array(values, mask=mask)


def synthesize(rows: int, seed: int = 7, outcomes: bool = True,
               engine: object | None = None) -> pa.Table:
    """``rows`` synthetic requests as an Arrow table with the catalog schema.

    ``outcomes`` adds the payer outcome columns (needs an engine to compute each carrier's
    policy verdict; one is built from the bundled criteria when not given).
    """
    n = int(rows)
    rng = np.random.default_rng(seed)
    cols: dict[str, pa.Array] = {}
    # One generator drawn in a fixed order: the bundled file depends on the order of draws.
    cidx, ridx = _draw_request(rng, n, seed, cols)
    age, cons = _draw_history(rng, n, cols)
    _draw_findings(rng, n, cols, ridx=ridx, age=age, cons=cons)

    table = pa.table({f.name: cols.get(f.name, pa.nulls(n, f.type)).cast(f.type)
                      if f.name in cols else pa.nulls(n, f.type) for f in arrow_schema()},
                     schema=arrow_schema())
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


def _draw_history(rng: np.random.Generator, n: int,
                  cols: dict[str, pa.Array]) -> tuple[np.ndarray, np.ndarray]:
    """Age, sex, symptom duration and weeks of conservative care (returns age and weeks)."""
    gap = ASSUMPTIONS["documentation_gap_rate"]
    age = np.clip(np.round(rng.normal(54, 15, n)), 18, 95).astype(np.int32)
    cols["age"] = _with_gaps(rng, age, gap / 4)
    cols["sex"] = _with_gaps(rng, rng.choice(np.array(["F", "M"]), n), gap / 2)
    symptom_weeks = np.round(rng.lognormal(math.log(9), 0.8, n), 1)
    cols["symptom_weeks"] = _with_gaps(rng, symptom_weeks, gap)
    cons = np.where(rng.random(n) < 0.6, np.minimum(symptom_weeks, rng.uniform(6, 16, n)),
                    np.minimum(symptom_weeks, rng.uniform(0, 6, n)))
    cons = np.round(np.where(rng.random(n) < 0.12, 0.0, cons), 1)
    cols["conservative_therapy_weeks"] = _with_gaps(rng, cons, gap)
    return age, cons


def _draw_findings(rng: np.random.Generator, n: int, cols: dict[str, pa.Array], *,
                   ridx: np.ndarray, age: np.ndarray, cons: np.ndarray) -> None:
    """Treatment, neurologic findings, red flags and the fields the payer models added."""
    gap = ASSUMPTIONS["documentation_gap_rate"]
    regions = _REGIONS

    def flag(p: float | np.ndarray, gap_rate: float = gap) -> pa.Array:
        return _with_gaps(rng, rng.random(n) < p, gap_rate)

    lumbar = ridx == 2
    cervical = ridx == 0
    old = age > 65
    cols["physical_therapy"] = flag(np.where(cons >= 6, 0.7, 0.3))
    cols["medication_trial"] = flag(np.where(cons > 0, 0.85, 0.3))
    cols["radiculopathy"] = flag(np.where(ridx == 1, 0.2, 0.55))
    neuro = rng.random(n) < 0.3
    cols["neuro_deficit"] = _with_gaps(rng, neuro, gap * 1.5)
    cols["progressive_neuro_deficit"] = flag(np.where(neuro, 0.12, 0.01))
    cols["myelopathy_signs"] = flag(np.where(cervical, 0.10, np.where(ridx == 1, 0.06, 0.0)))
    cols["cauda_equina_signs"] = flag(np.where(lumbar, 0.015, 0.0))
    cancer = rng.random(n) < 0.06
    cols["cancer_history"] = _with_gaps(rng, cancer, gap / 2)
    cols["suspected_malignancy"] = flag(np.where(cancer, 0.25, 0.015))
    cols["infection_signs"] = flag(0.015)
    cols["immunosuppressed"] = flag(0.04)
    trauma = rng.choice(np.array(["none", "low_velocity", "high_velocity"]), n,
                        p=[0.92, 0.06, 0.02])
    cols["trauma"] = _with_gaps(rng, trauma, gap / 2)
    cols["osteoporosis"] = flag(np.where(old, 0.18, 0.03))
    cols["chronic_steroid_use"] = flag(0.03)
    cols["unexplained_weight_loss"] = flag(np.where(cancer, 0.15, 0.02))
    cols["night_pain"] = flag(0.08)
    prior = rng.random(n) < 0.12
    prior_region = np.where(prior, np.where(rng.random(n) < 0.75, regions[ridx],
                                            regions[rng.integers(0, 3, n)]), "none")
    cols["prior_spine_surgery_region"] = _with_gaps(rng, prior_region, gap / 2)
    cols["new_or_progressive_symptoms"] = flag(np.where(prior, 0.6, 0.25))
    surgical = rng.random(n) < np.where(cons >= 6, 0.55, 0.15)
    cols["surgical_candidate"] = _with_gaps(rng, surgical, gap)
    cols["epidural_injection_planned"] = _with_gaps(
        rng, surgical & (rng.random(n) < 0.5), gap * 2)
    cols["functional_impairment"] = flag(0.5)
    cols["prior_radiographs"] = flag(0.6)
    cols["radiographs_inconclusive"] = flag(0.2, gap * 3)
    cols["pain_score"] = _with_gaps(rng, np.clip(np.round(rng.normal(6.5, 2, n)), 0, 10)
                                    .astype(np.int32), gap * 2)
    cols["degenerative_spine_disease"] = flag(np.where(old, 0.5, 0.25), gap * 3)
    cols["motor_strength_grade"] = _with_gaps(
        rng, np.where(neuro, rng.integers(2, 5, n), 5).astype(np.int32), gap * 3)
    cols["foot_drop"] = flag(np.where(neuro & lumbar, 0.08, 0.0), gap * 3)
    cols["suspected_fracture"] = flag(np.where(trauma != "none", 0.4, 0.02), gap * 3)
    cols["hospitalized_for_pain"] = flag(0.01, gap * 3)
    cols["months_since_prior_mri"] = _with_gaps(
        rng, np.round(rng.uniform(1, 36, n), 1), 0.85)
    cols["neuro_exam_documented"] = flag(
        ASSUMPTIONS["neuro_exam_documented_rate"], gap * 2)


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
    decision = np.where(~required, None, np.where(cancelled, "cancelled",
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
    final = np.where(~required, None, np.where(approved_final, "approved", decision))
    completed = ~required | approved_final

    out = table
    for name, values in (("preauth_required", required), ("decision", decision),
                         ("peer_to_peer", np.where(required, p2p, None)),
                         ("final_decision", final), ("completed", completed)):
        idx = out.schema.get_field_index(name)
        out = out.set_column(idx, out.schema.field(name),
                             pa.array(values, out.schema.field(name).type))
    return out
