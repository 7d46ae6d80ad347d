"""case_id as validation reads it, and repeated case_ids: found over a whole file - at once
(:mod:`~preauth.ingest.validate`) or across its batches (:mod:`~preauth.ingest.stream`) - and
reported through :func:`duplicate_errors` either way."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.values import TRIM
from preauth.ingest._arrow import flat
from preauth.ingest.errors import error_rows, quoted

__all__ = ["clean_ids", "duplicate_errors", "duplicate_of"]


def clean_ids(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    """case_id as validation sees it: trimmed, empty -> NULL (the text rule of
    :mod:`preauth.catalog.values`, without its length limit: an over-long case_id is reported
    as a long cell, and still identifies its row)."""
    trimmed = pc.utf8_trim(flat(col), characters=TRIM)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, trimmed.type), trimmed)


def duplicate_of(ids: pa.Array) -> np.ndarray:
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


def duplicate_errors(ids: pa.Array, raw_ids: pa.Array | pa.ChunkedArray,
                     first_rows: np.ndarray) -> pa.Table:
    """Error lines ``case_id 'X' duplicates row N`` for the rows whose ``first_rows`` entry
    (:func:`duplicate_of`) is not 0. ``ids``: the clean case_ids, ``raw_ids``: the cells as
    the file wrote them, both one per row of the file."""
    rows = np.flatnonzero(first_rows)
    take = pa.array(rows, pa.int64())
    repeated = ids.take(take)
    messages = pc.binary_join_element_wise(
        "case_id ", quoted(repeated), " duplicates row ",
        pa.array(first_rows[rows]).cast(pa.string()), "")
    return error_rows(rows + 1, repeated, "case_id", raw_ids.take(take), messages)
