"""Small helpers of the .xlsx reader (package-internal): a size-capped stream, element names
without their namespace, column letters, sizes and exception details for messages."""

from __future__ import annotations

from typing import IO, Any


def column_letters(index: int) -> str:
    """1 -> "A", 28 -> "AB", 16384 -> "XFD"."""
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# "A" -> 1 ... "XFD" -> 16384: a cell reference's column by one dictionary look-up
COLUMN_OF = {column_letters(i): i for i in range(1, 16_385)}


def human_size(n: int) -> str:
    """A byte count for a message ("4.0 MB")."""
    if n >= 10 << 20:
        return f"{n / (1 << 20):,.0f} MB"
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MB"
    return f"{n / 1024:,.1f} KB" if n >= 1024 else f"{n:,} bytes"


LOCAL_NAMES: dict[str, str] = {}


def local_name(tag: str) -> str:
    """The element's name without a namespace prefix (``x:c`` -> ``c``)."""
    local = LOCAL_NAMES.get(tag)
    if local is None:
        local = tag.rpartition(":")[2]
        if len(LOCAL_NAMES) < 4096:
            LOCAL_NAMES[tag] = local
    return local


class CappedStream:
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


def detail(exc: BaseException) -> str:
    """An exception's message for a one-line error: its first line, at most 120 characters."""
    text = str(exc).strip()
    detail = text.splitlines()[0] if text else type(exc).__name__
    return detail if len(detail) <= 120 else detail[:119] + "…"

