"""Parquet files: read with pyarrow; columns of the types validation reads typed (booleans,
integers, float64, dates, timestamps without a zone, dictionaries of text:
:mod:`preauth.ingest._typed`) kept as they are - low-cardinality text read as dictionaries
(:func:`dictionary_columns`) - the others rendered as text; text cells that are not UTF-8
reported per row. The batched reader (:mod:`preauth.ingest.stream`) reads each row batch with
:func:`parquet_raw` too."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from preauth.ingest._cells import text_table
from preauth.ingest._typed import kept_column
from preauth.ingest.errors import VALUE_CHARS, IngestError
from preauth.ingest.raw import RawTable

if TYPE_CHECKING:
    import pyarrow.parquet as pq

__all__ = ["dictionary_columns", "parquet_raw", "read_parquet"]

# text stored at under this many bytes a value is (nearly) all dictionary indices
_DICTIONARY_BYTES_PER_VALUE = 2


def read_parquet(data: bytes, name: str) -> RawTable:
    import pyarrow.parquet as pq

    if not data.startswith(b"PAR1"):
        raise IngestError(f"{name}: is not a Parquet file (no PAR1 signature); expected a "
                          "Parquet table")
    source = pa.BufferReader(data)
    table = pq.read_table(source, read_dictionary=dictionary_columns(pq.ParquetFile(source)))
    if table.num_columns == 0:
        raise IngestError(f"{name}: the Parquet file has no columns; expected columns such "
                          "as case_id, cpt_code")
    return parquet_raw(table, name)


def parquet_raw(table: pa.Table, name: str) -> RawTable:
    """A (part of a) Parquet file's table as validation reads it - typed columns it reads in
    their typed form kept, the rest as text - with the cells that are not UTF-8 reported."""
    table, bad_text = _repair_utf8(table)
    return RawTable(text_table(table, keep=kept_column), name, "parquet",
                    read_errors=tuple(bad_text))


def dictionary_columns(parquet: pq.ParquetFile) -> list[str]:
    """The text columns the file stores as a few distinct values (dictionary-encoded, a
    couple of bytes a value at most), which are read as Arrow dictionaries: validation then
    trims and parses each distinct value once (:mod:`preauth.ingest._typed`) instead of
    building a million strings and hashing them again. Only a matter of speed: a dictionary
    and its text validate alike."""
    meta = parquet.metadata
    if meta.num_row_groups == 0:
        return []
    groups = [meta.row_group(g) for g in range(meta.num_row_groups)]
    position = {groups[0].column(i).path_in_schema: i for i in range(meta.num_columns)}
    names = []
    for field in parquet.schema_arrow:
        i = position.get(field.name)  # a top-level column (nested ones have longer paths)
        if i is None or not (pa.types.is_string(field.type)
                             or pa.types.is_large_string(field.type)):
            continue
        chunks = [g.column(i) for g in groups]
        if all(c.has_dictionary_page and c.total_uncompressed_size
               <= _DICTIONARY_BYTES_PER_VALUE * max(c.num_values, 1) for c in chunks):
            names.append(field.name)
    return names


def _valid(col: pa.ChunkedArray) -> bool:
    """Whether ``col``'s text is valid UTF-8 (checked in C++)."""
    try:
        col.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


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
        if textual and _valid(col):  # valid text (a dictionary keeps its dictionary)
            columns.append(col)
            continue
        if pa.types.is_dictionary(t):
            col = col.cast(value_type)
            if textual and _valid(col):
                columns.append(col)
                continue
        if not textual:
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

