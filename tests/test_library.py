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
    # except known malignancy in the cervical 2018 edition: its patient summary lists "MRI
    # with contrast" among the may-be-appropriate studies (tests/criteria/test_acr.py)
    for c in library["acr"].criteria:
        if "with" in c.appropriateness and c.id != "acr-neck-known-malignancy":
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
