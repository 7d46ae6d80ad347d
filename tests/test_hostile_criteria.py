"""Hostile criteria files (issue 8, "Safe on a shared server").

The contract: :func:`preauth.criteria.library.load_policy_text` turns ANY text into a
:class:`Policy` or a one-line :class:`CriteriaError` naming file, criterion and reason — never
another exception; whatever it accepts the engine evaluates; ``preauth validate-criteria`` exits 1
with "file, criterion: reason" (never a traceback, never exit 70); and the size of a policy is
bounded so that the largest one allowed still loads and evaluates in bounded work.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from preauth.catalog.schema import case_table
from preauth.cli import main
from preauth.criteria.expressions import (
    MAX_EXPRESSION_LENGTH,
    MAX_NESTING_DEPTH,
    ExpressionError,
    compile_expression,
)
from preauth.criteria.library import (
    MAX_CRITERIA_PER_POLICY,
    MAX_EXAMPLES_PER_CRITERION,
    MAX_EXAMPLES_PER_POLICY,
    MAX_FILE_BYTES,
    MAX_LEAVES_PER_POLICY,
    MAX_NODES_PER_POLICY,
    CriteriaError,
    Library,
    Policy,
    load_policy_text,
)
from preauth.evaluate.engine import Engine
from tests.fast import examples
from tests.properties.test_expression_fuzz import mutated, token_soup, typed_grammar
from tests.test_library import GOOD
from tests.work import work_budget

WHEN = "when: conservative_therapy_weeks >= 6"
TITLE = "title: Six weeks of care"
MESSAGE_CHARS = 500  # a refusal is one line of at most 500 characters
VERSION = 'version: "1"'


def with_when(expression: str) -> str:
    return GOOD.replace(WHEN, f"when: {json.dumps(expression)}")


def refused(text: str, *fragments: str, file: str = "upload.yaml") -> str:
    with pytest.raises(CriteriaError) as info:
        load_policy_text(text, file)
    message = str(info.value)
    assert message.startswith(file), message
    assert "\n" not in message and len(message) <= MESSAGE_CHARS, message
    for fragment in fragments:
        assert fragment in message, message
    return message


# --------------------------------------------------------------------------------------
# Finding 4: YAML values that used to escape as ValueError / AttributeError / RecursionError
# --------------------------------------------------------------------------------------
def test_an_impossible_date_is_text_where_text_is_expected() -> None:
    policy = load_policy_text(GOOD.replace(TITLE, "title: 2021-02-30"), "upload.yaml")
    assert policy.criteria[0].title == "2021-02-30"


@pytest.mark.parametrize("tag", ["!!timestamp abc", "!!timestamp 2021-01-01", "!!binary AAAA",
                                 "!!set {a}", "!!omap [a: 1]", "!local thing",
                                 "!!python/name:os.system", "!!int abc", "!!float x",
                                 "!!bool maybe", "!!int 0o9", "!!null x"])
def test_explicit_tags_are_refused_by_name_and_line(tag: str) -> None:
    refused(GOOD.replace(TITLE, f"title: {tag}"), "line 13", "tag", "not allowed")


@pytest.mark.parametrize("value", ["0b_", "0x_", "-0b_", "+0x__"])
def test_what_only_looks_like_a_yaml_number_is_refused(value: str) -> None:
    refused(GOOD.replace(TITLE, f"title: {value}"), "line 13", "is not a number")


def test_plain_tags_are_still_fine() -> None:
    policy = load_policy_text(GOOD.replace(TITLE, "title: !!str Six weeks"), "upload.yaml")
    assert policy.criteria[0].title == "Six weeks"


@pytest.mark.parametrize("number", ["9" * 5000, "0x" + "f" * 5000, "1" + ":0" * 3000,
                                    "1." + "5" * 5000])
def test_huge_yaml_numbers_are_refused_before_conversion(number: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Refused from the number's length: YAML's int() / float() (quadratic in the digits, and
    one call per part of a 1:0:0:… sexagesimal number) never sees it."""
    converted: list[int] = []

    def spy(kind: type) -> Any:
        def convert(text: Any, *args: Any) -> Any:
            converted.append(len(str(text)))
            return kind(text, *args)
        return convert

    for kind in (int, float):  # every number PyYAML's constructors convert
        monkeypatch.setattr(yaml.constructor, kind.__name__, spy(kind), raising=False)
    with work_budget(50_000, "refusing a long number"):  # about 15,000 calls today
        refused(GOOD.replace(TITLE, f"title: {number}"), "line 13",
                "a number with more than 100 characters")
    assert converted == []


