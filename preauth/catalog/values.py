"""Value parsers: how a cell's text becomes a case field's value, one rule per field kind.

Every way a value comes in applies these rules and only these: file ingest (a column at a
time, :func:`parse_texts`), the ``Case`` model behind the explorer's form and share links (one
value at a time, :func:`parse_value`). The rules:

* a value is trimmed of spaces, tabs, line breaks, NBSP and byte-order marks (:data:`TRIM`);
  empty is NULL - *not documented* - for every kind, never false or zero;
* a value longer than :data:`MAX_CELL_CHARS` characters is refused;
* text: the trimmed text;
* boolean: true/false, t/f, yes/no, y/n, 1/0, in any case. A *checkbox column* - one whose
  non-empty values are all ``X`` / ``x`` / ``✓`` / ``✔`` (:data:`CHECK_MARKS`) - reads a mark
  as true and an empty cell as false; anywhere else a mark is not a boolean;
* enum: one of the field's values in any case, with ``' '`` and ``'-'`` read as ``'_'`` when
  the values are spelled with underscores (``Low Velocity`` -> ``low_velocity``); the catalog's
  spelling is returned (``f`` -> ``F``); the field's other spellings
  (:attr:`~preauth.catalog.fields.Field.value_synonyms`: ``Male`` -> ``M``, ``Not certified``
  -> ``denied``) in any case, with ``' '``, ``'-'`` and ``'_'`` alike. ``cpt_code``: one of
  the codes, a trailing ``.0`` ignored (a spreadsheet that stored the code as a number);
* date: ``YYYY-MM-DD``, ``YYYY/MM/DD``, ``D.M.YYYY``, and ``M/D/YYYY`` or ``D/M/YYYY`` in the
  order the column shows (:mod:`preauth.catalog.dates`), optionally followed by a midnight
  time; a real calendar date from year 0001 on. A mapping profile may give a strptime format
  instead (:attr:`ColumnReading.date_format`): then every value must match it;
* integer / number: a plain decimal number - ``4e1`` yes; ``inf``, ``nan``, ``1,000``,
  ``1_000``, ``0x10`` and non-ASCII digits no - finite, within the field's minimum and
  maximum; an integer must be whole and fit in 32 bits. In a semicolon-delimited file the
  comma is a decimal separator (:attr:`ColumnReading.decimal_comma`: ``6,5`` -> 6.5).

Two rules look at the whole column - the order of slash dates and checkbox columns. A single
value is a column of one: ``13/04/2024`` and ``X`` are read, ``03/04/2024`` is refused (it
reads as two dates). What a file's column decided can be handed on
(:class:`ColumnReading`), so a file read in batches reads every batch alike.

:func:`parse_value` runs its one value through the very kernels :func:`parse_texts` uses (a
one-element Arrow array), so a single value and a column of values cannot disagree - Python's
own ``str.lower`` or ``float`` would (``'WİTHOUT'``, ``'١٢'``). The number and date rules
on values already read - :func:`number_values`, :func:`date_values` - are what the text rules
apply after reading a cell, and what ingest applies to a typed (Parquet) column without
turning it into text, so a typed column and its text cannot disagree either. To change a
rule, change it here: ingest, the form, share links and the CLI follow.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.dates import (
    DATE_ORDERS,
    check_date_format,
    date_values,
    parse_dates,
    parse_dates_as,
)
from preauth.catalog.fields import FIELDS_BY_NAME, Field, Kind
from preauth.catalog.schema import ARROW_TYPES

__all__ = [
    "BOOL_FALSE",
    "BOOL_TRUE",
    "CHECK_MARKS",
    "MAX_CELL_CHARS",
    "TRIM",
    "ColumnReading",
    "InvalidValue",
    "checkbox_column",
    "date_values",
    "number_values",
    "parse_bool",
    "parse_texts",
    "parse_value",
    "value_text",
]

TRIM = " \t\r\n\x0b\x0c\u00a0\ufeff"  # trimmed from both ends of every value
MAX_CELL_CHARS = 100_000  # a longer value is refused (before trimming)
BOOL_TRUE = ("true", "t", "yes", "y", "1")
BOOL_FALSE = ("false", "f", "no", "n", "0")
CHECK_MARKS = ("x", "X", "\u2713", "\u2714")  # x, X, ✓, ✔: ticked, in a checkbox column

_NUMBER = r"^(?:[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?)$"
_INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class ColumnReading:
    """How a column is read where the column, the file or a mapping profile decides.

    ``date_format``: a strptime format for a DATE field (a profile's; every value must match
    it, see :func:`preauth.catalog.dates.check_date_format`). ``date_order``: the order of
    slash dates, :data:`~preauth.catalog.dates.MONTH_FIRST` or ``DAY_FIRST``, decided
    elsewhere (by an earlier batch of the file); None: the column's own values decide.
    ``checkbox``: a BOOLEAN column read as a checkbox column (True), as yes/no words (False),
    or as its values show (None). ``decimal_comma``: a comma in a number is the decimal
    separator (a semicolon-delimited file).
    """

    date_format: str | None = None
    date_order: str | None = None
    checkbox: bool | None = None
    decimal_comma: bool = False

    def __post_init__(self) -> None:
        if self.date_format is not None:
            check_date_format(self.date_format)
        if self.date_order is not None and self.date_order not in DATE_ORDERS:
            raise ValueError(f"date_order must be one of {', '.join(DATE_ORDERS)}")


_AS_IS = ColumnReading()


class InvalidValue(ValueError):
    """A non-empty value its field does not accept. The message names the field, says what
    it must be and quotes the value (cut to 60 characters)."""

    def __init__(self, field: Field, text: str) -> None:
        self.field, self.text = field, text
        if len(text) > MAX_CELL_CHARS:
            message = f"{field.name} is longer than {MAX_CELL_CHARS:,} characters"
        else:
            message = f"{field.name} must be {field.describe_type()}, got {_quote(text)}"
        super().__init__(message)


def _quote(text: str, limit: int = 60) -> str:
    flat = "".join(" " if not c.isprintable() else c for c in text)
    return repr(flat if len(flat) <= limit else flat[:limit - 1] + "…")


# --- a column of texts ----------------------------------------------------------------------

def parse_texts(field: Field, texts: pa.Array | pa.ChunkedArray, *,
                trimmed: bool = False, reading: ColumnReading | None = None) -> pa.Array:
    """The values of text cells ``texts`` for ``field``, typed as the case table stores them
    (:data:`preauth.catalog.schema.ARROW_TYPES`): NULL where a cell is NULL, empty or not
    acceptable - except in a checkbox column, where an empty cell is false. ``trimmed=True``
    when the caller has already trimmed ``texts`` by :data:`TRIM` (ingest does, to tell empty
    cells from refused ones); ``reading``: what the file or a profile decided (the column's
    own values decide the rest)."""
    v = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    if v.type != pa.string():
        v = v.cast(pa.string())
    v = _within_length(v)
    if not trimmed:
        v = pc.utf8_trim(v, characters=TRIM)
    return _parse(field, v, reading or _AS_IS).cast(ARROW_TYPES[field.kind])


def checkbox_column(texts: pa.Array) -> bool | None:
    """Whether trimmed ``texts`` are a checkbox column: every non-empty value a mark of
    :data:`CHECK_MARKS` (True), some other value (False); None when no value is given."""
    given = pc.fill_null(pc.not_equal(texts, ""), False)
    if not pc.any(given).as_py():
        return None
    marks = pc.is_in(texts, value_set=pa.array(CHECK_MARKS))
    return bool(pc.all(pc.or_(pc.invert(given), marks)).as_py())


def _within_length(v: pa.Array) -> pa.Array:
    """``v`` with values longer than :data:`MAX_CELL_CHARS` characters made NULL (bytes are
    counted first: no value is longer in characters than in bytes)."""
    if len(v) == 0:
        return v
    longest = pc.max(pc.binary_length(v)).as_py()
    if longest is None or longest <= MAX_CELL_CHARS:
        return v
    too_long = pc.greater(pc.utf8_length(v), MAX_CELL_CHARS)
    return pc.if_else(too_long, pa.scalar(None, v.type), v)


def _parse(f: Field, v: pa.Array, reading: ColumnReading) -> pa.Array:
    """Typed values of trimmed text ``v`` for field ``f`` (NULL where empty or not valid)."""
    if f.kind is Kind.TEXT:
        return pc.if_else(pc.equal(v, ""), pa.scalar(None, v.type), v)
    if f.kind is Kind.BOOLEAN:
        checkbox = reading.checkbox
        if checkbox is None:
            checkbox = checkbox_column(v) or False
        return _checkbox(v) if checkbox else _boolean(v)
    if f.kind is Kind.ENUM:
        return _enum(f, v)
    if f.kind is Kind.DATE:
        if reading.date_format is not None:
            return parse_dates_as(v, reading.date_format)
        return parse_dates(v, reading.date_order)
    if reading.decimal_comma:
        v = pc.replace_substring(v, ",", ".", max_replacements=1)
    return _number(f, v)


def _boolean(v: pa.Array) -> pa.Array:
    low = pc.utf8_lower(v)
    no = pc.if_else(pc.is_in(low, value_set=pa.array(BOOL_FALSE)), False,
                    pa.scalar(None, pa.bool_()))
    return pc.if_else(pc.is_in(low, value_set=pa.array(BOOL_TRUE)), True, no)


def _checkbox(v: pa.Array) -> pa.Array:
    """A checkbox column: a mark is true, an empty (or NULL) cell false, anything else NULL."""
    blank = pc.fill_null(pc.equal(v, ""), True)
    no = pc.if_else(blank, False, pa.scalar(None, pa.bool_()))
    return pc.if_else(pc.fill_null(pc.is_in(v, value_set=pa.array(CHECK_MARKS)), False),
                      True, no)


def _enum(f: Field, v: pa.Array) -> pa.Array:
    low = pc.utf8_lower(v)
    if f.name == "cpt_code":  # codes are digits: no case; "72148.0" from a numeric cell
        key = pc.replace_substring_regex(v, r"\.0$", "")
        keys = list(f.values)
    else:
        key = low
        keys = [val.lower() for val in f.values]
        if any("_" in val for val in f.values):
            key = pc.replace_substring(pc.replace_substring(key, " ", "_"), "-", "_")
    found = pa.array(f.values, pa.string()).take(
        pc.index_in(key, value_set=pa.array(keys, pa.string())))
    if not f.value_synonyms:
        return found
    spelled = pc.replace_substring(pc.replace_substring(low, " ", "_"), "-", "_")
    synonyms = pa.array([value for _, value in f.value_synonyms], pa.string()).take(
        pc.index_in(spelled, value_set=pa.array([s for s, _ in f.value_synonyms],
                                                pa.string())))
    return pc.coalesce(found, synonyms)


def _number(f: Field, v: pa.Array) -> pa.Array:
    """INTEGER / NUMBER: a plain decimal number - no NaN, inf or thousands separators."""
    ok = pc.match_substring_regex(v, _NUMBER)
    return number_values(f, pc.if_else(ok, v, pa.scalar(None, v.type)).cast(pa.float64()))


# --- typed kernels: the rules on values already read (shared by text and typed columns) ----

def number_values(f: Field, number: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The values of float64 ``number`` that the INTEGER / NUMBER field ``f`` accepts, typed as
    the case table stores them (``int32`` / ``float64``): NULL where a number is NULL, not
    finite, outside the field's minimum and maximum or - for an integer - not whole or beyond
    32 bits. The text rule reads a cell's digits first (:func:`parse_texts`); ingest applies
    this to a typed (Parquet) column directly."""
    conds = pc.is_finite(number)
    if f.minimum is not None:
        conds = pc.and_(conds, pc.greater_equal(number, f.minimum))
    if f.maximum is not None:
        conds = pc.and_(conds, pc.less_equal(number, f.maximum))
    if f.kind is Kind.INTEGER:
        conds = pc.and_(pc.and_(conds, pc.equal(number, pc.floor(number))),
                        pc.less_equal(pc.abs(number), _INT32_MAX))
        return pc.if_else(conds, number, pa.scalar(None, pa.float64())).cast(pa.int32())
    return pc.if_else(conds, number, pa.scalar(None, pa.float64()))


