"""The reviewer's reading of silence (issue 10, item 5): strict vs reviewer.

*strict*: an empty field is not documented. *reviewer*: an unmentioned red flag is read as
absent; an empty duration, conservative-care or examination field stays undocumented. The
reading is one function applied before evaluation, so one case and batch agree under it.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from preauth.catalog.fields import FIELDS_BY_NAME
from preauth.catalog.schema import case_table
from preauth.evaluate.determination import determine
from preauth.evaluate.engine import Engine
from preauth.evaluate.reading import SILENCE_READ_AS_ABSENT, Reading, read_case, read_table

# The seed denial (shared/sources.md): thoracic + lumbar MRI after cervical fusion, burning
# mid and low back pain, no documented conservative care, no radicular signs, not a surgical
# candidate — and the red flags simply not mentioned.
SEED = dict(age=54, symptom_weeks=8, prior_spine_surgery_region="cervical",
            radiculopathy=False, neuro_deficit=False, surgical_candidate=False)


@pytest.mark.parametrize("cpt", ["72157", "72158"])
def test_seed_case_strict_insufficient_reviewer_does_not_meet(engine: Engine, cpt: str) -> None:
    case = dict(SEED, case_id=f"seed-{cpt}", cpt_code=cpt)
    strict = determine(engine, case, ["acr"])[0]
    reviewer = determine(engine, case, ["acr"], reading="reviewer")[0]
    assert strict.verdict == "insufficient_documentation", strict.summary()
    assert reviewer.verdict == "does_not_meet", reviewer.summary()
    # what to document is the same: the reading changes how silence is read, not what a
    # reviewer would need to see
    assert reviewer.missing_documentation == strict.missing_documentation
    assert strict.missing_documentation
    # the determination says which reading was used and what it read as absent
    assert strict.reading == "strict" and "Strict reading" in strict.reading_note
    assert reviewer.reading == "reviewer"
    assert "Reviewer reading" in reviewer.reading_note
    assert "Cauda equina signs" in reviewer.read_as_absent or cpt == "72157"
    assert "History of cancer" in reviewer.reading_note


def test_reviewer_leaves_duration_care_and_exam_undocumented(engine: Engine) -> None:
    # ACR LBP variant 3 needs 6 weeks of care in a surgery candidate: with the weeks empty it
    # stays undocumented under the reviewer reading (not a red flag)
    case = dict(case_id="c", cpt_code="72148", age=40, symptom_weeks=10,
                surgical_candidate=True, radiculopathy=True)
    d = determine(engine, case, ["acr"], reading="reviewer")[0]
    assert d.verdict == "insufficient_documentation", d.summary()
    assert "conservative_therapy_weeks" in d.undocumented_fields
    assert not set(d.undocumented_fields) & {f.name for f in SILENCE_READ_AS_ABSENT}


def test_documented_red_flag_wins_over_the_reading(engine: Engine) -> None:
    case = dict(SEED, case_id="c", cpt_code="72158", cauda_equina_signs=True)
    for reading in Reading:
        d = determine(engine, case, ["acr"], reading=reading)[0]
        assert d.verdict == "meets_criteria", (reading, d.summary())
        assert "Cauda equina signs" not in d.read_as_absent


def test_red_flags_are_the_catalog_group_plus_marked_fields() -> None:
    names = {f.name for f in SILENCE_READ_AS_ABSENT}
    assert {"cauda_equina_signs", "cancer_history", "infection_signs", "trauma",
            "progressive_neuro_deficit", "iv_drug_use"} <= names
    # durations, care and exam findings are never read from silence
    assert not names & {"symptom_weeks", "conservative_therapy_weeks", "physical_therapy",
                        "medication_trial", "neuro_deficit", "radiculopathy",
                        "motor_strength_grade", "surgical_candidate", "age"}
    assert FIELDS_BY_NAME["trauma"].absent_value == "none"


def test_read_table_arrow_pandas_and_missing_columns_agree() -> None:
    cases = [dict(case_id="a", cpt_code="72148", cancer_history=True),
             dict(case_id="b", cpt_code="72148")]
    arrow = read_table(case_table(cases), "reviewer")
    frame = read_table(case_table(cases).to_pandas(), "reviewer")
    sparse = read_table(pa.table({"case_id": ["a", "b"], "cpt_code": ["72148", "72148"],
                                  "cancer_history": [True, None]}), "reviewer")
    for table in (arrow, pa.Table.from_pandas(frame, preserve_index=False), sparse):
        assert table.column("cancer_history").to_pylist() == [True, False]
        assert table.column("trauma").to_pylist() == ["none", "none"]
        assert table.column("cauda_equina_signs").to_pylist() == [False, False]
    assert isinstance(frame, pd.DataFrame)
    assert read_table(case_table(cases), "strict").equals(case_table(cases))
    assert read_case({"cancer_history": None}, "reviewer")["cancer_history"] is False
    assert read_case({"cancer_history": None}, "strict")["cancer_history"] is None
    with pytest.raises(ValueError):
        Reading("lenient")
