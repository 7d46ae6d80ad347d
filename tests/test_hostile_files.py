"""Hostile files (security review, issue 8 "Safe on a shared server"), from the corpus that
tests/hostile_corpus.py writes at test time:

* an .xlsx zip bomb and its relatives are refused from the zip's directory, before anything
  is decompressed, with one line naming the file, the part and the limit; the decompressed
  stream is capped as well (a zip can lie about its sizes);
* a workbook's cost follows the cells present: one cell at XFD1048576 or a <dimension> claiming
  the whole grid is read (or refused) at once, never padded out;
* CR-only line endings are read; a NUL byte, a ragged row: whole-file and batched reading give
  the same result, and a ragged row no longer makes the batched reader fall back to reading
  the file whole;
* a JSON key given twice rejects its row (or, in the top-level object, the file).

The real-size checks (`preauth evaluate` on the 1 GB bomb and on XFD1048576, in a fresh
process: exit 2, one line, bounded function calls, < 1 GB peak memory) are at the end. Work is
counted, not timed (tests/work.py); bench/hostile_inputs.py prints the seconds.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pyarrow.csv as pacsv
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preauth import cli
from preauth.ingest import stream as batched_ingest
from preauth.ingest._cells import cell_text
from preauth.ingest._headers import blank_names
from preauth.ingest._xlsx_parts import CappedStream
from preauth.ingest.errors import IngestError
from preauth.ingest.raw import RawTable
from preauth.ingest.read import read_raw
from preauth.ingest.stream import validate_in_batches
from preauth.ingest.validate import IngestResult, validate
from preauth.ingest.xlsx import XLSX_LIMITS, read_xlsx
from preauth.synthetic.generator import synthesize
from tests import hostile_corpus as hc
from tests.fast import examples
from tests.properties.case_ids import case_id
from tests.work import work_budget

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return hc.write_corpus(tmp_path_factory.mktemp("hostile"))


def _refused(source: Path | bytes, name: str, **kw: object) -> str:
    with pytest.raises(IngestError) as info:
        validate(read_raw(source, name) if not kw else ingest_xlsx(source, name, **kw))
    message = str(info.value)
    assert "\n" not in message and message.startswith(name) and len(message) < 400, message
    return message


def ingest_xlsx(source: Path | bytes, name: str, **limits: int) -> RawTable:
    data = source.read_bytes() if isinstance(source, Path) else source
    return read_xlsx(data, name, replace(XLSX_LIMITS, **limits))


# --- the corpus ------------------------------------------------------------------------------

@pytest.mark.parametrize("item", hc.CORPUS, ids=lambda h: h.name)
def test_corpus_file_is_refused_or_read_as_expected(item: hc.Hostile,
                                                    corpus: dict[str, Path]) -> None:
    path = corpus[item.name]
    with work_budget(hc.CORPUS_CALLS, item.name):
        if item.rows is None:
            assert item.phrase.lower() in _refused(path, item.name).lower()
        else:
            result = validate(read_raw(path))
            assert (result.rows_in, result.rows_accepted, result.rows_rejected) == item.rows, \
                result.errors.to_pylist()


# --- XLSX: the zip, before anything is decompressed -----------------------------------------

def test_bomb_is_refused_from_the_directory_naming_part_and_limit(corpus: dict[str, Path],
                                                                  monkeypatch) -> None:
    opened: list[str] = []
    original = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open",
                        lambda self, name, *a, **k: opened.append(str(name))
                        or original(self, name, *a, **k))
    message = _refused(corpus["bomb.xlsx"], "bomb.xlsx")
    assert "part xl/sharedStrings.xml expands from" in message
    assert "at most 100 to 1" in message
    assert opened == []  # refused before a single part was decompressed


def test_total_expanded_size_limit_names_the_largest_part(tmp_path: Path) -> None:
    path = hc.write_xlsx(tmp_path / "big.xlsx",
                         hc.sheet_xml(hc.table_rows([[f"A{i}", "72148", "40"]
                                                     for i in range(3000)])))
    message = _refused(path, "big.xlsx", max_expanded_bytes=100_000)
    assert "largest part xl/worksheets/sheet1.xml" in message
    assert "at most 97.7 KB is read from an .xlsx file" in message
    assert validate(read_raw(path)).rows_accepted == 3000  # within the real limit


def test_ratio_limit_spares_small_parts(tmp_path: Path) -> None:
    # 500 KB of one repeated row compresses far beyond 100 to 1, but it is under the 1 MB
    # from which the ratio counts; lowering that threshold refuses it.
    path = hc.write_xlsx(tmp_path / "same.xlsx", hc.sheet_xml(
        hc.table_rows() + '<row r="9"><c r="D9" t="inlineStr"><is><t>'
        + "z" * 500_000 + "</t></is></c></row>"))
    assert read_raw(path).num_rows == 4
    message = _refused(path, "same.xlsx", ratio_from_bytes=1000)
    assert "xl/worksheets/sheet1.xml" in message and "to 1" in message


def test_parts_and_directory_limits_are_read_from_the_end_record(tmp_path: Path) -> None:
    path = hc.write_many_parts(tmp_path / "parts.xlsx", parts=30)
    message = _refused(path, "parts.xlsx", max_parts=20)
    assert "holds 36 parts; at most 20" in message
    message = _refused(path, "parts.xlsx", max_directory_bytes=1000)
    assert "zip directory is" in message and "at most 1,000 bytes" in message


def test_a_lying_zip_is_caught_while_reading(corpus: dict[str, Path]) -> None:
    message = _refused(corpus["lying_sizes.xlsx"], "lying_sizes.xlsx")
    assert "part xl/worksheets/sheet1.xml is damaged" in message


def test_decompressed_stream_is_capped() -> None:
    """The stream every part is read through stops at its cap, whatever the zip says."""
    stream = CappedStream(io.BytesIO(b"x" * 100), 64, lambda: IngestError("over"))
    assert stream.read(60) == b"x" * 60
    with pytest.raises(IngestError, match="over"):
        stream.read(60)
    stream = CappedStream(io.BytesIO(b"x" * 100), 64, lambda: IngestError("over"))
    with pytest.raises(IngestError, match="over"):
        stream.read()  # "read all" reads at most one byte past the cap


def test_dtd_and_deep_nesting_are_refused(corpus: dict[str, Path]) -> None:
    assert "declares a DTD" in _refused(corpus["dtd.xlsx"], "dtd.xlsx")
    assert "more than 64 deep" in _refused(corpus["deep_xml.xlsx"], "deep_xml.xlsx")


# --- XLSX: cost follows the cells present ---------------------------------------------------

# Reading a five-cell workbook takes about 900-2,300 function calls (once the modules it uses
# are imported: a first read is made outside the count); padding to a cell 1,048,572 rows or
# 16,384 columns away takes at least one call per padded row or cell.
SMALL_WORKBOOK_CALLS = 10_000


def test_last_cell_of_the_grid_is_refused_at_once(corpus: dict[str, Path]) -> None:
    _refused(corpus["xfd.xlsx"], "xfd.xlsx")  # imports done
    with work_budget(SMALL_WORKBOOK_CALLS, "refusing xfd.xlsx"):
        message = _refused(corpus["xfd.xlsx"], "xfd.xlsx")
    assert "cell XFD1048576 (column 16,384); at most 2,000 columns" in message


def test_dimension_is_ignored_and_empty_rows_cost_nothing(corpus: dict[str, Path]) -> None:
    raw = read_raw(corpus["dimension_lie.xlsx"])
    assert raw.table.to_pylist() == [dict(zip(hc.HEADER, r, strict=True)) for r in hc.ROWS]
    read_raw(corpus["far_cell.xlsx"])  # imports done
    with work_budget(SMALL_WORKBOOK_CALLS, "reading dimension_lie.xlsx"):
        read_raw(corpus["dimension_lie.xlsx"])  # claims A1:XFD1048576
    with work_budget(SMALL_WORKBOOK_CALLS, "reading far_cell.xlsx"):
        raw = read_raw(corpus["far_cell.xlsx"])  # a value 1,048,572 rows and 1,996 columns away
    assert raw.num_rows == 4 and raw.table.num_columns == 3
    assert raw.read_errors == ((4, "(row)", "stray", "row has cells beyond the 3 header "
                                                     "columns"),)


@pytest.mark.slow  # a subprocess or a big input: `make test` only
def test_rows_times_columns_is_capped(corpus: dict[str, Path], tmp_path: Path) -> None:
    message = _refused(corpus["wide_grid.xlsx"], "wide_grid.xlsx")
    assert "more than 16,777,216 cells" in message and "x 2,000 columns" in message
    path = hc.write_xlsx(tmp_path / "rows.xlsx", hc.sheet_xml(hc.table_rows()))
    assert "more than 6 cells (3 rows x 3 columns" in _refused(path, "rows.xlsx", max_cells=6)
    assert "column 3); at most 2 columns" in _refused(path, "rows.xlsx", max_columns=2)
    assert "row 4, beyond Excel's last row (3)" in _refused(path, "rows.xlsx", max_rows=3)
    repeated = hc.write_xlsx(tmp_path / "repeated.xlsx", hc.sheet_xml(  # all row 2
        hc.table_rows() + '<row r="2"><c t="inlineStr"><is><t>A9</t></is></c></row>' * 3))
    assert "more than 5 rows, Excel's maximum" in _refused(repeated, "repeated.xlsx",
                                                           max_rows=5)
    assert "beyond 40 XML elements" in _refused(path, "rows.xlsx", max_elements=40)


def test_password_protected_workbook_says_so(corpus: dict[str, Path]) -> None:
    assert "password-protected" in _refused(corpus["encrypted.xlsx"], "encrypted.xlsx")


# --- XLSX: values as openpyxl's read-only reader gave them ----------------------------------

def _reference(path: Path) -> tuple[list[dict[str, str | None]], tuple]:
    """The former reader: openpyxl read-only, values only (fine on small, honest files)."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows: list[tuple] = []
    for sheet in book.worksheets:
        rows = [r for r in sheet.iter_rows(values_only=True)
                if any(v is not None and str(v).strip() for v in r)]
        if rows:
            break
    book.close()
    header = [cell_text(v) or "" for v in rows[0]]
    while header and not header[-1].strip():
        header.pop()
    width, errors, out = len(header), [], []
    names = blank_names(header)
    for i, row in enumerate(rows[1:], start=1):
        texts = [cell_text(v) for v in row]
        extra = [t for t in texts[width:] if t is not None and t.strip()]
        if extra:
            errors.append((i, "(row)", " | ".join(extra),
                           f"row has cells beyond the {width} header columns"))
        out.append(dict(zip(names, (texts + [None] * width)[:width], strict=True)))
    return out, tuple(errors)


