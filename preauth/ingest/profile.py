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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from preauth.catalog.fields import FIELDS_BY_NAME, Kind
from preauth.ingest.errors import IngestError
from preauth.ingest.reading import (
    ProfileEntryError,
    checked_format,
    checked_value,
    checked_value_field,
)
from preauth.safe_yaml import YAMLProblem, one_line, read_yaml_located

__all__ = [
    "MAX_PROFILE_BYTES",
    "SECTIONS",
    "MappingProfile",
    "ProfileError",
    "load_profile",
    "profile_text",
]

MAX_PROFILE_BYTES = 1 << 20  # a profile is a page of YAML; 1 MB is far more than any needs
SECTIONS = {
    "columns": "source header -> catalog field (null: ignore the column)",
    "values": "per catalog field: source value -> catalog value (\"\" = not documented)",
    "formats": "per date field: strptime format, e.g. \"%m/%d/%Y\"",
    "description": "free text: what export this profile is for",
}


class ProfileError(IngestError):
    """A mapping profile that cannot be used; ``problems`` holds one line per problem, each
    naming the file and line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


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
    by its path (``("values", "sex", "Male")`` -> ``"2,000 rows"``)."""
    notes = notes or {}
    out = ["# Preauth Explorer mapping profile - use with the Upload page or",
           "#   preauth evaluate FILE --mapping THIS.yaml",
           "# Fields and their values: docs/fields.md"]
    if profile.description:
        out.append(f"description: {_scalar(profile.description)}")

    def entry(indent: str, key: Any, value: Any, path: tuple[str, ...]) -> str:
        line = f"{indent}{_scalar(key)}: {_scalar(value)}"
        note = notes.get(path)
        return f"{line}  # {one_line(note, 120)}" if note else line

    out += [f"columns:  # {SECTIONS['columns']}"]
    out += [entry("  ", h, f, ("columns", h)) for h, f in profile.columns.items()] or ["  {}"]
    out += [f"values:  # {SECTIONS['values']}"]
    for name, table in profile.values.items():
        out.append(f"  {name}:" + ("" if table else " {}"))
        out += [entry("    ", s, t, ("values", name, s)) for s, t in table.items()]
    if not profile.values:
        out.append("  {}")
    out += [f"formats:  # {SECTIONS['formats']}"]
    out += [entry("  ", k, v, ("formats", k)) for k, v in profile.formats.items()] or ["  {}"]
    return "\n".join(out) + "\n"
