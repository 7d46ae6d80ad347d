"""Aggregate evidence over many requests: rates, odds ratios, verdict–decision concordance.

Everything starts from one aggregation pass in DuckDB (:func:`cells`): the requests are
grouped by carrier, region, CPT code, month and criteria verdict, and each group carries the
numerator and denominator of every rate (:data:`MEASURES`) and the decision counts. All
statistics are then computed from those few thousand cells, so their cost does not depend on
the number of requests:

* :func:`rates` — proportions with Wilson 95% intervals (statsmodels ``proportion_confint``),
  overall and by region, carrier, CPT code or month (or any combination);
* :func:`odds_ratios` — the multivariable logistic regression ``outcome ~ region + carrier``
  fitted as a binomial GLM on the region × carrier contingency table (successes, failures):
  the likelihood is the row-level one, so odds ratios, Wald intervals and p-values equal a
  row-level ``Logit`` fit. Where a 2×2 comparison has a cell below 5, the exact conditional
  (Fisher) odds ratio is reported as well, flagged;
* :func:`concordance` — the criteria verdict under a chosen policy against the payer's
  decision, with "denied although meets criteria" and "approved although does not meet";
  :func:`discordant_cases` lists those requests.

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

No Streamlit here; nothing is estimated by hand (statsmodels / scipy do the estimation).
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from preauth.catalog.fields import REGIONS
from preauth.evidence.grouping import TextFilter, count_combinations

__all__ = [
    "DECISIONS",
    "DIMENSIONS",
    "DISCORDANT_KINDS",
    "MEASURES",
    "MISSING",
    "MODEL_OUTCOMES",
    "ODDS_RATIO_COLUMNS",
    "VERDICTS",
    "Concordance",
    "Evidence",
    "Filters",
    "Measure",
    "ModelResult",
    "analyse",
    "carriers_in",
    "cells",
    "concordance",
    "default_carrier_reference",
    "discordant_cases",
    "format_text",
    "kpis",
    "odds_ratios",
    "rate_table",
    "rates",
    "verdict_column",
    "verdict_counts",
]

MISSING = "(not recorded)"
REFERENCE_REGION = "cervical"
SMALL_CELL = 5  # a 2×2 cell below this gets an exact conditional odds ratio
VERDICTS = ("meets_criteria", "insufficient_documentation", "does_not_meet")
VERDICT_LABELS = {"meets_criteria": "Meets criteria",
                  "insufficient_documentation": "Insufficient documentation",
                  "does_not_meet": "Does not meet", MISSING: "No verdict"}
DECISIONS = ("approved", "denied", "cancelled", "pending")
DIMENSIONS = {"region": "Region", "carrier": "Carrier", "cpt_code": "CPT code",
              "month": "Month", "verdict": "Verdict"}
ODDS_RATIO_COLUMNS = ("outcome", "factor", "level", "reference", "odds_ratio", "ci_low",
                      "ci_high", "p_value", "n", "events", "small_cells", "estimable", "note")
EXACT_COLUMNS = ("outcome", "factor", "level", "reference", "odds_ratio", "ci_low", "ci_high",
                 "p_value", "method", "adjusted", "table", "note")
DISCORDANT_KINDS = {
    "denied_although_meets": "Denied or cancelled although the criteria are met",
    "approved_although_not_meets": "Approved although the criteria are not met",
}


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    numerator: str
    denominator: str
    num_sql: str
    den_sql: str


# SQL over the typed view in :func:`cells`; ``req`` = went through preauthorization.
_REQ = "(preauth_required IS TRUE OR (preauth_required IS NULL AND decision IS NOT NULL))"
_DECIDED = "decision IN ('approved', 'denied', 'cancelled')"
_DENIED = "decision IN ('denied', 'cancelled')"
_FINAL = "final_decision IN ('approved', 'denied', 'cancelled')"

MEASURES: dict[str, Measure] = {m.name: m for m in (
    Measure("preauth_required", "Preauthorization required", "required preauthorization",
            "requests with preauth_required recorded",
            "preauth_required IS TRUE", "preauth_required IS NOT NULL"),
    Measure("denied", "Initially denied or cancelled", "initial decision denied or cancelled",
            "preauthorized requests with a decision (approved / denied / cancelled)",
            f"{_REQ} AND {_DENIED}", f"{_REQ} AND {_DECIDED}"),
    Measure("peer_to_peer", "Peer-to-peer review", "had a peer-to-peer review",
            "preauthorized requests with peer_to_peer recorded",
            f"{_REQ} AND peer_to_peer IS TRUE", f"{_REQ} AND peer_to_peer IS NOT NULL"),
    Measure("overturned", "Approved after peer-to-peer", "finally approved",
            "peer-to-peer reviews after an initial denial, with a final decision",
            f"{_REQ} AND peer_to_peer IS TRUE AND {_DENIED} AND final_decision = 'approved'",
            f"{_REQ} AND peer_to_peer IS TRUE AND {_DENIED} AND {_FINAL}"),
    Measure("completed", "MRI completed", "MRI performed", "requests with completed recorded",
            "completed IS TRUE", "completed IS NOT NULL"),
    Measure("completed_after_denial", "Completed after initial denial", "MRI performed",
            "initially denied or cancelled requests with completed recorded",
            f"{_REQ} AND {_DENIED} AND completed IS TRUE",
            f"{_REQ} AND {_DENIED} AND completed IS NOT NULL"),
)}

# Outcomes of the multivariable model: measure name -> what the model says.
MODEL_OUTCOMES = {
    "preauth_required": "Odds of requiring preauthorization",
    "denied": "Odds of an initial denial or cancellation, among preauthorized requests",
}

_GROUP_KEYS = ("carrier", "region", "cpt_code", "month", "verdict")
_LABELS = ("carrier", "region", "cpt_code", "verdict")
_SOURCE_TYPES = {"carrier": "VARCHAR", "region": "VARCHAR", "cpt_code": "VARCHAR",
                 "request_date": "DATE", "preauth_required": "BOOLEAN", "decision": "VARCHAR",
                 "peer_to_peer": "BOOLEAN", "final_decision": "VARCHAR",
                 "completed": "BOOLEAN", "verdict": "VARCHAR"}


# --------------------------------------------------------------------------------------------
# Filters and the aggregation pass
# --------------------------------------------------------------------------------------------

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


def _as_arrow(table: pa.Table | pd.DataFrame) -> pa.Table:
    if isinstance(table, pa.Table):
        return table
    return pa.Table.from_pandas(table, preserve_index=False)


def _typed_view(table: pa.Table, verdict: pa.Array | pa.ChunkedArray | None) -> pa.Table:
    """Only the columns the statistics need (zero-copy), with the verdict appended."""
    keep = [c for c in _SOURCE_TYPES if c != "verdict" and c in table.column_names]
    view = table.select(keep)
    if verdict is not None:
        if len(verdict) != table.num_rows:
            raise ValueError(f"verdict has {len(verdict)} values for {table.num_rows} rows")
        view = view.append_column("verdict", verdict)
    return view


def _label_sql(expr: str) -> str:
    """A group label: trimmed text, :data:`MISSING` when empty or NULL."""
    return f"COALESCE(NULLIF(TRIM({expr}), ''), '{MISSING}')"


def _select_list(columns: Iterable[str], types: dict[str, str] | None = None,
                 labels: bool = True) -> str:
    """Every column of ``types`` (default: what the statistics read), typed; absent ones
    NULL; with ``labels``, empty group labels become :data:`MISSING`."""
    have = set(columns)
    out = []
    for name, sql_type in (types or _SOURCE_TYPES).items():
        expr = f'TRY_CAST("{name}" AS {sql_type})' if name in have else f"NULL::{sql_type}"
        if labels and name in _LABELS:
            expr = _label_sql(expr)
        out.append(f'{expr} AS "{name}"')
    return ", ".join(out)


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET enable_external_access = false")
    return con


def cells(table: pa.Table | pd.DataFrame, verdict: pa.Array | pa.ChunkedArray | None = None,
          filters: Filters | None = None) -> pd.DataFrame:
    """The aggregation pass: one row per (carrier, region, cpt_code, month, verdict) group
    with ``n`` requests, ``<measure>_num`` / ``<measure>_den`` for every measure and
    ``dec_<decision>`` counts among the preauthorized. Missing labels are :data:`MISSING`;
    ``month`` is the first day of the month (NaT without a date)."""
    view = _typed_view(_as_arrow(table), verdict)
    filters = filters or Filters()

    def count_if(cond: str) -> str:
        return f"CAST(SUM(CASE WHEN ({cond}) IS TRUE THEN n ELSE 0 END) AS BIGINT)"

    sums = [f"{count_if(m.num_sql)} AS {m.name}_num, {count_if(m.den_sql)} AS {m.name}_den"
            for m in MEASURES.values()]
    decs = [f"{count_if(f'{_REQ} AND decision = {chr(39)}{d}{chr(39)}')} AS dec_{d}"
            for d in DECISIONS]
    # Stage 1 counts the requests of each combination of raw values (the only per-row work):
    # packed integer codes when the columns are typed (preauth.grouping), else a hash GROUP BY
    # in SQL. Stage 2 derives every numerator and denominator from the (few thousand) groups.
    groups = _raw_groups(view, filters)
    if groups is not None:
        source, params = "g_in", []
    else:
        where, params = filters.where()
        outcome_keys = ", ".join(c for c in _SOURCE_TYPES if c not in _GROUP_KEYS
                                 and c != "request_date")
        source = (f"(SELECT carrier, region, cpt_code, "
                  f"CAST(date_trunc('month', request_date) AS DATE) AS month, verdict, "
                  f"{outcome_keys}, COUNT(*) AS n FROM (SELECT "
                  f"{_select_list(view.column_names, labels=False)} FROM view_in) "
                  f"WHERE {where} GROUP BY ALL)")
    sql = (f"SELECT {', '.join(_label_sql(k) + ' AS ' + k for k in _LABELS)}, month, "
           f"CAST(SUM(n) AS BIGINT) AS n, {', '.join(sums + decs)} "
           f"FROM {source} GROUP BY ALL ORDER BY ALL")
    con = _connect()
    try:
        if groups is not None:
            con.register("g_in", groups)
        else:
            con.register("view_in", view)
        result = con.sql(sql, params=params).to_arrow_table()
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


# Stage-1 keys: output name -> (source column, kind) for preauth.grouping
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


# --------------------------------------------------------------------------------------------
# Rates
# --------------------------------------------------------------------------------------------

def _wilson(num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from statsmodels.stats.proportion import proportion_confint

    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    rate = np.full(len(num), np.nan)
    low = np.full(len(num), np.nan)
    high = np.full(len(num), np.nan)
    ok = den > 0
    if ok.any():
        rate[ok] = num[ok] / den[ok]
        lo, hi = proportion_confint(num[ok], den[ok], alpha=0.05, method="wilson")
        low[ok] = lo
        high[ok] = hi
    return rate, low, high


def _group_label(series: pd.Series) -> pd.Series:
    if series.name == "month":
        return series.dt.strftime("%Y-%m").fillna(MISSING)
    return series.astype(str)


def _grouped_sums(cell_table: pd.DataFrame, dims: list[str],
                  columns: list[str]) -> pd.DataFrame:
    """``columns`` summed by ``dims`` (regions in anatomical order, other keys sorted); one
    row of totals when ``dims`` is empty."""
    if dims:
        g = (cell_table.groupby(dims, dropna=False, sort=True)[columns].sum().reset_index())
    else:
        g = pd.DataFrame({c: [int(cell_table[c].sum()) if len(cell_table) else 0]
                          for c in columns})
    if "region" in dims:  # anatomical order, then the other keys as sorted
        rank = {r: i for i, r in enumerate(REGIONS)}
        g = g.sort_values(dims, kind="stable", key=lambda col: col.map(
            lambda v: (rank.get(v, len(rank)), str(v))) if col.name == "region" else col)
        g = g.reset_index(drop=True)
    return g


def rate_table(cell_table: pd.DataFrame, measure: str,
               by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """One measure by the given dimensions: the group columns, then ``numerator``,
    ``denominator``, ``rate``, ``ci_low``, ``ci_high`` (Wilson 95%). Groups with an empty
    denominator have NaN rates."""
    m = MEASURES[measure]
    dims = [by] if isinstance(by, str) else list(by or [])
    num, den = f"{m.name}_num", f"{m.name}_den"
    out = _grouped_sums(cell_table, dims, [num, den]).rename(
        columns={num: "numerator", den: "denominator"})
    out["numerator"] = out["numerator"].astype("int64")
    out["denominator"] = out["denominator"].astype("int64")
    out["rate"], out["ci_low"], out["ci_high"] = _wilson(out["numerator"].to_numpy(),
                                                         out["denominator"].to_numpy())
    return out


def rates(cell_table: pd.DataFrame,
          by: Sequence[str | None] = (None, "region", "carrier", "cpt_code", "month"),
          measures: Sequence[str] | None = None) -> pd.DataFrame:
    """Long table of every measure overall (``None``) and by each dimension: ``measure``,
    ``label``, ``by``, ``group``, ``numerator``, ``denominator``, ``rate``, ``ci_low``,
    ``ci_high``. The same figures as :func:`rate_table`, one grouping per dimension."""
    names = list(measures or MEASURES)
    columns = [f"{name}_{part}" for name in names for part in ("num", "den")]
    sums = {dim: _grouped_sums(cell_table, [dim] if dim else [], columns) for dim in by}
    groups = {dim: (_group_label(g[dim]) if dim else pd.Series(["all"] * len(g))).to_numpy()
              for dim, g in sums.items()}
    parts = []
    for name in names:
        for dim in by:
            g = sums[dim]
            parts.append(pd.DataFrame({
                "measure": name, "label": MEASURES[name].label, "by": dim or "overall",
                "group": groups[dim],
                "numerator": g[f"{name}_num"].to_numpy(dtype="int64"),
                "denominator": g[f"{name}_den"].to_numpy(dtype="int64")}))
    out = pd.concat(parts, ignore_index=True)
    out["rate"], out["ci_low"], out["ci_high"] = _wilson(out["numerator"].to_numpy(),
                                                         out["denominator"].to_numpy())
    return out


def kpis(cell_table: pd.DataFrame) -> dict[str, dict[str, float | int | None]]:
    """Overall value of every measure: ``{measure: {numerator, denominator, rate}}`` plus
    ``requests``."""
    out: dict[str, dict[str, float | int | None]] = {
        "requests": {"numerator": int(cell_table["n"].sum()) if len(cell_table) else 0}}
    for name in MEASURES:
        t = rate_table(cell_table, name).iloc[0]
        out[name] = {"numerator": int(t["numerator"]), "denominator": int(t["denominator"]),
                     "rate": None if math.isnan(t["rate"]) else float(t["rate"])}
    return out


# --------------------------------------------------------------------------------------------
# Odds ratios
# --------------------------------------------------------------------------------------------

@dataclass
class ModelResult:
    """A fitted (or not fittable) ``outcome ~ region + carrier`` model.

    ``table`` has :data:`ODDS_RATIO_COLUMNS` — one row per non-reference level (``odds_ratio``
    etc. NaN when not estimable, with the reason in ``note``); ``exact`` the exact conditional
    odds ratios of the 2×2 comparisons with a cell below :data:`SMALL_CELL`.
    """

    outcome: str
    table: pd.DataFrame
    exact: pd.DataFrame
    n: int = 0
    events: int = 0
    references: dict[str, str] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    fitted: bool = False
    # per factor: (events, non-events) of the reference level, for the 2×2 comparisons
    reference_counts: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def formula(self) -> str:
        terms = [f for f in ("region", "carrier") if f in self.references]
        return f"{self.outcome} ~ {' + '.join(terms) or '1'}"

    def to_records(self) -> list[dict[str, Any]]:
        return _records(self.table)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: NaN / ±inf become None, numpy scalars become Python ones."""
    out = []
    for row in df.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for k, v in row.items():
            if isinstance(v, np.generic):
                v = v.item()
            clean[k] = None if _is_missing(v) else v
        out.append(clean)
    return out


