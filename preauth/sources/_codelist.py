"""Package-internal: a code list file (``codes/icd10.yaml``) read and checked at load time.

Every refusal raises :class:`CodeListError` naming the file, the line of the entry and the
entry (its code or range), and saying what is wrong: an unknown key or field, a value the field
does not accept (:func:`preauth.catalog.values.parse_value`), a malformed code or range, a
missing title or source, two entries that can match one code and both derive the same field
(or one derives nothing and the other something).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from preauth.catalog.fields import FIELDS, FIELDS_BY_NAME, Field, Kind
from preauth.catalog.values import InvalidValue, parse_value
from preauth.safe_yaml import YAMLProblem, read_yaml_located

__all__ = ["CODE_RE", "DERIVABLE", "CodeEntry", "CodeList", "CodeListError", "CodeSource",
           "dotless", "read_code_list"]

# An ICD-10-CM code: a letter, a digit, a letter or digit (C7A, M1A), then optionally a dot and
# 1-4 letters or digits; the dot is placed after the third character.
CODE_RE = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?")
_RANGE = re.compile(r"(?P<lo>[^-\s]+)\s*-\s*(?P<hi>[^-\s]+)")
_TOP_KEYS = {"list", "name", "version", "sources", "codes"}
_ENTRY_KEYS = {"code", "range", "title", "source", "derives", "note"}
_SOURCE_KEYS = {"text", "url", "files"}

# The fields a code may derive: yes/no findings and categories of the clinical groups — not
# the request (ids, procedure), the payer outcome, numbers, dates or text.
DERIVABLE: tuple[Field, ...] = tuple(
    f for f in FIELDS if not f.outcome and f.group != "request"
    and f.kind in (Kind.BOOLEAN, Kind.ENUM))
_DERIVABLE_NAMES = {f.name for f in DERIVABLE}


class CodeListError(ValueError):
    """A code list file that cannot be used; the message names file, line and entry."""


@dataclass(frozen=True)
class CodeSource:
    key: str
    text: str
    url: str
    files: str = ""


def dotless(code: str) -> str:
    return code.replace(".", "")


def _dotted(key: str) -> str:
    return key if len(key) <= 3 else f"{key[:3]}.{key[3:]}"


@dataclass(frozen=True)
class CodeEntry:
    """One line of the list: a code (``G83.4``), a code and every code under it (``Z85.*``),
    or a range (``M46.20-M46.28``: the codes differing only in the last character, and every
    code under them), with the official title, its source and what it derives."""

    pattern: str  # as written in the file
    kind: str  # "code" | "prefix" | "range"
    title: str
    source: str
    derives: tuple[tuple[str, Any], ...]  # (field name, parsed value), file order
    note: str = ""
    line: int | None = None
    members: tuple[str, ...] = field(default=())  # dotless: the code, the prefix, or each member

    @property
    def label(self) -> str:
        """``G83.4``; ``Z85.-``, ``M54.1-`` (the Tabular List's mark for "and the codes under
        it");
        ``M46.20–M46.28``."""
        if self.kind == "code":
            return _dotted(self.members[0])
        if self.kind == "prefix":  # the Tabular List writes Z85.- and M54.1-
            return _dotted(self.members[0]) + ("." if len(self.members[0]) == 3 else "") + "-"
        return f"{_dotted(self.members[0])}–{_dotted(self.members[-1])}"

    def cites(self, code: str) -> str:
        """Where a value derived from ``code`` (dotted) came from, in one line:
        ``ICD-10-CM G83.4 Cauda equina syndrome``, ``ICD-10-CM M54.16 (M54.1- Radiculopathy)``.
        """
        return f"ICD-10-CM {code}{self.suffix}"

    @property
    def suffix(self) -> str:
        return f" {self.title}" if self.kind == "code" else f" ({self.label} {self.title})"

    def matches(self, code: str) -> bool:
        """Whether this entry covers ``code`` (a well-formed code, dotted or not)."""
        key = dotless(code.upper())
        if self.kind == "code":
            return key == self.members[0]
        return any(key.startswith(m) for m in self.members)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity (a cache key)
class CodeList:
    """A checked code list: its sources and entries, in file order."""

    path: str
    name: str
    version: str
    sources: Mapping[str, CodeSource]
    entries: tuple[CodeEntry, ...]

    def lookup(self, code: str) -> tuple[CodeEntry, ...]:
        """The entries covering one code (dotted or not), in file order."""
        return tuple(e for e in self.entries if e.matches(code))

    @cached_property
    def derived_fields(self) -> tuple[str, ...]:
        """The fields some entry derives, in catalog order."""
        named = {name for e in self.entries for name, _ in e.derives}
        return tuple(f.name for f in DERIVABLE if f.name in named)


# --- reading --------------------------------------------------------------------------------

def read_code_list(path: str | Path) -> CodeList:
    """Read and check the code list at ``path``; raises :class:`CodeListError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CodeListError(f"{path}: cannot read the code list ({err})") from None
    return parse_code_list(text, str(path))


def parse_code_list(text: str, name: str) -> CodeList:
    data, lines = _load(text, name)
    if not isinstance(data, dict):
        raise CodeListError(f"{name}: a code list is a mapping with keys "
                            f"{', '.join(sorted(_TOP_KEYS))}")
    _no_unknown(data, _TOP_KEYS, name)
    sources = _sources(data.get("sources"), name)
    items = data.get("codes")
    if not isinstance(items, list) or not items:
        raise CodeListError(f"{name}: 'codes' must be a non-empty list of entries")
    entries = tuple(_entry(item, sources, name, lines[i] if i < len(lines) else None, i)
                    for i, item in enumerate(items))
    _check_overlaps(entries, name)
    return CodeList(name, str(data.get("name", "")), str(data.get("version", "")), sources,
                    entries)


def _load(text: str, name: str) -> tuple[Any, list[int]]:
    """The data and the line of each entry of ``codes`` (the guarded loader every YAML file of
    ours goes through: limits, no tags, no duplicate keys)."""
    try:
        data, lines = read_yaml_located(text)
    except YAMLProblem as err:
        raise CodeListError(f"{name}: {err}") from None
    count = len(data["codes"]) if isinstance(data, dict) and isinstance(
        data.get("codes"), list) else 0
    return data, [lines.get(("codes", i), 0) for i in range(count)]


def _no_unknown(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = [str(k) for k in data if k not in allowed]
    if unknown:
        raise CodeListError(f"{where}: unknown key {unknown[0]!r}{_suggest(unknown[0], allowed)}"
                            f"; allowed: {', '.join(sorted(allowed))}")


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _sources(raw: Any, name: str) -> dict[str, CodeSource]:
    if not isinstance(raw, dict) or not raw:
        raise CodeListError(f"{name}: 'sources' must map a key to {{text, url}} for each "
                            "source the entries cite")
    out = {}
    for key, value in raw.items():
        where = f"{name}, source {key!r}"
        if not isinstance(value, dict):
            raise CodeListError(f"{where}: must be a mapping with text and url")
        _no_unknown(value, _SOURCE_KEYS, where)
        for need in ("text", "url"):
            if not isinstance(value.get(need), str) or not value[need].strip():
                raise CodeListError(f"{where}: '{need}' is missing")
        out[str(key)] = CodeSource(str(key), value["text"].strip(), value["url"].strip(),
                                   str(value.get("files") or ""))
    return out


def _entry(item: Any, sources: Mapping[str, CodeSource], name: str, line: int | None,
           index: int) -> CodeEntry:
    shown = (item.get("code") or item.get("range")) if isinstance(item, dict) else None
    where = f"{name}" + (f", line {line}" if line else "") + \
        (f", entry {str(shown)!r}" if shown else f", entry #{index + 1}")
    if not isinstance(item, dict):
        raise CodeListError(f"{where}: an entry is a mapping with code (or range), title, "
                            "source and derives")
    _no_unknown(item, _ENTRY_KEYS, where)
    if ("code" in item) == ("range" in item):
        raise CodeListError(f"{where}: give exactly one of 'code' and 'range'")
    kind, members = (_code(item["code"], where) if "code" in item
                     else ("range", _range(item["range"], where)))
    title = item.get("title")
    if not isinstance(title, str) or not title.strip():
        raise CodeListError(f"{where}: 'title' is missing (the official ICD-10-CM title)")
    source = item.get("source")
    if not isinstance(source, str) or not source.strip():
        raise CodeListError(f"{where}: 'source' is missing (one of: {', '.join(sources)})")
    if source not in sources:
        raise CodeListError(f"{where}: source {source!r} is not in 'sources'"
                            f"{_suggest(source, sources)}; known: {', '.join(sources)}")
    derives = _derives(item.get("derives"), where)
    note = item.get("note")
    if note is not None and not isinstance(note, str):
        raise CodeListError(f"{where}: 'note' must be text")
    if not derives and not (note or "").strip():
        raise CodeListError(f"{where}: derives nothing, so it needs a 'note' saying why")
    return CodeEntry(str(item.get("code") or item.get("range")), kind, " ".join(title.split()),
                     source, derives, " ".join((note or "").split()), line, members)


def _code(raw: Any, where: str) -> tuple[str, tuple[str, ...]]:
    text = raw.strip() if isinstance(raw, str) else ""
    if CODE_RE.fullmatch(text):
        return "code", (dotless(text),)
    body = text[:-1] if text.endswith("*") else ""
    if len(body) == 4 and body.endswith(".") and CODE_RE.fullmatch(body[:3]):  # Z85.*
        return "prefix", (body[:3],)
    if "." in body and CODE_RE.fullmatch(body):  # M54.1*, M80.08*
        return "prefix", (dotless(body),)
    raise CodeListError(f"{where}: {raw!r} is not an ICD-10-CM code in the dotted form "
                        "(G83.4, C79.51) nor one followed by * for it and the codes under it "
                        "(Z85.*, M54.1*)")


def _range(raw: Any, where: str) -> tuple[str, ...]:
    m = _RANGE.fullmatch(raw.strip()) if isinstance(raw, str) else None
    lo, hi = (m["lo"], m["hi"]) if m else ("", "")
    if not (m and CODE_RE.fullmatch(lo) and CODE_RE.fullmatch(hi)):
        raise CodeListError(f"{where}: range {raw!r} must be two dotted ICD-10-CM codes joined "
                            "by '-', e.g. M46.20-M46.28")
    a, b = dotless(lo), dotless(hi)
    same_kind = (a[-1].isdigit() and b[-1].isdigit()) or (a[-1].isalpha() and b[-1].isalpha())
    if len(a) != len(b) or a[:-1] != b[:-1] or len(a) < 4 or not same_kind or a[-1] >= b[-1]:
        raise CodeListError(f"{where}: range {raw!r} must run over the last character of one "
                            "code (same length, same characters before it, both digits or both "
                            "letters, first below last), e.g. M46.20-M46.28")
    return tuple(a[:-1] + chr(c) for c in range(ord(a[-1]), ord(b[-1]) + 1))


def _derives(raw: Any, where: str) -> tuple[tuple[str, Any], ...]:
    if raw is None:
        raise CodeListError(f"{where}: 'derives' is missing (field: value, or {{}} when the "
                            "code derives nothing)")
    if not isinstance(raw, dict):
        raise CodeListError(f"{where}: 'derives' must map a field to a value")
    out = []
    for fname, value in raw.items():
        if fname not in FIELDS_BY_NAME:
            raise CodeListError(f"{where}: derives an unknown field {fname!r}"
                                f"{_suggest(str(fname), FIELDS_BY_NAME)}")
        if fname not in _DERIVABLE_NAMES:
            raise CodeListError(f"{where}: {fname} cannot be derived from a code (only the "
                                "yes/no and category fields of a case's clinical groups)")
        try:
            parsed = parse_value(fname, value)
        except InvalidValue as err:
            raise CodeListError(f"{where}: derives {err}") from None
        if parsed is None:
            raise CodeListError(f"{where}: derives {fname}: empty — a code cannot derive "
                                "'not documented'")
        out.append((str(fname), parsed))
    return tuple(out)


def _overlap(a: CodeEntry, b: CodeEntry) -> bool:
    for x in a.members:
        for y in b.members:
            if a.kind == "code" and b.kind == "code":
                hit = x == y
            elif a.kind == "code":
                hit = x.startswith(y)
            elif b.kind == "code":
                hit = y.startswith(x)
            else:
                hit = x.startswith(y) or y.startswith(x)
            if hit:
                return True
    return False


def _check_overlaps(entries: tuple[CodeEntry, ...], name: str) -> None:
    for i, a in enumerate(entries):
        for b in entries[:i]:
            if not _overlap(a, b):
                continue
            where = f"{name}" + (f", line {a.line}" if a.line else "") + f", entry {a.pattern!r}"
            other = f"entry {b.pattern!r}" + (f" (line {b.line})" if b.line else "")
            fields_a, fields_b = {f for f, _ in a.derives}, {f for f, _ in b.derives}
            if not fields_a and not fields_b:
                raise CodeListError(f"{where}: covers codes {other} covers already — list a "
                                    "code once")
            if not fields_a or not fields_b:
                empty, full = (a, b) if not fields_a else (b, a)
                raise CodeListError(f"{where}: overlaps {other}: {empty.pattern!r} derives "
                                    f"nothing but {full.pattern!r} derives "
                                    f"{', '.join(f for f, _ in full.derives)} for codes both "
                                    "cover")
            both = sorted(fields_a & fields_b)
            if both:
                conflict = [f for f in both if dict(a.derives)[f] != dict(b.derives)[f]]
                what = "conflicting values for" if conflict else "both derive"
                raise CodeListError(f"{where}: overlaps {other}, {what} "
                                    f"{', '.join(conflict or both)} — derive a field from "
                                    "one entry per code")
