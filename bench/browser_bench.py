"""Browser benchmark: median time from toggling a field in the explorer to the new verdict
being visible, over N toggles (target ≤ 300 ms). Prints JSON. Not a test.

    .venv/bin/python bench/browser_bench.py [--toggles 20]

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
            timings = []
            for i in range(args.toggles):
                want, choice = ("Meets criteria", "Yes") if i % 2 == 0 \
                    else ("Does not meet criteria", "No")
                t0 = time.perf_counter()
                group.get_by_text(choice, exact=True).click()
                page.wait_for_function(
                    "w => { const a = document.querySelector(\"[data-testid='stAlert']\");"
                    " return a && a.innerText.includes(w); }", arg=want, timeout=30_000)
                timings.append((time.perf_counter() - t0) * 1000)
                assert want in banner.inner_text()
                page.wait_for_selector(
                    "[data-testid='stApp'][data-test-script-state='notRunning']")
            browser.close()
    finally:
        proc.terminate()
    timings.sort()
    print(json.dumps({
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "toggles": len(timings),
        "toggle_to_verdict_ms": {"median": round(statistics.median(timings), 1),
                                 "p90": round(timings[int(0.9 * (len(timings) - 1))], 1),
                                 "max": round(timings[-1], 1)},
        "target_median_ms": 300,
    }, indent=2))


if __name__ == "__main__":
    main()
