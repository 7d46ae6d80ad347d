"""preauth.ingest: reading uploads (formats, encodings, delimiters) and row validation."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from preauth.catalog.fields import FIELDS, FIELDS_BY_NAME, Kind
from preauth.catalog.schema import arrow_schema
from preauth.catalog.values import MAX_CELL_CHARS
from preauth.ingest.errors import IngestError
from preauth.ingest.mapping import normalise_header, propose_mapping, resolve_mapping
from preauth.ingest.raw import RawTable
from preauth.ingest.read import read_raw
from preauth.ingest.validate import IngestResult, validate

# One valid row with every catalog column, as a user's file would spell it.
VALID: dict[str, str] = {}
for _f in FIELDS:
    if _f.kind is Kind.BOOLEAN:
        VALID[_f.name] = "no"
    elif _f.kind is Kind.ENUM:
        VALID[_f.name] = _f.values[0]
    elif _f.kind is Kind.INTEGER:
        VALID[_f.name] = str(int(_f.maximum or 10) // 2)
    elif _f.kind is Kind.NUMBER:
        VALID[_f.name] = "2.5"
    elif _f.kind is Kind.DATE:
        VALID[_f.name] = "2024-03-01"
    else:
        VALID[_f.name] = "x"
VALID.update(case_id="C1", carrier="Aetna", cpt_code="72148", region="lumbar",
             contrast="without", sex="F", age="40")


def rows_csv(rows: list[dict[str, str]], delimiter: str = ",",
             columns: list[str] | None = None) -> str:
    columns = columns or list(dict.fromkeys(k for row in rows for k in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, delimiter=delimiter, lineterminator="\n",
                            restval="")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def ingest_text(text: str, filename: str = "cases.csv", mapping=None) -> IngestResult:
    return validate(read_raw(text.encode("utf-8"), filename), mapping)


def ingest_rows(rows: list[dict[str, str]], mapping=None) -> IngestResult:
    return ingest_text(rows_csv(rows), mapping=mapping)


def one(**cells: str) -> dict[str, str]:
    """A small valid row (case_id + cpt_code) with ``cells`` on top."""
    row = {"case_id": "C1", "cpt_code": "72148"}
    row.update(cells)
    return row


def error_lines(result: IngestResult) -> list[tuple[int, str, str]]:
    return [(e["row"], e["column"], e["message"]) for e in result.errors.to_pylist()]


def check_counts(result: IngestResult) -> None:
    assert result.rows_in == result.rows_accepted + result.rows_rejected
    assert result.accepted.num_rows == result.rows_accepted
    assert len(set(result.errors.column("row").to_pylist())) == result.rows_rejected


# --- headers and mapping ----------------------------------------------------------------

@pytest.mark.parametrize(("header", "expected"), [
    ("case_id", "case_id"), (" Case ID ", "case_id"), ("Case-ID", "case_id"),
    ("CPT.Code", "cpt_code"), ("symptom  weeks", "symptom_weeks"), ("a__b", "a_b"),
    ("\ufeffcase_id", "case_id"), ("Prior -- Spine.Surgery region", "prior_spine_surgery_region"),
])
def test_normalise_header(header: str, expected: str) -> None:
    assert normalise_header(header) == expected


def test_propose_mapping_names_and_synonyms() -> None:
    headers = ["Case ID", "CPT", "Gender", "Payer", "PT", "X-Ray", "Patient Age", "notes"]
    assert propose_mapping(headers) == {
        "Case ID": "case_id", "CPT": "cpt_code", "Gender": "sex", "Payer": "carrier",
        "PT": "physical_therapy", "X-Ray": "prior_radiographs", "Patient Age": "age"}


def test_exact_name_beats_synonym_and_the_loser_is_unmapped() -> None:
    result = ingest_text("id,case_id,cpt_code\nX,C1,72148\n")
    assert result.mapping == {"case_id": "case_id", "cpt_code": "cpt_code"}
    assert result.unmapped_columns == ["id"]
    assert result.accepted.column("case_id").to_pylist() == ["C1"]


def test_unmapped_columns_are_reported_not_errors() -> None:
    result = ingest_text("case_id,cpt_code,notes,Referring Doc\nC1,72148,hello,Dr X\n")
    assert result.unmapped_columns == ["notes", "Referring Doc"]
    assert result.rows_accepted == 1 and result.errors.num_rows == 0


def test_user_mapping_overrides_the_proposal() -> None:
    text = "Patient ID,id,procedure,Back region\nP1,junk,72148,LUMBAR\n"
    raw = read_raw(text.encode(), "m.csv")
    assert resolve_mapping(raw.headers)["id"] == "case_id"
    result = validate(raw, {"Patient ID": "case_id", "procedure": "cpt_code",
                            "Back region": "region"})
    assert result.mapping == {"Patient ID": "case_id", "procedure": "cpt_code",
                              "Back region": "region"}
    assert result.unmapped_columns == ["id"]
    row = result.accepted.to_pylist()[0]
    assert (row["case_id"], row["cpt_code"], row["region"]) == ("P1", "72148", "lumbar")


def test_user_mapping_none_drops_a_column() -> None:
    raw = read_raw(b"case_id,cpt_code,age\nC1,72148,old\n", "m.csv")
    assert validate(raw).rows_rejected == 1
    result = validate(raw, {"age": None})
    assert result.rows_accepted == 1 and result.unmapped_columns == ["age"]
    assert result.accepted.column("age").to_pylist() == [None]


@pytest.mark.parametrize(("mapping", "fragment"), [
    ({"nope": "age"}, "does not have"),
    ({"a": "not_a_field"}, "not a case field"),
    ({"a": "age", "b": "age"}, "both mapped to age"),
    ({"case_id": None}, "no case_id column"),
])
def test_bad_mappings_are_file_errors(mapping: dict, fragment: str) -> None:
    raw = read_raw(b"case_id,cpt_code,a,b\nC1,72148,1,2\n", "m.csv")
    with pytest.raises(IngestError, match=fragment) as info:
        validate(raw, mapping)
    assert str(info.value).startswith("m.csv: ")


def test_missing_case_id_column() -> None:
    with pytest.raises(IngestError, match=r"^x\.csv: no case_id column") as info:
        ingest_text("patient,cpt_code\nP1,72148\n", "x.csv")
    assert "\n" not in str(info.value)


def test_duplicate_columns_after_normalisation() -> None:
    with pytest.raises(IngestError, match="duplicate column names 'Age' and 'age '"):
        read_raw(b"case_id,Age,age \nC1,4,5\n", "d.csv")


def test_too_many_columns() -> None:
    header = ",".join(["case_id", *(f"c{i}" for i in range(2001))])
    with pytest.raises(IngestError, match="2,002 columns; at most 2,000"):
        read_raw((header + "\n").encode(), "wide.csv")


# --- whole-file problems ----------------------------------------------------------------

@pytest.mark.parametrize(("data", "filename", "fragment"), [
    (b"", "e.csv", "the file is empty"),
    (b"  \r\n\n ", "e.csv", "the file is empty"),
    (b"\xef\xbb\xbf", "e.csv", "the file is empty"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "img.csv", "PNG image"),
    (b"PK\x03\x04" + bytes(100), "book.csv", "ZIP archive"),
    (random.Random(1).randbytes(4000), "junk.csv", "binary"),
    (b"case_id,cpt\x00code\nC1,72148\n", "nul.csv", "binary"),
    (b"C001,72148,45,F\nC002,72148,50,M\n", "nohead.csv", "no header row"),
    (b",,,\nC1,72148,,\n", "blank.csv", "no header row"),
    (b"case_id\n1\n", "cases.xls", "old binary Excel"),
    (b"case_id\n1\n", "cases.sav", "unsupported file type '.sav'"),
    (b"PAR1 not really", "t.parquet", "could not be read as PARQUET"),
    (b"not parquet", "t.parquet", "not a Parquet file"),
    (b"[1, 2, 3]", "a.json", "item 1 of the JSON array is not an object"),
    (b'"just a string"', "a.json", "not records"),
    (b'{"case_id": "C1"', "a.json", "not valid JSON"),
    (b'{"case_id": "C1"}\n[1]\n', "a.jsonl", "line 2 is not a JSON object"),
    (b'{"case_id": "C1"}\n{oops}\n', "a.jsonl", "line 2 is not valid JSON"),
    (b"[]", "a.json", "contains no records"),
])
def test_unusable_files_raise_one_clear_line(data: bytes, filename: str, fragment: str) -> None:
    with pytest.raises(IngestError) as info:
        read_raw(data, filename)
    message = str(info.value)
    assert message.startswith(f"{filename}: ")
    assert fragment in message
    assert "\n" not in message


def test_missing_path_is_an_ingest_error(tmp_path) -> None:
    with pytest.raises(IngestError, match="file not found"):
        read_raw(tmp_path / "nope.csv")


def test_xlsx_without_openpyxl_says_so(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import fails
    with pytest.raises(IngestError, match="needs the openpyxl package"):
        read_raw(b"PK\x03\x04", "book.xlsx")


def test_header_only_file_is_zero_rows() -> None:
    result = ingest_text("case_id,cpt_code,age\n")
    assert (result.rows_in, result.rows_accepted, result.rows_rejected) == (0, 0, 0)
    assert result.accepted.schema == arrow_schema().append(pa.field("row", pa.int64()))
    assert result.summary() == "read 0 rows: 0 accepted, 0 rejected (0 errors)"
    assert ingest_text("case_id,cpt_code").rows_in == 0  # no final line break


# --- encodings and delimiters -----------------------------------------------------------

CARRIER = "Société Générale Assurance"


@pytest.mark.parametrize(("encoding", "detected"), [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16-le"),
    ("utf-16-be", "utf-16-be"), ("latin-1", "cp1252"), ("cp1252", "cp1252"),
])
def test_encodings(encoding: str, detected: str) -> None:
    text = f"case_id,carrier,cpt_code\nC1,{CARRIER},72148\nC2,Zoë €,72149\n"
    if encoding == "latin-1":
        text = text.replace(" €", "")
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    raw = read_raw(data, "enc.csv")
    assert raw.encoding == detected
    result = validate(raw)
    assert result.rows_accepted == 2
    assert result.accepted.column("carrier").to_pylist()[0] == CARRIER
    assert result.accepted.column("carrier").to_pylist()[1].startswith("Zoë")


def test_latin1_detected_after_the_sampled_megabyte() -> None:
    lines = ["case_id,carrier,cpt_code"] + [f"C{i},Aetna,72148" for i in range(80_000)]
    lines.append(f"L1,{CARRIER},72148")
    raw = read_raw(("\n".join(lines) + "\n").encode("latin-1"), "late.csv")
    assert raw.encoding == "cp1252"
    result = validate(raw)
    assert result.rows_accepted == 80_001
    assert result.accepted.column("carrier")[-1].as_py() == CARRIER


def test_utf8_bom_with_invalid_bytes_is_refused() -> None:
    data = b"\xef\xbb\xbfcase_id,carrier\nC1,Soci\xe9t\xe9\n"
    with pytest.raises(IngestError, match="could not be decoded as UTF-8"):
        read_raw(data, "bom.csv")


def test_bomless_utf16() -> None:
    raw = read_raw("case_id,cpt_code\nC1,72148\n".encode("utf-16-le"), "u.csv")
    assert raw.encoding == "utf-16-le"
    assert validate(raw).rows_accepted == 1


@pytest.mark.parametrize(("delimiter", "filename"), [
    (";", "semi.csv"), ("\t", "tabs.csv"), ("\t", "tabs.tsv"), ("|", "pipes.txt"),
    (",", "commas.txt"),
])
def test_delimiters(delimiter: str, filename: str) -> None:
    rows = [one(case_id="C1", carrier="A, B; C", age="40"),
            one(case_id="C2", carrier="D|E", age="41")]
    raw = read_raw(rows_csv(rows, delimiter).encode(), filename)
    assert raw.delimiter == delimiter
    result = validate(raw)
    assert result.rows_accepted == 2
    assert result.accepted.column("carrier").to_pylist() == ["A, B; C", "D|E"]
    assert result.accepted.column("age").to_pylist() == [40, 41]


def test_quoted_line_breaks_and_quotes() -> None:
    text = 'case_id,carrier,cpt_code\nC1,"line one\nline two",72148\nC2,"say ""hi""",72148\n'
    result = ingest_text(text)
    assert result.accepted.column("carrier").to_pylist() == ["line one\nline two", 'say "hi"']


