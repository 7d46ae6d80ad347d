"""Browser benchmark: median time from toggling a field in the explorer to the new verdict
being visible, over N toggles (target ≤ 300 ms). Prints JSON. Not a test.

Two clocks: ``in_page`` runs in the browser, from the click event on the radio button to the
DOM mutation that puts the new verdict in the banner (what a user waits for); ``with_harness``
is measured in Python around Playwright's click (adds Playwright's actionability checks and
round trips to the browser, ~100-200 ms on a 2-core machine).

    .venv/bin/python bench/browser_bench.py [--toggles 20]

Page opens against a bare Streamlit page and the Evidence page's redraws:
``bench/page_speed.py``.

Needs Debian's chromium (/usr/bin/chromium) and the playwright Python package.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--toggles", type=int, default=20)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
                             "--server.headless", "true", "--server.port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.25)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(url)
            page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']")
            group = page.locator("[data-testid='stRadio']").filter(has_text="Cauda equina signs")
            banner = page.locator("[data-testid='stAlert']").first
            page.evaluate(_IN_PAGE_CLOCK)
            timings, in_page = [], []
            for i in range(args.toggles):
                want, choice = ("Meets criteria", "Yes") if i % 2 == 0 \
                    else ("Does not meet criteria", "No")
                page.evaluate("w => window.__bench.arm(w)", want)
                t0 = time.perf_counter()
                group.get_by_text(choice, exact=True).click()
                page.wait_for_function(
                    "w => { const a = document.querySelector(\"[data-testid='stAlert']\");"
                    " return a && a.innerText.includes(w); }", arg=want, timeout=30_000)
                timings.append((time.perf_counter() - t0) * 1000)
                in_page.append(page.evaluate("() => window.__bench.shown - window.__bench.clicked"))
                assert want in banner.inner_text()
                page.wait_for_selector(
                    "[data-testid='stApp'][data-test-script-state='notRunning']")
            browser.close()
    finally:
        proc.terminate()
    def summary(values: list[float]) -> dict[str, float]:
        values = sorted(values)
        return {"median": round(statistics.median(values), 1),
                "p90": round(values[int(0.9 * (len(values) - 1))], 1),
                "max": round(values[-1], 1)}

    print(json.dumps({
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
        "toggles": len(timings),
        "toggle_to_verdict_ms": {"in_page": summary(in_page),
                                 "with_harness": summary(timings)},
        "target_median_ms": 300,
    }, indent=2))


# In the page: the time of the click on the radio (capture phase, before Streamlit sees it)
# and of the first DOM change after it that shows the wanted verdict in the banner.
_IN_PAGE_CLOCK = """
() => {
  const b = window.__bench = {want: null, clicked: 0, shown: 0};
  b.arm = w => { b.want = w; b.clicked = 0; b.shown = 0; };
  document.addEventListener('click', () => { if (!b.clicked) b.clicked = performance.now(); },
                            true);
  new MutationObserver(() => {
    if (!b.clicked || b.shown) return;
    const a = document.querySelector("[data-testid='stAlert']");
    if (a && a.innerText.includes(b.want)) b.shown = performance.now();
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""


if __name__ == "__main__":
    main()
