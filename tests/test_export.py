"""preauth.ingest.export: JSON Lines, CSV and Parquet written column-wise, with the content a
row-by-row writer gives (the oracles below are the plain Python ways of writing each row)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preauth.criteria.library import Library
from preauth.evaluate.batch import evaluate_all
from preauth.evaluate.engine import Engine
from preauth.evaluate.wide import wide_result
from preauth.ingest import export
from preauth.ingest.export import (
    FORMULA_PREFIXES,
    UTF8_BOM,
    TableWriter,
    jsonl_bytes,
    source_columns,
    write_table,
)
from preauth.ingest.raw import RawTable
from preauth.synthetic.generator import synthesize
from tests.fast import examples


def _iso(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _jsonl_oracle(table: pa.Table) -> bytes:
    return "".join(json.dumps(row, default=_iso, ensure_ascii=False) + "\n"
                   for row in table.to_pylist()).encode("utf-8")


def _csv_cell_oracle(value: Any) -> Any:
    if isinstance(value, list):
        value = None if any(v is None for v in value) else ";".join(value)
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


@pytest.fixture(scope="module")
def determinations(engine: Engine) -> pa.Table:
    """Real output: several policies (one dictionary each), lists of every length."""
    return evaluate_all(engine, synthesize(300, seed=12, outcomes=False), "all")


CONTROL = "".join(chr(c) for c in range(0x20))
TEXT = ["plain", "", None, 'quote " and \\ back\\slash', CONTROL, "tab\there\nnew\r\x7f",
        "ünï©ødé 😀 \u2028\u2029 \ufeff", "=SUM(A1)", "-3", "@x", "\tlead", "+1"]


def _hostile() -> pa.Table:
    n = len(TEXT)
    lists = [[t for t in TEXT[i:i + 3]] if i % 4 else ([] if i % 8 else None)
             for i in range(n)]
    return pa.table({
        "text": pa.array(TEXT, pa.string()),
        "large": pa.array(TEXT, pa.large_string()),
        "dict": pa.array(TEXT, pa.string()).dictionary_encode(),
        "list": pa.array(lists, pa.list_(pa.string())),
        "dict_list": pa.array(lists, pa.list_(pa.string())).cast(
            pa.list_(pa.dictionary(pa.int32(), pa.string()))),
        "large_list": pa.array(lists, pa.large_list(pa.string())),
        "dict_large_list": pa.array(lists, pa.large_list(pa.string())).cast(
            pa.large_list(pa.dictionary(pa.int32(), pa.string()))),
        "flag": pa.array([True, False, None] * (n // 3), pa.bool_()),
        "small": pa.array([-128, 127, None, 0] * (n // 4), pa.int8()),
        "big": pa.array([2**64 - 1, None, 0, 7] * (n // 4), pa.uint64()),
        "ratio": pa.array([1.5, -0.0, 1e16, math.nan, math.inf, None, 0.1, 3.0, -1e-7, 2.5,
                           1 / 3, 123456789.125], pa.float64()),
        "day": pa.array([dt.date(2024, 1, 5), None] * (n // 2), pa.date32()),
        "when": pa.array([dt.datetime(2024, 1, 5, 6, 7, 8), None] * (n // 2),
                         pa.timestamp("s")),
        "nothing": pa.nulls(n),
        'odd "name" ü\n': pa.array(range(n), pa.int64()),
    })


def test_jsonl_is_json_dumps_of_each_row(determinations: pa.Table) -> None:
    assert jsonl_bytes(determinations) == _jsonl_oracle(determinations)
    hostile = _hostile()
    assert jsonl_bytes(hostile) == _jsonl_oracle(hostile)
    for piece in (hostile.slice(3, 5), determinations.slice(101, 77)):  # sliced arrays
        assert jsonl_bytes(piece) == _jsonl_oracle(piece)
    assert jsonl_bytes(hostile.slice(0, 0)) == b""


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=8),
       st.lists(st.lists(st.none() | st.text(max_size=5), max_size=4) | st.none(),
                min_size=1, max_size=8))
def test_jsonl_escapes_any_text_as_json_dumps(texts: list[str],
                                               lists: list[list[str | None] | None]) -> None:
    texts = [t.encode("utf-8", "replace").decode("utf-8") for t in texts]  # no surrogates
    lists = [None if x is None else [v if v is None else
                                     v.encode("utf-8", "replace").decode("utf-8") for v in x]
             for x in lists]
    n = max(len(texts), len(lists))
    table = pa.table({
        "t": pa.array((texts * n)[:n], pa.string()),
        "d": pa.array((texts * n)[:n], pa.string()).dictionary_encode(),
        "l": pa.array((lists * n)[:n], pa.list_(pa.string())),
    })
    assert jsonl_bytes(table) == _jsonl_oracle(table)


def test_json_lines_to_a_path_a_text_and_a_binary_stream(determinations: pa.Table,
                                                         tmp_path: Path) -> None:
    want = _jsonl_oracle(determinations)
    path = tmp_path / "out.jsonl"
    with TableWriter("json", path) as writer:  # batch after batch
        for start in range(0, determinations.num_rows, 250):
            writer.write(determinations.slice(start, 250))
    assert path.read_bytes() == want
    text, binary = io.StringIO(), io.BytesIO()
    write_table(determinations, "json", text)
    write_table(determinations, "json", binary)
    assert text.getvalue().encode("utf-8") == binary.getvalue() == want


def test_csv_cells_are_the_row_by_row_ones(determinations: pa.Table, tmp_path: Path) -> None:
    for table in (determinations, _hostile(), _hostile().slice(2, 7)):
        path = tmp_path / "out.csv"
        write_table(table, "csv", path)
        with open(path, encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == table.column_names
        got = [[None if cell == "" else cell for cell in row] for row in rows[1:]]
        text_columns = [i for i, f in enumerate(table.schema)
                        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
                        or pa.types.is_dictionary(f.type) or pa.types.is_list(f.type)
                        or pa.types.is_large_list(f.type)]
        for i in text_columns:
            want = [_csv_cell_oracle(v) for v in table.column(i).to_pylist()]
            assert [r[i] for r in got] == [None if w == "" else w for w in want], \
                table.column_names[i]


def _dictionaries(col: pa.ChunkedArray) -> list[pa.Array]:
    out = []
    for chunk in col.chunks:
        if pa.types.is_list(chunk.type):
            chunk = chunk.values
        if pa.types.is_dictionary(chunk.type):
            out.append(chunk.dictionary)
    return out


def test_parquet_holds_the_same_determinations(engine: Engine, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # the engine's own output: a dictionary per policy in each dictionary column
    determinations = engine.evaluate(synthesize(300, seed=12, outcomes=False), "all")
    assert len({tuple(d.to_pylist()) for d in _dictionaries(determinations["fired"])}) > 1
    written: list[pa.Table] = []
    write = pq.ParquetWriter.write_table
    monkeypatch.setattr(pq.ParquetWriter, "write_table",
                        lambda self, t, *a, **k: (written.append(t), write(self, t, *a, **k)))
    path = tmp_path / "out.parquet"
    with TableWriter("parquet", path) as writer:
        for start in range(0, determinations.num_rows, 400):
            writer.write(determinations.slice(start, 400))
    back = pq.read_table(path)
    assert back.schema == determinations.schema
    assert back.to_pylist() == determinations.to_pylist()
    # what the Parquet writer gets: one dictionary per column and table (a dictionary that
    # changes inside a row group makes it re-encode the column)
    assert len(written) == -(-determinations.num_rows // 400)
    for table in written:
        for name in table.column_names:
            assert len({tuple(d.to_pylist()) for d in _dictionaries(table[name])}) <= 1, name


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet"])
def test_writing_in_the_background_writes_the_same(fmt: str, determinations: pa.Table,
                                                   tmp_path: Path) -> None:
    paths = {}
    for background in (False, True):
        paths[background] = path = tmp_path / f"out-{background}.{fmt}"
        with TableWriter(fmt, path, background=background) as writer:
            for start in range(0, determinations.num_rows, 333):
                writer.write(determinations.slice(start, 333))
    if fmt == "parquet":
        assert pq.read_table(paths[True]).equals(pq.read_table(paths[False]))
    else:
        assert paths[True].read_bytes() == paths[False].read_bytes()


def test_an_error_in_the_background_is_raised(tmp_path: Path) -> None:
    writer = TableWriter("parquet", tmp_path / "out.parquet", background=True)
    writer.write(pa.table({"n": pa.array([1, 2], pa.int64())}))
    writer.write(pa.table({"n": pa.array(["not a number"])}))  # cannot be cast to int64
    with pytest.raises(pa.ArrowInvalid):
        writer.close()
    writer = TableWriter("parquet", tmp_path / "out2.parquet", background=True)
    writer.write(pa.table({"n": pa.array(["x"])}))
    writer.write(pa.table({"m": pa.array(["y"])}))  # another column: not this schema
    with pytest.raises(ValueError, match="field names"):  # raised by the next write
        writer.write(pa.table({"n": pa.array(["z"])}))
    writer.close()


# -- the byte order mark, CSV in slices, the wide layout -------------------------------------

def test_a_byte_order_mark_only_when_asked_and_only_once(determinations: pa.Table,
                                                         tmp_path: Path) -> None:
    plain, marked = tmp_path / "plain.csv", tmp_path / "marked.csv"
    for path, bom in ((plain, False), (marked, True)):
        with TableWriter("csv", path, bom=bom) as writer:
            for start in range(0, determinations.num_rows, 250):  # batch after batch
                writer.write(determinations.slice(start, 250))
    assert not plain.read_bytes().startswith(UTF8_BOM)
    assert marked.read_bytes() == UTF8_BOM + plain.read_bytes()
    assert marked.read_bytes().count(UTF8_BOM) == 1
    with open(marked, encoding="utf-8-sig", newline="") as fh:  # what Excel reads
        assert next(csv.reader(fh)) == determinations.column_names
    text = io.StringIO()
    write_table(determinations.slice(0, 3), "csv", text, bom=True)
    assert text.getvalue().startswith("\ufeff")
    for fmt in ("json", "parquet"):
        with pytest.raises(ValueError, match="for CSV"):
            TableWriter(fmt, tmp_path / "x", bom=True)


def test_csv_written_slice_by_slice_is_the_same_file(determinations: pa.Table,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    whole = io.BytesIO()
    write_table(determinations, "csv", whole, bom=True)
    monkeypatch.setattr(export, "CSV_SLICE_ROWS", 7)
    sliced = io.BytesIO()
    write_table(determinations, "csv", sliced, bom=True)
    assert sliced.getvalue() == whole.getvalue()
    header = io.BytesIO()
    write_table(determinations.slice(0, 0), "csv", header)
    assert header.getvalue().decode().strip() == ",".join(
        f'"{n}"' for n in determinations.column_names)


def test_wide_csv_neutralises_formulas_in_fields_source_columns_and_criteria(
        library: Library) -> None:
    """Whatever the file or a custom policy holds, a wide CSV cell never starts a formula: a
    catalog text field, the user's own unmapped column, a criterion's title."""
    acr = library["acr"]
    evil = acr.model_copy(update={"id": "evil", "criteria": tuple(
        c.model_copy(update={"title": f"=HYPERLINK(\"http://x\",\"{c.title}\")"})
        for c in acr.criteria)})
    lib = library.with_policy(evil)
    cases = synthesize(60, seed=3)
    cases = cases.set_column(cases.schema.get_field_index("carrier"), "carrier",
                             pa.array(["=cmd|' /C calc'!A0", "@SUM(1)"] * 30))
    evil_engine = Engine(lib)
    try:
        long = evaluate_all(evil_engine, cases, ["evil", "acr"])
    finally:
        evil_engine.close()
    wide = wide_result(cases, long, lib, ["evil", "acr"],
                       source=pa.table({"Comment": ["+1+1", "-2"] * 30}))
    buf = io.BytesIO()
    write_table(wide, "csv", buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue().decode("utf-8"))))
    assert [r["carrier"] for r in rows[:2]] == ["'=cmd|' /C calc'!A0", "'@SUM(1)"]
    assert [r["Comment"] for r in rows[:2]] == ["'+1+1", "'-2"]
    met = [r["evil: criteria met"] for r in rows if r["evil: criteria met"]]
    assert met and all(m.startswith("'=HYPERLINK(") for m in met)
    assert all(not cell.startswith(FORMULA_PREFIXES) for r in rows for cell in r.values())


def test_source_columns_are_the_accepted_rows_own_cells() -> None:
    raw = RawTable(pa.table({"ID": ["a", "b", "c", "d"], "Notes": ["n1", "n2", "n3", "n4"]}),
                   "f.csv", "csv")
    accepted = pa.table({"case_id": ["b", "d"], "row": pa.array([2, 4], pa.int64())})
    assert source_columns(raw, accepted, ["Notes"]).to_pylist() == [{"Notes": "n2"},
                                                                    {"Notes": "n4"}]
    with pytest.raises(ValueError, match="no 'row' column"):
        source_columns(raw, accepted.drop_columns(["row"]), ["Notes"])
