"""Cached, process-wide resources: the compiled criteria library and the engine."""

from __future__ import annotations

import streamlit as st

from preauth.engine import Engine
from preauth.library import Library, load_library


@st.cache_resource(show_spinner=False)
def bundled_library() -> Library:
    return load_library()


@st.cache_resource(show_spinner=False)
def engine_for(_library: Library, key: str) -> Engine:
    """One engine per library (``key`` identifies it; the engine serialises its own calls)."""
    return Engine(_library)


def current_library() -> Library:
    """The bundled library plus any custom policy uploaded in this browser session."""
    lib = bundled_library()
    for policy in st.session_state.get("custom_policies", {}).values():
        lib = lib.with_policy(policy)
    return lib


def current_engine() -> Engine:
    lib = current_library()
    key = "|".join(f"{p.id}:{p.file}:{len(p.criteria)}" for p in lib.policies)
    return engine_for(lib, key)
