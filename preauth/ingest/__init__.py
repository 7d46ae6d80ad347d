"""Reading and validating uploaded case files (CSV / TSV / Parquet / JSON / XLSX).

Two steps, both free of any UI code:

1. :func:`read_raw` turns a file (path, bytes or binary file-like) into a :class:`RawTable`: an
   Arrow table whose columns are all *text*, under the file's own header names. Encoding and
   delimiter are detected; typed Parquet / JSON / Excel values are rendered as text, so one
   validation path serves every format and error messages can quote what the file said.
   A file that cannot be used at all raises :class:`IngestError` with one clear line.

2. :func:`validate` maps the headers to catalog fields (:func:`propose_mapping`, optionally
   overridden by the user) and coerces every column by its :class:`~preauth.fields.Kind`,
   vectorized (Arrow compute kernels over each column's distinct values, numpy masks; columns
   in parallel threads - no per-row Python). Bad rows are rejected with one error line per
   problem (row number, column, raw value, message); good rows come back as a typed table
   with exactly :func:`preauth.engine.arrow_schema` plus a 1-based ``row`` column.

Empty cells are NULL ("undocumented"), never false or zero.
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import csv
import datetime as dt
import io
import json
import math
import os
import posixpath
import re
import struct
import sys
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.fields import CPT_CODES, FIELDS, FIELDS_BY_NAME, Field, Kind, cpt_for
from preauth.catalog.schema import arrow_schema

__all__ = [
    "MAX_CELL_CHARS",
    "MAX_COLUMNS",
    "XLSX_LIMITS",
    "IngestError",
    "IngestResult",
    "RawTable",
    "XlsxLimits",
    "normalise_header",
    "propose_mapping",
    "read_raw",
    "resolve_mapping",
    "validate",
]

MAX_COLUMNS = 2_000
MAX_CELL_CHARS = 100_000
VALUE_CHARS = 200  # raw values in the error table are cut to this many characters
_MESSAGE_VALUE_CHARS = 60  # ... and to this many inside a message
_SAMPLE_BYTES = 1 << 20
_TRIM = " \t\r\n\x0b\x0c\u00a0\ufeff"
_ROW_COLUMN = "(row)"  # error "column" for problems with a whole row

_FORMATS: dict[str, str] = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".json": "json", ".jsonl": "json", ".ndjson": "json",
    ".xlsx": "xlsx",
}
_EXPECTED_TYPES = ".csv, .tsv, .txt, .parquet, .json, .jsonl or .xlsx"
_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

# Leading bytes of common non-text files, for a helpful message when one is uploaded as text.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook?)"),
    (b"PAR1", "a Parquet file"),
    (b"\xd0\xcf\x11\xe0", "an old binary Excel/Office file (.xls)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
)

_BOOL_TRUE = ("true", "t", "yes", "y", "1")
_BOOL_FALSE = ("false", "f", "no", "n", "0")
_NUM_RE = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
_DATE_RE = (r"([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{4}/[0-9]{1,2}/[0-9]{1,2})"
            r"([T ]00:00(:00(\.0+)?)?)?")
_DATA_LIKE = re.compile(
    r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)|[0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}.*"
    r"|true|false|yes|no", re.IGNORECASE)


class IngestError(ValueError):
    """A whole file cannot be used. The message is one line naming the file."""


# --------------------------------------------------------------------------------------------
# Raw reading
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RawTable:
    """A file's table as text: every column ``string``, under the file's own header names.

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
        """Wrap an in-memory (possibly typed) Arrow table; typed columns become text."""
        table = _text_table(table)
        _check_headers(table.column_names, filename)
        return cls(table, filename, format)


def read_raw(source: str | os.PathLike[str] | bytes | bytearray | memoryview | IO[Any],
             filename: str | None = None) -> RawTable:
    """Read ``source`` as a table of text columns; the format comes from ``filename``'s
    extension (``filename`` defaults to the name of a path ``source``).

    Raises :class:`IngestError` (one line naming the file) when the file cannot be used.
    """
    if filename is None:
        if not isinstance(source, (str, os.PathLike)):
            raise TypeError("read_raw needs a filename when source is not a path")
        filename = Path(source).name
    name = Path(str(filename)).name or str(filename)
    ext = Path(name).suffix.lower()
    fmt = _FORMATS.get(ext)
    if fmt is None:
        if ext == ".xls":
            raise IngestError(f"{name}: old binary Excel files (.xls) are not supported; "
                              "save it as .xlsx or CSV")
        raise IngestError(f"{name}: unsupported file type {ext or '(no extension)'!r}; "
                          f"expected {_EXPECTED_TYPES}")
    data = _read_bytes(source, name)
    if _blank(data):
        raise IngestError(f"{name}: the file is empty; expected a header row with column "
                          "names such as case_id, cpt_code")
    try:
        if fmt == "csv":
            raw = _read_csv(data, name, tab=ext == ".tsv")
        elif fmt == "parquet":
            raw = _read_parquet(data, name)
        elif fmt == "json":
            raw = _read_json(data, name)
        else:
            raw = _read_xlsx(data, name)
    except IngestError:
        raise
    except (pa.ArrowException, UnicodeError, ValueError, csv.Error, OSError, KeyError,
            IndexError, TypeError, EOFError, RecursionError) as exc:
        # Anything a parser library says about bad input becomes one line about the file.
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise IngestError(f"{name}: could not be read as {fmt.upper()} ({detail[:200]})") from exc
    _check_headers(raw.table.column_names, name)
    return raw


def _blank(data: bytes) -> bool:
    """Only whitespace, NULs and byte-order marks (checked without copying a big file)."""
    junk = b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"
    return all(not data[i:i + 65536].strip(junk) for i in range(0, len(data), 65536))


def _read_bytes(source: Any, name: str) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        try:
            return Path(source).read_bytes()
        except FileNotFoundError as exc:
            raise IngestError(f"{name}: file not found ({source})") from exc
        except OSError as exc:
            raise IngestError(f"{name}: could not be opened ({exc.strerror or exc})") from exc
    if hasattr(source, "getvalue"):
        data = source.getvalue()
    elif hasattr(source, "read"):
        data = source.read()
    else:
        raise TypeError(f"cannot read {type(source).__name__}; give a path, bytes or a file")
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def _check_headers(headers: Sequence[str], name: str) -> None:
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


def _check_header_row(headers: Sequence[str], name: str) -> None:
    """Refuse a table whose first row is blank or looks like data rather than column names."""
    cells = [h.strip(_TRIM) for h in headers]
    if not any(cells):
        raise IngestError(f"{name}: no header row (the first row is blank); expected column "
                          "names such as case_id, cpt_code")
    if propose_mapping(headers):
        return
    data_like = [c for c in cells if c and _DATA_LIKE.fullmatch(c)]
    if data_like:
        shown = ", ".join(repr(c[:30]) for c in cells[:4])
        raise IngestError(f"{name}: no header row (the first row looks like data: {shown}); "
                          "expected column names such as case_id, cpt_code")


def _blank_names(names: Sequence[str]) -> list[str]:
    """Name blank header cells by their position so they stay distinct."""
    return [n if n.strip(_TRIM) else f"column_{i + 1}" for i, n in enumerate(names)]


# --- CSV ------------------------------------------------------------------------------------

def _decode(data: bytes, name: str, verify: bool = True) -> tuple[bytes, str]:
    """(UTF-8 bytes without BOM, detected encoding name).

    With ``verify=False`` UTF-8 is only checked on the first megabyte (the CSV parser checks
    the rest and the caller falls back to :func:`_legacy` when it fails), which spares a
    decoded copy of a big file.
    """
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise IngestError(f"{name}: looks like {what}, not delimited text; expected a "
                              "CSV/TSV text file")
    boms = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
            (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le"),
            (codecs.BOM_UTF16_BE, "utf-16-be"))
    for bom, encoding in boms:
        if data.startswith(bom):
            body = data[len(bom):]
            if encoding == "utf-8-sig":
                if not _is_utf8(body, verify):
                    raise _undecodable(name, "UTF-8")
                return body, encoding
            try:
                text = body.decode(encoding)
            except UnicodeDecodeError as exc:
                raise _undecodable(name, encoding.upper()) from exc
            return text.encode("utf-8"), encoding
    utf16 = _bomless_utf16(data[:4096])
    if utf16:
        try:
            return data.decode(utf16).encode("utf-8"), utf16
        except UnicodeDecodeError as exc:
            raise _undecodable(name, utf16.upper()) from exc
    if _mostly_nul(data[:_SAMPLE_BYTES]):
        raise _binary(name)
    if _is_utf8(data, verify):
        return data, "utf-8"
    return _legacy(data)


