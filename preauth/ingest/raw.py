"""A file's table as read (:class:`RawTable`), what every reader returns, and the checks every
such table passes (:func:`check_headers`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from preauth.ingest._cells import text_table
from preauth.ingest._typed import kept_column
from preauth.ingest.errors import IngestError
from preauth.ingest.mapping import normalise_header

__all__ = ["MAX_COLUMNS", "RawTable", "check_headers"]

MAX_COLUMNS = 2_000


@dataclass(frozen=True)
class RawTable:
    """A file's table as read, under the file's own header names: every column ``string``,
    except that a typed table (Parquet, Arrow) keeps the columns validation reads in their
    typed form (:func:`preauth.ingest._typed.kept_column`: booleans, integers, float64, dates,
    dictionaries of text).

    ``read_errors`` holds problems found while reading that belong to one row (a CSV row with
    the wrong number of cells): ``(row, column, value, message)`` with 1-based data rows.
    """

    table: pa.Table
    filename: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    read_errors: tuple[tuple[int, str, str, str], ...] = ()

    @property
    def headers(self) -> list[str]:
        return self.table.column_names

    @property
    def num_rows(self) -> int:
        return self.table.num_rows

    @classmethod
    def from_arrow(cls, table: pa.Table, filename: str = "table",
                   format: str = "arrow") -> RawTable:
        """Wrap an in-memory (possibly typed) Arrow table, read as a Parquet file's table is:
        columns of the types validation reads typed kept, the others rendered as text."""
        table = text_table(table, keep=kept_column)
        check_headers(table.column_names, filename)
        return cls(table, filename, format)


def check_headers(headers: Sequence[str], name: str) -> None:
    """Refuse more than MAX_COLUMNS columns, or two headers that read as one name."""
    if len(headers) > MAX_COLUMNS:
        raise IngestError(f"{name}: has {len(headers):,} columns; at most {MAX_COLUMNS:,} "
                          "columns are supported")
    seen: dict[str, str] = {}
    for header in headers:
        key = normalise_header(header)
        if not key:
            continue
        if key in seen:
            raise IngestError(f"{name}: duplicate column names {seen[key]!r} and {header!r} "
                              f"(both read as {key!r}); expected each column once")
        seen[key] = header

