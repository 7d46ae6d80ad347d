"""Writing result and error tables: JSON Lines, CSV (OWASP-safe) and Parquet.

CSV cells in text columns that begin with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return are prefixed with a single quote so spreadsheet programs do not run them as formulas
(OWASP "CSV injection"). List columns are joined with ``;`` in CSV.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = ["FORMULA_PREFIXES", "TableWriter", "csv_safe_table", "write_table"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_PATTERN = r"^[=+\-@\t\r]"


def _safe_text(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    risky = pc.match_substring_regex(col, _FORMULA_PATTERN)
    quote, empty = pa.scalar("'", col.type), pa.scalar("", col.type)  # string or large_string
    return pc.if_else(pc.fill_null(risky, False),
                      pc.binary_join_element_wise(quote, col, empty), col)


def csv_safe_table(table: pa.Table) -> pa.Table:
    """Lists joined with ';', text cells that look like formulas neutralised."""
    out = table
    for i, f in enumerate(table.schema):
        col = table.column(i)
        if pa.types.is_dictionary(f.type):
            col = col.cast(f.type.value_type)
            out = out.set_column(i, pa.field(f.name, f.type.value_type), col)
            f = out.schema.field(i)
        if pa.types.is_list(f.type) or pa.types.is_large_list(f.type):
            col = pc.binary_join(col.cast(pa.list_(pa.string())), ";")
            out = out.set_column(i, pa.field(f.name, pa.string()), col)
            f = out.schema.field(i)
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            out = out.set_column(i, f, _safe_text(out.column(i)))
    return out


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def write_jsonl(table: pa.Table, stream: IO[str], batch_rows: int = 50_000) -> None:
    for batch in table.to_batches(max_chunksize=batch_rows):
        lines = [json.dumps(row, default=_json_default, ensure_ascii=False)
                 for row in batch.to_pylist()]
        if lines:
            stream.write("\n".join(lines) + "\n")


class TableWriter:
    """Writes tables of one schema, batch after batch, as ``fmt`` to a path or stream (json =
    JSON Lines, csv, parquet; ``None``: standard output; Parquet needs a path or binary
    stream), so a result never has to be held whole. Use as a context manager; write at least
    one (possibly empty) table so that the output has its header / schema."""

    def __init__(self, fmt: str, out: str | Path | IO[Any] | None) -> None:
        if fmt not in ("json", "csv", "parquet"):
            raise ValueError(f"unknown format {fmt!r}: use json, csv or parquet")
        if fmt == "parquet" and out is None:
            raise ValueError("--format parquet needs --out PATH")
        self.fmt, self.out = fmt, out
        self._stream: IO[Any] | None = None
        self._owned = False
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._header_written = False

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _text_stream(self) -> IO[Any]:
        import sys

        if self._stream is None:
            if self.out is None:
                self._stream = sys.stdout
            elif isinstance(self.out, str | Path):  # CSV is written as bytes, JSON as text
                self._stream = (open(self.out, "wb") if self.fmt == "csv"  # noqa: SIM115
                                else open(self.out, "w", encoding="utf-8"))  # noqa: SIM115
                self._owned = True
            else:
                self._stream = self.out
        return self._stream

    def write(self, table: pa.Table) -> None:
        if self._schema is None:
            self._schema = table.schema
        elif table.schema != self._schema:
            table = table.cast(self._schema)
        if self.fmt == "parquet":
            if self._parquet is None:
                # min / max statistics of list elements serve no reader and cost ~15% of
                # the write
                scalar = [f.name for f in table.schema
                          if not (pa.types.is_list(f.type) or pa.types.is_large_list(f.type))]
                self._parquet = pq.ParquetWriter(self.out, table.schema,  # type: ignore[arg-type]
                                                 write_statistics=scalar)
            self._parquet.write_table(table)
        elif self.fmt == "csv":
            buf = io.BytesIO()
            pacsv.write_csv(csv_safe_table(table), buf,
                            pacsv.WriteOptions(include_header=not self._header_written))
            self._header_written = True
            stream = self._text_stream()
            if isinstance(stream, io.TextIOBase) or self.out is None:
                stream.write(buf.getvalue().decode("utf-8"))
            else:
                stream.write(buf.getvalue())
        else:
            write_jsonl(table, self._text_stream())

    def close(self) -> None:
        """Finish the output."""
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._stream is not None:
            self._stream.flush()
            if self._owned:
                self._stream.close()
            self._stream = None


def write_table(table: pa.Table, fmt: str, out: str | Path | IO[Any] | None) -> None:
    """Write ``table`` as ``fmt`` (json = JSON Lines, csv, parquet) to a path or stream
    (``None``: standard output; Parquet needs a path or binary stream)."""
    with TableWriter(fmt, out) as writer:
        writer.write(table)
