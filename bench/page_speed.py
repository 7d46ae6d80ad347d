"""Browser benchmark of the speed a user feels (issue 9, item 8): prints JSON. Not a test.

Two figures, measured side by side in headless Chromium on the same machine:

* **open ratio** — a new browser session opening the explorer until its verdict banner is
  drawn, or the Evidence page until its first chart is drawn, divided by the time a bare
  Streamlit page with one radio takes until the radio is drawn (see below). Rounds
  interleave the bare page and the app's pages so load changes hit both; each ratio is the
  median of the per-round ratios (target ≤ 1.5);
* **redraw** — on the Evidence page, from the user's click or key press to the last change of
  the page that it causes (the page shows the outcome, the rerun finished and the page is
  quiet): changing a filter to values not seen before, back to ones seen, changing a widget
  inside a tab, and switching tabs. Two sessions per app, the apps in turn (A B, then B A);
  medians over both (target ≤ 500 ms on the bundled 50,000 rows; ≤ 1,500 ms on 1M uploaded
  rows with ``--upload-rows 1000000``).

Times come from the browser's own clock (``performance.now()``: from navigation start for an
open, from the input event for a redraw), so Playwright's round trips are not in them. A
redraw ends at the last change of what is drawn (changes inside a ``<canvas>``, i.e. the data
grid's hidden accessibility table, do not count).

Opens are measured twice: as a **returning browser** (a new tab — a new Streamlit session —
of a browser context that has loaded the app before, so Streamlit's JavaScript is in its HTTP
cache) and as a **first visit** (a new context: every script downloaded and compiled again;
a Plotly chart then costs the 4.7 MB Plotly bundle). Beside them, ``plotly_floor``: the bare
page plus the smallest Plotly chart — the least any page whose first chart is a Plotly chart
can take (the browser evaluates Plotly's bundle before drawing it).

Several app directories can be compared in one run (``--app old=/tmp/preauth-old --app
new=.``): each gets its own server, the rounds interleave them too.

    .venv/bin/python bench/page_speed.py [--rounds 7] [--redraws 7] [--upload-rows 0]
                                          [--app label=DIR ...] [--skip-open] [--skip-redraw]

Needs Debian's chromium (/usr/bin/chromium) and the playwright Python package.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1440, "height": 1000}
IDLE = ("[data-testid='stApp'][data-test-script-state='notRunning']"
        "[data-test-connection-state='CONNECTED']")
BARE_APP = 'import streamlit as st\n\nst.radio("Pick one", ["a", "b", "c"])\n'
# The floor of any page whose first chart is a Plotly chart: the bare page plus the smallest
# Plotly figure (reported beside the app's pages, not a target).
PLOTLY_APP = BARE_APP + ("import plotly.graph_objects as go\n\n"
                         "st.plotly_chart(go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 3, 2])))\n")

# In a new page, before anything else runs: the time (ms since navigation start) at which the
# awaited element is first drawn. ``kind`` picks the element.
_OPEN_CLOCK = """
(() => {
  const kind = %s;
  const ready = {
    bare: () => document.querySelector("[data-testid='stRadio'] input[type='radio']"),
    explorer: () => [...document.querySelectorAll("[data-testid='stAlert']")].some(
        a => /Meets criteria|Does not meet|Insufficient documentation/.test(a.innerText)),
    evidence: () => document.querySelector(
        "[data-testid='stPlotlyChart'] .js-plotly-plot .main-svg"),
  }[kind.replace('plotly_floor', 'evidence')];
  window.__open = {drawn: 0};
  const check = () => {
    if (!window.__open.drawn && ready()) window.__open.drawn = performance.now();
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true,
                                                 attributes: true, characterData: true});
})();
"""

# In the Evidence page: the time of the arming input event (capture phase, before Streamlit
# sees it) and the time of the last DOM change after it.
_REDRAW_CLOCK = """
() => {
  const r = window.__rd = {armed: false, t0: 0, last: 0};
  r.arm = () => { r.armed = true; r.t0 = 0; r.last = 0; };
  const start = () => { if (r.armed && !r.t0) { r.t0 = performance.now(); r.armed = false; } };
  document.addEventListener('click', start, true);
  document.addEventListener('keydown', start, true);
  // A canvas' children are fallback content, never drawn: the data grid rewrites its
  // accessibility table inside its canvas ~300 ms after drawing, which nobody sees.
  const drawn = m => {
    const t = m.target.nodeType === 1 ? m.target : m.target.parentElement;
    const canvas = t && t.closest('canvas');
    return !canvas || (m.type === 'attributes' && t === canvas);
  };
  new MutationObserver((muts) => {
    if (r.t0 && muts.some(drawn)) r.last = performance.now();
  }).observe(document.body, {subtree: true, childList: true, attributes: true,
                             characterData: true});
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _server(script: Path, app_dir: Path) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(app_dir)}  # the app's own package, not the venv's
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"],
        cwd=app_dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_idle(page: Any, timeout: float = 120_000) -> None:
    page.wait_for_timeout(150)
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_function("() => !document.querySelector(\"[data-testid='stSkeleton']\")",
                           timeout=timeout)


