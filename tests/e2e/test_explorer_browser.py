"""Real browser: the explorer's main flow (change a field, see the verdict change)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import assert_no_exception, rerun, shot, wait_idle

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
