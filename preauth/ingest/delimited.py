"""Delimited text (CSV / TSV / semicolon / pipe): the delimiter sniffed, the rows parsed by
pyarrow (the standard library's parser as a fallback for quoting pyarrow will not place), rows
with the wrong number of cells and cells holding a NUL byte kept in their place with a row
error. The whole-file reader (:func:`read_csv`) and the batched one
(:mod:`preauth.ingest.stream`) both end in :func:`finish_records`, so they agree row for row.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import io
import re
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.values import TRIM
from preauth.ingest._arrow import np_bool
from preauth.ingest._headers import blank_names, check_header_row
from preauth.ingest.decoding import (
    binary_error,
    decode,
    is_blank,
    legacy_to_utf8,
    looks_binary,
    sample_text,
    undecodable_error,
)
from preauth.ingest.errors import ROW_COLUMN, VALUE_CHARS, IngestError
from preauth.ingest.raw import MAX_COLUMNS, RawTable

__all__ = ["DELIMITERS", "RaggedRows", "Unparsed", "csv_options", "finish_records",
           "read_csv", "sniff_delimiter", "text_sample"]

DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def sniff_delimiter(sample: str) -> str:
    """The delimiter among , ; tab | : csv.Sniffer, checked against a consistent cell count."""
    lines = [ln for ln in _LINE_BREAK.split(sample) if ln.strip()][:50]
    if not lines:
        return ","
    snippet = "\n".join(lines)

    def widths(delim: str) -> list[int]:
        try:
            return [len(r) for r in csv.reader(io.StringIO(snippet), delimiter=delim) if r]
        except csv.Error:
            return [1]

    def consistent(delim: str) -> int:
        w = widths(delim)
        return w[0] if w and w[0] > 1 and all(x == w[0] for x in w) else 0

    try:
        sniffed: str | None = csv.Sniffer().sniff(snippet, delimiters="".join(DELIMITERS)) \
            .delimiter
    except csv.Error:
        sniffed = None
    if sniffed in DELIMITERS and consistent(sniffed):
        return sniffed
    scores = {d: consistent(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: scores[d])
    if scores[best]:
        return best
    # Nothing consistent: the delimiter giving the most header cells (comma by default).
    header_widths = {d: len(next(csv.reader([lines[0]], delimiter=d), [])) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: header_widths[d])
    return best if header_widths[best] > 1 else (sniffed or ",")


class _NotUtf8(Exception):
    """The text turned out not to be UTF-8 after the sampled first megabyte."""


def text_sample(body: bytes, name: str) -> tuple[bytes, str]:
    """``body`` (UTF-8) without leading line breaks, and its sample - the first megabyte as
    text, cut at a line break - which the delimiter is sniffed from; refused when it is empty
    or looks like binary data. The batched reader checks a big file's head with it too."""
    if body[:1] in (b"\r", b"\n"):
        body = body.lstrip(b"\r\n")
    if is_blank(body):
        raise IngestError(f"{name}: the file is empty; expected a header row with column "
                          "names such as case_id, cpt_code")
    sample = sample_text(body)
    if looks_binary(sample):
        raise binary_error(name)
    return body, sample


def read_csv(data: bytes, name: str, tab: bool) -> RawTable:
    """A delimited text file as a table of text (``tab``: a .tsv file, tab-separated)."""
    body, encoding = decode(data, name, verify=False)
    body, sample = text_sample(body, name)
    delimiter = "\t" if tab else sniff_delimiter(sample)
    header = next(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter), [])
    if len(header) > MAX_COLUMNS:
        raise IngestError(f"{name}: has {len(header):,} columns; at most {MAX_COLUMNS:,} "
                          "columns are supported")
    check_header_row(header, name)
    if not body.endswith((b"\n", b"\r")):
        body += b"\n"
    try:
        table, read_errors = _parse_csv(body, delimiter, len(header), name)
    except _NotUtf8:
        if encoding != "utf-8":
            raise undecodable_error(name, "UTF-8") from None
        body, encoding = legacy_to_utf8(body)
        table, read_errors = _parse_csv(body, delimiter, len(header), name)
    return RawTable(table, name, "csv", encoding, delimiter, tuple(read_errors))


