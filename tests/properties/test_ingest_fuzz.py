"""Byte-level fuzzing of ingest (hypothesis): valid CSV / TSV / JSON / Parquet / XLSX files with
random corruptions — bytes flipped, inserted, deleted, truncated, encodings changed, lines
duplicated — are either refused with one clear :class:`IngestError` line, or read so that
every row is accounted for (rows in = accepted + rejected, each rejected row named in the
errors). No other exception ever escapes."""

from __future__ import annotations

import contextlib
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preauth.ingest import IngestError, read_raw, validate

ROWS = [
    {"case_id": "A1", "cpt_code": "72148", "age": "40", "radiculopathy": "yes",
     "trauma": "none", "symptom_weeks": "6.5", "request_date": "2024-01-05"},
    {"case_id": "A2", "cpt_code": "72141", "age": "", "radiculopathy": "no",
     "trauma": "low_velocity", "symptom_weeks": "", "request_date": ""},
    {"case_id": "A3", "cpt_code": "", "age": "71", "radiculopathy": "",
     "trauma": "", "symptom_weeks": "12", "request_date": "2023-12-31"},
]


def _csv(sep: str = ",") -> bytes:
    header = sep.join(ROWS[0])
    lines = [sep.join(r.values()) for r in ROWS]
    return ("\n".join([header, *lines]) + "\n").encode()


def _json() -> bytes:
    return json.dumps(ROWS).encode()


def _parquet() -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(ROWS), buf)
    return buf.getvalue()


def _xlsx() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(ROWS[0]))
    for r in ROWS:
        sheet.append(list(r.values()))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


SOURCES = {"f.csv": _csv(), "f.tsv": _csv("\t"), "f.txt": _csv(";"), "f.json": _json(),
           "f.jsonl": b"\n".join(json.dumps(r).encode() for r in ROWS) + b"\n",
           "f.parquet": _parquet(), "f.xlsx": _xlsx()}


@st.composite
def corrupted(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(SOURCES)))
    data = bytearray(SOURCES[name])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "dup_line",
                                   "encode", "junk_prefix"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        elif op == "truncate":
            del data[at:]
        elif op == "dup_line":
            lines = bytes(data).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            data = bytearray(b"\n".join(lines))
        elif op == "encode":
            codec = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32", "cp1252"]))
            with contextlib.suppress(UnicodeDecodeError, UnicodeEncodeError):
                data = bytearray(bytes(data).decode("utf-8").encode(codec))
        else:
            data[0:0] = draw(st.sampled_from([b"\xef\xbb\xbf", b"\x00\x00", b"PK\x03\x04",
                                              b"PAR1", b"\n\n", b"%PDF"]))
    return name, bytes(data)


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=corrupted())
def test_corrupted_files_are_refused_or_fully_accounted_for(case: tuple[str, bytes]) -> None:
    name, data = case
    try:
        result = validate(read_raw(data, name))
    except IngestError as err:
        message = str(err)
        assert message.startswith(name) and "\n" not in message and len(message) < 600
        return
    assert result.rows_in == result.rows_accepted + result.rows_rejected
    rejected_rows = {e["row"] for e in result.errors.to_pylist()}
    assert len(rejected_rows) == result.rows_rejected
    accepted_rows = set(result.accepted.column("row").to_pylist())
    assert not accepted_rows & rejected_rows
    assert accepted_rows | rejected_rows == set(range(1, result.rows_in + 1))
