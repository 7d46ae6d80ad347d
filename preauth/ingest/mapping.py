"""Header mapping: which column of a file is which case field.

:func:`propose_mapping` matches headers to catalog fields by name or synonym (case-,
whitespace- and punctuation-insensitive); :func:`resolve_mapping` applies the user's choices
on top and refuses a mapping that cannot work.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from preauth.catalog.fields import FIELDS, FIELDS_BY_NAME
from preauth.catalog.values import TRIM
from preauth.ingest.errors import IngestError

__all__ = ["normalise_header", "propose_mapping", "resolve_mapping"]

_SEPARATORS = re.compile(r"[\s\-.]+")
_UNDERSCORES = re.compile(r"_+")


def normalise_header(name: str) -> str:
    """``' Case-ID. '`` -> ``'case_id'``: strip, lower, spaces/hyphens/dots -> ``_``."""
    text = str(name).strip(TRIM).lower()
    text = _SEPARATORS.sub("_", text)
    return _UNDERSCORES.sub("_", text).strip("_")


def _lookup() -> dict[str, tuple[int, str]]:
    table: dict[str, tuple[int, str]] = {}
    for f in FIELDS:
        table[normalise_header(f.name)] = (0, f.name)
    for f in FIELDS:
        for syn in f.synonyms:
            table.setdefault(normalise_header(syn), (1, f.name))
    return table


_LOOKUP = _lookup()


def propose_mapping(headers: Sequence[str]) -> dict[str, str]:
    """Source header -> field name, by normalised field name or :attr:`Field.synonyms`.

    When two headers claim one field, an exact field name beats a synonym, then the first
    column wins; the other stays unmapped.
    """
    best: dict[str, tuple[int, int, str]] = {}
    for position, header in enumerate(headers):
        hit = _LOOKUP.get(normalise_header(header))
        if hit is None:
            continue
        rank, field_name = hit
        if field_name not in best or (rank, position) < best[field_name][:2]:
            best[field_name] = (rank, position, header)
    chosen = {header: field_name for field_name, (_, _, header) in best.items()}
    return {h: chosen[h] for h in headers if h in chosen}


def resolve_mapping(headers: Sequence[str], mapping: Mapping[str, str | None] | None = None,
                    filename: str = "file") -> dict[str, str]:
    """The proposed mapping with the user's entries applied on top.

    A user entry ``header -> field`` wins over the proposal (a column auto-mapped to the same
    field is unmapped); ``header -> None`` (or ``""``) leaves that column unmapped.
    """
    result = propose_mapping(headers)
    if mapping is None:
        return result
    known = set(headers)
    for header, target in mapping.items():
        if header not in known:
            raise IngestError(f"{filename}: the mapping names a column {header!r} that the "
                              f"file does not have; expected one of its headers")
        if target is None or not str(target).strip():
            result.pop(header, None)
            continue
        target = str(target).strip()
        if target not in FIELDS_BY_NAME:
            raise IngestError(f"{filename}: column {header!r} is mapped to {target!r}, which is "
                              "not a case field; expected a name from the field catalog")
        for other, f in list(result.items()):
            if f == target and other != header and other not in mapping:
                del result[other]
        result[header] = target
    claimed: dict[str, str] = {}
    for header, target in result.items():
        if target in claimed:
            raise IngestError(f"{filename}: columns {claimed[target]!r} and {header!r} are both "
                              f"mapped to {target}; expected one column per field")
        claimed[target] = header
    return {h: result[h] for h in headers if h in result}

