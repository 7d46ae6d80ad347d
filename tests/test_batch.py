"""preauth.evaluate.batch: the one batch path (Upload page and `preauth evaluate`)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preauth.evaluate.batch import evaluate_all, evaluate_in_batches
from preauth.evaluate.engine import Engine
from preauth.synthetic.generator import synthesize
from tests.fast import examples

CASES = synthesize(37, seed=3, outcomes=False)
POLICIES = ["aetna_style", "acr", "evicore_style", "bcbs_style"]


@settings(max_examples=examples(25), deadline=None)
@given(n=st.integers(0, 37), size=st.integers(1, 40),
       chosen=st.lists(st.sampled_from(POLICIES), min_size=1, max_size=4, unique=True))
def test_input_row_order_whatever_the_batch_size(engine: Engine, n: int, size: int,
                                                 chosen: list[str]) -> None:
    cases = CASES.slice(0, n)
    batches = list(evaluate_in_batches(engine, cases, chosen, batch_rows=size))
    assert [(b.start, b.stop) for b in batches] == (
        [(s, min(s + size, n)) for s in range(0, n, size)] or [(0, 0)])
    assert all(b.total == n for b in batches) and batches[-1].fraction_done == 1.0
    out = pa.concat_tables(b.table for b in batches)
    ids = cases.column("case_id").to_pylist()
    # row j: case j // k under policy j % k
    assert [(r["case_id"], r["policy"]) for r in out.select(["case_id", "policy"]).to_pylist()
            ] == [(c, p) for c in ids for p in chosen]
    # the same determinations as the engine's, one case at a time
    for i in range(0, n, max(n // 4, 1)):
        one = engine.evaluate(cases.slice(i, 1), chosen).to_pylist()
        assert out.slice(i * len(chosen), len(chosen)).to_pylist() == one


def test_no_cases_still_give_the_schema(engine: Engine) -> None:
    [batch] = evaluate_in_batches(engine, CASES.slice(0, 0), "all")
    assert batch.table.num_rows == 0 and "verdict" in batch.table.column_names
    assert batch.fraction_done == 1.0
    assert evaluate_all(engine, CASES.slice(0, 0), "all").num_rows == 0


def test_no_policy_is_an_error(engine: Engine) -> None:
    with pytest.raises(ValueError, match="no policy"):
        next(evaluate_in_batches(engine, CASES, []))
