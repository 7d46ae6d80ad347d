"""preauth.catalog.values: the value rules of every field kind, for one value and a column."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pyarrow as pa
import pytest

from preauth.catalog.fields import FIELDS_BY_NAME
from preauth.catalog.values import (
    MAX_CELL_CHARS,
    InvalidValue,
    parse_bool,
    parse_texts,
    parse_value,
    value_text,
)

ACCEPTED: list[tuple[str, Any, Any]] = [
    # text: trimmed of spaces, tabs, line breaks, NBSP and BOM - nothing else
    ("carrier", "  Aetna \t", "Aetna"), ("carrier", "\ufeff\u00a0Aetna\r\n", "Aetna"),
    ("carrier", "\u2003Aetna", "\u2003Aetna"), ("case_id", "=1+1", "=1+1"),
    # boolean
    ("radiculopathy", "Yes", True), ("radiculopathy", "t", True), ("radiculopathy", "1", True),
    ("radiculopathy", "N", False), ("radiculopathy", "FALSE", False),
    ("radiculopathy", True, True), ("radiculopathy", 0, False), ("radiculopathy", 1.0, True),
    # enum: any case, the catalog's spelling back; ' ' and '-' for '_'
    ("sex", "f", "F"), ("sex", "OTHER", "other"), ("trauma", "Low Velocity", "low_velocity"),
    # enum: other spellings exports use (Field.value_synonyms)
    ("sex", "Male", "M"), ("sex", "female", "F"), ("sex", "FEMALE", "F"),
    ("decision", "Approved", "approved"), ("decision", "Authorised", "approved"),
    ("decision", "Not certified", "denied"), ("decision", "Non-Certified", "denied"),
    ("final_decision", "Canceled", "cancelled"), ("decision", "In review", "pending"),
    ("decision", "PENDED", "pending"),
    ("trauma", "high-velocity", "high_velocity"), ("contrast", "WİTHOUT", "without"),
    ("cpt_code", "72148.0", "72148"), ("cpt_code", " 72158 ", "72158"),
    # date
    ("request_date", "2024-01-05", dt.date(2024, 1, 5)),
    ("request_date", "2024/1/5", dt.date(2024, 1, 5)),
    ("request_date", "2024-01-05T00:00", dt.date(2024, 1, 5)),
    ("request_date", "2024-01-05 00:00:00.000", dt.date(2024, 1, 5)),
    ("request_date", "0001-01-01", dt.date(1, 1, 1)),
    ("request_date", dt.date(2024, 2, 29), dt.date(2024, 2, 29)),
    ("request_date", dt.datetime(2024, 2, 29), dt.date(2024, 2, 29)),
    # a single value is a column of one: a slash date that reads only one way
    ("request_date", "04/13/2024", dt.date(2024, 4, 13)),
    ("request_date", "13/4/2024", dt.date(2024, 4, 13)),
    ("request_date", "5/05/2024 12:00:00 AM", dt.date(2024, 5, 5)),
    ("request_date", "13.04.2024", dt.date(2024, 4, 13)),
    ("request_date", "3.4.2024 00:00", dt.date(2024, 4, 3)),
    # ... and a check mark alone, a checkbox column of one
    ("radiculopathy", "X", True), ("radiculopathy", "✓", True),
    # numbers
    ("age", "4e1", 40), ("age", "40.0", 40), ("age", "+40", 40), ("age", 40.0, 40),
    ("age", "120", 120), ("age", "0", 0), ("symptom_weeks", "6.5", 6.5),
    ("symptom_weeks", ".5", 0.5), ("symptom_weeks", "1e308", 1e308),
    ("pain_score", " 7 ", 7),
]

REFUSED: list[tuple[str, Any]] = [
    ("radiculopathy", "maybe"), ("radiculopathy", "ｙｅｓ"), ("radiculopathy", "1.0"),
    ("radiculopathy", 2), ("sex", "woman"), ("decision", "Withdrawn"),
    ("decision", "not  certified"), ("trauma", "low  velocity"),
    ("trauma", "lowvelocity"), ("cpt_code", "72148.00"), ("cpt_code", "７２１４８"),
    ("cpt_code", "72140"), ("request_date", "05/01/2024"), ("request_date", "2024-02-30"),
    ("request_date", "2023-02-29"), ("request_date", "0000-01-01"),
    ("request_date", "03/04/2024"), ("request_date", "02/30/2024"),
    ("request_date", "31/31/2024"), ("request_date", "1/5/24"), ("request_date", "2024.01.05"),
    ("request_date", "13/04/2024 10:30"), ("radiculopathy", "XX"), ("radiculopathy", "✗"),
    ("request_date", "2024-01-05T10:30"), ("request_date", dt.datetime(2024, 1, 5, 10, 30)),
    ("age", "40.5"), ("age", "121"), ("age", "-1"), ("age", "١٢"), ("age", "４０"),
    ("age", "1_0"), ("age", "1,000"), ("age", "0x10"), ("age", True), ("age", 40.5),
    ("symptom_weeks", "inf"), ("symptom_weeks", "nan"), ("symptom_weeks", math.nan),
    ("symptom_weeks", math.inf), ("symptom_weeks", "1e309"), ("symptom_weeks", "-0.5"),
    ("pain_score", "12 weeks"), ("pain_score", "\u20037"),
]


@pytest.mark.parametrize(("name", "value", "expected"), ACCEPTED)
def test_accepted_values_and_what_they_read_as(name: str, value: Any, expected: Any) -> None:
    parsed = parse_value(name, value)
    assert parsed == expected and type(parsed) is type(expected)


@pytest.mark.parametrize(("name", "value"), REFUSED)
def test_refused_values_name_the_field(name: str, value: Any) -> None:
    f = FIELDS_BY_NAME[name]
    with pytest.raises(InvalidValue) as info:
        parse_value(f, value)
    message = str(info.value)
    assert message.startswith(f"{name} must be {f.describe_type()}, got '")


@pytest.mark.parametrize("value", [None, "", "   ", "\t\r\n", "\u00a0\ufeff"])
def test_empty_is_not_documented_for_every_kind(value: Any) -> None:
    for name in ("case_id", "radiculopathy", "sex", "cpt_code", "request_date", "age",
                 "symptom_weeks"):
        assert parse_value(name, value) is None


def test_a_value_longer_than_a_cell_is_refused_even_when_blank() -> None:
    assert parse_value("carrier", "x" * MAX_CELL_CHARS) == "x" * MAX_CELL_CHARS
    for text in ("x" * (MAX_CELL_CHARS + 1), " " * (MAX_CELL_CHARS + 1)):
        with pytest.raises(InvalidValue, match="carrier is longer than 100,000 characters"):
            parse_value("carrier", text)


def test_message_quotes_a_short_flat_value() -> None:
    with pytest.raises(InvalidValue) as info:
        parse_value("sex", "x\ny" + "z" * 100)
    assert str(info.value).endswith("got 'x y" + "z" * 56 + "…'")  # 60 characters


def test_a_column_reads_as_its_values_one_by_one() -> None:
    texts = [" Yes", "no", "", None, "maybe", "T", "0", "yes " * 3]
    column = parse_texts(FIELDS_BY_NAME["radiculopathy"], pa.array(texts, pa.string()))
    assert column.type == pa.bool_()
    expected = []
    for t in texts:
        try:
            expected.append(parse_value("radiculopathy", t))
        except InvalidValue:
            expected.append(None)
    assert column.to_pylist() == expected == [True, False, None, None, None, True, False, None]


def test_value_text_reads_typed_values_as_cells() -> None:
    assert [value_text(v) for v in (None, True, False, 40, 40.0, 6.5, 1e300, math.nan,
                                    dt.date(2024, 1, 5), dt.datetime(2024, 1, 5),
                                    dt.datetime(2024, 1, 5, 10, 30))] == \
        [None, "true", "false", "40", "40", "6.5", "1e+300", "nan", "2024-01-05",
         "2024-01-05", "2024-01-05 10:30:00"]


@pytest.mark.parametrize(("text", "value"), [
    ("yes", True), ("Y", True), ("1", True), ("TRUE", True), ("t", True),
    ("no", False), ("N", False), ("0", False), ("false", False), ("", None), (None, None)])
def test_parse_bool(text: str | None, value: bool | None) -> None:
    assert parse_bool(text) is value


def test_parse_bool_refuses_quoting_the_value() -> None:
    with pytest.raises(ValueError, match="maybe"):
        parse_bool("maybe")
