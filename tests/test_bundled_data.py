"""The bundled dataset: reproducible from its command, calibrated as its data card says."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from preauth.catalog.fields import FIELDS_BY_NAME, RED_FLAG_FIELDS
from preauth.criteria.library import Library
from preauth.evaluate.engine import Engine
from preauth.synthetic import datacard
from preauth.synthetic.calibration import ASSUMPTIONS, TARGETS
from preauth.synthetic.generator import synthesize

REGENERATE = (f"regenerate it: `{datacard.COMMAND}` then "
              "`python -m preauth.synthetic.datacard --write` "
              "(needed after changing preauth/synthetic/generator.py, calibration.py or "
              "the criteria)")


@pytest.fixture(scope="module")
def measured() -> dict[str, Any]:
    return datacard.measure(datacard.BUNDLED)


def test_same_seed_same_table(engine: Engine) -> None:
    a = synthesize(500, seed=3, engine=engine)
    assert a.equals(synthesize(500, seed=3, engine=engine))
    assert not a.equals(synthesize(500, seed=4, engine=engine))


@pytest.fixture(scope="module")
def drawn() -> pa.Table:
    return synthesize(5000, seed=7, outcomes=False)


def _criteria_fields(library: Library) -> set[str]:
    """Every field an expression of a bundled criterion reads (from the compiled library)."""
    return {f for p in library.policies for c in p.criteria for f in c.expression.fields}


def test_generator_draws_every_field_a_criterion_reads(library: Library,
                                                       drawn: pa.Table) -> None:
    """Every field a bundled criterion reads, and every red flag, is drawn: some requests
    document it absent and some present (more than one value for a number or an enum
    without "none"). A field a new criterion reads needs a line in the generator."""
    names = _criteria_fields(library) | {f.name for f in RED_FLAG_FIELDS}
    assert len(names) > len(RED_FLAG_FIELDS)
    for name in sorted(names):
        values = set(drawn.column(name).to_pylist()) - {None}
        absent = FIELDS_BY_NAME[name].absent_value
        if absent is None:
            assert len(values) > 1, (name, values)
        else:
            assert absent in values and values - {absent}, (name, values)


def test_documentation_gaps_stay_at_the_generators_rates(library: Library,
                                                         drawn: pa.Table) -> None:
    """No field a criterion reads is left empty more often than the generator's highest
    gap rate (3 × the base rate, the payer-added fields); an empty months_since_prior_mri
    means there was no prior MRI."""
    most = 3 * ASSUMPTIONS["documentation_gap_rate"]
    for name in sorted(_criteria_fields(library) - {"months_since_prior_mri"}):
        share = drawn.column(name).null_count / drawn.num_rows
        assert share <= most + 0.02, (name, share)


def _documented(table: pa.Table, *names: str) -> list[tuple]:
    cols = [table.column(n).to_pylist() for n in names]
    return [row for row in zip(*cols, strict=True) if None not in row]


def test_added_fields_agree_with_the_fields_they_refine(drawn: pa.Table) -> None:
    """Where both are documented, a field drawn for the issue-10 criteria never contradicts
    the existing field it refines."""
    def never(names: str, bad: Any) -> None:
        rows = _documented(drawn, *names.split())
        assert rows and not any(bad(*r) for r in rows), names

    never("motor_or_reflex_deficit neuro_deficit", lambda m, n: m and not n)
    never("motor_strength_grade motor_or_reflex_deficit", lambda g, m: g < 5 and not m)
    never("major_motor_weakness neuro_deficit", lambda w, n: w and not n)
    never("major_motor_weakness motor_strength_grade", lambda w, g: w and g == 5)
    never("foot_drop motor_strength_grade", lambda f, g: f and g == 5)
    never("conservative_therapy_weeks_last_6_months conservative_therapy_weeks symptom_weeks",
          lambda r, c, w: not r <= c <= w or (w <= 26 and r != c))
    never("physical_therapy active_conservative_therapy", lambda pt, a: pt and not a)
    never("medication_trial inactive_conservative_therapy", lambda m, i: m and not i)
    never("active_conservative_therapy physical_therapy conservative_therapy_weeks",
          lambda a, pt, c: a and not pt and c == 0)
    never("inactive_conservative_therapy medication_trial conservative_therapy_weeks",
          lambda i, m, c: i and not m and c == 0)
    never("progression_during_conservative_care conservative_therapy_weeks "
          "new_or_progressive_symptoms progressive_neuro_deficit",
          lambda p, c, s, d: p and (c == 0 or not (s or d)))
    never("radiograph_degenerative_findings prior_radiographs", lambda f, r: f and not r)
    never("radiographs_inconclusive prior_radiographs", lambda i, r: i and not r)
    never("suspected_cord_injury trauma region",
          lambda s, t, r: s and (t == "none" or r == "lumbar"))
    never("myelopathy_initial_diagnosis region", lambda m, r: m and r == "lumbar")
    never("known_spinal_malignancy_or_infection cancer_history infection_signs iv_drug_use "
          "recent_spinal_procedure immunosuppressed", lambda k, *why: k and not any(why))
    never("hospitalized_for_pain severe_back_pain", lambda h, s: h and not s)
    for name in ("prior_study_inconclusive", "overlap_justification_documented"):
        never(f"{name} months_since_prior_mri", lambda v, m: v and m >= 3)
        assert not any(v for v, m in zip(drawn.column(name).to_pylist(),
                                         drawn.column("months_since_prior_mri").to_pylist(),
                                         strict=True) if m is None and v is not None), name


def test_bundled_file_is_what_the_command_produces(engine: Engine) -> None:
    bundled = pq.read_table(datacard.BUNDLED)
    metadata = pq.read_metadata(datacard.BUNDLED)
    assert metadata.row_group(0).column(0).compression == "ZSTD"
    assert bundled.equals(synthesize(50_000, seed=7, engine=engine)), \
        f"data/requests.parquet is not what the documented command produces; {REGENERATE}"


def test_data_card_table_is_current(measured: dict[str, Any]) -> None:
    assert datacard.current_block() == datacard.render_block(measured), \
        f"data/README.md's measured values are stale; {REGENERATE}"


def test_every_calibration_target_is_met(measured: dict[str, Any]) -> None:
    failed = [c for c in datacard.checks(measured) if not c.ok]
    assert not failed, failed


def test_verdict_mix_under_each_carriers_policy_is_plausible(measured: dict[str, Any]) -> None:
    """Under its carrier's own modelled policy every verdict occurs, and "insufficient
    documentation" is not the majority (it was while the generator left the fields the
    policies read empty); denial rises from met to insufficient to not met, and some
    requests meeting the criteria are still denied."""
    mix = measured["policy_mix"]
    assert set(mix["policy"]) == {"aetna_style", "bcbs_style", "evicore_style"}
    for policy, g in mix.groupby("policy"):
        v = g.set_index("verdict")
        assert v["share"].min() >= 0.05, (policy, v["share"].to_dict())
        assert v.at["insufficient_documentation", "share"] < 0.5, policy
        rate = v["denied_rate"]
        assert rate["meets_criteria"] < rate["insufficient_documentation"] \
            < rate["does_not_meet"], (policy, rate.to_dict())
        assert v.at["meets_criteria", "denied"] > 0, policy


def test_region_odds_ratios_fall_in_the_targets_intervals(measured: dict[str, Any]) -> None:
    odds = measured["odds"]
    for region, target in (("thoracic", TARGETS["or_thoracic_vs_cervical"]),
                           ("lumbar", TARGETS["or_lumbar_vs_cervical"])):
        lo, hi = datacard.target_interval(target, datacard.REGION_TARGETS[region][1])
        row = odds[(odds["factor"] == "region") & (odds["level"] == region)].iloc[0]
        assert lo <= row["odds_ratio"] <= hi
        assert row["ci_low"] <= target * 1.1 and row["ci_high"] >= target * 0.9
    carriers = odds[odds["factor"] == "carrier"]
    lo, hi = TARGETS["carrier_or_range"]
    assert len(carriers) == 4
    assert carriers["odds_ratio"].between(lo, hi).all()
    assert (carriers["p_value"] < 0.05).all()


def test_target_interval_follows_altman_bland() -> None:
    # BMJ 2011;343:d2090 worked example: RR 0.30, P = 0.034 -> 95% CI 0.10 to 0.90 (the
    # paper's approximation of z; the exact normal quantile gives 0.099 to 0.913)
    lo, hi = datacard.target_interval(0.30, 0.034)
    assert lo == pytest.approx(0.10, abs=0.005) and hi == pytest.approx(0.90, abs=0.015)


def test_card_states_purpose_provenance_and_assumptions() -> None:
    text = datacard.CARD.read_text(encoding="utf-8")
    for needle in (datacard.COMMAND, "no PHI", "10.1097/BSD.0000000000001422",
                   "Known limitations", "Assumptions the paper does not report"):
        assert needle in text


def test_card_lists_the_generator_assumptions() -> None:
    from preauth.synthetic.calibration import CARRIERS

    text = datacard.CARD.read_text(encoding="utf-8")
    for mix in ("region_mix", "contrast_mix"):
        for name, share in ASSUMPTIONS[mix].items():
            assert f"{name.replace('_', ' ')} {100 * share:g}%" in text, (mix, name)
    for c in CARRIERS:
        letter = c.name.removeprefix("Carrier ")
        assert f"{letter} {100 * c.share:g}%" in text
        assert f"{c.odds_ratio:.2f}" in text
    split = ASSUMPTIONS["denied_vs_cancelled"]
    assert f"{100 * split['denied']:g}% / {100 * split['cancelled']:g}%" in text
    assert f"{100 * ASSUMPTIONS['neuro_exam_documented_rate']:g}%" in text
    for name, rule in ASSUMPTIONS["issue10_fields"].items():
        assert f"| `{name}` | {rule} |" in text, name
