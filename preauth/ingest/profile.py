"""Mapping profiles: one YAML file that says how a team's export becomes case fields, kept and
reused every month (the Upload page and ``preauth evaluate|stats FILE --mapping PROFILE``).

.. code-block:: yaml

    columns:            # source header -> catalog field (null: ignore the column)
      "Request ID": case_id
      "Date Requested": request_date
    values:             # per catalog field: source value -> catalog value ("" = not documented)
      sex: {Male: M, Female: F}
      decision: {Withdrawn: cancelled, Pending: ""}
    formats:            # per date field: strptime format
      request_date: "%m/%d/%Y"

:func:`load_profile` refuses, all at once, every unknown key, field, target value or format,
naming the file, the line and - where one is close - the name that was probably meant.
:func:`profile_text` writes a profile (with comments) and :func:`propose_profile` the automatic
guess for a file, for editing. Applying a profile is :func:`preauth.ingest.validate.validate`'s
job (``mapping=``, ``values=``, ``formats=``: :meth:`MappingProfile.validate_options`), so a
profile and the page's own choices go through one path.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from preauth.catalog.dates import DAY_FIRST, MONTH_FIRST
from preauth.catalog.fields import FIELDS_BY_NAME, Field, Kind
from preauth.catalog.values import TRIM
from preauth.ingest._cells import text_column
from preauth.ingest.errors import AmbiguousDates, MixedDates, ProfileError
from preauth.ingest.mapping import resolve_mapping
from preauth.ingest.raw import RawTable
from preauth.ingest.reading import (
    ColumnPlan,
    FileDecisions,
    ProfileEntryError,
    checked_format,
    checked_value,
    checked_value_field,
    map_values,
)
from preauth.ingest.validate import IngestResult
from preauth.safe_yaml import YAMLProblem, one_line, read_yaml_located
from preauth.sources.codes import CODES_COLUMN

__all__ = [
    "MAX_PROFILE_BYTES",
    "MAX_PROPOSED_VALUES",
    "SECTIONS",
    "MappingProfile",
    "ProfileError",
    "load_profile",
    "profile_text",
    "propose_profile",
]

MAX_PROFILE_BYTES = 1 << 20  # a profile is a page of YAML; 1 MB is far more than any needs
SECTIONS = {
    "columns": "source header -> catalog field (null: ignore the column)",
    "values": "per catalog field: source value -> catalog value (\"\" = not documented)",
    "formats": "per date field: strptime format, e.g. \"%m/%d/%Y\"",
    "description": "free text: what export this profile is for",
}


@dataclass(frozen=True)
class MappingProfile:
    """What a profile says: ``columns`` (source header -> field, ``None`` to ignore it),
    ``values`` (field -> source text -> catalog text, ``""`` = not documented) and ``formats``
    (date field -> strptime format)."""

    columns: dict[str, str | None] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    description: str = ""

    def validate_options(self) -> dict[str, Any]:
        """Keyword arguments for :func:`preauth.ingest.validate.validate` and
        :func:`preauth.ingest.stream.validate_in_batches`."""
        return {"mapping": dict(self.columns) or None, "values": self.values or None,
                "formats": self.formats or None}


# --- reading ----------------------------------------------------------------------------------

def load_profile(source: str | os.PathLike[str] | bytes, filename: str | None = None
                 ) -> MappingProfile:
    """Read and check a profile from a path, or from its bytes/text with ``filename`` for
    messages. Raises :class:`ProfileError` listing every problem (file, line, suggestion)."""
    if isinstance(source, (str, os.PathLike)) and filename is None:
        path = Path(source)
        name = path.name
        try:
            if path.stat().st_size > MAX_PROFILE_BYTES:
                raise ProfileError([f"{name}: a profile is at most "
                                    f"{MAX_PROFILE_BYTES >> 20} MB; this file is larger"])
            data = path.read_bytes()
        except OSError as exc:
            raise ProfileError([f"{name}: could not be read ({exc.strerror or exc})"]) from exc
    elif isinstance(source, (bytes, bytearray, memoryview, str)):
        name = filename or "profile"
        data = source.encode("utf-8") if isinstance(source, str) else bytes(source)
    else:
        raise TypeError("load_profile takes a path, or text/bytes with a filename")
    if len(data) > MAX_PROFILE_BYTES:
        raise ProfileError([f"{name}: a profile is at most {MAX_PROFILE_BYTES >> 20} MB; "
                            "this file is larger"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProfileError([f"{name}: not UTF-8 text (byte {exc.start}); save the profile "
                            "as UTF-8"]) from exc
    try:
        tree, lines = read_yaml_located(text)
    except YAMLProblem as exc:
        raise ProfileError([f"{name}: {exc}"]) from exc
    return _Checker(name, lines).profile(tree)


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class _Checker:
    """Builds a :class:`MappingProfile` from parsed YAML, collecting every problem."""

    def __init__(self, name: str, lines: dict[tuple[Any, ...], int]) -> None:
        self.name, self.lines = name, lines
        self.found: list[tuple[int, str]] = []

    @property
    def problems(self) -> list[str]:
        """The problems in the order of their lines."""
        return [message for _, message in sorted(self.found, key=lambda p: p[0])]

    def problem(self, path: tuple[Any, ...], message: str) -> None:
        line = self.lines.get(path)
        where = f"{self.name}, line {line}" if line else self.name
        self.found.append((line or 0, f"{where}: {message}"))

    def profile(self, tree: Any) -> MappingProfile:
        if tree is None:
            tree = {}
        if not isinstance(tree, dict):
            raise ProfileError([f"{self.name}: a profile is a mapping with the keys "
                                f"{', '.join(SECTIONS)}; got {type(tree).__name__}"])
        for key in tree:
            if key not in SECTIONS:
                self.problem((key,), f"unknown key {one_line(repr(key), 60)}; expected "
                             f"{', '.join(SECTIONS)}{_suggest(key, SECTIONS)}")
        description = tree.get("description") or ""
        if not isinstance(description, str):
            self.problem(("description",), "description must be text")
            description = ""
        formats = self.formats(tree.get("formats"))
        profile = MappingProfile(columns=self.columns(tree.get("columns")),
                                 values=self.values(tree.get("values"), formats),
                                 formats=formats, description=description)
        if self.problems:
            raise ProfileError(self.problems)
        return profile

    def section(self, key: str, node: Any) -> dict[Any, Any]:
        if node is None:
            return {}
        if not isinstance(node, dict):
            self.problem((key,), f"{key} must be a mapping ({SECTIONS[key]})")
            return {}
        return node

    def field_name(self, path: tuple[Any, ...], name: Any) -> str | None:
        text = name if isinstance(name, str) else None
        if text is None or text not in FIELDS_BY_NAME:
            self.problem(path, f"{one_line(repr(name), 60)} is not a case field"
                         f"{_suggest(name, FIELDS_BY_NAME)} (the fields are listed in "
                         "docs/fields.md)")
            return None
        return text

    def columns(self, node: Any) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        claimed: dict[str, str] = {}
        for header, target in self.section("columns", node).items():
            path = ("columns", header)
            if target is None or target == "":
                out[str(header)] = None
                continue
            name = self.field_name(path, target)
            if name is None:
                continue
            if name in claimed:
                self.problem(path, f"columns {claimed[name]!r} and {str(header)!r} are both "
                             f"mapped to {name}; a field takes one column")
                continue
            claimed[name] = str(header)
            out[str(header)] = name
        return out

    def values(self, node: Any, date_formats: Mapping[str, str]) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for key, mapping in self.section("values", node).items():
            name = self.field_name(("values", key), key)
            if name is None:
                continue
            if not isinstance(mapping, dict):
                self.problem(("values", key), f"values of {name} must be a mapping of source "
                             "value -> catalog value")
                continue
            try:
                f = checked_value_field(name)
            except ProfileEntryError as exc:
                self.problem(("values", key), str(exc))
                continue
            table: dict[str, str] = {}
            for source, target in mapping.items():
                path = ("values", key, source)
                try:
                    source_text, target_text = checked_value(
                        f, "" if source is None else _scalar_text(source),
                        "" if target is None else _scalar_text(target), date_formats.get(name))
                except ProfileEntryError as exc:
                    allowed = list(f.values) if f.kind is Kind.ENUM else []
                    self.problem(path, f"{exc} (or \"\" for not documented)"
                                 f"{_suggest(target, allowed)}")
                    continue
                table[source_text] = target_text
            out[name] = table
        return out

    def formats(self, node: Any) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, fmt in self.section("formats", node).items():
            name = self.field_name(("formats", key), key)
            if name is None:
                continue
            if fmt is None and FIELDS_BY_NAME[name].kind is Kind.DATE:  # left to choose
                self.problem(("formats", key), f"{name} has no format yet; write the one the "
                             f"file uses: \"{MONTH_FIRST}\" (M/D/YYYY) or \"{DAY_FIRST}\" "
                             "(D/M/YYYY), for example")
                continue
            try:
                out[name] = checked_format(name, fmt if isinstance(fmt, str) else repr(fmt))
            except ProfileEntryError as exc:
                example = ("; for example \"%m/%d/%Y\", \"%d.%m.%Y\" or \"%Y-%m-%d\""
                           if FIELDS_BY_NAME[name].kind is Kind.DATE else "")
                self.problem(("formats", key), f"{exc}{example}")
        return out


def _scalar_text(value: Any) -> str:
    """A YAML scalar as the text a cell would hold (``true`` -> ``'true'``, ``1`` -> ``'1'``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- writing ----------------------------------------------------------------------------------

def _scalar(value: Any) -> str:
    """One YAML scalar, quoted where YAML would read it as something else."""
    dumped = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000)
    return dumped.removesuffix("\n...\n").removesuffix("\n")


