"""Datasets for the Evidence page and cached aggregates over them (UI plumbing only).

A dataset is an accepted (typed) Arrow table plus a key that identifies its content: the
bundled file's path and modification time, or the upload's content hash set by the Upload
page. A :class:`Selection` is a dataset under a policy of a criteria library (its content
key), filtered; every aggregate is cached on the selection's key — the criteria verdicts (one
column per dataset and policy, never copied), the aggregation cells with the KPIs and the
concordance (:class:`Summary`), and what the tabs derive from the cells (models, rate tables,
drill-downs) — so moving a filter aggregates once, moving it back or switching tabs computes
nothing, and nothing row-level is ever sent to the browser. Only the bundled data under the
bundled criteria is cached for every session (``st.cache_*``); whatever derives from an
upload or custom criteria stays in the session that owns it (:mod:`ui.session_cache`), so no
other session can see it and it is released with the session.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import streamlit as st

from preauth.criteria.library import Library
from preauth.evaluate.engine import Engine
from preauth.evaluate.wide import echoed_fields, wide_result
from preauth.evidence.cells import MISSING, Filters, carriers_in, verdict_column
from preauth.evidence.cells import cells as aggregate
from preauth.evidence.concordance import (
    Concordance,
    concordance,
    discordant_cases,
    requests_by_verdict,
)
from preauth.evidence.drilldown import discordant_wide
from preauth.evidence.odds import ModelResult, default_carrier_reference, odds_ratios
from preauth.evidence.rates import kpis, rate_table, rates
from preauth.ingest.export import source_columns
from preauth.ingest.raw import RawTable
from preauth.ingest.validate import IngestResult
from ui.session_cache import session_memo

__all__ = ["BUNDLED_PATH", "UPLOADED", "UPLOADED_NAME", "UPLOADED_TOKEN", "Dataset",
           "Selection", "Summary", "all_discordant", "available_datasets", "carriers_for",
           "case_row", "date_range", "discordant_for", "model_for", "rate_table_for",
           "rates_for", "summary_for", "upload_wide", "verdicts_for"]

T = TypeVar("T")

# What one session keeps for its own upload / custom criteria (released with the session):
MAX_SESSION_VERDICTS = 4  # verdict columns (a row-length array each): policies switched back
MAX_SESSION_AGGREGATES = 16  # cells, rates, models, drill-downs: a few filter settings

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_PATH = ROOT / "data" / "requests.parquet"
UPLOADED = "uploaded_dataset"  # session state: the accepted Arrow table from the Upload page
UPLOADED_NAME = "uploaded_dataset_name"
UPLOADED_TOKEN = "uploaded_dataset_token"


@dataclass(frozen=True)
class Dataset:
    label: str
    key: str
    table: pa.Table


@st.cache_resource(show_spinner=False)
def _bundled(path: str, mtime: float) -> pa.Table:
    return pq.read_table(path)


def _fingerprint(table: pa.Table) -> str:
    """Content hash of a table (used only when the upload page gave no token)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()[:16]


def available_datasets() -> dict[str, Dataset]:
    """``bundled`` (when the file exists) and ``uploaded`` (when the session holds one)."""
    out: dict[str, Dataset] = {}
    if BUNDLED_PATH.exists():
        mtime = BUNDLED_PATH.stat().st_mtime
        table = _bundled(str(BUNDLED_PATH), mtime)
        out["bundled"] = Dataset(f"Bundled synthetic data ({table.num_rows:,} requests)",
                                 f"bundled:{mtime}", table)
    uploaded = st.session_state.get(UPLOADED)
    if isinstance(uploaded, pa.Table):
        name = st.session_state.get(UPLOADED_NAME) or "uploaded file"
        token = st.session_state.get(UPLOADED_TOKEN) or _fingerprint(uploaded)
        out["uploaded"] = Dataset(f"Uploaded: {name} ({uploaded.num_rows:,} requests)",
                                  f"uploaded:{token}", uploaded)
    return out


