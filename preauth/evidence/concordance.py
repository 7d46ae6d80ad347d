"""Concordance of criteria verdicts with payer decisions: the verdict under a chosen policy
against the payer's initial decision (from the cells), with "denied although meets criteria"
and "approved although does not meet"; :func:`discordant_cases` lists those requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa

from preauth.evaluate.vocabulary import Verdict
from preauth.evidence._sql import (
    DENIED,
    MISSING,
    PREAUTHORIZED,
    as_arrow,
    connect,
    select_list,
)
from preauth.evidence.cells import DECISIONS, VERDICTS, Filters

__all__ = ["DISCORDANT_KINDS", "NO_VERDICT_LABEL", "VERDICT_LABELS", "Concordance",
           "concordance", "discordant_cases", "requests_by_verdict"]

NO_VERDICT_LABEL = "No verdict"
# The row labels of the verdict × decision matrix: the one verdict vocabulary, and requests
# without a verdict (:data:`MISSING`).
VERDICT_LABELS = {**{v.value: v.label for v in Verdict}, MISSING: NO_VERDICT_LABEL}
DISCORDANT_KINDS = {
    "denied_although_meets": "Denied or cancelled although the criteria are met",
    "approved_although_not_meets": "Approved although the criteria are not met",
}
_DECIDED = ["approved", "denied", "cancelled"]


@dataclass
class Concordance:
    """Verdict (rows) × initial payer decision (columns) among preauthorized requests."""

    policy: str
    matrix: pd.DataFrame
    n: int = 0
    denied_although_meets: int = 0
    approved_although_not_meets: int = 0
    messages: list[str] = field(default_factory=list)

    def _decided(self, verdict: str) -> int:
        m = self.matrix
        return int(m.loc[verdict, _DECIDED].sum()) if verdict in m.index else 0

    @property
    def share_denied_although_meets(self) -> float | None:
        meets = self._decided(Verdict.MEETS.value)
        return self.denied_although_meets / meets if meets else None

    @property
    def share_approved_although_not_meets(self) -> float | None:
        total = self._decided(Verdict.DOES_NOT_MEET.value)
        return self.approved_although_not_meets / total if total else None

    @property
    def agreement(self) -> float | None:
        """Share of decided requests with a definite verdict where both agree (meets ↔
        approved, does not meet ↔ denied or cancelled)."""
        m = self.matrix
        definite = [v for v in ("meets_criteria", "does_not_meet") if v in m.index]
        total = int(m.loc[definite, _DECIDED].to_numpy().sum()) if definite else 0
        if not total:
            return None
        agree = (m.loc["meets_criteria", "approved"] if "meets_criteria" in m.index
                 else 0) + (m.loc["does_not_meet", ["denied", "cancelled"]].sum()
                            if "does_not_meet" in m.index else 0)
        return float(agree) / total

    def to_dict(self) -> dict[str, Any]:
        matrix = [{"verdict": v, **{k: int(x) for k, x in row.items()}}
                  for v, row in self.matrix.iterrows()]
        return {"policy": self.policy, "n": self.n, "matrix": matrix,
                "denied_although_meets": self.denied_although_meets,
                "approved_although_not_meets": self.approved_although_not_meets,
                "share_denied_although_meets": self.share_denied_although_meets,
                "share_approved_although_not_meets": self.share_approved_although_not_meets,
                "agreement": self.agreement, "messages": list(self.messages)}


def concordance(cell_table: pd.DataFrame, policy: str) -> Concordance:
    """The verdict × decision matrix (columns :data:`DECISIONS` and ``total``; rows
    :data:`VERDICTS`, plus :data:`MISSING` when some requests have no verdict)."""
    dec_cols = [f"dec_{d}" for d in DECISIONS]
    if cell_table.empty:
        m = pd.DataFrame(0, index=list(VERDICTS), columns=[*DECISIONS, "total"])
        return Concordance(policy, m, messages=["No requests in this selection."])
    g = cell_table.groupby("verdict")[dec_cols].sum()
    g.columns = list(DECISIONS)
    order = list(VERDICTS) + [v for v in g.index if v not in VERDICTS]
    m = g.reindex(order, fill_value=0).astype("int64")
    if MISSING in m.index and m.loc[MISSING].sum() == 0:
        m = m.drop(index=MISSING)
    m["total"] = m.sum(axis=1)
    m.index.name = "verdict"
    con = Concordance(policy, m, n=int(m["total"].sum()))
    con.denied_although_meets = int(m.loc["meets_criteria", ["denied", "cancelled"]].sum())
    con.approved_although_not_meets = int(m.loc["does_not_meet", "approved"])
    if con.n == 0:
        con.messages.append("No payer decisions in this selection: concordance needs the "
                            "decision column (and preauth_required).")
    elif (cell_table["verdict"] == MISSING).all():
        con.messages.append("No criteria verdicts were computed for this data.")
    return con


def requests_by_verdict(cell_table: pd.DataFrame) -> pd.DataFrame:
    """How many requests have each verdict (``verdict``, ``n``; verdicts as in the cells,
    sorted), whether or not a payer decided them."""
    if cell_table.empty:
        return pd.DataFrame({"verdict": pd.Series(dtype="object"),
                             "n": pd.Series(dtype="int64")})
    return cell_table.groupby("verdict")["n"].sum().reset_index()


_CASE_TYPES = {"case_id": "VARCHAR", "request_date": "DATE", "carrier": "VARCHAR",
               "cpt_code": "VARCHAR", "region": "VARCHAR", "contrast": "VARCHAR",
               "preauth_required": "BOOLEAN", "decision": "VARCHAR",
               "peer_to_peer": "BOOLEAN", "final_decision": "VARCHAR", "completed": "BOOLEAN",
               "verdict": "VARCHAR"}
_TOTAL = "__discordant_total"
_DISCORDANT_SQL = {
    "denied_although_meets": f"verdict = 'meets_criteria' AND {PREAUTHORIZED} AND {DENIED}",
    "approved_although_not_meets":
        f"verdict = 'does_not_meet' AND {PREAUTHORIZED} AND decision = 'approved'",
}


def discordant_cases(table: pa.Table | pd.DataFrame, verdict: pa.Array | pa.ChunkedArray,
                     kind: str, filters: Filters | None = None, limit: int | None = 200,
                     ) -> tuple[pa.Table, int]:
    """Requests of ``kind`` (:data:`DISCORDANT_KINDS`) — at most ``limit`` of them, by date
    and case id — and how many there are in all. Columns: ``_CASE_TYPES``."""
    if kind not in DISCORDANT_KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(DISCORDANT_KINDS)}")
    cond = _DISCORDANT_SQL[kind]
    arrow = as_arrow(table)
    if len(verdict) != arrow.num_rows:
        raise ValueError(f"verdict has {len(verdict)} values for {arrow.num_rows} rows")
    view = arrow.select([c for c in _CASE_TYPES if c in arrow.column_names and c != "verdict"])
    view = view.append_column("verdict", verdict)
    where, params = (filters or Filters()).where()
    lim = "" if limit is None else f" LIMIT {max(int(limit), 1)}"
    # one scan: the count of all of them rides along with the first ``limit``
    sql = (f"WITH v AS (SELECT {select_list(view.column_names, _CASE_TYPES)} FROM cases_in) "
           f"SELECT *, COUNT(*) OVER () AS {_TOTAL} FROM v WHERE ({cond}) AND {where} "
           f"ORDER BY request_date NULLS LAST, case_id{lim}")
    con = connect()
    try:
        con.register("cases_in", view)
        rows = con.sql(sql, params=params).to_arrow_table()
    finally:
        con.close()
    total = int(rows.column(_TOTAL)[0].as_py()) if rows.num_rows else 0
    rows = rows.drop_columns([_TOTAL])
    return (rows if limit is None or limit > 0 else rows.slice(0, 0)), total