def _mostly_nul(head: bytes) -> bool:
    """More than 1 byte in 100 of the file's first megabyte is NUL: binary data (or text in an
    encoding that was not recognised), refused. A rarer NUL - a stray one in a text export -
    rejects just its row (:func:`_nul_errors`), in whole and batched reading alike: both
    decide on the same first megabyte."""
    nuls = head.count(0)
    return nuls > 0 and nuls * 100 > len(head)


def _is_utf8(data: bytes, whole: bool) -> bool:
    try:
        if whole:
            data.decode("utf-8")
        else:
            codecs.getincrementaldecoder("utf-8")().decode(data[:_SAMPLE_BYTES], final=False)
    except UnicodeDecodeError:
        return False
    return True


def _legacy(data: bytes) -> tuple[bytes, str]:
    """Windows-1252 (what "Latin-1" exports usually are), else ISO-8859-1, as UTF-8."""
    try:
        return data.decode("cp1252").encode("utf-8"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1").encode("utf-8"), "latin-1"


def _bomless_utf16(head: bytes) -> str | None:
    if len(head) < 8:
        return None
    even, odd = head[0::2], head[1::2]
    even_nul, odd_nul = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_nul > 0.3 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.3 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def _undecodable(name: str, encoding: str) -> IngestError:
    return IngestError(f"{name}: the text could not be decoded as {encoding}; expected a "
                       "UTF-8, UTF-16 or Latin-1 CSV file")


def _binary(name: str) -> IngestError:
    return IngestError(f"{name}: looks like binary data, not delimited text; expected a "
                       "CSV/TSV text file")


def _sample_text(data: bytes) -> str:
    """The first ~1 MB of UTF-8 ``data``, cut at the last line break."""
    head = data[:_SAMPLE_BYTES]
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(head, final=False)
    if len(data) > _SAMPLE_BYTES:
        cut = max(text.rfind("\n"), text.rfind("\r"))
        if cut > 0:
            text = text[:cut]
    return text


def _looks_binary(sample: str) -> bool:
    if not sample:
        return False
    controls = sum(1 for ch in sample[:65536]
                   if (ord(ch) < 32 and ch not in "\t\r\n\x0b\x0c") or 0x7F <= ord(ch) < 0xA0)
    return controls > max(3, len(sample[:65536]) // 100)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _sniff_delimiter(sample: str) -> str:
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
        sniffed: str | None = csv.Sniffer().sniff(snippet, delimiters="".join(_DELIMITERS)) \
            .delimiter
    except csv.Error:
        sniffed = None
    if sniffed in _DELIMITERS and consistent(sniffed):
        return sniffed
    scores = {d: consistent(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: scores[d])
    if scores[best]:
        return best
    # Nothing consistent: the delimiter giving the most header cells (comma by default).
    header_widths = {d: len(next(csv.reader([lines[0]], delimiter=d), [])) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: header_widths[d])
    return best if header_widths[best] > 1 else (sniffed or ",")


class _NotUtf8(Exception):
    """The text turned out not to be UTF-8 after the sampled first megabyte."""


def _read_csv(data: bytes, name: str, tab: bool) -> RawTable:
    body, encoding = _decode(data, name, verify=False)
    if body[:1] in (b"\r", b"\n"):
        body = body.lstrip(b"\r\n")
    if _blank(body):
        raise IngestError(f"{name}: the file is empty; expected a header row with column "
                          "names such as case_id, cpt_code")
    sample = _sample_text(body)
    if _looks_binary(sample):
        raise _binary(name)
    delimiter = "\t" if tab else _sniff_delimiter(sample)
    header = next(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter), [])
    if len(header) > MAX_COLUMNS:
        raise IngestError(f"{name}: has {len(header):,} columns; at most {MAX_COLUMNS:,} "
                          "columns are supported")
    _check_header_row(header, name)
    if not body.endswith((b"\n", b"\r")):
        body += b"\n"
    try:
        table, read_errors = _parse_csv(body, delimiter, len(header), name)
    except _NotUtf8:
        if encoding != "utf-8":
            raise _undecodable(name, "UTF-8") from None
        body, encoding = _legacy(body)
        table, read_errors = _parse_csv(body, delimiter, len(header), name)
    return RawTable(table, name, "csv", encoding, delimiter, tuple(read_errors))


def csv_options(width: int, delimiter: str, block: int, newlines: bool,
                ragged: _RaggedRows | None = None) -> dict[str, Any]:
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


class _RaggedRows:
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


class _Unparsed(ValueError):
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
        ragged = _RaggedRows()
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
                     names=_blank_names(header))
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
    errors: list[tuple[int, str, str, str]] = []
    width = records.num_columns
    if not ragged:
        table = _drop_blank_rows(records)
    else:
        n = records.num_rows + len(ragged)
        at = np.array([r[0] for r in ragged], dtype=np.int64)
        if at.min() < 0 or at.max() >= n or len(np.unique(at)) != len(at):
            raise _Unparsed("ragged rows out of place")
        parts, shown, nonblank = [], [], []
        with _csv_field_limit():
            for k in range(0, len(ragged), 1 << 16):
                cells = [_split_row(text, delimiter) for _, text, _ in ragged[k:k + (1 << 16)]]
                padded = [(c + [""] * width)[:width] for c in cells]
                parts.append(pa.table([pa.array(col, pa.string()) for col in zip(*padded,
                                                                                 strict=True)],
                                      names=records.column_names))
                shown += [delimiter.join(c)[:VALUE_CHARS + 1] for c in cells]
                nonblank += [any(x.strip(_TRIM) for x in c) for c in cells]
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
        for (_, _, cells), i, value in zip(ragged, at, shown, strict=True):
            if keep[i]:
                errors.append((int(position[i]) + 1, _ROW_COLUMN, value,
                               f"row has {cells} cells but the header has {width}"))
    table = table.rename_columns(_blank_names(header))
    table, nul = _nul_errors(table)
    return table, sorted(errors + nul, key=lambda e: e[0])


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
        rows = np.flatnonzero(_np_bool(pc.match_substring(col, "\x00")))
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
    first = pc.utf8_trim(table.column(0), characters=_TRIM)
    candidates = np.flatnonzero(_np_bool(pc.equal(first, "")))
    if len(candidates) == 0:
        return None
    blank = np.ones(len(candidates), dtype=bool)
    take = pa.array(candidates)
    for col in table.columns[1:]:
        cells = pc.utf8_trim(col.take(take), characters=_TRIM)
        blank &= _np_bool(pc.equal(cells, ""))
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
                    if any(cell.strip(_TRIM) for cell in r)]
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
            errors.append((i, _ROW_COLUMN, shown,
                           f"row has {len(row)} cells but the header has {width}"))
            data[i - 1] = (row + [""] * width)[:width]
    columns = [[r[j] for r in data] for j in range(width)]
    return header, columns, errors


# --- Parquet / JSON / Excel -----------------------------------------------------------------

def _read_parquet(data: bytes, name: str) -> RawTable:
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
    """A (part of a) Parquet file's table as text columns, cells that are not UTF-8 reported."""
    table, bad_text = _repair_utf8(table)
    return RawTable(_text_table(table), name, "parquet", read_errors=tuple(bad_text))


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
                errors.append((row, str(header), shown[:200],
                               "the cell is not valid UTF-8 text (damaged file or wrong "
                               "encoding); expected text"))
        columns.append(pa.chunked_array([pa.array(texts, pa.string())], pa.string()))
    errors.sort(key=lambda e: e[0])
    return pa.table(columns, names=table.column_names), errors


def _text_table(table: pa.Table) -> pa.Table:
    names = _blank_names([str(n) for n in table.column_names])
    if table.num_rows < 50_000 or table.num_columns < 2:
        return pa.table([_text_column(col) for col in table.columns], names=names)
    # Arrow's casts release the GIL: render the columns in parallel threads.
    with ThreadPoolExecutor(max_workers=_workers()) as pool:
        columns = list(pool.map(_text_column, table.columns))
    return pa.table(columns, names=names)


