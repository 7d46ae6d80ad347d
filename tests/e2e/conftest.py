"""Real-browser fixtures: Debian Chromium driven by Playwright (never `playwright install`).

The app runs with ``streamlit run app.py`` on a free port. Outside CI the tests skip with a
clear reason when Chromium is absent; under CI (``CI=true``) a missing browser is a failure.
Screenshots go to ``artifacts/screenshots/`` (git-ignored).

No test waits a fixed time. A test waits for what it is about to assert (Playwright's
``expect``, which retries until its timeout) or for the app's script to have run:
:func:`wait_idle` after opening a page, ``with rerun(page): <interaction>`` around an
interaction that makes Streamlit run the script again (it waits for that run to end, as
Streamlit's own messages to the page tell, see :data:`RUN_COUNTER`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
LOGS = ROOT / "artifacts" / "logs"  # each test server's output (tracebacks land here)
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 60_000  # a busy 2-core machine: generous, but a wait never passes by timing out
START_TIMEOUT_S = 60


def _require_browser() -> None:
    missing = []
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        missing.append(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package is not installed")
    if missing:
        reason = "; ".join(missing)
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)


try:  # expect() retries its assertion up to this long (its default, 5 s, is short here)
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
except ImportError:  # the tests skip (or fail in CI) in _require_browser
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A ``streamlit run app.py`` of the test's own; its output is copied to ``log``."""

    url: str
    log: Path
    proc: subprocess.Popen[bytes]
    _copier: threading.Thread = field(repr=False)

    def stop(self) -> None:
        """Stop the server and wait until all of its output is in ``log``."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._copier.join(timeout=10)


def start_server(log: Path | None = None, env: dict[str, str] | None = None,
                 args: tuple[str, ...] = ()) -> Server:
    """Start the app on a free port and return once it serves. Readiness is the server's own
    "URL: http://127.0.0.1:PORT" line (read from its output as it is written), then one
    health check; no polling loop. The output goes to ``log`` (by default
    ``artifacts/logs/streamlit-PORT.log``)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = log or LOGS / f"streamlit-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--logger.hideWelcomeMessage", "false", *args],
        cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ready, serving = threading.Event(), threading.Event()
    needle = url.encode()

    def copy(out: IO[bytes]) -> None:  # the pipe is always drained (a full pipe blocks it)
        with log.open("wb") as fh:
            for line in iter(out.readline, b""):
                fh.write(line)
                fh.flush()
                if needle in line:
                    serving.set()
                    ready.set()
        ready.set()  # the server's output ended: stop waiting

    assert proc.stdout is not None
    copier = threading.Thread(target=copy, args=(proc.stdout,), daemon=True)
    copier.start()
    server = Server(url, log, proc, copier)
    ready.wait(START_TIMEOUT_S)
    if not serving.is_set() or proc.poll() is not None:
        server.stop()
        out = log.read_text(encoding="utf-8", errors="replace")
        pytest.fail(f"streamlit did not start on {url}:\n{out[-2000:]}")
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=30) as r:
        assert r.status == 200, f"{url}/_stcore/health answered {r.status}"
    return server


def _serve() -> Iterator[str]:
    _require_browser()
    server = start_server()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    yield from _serve()


@pytest.fixture()
def fresh_app_url() -> Iterator[str]:
    """A server of its own, whose first request is the test's."""
    yield from _serve()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield b
        b.close()