def _is_missing(v: Any) -> bool:
    if isinstance(v, float):
        return not math.isfinite(v)
    if isinstance(v, (list, tuple, dict, str)):
        return False
    return bool(pd.isna(v))


def _empty_or_table() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in ODDS_RATIO_COLUMNS})


def _empty_exact() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in EXACT_COLUMNS})


def default_carrier_reference(cell_table: pd.DataFrame) -> str | None:
    """The carrier with the most requests (ties: first by name); None without carriers."""
    known = cell_table[cell_table["carrier"] != MISSING]
    if known.empty:
        return None
    counts = known.groupby("carrier")["n"].sum().reset_index()
    counts = counts.sort_values(["n", "carrier"], ascending=[False, True])
    return str(counts["carrier"].iloc[0])


def _level_order(factor: str, levels: Iterable[str]) -> list[str]:
    levels = list(levels)
    if factor == "region":
        return [r for r in REGIONS if r in levels] + sorted(set(levels) - set(REGIONS))
    return sorted(levels)


def _model_data(cell_table: pd.DataFrame, outcome: str) -> pd.DataFrame:
    m = MEASURES[outcome]
    g = (cell_table.groupby(["region", "carrier"], sort=True)[[f"{m.name}_num", f"{m.name}_den"]]
         .sum().reset_index().rename(columns={f"{m.name}_num": "events",
                                              f"{m.name}_den": "trials"}))
    return g[g["trials"] > 0].reset_index(drop=True)


