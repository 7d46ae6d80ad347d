"""One rule per value (issue 9, item 3): for every catalog field, the ``Case`` model (behind the
explorer's form and JSON), ingest's ``validate`` of a table holding the value, and share-link
decoding accept and refuse exactly the same texts and read them as the same value; the form's
widgets hold every value the others accept and give it back unchanged.

The texts are random strings and near-misses for each kind: case variants (including the
Unicode letters whose lower case is an ASCII letter to Arrow but not to Python), whitespace
that is trimmed and whitespace that is not, ``4e1``, ``72148.0``, ``2024/01/05``, impossible
dates, non-ASCII digits, thousands separators, empty, and longer than a cell may be.

The row rules that are ingest's own: a row of a file must name its procedure (cpt_code, or
region and contrast), while a case being typed in may not have one yet - where a case has
none, ingest must refuse the row with that error and nothing else; and a value a *lenient*
field (sex, request_date, carrier, the payer outcomes) does not accept, which the Case model
refuses, is read by ingest as not documented with a warning, the row kept.

Two rules read the whole column: the order of slash dates and checkbox columns. A single
value is a column of one for both ways in, so values whose reading depends on their column
(slash dates, check marks) are compared one row at a time; a column of one slash date that
reads as two dates is refused by the Case model and makes ingest ask which order
(:class:`~preauth.ingest.errors.AmbiguousDates`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from preauth.catalog.case import Case
from preauth.catalog.fields import CLINICAL_FIELDS, FIELDS, FIELDS_BY_NAME, Field, Kind
from preauth.catalog.share import read_link
from preauth.catalog.values import CHECK_MARKS, MAX_CELL_CHARS, TRIM
from preauth.ingest.errors import AmbiguousDates
from preauth.ingest.raw import RawTable
from preauth.ingest.validate import validate
from tests.fast import examples
from ui.case_form import from_widget, to_widget

SHARED = {f.name for f in CLINICAL_FIELDS} - {"region", "contrast"}  # what a link can hold
FORM = SHARED - {"case_id", "carrier", "request_date"}  # what the form has a widget for
NO_PROCEDURE = "no requested procedure: give cpt_code (or region and contrast)"
UNTRIMMED = "\u2003\u2028\u3000\x1c\x85"  # whitespace to Python, not to the value rules
LONG = MAX_CELL_CHARS + 1

# --- the texts ---------------------------------------------------------------------------------

_COMMON = ["", " ", "\t\r\n", "\u00a0", "\ufeff", "\u2003", "x", "?", "null", "None", "N/A",
           "-", "'", '"', "x" * 300, "é" * 80, "x" * MAX_CELL_CHARS, "x" * LONG, " " * LONG,
           "1" * LONG, " " + "1" * MAX_CELL_CHARS]
_BOOLEAN = ["true", "false", "TRUE", "False", "tRuE", "t", "f", "T", "F", "yes", "no", "YES",
            "No", "y", "n", "Y", "N", "1", "0", " yes ", "\u00a0no\u00a0", "\ufeffy", "1.0",
            "0.0", "01", "2", "-1", "yes.", "ye s", "yes\u2003", "oui", "on", "off", "ｙｅｓ",
            "１", "true\x00", "Yes/No", "X", "x", " X ", "\u2713", "\u2714", "\u2717", "XX",
            "x\u2003"]
_NUMBER = ["0", "40", "4e1", "4E1", "40.", ".5", "40.0", "40.5", "+40", "-0", "-1", "00040",
           "1e2", "1e-2", "1e308", "1e309", "-1e309", "inf", "-inf", "Infinity", "nan", "NaN",
           "0x10", "1_0", "1,000", "1 000", "١٢", "４０", "٤", "12 weeks", " 7 ", "\u20037",
           "7\u00a0", "e5", "5e", ".", "+", "--1", "1e", "2147483647", "2147483648",
           "-2147483649", "1" + "0" * 400, "0" * 300 + "1", "0." + "0" * 400 + "1",
           "9" * 40, "1.5e1", "6", "6.0", "10", "11", "120", "121", "5", "3.3"]
_DATE = ["2024-01-05", "2024/01/05", "2024-1-5", "2024/1/05", "2024-01-05T00:00",
         "2024-01-05 00:00:00", "2024-01-05 00:00:00.000", "2024-01-05T00:00:00.5",
         "2024-01-05T10:30", "2024-01-05Z", "2024-02-29", "2023-02-29", "2024-02-30",
         "2024-13-01", "2024-00-10", "2024-01-00", "0000-01-01", "0001-01-01", "9999-12-31",
         "10000-01-01", "05/01/2024", "1/5/2024", "2024.01.05", "20240105", "２０２４-01-05",
         "2024-01-05\u2003", " 2024-01-05 ", "2024-001-05", "2024-1-5 00:00", "24-01-05",
         "2024-01-05T00:00:00+00:00", "2024/01-05", "13/04/2024", "04/13/2024", "4/13/2024",
         "13/4/2024 00:00", "04/13/2024 12:00:00 AM", "04/13/2024 12:00 PM", "5/5/2024",
         "05/5/2024", "13.04.2024", "1.13.2024", "31.02.2024", "29.2.2024", "02/30/2024",
         "30/02/2024", "13/13/2024", "0/13/2024", "1/5/24", "13-04-2024", "13/04/2024T00:00"]
_CPT = ["72148", "72148.0", "72148.00", "72148.5", " 72148 ", "72148\n", "７２１４８", "072148",
        "72148e0", "72,148", "72148.0.0", "7214", "99999", "lumbar", "72141", "72158.0"]


def _case_variants(values: tuple[str, ...]) -> list[str]:
    out = []
    for v in values:
        out += [v, v.upper(), v.title(), v.replace("_", " "), v.replace("_", "-"),
                v.replace("_", "  "), v.replace("_", ""), f" {v} ", f"{v}s", v[:-1],
                v.upper().replace("I", "İ"), v.replace("k", "\u212a"), v + "\u2003"]
    return out


def near_misses(f: Field) -> list[str]:
    """Texts that are almost (or just) acceptable for ``f``'s kind, and some that are not."""
    by_kind = {Kind.BOOLEAN: _BOOLEAN, Kind.INTEGER: _NUMBER, Kind.NUMBER: _NUMBER,
               Kind.DATE: _DATE, Kind.TEXT: ["C1", " C1 ", "C 1", "a,b", "x\ny", "=1+1"]}
    texts = by_kind.get(f.kind) or [*_case_variants(f.values), "other", "none", "1",
                                    *_case_variants(tuple(s for s, _ in f.value_synonyms))]
    if f.name == "cpt_code":
        texts = [*texts, *_CPT]
    if f.minimum is not None:
        texts = [*texts, f"{f.minimum:g}", f"{f.minimum - 1:g}", f"{f.minimum - 0.5:g}"]
    if f.maximum is not None:
        texts = [*texts, f"{f.maximum:g}", f"{f.maximum + 1:g}", f"{f.maximum + 0.5:g}"]
    return _COMMON + texts


