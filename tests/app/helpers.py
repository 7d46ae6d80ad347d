"""AppTest helpers."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def app(page: str | None = None, **state: object) -> AppTest:
    """Run the app (optionally switched to ``pages/<page>.py``) with seeded session state;
    each run must be healthy (:func:`assert_healthy`)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert_healthy(at)
    if page:
        at.switch_page(f"pages/{page}.py").run()
        assert_healthy(at)
    return at


# The one error box a healthy page shows: the explorer's verdict banner for a case that does
# not meet a policy's criteria ("**Does not meet criteria** — Lumbar MRI without contrast").
VERDICT_BANNER = "**Does not meet criteria** — "


def assert_healthy(at: AppTest, *expected_errors: str) -> None:
    """No exception element and no error box — pages report failures in error boxes (a
    guarded page, "Could not …", "Evaluation failed: …"), not as exceptions — other than a
    verdict banner or one containing one of ``expected_errors``, read as shown (the pages
    escape what a file says before Markdown renders it)."""
    assert not at.exception, [e.value for e in at.exception]
    shown = [e.value.replace("\\", "") for e in at.error]
    errors = [e for e in shown if not e.startswith(VERDICT_BANNER)
              and not any(x in e for x in expected_errors)]
    assert not errors, errors


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