def _pick_reference(margins: pd.DataFrame, wanted: str | None, factor: str,
                    messages: list[str], default_reason: str) -> str | None:
    """``wanted`` when it is present and estimable, else the largest usable level."""
    usable = margins[(margins["events"] > 0) & (margins["events"] < margins["trials"])]
    if wanted is not None and wanted in set(usable.index):
        return wanted
    if usable.empty:
        return None
    fallback = str(usable.sort_values("trials", ascending=False, kind="stable").index[0])
    if wanted is not None:
        why = ("is not in the data" if wanted not in set(margins.index)
               else "has all or none of the events, so nothing can be compared with it")
        messages.append(f"{factor} reference {wanted!r} {why}; using {fallback!r} "
                        f"({default_reason}).")
    return fallback


def odds_ratios(cell_table: pd.DataFrame, outcome: str = "preauth_required",
                carrier_reference: str | None = None) -> ModelResult:
    """Multivariable logistic regression ``outcome ~ region + carrier`` as a binomial GLM on
    the region × carrier table of (events, non-events) — the same likelihood as the row-level
    fit. Reference region: cervical; reference carrier: ``carrier_reference`` or the carrier
    with the most requests. Degenerate data gives a result with ``messages`` and no (or
    fewer) estimates, never an exception."""
    import statsmodels.api as sm

    if outcome not in MODEL_OUTCOMES:
        raise ValueError(f"unknown model outcome {outcome!r}; expected one of "
                         f"{', '.join(MODEL_OUTCOMES)}")
    result = ModelResult(outcome, _empty_or_table(), _empty_exact())
    msgs = result.messages
    if cell_table.empty:
        msgs.append("No requests in this selection.")
        return result
    data = _model_data(cell_table, outcome)
    what = MEASURES[outcome].denominator
    if data.empty:
        msgs.append(f"No {what}: the model needs the outcome columns.")
        return result
    missing_carrier = data["carrier"] == MISSING
    factors = ["region", "carrier"]
    no_carrier = bool(missing_carrier.all())
    if no_carrier:
        factors = ["region"]
        msgs.append("No carrier recorded: the model has region only.")
    elif missing_carrier.any():
        dropped = int(data.loc[missing_carrier, "trials"].sum())
        msgs.append(f"{dropped:,} {what} without a carrier are left out of the model.")
        data = data[~missing_carrier].reset_index(drop=True)
    missing_region = data["region"] == MISSING
    if missing_region.any():
        msgs.append(f"{int(data.loc[missing_region, 'trials'].sum()):,} {what} without a "
                    "region are left out of the model.")
        data = data[~missing_region].reset_index(drop=True)
    result.n = int(data["trials"].sum())
    result.events = int(data["events"].sum())
    if result.n == 0:
        msgs.append(f"No {what} with a region and a carrier.")
        return result
    if result.events in (0, result.n):
        every = "every one" if result.events else "none"
        msgs.append(f"{every.capitalize()} of the {result.n:,} {what} had the outcome "
                    f"({MEASURES[outcome].numerator}): odds ratios are not estimable.")
        return result

    wanted = {"region": REFERENCE_REGION,
              "carrier": carrier_reference or default_carrier_reference(cell_table)}
    rows: list[dict[str, Any]] = []
    not_estimable: dict[tuple[str, str], str] = {}
    # Levels with all or none of the events have an infinite MLE (separation): report them as
    # not estimable, leave their rows out (the other estimates are the limit of the full fit)
    # and repeat until no factor has such a level.
    while True:
        changed = False
        for factor in list(factors):
            margins = data.groupby(factor)[["events", "trials"]].sum()
            if len(margins) < 2:
                continue
            ref = _pick_reference(margins, wanted[factor], factor, msgs,
                                  f"the largest estimable {factor}")
            if ref is None:  # every level has all or none of the events
                factors.remove(factor)
                msgs.append(f"Every {factor} has all or none of the events in this selection: "
                            f"no {factor} odds ratios (see the exact odds ratios).")
                for level in margins.index:
                    if str(level) != wanted[factor]:
                        not_estimable[(factor, str(level))] = (
                            "all or none of its requests had the outcome: not estimable")
                changed = True
                continue
            wanted[factor] = ref
            bad = margins[(margins["events"] == 0) | (margins["events"] == margins["trials"])]
            for level in bad.index:
                if level == ref:
                    continue
                kind = "none" if bad.loc[level, "events"] == 0 else "all"
                trials = int(bad.loc[level, "trials"])
                if trials == 1:
                    its = "its only request " + ("had" if kind == "all" else "did not have")
                else:
                    its = f"{kind} of its {trials:,} requests had"
                not_estimable[(factor, str(level))] = (
                    f"{its} the outcome: not estimable by maximum likelihood (see the exact "
                    "odds ratio)")
                data = data[data[factor] != level]
                changed = True
        if not changed:
            break
    data = data.reset_index(drop=True)
    if factors and int(data["events"].sum()) in (0, int(data["trials"].sum())):
        msgs.append("Once the levels with all or none of the events are set aside, the outcome "
                    "no longer varies: no adjusted odds ratios.")
        factors = []
    levels: dict[str, list[str]] = {}
    for factor in list(factors):
        present = _level_order(factor, data[factor].unique())
        if len(present) < 2:
            factors.remove(factor)
            if not any(k[0] == factor for k in not_estimable):
                only = present[0] if present else "none"
                msgs.append(f"Only one {factor} ({only}) in this selection: the model has no "
                            f"{factor} term.")
            continue
        ref = wanted[factor] if wanted[factor] in present else present[0]
        result.references[factor] = ref
        levels[factor] = [lv for lv in present if lv != ref]
    for factor in ("region", "carrier"):
        if factor not in result.references and any(k[0] == factor for k in not_estimable):
            ref = wanted[factor]
            if ref is not None:
                result.references[factor] = ref

    fit = None
    if factors and not data.empty:
        x = pd.DataFrame({"const": np.ones(len(data))})
        for factor in factors:
            for level in levels[factor]:
                x[f"{factor}={level}"] = (data[factor] == level).astype(float).to_numpy()
        endog = np.column_stack([data["events"].to_numpy(float),
                                 (data["trials"] - data["events"]).to_numpy(float)])
        if np.linalg.matrix_rank(x.to_numpy()) < x.shape[1]:
            msgs.append("Region and carrier are confounded in this selection (some "
                        "combinations are absent), so their effects cannot be separated: "
                        "no adjusted odds ratios.")
        else:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    # IRLS stops when the deviance changes by less than its rounding noise,
                    # which grows with the counts (~1e-15 per request): a fixed 1e-12 is
                    # below the noise for millions of requests and would spin to maxiter.
                    fit = sm.GLM(endog, x, family=sm.families.Binomial()).fit(
                        tol=max(1e-12, 1e-15 * float(endog.sum())), rtol=1e-12, maxiter=200)
                result.fitted = True
            except (np.linalg.LinAlgError, ValueError) as err:  # pragma: no cover - defensive
                msgs.append(f"The model could not be fitted ({err}).")
    margins_all = _model_data(cell_table, outcome)
    keep = margins_all["region"] != MISSING
    if not no_carrier:  # complete cases, as in the model
        keep &= margins_all["carrier"] != MISSING
    margins_all = margins_all[keep]
    for factor in ("region", "carrier"):
        ref = result.references.get(factor)
        if ref is None:
            continue
        marg = margins_all.groupby(factor)[["events", "trials"]].sum()
        rev, rtr = ((int(marg.loc[ref, "events"]), int(marg.loc[ref, "trials"]))
                    if ref in marg.index else (0, 0))
        result.reference_counts[factor] = (rev, rtr - rev)
        for level in [lv for lv in _level_order(factor, marg.index) if lv != ref]:
            key = (factor, level)
            ev, tr = int(marg.loc[level, "events"]), int(marg.loc[level, "trials"])
            cells2 = (ev, tr - ev, rev, rtr - rev)
            row: dict[str, Any] = {
                "outcome": outcome, "factor": factor, "level": level, "reference": ref,
                "odds_ratio": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                "p_value": math.nan, "n": tr, "events": ev,
                "small_cells": min(cells2) < SMALL_CELL, "estimable": False, "note": ""}
            name = f"{factor}={level}"
            if key in not_estimable:
                row["note"] = not_estimable[key]
            elif fit is not None and name in fit.params.index:
                beta, se = float(fit.params[name]), float(fit.bse[name])
                lo, hi = (float(v) for v in fit.conf_int(alpha=0.05).loc[name])
                with np.errstate(over="ignore"):
                    row.update(odds_ratio=float(np.exp(beta)), ci_low=float(np.exp(lo)),
                               ci_high=float(np.exp(hi)), p_value=float(fit.pvalues[name]),
                               estimable=bool(np.isfinite(se) and se < 10))
                if not row["estimable"]:
                    row["note"] = "unstable estimate (near-separation): see the exact odds ratio"
            else:
                row["note"] = "not estimated (see the notes above)"
            if row["small_cells"] and not row["note"]:
                row["note"] = f"a 2×2 cell below {SMALL_CELL}: see the exact odds ratio"
            rows.append(row)
    if rows:
        result.table = pd.DataFrame(rows, columns=list(ODDS_RATIO_COLUMNS))
    result.exact = exact_odds_ratios(result)
    return result


