"""Invariants of evaluation (hypothesis):

* one case through the explorer path equals its row in a batch;
* the DuckDB engine equals the pure-Python reference evaluator, NULLs included — rows and the
  explorer's clause trace;
* the fast verdict path equals the detailed path.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preauth.catalog.schema import case_table
from preauth.evaluate import reference
from preauth.evaluate.engine import Engine
from preauth.evaluate.reading import SILENCE_READ_AS_ABSENT, Reading
from tests.fast import examples
from tests.properties.strategies import cases

SETTINGS = settings(max_examples=examples(60), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def batches(draw: st.DrawFn) -> list[dict]:
    n = draw(st.integers(1, 12))
    return [draw(cases(case_id=f"b{i}")) for i in range(n)]


@SETTINGS
@given(batch=batches(), pick=st.integers(0, 11), reading=st.sampled_from(list(Reading)))
def test_single_case_equals_batch_row(engine: Engine, batch: list[dict], pick: int,
                                      reading: Reading) -> None:
    case = batch[pick % len(batch)]
    rows = engine.evaluate(case_table(batch), reading=reading).to_pylist()
    expected = [r for r in rows if r["case_id"] == case["case_id"]]
    assert engine.evaluate_case(case, reading=reading) == expected


@SETTINGS
@given(batch=batches())
def test_reviewer_reading_is_the_strict_reading_of_the_filled_case(
        engine: Engine, library, batch: list[dict]) -> None:  # type: ignore[no-untyped-def]
    """Under the reviewer reading a case decides as the reference evaluator decides it with
    every unmentioned red flag written in as absent — and nothing else filled."""
    rows = engine.evaluate(case_table(batch), reading=Reading.REVIEWER).to_pylist()
    by_key = {(r["case_id"], r["policy"]): r for r in rows}
    red_flags = {f.name: f.absent_value for f in SILENCE_READ_AS_ABSENT}
    for case in batch:
        filled = {**case, **{k: v for k, v in red_flags.items() if case.get(k) is None}}
        for ref in reference.evaluate_case(library, filled):
            assert by_key[(case["case_id"], ref["policy"])] == ref


@SETTINGS
@given(batch=batches())
def test_engine_equals_reference(engine: Engine, library, batch: list[dict]) -> None:  # type: ignore[no-untyped-def]
    rows = engine.evaluate(case_table(batch)).to_pylist()
    by_key = {(r["case_id"], r["policy"]): r for r in rows}
    for case in batch:
        for ref in reference.evaluate_case(library, case):
            assert by_key[(case["case_id"], ref["policy"])] == ref


@SETTINGS
@given(batch=batches(), pick=st.integers(0, 11))
def test_trace_equals_reference(engine: Engine, library, batch: list[dict],  # type: ignore[no-untyped-def]
                                pick: int) -> None:
    """The explorer's trace: every clause of every criterion, NULLs included."""
    case = batch[pick % len(batch)]
    assert engine.evaluate_case_traced(case)[1] == reference.trace(library, case)


@SETTINGS
@given(batch=batches())
def test_fast_path_equals_detailed(engine: Engine, batch: list[dict]) -> None:
    table = case_table(batch)
    wide = {w["case_id"]: w for w in engine.verdicts(table).to_pylist()}
    for row in engine.evaluate(table).to_pylist():
        assert wide[row["case_id"]][f"verdict:{row['policy']}"] == row["verdict"]
