"""Parquet files: read with pyarrow; columns of the types validation reads typed (booleans,
integers, float64, dates, timestamps without a zone: :mod:`preauth.ingest._typed`) kept as
they are, the others rendered as text; text cells that are not UTF-8 reported per row. The
batched reader (:mod:`preauth.ingest.stream`) reads each row batch with :func:`parquet_raw`
too."""

from __future__ import annotations

import pyarrow as pa

from preauth.ingest._cells import text_table
from preauth.ingest._typed import kept_type
from preauth.ingest.errors import VALUE_CHARS, IngestError
from preauth.ingest.raw import RawTable

__all__ = ["parquet_raw", "read_parquet"]


def read_parquet(data: bytes, name: str) -> RawTable:
    import pyarrow.parquet as pq

    if not data.startswith(b"PAR1"):
        raise IngestError(f"{name}: is not a Parquet file (no PAR1 signature); expected a "
                          "Parquet table")
    table = pq.read_table(pa.BufferReader(data))
    if table.num_columns == 0:
        raise IngestError(f"{name}: the Parquet file has no columns; expected columns such "
                          "as case_id, cpt_code")
    return parquet_raw(table, name)


def parquet_raw(table: pa.Table, name: str) -> RawTable:
    """A (part of a) Parquet file's table as validation reads it - typed columns it reads in
    their typed form kept, the rest as text - with the cells that are not UTF-8 reported."""
    table, bad_text = _repair_utf8(table)
    return RawTable(text_table(table, keep=kept_type), name, "parquet",
                    read_errors=tuple(bad_text))


def _repair_utf8(table: pa.Table) -> tuple[pa.Table, list[tuple[int, str, str, str]]]:
    """Parquet declares text as UTF-8 but does not check it: a damaged or mislabelled file can
    hold byte sequences that are not text. Such a cell is decoded with U+FFFD in place of the
    bad bytes (so the value can be shown) and its row gets a read error; valid columns - the
    usual case - are checked in C++ and left untouched."""
    errors: list[tuple[int, str, str, str]] = []
    columns = []
    for header, col in zip(table.column_names, table.columns, strict=True):
        t = col.type
        value_type = t.value_type if pa.types.is_dictionary(t) else t
        textual = pa.types.is_string(value_type) or pa.types.is_large_string(value_type)
        if not (textual or pa.types.is_binary(value_type)
                or pa.types.is_large_binary(value_type)):
            columns.append(col)
            continue
        if pa.types.is_dictionary(t):
            col = col.cast(value_type)
        if textual:
            try:
                col.validate(full=True)
                columns.append(col)
                continue
            except pa.ArrowInvalid:
                pass
        else:
            try:
                columns.append(col.cast(pa.string()))
                continue
            except pa.ArrowInvalid:
                pass
        texts: list[str | None] = []
        for row, raw in enumerate(col.cast(pa.large_binary()).to_pylist(), start=1):
            if raw is None:
                texts.append(None)
                continue
            try:
                texts.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                shown = raw.decode("utf-8", errors="replace")
                texts.append(shown)
                errors.append((row, str(header), shown[:VALUE_CHARS],
                               "the cell is not valid UTF-8 text (damaged file or wrong "
                               "encoding); expected text"))
        columns.append(pa.chunked_array([pa.array(texts, pa.string())], pa.string()))
    errors.sort(key=lambda e: e[0])
    return pa.table(columns, names=table.column_names), errors

