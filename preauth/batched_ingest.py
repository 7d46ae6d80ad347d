"""Validate a big CSV or Parquet file in batches of rows, without the whole file in memory.

:func:`preauth.ingest.read_raw` holds the file's bytes and then all of it as text columns; for
a file of tens of millions of rows that is several times the file's size. Here the file is
streamed — Parquet by row batches, UTF-8 CSV through pyarrow's streaming CSV reader — and each
batch is validated as it comes, keeping only the typed accepted rows (a fraction of the text)
and the errors. Repeated case_ids are checked across the whole file at the end, so the result
is exactly :func:`preauth.ingest.validate` of the whole file: same accepted rows, same errors,
same row numbers (a test checks this on files with errors and duplicates across batches).

:func:`validate_in_batches` returns ``None`` when a file is not for this path — another format
or encoding, or rows the streaming parser cannot take (ragged rows, text that is not UTF-8) —
and the caller reads it whole, which handles all of those.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from preauth.ingest import (
    _ERROR_SCHEMA,
    _SAMPLE_BYTES,
    IngestError,
    IngestResult,
    RawTable,
    _blank_names,
    _check_headers,
    _clean_ids,
    _drop_blank_rows,
    _duplicate_of,
    _flat,
    duplicate_messages,
    parquet_raw,
    read_raw,
    validate,
)

__all__ = ["BATCH_ROWS", "validate_in_batches"]

BATCH_ROWS = 1_000_000
_CSV_BLOCK = 16 << 20


def validate_in_batches(path: str | os.PathLike[str], batch_rows: int = BATCH_ROWS,
                        mapping: Mapping[str, str | None] | None = None
                        ) -> IngestResult | None:
    """:func:`preauth.ingest.validate` of the file at ``path``, read ``batch_rows`` at a time;
    ``None`` when the file is not for streaming (see the module notes). Raises
    :class:`IngestError` for whole-file problems, as the whole-file path does."""
    path = Path(path)
    ext = path.suffix.lower()
    try:
        if ext in (".parquet", ".pq"):
            batches = _parquet_batches(path, batch_rows)
        elif ext in (".csv", ".txt", ".tsv"):
            batches = _csv_batches(path, batch_rows)
            if batches is None:
                return None
        else:
            return None
        return _validate_all(batches, path.name, mapping)
    except IngestError:
        raise
    except (pa.ArrowException, OSError, ValueError, UnicodeError):
        return None  # the whole-file reader says what is wrong, or copes


def _parquet_batches(path: Path, batch_rows: int) -> Iterator[RawTable]:
    import pyarrow.parquet as pq

    with open(path, "rb") as fh:
        if fh.read(4) != b"PAR1":
            raise ValueError("not Parquet")  # -> the whole-file reader's message
    parquet = pq.ParquetFile(path)
    if not parquet.schema_arrow.names:
        raise ValueError("no columns")
    first = True
    for batch in parquet.iter_batches(batch_size=batch_rows):
        yield parquet_raw(pa.Table.from_batches([batch]), path.name)
        first = False
    if first:  # no rows: still the header
        yield parquet_raw(parquet.schema_arrow.empty_table(), path.name)


def _csv_batches(path: Path, batch_rows: int) -> Iterator[RawTable] | None:
    import pyarrow.csv as pcsv

    with open(path, "rb") as fh:
        head = fh.read(_SAMPLE_BYTES)
    # The whole-file reader on the first megabyte: the same sniffing, header checks and
    # messages; only UTF-8 files stream (others are re-encoded whole).
    # Anything odd (another encoding, a problem the whole-file reader will name): None.
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head:
        return None
    cut = max(head.rfind(b"\n"), head.rfind(b"\r"))
    try:
        probe = read_raw(head[:cut + 1] if 0 < cut < len(head) - 1 else head, path.name)
    except IngestError:
        return None
    if probe.encoding not in ("utf-8", "utf-8-sig") or probe.delimiter is None:
        return None
    width = probe.table.num_columns
    positional = [f"c{i}" for i in range(width)]
    reader = pcsv.open_csv(
        path,
        read_options=pcsv.ReadOptions(column_names=positional, block_size=_CSV_BLOCK),
        parse_options=pcsv.ParseOptions(delimiter=probe.delimiter, newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(positional, pa.string()), null_values=[],
            strings_can_be_null=False, quoted_strings_can_be_null=False))

    def batches() -> Iterator[RawTable]:
        names: list[str] | None = None
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        yielded = False

        def flush() -> RawTable:
            nonlocal pending, pending_rows
            assert names is not None
            table = pa.Table.from_batches(pending, schema=pending[0].schema) if pending \
                else pa.table({c: pa.array([], pa.string()) for c in positional})
            pending, pending_rows = [], 0
            table = _drop_blank_rows(table).rename_columns(names)
            return RawTable(table, path.name, "csv", probe.encoding, probe.delimiter)

        for batch in reader:
            if names is None:
                if batch.num_rows == 0:
                    continue
                names = _blank_names([str(v) for v in batch.slice(0, 1).to_pylist()[0]
                                      .values()])
                _check_headers(names, path.name)
                batch = batch.slice(1)
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= batch_rows:
                yield flush()
                yielded = True
        if names is None:
            raise ValueError("no header")
        if pending or not yielded:  # the rest, or the header of a file without rows
            yield flush()

    return batches()


def _validate_all(batches: Iterator[RawTable], name: str,
                  mapping: Mapping[str, str | None] | None) -> IngestResult:
    accepted_parts: list[pa.Table] = []
    error_parts: list[pa.Table] = []
    id_parts: list[pa.Array] = []
    raw_id_parts: list[pa.Array] = []
    first: IngestResult | None = None
    offset = 0
    for raw in batches:
        result = validate(raw, mapping, check_duplicates=False)
        if first is None:
            first = result
        case_header = next(h for h, f in result.mapping.items() if f == "case_id")
        raw_ids = raw.table[case_header]
        raw_id_parts.append(_flat(raw_ids))
        id_parts.append(_clean_ids(raw_ids))
        if offset:
            result.accepted = result.accepted.set_column(
                result.accepted.schema.get_field_index("row"), "row",
                pc.add(result.accepted["row"], offset))
            result.errors = result.errors.set_column(
                0, "row", pc.add(result.errors["row"], offset))
        accepted_parts.append(result.accepted)
        error_parts.append(result.errors)
        offset += raw.num_rows
    if first is None:  # pragma: no cover - the batch readers always yield one
        raise IngestError(f"{name}: no rows could be read")

    # Repeated case_ids across the whole file, reported as validate() reports them: before
    # the other errors of their row.
    ids = pa.concat_arrays([a.cast(pa.string()) for a in id_parts]) if id_parts \
        else pa.array([], pa.string())
    dup_of = _duplicate_of(ids)
    dup_rows = np.flatnonzero(dup_of)
    errors = pa.concat_tables(error_parts).cast(_ERROR_SCHEMA) if error_parts \
        else _ERROR_SCHEMA.empty_table()
    accepted = pa.concat_tables(accepted_parts)
    if len(dup_rows):
        take = pa.array(dup_rows)
        raw_values = pa.concat_arrays([a.cast(pa.string()) for a in raw_id_parts]).take(take)
        dup_errors = pa.table({
            "row": pa.array(dup_rows + 1, pa.int64()), "case_id": ids.take(take),
            "column": pa.array(["case_id"] * len(dup_rows), pa.string()),
            "value": raw_values,
            "message": duplicate_messages(ids.take(take), dup_of[dup_rows])},
            schema=_ERROR_SCHEMA)
        errors = pa.concat_tables([dup_errors, errors])
        order = np.argsort(errors["row"].to_numpy(), kind="stable")
        errors = errors.take(pa.array(order))
        keep = pc.invert(pc.is_in(accepted["row"], value_set=pa.array(dup_rows + 1)))
        accepted = accepted.filter(keep)
    rejected = len(np.unique(errors["row"].to_numpy())) if errors.num_rows else 0
    return IngestResult(
        accepted=accepted.combine_chunks(), errors=errors.combine_chunks(), rows_in=offset,
        rows_accepted=accepted.num_rows, rows_rejected=rejected, mapping=first.mapping,
        unmapped_columns=first.unmapped_columns, filename=name)
