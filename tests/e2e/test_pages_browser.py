"""Real browser: open a scenario, browse and diff criteria, and a screenshot of every page."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import assert_no_exception, new_page, rerun, shot, wait_idle

pytestmark = pytest.mark.e2e


def _go(page, app_url: str, path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/{path}")
    wait_idle(page)
    assert_no_exception(page)


def test_open_a_scenario_in_the_explorer(page, app_url) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    _go(page, app_url, "scenarios")
    shot(page, "scenarios-gallery")
    with rerun(page):
        page.locator(".st-key-open_cauda-equina button").click()
    page.wait_for_url("**cauda_equina_signs=1**")
    expect(page.locator("[data-testid='stAlert']").filter(
        has_text="Meets criteria").first).to_be_visible()
    expect(page.locator("h1").first).to_have_text("Case explorer")
    wait_idle(page)
    assert_no_exception(page)
    shot(page, "explorer-from-scenario")


def test_deep_link_on_a_fresh_server_uses_the_app_navigation(browser, fresh_app_url) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    context, page = new_page(browser)
    try:
        page.goto(f"{fresh_app_url}/criteria")
        wait_idle(page)
        nav = page.locator("[data-testid='stSidebarNav']")
        expect(nav).to_contain_text("Criteria library")
        expect(nav).to_contain_text("Teaching scenarios")
        expect(page.locator("h1").first).to_have_text("Criteria library")
    finally:
        context.close()


def test_browse_and_diff_criteria(page, app_url) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    _go(page, app_url, "criteria")
    page.get_by_label("Search criteria").fill("cauda")
    with rerun(page):
        page.keyboard.press("Enter")
    expander = page.locator("[data-testid='stExpander']").filter(
        has_text="Suspected cauda equina syndrome").first
    expander.locator("summary").click()  # opens in the browser: no script run
    expect(expander.get_by_text("In plain words:")).to_be_visible()
    shot(page, "criteria-browse")
    page.get_by_role("tab", name="Compare policies").click()  # tabs switch in the browser
    expect(page.get_by_text("Where they disagree on the teaching scenarios")).to_be_visible()
    wait_idle(page)
    assert_no_exception(page)
    shot(page, "criteria-compare")


def test_quiz_and_about_pages(page, app_url) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    _go(page, app_url, "scenarios")
    with rerun(page):
        page.get_by_test_id("stCheckbox").get_by_text("Quiz mode").click()
    with rerun(page):
        page.get_by_text("Does not meet criteria", exact=True).click()
    with rerun(page):
        page.get_by_role("button", name="Check my answer").click()
    expect(page.locator("[data-testid='stAlert']").filter(
        has_text=re.compile("Correct: ")).first).to_be_visible()
    expect(page.locator("[data-testid='stMetric']").filter(has_text="Score")).to_contain_text(
        "1 / 1")
    assert_no_exception(page)
    shot(page, "scenarios-quiz")
    _go(page, app_url, "about")
    expect(page.get_by_text("not medical advice").first).to_be_visible()
    shot(page, "about")
