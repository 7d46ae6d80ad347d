"""Small Arrow / numpy helpers shared by the ingest modules (package-internal)."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def np_bool(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow array as a numpy mask, NULL as False."""
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def null_of(arr: pa.Array | pa.ChunkedArray) -> pa.Scalar:
    """A NULL of ``arr``'s type."""
    return pa.scalar(None, arr.type)


def flat(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array (no copy when there is one chunk)."""
    if isinstance(arr, pa.Array):
        return arr
    return arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()


def workers() -> int:
    """Threads for column-parallel work (Arrow kernels release the GIL)."""
    return max(1, min(8, os.cpu_count() or 1))


def map_parts(arr: pa.MapArray) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """``(offsets from 0, keys, items)`` of a map array, as sliced (``MapArray.keys`` and
    ``.items`` are the whole child arrays, whatever the slice)."""
    offsets = arr.offsets.to_numpy()
    start, stop = int(offsets[0]), int(offsets[-1])
    return ((offsets - start).astype(np.int32), arr.keys.slice(start, stop - start),
            arr.items.slice(start, stop - start))