_ALPHABETS = {
    Kind.BOOLEAN: "truefalsyno10TRUEFALSYNO .\u00a0",
    Kind.INTEGER: "0123456789.eE+-_ ,x١٤\u00a0",
    Kind.NUMBER: "0123456789.eE+-_ ,x١٤\u00a0",
    Kind.DATE: "0123456789-/T:. ZAM\u00a0",
}


def texts(f: Field) -> st.SearchStrategy[str]:
    """Random strings for ``f``: near-misses padded by whitespace (trimmed or not), strings over
    the characters its kind is spelled with, any text, and now and then a very long one."""
    pad = st.text(alphabet=TRIM + UNTRIMMED, max_size=2)
    alphabet = _ALPHABETS.get(f.kind) or "".join(sorted(set("".join(f.values)))) + " -_AEIİ"
    return st.one_of(
        st.sampled_from(near_misses(f)),
        st.tuples(pad, st.sampled_from(near_misses(f)), pad).map("".join),
        st.text(alphabet=alphabet, max_size=14),
        st.text(max_size=30),
        st.tuples(st.sampled_from(["", " ", "7"]), st.sampled_from(["x", "1", " "]),
                  st.integers(LONG - 2, LONG + 1)).map(lambda t: t[0] + t[1] * t[2]),
    )


# --- the three ways in -----------------------------------------------------------------------

def context(f: Field, with_region: bool = False) -> dict[str, str]:
    """The rest of the row a value is tried in: a case_id and the requested procedure."""
    row = {"case_id": "c1"}
    if f.name != "cpt_code":
        row["cpt_code"] = "72148"
    elif with_region:
        row |= {"region": "lumbar", "contrast": "without"}
    return row


