"""The criteria library and engine a session evaluates with.

The bundled library and its engine are built once per process and shared (read-only; the
engine serialises its own calls). A session's custom policies (Criteria library page) are that
session's alone: the library with them, its content key and its engine live in the session's
own memo (:mod:`ui.session_cache`), never in a process-wide cache, so two sessions uploading a
same-named file with the same policy id each see only their own rules. Every cache key is a
hash of the policies' *content*, not of their ids or file names.
"""

from __future__ import annotations

import gc
import hashlib
import weakref

import streamlit as st

from preauth.criteria.library import Library, Policy, load_library
from preauth.evaluate.engine import Engine
from ui.session_cache import session_memo

__all__ = ["CUSTOM", "MAX_CUSTOM_ENGINES", "MAX_CUSTOM_POLICIES", "CustomCriteriaLimit",
           "add_custom_policy", "bundled_library", "current_engine", "current_library",
           "library_key", "policy_digest"]

CUSTOM = "custom_policies"  # session state: {policy id: Policy} uploaded in this session
MAX_CUSTOM_POLICIES = 5  # per session: a policy or two to compare with the bundled ones
MAX_CUSTOM_ENGINES = 24  # in the whole process: sessions holding an engine for custom rules

_live_custom_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


class CustomCriteriaLimit(Exception):
    """A custom policy cannot be taken now; the message says which limit and why."""


@st.cache_resource(show_spinner=False)
def bundled_library() -> Library:
    return load_library()


@st.cache_resource(show_spinner=False)
def _bundled_engine() -> Engine:
    return Engine(bundled_library())


@st.cache_resource(show_spinner=False)
def _bundled_key() -> str:
    return "bundled:" + _library_digest(bundled_library())


def policy_digest(policy: Policy) -> str:
    """Hash of everything a policy says (its rules, wording and sources)."""
    return hashlib.sha256(policy.model_dump_json().encode("utf-8")).hexdigest()


def _library_digest(library: Library) -> str:
    h = hashlib.sha256()
    for p in library.policies:
        h.update(policy_digest(p).encode("ascii"))
    return h.hexdigest()[:24]


def _custom() -> dict[str, Policy]:
    return st.session_state.get(CUSTOM) or {}


def add_custom_policy(policy: Policy) -> None:
    """Take ``policy`` into this session (replacing one with the same id), within the limits."""
    customs = dict(_custom())
    if policy.id not in customs and len(customs) >= MAX_CUSTOM_POLICIES:
        raise CustomCriteriaLimit(
            f"This session already has {MAX_CUSTOM_POLICIES} custom policies (the limit per "
            "session, which keeps one shared server responsive): remove one first.")
    if not customs and len(_live_custom_engines) >= MAX_CUSTOM_ENGINES:
        gc.collect()  # engines of closed sessions may only wait for the cycle collector
    if not customs and len(_live_custom_engines) >= MAX_CUSTOM_ENGINES:
        raise CustomCriteriaLimit(
            f"The server is holding custom criteria for {MAX_CUSTOM_ENGINES} sessions, its "
            "limit; try again in a few minutes (a session's custom criteria are released when "
            "its browser tab has been closed for two minutes).")
    customs[policy.id] = policy
    st.session_state[CUSTOM] = customs


def _custom_state() -> tuple[Library, str]:
    customs = _custom()

    def build() -> tuple[Library, str]:
        lib = bundled_library()
        for policy in customs.values():
            lib = lib.with_policy(policy)
        return lib, "custom:" + _library_digest(lib)

    # built and hashed once per set of uploaded policy objects, not on every call
    ident = "|".join(f"{pid}:{id(p)}" for pid, p in customs.items())  # this session's objects
    return session_memo("custom_library", ident, build)


def current_library() -> Library:
    """The bundled library plus any custom policy uploaded in this browser session."""
    if not _custom():
        return bundled_library()
    return _custom_state()[0]


def library_key() -> str:
    """Content key of :func:`current_library` (for caches of anything derived from it)."""
    if not _custom():
        return _bundled_key()
    return _custom_state()[1]


def current_engine() -> Engine:
    """The shared engine for the bundled library, or this session's own engine for its
    custom library (one per session, built again only when the custom policies change)."""
    if not _custom():
        return _bundled_engine()
    lib, key = _custom_state()

    def build() -> Engine:
        engine = Engine(lib)
        _live_custom_engines.add(engine)
        return engine

    return session_memo("custom_engine", key, build)
