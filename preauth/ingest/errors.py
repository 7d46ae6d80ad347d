"""What ingest reports: :class:`IngestError` for a file that cannot be used at all (with
:class:`AmbiguousDates` / :class:`MixedDates` for a date column whose order must be said), and
the tables of row problems - errors, which reject their row, and warnings, which do not - with
one line per problem, built by :func:`error_rows` and nothing else, so every line, read whole
or in batches, quotes values the same way."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "ERROR_SCHEMA",
    "MESSAGE_VALUE_CHARS",
    "ROW_COLUMN",
    "VALUE_CHARS",
    "AmbiguousDates",
    "IngestError",
    "MixedDates",
    "error_rows",
    "quoted",
    "shorten",
]

VALUE_CHARS = 200  # raw values (and case_ids) in the error table are cut to this many characters
MESSAGE_VALUE_CHARS = 60  # ... and to this many inside a message
ROW_COLUMN = "(row)"  # error "column" for problems with a whole row

ERROR_SCHEMA = pa.schema([("row", pa.int64()), ("case_id", pa.string()),
                          ("column", pa.string()), ("value", pa.string()),
                          ("message", pa.string())])


class IngestError(ValueError):
    """A whole file cannot be used. The message is one line naming the file."""


def error_rows(rows: np.ndarray, case_ids: pa.Array, column: str | Sequence[str],
               values: pa.Array | None, messages: str | pa.Array) -> pa.Table:
    """Lines of the error table (:data:`ERROR_SCHEMA`), one per entry of ``rows``.

    ``rows``: 1-based data rows; ``case_ids``: the row's case_id as validation reads it
    (trimmed, NULL when empty), one per line; ``column``: one name for every line or one per
    line; ``values``: the raw cell text, one per line (``None``: no value); ``messages``: one
    for every line or one per line. case_ids and values are cut to :data:`VALUE_CHARS`
    characters.
    """
    count = len(rows)
    text = pa.array([messages] * count, pa.string()) if isinstance(messages, str) \
        else messages
    value = pa.array([""] * count, pa.string()) if values is None \
        else shorten(values, VALUE_CHARS)
    return pa.table({
        "row": pa.array(rows, pa.int64()),
        "case_id": pc.if_else(pc.is_null(case_ids), pa.scalar(None, case_ids.type),
                              shorten(case_ids, VALUE_CHARS)),
        "column": pa.array([column] * count if isinstance(column, str) else column,
                           pa.string()),
        "value": value,
        "message": text,
    }, schema=ERROR_SCHEMA)


def shorten(arr: pa.Array, limit: int) -> pa.Array:
    """Strings cut to ``limit`` characters, the last an ellipsis when cut (NULL -> '')."""
    arr = pc.fill_null(arr, "")
    cut = pc.binary_join_element_wise(pc.utf8_slice_codeunits(arr, 0, limit - 1), "…", "")
    return pc.if_else(pc.greater(pc.utf8_length(arr), limit), cut, arr)


def quoted(arr: pa.Array) -> pa.Array:
    """``'value'`` for a message: cut short, line breaks and controls shown as a space."""
    flat = pc.replace_substring_regex(arr, r"[\x00-\x1f\x7f\x{2028}\x{2029}]+", " ")
    return pc.binary_join_element_wise("'", shorten(flat, MESSAGE_VALUE_CHARS), "'", "")


class AmbiguousDates(IngestError):
    """A date column whose slash dates read as M/D/YYYY or as D/M/YYYY - nothing in the column
    says which. ``field`` and ``header`` name the column, ``formats`` are the candidate strptime
    formats, ``examples`` a few of its values; a mapping profile's ``formats:`` settles it."""

    def __init__(self, filename: str, field: str, header: str, examples: Sequence[str],
                 formats: Sequence[str] = ("%m/%d/%Y", "%d/%m/%Y")) -> None:
        self.filename, self.field, self.header = filename, field, header
        self.formats, self.examples = tuple(formats), tuple(examples)
        super().__init__(self._message())

    def _column(self) -> str:
        return self.field if self.header == self.field else f'{self.field} ("{self.header}")'

    def _remedy(self) -> str:
        return (f'say which with formats: {{{self.field}: "{self.formats[0]}"}} (or '
                f'"{self.formats[1]}") in a mapping profile')

    def _message(self) -> str:
        return (f"{self.filename}: {self._column()} has dates like {self.examples[0]} that "
                f"read as M/D/YYYY or D/M/YYYY; {self._remedy()}")


class MixedDates(AmbiguousDates):
    """A date column with dates that only read as M/D/YYYY and others that only read as
    D/M/YYYY: ``examples`` holds one of each (M/D first)."""

    def _message(self) -> str:
        return (f"{self.filename}: {self._column()} has dates that only read as M/D/YYYY "
                f"({self.examples[0]}) and dates that only read as D/M/YYYY "
                f"({self.examples[1]}); {self._remedy()}")
