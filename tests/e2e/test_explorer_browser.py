"""Real browser: the explorer's main flow (change a field, see the verdict change)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import assert_no_exception, shot, wait_idle

pytestmark = pytest.mark.e2e


def _banner(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator("[data-testid='stAlert']").first.inner_text()


def test_toggle_cauda_equina_changes_verdict(page, app_url) -> None:  # type: ignore[no-untyped-def]
    page.goto(app_url)
    wait_idle(page)
    assert_no_exception(page)
    assert "Does not meet criteria" in _banner(page)
    shot(page, "explorer-default")
    group = page.locator("[data-testid='stRadio']").filter(has_text="Cauda equina signs")
    group.get_by_text("Yes", exact=True).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll(\"[data-testid='stAlert']\")]"
        ".some(e => e.innerText.includes('Meets criteria'))")
    wait_idle(page)
    assert "Meets criteria" in _banner(page)
    assert_no_exception(page)
    shot(page, "explorer-cauda-equina")


def test_explain_under_another_policy(page, app_url) -> None:  # type: ignore[no-untyped-def]
    """The explanation is a fragment: switching the policy reruns only it, and it shows that
    policy's reasons (the form keeps its values)."""
    page.goto(app_url)
    wait_idle(page)
    group = page.locator("[data-testid='stRadio']").filter(has_text="Explain under")
    group.get_by_text("RBM spine imaging policy (eviCore-style)", exact=True).click()
    page.get_by_text("Does not meet criteria under RBM spine imaging policy",
                     exact=False).first.wait_for()
    wait_idle(page)
    assert_no_exception(page)
    assert "Does not meet criteria" in _banner(page)
    # a form change still reaches the explanation under the chosen policy
    flags = page.locator("[data-testid='stRadio']").filter(has_text="Cauda equina signs")
    flags.get_by_text("Yes", exact=True).click()
    page.get_by_text("Meets criteria under RBM spine imaging policy", exact=False).first.wait_for()
    wait_idle(page)
    assert "Meets criteria" in _banner(page)
    shot(page, "explorer-explain-evicore")