def exact_odds_ratios(result: ModelResult) -> pd.DataFrame:
    """Exact conditional (Fisher) odds ratios, unadjusted, for every comparison in
    ``result.table`` with a 2×2 cell below :data:`SMALL_CELL`; two-sided Fisher p-value."""
    from scipy.stats import fisher_exact
    from scipy.stats.contingency import odds_ratio

    t = result.table
    if t.empty or not t["small_cells"].any():
        return _empty_exact()
    out = []
    for _, row in t[t["small_cells"]].iterrows():
        ref_counts = result.reference_counts.get(row["factor"])
        if ref_counts is None:
            continue
        a, b = int(row["events"]), int(row["n"] - row["events"])
        c, d = ref_counts
        table = [[a, b], [c, d]]
        rec: dict[str, Any] = {
            "outcome": row["outcome"], "factor": row["factor"], "level": row["level"],
            "reference": row["reference"], "odds_ratio": math.nan, "ci_low": math.nan,
            "ci_high": math.nan, "p_value": math.nan, "method": "exact_conditional",
            "adjusted": False, "table": [a, b, c, d], "note": ""}
        if min(a + b, c + d, a + c, b + d) == 0:
            rec["note"] = "a row or column of the 2×2 table is empty: no odds ratio"
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = odds_ratio(table, kind="conditional")
                ci = est.confidence_interval(confidence_level=0.95)
                rec.update(odds_ratio=float(est.statistic), ci_low=float(ci.low),
                           ci_high=float(ci.high),
                           p_value=float(fisher_exact(table).pvalue))
            if not math.isfinite(rec["odds_ratio"]) or rec["odds_ratio"] == 0:
                rec["note"] = "a zero cell: the odds ratio is unbounded; the interval is exact"
        out.append(rec)
    return pd.DataFrame(out, columns=list(EXACT_COLUMNS)) if out else _empty_exact()


