"""Mapping profiles (issue 11): one YAML format, refused with file, line and a suggestion."""

from __future__ import annotations

from pathlib import Path

import pytest

from preauth.ingest.profile import (
    MAX_PROFILE_BYTES,
    MAX_PROPOSED_VALUES,
    MappingProfile,
    ProfileError,
    load_profile,
    profile_text,
    propose_profile,
)
from preauth.ingest.raw import RawTable
from preauth.ingest.read import read_raw
from preauth.ingest.validate import validate

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


# --- the automatic guess (propose_profile) ------------------------------------------------------

def _raw(text: str, name: str = "export.csv") -> RawTable:
    return read_raw(text.encode("utf-8"), name)


EXPORT = """\
Request ID,Date Requested,Procedure Code,Gender,Status,Radiculopathy,Dx Codes,Notes
a,1/13/2024,72148,Male,Withdrawn,Y,G83.4,first
b,2/1/2024,72148,Female,Withdrawn,Unknown,N/A,second
c,3/2/2024,72148,U,Approved,N,none,third
d,4/3/2024,72148,Male,On hold,,M54.16,fourth
"""


def test_a_proposal_lists_every_column_with_samples() -> None:
    profile, notes = propose_profile(_raw(EXPORT))
    assert profile.columns == {
        "Request ID": "case_id", "Date Requested": "request_date", "Procedure Code": "cpt_code",
        "Gender": "sex", "Status": "decision", "Radiculopathy": "radiculopathy",
        "Dx Codes": "diagnosis_codes", "Notes": None}
    assert notes[("columns", "Notes")] == "not used; e.g. first, second, third"
    assert notes[("columns", "Gender")] == "e.g. Male, Female, U"


def test_a_proposal_maps_unrecognised_values_to_not_documented_most_frequent_first() -> None:
    profile, notes = propose_profile(_raw(EXPORT))
    assert profile.values == {"sex": {"U": ""}, "decision": {"Withdrawn": "", "On hold": ""},
                              "radiculopathy": {"Unknown": ""},
                              "diagnosis_codes": {"N/A": "", "none": ""}}
    assert notes[("values", "decision", "Withdrawn")] == (
        '2 rows - set one of approved, denied, cancelled, pending, or leave "" for not '
        "documented")
    assert notes[("values", "radiculopathy", "Unknown")] == (
        '1 row - set yes or no, or leave "" for not documented')
    assert notes[("values", "diagnosis_codes", "N/A")].startswith("1 row - no ICD-10-CM code")
    assert profile.formats == {"request_date": "%m/%d/%Y"}  # the order the file showed


def test_the_proposal_read_back_reads_the_file_without_warnings_or_errors() -> None:
    raw = _raw(EXPORT)
    profile, notes = propose_profile(raw)
    text = profile_text(profile, notes)
    assert "    Withdrawn: ''  # 2 rows - set one of approved" in text
    assert load_profile(text, "p.yaml") == profile
    result = validate(raw, **profile.validate_options())
    assert (result.rows_accepted, result.warning_count) == (4, 0)
    without = validate(raw)  # row 2 (Unknown) rejected, its warnings not listed
    assert (without.rows_rejected, without.warning_count) == (1, 4)


def test_at_most_so_many_values_per_column_and_a_word_on_the_rest() -> None:
    rows = "".join(f"r{i},72148,S{i % 40:02d}\n" for i in range(200)) + "r200,72148,S00\n"
    profile, notes = propose_profile(_raw("id,cpt_code,decision\n" + rows))
    listed = list(profile.values["decision"])
    assert len(listed) == MAX_PROPOSED_VALUES and listed[0] == "S00"  # 6 rows, the others 5
    assert listed[1:4] == ["S01", "S02", "S03"]  # then by text
    assert notes[("values", "decision")] == "10 more values like these (50 rows) are not listed"
    assert "  decision:  # 10 more values like these" in profile_text(profile, notes)


def test_a_format_is_proposed_only_when_it_reads_every_date() -> None:
    mixed_forms = "id,cpt_code,date\na,72148,1/13/2024\nb,72148,2024-02-01\n"
    assert propose_profile(_raw(mixed_forms))[0].formats == {}
    dotted = "id,cpt_code,date\na,72148,13/1/2024\nb,72148,2/3/2024\n"
    assert propose_profile(_raw(dotted))[0].formats == {"request_date": "%d/%m/%Y"}


def test_an_undecided_order_is_left_to_choose_and_refused_until_chosen() -> None:
    raw = _raw("id,cpt_code,date\na,72148,1/2/2024\nb,72148,3/4/2024\nc,72148,TBD\n")
    profile, notes = propose_profile(raw)
    assert profile.formats == {}
    assert notes[("formats", "request_date")].startswith(
        'choose "%m/%d/%Y" (M/D/YYYY) or "%d/%m/%Y" (D/M/YYYY): no date in the column shows '
        "which (1/2/2024, 3/4/2024 read either way)")
    assert profile.values == {"request_date": {"TBD": ""}}  # still listed
    text = profile_text(profile, notes)
    assert "formats:  #" in text and "\n  request_date:  # choose" in text
    found = problems(text)
    assert len(found) == 1 and "request_date has no format yet" in found[0]
    chosen = text.replace("  request_date:  #", '  request_date: "%m/%d/%Y"  #')
    assert load_profile(chosen, "p.yaml").formats == {"request_date": "%m/%d/%Y"}


def test_dates_of_both_orders_are_left_to_choose() -> None:
    raw = _raw("id,cpt_code,date\na,72148,4/13/2024\nb,72148,25/12/2024\n")
    profile, notes = propose_profile(raw)
    assert "request_date" not in profile.formats and "request_date" not in profile.values
    assert "has dates only M/D/YYYY reads (4/13/2024) and dates only D/M/YYYY reads " \
           "(25/12/2024)" in notes[("formats", "request_date")]


def test_a_base_profile_and_a_validation_result_are_taken_as_they_are() -> None:
    raw = _raw(EXPORT)
    base = MappingProfile(columns={"Notes": "carrier"}, values={"sex": {"U": "other"}},
                          description="monthly")
    profile, _ = propose_profile(raw, base=base)
    assert profile.columns["Notes"] == "carrier" and profile.description == "monthly"
    assert profile.values["sex"] == {"U": "other"}  # kept; nothing left to add for sex
    result = validate(raw, mapping={"Gender": None})
    assert propose_profile(raw, result)[0].columns["Gender"] is None