def _text_column(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """Render a typed column as text: bool -> 'true'/'false', numbers -> str, dates -> ISO."""
    if isinstance(col, pa.Array):
        col = pa.chunked_array([col], type=col.type)
    t = col.type
    if pa.types.is_dictionary(t):
        return _text_column(col.cast(t.value_type))
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
        if t.tz is None:
            as_date = col.cast(pa.date32())
            if pc.all(pc.equal(as_date.cast(t), col)).as_py() in (True, None):
                return as_date.cast(pa.string())
        with contextlib.suppress(pa.ArrowInvalid):  # whole seconds: no fraction shown
            col = col.cast(pa.timestamp("s", t.tz))
        return pc.strftime(col, "%Y-%m-%d %H:%M:%S")
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return col.cast(pa.string())
    return pa.chunked_array([pa.array([None if v is None else _cell_text(v)
                                       for v in col.to_pylist()], pa.string())])


def _cell_text(value: Any) -> str | None:
    """Text of one typed value (JSON / Excel / nested Parquet)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def _records_table(records: list[dict[str, Any]]) -> pa.Table:
    keys = list(dict.fromkeys(k for r in records for k in r))
    columns = []
    for key in keys:
        values = [r.get(key) for r in records]
        if not all(v is None or type(v) is str for v in values):
            values = [_cell_text(v) for v in values]
        columns.append(pa.array(values, pa.string()))
    return pa.table(columns, names=[str(k) for k in keys])


class _Repeated(dict):  # type: ignore[type-arg]
    """A JSON object that gave a key more than once (``json`` keeps the last silently):
    ``repeated`` is ``(key, times, the values shown)`` for each such key."""

    __slots__ = ("repeated",)


class _JsonObjects:
    """``object_pairs_hook``: a plain dict, or a :class:`_Repeated` one when a key repeats
    (``repeats`` counts those)."""

    def __init__(self) -> None:
        self.repeats = 0

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        self.repeats += 1
        return _repeated(pairs)


def _repeated(pairs: list[tuple[str, Any]]) -> _Repeated:
    out = _Repeated(pairs)
    out.repeated = []
    for key in dict.fromkeys(k for k, _ in pairs):
        values = [v for k, v in pairs if k == key]
        if len(values) > 1:
            out.repeated.append((key, len(values),
                                 " | ".join(_cell_text(v) or "" for v in values)))
    return out


def _repeated_inside(value: Any) -> _Repeated | None:
    """The first object inside ``value`` that repeats a key (no recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Repeated):
            return item
        if isinstance(item, dict):
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))
    return None


def _repeated_key_errors(records: list[dict[str, Any]]) -> list[tuple[int, str, str, str]]:
    """A row error for each key given twice in a record, or in an object in one of its
    cells."""
    errors = []
    for row, record in enumerate(records, start=1):
        if isinstance(record, _Repeated):
            errors += [(row, str(key), shown, f"key {key!r} is given {times} times in this "
                                              "record; expected each key once")
                       for key, times, shown in record.repeated]
        for column, value in record.items():
            inner = _repeated_inside(value) if isinstance(value, (dict, list)) else None
            if inner is not None:
                key, times, shown = inner.repeated[0]
                errors.append((row, str(column), shown,
                               f"key {key!r} is given {times} times in an object in this "
                               "cell; expected each key once"))
    return errors


def _read_json(data: bytes, name: str) -> RawTable:
    body, encoding = _decode(data, name)
    text = body.decode("utf-8")
    objects = _JsonObjects()
    hooks: dict[str, Any] = {"parse_float": str, "parse_int": str, "parse_constant": str,
                             "object_pairs_hook": objects}
    stripped = text.lstrip()
    expected = "an array of objects or JSON Lines (one object per line)"
    records: list[Any]
    try:
        doc = json.loads(stripped, **hooks)
    except json.JSONDecodeError as exc:
        if stripped.startswith("[") or "Extra data" not in exc.msg:
            raise IngestError(f"{name}: is not valid JSON ({exc.msg} at line {exc.lineno}); "
                              f"expected {expected}") from exc
        records = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line, **hooks))
            except json.JSONDecodeError as err:
                raise IngestError(f"{name}: line {lineno} is not valid JSON ({err.msg}); "
                                  f"expected {expected}") from err
            if not isinstance(records[-1], dict):
                raise IngestError(f"{name}: line {lineno} is not a JSON object; expected "
                                  f"{expected}") from None
    else:
        if isinstance(doc, _Repeated):  # {"cases": [...], "cases": [...]}: which one?
            key, times, _ = doc.repeated[0]
            raise IngestError(f"{name}: key {key!r} is given {times} times in the top-level "
                              "object; expected each key once")
        if isinstance(doc, dict):
            lists = [v for v in doc.values() if isinstance(v, list)]
            # {"cases": [...]} is a wrapped array; any other object is one record
            doc = lists[0] if len(doc) == 1 and len(lists) == 1 else [doc]
        if not isinstance(doc, list):
            raise IngestError(f"{name}: holds a JSON {type(doc).__name__}, not records; "
                              f"expected {expected}")
        bad = next((i for i, r in enumerate(doc, start=1) if not isinstance(r, dict)), None)
        if bad is not None:
            raise IngestError(f"{name}: item {bad} of the JSON array is not an object; "
                              f"expected {expected}")
        records = doc
    if not records:
        raise IngestError(f"{name}: contains no records; expected {expected}")
    errors = _repeated_key_errors(records) if objects.repeats else []
    return RawTable(_records_table(records), name, "json", encoding, read_errors=tuple(errors))


# --- Excel (.xlsx) ----------------------------------------------------------------------------
#
# An .xlsx workbook is a zip of XML parts, read here with zipfile and expat rather than
# openpyxl's loader, so that what a hostile workbook can cost is bounded before and while it is
# read: the zip's directory is checked before anything is decompressed (number of parts, their
# declared sizes and compression ratios), every part is read through a stream that stops at its
# declared size and the file's budget, the XML may not declare a DTD (entity expansion) nor nest
# deeper than a workbook does, and a sheet costs what its cells cost - only the cells present
# are looked at (a cell's column from its own reference), never the grid that <dimension> or the
# last cell claims. Values follow what openpyxl's read-only, values-only reader gave: shared and
# inline strings, numbers (dates by their cell style), booleans, cached formula results.

@dataclass(frozen=True)
class XlsxLimits:
    """What reading one .xlsx file may cost (the reasons are in the README's Security
    section). Tests lower them to try small files against them."""

    max_parts: int = 10_000  # zip members
    max_directory_bytes: int = 4 << 20  # the zip's central directory
    max_expanded_bytes: int = 512 << 20  # all members together, decompressed
    max_ratio: int = 100  # decompressed : compressed, for a member of ...
    ratio_from_bytes: int = 1 << 20  # ... at least this many decompressed bytes
    max_rows: int = 1_048_576  # Excel's last row (and most rows a sheet can have)
    max_columns: int = MAX_COLUMNS  # a value beyond this column refuses the file
    max_cells: int = 1 << 24  # data rows x header columns (the table that is built)
    max_elements: int = 1 << 26  # XML elements in all parts read (~4 a cell)
    max_depth: int = 64  # XML element nesting
    max_listed: int = 100_000  # sheets, relationships, styles listed in the small parts


XLSX_LIMITS = XlsxLimits()

_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_XML_CHUNK = 1 << 20
_FLUSH_CELLS = 1 << 20  # a sheet's rows become Arrow columns every ~million cells


def _column_letters(index: int) -> str:
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# "A" -> 1 ... "XFD" -> 16384: a cell reference's column by one dictionary look-up
_COLUMN_OF = {_column_letters(i): i for i in range(1, 16_385)}


def _size(n: int) -> str:
    if n >= 10 << 20:
        return f"{n / (1 << 20):,.0f} MB"
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MB"
    return f"{n / 1024:,.1f} KB" if n >= 1024 else f"{n:,} bytes"


_LOCAL_NAMES: dict[str, str] = {}


def _local(tag: str) -> str:
    """The element's name without a namespace prefix (``x:c`` -> ``c``)."""
    local = _LOCAL_NAMES.get(tag)
    if local is None:
        local = tag.rpartition(":")[2]
        if len(_LOCAL_NAMES) < 4096:
            _LOCAL_NAMES[tag] = local
    return local


class _CappedStream:
    """A zip member's decompressed bytes, refused past ``cap`` bytes (its declared size, within
    the file's budget). zipfile stops at the declared size itself; this keeps the bound
    whatever does the decompressing."""

    def __init__(self, raw: IO[bytes], cap: int, refuse: Any) -> None:
        self.raw, self.cap, self.count, self.refuse = raw, cap, 0, refuse

    def read(self, n: int = -1) -> bytes:
        want = self.cap + 1 - self.count
        data = self.raw.read(want if n is None or n < 0 else min(n, want))
        self.count += len(data)
        if self.count > self.cap:
            raise self.refuse()
        return data