# --------------------------------------------------------------------------------------------
# Concordance of criteria verdicts with payer decisions
# --------------------------------------------------------------------------------------------

@dataclass
class Concordance:
    """Verdict (rows) × initial payer decision (columns) among preauthorized requests."""

    policy: str
    matrix: pd.DataFrame
    n: int = 0
    denied_although_meets: int = 0
    approved_although_not_meets: int = 0
    messages: list[str] = field(default_factory=list)

    @property
    def share_denied_although_meets(self) -> float | None:
        meets = int(self.matrix.loc["meets_criteria", ["approved", "denied", "cancelled"]].sum()) \
            if "meets_criteria" in self.matrix.index else 0
        return self.denied_although_meets / meets if meets else None

    @property
    def share_approved_although_not_meets(self) -> float | None:
        total = int(self.matrix.loc["does_not_meet", ["approved", "denied", "cancelled"]].sum()) \
            if "does_not_meet" in self.matrix.index else 0
        return self.approved_although_not_meets / total if total else None

    @property
    def agreement(self) -> float | None:
        """Share of decided requests with a definite verdict where both agree (meets ↔
        approved, does not meet ↔ denied or cancelled)."""
        m = self.matrix
        definite = [v for v in ("meets_criteria", "does_not_meet") if v in m.index]
        total = int(m.loc[definite, ["approved", "denied", "cancelled"]].to_numpy().sum()) \
            if definite else 0
        if not total:
            return None
        agree = (self.matrix.loc["meets_criteria", "approved"] if "meets_criteria" in m.index
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


def verdict_column(engine: Any, table: pa.Table, policy: str) -> pa.ChunkedArray:
    """Each request's verdict under ``policy`` (the engine's fast wide path)."""
    if table.num_rows == 0:
        return pa.chunked_array([], pa.string())
    wide = engine.verdicts(table, [policy])
    col = wide.column(f"verdict:{policy}")
    return col if isinstance(col, pa.ChunkedArray) else pa.chunked_array([col])


_CASE_TYPES = {"case_id": "VARCHAR", "request_date": "DATE", "carrier": "VARCHAR",
               "cpt_code": "VARCHAR", "region": "VARCHAR", "contrast": "VARCHAR",
               "preauth_required": "BOOLEAN", "decision": "VARCHAR",
               "peer_to_peer": "BOOLEAN", "final_decision": "VARCHAR", "completed": "BOOLEAN",
               "verdict": "VARCHAR"}


def discordant_cases(table: pa.Table | pd.DataFrame, verdict: pa.Array | pa.ChunkedArray,
                     kind: str, filters: Filters | None = None, limit: int | None = 200,
                     ) -> tuple[pa.Table, int]:
    """Requests of ``kind`` (:data:`DISCORDANT_KINDS`) — at most ``limit`` of them, by date
    and case id — and how many there are in all. Columns: :data:`_CASE_TYPES`."""
    if kind not in DISCORDANT_KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(DISCORDANT_KINDS)}")
    cond = {"denied_although_meets": f"verdict = 'meets_criteria' AND {_REQ} AND {_DENIED}",
            "approved_although_not_meets":
                f"verdict = 'does_not_meet' AND {_REQ} AND decision = 'approved'"}[kind]
    arrow = _as_arrow(table)
    if len(verdict) != arrow.num_rows:
        raise ValueError(f"verdict has {len(verdict)} values for {arrow.num_rows} rows")
    view = arrow.select([c for c in _CASE_TYPES if c in arrow.column_names and c != "verdict"])
    view = view.append_column("verdict", verdict)
    where, params = (filters or Filters()).where()
    base = (f"WITH v AS (SELECT {_select_list(view.column_names, _CASE_TYPES)} FROM cases_in) "
            f"SELECT * FROM v WHERE ({cond}) AND {where}")
    con = _connect()
    try:
        con.register("cases_in", view)
        total = int(con.sql(f"SELECT COUNT(*) FROM ({base})", params=params).fetchall()[0][0])
        lim = "" if limit is None else f" LIMIT {int(limit)}"
        rows = con.sql(f"{base} ORDER BY request_date NULLS LAST, case_id{lim}",
                       params=params).to_arrow_table()
    finally:
        con.close()
    return rows, total