def _owned(data_key: str, library_key: str = "bundled:") -> bool:
    """Derived from something one session owns (its upload or its custom criteria)?"""
    return not (data_key.startswith("bundled:") and library_key.startswith("bundled:"))


@dataclass(frozen=True, eq=False)
class Selection:
    """What the Evidence page analyses: a dataset under a policy of a criteria library,
    filtered. :attr:`key` identifies every aggregate derived from it (the data's and the
    library's content keys, the policy and the filters)."""

    dataset: Dataset
    policy: str
    library_key: str
    filters: Filters

    @property
    def key(self) -> str:
        return f"{self.dataset.key}|{self.policy}|{self.library_key}|{self.filters!r}"

    @property
    def shared(self) -> bool:
        """The bundled data under the bundled criteria: the same for every session."""
        return not _owned(self.dataset.key, self.library_key)


@dataclass(frozen=True)
class Summary:
    """The aggregation pass of a selection and what the page shows above its tabs, all
    computed once per selection by :mod:`preauth.evidence`."""

    cells: pd.DataFrame
    kpis: dict[str, dict[str, float | int | None]]
    concordance: Concordance
    carriers: list[str]  # recorded carriers, sorted
    default_reference: str | None  # the carrier with the most requests
    requests_by_verdict: pd.DataFrame


def verdicts_for(selection: Selection, engine: Engine) -> pa.ChunkedArray:
    """The criteria verdict of every row under the selection's policy. Shared by all
    sessions only for the bundled data under the bundled criteria; anything involving an
    upload or custom criteria is kept in the session that owns it (a few entries, released
    with it)."""
    ds, policy, lib = selection.dataset, selection.policy, selection.library_key
    if selection.shared:
        return _shared_verdicts(ds.key, policy, lib, ds.table, engine)
    return session_memo("verdicts", f"{ds.key}|{policy}|{lib}",
                        lambda: verdict_column(engine, ds.table, policy),
                        max_entries=MAX_SESSION_VERDICTS)


def summary_for(selection: Selection, engine: Engine) -> Summary:
    """The cells of the selection (one aggregation pass over the rows, in DuckDB) with the
    KPIs and the concordance derived from them."""
    def compute() -> Summary:
        c = aggregate(selection.dataset.table, verdicts_for(selection, engine),
                      selection.filters)
        return Summary(c, kpis(c), concordance(c, selection.policy),
                       sorted(set(c["carrier"]) - {MISSING}), default_carrier_reference(c),
                       requests_by_verdict(c))

    return _aggregate("summary", selection, "", compute)


def model_for(selection: Selection, summary: Summary, outcome: str,
              reference: str | None) -> ModelResult:
    return _aggregate("model", selection, f"{outcome}|{reference}",
                      lambda: odds_ratios(summary.cells, outcome, reference))


def rate_table_for(selection: Selection, summary: Summary, measure: str,
                   dims: tuple[str, ...]) -> pd.DataFrame:
    return _aggregate("rate_table", selection, f"{measure}|{dims}",
                      lambda: rate_table(summary.cells, measure, list(dims)))


def rates_for(selection: Selection, summary: Summary) -> pd.DataFrame:
    return _aggregate("rates", selection, "", lambda: rates(summary.cells))


def discordant_for(selection: Selection, engine: Engine, kind: str) -> tuple[pa.Table, int]:
    """The first 200 requests of ``kind`` and how many there are."""
    return _aggregate("discordant", selection, kind, lambda: discordant_cases(
        selection.dataset.table, verdicts_for(selection, engine), kind, selection.filters,
        limit=200))


def all_discordant(selection: Selection, engine: Engine, kind: str) -> pa.Table:
    """Every request of ``kind`` in full — clinical fields, outcomes and every policy's
    criteria results, one row per request (:func:`preauth.evidence.drilldown.
    discordant_wide`; for the download, made on click)."""
    return discordant_wide(selection.dataset.table, verdicts_for(selection, engine), kind,
                           engine, selection.policy, selection.filters)