def by_case(row: dict[str, str], name: str) -> tuple[bool, Any, Any]:
    """(accepted, the value read, the case's cpt_code) by the ``Case`` model."""
    try:
        case = Case(**row)
    except ValidationError:
        return False, None, None
    return True, getattr(case, name), case.cpt_code


AMBIGUOUS = "(ingest asked which order the dates are in)"


def by_ingest(rows: list[dict[str, str]], name: str
              ) -> list[tuple[bool, Any, list[str], list[str]]]:
    """Per row: (accepted, the value read, the error messages, the warnings) by ingest's
    ``validate``; one row ``(False, None, [AMBIGUOUS], [])`` when it asks the date order."""
    columns = list(dict.fromkeys(k for r in rows for k in r))
    table = pa.table({c: pa.array([r.get(c, "") for r in rows], pa.string()) for c in columns})
    try:
        result = validate(RawTable.from_arrow(table, "values.csv"))
    except AmbiguousDates:
        assert len(rows) == 1
        return [(False, None, [AMBIGUOUS], [])]
    assert result.rows_in == len(rows) == result.rows_accepted + result.rows_rejected
    accepted = dict(zip(result.accepted["row"].to_pylist(),
                        result.accepted[name].to_pylist(), strict=True))
    messages: dict[int, list[str]] = {}
    for e in result.errors.to_pylist():
        messages.setdefault(e["row"], []).append(e["message"])
    warned: dict[int, list[str]] = {}
    for w in result.warnings.to_pylist():
        assert w["row"] in accepted
        warned.setdefault(w["row"], []).append(w["message"])
    return [(i in accepted, accepted.get(i), messages.get(i, []), warned.get(i, []))
            for i in range(1, len(rows) + 1)]


def column_dependent(f: Field, text: str) -> bool:
    """Whether ``text``'s reading depends on the rest of its column: a slash date (the
    column's order) or a check mark (a checkbox column)."""
    if f.kind is Kind.DATE:
        return "/" in text
    return f.kind is Kind.BOOLEAN and text.strip(TRIM) in CHECK_MARKS


def by_link(name: str, text: str) -> tuple[bool, Any]:
    """(accepted, the value read) by share-link decoding, beside a CPT code as links carry."""
    params = {name: [text]} if name == "cpt_code" else {"cpt_code": ["72148"], name: [text]}
    link = read_link(params)
    return name not in link.refused, link.case[name]


def same(a: Any, b: Any) -> bool:
    """Equal and of the same type (``True == 1`` and ``1 == 1.0`` do not count)."""
    return type(a) is type(b) and a == b


def check_agree(f: Field, text: str, with_region: bool = False) -> None:
    row = context(f, with_region) | {f.name: text}
    [ingested] = by_ingest([row], f.name)
    check_case_and_ingest(f, row, by_case(row, f.name), ingested)
    check_link_and_form(f, text)


def check_case_and_ingest(f: Field, row: dict[str, str], cased: tuple[bool, Any, Any],
                          ingested: tuple[bool, Any, list[str], list[str]]) -> None:
    (case_ok, case_value, case_cpt) = cased
    (ingest_ok, ingest_value, messages, warnings) = ingested
    if messages == [AMBIGUOUS]:  # a slash date that reads as two dates
        assert not case_ok, (f.name, row)
        return
    if case_ok and case_cpt is None:  # a case without a procedure: ingest's row rule
        assert messages == [NO_PROCEDURE], (f.name, row, messages)
        return
    if f.lenient and not case_ok and not any("longer than" in m for m in messages):
        # ingest's lenient rule: not documented, with a warning; the row kept
        assert ingest_ok and ingest_value is None, (f.name, row, messages)
        assert len(warnings) == 1 and warnings[0].startswith(f"{f.name} '"), warnings
        return
    assert not warnings, (f.name, row, warnings)
    assert case_ok == ingest_ok, (f.name, row, case_ok, messages)
    assert same(case_value, ingest_value), (f.name, row, case_value, ingest_value)


