"""Bounded work, counted instead of timed: a deterministic stand-in for "refused at once".

A unit test must not assert on wall-clock time (a busy machine fails it, a fast one hides a
regression; speed figures live in ``bench/``). What such a test means — the input is refused
or read without doing work in proportion to what the file *claims* (a billion-laughs
expansion, a grid padded to XFD1048576, a 5,000-digit ``int()``) — is checked by counting the
function calls (Python and C) the code makes while it runs. The same code on the same input
makes the same calls on any machine, so the count is exact and repeatable. A budget is set
well above what the code needs today and far below what the expensive path costs; where the
point is that the work does not grow with the input, compare the counts for the input and
for a smaller one (:func:`calls_of`). Work done inside one C call (``[None] * n``, a pyarrow
parse) counts once: memory bounds cover that.

Usage::

    with work_budget(50_000, "refusing a 5,000-digit number"):
        load_policy_text(text, "upload.yaml")

The budget stops the work at the first call past it (:class:`WorkBudgetExceeded`, a
``BaseException`` so an ``except Exception`` in the code under test cannot swallow it), so a
regression fails promptly instead of hanging the suite.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

CALLS = frozenset({"call", "c_call"})


class WorkBudgetExceeded(BaseException):
    """More function calls than the budget allows (see :func:`work_budget`)."""


@dataclass
class Work:
    """Function calls made so far in the calling thread (Python and C)."""

    calls: int = 0


@contextmanager
def counted_calls(limit: int | None = None, what: str = "the work") -> Iterator[Work]:
    """Count the calls made in the block; with ``limit``, stop the block (raise
    :class:`WorkBudgetExceeded`) at the first call past it."""
    work = Work()
    exceeded: list[int] = []
    previous = sys.getprofile()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event in CALLS:
            work.calls += 1
            if limit is not None and work.calls > limit and not exceeded:
                exceeded.append(work.calls)
                sys.setprofile(None)
                raise WorkBudgetExceeded(
                    f"{what}: more than {limit:,} function calls (the budget): the work "
                    "grows with what the input claims, not with what it holds")

    sys.setprofile(profile)
    try:
        yield work
    finally:
        sys.setprofile(previous)
    if exceeded:  # raised inside the block, and swallowed there
        raise WorkBudgetExceeded(f"{what}: more than {limit:,} function calls (the budget)")


@contextmanager
def work_budget(limit: int, what: str = "the work") -> Iterator[Work]:
    """Fail if the block makes more than ``limit`` function calls."""
    with counted_calls(limit, what) as work:
        yield work


def calls_of(fn: Callable[[], object]) -> tuple[int, object]:
    """(calls, result or the exception raised) of ``fn()``."""
    with counted_calls() as work:
        try:
            result: object = fn()
        except Exception as err:
            result = err
    return work.calls, result
