"""Package-internal SQL plumbing of :mod:`preauth.evidence` (not part of its API).

The SQL conditions the measures share, the typed column list the statistics read, group
labels (blank and NULL as :data:`MISSING`) and the locked-down in-memory DuckDB connection.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import duckdb
import pandas as pd
import pyarrow as pa

MISSING = "(not recorded)"

# ``PREAUTHORIZED``: the request went through preauthorization — preauth_required is true, or
# it is not recorded but a decision is.
PREAUTHORIZED = ("(preauth_required IS TRUE OR "
                 "(preauth_required IS NULL AND decision IS NOT NULL))")
DECIDED = "decision IN ('approved', 'denied', 'cancelled')"
DENIED = "decision IN ('denied', 'cancelled')"
FINAL = "final_decision IN ('approved', 'denied', 'cancelled')"

# What the statistics read, typed; the group labels among them.
SOURCE_TYPES = {"carrier": "VARCHAR", "region": "VARCHAR", "cpt_code": "VARCHAR",
                "request_date": "DATE", "preauth_required": "BOOLEAN", "decision": "VARCHAR",
                "peer_to_peer": "BOOLEAN", "final_decision": "VARCHAR",
                "completed": "BOOLEAN", "verdict": "VARCHAR"}
LABELS = ("carrier", "region", "cpt_code", "verdict")


def as_arrow(table: pa.Table | pd.DataFrame) -> pa.Table:
    if isinstance(table, pa.Table):
        return table
    return pa.Table.from_pandas(table, preserve_index=False)


def label_sql(expr: str) -> str:
    """A group label: trimmed text, :data:`MISSING` when empty or NULL."""
    return f"COALESCE(NULLIF(TRIM({expr}), ''), '{MISSING}')"


def select_list(columns: Iterable[str], types: dict[str, str] | None = None,
                labels: bool = True) -> str:
    """Every column of ``types`` (default: what the statistics read), typed; absent ones
    NULL; with ``labels``, empty group labels become :data:`MISSING`."""
    have = set(columns)
    out = []
    for name, sql_type in (types or SOURCE_TYPES).items():
        expr = f'TRY_CAST("{name}" AS {sql_type})' if name in have else f"NULL::{sql_type}"
        if labels and name in LABELS:
            expr = label_sql(expr)
        out.append(f'{expr} AS "{name}"')
    return ", ".join(out)


_DATABASE: duckdb.DuckDBPyConnection | None = None
_DATABASE_LOCK = threading.Lock()


def connect() -> duckdb.DuckDBPyConnection:
    """A connection of its own (close it after use) to one in-memory database per process,
    locked down (no file or network access, settings frozen). A cursor of a shared database
    costs ~1 ms where a new database costs ~15-20 ms; each cursor is a separate connection,
    so threads (sessions) never see each other's registered tables."""
    global _DATABASE
    with _DATABASE_LOCK:
        if _DATABASE is None:
            db = duckdb.connect(":memory:")
            db.execute("SET enable_external_access = false")
            db.execute("SET lock_configuration = true")
            _DATABASE = db
        return _DATABASE.cursor()