def test_blank_lines_and_blank_rows_are_skipped() -> None:
    text = "\n\ncase_id,cpt_code,age\n\nC1,72148,40\n,,\n  ,  ,\nC2,72148,41\n\n"
    result = ingest_text(text)
    assert result.rows_in == 2 and result.rows_accepted == 2
    assert result.accepted.column("row").to_pylist() == [1, 2]


def test_ragged_rows_are_row_errors() -> None:
    text = "case_id,cpt_code,age\nC1,72148,40\nC2,72148\nC3,72148,41,extra\nC4,72148,42\n"
    result = ingest_text(text)
    check_counts(result)
    assert result.accepted.column("case_id").to_pylist() == ["C1", "C4"]
    assert error_lines(result) == [
        (2, "(row)", "row has 2 cells but the header has 3"),
        (3, "(row)", "row has 4 cells but the header has 3"),
    ]


def test_sources_path_bytes_and_file_like(tmp_path) -> None:
    data = b"case_id,cpt_code\nC1,72148\n"
    path = tmp_path / "cases.csv"
    path.write_bytes(data)
    for raw in (read_raw(path), read_raw(str(path), "cases.csv"), read_raw(data, "cases.csv"),
                read_raw(io.BytesIO(data), "cases.csv"), read_raw(bytearray(data), "x.CSV")):
        assert validate(raw).accepted.column("case_id").to_pylist() == ["C1"]
        assert raw.format == "csv"