class _Workbook:
    """One .xlsx file: its zip checked (see :class:`XlsxLimits`), its parts parsed by expat."""

    def __init__(self, data: bytes, name: str, limits: XlsxLimits) -> None:
        self.name, self.limits = name, limits
        self._check_directory(data)
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        self._check_members()
        self.budget = limits.max_expanded_bytes
        self.elements_left = limits.max_elements

    # -- the zip, before anything is decompressed --------------------------------------------

    def _check_directory(self, data: bytes) -> None:
        """zipfile parses the whole central directory when it opens a file: check its size and
        entry count from the end record first."""
        name, limits = self.name, self.limits
        at = data.rfind(b"PK\x05\x06", max(0, len(data) - _EOCD.size - 65535))
        if at < 0 or at + _EOCD.size > len(data):
            raise IngestError(f"{name}: is not an .xlsx workbook (a damaged zip: no end of "
                              "directory record); expected an Excel .xlsx file")
        entries, directory = _EOCD.unpack_from(data, at)[4:6]
        start64 = at - _EOCD64_LOCATOR.size - _EOCD64.size
        if (entries == 0xFFFF or directory == 0xFFFFFFFF) and start64 >= 0 \
                and data[at - _EOCD64_LOCATOR.size:at].startswith(b"PK\x06\x07") \
                and data[start64:start64 + 4] == b"PK\x06\x06":
            entries, directory = _EOCD64.unpack_from(data, start64)[7:9]
        if entries > limits.max_parts:
            raise self._too_many_parts(entries)
        if directory > limits.max_directory_bytes:
            raise IngestError(f"{name}: the zip directory is {_size(directory)}; at most "
                              f"{_size(limits.max_directory_bytes)} is accepted in an .xlsx "
                              "workbook")

    def _too_many_parts(self, count: int) -> IngestError:
        return IngestError(f"{self.name}: the zip holds {count:,} parts; at most "
                           f"{self.limits.max_parts:,} are accepted in an .xlsx workbook")

    def _check_members(self) -> None:
        name, limits = self.name, self.limits
        infos = self.zip.infolist()
        if len(infos) > limits.max_parts:
            raise self._too_many_parts(len(infos))
        total = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise IngestError(f"{name}: part {info.filename} is encrypted; save the "
                                  "workbook without a password")
            size = info.file_size
            if size >= limits.ratio_from_bytes \
                    and size > limits.max_ratio * max(info.compress_size, 1):
                raise IngestError(
                    f"{name}: part {info.filename} expands from {_size(info.compress_size)} to "
                    f"{_size(size)} ({size // max(info.compress_size, 1):,} to 1); at most "
                    f"{limits.max_ratio} to 1 is accepted in an .xlsx workbook (a zip bomb?)")
            total += size
        if total > limits.max_expanded_bytes:
            big = max(infos, key=lambda i: i.file_size)
            raise IngestError(
                f"{name}: the workbook expands to {_size(total)} (largest part {big.filename}: "
                f"{_size(big.file_size)}); at most {_size(limits.max_expanded_bytes)} is read "
                "from an .xlsx file - save a sheet this big as CSV")

    # -- parts -------------------------------------------------------------------------------

    def has(self, part: str) -> bool:
        return part in self.zip.NameToInfo

    def parse(self, part: str, start: Any, end: Any, chars: Any = None) -> None:
        """Feed ``part`` through expat to the handlers (no DTD, bounded bytes)."""
        name = self.name
        try:
            info = self.zip.getinfo(part)
        except KeyError:
            raise IngestError(f"{name}: the workbook has no part {part} (a damaged .xlsx?); "
                              "expected an Excel .xlsx file") from None
        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.buffer_size = 1 << 16

        def refuse_dtd(*_: Any) -> None:
            raise IngestError(f"{name}: part {part} declares a DTD (XML entities), which "
                              ".xlsx parts never do; refused")

        parser.StartDoctypeDeclHandler = refuse_dtd
        parser.EntityDeclHandler = refuse_dtd
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        if chars is not None:
            parser.CharacterDataHandler = chars
        cap = min(info.file_size, self.budget)

        def too_big() -> IngestError:
            return IngestError(f"{name}: part {part} expands beyond the {_size(cap)} its zip "
                               "entry declares (a zip bomb?); refused")

        try:
            with self.zip.open(info) as raw:
                stream = _CappedStream(raw, cap, too_big)
                while chunk := stream.read(_XML_CHUNK):
                    parser.Parse(chunk, False)
                parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise IngestError(f"{name}: part {part} is not well-formed XML ({_detail(exc)}); "
                              "expected an Excel .xlsx file") from exc
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise IngestError(f"{name}: part {part} is damaged ({_detail(exc)}); expected an "
                              "Excel .xlsx file") from exc
        self.budget -= stream.count

    def elements(self, part: str, wanted: set[str]
                 ) -> list[tuple[str, dict[str, str], str]]:
        """``(name, attributes, parent's name)`` of the ``wanted`` elements of a small part."""
        found: list[tuple[str, dict[str, str], str]] = []
        stack: list[str] = [""]
        limits = self.limits

        def start(tag: str, attrs: dict[str, str]) -> None:
            self.elements_left -= 1
            if self.elements_left < 0:
                raise self.too_many_elements(part)
            local = _local(tag)
            if local in wanted:
                if len(found) >= limits.max_listed:
                    raise IngestError(f"{self.name}: part {part} lists more than "
                                      f"{limits.max_listed:,} {local} elements; refused")
                found.append((local, attrs, stack[-1]))
            stack.append(local)
            if len(stack) > limits.max_depth:
                raise self.too_deep(part)

        def end(tag: str) -> None:
            stack.pop()

        self.parse(part, start, end)
        return found

    def too_deep(self, part: str) -> IngestError:
        return IngestError(f"{self.name}: part {part} nests XML elements more than "
                           f"{self.limits.max_depth} deep; expected an Excel .xlsx file")

    def too_many_elements(self, part: str) -> IngestError:
        return IngestError(f"{self.name}: part {part} takes the workbook beyond "
                           f"{self.limits.max_elements:,} XML elements; save a sheet this big "
                           "as CSV")

    def relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """Id -> (type, target part) of a ``.rels`` part (none when it is missing)."""
        if not self.has(part):
            return {}
        base = posixpath.dirname(posixpath.dirname(part))
        rels = {}
        for _, attrs, _ in self.elements(part, {"Relationship"}):
            target = attrs.get("Target", "")
            if attrs.get("TargetMode") == "External" or not target:
                continue
            target = target.lstrip("/") if target.startswith("/") \
                else posixpath.normpath(posixpath.join(base, target))
            rels[attrs.get("Id", "")] = (attrs.get("Type", ""), target)
        return rels

    # -- the workbook ------------------------------------------------------------------------

    def read(self) -> RawTable:
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

        name = self.name
        office = [t for kind, t in self.relationships("_rels/.rels").values()
                  if kind.endswith("/officeDocument")]
        book = office[0] if office else "xl/workbook.xml"
        book_rels = self.relationships(posixpath.join(posixpath.dirname(book), "_rels",
                                                      posixpath.basename(book) + ".rels"))
        listed = self.elements(book, {"sheet", "workbookPr"})
        date1904 = any(attrs.get("date1904", "").lower() in ("1", "true")
                       for local, attrs, _ in listed if local == "workbookPr")
        epoch = CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900
        sheets = []
        for local, attrs, _ in listed:
            if local != "sheet":
                continue
            rid = next((v for k, v in attrs.items() if k.endswith(":id")), attrs.get("id"))
            kind, target = book_rels.get(rid or "", ("", ""))
            if kind.endswith("/worksheet"):
                sheets.append((attrs.get("name", target), target))
        by_kind = {kind.rpartition("/")[2]: target for kind, target in book_rels.values()}
        date_styles, delta_styles = self._date_styles(by_kind.get("styles"))
        strings = by_kind.get("sharedStrings")
        if strings is None and self.has("xl/sharedStrings.xml"):
            strings = "xl/sharedStrings.xml"
        shared: _SharedStrings | None = None
        for sheet_name, part in sheets:
            if shared is None:
                shared = _SharedStrings(self, strings)
            reader = _SheetReader(self, sheet_name, part, shared, date_styles, delta_styles,
                                  epoch)
            raw = reader.read()
            if raw is not None:
                return raw
        raise IngestError(f"{name}: the workbook has no data; expected a header row with "
                          "column names such as case_id, cpt_code")

    def _date_styles(self, part: str | None) -> tuple[frozenset[int], frozenset[int]]:
        """Cell style indexes whose number format shows a date (and those showing a duration),
        as openpyxl decides."""
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

        if not part or not self.has(part):
            return frozenset(), frozenset()
        found = self.elements(part, {"numFmt", "xf"})
        custom = {attrs.get("numFmtId"): attrs.get("formatCode")
                  for local, attrs, _ in found if local == "numFmt"}
        dates, deltas = set(), set()
        xfs = [attrs for local, attrs, parent in found if local == "xf" and parent == "cellXfs"]
        for index, attrs in enumerate(xfs):
            fmt_id = attrs.get("numFmtId", "0")
            fmt = custom[fmt_id] if fmt_id in custom else \
                BUILTIN_FORMATS.get(int(fmt_id) if fmt_id.isdigit() else -1)
            if is_date_format(fmt):
                dates.add(index)
            if is_timedelta_format(fmt):
                deltas.add(index)
        return frozenset(dates), frozenset(deltas)


