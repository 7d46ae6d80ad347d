"""Real browser: upload a CSV → validate → evaluate → download; the Evidence page on the
bundled data and on the upload (screenshots under artifacts/screenshots/)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.e2e.conftest import assert_no_exception, rerun, shot, wait_idle

pytestmark = pytest.mark.e2e

UPLOAD = ("case_id,request_date,carrier,cpt_code,age,symptom_weeks,conservative_therapy_weeks,"
          "radiculopathy,neuro_deficit,cauda_equina_signs,surgical_candidate,preauth_required,"
          "decision\n"
          "U1,2024-01-10,Acme,72148,45,10,8,yes,no,no,yes,yes,approved\n"
          "U2,2024-01-12,Acme,72141,52,3,1,no,no,no,no,yes,denied\n"
          "U3,2024-02-02,Beta,72148,38,12,7,yes,yes,,yes,yes,denied\n"
          "U4,2024-02-20,Beta,72158,71,2,0,no,no,yes,no,no,\n"
          "U5,2024-03-05,Beta,72148,abc,5,2,maybe,no,no,no,yes,approved\n")


def _open(page, app_url: str, path: str) -> None:  # type: ignore[no-untyped-def]
    # Enter through the app's entry point first: on a fresh server a deep link would be run
    # as a legacy pages/ script (no st.navigation, no page config) until app.py has run once.
    page.goto(app_url)
    wait_idle(page)
    page.goto(f"{app_url}/{path}")
    wait_idle(page)
    assert_no_exception(page)


def _wait_text(page, text: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    expect(page.get_by_text(text, exact=False).first).to_be_visible()
    wait_idle(page)


def test_upload_validate_evaluate_download(page, app_url) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1440, "height": 2400})  # the whole page in each shot
    from playwright.sync_api import expect

    _open(page, app_url, "upload")
    with rerun(page):
        page.locator("[data-testid='stFileUploader']").filter(has_text="Requests file") \
            .locator("input[type='file']").set_input_files(
            {"name": "requests.csv", "mimeType": "text/csv", "buffer": UPLOAD.encode()})
    _wait_text(page, "Rows in = accepted + rejected: 5 = 4 + 1")
    assert_no_exception(page)
    metrics = page.locator("[data-testid='stMetric']")
    expect(metrics.nth(2)).to_contain_text("Rejected")
    assert metrics.nth(2).locator("[data-testid='stMetricValue']").inner_text() == "1"
    shot(page, "upload-validated")

    with rerun(page):
        page.get_by_role("button", name="Evaluate 4 requests × 4 policies").click()
    _wait_text(page, "16 determinations")
    assert_no_exception(page)
    shot(page, "upload-evaluated")

    with page.expect_download() as info:
        page.get_by_role("button", name="Download results (CSV)").click()
    download = info.value
    assert download.suggested_filename == "requests_determinations.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert len(rows) == 16
    assert {"case_id", "policy", "verdict", "fired", "would_flip"} <= set(rows[0])
    assert {r["case_id"] for r in rows} == {"U1", "U2", "U3", "U4"}

    with page.expect_download() as info:
        page.get_by_role("button", name="Download all 2 errors (CSV)").click()
    assert "U5" in Path(info.value.path()).read_text(encoding="utf-8")

    with rerun(page):
        page.get_by_role("button", name="Analyse these requests on the Evidence page").click()
    page.wait_for_url("**/evidence**")
    _wait_text(page, "Uploaded: requests.csv (4 requests)")
    _wait_text(page, "P2P overturned")  # the KPI tiles of the uploaded data
    assert_no_exception(page)
    tiles = page.locator("[data-testid='stMetric']")
    expect(tiles.first).to_contain_text("Requests")
    expect(tiles.first.locator("[data-testid='stMetricValue']")).to_have_text("4")
    shot(page, "evidence-uploaded")


def test_evidence_page_on_bundled_data(page, app_url) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1440, "height": 2600})  # the whole page in each shot
    from playwright.sync_api import expect

    _open(page, app_url, "evidence")
    panel = page.get_by_role("tabpanel")  # the tab shown (the others are hidden)
    expect(panel.locator(".js-plotly-plot .main-svg").first).to_be_visible()
    shot(page, "evidence-odds-ratios")
    for tab, name in (("Carrier × region", "evidence-heatmap"), ("Over time", "evidence-time"),
                      ("By group", "evidence-by-group"), ("Concordance", "evidence-concordance")):
        page.get_by_role("tab", name=tab).click()  # tabs switch in the browser: no script run
        expect(page.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")
        expect(panel.locator(".js-plotly-plot .main-svg").first).to_be_visible()  # drawn
        wait_idle(page)
        assert_no_exception(page)
        shot(page, name)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download all").first.click()
    assert info.value.suggested_filename.endswith("_acr.csv")
    with rerun(page):
        page.get_by_role("button", name="Open in explorer").click()
    page.wait_for_url("**case_id=SYN-7-*")  # the explorer (default page) shows the case
    expect(page.locator("h1").first).to_have_text("Case explorer")
    wait_idle(page)
    assert_no_exception(page)
    shot(page, "explorer-from-evidence")
