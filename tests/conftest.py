"""Shared fixtures: one compiled library and one engine per test session."""

from __future__ import annotations

import pytest

from preauth.engine import Engine
from preauth.library import Library, load_library


@pytest.fixture(scope="session")
def library() -> Library:
    return load_library()


@pytest.fixture(scope="session")
def engine(library: Library) -> Engine:
    eng = Engine(library)
    yield eng
    eng.close()