class _SharedStrings:
    """The shared string table, kept as Arrow text (a few bytes a string, not a Python object
    each); ``blank`` holds the indexes of strings that are only whitespace."""

    def __init__(self, book: _Workbook, part: str | None) -> None:
        self.blank: set[int] = set()
        chunks: list[pa.Array] = []
        pending: list[str] = []
        parts: list[str] | None = None
        sink: list[str] | None = None
        depth = phonetic = kept = count = 0
        left = book.elements_left
        max_depth = book.limits.max_depth

        def start(tag: str, attrs: dict[str, str]) -> None:
            nonlocal parts, sink, depth, phonetic, kept, left
            depth += 1
            left -= 1
            if depth > max_depth:
                raise book.too_deep(part or "")
            if left < 0:
                raise book.too_many_elements(part or "")
            local = _local(tag)
            if local == "si":
                parts, kept = [], 0
            elif local == "t":
                if parts is not None and not phonetic:
                    sink = parts
            elif local == "rPh":
                phonetic += 1

        def end(tag: str) -> None:
            nonlocal parts, sink, depth, phonetic, pending, count
            depth -= 1
            local = _local(tag)
            if local == "t":
                sink = None
            elif local == "rPh":
                phonetic -= 1
            elif local == "si" and parts is not None:
                text = "".join(parts).replace("x005F_", "")  # as openpyxl reads them
                if not text.strip():
                    self.blank.add(count)
                pending.append(text)
                count += 1
                parts = None
                if len(pending) >= 1 << 16:
                    chunks.append(pa.array(pending, pa.string()))
                    pending = []

        def chars(data: str) -> None:
            nonlocal kept, sink
            if sink is not None:
                sink.append(data)
                kept += len(data)
                if kept > MAX_CELL_CHARS:  # longer than any cell may be: the rest is not kept
                    sink = None

        if part is not None and book.has(part):
            book.parse(part, start, end, chars)
            book.elements_left = left
        chunks.append(pa.array(pending, pa.string()))
        self.table = pa.concat_arrays(chunks)
        self.count = len(self.table)

    def text(self, index: int) -> str:
        return self.table[index].as_py()

    def resolve(self, column: Sequence[Any]) -> pa.Array:
        """One column of cells (text, None, or a shared string's index) as Arrow text."""
        try:
            return pa.array(column, pa.string())
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            pass
        indexes = pa.array([v if type(v) is int else None for v in column], pa.int64())
        texts = pa.array([None if type(v) is int else v for v in column], pa.string())
        return pc.coalesce(texts, self.table.take(indexes))


class _SheetReader:
    """One worksheet's cells, streamed: rows that hold a value become table rows (the first
    the header); blank rows, empty cells and the declared dimension cost nothing."""

    def __init__(self, book: _Workbook, sheet: str, part: str, shared: _SharedStrings,
                 date_styles: frozenset[int], delta_styles: frozenset[int],
                 epoch: dt.datetime) -> None:
        self.book, self.sheet, self.part, self.shared = book, sheet, part, shared
        self.date_styles, self.delta_styles, self.epoch = date_styles, delta_styles, epoch
        self.limits = book.limits
        self.header: list[str] | None = None
        self.width = self.rows_read = self.row_number = self.column = self.depth = 0
        self.cells: list[tuple[int, str | int]] = []
        self.pending: list[list[str | int | None]] = []
        self.columns: list[list[pa.Array]] = []
        self.errors: list[tuple[int, str, str, str]] = []
        self.kind = "n"
        self.style: str | None = None
        self.value: list[str] | None = None
        self.inline: list[str] | None = None
        self.sink: list[str] | None = None
        self.kept = self.phonetic = self.rows_seen = 0
        self.elements_left = book.elements_left

    def where(self) -> str:
        return f"{self.book.name}: sheet {self.sheet!r}"

    def read(self) -> RawTable | None:
        self.book.parse(self.part, self.start, self.end, self.chars)
        self.book.elements_left = self.elements_left
        if self.header is None:
            return None
        self.flush()
        columns = [pa.chunked_array(self.columns[j] if self.columns else [], pa.string())
                   for j in range(self.width)]
        table = pa.table(columns, names=_blank_names(self.header))
        return RawTable(table, self.book.name, "xlsx", None, None, tuple(self.errors))

    # -- expat handlers ----------------------------------------------------------------------

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        self.elements_left -= 1
        if self.depth > self.limits.max_depth:
            raise self.book.too_deep(self.part)
        if self.elements_left < 0:
            raise self.book.too_many_elements(self.part)
        local = _LOCAL_NAMES.get(tag) or _local(tag)
        if local == "c":
            ref = attrs.get("r")
            if ref:
                column = _COLUMN_OF.get(ref.rstrip("0123456789"))
                if column is None:
                    raise IngestError(f"{self.where()} has a cell reference {ref[:20]!r} that "
                                      "is not one; expected an Excel .xlsx file")
                self.column = column
            else:
                self.column += 1
            self.kind = attrs.get("t", "n")
            self.style = attrs.get("s")
            self.value = self.inline = None
        elif local == "v":
            self.sink = self.value = []
            self.kept = 0
        elif local == "t":
            if self.inline is not None and not self.phonetic:
                self.sink = self.inline
        elif local == "is":
            self.inline = []
            self.kept = 0
        elif local == "row":
            number = attrs.get("r")
            self.row_number = int(number) if number else self.row_number + 1
            self.rows_seen += 1
            if self.row_number > self.limits.max_rows:
                raise IngestError(f"{self.where()} has a row {self.row_number:,}, beyond "
                                  f"Excel's last row ({self.limits.max_rows:,}); expected an "
                                  "Excel .xlsx file")
            if self.rows_seen > self.limits.max_rows:
                raise IngestError(f"{self.where()} has more than {self.limits.max_rows:,} "
                                  "rows, Excel's maximum; expected an Excel .xlsx file")
            self.cells = []
            self.column = 0
        elif local == "rPh":
            self.phonetic += 1

    def chars(self, data: str) -> None:
        sink = self.sink
        if sink is not None:
            sink.append(data)
            self.kept += len(data)
            if self.kept > MAX_CELL_CHARS:  # longer than any cell may be: the rest is not kept
                self.sink = None

    def end(self, tag: str) -> None:
        self.depth -= 1
        local = _LOCAL_NAMES.get(tag) or _local(tag)
        if local == "c":
            self.cell()
        elif local in ("v", "t"):
            self.sink = None
        elif local == "row":
            self.row()
        elif local == "rPh":
            self.phonetic -= 1

    # -- cells and rows ----------------------------------------------------------------------

    def cell(self) -> None:
        kind = self.kind
        value: str | int | None
        if kind == "inlineStr":
            value = "".join(self.inline) if self.inline is not None else None
        else:
            text = "".join(self.value) if self.value else ""
            if not text:
                return
            if kind == "n":
                value = self.number(text)
            elif kind == "s":
                value = int(text)
                if not 0 <= value < self.shared.count:
                    raise IngestError(f"{self.where()}: a cell refers to shared string "
                                      f"{value:,} of {self.shared.count:,}; expected an Excel "
                                      ".xlsx file")
            elif kind == "b":
                value = "true" if int(text) else "false"
            elif kind == "d":
                from openpyxl.utils.datetime import from_ISO8601

                value = _cell_text(from_ISO8601(text))
            else:  # "str" (a formula's text), "e" (#N/A ...)
                value = text
        if value is None:
            return
        if self.column > self.limits.max_columns:
            ref = f"{_column_letters(self.column)}{self.row_number}"
            raise IngestError(f"{self.where()} has a value in cell {ref} (column "
                              f"{self.column:,}); at most {self.limits.max_columns:,} columns "
                              "are supported")
        self.cells.append((self.column, value))

    def number(self, text: str) -> str | None:
        style = int(self.style) if self.style else 0
        if style in self.date_styles:
            from openpyxl.utils.datetime import from_excel

            number: float | int = float(text) if ("." in text or "E" in text or "e" in text) \
                else int(text)
            try:
                return _cell_text(from_excel(number, self.epoch,
                                             timedelta=style in self.delta_styles))
            except (OverflowError, ValueError):
                return "#VALUE!"  # as openpyxl: a date serial out of range
        if "." in text or "E" in text or "e" in text:
            return _cell_text(float(text))
        return str(int(text))

    def row(self) -> None:
        cells = self.cells
        if not cells:
            return
        self.cells = []
        blank = self.shared.blank
        if not any((v not in blank) if type(v) is int else v.strip()  # type: ignore[union-attr]
                   for _, v in cells):
            return
        if self.header is None:
            texts = {column: self.text(v) for column, v in cells}
            header = [texts.get(c, "") for c in range(1, max(texts) + 1)]
            while header and not header[-1].strip():
                header.pop()
            _check_header_row(header, self.book.name)
            self.header, self.width = header, len(header)
            return
        width = self.width
        values: list[str | int | None] = [None] * width
        extra = []
        for column, v in cells:
            if column <= width:
                values[column - 1] = v
            else:
                extra.append((column, v))
        self.rows_read += 1
        if extra:
            texts = [t for _, v in sorted(extra, key=lambda c: c[0])
                     if (t := self.text(v)).strip()]
            if texts:
                self.errors.append((self.rows_read, _ROW_COLUMN, " | ".join(texts),
                                    f"row has cells beyond the {width} header columns"))
        if self.rows_read * width > self.limits.max_cells:
            raise IngestError(
                f"{self.where()} is too big to read: more than {self.limits.max_cells:,} cells "
                f"({self.rows_read:,} rows x {width:,} columns so far); save it as CSV or "
                "Parquet (read in batches)")
        self.pending.append(values)
        if len(self.pending) * width >= _FLUSH_CELLS:
            self.flush()

    def text(self, value: str | int) -> str:
        return self.shared.text(value) if type(value) is int else value  # type: ignore[return-value]

    def flush(self) -> None:
        if not self.columns:
            self.columns = [[] for _ in range(self.width)]
        if self.pending:
            for j, column in enumerate(zip(*self.pending, strict=True)):
                self.columns[j].append(self.shared.resolve(column))
        self.pending = []