# --- one value ------------------------------------------------------------------------------

def value_text(value: Any) -> str | None:
    """A typed Python value as the text of a cell holding it: ``None`` stays ``None``, text is
    kept, ``True`` -> ``'true'``, numbers as digits (``40.0`` -> ``'40'``; ``nan`` and ``inf``
    as words, which no field accepts), dates in ISO (a midnight ``datetime`` as its date)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def parse_value(field: Field | str, value: Any) -> Any:
    """One value for ``field`` (a :class:`Field` or its name) by the rules of
    :func:`parse_texts`: the Python value (``str``, ``bool``, ``int``, ``float`` or
    ``datetime.date``), ``None`` when it is empty (not documented); raises
    :class:`InvalidValue` when it is not acceptable. A typed value is read as its
    :func:`value_text`."""
    f = FIELDS_BY_NAME[field] if isinstance(field, str) else field
    text = value_text(value)
    if text is None:
        return None
    if len(text) > MAX_CELL_CHARS:  # even if it is all spaces
        raise InvalidValue(f, text)
    trimmed = pc.utf8_trim(pa.array([text], pa.string()), characters=TRIM)
    if trimmed[0].as_py() == "":
        return None
    parsed = parse_texts(f, trimmed, trimmed=True)[0].as_py()
    if parsed is None:
        raise InvalidValue(f, text)
    return parsed


_ANY_BOOLEAN = Field("value", Kind.BOOLEAN, "Value", "", "")


def parse_bool(value: Any) -> bool | None:
    """true/false, t/f, yes/no, y/n, 1/0 (any case) -> ``True``/``False``; empty -> ``None``;
    a check mark alone (``X``, a checkbox column of one) -> ``True``; anything else raises
    :class:`InvalidValue` (a ``ValueError``) quoting it."""
    result = parse_value(_ANY_BOOLEAN, value)
    return None if result is None else bool(result)
