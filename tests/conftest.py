"""Shared fixtures: one compiled library and one engine per test session."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from preauth.criteria.library import Library, load_library
from preauth.evaluate.engine import Engine

# Property tests explore fresh random inputs on a developer's machine (run them with
# --hypothesis-seed=N to search further); CI replays a fixed sequence so that a red build
# always means a change broke something, and the same failure reproduces on the next run.
# `make test-fast` (PREAUTH_TEST_FAST=1) draws fewer examples for the inner loop; `make test`
# and CI keep the full counts.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("fast", max_examples=10, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
elif os.environ.get("PREAUTH_TEST_FAST"):
    settings.load_profile("fast")


@pytest.fixture(scope="session")
def library() -> Library:
    return load_library()


@pytest.fixture(scope="session")
def engine(library: Library) -> Engine:
    eng = Engine(library)
    yield eng
    eng.close()