@pytest.mark.parametrize(("effective", "reason"), [
    ("2021-02-30", "2021-02-30 is not a real date"),
    ("2021-13-01", "is not a real date"),
    ("20210101", "YYYY-MM-DD"),
    ('"2020-W01-1"', "YYYY-MM-DD"),
    ("2021-02-03T10:00:00", "YYYY-MM-DD"),
    ("soon", "YYYY-MM-DD"),
    ("[2021]", "YYYY-MM-DD"),
])
def test_a_bad_effective_date_is_a_criteria_error(effective: str, reason: str) -> None:
    refused(GOOD.replace(VERSION, f"{VERSION}\n  effective: {effective}"), "effective", reason)


def test_dates_still_load() -> None:
    text = GOOD.replace(VERSION, f"{VERSION}\n  effective: 2026-02-03").replace(
        'ref1: {text: "Some public document, 2024."}',
        'ref1: {text: "Some public document, 2024.", date: 2024-05-01}')
    policy = load_policy_text(text, "upload.yaml")
    assert policy.effective == dt.date(2026, 2, 3)
    assert policy.references["ref1"].date == "2024-05-01"


@pytest.mark.parametrize("when", [
    "(" * 50 + "conservative_therapy_weeks >= 6" + ")" * 50,
    "NOT " * 300 + "radiculopathy",
    "NOT (" * 30 + "radiculopathy" + ")" * 30,
    "age > " + "- " * 300 + "3",
    "COALESCE(" * 40 + "age" + ", 1)" * 40 + " > 3",
    "age IN (" + "[" * 200 + "1" + "]" * 200 + ")",
    "CASE WHEN " * 100 + "TRUE" + " END" * 100,
])
def test_deep_nesting_is_refused_with_the_limit(when: str) -> None:
    refused(with_when(when), "demo-1", "nested too deeply (at most 10 levels of parentheses")


def test_deep_nesting_is_refused_before_sqlglot_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    from preauth.criteria import _parser

    def no_parse(*args: object) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(_parser, "_parse", no_parse)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        compile_expression("(" * 50 + "age > 3" + ")" * 50)
    with pytest.raises(ExpressionError, match="too complex"):
        compile_expression("age IN (" + ",".join(["1"] * 300) + ")")


