"""Writing result and error tables: JSON Lines, CSV (OWASP-safe) and Parquet.

CSV cells in text columns that begin with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return are prefixed with a single quote so spreadsheet programs do not run them as formulas
(OWASP "CSV injection"). List columns are joined with ``;`` in CSV. ``bom``: CSV starts with
a UTF-8 byte order mark, which Excel needs to read the file as UTF-8 (not the system's code
page).

Every format is written column by column with Arrow compute, never row by row in Python:
determinations are millions of rows with five list columns. Parquet gets each table's
dictionaries unified first (the engine builds one dictionary per policy; a dictionary that
changes within a row group makes the Parquet writer re-encode the column, twice as slow and a
larger file). JSON Lines are assembled from per-column JSON text — strings escaped as
:func:`json.dumps` (``ensure_ascii=False``) escapes them, dictionaries encoded once per
dictionary value, lists joined — byte for byte what ``json.dumps`` of each row gives; types
without an exact Arrow rendering (floats, dates, …) are rendered by ``json.dumps`` itself.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from preauth.ingest.raw import RawTable

__all__ = ["FORMULA_PREFIXES", "UTF8_BOM", "TableWriter", "csv_safe_table", "jsonl_bytes",
           "source_columns", "write_jsonl", "write_table"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_PATTERN = r"^[=+\-@\t\r]"
UTF8_BOM = b"\xef\xbb\xbf"
CSV_SLICE_ROWS = 32_768  # rows whose CSV text is held at once


def _safe_text(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    risky = pc.match_substring_regex(col, _FORMULA_PATTERN)
    quote, empty = pa.scalar("'", col.type), pa.scalar("", col.type)  # string or large_string
    return pc.if_else(pc.fill_null(risky, False),
                      pc.binary_join_element_wise(quote, col, empty), col)


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _safe_dictionary_column(chunk: pa.DictionaryArray) -> pa.Array:
    """A dictionary column of text, decoded, formula-safe: each dictionary value is checked
    once, not each row."""
    return _safe_text(chunk.dictionary).take(chunk.indices)


def _safe_joined_dictionary_lists(chunk: pa.ListArray | pa.LargeListArray) -> pa.Array:
    """A list column of dictionary-encoded text, joined with ';' and formula-safe. A joined
    cell starts with its first item, so only the dictionary values are checked; rows whose
    first item is risky get the quote."""
    offsets = chunk.offsets.to_numpy()
    start, stop = int(offsets[0]), int(offsets[-1])
    items = chunk.values.slice(start, stop - start)
    words = items.dictionary.cast(pa.string())
    joined = pc.binary_join(pa.ListArray.from_arrays(
        pa.array(offsets - start, pa.int32()), words.take(items.indices),
        mask=chunk.is_null() if chunk.null_count else None), ";")
    risky_words = pc.fill_null(pc.match_substring_regex(words, _FORMULA_PATTERN), False)
    if not pc.any(risky_words).as_py():
        return joined
    nonempty = offsets[1:] > offsets[:-1]
    first = pc.fill_null(items.indices.take(pa.array(offsets[:-1][nonempty] - start)), 0)
    risky = np.zeros(len(chunk), dtype=bool)
    risky[nonempty] = risky_words.to_numpy(zero_copy_only=False)[
        first.to_numpy(zero_copy_only=False)]
    return pc.if_else(pa.array(risky), pc.binary_join_element_wise("'", joined, ""), joined)


def _csv_column(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """One column as CSV writes it: lists joined with ';', dictionaries decoded, text
    formula-safe; other types as they are."""
    t = col.type
    if pa.types.is_dictionary(t) and _is_text(t.value_type):
        return pa.chunked_array([_safe_dictionary_column(c) for c in col.chunks], t.value_type)
    if ((pa.types.is_list(t) or pa.types.is_large_list(t))
            and pa.types.is_dictionary(t.value_type) and _is_text(t.value_type.value_type)):
        return pa.chunked_array([_safe_joined_dictionary_lists(c) for c in col.chunks],
                                pa.string())
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
    if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
        col = pc.binary_join(col.cast(pa.list_(pa.string())), ";")
    if _is_text(col.type):
        col = _safe_text(col)
    return col


def csv_safe_table(table: pa.Table) -> pa.Table:
    """Lists joined with ';', text cells that look like formulas neutralised."""
    columns = [_csv_column(table.column(i)) for i in range(table.num_columns)]
    return pa.table(columns, names=table.column_names)


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


# json.dumps(..., ensure_ascii=False) escapes '"', '\\' and the C0 controls, nothing else
_JSON_SPECIAL = r'["\\\x00-\x1f]'
_JSON_SHORT = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _json_strings(arr: pa.Array) -> pa.Array:
    """A string array as JSON string literals (nulls stay null)."""
    if arr.type != pa.string():
        arr = arr.cast(pa.string())
    if len(arr) and pc.any(pc.match_substring_regex(arr, _JSON_SPECIAL)).as_py():
        arr = pc.replace_substring(arr, "\\", "\\\\")
        arr = pc.replace_substring(arr, '"', '\\"')
        if pc.any(pc.match_substring_regex(arr, r"[\x00-\x1f]")).as_py():
            for code in range(0x20):
                ch = chr(code)
                if pc.any(pc.match_substring(arr, ch)).as_py():
                    arr = pc.replace_substring(arr, ch, _JSON_SHORT.get(ch, f"\\u{code:04x}"))
    return pc.binary_join_element_wise('"', arr, '"', "")


def _json_values(arr: pa.Array) -> pa.Array:
    """Each value of ``arr`` as the JSON text ``json.dumps`` gives it (``ensure_ascii=False``,
    dates as ISO strings), as a string array without nulls."""
    t = arr.type
    if pa.types.is_null(t):
        return pa.array(["null"] * len(arr), pa.string())
    if pa.types.is_dictionary(t):
        dictionary = _json_values(arr.dictionary)
        return pc.fill_null(dictionary.take(arr.indices), "null")
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pc.fill_null(_json_strings(arr), "null")
    if pa.types.is_boolean(t):
        return pc.fill_null(pc.if_else(arr, "true", "false"), "null")
    if pa.types.is_integer(t):
        return pc.fill_null(arr.cast(pa.string()), "null")
    if pa.types.is_date32(t) or pa.types.is_date64(t):  # ISO, as date.isoformat()
        return pc.fill_null(_json_strings(pc.strftime(arr, "%Y-%m-%d")), "null")
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        offsets = arr.offsets.to_numpy()
        start, stop = int(offsets[0]), int(offsets[-1])
        items = _json_values(arr.values.slice(start, stop - start))
        lists = pa.ListArray.from_arrays(pa.array(offsets - start, pa.int32()), items,
                                         mask=arr.is_null() if arr.null_count else None)
        joined = pc.binary_join_element_wise("[", pc.binary_join(lists, ", "), "]", "")
        return pc.fill_null(joined, "null")
    # floats, dates, times, decimals, structs …: json.dumps itself, one value at a time
    return pa.array([json.dumps(v, default=_json_default, ensure_ascii=False)
                     for v in arr.to_pylist()], pa.string())


def jsonl_bytes(table: pa.Table | pa.RecordBatch) -> bytes:
    """``table`` as JSON Lines: for each row, ``json.dumps`` of the row as a dict
    (``ensure_ascii=False``) and a line break, UTF-8."""
    names = table.schema.names
    if not table.num_rows:
        return b""
    if len(set(names)) != len(names):  # a dict keeps one of each name, as to_pylist does
        return "".join(json.dumps(row, default=_json_default, ensure_ascii=False) + "\n"
                       for row in table.to_pylist()).encode("utf-8")
    parts: list[Any] = []
    for i, name in enumerate(names):
        col = table.column(i)
        col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        key = json.dumps(name, ensure_ascii=False)
        parts += [("{" if i == 0 else ", ") + key + ": ", _json_values(col)]
    lines = pc.binary_join_element_wise(*parts, "}\n", "")
    # the lines end to end are the text: the string array's data between its first and last
    # offsets
    _validity, offsets, data = lines.buffers()
    bounds = np.frombuffer(offsets, np.int32)[lines.offset:lines.offset + len(lines) + 1]
    return data[int(bounds[0]):int(bounds[-1])].to_pybytes()


def write_jsonl(table: pa.Table, stream: IO[Any], batch_rows: int = 100_000) -> None:
    """``table`` as JSON Lines to ``stream`` (text, or else binary: UTF-8), ``batch_rows``
    rows at a time."""
    text = isinstance(stream, io.TextIOBase)
    for batch in table.to_batches(max_chunksize=batch_rows):
        data = jsonl_bytes(batch)
        if data:
            stream.write(data.decode("utf-8") if text else data)


class TableWriter:
    """Writes tables of one schema, batch after batch, as ``fmt`` to a path or stream (json =
    JSON Lines, csv, parquet; ``None``: standard output; Parquet needs a path or binary
    stream), so a result never has to be held whole. Use as a context manager; write at least
    one (possibly empty) table so that the output has its header / schema. ``bom``: start the
    CSV with a UTF-8 byte order mark (for Excel; CSV only).

    ``background``: each table is written in a worker thread while the caller prepares the
    next one (Arrow's writers release the GIL); at most one table waits, and an error in the
    worker is raised by the next :meth:`write` or by :meth:`close`."""

    def __init__(self, fmt: str, out: str | Path | IO[Any] | None,
                 compression: str = "snappy", background: bool = False,
                 bom: bool = False) -> None:
        if fmt not in ("json", "csv", "parquet"):
            raise ValueError(f"unknown format {fmt!r}: use json, csv or parquet")
        if fmt == "parquet" and out is None:
            raise ValueError("--format parquet needs --out PATH")
        if bom and fmt != "csv":
            raise ValueError(f"a byte order mark is for CSV, not {fmt}")
        self.fmt, self.out, self.bom = fmt, out, bom
        self.compression = compression  # Parquet's
        self._stream: IO[Any] | None = None
        self._owned = False
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._header_written = False
        self._worker = ThreadPoolExecutor(1, "preauth-writer") if background else None
        self._pending: Future[None] | None = None

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _text_stream(self) -> IO[Any]:
        if self._stream is None:
            if self.out is None:
                self._stream = sys.stdout
            elif isinstance(self.out, str | Path):  # UTF-8 bytes, CSV and JSON alike
                self._stream = open(self.out, "wb")  # noqa: SIM115
                self._owned = True
            else:
                self._stream = self.out
        return self._stream

    def write(self, table: pa.Table) -> None:
        """Write ``table`` (in the background: once the previous table is written)."""
        if self._worker is None:
            self._write(table)
            return
        self._wait()
        self._pending = self._worker.submit(self._write, table)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()  # the worker's error, if any

    def _write(self, table: pa.Table) -> None:
        if self._schema is None:
            self._schema = table.schema
        elif table.schema != self._schema:
            table = table.cast(self._schema)
        if self.fmt == "parquet":
            # one dictionary per column in the table (the engine builds one per policy)
            table = table.unify_dictionaries()
            if self._parquet is None:
                # min / max statistics of list elements serve no reader and cost ~15% of
                # the write
                scalar = [f.name for f in table.schema
                          if not (pa.types.is_list(f.type) or pa.types.is_large_list(f.type))]
                self._parquet = pq.ParquetWriter(self.out, table.schema,
                                                 compression=self.compression,
                                                 write_statistics=scalar)
            self._parquet.write_table(table)
        elif self.fmt == "csv":
            self._write_csv(table)
        else:
            write_jsonl(table, self._text_stream())

    def _write_csv(self, table: pa.Table) -> None:
        """``table`` as CSV, :data:`CSV_SLICE_ROWS` rows at a time: the text of a slice is
        held once, never the text of the whole table (a wide result is kilobytes a row)."""
        stream = self._text_stream()
        text = isinstance(stream, io.TextIOBase) or self.out is None
        for start in range(0, max(table.num_rows, 1), CSV_SLICE_ROWS):
            buf = io.BytesIO()
            if self.bom and not self._header_written:
                buf.write(UTF8_BOM)
            pacsv.write_csv(csv_safe_table(table.slice(start, CSV_SLICE_ROWS)), buf,
                            pacsv.WriteOptions(include_header=not self._header_written))
            self._header_written = True
            data = buf.getbuffer()
            stream.write(str(data, "utf-8") if text else data)
            del data

    def close(self) -> None:
        """Finish the output (after the table being written in the background, if any)."""
        try:
            self._wait()
        finally:
            if self._worker is not None:
                self._worker.shutdown()
                self._worker = None
            if self._parquet is not None:
                self._parquet.close()
                self._parquet = None
            if self._stream is not None:
                self._stream.flush()
                if self._owned:
                    self._stream.close()
                self._stream = None


def write_table(table: pa.Table, fmt: str, out: str | Path | IO[Any] | None,
                compression: str = "snappy", bom: bool = False) -> None:
    """Write ``table`` as ``fmt`` (json = JSON Lines, csv, parquet) to a path or stream
    (``None``: standard output; Parquet needs a path or binary stream; ``compression`` is
    Parquet's; ``bom``: CSV with a UTF-8 byte order mark)."""
    with TableWriter(fmt, out, compression, bom=bom) as writer:
        writer.write(table)


def source_columns(raw: RawTable, accepted: pa.Table, columns: Sequence[str]) -> pa.Table:
    """The file's own ``columns`` (e.g. :attr:`IngestResult.unmapped_columns`) as read, for
    the rows of ``accepted`` (a validated table: its ``row`` is the 1-based data row of
    ``raw``), in the order of ``accepted`` — what a wide result echoes beside the fields."""
    if "row" not in accepted.column_names:
        raise ValueError("the accepted rows have no 'row' column to find their source rows")
    positions = pc.subtract(accepted.column("row"), 1)
    return raw.table.select(list(columns)).take(positions)