def _read_xlsx(data: bytes, name: str, limits: XlsxLimits | None = None) -> RawTable:
    try:
        import openpyxl  # noqa: F401 - its date helpers; the file is read below
    except ImportError as exc:
        raise IngestError(f"{name}: reading .xlsx needs the openpyxl package (pip install "
                          "openpyxl); or save the sheet as CSV") from exc
    if data.startswith(_OLE_MAGIC):
        raise IngestError(f"{name}: is a password-protected workbook or an old binary Excel "
                          "file, not an .xlsx; save it without a password as .xlsx or CSV")
    if not data.startswith(b"PK\x03\x04"):
        raise IngestError(f"{name}: is not an .xlsx workbook (not a ZIP container); expected "
                          "an Excel .xlsx file")
    try:
        return _Workbook(data, name, limits or XLSX_LIMITS).read()
    except (IngestError, MemoryError):
        raise
    except Exception as exc:  # zipfile, zlib, expat and value parsing raise many kinds
        raise IngestError(f"{name}: could not be opened as an .xlsx workbook "
                          f"({_detail(exc)})") from exc


def _detail(exc: BaseException) -> str:
    """An exception's message for a one-line error: its first line, at most 120 characters."""
    text = str(exc).strip()
    detail = text.splitlines()[0] if text else type(exc).__name__
    return detail if len(detail) <= 120 else detail[:119] + "…"


# --------------------------------------------------------------------------------------------
# Column mapping
# --------------------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s\-.]+")
_UNDERSCORES = re.compile(r"_+")


def normalise_header(name: str) -> str:
    """``' Case-ID. '`` -> ``'case_id'``: strip, lower, spaces/hyphens/dots -> ``_``."""
    text = str(name).strip(_TRIM).lower()
    text = _SEPARATORS.sub("_", text)
    return _UNDERSCORES.sub("_", text).strip("_")


def _lookup() -> dict[str, tuple[int, str]]:
    table: dict[str, tuple[int, str]] = {}
    for f in FIELDS:
        table[normalise_header(f.name)] = (0, f.name)
    for f in FIELDS:
        for syn in f.synonyms:
            table.setdefault(normalise_header(syn), (1, f.name))
    return table


_LOOKUP = _lookup()


def propose_mapping(headers: Sequence[str]) -> dict[str, str]:
    """Source header -> field name, by normalised field name or :attr:`Field.synonyms`.

    When two headers claim one field, an exact field name beats a synonym, then the first
    column wins; the other stays unmapped.
    """
    best: dict[str, tuple[int, int, str]] = {}
    for position, header in enumerate(headers):
        hit = _LOOKUP.get(normalise_header(header))
        if hit is None:
            continue
        rank, field_name = hit
        if field_name not in best or (rank, position) < best[field_name][:2]:
            best[field_name] = (rank, position, header)
    chosen = {header: field_name for field_name, (_, _, header) in best.items()}
    return {h: chosen[h] for h in headers if h in chosen}


def resolve_mapping(headers: Sequence[str], mapping: Mapping[str, str | None] | None = None,
                    filename: str = "file") -> dict[str, str]:
    """The proposed mapping with the user's entries applied on top.

    A user entry ``header -> field`` wins over the proposal (a column auto-mapped to the same
    field is unmapped); ``header -> None`` (or ``""``) leaves that column unmapped.
    """
    result = propose_mapping(headers)
    if mapping is None:
        return result
    known = set(headers)
    for header, target in mapping.items():
        if header not in known:
            raise IngestError(f"{filename}: the mapping names a column {header!r} that the "
                              f"file does not have; expected one of its headers")
        if target is None or not str(target).strip():
            result.pop(header, None)
            continue
        target = str(target).strip()
        if target not in FIELDS_BY_NAME:
            raise IngestError(f"{filename}: column {header!r} is mapped to {target!r}, which is "
                              "not a case field; expected a name from the field catalog")
        for other, f in list(result.items()):
            if f == target and other != header and other not in mapping:
                del result[other]
        result[header] = target
    claimed: dict[str, str] = {}
    for header, target in result.items():
        if target in claimed:
            raise IngestError(f"{filename}: columns {claimed[target]!r} and {header!r} are both "
                              f"mapped to {target}; expected one column per field")
        claimed[target] = header
    return {h: result[h] for h in headers if h in result}


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------
#
# Column-wise and vectorized (Arrow compute + numpy, threads across columns). A column with
# few distinct values - booleans, enums, ages, dates, as case data mostly is - is dictionary-
# encoded first and only its distinct values are trimmed and parsed; the typed column and the
# "invalid" mask are then gathered back through the dictionary indices. Row-level checks that
# span fields (duplicates, CPT / region / contrast) work on the typed arrays.

_ERROR_SCHEMA = pa.schema([("row", pa.int64()), ("case_id", pa.string()),
                           ("column", pa.string()), ("value", pa.string()),
                           ("message", pa.string())])


@dataclass
class IngestResult:
    """Typed accepted rows, one line per problem in the rejected ones, and the mapping used.

    ``accepted`` has exactly :func:`preauth.engine.arrow_schema` plus ``row`` (int64, the
    1-based data row of the file); ``errors`` has ``row, case_id, column, value, message``.
    ``rows_in == rows_accepted + rows_rejected`` always; a rejected row may have several errors.
    """

    accepted: pa.Table
    errors: pa.Table
    rows_in: int
    rows_accepted: int
    rows_rejected: int
    mapping: dict[str, str]
    unmapped_columns: list[str]
    filename: str = ""

    @property
    def error_count(self) -> int:
        return self.errors.num_rows

    def summary(self) -> str:
        """``'read 1,000 rows: 990 accepted, 10 rejected (14 errors)'``."""
        rows = "row" if self.rows_in == 1 else "rows"
        errs = "error" if self.error_count == 1 else "errors"
        return (f"read {self.rows_in:,} {rows}: {self.rows_accepted:,} accepted, "
                f"{self.rows_rejected:,} rejected ({self.error_count:,} {errs})")


_NUM_PATTERN = f"^(?:{_NUM_RE})$"
_DATE_PATTERN = f"^(?:{_DATE_RE})$"
_DATE_PARTS = r"^(?P<y>[0-9]{4})[-/](?P<m>[0-9]{1,2})[-/](?P<d>[0-9]{1,2})"
_INT32_MAX = 2**31 - 1
_CODES = pa.array(list(CPT_CODES), pa.string())
_REGION_BY_CODE = pa.array([pair[0] for pair in CPT_CODES.values()], pa.string())
_CONTRAST_BY_CODE = pa.array([pair[1] for pair in CPT_CODES.values()], pa.string())
_REGIONS = FIELDS_BY_NAME["region"].values
_CONTRASTS = FIELDS_BY_NAME["contrast"].values
# CPT code by region index * len(contrasts) + contrast index
_CODE_BY_PAIR = pa.array([cpt_for(r, c) for r in _REGIONS for c in _CONTRASTS], pa.string())
_ARROW_TYPES = {f.name: f.type for f in arrow_schema()}