# --------------------------------------------------------------------------------------------
# Everything at once (the CLI and the Evidence page)
# --------------------------------------------------------------------------------------------

@dataclass
class Evidence:
    cells: pd.DataFrame
    rates: pd.DataFrame
    models: dict[str, ModelResult]
    concordance: Concordance | None
    filters: Filters
    messages: list[str] = field(default_factory=list)

    @property
    def odds_ratio_table(self) -> pd.DataFrame:
        parts = [m.table for m in self.models.values() if not m.table.empty]
        return pd.concat(parts, ignore_index=True) if parts else _empty_or_table()

    @property
    def exact_table(self) -> pd.DataFrame:
        parts = [m.exact for m in self.models.values() if not m.exact.empty]
        return pd.concat(parts, ignore_index=True) if parts else _empty_exact()

    def to_text(self) -> str:
        """Plain-text report (``preauth stats --format table``)."""
        return format_text(self)

    def to_dict(self) -> dict[str, Any]:
        """The ``preauth stats`` JSON object."""
        return {
            "requests": int(self.cells["n"].sum()) if len(self.cells) else 0,
            "filters": self.filters.describe(),
            "odds_ratios": _records(self.odds_ratio_table),
            "exact_odds_ratios": _records(self.exact_table),
            "models": [{"outcome": m.outcome, "formula": m.formula, "n": m.n,
                        "events": m.events, "references": m.references,
                        "fitted": m.fitted, "messages": m.messages}
                       for m in self.models.values()],
            "rates": _records(self.rates),
            "concordance": None if self.concordance is None else self.concordance.to_dict(),
            "messages": list(self.messages),
        }