def profile_text(profile: MappingProfile,
                 notes: Mapping[tuple[str, ...], str] | None = None) -> str:
    """The profile as YAML with a comment per section; ``notes`` adds a comment to an entry
    by its path (``("values", "sex", "Male")`` -> ``"2,000 rows"``; ``("values", "sex")``:
    on the field's line). A note on a format the profile does not set, ``("formats",
    "request_date")``, writes that key with no value and the note - a choice left to the
    reader, which :func:`load_profile` refuses until it is made."""
    notes = notes or {}
    out = ["# Preauth Explorer mapping profile - use with the Upload page or",
           "#   preauth evaluate FILE --mapping THIS.yaml",
           "# Fields and their values: docs/fields.md"]
    if profile.description:
        out.append(f"description: {_scalar(profile.description)}")

    def entry(indent: str, key: Any, value: Any, path: tuple[str, ...]) -> str:
        line = f"{indent}{_scalar(key)}: {_scalar(value)}"
        note = notes.get(path)
        return f"{line}  # {one_line(note, 200)}" if note else line

    out += [f"columns:  # {SECTIONS['columns']}"]
    out += [entry("  ", h, f, ("columns", h)) for h, f in profile.columns.items()] or ["  {}"]
    out += [f"values:  # {SECTIONS['values']}"]
    for name, table in profile.values.items():
        note = notes.get(("values", name))
        out.append(f"  {name}:" + ("" if table else " {}")
                   + (f"  # {one_line(note, 120)}" if note else ""))
        out += [entry("    ", s, t, ("values", name, s)) for s, t in table.items()]
    if not profile.values:
        out.append("  {}")
    out += [f"formats:  # {SECTIONS['formats']}"]
    formats = [entry("  ", k, v, ("formats", k)) for k, v in profile.formats.items()]
    # a note on a format the profile does not set: the key with no value, to be chosen
    # (load_profile refuses it until it is)
    formats += [f"  {_scalar(path[1])}:  # {one_line(note, 160)}"
                for path, note in notes.items()
                if len(path) == 2 and path[0] == "formats" and path[1] not in profile.formats]
    out += formats or ["  {}"]
    return "\n".join(out) + "\n"


