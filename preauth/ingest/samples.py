"""What a file's columns hold, for the person mapping them: a few distinct, non-empty sample
values per column (vectorized: Arrow ``unique`` over the first rows, the whole column only
when those are too sparse)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.values import TRIM
from preauth.ingest._cells import text_column
from preauth.ingest.raw import RawTable

__all__ = ["SAMPLE_CHARS", "column_samples"]

SAMPLE_CHARS = 40  # a sample longer than this is cut, with an ellipsis
_SCAN_ROWS = 2_000  # rows looked at first


def column_samples(raw: RawTable, count: int = 3) -> dict[str, tuple[str, ...]]:
    """Header -> up to ``count`` distinct non-empty values (trimmed, in order of first
    appearance, cut to :data:`SAMPLE_CHARS` characters)."""
    return {h: _samples(col, count) for h, col in zip(raw.headers, raw.table.columns,
                                                       strict=True)}


def _samples(col: pa.ChunkedArray, count: int) -> tuple[str, ...]:
    found = _distinct(col.slice(0, _SCAN_ROWS), count)
    if len(found) < count and len(col) > _SCAN_ROWS:
        found = _distinct(col, count)
    return tuple(v if len(v) <= SAMPLE_CHARS else v[:SAMPLE_CHARS - 1] + "…" for v in found)


def _distinct(col: pa.ChunkedArray, count: int) -> list[str]:
    text = col if pa.types.is_string(col.type) else text_column(col)
    trimmed = pc.utf8_trim(text, characters=TRIM)
    given = trimmed.filter(pc.fill_null(pc.not_equal(trimmed, ""), False))
    if len(given) == 0:
        return []
    return pc.unique(given).slice(0, count).to_pylist()
