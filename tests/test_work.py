"""tests/work.py, the call counter that stands in for wall-clock bounds: exact, repeatable,
stops runaway work, and cannot be swallowed by the code under test."""

from __future__ import annotations

import contextlib
import sys

import pytest

from tests.work import WorkBudgetExceeded, calls_of, counted_calls, work_budget


def _loop(n: int) -> int:
    total = 0
    for i in range(n):
        total += abs(-i)  # one C call per round
    return total


def test_counts_are_exact_and_follow_the_work() -> None:
    small, _ = calls_of(lambda: _loop(1_000))
    assert calls_of(lambda: _loop(1_000))[0] == small  # the same work, the same count
    big, _ = calls_of(lambda: _loop(2_000))
    assert big - small == 1_000  # one more call per round


def test_budget_stops_runaway_work_even_inside_except_exception() -> None:
    def swallow() -> None:
        with contextlib.suppress(Exception):  # the code under test may catch broadly
            _loop(10**9)  # would run for minutes

    with pytest.raises(WorkBudgetExceeded, match="more than 10,000 function calls"), \
            work_budget(10_000, "the loop"):
        swallow()


def test_within_budget_passes_and_profiler_is_restored() -> None:
    before = sys.getprofile()
    with work_budget(10_000) as work:
        _loop(100)
    assert 100 <= work.calls <= 10_000
    assert sys.getprofile() is before
    with counted_calls() as outer:
        with counted_calls() as inner:
            _loop(10)
        _loop(10)
    assert inner.calls >= 10 and outer.calls >= 10
