"""Typed columns validated in their typed form (package-internal).

A Parquet file (or an in-memory Arrow table) says what each column holds. When that type
already holds a field's values - ``bool`` or an integer (1/0) for a boolean field, an integer
or ``float64`` for an integer or number field, ``date32`` or a timestamp without a time zone
for a date field - :mod:`~preauth.ingest.validate` reads the column as it is: the catalog's
rules run on the values themselves (:func:`preauth.catalog.values.number_values`,
:func:`~preauth.catalog.values.date_values`, the very kernels the text rules end in), and only
the refused rows are rendered as text, for their error lines. A dictionary of text for an enum
or text field (a pandas category; low-cardinality Parquet text is read so) has only its
distinct values trimmed and parsed (:func:`~preauth.catalog.values.parse_texts`). Every other
column - and a typed column mapped to a field its type does not fit - is rendered as text
(:func:`~preauth.ingest._cells.text_column`) and parsed, as a CSV file's cells are.

Both ways give the same result: the same accepted values, the same refused rows, the same
messages quoting the value as the text reader renders it (a property test validates random
typed columns from a Parquet file and from the same values written as CSV text). An integer or
float is its digits; a float NaN is an empty cell - not documented, not refused; infinities,
numbers out of the field's range and non-whole numbers for an integer field are refused; a
boolean field takes true/false or the integers 1/0 and refuses other integers; a date field
takes dates from 0001-01-01 to 9999-12-31 and timestamps at midnight. ``float32`` (whose
shortest digits name a different double than its value), decimals, ``date64``, timestamps
with a time zone are read as text, and so is case_id (its text identifies the row).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.fields import Field, Kind
from preauth.catalog.values import MAX_CELL_CHARS, TRIM, date_values, number_values, parse_texts
from preauth.ingest._arrow import flat, np_bool
from preauth.ingest._cells import text_column

__all__ = ["coerce_typed", "kept_column", "reads_typed"]


def _text_dictionary(t: pa.DataType) -> bool:
    return pa.types.is_dictionary(t) and (pa.types.is_string(t.value_type)
                                          or pa.types.is_large_string(t.value_type))


def kept_column(col: pa.ChunkedArray | pa.Array) -> bool:
    """Whether a file's column is kept typed when read (the rest become text): of a type
    :func:`reads_typed` reads for some field - and, for a dictionary of text, no value longer
    than MAX_CELL_CHARS characters (such a cell is reported as text is)."""
    t = col.type
    if _text_dictionary(t):
        chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
        return all(not len(c.dictionary)
                   or pc.max(pc.utf8_length(c.dictionary)).as_py() <= MAX_CELL_CHARS
                   for c in chunks)
    return (pa.types.is_boolean(t) or pa.types.is_integer(t) or t == pa.float64()
            or pa.types.is_date32(t) or (pa.types.is_timestamp(t) and t.tz is None))


def reads_typed(field: Field | None, col: pa.ChunkedArray) -> bool:
    """Whether validation reads ``col`` for ``field`` in its typed form. ``None``: an
    unmapped column, whose values are never read - kept as it is, but for a dictionary of
    text (read as text: its cells are checked for length)."""
    t = col.type
    if not kept_column(col):
        return False
    if field is None:
        return not pa.types.is_dictionary(t)
    if pa.types.is_dictionary(t):
        return field.kind is Kind.ENUM or (field.kind is Kind.TEXT and not field.required)
    if field.kind is Kind.BOOLEAN:
        return pa.types.is_boolean(t) or pa.types.is_integer(t)
    if field.kind in (Kind.INTEGER, Kind.NUMBER):
        return pa.types.is_integer(t) or pa.types.is_floating(t)
    if field.kind is Kind.DATE:
        return pa.types.is_date32(t) or pa.types.is_timestamp(t)
    return False


def coerce_typed(f: Field, col: pa.ChunkedArray, procedure: bool = False
                 ) -> tuple[pa.Array | pa.ChunkedArray, np.ndarray | None, np.ndarray | None,
                            pa.Array | pa.ChunkedArray | None]:
    """Read typed ``col`` (:func:`reads_typed`) for field ``f``: ``(values, invalid, given,
    text)`` - the field's values (NULL where empty or refused), per row whether a present
    value is refused (``None``: none is), per row whether the cell is not empty (only for a
    ``procedure`` field: cpt_code, region, contrast), and the column's text in the refused
    rows, NULL in the others (``None`` when none is refused; every row for a procedure field,
    whose contradictions quote accepted values)."""
    if pa.types.is_dictionary(col.type):
        return _coerce_dictionary(f, col, procedure)
    want_given = procedure
    t = col.type
    present = pc.is_valid(col)
    if f.kind is Kind.BOOLEAN and pa.types.is_boolean(t):  # nothing to refuse
        return col, None, np_bool(present) if want_given else None, None
    if pa.types.is_floating(t):  # a NaN cell reads as empty, as its text does
        present = pc.and_kleene(present, pc.invert(pc.is_nan(col)))
    values: pa.Array | pa.ChunkedArray
    if f.kind is Kind.BOOLEAN:
        values = _one_zero(col)
    elif f.kind is Kind.DATE:
        values = date_values(col)
    else:
        values = number_values(f, col.cast(pa.float64(), safe=False))
    refused = pc.and_kleene(present, pc.is_null(values))
    invalid = np_bool(refused) if pc.any(refused).as_py() else None
    given = np_bool(present) if want_given else None
    return values, invalid, given, _text_where(col, invalid)


def _coerce_dictionary(f: Field, col: pa.ChunkedArray, procedure: bool
                       ) -> tuple[pa.ChunkedArray, np.ndarray | None, np.ndarray | None,
                                  pa.Array | pa.ChunkedArray | None]:
    """:func:`coerce_typed` of a dictionary of text: each distinct value trimmed and parsed
    once, by the text rules, and gathered back through the indices."""
    col = _one_dictionary(col)
    dictionary = col.chunk(0).dictionary.cast(pa.string())
    trimmed = pc.utf8_trim(dictionary, characters=TRIM)
    filled = pc.fill_null(pc.not_equal(trimmed, ""), False)
    parsed = parse_texts(f, trimmed, trimmed=True)
    refused = pc.and_(filled, pc.is_null(parsed))

    def expand(arr: pa.Array) -> pa.ChunkedArray:
        return pa.chunked_array([arr.take(c.indices) for c in col.chunks], arr.type)

    refused_rows = expand(refused)
    invalid = np_bool(refused_rows) if pc.any(refused_rows).as_py() else None
    given = np_bool(expand(filled)) if procedure else None
    text = text_column(col) if procedure else _text_where(col, invalid)
    return expand(parsed), invalid, given, text


def _one_dictionary(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """``col`` with one dictionary for all its chunks (at least one chunk)."""
    if col.num_chunks == 0:
        return pa.chunked_array([pa.array([], col.type.value_type).dictionary_encode()
                                 .cast(col.type)], col.type)
    return col.unify_dictionaries() if col.num_chunks > 1 else col


def _one_zero(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Integers as booleans: 1 true, 0 false, any other refused (NULL) - as their digits
    read."""
    no = pc.if_else(pc.equal(col, 0), False, pa.scalar(None, pa.bool_()))
    return pc.if_else(pc.equal(col, 1), True, no)


def _text_where(col: pa.ChunkedArray, rows_mask: np.ndarray | None) -> pa.Array | None:
    """``col`` rendered as text (:func:`~preauth.ingest._cells.text_column`) in the rows of
    ``rows_mask``, NULL in the others: only the refused rows are rendered. (A timestamp's
    rendering depends on its whole column - dates when all are at midnight, no fraction when
    all are whole seconds - but every row that is not at midnight is refused, so the refused
    rows decide it as the whole column would.)"""
    n = len(col)
    if rows_mask is None:
        return None
    rows = np.flatnonzero(rows_mask)
    text = flat(text_column(col.take(pa.array(rows, pa.int64()))))
    at = np.full(n, -1, dtype=np.int64)
    at[rows] = np.arange(len(rows))
    return text.take(pa.array(at, pa.int64(), mask=at < 0))
