"""Property tests for preauth.ingest: random corruptions of a valid file.

Start from a small valid table, corrupt some rows (blank the case_id, garble a boolean, a
number or an enum, duplicate an earlier id, contradict the CPT code's region, make a cell
too long), put values a lenient field does not accept in others (an unknown outcome, sex or
date), and decorate others harmlessly (random unicode, formula-looking text). Whatever the
mix, and through a real CSV round trip with a random delimiter: nothing raises, every row is
counted once, exactly the corrupted rows are rejected (each named in the errors), the others
are accepted with their row numbers, and exactly the rows with a lenient field's unknown
value have warnings - accepted rows, the value read as not documented.
"""

from __future__ import annotations

import csv
import io

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preauth.catalog.fields import CPT_CODES, FIELDS, Kind
from preauth.catalog.values import MAX_CELL_CHARS
from preauth.ingest.raw import RawTable
from preauth.ingest.read import read_raw
from preauth.ingest.validate import validate
from tests.fast import examples

TRIM = " \t\r\n\x0b\x0c\u00a0\ufeff"
BOOLEANS = [f.name for f in FIELDS if f.kind is Kind.BOOLEAN]
ENUMS = {f.name: f.values for f in FIELDS if f.kind is Kind.ENUM and f.name != "cpt_code"}
CODES = list(CPT_CODES)
BOOL_WORDS = {"true", "t", "yes", "y", "1", "false", "f", "no", "n", "0"}

SETTINGS = settings(max_examples=examples(40), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def base_rows(n: int) -> list[dict[str, str]]:
    rows = []
    for i in range(n):
        code = CODES[i % len(CODES)]
        region, contrast = CPT_CODES[code]
        rows.append({
            "case_id": f"C{i:03d}", "cpt_code": code,
            "region": region if i % 2 else "", "contrast": contrast if i % 3 else "",
            "age": str(20 + i), "sex": "FM"[i % 2], "symptom_weeks": f"{i / 2:g}",
            "request_date": f"2024-01-{i % 28 + 1:02d}", "carrier": "Aetna",
            "trauma": "none", "notes": "", "decision": ("approved", "Denied", "pended", "")[i % 4],
            **{name: ("yes", "no", "")[(i + k) % 3] for k, name in enumerate(BOOLEANS[:6])},
        })
    return rows


garbage_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1,
    max_size=12)
not_boolean = garbage_text.filter(
    lambda s: s.strip(TRIM) != "" and s.strip(TRIM).lower() not in BOOL_WORDS)
# (no "1,000": in a semicolon-delimited file that is 1.0 - tests/test_intake_values.py)
BAD_NUMBERS = ["-1", "abc", "nan", "inf", "-inf", "1.000,5", "4O", "1e999", "NaN", "1_0", "½"]
bad_numbers = {"age": st.sampled_from([*BAD_NUMBERS, "130", "6.5", "1e3"]),
               "symptom_weeks": st.sampled_from(BAD_NUMBERS)}
bad_enums = st.sampled_from(["X", "female", "mm", "unknown", "?", "lumbarr"])
LENIENT_BAD = {"sex": ["X", "unknown", "woman", "?"],
               "decision": ["Withdrawn", "partially approved", "?", "X"],
               "request_date": ["2024-02-30", "13/13/2024", "yesterday", "1/5/24"]}
harmless_text = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
            max_size=40),
    st.sampled_from(["=cmd|' /C calc'!A0", "+SUM(A1:A9)", "-2+3", "@foo", "=HYPERLINK(\"x\")"]),
)

CORRUPTIONS = ("blank_id", "bool", "number", "enum", "duplicate", "swap_region", "long",
               "lenient")


