"""JSON files: an array of objects, an object wrapping one such array, or JSON Lines (one
object per line). Numbers are kept as the file wrote them; a key given twice in a record is a
row error (``json`` would silently keep the last)."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from preauth.ingest._cells import cell_text
from preauth.ingest.decoding import decode
from preauth.ingest.errors import IngestError
from preauth.ingest.raw import RawTable

__all__ = ["read_json"]


def _records_table(records: list[dict[str, Any]]) -> pa.Table:
    keys = list(dict.fromkeys(k for r in records for k in r))
    columns = []
    for key in keys:
        values = [r.get(key) for r in records]
        if not all(v is None or type(v) is str for v in values):
            values = [cell_text(v) for v in values]
        columns.append(pa.array(values, pa.string()))
    return pa.table(columns, names=[str(k) for k in keys])


class _Repeated(dict):
    """A JSON object that gave a key more than once (``json`` keeps the last silently):
    ``repeated`` is ``(key, times, the values shown)`` for each such key."""

    __slots__ = ("repeated",)
    repeated: list[tuple[str, int, str]]


class _JsonObjects:
    """``object_pairs_hook``: a plain dict, or a :class:`_Repeated` one when a key repeats
    (``repeats`` counts those)."""

    def __init__(self) -> None:
        self.repeats = 0

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        self.repeats += 1
        return _repeated(pairs)


def _repeated(pairs: list[tuple[str, Any]]) -> _Repeated:
    out = _Repeated(pairs)
    out.repeated = []
    for key in dict.fromkeys(k for k, _ in pairs):
        values = [v for k, v in pairs if k == key]
        if len(values) > 1:
            out.repeated.append((key, len(values),
                                 " | ".join(cell_text(v) or "" for v in values)))
    return out


def _repeated_inside(value: Any) -> _Repeated | None:
    """The first object inside ``value`` that repeats a key (no recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Repeated):
            return item
        if isinstance(item, dict):
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))
    return None


def _repeated_key_errors(records: list[dict[str, Any]]) -> list[tuple[int, str, str, str]]:
    """A row error for each key given twice in a record, or in an object in one of its
    cells."""
    errors = []
    for row, record in enumerate(records, start=1):
        if isinstance(record, _Repeated):
            errors += [(row, str(key), shown, f"key {key!r} is given {times} times in this "
                                              "record; expected each key once")
                       for key, times, shown in record.repeated]
        for column, value in record.items():
            inner = _repeated_inside(value) if isinstance(value, (dict, list)) else None
            if inner is not None:
                key, times, shown = inner.repeated[0]
                errors.append((row, str(column), shown,
                               f"key {key!r} is given {times} times in an object in this "
                               "cell; expected each key once"))
    return errors


def read_json(data: bytes, name: str) -> RawTable:
    body, encoding = decode(data, name)
    text = body.decode("utf-8")
    objects = _JsonObjects()
    hooks: dict[str, Any] = {"parse_float": str, "parse_int": str, "parse_constant": str,
                             "object_pairs_hook": objects}
    stripped = text.lstrip()
    expected = "an array of objects or JSON Lines (one object per line)"
    records: list[Any]
    try:
        doc = json.loads(stripped, **hooks)
    except json.JSONDecodeError as exc:
        if stripped.startswith("[") or "Extra data" not in exc.msg:
            raise IngestError(f"{name}: is not valid JSON ({exc.msg} at line {exc.lineno}); "
                              f"expected {expected}") from exc
        records = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line, **hooks))
            except json.JSONDecodeError as err:
                raise IngestError(f"{name}: line {lineno} is not valid JSON ({err.msg}); "
                                  f"expected {expected}") from err
            if not isinstance(records[-1], dict):
                raise IngestError(f"{name}: line {lineno} is not a JSON object; expected "
                                  f"{expected}") from None
    else:
        if isinstance(doc, _Repeated):  # {"cases": [...], "cases": [...]}: which one?
            key, times, _ = doc.repeated[0]
            raise IngestError(f"{name}: key {key!r} is given {times} times in the top-level "
                              "object; expected each key once")
        if isinstance(doc, dict):
            lists = [v for v in doc.values() if isinstance(v, list)]
            # {"cases": [...]} is a wrapped array; any other object is one record
            doc = lists[0] if len(doc) == 1 and len(lists) == 1 else [doc]
        if not isinstance(doc, list):
            raise IngestError(f"{name}: holds a JSON {type(doc).__name__}, not records; "
                              f"expected {expected}")
        bad = next((i for i, r in enumerate(doc, start=1) if not isinstance(r, dict)), None)
        if bad is not None:
            raise IngestError(f"{name}: item {bad} of the JSON array is not an object; "
                              f"expected {expected}")
        records = doc
    if not records:
        raise IngestError(f"{name}: contains no records; expected {expected}")
    errors = _repeated_key_errors(records) if objects.repeats else []
    return RawTable(_records_table(records), name, "json", encoding, read_errors=tuple(errors))

