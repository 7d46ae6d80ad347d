"""Typed cells rendered as text (package-internal): Parquet / Arrow columns, JSON and Excel
values. Ingest reads every format as text so that one validation path serves them all and
error messages can quote what the file said - except the typed columns validation reads in
their typed form (:mod:`preauth.ingest._typed`), whose refused values alone are rendered."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.values import value_text
from preauth.ingest._arrow import workers
from preauth.ingest._headers import blank_names


def text_table(table: pa.Table,
               keep: Callable[[pa.ChunkedArray], bool] | None = None) -> pa.Table:
    """``table`` with every column rendered as text (:func:`text_column`) - except those
    ``keep`` says to keep as they are - and blank headers named."""
    names = blank_names([str(n) for n in table.column_names])

    def render(col: pa.ChunkedArray) -> pa.ChunkedArray:
        return col if keep is not None and keep(col) else text_column(col)

    if table.num_rows < 50_000 or table.num_columns < 2:
        return pa.table([render(col) for col in table.columns], names=names)
    # Arrow's casts release the GIL: render the columns in parallel threads.
    with ThreadPoolExecutor(max_workers=workers()) as pool:
        columns = list(pool.map(render, table.columns))
    return pa.table(columns, names=names)


def text_column(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """Render a typed column as text: bool -> 'true'/'false', numbers -> str, dates -> ISO."""
    if isinstance(col, pa.Array):
        col = pa.chunked_array([col], type=col.type)
    t = col.type
    if pa.types.is_dictionary(t):
        return text_column(col.cast(t.value_type))
    if pa.types.is_string(t):
        return col
    if pa.types.is_large_string(t) or pa.types.is_string_view(t) or pa.types.is_null(t):
        return col.cast(pa.string())
    if pa.types.is_floating(t):
        col = pc.if_else(pc.is_nan(col), pa.scalar(None, t), col)
        return col.cast(pa.string())
    if pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_decimal(t) \
            or pa.types.is_date(t):
        return col.cast(pa.string())
    if pa.types.is_timestamp(t):
        return _timestamp_text(col)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return col.cast(pa.string())
    return pa.chunked_array([pa.array([None if v is None else cell_text(v)
                                       for v in col.to_pylist()], pa.string())])


def _timestamp_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Each timestamp on its own (not by its neighbours: a file read in batches renders
    alike): without a time zone and at midnight its date, as :func:`cell_text` gives it;
    else ``YYYY-MM-DD HH:MM:SS``, with the fraction of a second only when there is one."""
    t = col.type
    seconds = col.cast(pa.timestamp("s", t.tz), safe=False)
    whole = pc.equal(seconds.cast(t, safe=False), col)
    text = pc.if_else(whole, pc.strftime(seconds, "%Y-%m-%d %H:%M:%S"),
                      pc.strftime(col, "%Y-%m-%d %H:%M:%S"))
    if t.tz is None:
        as_date = col.cast(pa.date32(), safe=False)
        midnight = pc.equal(as_date.cast(t, safe=False), col)
        text = pc.if_else(midnight, as_date.cast(pa.string()), text)
    return text


def cell_text(value: Any) -> str | None:
    """Text of one typed value (JSON / Excel / nested Parquet): a scalar as the catalog writes
    it (:func:`preauth.catalog.values.value_text`, the text the value rules read), except that
    a NaN cell is empty; a time in ISO; anything else (lists, objects) as JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is None or isinstance(value, str | bool | int | float | dt.date):
        return value_text(value)
    if isinstance(value, dt.time):
        return value.isoformat()
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)

