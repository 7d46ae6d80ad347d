"""Reading an uploaded case file (CSV / TSV / Parquet / JSON / XLSX) as a table of text.

:func:`read_raw` turns a file (path, bytes or binary file-like) into a
:class:`~preauth.ingest.raw.RawTable`: an Arrow table whose columns are all *text*, under the
file's own header names. The format comes from the file name's extension; encoding and
delimiter are detected (:mod:`~preauth.ingest.decoding`, :mod:`~preauth.ingest.delimited`);
typed Parquet / JSON / Excel values are rendered as text, so one validation path
(:mod:`~preauth.ingest.validate`) serves every format and error messages can quote what the
file said - except Parquet columns whose type already holds a field's values (booleans,
numbers, dates), which validation reads in their typed form by the same rules
(:mod:`~preauth.ingest._typed`). A file that cannot be used at all raises
:class:`~preauth.ingest.errors.IngestError` with one clear line.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from preauth.ingest.decoding import is_blank
from preauth.ingest.delimited import read_csv
from preauth.ingest.errors import IngestError
from preauth.ingest.json_records import read_json
from preauth.ingest.parquet import read_parquet
from preauth.ingest.raw import RawTable, check_headers
from preauth.ingest.xlsx import read_xlsx

__all__ = ["FORMATS", "read_raw"]

# File name extension -> format.
FORMATS: dict[str, str] = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".json": "json", ".jsonl": "json", ".ndjson": "json",
    ".xlsx": "xlsx",
}
_EXPECTED_TYPES = ".csv, .tsv, .txt, .parquet, .json, .jsonl or .xlsx"


def read_raw(source: str | os.PathLike[str] | bytes | bytearray | memoryview | IO[Any],
             filename: str | None = None) -> RawTable:
    """Read ``source`` as a table of text columns; the format comes from ``filename``'s
    extension (``filename`` defaults to the name of a path ``source``).

    Raises :class:`IngestError` (one line naming the file) when the file cannot be used.
    """
    if filename is None:
        if not isinstance(source, (str, os.PathLike)):
            raise TypeError("read_raw needs a filename when source is not a path")
        filename = Path(source).name
    name = Path(str(filename)).name or str(filename)
    ext = Path(name).suffix.lower()
    fmt = FORMATS.get(ext)
    if fmt is None:
        if ext == ".xls":
            raise IngestError(f"{name}: old binary Excel files (.xls) are not supported; "
                              "save it as .xlsx or CSV")
        raise IngestError(f"{name}: unsupported file type {ext or '(no extension)'!r}; "
                          f"expected {_EXPECTED_TYPES}")
    data = _read_bytes(source, name)
    if is_blank(data):
        raise IngestError(f"{name}: the file is empty; expected a header row with column "
                          "names such as case_id, cpt_code")
    try:
        if fmt == "csv":
            raw = read_csv(data, name, tab=ext == ".tsv")
        elif fmt == "parquet":
            raw = read_parquet(data, name)
        elif fmt == "json":
            raw = read_json(data, name)
        else:
            raw = read_xlsx(data, name)
    except IngestError:
        raise
    except (pa.ArrowException, UnicodeError, ValueError, csv.Error, OSError, KeyError,
            IndexError, TypeError, EOFError, RecursionError) as exc:
        # Anything a parser library says about bad input becomes one line about the file.
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise IngestError(f"{name}: could not be read as {fmt.upper()} ({detail[:200]})") from exc
    check_headers(raw.table.column_names, name)
    return raw



def _read_bytes(source: Any, name: str) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        try:
            return Path(source).read_bytes()
        except FileNotFoundError as exc:
            raise IngestError(f"{name}: file not found ({source})") from exc
        except OSError as exc:
            raise IngestError(f"{name}: could not be opened ({exc.strerror or exc})") from exc
    if hasattr(source, "getvalue"):
        data = source.getvalue()
    elif hasattr(source, "read"):
        data = source.read()
    else:
        raise TypeError(f"cannot read {type(source).__name__}; give a path, bytes or a file")
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


