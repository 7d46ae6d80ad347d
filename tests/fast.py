"""`make test-fast` (PREAUTH_TEST_FAST=1): property tests draw at most 10 examples each, so the
inner loop stays under a minute; `make test` and CI draw the full counts."""

from __future__ import annotations

import os

FAST = bool(os.environ.get("PREAUTH_TEST_FAST")) and not os.environ.get("CI")


def examples(n: int) -> int:
    """How many examples a property test draws: ``n``, or at most 10 in the fast loop."""
    return min(n, 10) if FAST else n
