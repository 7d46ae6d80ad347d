"""Real browser: one server, many users (issue 8). Custom criteria stay in the session that
uploaded them, and concurrent sessions keep their own case while everyone is clicking."""

from __future__ import annotations

import re
import urllib.parse

import pytest

from tests.app.helpers import one_rule_policy
from tests.e2e.conftest import assert_no_exception, new_page, rerun, shot, wait_idle

pytestmark = pytest.mark.e2e


def _new_page(browser):  # type: ignore[no-untyped-def]
    return new_page(browser, height=1200)


def _upload_policy(page, app_url: str, name: str, when: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(app_url)
    wait_idle(page)
    with rerun(page):
        page.get_by_role("link", name="Criteria library").click()
    page.get_by_role("tab", name="Custom criteria").click()  # tabs switch in the browser
    with rerun(page):
        page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(
            {"name": "custom.yaml", "mimeType": "application/x-yaml",
             "buffer": one_rule_policy(name, when).encode()})
    expect(page.get_by_text("Loaded", exact=False).first).to_be_visible()
    wait_idle(page)
    assert_no_exception(page)


def _explorer_text(page, mine: str, theirs: str) -> str:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    with rerun(page):
        page.get_by_role("link", name="Case explorer").click()  # in-app: the same session
    main = page.locator("[data-testid='stMain']")
    expect(page.locator("h1").first).to_have_text("Case explorer")
    expect(main).to_contain_text(mine)
    assert_no_exception(page)
    text = main.inner_text()
    assert theirs not in text, f"{theirs!r} shown in another user's session"
    return text


def test_two_browsers_upload_same_named_criteria(browser, app_url) -> None:  # type: ignore[no-untyped-def]
    ctx_a, a = _new_page(browser)
    ctx_b, b = _new_page(browser)
    try:
        _upload_policy(a, app_url, "Policy of user A", "region = 'lumbar'")
        _upload_policy(b, app_url, "Policy of user B", "region = 'cervical'")
        _explorer_text(a, "Policy of user A", "Policy of user B")
        _explorer_text(b, "Policy of user B", "Policy of user A")
        shot(a, "shared-server-user-a")
        shot(b, "shared-server-user-b")
    finally:
        ctx_a.close()
        ctx_b.close()


SESSIONS = 10
ROUNDS = 8  # each round clicks once on every page, without waiting for the page's rerun


def _case(i: int) -> dict[str, str]:
    return {"cpt_code": ("72148", "72141", "72146")[i % 3], "age": str(30 + i),
            "symptom_weeks": str(2 + i)}


def _number(value: str) -> re.Pattern[str]:
    """A number input's text for ``value`` (Streamlit may show decimals: 30 or 30.00)."""
    return re.compile(rf"^{re.escape(value)}(\.0+)?$")


def _assert_own_case(page, i: int) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    want = _case(i)
    # the address bar holds this user's case (each field, in any order)
    expect(page).to_have_url(re.compile("".join(
        rf"(?=.*[?&]{k}={re.escape(v)}(&|$))" for k, v in want.items())))
    query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert {k: query.get(k, [""])[0] for k in want} == want, (i, page.url)
    # ... and so does the form
    def number(label: str):  # type: ignore[no-untyped-def]
        return page.locator("[data-testid='stNumberInput']").filter(has_text=label).first \
            .locator("input")

    expect(number("Age")).to_have_value(_number(want["age"]))
    expect(number("Symptom duration")).to_have_value(_number(want["symptom_weeks"]))
    cpt = page.locator("[data-testid='stSelectbox']").filter(has_text="CPT code").first
    expect(cpt.locator("input")).to_have_value(re.compile(rf"^{want['cpt_code']}\b"))


def test_ten_concurrent_sessions_keep_their_own_case(browser, app_url) -> None:  # type: ignore[no-untyped-def]
    """Ten users toggle the explorer at once, round after round; afterwards each one's form,
    address bar and verdicts still describe that user's own case."""
    pages = []
    try:
        for i in range(SESSIONS):
            context, page = _new_page(browser)
            page.goto(f"{app_url}/?{urllib.parse.urlencode(_case(i))}")
            pages.append((context, page))
        for _c, page in pages:
            wait_idle(page, timeout=120_000)
        clicks = 0
        options = ("Yes", "No", "Not documented")
        for round_ in range(ROUNDS):
            for _c, page in pages:  # a click on every page, without waiting for its rerun
                group = page.locator("[data-testid='stRadio']").filter(
                    has_text="Cauda equina signs")
                try:
                    group.get_by_text(options[round_ % 3], exact=True).click(timeout=10_000)
                    clicks += 1
                except Exception:  # a page busy re-rendering: it gets the next round's click
                    pass
        assert clicks >= SESSIONS * 3, f"only {clicks} clicks got through"
        for i, (_c, page) in enumerate(pages):
            wait_idle(page, timeout=120_000)
            assert_no_exception(page)
            _assert_own_case(page, i)
        shot(pages[0][1], "shared-server-concurrent-session")
    finally:
        for context, _p in pages:
            context.close()
