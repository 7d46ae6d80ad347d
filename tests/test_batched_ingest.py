"""Validating a file in batches (preauth.batched_ingest) gives exactly what validating it whole
gives: accepted rows, errors, warnings, notes, row numbers, counts — including case_ids
repeated across batches, slash dates whose order one batch sets for the rest, checkbox
columns and lenient fields' unknown values — and refuses (None) the files it cannot stream,
which the whole-file path reads."""

from __future__ import annotations

import codecs
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preauth import cli
from preauth.cli import main
from preauth.ingest import stream as batched_ingest
from preauth.ingest.errors import IngestError
from preauth.ingest.read import read_raw
from preauth.ingest.stream import validate_in_batches
from preauth.ingest.validate import validate
from preauth.synthetic.generator import synthesize
from tests.fast import examples
from tests.properties.case_ids import case_ids


def _same(path: Path, batch_rows: int) -> None:
    try:
        whole = validate(read_raw(path))
    except IngestError as err:  # e.g. MixedDates: the batches say the same
        with pytest.raises(type(err)) as batched_err:
            validate_in_batches(path, batch_rows)
        assert str(batched_err.value) == str(err)
        return
    batched = validate_in_batches(path, batch_rows)
    assert batched is not None, f"{path.name} should stream"
    assert batched.rows_in == whole.rows_in
    assert (batched.rows_accepted, batched.rows_rejected) == (whole.rows_accepted,
                                                              whole.rows_rejected)
    assert batched.rows_in == batched.rows_accepted + batched.rows_rejected
    assert batched.errors.to_pylist() == whole.errors.to_pylist()
    assert batched.accepted.equals(whole.accepted)
    assert batched.mapping == whole.mapping
    assert batched.unmapped_columns == whole.unmapped_columns
    assert batched.warnings.to_pylist() == whole.warnings.to_pylist()
    assert set(batched.warnings["row"].to_pylist()) <= set(batched.accepted["row"].to_pylist())
    assert batched.notes == whole.notes and batched.decisions == whole.decisions


@st.composite
def files(draw: st.DrawFn) -> tuple[pa.Table, str, int]:
    n = draw(st.integers(0, 40))
    table = synthesize(max(n, 1), seed=draw(st.integers(0, 99)), outcomes=False).slice(0, n)
    text = pa.table([c.cast(pa.string()) for c in table.columns], names=table.column_names)
    ids = draw(case_ids(n))  # repeats likely; long (>= 300 characters) and odd ones too
    text = text.set_column(0, "case_id", pa.array(ids, pa.string()))
    # corrupt some cells: bad numbers, unknown codes, empty ids, padded values
    for _ in range(draw(st.integers(0, 5))):
        if not n:
            break
        row = draw(st.integers(0, n - 1))
        column = draw(st.sampled_from(["age", "cpt_code", "case_id", "radiculopathy"]))
        values = text[column].to_pylist()
        values[row] = draw(st.sampled_from(["", "abc", "-1", "99999", " 72148 ", "maybe"]))
        text = text.set_column(text.schema.get_field_index(column), column,
                               pa.array(values, pa.string()))
    if n and draw(st.booleans()):
        text = _as_exported(draw, text)
    return text, draw(st.sampled_from(["csv", "parquet"])), draw(st.integers(1, 17))


def _as_exported(draw: st.DrawFn, text: pa.Table) -> pa.Table:
    """Columns as exports write them: US dates (the first row showing the order; now and
    then a later D/M-only one), Male/Female and unknown sexes, status words (some unknown),
    a checkbox column (or a yes/no one with a stray mark)."""
    n = text.num_rows
    rng = draw(st.randoms(use_true_random=False))
    dates = ["04/13/2024"] + [f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/2024"
                              for _ in range(n - 1)]
    if n > 1 and draw(st.integers(0, 4)) == 0:
        dates[draw(st.integers(1, n - 1))] = "25/12/2024"  # both orders: MixedDates
    sexes = [rng.choice(["Male", "Female", "F", "", "U", "unknown"]) for _ in range(n)]
    status = [rng.choice(["Approved", "Denied", "Pended", "Withdrawn", "", "open"])
              for _ in range(n)]
    marks = [rng.choice(["X", "", "", "x"]) for _ in range(n)]
    if draw(st.booleans()):
        marks[0] = "yes"  # a yes/no column: its marks are row errors
    columns = {"request_date": dates, "sex": sexes, "decision": status,
               "physical_therapy": marks}
    for name, values in columns.items():
        array = pa.array(values, pa.string())
        at = text.schema.get_field_index(name)
        text = text.set_column(at, name, array) if at >= 0 else text.append_column(name, array)
    return text


@settings(max_examples=examples(60), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=files())
def test_batches_equal_the_whole_file(case: tuple[pa.Table, str, int],
                                      tmp_path: Path) -> None:
    table, fmt, batch_rows = case
    path = tmp_path / f"requests.{fmt}"
    if fmt == "csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path, row_group_size=7)
    _same(path, batch_rows)


