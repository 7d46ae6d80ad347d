"""AppTest helpers."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def app(page: str | None = None, **state: object) -> AppTest:
    """Run the app (optionally switched to ``pages/<page>.py``) with seeded session state."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page:
        at.switch_page(f"pages/{page}.py").run()
    assert_healthy(at)
    return at


# How pages say that they failed (an error box instead of a traceback): a page showing one of
# these has not rendered, even though Streamlit saw no exception.
FAILURE_PREFIXES = ("Could not", "This page could not be shown", "Evaluation failed")


def assert_healthy(at: AppTest) -> None:
    """No exception element and no failure message (verdict banners may be error boxes)."""
    assert not at.exception, [e.value for e in at.exception]
    failures = [e.value for e in at.error if e.value.startswith(FAILURE_PREFIXES)]
    assert not failures, failures


def alerts(at: AppTest) -> str:
    return " ".join(e.value for e in [*at.success, *at.error, *at.warning, *at.info])


ONE_RULE_POLICY = """
policy:
  id: {pid}
  name: {name}
  kind: payer
  publisher: Test
  version: "1"
  summary: A one-rule policy uploaded by one user only.
  references:
    r1: {{text: "Test reference for isolation"}}
criteria:
  - id: only-rule
    title: {title}
    regions: [cervical, thoracic, lumbar]
    source: Test source
    when: {when}
    appropriateness: {{without: covered}}
    rationale: A rule that only this user's session may use.
    citations: [r1]
"""


def one_rule_policy(name: str, when: str, title: str | None = None, pid: str = "acr") -> str:
    """A minimal custom criteria file (YAML text) with one rule."""
    return ONE_RULE_POLICY.format(pid=pid, name=name, title=title or f"Rule of {name}",
                                  when=when)
