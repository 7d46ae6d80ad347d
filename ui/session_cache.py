"""Memo for what one browser session owns (its uploads, its custom criteria): kept in that
session's own state — so no other session can ever be handed it — a few entries per kind, and
released with the session.

Process-wide ``st.cache_*`` caches are only for what every session shares (the bundled data
and the bundled criteria) and for small aggregates keyed on content hashes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

import streamlit as st

__all__ = ["clear_session_memo", "session_memo"]

T = TypeVar("T")
_STATE = "_session_memo"


def session_memo(kind: str, key: str, compute: Callable[[], T], max_entries: int = 1) -> T:
    """``compute()`` once per ``(kind, key)`` in this session; at most ``max_entries`` of a
    kind are kept (least recently used dropped first)."""
    memo: dict[str, OrderedDict[str, object]] = st.session_state.setdefault(_STATE, {})
    entries = memo.setdefault(kind, OrderedDict())
    if key in entries:
        entries.move_to_end(key)
        return entries[key]  # type: ignore[return-value]
    while len(entries) >= max_entries:  # drop before computing: never two big ones at once
        entries.popitem(last=False)
    value = compute()
    entries[key] = value
    return value


def clear_session_memo(kind: str | None = None) -> None:
    memo = st.session_state.get(_STATE, {})
    if kind is None:
        memo.clear()
    else:
        memo.pop(kind, None)
