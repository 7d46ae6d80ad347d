"""Byte-level fuzzing of ingest (hypothesis): valid CSV / TSV / JSON / Parquet / XLSX files, and
the small files of the hostile corpus (tests/hostile_corpus.py), with random corruptions —
bytes flipped, inserted, deleted, truncated, encodings changed, lines duplicated — are either
refused with one clear :class:`IngestError` line, or read so that every row is accounted for
(rows in = accepted + rejected, each rejected row named in the errors). No other exception ever
escapes.

The whole hostile corpus (zip bomb, XFD1048576, ragged rows, NUL bytes, repeated JSON keys ...)
goes through the same checks as it is, within bounded work (function calls, not time) and
memory; its CSV files also through the batched reader, which must agree with the whole-file one.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preauth.ingest.errors import IngestError
from preauth.ingest.read import read_raw
from preauth.ingest.stream import validate_in_batches
from preauth.ingest.validate import IngestResult, validate
from tests import hostile_corpus
from tests.fast import examples
from tests.work import work_budget

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


def _corpus_seeds() -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        paths = hostile_corpus.write_corpus(Path(tmp), seeds_only=True)
        return {name: path.read_bytes() for name, path in paths.items()}


SOURCES = {"f.csv": _csv(), "f.tsv": _csv("\t"), "f.txt": _csv(";"), "f.json": _json(),
           "f.jsonl": b"\n".join(json.dumps(r).encode() for r in ROWS) + b"\n",
           "f.parquet": _parquet(), "f.xlsx": _xlsx(), **_corpus_seeds()}


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


def _refused_or_accounted_for(name: str, source: bytes | Path) -> IngestResult | IngestError:
    """Ingest ``source``: one clear line naming the file, or every row accounted for."""
    try:
        result = validate(read_raw(source, name))
    except IngestError as err:
        message = str(err)
        assert message.startswith(name) and "\n" not in message and len(message) < 600
        return err
    assert result.rows_in == result.rows_accepted + result.rows_rejected
    rejected_rows = {e["row"] for e in result.errors.to_pylist()}
    assert len(rejected_rows) == result.rows_rejected
    accepted_rows = set(result.accepted.column("row").to_pylist())
    assert not accepted_rows & rejected_rows
    assert accepted_rows | rejected_rows == set(range(1, result.rows_in + 1))
    return result


@settings(max_examples=examples(250), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=corrupted())
def test_corrupted_files_are_refused_or_fully_accounted_for(case: tuple[str, bytes]) -> None:
    name, data = case
    _refused_or_accounted_for(name, data)


# --- the hostile corpus, as it is ------------------------------------------------------------

def _peak_rss_tracker() -> tuple[bool, int]:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux); (works, current KB)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False, 0
    return True, _status_kb("VmRSS")


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as fh:
        return int(re.search(rf"{key}:\s+(\d+)", fh.read()).group(1))  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return hostile_corpus.write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.mark.parametrize("name", [h.name for h in hostile_corpus.CORPUS])
def test_hostile_corpus_is_refused_or_accounted_for_in_bounded_work_and_memory(
        name: str, corpus: dict[str, Path]) -> None:
    path = corpus[name]
    tracking, before_kb = _peak_rss_tracker()
    with work_budget(hostile_corpus.CORPUS_CALLS, name):  # function calls counted, not time
        outcome = _refused_or_accounted_for(name, path)
    grown_mb = (_status_kb("VmHWM") - before_kb) / 1024 if tracking else 0
    assert grown_mb < 1024, f"{name}: peak memory grew by {grown_mb:,.0f} MB"
    if path.suffix == ".csv":  # the batched reader agrees (or leaves the file to this one)
        try:
            batched = validate_in_batches(path, 2)
        except IngestError as err:
            assert isinstance(outcome, IngestError) and str(err) == str(outcome)
            return
        if batched is not None:
            assert isinstance(outcome, IngestResult)
            assert batched.errors.to_pylist() == outcome.errors.to_pylist()
            assert batched.accepted.equals(outcome.accepted)
