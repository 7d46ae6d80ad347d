"""Datasets for the Evidence page and cached aggregates over them (UI plumbing only).

A dataset is an accepted (typed) Arrow table plus a key that identifies its content: the
bundled file's path and modification time, or the upload's content hash set by the Upload
page. Everything expensive is cached on that key — the criteria verdicts (one column per
dataset and policy, kept as a resource, never copied) and the aggregation cells (small,
``st.cache_data``) — so moving a filter re-aggregates at most once and nothing row-level is
ever sent to the browser.
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

from preauth import stats
from preauth.engine import Engine
from preauth.ingest import IngestResult, RawTable, read_raw, validate

__all__ = ["BUNDLED_PATH", "UPLOADED", "UPLOADED_NAME", "UPLOADED_TOKEN", "Dataset",
           "available_datasets", "cells_for", "content_token", "discordant_for", "models_for",
           "rates_for", "read_upload", "validate_upload", "verdicts_for"]

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


@st.cache_resource(show_spinner=False, max_entries=8)
def verdicts_for(data_key: str, policy: str, library_key: str, _table: pa.Table,
                 _engine: Engine) -> pa.ChunkedArray:
    return stats.verdict_column(_engine, _table, policy)


@st.cache_data(show_spinner=False, max_entries=64)
def cells_for(data_key: str, policy: str, library_key: str, filters_key: str,
              _table: pa.Table, _verdict: pa.ChunkedArray,
              _filters: stats.Filters) -> pd.DataFrame:
    return stats.cells(_table, _verdict, _filters)


@st.cache_data(show_spinner=False, max_entries=64)
def models_for(data_key: str, policy: str, library_key: str, filters_key: str,
               outcome: str, reference: str | None,
               _cells: pd.DataFrame) -> stats.ModelResult:
    return stats.odds_ratios(_cells, outcome, reference)


@st.cache_data(show_spinner=False, max_entries=32)
def rates_for(data_key: str, policy: str, library_key: str, filters_key: str,
              _cells: pd.DataFrame) -> pd.DataFrame:
    return stats.rates(_cells)


@st.cache_data(show_spinner=False, max_entries=32)
def discordant_for(data_key: str, policy: str, library_key: str, filters_key: str, kind: str,
                   _table: pa.Table, _verdict: pa.ChunkedArray,
                   _filters: stats.Filters) -> tuple[pa.Table, int]:
    return stats.discordant_cases(_table, _verdict, kind, _filters, limit=200)


@st.cache_data(show_spinner=False, max_entries=16)
def date_range(data_key: str, _table: pa.Table) -> tuple[object, object] | None:
    if "request_date" not in _table.column_names or _table.num_rows == 0:
        return None
    mm = pc.min_max(_table.column("request_date"))
    lo, hi = mm["min"].as_py(), mm["max"].as_py()
    return None if lo is None else (lo, hi)


@st.cache_data(show_spinner=False, max_entries=16)
def carriers_for(data_key: str, _table: pa.Table) -> list[str]:
    names = stats.carriers_in(_table)
    if "carrier" in _table.column_names and _table.column("carrier").null_count:
        names.append(stats.MISSING)
    return names


def case_row(table: pa.Table, case_id: str) -> dict | None:
    """The full row of ``case_id`` (first match) as a dict, for the explorer."""
    hit = table.filter(pc.equal(table.column("case_id"), case_id))
    return hit.slice(0, 1).to_pylist()[0] if hit.num_rows else None


def library_key(library: object) -> str:
    """Identifies a criteria library (bundled plus any custom policies) for cache keys."""
    policies = getattr(library, "policies", [])
    return "|".join(f"{p.id}:{p.file}:{len(p.criteria)}" for p in policies)


# -- uploads (read from memory, never written to disk) ---------------------------------------

@st.cache_resource(show_spinner=False, max_entries=2)
def read_upload(token: str, filename: str, _data: bytes) -> RawTable:
    """The uploaded bytes as a text table (raises :class:`IngestError` when unusable)."""
    return read_raw(_data, filename)


@st.cache_resource(show_spinner=False, max_entries=4)
def validate_upload(token: str, mapping_key: str, _raw: RawTable,
                    _mapping: dict[str, str | None]) -> IngestResult:
    return validate(_raw, _mapping)


def content_token(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]