@dataclass
class _Coerced:
    typed: pa.Array | pa.ChunkedArray  # the field's type; NULL where empty or invalid
    invalid: np.ndarray | None  # per row: a non-empty value that is not acceptable (None: none)
    given: np.ndarray | None  # per row: the cell is not empty (only when asked for)


def _np_bool(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _null_of(arr: pa.Array) -> pa.Scalar:
    return pa.scalar(None, arr.type)


def _flat(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(arr, pa.Array):
        return arr
    return arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()


def _few_distinct(col: pa.ChunkedArray) -> bool:
    """Whether dictionary-encoding ``col`` pays off (judged on a sample)."""
    n = len(col)
    if n < 64:
        return False
    # Parsing (regex, dates) costs far more per value than hashing, so encode unless the
    # values look nearly all distinct.
    sample = col.take(pa.array(np.linspace(0, n - 1, min(n, 2048)).astype(np.int64)))
    return len(pc.unique(sample)) <= len(sample) * 3 // 4


def _parse(f: Field, v: pa.Array) -> pa.Array:
    """Typed values of trimmed text ``v`` for field ``f`` (NULL where empty or not valid)."""
    text_null = _null_of(v)
    if f.kind is Kind.TEXT:
        return pc.if_else(pc.equal(v, ""), text_null, v)
    if f.kind is Kind.BOOLEAN:
        low = pc.utf8_lower(v)
        no = pc.if_else(pc.is_in(low, value_set=pa.array(_BOOL_FALSE)), False,
                        pa.scalar(None, pa.bool_()))
        return pc.if_else(pc.is_in(low, value_set=pa.array(_BOOL_TRUE)), True, no)
    if f.kind is Kind.ENUM:
        if f.name == "cpt_code":
            key = pc.replace_substring_regex(v, r"\.0$", "")
            keys = list(f.values)
        else:
            key = pc.utf8_lower(v)
            keys = [val.lower() for val in f.values]
            if any("_" in val for val in f.values):
                key = pc.replace_substring(pc.replace_substring(key, " ", "_"), "-", "_")
        return pa.array(f.values, pa.string()).take(
            pc.index_in(key, value_set=pa.array(keys, pa.string())))
    if f.kind is Kind.DATE:
        ok = pc.match_substring_regex(v, _DATE_PATTERN)
        parts = pc.extract_regex(pc.if_else(ok, v, text_null), _DATE_PARTS)
        iso = pc.binary_join_element_wise(
            pc.struct_field(parts, "y"),
            pc.utf8_lpad(pc.struct_field(parts, "m"), 2, "0"),
            pc.utf8_lpad(pc.struct_field(parts, "d"), 2, "0"), "-")
        stamp = pc.strptime(iso, "%Y-%m-%d", unit="s", error_is_null=True)
        real = pc.equal(pc.strftime(stamp, "%Y-%m-%d"), iso)  # rejects 2024-02-30
        # year 0000 exists in Arrow but not in Python's dates (the app's date filters)
        real = pc.and_(real, pc.not_equal(pc.struct_field(parts, "y"), "0000"))
        return pc.if_else(real, stamp.cast(pa.date32()), pa.scalar(None, pa.date32()))
    # INTEGER / NUMBER: a plain decimal number - no NaN, inf or thousands separators
    ok = pc.match_substring_regex(v, _NUM_PATTERN)
    number = pc.if_else(ok, v, text_null).cast(pa.float64())
    conds = pc.is_finite(number)
    if f.minimum is not None:
        conds = pc.and_(conds, pc.greater_equal(number, f.minimum))
    if f.maximum is not None:
        conds = pc.and_(conds, pc.less_equal(number, f.maximum))
    if f.kind is Kind.INTEGER:
        conds = pc.and_(pc.and_(conds, pc.equal(number, pc.floor(number))),
                        pc.less_equal(pc.abs(number), _INT32_MAX))
        return pc.if_else(conds, number, pa.scalar(None, pa.float64())).cast(pa.int32())
    return pc.if_else(conds, number, pa.scalar(None, pa.float64()))


def _coerce(f: Field, col: pa.ChunkedArray, want_given: bool = False) -> _Coerced:
    """Parse one raw text column for field ``f``."""
    if _few_distinct(col):
        encoded = pc.dictionary_encode(col)
        if len({len(c.dictionary) for c in encoded.chunks}) > 1:
            encoded = encoded.unify_dictionaries()
        values = encoded.chunk(0).dictionary

        def expand(arr: pa.Array) -> pa.Array | pa.ChunkedArray:
            return pa.chunked_array([arr.take(c.indices) for c in encoded.chunks], arr.type)
    else:
        values = _flat(col)

        def expand(arr: pa.Array) -> pa.Array | pa.ChunkedArray:
            return arr

    trimmed = pc.utf8_trim(values, characters=_TRIM)
    filled = pc.fill_null(pc.not_equal(trimmed, ""), False)
    typed_values = _parse(f, trimmed).cast(_ARROW_TYPES[f.name])
    invalid_values = pc.and_(filled, pc.is_null(typed_values))
    invalid = _np_bool(expand(invalid_values)) if pc.any(invalid_values).as_py() else None
    given = _np_bool(expand(filled)) if want_given else None
    return _Coerced(expand(typed_values), invalid, given)


def _clean_ids(col: pa.ChunkedArray) -> pa.Array:
    """case_id as validation sees it: trimmed, empty -> NULL."""
    trimmed = pc.utf8_trim(_flat(col), characters=_TRIM)
    return pc.if_else(pc.equal(trimmed, ""), _null_of(trimmed), trimmed)


def duplicate_messages(ids: pa.Array, first_rows: np.ndarray) -> pa.Array:
    """``case_id 'X' duplicates row N`` for each repeated id and the row it first stood in."""
    return pc.binary_join_element_wise("case_id ", _quoted(ids), " duplicates row ",
                                       pa.array(first_rows).cast(pa.string()), "")


def _duplicate_of(ids: pa.Array) -> np.ndarray:
    """Per row, the 1-based row of the first occurrence of its case_id when that is an
    earlier row, else 0."""
    n = len(ids)
    out = np.zeros(n, dtype=np.int64)
    if n == 0:
        return out
    encoded = pc.dictionary_encode(ids)
    idx = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    valid = idx >= 0
    first = np.full(len(encoded.dictionary), n, dtype=np.int64)
    positions = np.arange(n, dtype=np.int64)
    np.minimum.at(first, idx[valid], positions[valid])
    if len(first) == 0:  # every case_id empty
        return out
    first_of_row = np.where(valid, first[np.maximum(idx, 0)], positions)
    dup = first_of_row != positions
    out[dup] = first_of_row[dup] + 1
    return out


def _long_mask(col: pa.ChunkedArray) -> np.ndarray | None:
    """Per row: the cell is longer than MAX_CELL_CHARS (None: no such cell)."""
    if len(col) == 0:
        return None
    longest = pc.max(pc.binary_length(col)).as_py()
    if longest is None or longest <= MAX_CELL_CHARS:  # bytes >= characters
        return None
    mask = _np_bool(pc.greater(pc.utf8_length(col), MAX_CELL_CHARS))
    return mask if mask.any() else None


def _short(arr: pa.Array, limit: int) -> pa.Array:
    """Strings cut to ``limit`` characters, the last an ellipsis when cut (NULL -> '')."""
    arr = pc.fill_null(arr, "")
    cut = pc.binary_join_element_wise(pc.utf8_slice_codeunits(arr, 0, limit - 1), "…", "")
    return pc.if_else(pc.greater(pc.utf8_length(arr), limit), cut, arr)


def _quoted(arr: pa.Array) -> pa.Array:
    """``'value'`` for a message: cut short, line breaks and controls shown as a space."""
    flat = pc.replace_substring_regex(arr, r"[\x00-\x1f\x7f\x{2028}\x{2029}]+", " ")
    return pc.binary_join_element_wise("'", _short(flat, _MESSAGE_VALUE_CHARS), "'", "")


def _workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


class _Errors:
    """Error lines collected check by check, as columns (vectorized per check)."""

    def __init__(self, ids: pa.Array) -> None:
        self.ids = ids
        self.parts: list[tuple[np.ndarray, int, pa.Table]] = []
        self.bad = np.zeros(len(ids), dtype=bool)

    def add(self, order: int, mask: np.ndarray | None, column: str,
            values: pa.Array | None, message: Any) -> None:
        """Rows where ``mask``; ``message``: a string, or a function of the row indices
        returning one message per row."""
        if mask is None or not mask.any():
            return
        rows = np.flatnonzero(mask)
        self.add_rows(order, rows, column, values, message)

    def add_rows(self, order: int, rows: np.ndarray, column: str | list[str],
                 values: pa.Array | None, message: Any, aligned: bool = False) -> None:
        """Lines for the row indices ``rows``; ``values`` is indexed by row (or, when
        ``aligned``, holds one value per line)."""
        take = pa.array(rows, pa.int64())
        count = len(rows)
        text = pa.array([message] * count, pa.string()) if isinstance(message, str) \
            else message(take)
        if values is None:
            value = pa.array([""] * count, pa.string())
        else:
            value = _short(values if aligned else values.take(take), VALUE_CHARS)
        ids = self.ids.take(take)
        self.parts.append((rows, order, pa.table({
            "row": pa.array(rows + 1, pa.int64()),
            "case_id": pc.if_else(pc.is_null(ids), _null_of(ids), _short(ids, VALUE_CHARS)),
            "column": pa.array([column] * count if isinstance(column, str) else column,
                               pa.string()),
            "value": value,
            "message": text,
        }, schema=_ERROR_SCHEMA)))
        self.bad[rows] = True

    def table(self) -> pa.Table:
        if not self.parts:
            return _ERROR_SCHEMA.empty_table()
        rows = np.concatenate([p[0] for p in self.parts])
        order = np.concatenate([np.full(len(p[0]), p[1]) for p in self.parts])
        table = pa.concat_tables([p[2] for p in self.parts]).combine_chunks()
        return table.take(pa.array(np.lexsort((order, rows))))


def validate(raw: RawTable, mapping: Mapping[str, str | None] | None = None,
             check_duplicates: bool = True) -> IngestResult:
    """Map, coerce and check every row of ``raw`` (vectorized, column-wise).

    ``mapping`` (source header -> field name, or ``None`` to drop a column) overrides the
    proposed mapping. Raises :class:`IngestError` only for whole-file problems (no case_id
    column, a bad mapping); row problems go to ``errors`` and reject just that row.
    ``check_duplicates=False`` leaves repeated case_ids to the caller (a file validated in
    batches checks them across all batches: :mod:`preauth.ingest.stream`).
    """
    name = raw.filename
    headers = raw.table.column_names
    _check_headers(headers, name)
    final = resolve_mapping(headers, mapping, name)
    if "case_id" not in final.values():
        looked = ", ".join(("case_id", *FIELDS_BY_NAME["case_id"].synonyms))
        raise IngestError(f"{name}: no case_id column (looked for {looked}); map one of the "
                          "columns to case_id")
    n = raw.table.num_rows
    source: dict[str, pa.ChunkedArray] = {
        header: col if pa.types.is_string(col.type) else _text_column(col)
        for header, col in zip(headers, raw.table.columns, strict=True)}
    raw_of = {f: source[h] for h, f in final.items()}  # field -> raw text column

    with ThreadPoolExecutor(max_workers=_workers()) as pool:
        futures = {f: pool.submit(_coerce, FIELDS_BY_NAME[f], col,
                                  f in ("cpt_code", "region", "contrast"))
                   for f, col in raw_of.items() if f != "case_id"}
        long_futures = {h: pool.submit(_long_mask, col) for h, col in source.items()}
        ids = _clean_ids(raw_of["case_id"])
        dup_of = (pool.submit(_duplicate_of, ids).result() if check_duplicates
                  else np.zeros(n, dtype=np.int64))
        coerced = {f: fut.result() for f, fut in futures.items()}
        long_cells = {h: m for h, fut in long_futures.items() if (m := fut.result()) is not None}

    errors = _Errors(ids)
    long_by_field = {final[h]: m for h, m in long_cells.items() if h in final}
    case_raw = raw_of["case_id"]
    errors.add(0, _np_bool(pc.is_null(ids)), "case_id", case_raw,
               "case_id is required but the cell is empty")
    dup_rows = np.flatnonzero(dup_of)
    if len(dup_rows):
        errors.add_rows(1, dup_rows, "case_id", case_raw,
                        lambda take: duplicate_messages(ids.take(take), dup_of[take.to_numpy()]))

    order = 2
    for f in FIELDS:
        order += 1
        c = coerced.get(f.name)
        if c is None or c.invalid is None:
            continue
        invalid = c.invalid
        if f.name in long_by_field:
            invalid = invalid & ~long_by_field[f.name]  # reported once, as a long cell
        prefix = f"{f.name} must be {f.describe_type()}, got "
        errors.add(order, invalid, f.name, raw_of[f.name],
                   lambda take, col=raw_of[f.name], p=prefix: pc.binary_join_element_wise(
                       p, _quoted(pc.utf8_trim(col.take(take), characters=_TRIM)), ""))

    # CPT code, region and contrast: derive what is missing, reject contradictions.
    def typed(field_name: str) -> pa.Array | pa.ChunkedArray:
        c = coerced.get(field_name)
        return c.typed if c is not None else pa.nulls(n, _ARROW_TYPES[field_name])

    def mask(field_name: str, attr: str) -> np.ndarray:
        c = coerced.get(field_name)
        m = getattr(c, attr) if c is not None else None
        return m if m is not None else np.zeros(n, dtype=bool)

    cpt, region, contrast = (_flat(typed(f)) for f in ("cpt_code", "region", "contrast"))
    code_index = pc.index_in(cpt, value_set=_CODES)
    derived = {"region": _REGION_BY_CODE.take(code_index),
               "contrast": _CONTRAST_BY_CODE.take(code_index)}
    for name_, given in (("region", region), ("contrast", contrast)):
        order += 1
        conflict = _np_bool(pc.not_equal(given, derived[name_]))
        errors.add(order, conflict, name_, raw_of.get(name_),
                   lambda take, g=given, d=derived[name_], label=name_:
                   pc.binary_join_element_wise(
                       f"{label} '", g.take(take), "' contradicts cpt_code ", cpt.take(take),
                       " (", d.take(take), ")", ""))
    pair = pc.add(pc.multiply(pc.index_in(region, value_set=pa.array(_REGIONS)),
                              len(_CONTRASTS)),
                  pc.index_in(contrast, value_set=pa.array(_CONTRASTS)))
    cpt_given = mask("cpt_code", "given")
    derived_cpt = _CODE_BY_PAIR.take(pair)
    no_procedure = (~cpt_given & _np_bool(pc.or_(pc.is_null(region), pc.is_null(contrast)))
                    & ~mask("region", "invalid") & ~mask("contrast", "invalid"))
    order += 1
    errors.add(order, no_procedure, "cpt_code", raw_of.get("cpt_code"),
               "no requested procedure: give cpt_code (or region and contrast)")

    # Over-long cells (any column) and rows the parser could not read cleanly.
    order += 1
    for header, m in long_cells.items():
        errors.add(order, m, final.get(header, header), source[header],
                   f"cell longer than {MAX_CELL_CHARS:,} characters")
    order += 1
    read_errors = [e for e in raw.read_errors if 0 < e[0] <= n]
    if read_errors:
        errors.add_rows(order, np.array([e[0] - 1 for e in read_errors], dtype=np.int64),
                        [e[1] for e in read_errors], pa.array([e[2] for e in read_errors]),
                        lambda take: pa.array([e[3] for e in read_errors], pa.string()),
                        aligned=True)

    finals = {
        "case_id": ids,
        "cpt_code": pc.if_else(pa.array(cpt_given), cpt, pc.coalesce(cpt, derived_cpt)),
        "region": pc.coalesce(region, derived["region"]),
        "contrast": pc.coalesce(contrast, derived["contrast"]),
    }
    schema = arrow_schema().append(pa.field("row", pa.int64()))
    arrays = [finals[f.name] if f.name in finals else typed(f.name) for f in FIELDS]
    arrays.append(pa.array(np.arange(1, n + 1, dtype=np.int64)))
    keep = pa.array(~errors.bad)
    accepted = pa.Table.from_arrays(arrays, schema=schema).filter(keep)
    error_table = errors.table()
    return IngestResult(
        accepted=accepted, errors=error_table, rows_in=n, rows_accepted=accepted.num_rows,
        rows_rejected=int(errors.bad.sum()), mapping=final,
        unmapped_columns=[h for h in headers if h not in final], filename=name)
