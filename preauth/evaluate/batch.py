"""Evaluating a validated table of requests under chosen policies, batch by batch.

The one batch path: the Upload page and ``preauth evaluate`` both call
:func:`evaluate_in_batches` (the page collects the batches, the CLI writes each as it comes),
so the same file gives the same determinations in the same order in both.

When the cases carry a ``provenance`` column (what ingest derived, e.g. from ICD-10-CM
codes: :data:`preauth.catalog.schema.PROVENANCE_COLUMN`), each output row carries its case's,
as the last column; the engines never read it.

Order: the input's row order — for each case, one row per chosen policy, in the order the
policies were chosen (``all``: library order) — whatever the batch size. A batch is
:data:`BATCH_ROWS` cases: it bounds the memory of the determinations (a row per case and
policy, with lists) and paces the page's progress bar.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from preauth.catalog.schema import PROVENANCE_COLUMN
from preauth.criteria.library import Library
from preauth.evaluate.reading import Reading

__all__ = ["BATCH_ROWS", "Batch", "BatchEngine", "evaluate_all", "evaluate_in_batches"]

# Cases per batch. Throughput is flat from about 100,000 cases on (DuckDB's scan and the
# policies' threads are busy), the memory of a batch's determinations grows with it.
BATCH_ROWS = 200_000


class BatchEngine(Protocol):
    """What the batch path needs of an engine (DuckDB's :class:`~preauth.evaluate.engine.
    Engine` and the Spark engine both are one): its library, and a long evaluation of a table
    — one row per (case, policy), policy-major, case order kept within each policy."""

    library: Library

    def evaluate(self, table: pa.Table, policies: Iterable[str] | str | None = None,
                 reading: Reading | str = Reading.STRICT) -> pa.Table: ...


@dataclass(frozen=True)
class Batch:
    """The determinations of cases ``start`` to ``stop`` (0-based, ``stop`` excluded) of
    ``total``: for each case in input order, one row per policy."""

    table: pa.Table
    start: int
    stop: int
    total: int

    @property
    def fraction_done(self) -> float:
        return self.stop / self.total if self.total else 1.0


def evaluate_in_batches(engine: BatchEngine, cases: pa.Table,
                        policies: Iterable[str] | str | None = None,
                        batch_rows: int | None = None,
                        reading: Reading | str = Reading.STRICT) -> Iterator[Batch]:
    """Determinations of every row of ``cases`` (a validated table, as
    :class:`preauth.ingest.IngestResult.accepted`) under ``policies`` (as
    :meth:`~preauth.criteria.library.Library.select` reads them: ids in the order given,
    ``"all"`` or ``None`` for every policy), :data:`BATCH_ROWS` cases at a time, in input row
    order: row ``j`` of the concatenated output is case ``j // len(policies)`` under policy
    ``j % len(policies)``. At least one batch, possibly empty, so a writer always gets the
    schema. ``reading``: how empty red flags are read (:mod:`preauth.evaluate.reading`)."""
    size = batch_rows or BATCH_ROWS
    if size < 1:
        raise ValueError(f"batch_rows must be ≥ 1, got {size}")
    ids = [p.id for p in engine.library.select(policies)]
    if not ids:
        raise ValueError("no policy selected")
    total = cases.num_rows
    for start in range(0, max(total, 1), size):
        chunk = cases.slice(start, size)
        long = _case_major(engine.evaluate(chunk, ids, reading), chunk.num_rows, len(ids))
        yield Batch(_with_provenance(long, chunk, len(ids)), start, start + chunk.num_rows,
                    total)


def evaluate_all(engine: BatchEngine, cases: pa.Table,
                 policies: Iterable[str] | str | None = None,
                 reading: Reading | str = Reading.STRICT) -> pa.Table:
    """:func:`evaluate_in_batches`, collected into one table."""
    return pa.concat_tables(b.table for b in evaluate_in_batches(engine, cases, policies,
                                                                 reading=reading))


def _with_provenance(long: pa.Table, cases: pa.Table, k: int) -> pa.Table:
    """``long`` (case-major: ``k`` rows per case) with the cases' ``provenance`` column, when
    they have one, after its columns: each case's on each of its rows (one gather, no
    per-row Python). The engines never read it."""
    if PROVENANCE_COLUMN not in cases.column_names:
        return long
    provenance = cases.column(PROVENANCE_COLUMN)
    if k > 1:
        provenance = provenance.take(pa.array(np.repeat(np.arange(cases.num_rows), k)))
    return long.append_column(PROVENANCE_COLUMN, provenance.combine_chunks())


def _case_major(table: pa.Table, n: int, k: int) -> pa.Table:
    """An engine's policy-major rows (row ``p * n + i``: case ``i`` under policy ``p``) in
    case order (row ``i * k + p``). Dictionaries unified and chunks combined first, so the
    gather is one pass per column (list columns included) and the result one chunk."""
    if table.num_rows != n * k:
        raise ValueError(f"the engine returned {table.num_rows:,} rows for {n:,} cases × "
                         f"{k} policies")
    table = table.unify_dictionaries().combine_chunks()
    if k == 1 or n <= 1:
        return table
    order: Any = (np.arange(n)[:, None] + n * np.arange(k)[None, :]).ravel()
    return table.take(pa.array(order))