def check_link_and_form(f: Field, text: str) -> None:
    if f.name not in SHARED:
        return
    context_row = {"case_id": "shared-case", "cpt_code": "72148"}
    case_ok, case_value, _ = by_case(context_row | {f.name: text}, f.name)
    link_ok, link_value = by_link(f.name, text)
    assert link_ok == case_ok, (f.name, text, link_ok)
    if case_ok:
        assert same(link_value, case_value), (f.name, text, link_value, case_value)
    else:  # left out of the case (a link's case_id falls back to its default)
        assert link_value == ("shared-case" if f.name == "case_id" else None), (f.name, text)
    if f.name in FORM and case_value is not None:  # the form holds it and gives it back
        widget_value = from_widget(f, to_widget(f, case_value))
        assert same(widget_value, case_value), (f.name, case_value, widget_value)
        assert same(by_case(context_row | {f.name: widget_value}, f.name)[1], case_value)


# --- the tests ---------------------------------------------------------------------------------

def _near_miss_fields() -> list[Any]:
    """Every field; in the fast loop one boolean field per way the checks can differ (group,
    outcome or not, in a link and the form or not) - the other booleans read the same texts by
    the same rule, and `make test` checks them all."""
    seen: set[tuple[Any, ...]] = set()
    params = []
    for f in FIELDS:
        key = (f.kind, f.group, f.outcome, f.red_flag, f.name in SHARED, f.name in FORM)
        repeat = f.kind is Kind.BOOLEAN and key in seen
        seen.add(key)
        params.append(pytest.param(f.name, marks=[pytest.mark.slow] if repeat else []))
    return params


@pytest.mark.parametrize("name", _near_miss_fields())
def test_every_near_miss_is_read_alike(name: str) -> None:
    """Every near-miss of the field's kind: the Case model and ingest (all of them in one table,
    so through ingest's dictionary-encoded path too) agree, and so do links and the form."""
    f = FIELDS_BY_NAME[name]
    variants = [(text, region) for text in near_misses(f)
                for region in ((False, True) if name == "cpt_code" else (False,))]
    rows = [context(f, region) | {f.name: text} for text, region in variants]
    if name != "case_id":
        rows = [row | {"case_id": f"c{i}"} for i, row in enumerate(rows)]
    # one row each: case_ids (one table would make repeats duplicates) and the values read as
    # their column says (slash dates, check marks); the rest in one table, twice (>= 64 rows:
    # ingest's dictionary-encoded path)
    alone = [name == "case_id" or column_dependent(f, text) for text, _ in variants]
    together = [row for row, a in zip(rows, alone, strict=True) if not a]
    read = iter(by_ingest(together * 2, name)[:len(together)] if together else [])
    ingested = [by_ingest([row], name)[0] if a else next(read)
                for row, a in zip(rows, alone, strict=True)]
    for row, result in zip(rows, ingested, strict=True):
        check_case_and_ingest(f, row, by_case(row, name), result)
    for text, _ in variants:
        check_link_and_form(f, text)


@st.composite
def field_and_text(draw: st.DrawFn) -> tuple[str, str, bool]:
    f = draw(st.sampled_from(FIELDS))
    return f.name, draw(texts(f)), f.name == "cpt_code" and draw(st.booleans())


@settings(max_examples=examples(600), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=field_and_text())
@example(case=("sex", "f", False))
@example(case=("trauma", "low velocity", False))
@example(case=("cpt_code", "72148.0", False))
@example(case=("request_date", "2024/01/05", False))
@example(case=("age", "4e1", False))
@example(case=("contrast", "WİTHOUT", False))
def test_random_strings_are_read_alike(case: tuple[str, str, bool]) -> None:
    name, text, with_region = case
    check_agree(FIELDS_BY_NAME[name], text, with_region)


def test_the_values_that_drifted_are_now_read_alike() -> None:
    """The values issue 9 found the Case model refusing and ingest accepting: ingest's rule is
    the reference, so the model now reads them as ingest does."""
    case = Case(case_id="c1", sex="f", trauma="low velocity", cpt_code="72148.0",
                request_date="2024/01/05", age="4e1")
    assert (case.sex, case.trauma, case.cpt_code, case.request_date, case.age) == \
        ("F", "low_velocity", "72148", dt.date(2024, 1, 5), 40)
    for name, text in (("sex", "f"), ("trauma", "low velocity"), ("cpt_code", "72148.0"),
                       ("request_date", "2024/01/05"), ("age", "4e1")):
        check_agree(FIELDS_BY_NAME[name], text)