# Follows the app's script runs in the page from Streamlit's own messages: every run (a full
# run or a fragment's) starts with a ForwardMsg ``new_session`` (field 4) and ends with a
# ``script_finished`` (field 6, a status; 2 = FINISHED_EARLY_FOR_RERUN: another run follows).
# The page's WebSocket is wrapped to read the top-level field numbers of each binary message.
# The root element's data-test-script-state alone is not enough: a short run can go from
# "notRunning" to "running" and back within one render, leaving no trace in the page.
RUN_COUNTER = r"""(() => {
  const runs = window.__streamlitRuns = {started: 0, ended: 0, finished: 0, last: -1,
                                         document: Math.random()};
  const varint = (b, i) => {
    let v = 0, shift = 0, x;
    do { x = b[i++]; v += (x & 0x7f) * 2 ** shift; shift += 7; } while (x & 0x80);
    return [v, i];
  };
  const read = (buffer) => {
    const b = new Uint8Array(buffer);
    let i = 0;
    while (i < b.length) {
      let tag, n;
      [tag, i] = varint(b, i);
      const field = Math.floor(tag / 8), wire = tag & 7;
      if (wire === 0) {
        [n, i] = varint(b, i);
        if (field === 6) { runs.ended += 1; runs.last = n; if (n !== 2) runs.finished += 1; }
      } else if (wire === 2) {
        [n, i] = varint(b, i);
        if (field === 4) runs.started += 1;
        i += n;
      } else if (wire === 1) { i += 8; } else if (wire === 5) { i += 4; } else { return; }
    }
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", e => { if (e.data instanceof ArrayBuffer) read(e.data); });
    }
  };
})();"""


def new_page(browser: Any, width: int = 1440, height: int = 1000) -> tuple[Any, Any]:
    """A fresh browser context (its own Streamlit session) and a page with the run counter."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script(RUN_COUNTER)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return context, page


@pytest.fixture()
def page(browser, app_url):  # type: ignore[no-untyped-def]
    context, pg = new_page(browser)
    yield pg
    context.close()


# Idle: every run that started has ended and the last did not hand over to another one, the
# root element says connected and not running, no widget is still a lazy-loading placeholder
# and no element is left stale from before the run.
IDLE = """() => {
  const r = window.__streamlitRuns;
  const app = document.querySelector("[data-testid='stApp']");
  const idle = r && r.finished > 0 && r.started === r.ended && r.last !== 2 && app
    && app.getAttribute("data-test-script-state") === "notRunning"
    && app.getAttribute("data-test-connection-state") === "CONNECTED"
    && !document.querySelector("[data-testid='stSkeleton']")
    && !document.querySelector("[data-stale='true']");
  return idle ? r.finished : 0;
}"""
# Two animation frames: whatever the last messages scheduled has been rendered and painted.
TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def wait_idle(page, timeout: float = TIMEOUT_MS) -> int:  # type: ignore[no-untyped-def]
    """Wait until the app's script has run and its output is drawn (see :data:`IDLE`); returns
    how many runs have finished in this page. Call it after ``page.goto`` or after seeing an
    effect of an interaction; around an interaction use :func:`rerun`."""
    finished = int(page.wait_for_function(IDLE, timeout=timeout).json_value())
    page.evaluate(TWO_FRAMES)
    return finished


def script_runs(page) -> int:  # type: ignore[no-untyped-def]
    """How many script runs have finished in this page (runs handed over to a rerun aside)."""
    return int(page.evaluate("window.__streamlitRuns?.finished ?? 0"))


@contextmanager
def rerun(page, timeout: float = TIMEOUT_MS) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """``with rerun(page): <interaction>`` — the app is idle before the interaction; after
    it, wait until a run that started after it has finished and the app is idle again.

    The count is read when no run is under way, so the run that finishes next is the
    interaction's (or a later one). If the interaction loads a new document (a link, a
    reload), the first run of that document counts. A page may run again by itself
    afterwards (``st.rerun``, a page switch): what the test asserts next still goes through
    ``expect``."""
    before = wait_idle(page, timeout)
    document = page.evaluate("window.__streamlitRuns.document")
    yield
    page.wait_for_function(
        f"""() => {{
          const finished = ({IDLE})();
          const same = window.__streamlitRuns?.document === {document};
          return same ? finished > {before} : finished > 0;
        }}""", timeout=timeout)
    page.evaluate(TWO_FRAMES)


def shot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


PAGE_FAILED = "This page could not be shown"  # app.py's last-resort message


def assert_no_exception(page) -> None:  # type: ignore[no-untyped-def]
    assert page.locator("[data-testid='stException']").count() == 0, "the page shows an exception"
    assert page.get_by_text(PAGE_FAILED).count() == 0, (
        "the page failed (app.py's guard caught an exception; see artifacts/logs/)")
