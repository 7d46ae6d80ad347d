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
from preauth.catalog.fields import CLINICAL_FIELDS, FIELDS, FIELDS_BY_NAME
from preauth.catalog.share import (
    MAX_PROBLEMS,
    OVERFLOW_PARAM,
    POLICY_PARAM,
    case_from_params,
    case_to_params,
    describe_problems,
    link_params,
    overflow_guard_script,
    read_link,
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
    link = read_link({"cpt_code": ["72148"], name: [text]})
    accepted = name not in link.refused
    assert accepted == (link.case[name] is not None or text.strip() == "")
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
        assert sum(p.startswith(f"{name} ") for p in problems) == 1, name


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
    headline, details = describe_problems(read_link({LINK: ["1"], IMAGE: [IMAGE], "age": [LINK],
                                                     "symptom_weeks": ["inf"]}).problems)
    assert "evil" not in headline and "[" not in headline and "(" not in headline
    assert "Age" in headline and "Symptom duration" in headline  # the catalog's labels
    assert "2 unknown parameters" in headline
    assert LINK in details and IMAGE in details  # the details are for a plain-text element
    assert problems == details.split("\n")


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


def test_unknown_names_are_one_sentence_each_and_the_page_shows_ten() -> None:
    link = read_link({f"junk{i}": ["x"] for i in range(300)} | {"age": ["40"]})
    assert link.sentences == [f"unknown parameter 'junk{i}' — ignored" for i in range(300)]
    assert link.case["age"] == 40
    headline, details = describe_problems(link.problems)
    assert headline == "Some values in the link were not usable: 300 unknown parameters."
    assert details.split("\n")[-1] == "… and 290 more"
    assert len(details.split("\n")) == MAX_PROBLEMS + 1


# --- one plain sentence per bad parameter (issue 11) -------------------------------------------

F = FIELDS_BY_NAME
POLICIES = {"acr": "ACR Appropriateness Criteria (spine MRI)", "aetna_style": "Aetna-style"}
# (parameter, value, the sentence); the catalog's own descriptions where the value rules may
# grow (preauth/catalog/values.py), so a new accepted spelling does not break the wording
BAD = [
    ("age", "250", "age 250 is not between 0 and 120 — left empty"),
    ("age", "-3", "age -3 is not between 0 and 120 — left empty"),
    ("motor_strength_grade", "6", "motor_strength_grade 6 is not between 0 and 5 — left empty"),
    ("symptom_weeks", "-1", "symptom_weeks -1 is less than 0 — left empty"),
    ("pain_score", "2.5", "pain_score 2.5 is not a whole number — left empty"),
    ("age", "abc", "age abc is not a whole number from 0 to 120 — left empty"),
    ("months_since_prior_mri", "inf",
     "months_since_prior_mri inf is not a number ≥ 0 — left empty"),
    ("conservative_therapy_weeks", "1_0",
     "conservative_therapy_weeks 1_0 is not a number ≥ 0 — left empty"),
    ("sex", "Q", f"sex Q is not {F['sex'].describe_type()} — left empty"),
    ("trauma", "falling", f"trauma falling is not {F['trauma'].describe_type()} — left empty"),
    ("radiculopathy", "maybe",
     f"radiculopathy maybe is not yes or no ({F['radiculopathy'].describe_type()}) — left empty"),
    ("request_date", "2024-13-45",
     f"request_date 2024-13-45 is not {F['request_date'].describe_type()} — left empty"),
    ("cpt_code", "99999", "cpt_code 99999 is not a spine MRI code (72141, 72142, 72156, 72146, "
                          "72147, 72157, 72148, 72149, 72158) — left empty"),
    ("night_pain", "two words", f"night_pain 'two words' is not yes or no "
                                f"({F['night_pain'].describe_type()}) — left empty"),
]


@pytest.mark.parametrize(("name", "value", "sentence"), BAD, ids=[f"{n}={v}" for n, v, _ in BAD])
def test_each_bad_value_is_one_plain_sentence_and_stays_empty(name: str, value: str,
                                                               sentence: str) -> None:
    context = {} if name == "cpt_code" else {"cpt_code": ["72141"]}
    link = read_link(context | {name: [value]}, POLICIES)
    assert link.sentences == [sentence]
    assert link.case[name] is None and link.refused == {name}
    if name != "cpt_code":
        assert link.case["cpt_code"] == "72141"  # the rest of the link is read


@pytest.mark.parametrize(("params", "sentence"), [
    ({"foo": ["1"]}, "unknown parameter 'foo' — ignored"),
    ({LINK: ["1"]}, f"unknown parameter '{LINK}' — ignored"),
    ({"region": ["lumbar"]}, "region is not read from a link (it follows cpt_code) — ignored"),
    ({"contrast": ["with"]}, "contrast is not read from a link (it follows cpt_code) — ignored"),
    ({"age": ["40", "50"]}, "age is given 2 times — the first, 40, was read"),
    ({"age": ["250", "50"]},
     "age 250 (the first of 2 values given) is not between 0 and 120 — left empty"),
    ({"case_id": ["  "]}, "case_id is empty but a case needs one — shared-case is used instead"),
    ({"carrier": ["x" * 100_001]}, "carrier (100,001 characters) is longer than the 100,000 "
                                   "characters a value may have — left empty"),
    ({POLICY_PARAM: ["nope"]}, "policy nope is not one of this app's policies (acr, "
                               "aetna_style) — ACR Appropriateness Criteria (spine MRI) is "
                               "explained instead"),
    ({POLICY_PARAM: [IMAGE]}, f"policy '{IMAGE}' is not one of this app's policies (acr, "
                              "aetna_style) — ACR Appropriateness Criteria (spine MRI) is "
                              "explained instead"),
])
def test_each_other_bad_parameter_is_one_plain_sentence(params: dict, sentence: str) -> None:
    link = read_link({"cpt_code": ["72148"]} | params, POLICIES)
    assert link.sentences == [sentence]
    assert link.policy is None
    assert link.case["cpt_code"] == "72148"


def test_a_stale_link_gets_one_sentence_per_bad_parameter_and_no_validator_text() -> None:
    params = {"age": ["250"], "cpt_code": ["99999"], "sex": ["Q"], "foo": ["1"],
              "radiculopathy": ["1"], "symptom_weeks": ["inf"], POLICY_PARAM: ["old_policy"]}
    link = read_link(params, POLICIES, fallback={"cpt_code": "72148"})
    assert len(link.problems) == 6  # every parameter but radiculopathy, once each
    assert [p.param for p in link.problems] == ["age", "cpt_code", "sex", "foo",
                                                "symptom_weeks", POLICY_PARAM]
    assert link.problems[1].sentence.endswith("— 72148 is used instead")
    assert link.case["cpt_code"] == "72148" and link.case["radiculopathy"] is True
    text = "\n".join(link.sentences)
    for validator_words in ("validation error", "Value error", "Input should", "must be ",
                            "type=", "For further information"):
        assert validator_words not in text
    headline, details = describe_problems(link.problems)
    assert headline == ("Some values in the link were not usable: Age, CPT code, Sex, "
                        "Symptom duration; the policy to explain under; 1 unknown parameter.")
    assert details.split("\n") == link.sentences


def test_a_link_without_a_cpt_code_uses_the_fallback_and_says_so() -> None:
    link = read_link({"age": ["40"]}, fallback={"cpt_code": "72148"})
    assert link.case["cpt_code"] == "72148" and link.case["age"] == 40
    assert link.sentences == ["the link gives no cpt_code — 72148 is used"]


def test_the_policy_is_part_of_the_link_and_read_back() -> None:
    case = {"case_id": "c1", "cpt_code": "72141", "radiculopathy": True}
    params = link_params(case, "aetna_style")
    assert params[POLICY_PARAM] == "aetna_style"
    link = read_link({k: [v] for k, v in params.items()}, POLICIES)
    assert link.policy == "aetna_style" and link.problems == ()
    assert link.case["radiculopathy"] is True
    assert POLICY_PARAM not in link_params(case)
    # read without the page's policies, the parameter is neither a case field nor unknown
    assert read_link(params).problems == () and read_link(params).policy is None


def test_values_that_do_not_fit_together_are_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule across fields (none concerns a link's fields today) refuses the case: one
    sentence, and the case is read without the link's values."""
    from preauth.catalog import share

    def case_with_a_rule(**values: object) -> object:  # the rule: no age with a lumbar code
        extra = {"region": "cervical"} if values.get("age") is not None else {}
        return Case(**values, **extra)

    monkeypatch.setattr(share, "Case", case_with_a_rule)
    link = read_link({"cpt_code": ["72148"], "age": ["40"]})
    assert link.sentences == ["the link's values do not fit together — the case is read "
                              "without them"]
    assert link.case["age"] is None and link.case["case_id"] == "shared-case"


@settings(max_examples=examples(300), deadline=None)
@given(name=st.sampled_from([f.name for f in CLINICAL_FIELDS if f.name not in ("region",
                                                                              "contrast")]),
       values=st.lists(st.text(max_size=12), min_size=1, max_size=3))
def test_at_most_one_sentence_per_parameter(name: str, values: list[str]) -> None:
    """Whatever a parameter holds, it gets at most one sentence, on one line, naming it; a
    value not read leaves the field empty."""
    link = read_link({"cpt_code": ["72148"], name: values} if name != "cpt_code"
                     else {name: values})
    about = [p for p in link.problems if p.param == name]
    assert len(link.problems) == len(about) <= 1
    for p in about:
        assert p.sentence.startswith(f"{name} ") and "\n" not in p.sentence
    if name in link.refused:
        assert link.case[name] == ("shared-case" if name == "case_id" else None)


# --- more parameters than Streamlit reads ----------------------------------------------------

def test_more_parameters_than_the_limit_read_the_case_fields_and_say_so() -> None:
    params = {f"junk{i}": [LINK] for i in range(1200)} | {"cpt_code": ["72141"],
                                                          "age": ["inf"]}
    case, problems = case_from_params(params)
    assert case["cpt_code"] == "72141" and case["age"] is None
    assert problems[0] == ("the link has 1,202 parameters, more than the 1,000 this app "
                           "reads: only its case fields were read (2 of them)")
    headline, _ = describe_problems(read_link(params).problems)
    assert "more than 1,000 parameters" in headline


def test_the_guard_marker_is_reported_and_a_forged_one_is_just_unknown() -> None:
    case, problems = case_from_params({OVERFLOW_PARAM: ["1500"], "cpt_code": ["72141"]})
    assert case["cpt_code"] == "72141"
    assert problems == ["the link has 1,500 parameters, more than the 1,000 this app reads: "
                        "only its case fields were read (1 of them)"]
    for forged in ("12", "abc", LINK, "9" * 40):
        _, problems = case_from_params({OVERFLOW_PARAM: [forged]})
        assert problems == ["unknown parameter 'link_overflow' — ignored"]


def test_guard_script_embeds_only_the_catalog() -> None:
    script = overflow_guard_script()
    assert '"maxParams": 1000' in script and '"marker": "link_overflow"' in script
    assert "innerHTML" not in script and "document.write" not in script
    names = set(re.findall(r'"([a-z_]+)"', script.split('"fields": [', 1)[1].split("]")[0]))
    assert names and names <= set(FIELDS_BY_NAME) | {POLICY_PARAM}
    assert POLICY_PARAM in names  # a long link keeps the policy it is explained under


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
