"""A typed Parquet column is validated in its typed form (preauth.ingest._typed) with exactly
the result its text gives: the same values written as CSV text - each cell as the Parquet
reader renders a typed value (digits, ISO dates, ``YYYY-MM-DD HH:MM:SS``, a NaN as an empty
cell) - give the same accepted table, the same error lines (rows, columns, the values quoted,
messages) and the same counts. Read whole or in batches."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preauth.catalog.fields import FIELDS_BY_NAME, Kind
from preauth.ingest._cells import text_column
from preauth.ingest.errors import IngestError
from preauth.ingest.read import read_raw
from preauth.ingest.stream import validate_in_batches
from preauth.ingest.validate import IngestResult, validate
from tests.fast import examples

_EPOCH = dt.date(1970, 1, 1)
_FIRST, _LAST = (dt.date(1, 1, 1) - _EPOCH).days, (dt.date(9999, 12, 31) - _EPOCH).days
_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}
INTS = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint32(), pa.uint64()]
# the numbers that sit on a rule's edge, for every numeric field
EDGES = [0, -0.0, 0.5, 1, -1, 7, 10, 10.5, 11, 40, 119.5, 120, 120.25, 121, 2**31 - 1, 2**31,
         -(2**31), 2**53 + 1, 1e15, 1e16, 1e300, 1e-7, 5e-324, 1.7976931348623157e308,
         math.nan, math.inf, -math.inf]


def _fits(value: Any, t: pa.DataType) -> bool:
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return pa.types.is_floating(t)
    if pa.types.is_floating(t):
        return True
    info = {8: 2**7, 16: 2**15, 32: 2**31, 64: 2**63}[t.bit_width]
    v = int(value)
    if value == 0 and math.copysign(1, value) < 0:
        return False
    return (0 <= v < 2 * info) if pa.types.is_unsigned_integer(t) else (-info <= v < info)


@st.composite
def number_column(draw: st.DrawFn, n: int) -> pa.Array:
    t = draw(st.sampled_from([*INTS, pa.float64(), pa.float64()]))
    values = st.one_of(st.none(), st.sampled_from(EDGES), st.integers(-200, 300),
                       st.floats(-1e3, 1e3), st.floats(allow_nan=True, allow_infinity=True),
                       st.integers(-(2**63), 2**64 - 1))
    cells = [v for v in draw(st.lists(values, min_size=n * 3, max_size=n * 6))
             if v is None or _fits(v, t)][:n]
    cells += [None] * (n - len(cells))
    as_type = int if pa.types.is_integer(t) else float
    cells = [None if v is None else as_type(v) for v in cells]
    return pa.array(cells, t)


@st.composite
def boolean_column(draw: st.DrawFn, n: int) -> pa.Array:
    if draw(st.booleans()):
        return pa.array(draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=n,
                                      max_size=n)), pa.bool_())
    t = draw(st.sampled_from([pa.int8(), pa.int64(), pa.uint8()]))
    low = 0 if pa.types.is_unsigned_integer(t) else -1
    return pa.array(draw(st.lists(st.one_of(st.none(), st.integers(low, 2)), min_size=n,
                                  max_size=n)), t)


@st.composite
def date_column(draw: st.DrawFn, n: int) -> pa.Array:
    days = st.one_of(st.none(), st.integers(-800_000, 3_000_000), st.integers(17_000, 21_000),
                     st.sampled_from([_FIRST - 1, _FIRST, _LAST, _LAST + 1, 0, -1, 19_782]))
    cells = draw(st.lists(days, min_size=n, max_size=n))
    unit = draw(st.sampled_from([None, "s", "ms", "us", "ns"]))
    if unit is None:
        return pa.array(cells, pa.int32()).cast(pa.date32())
    if unit == "ns":  # nanoseconds reach 1677-2262 only
        cells = [None if d is None else max(-100_000, min(100_000, d)) for d in cells]
    off_midnight = draw(st.lists(st.sampled_from([0, 0, 0, 1, _DAY[unit] // 2]), min_size=n,
                                 max_size=n))
    ticks = [None if d is None else d * _DAY[unit] + o for d, o in zip(cells, off_midnight,
                                                                        strict=True)]
    return pa.array(ticks, pa.int64()).cast(pa.timestamp(unit))


TEXTS = ["f", " M ", "other", "Male", "", "x", "none", "Lumbar", "low velocity", "72148",
         "72148.0", "  "]


@st.composite
def typed_tables(draw: st.DrawFn) -> pa.Table:
    n = draw(st.integers(1, 12))
    columns: dict[str, pa.Array] = {
        "case_id": pa.array([f"C{i}" for i in range(n)]),
        "cpt_code": pa.array(draw(st.lists(st.sampled_from(["72148", "72141", "", "9"]),
                                           min_size=n, max_size=n))),
    }
    for name in draw(st.sets(st.sampled_from(["age", "pain_score", "symptom_weeks",
                                              "months_since_prior_mri"]), max_size=3)):
        columns[name] = draw(number_column(n))
    for name in draw(st.sets(st.sampled_from(["radiculopathy", "night_pain", "osteoporosis"]),
                             max_size=2)):
        columns[name] = draw(boolean_column(n))
    if draw(st.booleans()):
        columns["request_date"] = draw(date_column(n))
    for name in draw(st.sets(st.sampled_from(["sex", "trauma", "region", "carrier"]),
                             max_size=2)):
        texts = pa.array(draw(st.lists(st.one_of(st.none(), st.sampled_from(TEXTS)),
                                       min_size=n, max_size=n)), pa.string())
        columns[name] = texts.dictionary_encode() if draw(st.booleans()) else texts
    # read as text: a float32 number, a typed column for a field its type does not fit, and
    # typed columns no field takes
    if draw(st.booleans()):
        columns["symptom_weeks"] = pa.array(draw(st.lists(
            st.one_of(st.none(), st.floats(-2, 1e6, width=32)), min_size=n, max_size=n)),
            pa.float32())
    if draw(st.booleans()):
        columns["functional_impairment"] = draw(number_column(n)).cast(pa.float64(), safe=False)
    if draw(st.booleans()):
        columns["extra_number"] = draw(number_column(n))
        columns["extra_date"] = draw(date_column(n))
    return pa.table(columns)


def _as_csv(table: pa.Table) -> bytes:
    """``table`` as CSV text: every cell as the Parquet reader renders it as text."""
    columns = [text_column(col).to_pylist() for col in table.columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in zip(*columns, strict=True):
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode("utf-8")


def _same(typed: IngestResult, text: IngestResult) -> None:
    assert (typed.rows_in, typed.rows_accepted, typed.rows_rejected) == (
        text.rows_in, text.rows_accepted, text.rows_rejected)
    assert typed.rows_in == typed.rows_accepted + typed.rows_rejected
    assert typed.errors.to_pylist() == text.errors.to_pylist()
    assert typed.warnings.to_pylist() == text.warnings.to_pylist()
    assert typed.notes == text.notes
    assert typed.accepted.schema == text.accepted.schema
    assert typed.accepted.equals(text.accepted), (typed.accepted.to_pylist(),
                                                  text.accepted.to_pylist())
    assert typed.mapping == text.mapping


# A mapping profile's value maps and date format (applied to text: such columns are read as
# text, and must give what their CSV text gives too)
PROFILES: list[dict[str, Any]] = [
    {},
    {"values": {**{name: {"2": "yes", "-1": ""}
                       for name in ("radiculopathy", "night_pain", "osteoporosis")},
                "age": {"121": "120", "-1": ""}, "pain_score": {"11": "10", "-1": "0"},
                "symptom_weeks": {"-1": "0"}, "months_since_prior_mri": {"-1": ""},
                "sex": {"Male": "other", "x": ""}}},
    {"formats": {"request_date": "%Y-%m-%d"}},
]


@settings(max_examples=examples(150), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(table=typed_tables(), batch_rows=st.integers(1, 5), profile=st.sampled_from(PROFILES))
def test_typed_parquet_columns_validate_as_their_text(table: pa.Table, batch_rows: int,
                                                      profile: dict[str, Any],
                                                      tmp_path: Path) -> None:
    path = tmp_path / "typed.parquet"
    pq.write_table(table, path, row_group_size=4)
    raw = read_raw(path)
    kept = [name for name, t in zip(raw.headers, raw.table.schema.types, strict=True)
            if not pa.types.is_string(t)]
    assert all(not pa.types.is_floating(table[name].type) or table[name].type == pa.float64()
               for name in kept)
    try:
        text = validate(read_raw(_as_csv(table), "typed.csv"), **profile)
    except IngestError as err:  # a date format the text does not match: refused alike
        with pytest.raises(type(err)):
            validate(raw, **profile)
        return
    typed = validate(raw, **profile)
    _same(typed, text)
    batched = validate_in_batches(path, batch_rows, **profile)
    assert batched is not None
    _same(batched, typed)


def test_typed_columns_are_read_typed_and_refusals_quote_their_text(tmp_path: Path) -> None:
    """The examples the rules name: NaN is empty, infinities, out-of-range and non-whole
    numbers refused and quoted; a boolean field takes 1/0; a timestamp not at midnight is no
    date (request_date is lenient: a warning, the row kept)."""
    table = pa.table({
        "case_id": ["A", "B", "C", "D", "E"],
        "cpt_code": ["72148"] * 5,
        "age": pa.array([40.0, math.nan, 40.5, math.inf, 50]),
        "pain_score": pa.array([3, 11, None, -1, 0], pa.int64()),
        "radiculopathy": pa.array([1, 0, None, 2, 0], pa.int8()),
        "request_date": pa.array([dt.datetime(2024, 2, 29), None, None, None,
                                  dt.datetime(2024, 3, 1, 9, 30)], pa.timestamp("s")),
    })
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    raw = read_raw(path)
    assert raw.table.schema.types[2:5] == [pa.float64(), pa.int64(), pa.int8()]
    assert pa.types.is_timestamp(raw.table.schema.types[5])  # read typed: none as text
    result = validate(raw)
    assert [(e["row"], e["column"], e["value"]) for e in result.errors.to_pylist()] == [
        (2, "pain_score", "11"), (3, "age", "40.5"), (4, "age", "inf"),
        (4, "pain_score", "-1"), (4, "radiculopathy", "2")]
    assert result.errors["message"][1].as_py() == (
        "age must be a whole number from 0 to 120, got '40.5'")
    assert [(e["row"], e["column"], e["value"]) for e in result.warnings.to_pylist()] == [
        (5, "request_date", "2024-03-01 09:30:00")]
    assert result.accepted.select(["case_id", "age", "pain_score", "radiculopathy",
                                   "request_date"]).to_pylist() == [
        {"case_id": "A", "age": 40, "pain_score": 3, "radiculopathy": True,
         "request_date": dt.date(2024, 2, 29)},
        {"case_id": "E", "age": 50, "pain_score": 0, "radiculopathy": False,
         "request_date": None}]
    assert FIELDS_BY_NAME["age"].kind is Kind.INTEGER


def test_low_cardinality_text_is_read_as_a_dictionary_and_validates_alike(
        tmp_path: Path) -> None:
    """Text a Parquet file stores as a few distinct values is read as a dictionary - each
    distinct value parsed once - with the result its text gives; unique ids stay text; a
    dictionary holding an over-long value is read as text (reported as a long cell)."""
    n = 3000
    table = pa.table({
        "case_id": [f"C{i}" for i in range(n)],
        "cpt_code": ["72148", " 72141", "", "72148.0", "9"] * (n // 5),
        "sex": [" f", "x", None, "M", "Other"] * (n // 5),
        "region": ["lumbar", "Cervical", "", "thoracic", "lumbar"] * (n // 5),
        "trauma": pa.array(["none", "Low Velocity", "z" * 100_001, None]
                           + ["none", "Low Velocity", "x", None, "none"] * (n // 5 - 1) + ["none"])
        .dictionary_encode(),
    })
    path = tmp_path / "low.parquet"
    pq.write_table(table, path)
    raw = read_raw(path)
    types = dict(zip(raw.headers, raw.table.schema.types, strict=True))
    assert pa.types.is_dictionary(types["sex"]) and pa.types.is_dictionary(types["region"])
    assert types["case_id"] == types["trauma"] == pa.string()
    typed = validate(raw)
    assert {e["message"] for e in typed.errors.to_pylist()} >= {
        "cell longer than 100,000 characters",
        "region 'thoracic' contradicts cpt_code 72148 (lumbar)"}
    assert any(w["column"] == "sex" and w["value"] == "x" for w in typed.warnings.to_pylist())
    _same(typed, validate(read_raw(_as_csv(table), "low.csv")))
    batched = validate_in_batches(path, 700)
    assert batched is not None
    _same(batched, typed)