def _open_once(browser: Any, url: str, kind: str, context: Any = None) -> float:
    """ms from navigation start to the awaited element drawn, in a new session: a new tab
    of ``context`` (a browser that has been here before) or of a new context (a first
    visit: no HTTP cache)."""
    own = context is None
    if own:
        context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.add_init_script(_OPEN_CLOCK % json.dumps(kind))
        page.goto(url)
        page.wait_for_function("() => window.__open && window.__open.drawn > 0",
                               timeout=120_000, polling=50)
        return float(page.evaluate("() => window.__open.drawn"))
    finally:
        page.close()
        if own:
            context.close()


def _warm(browser: Any, url: str, paths: list[str], context: Any = None) -> None:
    """One session through the entry point and each page: the server has imported the app
    and filled its process-wide caches (as on a server other users are already on)."""
    ctx = context or browser.new_context(viewport=VIEWPORT)
    try:
        page = ctx.new_page()
        page.set_default_timeout(180_000)
        page.goto(url)
        _wait_idle(page)
        for path in paths:
            page.goto(f"{url}/{path}")
            _wait_idle(page)
            page.locator("[data-testid='stSkeleton']").first.wait_for(state="detached")
        page.close()
    finally:
        if context is None:
            ctx.close()


def _summary(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {"median": round(statistics.median(values), 1), "min": round(values[0], 1),
            "max": round(values[-1], 1), "n": len(values)}


def measure_open(browser: Any, bare_url: str, floor_url: str, apps: dict[str, str],
                 rounds: int, returning: bool) -> dict:
    """``returning``: every open is a new tab of one browser context per server that has
    loaded the pages once (HTTP cache warm); else each open is a new context."""
    contexts: dict[str, Any] = {}
    for label, url in [("bare", bare_url), ("plotly_floor", floor_url), *apps.items()]:
        ctx = browser.new_context(viewport=VIEWPORT) if returning else None
        contexts[label] = ctx
        _warm(browser, url, [] if label in ("bare", "plotly_floor")
              else ["explorer", "evidence"], ctx)
    times: dict[str, list[float]] = {"bare": []}
    ratios: dict[str, list[float]] = {}

    def record(label: str, t: float) -> None:
        times.setdefault(label, []).append(t)

    try:
        for r in range(rounds):
            order = list(apps.items()) if r % 2 == 0 else list(apps.items())[::-1]
            bare = [_open_once(browser, bare_url, "bare", contexts["bare"])]
            record("plotly_floor", _open_once(browser, floor_url, "plotly_floor",
                                              contexts["plotly_floor"]))
            for label, url in order:
                for kind in ("explorer", "evidence"):
                    record(f"{label}:{kind}", _open_once(browser, f"{url}/{kind}", kind,
                                                         contexts[label]))
            bare.append(_open_once(browser, bare_url, "bare", contexts["bare"]))
            b = statistics.mean(bare)
            times["bare"] += bare
            for key in ["plotly_floor"] + [f"{label}:{kind}" for label in apps
                                           for kind in ("explorer", "evidence")]:
                ratios.setdefault(key, []).append(times[key][-1] / b)
    finally:
        for ctx in contexts.values():
            if ctx is not None:
                ctx.close()
    return {
        "ms": {k: _summary(v) for k, v in times.items()},
        "ratio_to_bare": {k: {"median": round(statistics.median(v), 2),
                              "min": round(min(v), 2), "max": round(max(v), 2)}
                          for k, v in ratios.items()},
        "target_ratio": 1.5,
    }


def _redraw(page: Any, action: Any, done: str) -> float:
    """ms from the arming input event to the last DOM change it caused. ``done`` is a
    JavaScript predicate that holds once the page shows the outcome of the action (the
    script's state is no proof: a fast fragment rerun may never show as "running")."""
    # nothing focused or open from the previous step (an open list would take the click)
    page.keyboard.press("Escape")
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.wait_for_timeout(100)
    page.evaluate("() => window.__rd.arm()")
    action()
    # the pointer out of the way at once: a tooltip appearing a second later under a pointer
    # left where the page was redrawn is not part of the redraw
    page.mouse.move(20, VIEWPORT["height"] - 10)
    page.wait_for_function(done, timeout=120_000, polling=20)
    page.wait_for_selector(IDLE, timeout=120_000)
    deadline = time.time() + 120
    quiet_since, last = time.time(), None
    while time.time() < deadline:  # then nothing changed for 600 ms
        now_last = page.evaluate("() => window.__rd.last")
        if now_last != last:
            last, quiet_since = now_last, time.time()
        elif time.time() - quiet_since > 0.6:
            break
        page.wait_for_timeout(50)
    t0 = page.evaluate("() => window.__rd.t0")
    if not t0 or not last:
        raise RuntimeError("the input event or its redraw was not seen")
    return float(last - t0)


_REQUESTS = "document.querySelector(\"[data-testid='stMetricValue']\")"


def _requests_changed(page: Any) -> str:
    """Done when the Requests tile shows another count than now."""
    before = page.locator("[data-testid='stMetricValue']").first.inner_text()
    return f"() => {_REQUESTS} && {_REQUESTS}.innerText !== {json.dumps(before)}"


def _cleared(label: str) -> str:
    """Done when the multiselect ``label`` shows no choice (the redraw then ends when the
    page is quiet: when every carrier was chosen, clearing them changes no figure)."""
    return ("() => { const m = [...document.querySelectorAll(\"[data-testid='stMultiSelect']\")]"
            f".find(m => m.innerText.includes({json.dumps(label)}));"
            " return !!m && !m.querySelector('[data-tag]'); }")


def _formula_is(outcome: str) -> str:
    """Done when the odds-ratio caption shows the model of ``outcome``."""
    return ("() => [...document.querySelectorAll(\"[data-testid='stCaptionContainer']\")]"
            f".some(c => c.innerText.startsWith({json.dumps(outcome + ' ~')}))")


def _tab_drawn(name: str) -> str:
    """Done when the tab ``name`` is selected and its panel has a drawn chart."""
    return ("() => { const t = [...document.querySelectorAll('[role=tab]')]"
            f".find(t => t.innerText.trim() === {json.dumps(name)});"
            " if (!t || t.getAttribute('aria-selected') !== 'true') return false;"
            " const p = document.getElementById(t.getAttribute('aria-controls'));"
            " return !!(p && p.querySelector('.js-plotly-plot .main-svg')); }")


def _multiselect(page: Any, label: str) -> Any:
    return page.locator("[data-testid='stMultiSelect']").filter(has_text=label)


def _pick(page: Any, label: str, option: str) -> None:
    box = _multiselect(page, label)
    box.locator("input").click()
    box.locator("input").fill(option)
    page.get_by_role("option", name=option, exact=True).wait_for()
    page.evaluate("() => window.__rd.arm()")
    box.locator("input").press("Enter")
    page.keyboard.press("Escape")


def _clear(page: Any, label: str) -> None:
    page.evaluate("() => window.__rd.arm()")
    _multiselect(page, label).get_by_role("button", name="Clear all").click()


def measure_redraw(browser: Any, url: str, redraws: int, upload: Path | None = None,
                   regions: tuple[str, str] = ("cervical", "thoracic")) -> dict:
    """One session's redraw times (lists of ms, and the upload's seconds). ``regions``: the
    two regions picked first (another pair gives filter settings not seen before)."""
    context = browser.new_context(viewport=VIEWPORT)
    out: dict[str, Any] = {}
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        _wait_idle(page)
        if upload is not None:
            page.goto(f"{url}/upload")
            _wait_idle(page)
            t = time.perf_counter()
            page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(
                str(upload))
            page.get_by_text("Rows in = accepted + rejected").first.wait_for(timeout=900_000)
            _wait_idle(page, 900_000)
            out["upload_and_validate_s"] = round(time.perf_counter() - t, 1)
            t = time.perf_counter()
            page.get_by_role("button", name="Analyse these requests on the Evidence page") \
                .click()
            page.wait_for_url("**/evidence**")
            page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=900_000)
            _wait_idle(page, 900_000)
            out["first_analysis_s"] = round(time.perf_counter() - t, 1)
        else:
            page.goto(f"{url}/evidence")
            page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=300_000)
            _wait_idle(page, 300_000)
        page.evaluate(_REDRAW_CLOCK)
        # filters set to values not seen before in this server: nothing cached for them
        box = _multiselect(page, "Carriers")
        box.locator("input").click()
        page.get_by_role("option").first.wait_for()
        carriers = [o.strip() for o in page.get_by_role("option").all_inner_texts()
                    if o.strip() and o.strip() != "Select all"][:5]
        page.keyboard.press("Escape")
        _wait_idle(page)
        # (two of the three regions: all three would select every request, as no region)
        steps = [("Regions", r) for r in regions] + \
                [("Carriers", c) for c in carriers]
        filt: list[float] = []
        for i in range(min(redraws, len(steps))):
            label, option = steps[i]
            filt.append(_redraw(page, lambda label=label, option=option:
                                _pick(page, label, option), _requests_changed(page)))
        filt_back: list[float] = []  # back to filters seen before (cached)
        used = list(dict.fromkeys(label for label, _ in steps[:len(filt)]))
        for label in reversed(used):
            filt_back.append(_redraw(page, lambda label=label: _clear(page, label),
                                     _cleared(label)))
        out["filter_new_ms"] = filt
        out["filter_seen_ms"] = filt_back
        # a widget inside a tab: the model's outcome (odds ratios tab)
        widget: list[float] = []
        outcome = page.locator("[data-testid='stRadio']").filter(has_text="Outcome")
        choices = [("Odds of an initial denial", "denied"),
                   ("Odds of requiring preauthorization", "preauth_required")]
        for i in range(redraws):
            text, model = choices[i % 2]
            option = outcome.get_by_text(text, exact=False)
            widget.append(_redraw(page, option.click, _formula_is(model)))
        out["tab_widget_ms"] = widget
        # switching tabs (a chart in each)
        tabs: list[float] = []
        names = ["Carrier × region", "Over time", "By group", "Concordance", "Odds ratios"]
        for i in range(max(redraws, len(names))):
            tab = page.get_by_role("tab", name=names[i % len(names)])
            tabs.append(_redraw(page, tab.click, _tab_drawn(names[i % len(names)])))
        out["tab_switch_ms"] = tabs
    finally:
        context.close()
    return out


