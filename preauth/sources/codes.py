"""ICD-10-CM diagnosis codes as evidence: a cited code list derives case fields, with provenance.

A case's ``diagnosis_codes`` cell holds codes separated by commas, semicolons, white space or
``|``, with or without the dot, in any case (``G83.4; m5416``). :func:`parse_codes` reads one
cell. :func:`derive_from_codes` reads the column of a typed case table (the catalog's Arrow
schema) and, for each row, fills every field the code list derives from the row's codes:

* an explicit value in the field's own column wins, even ``false`` — only an empty (NULL)
  field is filled;
* a code not on the list, or listed as deriving nothing (low back pain), derives nothing;
* codes of one row that derive different values for one field derive none of them: the field
  stays empty (not documented) and a warning names the codes;
* a malformed token is a warning naming the value, and is otherwise ignored.

Each derived value carries its provenance — the code and its official title, e.g.
``ICD-10-CM G83.4 Cauda equina syndrome`` — in a ``map<string, list<string>>`` column (field →
citations, NULL where nothing was derived). A map rather than JSON text: it is built with Arrow
kernels (no per-row ``json.dumps``), stays typed in Parquet and DuckDB, and becomes a
``dict[str, list[str]]`` — the JSON object the CLI emits as ``provenance`` — with ``as_py``.

The work is done by Arrow kernels over the whole column (split, flatten, ``index_in`` against
the list, regroup by row with numpy), never per row. :func:`derive_case` runs a single case
through the same function as a one-row table, so the explorer and a batch cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.fields import FIELDS_BY_NAME
from preauth.catalog.schema import ARROW_TYPES
from preauth.catalog.values import parse_value
from preauth.sources._codelist import (
    DERIVABLE,
    CodeEntry,
    CodeList,
    CodeListError,
    CodeSource,
    read_code_list,
)
from preauth.sources._derive import PROVENANCE_TYPE, WARNING_SCHEMA, derive
from preauth.sources._vector import Matcher, tokens

__all__ = [
    "CODES_COLUMN",
    "DEFAULT_CODE_LIST",
    "DERIVABLE_FIELDS",
    "PROVENANCE_TYPE",
    "WARNING_SCHEMA",
    "CodeDerivation",
    "CodeEntry",
    "CodeList",
    "CodeListError",
    "CodeSource",
    "default_code_list",
    "derive_case",
    "derive_from_codes",
    "load_code_list",
    "parse_codes",
]

CODES_COLUMN = "diagnosis_codes"
DEFAULT_CODE_LIST = Path(__file__).resolve().parents[2] / "codes" / "icd10.yaml"
# The fields a code list may derive (yes/no findings and categories of the clinical groups).
DERIVABLE_FIELDS: tuple[str, ...] = tuple(f.name for f in DERIVABLE)


@dataclass(frozen=True)
class CodeDerivation:
    """The result of :func:`derive_from_codes`.

    ``table``: the input with the derived values filled in. ``provenance``: one
    :data:`PROVENANCE_TYPE` value per row (field -> citations), NULL where nothing was
    derived. ``warnings``: :data:`WARNING_SCHEMA` (``row`` 0-based in the table, ``column``,
    ``value``, ``message``), by row and then position in the cell. ``derived``: rows filled
    per field."""

    table: pa.Table
    provenance: pa.Array
    warnings: pa.Table
    derived: Mapping[str, int] = field(default_factory=dict)

    def provenance_of(self, row: int) -> dict[str, list[str]]:
        """Row ``row``'s provenance: field -> citations (empty when nothing was derived)."""
        value = self.provenance[row].as_py()
        return {} if value is None else dict(value)  # a map's as_py: (key, value) pairs

    def messages(self, row: int | None = None) -> list[str]:
        """The warning messages (of one row, or all)."""
        w = self.warnings
        if row is not None:
            w = w.filter(pc.equal(w.column("row"), row))
        return w.column("message").to_pylist()


def load_code_list(path: str | Path = DEFAULT_CODE_LIST) -> CodeList:
    """Read and check a code list file; raises :class:`CodeListError` naming file, line and
    entry."""
    return read_code_list(path)


@cache
def default_code_list() -> CodeList:
    """The bundled list, ``codes/icd10.yaml`` (loaded once)."""
    return read_code_list(DEFAULT_CODE_LIST)


@lru_cache(maxsize=8)
def _matcher(code_list: CodeList) -> Matcher:
    return Matcher(code_list)


def parse_codes(text: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(codes, malformed)`` of one cell, each once and in order: the well-formed codes in
    the dotted upper-case form (``'g834, M5416'`` -> ``('G83.4', 'M54.16')``) and the tokens
    that are not ICD-10-CM codes, as written. Read by the kernels :func:`derive_from_codes`
    uses."""
    if text is None:
        return (), ()
    t = tokens(pa.array([str(text)], pa.string()))
    good = t.valid[t.word]
    codes = t.code.take(pa.array(t.word[good])).to_pylist()
    malformed = t.words.take(pa.array(t.word[~good])).to_pylist()
    return tuple(dict.fromkeys(codes)), tuple(dict.fromkeys(malformed))


def derive_from_codes(table: pa.Table, code_list: CodeList | None = None) -> CodeDerivation:
    """Fill the empty fields of ``table`` that its ``diagnosis_codes`` derive (see the module
    docstring for the rules). ``table`` has the catalog's typed columns; a derivable field
    missing from it is read as empty and added when some row derives it."""
    code_list = code_list or default_code_list()
    n = table.num_rows
    if CODES_COLUMN not in table.column_names or table.column(CODES_COLUMN).null_count == n:
        return CodeDerivation(table, pa.nulls(n, PROVENANCE_TYPE), WARNING_SCHEMA.empty_table())
    column = table.column(CODES_COLUMN).combine_chunks()
    if not pa.types.is_string(column.type):
        column = column.cast(pa.string())
    out, provenance, warnings, derived = derive(table, CODES_COLUMN, tokens(column),
                                                _matcher(code_list))
    return CodeDerivation(out, provenance, warnings, derived)


def derive_case(case: Mapping[str, Any], code_list: CodeList | None = None
                ) -> tuple[dict[str, Any], dict[str, list[str]], list[str]]:
    """One case through :func:`derive_from_codes` as a one-row table: ``(case with the derived
    values filled in, provenance (field -> citations), warning messages)``. Raises
    :class:`preauth.catalog.values.InvalidValue` for a value its field does not accept."""
    names = (CODES_COLUMN, *DERIVABLE_FIELDS)
    row = pa.table({name: pa.array([parse_value(name, case.get(name))],
                                   ARROW_TYPES[FIELDS_BY_NAME[name].kind]) for name in names})
    result = derive_from_codes(row, code_list)
    out = dict(case)
    for name in result.derived:
        out[name] = result.table.column(name)[0].as_py()
    return out, result.provenance_of(0), result.messages()