def test_duplicates_across_batches_name_the_first_row(tmp_path: Path) -> None:
    path = tmp_path / "dups.csv"
    path.write_text("case_id,cpt_code\nA,72148\nB,72148\nA,72141\nC,72148\nB,72148\nA,72148\n",
                    encoding="utf-8")
    result = validate_in_batches(path, 2)
    assert result is not None
    assert [(e["row"], e["message"]) for e in result.errors.to_pylist()] == [
        (3, "case_id 'A' duplicates row 1"), (5, "case_id 'B' duplicates row 2"),
        (6, "case_id 'A' duplicates row 1")]
    assert result.accepted["case_id"].to_pylist() == ["A", "B", "C"]
    _same(path, 2)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_long_repeated_case_id_is_cut_alike_whole_and_streamed(fmt: str,
                                                                  tmp_path: Path) -> None:
    """A 300-character case_id given twice: one error line, whose value and case_id show 200
    characters (the last an ellipsis) and whose message quotes 60 - read whole or streamed."""
    long_id = "A" * 290 + "0123456789"
    table = pa.table({"case_id": [long_id, "B", long_id], "cpt_code": ["72148"] * 3})
    path = tmp_path / f"long.{fmt}"
    if fmt == "csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    batched = validate_in_batches(path, 1)
    assert batched is not None
    for result in (validate(read_raw(path)), batched):
        [error] = result.errors.to_pylist()
        assert error == {"row": 3, "case_id": "A" * 199 + "…", "column": "case_id",
                         "value": "A" * 199 + "…",
                         "message": "case_id '" + "A" * 59 + "…' duplicates row 1"}
    _same(path, 1)


def test_bom_blank_rows_and_quoted_line_breaks(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    body = ('case_id;cpt_code;age;carrier\n'
            'A;72148;40;"Carrier\nwith a line break"\n'
            ' ; ; ; \n'
            'B;72141;abc;X\n'
            '\n'
            'C;72148;50;"semi;colon"\n')
    path.write_bytes(codecs.BOM_UTF8 + body.encode("utf-8"))
    for batch_rows in (1, 2, 100):
        _same(path, batch_rows)


def test_header_only_and_exact_batch_multiples(tmp_path: Path) -> None:
    header_only = tmp_path / "header.csv"
    header_only.write_text("case_id,cpt_code\n", encoding="utf-8")
    _same(header_only, 3)
    four = tmp_path / "four.csv"
    four.write_text("case_id,cpt_code\nA,72148\nB,72148\nC,72148\nD,72148\n",
                    encoding="utf-8")
    _same(four, 2)  # the last batch ends the file exactly
    _same(four, 4)


def test_ragged_rows_stream_and_match_reading_whole(tmp_path: Path) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("case_id,cpt_code,age\nA,72148,40\nB,72141\nC,72148,50,extra\n",
                      encoding="utf-8")
    _same(ragged, 1)  # streamed, each ragged row rejected as when read whole (issue 8)


def test_files_that_do_not_stream_return_none(tmp_path: Path) -> None:
    utf16 = tmp_path / "utf16.csv"
    utf16.write_text("case_id,cpt_code\nA,72148\n", encoding="utf-16")
    assert validate_in_batches(utf16, 1) is None
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"case_id,cpt_code,carrier\nA,72148,Caf\xe9\n")
    assert validate_in_batches(latin, 1) is None
    assert validate_in_batches(tmp_path / "x.xlsx", 1) is None


def test_whole_file_problems_are_the_same_error(tmp_path: Path) -> None:
    no_id = tmp_path / "no_id.csv"
    no_id.write_text("cpt_code,age\n72148,40\n", encoding="utf-8")
    with pytest.raises(IngestError, match="no case_id column"):
        validate_in_batches(no_id, 1)


def test_cli_streams_big_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.csv"
    table = synthesize(30, seed=4, outcomes=False)
    ids = table["case_id"].to_pylist()
    ids[20] = ids[3]  # a repeat across batches
    pacsv.write_csv(table.set_column(0, "case_id", pa.array(ids)), src)
    calls: list[int] = []
    original = batched_ingest.validate_in_batches

    def spy(path: Path, batch_rows: int = 7) -> object:
        calls.append(batch_rows)
        return original(path, 7)

    monkeypatch.setattr(cli, "STREAM_FROM_BYTES", 0)
    monkeypatch.setattr(batched_ingest, "validate_in_batches", spy)
    out, errors = tmp_path / "out.csv", tmp_path / "errors.csv"
    assert main(["evaluate", str(src), "--policy", "acr", "--format", "csv", "--out", str(out),
                 "--errors", str(errors)]) == 0
    assert calls, "the CLI should have streamed the file"
    assert "read 30 rows: 29 accepted, 1 rejected" in capsys.readouterr().err
    assert "duplicates row 4" in errors.read_text(encoding="utf-8")