def _aggregate(kind: str, selection: Selection, detail: str, compute: Callable[[], T]) -> T:
    """``compute()`` once per (selection, ``detail``): for every session when the selection
    is :attr:`Selection.shared`, else in this session only (a few entries per kind)."""
    key = f"{selection.key}|{detail}"
    if selection.shared:
        shared = _shared_summary if kind == "summary" else _shared_derived
        return shared(kind, key, compute)
    return session_memo(kind, key, compute, max_entries=MAX_SESSION_AGGREGATES)


def date_range(data_key: str, table: pa.Table) -> tuple[object, object] | None:
    if not _owned(data_key):
        return _shared_date_range(data_key, table)
    return session_memo("date_range", data_key, lambda: _date_range(table))


def carriers_for(data_key: str, table: pa.Table) -> list[str]:
    if not _owned(data_key):
        return _shared_carriers(data_key, table)
    return session_memo("carriers", data_key, lambda: _carriers(table))


def _date_range(table: pa.Table) -> tuple[object, object] | None:
    if "request_date" not in table.column_names or table.num_rows == 0:
        return None
    mm = pc.min_max(table.column("request_date"))
    lo, hi = mm["min"].as_py(), mm["max"].as_py()
    return None if lo is None else (lo, hi)


def _carriers(table: pa.Table) -> list[str]:
    names = carriers_in(table)
    if "carrier" in table.column_names and table.column("carrier").null_count:
        names.append(MISSING)
    return names


# -- shared by every session: the bundled data under the bundled criteria -------------------

@st.cache_resource(show_spinner=False, max_entries=8)
def _shared_verdicts(data_key: str, policy: str, library_key: str, _table: pa.Table,
                     _engine: Engine) -> pa.ChunkedArray:
    return verdict_column(_engine, _table, policy)


# Copies per call (st.cache_data): no session can alter what another one reads. A summary
# holds the cells (some 7,000 rows, 1.6 MB, for the bundled data): 64 filter settings' worth;
# what the tabs derive from them is a few dozen rows each (at most ~0.1 MB).
@st.cache_data(show_spinner=False, max_entries=64)
def _shared_summary(kind: str, key: str, _compute: Callable[[], T]) -> T:
    return _compute()


@st.cache_data(show_spinner=False, max_entries=256)
def _shared_derived(kind: str, key: str, _compute: Callable[[], T]) -> T:
    return _compute()


@st.cache_data(show_spinner=False, max_entries=4)
def _shared_date_range(data_key: str, _table: pa.Table) -> tuple[object, object] | None:
    return _date_range(_table)


@st.cache_data(show_spinner=False, max_entries=4)
def _shared_carriers(data_key: str, _table: pa.Table) -> list[str]:
    return _carriers(_table)


def case_row(table: pa.Table, case_id: str) -> dict | None:
    """The full row of ``case_id`` (first match) as a dict, for the explorer."""
    hit = table.filter(pc.equal(table.column("case_id"), case_id))
    return hit.slice(0, 1).to_pylist()[0] if hit.num_rows else None


# -- uploads (read from memory, never written to disk) ---------------------------------------

def upload_wide(raw: RawTable, result: IngestResult, determinations: pa.Table,
                library: Library, policies: list[str]) -> pa.Table:
    """The upload's determinations one row per request (:func:`preauth.evaluate.wide.
    wide_result`): the fields its columns were mapped to, its unmapped columns as read, then
    per policy the verdict, review flag, criteria met and documentation needed (for the
    download, made on click)."""
    source = (source_columns(raw, result.accepted, result.unmapped_columns)
              if result.unmapped_columns else None)
    return wide_result(result.accepted, determinations, library, policies,
                       fields=echoed_fields(result.mapping.values()), source=source)