# --- Parquet / JSON / XLSX --------------------------------------------------------------

def typed_table() -> pa.Table:
    return pa.table({
        "case_id": pa.array(["C1", "C2", "C3"]),
        "cpt_code": pa.array([72148, 72141, 72149], pa.int64()),
        "age": pa.array([40.0, None, float("nan")], pa.float64()),
        "radiculopathy": pa.array([True, False, None]),
        "request_date": pa.array([dt.date(2024, 1, 5), None, dt.date(2024, 2, 29)]),
        "symptom_weeks": pa.array([1.5, 6, 0], pa.float32()),
        "sex": pa.array(["f", "M", None]).dictionary_encode(),
        "opened": pa.array([dt.datetime(2024, 1, 5, 9, 30), None, None]),
    })


def check_typed(result: IngestResult) -> None:
    assert result.rows_accepted == 3, result.errors.to_pylist()
    got = result.accepted.select(["case_id", "cpt_code", "region", "age", "radiculopathy",
                                  "request_date", "symptom_weeks", "sex"]).to_pylist()
    assert got == [
        dict(case_id="C1", cpt_code="72148", region="lumbar", age=40, radiculopathy=True,
             request_date=dt.date(2024, 1, 5), symptom_weeks=1.5, sex="F"),
        dict(case_id="C2", cpt_code="72141", region="cervical", age=None, radiculopathy=False,
             request_date=None, symptom_weeks=6.0, sex="M"),
        dict(case_id="C3", cpt_code="72149", region="lumbar", age=None, radiculopathy=None,
             request_date=dt.date(2024, 2, 29), symptom_weeks=0.0, sex=None),
    ]