def csv_options(width: int, delimiter: str, block: int, newlines: bool,
                ragged: RaggedRows | None = None) -> dict[str, Any]:
    """pyarrow CSV options for every column as text under positional names ``c0, c1 ...``:
    the whole-file and the batched reader parse alike. With ``ragged`` the rows with a wrong
    number of cells go to it (numbered: one thread) instead of failing the read."""
    import pyarrow.csv as pcsv

    positional = [f"c{i}" for i in range(width)]
    return {
        "read_options": pcsv.ReadOptions(column_names=positional, block_size=block,
                                         use_threads=ragged is None),
        "parse_options": pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=newlines,
                                           invalid_row_handler=ragged),
        "convert_options": pcsv.ConvertOptions(
            column_types=dict.fromkeys(positional, pa.string()), null_values=[],
            strings_can_be_null=False, quoted_strings_can_be_null=False),
    }


class RaggedRows:
    """pyarrow's handler for rows with the wrong number of cells: each is kept - record number
    (1-based, the header is record 1), text and cell count - and skipped by the parser, to be
    put back in its place by :func:`finish_records`."""

    def __init__(self) -> None:
        self.rows: collections.deque[tuple[int, str, int]] = collections.deque()
        self.unplaced = False
        self.undecodable = False  # a ragged row's text was not UTF-8 (see quiet())

    @contextlib.contextmanager
    def quiet(self) -> Any:
        """While reading: pyarrow cannot hand over a ragged row whose text is not UTF-8; it
        prints the UnicodeDecodeError (a traceback on stderr) and fails the read, which the
        caller handles. Note it instead of printing it."""
        previous = sys.unraisablehook

        def hook(unraisable: Any) -> None:
            if unraisable.object is self and isinstance(unraisable.exc_value,
                                                        UnicodeDecodeError):
                self.undecodable = True
            else:
                previous(unraisable)

        sys.unraisablehook = hook
        try:
            yield
        finally:
            sys.unraisablehook = previous

    def __call__(self, row: Any) -> str:
        # (an exception raised here would only be printed: pyarrow fails the read on "error")
        if row.number is None or row.number < 2:  # unnumbered, or the header itself
            self.unplaced = True
            return "error"
        self.rows.append((row.number, row.text, row.actual_columns))
        return "skip"


class Unparsed(ValueError):
    """pyarrow could not read the CSV in a way that keeps every row in its place."""


def _is_utf8_error(exc: Exception) -> bool:
    return "utf8" in str(exc).lower().replace("-", "")