def _typed_book(path: Path, write_only: bool, epoch_1904: bool = False) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    book = openpyxl.Workbook(write_only=write_only)
    if write_only:
        book.create_sheet("empty first")
        sheet = book.create_sheet("data")
    else:
        book.active.title = "empty first"
        book.active["C3"] = "   "  # a sheet with only whitespace counts as empty
        sheet = book.create_sheet("data")
    if epoch_1904:
        book.epoch = CALENDAR_MAC_1904
    sheet.append(["Case ID", "CPT", None, "age", " weeks ", "date", "when", "flag", "t"])
    sheet.append(["C1", 72148, "x", 40, 1.5, dt.date(2024, 2, 29),
                  dt.datetime(2024, 1, 5, 9, 30, 15), True, dt.time(7, 45)])
    sheet.append([None] * 9)
    sheet.append(["  ", None, "", None])
    sheet.append([" C2 ", "72141", None, -3, 1e20, dt.datetime(2023, 12, 31), None, False,
                  None, None, "beyond"])
    sheet.append(["Ünïcødé", 72149.0, 0.1 + 0.2, 0, 2.5e-7, None, dt.datetime(1999, 1, 1),
                  None, None])
    book.save(path)
    return path


@pytest.mark.parametrize(("write_only", "epoch_1904"), [(False, False), (True, False),
                                                        (False, True)])