def test_parquet_round_trip(tmp_path) -> None:
    path = tmp_path / "cases.parquet"
    pq.write_table(typed_table(), path)
    raw = read_raw(path)
    assert raw.format == "parquet"
    # the types validation reads typed are kept (booleans, integers, float64, dates,
    # timestamps, dictionaries of text), the others rendered as text
    types = dict(zip(raw.table.column_names, raw.table.schema.types, strict=True))
    assert types["radiculopathy"] == pa.bool_() and types["cpt_code"] == pa.int64()
    assert types["age"] == pa.float64() and types["request_date"] == pa.date32()
    assert types["opened"] == pa.timestamp("us")
    assert types["symptom_weeks"] == pa.string()  # float32: read as text
    assert pa.types.is_dictionary(types["sex"])
    assert raw.table.column("sex").to_pylist() == ["f", "M", None]
    check_typed(validate(raw))
    assert validate(read_raw(path.read_bytes(), "cases.pq")).rows_accepted == 3


def test_from_arrow_wraps_a_typed_table() -> None:
    check_typed(validate(RawTable.from_arrow(typed_table())))


def test_parquet_bad_value_keeps_its_text() -> None:
    table = pa.table({"case_id": ["C1"], "cpt_code": ["72148"], "age": pa.array([130], pa.int16())})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    result = validate(read_raw(buf.getvalue(), "t.parquet"))
    assert error_lines(result) == [(1, "age", "age must be a whole number from 0 to 120, "
                                              "got '130'")]


