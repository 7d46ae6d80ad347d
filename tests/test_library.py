"""Criteria library loading: the bundled files are valid; bad files are refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from preauth.criteria.library import Category, CriteriaError, load_library, load_policy_text

GOOD = """
policy:
  id: demo
  name: Demo policy
  kind: payer
  publisher: Test
  version: "1"
  summary: A demonstration policy for tests.
  references:
    ref1: {text: "Some public document, 2024."}
criteria:
  - id: demo-1
    title: Six weeks of care
    regions: [lumbar]
    source: Demo section 1
    when: conservative_therapy_weeks >= 6
    appropriateness: {without: covered}
    rationale: Six weeks of conservative care.
    citations: [ref1]
"""


def test_bundled_library_is_valid(library) -> None:  # type: ignore[no-untyped-def]
    assert {"acr", "evicore_style", "aetna_style", "bcbs_style"} <= set(library.ids)
    for policy in library.policies:
        assert policy.references, policy.id
        for c in policy.criteria:
            assert c.citations and c.source and c.rationale
            for ref in c.citations:
                assert ref in policy.references
            assert c.expression.fields  # compiles


def test_every_payer_policy_says_what_it_models(library) -> None:  # type: ignore[no-untyped-def]
    for policy in library.policies:
        if policy.kind == "payer":
            assert policy.models, policy.id


def test_acr_rates_contrast_alone_usually_not_appropriate(library) -> None:  # type: ignore[no-untyped-def]
    for c in library["acr"].criteria:
        if "with" in c.appropriateness:
            assert c.appropriateness["with"].category is Category.USUALLY_NOT_APPROPRIATE, c.id


def test_good_policy_loads() -> None:
    p = load_policy_text(GOOD, "demo.yaml")
    assert p.criteria[0].supporting_contrasts() == ("without",)


def _bad(replace: tuple[str, str]) -> str:
    assert replace[0] in GOOD
    return GOOD.replace(*replace)


@pytest.mark.parametrize(("change", "fragments"), [
    (("conservative_therapy_weeks >= 6", "read_csv('/etc/passwd') IS NULL"),
     ["demo.yaml", "demo-1", "read_csv"]),
    (("conservative_therapy_weeks >= 6", "weeks >= 6"), ["demo-1", "unknown field 'weeks'"]),
    (("conservative_therapy_weeks >= 6", "age = 'old'"), ["demo-1", "'old'"]),
    (("citations: [ref1]", "citations: [nope]"), ["demo-1", "'nope'"]),
    (("regions: [lumbar]", "regions: [neck]"), ["demo-1", "regions"]),
    (("{without: covered}", "{without: great}"), ["demo-1", "appropriateness"]),
    (("    rationale: Six weeks of conservative care.\n", ""), ["demo-1", "rationale"]),
    (("  - id: demo-1", "  - id: Demo 1"), ["Demo 1", "id"]),
    (("    title: Six weeks of care", "    title: Six weeks of care\n    colour: red"),
     ["demo-1", "unknown key"]),
])
def test_bad_files_name_file_criterion_and_reason(change: tuple[str, str],
                                                  fragments: list[str]) -> None:
    with pytest.raises(CriteriaError) as info:
        load_policy_text(_bad(change), "demo.yaml")
    message = str(info.value)
    assert message.startswith("demo.yaml")
    for fragment in fragments:
        assert fragment in message


def test_duplicate_criterion_id() -> None:
    text = GOOD + GOOD[GOOD.index("  - id: demo-1"):]
    with pytest.raises(CriteriaError, match="duplicate criterion id"):
        load_policy_text(text, "demo.yaml")


def test_not_yaml() -> None:
    with pytest.raises(CriteriaError, match="not valid YAML"):
        load_policy_text("policy: [unclosed", "x.yaml")


def test_yaml_tags_are_not_executed() -> None:
    with pytest.raises(CriteriaError):
        load_policy_text("!!python/object/apply:os.system ['echo hacked']", "x.yaml")


def test_by_analogy_needs_the_word_in_the_rationale() -> None:
    text = GOOD.replace("regions: [lumbar]",
                        "regions: [lumbar, thoracic]\n    by_analogy: [thoracic]")
    with pytest.raises(CriteriaError, match="analogy"):
        load_policy_text(text, "demo.yaml")


def test_directory_loading_and_uploaded_override(tmp_path: Path) -> None:
    (tmp_path / "demo.yaml").write_text(GOOD)
    lib = load_library(tmp_path)
    assert lib.ids == ["demo"]
    replaced = load_library(tmp_path, extra_texts={"upload.yaml": GOOD.replace(
        "title: Six weeks of care", "title: Replaced")})
    assert replaced["demo"].criteria[0].title == "Replaced"


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(CriteriaError, match="not found"):
        load_library(tmp_path / "nope")


# --------------------------------------------------------------------------------------
# examples: beside each criterion, validated at load time
# --------------------------------------------------------------------------------------
def _with_examples(examples: str) -> str:
    return GOOD.rstrip("\n") + "\n    examples:\n" + examples


def test_examples_load_with_catalog_values() -> None:
    p = load_policy_text(_with_examples(
        "      - {expect: met, case: {conservative_therapy_weeks: 6, radiculopathy: yes},"
        " note: at 6}\n"
        "      - {expect: undocumented, case: {}}\n"
        "      - {expect: not_met, case: {cpt_code: '72148', request_date: 2024-02-29}}\n"),
        "demo.yaml")
    first, empty, third = p.criteria[0].examples
    assert (first.expect, first.case, first.note) == (
        "met", {"conservative_therapy_weeks": 6.0, "radiculopathy": True}, "at 6")
    assert empty.case == {}
    assert third.case["region"] == "lumbar" and third.case["contrast"] == "without"
    assert str(third.case["request_date"]) == "2024-02-29"


@pytest.mark.parametrize(("example", "fragments"), [
    ("{expect: maybe, case: {}}", ["example #2.expect", "'met', 'not_met' or 'undocumented'"]),
    ("{expect: met}", ["example #2.case", "required"]),
    ("{expect: met, case: {}, colour: red}", ["example #2.colour", "unknown key"]),
    ("{expect: met, case: {weeks: 6}}", ["example #2.case", "unknown field 'weeks'"]),
    ("{expect: met, case: {Age: 6}}", ["example #2.case", "did you mean 'age'"]),
    ("{expect: met, case: {age: old}}", ["example #2.case", "age", "whole number"]),
    ("{expect: met, case: {age: 121}}", ["example #2.case", "age", "from 0 to 120"]),
    ("{expect: met, case: {radiculopathy: maybe}}", ["example #2.case", "radiculopathy",
                                                     "true/false"]),
    ("{expect: met, case: {trauma: severe}}", ["example #2.case", "trauma", "low_velocity"]),
    ("{expect: met, case: {request_date: 2021-02-30}}", ["example #2.case", "request_date"]),
    ("{expect: met, case: {decision: denied}}", ["example #2.case", "payer outcome"]),
    ("{expect: met, case: {case_id: x}}", ["example #2.case", "identifier"]),
    ("{expect: met, case: [1, 2]}", ["example #2.case", "mapping"]),
    ("{expect: met, case: {cpt_code: '72141'}}", ["example #2.case", "region cervical",
                                                  "criterion's regions"]),
    ("{expect: met, case: {cpt_code: '72149'}}", ["example #2.case", "contrast with",
                                                  "not rated"]),
    ("{expect: met, case: {region: cervical, cpt_code: '72148'}}",
     ["example #2.case", "contradicts cpt_code"]),
    ("{expect: met, case: {}, note: " + "x" * 1001 + "}", ["example #2.note", "1000"]),
])
def test_bad_examples_name_file_criterion_and_example(example: str,
                                                      fragments: list[str]) -> None:
    text = _with_examples("      - {expect: met, case: {conservative_therapy_weeks: 6}}\n"
                          f"      - {example}\n")
    with pytest.raises(CriteriaError) as info:
        load_policy_text(text, "demo.yaml")
    message = str(info.value)
    assert message.startswith("demo.yaml, criterion 'demo-1': example #2"), message
    for fragment in fragments:
        assert fragment in message, message


# --------------------------------------------------------------------------------------
# Legacy 1–9 ratings sit in their category's band and are labelled as legacy
# --------------------------------------------------------------------------------------
ACR_LIKE = GOOD.replace("{without: covered}", "{without: usually_appropriate}")


@pytest.mark.parametrize(("category", "rating"), [
    ("usually_not_appropriate", 1), ("usually_not_appropriate", 3),
    ("may_be_appropriate", 4), ("may_be_appropriate", 6),
    ("usually_appropriate", 7), ("usually_appropriate", 9),
])
def test_a_legacy_rating_in_its_band_loads(category: str, rating: int) -> None:
    text = ACR_LIKE.replace("{without: usually_appropriate}",
                            f"{{without: {{category: {category}, rating: {rating}, "
                            f"rating_note: legacy 2007 rating}}}}")
    r = load_policy_text(text, "demo.yaml").criteria[0].appropriateness["without"]
    assert r.legacy_text == f"legacy 1–9 rating {rating} (legacy 2007 rating)"


@pytest.mark.parametrize(("rating", "fragments"), [
    ("{category: usually_appropriate, rating: 6, rating_note: legacy 2007 rating}",
     ["appropriateness.without", "legacy rating 6 contradicts the category "
      "usually_appropriate", "may be appropriate (4–6)"]),
    ("{category: may_be_appropriate, rating: 3, rating_note: legacy 2007 rating}",
     ["appropriateness.without", "legacy rating 3", "usually not appropriate (1–3)"]),
    ("{category: usually_not_appropriate, rating: 7, rating_note: legacy 2007 rating}",
     ["appropriateness.without", "legacy rating 7", "usually appropriate (7–9)"]),
    ("{category: covered, rating: 8, rating_note: legacy 2007 rating}",
     ["appropriateness.without", "ACR scale", "covered"]),
    ("{category: usually_appropriate, rating: 8, rating_note: 2015 edition rating}",
     ["appropriateness.without", "rating_note must label it as the legacy 1–9 scale"]),
    ("{category: usually_appropriate, rating: 8}",
     ["appropriateness.without", "rating_note must label it"]),
])
def test_a_legacy_rating_out_of_its_band_or_unlabelled_is_refused(
        rating: str, fragments: list[str]) -> None:
    text = ACR_LIKE.replace("{without: usually_appropriate}", f"{{without: {rating}}}")
    with pytest.raises(CriteriaError) as info:
        load_policy_text(text, "demo.yaml")
    message = str(info.value)
    assert message.startswith("demo.yaml, criterion 'demo-1': "), message
    for fragment in fragments:
        assert fragment in message, message


def test_other_procedures_ratings_are_checked_too() -> None:
    text = ACR_LIKE.replace(
        "{without: usually_appropriate}",
        "{without: usually_appropriate}\n    other_procedures:\n"
        "      ct_without: {category: may_be_appropriate, rating: 9, "
        "rating_note: legacy 2015 rating}")
    with pytest.raises(CriteriaError, match=r"other_procedures\.ct_without: legacy rating 9"):
        load_policy_text(text, "demo.yaml")
