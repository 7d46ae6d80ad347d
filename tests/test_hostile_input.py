"""Hostile input through ingest and the CLI: a clear message, never a traceback, nothing lost.

Unusable files (empty, binary garbage, header only, no required column, 10,000 columns, bad
Parquet / Excel / JSON) exit 2 with exactly one line on stderr naming the file. Usable files
with hostile cells (UTF-16, a 1 MB cell, formula-looking text, unknown enum values) are read:
every row is either accepted or rejected with an error line (rows in = accepted + rejected),
and CSV exports — results and errors — neutralise formula-looking text cells.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import random
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from preauth.cli import main
from preauth.ingest.errors import IngestError
from preauth.ingest.export import csv_safe_table, write_table
from preauth.ingest.read import read_raw
from preauth.ingest.validate import validate

ROOT = Path(__file__).resolve().parents[1]
# What a spreadsheet may read as a formula at the start of a cell (OWASP, "CSV Injection"):
# such a text cell is exported with a leading apostrophe.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _garbage(n: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(n))


def _wide_csv(columns: int) -> bytes:
    names = ["case_id", "cpt_code", *(f"extra_{i}" for i in range(columns - 2))]
    return (",".join(names) + "\n" + ",".join(["A1", "72148", *["1"] * (columns - 2)])
            + "\n").encode()


UNUSABLE: dict[str, tuple[bytes, str]] = {
    # file name: (content, a phrase the one-line message must contain)
    "empty.csv": (b"", "empty"),
    "blank_lines.csv": (b"\n\n \r\n\t\n", "empty"),
    "garbage.csv": (_garbage(4096), "binary"),
    "nul_bytes.csv": (b"case_id,cpt_code\nA1\x00\x00,72148\n", "binary"),
    "garbage.parquet": (_garbage(2048, 2), "Parquet"),
    "truncated.parquet": (b"PAR1" + _garbage(512, 3), "Parquet"),
    "garbage.xlsx": (b"PK\x03\x04" + _garbage(512, 4), "xlsx"),
    "garbage.json": (b"{\"case_id\": [1, 2", "JSON"),
    "deep.json": (b"[" * 50_000 + b"]" * 50_000, "JSON"),
    "no_case_id.csv": (b"foo,bar,age\n1,2,40\n", "case_id"),
    "wide.csv": (_wide_csv(10_000), "10,000 columns"),
    "duplicate_header.csv": (b"case_id,Case ID\nA1,A2\n", "duplicate"),
    "data_as_header.csv": (b"A1,72148,40\nA2,72148,50\n", "header"),
    "pdf.csv": (b"%PDF-1.7\n" + _garbage(256, 5), "PDF"),
    "request.exe": (b"MZ" + _garbage(64, 6), "unsupported file type"),
}
HEADER_ONLY = b"case_id,cpt_code,age\n"


def _write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("preauth: ")
    assert "Traceback" not in err
    return lines[0]


# --- unusable files ------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(UNUSABLE))
def test_unusable_file_ingest_raises_one_clear_line(name: str) -> None:
    content, phrase = UNUSABLE[name]
    with pytest.raises(IngestError) as info:
        validate(read_raw(content, name))
    message = str(info.value)
    assert "\n" not in message and name in message
    assert phrase.lower() in message.lower()
    assert len(message) < 400


@pytest.mark.parametrize("name", sorted(UNUSABLE))
def test_unusable_file_cli_exits_2_with_one_line(name: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    content, phrase = UNUSABLE[name]
    path = _write(tmp_path, name, content)
    out = tmp_path / "out.json"
    assert main(["evaluate", str(path), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    line = _one_line(captured.err)
    assert name in line and phrase.lower() in line.lower()
    assert captured.out == ""
    assert not out.exists()


def test_header_only_is_zero_rows_in_ingest_and_unusable_in_the_cli(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = validate(read_raw(HEADER_ONLY, "header.csv"))
    assert (result.rows_in, result.rows_accepted, result.rows_rejected) == (0, 0, 0)
    path = _write(tmp_path, "header.csv", HEADER_ONLY)
    assert main(["evaluate", str(path)]) == 2
    assert "no data rows" in _one_line(capsys.readouterr().err)


@pytest.mark.slow  # a subprocess or a big input: `make test` only
def test_whole_process_never_prints_a_traceback(tmp_path: Path) -> None:
    """The real entry point, in a subprocess: exit status 2 and exactly one stderr line."""
    for name in ("garbage.csv", "deep.json", "wide.csv"):
        path = _write(tmp_path, name, UNUSABLE[name][0])
        proc = subprocess.run([sys.executable, "-m", "preauth", "evaluate", str(path)],
                              capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert proc.returncode == 2, proc.stderr
        _one_line(proc.stderr)
        assert proc.stdout == ""


def test_missing_spark_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """``--engine spark`` without PySpark installed: one line naming the extra, exit 2."""
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark -> ImportError
    path = _write(tmp_path, "ok.csv", b"case_id,cpt_code\nA1,72148\n")
    assert main(["evaluate", str(path), "--engine", "spark"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "PySpark" in line and "[spark]" in line
    assert main(["bench", "--rows", "10", "--engine", "spark"]) == 2
    assert "PySpark" in _one_line(capsys.readouterr().err)


# --- usable files with hostile content -----------------------------------------------------

ROWS = [["A1", "72148", "40", "none", "F"], ["A2", "72141", "", "low_velocity", "M"]]
HEADER = ["case_id", "cpt_code", "age", "trauma", "sex"]


def _csv(rows: list[list[str]], header: list[str] = HEADER) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    return buf.getvalue()


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_utf16_and_bom_files_are_read(encoding: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    rows = [*ROWS, ["Ünïcødé-3", "72148", "70", "none", "other"]]
    data = _csv(rows).encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):  # also without a byte-order mark
        assert not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    result = validate(read_raw(data, "u.csv"))
    assert result.rows_accepted == 3
    assert result.accepted.column("case_id").to_pylist() == ["A1", "A2", "Ünïcødé-3"]
    path = _write(tmp_path, "u.csv", data)
    assert main(["evaluate", str(path), "--format", "csv", "--out",
                 str(tmp_path / "o.csv")]) == 0
    assert "3 accepted, 0 rejected" in _one_line(capsys.readouterr().err)


def test_one_megabyte_cell_rejects_only_its_row(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    big = "x" * 1_000_000
    text = _csv([["A1", "72148", "40", "none", "F"], ["A2", "72148", "41", "none", big]])
    result = validate(read_raw(text.encode(), "big.csv"))
    assert (result.rows_in, result.rows_accepted, result.rows_rejected) == (2, 1, 1)
    err = result.errors.to_pylist()
    assert [(e["row"], e["column"]) for e in err] == [(2, "sex")]
    assert "longer than" in err[0]["message"] and len(err[0]["value"]) <= 200
    path = _write(tmp_path, "big.csv", text.encode())
    errors = tmp_path / "errors.csv"
    assert main(["evaluate", str(path), "--errors", str(errors), "--out",
                 str(tmp_path / "o.json")]) == 0
    line = _one_line(capsys.readouterr().err)
    assert "1 accepted, 1 rejected" in line
    assert len(errors.read_bytes()) < 2000  # the cell is cut, not copied


def test_big_cell_in_case_id_and_many_rows_reconcile() -> None:
    rows = [[f"C{i}", "72148", str(20 + i % 70), "none", "F"] for i in range(500)]
    rows[7][0] = "y" * 200_000
    rows[8][3] = "sideways"
    result = validate(read_raw(_csv(rows).encode(), "many.csv"))
    assert result.rows_in == 500 == result.rows_accepted + result.rows_rejected
    assert sorted({e["row"] for e in result.errors.to_pylist()}) == [8, 9]


FORMULAS = ["=cmd|' /C calc'!A0", "+SUM(A1:A9)", "-2+3", "@SUM(1)", "\tTAB", "\rCR",
            "=HYPERLINK(\"http://x\")"]


def test_formula_cells_are_kept_and_escaped_in_csv(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    raw_rows = [[f, "72148", "40", "none", "F"] for f in FORMULAS]
    data = _csv(raw_rows).encode()
    result = validate(read_raw(data, "f.csv"))
    assert result.rows_accepted == len(raw_rows)  # nothing dropped
    ids = result.accepted.column("case_id").to_pylist()
    assert ids == [r[0].strip() for r in raw_rows]  # only surrounding whitespace trimmed

    path = _write(tmp_path, "f.csv", data)
    out = tmp_path / "o.csv"
    assert main(["evaluate", str(path), "--format", "csv", "--out", str(out),
                 "--policy", "acr"]) == 0
    capsys.readouterr()
    with open(out, newline="", encoding="utf-8") as fh:
        cells = [r["case_id"] for r in csv.DictReader(fh)]
    assert cells == ["'=cmd|' /C calc'!A0", "'+SUM(A1:A9)", "'-2+3", "'@SUM(1)", "TAB", "CR",
                     "'=HYPERLINK(\"http://x\")"]  # tab and CR were trimmed on reading
    json_out = tmp_path / "o.jsonl"
    assert main(["evaluate", str(path), "--out", str(json_out), "--policy", "acr"]) == 0
    capsys.readouterr()
    raw_ids = [json.loads(ln)["case_id"] for ln in json_out.read_text().splitlines()]
    assert raw_ids == ids  # JSON keeps the text as it was


def test_errors_csv_escapes_formula_values(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    rows = [["=1+1", "-72148", "@age", "+trauma", "-sex"], ["ok", "72148", "40", "none", "F"]]
    path = _write(tmp_path, "e.csv", _csv(rows).encode())
    errors = tmp_path / "errors.csv"
    assert main(["evaluate", str(path), "--errors", str(errors), "--out",
                 str(tmp_path / "o.json")]) == 0
    capsys.readouterr()
    with open(errors, newline="", encoding="utf-8") as fh:
        lines = list(csv.DictReader(fh))
    assert {ln["column"] for ln in lines} == {"cpt_code", "age", "trauma"}  # (sex: lenient)
    for ln in lines:
        for key in ("case_id", "value", "message", "column"):
            assert not ln[key].startswith(FORMULA_PREFIXES), (key, ln[key])
        assert ln["case_id"] == "'=1+1"
    assert {ln["value"] for ln in lines} == {"'-72148", "'@age", "'+trauma"}


def test_unknown_enum_values_are_rejected_with_a_reason(tmp_path: Path) -> None:
    rows = [["A1", "72148", "40", "sideways", "F"], ["A2", "99999", "40", "none", "X"],
            ["A3", "72148", "40", "NONE", "f"], ["A4", "lumbar", "40", "none", "F"]]
    result = validate(read_raw(_csv(rows).encode(), "enum.csv"))
    assert result.rows_in == 4 == result.rows_accepted + result.rows_rejected
    assert result.accepted.column("case_id").to_pylist() == ["A3"]  # case-insensitive enums
    errors = result.errors.to_pylist()
    # sex is lenient: its 'X' is a warning - and row 2 is rejected for its code anyway
    assert {(e["row"], e["column"]) for e in errors} == {(1, "trauma"), (2, "cpt_code"),
                                                           (4, "cpt_code")}
    assert result.warnings.num_rows == 0
    for e in errors:
        assert e["value"] in e["message"] and "must be one of" in e["message"]


# --- CSV export: OWASP CSV injection ----------------------------------------------------------

def test_csv_safe_table_escapes_every_prefix_in_text_columns_only() -> None:
    values = [*(p + "x" for p in FORMULA_PREFIXES), "plain", None, "", "a=b", " =x"]
    table = pa.table({
        "text": pa.array(values, pa.string()),
        "large": pa.array(values, pa.large_string()),
        "dict": pa.array(values, pa.string()).dictionary_encode(),
        "list": pa.array([[v] if v is not None else None for v in values],
                         pa.list_(pa.string())),
        "number": pa.array([-1.5] * len(values)),
        "integer": pa.array([-3] * len(values)),
    })
    safe = csv_safe_table(table).to_pydict()
    expected = [("'" + v if v and v.startswith(FORMULA_PREFIXES) else v) for v in values]
    assert safe["text"] == expected
    assert safe["large"] == expected
    assert safe["dict"] == expected
    assert safe["list"] == [("'" + v if v and v.startswith(FORMULA_PREFIXES) else v)
                            if v is not None else None for v in values]
    assert safe["number"] == [-1.5] * len(values) and safe["integer"] == [-3] * len(values)


def test_csv_to_stdout_is_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    write_table(pa.table({"case_id": ["=evil()", "fine"]}), "csv", None)
    out = capsys.readouterr().out
    assert "\"'=evil()\"" in out and "\"fine\"" in out


def _parquet_bytes(table: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf, compression="none", use_dictionary=False,
                   write_statistics=False)
    return buf.getvalue()


def test_parquet_text_that_is_not_utf8_rejects_only_its_row() -> None:
    # Parquet does not check that its text is UTF-8: a damaged file (found by the ingest
    # fuzzer) held b"\x80o" where "no" was. That row is rejected, naming the column.
    table = pa.table({"case_id": ["A1", "A2", "A3"], "cpt_code": ["72148"] * 3,
                      "radiculopathy": ["yes", "no", "yes"]})
    data = _parquet_bytes(table).replace(b"\x02\x00\x00\x00no", b"\x02\x00\x00\x00\x80o")
    assert b"\x80o" in data
    result = validate(read_raw(data, "damaged.parquet"))
    assert (result.rows_in, result.rows_accepted, result.rows_rejected) == (3, 2, 1)
    errors = result.errors.to_pylist()
    assert {(e["row"], e["case_id"], e["column"], e["value"]) for e in errors} \
        == {(2, "A2", "radiculopathy", "\ufffdo")}
    assert any("not valid UTF-8" in e["message"] for e in errors)


def test_parquet_binary_column_is_read_as_text_and_bad_bytes_reported() -> None:
    table = pa.table({"case_id": pa.array([b"B1", b"\xffB2"], pa.binary()),
                      "cpt_code": ["72141", "72141"]})
    result = validate(read_raw(_parquet_bytes(table), "bytes.parquet"))
    assert (result.rows_in, result.rows_accepted, result.rows_rejected) == (2, 1, 1)
    assert result.accepted.column("case_id").to_pylist() == ["B1"]
    [error] = result.errors.to_pylist()
    assert error["row"] == 2 and error["column"] == "case_id"
