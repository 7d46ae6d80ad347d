"""The wide and the long layouts agree (hypothesis): for random cases and policies in a random
order, each request's wide row says, under each policy, the verdict, review flag and criteria
of that request's long row for that policy — and the same through the CLI's CSV files."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preauth.catalog.fields import FIELDS_BY_NAME
from preauth.catalog.schema import case_table
from preauth.criteria.library import Library
from preauth.evaluate.batch import evaluate_all
from preauth.evaluate.engine import Engine
from preauth.evaluate.vocabulary import verdict_label
from preauth.evaluate.wide import wide_result
from preauth.ingest.export import write_table
from tests.fast import examples
from tests.properties.strategies import cases

SETTINGS = settings(max_examples=examples(60), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
POLICY_IDS = ["acr", "aetna_style", "bcbs_style", "evicore_style"]


@st.composite
def batches(draw: st.DrawFn) -> list[dict]:
    n = draw(st.integers(1, 12))
    return [draw(cases(case_id=f"w{i}")) for i in range(n)]


def _csv_rows(table) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    write_table(table, "csv", buf)
    return list(csv.DictReader(io.StringIO(buf.getvalue().decode("utf-8"))))


@SETTINGS
@given(batch=batches(), policies=st.permutations(POLICY_IDS).flatmap(
    lambda p: st.integers(1, len(p)).map(lambda k: p[:k])))
def test_wide_row_says_what_the_long_rows_say(engine: Engine, library: Library,
                                              batch: list[dict], policies: list[str]) -> None:
    table = case_table(batch)
    long = evaluate_all(engine, table, policies)
    wide = wide_result(table, long, library, policies)
    assert wide.num_rows == len(batch)
    by_key = {(r["case_id"], r["policy"]): r for r in long.to_pylist()}
    for case, row in zip(batch, wide.to_pylist(), strict=True):
        assert row["case_id"] == case["case_id"]
        for pid in policies:
            det = by_key[(case["case_id"], pid)]
            title = {c.id: c.title for c in library[pid].criteria}
            assert row[f"{pid}: verdict"] == verdict_label(det["verdict"])
            assert row[f"{pid}: flagged for review"] == ("Yes" if det["needs_review"] else "No")
            assert row[f"{pid}: criteria met"] == (
                "; ".join(title[c] for c in det["fired"]) or None)
            needed = (row[f"{pid}: documentation needed"] or "").split("; ")
            for name in det["undocumented_fields"]:
                assert f"Document: {FIELDS_BY_NAME[name].label}" in needed
    # and in the files people open: the CSV of each layout
    long_csv = {(r["case_id"], r["policy"]): r for r in _csv_rows(long)}
    for row in _csv_rows(wide):
        for pid in policies:
            det = long_csv[(row["case_id"], pid)]
            assert row[f"{pid}: verdict"] == verdict_label(det["verdict"] or None)
