"""Hostile share links and review letters (issue 8, point 7).

A share link is written by anyone: its parameter names and values must never become Markdown
(a link to click, an image the browser fetches), its numbers obey batch ingest's rules, and a
link with too many parameters is reported. A review letter quotes case text: in the Markdown
letter it is escaped, in the HTML letter HTML-escaped.
"""

from __future__ import annotations

import csv
import io
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from preauth.catalog.case import Case
from preauth.catalog.fields import FIELDS, FIELDS_BY_NAME
from preauth.catalog.share import (
    OVERFLOW_PARAM,
    case_from_params,
    case_to_params,
    describe_problems,
    overflow_guard_script,
)
from preauth.evaluate.determination import determine
from preauth.evaluate.engine import Engine
from preauth.evaluate.letter import letter_html, letter_markdown, markdown_text
from preauth.ingest.read import read_raw
from preauth.ingest.validate import validate
from tests.fast import examples

LINK = "[Click to re-authenticate](https://evil.example/login)"
IMAGE = "![x](https://evil.example/track.png)"
NUMBER_FIELDS = [f.name for f in FIELDS if f.is_numeric]
NUMBER_TEXTS = ["inf", "-inf", "Infinity", "nan", "NaN", "1e308", "1e309", "-1", "0", "-0",
                "5", "5.", ".5", "+3", "1_0", "1,000", "0x10", "１２", "12 weeks", "3.0",
                "120", "121", "2147483648", "1e2", "10.5", " 7 "]