@st.composite
def corrupted_tables(draw: st.DrawFn
                     ) -> tuple[list[dict[str, str]], set[int], dict[int, str]]:
    """(rows, 1-based numbers of the corrupted rows, row -> the lenient field warned about)."""
    n = draw(st.integers(min_value=2, max_value=9))
    rows = base_rows(n)
    targets = draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n))
    corrupted: set[int] = set()
    warned: dict[int, str] = {}
    for i in sorted(targets):
        kind = draw(st.sampled_from(CORRUPTIONS))
        if kind == "lenient":
            column = draw(st.sampled_from(sorted(LENIENT_BAD)))
            rows[i][column] = draw(st.sampled_from(LENIENT_BAD[column]))
            warned[i + 1] = column
            continue
        clean_before = [j for j in range(i) if j not in corrupted]
        if kind == "duplicate" and not clean_before:
            kind = "blank_id"
        row = rows[i]
        if kind == "blank_id":
            row["case_id"] = draw(st.sampled_from(["", " ", "\t", "\u00a0"]))
        elif kind == "bool":
            row[draw(st.sampled_from(BOOLEANS[:6]))] = draw(not_boolean)
        elif kind == "number":
            column = draw(st.sampled_from(sorted(bad_numbers)))
            row[column] = draw(bad_numbers[column])
        elif kind == "enum":
            row["trauma"] = draw(bad_enums)
        elif kind == "duplicate":
            row["case_id"] = rows[draw(st.sampled_from(clean_before))]["case_id"]
        elif kind == "swap_region":
            region = CPT_CODES[row["cpt_code"]][0]
            row["region"] = draw(st.sampled_from(
                [r for r in ("cervical", "thoracic", "lumbar") if r != region]))
        else:  # long
            row[draw(st.sampled_from(["carrier", "notes"]))] = "é" * (MAX_CELL_CHARS + 1)
        corrupted.add(i + 1)
    # Harmless decoration of the other rows: random unicode / formula-looking text.
    for i in range(n):
        if i + 1 not in corrupted and draw(st.booleans()):
            rows[i][draw(st.sampled_from(["carrier", "notes"]))] = draw(harmless_text)
    return rows, corrupted, warned


def as_csv(rows: list[dict[str, str]], delimiter: str) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=delimiter,
                            lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def check(result, rows: list[dict[str, str]], corrupted: set[int],
          warned: dict[int, str]) -> None:
    n = len(rows)
    assert result.rows_in == n
    assert result.rows_in == result.rows_accepted + result.rows_rejected
    error_rows = set(result.errors.column("row").to_pylist())
    assert error_rows == corrupted, result.errors.to_pylist()
    assert result.rows_rejected == len(corrupted)
    clean = [i for i in range(1, n + 1) if i not in corrupted]
    assert result.accepted.column("row").to_pylist() == clean
    assert result.accepted.column("case_id").to_pylist() == [
        rows[i - 1]["case_id"] for i in clean]
    carriers = result.accepted.column("carrier").to_pylist()
    assert carriers == [rows[i - 1]["carrier"].strip(TRIM) or None for i in clean]
    assert all(len(v) <= 200 for v in result.errors.column("value").to_pylist())
    assert all(m and "\n" not in m and "\r" not in m
               for m in result.errors.column("message").to_pylist())
    # warnings: exactly the lenient fields' unknown values, in accepted rows, read as NULL
    assert result.warnings.schema == result.errors.schema
    lines = result.warnings.to_pylist()
    assert {(w["row"], w["column"]) for w in lines} == set(warned.items())
    assert {w["row"] for w in lines} <= set(clean)
    assert all(w["message"].endswith("— read as not documented") for w in lines)
    read = dict(zip(result.accepted["row"].to_pylist(), result.accepted.to_pylist(),
                    strict=True))
    assert all(read[r][column] is None for r, column in warned.items())
    assert sum(result.warning_counts().values()) == len(warned)


@SETTINGS
@given(corrupted_tables())
def test_corruptions_in_memory(case: tuple[list[dict[str, str]], set[int], dict[int, str]]
                               ) -> None:
    rows, corrupted, warned = case
    table = pa.table({k: [r[k] for r in rows] for k in rows[0]})
    check(validate(RawTable.from_arrow(table, "memory")), rows, corrupted, warned)


@SETTINGS
@given(corrupted_tables(), st.sampled_from([",", ";", "\t", "|"]))
def test_corruptions_through_csv(case: tuple[list[dict[str, str]], set[int], dict[int, str]],
                                 delimiter: str) -> None:
    rows, corrupted, warned = case
    raw = read_raw(as_csv(rows, delimiter), "upload.csv")
    assert raw.delimiter == delimiter
    assert raw.headers == list(rows[0])
    check(validate(raw), rows, corrupted, warned)
