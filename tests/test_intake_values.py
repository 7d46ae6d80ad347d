"""Values real exports use (issue 11, item 2): other spellings, dates as the column shows
them, lenient fields that warn instead of rejecting, checkbox columns, decimal commas, and the
engine side of mapping profiles (``values`` / ``formats``) - whole and in batches."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from preauth.catalog.dates import DAY_FIRST, MONTH_FIRST, slash_dates
from preauth.catalog.fields import CPT_CODES, FIELDS, FIELDS_BY_NAME, LENIENT_FIELDS
from preauth.criteria.library import load_library
from preauth.ingest import validate as validate_module
from preauth.ingest.errors import AmbiguousDates, IngestError, MixedDates
from preauth.ingest.mapping import propose_mapping
from preauth.ingest.read import read_raw
from preauth.ingest.stream import validate_in_batches
from preauth.ingest.validate import IngestResult, validate

DECISION_IS = "is not one of approved, denied, cancelled, pending — read as not documented"


def csv_text(rows: list[dict[str, str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(dict.fromkeys(k for r in rows for k in r)),
                            delimiter=delimiter, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def ingest(rows: list[dict[str, str]], delimiter: str = ",", name: str = "file.csv",
           **profile: object) -> IngestResult:
    raw = read_raw(csv_text(rows, delimiter).encode("utf-8"), name)
    return validate(raw, **profile)  # type: ignore[arg-type]


def row(i: int = 1, **cells: str) -> dict[str, str]:
    return {"case_id": f"C{i}", "cpt_code": "72148", **cells}


def column(result: IngestResult, name: str) -> list[object]:
    return result.accepted[name].to_pylist()


def lines(table: pa.Table) -> list[tuple[int, str, str]]:
    return [(e["row"], e["column"], e["message"]) for e in table.to_pylist()]


# --- spellings ---------------------------------------------------------------------------------

def test_sex_as_exports_write_it() -> None:
    cells = ["Male", "Female", "male", "female", "M", "F", "m", "f", "Other", "OTHER", "",
             "FEMALE"]
    result = ingest([row(i, sex=v) for i, v in enumerate(cells)])
    assert column(result, "sex") == ["M", "F", "M", "F", "M", "F", "M", "F", "other", "other",
                                      None, "F"]
    assert result.errors.num_rows == result.warnings.num_rows == 0


@pytest.mark.parametrize(("text", "value"), [
    ("Approved", "approved"), ("Approve", "approved"), ("Authorized", "approved"),
    ("Authorised", "approved"), ("Certified", "approved"), ("Denied", "denied"),
    ("Deny", "denied"), ("Not certified", "denied"), ("Non-certified", "denied"),
    ("NON CERTIFIED", "denied"), ("Rejected", "denied"), ("Declined", "denied"),
    ("Cancelled", "cancelled"), ("Canceled", "cancelled"), ("Voided", "cancelled"),
    ("Pending", "pending"), ("Pended", "pending"), ("In review", "pending"),
    ("In-Review", "pending"), ("Open", "pending"),
])
def test_outcome_spellings(text: str, value: str) -> None:
    result = ingest([row(decision=text, final_decision=text)])
    assert column(result, "decision") == column(result, "final_decision") == [value]
    assert result.warnings.num_rows == 0


# --- lenient fields: a warning, the row kept ---------------------------------------------------

def test_unknown_outcome_is_a_warning_and_the_row_is_kept() -> None:
    result = ingest([row(1, decision="Approved"), row(2, decision="Withdrawn"),
                     row(3, decision="Withdrawn", final_decision="Withdrawn")])
    assert (result.rows_in, result.rows_accepted, result.rows_rejected) == (3, 3, 0)
    assert column(result, "decision") == ["approved", None, None]
    assert lines(result.warnings) == [
        (2, "decision", f"decision 'Withdrawn' {DECISION_IS}"),
        (3, "decision", f"decision 'Withdrawn' {DECISION_IS}"),
        (3, "final_decision", f"final_decision 'Withdrawn' {DECISION_IS}")]
    assert result.warnings.schema == result.errors.schema
    assert [w["value"] for w in result.warnings.to_pylist()] == ["Withdrawn"] * 3
    assert result.warning_counts() == {"decision": 2, "final_decision": 1}
    assert result.summary() == ("read 3 rows: 3 accepted, 0 rejected (0 errors); 3 values "
                                "read as not documented (warnings)")


@pytest.mark.parametrize(("name", "text"), [
    ("sex", "U"), ("sex", "Unknown"), ("request_date", "yesterday"), ("completed", "maybe"),
    ("preauth_required", "X?"), ("peer_to_peer", "2")])
def test_every_lenient_field_warns(name: str, text: str) -> None:
    result = ingest([row(**{name: text})])
    assert result.rows_accepted == 1 and result.errors.num_rows == 0
    assert column(result, name) == [None]
    [(_, col, message)] = lines(result.warnings)
    assert col == name and message.startswith(f"{name} '{text}' is not ")


@pytest.mark.parametrize(("name", "text"), [
    ("trauma", "sideways"), ("radiculopathy", "maybe"), ("age", "old"), ("cpt_code", "99999"),
    ("region", "sacral"), ("contrast", "some"), ("physical_therapy", "Withdrawn"),
    ("symptom_weeks", "6,5")])
def test_a_bad_value_the_criteria_or_identity_need_is_a_row_error(name: str, text: str) -> None:
    result = ingest([row(1, **{name: text}), row(2)])
    assert (result.rows_accepted, result.rows_rejected) == (1, 1)
    assert {(e["row"], e["column"]) for e in result.errors.to_pylist()} == {(1, name)}
    assert result.warnings.num_rows == 0


def test_a_warning_in_a_rejected_row_is_not_listed() -> None:
    result = ingest([row(1, decision="Withdrawn", age="old"), row(2, decision="Withdrawn")])
    assert [w["row"] for w in result.warnings.to_pylist()] == [2]
    assert [e["column"] for e in result.errors.to_pylist()] == ["age"]


def test_no_criterion_reads_a_lenient_field() -> None:
    """The lenient rule cannot drift: a field becomes lenient only by name, and no criterion
    in the bundled library may read one (a bad value there must reject the row)."""
    assert {f.name for f in LENIENT_FIELDS} == {
        "request_date", "carrier", "sex", "preauth_required", "decision", "peer_to_peer",
        "final_decision", "completed"}
    assert all(f.lenient for f in FIELDS if f.outcome)
    assert not any(FIELDS_BY_NAME[n].lenient for n in ("case_id", "cpt_code", "region",
                                                         "contrast"))
    lenient = {f.name for f in LENIENT_FIELDS}
    for policy in load_library().policies:
        for criterion in policy.criteria:
            used = set(criterion.expression.fields)
            assert not used & lenient, (policy.id, criterion.id, used & lenient)


# --- dates as the column shows them ------------------------------------------------------------

def test_month_first_column() -> None:
    result = ingest([row(1, request_date="03/04/2024"), row(2, request_date="04/13/2024"),
                     row(3, request_date="2024-05-06"), row(4, request_date="1/2/2024 0:00")])
    assert column(result, "request_date") == [dt.date(2024, 3, 4), dt.date(2024, 4, 13),
                                              dt.date(2024, 5, 6), dt.date(2024, 1, 2)]
    assert result.notes == ["request_date: dates read as M/D/YYYY (04/13/2024 shows the order)"]
    assert result.decisions.date_orders == {"request_date": (MONTH_FIRST, "04/13/2024")}


def test_day_first_column_and_dotted_dates() -> None:
    result = ingest([row(1, request_date="03/04/2024"), row(2, request_date="13/04/2024"),
                     row(3, request_date="5.6.2024"), row(4, request_date="31.12.2024")])
    assert column(result, "request_date") == [dt.date(2024, 4, 3), dt.date(2024, 4, 13),
                                              dt.date(2024, 6, 5), dt.date(2024, 12, 31)]
    assert result.decisions.date_orders["request_date"][0] == DAY_FIRST


def test_dotted_dates_alone_need_no_order() -> None:
    result = ingest([row(1, request_date="03.04.2024"), row(2, request_date="5.5.2024")])
    assert column(result, "request_date") == [dt.date(2024, 4, 3), dt.date(2024, 5, 5)]
    assert result.notes == [] and result.warnings.num_rows == 0


def test_ambiguous_column_asks_which() -> None:
    rows = [{"Request ID": f"C{i}", "Procedure Code": "72148", "Date Requested": d}
            for i, d in enumerate(["03/04/2024", "05/05/2024", "1/2/2024", "11/12/2024"])]
    with pytest.raises(AmbiguousDates) as info:
        ingest(rows)
    err = info.value
    assert isinstance(err, IngestError) and not isinstance(err, MixedDates)
    assert (err.field, err.header, err.filename) == ("request_date", "Date Requested",
                                                     "file.csv")
    assert err.formats == ("%m/%d/%Y", "%d/%m/%Y")
    assert err.examples == ("03/04/2024", "1/2/2024", "11/12/2024")  # 05/05 is one date
    assert str(err) == (
        'file.csv: request_date ("Date Requested") has dates like 03/04/2024 that read as '
        'M/D/YYYY or D/M/YYYY; say which with formats: {request_date: "%m/%d/%Y"} (or '
        '"%d/%m/%Y") in a mapping profile')


def test_a_column_of_one_date_both_ways_is_not_ambiguous() -> None:
    result = ingest([row(1, request_date="05/05/2024"), row(2, request_date="2024-01-02")])
    assert column(result, "request_date") == [dt.date(2024, 5, 5), dt.date(2024, 1, 2)]


def test_mixed_conventions_are_a_whole_column_problem() -> None:
    rows = [row(1, request_date="04/13/2024"), row(2, request_date="1/1/2024"),
            row(3, request_date="25/12/2024")]
    with pytest.raises(MixedDates) as info:
        ingest(rows)
    assert info.value.examples == ("04/13/2024", "25/12/2024")
    assert str(info.value) == (
        "file.csv: request_date has dates that only read as M/D/YYYY (04/13/2024) and dates "
        "that only read as D/M/YYYY (25/12/2024); say which with formats: "
        '{request_date: "%m/%d/%Y"} (or "%d/%m/%Y") in a mapping profile')


def test_impossible_slash_dates_do_not_decide() -> None:
    found = slash_dates(pa.array(["02/30/2024", "13/13/2024", "3/4/2024"]))
    assert found.undecided and found.ambiguous == ("3/4/2024",)


def test_an_explicit_format_wins_and_mismatches_warn_in_a_lenient_field() -> None:
    rows = [row(1, request_date="03/04/2024"), row(2, request_date="2024-01-02"),
            row(3, request_date="4/5/2024 00:00"), row(4, request_date="25/12/2024")]
    result = ingest(rows, formats={"request_date": "%d/%m/%Y"})
    assert column(result, "request_date") == [dt.date(2024, 4, 3), None, dt.date(2024, 5, 4),
                                              dt.date(2024, 12, 25)]
    assert result.rows_accepted == 4 and result.notes == []
    assert lines(result.warnings) == [(2, "request_date", (
        "request_date '2024-01-02' is not a date written as %d/%m/%Y — read as not "
        "documented"))]


def test_month_names_and_two_digit_years_by_format() -> None:
    result = ingest([row(1, request_date="05-Jan-2024"), row(2, request_date="5-SEPT-99")],
                    formats={"request_date": "%d-%b-%Y"})
    assert column(result, "request_date") == [dt.date(2024, 1, 5), None]
    result = ingest([row(1, request_date="1/5/24"), row(2, request_date="12/31/69")],
                    formats={"request_date": "%m/%d/%y"})
    assert column(result, "request_date") == [dt.date(2024, 1, 5), dt.date(1969, 12, 31)]


def test_a_date_field_the_criteria_need_rejects_a_mismatch(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """Every date field is lenient today; a date field that is not (one a criterion reads)
    rejects a value its format does not read - the rule is by Field.lenient, not by kind."""
    strict = dataclasses.replace(FIELDS_BY_NAME["request_date"], lenient=False)
    monkeypatch.setattr(validate_module, "FIELDS",
                        tuple(strict if f.name == "request_date" else f for f in FIELDS))
    monkeypatch.setattr(validate_module, "FIELDS_BY_NAME",
                        {**FIELDS_BY_NAME, "request_date": strict})
    result = ingest([row(1, request_date="2024-01-02"), row(2, request_date="02/01/2024")],
                    formats={"request_date": "%m/%d/%Y"})
    assert (result.rows_accepted, result.rows_rejected) == (1, 1)
    assert lines(result.errors) == [(1, "request_date", (
        "request_date must be a date written as %m/%d/%Y, got '2024-01-02'"))]
    assert result.warnings.num_rows == 0


# --- checkbox columns --------------------------------------------------------------------------

def test_checkbox_column() -> None:
    rows = [{"Request ID": f"C{i}", "CPT": "72148", "PT": v, "Radiculopathy": r}
            for i, (v, r) in enumerate([("X", "Y"), ("", "N"), ("x", ""), (" ✓ ", "yes")])]
    result = ingest(rows)
    assert column(result, "physical_therapy") == [True, False, True, True]
    assert column(result, "radiculopathy") == [True, False, None, True]  # not a checkbox
    assert result.notes == ["PT: read as a checkbox column (X = yes, blank = no)"]
    assert result.decisions.checkboxes == {"physical_therapy": True, "radiculopathy": False}


def test_a_mark_in_a_yes_no_column_is_a_row_error() -> None:
    result = ingest([row(1, radiculopathy="yes"), row(2, radiculopathy="X")])
    assert lines(result.errors) == [
        (2, "radiculopathy", "radiculopathy must be true/false, yes/no, y/n or 1/0, got 'X'")]
    assert result.notes == []


def test_an_empty_column_is_not_a_checkbox_column() -> None:
    result = ingest([row(1, radiculopathy=""), row(2, radiculopathy=" ")])
    assert column(result, "radiculopathy") == [None, None]


# --- decimal commas ----------------------------------------------------------------------------

def test_decimal_commas_in_a_semicolon_file() -> None:
    result = ingest([row(1, symptom_weeks="6,5", age="40,0"), row(2, symptom_weeks="7.5"),
                     row(3, symptom_weeks="1,000")], delimiter=";")
    assert column(result, "symptom_weeks") == [6.5, 7.5, 1.0]
    assert column(result, "age") == [40, None, None]


@pytest.mark.parametrize("delimiter", [",", "\t", "|"])
def test_no_decimal_commas_elsewhere(delimiter: str) -> None:
    result = ingest([row(1, symptom_weeks="6,5"), row(2, symptom_weeks="1,000")],
                    delimiter=delimiter)
    assert result.rows_accepted == 0
    assert [e["value"] for e in result.errors.to_pylist()] == ["6,5", "1,000"]


def test_a_single_value_has_no_decimal_comma() -> None:
    from preauth.catalog.values import InvalidValue, parse_value

    with pytest.raises(InvalidValue):
        parse_value("symptom_weeks", "6,5")


# --- a profile's values and formats ------------------------------------------------------------

def test_values_map_exact_then_any_case_and_empty_target() -> None:
    rows = [row(1, decision="Withdrawn", sex="Unknown", carrier="BCBS TX"),
            row(2, decision="withdrawn", sex="unknown", carrier="bcbs tx"),
            row(3, decision="Pend", sex="F", carrier="Aetna"),
            row(4, decision="WITHDRAWN", sex="UNKNOWN", carrier="BCBS  TX")]
    values = {"decision": {"Withdrawn": "cancelled", "withdrawn": "denied", "Pend": ""},
              "sex": {"unknown": ""}, "carrier": {" BCBS TX ": "Blue Cross"},
              "trauma": {"x": "none"}}  # a field the file does not have: ignored
    result = ingest(rows, values=values)
    # exact first; else any case, the first key so spelled; "" is not documented
    assert column(result, "decision") == ["cancelled", "denied", None, "cancelled"]
    assert column(result, "sex") == [None, None, "F", None]
    assert column(result, "carrier") == ["Blue Cross", "Blue Cross", "Aetna", "BCBS  TX"]
    assert result.warnings.num_rows == 0 and result.errors.num_rows == 0


def test_values_map_before_checkbox_and_dates() -> None:
    rows = [row(1, physical_therapy="Done", request_date="Q1"),
            row(2, physical_therapy="", request_date="2024-02-03")]
    result = ingest(rows, values={"physical_therapy": {"done": "X"},
                                  "request_date": {"q1": "2024-01-01"}})
    assert column(result, "physical_therapy") == [True, False]
    assert column(result, "request_date") == [dt.date(2024, 1, 1), dt.date(2024, 2, 3)]


@pytest.mark.parametrize(("profile", "message"), [
    ({"values": {"decison": {"a": "approved"}}},
     "file.csv: values: 'decison' is not a case field"),
    ({"values": {"decision": {"Withdrawn": "gone"}}},
     "file.csv: values: decision: 'Withdrawn' is mapped to 'gone', but decision must be one "
     "of approved, denied, cancelled, pending"),
    ({"values": {"case_id": {"a": "b"}}}, "file.csv: values: case_id is the row's identity"),
    ({"values": {"sex": ["M"]}}, "file.csv: values: sex must map source values"),
    ({"formats": {"age": "%Y"}}, "file.csv: formats: age is a whole number from 0 to 120, "
                                 "not a date"),
    ({"formats": {"request_date": "%m/%Y"}},
     "file.csv: formats: request_date: date format '%m/%Y' must give the day exactly once"),
    ({"formats": {"request_date": "%m/%d/%Y %Z"}}, "%Z is not supported"),
    ({"values": {"request_date": {"a": "03/04/2024"}}}, "'a' is mapped to '03/04/2024'"),
])
def test_a_bad_profile_entry_is_refused(profile: dict[str, object], message: str) -> None:
    with pytest.raises(IngestError) as info:
        ingest([row(1, decision="x", request_date="2024-01-01")], **profile)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_values_and_formats_together() -> None:
    result = ingest([row(1, request_date="2024/13/03")],
                    values={"request_date": {"2024/13/03": "03/13/2024"}},
                    formats={"request_date": "%m/%d/%Y"})
    assert column(result, "request_date") == [dt.date(2024, 3, 13)]


# --- headers exports use -----------------------------------------------------------------------

def test_um_export_headers_are_recognised() -> None:
    headers = ["Request ID", "Procedure Code", "Payer", "Patient Age", "Gender", "Status",
               "Date Requested", "Final Status", "Payor"]
    assert propose_mapping(headers) == {
        "Request ID": "case_id", "Procedure Code": "cpt_code", "Payer": "carrier",
        "Patient Age": "age", "Gender": "sex", "Status": "decision",
        "Date Requested": "request_date", "Final Status": "final_decision"}


# --- a realistic export ------------------------------------------------------------------------

def realistic_export(n: int = 200, seed: int = 11) -> tuple[bytes, set[int]]:
    """A utilization-management export as Windows-1252 CSV: US dates, Male/Female, status
    words (some 'Withdrawn'), Y/N and checkbox columns, payer names with cp1252 letters.
    Returns (bytes, the rows with a Withdrawn status)."""
    rng = random.Random(seed)
    header = ["Request ID", "Procedure Code", "Payer", "Patient Age", "Gender", "Status",
              "Date Requested", "Radiculopathy", "PT", "Conservative Care Weeks"]
    statuses = ["Approved", "Denied", "Pended", "Cancelled", "Approved", "Not Certified"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    withdrawn = set()
    for i in range(1, n + 1):
        status = "Withdrawn" if i % 29 == 0 else rng.choice(statuses)
        if status == "Withdrawn":
            withdrawn.add(i)
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        writer.writerow([
            f"UM-{i:05d}", rng.choice(list(CPT_CODES)),
            rng.choice(["Blue Cross – Texas", "Zoë Health", "Aetna", "Cigna"]),
            str(rng.randint(18, 90)), rng.choice(["Male", "Female"]), status,
            f"{month}/{day}/2024", rng.choice(["Y", "N", ""]), rng.choice(["X", ""]),
            rng.choice(["6", "8", "", "4.5"])])
    return out.getvalue().encode("cp1252"), withdrawn


def test_a_realistic_export_gets_in_whole() -> None:
    data, withdrawn = realistic_export()
    raw = read_raw(data, "um_export.csv")
    assert raw.encoding not in ("utf-8", "utf-8-sig")
    result = validate(raw)
    assert set(result.mapping.values()) == {
        "case_id", "cpt_code", "carrier", "age", "sex", "decision", "request_date",
        "radiculopathy", "physical_therapy", "conservative_therapy_weeks"}
    assert (result.rows_in, result.rows_accepted, result.rows_rejected) == (200, 200, 0)
    assert {(w["row"], w["column"], w["value"]) for w in result.warnings.to_pylist()} == {
        (r, "decision", "Withdrawn") for r in withdrawn}
    assert result.warning_counts() == {"decision": len(withdrawn)}
    assert None not in column(result, "sex") and None not in column(result, "request_date")
    assert set(column(result, "carrier")) == {"Blue Cross – Texas", "Zoë Health", "Aetna",
                                              "Cigna"}
    assert result.notes[0].startswith("Date Requested: dates read as M/D/YYYY")
    assert result.notes[1] == "PT: read as a checkbox column (X = yes, blank = no)"


# --- in batches --------------------------------------------------------------------------------

def write(tmp_path: Path, rows: list[dict[str, str]], name: str = "big.parquet") -> Path:
    """Parquet (text columns): streamed ``batch_rows`` at a time, whatever the size (a small
    CSV streams as one block)."""
    path = tmp_path / name
    names = list(dict.fromkeys(k for r in rows for k in r))
    pq.write_table(pa.table({k: pa.array([r.get(k, "") for r in rows], pa.string())
                             for k in names}), path)
    return path


def same_whole_and_batched(path: Path, batch_rows: int, **profile: object) -> IngestResult:
    whole = validate(read_raw(path), **profile)  # type: ignore[arg-type]
    batched = validate_in_batches(path, batch_rows, **profile)  # type: ignore[arg-type]
    assert batched is not None
    assert batched.accepted.equals(whole.accepted)
    assert batched.errors.to_pylist() == whole.errors.to_pylist()
    assert batched.warnings.to_pylist() == whole.warnings.to_pylist()
    assert batched.notes == whole.notes and batched.decisions == whole.decisions
    return batched


def test_batches_read_slash_dates_in_the_order_the_first_batch_set(tmp_path: Path) -> None:
    dates = ["04/13/2024", "1/2/2024", "3/4/2024", "2024-01-01", "5/6/2024", "12/11/2024"]
    path = write(tmp_path, [row(i, request_date=d) for i, d in enumerate(dates)])
    result = same_whole_and_batched(path, 2)
    assert column(result, "request_date")[1:3] == [dt.date(2024, 1, 2), dt.date(2024, 3, 4)]


def test_a_later_batch_with_the_other_order_raises_what_the_whole_file_does(tmp_path: Path
                                                                             ) -> None:
    dates = ["1/2/2024", "04/13/2024", "3/4/2024", "5/6/2024", "25/12/2024", "13/1/2024"]
    path = write(tmp_path, [row(i, request_date=d) for i, d in enumerate(dates)])
    with pytest.raises(MixedDates) as whole:
        validate(read_raw(path))
    with pytest.raises(MixedDates) as batched:
        validate_in_batches(path, 2)
    assert str(batched.value) == str(whole.value)
    assert whole.value.examples == ("04/13/2024", "25/12/2024")


def test_an_ambiguous_first_batch_asks_even_if_later_rows_would_tell(tmp_path: Path) -> None:
    """The documented difference: in batches the first batch holding slash dates must show
    their order (the whole file would have read it from a later row)."""
    path = write(tmp_path, [row(i, request_date=d) for i, d in
                            enumerate(["1/2/2024", "3/4/2024", "04/13/2024"])])
    assert column(validate(read_raw(path)), "request_date")[0] == dt.date(2024, 1, 2)
    with pytest.raises(AmbiguousDates, match="has dates like 1/2/2024"):
        validate_in_batches(path, 2)
    assert same_whole_and_batched(path, 2, formats={"request_date": MONTH_FIRST})


def test_a_checkbox_column_found_late_reads_earlier_blanks_as_no(tmp_path: Path) -> None:
    cells = ["", "", "", "X", "", "x"]
    path = write(tmp_path, [row(i, physical_therapy=c) for i, c in enumerate(cells)])
    result = same_whole_and_batched(path, 2)
    assert column(result, "physical_therapy") == [False, False, False, True, False, True]


def test_a_checkbox_column_that_is_not_one_later_is_read_whole(tmp_path: Path) -> None:
    cells = ["X", "", "X", "yes", "", "no"]
    path = write(tmp_path, [row(i, physical_therapy=c) for i, c in enumerate(cells)])
    assert validate_in_batches(path, 2) is None  # the caller reads it whole:
    whole = validate(read_raw(path))
    assert [e["row"] for e in whole.errors.to_pylist()] == [1, 3]  # X in a yes/no column


def test_profile_and_warnings_in_batches(tmp_path: Path) -> None:
    rows = [row(i, decision=d, sex=s) for i, (d, s) in enumerate(
        [("Withdrawn", "Male"), ("Approved", "?"), ("Gone", "F"), ("withdrawn", "female"),
         ("Pend", "M")])]
    rows.append(dict(rows[2]))  # a repeated case_id: rejected, its warning not listed
    path = write(tmp_path, rows)
    result = same_whole_and_batched(path, 2, values={"decision": {"Withdrawn": "cancelled"}})
    assert column(result, "decision") == ["cancelled", "approved", None, "cancelled", None]
    assert [(w["row"], w["column"]) for w in result.warnings.to_pylist()] == [
        (2, "sex"), (3, "decision"), (5, "decision")]