JSON_RECORDS = [
    {"case_id": "C1", "cpt_code": 72148, "age": 40, "radiculopathy": True,
     "request_date": "2024-01-05", "symptom_weeks": 1.5, "sex": "f"},
    {"case_id": "C2", "cpt_code": "72141", "age": None, "radiculopathy": False,
     "symptom_weeks": 6, "sex": "M", "extra": {"nested": [1, 2]}},
    {"case_id": "C3", "cpt_code": 72149.0, "radiculopathy": None, "request_date": "2024-02-29",
     "symptom_weeks": 0},
]


@pytest.mark.parametrize("layout", ["array", "lines", "wrapped"])
def test_json_round_trip(layout: str) -> None:
    if layout == "array":
        data, filename = json.dumps(JSON_RECORDS), "cases.json"
    elif layout == "lines":
        data, filename = "\n".join(map(json.dumps, JSON_RECORDS)) + "\n\n", "cases.jsonl"
    else:
        data, filename = json.dumps({"cases": JSON_RECORDS}), "cases.json"
    raw = read_raw(data.encode(), filename)
    assert raw.format == "json"
    assert raw.headers == ["case_id", "cpt_code", "age", "radiculopathy", "request_date",
                           "symptom_weeks", "sex", "extra"]
    # numbers keep their JSON spelling, booleans become true/false, nested values JSON text
    assert raw.table.column("cpt_code").to_pylist() == ["72148", "72141", "72149.0"]
    assert raw.table.column("extra").to_pylist() == [None, '{"nested": ["1", "2"]}', None]
    result = validate(raw)
    assert result.unmapped_columns == ["extra"]
    check_typed(result)


def test_single_json_object_is_one_record() -> None:
    raw = read_raw(b'{"case_id": "C1", "cpt_code": "72148"}', "one.ndjson")
    assert validate(raw).rows_accepted == 1


def test_xlsx_round_trip(tmp_path) -> None:
    openpyxl = pytest.importorskip("openpyxl", reason="openpyxl is not installed")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Case ID", "CPT", "Age", "Radiculopathy", "Request date", "symptom_weeks",
                  "Sex"])
    sheet.append(["C1", 72148, 40, True, dt.datetime(2024, 1, 5), 1.5, "f"])
    sheet.append(["C2", "72141", None, False, None, 6, "M"])
    sheet.append([None] * 7)
    sheet.append(["C3", 72149.0, None, None, dt.date(2024, 2, 29), 0, None])
    path = tmp_path / "cases.xlsx"
    book.save(path)
    raw = read_raw(path)
    assert raw.format == "xlsx"
    check_typed(validate(raw))


# --- row rules --------------------------------------------------------------------------

@pytest.mark.parametrize(("cell", "expected"), [
    ("true", True), ("TRUE", True), ("Yes", True), ("y", True), ("1", True), ("T", True),
    (" yes ", True), ("false", False), ("No", False), ("N", False), ("0", False), ("f", False),
    ("", None), ("   ", None),
])
def test_booleans(cell: str, expected: bool | None) -> None:
    result = ingest_rows([one(radiculopathy=cell)])
    assert result.accepted.column("radiculopathy").to_pylist() == [expected]


@pytest.mark.parametrize("cell", ["maybe", "2", "yes please", "1.0", "☑"])
def test_bad_boolean_names_column_and_value(cell: str) -> None:
    result = ingest_rows([one(), one(case_id="C2", radiculopathy=cell)])
    check_counts(result)
    assert error_lines(result) == [
        (2, "radiculopathy",
         f"radiculopathy must be true/false, yes/no, y/n or 1/0, got '{cell}'")]
    assert result.errors.to_pylist()[0]["value"] == cell
    assert result.errors.to_pylist()[0]["case_id"] == "C2"


@pytest.mark.parametrize(("column", "cell", "expected"), [
    ("region", "Lumbar", "lumbar"), ("sex", "f", "F"), ("sex", "OTHER", "other"),
    ("trauma", "Low Velocity", "low_velocity"), ("trauma", "high-velocity", "high_velocity"),
    ("contrast", "WITHOUT", "without"), ("decision", " Denied ", "denied"),
    ("cpt_code", " 72148 ", "72148"), ("cpt_code", "72148.0", "72148"),
])
def test_enums_take_the_catalog_spelling(column: str, cell: str, expected: str) -> None:
    result = ingest_rows([one(**{column: cell})])
    assert result.rows_accepted == 1, result.errors.to_pylist()
    assert result.accepted.column(column).to_pylist() == [expected]