def _redraws(browser: Any, urls: dict[str, str], redraws: int, upload: Path | None) -> dict:
    """Each app's redraws in two sessions, in the order A B then B A (so a change of load
    during the run hits every app alike), the second with other regions (so its "new"
    filters are new to the server too); medians over both."""
    order = list(urls.items())
    runs: dict[str, list[dict]] = {label: [] for label in urls}
    for regions, apps in ((("cervical", "thoracic"), order),
                          (("lumbar", "thoracic"), order[::-1])):
        for label, url in apps:
            runs[label].append(_section(lambda url=url, regions=regions: measure_redraw(
                browser, url, redraws, upload, regions)))
    out: dict[str, Any] = {}
    for label, sessions in runs.items():
        ok = [r for r in sessions if "failed" not in r]
        figures: dict[str, Any] = {k: _summary([v for r in ok for v in r[k]])
                                   for k in ("filter_new_ms", "filter_seen_ms",
                                             "tab_widget_ms", "tab_switch_ms")} if ok else {}
        for k in ("upload_and_validate_s", "first_analysis_s"):
            if any(k in r for r in ok):
                figures[k] = [r[k] for r in ok if k in r]
        figures.update(failed=[r["failed"] for r in sessions if "failed" in r] or None,
                       target_ms=500 if upload is None else 1500)
        out[label] = figures
    return out


