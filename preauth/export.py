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

__all__ = ["FORMULA_PREFIXES", "csv_safe_table", "write_table"]

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


def write_table(table: pa.Table, fmt: str, out: str | Path | IO[Any] | None) -> None:
    """Write ``table`` as ``fmt`` (json = JSON Lines, csv, parquet) to a path or stream
    (``None``: standard output; Parquet needs a path or binary stream)."""
    import sys

    if fmt == "parquet":
        if out is None:
            raise ValueError("--format parquet needs --out PATH")
        # min / max statistics of list elements serve no reader and cost ~15% of the write
        scalar = [f.name for f in table.schema
                  if not (pa.types.is_list(f.type) or pa.types.is_large_list(f.type))]
        pq.write_table(table, out, write_statistics=scalar)  # type: ignore[arg-type]
        return
    if fmt == "csv":
        safe = csv_safe_table(table)
        if out is None or isinstance(out, io.TextIOBase):
            buf = io.BytesIO()
            pacsv.write_csv(safe, buf)
            stream = out if out is not None else sys.stdout
            stream.write(buf.getvalue().decode("utf-8"))
        else:
            pacsv.write_csv(safe, out)  # type: ignore[arg-type]
        return
    if fmt == "json":
        if out is None:
            write_jsonl(table, sys.stdout)
        elif isinstance(out, str | Path):
            with open(out, "w", encoding="utf-8") as fh:
                write_jsonl(table, fh)
        else:
            write_jsonl(table, out)
        return
    raise ValueError(f"unknown format {fmt!r}: use json, csv or parquet")