CPT_ALLOWED = "72141, 72142, 72156, 72146, 72147, 72157, 72148, 72149, 72158"


@pytest.mark.parametrize(("column", "cell", "allowed"), [
    ("cpt_code", "99999", CPT_ALLOWED),
    ("cpt_code", "7214", CPT_ALLOWED), ("trauma", "severe", "none, low_velocity, high_velocity"),
    ("cpt_code", "72148.5", CPT_ALLOWED),
    ("prior_spine_surgery_region", "sacral", "none, cervical, thoracic, lumbar"),
])
def test_unknown_enum_value_lists_allowed_values(column: str, cell: str, allowed: str) -> None:
    result = ingest_rows([one(**{column: cell})])
    assert error_lines(result) == [(1, column, f"{column} must be one of {allowed}, got '{cell}'")]


@pytest.mark.parametrize(("column", "cell", "expected"), [
    ("age", "6", 6), ("age", "6.0", 6), ("age", "+7", 7), ("age", "0", 0), ("age", "120", 120),
    ("age", "", None), ("pain_score", "10", 10), ("motor_strength_grade", "3", 3),
    ("symptom_weeks", "2.5", 2.5), ("symptom_weeks", "0", 0.0), ("symptom_weeks", "1e2", 100.0),
    ("months_since_prior_mri", ".5", 0.5),
])
def test_numbers(column: str, cell: str, expected: float | None) -> None:
    result = ingest_rows([one(**{column: cell})])
    assert result.rows_accepted == 1, result.errors.to_pylist()
    assert result.accepted.column(column).to_pylist() == [expected]


@pytest.mark.parametrize(("column", "cell", "message"), [
    ("age", "130", "age must be a whole number from 0 to 120, got '130'"),
    ("age", "6.5", "age must be a whole number from 0 to 120, got '6.5'"),
    ("age", "-1", "age must be a whole number from 0 to 120, got '-1'"),
    ("age", "forty", "age must be a whole number from 0 to 120, got 'forty'"),
    ("age", "1,000", "age must be a whole number from 0 to 120, got '1,000'"),
    ("age", "nan", "age must be a whole number from 0 to 120, got 'nan'"),
    ("pain_score", "11", "pain_score must be a whole number from 0 to 10, got '11'"),
    ("symptom_weeks", "-1", "symptom_weeks must be a number ≥ 0, got '-1'"),
    ("symptom_weeks", "NaN", "symptom_weeks must be a number ≥ 0, got 'NaN'"),
    ("symptom_weeks", "inf", "symptom_weeks must be a number ≥ 0, got 'inf'"),
    ("symptom_weeks", "Infinity", "symptom_weeks must be a number ≥ 0, got 'Infinity'"),
    ("symptom_weeks", "1e999", "symptom_weeks must be a number ≥ 0, got '1e999'"),
    ("symptom_weeks", "1_000", "symptom_weeks must be a number ≥ 0, got '1_000'"),
    ("months_since_prior_mri", "3 months",
     "months_since_prior_mri must be a number ≥ 0, got '3 months'"),
])
def test_bad_numbers(column: str, cell: str, message: str) -> None:
    assert error_lines(ingest_rows([one(**{column: cell})])) == [(1, column, message)]


@pytest.mark.parametrize(("cell", "expected"), [
    ("2024-01-05", dt.date(2024, 1, 5)), ("2024/01/05", dt.date(2024, 1, 5)),
    ("2024-1-5", dt.date(2024, 1, 5)), ("2024-02-29", dt.date(2024, 2, 29)),
    ("2024-01-05 00:00:00", dt.date(2024, 1, 5)), ("", None),
])
def test_dates(cell: str, expected: dt.date | None) -> None:
    result = ingest_rows([one(request_date=cell)])
    assert result.accepted.column("request_date").to_pylist() == [expected]


@pytest.mark.parametrize("cell", ["2023-02-29", "2024-13-01", "yesterday",
                                  "2024-01-05 10:30:00", "20240105", "2024-01/05",
                                  "02/30/2024", "1/5/24"])
def test_bad_dates(cell: str) -> None:
    """request_date is lenient: a bad date is read as not documented, with a warning."""
    result = ingest_rows([one(request_date=cell)])
    assert error_lines(result) == [] and result.rows_accepted == 1
    assert result.accepted["request_date"].to_pylist() == [None]
    assert [(w["row"], w["column"], w["message"]) for w in result.warnings.to_pylist()] == [
        (1, "request_date", f"request_date '{cell}' is not "
                            f"{FIELDS_BY_NAME['request_date'].describe_type()} — read as not "
                            "documented")]


