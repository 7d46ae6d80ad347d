"""What is counted, and the one aggregation pass every statistic starts from.

:func:`cells` groups the requests by carrier, region, CPT code, month and criteria verdict;
each group carries the numerator and denominator of every rate (:data:`MEASURES`) and the
decision counts. Rates, odds ratios and the concordance are computed from those few thousand
cells, so their cost does not depend on the number of requests.

Definitions (a request "went through preauthorization" when ``preauth_required`` is true, or
is not recorded but a decision is):

========================  =========================================  ===========================
measure                   numerator                                  denominator
========================  =========================================  ===========================
preauth_required          preauth_required true                      preauth_required recorded
denied                    initial decision denied or cancelled       preauthorized, decision
                                                                     approved/denied/cancelled
peer_to_peer              peer-to-peer review                        preauthorized, p2p recorded
overturned                final decision approved                    p2p after a denial, final
                                                                     decision made
completed                 MRI performed                              completed recorded
completed_after_denial    MRI performed                              initially denied/cancelled,
                                                                     completed recorded
========================  =========================================  ===========================
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from preauth.evaluate.vocabulary import Verdict
from preauth.evidence._sql import (
    DECIDED,
    DENIED,
    FINAL,
    LABELS,
    MISSING,
    PREAUTHORIZED,
    SOURCE_TYPES,
    as_arrow,
    connect,
    label_sql,
    select_list,
)
from preauth.evidence.grouping import TextFilter, count_combinations

__all__ = ["DECISIONS", "DIMENSIONS", "MEASURES", "MISSING", "MODEL_OUTCOMES", "VERDICTS",
           "Filters", "Measure", "carriers_in", "cells", "verdict_column"]

VERDICTS = tuple(v.value for v in (Verdict.MEETS, Verdict.INSUFFICIENT, Verdict.DOES_NOT_MEET))
DECISIONS = ("approved", "denied", "cancelled", "pending")
DIMENSIONS = {"region": "Region", "carrier": "Carrier", "cpt_code": "CPT code",
              "month": "Month", "verdict": "Verdict"}


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    numerator: str
    denominator: str
    num_sql: str
    den_sql: str


_REQ = PREAUTHORIZED
MEASURES: dict[str, Measure] = {m.name: m for m in (
    Measure("preauth_required", "Preauthorization required", "required preauthorization",
            "requests with preauth_required recorded",
            "preauth_required IS TRUE", "preauth_required IS NOT NULL"),
    Measure("denied", "Initially denied or cancelled", "initial decision denied or cancelled",
            "preauthorized requests with a decision (approved / denied / cancelled)",
            f"{_REQ} AND {DENIED}", f"{_REQ} AND {DECIDED}"),
    Measure("peer_to_peer", "Peer-to-peer review", "had a peer-to-peer review",
            "preauthorized requests with peer_to_peer recorded",
            f"{_REQ} AND peer_to_peer IS TRUE", f"{_REQ} AND peer_to_peer IS NOT NULL"),
    Measure("overturned", "Approved after peer-to-peer", "finally approved",
            "peer-to-peer reviews after an initial denial, with a final decision",
            f"{_REQ} AND peer_to_peer IS TRUE AND {DENIED} AND final_decision = 'approved'",
            f"{_REQ} AND peer_to_peer IS TRUE AND {DENIED} AND {FINAL}"),
    Measure("completed", "MRI completed", "MRI performed", "requests with completed recorded",
            "completed IS TRUE", "completed IS NOT NULL"),
    Measure("completed_after_denial", "Completed after initial denial", "MRI performed",
            "initially denied or cancelled requests with completed recorded",
            f"{_REQ} AND {DENIED} AND completed IS TRUE",
            f"{_REQ} AND {DENIED} AND completed IS NOT NULL"),
)}

# Outcomes of the multivariable model: measure name -> what the model says.
MODEL_OUTCOMES = {
    "preauth_required": "Odds of requiring preauthorization",
    "denied": "Odds of an initial denial or cancellation, among preauthorized requests",
}

_GROUP_KEYS = ("carrier", "region", "cpt_code", "month", "verdict")


@dataclass(frozen=True)
class Filters:
    """Row filters applied before aggregating. ``None`` = no restriction; an empty tuple
    selects nothing. A date bound drops requests without a date."""

    carriers: tuple[str, ...] | None = None
    regions: tuple[str, ...] | None = None
    cpt_codes: tuple[str, ...] | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def where(self) -> tuple[str, list[Any]]:
        parts: list[str] = []
        params: list[Any] = []
        for column, values in (("carrier", self.carriers), ("region", self.regions),
                               ("cpt_code", self.cpt_codes)):
            if values is not None:
                # plain values match the raw column (no per-row string work); MISSING
                # matches the NULL / blank labels
                part = f"list_contains(?::VARCHAR[], {column})"
                if MISSING in values:
                    part = f"({part} OR NULLIF(TRIM({column}), '') IS NULL)"
                parts.append(part)
                params.append([str(v) for v in values if v != MISSING])
        if self.date_from is not None:
            parts.append("request_date >= ?::DATE")
            params.append(self.date_from)
        if self.date_to is not None:
            parts.append("request_date <= ?::DATE")
            params.append(self.date_to)
        return (" AND ".join(parts) or "TRUE"), params

    def describe(self) -> str:
        bits = []
        for label, values in (("carrier", self.carriers), ("region", self.regions),
                              ("CPT", self.cpt_codes)):
            if values is not None:
                bits.append(f"{label} in {', '.join(values) or '(none)'}")
        if self.date_from or self.date_to:
            bits.append(f"dates {self.date_from or '…'} to {self.date_to or '…'}")
        return "; ".join(bits) or "all requests"


def _typed_view(table: pa.Table, verdict: pa.Array | pa.ChunkedArray | None) -> pa.Table:
    """Only the columns the statistics need (zero-copy), with the verdict appended."""
    keep = [c for c in SOURCE_TYPES if c != "verdict" and c in table.column_names]
    view = table.select(keep)
    if verdict is not None:
        if len(verdict) != table.num_rows:
            raise ValueError(f"verdict has {len(verdict)} values for {table.num_rows} rows")
        view = view.append_column("verdict", verdict)
    return view


def cells(table: pa.Table | pd.DataFrame, verdict: pa.Array | pa.ChunkedArray | None = None,
          filters: Filters | None = None) -> pd.DataFrame:
    """The aggregation pass: one row per (carrier, region, cpt_code, month, verdict) group
    with ``n`` requests, ``<measure>_num`` / ``<measure>_den`` for every measure and
    ``dec_<decision>`` counts among the preauthorized. Missing labels are :data:`MISSING`;
    ``month`` is the first day of the month (NaT without a date)."""
    view = _typed_view(as_arrow(table), verdict)
    filters = filters or Filters()
    # Stage 1 counts the requests of each combination of raw values (the only per-row work):
    # packed integer codes when the columns are typed (preauth.evidence.grouping), else a hash
    # GROUP BY in SQL. Stage 2 derives every numerator and denominator from the (few
    # thousand) groups.
    groups = _raw_groups(view, filters)
    con = connect()
    try:
        if groups is not None:
            con.register("g_in", groups)
            result = con.sql(_cells_sql("g_in")).to_arrow_table()
        else:
            where, params = filters.where()
            con.register("view_in", view)
            result = con.sql(_cells_sql(_sql_groups(view.column_names, where)),
                             params=params).to_arrow_table()
    finally:
        con.close()
    # month as timestamps before pandas sees it: a date32 becomes a Python date on the way,
    # and year 0000 (which ingest's ISO dates allow) has none
    i = result.column_names.index("month")
    result = result.set_column(i, "month", result.column(i).cast(pa.timestamp("s")))
    df = result.to_pandas()
    if df.empty:
        df = pd.DataFrame({c: pd.Series(dtype="object" if c in _GROUP_KEYS else "int64")
                           for c in result.column_names})
    df["month"] = pd.to_datetime(df["month"])
    return df


def _cells_sql(source: str) -> str:
    """Stage 2: every numerator, denominator and decision count from the groups of
    ``source`` (columns of :data:`_RAW_KEYS` and ``n``)."""
    def count_if(cond: str) -> str:
        return f"CAST(SUM(CASE WHEN ({cond}) IS TRUE THEN n ELSE 0 END) AS BIGINT)"

    sums = [f"{count_if(m.num_sql)} AS {m.name}_num, {count_if(m.den_sql)} AS {m.name}_den"
            for m in MEASURES.values()]
    decs = [f"{count_if(f'{_REQ} AND decision = {chr(39)}{d}{chr(39)}')} AS dec_{d}"
            for d in DECISIONS]
    return (f"SELECT {', '.join(label_sql(k) + ' AS ' + k for k in LABELS)}, month, "
            f"CAST(SUM(n) AS BIGINT) AS n, {', '.join(sums + decs)} "
            f"FROM {source} GROUP BY ALL ORDER BY ALL")


def _sql_groups(columns: list[str], where: str) -> str:
    """Stage 1 in SQL (a hash GROUP BY over ``view_in``), for data whose types do not suit
    the packed codes."""
    outcome_keys = ", ".join(c for c in SOURCE_TYPES if c not in _GROUP_KEYS
                             and c != "request_date")
    return (f"(SELECT carrier, region, cpt_code, "
            f"CAST(date_trunc('month', request_date) AS DATE) AS month, verdict, "
            f"{outcome_keys}, COUNT(*) AS n FROM (SELECT "
            f"{select_list(columns, labels=False)} FROM view_in) "
            f"WHERE {where} GROUP BY ALL)")


# Stage-1 keys: output name -> (source column, kind) for preauth.evidence.grouping
_RAW_KEYS = {"carrier": ("carrier", "text"), "region": ("region", "text"),
             "cpt_code": ("cpt_code", "text"), "month": ("request_date", "month"),
             "verdict": ("verdict", "text"), "preauth_required": ("preauth_required", "bool"),
             "decision": ("decision", "text"), "peer_to_peer": ("peer_to_peer", "bool"),
             "final_decision": ("final_decision", "text"), "completed": ("completed", "bool")}


def _raw_groups(view: pa.Table, filters: Filters) -> pa.Table | None:
    """Stage 1 by packed integer codes; None when the view's types do not suit."""
    text_filters = {column: TextFilter(frozenset(str(v) for v in values if v != MISSING),
                                       MISSING in values)
                    for column, values in (("carrier", filters.carriers),
                                           ("region", filters.regions),
                                           ("cpt_code", filters.cpt_codes))
                    if values is not None}
    return count_combinations(view, _RAW_KEYS, text_filters, "request_date",
                              filters.date_from, filters.date_to)


def verdict_column(engine: Any, table: pa.Table, policy: str) -> pa.ChunkedArray:
    """Each request's verdict under ``policy`` (the engine's fast wide path)."""
    if table.num_rows == 0:
        return pa.chunked_array([], pa.string())
    wide = engine.verdicts(table, [policy])
    col = wide.column(f"verdict:{policy}")
    return col if isinstance(col, pa.ChunkedArray) else pa.chunked_array([col])


def carriers_in(table: pa.Table | pd.DataFrame) -> list[str]:
    """Distinct recorded carriers, sorted."""
    arrow = as_arrow(table)
    if "carrier" not in arrow.column_names or arrow.num_rows == 0:
        return []
    import pyarrow.compute as pc

    values = pc.unique(pc.utf8_trim_whitespace(arrow.column("carrier").cast(pa.string())))
    return sorted(v for v in values.to_pylist() if v)