# --- the automatic guess ----------------------------------------------------------------------

MAX_PROPOSED_VALUES = 30  # values listed per column; the rest are counted in a comment
_PROCEDURE = ("cpt_code", "region", "contrast")  # a row naming none of them is rejected
_SAMPLE_ROWS = 10_000  # rows the sample values of a column are taken from
_SAMPLES = 3


def propose_profile(raw: RawTable, result: IngestResult | None = None, *,
                    base: MappingProfile | None = None
                    ) -> tuple[MappingProfile, dict[tuple[str, ...], str]]:
    """The automatic guess for the file ``raw``, for a person to check and edit, and a comment
    per entry (``notes``, for :func:`profile_text`).

    * ``columns``: every header of the file, mapped to its field (``result``'s mapping, else
      the automatic one with ``base``'s columns on top) or to null (not used), each with
      three sample values in its comment;
    * ``values``: ``base``'s, then for every mapped column the catalog parses (all but text),
      the distinct values it does not recognise, most frequent first (at most
      :data:`MAX_PROPOSED_VALUES`), each mapped to ``""`` (not documented) with a comment:
      how many rows hold it and what to set instead;
    * ``formats``: ``base``'s, then for a date column whose slash dates show their order, that
      order as a strptime format (``"%m/%d/%Y"``), so a later file whose dates do not show it
      reads alike - unless the column also holds dates the format would not read. A column
      whose dates do not show their order, or show both, gets its key with **no value** and
      a comment giving both formats: :func:`load_profile` refuses the profile until one is
      written, so the order is never guessed.

    Raises :class:`~preauth.ingest.errors.IngestError` only when ``base`` names a column the
    file does not have.
    """
    base = base or MappingProfile()
    name = raw.filename
    mapping = (dict(result.mapping) if result is not None
               else resolve_mapping(raw.headers, base.columns or None, name))
    notes: dict[tuple[str, ...], str] = {}
    columns: dict[str, str | None] = {}
    for header in raw.headers:
        columns[header] = mapping.get(header)
        notes[("columns", header)] = _samples_note(raw.table.column(header),
                                                   header in mapping)
    values = {f: dict(t) for f, t in base.values.items()}
    formats = dict(base.formats)
    for header, field_name in mapping.items():
        f = FIELDS_BY_NAME[field_name]
        plan = ColumnPlan(f, header, name, base.values.get(field_name),
                          base.formats.get(field_name), raw.delimiter == ";")
        if field_name == CODES_COLUMN:
            found = _placeholders(plan, raw.table.column(header))
        elif f.kind is Kind.TEXT:
            continue
        else:
            found = _column_proposal(plan, raw.table.column(header))
        if found.date_format is not None:
            formats[field_name] = found.date_format
        if found.choose is not None:
            notes[("formats", field_name)] = found.choose
        if found.values:
            table = values.setdefault(field_name, {})
            for text, count in found.values:
                table[text] = ""
                notes[("values", field_name, text)] = (
                    _value_note(f, count) if field_name != CODES_COLUMN else
                    f"{count:,} {'row' if count == 1 else 'rows'} - no ICD-10-CM code here; "
                    "\"\" reads as no codes (no warning)")
            if found.more:
                notes[("values", field_name)] = found.more
    description = base.description or (f"proposed by preauth profile from {name} - check "
                                       "every entry")
    return MappingProfile(columns, values, formats, description), notes