def test_values_match_openpyxl(tmp_path: Path, write_only: bool, epoch_1904: bool) -> None:
    path = _typed_book(tmp_path / "typed.xlsx", write_only, epoch_1904)
    raw = read_raw(path)
    expected, errors = _reference(path)
    assert raw.table.to_pylist() == expected
    assert raw.read_errors == errors
    assert raw.table.column_names == ["Case ID", "CPT", "column_3", "age", " weeks ", "date",
                                      "when", "flag", "t"]


def test_shared_strings_rich_text_and_styles_match_openpyxl(tmp_path: Path) -> None:
    sst = (f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{hc.MAIN_NS}">'
           "<si><t>case_id</t></si><si><r><t>cpt</t></r><r><t>_code</t></r>"
           '<rPh sb="0" eb="1"><t>ignored</t></rPh></si>'
           '<si><t xml:space="preserve"> A1 </t></si>'
           "<si><t>_x005F_x000D_</t></si></sst>")
    sheet = hc.sheet_xml(
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
        '<c r="C1" t="s"><v>3</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><f>A1</f><v>72148</v></c>'
        '<c r="C2" t="e"><v>#N/A</v></c></row>'
        '<row r="3"><c t="inlineStr"><is><r><t>C</t></r><r><t>3</t></r></is></c>'
        '<c t="str"><v>72141</v></c><c t="b"><v>0</v></c></row>')
    path = hc.write_xlsx(tmp_path / "rich.xlsx", sheet, sst)
    expected, errors = _reference(path)
    raw = read_raw(path)
    assert raw.table.to_pylist() == expected
    assert expected[0]["cpt_code"] == "72148" and expected[1]["case_id"] == "C3"
    assert raw.read_errors == errors == ()