def _parse_csv(body: bytes, delimiter: str, width: int, name: str
               ) -> tuple[pa.Table, list[tuple[int, str, str, str]]]:
    """All columns as text under the header names, and the row errors found reading them."""
    import pyarrow.csv as pcsv

    # Quoted line breaks parse fine inside one block; across the blocks of a big file the
    # (slower) newline-aware chunker is needed to be safe.
    block = 8 << 20
    try:
        table = pcsv.read_csv(io.BytesIO(body), **csv_options(width, delimiter, block,
                                                              len(body) > block // 2))
    except pa.ArrowInvalid as exc:
        if _is_utf8_error(exc):
            raise _NotUtf8 from exc
        table = None
    if table is not None and table.num_rows:
        return finish_records(table.slice(1), _csv_header(table), [], delimiter)
    # Rows with the wrong number of cells: read again in one thread, which numbers the rows,
    # so that each such row is kept in its place with a row error. A row longer than a block
    # needs a block as big as the file.
    for size in (block, min(len(body) + 1, (1 << 31) - 1)) if len(body) >= block else (block,):
        ragged = RaggedRows()
        try:
            with ragged.quiet():
                table = pcsv.read_csv(io.BytesIO(body), **csv_options(
                    width, delimiter, size, len(body) > size // 2, ragged))
        except pa.ArrowInvalid as exc:
            if _is_utf8_error(exc) or ragged.undecodable:
                raise _NotUtf8 from exc
            if ragged.unplaced:
                break
            continue
        if table.num_rows:
            return finish_records(table.slice(1), _csv_header(table),
                                  [(n - 2, text, cells) for n, text, cells in ragged.rows],
                                  delimiter)
        break
    # Odd quoting pyarrow will not place: the (slower) standard-library parser.
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _NotUtf8 from exc
    header, columns, read_errors = _csv_fallback(text, delimiter, name)
    table = pa.table([pa.array(c, pa.string()) for c in columns],
                     names=blank_names(header))
    table, nul = _nul_errors(table)
    return table, sorted(read_errors + nul, key=lambda e: e[0])


def _csv_header(table: pa.Table) -> list[str]:
    return [str(v) for v in table.slice(0, 1).to_pylist()[0].values()]


def finish_records(records: pa.Table, header: list[str],
                   ragged: Sequence[tuple[int, str, int]], delimiter: str
                   ) -> tuple[pa.Table, list[tuple[int, str, str, str]]]:
    """CSV data records (positional text columns, in file order) as the file's table, and its
    row errors: rows the parser skipped for a wrong number of cells put back in their place
    (``ragged``: index among the records, the row's text, its number of cells), padded or cut
    to the header, each with an error; blank rows dropped; cells holding NUL reported. Reading
    a file whole and in batches both end here, so they agree row for row."""
    if ragged:
        table, errors = _place_ragged(records, ragged, delimiter)
    else:
        table, errors = _drop_blank_rows(records), []
    table = table.rename_columns(blank_names(header))
    table, nul = _nul_errors(table)
    return table, sorted(errors + nul, key=lambda e: e[0])


def _place_ragged(records: pa.Table, ragged: Sequence[tuple[int, str, int]], delimiter: str
                  ) -> tuple[pa.Table, list[tuple[int, str, str, str]]]:
    """:func:`finish_records` when some rows had the wrong number of cells: each is split,
    padded or cut to the header's width and put back at its index; blank rows dropped."""
    width = records.num_columns
    n = records.num_rows + len(ragged)
    at = np.array([r[0] for r in ragged], dtype=np.int64)
    if at.min() < 0 or at.max() >= n or len(np.unique(at)) != len(at):
        raise Unparsed("ragged rows out of place")
    parts, shown, nonblank = [], [], []
    with _csv_field_limit():
        for k in range(0, len(ragged), 1 << 16):
            cells = [_split_row(text, delimiter) for _, text, _ in ragged[k:k + (1 << 16)]]
            padded = [(c + [""] * width)[:width] for c in cells]
            parts.append(pa.table([pa.array(col, pa.string()) for col in zip(*padded,
                                                                             strict=True)],
                                  names=records.column_names))
            shown += [delimiter.join(c)[:VALUE_CHARS + 1] for c in cells]
            nonblank += [any(x.strip(TRIM) for x in c) for c in cells]
    is_ragged = np.zeros(n, dtype=bool)
    is_ragged[at] = True
    order = np.empty(n, dtype=np.int64)
    order[~is_ragged] = np.arange(records.num_rows)
    order[at] = records.num_rows + np.arange(len(ragged))
    table = pa.concat_tables([records, *parts]).take(pa.array(order))
    blank = _blank_mask(table)
    if blank is None:
        blank = np.zeros(n, dtype=bool)
    blank[at] = ~np.array(nonblank, dtype=bool)  # a ragged row's own cells decide
    keep = ~blank
    if blank.any():
        table = table.filter(pa.array(keep))
    position = np.cumsum(keep) - 1
    errors = [(int(position[i]) + 1, ROW_COLUMN, value,
               f"row has {count} cells but the header has {width}")
              for (_, _, count), i, value in zip(ragged, at, shown, strict=True) if keep[i]]
    return table, errors


@contextlib.contextmanager
def _csv_field_limit() -> Any:
    old_limit = csv.field_size_limit()
    csv.field_size_limit(1 << 30)
    try:
        yield
    finally:
        csv.field_size_limit(old_limit)


def _split_row(text: str, delimiter: str) -> list[str]:
    """One CSV row's cells (its text may hold quoted line breaks)."""
    try:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error:
        return text.split(delimiter)


def _has_nul(col: pa.ChunkedArray) -> bool:
    """Whether a text column's bytes hold a NUL (scanned in place, no copy)."""
    for chunk in col.chunks:
        data = chunk.buffers()[2] if chunk.type in (pa.string(), pa.binary()) else None
        if data is not None and data.size and np.frombuffer(data, np.uint8).min() == 0:
            return True
    return False


def _nul_errors(table: pa.Table) -> tuple[pa.Table, list[tuple[int, str, str, str]]]:
    """A cell holding a NUL byte rejects its row (a text file with a stray NUL: a padded
    database export, a damaged copy); the NUL is shown as U+FFFD."""
    errors: list[tuple[int, str, str, str]] = []
    columns = list(table.columns)
    for j, col in enumerate(table.columns):
        if not _has_nul(col):
            continue
        rows = np.flatnonzero(np_bool(pc.match_substring(col, "\x00")))
        if not len(rows):
            continue
        columns[j] = pc.replace_substring(col, "\x00", "\ufffd")
        for row, value in zip(rows, columns[j].take(pa.array(rows)).to_pylist(), strict=True):
            errors.append((int(row) + 1, table.column_names[j], value[:VALUE_CHARS + 1],
                           "the cell holds a NUL byte (binary data, or text in another "
                           "encoding); expected text"))
    if errors:
        table = pa.table(columns, names=table.column_names)
    return table, errors


def _blank_mask(table: pa.Table) -> np.ndarray | None:
    """Per row: every cell empty or whitespace (None: no such row)."""
    if table.num_rows == 0 or table.num_columns == 0:
        return None
    first = pc.utf8_trim(table.column(0), characters=TRIM)
    candidates = np.flatnonzero(np_bool(pc.equal(first, "")))
    if len(candidates) == 0:
        return None
    blank = np.ones(len(candidates), dtype=bool)
    take = pa.array(candidates)
    for col in table.columns[1:]:
        cells = pc.utf8_trim(col.take(take), characters=TRIM)
        blank &= np_bool(pc.equal(cells, ""))
    if not blank.any():
        return None
    mask = np.zeros(table.num_rows, dtype=bool)
    mask[candidates[blank]] = True
    return mask


def _drop_blank_rows(table: pa.Table) -> pa.Table:
    """Without rows whose every cell is empty or whitespace (spreadsheet exports add them)."""
    blank = _blank_mask(table)
    return table if blank is None else table.filter(pa.array(~blank))


def _csv_fallback(text: str, delimiter: str, name: str
                  ) -> tuple[list[str], list[list[str]], list[tuple[int, str, str, str]]]:
    try:
        with _csv_field_limit():
            rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
                    if any(cell.strip(TRIM) for cell in r)]
    except csv.Error as exc:
        raise IngestError(f"{name}: could not be parsed as delimited text ({exc}); expected "
                          f"{_DELIMITER_NAMES[delimiter]}-separated values") from exc
    if not rows:
        raise IngestError(f"{name}: the file is empty; expected a header row")
    header, data = rows[0], rows[1:]
    width = len(header)
    errors: list[tuple[int, str, str, str]] = []
    for i, row in enumerate(data, start=1):
        if len(row) != width:
            shown = delimiter.join(row)
            errors.append((i, ROW_COLUMN, shown,
                           f"row has {len(row)} cells but the header has {width}"))
            data[i - 1] = (row + [""] * width)[:width]
    columns = [[r[j] for r in data] for j in range(width)]
    return header, columns, errors

