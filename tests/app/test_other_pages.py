"""AppTest for every page (renders healthy), the scenarios, criteria library and about pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from preauth.synthetic.scenarios import SCENARIOS
from tests.app.helpers import ROOT, alerts, app

# Every page of the app, as its navigation lists them (checked against app.py below).
PAGES = ["explorer", "scenarios", "criteria", "evidence", "upload", "about"]


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_exception_or_error_box(page: str) -> None:
    app(page)  # asserts no exception element and no error box (but a verdict banner)


def test_every_page_of_the_navigation_is_tested(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages app.py hands to st.navigation, and the files in pages/, are exactly PAGES."""
    scripts: dict[int, str] = {}  # st.Page object -> the name of its script
    offered: list[str] = []
    page, navigation = st.Page, st.navigation

    def page_spy(script: Any, *args: Any, **kwargs: Any) -> Any:
        made = page(script, *args, **kwargs)
        scripts[id(made)] = Path(str(script)).stem
        return made

    def navigation_spy(pages: Any, *args: Any, **kwargs: Any) -> Any:
        sections = pages.values() if isinstance(pages, dict) else [pages]
        offered.extend(scripts[id(p)] for section in sections for p in section)
        return navigation(pages, *args, **kwargs)

    monkeypatch.setattr(st, "Page", page_spy)
    monkeypatch.setattr(st, "navigation", navigation_spy)
    AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert sorted(offered) == sorted(PAGES)
    assert sorted(p.stem for p in (ROOT / "pages").glob("*.py")) == sorted(PAGES)


def test_gallery_lists_every_scenario_with_open_buttons() -> None:
    at = app("scenarios")
    text = " ".join(m.value for m in at.markdown)
    for s in SCENARIOS:
        assert s.title in text
    assert len([b for b in at.button if b.label == "Open in explorer"]) == len(SCENARIOS)


def test_quiz_scores_an_answer() -> None:
    at = app("scenarios")
    at.toggle(key="quiz_mode").set_value(True).run()
    at.selectbox(key="quiz_policy").set_value("acr").run()
    # the first scenario (acute LBP, no red flags) does not meet ACR criteria
    at.radio(key="quiz_answer_0_acr").set_value("does_not_meet").run()
    at.button(key="quiz_check").click().run()
    assert not at.exception
    assert "Correct" in alerts(at)
    assert at.session_state["quiz_score"] == {"answered": 1, "correct": 1}
    at.button(key="quiz_next").click().run()
    at.radio(key="quiz_answer_1_acr").set_value("meets_criteria").run()
    at.button(key="quiz_check").click().run()
    assert "Not quite" in alerts(at)
    assert at.session_state["quiz_score"] == {"answered": 2, "correct": 1}


def test_criteria_search_and_diff() -> None:
    at = app("criteria")
    at.text_input(key="lib_search").set_value("cauda").run()
    assert not at.exception
    assert any("cauda" in e.label.lower() for e in at.expander)
    at.selectbox(key="diff_a").set_value("acr").run()
    at.selectbox(key="diff_b").set_value("bcbs_style").run()
    assert not at.exception


BAD = (ROOT / "criteria" / "aetna_style.yaml").read_text().replace(
    "when: cauda_equina_signs\n", "when: read_csv('/etc/passwd') IS NULL\n", 1)


def test_bad_custom_criteria_file_shows_error_naming_the_criterion() -> None:
    at = app("criteria")
    at.file_uploader(key="criteria_upload").set_value(
        ("mine.yaml", BAD.encode(), "application/x-yaml")).run()
    assert not at.exception
    error = " ".join(e.value for e in at.error).replace("\\", "")  # shown as plain text
    assert "mine.yaml" in error and "ae-cauda-equina" in error and "read_csv" in error


def test_custom_policy_is_usable_in_the_explorer() -> None:
    text = (ROOT / "criteria" / "aetna_style.yaml").read_text().replace(
        "id: aetna_style", "id: my_policy").replace(
        "name: Commercial payer MRI-of-the-spine bulletin (Aetna CPB 0236-style)",
        "name: My session policy")
    at = app("criteria")
    at.file_uploader(key="criteria_upload").set_value(
        ("mine.yaml", text.encode(), "application/x-yaml")).run()
    assert "My session policy" in alerts(at)
    at.switch_page("pages/explorer.py").run()
    assert not at.exception
    assert "My session policy" in at.radio(key="explain_policy").options


def test_about_has_the_disclaimer() -> None:
    at = app("about")
    assert "not medical advice" in alerts(at)
