"""Real browser: a hostile share link (issue 8, point 7).

A link's parameter names and values are the link author's: shown in the explorer's warning
they must stay plain text — no link to click, no image that makes the browser fetch a URL —
numbers must obey ingest's rules (no ``inf``), and a link with more parameters than Streamlit
reads must not be ignored in silence.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit

import pytest

from tests.e2e.conftest import (
    TWO_FRAMES,
    assert_no_exception,
    new_page,
    rerun,
    shot,
    wait_idle,
)

pytestmark = pytest.mark.e2e

EVIL = "evil.example"
LINK = f"[Click to re-authenticate](https://{EVIL}/login)"
IMAGE = f"![x](https://{EVIL}/track.png)"
OVERFLOW = "link_overflow"
BARE = f"https://{EVIL}/bare www.{EVIL} user@{EVIL}"


def _is_evil(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host == EVIL or host.endswith("." + EVIL)


def _open(browser, url: str):  # type: ignore[no-untyped-def]
    """A page whose every request to evil.example is recorded and refused."""
    context, page = new_page(browser)
    evil: list[str] = []

    def refuse(route) -> None:  # type: ignore[no-untyped-def]
        evil.append(route.request.url)
        route.abort()

    context.route(f"**://{EVIL}/**", refuse)
    context.route(f"**://*.{EVIL}/**", refuse)
    page.on("request", lambda r: evil.append(r.url) if _is_evil(r.url) else None)
    page.goto(url)
    return context, page, evil


def _warning(page):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    alert = page.locator("[data-testid='stAlert']").filter(
        has_text="Some values in the link were not usable")
    expect(alert.first).to_be_visible()
    wait_idle(page)
    return alert


# Scroll the page's scrolling areas from top to bottom, one screen at a time, and let the
# browser paint each screen: a lazy image anywhere on the page has been in view (and asked
# for its URL) by the end.
SCROLL_THROUGH = """async () => {
  const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const scrolls = e => e === document.scrollingElement
    || ["auto", "scroll"].includes(getComputedStyle(e).overflowY);
  const boxes = [document.scrollingElement, ...document.querySelectorAll("main, section, div")]
    .filter(e => e && e.scrollHeight > e.clientHeight + 1 && scrolls(e));
  for (const box of new Set(boxes)) {
    for (let y = 0; y < box.scrollHeight; y += Math.max(box.clientHeight, 100)) {
      box.scrollTop = y;
      await frames();
    }
    box.scrollTop = 0;
  }
  await frames();
}"""


def _assert_inert(page, evil: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert_no_exception(page)
    assert page.locator(f"a[href*='{EVIL}']").count() == 0, "a link to evil.example"
    assert page.locator(f"img[src*='{EVIL}']").count() == 0, "an image from evil.example"
    assert page.locator(f"[src*='{EVIL}'], [srcset*='{EVIL}'], [style*='{EVIL}']").count() \
        == 0
    page.evaluate(SCROLL_THROUGH)  # every part of the page has been on screen and painted
    page.evaluate(TWO_FRAMES)
    assert evil == [], f"the browser asked evil.example: {[u[:200] for u in evil[:3]]}"


def test_markdown_in_names_and_values_stays_text(browser, app_url) -> None:  # type: ignore[no-untyped-def]
    long_value = "A" * 5000
    query = urlencode([(LINK, "1"), (IMAGE, LINK), ("age", IMAGE), ("sex", LINK),
                       ("carrier_note", BARE), ("symptom_weeks", "inf"), ("age", "1e308"),
                       ("pain_score", "1e308"), ("months_since_prior_mri", "nan"),
                       ("trauma", long_value), ("cpt_code", "72141")], quote_via=quote)
    context, page, evil = _open(browser, f"{app_url}/?{query}")
    try:
        alert = _warning(page)
        _assert_inert(page, evil)
        assert alert.count() == 1
        headline = alert.first.inner_text()
        # the fields by their labels in the form, the first five named, the rest counted
        assert "Age, Sex, Symptom duration, Pain score, Months since prior MRI of this region "\
               "and 1 more field" in headline
        assert "3 unknown parameters" in headline
        assert EVIL not in headline  # the headline quotes nothing from the link
        main = page.locator("[data-testid='stMain']").inner_text()
        # one plain sentence per bad parameter, quoting the literal text of the link
        assert f"unknown parameter '{LINK}' — ignored" in main
        assert f"age '{IMAGE}' (the first of 2 values given) is not a whole number" in main
        assert "symptom_weeks inf is not a number ≥ 0 — left empty" in main
        assert "pain_score 1e308 is not between 0 and 10 — left empty" in main
        assert "Value error" not in main and "expected " not in main
        assert "(4,940 more characters)" in main  # the long value, cut to 60 characters
        assert long_value not in main
        # the valid part of the link was read (the address bar holds the case read)
        page.wait_for_function("() => location.search.includes('cpt_code=72141')")
        path = shot(page, "explorer-hostile-link")
        assert path.exists()
    finally:
        context.close()


@pytest.mark.parametrize("path", ["", "explorer"])
def test_more_parameters_than_streamlit_reads_is_reported(browser, app_url, path: str) -> None:  # type: ignore[no-untyped-def]
    junk = [(f"junk{i}", IMAGE if i % 2 else LINK) for i in range(1200)]
    query = urlencode([*junk[:600], ("cpt_code", "72141"), ("symptom_weeks", "inf"),
                       ("age", "1e308"), ("radiculopathy", "1"), (LINK, IMAGE), *junk[600:]],
                      quote_via=quote)
    context, page, evil = _open(browser, f"{app_url}/{path}?{query}")
    try:
        alert = _warning(page)
        _assert_inert(page, evil)
        assert "more than 1,000 parameters" in alert.first.inner_text()
        main = page.locator("[data-testid='stMain']").inner_text()
        assert "the link has 1,205 parameters" in main
        assert "only its case fields were read (4 of them)" in main
        assert "symptom_weeks inf is not a number ≥ 0 — left empty" in main
        assert "age 1e308 is not between 0 and 120 — left empty" in main
        # the case fields of the link were read
        page.wait_for_function("() => location.search.includes('cpt_code=72141')")
        page.wait_for_function("() => location.search.includes('radiculopathy=1')")
        assert OVERFLOW not in page.url  # the address bar holds the case again
        shot(page, f"explorer-link-too-many-parameters{'-' + path if path else ''}")
    finally:
        context.close()


def test_plain_link_has_no_warning(browser, app_url) -> None:  # type: ignore[no-untyped-def]
    context, page, _ = _open(browser, f"{app_url}/?cpt_code=72141&radiculopathy=1")
    try:
        wait_idle(page)
        assert_no_exception(page)
        assert page.locator("[data-testid='stAlert']").filter(
            has_text="not usable").count() == 0
        assert OVERFLOW not in page.url
    finally:
        context.close()


def test_a_long_link_to_another_page_does_not_reload_the_explorer(browser, app_url) -> None:  # type: ignore[no-untyped-def]
    """The guard acts on the link the tab opened only when it was the explorer's: opening
    another page with such a link, then the explorer, keeps the session (no reload).

    The browser's Navigation API reports every navigation the page starts, the moment it
    starts it (``location.replace`` included): the test needs no time for a reload to show."""
    from playwright.sync_api import expect

    query = urlencode([(f"junk{i}", "x") for i in range(1200)], quote_via=quote)
    context, page, _ = _open(browser, f"{app_url}/about?{query}")
    try:
        wait_idle(page)
        page.evaluate("""() => {
          window.__same_document = true;
          window.__navigations = [];
          navigation.addEventListener("navigate", e => window.__navigations.push(
            {url: e.destination.url, sameDocument: e.destination.sameDocument}));
        }""")
        with rerun(page):
            page.locator("[data-testid='stSidebarNav'] a").filter(has_text="Case explorer") \
                .first.click()
        expect(page.locator("h1").first).to_have_text("Case explorer")
        expect(page.locator("[data-testid='stSelectbox']").first).to_be_visible()
        wait_idle(page)  # the explorer has run, its guard script included
        assert page.evaluate("window.__same_document === true"), "the page was reloaded"
        navigations = page.evaluate("window.__navigations")
        assert navigations, "the in-app page switch was not seen (the check would see nothing)"
        assert all(n["sameDocument"] for n in navigations), f"the page was reloaded: {navigations}"
        assert OVERFLOW not in page.url
        assert_no_exception(page)
    finally:
        context.close()
