"""Real browser: the explorer's main flow (change a field, see the verdict change)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import (
    SHOTS,
    TWO_FRAMES,
    assert_no_exception,
    new_page,
    rerun,
    shot,
    wait_idle,
)

pytestmark = pytest.mark.e2e


def _banner(page):  # type: ignore[no-untyped-def]
    """The verdict banner: the page's first alert."""
    return page.locator("[data-testid='stAlert']").first


def test_toggle_cauda_equina_changes_verdict(page, app_url) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(app_url)
    wait_idle(page)
    assert_no_exception(page)
    expect(_banner(page)).to_contain_text("Does not meet criteria")
    shot(page, "explorer-default")
    group = page.locator("[data-testid='stRadio']").filter(has_text="Cauda equina signs")
    with rerun(page):
        group.get_by_text("Yes", exact=True).click()
    expect(_banner(page)).to_contain_text("Meets criteria")
    expect(_banner(page)).not_to_contain_text("Does not meet")
    assert_no_exception(page)
    shot(page, "explorer-cauda-equina")


def test_explain_under_another_policy(page, app_url) -> None:  # type: ignore[no-untyped-def]
    """The explanation is a fragment: switching the policy reruns only it, and it shows that
    policy's reasons (the form keeps its values)."""
    from playwright.sync_api import expect

    page.goto(app_url)
    wait_idle(page)
    group = page.locator("[data-testid='stRadio']").filter(has_text="Explain under")
    with rerun(page):
        group.get_by_text("RBM spine imaging policy (eviCore-style)", exact=True).click()
    expect(page.get_by_text("Does not meet criteria under RBM spine imaging policy",
                            exact=False).first).to_be_visible()
    assert_no_exception(page)
    expect(_banner(page)).to_contain_text("Does not meet criteria")
    # a form change still reaches the explanation under the chosen policy
    flags = page.locator("[data-testid='stRadio']").filter(has_text="Cauda equina signs")
    with rerun(page):
        flags.get_by_text("Yes", exact=True).click()
    expect(page.get_by_text("Meets criteria under RBM spine imaging policy",
                            exact=False).first).to_be_visible()
    expect(_banner(page)).to_contain_text("Meets criteria")
    assert_no_exception(page)
    shot(page, "explorer-explain-evicore")


# --- layout at 1,400, 800 and 390 px (issue 11, item 6) ---------------------------------------

# Text a button, label or metric cuts short: an element whose text overflows its box with an
# ellipsis (Streamlit's stMarkdownEllipsis, CSS text-overflow), or whose own text ends in "…".
CUT_TEXT = """() => {
  const boxes = document.querySelectorAll(
    "[data-testid=stMain] button, [data-testid=stMain] label,"
    + " [data-testid=stMain] [data-testid=stMetricValue]");
  const cut = [];
  for (const box of boxes) {
    for (const e of [box, ...box.querySelectorAll("*")]) {
      const text = (e.innerText || "").trim();
      if (!text) continue;
      const clipped = getComputedStyle(e).textOverflow === "ellipsis"
        && e.scrollWidth > e.clientWidth + 1;
      if (clipped || (e.children.length === 0 && text.endsWith("…"))) cut.push(text);
    }
  }
  return [...new Set(cut)];
}"""
# The "Under every policy" table's scrolling area (the data grid's scroller)
TABLE_WIDTHS = """() => {
  const heading = [...document.querySelectorAll("h3")]
    .find(h => h.innerText.trim() === "Under every policy");
  const grid = heading && heading.closest("[data-testid=stElementContainer]")
    .nextElementSibling.querySelector("[data-testid=stDataFrame] .dvn-scroller");
  return grid ? [grid.scrollWidth, grid.clientWidth] : null;
}"""


def _summary(page):  # type: ignore[no-untyped-def]
    return page.locator(".st-key-verdict_summary")


def test_every_policy_table_does_not_scroll_sideways_at_1400(browser, app_url) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    context, page = new_page(browser, 1400, 900)
    try:
        page.goto(f"{app_url}/?cpt_code=72148&cauda_equina_signs=1&radiculopathy=1")
        wait_idle(page)
        expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible()
        page.wait_for_function(f"() => ({TABLE_WIDTHS})() !== null")
        scroll_width, client_width = page.evaluate(TABLE_WIDTHS)
        assert client_width > 0 and scroll_width <= client_width, (scroll_width, client_width)
        expect(_summary(page)).to_be_hidden()  # the table is beside the form: no summary
        assert page.evaluate(CUT_TEXT) == []
        assert_no_exception(page)
        _view(page, "explorer-1400")
    finally:
        context.close()


@pytest.mark.parametrize("path", ["", "evidence", "scenarios"])
def test_no_label_or_button_is_cut_short_at_800(browser, app_url, path: str) -> None:  # type: ignore[no-untyped-def]
    """At 800 px (sidebar open) the explorer stacks its form over its results, the Evidence
    tiles wrap onto a second row and the scenario buttons go under their text, instead of
    "E…" buttons and "P." tiles."""
    from playwright.sync_api import expect

    context, page = new_page(browser, 800, 900)
    try:
        page.goto(f"{app_url}/{path}")
        wait_idle(page)
        assert_no_exception(page)
        if path == "evidence":
            expect(page.locator("[data-testid='stMetric']")).to_have_count(6)
        wait_idle(page)
        assert page.evaluate(CUT_TEXT) == []
        _view(page, f"{path or 'explorer'}-800")
    finally:
        context.close()


