"""Validate a big CSV or Parquet file in batches of rows, without the whole file in memory.

:func:`~preauth.ingest.read.read_raw` holds the file's bytes and then all of it as text
columns; for a file of tens of millions of rows that is several times the file's size. Here the
file is streamed — Parquet by row batches, UTF-8 CSV through pyarrow's streaming CSV reader —
and each batch is validated as it comes, keeping only the typed accepted rows (a fraction of
the text) and the errors. Repeated case_ids are checked across the whole file at the end and
reported by the builder whole-file validation uses
(:func:`~preauth.ingest.duplicates.duplicate_errors`), so the result is exactly
:func:`~preauth.ingest.validate.validate` of the whole file: same accepted rows, same errors,
same row numbers (tests check this on files with errors, long and odd case_ids, and
duplicates across batches).

Rows with the wrong number of cells and cells holding a NUL byte reject just their row, here
as in the whole-file reader (both end in :func:`~preauth.ingest.delimited.finish_records`), so
one bad row in a big file does not make it fall back to reading whole.

:func:`validate_in_batches` returns ``None`` when a file is not for this path — another format
or encoding, text that turns out not to be UTF-8, a single row longer than a 16 MB block, or
quoting the streaming parser cannot place — and the caller reads it whole, which handles all
of those.

Columns whose reading the file decides (:mod:`preauth.ingest.reading`) are read alike in
every batch: what one batch decides is handed to the next (``decided``). The order of a date
column's slash dates is set by the first batch that shows it and holds for the rest; a later
batch that shows the other order raises :class:`~preauth.ingest.errors.MixedDates` with the
message the whole file gives. One difference is by design: when the first batch holding
slash dates that need an order does not show it, :class:`~preauth.ingest.errors.AmbiguousDates`
is raised even if later rows would have shown it (a million rows without a day over 12 are
not a guess to make; a profile's ``formats`` says). A checkbox column (all marks and blanks)
decided by a batch reads the blank cells of earlier, all-blank batches as no; a later batch
holding yes/no words in it makes the file be validated whole (``None``: the whole-file
reader then reads the marks as the whole column says). Warnings are collected like errors,
by the same builder, and only for accepted rows.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from preauth.ingest._arrow import flat
from preauth.ingest._cells import text_column
from preauth.ingest._headers import blank_names
from preauth.ingest.decoding import SAMPLE_BYTES, decode, is_blank
from preauth.ingest.delimited import (
    RaggedRows,
    Unparsed,
    csv_options,
    finish_records,
    text_sample,
)
from preauth.ingest.duplicates import clean_ids, duplicate_errors, duplicate_of
from preauth.ingest.errors import ERROR_SCHEMA, IngestError
from preauth.ingest.parquet import dictionary_columns, parquet_raw
from preauth.ingest.raw import RawTable, check_headers
from preauth.ingest.read import read_raw
from preauth.ingest.reading import FileDecisions, ReadingChanged
from preauth.ingest.validate import IngestResult, validate

__all__ = ["BATCH_ROWS", "validate_in_batches"]

BATCH_ROWS = 1_000_000
_CSV_BLOCK = 16 << 20
_HEAD_MARGIN = 64 << 10  # read beyond the first megabyte: a BOM and leading line breaks


def validate_in_batches(path: str | os.PathLike[str], batch_rows: int = BATCH_ROWS,
                        mapping: Mapping[str, str | None] | None = None, *,
                        values: Mapping[str, Mapping[str, str]] | None = None,
                        formats: Mapping[str, str] | None = None) -> IngestResult | None:
    """:func:`~preauth.ingest.validate.validate` of the file at ``path`` (with the same
    ``mapping`` and a profile's ``values`` and ``formats``), read ``batch_rows`` at a time;
    ``None`` when the file is not for streaming (see the module notes). Raises
    :class:`IngestError` for whole-file problems, as the whole-file path does."""
    path = Path(path)
    ext = path.suffix.lower()
    batches: Iterator[RawTable] | None
    try:
        if ext in (".parquet", ".pq"):
            batches = _parquet_batches(path, batch_rows)
        elif ext in (".csv", ".txt", ".tsv"):
            batches = _csv_batches(path, batch_rows)
            if batches is None:
                return None
        else:
            return None
        return _validate_all(batches, path.name, mapping, values, formats)
    except ReadingChanged:
        return None  # a checkbox column that is not one after all: read whole
    except IngestError:
        raise
    except (pa.ArrowException, OSError, ValueError, UnicodeError):
        # (Unparsed is a ValueError: odd quoting that pyarrow will not place)
        return None  # the whole-file reader says what is wrong, or copes


def _parquet_batches(path: Path, batch_rows: int) -> Iterator[RawTable]:
    import pyarrow.parquet as pq

    with open(path, "rb") as fh:
        if fh.read(4) != b"PAR1":
            raise ValueError("not Parquet")  # -> the whole-file reader's message
    parquet = pq.ParquetFile(path)
    if not parquet.schema_arrow.names:
        raise ValueError("no columns")
    parquet = pq.ParquetFile(path, read_dictionary=dictionary_columns(parquet))
    first = True
    for batch in parquet.iter_batches(batch_size=batch_rows):
        yield parquet_raw(pa.Table.from_batches([batch]), path.name)
        first = False
    if first:  # no rows: still the header
        yield parquet_raw(parquet.schema_arrow.empty_table(), path.name)


def _csv_batches(path: Path, batch_rows: int) -> Iterator[RawTable] | None:
    import pyarrow.csv as pcsv

    probe = _csv_probe(path)
    if probe is None or probe.delimiter is None:
        return None
    width = probe.table.num_columns
    delimiter = probe.delimiter
    # Rows with the wrong number of cells are handed to `ragged` (numbered: one thread) and
    # put back in their batch, in their place, as the whole-file reader does.
    ragged = RaggedRows()
    with ragged.quiet():
        reader = pcsv.open_csv(path, **csv_options(width, delimiter, _CSV_BLOCK, True, ragged))

    def batches() -> Iterator[RawTable]:
        header: list[str] | None = None
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        records_done = 1  # records (the header is record 1) in the batches yielded so far
        yielded = False

        def flush(last: bool) -> RawTable:
            nonlocal pending, pending_rows, records_done
            assert header is not None
            table = pa.Table.from_batches(pending, schema=pending[0].schema) if pending \
                else pa.table({f"c{i}": pa.array([], pa.string()) for i in range(width)})
            first = records_done + 1
            end = records_done + table.num_rows
            mine = []  # the ragged rows among this batch's records
            while ragged.rows and (last or ragged.rows[0][0] <= end):
                number, text, cells = ragged.rows.popleft()
                mine.append((number - first, text, cells))
                end += 1
            pending, pending_rows, records_done = [], 0, end
            table, errors = finish_records(table, header, mine, delimiter)
            return RawTable(table, path.name, "csv", probe.encoding, delimiter, tuple(errors))

        try:
            with ragged.quiet():
                for batch in reader:
                    if header is None:
                        if batch.num_rows == 0:
                            continue
                        header = [str(v) for v in batch.slice(0, 1).to_pylist()[0].values()]
                        check_headers(blank_names(header), path.name)
                        batch = batch.slice(1)
                    pending.append(batch)
                    pending_rows += batch.num_rows
                    if pending_rows >= batch_rows:
                        yield flush(last=False)
                        yielded = True
        except pa.ArrowInvalid as exc:
            if ragged.unplaced:
                raise Unparsed(str(exc)) from exc
            raise
        if header is None:
            raise ValueError("no header")
        if pending or ragged.rows or not yielded:  # the rest, or the header of an empty file
            yield flush(last=True)

    return batches()


def _csv_probe(path: Path) -> RawTable | None:
    """The first megabyte's whole lines of the CSV file at ``path``, read by the whole-file
    reader; ``None`` when the file is not for streaming.

    The whole-file reader's checks on the same first megabyte (a ZIP, a PDF, mostly NUL bytes,
    text that looks binary ... the same message), then its sniffing, header checks and
    messages on the first megabyte's whole lines. Only UTF-8 files stream (others are
    re-encoded whole); anything else odd: None, and the whole-file reader says what is wrong
    or copes."""
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES + _HEAD_MARGIN)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    body, encoding = decode(head, path.name, verify=False)
    if encoding not in ("utf-8", "utf-8-sig") or not _whole_file_sample(body, head, path.name):
        return None
    head = head[:SAMPLE_BYTES]
    cut = max(head.rfind(b"\n"), head.rfind(b"\r"))
    try:
        probe = read_raw(head[:cut + 1] if 0 < cut < len(head) - 1 else head, path.name)
    except IngestError:
        return None
    return probe if probe.encoding in ("utf-8", "utf-8-sig") else None


def _whole_file_sample(body: bytes, head: bytes, name: str) -> bool:
    """Check the text the whole-file reader samples - the whole file when ``head`` holds it
    all, else its first megabyte after a BOM and leading line breaks - as that reader does
    (:func:`~preauth.ingest.delimited.text_sample`: the same refusal, the same message).
    False when ``head`` does not hold that sample (a file opening with a megabyte of blank)."""
    if len(head) < SAMPLE_BYTES + _HEAD_MARGIN:  # the whole file
        text_sample(body, name)
        return True
    stripped = body.lstrip(b"\r\n")
    if len(stripped) <= SAMPLE_BYTES or is_blank(stripped):
        return False
    text_sample(stripped, name)
    return True


def _validate_all(batches: Iterator[RawTable], name: str,
                  mapping: Mapping[str, str | None] | None,
                  values: Mapping[str, Mapping[str, str]] | None,
                  formats: Mapping[str, str] | None) -> IngestResult:
    accepted_parts: list[pa.Table] = []
    error_parts: list[pa.Table] = []
    warning_parts: list[pa.Table] = []
    id_parts: list[pa.Array] = []
    raw_id_parts: list[pa.Array] = []
    first: IngestResult | None = None
    decided = FileDecisions()
    offset = 0
    for raw in batches:
        result = validate(raw, mapping, check_duplicates=False, values=values,
                          formats=formats, decided=decided)
        _blank_is_no(accepted_parts, decided, result.decisions)
        decided = result.decisions
        if first is None:
            first = result
        case_header = next(h for h, f in result.mapping.items() if f == "case_id")
        raw_ids = text_column(raw.table[case_header])  # a Parquet file's may be typed
        raw_id_parts.append(flat(raw_ids))
        id_parts.append(clean_ids(raw_ids))
        if offset:
            result.accepted = result.accepted.set_column(
                result.accepted.schema.get_field_index("row"), "row",
                pc.add(result.accepted["row"], offset))
            result.errors = result.errors.set_column(
                0, "row", pc.add(result.errors["row"], offset))
            result.warnings = result.warnings.set_column(
                0, "row", pc.add(result.warnings["row"], offset))
        accepted_parts.append(result.accepted)
        error_parts.append(result.errors)
        warning_parts.append(result.warnings)
        offset += raw.num_rows
    if first is None:  # pragma: no cover - the batch readers always yield one
        raise IngestError(f"{name}: no rows could be read")

    # Repeated case_ids across the whole file, reported as validate() reports them: before
    # the other errors of their row.
    ids = pa.concat_arrays([a.cast(pa.string()) for a in id_parts]) if id_parts \
        else pa.array([], pa.string())
    dup_of = duplicate_of(ids)
    dup_rows = np.flatnonzero(dup_of)
    errors = pa.concat_tables(error_parts).cast(ERROR_SCHEMA) if error_parts \
        else ERROR_SCHEMA.empty_table()
    accepted = pa.concat_tables(accepted_parts)
    warnings = pa.concat_tables(warning_parts).cast(ERROR_SCHEMA)
    if len(dup_rows):
        raw_ids = pa.concat_arrays([a.cast(pa.string()) for a in raw_id_parts])
        dup_errors = duplicate_errors(ids, raw_ids, dup_of)
        errors = pa.concat_tables([dup_errors, errors])
        order = np.argsort(errors["row"].to_numpy(), kind="stable")
        errors = errors.take(pa.array(order))
        keep = pc.invert(pc.is_in(accepted["row"], value_set=pa.array(dup_rows + 1)))
        accepted = accepted.filter(keep)
        warnings = warnings.filter(
            pc.invert(pc.is_in(warnings["row"], value_set=pa.array(dup_rows + 1))))
    rejected = len(np.unique(errors["row"].to_numpy())) if errors.num_rows else 0
    return IngestResult(
        accepted=accepted.combine_chunks(), errors=errors.combine_chunks(), rows_in=offset,
        rows_accepted=accepted.num_rows, rows_rejected=rejected, mapping=first.mapping,
        unmapped_columns=first.unmapped_columns, filename=name,
        warnings=warnings.combine_chunks(), notes=decided.note_lines(), decisions=decided)


def _blank_is_no(accepted_parts: list[pa.Table], before: FileDecisions,
                 after: FileDecisions) -> None:
    """A column this batch found to be a checkbox column, whose cells were all blank in the
    earlier batches: those blanks are no, as the whole file reads them."""
    for name, checkbox in after.checkboxes.items():
        if not checkbox or name in before.checkboxes:
            continue
        for i, part in enumerate(accepted_parts):
            at = part.schema.get_field_index(name)
            accepted_parts[i] = part.set_column(at, name, pc.fill_null(part[name], False))
