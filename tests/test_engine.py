"""Engine: three-valued statuses, verdicts, explanations, input handling."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pyarrow as pa
import pytest

from preauth.catalog.schema import case_table
from preauth.evaluate.engine import OUTPUT_COLUMNS, Engine
from tests.cases import acute_lbp


def _row(engine: Engine, case: dict, policy: str) -> dict:
    return engine.evaluate_case(case, [policy])[0]


def test_acute_lbp_without_red_flags_does_not_meet_acr(engine: Engine) -> None:
    row = _row(engine, acute_lbp(), "acr")
    assert row["verdict"] == "does_not_meet"
    assert row["fired"] == ["acr-lbp-v1"]
    assert row["category"] == "usually_not_appropriate"
    assert "acr-lbp-v4" in row["would_flip"]  # cauda equina would reverse it
    assert row["undocumented_fields"] == []


def test_cauda_equina_meets_every_policy(engine: Engine) -> None:
    for row in engine.evaluate_case(acute_lbp(cauda_equina_signs=True)):
        assert row["verdict"] == "meets_criteria", row["policy"]


def test_undocumented_is_not_false(engine: Engine) -> None:
    row = _row(engine, acute_lbp(cauda_equina_signs=None), "acr")
    assert row["verdict"] == "insufficient_documentation"
    assert "acr-lbp-v4" in row["undocumented"]
    assert row["undocumented_fields"] == ["cauda_equina_signs"]


def test_documented_facts_decide_despite_undocumented_elsewhere(engine: Engine) -> None:
    # Cauda equina documented: meets, although cancer history etc. are undocumented.
    row = _row(engine, {"case_id": "x", "cpt_code": "72148", "cauda_equina_signs": True}, "acr")
    assert row["verdict"] == "meets_criteria"
    assert row["undocumented_fields"] == []
    # MRI with contrast alone is usually not appropriate under every ACR variant: no
    # undocumented field can change that, so the verdict is decided.
    row = _row(engine, {"case_id": "y", "cpt_code": "72149"}, "acr")
    assert row["verdict"] == "does_not_meet"
    assert row["undocumented_fields"] == []


def test_may_be_appropriate_meets_but_needs_review(engine: Engine) -> None:
    # Variant 3 rates MRI without and with contrast "may be appropriate".
    case = acute_lbp(cpt_code="72158", symptom_weeks=10, conservative_therapy_weeks=8,
                     surgical_candidate=True)
    row = _row(engine, case, "acr")
    assert row["verdict"] == "meets_criteria"
    assert row["needs_review"] is True
    assert row["category"] == "may_be_appropriate"
    row = _row(engine, dict(case, cpt_code="72148"), "acr")
    assert row["needs_review"] is False and row["category"] == "usually_appropriate"


def test_exclusion_overrides_and_is_listed_in_would_flip(engine: Engine) -> None:
    case = acute_lbp(cancer_history=True, months_since_prior_mri=None)
    row = _row(engine, case, "bcbs_style")
    assert row["verdict"] == "meets_criteria"
    assert "bc-repeat-within-3-months" in row["would_flip"]
    row = _row(engine, dict(case, months_since_prior_mri=1), "bcbs_style")
    assert row["verdict"] == "does_not_meet"
    assert "bc-repeat-within-3-months" in row["fired"]
    # BCBS CAM 709 / 741: new symptoms alone do not justify an overlapping MRI; notes saying
    # why it is needed and how it changes management do
    row = _row(engine, dict(case, months_since_prior_mri=1, new_or_progressive_symptoms=True),
               "bcbs_style")
    assert row["verdict"] == "does_not_meet"
    row = _row(engine, dict(case, months_since_prior_mri=1,
                            overlap_justification_documented=True), "bcbs_style")
    assert row["verdict"] == "meets_criteria"


def test_region_applicability(engine: Engine) -> None:
    row = _row(engine, acute_lbp(cpt_code="72141", cauda_equina_signs=True), "acr")
    assert "acr-lbp-v4" not in row["fired"] + row["not_met"] + row["undocumented"]


def test_region_and_contrast_derived_from_cpt_and_vice_versa(engine: Engine) -> None:
    row = _row(engine, {"case_id": "a", "cpt_code": "72157"}, "acr")
    assert (row["region"], row["contrast"]) == ("thoracic", "without_and_with")
    row = _row(engine, {"case_id": "b", "region": "lumbar", "contrast": "without",
                        "cauda_equina_signs": True}, "acr")
    assert row["verdict"] == "meets_criteria"


def test_no_procedure_gives_no_verdict(engine: Engine) -> None:
    row = _row(engine, {"case_id": "a", "cauda_equina_signs": True}, "acr")
    assert row["verdict"] is None


def test_pandas_input_nan_is_null(engine: Engine) -> None:
    df = pd.DataFrame([{"case_id": "a", "cpt_code": "72148", "cauda_equina_signs": True,
                        "symptom_weeks": math.nan, "extra_column": "ignored"}])
    out = engine.evaluate(df, ["acr"]).to_pylist()[0]
    assert out["verdict"] == "meets_criteria"
    wide = engine.verdicts(df).to_pylist()[0]
    assert wide["verdict:acr"] == "meets_criteria"


def test_output_shape_and_order(engine: Engine) -> None:
    cases = [acute_lbp(case_id=f"c{i}", age=30 + i) for i in range(5)]
    out = engine.evaluate(case_table(cases))
    assert tuple(out.column_names) == OUTPUT_COLUMNS
    assert out.num_rows == 5 * len(engine.library.policies)
    first = out.filter(pa.compute.equal(out["policy"], "acr"))
    assert first["case_id"].to_pylist() == [f"c{i}" for i in range(5)]


def test_empty_table(engine: Engine) -> None:
    out = engine.evaluate(case_table([]))
    assert out.num_rows == 0
    assert engine.verdicts(case_table([])).num_rows == 0


def test_fast_and_detailed_paths_agree(engine: Engine) -> None:
    cases = [acute_lbp(case_id="a"), acute_lbp(case_id="b", cauda_equina_signs=None),
             acute_lbp(case_id="c", cpt_code="72149", cancer_history=True)]
    table = case_table(cases)
    wide = engine.verdicts(table).to_pylist()
    long = engine.evaluate(table).to_pylist()
    for row in long:
        match = next(w for w in wide if w["case_id"] == row["case_id"])
        assert match[f"verdict:{row['policy']}"] == row["verdict"]


def test_trace_lists_every_clause(engine: Engine, library) -> None:  # type: ignore[no-untyped-def]
    trace = engine.trace(acute_lbp(), "acr")
    for c in library["acr"].criteria:
        assert len(trace[c.id]) == len(list(c.expression.root.walk()))
    assert trace["acr-lbp-v1"][0] is True


def test_only_the_single_case_connection_skips_the_optimizer(engine: Engine) -> None:
    """A one-row table has nothing to optimize; batches must keep DuckDB's optimizer."""
    def optimizer(con: object) -> bool:
        return con.execute("SELECT current_setting('enable_optimizer')").fetchone()[0]  # type: ignore[attr-defined]

    assert optimizer(engine._con) is True
    assert optimizer(engine._single_con) is False


