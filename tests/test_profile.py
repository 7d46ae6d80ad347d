"""Mapping profiles (issue 11): one YAML format, refused with file, line and a suggestion."""

from __future__ import annotations

from pathlib import Path

import pytest

from preauth.ingest.profile import (
    MAX_PROFILE_BYTES,
    MappingProfile,
    ProfileError,
    load_profile,
    profile_text,
)

GOOD = """\
# monthly UM export
columns:
  "Request ID": case_id
  "Date Requested": request_date
  Gender: sex
  Notes: null
values:
  sex: {Male: M, Female: F}
  decision: {Withdrawn: cancelled, Pending: ""}
formats:
  request_date: "%m/%d/%Y"
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ProfileError) as caught:
        load_profile(text, "p.yaml")
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def test_the_issue_example_loads() -> None:
    profile = load_profile(GOOD, "p.yaml")
    assert profile.columns == {"Request ID": "case_id", "Date Requested": "request_date",
                               "Gender": "sex", "Notes": None}
    assert profile.values == {"sex": {"Male": "M", "Female": "F"},
                              "decision": {"Withdrawn": "cancelled", "Pending": ""}}
    assert profile.formats == {"request_date": "%m/%d/%Y"}
    assert profile.validate_options() == {"mapping": profile.columns, "values": profile.values,
                                          "formats": profile.formats}


def test_an_empty_profile_is_the_automatic_mapping() -> None:
    assert load_profile("", "p.yaml") == MappingProfile()
    assert MappingProfile().validate_options() == {"mapping": None, "values": None,
                                                   "formats": None}


def test_written_profiles_read_back_the_same() -> None:
    profile = MappingProfile(
        columns={"Request ID": "case_id", "yes": "carrier", "Junk": None, "10": "age"},
        values={"sex": {"Male": "M", "U": ""}, "decision": {"true": "denied", "No": "denied"}},
        formats={"request_date": "%d.%m.%Y"}, description="UM export: monthly")
    text = profile_text(profile, {("values", "sex", "Male"): "1,200 rows"})
    assert "# 1,200 rows" in text
    assert load_profile(text, "p.yaml") == profile
    assert load_profile(profile_text(MappingProfile()), "p.yaml") == MappingProfile()


@pytest.mark.parametrize(("text", "expected"), [
    ("colums: {}\n", "p.yaml, line 1: unknown key 'colums'; expected columns, values, "
                     "formats, description; did you mean 'columns'?"),
    ("columns:\n  Request ID: case_idd\n",
     "p.yaml, line 2: 'case_idd' is not a case field; did you mean 'case_id'?"),
    ("columns:\n  Gender: sex\n  Sex: sex\n",
     "p.yaml, line 3: columns 'Gender' and 'Sex' are both mapped to sex"),
    ("values:\n  sexx: {Male: M}\n", "p.yaml, line 2: 'sexx' is not a case field; did you "
                                     "mean 'sex'?"),
    ("values:\n  trauma:\n    Fall: low_velocty\n",
     "p.yaml, line 3: trauma: 'Fall' is mapped to 'low_velocty', but trauma must be one of "
     "none, low_velocity, high_velocity (or \"\" for not documented); did you mean "
     "'low_velocity'?"),
    ("values:\n  sex: [M, F]\n", "p.yaml, line 2: values of sex must be a mapping"),
    ("formats:\n  request_date: \"%m/%Y\"\n",
     "p.yaml, line 2: request_date: date format '%m/%Y' must give the day exactly once"),
    ("formats:\n  age: \"%Y\"\n", "p.yaml, line 2: age is a whole number from 0 to 120, not "
                                  "a date; formats are for date fields (request_date)"),
    ("values:\n  case_id: {a: b}\n", "p.yaml, line 2: case_id is the row's identity"),
    ("columns: [a, b]\n", "p.yaml, line 1: columns must be a mapping"),
    ("- columns\n", "p.yaml: a profile is a mapping with the keys columns"),
    ("columns: {a: case_id\n", "p.yaml: not valid YAML at line 2"),
    ("columns:\n  a: case_id\n  a: age\n", "p.yaml: not valid YAML at line 3, column 3: "
                                           "duplicate key 'a'"),
    ("description: [1]\n", "p.yaml, line 1: description must be text"),
])
def test_bad_profiles_are_refused_with_file_line_and_suggestion(text: str,
                                                                expected: str) -> None:
    found = problems(text)
    assert len(found) == 1
    assert found[0].startswith(expected), found[0]


def test_every_problem_is_listed_in_line_order() -> None:
    found = problems("formats:\n  age: x\ncolums: {}\nvalues:\n  sex: {Male: Mal}\n")
    assert [p.split(":")[0] for p in found] == ["p.yaml, line 2", "p.yaml, line 3",
                                                "p.yaml, line 5"]


def test_a_swapped_day_and_month_format_is_not_a_date_format() -> None:
    # "%m/%m/%Y" writes 03/03/2024 and reads back March 1st: refused
    assert problems("formats:\n  request_date: \"%m/%m/%Y\"\n")


def test_files_too_large_or_not_utf8_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_PROFILE_BYTES + 1))
    with pytest.raises(ProfileError, match=r"big\.yaml: a profile is at most 1 MB"):
        load_profile(big)
    with pytest.raises(ProfileError, match=r"p\.yaml: not UTF-8 text"):
        load_profile(b"columns: {\xff: case_id}\n", "p.yaml")
    with pytest.raises(ProfileError, match=r"missing\.yaml: could not be read"):
        load_profile(tmp_path / "missing.yaml")


def test_a_profile_from_a_path_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "monthly.yaml"
    path.write_text("values:\n  sexx: {}\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"^monthly\.yaml, line 2: 'sexx'"):
        load_profile(path)
    path.write_text(GOOD, encoding="utf-8")
    assert load_profile(path).formats == {"request_date": "%m/%d/%Y"}