def verdict_counts(results: pa.Table) -> pd.DataFrame:
    """Per policy, how many determinations of each verdict (and flagged for review) a batch
    evaluation (:meth:`preauth.engine.Engine.evaluate` output) holds."""
    cols = ["policy", *VERDICTS, "needs_review", "total"]
    if results.num_rows == 0:
        return pd.DataFrame({c: pd.Series(dtype="object" if c == "policy" else "int64")
                             for c in cols})
    g = results.group_by(["policy", "verdict"]).aggregate([([], "count_all")]).to_pandas()
    wide = g.pivot(index="policy", columns="verdict", values="count_all")
    wide = wide.reindex(columns=list(VERDICTS), fill_value=0).fillna(0).astype("int64")
    review = (results.group_by("policy").aggregate([("needs_review", "sum")]).to_pandas()
              .set_index("policy")["needs_review_sum"])
    wide["needs_review"] = review.reindex(wide.index).fillna(0).astype("int64")
    wide["total"] = wide[list(VERDICTS)].sum(axis=1)
    import pyarrow.compute as pc

    order = pc.unique(results.column("policy")).to_pylist()  # first-appearance order
    return wide.reindex(order).reset_index()[cols]


def carriers_in(table: pa.Table | pd.DataFrame) -> list[str]:
    """Distinct recorded carriers, sorted."""
    arrow = _as_arrow(table)
    if "carrier" not in arrow.column_names or arrow.num_rows == 0:
        return []
    import pyarrow.compute as pc

    values = pc.unique(pc.utf8_trim_whitespace(arrow.column("carrier").cast(pa.string())))
    return sorted(v for v in values.to_pylist() if v)


