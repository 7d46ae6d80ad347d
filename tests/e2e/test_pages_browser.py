"""Real browser: open a scenario, browse and diff criteria, and a screenshot of every page."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import assert_no_exception, shot, wait_idle

pytestmark = pytest.mark.e2e


def _go(page, app_url: str, path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/{path}")
    wait_idle(page)
    assert_no_exception(page)


def test_open_a_scenario_in_the_explorer(page, app_url) -> None:  # type: ignore[no-untyped-def]
    _go(page, app_url, "scenarios")
    shot(page, "scenarios-gallery")
    page.locator(".st-key-open_cauda-equina button").click()
    page.wait_for_url("**cauda_equina_signs=1**")
    wait_idle(page)
    assert_no_exception(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll(\"[data-testid='stAlert']\")]"
        ".some(e => e.innerText.includes('Meets criteria'))")
    assert page.locator("h1").first.inner_text() == "Case explorer"
    shot(page, "explorer-from-scenario")


def test_deep_link_on_a_fresh_server_uses_the_app_navigation(browser, fresh_app_url) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{fresh_app_url}/criteria")
        wait_idle(page)
        nav = page.locator("[data-testid='stSidebarNav']").inner_text()
        assert "Criteria library" in nav and "Teaching scenarios" in nav, nav
        assert page.locator("h1").first.inner_text() == "Criteria library"
    finally:
        context.close()


def test_browse_and_diff_criteria(page, app_url) -> None:  # type: ignore[no-untyped-def]
    _go(page, app_url, "criteria")
    page.get_by_label("Search criteria").fill("cauda")
    page.keyboard.press("Enter")
    wait_idle(page)
    expander = page.locator("[data-testid='stExpander']").filter(
        has_text="Suspected cauda equina syndrome").first
    expander.locator("summary").click()
    expander.get_by_text("In plain words:").wait_for(state="visible")
    shot(page, "criteria-browse")
    page.get_by_role("tab", name="Compare policies").click()
    wait_idle(page)
    assert page.get_by_text("Where they disagree on the teaching scenarios").is_visible()
    assert_no_exception(page)
    shot(page, "criteria-compare")


def test_quiz_and_about_pages(page, app_url) -> None:  # type: ignore[no-untyped-def]
    _go(page, app_url, "scenarios")
    page.get_by_test_id("stCheckbox").get_by_text("Quiz mode").click()
    wait_idle(page)
    page.get_by_text("Does not meet criteria", exact=True).click()
    wait_idle(page)
    page.get_by_role("button", name="Check my answer").click()
    wait_idle(page)
    assert page.get_by_text("Correct").first.is_visible()
    assert_no_exception(page)
    shot(page, "scenarios-quiz")
    _go(page, app_url, "about")
    assert page.get_by_text("not medical advice").first.is_visible()
    shot(page, "about")
