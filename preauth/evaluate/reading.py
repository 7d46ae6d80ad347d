"""How silence in a record is read: the *strict* and the *reviewer* reading.

*strict* (the default) is plain three-valued logic: an empty field is not documented, so a
criterion that needs it is *undocumented*. *reviewer* reads a chart as a utilization reviewer
does: a red flag the record does not mention is taken as absent (``False``, or ``none`` for
trauma), while an empty duration, conservative-care or examination field stays undocumented.
Which fields are red flags is the catalog's (:attr:`preauth.catalog.fields.Field.is_red_flag`).

The reading is applied to the case table *before* evaluation, one function for one case and
for a batch, on every engine — so the explorer, the CLI and batch agree under either reading.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.fields import FIELDS, Field

__all__ = ["SILENCE_READ_AS_ABSENT", "Reading", "read_as_absent", "read_case", "read_table"]

SILENCE_READ_AS_ABSENT: tuple[Field, ...] = tuple(
    f for f in FIELDS if f.is_red_flag and f.absent_value is not None)


class Reading(StrEnum):
    """How an empty field is read."""

    STRICT = "strict"
    REVIEWER = "reviewer"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_LABELS = {Reading.STRICT: "Strict reading", Reading.REVIEWER: "Reviewer reading"}
_MEANINGS = {
    Reading.STRICT: ("An empty field is not documented: a criterion that needs it is "
                     "undocumented."),
    Reading.REVIEWER: ("A red flag the record does not mention is read as absent, as a "
                       "utilization reviewer reads a chart; an empty duration, "
                       "conservative-care or examination field stays undocumented."),
}


def read_as_absent(case: Mapping[str, Any], reading: Reading | str = Reading.STRICT
                   ) -> tuple[Field, ...]:
    """The red flags ``reading`` takes as absent in ``case``: none under *strict*; under
    *reviewer* every red flag the case leaves empty."""
    if Reading(reading) is Reading.STRICT:
        return ()
    return tuple(f for f in SILENCE_READ_AS_ABSENT if _empty(case.get(f.name)))


def read_case(case: Mapping[str, Any], reading: Reading | str = Reading.STRICT
              ) -> dict[str, Any]:
    """One case under ``reading``: unmentioned red flags set absent for the reviewer."""
    return {**case, **{f.name: f.absent_value for f in read_as_absent(case, reading)}}


def read_table(table: pa.Table | pd.DataFrame, reading: Reading | str = Reading.STRICT
               ) -> pa.Table | pd.DataFrame:
    """A case table under ``reading``: unmentioned red flags (NULL, or a missing column)
    filled with their absent value for the reviewer; the table itself for *strict*."""
    if Reading(reading) is Reading.STRICT:
        return table
    if isinstance(table, pd.DataFrame):
        out = table.copy()
        for f in SILENCE_READ_AS_ABSENT:
            if f.name in out.columns:
                out[f.name] = out[f.name].astype(object).where(out[f.name].notna(),
                                                               f.absent_value)
            else:
                out[f.name] = f.absent_value
        return out
    for f in SILENCE_READ_AS_ABSENT:
        absent = pa.scalar(f.absent_value, pa.bool_() if isinstance(f.absent_value, bool)
                           else pa.string())
        if f.name in table.column_names:
            i = table.column_names.index(f.name)
            column = table.column(i)
            table = table.set_column(i, f.name, pc.fill_null(column, absent.cast(column.type)))
        else:
            table = table.append_column(f.name, pa.repeat(absent, len(table)))
    return table


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)
