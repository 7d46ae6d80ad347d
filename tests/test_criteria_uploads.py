"""Custom criteria uploads are untrusted: nasty YAML is refused fast and clearly.

An upload goes through :func:`preauth.criteria.library.load_policy_text` —
``yaml.safe_load``-style parsing (no tags executed) with bounded nesting and aliases, pydantic
models that forbid unknown keys, and the expression whitelist — before anything is evaluated.
"""

from __future__ import annotations

import time

import pytest

from preauth.criteria.library import (
    MAX_FILE_BYTES,
    MAX_YAML_ALIASES,
    MAX_YAML_DEPTH,
    CriteriaError,
    load_library,
    load_policy_text,
)
from tests.test_library import GOOD


def refused(text: str, *fragments: str, seconds: float = 2.0) -> str:
    t0 = time.perf_counter()
    with pytest.raises(CriteriaError) as info:
        load_policy_text(text, "upload.yaml")
    assert time.perf_counter() - t0 < seconds
    message = str(info.value)
    assert message.startswith("upload.yaml") and "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_huge_file_is_refused_before_parsing() -> None:
    text = GOOD + "# " + "x" * MAX_FILE_BYTES + "\n"
    refused(text, "larger than")
    # multi-byte characters count as bytes, not characters
    refused(GOOD + "# " + "é" * (MAX_FILE_BYTES // 2 + 1) + "\n", "larger than")


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,
    "{a: " * 5_000 + "1" + "}" * 5_000,
    "".join("  " * i + "k:\n" for i in range(MAX_YAML_DEPTH + 5)),
    "policy:\n" + "".join("  " * (i + 1) + "- \n" for i in range(MAX_YAML_DEPTH + 5)),
])
def test_deep_nesting_is_refused(text: str) -> None:
    refused(text, "nested")


def test_billion_laughs_is_refused_without_expansion() -> None:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    lines += ["policy: *i", "criteria: *i"]
    refused("\n".join(lines) + "\n", "aliases", seconds=0.5)


def test_a_few_aliases_are_still_fine() -> None:
    text = GOOD.replace("    citations: [ref1]", "    citations: &cites [ref1]")
    text += text[text.index("  - id: demo-1"):].replace("demo-1", "demo-2").replace(
        "&cites [ref1]", "*cites")
    policy = load_policy_text(text, "upload.yaml")
    assert [c.citations for c in policy.criteria] == [("ref1",), ("ref1",)]
    assert MAX_YAML_ALIASES >= 10


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.system ['echo hacked']",
    "!!python/name:os.system",
    "!!python/object/new:subprocess.Popen [[ls]]",
])
def test_tags_are_never_constructed(tag: str) -> None:
    refused(GOOD.replace("name: Demo policy", f"name: {tag}"))


@pytest.mark.parametrize(("when", "token"), [
    ("conservative_therapy_weeks >= 6; DROP TABLE cases", ";"),
    ("conservative_therapy_weeks >= 6 -- comment", "comments"),
    ("age > 6 /* */ OR TRUE", "comments"),
    ("age > 6 -- */ ; DROP TABLE x; /*", ";"),
    ("read_csv('/etc/passwd') IS NOT NULL", "read_csv"),
    ("(SELECT 1) = 1", "subqueries"),
    ("аge > 6", "unknown field"),  # Cyrillic 'а'
    ("age\u200b > 6", None),  # zero-width space
    ("age > 6；", None),  # fullwidth semicolon
    ("age > ٦", None),  # Arabic-Indic digit
    ("age > 6 \u202e OR TRUE", None),  # right-to-left override
])
def test_expression_tricks_are_refused(when: str, token: str | None) -> None:
    text = GOOD.replace("when: conservative_therapy_weeks >= 6", f"when: \"{when}\"")
    assert f'"{when}"' in text
    message = refused(text, "demo-1")
    if token:
        assert token in message


def test_unicode_tricks_in_ids_and_keys_are_refused() -> None:
    refused(GOOD.replace("  - id: demo-1", "  - id: demo\u200b-1"), "id")  # zero-width
    refused(GOOD.replace("  - id: demo-1", "  - id: dеmo-1"), "id")  # Cyrillic 'е'
    refused(GOOD.replace("    title:", "    tіtle:"), "title")  # Ukrainian 'і'
    refused(GOOD.replace("Demo policy", "Demo\x00policy"), "not valid YAML")  # NUL


def test_byte_order_mark_and_plain_unicode_text_are_fine() -> None:
    text = "\ufeff" + GOOD.replace("Six weeks of care", "Six weeks of care — ≥ 6 wk, naïve")
    policy = load_policy_text(text, "upload.yaml")
    assert "naïve" in policy.criteria[0].title


def test_uploaded_text_goes_through_the_same_checks_as_bundled_files() -> None:
    with pytest.raises(CriteriaError, match="read_csv"):
        load_library(extra_texts={"custom.yaml": GOOD.replace(
            "conservative_therapy_weeks >= 6", "read_csv('x') IS NULL")})
    library = load_library(extra_texts={"custom.yaml": GOOD})
    assert "demo" in library.ids
