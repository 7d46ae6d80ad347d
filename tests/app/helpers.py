"""AppTest helpers."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def app(page: str | None = None, **state: object) -> AppTest:
    """Run the app (optionally switched to ``pages/<page>.py``) with seeded session state."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page:
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def alerts(at: AppTest) -> str:
    return " ".join(e.value for e in [*at.success, *at.error, *at.warning, *at.info])
