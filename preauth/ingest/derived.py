"""Values the accepted rows of a file get from their other columns, with provenance.

A file whose ``diagnosis_codes`` column holds ICD-10-CM codes gets, in its accepted rows, the
clinical fields the cited code list derives from them - only where the field's own cell is
empty (:func:`preauth.sources.codes.derive_from_codes` holds the rules) - and a
``provenance`` column (:data:`~preauth.catalog.schema.PROVENANCE_TYPE`: field -> citations,
NULL where nothing was derived) that the outputs carry. No criterion reads ``provenance``.

A code that is not an ICD-10-CM code, and codes of one row that disagree about a field, are
**warnings** (the row is kept): lines of the ingest warning table, built by
:func:`preauth.ingest.errors.error_rows` with the file's 1-based data row and the row's
case_id, column ``diagnosis_codes``, the cell as the row holds it, and a message naming the
code. A cell with no well-formed code at all (``N/A``, ``see notes``) is the same: one warning
per token, nothing derived, the row kept with its text - a profile's ``values`` can map such a
placeholder to ``""`` (no codes).

Derivation is row by row in effect (each row's fields from its own codes), so a file validated
in batches (:mod:`preauth.ingest.stream`) gets exactly what the whole file gets.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.fields import FIELDS
from preauth.catalog.schema import PROVENANCE_COLUMN, PROVENANCE_TYPE
from preauth.ingest._arrow import map_parts
from preauth.ingest.errors import ERROR_SCHEMA, error_rows
from preauth.sources.codes import CODES_COLUMN, CodeList, derive_from_codes

__all__ = ["PROVENANCE_COLUMN", "derive_accepted", "derived_counts", "derived_notes"]

_FIELD_ORDER = {f.name: i for i, f in enumerate(FIELDS)}


def derive_accepted(accepted: pa.Table, code_list: CodeList | None = None
                    ) -> tuple[pa.Table, pa.Table, dict[str, int]]:
    """``(accepted with the derived values filled in and a provenance column, the warnings,
    rows filled per field)``.

    ``accepted``: validated rows (the catalog's typed columns and ``row``, the 1-based data
    row of the file). The warnings have :data:`~preauth.ingest.errors.ERROR_SCHEMA`, by row
    and then position in the cell. A table that already has a provenance column is kept as
    it is (nothing derived again)."""
    if PROVENANCE_COLUMN in accepted.column_names:
        return accepted, ERROR_SCHEMA.empty_table(), {}
    result = derive_from_codes(accepted, code_list)
    table = result.table.append_column(pa.field(PROVENANCE_COLUMN, PROVENANCE_TYPE),
                                       result.provenance)
    w = result.warnings
    if not w.num_rows:
        return table, ERROR_SCHEMA.empty_table(), dict(result.derived)
    take = w.column("row")
    lines = error_rows(table.column("row").take(take).to_numpy(),
                       table.column("case_id").take(take), CODES_COLUMN,
                       table.column(CODES_COLUMN).take(take).combine_chunks(),
                       w.column("message").combine_chunks())
    return table, lines, dict(result.derived)


def derived_counts(accepted: pa.Table) -> dict[str, int]:
    """Rows whose value of each field was derived (from the provenance column), most first,
    then in catalog order."""
    if PROVENANCE_COLUMN not in accepted.column_names or not accepted.num_rows:
        return {}
    column = accepted.column(PROVENANCE_COLUMN)
    if column.null_count == len(column):
        return {}
    keys = pa.chunked_array([map_parts(c)[1] for c in column.chunks], pa.string())
    counts = pc.value_counts(keys)
    pairs = zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(),
                strict=True)
    return dict(sorted(pairs, key=lambda p: (-p[1], _FIELD_ORDER.get(p[0], len(FIELDS)))))


def derived_notes(accepted: pa.Table, mapping: Mapping[str, str],
                  counts: Mapping[str, int] | None = None) -> list[str]:
    """``["Dx Codes: 1,234 values derived from ICD-10-CM codes (radiculopathy 800, …)"]`` -
    one line when the codes of the accepted rows derived anything; ``mapping``: the file's
    header -> field, to name the column as the file does; ``counts``: rows filled per field
    when known (as :func:`derive_accepted` gives them), else counted from the provenance
    column (:func:`derived_counts`)."""
    counts = derived_counts(accepted) if counts is None else dict(sorted(
        ((f, n) for f, n in counts.items() if n),
        key=lambda p: (-p[1], _FIELD_ORDER.get(p[0], len(FIELDS)))))
    if not counts:
        return []
    header = next((h for h, f in mapping.items() if f == CODES_COLUMN), CODES_COLUMN)
    total = int(np.sum(list(counts.values())))
    each = ", ".join(f"{name} {n:,}" for name, n in counts.items())
    values = "value" if total == 1 else "values"
    return [f"{header}: {total:,} {values} derived from ICD-10-CM codes ({each})"]