def _fmt(x: Any, spec: str = ".2f") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return format(x, spec)


def _fmt_p(p: Any) -> str:
    if p is None or (isinstance(p, float) and not math.isfinite(p)):
        return "—"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    line = "  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def format_text(ev: Evidence) -> str:
    """The evidence as aligned plain-text tables."""
    parts = [f"Requests: {int(ev.cells['n'].sum()) if len(ev.cells) else 0:,} "
             f"({ev.filters.describe()})", *ev.messages, ""]
    overall = ev.rates[ev.rates["by"] == "overall"]
    parts += ["Rates (Wilson 95% CI)", _text_table(
        ["measure", "n / N", "rate", "95% CI"],
        [[r.label, f"{r.numerator:,} / {r.denominator:,}", _fmt(100 * r.rate, ".2f") + "%"
          if math.isfinite(r.rate) else "—",
          f"{_fmt(100 * r.ci_low)}–{_fmt(100 * r.ci_high)}%" if math.isfinite(r.rate) else "—"]
         for r in overall.itertuples()]), ""]
    for m in ev.models.values():
        parts.append(f"{MODEL_OUTCOMES[m.outcome]}: {m.formula} "
                     f"(binomial GLM, n = {m.n:,}, events = {m.events:,})")
        parts += [f"  note: {msg}" for msg in m.messages]
        if not m.table.empty:
            parts.append(_text_table(
                ["factor", "level", "reference", "OR", "95% CI", "p", "note"],
                [[r.factor, r.level, r.reference, _fmt(r.odds_ratio),
                  f"{_fmt(r.ci_low)}–{_fmt(r.ci_high)}", _fmt_p(r.p_value), r.note]
                 for r in m.table.itertuples()]))
        if not m.exact.empty:
            parts.append("  exact conditional odds ratios (small cells, unadjusted):")
            parts.append(_text_table(
                ["factor", "level", "reference", "OR", "95% CI", "Fisher p"],
                [[r.factor, r.level, r.reference, _fmt(r.odds_ratio),
                  f"{_fmt(r.ci_low)}–{_fmt(r.ci_high)}", _fmt_p(r.p_value)]
                 for r in m.exact.itertuples()]))
        parts.append("")
    con = ev.concordance
    if con is not None:
        parts.append(f"Criteria verdict ({con.policy}) × initial decision, preauthorized "
                     f"requests (n = {con.n:,})")
        parts += [f"  note: {msg}" for msg in con.messages]
        parts.append(_text_table(
            ["verdict", *con.matrix.columns],
            [[VERDICT_LABELS.get(str(v), str(v)), *(f"{int(x):,}" for x in row)]
             for v, row in con.matrix.iterrows()]))
        parts.append(f"Denied or cancelled although the criteria are met: "
                     f"{con.denied_although_meets:,}; approved although not met: "
                     f"{con.approved_although_not_meets:,}")
    return "\n".join(parts).rstrip() + "\n"


def analyse(table: pa.Table | pd.DataFrame, engine: Any = None, policy: str | None = "acr",
            carrier_reference: str | None = None, filters: Filters | None = None,
            verdict: pa.Array | pa.ChunkedArray | None = None) -> Evidence:
    """Rates, both models and the concordance of ``policy``'s verdicts (computed with
    ``engine`` unless ``verdict`` is given; skipped when neither is) in one aggregation."""
    arrow = _as_arrow(table)
    filters = filters or Filters()
    if verdict is None and engine is not None and policy:
        verdict = verdict_column(engine, arrow, policy)
    c = cells(arrow, verdict, filters)
    messages: list[str] = []
    if c.empty:
        messages.append("No requests match this selection." if filters.where()[1]
                        else "The data has no requests.")
    ref = carrier_reference
    if ref is not None and ref not in set(c["carrier"]):
        known = sorted(set(c["carrier"]) - {MISSING})
        messages.append(f"carrier reference {ref!r} is not in the data (carriers: "
                        f"{', '.join(known) or 'none'}); using the carrier with the most "
                        "requests.")
        ref = None
    models = {o: odds_ratios(c, o, ref) for o in MODEL_OUTCOMES}
    conc = concordance(c, policy) if verdict is not None and policy else None
    return Evidence(c, rates(c), models, conc, filters, messages)