@pytest.mark.slow  # a subprocess or a big input: `make test` only
def test_existing_round_trip_through_pandas_style_workbook(tmp_path: Path) -> None:
    """A workbook as pandas / openpyxl write them, 2,000 rows: same table as openpyxl."""
    openpyxl = pytest.importorskip("openpyxl")
    table = synthesize(2000, seed=5)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(table.column_names)
    for row in table.to_pylist():
        sheet.append(list(row.values()))
    path = tmp_path / "synth.xlsx"
    book.save(path)
    expected, errors = _reference(path)
    raw = read_raw(path)
    assert raw.table.to_pylist() == expected and raw.read_errors == errors
    assert validate(raw).rows_accepted == 2000


# --- CSV: line endings, NUL bytes, ragged rows; whole and batched agree ---------------------

def _same(path: Path, batch_rows: int) -> IngestResult:
    whole = validate(read_raw(path))
    batched = validate_in_batches(path, batch_rows)
    assert batched is not None, f"{path.name} should stream"
    assert (batched.rows_in, batched.rows_accepted, batched.rows_rejected) == \
        (whole.rows_in, whole.rows_accepted, whole.rows_rejected)
    assert batched.rows_in == batched.rows_accepted + batched.rows_rejected
    assert batched.errors.to_pylist() == whole.errors.to_pylist()
    assert batched.accepted.equals(whole.accepted)
    return whole


@pytest.mark.parametrize("ending", ["\r", "\r\n", "\n"])
def test_line_endings_are_read_in_both_paths(tmp_path: Path, ending: str) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(hc.CSV_ROWS.replace("\n", ending).encode())
    for batch_rows in (1, 2, 100):
        result = _same(path, batch_rows)
        assert result.rows_accepted == 3
        assert result.accepted["age"].to_pylist() == [40, 51, 62]


