"""Real browser: an uploaded file never reaches the disk or the log, and hostile uploads show an
error box (never a traceback).

The app runs in its own ``streamlit run`` with a private ``TMPDIR`` / ``HOME`` and its output
(at debug log level) captured to a file. A CSV carrying a unique marker in its cells is
uploaded through the Upload page, validated and evaluated; then no file in the private temp
dir, the private home, or anything written under the project directory since the start, and
nothing in the log, contains the marker.
"""

from __future__ import annotations

import csv
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    Server,
    _require_browser,
    assert_no_exception,
    new_page,
    rerun,
    start_server,
    wait_idle,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache",
             "node_modules"}


@dataclass
class PrivateApp:
    server: Server
    tmp: Path
    home: Path
    started: float

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def log(self) -> Path:
        return self.server.log


def _private_app(base: Path) -> PrivateApp:
    """The app with a private TMPDIR / HOME, its whole output (debug level) in ``base``."""
    _require_browser()
    # The Upload page is what this module tests: without it the test fails, it does not skip.
    assert (ROOT / "pages" / "upload.py").exists(), "the app has no Upload page (pages/upload.py)"
    tmp, home = base / "tmp", base / "home"
    tmp.mkdir()
    home.mkdir()
    started = time.time()
    server = start_server(
        base / "app.log",
        env={"TMPDIR": str(tmp), "TMP": str(tmp), "TEMP": str(tmp), "HOME": str(home)},
        args=("--logger.level", "debug"))
    return PrivateApp(server, tmp, home, started)


@pytest.fixture()
def private_app(tmp_path: Path) -> Iterator[PrivateApp]:
    """A server of the test's own: the test stops it before reading its log, so the log is
    complete (a session's teardown included)."""
    app = _private_app(tmp_path)
    try:
        yield app
    finally:
        app.server.stop()


@pytest.fixture(scope="module")
def shared_private_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateApp]:
    app = _private_app(tmp_path_factory.mktemp("privacy"))
    try:
        yield app
    finally:
        app.server.stop()


def _upload_page(browser, app: PrivateApp):  # type: ignore[no-untyped-def]
    context, page = new_page(browser)
    page.goto(f"{app.url}/upload")
    wait_idle(page)
    assert_no_exception(page)
    return context, page


def _upload(page, name: str, data: bytes) -> None:  # type: ignore[no-untyped-def]
    with rerun(page):
        page.locator("input[type='file']").first.set_input_files(
            files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}])


def _files_written(roots: list[Path], since: float) -> Iterator[Path]:
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
            for name in filenames:
                path = Path(dirpath) / name
                try:
                    st = path.stat()
                except OSError:
                    continue
                if st.st_mtime >= since - 1 and st.st_size < 200_000_000:
                    yield path


def test_uploaded_content_never_lands_on_disk_or_in_the_log(
        browser, private_app: PrivateApp) -> None:  # type: ignore[no-untyped-def]
    """Upload, validate and evaluate (always: the evaluation is half of what is checked), and
    download the results; then nothing on disk and nothing in the server's log holds the
    upload's marker, although the page and the download did."""
    from playwright.sync_api import expect

    marker = f"PRIV{uuid.uuid4().hex}"
    rows = ["case_id,cpt_code,age,carrier,radiculopathy,conservative_therapy_weeks"]
    rows += [f"{marker}-{i},72148,{30 + i},{marker}-carrier,{'yes' if i % 2 else ''},{i}"
             for i in range(40)]
    rows.append(f"{marker}-bad,99999,200,{marker}-carrier,maybe,-1")  # errors quote values
    data = ("\n".join(rows) + "\n").encode()
    context, page = _upload_page(browser, private_app)
    try:
        _upload(page, "requests.csv", data)
        expect(page.get_by_text("Rows in = accepted + rejected: 41 = 40 + 1")).to_be_visible()
        assert_no_exception(page)
        with rerun(page):
            page.get_by_role("button", name="Evaluate 40 requests × 4 policies").click()
        expect(page.get_by_text("160 determinations").first).to_be_visible()
        assert_no_exception(page)
        with page.expect_download() as info:
            page.get_by_role("button", name="Download results (CSV)").click()
        with open(info.value.path(), encoding="utf-8", newline="") as fh:
            results = list(csv.DictReader(fh))
        # the content went through the server: every accepted row under every policy
        assert len(results) == 160
        assert {r["case_id"] for r in results} == {f"{marker}-{i}" for i in range(40)}
    finally:
        context.close()
    private_app.server.stop()  # its log is complete

    needle = marker.encode()
    leaked = []
    for path in _files_written([private_app.tmp, private_app.home, ROOT],
                               private_app.started):
        if path == private_app.log:
            continue
        try:
            if needle in path.read_bytes():
                leaked.append(str(path))
        except OSError:
            continue
    assert not leaked, f"uploaded content written to disk: {leaked}"
    log = private_app.log.read_bytes()
    assert log.count(b"\n") > 5  # the (debug-level) log was captured
    assert needle not in log, "uploaded content in the app's log"


HOSTILE = {
    "empty.csv": b"",
    "garbage.csv": bytes(range(256)) * 8,
    "no_case_id.csv": b"foo,bar\n1,2\n",
    "header_only.csv": b"case_id,cpt_code\n",
    "wide.csv": (",".join(["case_id", "cpt_code", *(f"x{i}" for i in range(9998))])
                 + "\n" + ",".join(["A", "72148", *["1"] * 9998]) + "\n").encode(),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_upload_shows_an_error_box(browser, shared_private_app: PrivateApp,  # type: ignore[no-untyped-def]
                                           name: str) -> None:
    from playwright.sync_api import expect

    context, page = _upload_page(browser, shared_private_app)
    try:
        _upload(page, name, HOSTILE[name])
        errors = page.locator("[data-testid='stAlertContentError']")
        expect(errors.first).to_be_visible()
        assert_no_exception(page)
        text = errors.first.inner_text()
        assert text.strip() and "Traceback" not in text
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        context.close()

