"""Real browser: an uploaded file never reaches the disk or the log, and hostile uploads show an
error box (never a traceback).

The app runs in its own ``streamlit run`` with a private ``TMPDIR`` / ``HOME`` and its output
(at debug log level) captured to a file. A CSV carrying a unique marker in its cells is
uploaded through the Upload page, validated and evaluated; then no file in the private temp
dir, the private home, or anything written under the project directory since the start, and
nothing in the log, contains the marker.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import _require_browser, assert_no_exception, wait_idle

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache",
             "node_modules"}


@dataclass
class PrivateApp:
    url: str
    tmp: Path
    home: Path
    log: Path
    started: float


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def private_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateApp]:
    _require_browser()
    if not (ROOT / "pages" / "upload.py").exists():
        pytest.skip("the app has no Upload page (pages/upload.py) to upload through")
    base = tmp_path_factory.mktemp("privacy")
    tmp, home, log = base / "tmp", base / "home", base / "app.log"
    tmp.mkdir()
    home.mkdir()
    port = _port()
    env = {**os.environ, "TMPDIR": str(tmp), "TMP": str(tmp), "TEMP": str(tmp),
           "HOME": str(home), "PYTHONUNBUFFERED": "1"}
    started = time.time()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
             "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--logger.level", "debug"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail(f"streamlit did not start: {log.read_text(errors='replace')[-2000:]}")
    yield PrivateApp(url, tmp, home, log, started)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture()
def upload_page(browser, private_app: PrivateApp):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{private_app.url}/upload")
    wait_idle(page)
    yield page
    context.close()


def _upload(page, name: str, data: bytes) -> None:  # type: ignore[no-untyped-def]
    page.locator("input[type='file']").first.set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}])
    page.wait_for_timeout(500)
    wait_idle(page, timeout=60_000)


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
        upload_page, private_app: PrivateApp) -> None:  # type: ignore[no-untyped-def]
    marker = f"PRIV{uuid.uuid4().hex}"
    rows = ["case_id,cpt_code,age,carrier,radiculopathy,conservative_therapy_weeks"]
    rows += [f"{marker}-{i},72148,{30 + i},{marker}-carrier,{'yes' if i % 2 else ''},{i}"
             for i in range(40)]
    rows.append(f"{marker}-bad,99999,200,{marker}-carrier,maybe,-1")  # errors quote values
    data = ("\n".join(rows) + "\n").encode()
    page = upload_page
    _upload(page, "requests.csv", data)
    assert_no_exception(page)
    page.get_by_text("Validation", exact=True).first.wait_for(state="visible")
    assert page.get_by_text("Rows in").first.is_visible()
    evaluate = page.get_by_role("button", name="Evaluate")
    if evaluate.count():
        evaluate.first.click()
        wait_idle(page, timeout=60_000)
        page.get_by_text("determinations").first.wait_for(state="visible")
        assert_no_exception(page)

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
def test_hostile_upload_shows_an_error_box(upload_page, name: str) -> None:  # type: ignore[no-untyped-def]
    page = upload_page
    _upload(page, name, HOSTILE[name])
    assert_no_exception(page)
    errors = page.locator("[data-testid='stAlertContentError']")
    errors.first.wait_for(state="visible")
    text = errors.first.inner_text()
    assert text.strip() and "Traceback" not in text
    assert page.locator("[data-testid='stException']").count() == 0