def _upload_file(rows: int, folder: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    import pyarrow.parquet as pq

    from preauth.synthetic.generator import synthesize

    path = folder / f"requests_{rows}.parquet"
    if not path.exists():
        pq.write_table(synthesize(rows, seed=11), path)
    return path


def _section(measure: Any) -> Any:
    """A section's figures, or why it failed (the other sections still report); progress on
    stderr."""
    t0 = time.perf_counter()
    try:
        out = measure()
    except Exception as err:  # a benchmark reports, it does not stop at the first failure
        out = {"failed": f"{type(err).__name__}: {str(err)[:500]}"}
    print(json.dumps(out), f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--redraws", type=int, default=7)
    parser.add_argument("--upload-rows", type=int, default=0,
                        help="also measure redraws on an uploaded file of this many rows")
    parser.add_argument("--app", action="append", default=[],
                        help="label=DIR of an app to measure (default: this checkout)")
    parser.add_argument("--skip-open", action="store_true")
    parser.add_argument("--skip-redraw", action="store_true")
    args = parser.parse_args()
    apps = {}
    for spec in args.app or [f"this={ROOT}"]:
        label, _, folder = spec.partition("=")
        apps[label] = Path(folder).resolve()
    from playwright.sync_api import sync_playwright

    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
        "apps": {k: str(v) for k, v in apps.items()}}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        bare = Path(tmp) / "bare_app.py"
        bare.write_text(BARE_APP, encoding="utf-8")
        upload = _upload_file(args.upload_rows, Path(tmp)) if args.upload_rows else None
        floor = Path(tmp) / "plotly_floor_app.py"
        floor.write_text(PLOTLY_APP, encoding="utf-8")
        bare_url = stack.enter_context(_server(bare, Path(tmp)))
        floor_url = stack.enter_context(_server(floor, Path(tmp)))
        urls = {label: stack.enter_context(_server(folder / "app.py", folder))
                for label, folder in apps.items()}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            if not args.skip_open:
                result["open_returning_browser"] = _section(lambda: measure_open(
                    browser, bare_url, floor_url, urls, args.rounds, returning=True))
                result["open_first_visit"] = _section(lambda: measure_open(
                    browser, bare_url, floor_url, urls, args.rounds, returning=False))
            if not args.skip_redraw:
                result["redraw_bundled"] = _redraws(browser, urls, args.redraws, None)
                if upload is not None:
                    result[f"redraw_uploaded_{args.upload_rows}"] = _redraws(
                        browser, urls, args.redraws, upload)
            browser.close()
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
