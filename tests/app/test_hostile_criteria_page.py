"""The Criteria library page with the review's hostile custom criteria files (issue 8, point
4): each gives a one-line error naming the file — never an exception on the page."""

from __future__ import annotations

import re

import pytest

from tests.app.helpers import app, one_rule_policy

BASE = one_rule_policy("Hostile", "region = 'lumbar'")
HOSTILE = {
    "impossible date as title": BASE.replace("title: Rule of Hostile", "title: 2021-02-30"),
    "timestamp tag": BASE.replace("title: Rule of Hostile", "title: !!timestamp abc"),
    "5,000-digit integer": BASE.replace('version: "1"', "version: " + "9" * 5000),
    "50 nested parentheses": BASE.replace("when: region = 'lumbar'",
                                          "when: " + "(" * 50 + "age > 1" + ")" * 50),
    "990 NOTs": BASE.replace("when: region = 'lumbar'", "when: " + "NOT " * 990 + "age > 1"),
    "non-ISO date literal": BASE.replace("when: region = 'lumbar'",
                                         "when: request_date > '20200101'"),
    "ISO week date in IN": BASE.replace("when: region = 'lumbar'",
                                        "when: request_date IN ('2020-W01-1')"),
    "integer beyond the column": BASE.replace("when: region = 'lumbar'",
                                              f"when: age > {2**127}"),
    "bad effective date": BASE.replace('version: "1"', 'version: "1"\n  effective: 2021-13-45'),
    "duplicate key": BASE.replace("  publisher: Test\n", "  publisher: Test\n  publisher: B\n"),
    "markdown in the name": BASE.replace("name: Hostile",
                                         "name: '[x](https://evil.example) ![i](https://e.x/t.png)'"),
}


# In the fast loop one file per stage that refuses it - the YAML, the models, the expression
# checker - and the markdown one; `make test` shows the page every file (the library refuses
# each of them in tests/test_hostile_criteria.py).
FAST = {"timestamp tag", "bad effective date", "50 nested parentheses", "markdown in the name"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=[] if n in FAST else [pytest.mark.slow])
                                  for n in HOSTILE])
def test_hostile_criteria_file_gives_a_message_not_an_exception(name: str) -> None:
    at = app("criteria")
    at.file_uploader(key="criteria_upload").set_value(
        ("hostile.yaml", HOSTILE[name].encode(), "application/x-yaml")).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(e.value for e in [*at.error, *at.success])
    assert "hostile.yaml" in shown.replace("\\", "") or "Loaded" in shown, shown
    assert "Traceback" not in shown and 'File "' not in shown
    for text in [shown, *(e.value for e in at.markdown)]:  # no link or image from the file
        assert re.search(r"(?<!\\)\]\(", text) is None, text