def _ingest_accepts(name: str, text: str) -> bool:
    """Whether batch ingest accepts ``text`` in column ``name`` (a one-row CSV)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["case_id", "cpt_code", name])
    writer.writerow(["c1", "72148", text])
    result = validate(read_raw(buf.getvalue().encode(), "one.csv"))
    return result.rows_accepted == 1


def _link_accepts(name: str, text: str) -> bool:
    case, problems = case_from_params({"cpt_code": ["72148"], name: [text]})
    accepted = not any(p.startswith(f"{name}:") for p in problems)
    assert accepted == (case[name] is not None or text.strip() == "")
    return accepted


# --- numbers: the rule of batch ingest -------------------------------------------------------

@pytest.mark.parametrize("name", NUMBER_FIELDS)
def test_link_numbers_follow_ingest(name: str) -> None:
    for text in NUMBER_TEXTS:
        assert _link_accepts(name, text) == _ingest_accepts(name, text), (name, text)


@settings(max_examples=examples(150), deadline=None)
@given(name=st.sampled_from(NUMBER_FIELDS),
       text=st.one_of(st.from_regex(r"\A[+-]?[0-9]{0,4}\.?[0-9]{0,3}([eE][+-]?[0-9]{1,3})?\Z"),
                      st.text(alphabet="0123456789.eE+-_ infa,x", max_size=8)))
def test_link_numbers_follow_ingest_for_any_text(name: str, text: str) -> None:
    if text != text.strip() or "\x00" in text:
        text = text.strip()
    assert _link_accepts(name, text) == _ingest_accepts(name, text), (name, text)


def test_inf_nan_and_out_of_range_numbers_are_left_out() -> None:
    case, problems = case_from_params({
        "symptom_weeks": ["inf"], "months_since_prior_mri": ["nan"], "age": ["1e308"],
        "pain_score": ["1_0"], "conservative_therapy_weeks": ["-1"]})
    for name in ("symptom_weeks", "months_since_prior_mri", "age", "pain_score",
                 "conservative_therapy_weeks"):
        assert case[name] is None
        assert any(p.startswith(f"{name}: expected ") for p in problems), name


def test_case_model_rejects_inf_and_nan() -> None:
    for bad in (math.inf, -math.inf, math.nan, "inf", "nan"):
        with pytest.raises(ValidationError):
            Case(case_id="c", symptom_weeks=bad)
    assert Case(case_id="c", symptom_weeks=1e308).symptom_weeks == 1e308


def test_huge_numbers_round_trip_as_short_text() -> None:
    params = case_to_params({"symptom_weeks": 1e300, "age": 40, "conservative_therapy_weeks": 6.0})
    assert params["symptom_weeks"] == "1e+300"
    assert params["age"] == "40" and params["conservative_therapy_weeks"] == "6"
    case, problems = case_from_params(params)
    assert problems == [] and case["symptom_weeks"] == 1e300


# --- problems are plain, bounded text --------------------------------------------------------

def test_problems_quote_names_and_values_cut_and_escaped() -> None:
    long = "A" * 5000
    _, problems = case_from_params({LINK: ["1"], IMAGE: [LINK], "age": [IMAGE],
                                    "sex": [long], "trauma": ["x\ny\u202e[z](w)"],
                                    long + "name": ["1"]})
    text = "\n".join(problems)
    assert long not in text
    assert "(4,940 more characters)" in text and "(4,944 more characters)" in text
    assert "\\n" in text and "\\u202e" in text  # control and bidi characters escaped
    for p in problems:
        assert "\n" not in p and "\u202e" not in p
        assert len(p) < 400


def test_describe_problems_headline_quotes_nothing_from_the_link() -> None:
    _, problems = case_from_params({LINK: ["1"], IMAGE: [IMAGE], "age": [LINK],
                                    "symptom_weeks": ["inf"]})
    headline, details = describe_problems(problems)
    assert "evil" not in headline and "[" not in headline and "(" not in headline
    assert "`age`" in headline and "`symptom_weeks`" in headline
    assert "not case fields" in headline
    assert LINK in details and IMAGE in details  # the details are for a plain-text element


def test_describe_problems_lists_at_most_ten() -> None:
    params = {name: ["bad value"] for name in
              ("age", "pain_score", "motor_strength_grade", "symptom_weeks", "sex", "trauma",
               "radiculopathy", "neuro_deficit", "foot_drop", "night_pain", "osteoporosis",
               "cancer_history", "request_date")}
    _, problems = case_from_params(params)
    assert len(problems) == 13
    _, details = describe_problems(problems)
    lines = details.split("\n")
    assert len(lines) == 11  # ten problems, then how many more
    assert lines[-1] == "… and 3 more"


def test_unknown_names_are_one_bounded_line() -> None:
    _, problems = case_from_params({f"junk{i}": ["x"] for i in range(300)} | {"age": ["40"]})
    assert len(problems) == 1
    assert problems[0].startswith("not case fields: 300 parameters, ignored: 'junk0'")
    assert problems[0].endswith("and 295 more")


# --- more parameters than Streamlit reads ----------------------------------------------------

def test_more_parameters_than_the_limit_read_the_case_fields_and_say_so() -> None:
    params = {f"junk{i}": [LINK] for i in range(1200)} | {"cpt_code": ["72141"],
                                                          "age": ["inf"]}
    case, problems = case_from_params(params)
    assert case["cpt_code"] == "72141" and case["age"] is None
    assert problems[0] == ("the link has 1,202 parameters, more than the 1,000 this app "
                           "reads: only its case fields were read (2 of them)")
    headline, _ = describe_problems(problems)
    assert "more than 1,000 parameters" in headline


def test_the_guard_marker_is_reported_and_a_forged_one_is_just_unknown() -> None:
    case, problems = case_from_params({OVERFLOW_PARAM: ["1500"], "cpt_code": ["72141"]})
    assert case["cpt_code"] == "72141"
    assert problems == ["the link has 1,500 parameters, more than the 1,000 this app reads: "
                        "only its case fields were read (1 of them)"]
    for forged in ("12", "abc", LINK, "9" * 40):
        _, problems = case_from_params({OVERFLOW_PARAM: [forged]})
        assert problems == ["not case fields: 1 parameter, ignored: 'link_overflow'"]


def test_guard_script_embeds_only_the_catalog() -> None:
    script = overflow_guard_script()
    assert '"maxParams": 1000' in script and '"marker": "link_overflow"' in script
    assert "innerHTML" not in script and "document.write" not in script
    names = set(re.findall(r'"([a-z_]+)"', script.split('"fields": [', 1)[1].split("]")[0]))
    assert names and names <= set(FIELDS_BY_NAME)


# --- review letters --------------------------------------------------------------------------

_ACTIVE = set("\\`*_{}[]()<>#!|~$&:@^")


def _unescaped(md: str) -> list[str]:
    """Markdown-active characters of ``md`` that are not backslash-escaped."""
    out, i = [], 0
    while i < len(md):
        if md[i] == "\\":
            i += 2
            continue
        if md[i] in _ACTIVE:
            out.append(md[i])
        i += 1
    return out


@settings(max_examples=examples(300), deadline=None)
@given(st.text())
def test_markdown_text_is_inert(text: str) -> None:
    md = markdown_text(text)
    assert _unescaped(md) == []
    assert "\n" not in md and "\r" not in md
    assert not re.search(r"(?i)www\.", md)  # no www autolink
    # escaping only adds backslashes before punctuation (and flattens whitespace)
    assert re.sub(r"\\(.)", r"\1", md) == " ".join(
        "".join(c if c.isprintable() else " " for c in text).split())


@pytest.fixture(scope="module")
def hostile_case() -> dict:
    return {"case_id": f"{LINK}\n# Injected heading\n{IMAGE} <script>x</script>",
            "carrier": f"{IMAGE} www.evil.example user@evil.example https://evil.example/a",
            "cpt_code": "72148", "age": 40, "sex": "F"}


def test_markdown_letter_escapes_case_text(engine: Engine, hostile_case: dict) -> None:
    for d in determine(engine, hostile_case):
        md = letter_markdown(d, hostile_case)
        for raw in ("](", "![", "<script", "</script"):  # only ever escaped
            assert not re.search(r"(?<!\\)" + re.escape(raw), md), raw
        assert "https://evil" not in md and "www.evil" not in md and "user@evil" not in md
        headings = [ln for ln in md.splitlines() if ln.lstrip().startswith("#")]
        assert all(not h.startswith("# Injected") for h in headings)
        assert "Injected heading" in md  # the text itself is kept, as text
        assert "\\[Click to re\\-authenticate\\]" not in md  # '-' is left alone
        # every "." escaped too: the one escaper is ui.text.plain's, the stricter of the two
        assert "\\[Click to re-authenticate\\]\\(https\\://evil\\.example/login\\)" in md


def test_html_letter_escapes_case_text(engine: Engine, hostile_case: dict) -> None:
    for d in determine(engine, hostile_case):
        page = letter_html(d, hostile_case)
        assert "<script" not in page and "<img" not in page and "<a " not in page
        assert "&lt;script&gt;" in page


def test_case_id_is_in_every_letter(engine: Engine) -> None:
    case = {"case_id": "CASE-7_b", "cpt_code": "72148"}
    d = determine(engine, case)[0]
    assert "Request: CASE-7\\_b" in letter_markdown(d, case)
    assert "Request: CASE-7_b" in letter_html(d, case)
