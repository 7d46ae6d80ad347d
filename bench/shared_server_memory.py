"""Shared-server memory benchmark: does the server give memory back after big and hostile
uploads' sessions end? Prints JSON. Not a test (it takes a few minutes).

1. Start the app; warm it up (explorer, Evidence on the bundled data) and measure the idle
   resident memory (RSS) of the server process.
2. Open ``--sessions`` browser sessions at once; each uploads a large request CSV
   (``--rows`` rows), validates and evaluates it under every policy, uploads a large custom
   criteria file and opens the explorer with it, and tries an XLSX decompression bomb.
3. Close them all and sample the server's RSS every 5 s until it is back within 100 MB of
   idle or ``--wait`` seconds have passed (sessions are kept for reconnect for
   ``server.disconnectedSessionTTL`` = 45 s; ui/session_reaper.py closes them after 15-25 s).

    .venv/bin/python bench/shared_server_memory.py [--sessions 3] [--rows 200000] [--wait 240]

Needs Debian's chromium (/usr/bin/chromium) and the playwright Python package. Every request
goes to 127.0.0.1 only; the run is bounded by ``--wait``.
"""

from __future__ import annotations

import argparse
import io
import json
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IDLE = ("[data-testid='stApp'][data-test-script-state='notRunning']"
        "[data-test-connection-state='CONNECTED']")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def big_csv(rows: int) -> bytes:
    base = pq.read_table(ROOT / "data" / "requests.parquet")
    reps = -(-rows // base.num_rows)
    table = pa.concat_tables([base] * reps).slice(0, rows)
    ids = pa.array([f"B{i}" for i in range(rows)])
    table = table.set_column(table.schema.get_field_index("case_id"), "case_id", ids)
    sink = io.BytesIO()
    pacsv.write_csv(table, sink)
    return sink.getvalue()


def big_policy(copies: int) -> bytes:
    """The bundled ACR file with its criteria repeated under new ids (as large as allowed)."""
    import yaml

    data = yaml.safe_load((ROOT / "criteria" / "acr.yaml").read_text(encoding="utf-8"))
    crits = data["criteria"]
    out = []
    for k in range(copies):
        for c in crits:
            out.append({**c, "id": f"{c['id']}-{k}"})
    data["criteria"] = out
    data["policy"]["id"] = "big_custom"
    data["policy"]["name"] = "Big custom policy"
    return yaml.safe_dump(data, sort_keys=False).encode()


def xlsx_bomb(expanded_mb: int = 400) -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        chunk = b"<si><t>" + b"A" * 1000 + b"</t></si>"
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as f:
            f.write(b"<sst>")
            for _ in range(expanded_mb * 1000):
                f.write(chunk)
            f.write(b"</sst>")
    return sink.getvalue()


def wait_idle(page, timeout: float = 300_000) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_timeout(200)
    page.wait_for_selector(IDLE, timeout=timeout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=3)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--policy-copies", type=int, default=8)
    parser.add_argument("--wait", type=float, default=240)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = open(ROOT / "artifacts" / "shared_server_memory.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    out: dict[str, object] = {"sessions": args.sessions, "rows_per_upload": args.rows}
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        csv_path = ROOT / "artifacts" / "shared_server_memory_big.csv"
        csv_bytes = big_csv(args.rows)
        csv_path.write_bytes(csv_bytes)  # Playwright takes > 50 MB only from a file
        policy = big_policy(args.policy_copies)
        bomb = xlsx_bomb()
        out["upload_csv_mb"] = round(len(csv_bytes) / 2**20, 1)
        out["custom_policy_kb"] = round(len(policy) / 1024, 1)
        out["xlsx_bomb_kb"] = round(len(bomb) / 1024, 1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            warm = browser.new_page()
            warm.goto(url)
            wait_idle(warm)
            warm.goto(f"{url}/evidence")
            wait_idle(warm)
            warm.context.close()
            time.sleep(5)
            idle = rss_mb(server.pid)
            out["idle_rss_mb"] = round(idle, 1)

            pages = []
            peak = idle
            for _ in range(args.sessions):
                ctx = browser.new_context(viewport={"width": 1440, "height": 1400})
                page = ctx.new_page()
                page.set_default_timeout(300_000)
                page.goto(f"{url}/upload")
                wait_idle(page)
                pages.append(page)
            t0 = time.time()
            for page in pages:  # all upload at once
                page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(
                    str(csv_path))
            for page in pages:
                page.get_by_text("Rows in = accepted + rejected", exact=False).first.wait_for()
                wait_idle(page)
                peak = max(peak, rss_mb(server.pid))
            for page in pages:
                page.get_by_role("button", name="Evaluate").first.click()
            for page in pages:
                page.get_by_text("determinations", exact=False).first.wait_for()
                wait_idle(page)
                peak = max(peak, rss_mb(server.pid))
            out["upload_validate_evaluate_s"] = round(time.time() - t0, 1)
            for page in pages:
                page.get_by_role("link", name="Criteria library").click()
                wait_idle(page)
                page.get_by_role("tab", name="Custom criteria").click()
                page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(
                    {"name": "big.yaml", "mimeType": "application/x-yaml", "buffer": policy})
                page.get_by_text("Loaded", exact=False).or_(
                    page.get_by_text("criteria", exact=False)).first.wait_for()
                wait_idle(page)
                page.get_by_role("link", name="Case explorer").click()
                wait_idle(page)
                peak = max(peak, rss_mb(server.pid))
                page.get_by_role("link", name="Upload & batch").click()
                wait_idle(page)
                page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(
                    {"name": "bomb.xlsx", "mimeType": "application/vnd.openxmlformats-"
                     "officedocument.spreadsheetml.sheet", "buffer": bomb})
                wait_idle(page)
                peak = max(peak, rss_mb(server.pid))
            out["peak_rss_mb"] = round(peak, 1)
            out["rss_with_sessions_open_mb"] = round(rss_mb(server.pid), 1)
            for page in pages:
                page.context.close()
            closed = time.time()
            timeline = []
            while time.time() - closed < args.wait:
                time.sleep(5)
                now = rss_mb(server.pid)
                timeline.append([round(time.time() - closed), round(now, 1)])
                if now - idle <= 100 and time.time() - closed > 40:
                    break
            out["rss_after_close_timeline"] = timeline
            out["final_rss_mb"] = timeline[-1][1] if timeline else None
            out["final_minus_idle_mb"] = (round(timeline[-1][1] - idle, 1) if timeline
                                          else None)
            out["seconds_to_within_100mb"] = next(
                (t for t, r in timeline if r - idle <= 100), None)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
