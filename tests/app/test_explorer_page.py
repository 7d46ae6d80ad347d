"""AppTest for the case explorer."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def _app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def _banner_text(at: AppTest) -> str:
    return " ".join(e.value for e in [*at.success, *at.error, *at.warning, *at.info])


def test_default_case_does_not_meet_then_cauda_equina_meets() -> None:
    at = _app()
    assert "Does not meet criteria" in _banner_text(at)
    at.radio(key="f_cauda_equina_signs").set_value("Yes").run()
    assert not at.exception
    assert "Meets criteria" in _banner_text(at)


def test_undocumented_field_gives_insufficient_documentation() -> None:
    at = _app()
    at.radio(key="f_cauda_equina_signs").set_value("Not documented").run()
    assert "Insufficient documentation" in _banner_text(at)
