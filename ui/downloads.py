"""Tables with a CSV download beside them, and download payloads (no domain logic).

Payloads are written by :func:`preauth.ingest.export.write_table`, as ``preauth evaluate``
writes its output: CSV formula-safe (spreadsheet-formula cells neutralised, lists joined with
``;``; optionally with a UTF-8 byte order mark for Excel), Parquet with its dictionaries
unified, JSON Lines. Large payloads are produced only when the user clicks (a callable passed
to ``st.download_button``), so a rerun never serialises a big table; a payload's table may be
a callable too, so that a table built for the download only (a wide result) is built on click.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import partial
from typing import Literal

import pandas as pd
import pyarrow as pa
import streamlit as st

from preauth.ingest.export import write_table

__all__ = ["BOM_HELP", "BOM_LABEL", "FORMATS", "csv_bytes", "download_csv", "download_table",
           "json_bytes", "parquet_bytes", "table_with_download"]

CSV_MIME = "text/csv"
PARQUET_MIME = "application/vnd.apache.parquet"
JSON_MIME = "application/x-ndjson"
# format -> (button text, file suffix, MIME type)
FORMATS = {"csv": ("CSV", "csv", CSV_MIME), "parquet": ("Parquet", "parquet", PARQUET_MIME),
           "json": ("JSON Lines", "jsonl", JSON_MIME)}
BOM_LABEL = "For Excel (UTF-8 with BOM)"
BOM_HELP = ("Starts the CSV with a byte order mark, so Excel opens it as UTF-8 (accented "
            "letters and symbols intact) instead of the system's code page.")

Data = pd.DataFrame | pa.Table


def _arrow(data: pd.DataFrame | pa.Table) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    frame = data.copy()
    for col in frame.columns:  # keep object columns (mixed labels) as text
        if frame[col].dtype == object:
            frame[col] = frame[col].map(lambda v: v if v is None else str(v))
    return pa.Table.from_pandas(frame, preserve_index=False)


def csv_bytes(data: Data, bom: bool = False) -> bytes:
    """UTF-8 CSV of ``data``, formula-safe (``bom``: with a byte order mark, for Excel)."""
    buf = io.BytesIO()
    write_table(_arrow(data), "csv", buf, bom=bom)
    return buf.getvalue()


def parquet_bytes(data: Data) -> bytes:
    buf = io.BytesIO()
    write_table(_arrow(data), "parquet", buf, compression="zstd")  # smaller downloads
    return buf.getvalue()


def json_bytes(data: Data) -> bytes:
    """JSON Lines of ``data`` (one object per row), UTF-8."""
    buf = io.BytesIO()
    write_table(_arrow(data), "json", buf)
    return buf.getvalue()


def _payload(data: Data | Callable[[], Data], fmt: str, bom: bool) -> bytes:
    table = data() if callable(data) else data
    if fmt == "csv":
        return csv_bytes(table, bom=bom)
    return parquet_bytes(table) if fmt == "parquet" else json_bytes(table)


def download_table(data: Data | Callable[[], Data], fmt: str, file_stem: str, key: str,
                   label: str, bom: bool = False) -> None:
    """A download button for ``data`` as ``fmt`` (:data:`FORMATS`), named ``file_stem`` and
    the format's suffix; the table (when ``data`` is a callable) and its bytes are made only
    on click. Pages pass the table or a callable of the package (a ``functools.partial``), so
    no function defined in a page — which would keep the page's globals, uploads included,
    alive in Streamlit's widget registry — is handed to Streamlit."""
    _text, suffix, mime = FORMATS[fmt]
    st.download_button(label, partial(_payload, data, fmt, bom and fmt == "csv"),
                       file_name=f"{file_stem}.{suffix}", mime=mime, key=key,
                       icon=":material/download:", on_click="ignore")


def download_csv(data: Data | Callable[[], Data], file_name: str, key: str,
                 label: str = "Download CSV", bom: bool = False) -> None:
    """A CSV download button; the CSV is made only on click (see :func:`download_table`)."""
    st.download_button(label, partial(_payload, data, "csv", bom), file_name=file_name,
                       mime=CSV_MIME, key=key, icon=":material/download:", on_click="ignore")


def table_with_download(df: pd.DataFrame, file_name: str, key: str,
                        column_config: dict | None = None,
                        height: int | Literal["auto", "stretch", "content"] = "auto",
                        download: pd.DataFrame | None = None) -> None:
    """``df`` on screen and its CSV (or ``download``'s, e.g. unformatted) beside it."""
    st.dataframe(df, hide_index=True, width="stretch", column_config=column_config,
                 height=height)
    download_csv(df if download is None else download, file_name, key)
