"""Kleene logic on bit planes: the arithmetic of stage 2.

A clause's value over a set of rows is two bit planes, TRUE and FALSE; a row in neither is NULL
(undocumented). Kleene logic is then plain bitwise arithmetic, with no NULL handling:

* AND: ``T = T1 & T2``, ``F = F1 | F2``;
* OR: ``T = T1 | T2``, ``F = F1 & F2``;
* NOT: swap T and F.

A plane (:data:`Plane`) is one of two interchangeable representations of a set of rows:

* a packed little-endian ``uint8`` numpy array, eight rows per byte — batches (numpy releases
  the GIL, so policies can run in parallel threads); bits past the last row are junk;
* a Python ``int`` used as a bit set, bit i for row i — one case, where a handful of integer
  operations costs far less than as many numpy calls.

Every function of stage 2 (:mod:`preauth.evaluate.verdicts`) uses only ``&``, ``|`` and ``~``
on planes, so the same code runs on both. A ``~`` is always followed, before the result is read,
by an ``&`` with a plane that holds only real rows (a procedure's rows): that drops numpy's junk
bits and a negative int's infinite leading ones alike; :func:`unpack` masks to n rows as well.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa

from preauth.criteria.expressions import Node

__all__ = ["Plane", "Planes", "bool_planes", "is_set", "kleene_planes", "pack", "unpack",
           "value_planes", "zeros"]

Plane = np.ndarray | int
Planes = tuple[Plane, Plane]  # (TRUE, FALSE)


def zeros(n: int, packed: bool) -> Plane:
    """An empty plane over n rows."""
    return np.zeros((n + 7) // 8, dtype=np.uint8) if packed else 0


def pack(rows: np.ndarray, packed: bool) -> Plane:
    """A plane from n booleans."""
    bits = np.packbits(rows, bitorder="little")
    return bits if packed else int.from_bytes(bits.tobytes(), "little")


def unpack(plane: Plane, n: int) -> np.ndarray:
    """A plane as n booleans (junk bits past the last row dropped)."""
    if isinstance(plane, int):
        plane = np.frombuffer((plane & ((1 << n) - 1)).to_bytes((n + 7) // 8, "little"),
                              dtype=np.uint8)
    return np.unpackbits(plane, count=n, bitorder="little").view(bool)


def is_set(plane: Plane, row: int) -> bool:
    """Whether ``row`` is in the plane."""
    if isinstance(plane, int):
        return bool((plane >> row) & 1)
    return bool((int(plane[row >> 3]) >> (row & 7)) & 1)


def _bitmap(buf: pa.Buffer, offset: int, n: int) -> np.ndarray:
    nbytes = (n + 7) // 8
    raw = np.frombuffer(buf, dtype=np.uint8)
    if offset % 8 == 0:
        return raw[offset // 8:offset // 8 + nbytes]
    bits = np.unpackbits(raw, bitorder="little")[offset:offset + n]
    return np.packbits(bits, bitorder="little")


def bool_planes(arr: pa.Array) -> Planes:
    """A boolean Arrow array as packed TRUE / FALSE planes: its two bitmaps (values, validity),
    read in place."""
    n = len(arr)
    if pa.types.is_null(arr.type) or arr.null_count == n:
        zero = np.zeros((n + 7) // 8, dtype=np.uint8)
        return zero, zero
    if not pa.types.is_boolean(arr.type):
        raise TypeError(f"expected a boolean column, got {arr.type}")
    validity, values = arr.buffers()[:2]
    vals = _bitmap(values, arr.offset, n)
    if arr.null_count == 0 or validity is None:
        return vals, ~vals
    valid = _bitmap(validity, arr.offset, n)
    return vals & valid, ~vals & valid


def value_planes(values: Sequence[bool | None]) -> Planes:
    """Python truth values (None = NULL) as int TRUE / FALSE planes."""
    t = f = 0
    for i, v in enumerate(values):
        if v is True:
            t |= 1 << i
        elif v is False:
            f |= 1 << i
    return t, f


def kleene_planes(node: Node, leaf: Callable[[Node], Planes],
                  memo: dict[int, Planes] | None = None) -> Planes:
    """TRUE / FALSE planes of a clause tree, from its leaves' planes (``leaf(node)``);
    ``memo`` (by ``id(node)``) receives the planes of every clause on the way."""
    if node.kind == "leaf":
        t, f = leaf(node)
    elif node.kind == "not":
        f, t = kleene_planes(node.children[0], leaf, memo)
    else:
        parts = [kleene_planes(c, leaf, memo) for c in node.children]
        t, f = parts[0]
        for ct, cf in parts[1:]:
            if node.kind == "and":
                t, f = t & ct, f | cf
            else:
                t, f = t | ct, f & cf
    if memo is not None:
        memo[id(node)] = (t, f)
    return t, f
