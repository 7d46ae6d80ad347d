"""The session reaper closes sessions whose browser has gone (issue 8: memory back to idle
after hostile uploads' sessions end). A fake runtime stands in for Streamlit's."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest

from ui import session_reaper


class _FakeRuntime:
    def __init__(self, active: set[str], stored: dict[str, object]) -> None:
        self.active = active
        self.stored = stored
        self.closed: list[str] = []
        loop = SimpleNamespace(call_soon_threadsafe=lambda fn: fn())  # run at once
        self._get_async_objs = lambda: SimpleNamespace(eventloop=loop)
        self._session_mgr = SimpleNamespace(get_session_info=self.stored.get)

    def is_active_session(self, sid: str) -> bool:
        return sid in self.active

    def close_session(self, sid: str) -> None:
        self.closed.append(sid)
        self.stored.pop(sid, None)


class _State(dict):
    pass


@pytest.fixture()
def fake(monkeypatch):  # type: ignore[no-untyped-def]
    import streamlit.runtime as rt_mod

    state = _State(upload="a big table")
    info = SimpleNamespace(session=SimpleNamespace(session_state=state))
    runtime = _FakeRuntime(active={"open"}, stored={"gone": info})
    monkeypatch.setattr(rt_mod, "exists", lambda: True)
    monkeypatch.setattr(rt_mod, "get_instance", lambda: runtime)
    monkeypatch.setattr(session_reaper, "_release_memory", lambda: None)
    monkeypatch.setattr(session_reaper, "_last_active", {"open": 0.0, "gone": 0.0})
    return runtime, state


def test_a_session_without_browser_is_closed_after_the_grace_period(fake) -> None:  # type: ignore[no-untyped-def]
    runtime, state = fake
    assert session_reaper.sweep(now=50.0, grace=60.0) == 0
    assert runtime.closed == [] and state
    assert session_reaper.sweep(now=61.0, grace=60.0) == 1
    assert runtime.closed == ["gone"]
    assert state == {}  # emptied even if something else still holds the session
    assert "gone" not in session_reaper._last_active


def test_a_session_with_a_browser_is_never_closed(fake) -> None:  # type: ignore[no-untyped-def]
    runtime, _state = fake
    for now in (100.0, 1_000.0, 10_000.0):
        session_reaper.sweep(now=now, grace=60.0)
    assert "open" not in runtime.closed
    assert session_reaper._last_active["open"] == 10_000.0


def test_a_browser_that_came_back_keeps_its_session(fake) -> None:  # type: ignore[no-untyped-def]
    runtime, state = fake
    session_reaper._last_active["gone"] = -100.0
    original = runtime.is_active_session
    calls = iter([False, True])  # inactive when swept, active again on the event loop
    runtime.is_active_session = lambda sid: next(calls) if sid == "gone" else original(sid)
    session_reaper.sweep(now=0.0, grace=60.0)
    assert runtime.closed == [] and state


def test_grace_is_shorter_than_streamlits_ttl() -> None:
    """The session must be closed while Streamlit still stores it (it cannot be closed, and
    its uploaded files are never removed, once Streamlit's own TTL has expired)."""
    from streamlit import config

    ttl = config.get_option("server.disconnectedSessionTTL")
    assert session_reaper._grace_seconds() <= ttl - 2 * session_reaper.SWEEP_SECONDS


def test_the_installed_streamlit_has_what_the_reaper_uses() -> None:
    """The reaper reaches a little past Streamlit's public API; an upgrade that changes it
    must fail here, not silently stop freeing memory."""
    from streamlit.runtime.app_session import AppSession
    from streamlit.runtime.runtime import Runtime
    from streamlit.runtime.state.session_state import SessionState

    assert callable(getattr(Runtime, "_get_async_objs", None))
    assert callable(Runtime.close_session) and callable(Runtime.is_active_session)
    assert "self._session_mgr" in inspect.getsource(Runtime.__init__)
    assert isinstance(inspect.getattr_static(AppSession, "session_state"), property)
    assert callable(SessionState.clear)
