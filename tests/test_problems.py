"""The problems of a validation by column (preauth.ingest.problems): grouping, counts, the
refused values, what can be mapped, proposals for refused values, the date question; and the
sample values of the mapping step (preauth.ingest.samples)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preauth.catalog.dates import DAY_FIRST, MONTH_FIRST
from preauth.ingest.errors import AmbiguousDates, MixedDates
from preauth.ingest.problems import (
    MAX_VALUES,
    NOT_DOCUMENTED,
    column_problems,
    date_question,
    suggested_target,
    value_targets,
)
from preauth.ingest.raw import RawTable
from preauth.ingest.read import read_raw
from preauth.ingest.samples import SAMPLE_CHARS, column_samples
from preauth.ingest.validate import validate
from tests.fast import examples
from tests.messy_upload import expected_counts, messy_csv


def _csv(text: str, name: str = "f.csv") -> RawTable:
    return read_raw(text.encode(), name)


def _by_header(problems):  # type: ignore[no-untyped-def]
    return {(p.header, p.severity): p for p in problems}


def test_messy_export_problems_by_column() -> None:
    raw = read_raw(messy_csv(), "messy.csv")
    result = validate(raw, formats={"request_date": MONTH_FIRST})
    problems = column_problems(result, raw)
    counts = expected_counts()
    assert [(p.header, p.field, p.severity) for p in problems] == [
        ("Gender", "sex", "warning"), ("Status", "decision", "warning")]
    gender, status = problems
    assert gender.rows == gender.lines == gender.refused == counts["U"] + counts["Unknown"]
    assert dict(gender.values) == {"U": counts["U"], "Unknown": counts["Unknown"]}
    assert gender.distinct == 2 and gender.mappable and gender.expects == "one of F, M, other"
    assert status.values == (("Withdrawn", counts["Withdrawn"]),)
    assert status.headline() == (
        f"Status: {counts['Withdrawn']} values not recognised (read as not documented) — "
        f"Withdrawn ({counts['Withdrawn']}) → map them?")


def test_errors_come_first_most_rows_first_and_other_problems_are_kept_apart() -> None:
    raw = _csv("ID,CPT,Age,Sex,Back\n"
               "a,72148,40,Q,yes\n"
               "a,72148,abc,X,maybe\n"  # duplicate id, refused age and boolean
               ",72148,41,M,perhaps\n"  # empty case_id, refused boolean
               "d,72148,42,Z,no\n")
    result = validate(raw, {"Back": "radiculopathy"})
    problems = column_problems(result, raw)
    assert [(p.header, p.severity) for p in problems] == [
        ("ID", "error"), ("Back", "error"), ("Age", "error"), ("Sex", "warning")]  # ties:
    # in the file's column order
    by = _by_header(problems)
    back = by["Back", "error"]
    assert (back.rows, back.refused, back.other, back.mappable) == (2, 2, 0, True)
    assert back.values == (("maybe", 1), ("perhaps", 1))  # count, then value order
    ident = by["ID", "error"]
    assert ident.refused == 0 and ident.other == 2 and not ident.mappable
    assert ident.example  # a message of one of them, as validate wrote it
    assert "2 problems, such as:" in ident.headline()
    age = by["Age", "error"]
    assert age.values == (("abc", 1),) and not age.mappable  # a number: no value map
    assert age.expects == "a whole number from 0 to 120"
    assert age.headline() == ("Age: 1 value not accepted (their rows are rejected) — "
                              "abc (1)")
    # warnings only about the rows kept: X is in a rejected row (a duplicate id)
    assert by["Sex", "warning"].values == (("Q", 1), ("Z", 1))


def test_values_are_trimmed_counted_and_capped() -> None:
    rows = [f"r{i},72148,{f' v{i % 20:02d} ' if i < 40 else ' v00'}" for i in range(50)]
    raw = _csv("case_id,cpt_code,sex\n" + "\n".join(rows) + "\n")
    (sex,) = column_problems(validate(raw), raw)
    assert sex.distinct == 20 and len(sex.values) == MAX_VALUES
    assert sex.values[0] == ("v00", 12)  # 2 of i<40 and 10 more
    assert all(n == 2 for _, n in sex.values[1:])
    assert "and 17 more" in sex.headline()


def test_a_profile_format_is_what_a_date_column_expects() -> None:
    raw = _csv("case_id,cpt_code,request_date\na,72148,2024-01-02\n")
    result = validate(raw, formats={"request_date": "%d.%m.%Y"})
    (p,) = column_problems(result, raw, formats={"request_date": "%d.%m.%Y"})
    assert p.expects == "a date written as %d.%m.%Y" and not p.mappable


def test_unmapped_long_cell_and_a_clean_file() -> None:
    raw = _csv("case_id,cpt_code,notes\na,72148," + "x" * 100_001 + "\nb,72148,ok\n")
    (p,) = column_problems(validate(raw), raw)
    assert (p.header, p.field, p.severity, p.refused) == ("notes", None, "error", 0)
    assert p.expects == "" and not p.mappable
    clean = _csv("case_id,cpt_code\na,72148\n")
    assert column_problems(validate(clean), clean) == []


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["72148", "7214", ""]),
                          st.sampled_from(["40", "x", "", "300"]),
                          st.sampled_from(["M", "f", "q", "", "Unknown"]),
                          st.sampled_from(["yes", "no", "maybe", ""])),
                min_size=1, max_size=40))
def test_every_problem_line_is_counted_once(cells) -> None:  # type: ignore[no-untyped-def]
    """The problems by column account for every error and warning line, and for no row more
    than once per column."""
    text = "case_id,cpt_code,age,sex,radiculopathy\n" + "\n".join(
        f"c{i % 7},{cpt},{age},{sex},{rad}" for i, (cpt, age, sex, rad) in enumerate(cells))
    raw = _csv(text + "\n")
    result = validate(raw)
    problems = column_problems(result, raw)
    for severity, table in (("error", result.errors), ("warning", result.warnings)):
        mine = [p for p in problems if p.severity == severity]
        assert sum(p.lines for p in mine) == table.num_rows
        for p in mine:
            assert p.rows <= p.lines and p.refused + p.other == p.lines
            assert sum(n for _, n in p.values) <= p.refused
            assert len(p.values) == min(p.distinct, MAX_VALUES)
    assert sum(p.rows for p in problems if p.severity == "error") >= result.rows_rejected


# --- proposals for refused values -------------------------------------------------------------

@pytest.mark.parametrize(("field", "value", "proposed"), [
    ("sex", "U", NOT_DOCUMENTED), ("sex", " Unknown ", NOT_DOCUMENTED),
    ("sex", "N/A", NOT_DOCUMENTED), ("decision", "Withdrawn", None),
    ("decision", "Canc", "cancelled"), ("decision", "aproved", "approved"),
    ("region", "Lumbar spine", "lumbar"), ("trauma", "high velocity fall", "high_velocity"),
    ("trauma", "velocity", None),  # as close to low and high: no proposal
    ("radiculopathy", "Positive", None), ("radiculopathy", "TRUE", "yes"),
    ("age", "unknown", None),  # not a short list of values: nothing to map to
    ("sex", "", None),
])
def test_suggested_target(field: str, value: str, proposed: str | None) -> None:
    assert suggested_target(field, value) == proposed


def test_value_targets() -> None:
    assert value_targets("sex") == ("F", "M", "other")
    assert value_targets("radiculopathy") == ("yes", "no")
    assert value_targets("age") == ()


# --- the date question ------------------------------------------------------------------------

def test_ambiguous_dates_ask_in_plain_words() -> None:
    err = AmbiguousDates("f.csv", "request_date", "Date Requested",
                         ("03/04/2024", "05/06/2024"))
    q = date_question(err)
    assert q.text == ("Date Requested has dates like 03/04/2024. Is that 4 March 2024 or "
                      "3 April 2024? (Others like it: 05/06/2024.)")
    assert [(c.format, c.label) for c in q.choices] == [
        (MONTH_FIRST, "4 March 2024 — month first (M/D/YYYY)"),
        (DAY_FIRST, "3 April 2024 — day first (D/M/YYYY)")]
    assert (q.field, q.header, q.mixed) == ("request_date", "Date Requested", False)


def test_mixed_dates_say_so() -> None:
    err = MixedDates("f.csv", "request_date", "Date Requested", ("04/13/2024", "13/04/2024"))
    q = date_question(err)
    assert q.mixed
    assert q.text.startswith("Date Requested has dates that only make sense month first "
                             "(04/13/2024 is 13 April 2024) and dates that only make sense "
                             "day first (13/04/2024 is 13 April 2024)")
    assert [c.label for c in q.choices] == ["Month first (M/D/YYYY)", "Day first (D/M/YYYY)"]


def test_the_question_validate_raises_for_the_messy_export() -> None:
    raw = read_raw(messy_csv(), "messy.csv")
    with pytest.raises(AmbiguousDates) as caught:
        validate(raw)
    q = date_question(caught.value)
    assert q.text.startswith("Date Requested has dates like 02/06/2024. Is that "
                             "6 February 2024 or 2 June 2024?")


# --- samples ----------------------------------------------------------------------------------

def test_samples_are_distinct_non_empty_and_in_order() -> None:
    raw = read_raw(messy_csv(), "messy.csv")
    samples = column_samples(raw)
    assert samples["Gender"] == ("Male", "Female", "U")
    assert samples["Radiculopathy"] == ("Y", "N")
    assert samples["Payer"] == ("Acme Health", "Béta Mutual", "Cœur Care")  # cp1252 decoded


def test_samples_of_sparse_typed_and_long_columns() -> None:
    n = 5_000
    sparse = [None] * n
    sparse[4_500] = "late"
    table = pa.table({"case_id": [f"c{i}" for i in range(n)], "sparse": sparse,
                      "age": pa.array([40] * n, pa.int64()), "long": ["y" * 100] * n,
                      "empty": [""] * n})
    samples = column_samples(RawTable.from_arrow(table))
    assert samples["sparse"] == ("late",)  # found beyond the first rows
    assert samples["age"] == ("40",)
    assert samples["long"] == ("y" * (SAMPLE_CHARS - 1) + "…",)
    assert samples["empty"] == ()
