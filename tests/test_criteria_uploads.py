"""Custom criteria uploads are untrusted: nasty YAML is refused clearly and without work in
proportion to what it claims (function calls counted, tests/work.py: no wall clock).

An upload goes through :func:`preauth.criteria.library.load_policy_text` —
``yaml.safe_load``-style parsing (no tags executed) with bounded nesting and aliases, pydantic
models that forbid unknown keys, and the expression whitelist — before anything is evaluated.
"""

from __future__ import annotations

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
from tests.work import calls_of, work_budget

# Loading GOOD, a valid one-criterion policy, takes about 100,000 function calls; refusing a
# file never needs more than a few times that, whatever the file claims.
REFUSAL_CALLS = 500_000


def refused(text: str, *fragments: str, calls: int = REFUSAL_CALLS) -> str:
    with work_budget(calls, "refusing a criteria file"), pytest.raises(CriteriaError) as info:
        load_policy_text(text, "upload.yaml")
    message = str(info.value)
    assert message.startswith("upload.yaml") and "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_huge_file_is_refused_before_parsing() -> None:
    # parsing it would take millions of calls; measuring its size takes a handful
    text = GOOD + "# " + "x" * MAX_FILE_BYTES + "\n"
    refused(text, "larger than", calls=1_000)
    # multi-byte characters count as bytes, not characters
    refused(GOOD + "# " + "é" * (MAX_FILE_BYTES // 2 + 1) + "\n", "larger than", calls=1_000)


NESTED = {  # nesting n levels deep, far beyond the limit
    "flow lists": lambda n: "[" * n + "]" * n,
    "flow mappings": lambda n: "{a: " * n + "1" + "}" * n,
    "block mappings": lambda n: "".join("  " * i + "k:\n" for i in range(n)),
    "block lists": lambda n: "policy:\n" + "".join("  " * (i + 1) + "- \n" for i in range(n)),
}
DEPTHS = {"flow lists": 100_000, "flow mappings": 5_000, "block mappings": MAX_YAML_DEPTH + 5,
          "block lists": MAX_YAML_DEPTH + 5}


@pytest.mark.parametrize("kind", NESTED)
def test_deep_nesting_is_refused(kind: str) -> None:
    refused(NESTED[kind](DEPTHS[kind]), "nested")


@pytest.mark.parametrize("kind", ["flow lists", "flow mappings", "block mappings"])
def test_deep_nesting_is_refused_after_the_same_work_however_deep(kind: str) -> None:
    """Refusing stops at the depth limit: a file twice as deep costs (almost) no more calls
    (the reader reads ahead a little); work that followed the depth would double."""
    depth = max(DEPTHS[kind] // 2, 4 * MAX_YAML_DEPTH)
    shallow, shallow_error = calls_of(lambda: load_policy_text(NESTED[kind](depth), "u.yaml"))
    deep, deep_error = calls_of(lambda: load_policy_text(NESTED[kind](2 * depth), "u.yaml"))
    assert "nested" in str(shallow_error) and "nested" in str(deep_error), deep_error
    assert deep <= 1.05 * shallow, (shallow, deep)


def test_billion_laughs_is_refused_without_expansion() -> None:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    lines += ["policy: *i", "criteria: *i"]
    # about 10,000 calls: nothing is expanded (the 9**9 strings it stands for)
    refused("\n".join(lines) + "\n", "aliases", calls=50_000)


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