def test_connection_is_locked_down(engine: Engine) -> None:
    for con in (engine._con, engine._single_con):  # batches, single cases
        with pytest.raises(Exception, match=r"(?i)(disabled|permission|external)"):
            con.execute("SELECT * FROM read_csv('/etc/hostname')").fetchall()
        with pytest.raises(Exception, match=r"(?i)lock|configuration"):
            con.execute("SET enable_external_access = true")


def test_concurrent_single_cases_and_batches(engine: Engine) -> None:
    """As the Streamlit server calls it: single cases from several threads (each its own
    sequence of cases) while batches run in two others; every single case equals its batch
    row, every batch the sequential result."""
    cases = [acute_lbp(case_id=f"t{i}", age=20 + 3 * i, symptom_weeks=float(i % 9),
                       cauda_equina_signs=(None, True, False)[i % 3],
                       cpt_code=("72148", "72141", "72157", "72149")[i % 4],
                       cancer_history=i % 5 == 0) for i in range(48)]
    table = case_table(cases)
    expected = engine.evaluate(table).to_pylist()
    by_case = {c["case_id"]: [r for r in expected if r["case_id"] == c["case_id"]]
               for c in cases}
    failures: list[str] = []

    def singles(offset: int) -> None:
        for k in range(len(cases)):
            case = cases[(offset + 7 * k) % len(cases)]
            if engine.evaluate_case(case) != by_case[case["case_id"]]:
                failures.append(case["case_id"])

    def batches() -> None:
        for _ in range(3):
            if engine.evaluate(table).to_pylist() != expected:
                failures.append("batch")

    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(singles, i) for i in range(4)]
        futures += [pool.submit(batches) for _ in range(2)]
        for f in futures:
            f.result()  # re-raises an exception of the thread
    assert failures == []
