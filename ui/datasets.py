"""Datasets for the Evidence page and cached aggregates over them (UI plumbing only).

A dataset is an accepted (typed) Arrow table plus a key that identifies its content: the
bundled file's path and modification time, or the upload's content hash set by the Upload
page. Everything expensive is cached on that key and on the criteria library's content key —
the criteria verdicts (one column per dataset and policy, never copied) and the aggregation
cells — so moving a filter re-aggregates at most once and nothing row-level is ever sent to
the browser. Only the bundled data under the bundled criteria is cached for every session
(``st.cache_*``); whatever derives from an upload or custom criteria stays in the session that
owns it (:mod:`ui.session_cache`), so no other session can see it and it is released with
the session.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import streamlit as st

from preauth.evaluate.engine import Engine
from preauth.evidence.cells import MISSING, Filters, carriers_in, verdict_column
from preauth.evidence.cells import cells as aggregate
from preauth.evidence.concordance import discordant_cases
from preauth.evidence.odds import ModelResult, odds_ratios
from preauth.evidence.rates import rates
from preauth.ingest import IngestResult, RawTable, read_raw, validate
from ui.session_cache import session_memo

__all__ = ["BUNDLED_PATH", "UPLOADED", "UPLOADED_NAME", "UPLOADED_TOKEN", "Dataset",
           "available_datasets", "cells_for", "content_token", "discordant_for", "models_for",
           "rates_for", "read_upload", "validate_upload", "verdicts_for"]

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


def verdicts_for(data_key: str, policy: str, library_key: str, table: pa.Table,
                 engine: Engine) -> pa.ChunkedArray:
    """The criteria verdict of every row under ``policy``. Shared by all sessions only for
    the bundled data under the bundled criteria; anything involving an upload or custom
    criteria is kept in the session that owns it (a few entries, released with it)."""
    if not _owned(data_key, library_key):
        return _shared_verdicts(data_key, policy, library_key, table, engine)
    return session_memo("verdicts", f"{data_key}|{policy}|{library_key}",
                        lambda: verdict_column(engine, table, policy),
                        max_entries=MAX_SESSION_VERDICTS)


def cells_for(data_key: str, policy: str, library_key: str, filters_key: str,
              table: pa.Table, verdict: pa.ChunkedArray, filters: Filters) -> pd.DataFrame:
    if not _owned(data_key, library_key):
        return _shared_cells(data_key, policy, library_key, filters_key, table, verdict,
                             filters)
    return session_memo("cells", f"{data_key}|{policy}|{library_key}|{filters_key}",
                        lambda: aggregate(table, verdict, filters),
                        max_entries=MAX_SESSION_AGGREGATES)


def models_for(data_key: str, policy: str, library_key: str, filters_key: str,
               outcome: str, reference: str | None, cells: pd.DataFrame) -> ModelResult:
    if not _owned(data_key, library_key):
        return _shared_models(data_key, policy, library_key, filters_key, outcome, reference,
                              cells)
    return session_memo(
        "models", f"{data_key}|{policy}|{library_key}|{filters_key}|{outcome}|{reference}",
        lambda: odds_ratios(cells, outcome, reference),
        max_entries=MAX_SESSION_AGGREGATES)


def rates_for(data_key: str, policy: str, library_key: str, filters_key: str,
              cells: pd.DataFrame) -> pd.DataFrame:
    if not _owned(data_key, library_key):
        return _shared_rates(data_key, policy, library_key, filters_key, cells)
    return session_memo("rates", f"{data_key}|{policy}|{library_key}|{filters_key}",
                        lambda: rates(cells), max_entries=MAX_SESSION_AGGREGATES)


def discordant_for(data_key: str, policy: str, library_key: str, filters_key: str, kind: str,
                   table: pa.Table, verdict: pa.ChunkedArray,
                   filters: Filters) -> tuple[pa.Table, int]:
    if not _owned(data_key, library_key):
        return _shared_discordant(data_key, policy, library_key, filters_key, kind, table,
                                  verdict, filters)
    return session_memo(
        "discordant", f"{data_key}|{policy}|{library_key}|{filters_key}|{kind}",
        lambda: discordant_cases(table, verdict, kind, filters, limit=200),
        max_entries=MAX_SESSION_AGGREGATES)


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


@st.cache_data(show_spinner=False, max_entries=64)
def _shared_cells(data_key: str, policy: str, library_key: str, filters_key: str,
                  _table: pa.Table, _verdict: pa.ChunkedArray,
                  _filters: Filters) -> pd.DataFrame:
    return aggregate(_table, _verdict, _filters)


@st.cache_data(show_spinner=False, max_entries=64)
def _shared_models(data_key: str, policy: str, library_key: str, filters_key: str,
                   outcome: str, reference: str | None,
                   _cells: pd.DataFrame) -> ModelResult:
    return odds_ratios(_cells, outcome, reference)


@st.cache_data(show_spinner=False, max_entries=32)
def _shared_rates(data_key: str, policy: str, library_key: str, filters_key: str,
                  _cells: pd.DataFrame) -> pd.DataFrame:
    return rates(_cells)


@st.cache_data(show_spinner=False, max_entries=32)
def _shared_discordant(data_key: str, policy: str, library_key: str, filters_key: str,
                       kind: str, _table: pa.Table, _verdict: pa.ChunkedArray,
                       _filters: Filters) -> tuple[pa.Table, int]:
    return discordant_cases(_table, _verdict, kind, _filters, limit=200)


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

def read_upload(token: str, filename: str, data: bytes) -> RawTable:
    """The uploaded bytes as a text table (raises :class:`IngestError` when unusable). Kept
    in this session only, one file at a time."""
    return session_memo("upload_raw", f"{token}|{filename}", lambda: read_raw(data, filename))


def validate_upload(token: str, mapping_key: str, raw: RawTable,
                    mapping: dict[str, str | None]) -> IngestResult:
    """The validated upload under ``mapping`` (this session only, the latest mapping)."""
    return session_memo("upload_validated", f"{token}|{mapping_key}",
                        lambda: validate(raw, mapping))


def content_token(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]