def test_text_is_trimmed_and_empty_is_null() -> None:
    result = ingest_rows([one(carrier="  Aetna \t"), one(case_id=" C2 ", carrier="")])
    assert result.accepted.column("carrier").to_pylist() == ["Aetna", None]
    assert result.accepted.column("case_id").to_pylist() == ["C1", "C2"]


def test_formula_looking_text_is_just_text() -> None:
    result = ingest_rows([one(carrier="=cmd|' /C calc'!A0"), one(case_id="=1+1")])
    assert result.accepted.column("carrier").to_pylist() == ["=cmd|' /C calc'!A0", None]
    assert result.accepted.column("case_id").to_pylist() == ["C1", "=1+1"]


def test_case_id_is_required() -> None:
    result = ingest_rows([one(case_id="C1"), one(case_id=""), one(case_id="  ")])
    check_counts(result)
    assert error_lines(result) == [
        (2, "case_id", "case_id is required but the cell is empty"),
        (3, "case_id", "case_id is required but the cell is empty"),
    ]
    assert result.errors.column("case_id").to_pylist() == [None, None]


def test_duplicate_case_id_rejects_later_occurrences_only() -> None:
    rows = [one(case_id="A"), one(case_id="B"), one(case_id="A"), one(case_id=" A "),
            one(case_id="B", age="200"), one(case_id="a")]
    result = ingest_rows(rows)
    check_counts(result)
    assert result.accepted.column("case_id").to_pylist() == ["A", "B", "a"]
    assert result.accepted.column("row").to_pylist() == [1, 2, 6]
    assert error_lines(result) == [
        (3, "case_id", "case_id 'A' duplicates row 1"),
        (4, "case_id", "case_id 'A' duplicates row 1"),
        (5, "case_id", "case_id 'B' duplicates row 2"),
        (5, "age", "age must be a whole number from 0 to 120, got '200'"),
    ]
    assert result.rows_rejected == 3
    assert result.summary() == "read 6 rows: 3 accepted, 3 rejected (4 errors)"


def test_region_and_contrast_are_derived_from_cpt() -> None:
    result = ingest_rows([one(cpt_code="72156", region="", contrast=""),
                          one(case_id="C2", cpt_code="72147")])
    got = result.accepted.select(["cpt_code", "region", "contrast"]).to_pylist()
    assert got == [dict(cpt_code="72156", region="cervical", contrast="without_and_with"),
                   dict(cpt_code="72147", region="thoracic", contrast="with")]


def test_cpt_is_derived_from_region_and_contrast() -> None:
    rows = [{"case_id": "C1", "cpt_code": "", "region": "Thoracic", "contrast": "with"},
            {"case_id": "C2", "cpt_code": "", "region": "lumbar",
             "contrast": "without and with"}]
    got = ingest_rows(rows).accepted.select(["cpt_code", "region", "contrast"]).to_pylist()
    assert got == [dict(cpt_code="72147", region="thoracic", contrast="with"),
                   dict(cpt_code="72158", region="lumbar", contrast="without_and_with")]
    # no cpt_code column at all
    result = ingest_text("case_id,region,contrast\nC1,cervical,without\n")
    assert result.accepted.column("cpt_code").to_pylist() == ["72141"]


def test_region_or_contrast_contradicting_cpt() -> None:
    rows = [one(region="cervical"), one(case_id="C2", contrast="with"),
            one(case_id="C3", region="lumbar", contrast="without")]
    result = ingest_rows(rows)
    assert error_lines(result) == [
        (1, "region", "region 'cervical' contradicts cpt_code 72148 (lumbar)"),
        (2, "contrast", "contrast 'with' contradicts cpt_code 72148 (without)"),
    ]
    assert result.errors.column("value").to_pylist() == ["cervical", "with"]


