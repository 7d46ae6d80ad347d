"""Privacy and hardening settings of the Streamlit app (.streamlit/config.toml), as written and
as Streamlit itself reads them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".streamlit" / "config.toml"


def _streamlit_says(code: str) -> object:
    """Run ``code`` in a fresh Python in the app directory (no STREAMLIT_* overrides); the
    JSON on its last output line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True, timeout=60).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_config_file_settings() -> None:
    cfg = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    assert cfg["browser"]["gatherUsageStats"] is False  # no usage statistics leave the machine
    # no tracebacks on the page: in this Streamlit `false` means "stacktrace"
    assert cfg["client"]["showErrorDetails"] == "none"
    assert cfg["server"]["enableXsrfProtection"] is True
    assert cfg["server"]["enableCORS"] is True
    upload = cfg["server"]["maxUploadSize"]  # explicit, in MB
    assert isinstance(upload, int) and 1 <= upload <= 1024
    assert cfg.get("global", {}).get("developmentMode", False) is False


def test_streamlit_reads_the_same_values() -> None:
    """Streamlit's own config loader, run from the app directory, sees these values from this
    file (not from a default or an environment override)."""
    code = (
        "import json\n"
        "from streamlit import config\n"
        "config.get_config_options()\n"
        "keys = ['browser.gatherUsageStats', 'client.showErrorDetails',\n"
        "        'server.enableXsrfProtection', 'server.enableCORS', 'server.maxUploadSize']\n"
        "print(json.dumps({k: [config.get_option(k), config._config_options[k].where_defined]\n"
        "                  for k in keys}))\n"
    )
    seen = _streamlit_says(code)
    assert seen["browser.gatherUsageStats"][0] is False
    assert seen["client.showErrorDetails"][0] == "none"
    assert seen["server.enableXsrfProtection"][0] is True
    assert seen["server.enableCORS"][0] is True
    assert seen["server.maxUploadSize"][0] >= 1
    for key, (_value, where) in seen.items():
        assert Path(where).resolve() == CONFIG.resolve(), (key, where)


def test_uncaught_errors_show_no_trace_message_or_type() -> None:
    """What the installed Streamlit does with the configured value: nothing of an uncaught
    exception (trace, message, type) reaches the page."""
    code = (
        "import json\n"
        "from streamlit import config\n"
        "from streamlit.elements import exception as ex\n"
        "config.get_config_options()\n"
        "v = ex._error_detail_visibility(True)\n"
        "print(json.dumps([v.show_message, v.show_trace, v.show_type]))\n"
    )
    assert _streamlit_says(code) == [False, False, False]
