"""The drilled-down requests in full: the requests a concordance drill-down lists, with their
clinical fields, payer outcomes and criteria results, one row per request.

:func:`~preauth.evidence.concordance.discordant_cases` says which requests (the outcome
columns, for the page's table); :func:`discordant_wide` gives those requests, in the same
order, as the wide result (:mod:`preauth.evaluate.wide`): every catalog field the data has,
then per policy — the drill-down's policy first, then the library's others — the verdict's
label, the review flag, the titles of the criteria met and the documentation needed.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.fields import FIELDS
from preauth.evaluate.batch import BatchEngine, evaluate_all
from preauth.evaluate.reading import Reading
from preauth.evaluate.wide import wide_result
from preauth.evidence._sql import as_arrow
from preauth.evidence.cells import Filters
from preauth.evidence.concordance import discordant_cases

__all__ = ["discordant_wide"]


def discordant_wide(table: pa.Table | pd.DataFrame, verdict: pa.Array | pa.ChunkedArray,
                    kind: str, engine: BatchEngine, policy: str,
                    filters: Filters | None = None,
                    reading: Reading | str = Reading.STRICT) -> pa.Table:
    """Every request of ``kind`` (as :func:`~preauth.evidence.concordance.discordant_cases`
    lists them for ``verdict``, the verdicts under ``policy``), one row per request: the
    catalog fields of ``table`` (a validated case table, case ids unique), then the wide
    columns of ``policy`` and of every other policy of ``engine``'s library, evaluated under
    ``reading``."""
    arrow = as_arrow(table)
    listed, _ = discordant_cases(arrow, verdict, kind, filters, limit=None)
    positions = pc.index_in(listed.column("case_id"), arrow.column("case_id"))
    cases = arrow.take(positions)
    ids = [policy, *(p for p in engine.library.ids if p != policy)]
    long = evaluate_all(engine, cases, ids, reading)
    fields = [f.name for f in FIELDS if f.name in cases.column_names]
    return wide_result(cases, long, engine.library, ids, fields=fields)