def test_nul_in_a_row_rejects_that_row_in_both_paths(tmp_path: Path) -> None:
    rows = [f"C{i},72148,{20 + i % 60},Carrier {i}" for i in range(300)]
    rows[7] = "C7\x00,72148,40,Carrier 7"
    rows[250] = "C250,72148,40,Car\x00\x00rier"
    path = tmp_path / "nul.csv"
    path.write_bytes(("case_id,cpt_code,age,carrier\n" + "\n".join(rows) + "\n").encode())
    for batch_rows in (1, 7, 1000):
        result = _same(path, batch_rows)
    assert (result.rows_in, result.rows_accepted, result.rows_rejected) == (300, 298, 2)
    errors = result.errors.to_pylist()
    assert [(e["row"], e["column"], e["value"]) for e in errors] == [
        (8, "case_id", "C7\ufffd"), (251, "carrier", "Car\ufffd\ufffdrier")]
    assert all("NUL byte" in e["message"] for e in errors)


def test_mostly_nul_is_refused_in_both_paths(tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(b"case_id,cpt_code\n" + b"A1\x00\x00\x00,72148\n" * 50)
    assert "binary" in _refused(path, "nul.csv")
    with pytest.raises(IngestError, match="binary"):
        validate_in_batches(path, 3)


RAGGED = ("case_id,cpt_code,age\n"
          "A1,72148,40\n"
          "A2,72141\n"                  # too few
          "A3,72148,62,extra\n"         # too many
          ",,\n"                        # blank: dropped
          ",,,,\n"                      # blank and ragged: dropped, no error
          ",,,x\n"                      # ragged with a value beyond the header: kept
          '"A4","72148","50"\n'
          '"A5 with\nline break",72148\n'  # ragged across two lines
          "A6,72148,70\n"
          "A7\n")                       # ragged, last


def test_text_that_looks_binary_is_refused_in_both_paths(tmp_path: Path) -> None:
    """Control characters in the file's last line (found by the messy-CSV property with odd
    case_ids): the batched reader checks the sample the whole-file reader checks."""
    path = tmp_path / "controls.csv"
    path.write_bytes(b'case_id,cpt_code,age\n"\x1f\x1f\x1f\x08",72148,0')
    with pytest.raises(IngestError, match="looks like binary data") as whole:
        validate(read_raw(path))
    with pytest.raises(IngestError) as batched:
        validate_in_batches(path, 1)
    assert str(batched.value) == str(whole.value)


def test_ragged_rows_stream_and_match_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(RAGGED, encoding="utf-8")
    for batch_rows in (1, 2, 3, 100):
        result = _same(path, batch_rows)
    assert result.rows_in == 8
    assert [(e["row"], e["value"], e["message"]) for e in result.errors.to_pylist()
            if e["column"] == "(row)"] == [
        (2, "A2,72141", "row has 2 cells but the header has 3"),
        (3, "A3,72148,62,extra", "row has 4 cells but the header has 3"),
        (4, ",,,x", "row has 4 cells but the header has 3"),
        (6, "A5 with\nline break,72148", "row has 2 cells but the header has 3"),
        (8, "A7", "row has 1 cells but the header has 3")]
    assert result.accepted["case_id"].to_pylist() == ["A1", "A4", "A6"]


def test_cli_streams_a_file_with_a_ragged_row(tmp_path: Path, monkeypatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """One ragged row used to make the batched reader give up and read the file whole."""
    path = tmp_path / "big.csv"
    table = synthesize(5000, seed=8, outcomes=False)
    pacsv.write_csv(table, path)
    lines = path.read_bytes().split(b"\n")
    lines[2500] = lines[2500].rsplit(b",", 3)[0]  # three cells short
    path.write_bytes(b"\n".join(lines))
    results: list[IngestResult | None] = []
    original = batched_ingest.validate_in_batches

    def spy(p: Path, batch_rows: int = 0) -> IngestResult | None:
        results.append(original(p, 1000))
        return results[-1]

    monkeypatch.setattr(cli, "STREAM_FROM_BYTES", 0)
    monkeypatch.setattr(batched_ingest, "validate_in_batches", spy)
    assert cli.main(["evaluate", str(path), "--policy", "acr", "--out",
                     str(tmp_path / "o.jsonl")]) == 0
    assert results and results[0] is not None, "the file should have been streamed"
    assert "read 5,000 rows: 4,999 accepted, 1 rejected" in capsys.readouterr().err
    [error] = results[0].errors.to_pylist()
    assert error["row"] == 2500 and "cells but the header has" in error["message"]


@st.composite
def messy_csv(draw: st.DrawFn) -> tuple[bytes, int]:
    lines, ids = [], []
    for i in range(draw(st.integers(0, 30))):
        kind = draw(st.sampled_from(["ok", "ok", "ok", "short", "long", "blank", "nul",
                                     "quoted", "empty", "odd_id", "repeat"]))
        if kind == "ok":
            lines.append(f"C{i},72148,{i}")
        elif kind in ("odd_id", "repeat"):  # long (>= 300 characters) and odd case_ids, quoted
            cid = draw(st.sampled_from(ids) if ids and kind == "repeat" else case_id())
            ids.append(cid)
            lines.append('"' + cid.replace('"', '""') + f'",72148,{i}')
        elif kind == "short":
            lines.append(f"C{i},72148")
        elif kind == "long":
            lines.append(f"C{i},72148,{i},{draw(st.sampled_from(['', 'x', ' ']))}")
        elif kind == "blank":
            lines.append(draw(st.sampled_from([",,", " , , ", ",,,", ""])))
        elif kind == "nul":
            lines.append(f"C{i}\x00,72148,{i}")
        elif kind == "quoted":
            lines.append(f'"C{i}\nx",72148' + draw(st.sampled_from(["", f",{i}"])))
        else:
            lines.append("")
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = ending.join(["case_id,cpt_code,age", *lines]) + draw(st.sampled_from(["", ending]))
    return text.encode(), draw(st.integers(1, 9))


@settings(max_examples=examples(80), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=messy_csv())
def test_batched_equals_whole_on_messy_csv(case: tuple[bytes, int], tmp_path: Path) -> None:
    data, batch_rows = case
    path = tmp_path / "messy.csv"
    path.write_bytes(data)
    try:
        whole = validate(read_raw(path))
    except IngestError as err:
        with pytest.raises(IngestError) as info:
            validate_in_batches(path, batch_rows)
        assert str(info.value) == str(err)
        return
    batched = validate_in_batches(path, batch_rows)
    if batched is None:  # not for streaming: the CLI reads it whole, i.e. `whole`
        return
    assert batched.errors.to_pylist() == whole.errors.to_pylist()
    assert batched.accepted.equals(whole.accepted)
    assert (batched.rows_in, batched.rows_rejected) == (whole.rows_in, whole.rows_rejected)


# --- JSON: a key given twice ----------------------------------------------------------------

def test_repeated_json_key_rejects_its_row() -> None:
    records = (b'[{"case_id": "A1", "cpt_code": "72148", "age": "40", "age": 50},'
               b' {"case_id": "A2", "cpt_code": "72141", "age": "41"},'
               b' {"case_id": "A3", "cpt_code": "72141", "x": [{"k": 1, "k": 2}]}]')
    result = validate(read_raw(records, "dup.json"))
    assert (result.rows_in, result.rows_accepted, result.rows_rejected) == (3, 1, 2)
    assert [(e["row"], e["column"], e["value"], e["message"])
            for e in result.errors.to_pylist()] == [
        (1, "age", "40 | 50", "key 'age' is given 2 times in this record; expected each key "
                              "once"),
        (3, "x", "1 | 2", "key 'k' is given 2 times in an object in this cell; expected each "
                          "key once")]
    lines = b'{"case_id": "A1", "cpt_code": "72148"}\n{"case_id": "B", "case_id": "C"}\n'
    result = validate(read_raw(lines, "dup.jsonl"))
    assert result.rows_rejected == 1
    assert "key 'case_id' is given 2 times" in result.errors.to_pylist()[-1]["message"]
    assert "key 'cases' is given 2 times in the top-level object" in _refused(
        b'{"cases": [{"case_id": "A1", "cpt_code": "72148"}], "cases": []}', "w.json")


def test_json_without_repeats_is_unchanged() -> None:
    data = json.dumps([{"case_id": "A1", "cpt_code": "72148", "notes": {"a": 1, "b": [2]}}])
    raw = read_raw(data.encode(), "ok.json")
    assert raw.read_errors == ()
    assert raw.table.to_pylist() == [{"case_id": "A1", "cpt_code": "72148",
                                      "notes": '{"a": "1", "b": ["2"]}'}]


# --- the review's measurements: a fresh `preauth evaluate` ----------------------------------

# `preauth evaluate PATH` in a fresh process (as `python -m preauth` runs it): the function
# calls of the command (its imports made on the way included, stopped past the budget) and
# the process's peak RSS.
_MEASURE = """
import json, resource, sys
from preauth.cli import main
from tests.work import WorkBudgetExceeded, counted_calls
calls = 0
try:
    with counted_calls(int(sys.argv[1]), "preauth evaluate") as work:
        try:
            code = main(sys.argv[2:])
        except SystemExit as stop:
            code = stop.code
    calls = work.calls
except WorkBudgetExceeded:
    code, calls = None, int(sys.argv[1]) + 1
print(json.dumps({"code": code, "calls": calls,
                  "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""
# About 500,000-850,000 calls today, lazy imports included; decompressing and parsing the
# bomb's 1 GB of shared strings, or padding XFD1048576's grid, would take orders more.
CLI_CALLS = 10_000_000


def _evaluate(path: Path) -> tuple[int | None, str, int, int]:
    """Exit status, stderr, function calls and peak RSS (KB) of `preauth evaluate PATH`."""
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(CLI_CALLS), "evaluate",
                           str(path)], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout.splitlines()[-1])
    return figures["code"], proc.stderr, figures["calls"], figures["peak_kb"]


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("preauth: ") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.slow  # a subprocess or a big input: `make test` only
def test_cli_refuses_xfd_workbook_in_bounded_work_and_memory(corpus: dict[str, Path]) -> None:
    code, err, calls, peak_kb = _evaluate(corpus["xfd.xlsx"])
    assert calls <= CLI_CALLS, "more function calls than the budget"
    assert code == 2
    assert "xfd.xlsx" in _one_line(err) and "XFD1048576" in err
    assert calls < CLI_CALLS and peak_kb < 1 << 20


@pytest.mark.slow
def test_cli_refuses_the_one_gigabyte_bomb_in_bounded_work_and_memory(tmp_path: Path) -> None:
    path = hc.write_bomb(tmp_path / "bomb.xlsx")  # ~2.5 MB, sharedStrings.xml 1 GB
    assert path.stat().st_size < 4 << 20
    code, err, calls, peak_kb = _evaluate(path)
    assert calls <= CLI_CALLS, "more function calls than the budget"
    assert code == 2
    line = _one_line(err)
    assert "bomb.xlsx" in line and "xl/sharedStrings.xml" in line and "at most 100 to 1" in line
    assert calls < CLI_CALLS and peak_kb < 1 << 20


def test_ragged_row_that_is_not_utf8_prints_nothing(tmp_path: Path, monkeypatch,
                                                    capfd: pytest.CaptureFixture[str]) -> None:
    """pyarrow cannot hand over a ragged row's text that is not UTF-8: it prints the error
    (a traceback on stderr) unless told otherwise. The file is read as Latin-1 instead."""
    printed: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", printed.append)  # what would reach stderr
    result = validate(read_raw(b"case_id,cpt_code,age\nA1,72148,40\nA2,\xc8", "end.csv"))
    assert (result.rows_in, result.rows_rejected) == (2, 1)
    path = tmp_path / "late.csv"
    path.write_bytes(b"case_id,cpt_code,age\n" + b"A1,72148,40\n" * 200_000
                     + b"A2,caf\xe9\nA3,72148,40\n")
    assert validate_in_batches(path, 50_000) is None  # not UTF-8 after all: read whole
    whole = validate(read_raw(path))
    assert (whole.rows_in, whole.rows_rejected) == (200_002, 200_000)  # (repeated case_id)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == "" and printed == []