def test_a_recursion_error_while_parsing_is_still_an_expression_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Belt and braces: a nesting the token count did not foresee."""
    from preauth.criteria import _parser

    monkeypatch.setattr(_parser, "MAX_NESTING_DEPTH", 10**6)
    monkeypatch.setattr(_parser, "MAX_EXPRESSION_NODES", 10**6)
    parsed = []
    real_parse = _parser._parse

    def spy(*args: object) -> object:
        parsed.append(True)
        return real_parse(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(_parser, "_parse", spy)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        compile_expression("(" * 400 + "age > 3" + ")" * 400)
    assert parsed, "the token bound refused it: the parser's RecursionError was not reached"


def test_long_and_or_chains_need_little_stack() -> None:
    """A chain of 150 conditions is a 150-deep tree; checking and compiling it must not
    recurse along it (the app may call in with a deep stack already)."""
    when = " AND ".join(["radiculopathy"] * 130 + ["age > 3"] * 20)
    depth = len(inspect.stack(0))
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 150)
    try:
        compiled = compile_expression(when)
        assert len(compiled.root.children) == 150
        assert compiled.root.children[-1].sql()
    finally:
        sys.setrecursionlimit(limit)


def test_nesting_up_to_the_limit_is_fine() -> None:
    n = MAX_NESTING_DEPTH
    compile_expression("(" * n + "age > 3" + ")" * n)
    compile_expression("NOT " * n + "radiculopathy")


def test_990_nots_are_refused_by_length() -> None:
    refused(with_when("NOT " * 990 + "radiculopathy"), "demo-1",
            "expression is 3,973 characters long; at most 3,000 are accepted")


# --------------------------------------------------------------------------------------
# Finding 6: every literal is type-checked against what it is compared with
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("when", "reason"), [
    ("request_date > '20200101'", "'20200101' is not an ISO date"),
    ("request_date > '2020-W01-1'", "'2020-W01-1' is not an ISO date"),
    ("request_date >= '2020-02-30'", "not a real date"),
    ("request_date > ' 2020-01-01'", "not an ISO date"),
    ("request_date IN ('2020-01-01', '20200101')", "'20200101'"),
    ("request_date BETWEEN '2020-01-01' AND '2020-W01-1'", "'2020-W01-1'"),
    ("COALESCE(request_date, '20200101') > '2020-01-01'", "'20200101'"),
    ("'20200101' < request_date", "'20200101'"),
    (f"age > {2**127}", "more than 30 characters"),
    ("age > 2147483648", "out of range for age (from 0 to 120)"),
    ("age > 121", "out of range for age"),
    ("pain_score IN (1, 11)", "11 is out of range for pain_score (from 0 to 10)"),
    ("motor_strength_grade BETWEEN 0 AND 6", "out of range for motor_strength_grade"),
    ("COALESCE(age, 200) > 3", "200 is out of range"),
    ("COALESCE(age, pain_score) > 1e10", "out of range for COALESCE(age, pain_score)"),
    ("symptom_weeks > -1", "out of range for symptom_weeks"),
    ("symptom_weeks > 1e309", "too large"),
    ("age > 1e308", "out of range for age"),
    ("1 = 1 AND age > 3", "compares two constants"),
    ("'none' IN ('none') AND age > 3", "tests a constant"),
    ("COALESCE(1, 2) < age", "has no case field"),
    ("COALESCE(age, NULL) > 3", "NULL as an argument"),
])
def test_literals_that_the_engine_could_not_run_are_refused(when: str, reason: str) -> None:
    refused(with_when(when), "demo-1", "when:", reason)


@pytest.mark.parametrize("when", [
    "request_date >= '2020-01-01'", "request_date BETWEEN '2020-01-01' AND '2024-02-29'",
    "COALESCE(request_date, '2020-01-01') > '2019-12-31'", "age > 120", "age >= 0",
    "pain_score IN (0, 10)", "symptom_weeks > 1e308", "COALESCE(age, symptom_weeks) > 1e300",
    "age > 6.5", "motor_strength_grade <= 3",
])
def test_literals_in_range_are_accepted_and_run(when: str) -> None:
    policy = load_policy_text(with_when(when), "upload.yaml")
    _evaluate(policy)


def _evaluate(policy: Policy) -> None:
    cases = [{"case_id": "a", "cpt_code": "72148", "age": 40, "pain_score": 9,
              "request_date": dt.date(2021, 1, 1), "conservative_therapy_weeks": 7.0},
             {"case_id": "b", "cpt_code": "72141"}]
    engine = Engine(Library(policies=(policy,)), threads=1)
    try:
        assert engine.evaluate(case_table(cases)).num_rows == 2
        for case in cases:
            engine.evaluate_case(case)
    finally:
        engine.close()


# --------------------------------------------------------------------------------------
# Finding 10: duplicate keys
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("change", "key", "line"), [
    (("  kind: payer", "  kind: payer\n  kind: guideline"), "'kind'", 6),
    (("    title: Six weeks of care", "    title: Six weeks of care\n    title: Other"),
     "'title'", 14),
    (("{without: covered}", "{without: covered, without: not_covered}"), "'without'", 17),
    (("policy:", "criteria: []\npolicy:"), "'criteria'", 12),
    (("    rationale:", "    when: age > 3\n    rationale:"), "'when'", 18),
])
def test_duplicate_keys_are_refused_with_line_and_key(change: tuple[str, str], key: str,
                                                      line: int) -> None:
    assert change[0] in GOOD
    refused(GOOD.replace(*change, 1), f"duplicate key {key}", f"line {line}")


def test_a_merge_key_may_be_overridden() -> None:
    text = GOOD.replace("    appropriateness: {without: covered}",
                        "    appropriateness: &rate {without: covered}") + (
        GOOD[GOOD.index("  - id: demo-1"):].replace("demo-1", "demo-2").replace(
            "    appropriateness: {without: covered}",
            "    appropriateness:\n      <<: *rate\n      without: not_covered"))
    policy = load_policy_text(text, "upload.yaml")
    assert policy.criteria[1].category_for("without").value == "not_covered"


# --------------------------------------------------------------------------------------
# Finding 8: limits, each stated in its message, and the worst file they allow
# --------------------------------------------------------------------------------------
HEAD, ONE = GOOD.split("criteria:\n")


def criterion(i: int, when: str) -> str:
    return ONE.replace("demo-1", f"c-{i}").replace(WHEN, f"when: {json.dumps(when)}")


def policy_text(whens: list[str]) -> str:
    return HEAD + "criteria:\n" + "".join(criterion(i, w) for i, w in enumerate(whens))


def test_criteria_per_policy() -> None:
    load_policy_text(policy_text(["radiculopathy"] * MAX_CRITERIA_PER_POLICY), "p.yaml")
    refused(policy_text(["radiculopathy"] * (MAX_CRITERIA_PER_POLICY + 1)),
            "201 criteria; a policy file may have at most 200", file="p.yaml")


def _leaves(n: int) -> list[str]:
    """n distinct leaf conditions."""
    out = [f"age > {k}" for k in range(121)] + [f"age < {k}" for k in range(121)]
    out += [f"symptom_weeks > {k}" for k in range(n)]
    return out[:n]


def test_distinct_conditions_per_policy() -> None:
    leaves = _leaves(MAX_LEAVES_PER_POLICY + 1)
    whens = [" OR ".join(leaves[i:i + 10]) for i in range(0, MAX_LEAVES_PER_POLICY, 10)]
    load_policy_text(policy_text(whens), "p.yaml")
    refused(policy_text([*whens, leaves[-1]]), "more than 300 distinct conditions",
            file="p.yaml")


def test_parts_per_policy() -> None:
    # "radiculopathy OR ..." with k fields: 3k - 1 nodes (column + identifier, OR)
    k = 100
    when = " OR ".join(["radiculopathy"] * k)
    assert compile_expression(when).size == 3 * k - 1
    n = MAX_NODES_PER_POLICY // (3 * k - 1)
    load_policy_text(policy_text([when] * n), "p.yaml")
    refused(policy_text([when] * (n + 1)), "more than 10,000 parts",
            file="p.yaml")


def test_parts_and_length_per_criterion() -> None:
    refused(with_when(" OR ".join(["radiculopathy"] * 1000)), "demo-1",
            "at most 3,000 are accepted")
    many_nodes = " OR ".join(["age>1"] * 110)  # 440 tokens, 549 nodes
    many_tokens = "age IN (" + ",".join(["1"] * 300) + ")"  # 603 tokens
    for when in (many_nodes, many_tokens):
        assert len(when) <= MAX_EXPRESSION_LENGTH
        refused(with_when(when), "demo-1", "; at most 500 are accepted", "too complex")


def test_file_size() -> None:
    refused(GOOD + "#" + "x" * MAX_FILE_BYTES, "file is larger than 256,000 bytes")


def test_an_oversized_file_in_a_directory_is_not_read(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "big.yaml").write_bytes(b"#" * (MAX_FILE_BYTES + 1))

    def no_read(self: Path, *args: object, **kwargs: object) -> str:
        raise AssertionError(f"{self.name} was read")

    monkeypatch.setattr(Path, "read_text", no_read)
    assert main(["validate-criteria", str(tmp_path)]) == 1
    assert "big.yaml: file is larger than" in capsys.readouterr().err


def test_a_file_that_cannot_be_read_is_a_criteria_error(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    (tmp_path / "locked.yaml").write_text(GOOD)

    def denied(self: Path, *args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_text", denied)
    assert main(["validate-criteria", str(tmp_path)]) == 1
    assert "locked.yaml: cannot be read: Permission denied" in capsys.readouterr().err


def test_messages_stay_short_and_on_one_line() -> None:
    message = refused(with_when("trauma = '" + "x" * 2000 + "'"), "demo-1",
                      "xxx…' is not a value of trauma (allowed: none, low_velocity")
    assert len(message) < 200
    refused(GOOD.replace("  - id: demo-1", '  - id: "a\\nb"'), "criterion 'a b'", "id")


EXAMPLE = "      - {expect: met, case: {}}\n"


def with_examples(n: int, text: str = GOOD) -> str:
    """``text`` with ``n`` examples under each of its criteria."""
    block = "    examples:\n" + EXAMPLE * n
    return text.replace("    citations: [ref1]\n", "    citations: [ref1]\n" + block)


def test_examples_per_criterion() -> None:
    load_policy_text(with_examples(MAX_EXAMPLES_PER_CRITERION), "p.yaml")
    refused(with_examples(MAX_EXAMPLES_PER_CRITERION + 1), "demo-1", "examples",
            f"at most {MAX_EXAMPLES_PER_CRITERION}", file="p.yaml")


def test_examples_per_policy() -> None:
    # (a policy with exactly the most examples allowed loads: the slow test below)
    per = MAX_EXAMPLES_PER_CRITERION
    k = MAX_EXAMPLES_PER_POLICY // per
    assert k * per == MAX_EXAMPLES_PER_POLICY
    refused(with_examples(per, policy_text(["radiculopathy"] * (k + 1))),
            f"{(k + 1) * per:,} examples", f"at most {MAX_EXAMPLES_PER_POLICY:,}",
            file="p.yaml")


@pytest.mark.slow  # a big input: `make test` only
def test_the_most_examples_allowed_load_quickly() -> None:
    """As many examples as a policy may hold, as big as the file limit then allows, with
    values of every kind the catalog parses: the file still loads quickly."""
    case = "{age: 71, trauma: none, request_date: 2024-02-29, radiculopathy: yes}"
    per = MAX_EXAMPLES_PER_CRITERION
    k = MAX_EXAMPLES_PER_POLICY // per
    text = policy_text(["radiculopathy"] * k).replace(
        "    citations: [ref1]\n", "    citations: [ref1]\n    examples:\n"
        + f"      - {{expect: met, case: {case}}}\n" * per)
    assert len(text.encode()) <= MAX_FILE_BYTES
    # about 6.4 M calls today (mostly reading the YAML): the budget catches an
    # order-of-magnitude regression, counted rather than timed (tests/work.py)
    with work_budget(40_000_000, "loading the most examples a policy may hold"):
        policy = load_policy_text(text, "p.yaml")
    assert sum(len(c.examples) for c in policy.criteria) == MAX_EXAMPLES_PER_POLICY
    assert policy.criteria[0].examples[0].case["radiculopathy"] is True


def test_policy_metadata_cannot_smuggle_criteria_or_file() -> None:
    refused(GOOD.replace(VERSION, f"{VERSION}\n  file: other.yaml"), "policy.file",
            "unknown key")
    refused(GOOD.replace(VERSION, f"{VERSION}\n  criteria: []"), "policy.criteria")


def worst_policy_text() -> str:
    """The most work the limits allow: the most criteria, every distinct condition, the
    most parts in all, nested as deep as allowed; two-field conditions (NULL tests)."""
    two = ["age > pain_score", "symptom_weeks > conservative_therapy_weeks",
           "COALESCE(symptom_weeks, conservative_therapy_weeks) > 6",
           "region = prior_spine_surgery_region", "request_date > '2020-01-01'"]
    leaves = two + _leaves(MAX_LEAVES_PER_POLICY - len(two))
    per = MAX_NODES_PER_POLICY // MAX_CRITERIA_PER_POLICY  # parts per criterion
    whens, k = [], 0
    for _ in range(MAX_CRITERIA_PER_POLICY):
        parts: list[str] = []
        while True:
            nxt = leaves[k % len(leaves)]
            trial = [*parts, nxt]
            if compile_expression(_nest(trial)).size > per:
                break
            parts, k = trial, k + 1
        whens.append(_nest(parts))
    return policy_text(whens)


def _nest(parts: list[str]) -> str:
    """OR of chunks, each nested as deep as allowed: NOT (a OR NOT (b AND NOT (c ...)))."""
    size = MAX_NESTING_DEPTH // 2  # "NOT (" is two levels, COALESCE( one more
    chunks = []
    for start in range(0, len(parts), size):
        chunk = parts[start:start + size]
        text = chunk[-1]
        for j, p in enumerate(reversed(chunk[:-1])):
            text = f"NOT ({p} {'AND' if j % 2 else 'OR'} {text})"
        chunks.append(text)
    return " OR ".join(chunks)


# Loading and evaluating the largest policy allowed takes about 3.1 million function calls
# today (counted, tests/work.py; bench/hostile_inputs.py prints the seconds, ~0.5 s of CPU).
WORST_POLICY_CALLS = 30_000_000


@pytest.mark.slow  # a subprocess or a big input: `make test` only
def test_the_worst_allowed_policy_loads_and_evaluates_in_bounded_work() -> None:
    text = worst_policy_text()
    assert len(text.encode()) <= MAX_FILE_BYTES
    with work_budget(WORST_POLICY_CALLS, "loading and evaluating the worst allowed policy"):
        _load_and_evaluate_worst(text)


def _load_and_evaluate_worst(text: str) -> None:
    policy = load_policy_text(text, "worst.yaml")
    assert len(policy.criteria) == MAX_CRITERIA_PER_POLICY
    assert sum(c.expression.size for c in policy.criteria) > 0.85 * MAX_NODES_PER_POLICY
    leaves = {n.sql() for c in policy.criteria for n in c.expression.root.walk()
              if n.kind == "leaf"}
    assert len(leaves) == MAX_LEAVES_PER_POLICY
    engine = Engine(Library(policies=(policy,)), threads=1)
    try:
        rows = engine.evaluate_case({"case_id": "a", "cpt_code": "72148", "age": 40})
        assert rows[0]["verdict"]
    finally:
        engine.close()


# --------------------------------------------------------------------------------------
# `preauth validate-criteria`: exit 1 with "file, criterion: reason", never a traceback
# --------------------------------------------------------------------------------------
HOSTILE_FILES = {
    "nested.yaml": (with_when("(" * 50 + "radiculopathy" + ")" * 50), "demo-1", "nested"),
    "nots.yaml": (with_when("NOT " * 990 + "radiculopathy"), "demo-1", "characters"),
    "compact.yaml": (with_when("request_date > '20200101'"), "demo-1", "ISO date"),
    "week.yaml": (with_when("request_date IN ('2020-W01-1')"), "demo-1", "ISO date"),
    "huge.yaml": (with_when(f"age > {2**127}"), "demo-1", "characters"),
    "range.yaml": (with_when("age BETWEEN 0 AND 2147483648"), "demo-1", "out of range"),
    "effective.yaml": (GOOD.replace(VERSION, f"{VERSION}\n  effective: 2021-02-30"),
                       "effective", "not a real date"),
    "stamp.yaml": (GOOD.replace(TITLE, "title: !!timestamp abc"), "line 13", "tag"),
    "digits.yaml": (GOOD.replace(TITLE, "title: " + "9" * 5000), "line 13", "characters"),
    "dup.yaml": (GOOD.replace("  kind: payer", "  kind: payer\n  kind: payer"), "line 6",
                 "duplicate key 'kind'"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_validate_criteria_exits_1_naming_file_criterion_and_reason(
        name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text, *fragments = HOSTILE_FILES[name]
    (tmp_path / name).write_text(text, encoding="utf-8")
    assert main(["validate-criteria", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"preauth: invalid criteria: {name}")
    assert len(err.strip().splitlines()) == 1
    for fragment in fragments:
        assert fragment in err, err


@pytest.mark.slow  # a subprocess or a big input: `make test` only
def test_validate_criteria_in_a_fresh_process_prints_no_traceback(tmp_path: Path) -> None:
    for name, (text, *_rest) in HOSTILE_FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    for name in sorted(HOSTILE_FILES):
        one = tmp_path / name.removesuffix(".yaml")
        one.mkdir()
        (one / name).write_text(HOSTILE_FILES[name][0], encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "preauth", "validate-criteria",
                           str(tmp_path / "nested")], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "nested too deeply" in proc.stderr


def test_validate_criteria_runs_what_it_accepts(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the expression checker miss something, validate-criteria still refuses a
    file the engine cannot evaluate — naming the criterion — instead of accepting it."""
    from preauth.criteria import _types

    monkeypatch.setattr(_types, "check_date", lambda value, lit: None)  # a "bug"
    second = ONE.replace("demo-1", "demo-2").replace(
        WHEN, "when: request_date > '20200101'")
    (tmp_path / "p.yaml").write_text(GOOD + second, encoding="utf-8")
    assert main(["validate-criteria", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "p.yaml, criterion 'demo-2': when: the engine cannot evaluate it:" in err
    assert len(err.strip().splitlines()) == 1


def test_unreadable_directory_is_a_criteria_error(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate-criteria", str(tmp_path / "missing")]) == 1
    assert "criteria directory not found" in capsys.readouterr().err


# --------------------------------------------------------------------------------------
# The property: any text gives a Policy or a CriteriaError, and a Policy runs
# --------------------------------------------------------------------------------------
# values YAML itself turns into objects (or errors) while loading
VALUES = ["2021-02-30", "2021-02-03T10:00:00", "!!timestamp abc", "!!timestamp 2021-01-01",
          "9" * 5000, "-" + "1" * 4400, "0x" + "f" * 200, "1" + ":0" * 200, "1.5" + "0" * 400,
          "!!binary xx", "!!set {a}", "!!omap [a: 1]", "!!python/name:os.system", "!x y",
          "!!int abc", "!!float x", "!!bool maybe", "!!null x", "&a [*a]", "*nope", ".inf",
          "0b_", "0x_", "-0x__", "1:_",
          "1e999", "{a: 1, a: 2}", "{[1]: 2}", "<<: 1", "[1, [2, [3]]]", "~", "yes"]
SNIPPETS = ["2021-02-30", "!!timestamp abc", "9" * 5000, "&a", "*a", "&a [*a]", "*nope",
            "!!python/object/apply:os.system ['x']", "{", "}", "[", "]", "? ", ": ", "- ",
            "<<: *a", "!!binary xx", "!!set {a}", "\t", "\x00", "\ufeff", "\ud800",
            "%YAML 1.1\n---\n", "---\n", "...\n", "1:2:3", "0x" + "f" * 200, ".inf", "~",
            "null", "yes", "'", '"', "|\n", ">\n", "#", "\\", "\r", "\u2028", "\x85",
            "2021-02-03T10:00:00", "1e999", "-.nan", "0o7", "+1_000", "[1, [2, [3]]]",
            "{a: 1, a: 2}", "{[1]: 2}", "{? {a: 1}: 2}", "!", "!!", "!<tag:x>", "@", "`",
            "effective: 2021-02-30", "title: x", "id: Bad Id", "when: age > 3",
            "citations: [ref1, ref1]", "regions: []", "criteria: []", "policy: 1",
            "title: 2021-02-30"]


@st.composite
def mutated_yaml(draw: st.DrawFn) -> str:
    text = GOOD
    for _ in range(draw(st.integers(1, 3))):
        snippet = draw(st.sampled_from(SNIPPETS) if draw(st.integers(0, 3))
                       else st.text(max_size=20))
        lines = text.split("\n")
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from([0, 1, 1, 1, 1, 2, 3, 4]))
        if op == 0:  # insert anywhere
            at = draw(st.integers(0, len(text)))
            text = text[:at] + snippet + text[at:]
            continue
        if op == 1:  # replace a value, mostly by one YAML builds an object from
            if draw(st.integers(0, 4)):
                snippet = draw(st.sampled_from(VALUES))
            key, sep, _value = lines[i].partition(": ")
            lines[i] = key + sep + snippet if sep else snippet
        elif op == 2:  # duplicate a line
            lines.insert(i, lines[i])
        elif op == 3:  # delete a line
            del lines[i]
        else:  # a new line, indented like its neighbour
            indent = len(lines[i]) - len(lines[i].lstrip())
            lines.insert(i, " " * indent + snippet)
        text = "\n".join(lines)
    return text


def _scalar() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                     st.floats(), st.text(max_size=12), st.dates(),
                     st.sampled_from(["2021-02-30", "covered", "lumbar", "ref1", "x" * 70]))


@st.composite
def reshaped_yaml(draw: st.DrawFn) -> str:
    """GOOD's structure with random values put in random places (pydantic's paths)."""
    data = yaml.safe_load(GOOD)
    junk = st.recursive(_scalar(), lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
        max_leaves=6)
    for _ in range(draw(st.integers(1, 3))):
        target = draw(st.sampled_from(["policy", "criterion", "top"]))
        node: Any = data
        if target == "policy":
            node = data.get("policy")
        elif target == "criterion":
            crits = data.get("criteria")
            node = crits[0] if isinstance(crits, list) and crits else None
        if not isinstance(node, dict):
            continue
        key = draw(st.one_of(st.sampled_from(sorted(node) or ["x"]), st.text(max_size=8)))
        node[key] = draw(junk)
    return yaml.safe_dump(data, allow_unicode=True)


def loads_or_refuses(text: str) -> None:
    try:
        policy = load_policy_text(text, "fuzz.yaml")
    except CriteriaError as err:
        message = str(err)
        assert message.startswith("fuzz.yaml"), message
        assert "\n" not in message and len(message) <= MESSAGE_CHARS, message
        return
    assert isinstance(policy, Policy)
    _evaluate(policy)


FUZZ = settings(max_examples=examples(200), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(text=st.text(max_size=400))
@example(text="policy: &a {x: *a}\ncriteria: &c [*c]\n")
@example(text="a: " + "[" * 40 + "]" * 40)
@example(text="\ud800")
def test_any_text_loads_or_is_refused(text: str) -> None:
    loads_or_refuses(text)


@FUZZ
@given(text=mutated_yaml())
@example(text=GOOD.replace(TITLE, "title: !!timestamp abc"))
@example(text=GOOD.replace(TITLE, "title: " + "9" * 5000))
@example(text=GOOD.replace(VERSION, f"{VERSION}\n  effective: 2021-02-30"))
def test_mutated_policies_load_or_are_refused(text: str) -> None:
    loads_or_refuses(text)


@FUZZ
@given(text=reshaped_yaml())
def test_reshaped_policies_load_or_are_refused(text: str) -> None:
    loads_or_refuses(text)


CASE_FIELDS = ["age", "symptom_weeks", "radiculopathy", "trauma", "request_date", "cpt_code",
               "region", "contrast", "case_id", "decision", "pain_score", "Age", ""]


@st.composite
def random_examples(draw: st.DrawFn) -> str:
    """GOOD with random examples: mostly well-formed, with random keys, values and cases."""
    data = yaml.safe_load(GOOD)
    junk = st.recursive(_scalar(), lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
        max_leaves=4)
    value = st.one_of(_scalar(), st.sampled_from(["yes", "72148", "72141", "lumbar", "with",
                                                   "high_velocity", "2024-02-29", 6, 5.9]))
    valid = st.fixed_dictionaries({}, optional={
        "age": st.integers(0, 120), "symptom_weeks": st.floats(0, 1e6),
        "radiculopathy": st.booleans(), "trauma": st.sampled_from(["none", "low_velocity"]),
        "request_date": st.dates().map(str), "cpt_code": st.just("72148")})
    case = st.one_of(valid, valid, valid, junk,
                     st.dictionaries(st.sampled_from(CASE_FIELDS), value, max_size=4))
    expect = st.sampled_from(["met", "not_met", "undocumented"])
    example = st.one_of(
        st.fixed_dictionaries({"expect": expect, "case": case},
                              optional={"note": st.text(max_size=20)}),
        st.fixed_dictionaries({"expect": st.one_of(expect, junk), "case": case},
                              optional={"note": junk, "extra": junk}),
        junk)
    data["criteria"][0]["examples"] = draw(st.one_of(st.lists(example, max_size=4),
                                                     st.lists(example, max_size=4), junk))
    return yaml.safe_dump(data, allow_unicode=True)


@FUZZ
@given(text=random_examples())
def test_random_examples_load_or_are_refused(text: str) -> None:
    loads_or_refuses(text)


@FUZZ
@given(when=st.one_of(typed_grammar(), token_soup, mutated(), st.text(max_size=200)))
@example(when="(" * 50 + "age > 3" + ")" * 50)
@example(when="NOT " * 600 + "radiculopathy")
@example(when="age > " + "9" * 2990)
def test_random_expressions_load_or_are_refused(when: str) -> None:
    loads_or_refuses(with_when(when))
