"""Real browser, issue 11's analyst flow: upload a messy export (Windows-1252, the export's own
headers, M/D/YYYY dates whose order no value shows, unknown sexes, "Withdrawn"), answer the
date question, fix the values on the page with the one-click mapping, save the profile, leave
the page and come back (the work is kept), reload (a new session), upload the file again with
the saved profile and see every row accounted for with the fixes applied.

Screenshots at 1400 px of each step go to artifacts/screenshots/upload-profile-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from preauth.ingest.profile import load_profile
from tests.e2e.conftest import assert_no_exception, rerun, shot, wait_idle
from tests.messy_upload import expected_counts, messy_csv

pytestmark = pytest.mark.e2e

WIDTH = 1400


def _file_input(page, label: str):  # type: ignore[no-untyped-def]
    return page.locator("[data-testid='stFileUploader']").filter(has_text=label) \
        .locator("input[type='file']")


def _metric(page, label: str):  # type: ignore[no-untyped-def]
    return page.locator("[data-testid='stMetric']").filter(has_text=label) \
        .locator("[data-testid='stMetricValue']")


def _upload_messy(page) -> None:  # type: ignore[no-untyped-def]
    with rerun(page):
        _file_input(page, "Requests file").set_input_files(
            {"name": "um_export.csv", "mimeType": "text/csv", "buffer": messy_csv()})


def _apply_in(page, expander_text: str) -> None:  # type: ignore[no-untyped-def]
    box = page.locator("[data-testid='stExpander']").filter(has_text=expander_text)
    with rerun(page):
        box.get_by_role("button", name="Apply value mapping").click()


def test_messy_export_fixed_on_the_page_then_reused_with_its_profile(
        page, app_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    counts = expected_counts()
    page.set_viewport_size({"width": WIDTH, "height": 2400})  # the whole page in each shot
    page.goto(app_url)
    wait_idle(page)
    page.goto(f"{app_url}/upload")
    wait_idle(page)
    assert_no_exception(page)

    # 1. the messy file: the date question, in plain words
    _upload_messy(page)
    expect(page.get_by_text("Is that 6 February 2024 or 2 June 2024?", exact=False)) \
        .to_be_visible()
    expect(page.get_by_text("Column mapping — 9 of 10 columns read")).to_be_visible()
    assert_no_exception(page)
    shot(page, "upload-profile-1-date-question")
    # the field dictionary beside the mapping (docs/fields.md, from the catalog)
    with rerun(page):
        page.get_by_role("button", name="Field dictionary").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Patient and history")).to_be_visible()
    expect(dialog.get_by_role("cell", name="one of F, M, other")).to_be_visible()
    shot(page, "upload-profile-1b-field-dictionary")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)

    # 2. answer it: the validation, the problems by column above the row list
    with rerun(page):
        page.get_by_role("button", name="6 February 2024 — month first (M/D/YYYY)").click()
    gender = (f"Gender: {counts['U'] + counts['Unknown']} values not recognised (read as not "
              f"documented) — U ({counts['U']}), Unknown ({counts['Unknown']}) → map them?")
    status = (f"Status: {counts['Withdrawn']} values not recognised (read as not documented)"
              f" — Withdrawn ({counts['Withdrawn']}) → map them?")
    expect(page.get_by_text(gender)).to_be_visible()
    expect(page.get_by_text(status)).to_be_visible()
    expect(_metric(page, "Warnings")).to_have_text(
        str(counts["U"] + counts["Unknown"] + counts["Withdrawn"]))
    assert_no_exception(page)
    shot(page, "upload-profile-2-problems")

    # 3. one click for the proposed mapping of unknown sexes, a choice for Withdrawn
    _apply_in(page, "Gender:")
    expect(page.get_by_text(gender)).to_have_count(0)
    box = page.locator("[data-testid='stExpander']").filter(has_text="Status:")
    choice = box.locator("[data-testid='stSelectbox']").filter(
        has_text=f"Withdrawn ({counts['Withdrawn']} rows)")
    choice.click()  # (in a form: no script run until the form's button)
    page.get_by_role("option", name="cancelled", exact=True).click()
    expect(choice.locator("input")).to_have_value("cancelled")
    _apply_in(page, "Status:")
    expect(page.get_by_text("All 24 rows are accepted.")).to_be_visible()
    expect(_metric(page, "Warnings")).to_have_text("0")
    expect(page.get_by_text("Problems by column")).to_have_count(0)
    assert_no_exception(page)
    shot(page, "upload-profile-3-fixed")

    # 4. save the profile
    with page.expect_download() as info:
        page.get_by_role("button", name="Save choices as a profile").click()
    assert info.value.suggested_filename == "um_export_profile.yaml"
    saved = tmp_path / "um_export_profile.yaml"
    info.value.save_as(saved)
    profile = load_profile(saved)
    assert profile.formats == {"request_date": "%m/%d/%Y"}
    assert profile.values == {"sex": {"U": "", "Unknown": ""},
                              "decision": {"Withdrawn": "cancelled"}}

    # 5. another page and back: the file, the fixes and the validation are kept
    with rerun(page):
        page.locator("[data-testid='stSidebarNav']").get_by_role(
            "link", name="About", exact=True).click()
    expect(page.locator("h1").first).to_have_text("About Preauth Explorer")
    with rerun(page):
        page.locator("[data-testid='stSidebarNav']").get_by_role(
            "link", name="Upload & batch", exact=True).click()
    expect(page.get_by_text("All 24 rows are accepted.")).to_be_visible()
    expect(page.get_by_text("um_export.csv", exact=False).first).to_be_visible()
    assert_no_exception(page)

    # 6. reload: a new session starts empty; the file again, then the saved profile
    with rerun(page):
        page.reload()
    expect(page.get_by_text("Choose a file to start", exact=False)).to_be_visible()
    _upload_messy(page)
    expect(page.get_by_text("Is that 6 February 2024", exact=False)).to_be_visible()
    with rerun(page):
        _file_input(page, "Mapping profile").set_input_files(str(saved))
    expect(page.get_by_text("Applied the profile um_export_profile.yaml.")).to_be_visible()
    expect(page.get_by_text("Rows in = accepted + rejected: 24 = 24 + 0")).to_be_visible()
    expect(_metric(page, "Accepted")).to_have_text("24")
    expect(_metric(page, "Warnings")).to_have_text("0")
    expect(page.get_by_text("Problems by column")).to_have_count(0)
    preview = page.locator("[data-testid='stDataFrame']").filter(has_text="Request date")
    expect(preview.first).to_be_visible()
    assert_no_exception(page)
    shot(page, "upload-profile-4-reused")
