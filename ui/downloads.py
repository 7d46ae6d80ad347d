"""Tables with a CSV download beside them, and download payloads (no domain logic).

Payloads are written by :func:`preauth.ingest.export.write_table`, as ``preauth evaluate``
writes its output: CSV formula-safe (spreadsheet-formula cells neutralised, lists joined with
``;``), Parquet with its dictionaries unified. Large payloads are produced only when the user
clicks (a callable passed to ``st.download_button``), so a rerun never serialises a big table.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Literal

import pandas as pd
import pyarrow as pa
import streamlit as st

from preauth.ingest.export import write_table

__all__ = ["csv_bytes", "download_csv", "parquet_bytes", "table_with_download"]

CSV_MIME = "text/csv"
PARQUET_MIME = "application/vnd.apache.parquet"


def _arrow(data: pd.DataFrame | pa.Table) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    frame = data.copy()
    for col in frame.columns:  # keep object columns (mixed labels) as text
        if frame[col].dtype == object:
            frame[col] = frame[col].map(lambda v: v if v is None else str(v))
    return pa.Table.from_pandas(frame, preserve_index=False)


def csv_bytes(data: pd.DataFrame | pa.Table) -> bytes:
    """UTF-8 CSV of ``data``, formula-safe."""
    buf = io.BytesIO()
    write_table(_arrow(data), "csv", buf)
    return buf.getvalue()


def parquet_bytes(data: pd.DataFrame | pa.Table) -> bytes:
    buf = io.BytesIO()
    write_table(_arrow(data), "parquet", buf, compression="zstd")  # smaller downloads
    return buf.getvalue()


def download_csv(data: pd.DataFrame | pa.Table | Callable[[], pd.DataFrame | pa.Table],
                 file_name: str, key: str, label: str = "Download CSV") -> None:
    """A CSV download button; the CSV is made only on click. Pages pass the table itself (or
    a callable), so no function defined in a page — which would keep the page's globals,
    uploads included, alive in Streamlit's widget registry — is handed to Streamlit."""
    def payload() -> bytes:
        return csv_bytes(data() if callable(data) else data)
    st.download_button(label, payload, file_name=file_name, mime=CSV_MIME, key=key,
                       icon=":material/download:", on_click="ignore")


def table_with_download(df: pd.DataFrame, file_name: str, key: str,
                        column_config: dict | None = None,
                        height: int | Literal["auto", "stretch", "content"] = "auto",
                        download: pd.DataFrame | None = None) -> None:
    """``df`` on screen and its CSV (or ``download``'s, e.g. unformatted) beside it."""
    st.dataframe(df, hide_index=True, width="stretch", column_config=column_config,
                 height=height)
    download_csv(df if download is None else download, file_name, key)