def test_verdict_stays_in_view_while_toggling_at_390(browser, app_url) -> None:  # type: ignore[no-untyped-def]
    """On a phone the form comes first; the verdict summary sticks to the top of the screen
    while the user scrolls down the form and toggles a field, and shows the new verdict."""
    from playwright.sync_api import expect

    context, page = new_page(browser, 390, 844)
    try:
        page.goto(f"{app_url}/?cpt_code=72148&cauda_equina_signs=0&age=40")
        wait_idle(page)
        summary = _summary(page)
        expect(summary).to_be_visible()
        expect(summary).to_contain_text("Insufficient documentation")
        group = page.locator("[data-testid='stRadio']").filter(has_text="Night pain")
        group.scroll_into_view_if_needed()
        page.evaluate(TWO_FRAMES)
        start = page.evaluate("document.querySelector('[data-testid=stMain]').scrollTop")
        assert start > 500, "the form widget was not far down the page"
        _assert_in_view(page, summary)
        flags = page.locator("[data-testid='stRadio']").filter(has_text="Cauda equina signs")
        flags.scroll_into_view_if_needed()
        with rerun(page):
            flags.get_by_text("Yes", exact=True).click()
        expect(summary).to_contain_text("Meets criteria")
        expect(summary).not_to_contain_text("Insufficient")
        flags.scroll_into_view_if_needed()  # (where the user is: at the field just changed)
        page.evaluate(TWO_FRAMES)
        _assert_in_view(page, summary)
        assert page.evaluate(CUT_TEXT) == []
        assert_no_exception(page)
        _view(page, "explorer-390-toggled")
    finally:
        context.close()


def _assert_in_view(page, summary) -> None:  # type: ignore[no-untyped-def]
    """``summary`` is wholly on screen, below Streamlit's header, and nothing covers it."""
    box = summary.bounding_box()
    viewport = page.viewport_size
    header = page.locator("[data-testid='stHeader']").bounding_box()
    assert box is not None and box["height"] > 0
    assert box["y"] >= (header["y"] + header["height"] - 1 if header else 0), (box, header)
    assert box["y"] + box["height"] <= viewport["height"], (box, viewport)
    covered = page.evaluate("""([x, y]) => {
      const e = document.elementFromPoint(x, y);
      return !(e && e.closest('.st-key-verdict_summary'));
    }""", [box["x"] + 10, box["y"] + box["height"] / 2])
    assert not covered, "something covers the verdict summary"


def _view(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """A screenshot of what is on screen (``shot`` takes the whole page)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


# --- where a case came from, and the policy in the link ---------------------------------------

@pytest.mark.parametrize("width", [1400, 390])
def test_a_scenario_opened_in_the_explorer_says_so_and_leads_back(browser, app_url,
                                                                   width: int) -> None:  # type: ignore[no-untyped-def]

    from preauth.synthetic.scenarios import scenario

    title = scenario("undocumented-red-flags").title
    context, page = new_page(browser, width, 844)
    try:
        _from_scenario_and_back(page, app_url, title, width)
    finally:
        context.close()


def _from_scenario_and_back(page, app_url: str, title: str, width: int) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(f"{app_url}/scenarios")
    wait_idle(page)
    with rerun(page):  # the last scenario: the gallery is scrolled far down to reach it
        page.locator(".st-key-open_undocumented-red-flags button").click()
    expect(page.locator("h1").first).to_have_text("Case explorer")
    origin = page.locator(".st-key-explorer_origin")
    expect(origin).to_contain_text(f"Opened from the teaching scenario “{title}”.")
    wait_idle(page)
    expect(origin).to_be_in_viewport()  # the explorer is shown from its top
    assert "origin" not in page.url  # the link does not carry it
    assert_no_exception(page)
    _view(page, f"explorer-origin-scenario-{width}")
    with rerun(page):
        origin.get_by_role("button", name="Back to the scenarios").click()
    expect(page.locator("h1").first).to_have_text("Teaching scenarios")
    wait_idle(page)
    assert_no_exception(page)


def test_the_link_carries_the_policy_explained(page, app_url) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(f"{app_url}/?cpt_code=72148&cauda_equina_signs=0&policy=evicore_style")
    wait_idle(page)
    group = page.locator("[data-testid='stRadio']").filter(has_text="Explain under")
    expect(group.locator("input:checked")).to_have_count(1)
    checked = group.locator("label").filter(has=page.locator("input:checked"))
    expect(checked).to_contain_text("RBM spine imaging policy (eviCore-style)")
    expect(page.get_by_text("Insufficient documentation under RBM spine imaging policy",
                            exact=False).first).to_be_visible()
    with rerun(page):
        group.get_by_text("Regional Blue plan spine MRI policy", exact=False).click()
    page.wait_for_function("() => location.search.includes('policy=bcbs_style')")
    assert_no_exception(page)
