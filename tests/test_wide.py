"""preauth.evaluate.wide: one row per request, readable verdicts, criteria titles and the
documentation needed — checked against the long result and against the determination
(letter) of each case, which compute the same things one case at a time."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from preauth.catalog.fields import FIELDS, FIELDS_BY_NAME
from preauth.catalog.schema import case_table
from preauth.criteria.library import Library
from preauth.evaluate.batch import evaluate_all
from preauth.evaluate.determination import determine
from preauth.evaluate.engine import Engine
from preauth.evaluate.vocabulary import Verdict
from preauth.evaluate.wide import (
    POLICY_COLUMNS,
    echoed_fields,
    policy_column,
    wide_result,
)
from preauth.synthetic.generator import synthesize

POLICIES = ["evicore_style", "acr", "bcbs_style", "aetna_style"]  # not the library's order


@pytest.fixture(scope="module")
def cases() -> pa.Table:
    return synthesize(400, seed=21)


@pytest.fixture(scope="module")
def long(engine: Engine, cases: pa.Table) -> pa.Table:
    return evaluate_all(engine, cases, POLICIES)


@pytest.fixture(scope="module")
def wide(cases: pa.Table, long: pa.Table, library: Library) -> pa.Table:
    return wide_result(cases, long, library, POLICIES)


def test_one_row_per_request_fields_then_four_columns_per_policy(
        cases: pa.Table, wide: pa.Table) -> None:
    assert wide.num_rows == cases.num_rows
    assert wide.column("case_id").to_pylist() == cases.column("case_id").to_pylist()
    fields = [f.name for f in FIELDS]
    assert wide.column_names == fields + [f"{p}: {w}" for p in POLICIES for w in POLICY_COLUMNS]
    assert policy_column("acr", "criteria met") == "acr: criteria met"


def test_verdicts_are_the_vocabulary_labels_of_the_long_verdicts(
        long: pa.Table, wide: pa.Table) -> None:
    k = len(POLICIES)
    for j, pid in enumerate(POLICIES):
        verdicts = long.column("verdict").to_pylist()[j::k]
        labels = wide.column(f"{pid}: verdict").to_pylist()
        assert labels == [Verdict(v).label for v in verdicts]
        review = long.column("needs_review").to_pylist()[j::k]
        assert wide.column(f"{pid}: flagged for review").to_pylist() == [
            "Yes" if r else "No" for r in review]
    seen = set(pc.unique(wide.column("acr: verdict").cast(pa.string())).to_pylist())
    assert seen == {v.label for v in Verdict}  # every verdict occurs in this sample


def test_criteria_met_are_the_titles_of_the_fired_criteria(
        long: pa.Table, wide: pa.Table, library: Library) -> None:
    k = len(POLICIES)
    for j, pid in enumerate(POLICIES):
        title = {c.id: c.title for c in library[pid].criteria}
        fired = long.column("fired").to_pylist()[j::k]
        assert wide.column(f"{pid}: criteria met").to_pylist() == [
            "; ".join(title[c] for c in ids) or None for ids in fired]


def test_documentation_needed_is_what_the_letter_requires(
        engine: Engine, cases: pa.Table, wide: pa.Table) -> None:
    """The determination (explorer, letter) lists, for one case, the documentation of the
    supporting criteria met (or of those that would flip the verdict) and the fields to
    document; the wide column says the same for every request."""
    rows = wide.to_pylist()
    checked = 0
    for i, case in enumerate(cases.slice(0, 120).to_pylist()):
        for d in determine(engine, case, POLICIES):
            expected = [*d.missing_documentation,
                        *(f"Document: {label}" for label in d.undocumented_field_labels)]
            assert rows[i][f"{d.policy.id}: documentation needed"] == (
                "; ".join(expected) or None), (case["case_id"], d.policy.id)
            checked += bool(expected)
    assert checked > 200  # most have some


def test_yes_no_fields_and_typed_values_as_people_read_them(library: Library,
                                                            engine: Engine) -> None:
    cases = case_table([
        {"case_id": "a", "cpt_code": "72148", "region": "lumbar", "contrast": "without",
         "request_date": dt.date(2024, 3, 5), "age": 40, "symptom_weeks": 6.5,
         "radiculopathy": True, "cauda_equina_signs": False},
        {"case_id": "b", "cpt_code": "72141", "region": "cervical", "contrast": "without"}])
    wide = wide_result(cases, evaluate_all(engine, cases, ["acr"]), library, ["acr"],
                       fields=echoed_fields(["age", "request_date", "symptom_weeks",
                                             "radiculopathy", "cauda_equina_signs"]))
    assert wide.column_names[:9] == ["case_id", "request_date", "cpt_code", "region",
                                     "contrast", "age", "symptom_weeks", "radiculopathy",
                                     "cauda_equina_signs"]
    rows = wide.to_pylist()
    assert rows[0]["radiculopathy"] == "Yes" and rows[0]["cauda_equina_signs"] == "No"
    assert rows[1]["radiculopathy"] is None  # not documented stays empty
    assert rows[0]["age"] == 40 and rows[0]["symptom_weeks"] == 6.5
    assert rows[0]["request_date"] == dt.date(2024, 3, 5)


def test_echoed_fields_are_the_mapped_ones_and_the_procedure_in_catalog_order() -> None:
    assert echoed_fields(["radiculopathy", "age"]) == [
        "case_id", "cpt_code", "region", "contrast", "age", "radiculopathy"]
    assert echoed_fields(None) == [f.name for f in FIELDS]
    with pytest.raises(ValueError, match="not catalog fields: shoe_size"):
        echoed_fields(["shoe_size"])


def test_source_columns_follow_the_fields_and_never_shadow_a_column(
        cases: pa.Table, long: pa.Table, library: Library) -> None:
    n = cases.num_rows
    source = pa.table({"Notes": ["n"] * n, "case_id": ["x"] * n, "acr: verdict": ["y"] * n})
    wide = wide_result(cases.append_column("row", pa.array(range(1, n + 1), pa.int64())),
                       long, library, POLICIES, fields=["case_id", "cpt_code"], source=source)
    assert wide.column_names[:6] == ["row", "case_id", "cpt_code", "Notes", "case_id (input)",
                                     "acr: verdict (input)"]
    assert wide.column("row").to_pylist()[:3] == [1, 2, 3]
    assert wide.column("acr: verdict (input)").to_pylist()[0] == "y"
    assert wide.column("acr: verdict").to_pylist()[0] != "y"


def test_policies_are_read_from_the_determinations_when_not_given(
        cases: pa.Table, long: pa.Table, library: Library, wide: pa.Table) -> None:
    assert wide_result(cases, long, library).equals(wide)


def test_plain_list_columns_give_the_same_result(
        cases: pa.Table, long: pa.Table, library: Library, wide: pa.Table) -> None:
    """An engine whose lists are plain text (not dictionary-encoded) gives the same wide
    result: only the ids count, not their encoding."""
    plain = long
    for name in ("fired", "would_flip", "undocumented_fields", "verdict"):
        i = plain.schema.get_field_index(name)
        target = pa.string() if name == "verdict" else pa.list_(pa.string())
        plain = plain.set_column(i, name, plain.column(name).cast(target))
    assert wide_result(cases, plain, library, POLICIES).to_pylist() == wide.to_pylist()


def test_sliced_determinations_give_the_same_rows(
        cases: pa.Table, long: pa.Table, library: Library, wide: pa.Table) -> None:
    """Slices (the CLI's batches) keep their offsets right, list children included."""
    k = len(POLICIES)
    part = wide_result(cases.slice(37, 101), long.slice(37 * k, 101 * k), library, POLICIES)
    assert part.to_pylist() == wide.slice(37, 101).to_pylist()


def test_determinations_in_another_order_are_refused(
        engine: Engine, cases: pa.Table, long: pa.Table, library: Library) -> None:
    policy_major = engine.evaluate(cases, POLICIES)  # the engine's own order
    with pytest.raises(ValueError, match="not in the batch order"):
        wide_result(cases, policy_major, library, POLICIES)
    with pytest.raises(ValueError, match="not those of these requests"):
        wide_result(cases.take(pa.array(range(cases.num_rows - 1, -1, -1))), long, library,
                    POLICIES)
    with pytest.raises(ValueError, match="determinations for"):
        wide_result(cases, long, library, ["acr"])


def test_no_requests_give_the_columns_and_no_rows(
        cases: pa.Table, long: pa.Table, library: Library, wide: pa.Table) -> None:
    empty = wide_result(cases.slice(0, 0), long.slice(0, 0), library, POLICIES)
    assert empty.num_rows == 0 and empty.column_names == wide.column_names


def test_no_catalog_field_is_missed_by_the_yes_no_rule(wide: pa.Table) -> None:
    for f in FIELDS:
        words = set(pc.unique(wide.column(f.name).cast(pa.string())).to_pylist()) - {None}
        if FIELDS_BY_NAME[f.name].kind == "boolean":
            assert words <= {"Yes", "No"}, f.name


def test_list_columns_whose_items_are_a_slice_give_the_same_rows(
        cases: pa.Table, long: pa.Table, library: Library, wide: pa.Table) -> None:
    """A list column's items may themselves be a slice of a larger array (an offset in the
    child): the keys read the items from that offset."""
    moved = long
    for name in ("fired", "would_flip", "undocumented_fields"):
        lists = moved.column(name).combine_chunks()
        items = lists.values
        padded = pa.concat_arrays([items.slice(0, 5), items]).slice(5)  # offset 5 in the child
        assert padded.offset == 5
        shifted = pa.ListArray.from_arrays(lists.offsets, padded)
        moved = moved.set_column(moved.schema.get_field_index(name), name, shifted)
    assert wide_result(cases, moved, library, POLICIES).to_pylist() == wide.to_pylist()
