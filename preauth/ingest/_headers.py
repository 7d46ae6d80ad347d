"""Header-row helpers shared by the file readers (package-internal)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from preauth.catalog.values import TRIM
from preauth.ingest.errors import IngestError
from preauth.ingest.mapping import propose_mapping

# A cell that reads as a value (a number, a date, a boolean word) rather than a column name.
_DATA_LIKE = re.compile(
    r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)|[0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}.*"
    r"|true|false|yes|no", re.IGNORECASE)


def check_header_row(headers: Sequence[str], name: str) -> None:
    """Refuse a table whose first row is blank or looks like data rather than column names."""
    cells = [h.strip(TRIM) for h in headers]
    if not any(cells):
        raise IngestError(f"{name}: no header row (the first row is blank); expected column "
                          "names such as case_id, cpt_code")
    if propose_mapping(headers):
        return
    data_like = [c for c in cells if c and _DATA_LIKE.fullmatch(c)]
    if data_like:
        shown = ", ".join(repr(c[:30]) for c in cells[:4])
        raise IngestError(f"{name}: no header row (the first row looks like data: {shown}); "
                          "expected column names such as case_id, cpt_code")


def blank_names(names: Sequence[str]) -> list[str]:
    """Name blank header cells by their position so they stay distinct."""
    return [n if n.strip(TRIM) else f"column_{i + 1}" for i, n in enumerate(names)]