def test_no_requested_procedure() -> None:
    rows = [{"case_id": "C1", "cpt_code": "", "region": "", "contrast": ""},
            {"case_id": "C2", "cpt_code": "", "region": "cervical", "contrast": ""},
            {"case_id": "C3", "cpt_code": "", "region": "neck", "contrast": "with"},
            {"case_id": "C4", "cpt_code": "7", "region": "", "contrast": ""}]
    result = ingest_rows(rows)
    check_counts(result)
    message = "no requested procedure: give cpt_code (or region and contrast)"
    assert error_lines(result) == [
        (1, "cpt_code", message),
        (2, "cpt_code", message),
        (3, "region", "region must be one of cervical, thoracic, lumbar, got 'neck'"),
        (4, "cpt_code", "cpt_code must be one of 72141, 72142, 72156, 72146, 72147, 72157, "
                        "72148, 72149, 72158, got '7'"),
    ]


def test_long_cells_reject_the_row() -> None:
    long = "x" * (MAX_CELL_CHARS + 1)
    rows = [one(), one(case_id="C2", carrier=long), one(case_id="C3", notes=long),
            one(case_id="C4", age=long), one(case_id="C5", carrier="x" * MAX_CELL_CHARS)]
    result = ingest_text(rows_csv(rows, columns=["case_id", "cpt_code", "carrier", "notes",
                                                 "age"]))
    check_counts(result)
    message = "cell longer than 100,000 characters"
    assert error_lines(result) == [(2, "carrier", message), (3, "notes", message),
                                   (4, "age", message)]
    values = result.errors.column("value").to_pylist()
    assert all(len(v) == 200 and v.endswith("…") for v in values)
    assert result.accepted.column("case_id").to_pylist() == ["C1", "C5"]


def test_messages_stay_on_one_line_and_values_keep_their_text() -> None:
    result = ingest_rows([one(radiculopathy="ye\ns\tor\r\nno")])
    error = result.errors.to_pylist()[0]
    assert error["message"] == "radiculopathy must be true/false, yes/no, y/n or 1/0, got " \
                               "'ye s or no'"
    assert error["value"] == "ye\ns\tor\r\nno"


def test_error_values_are_truncated() -> None:
    cell = "y" * 500
    result = ingest_rows([one(radiculopathy=cell)])
    error = result.errors.to_pylist()[0]
    assert len(error["value"]) == 200 and error["value"] == "y" * 199 + "…"
    assert len(error["message"]) < 200


def test_several_errors_are_one_rejected_row() -> None:
    result = ingest_rows([one(age="x", trauma="?", radiculopathy="?"), one(case_id="C2")])
    check_counts(result)
    assert result.rows_rejected == 1 and result.errors.num_rows == 3
    assert [c for _, c, _ in error_lines(result)] == ["age", "radiculopathy", "trauma"]
    assert result.summary() == "read 2 rows: 1 accepted, 1 rejected (3 errors)"


def test_accepted_has_the_engine_schema_and_absent_columns_are_null() -> None:
    result = ingest_text("case_id,cpt_code\nC1,72148\nC2,72149\n")
    assert result.accepted.schema == arrow_schema().append(pa.field("row", pa.int64()))
    assert result.errors.schema.names == ["row", "case_id", "column", "value", "message"]
    row = result.accepted.to_pylist()[1]
    assert row["row"] == 2 and row["case_id"] == "C2" and row["contrast"] == "with"
    assert all(row[f.name] is None for f in FIELDS
               if f.name not in ("case_id", "cpt_code", "region", "contrast"))


def test_every_catalog_column_round_trips() -> None:
    result = ingest_rows([VALID, {**VALID, "case_id": "C2"}])
    assert result.rows_accepted == 2, result.errors.to_pylist()
    assert result.mapping == {f.name: f.name for f in FIELDS}
    row = result.accepted.to_pylist()[0]
    assert row["radiculopathy"] is False and row["request_date"] == dt.date(2024, 3, 1)
    assert row["age"] == 40 and row["symptom_weeks"] == 2.5 and row["trauma"] == "none"


def test_rows_in_always_adds_up() -> None:
    rows = [one(case_id=f"C{i}", age=str(i * 7)) for i in range(40)]
    result = ingest_rows(rows)
    check_counts(result)
    assert result.rows_rejected == 22  # ages 126 .. 273
    assert result.errors.column("row").to_pylist() == list(range(19, 41))


def test_summary_wording() -> None:
    result = ingest_rows([one(age="x")])
    assert result.summary() == "read 1 row: 0 accepted, 1 rejected (1 error)"
    big = IngestResult(pa.table({}), pa.table({"row": list(range(14))}), 1000, 990, 10, {}, [])
    assert big.summary() == "read 1,000 rows: 990 accepted, 10 rejected (14 errors)"