@dataclass(frozen=True)
class _Proposal:
    values: list[tuple[str, int]]  # (value, rows) not recognised, most frequent first
    more: str | None = None  # a comment on the ones not listed
    date_format: str | None = None  # the order the column showed, as a format
    choose: str | None = None  # a date order the reader must choose


def _distinct(col: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """The distinct non-empty trimmed texts of a column and their counts."""
    counts = pc.value_counts(pc.utf8_trim(text_column(col), characters=TRIM))
    texts, n = counts.field("values"), counts.field("counts")
    keep = pc.fill_null(pc.not_equal(texts, ""), False)
    return texts.filter(keep), n.filter(keep).to_numpy()


def _listed(texts: pa.Array, counts: np.ndarray, which: pa.Array) -> tuple[
        list[tuple[str, int]], str | None]:
    """The texts ``which`` selects with their counts, most frequent first (at most
    :data:`MAX_PROPOSED_VALUES`), and a comment on the rest."""
    found = pa.table({"text": texts, "rows": counts}).filter(which)
    found = found.sort_by([("rows", "descending"), ("text", "ascending")])
    listed, rest = found.slice(0, MAX_PROPOSED_VALUES), found.slice(MAX_PROPOSED_VALUES)
    more = None
    if rest.num_rows:
        left = int(pc.sum(rest.column("rows")).as_py())
        more = (f"{rest.num_rows:,} more values like these ({left:,} rows) are not listed")
    return list(zip(listed.column("text").to_pylist(), listed.column("rows").to_pylist(),
                    strict=True)), more


def _placeholders(plan: ColumnPlan, col: pa.ChunkedArray) -> _Proposal:
    """Diagnosis-code cells with no digit - no code at all (``N/A``, ``none``, ``see
    notes``): each a warning unless the profile maps it to ``""``."""
    texts, counts = _distinct(col)
    if plan.values:
        texts = map_values(texts, plan.values)
    values, more = _listed(texts, counts, pc.and_(
        pc.not_equal(texts, ""), pc.invert(pc.match_substring_regex(texts, r"\d"))))
    return _Proposal(values, more)


def _column_proposal(plan: ColumnPlan, col: pa.ChunkedArray) -> _Proposal:
    texts, counts = _distinct(col)
    f, choose = plan.field, None
    try:
        mapped, typed, outcome = plan.read(texts)
    except MixedDates as exc:
        return _Proposal([], choose=(
            f"choose \"{MONTH_FIRST}\" (M/D/YYYY) or \"{DAY_FIRST}\" (D/M/YYYY): the column "
            f"has dates only M/D/YYYY reads ({exc.examples[0]}) and dates only D/M/YYYY "
            f"reads ({exc.examples[1]}); those of the other form will be not documented"))
    except AmbiguousDates as exc:
        choose = (f"choose \"{MONTH_FIRST}\" (M/D/YYYY) or \"{DAY_FIRST}\" (D/M/YYYY): no "
                  f"date in the column shows which ({', '.join(exc.examples[:3])} read "
                  "either way)")
        plan = replace(plan, decided=FileDecisions(date_orders={f.name: (MONTH_FIRST, "")}))
        mapped, typed, outcome = plan.read(texts)
    unknown = pc.and_(pc.fill_null(pc.not_equal(mapped, ""), False), pc.is_null(typed))
    date_format = None
    if outcome.date_order is not None and plan.date_format is None and choose is None:
        strict = replace(plan, date_format=outcome.date_order[0]).read(texts)[1]
        if strict.null_count == typed.null_count:  # the format reads every date the file does
            date_format = outcome.date_order[0]
    values, more = _listed(texts, counts, unknown)
    return _Proposal(values, more, date_format, choose)


def _value_note(f: Field, rows: int) -> str:
    if f.name in _PROCEDURE:
        return (f"{rows:,} {'row' if rows == 1 else 'rows'} - set one of "
                f"{', '.join(f.values)}; with \"\" the row is rejected unless other columns "
                "name the procedure")
    if f.kind is Kind.ENUM:
        allowed = f"one of {', '.join(f.values)}"
    elif f.kind is Kind.BOOLEAN:
        allowed = "yes or no"
    elif f.kind is Kind.DATE:
        allowed = "a date (YYYY-MM-DD)"
    else:
        allowed = f.describe_type()
    return (f"{rows:,} {'row' if rows == 1 else 'rows'} - set {allowed}, or leave \"\" for "
            "not documented")


def _samples_note(col: pa.ChunkedArray, mapped: bool) -> str:
    """``e.g. 1/2/2024, 3/14/2024, 12/1/2024`` - the first distinct values of the column's
    first rows (``not used; e.g. …`` for an unmapped column)."""
    head = pc.utf8_trim(text_column(col.slice(0, _SAMPLE_ROWS)), characters=TRIM)
    head = head.filter(pc.fill_null(pc.not_equal(head, ""), False))
    shown = [one_line(str(v), 30) for v in pc.unique(head).slice(0, _SAMPLES).to_pylist()]
    said = f"e.g. {', '.join(shown)}" if shown else "empty"
    return said if mapped else f"not used; {said}"
