"""The Arrow schema of a typed case table, derived from the field catalog, and the one column
a case table may carry beside its fields: ``provenance`` (field -> where its value came from,
when it did not come from its own column)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from preauth.catalog.fields import FIELDS_BY_NAME, Kind

__all__ = ["ARROW_TYPES", "PROVENANCE_COLUMN", "PROVENANCE_TYPE", "arrow_schema",
           "case_table"]

ARROW_TYPES = {
    Kind.TEXT: pa.string(),
    Kind.ENUM: pa.string(),
    Kind.DATE: pa.date32(),
    Kind.INTEGER: pa.int32(),
    Kind.NUMBER: pa.float64(),
    Kind.BOOLEAN: pa.bool_(),
}

# Per row: field -> citations of the sources its value was derived from (``ICD-10-CM G83.4
# Cauda equina syndrome``), NULL where no value was derived. Carried from intake
# (preauth.ingest) through evaluation (preauth.evaluate.batch) to the outputs; no criterion
# reads it.
PROVENANCE_COLUMN = "provenance"
PROVENANCE_TYPE = pa.map_(pa.string(), pa.list_(pa.string()))


def arrow_schema() -> pa.Schema:
    """The Arrow schema of a typed case table (every catalog field)."""
    return pa.schema([(f.name, ARROW_TYPES[f.kind]) for f in FIELDS_BY_NAME.values()])


def case_table(cases: Sequence[Mapping[str, Any]]) -> pa.Table:
    """A typed Arrow table with every catalog column from case dicts (missing = NULL)."""
    schema = arrow_schema()
    return pa.table({f.name: pa.array([c.get(f.name) for c in cases], type=f.type)
                     for f in schema}, schema=schema)
