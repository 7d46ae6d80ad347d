"""The bundled dataset: reproducible from its command, calibrated as its data card says."""

from __future__ import annotations

from typing import Any

import pyarrow.parquet as pq
import pytest

from preauth.catalog.fields import FIELDS, Kind
from preauth.evaluate.engine import Engine
from preauth.synthetic import datacard
from preauth.synthetic.generator import TARGETS, synthesize

REGENERATE = (f"regenerate it: `{datacard.COMMAND}` then "
              "`python -m preauth.synthetic.datacard --write` "
              "(needed after changing preauth/synthetic/generator.py or the criteria)")


@pytest.fixture(scope="module")
def measured() -> dict[str, Any]:
    return datacard.measure(datacard.BUNDLED)


def test_same_seed_same_table(engine: Engine) -> None:
    a = synthesize(500, seed=3, engine=engine)
    assert a.equals(synthesize(500, seed=3, engine=engine))
    assert not a.equals(synthesize(500, seed=4, engine=engine))


def test_generator_draws_every_red_flag() -> None:
    """Every field of the catalog's red-flag group is drawn: some requests document it
    absent and some present (a red flag added to the group needs a line in the generator)."""
    table = synthesize(5000, seed=7, outcomes=False)
    for f in (f for f in FIELDS if f.group == "red_flags"):
        values = set(table.column(f.name).to_pylist()) - {None}
        absent = False if f.kind is Kind.BOOLEAN else "none"
        assert absent in values and values - {absent}, (f.name, values)


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
    from preauth.synthetic.generator import ASSUMPTIONS, CARRIERS

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
