"""Stage 2 of evaluation: from stage-1 output to verdicts and explanations.

Each leaf column of the stage-1 result (or boolean input column, for ``direct`` leaves) becomes
TRUE / FALSE bit planes; the criteria's AND / OR / NOT are applied on them with Kleene logic
(:mod:`preauth.evaluate.planes`); the verdict rules and explanations are computed on the planes
(:mod:`preauth.evaluate.verdicts`); only the results are unpacked, into Arrow columns or, for
one case, into a Python row.

Three entry points, all on the same per-policy code (:func:`_judge`):

* :func:`evaluate_long` — one row per (case, policy) with :data:`OUTPUT_COLUMNS`;
* :func:`evaluate_wide` — verdicts only, one ``verdict:<policy>`` column per policy;
* :func:`evaluate_row` — one case from its fetched stage-1 row (int planes), with the truth
  value of every clause (the explorer's trace).

The DuckDB engine calls them in process, the Spark engine inside its Python workers, one Arrow
record batch at a time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa

from preauth.criteria.expressions import Node
from preauth.criteria.library import Category
from preauth.evaluate.planes import (
    Plane,
    Planes,
    bool_planes,
    is_set,
    kleene_planes,
    value_planes,
)
from preauth.evaluate.stage1 import KEEP, Plan, Stage1
from preauth.evaluate.verdicts import (
    CATEGORIES,
    VERDICTS,
    Decision,
    Explanation,
    Rows,
    categories,
    decide,
    explain,
    needs_review,
    null_fields,
    verdict_names,
)

__all__ = ["OUTPUT_COLUMNS", "evaluate_long", "evaluate_row", "evaluate_wide"]

OUTPUT_COLUMNS = ("case_id", "policy", "cpt_code", "region", "contrast", "verdict",
                  "needs_review", "category", "fired", "not_met", "undocumented",
                  "would_flip", "undocumented_fields")
_LISTS = ("fired", "not_met", "undocumented", "would_flip")
_PARALLEL_ROWS = 100_000  # from here on, policies run in parallel threads (numpy frees the GIL)

_Source = tuple[bool, str]  # (from the input?, column): see Stage1.source
_T = TypeVar("_T")


@dataclass
class _Judged:
    """One policy's stage-2 result, as planes (the detailed parts only in the detailed mode)."""

    plan: Plan
    decision: Decision
    review: Plane | None = None
    categories: list[tuple[Category, Plane]] | None = None
    explanation: Explanation | None = None
    memos: list[dict[int, Planes]] | None = None


def _judge(plan: Plan, rows: Rows, planes_of: Callable[[_Source], Planes], layout: Stage1,
           detail: bool) -> _Judged:
    """Kleene logic over the leaves, then verdicts (and, in detail, the explanation)."""

    def leaf(node: Node) -> Planes:
        return planes_of(layout.source(plan, node))

    memos: list[dict[int, Planes]] = [{} for _ in plan.nodes]
    roots = [kleene_planes(nodes[0], leaf, memo if detail else None)
             for nodes, memo in zip(plan.nodes, memos, strict=True)]
    decision = decide(plan.tables, roots, rows)
    if not detail:
        return _Judged(plan, decision)

    def isnull(field: str) -> Plane:
        return planes_of((False, layout.null_tests[field]))[0]

    def fields_of(j: int) -> dict[str, Plane | None]:
        return null_fields(plan.nodes[j][0], memos[j], isnull)

    return _Judged(plan, decision, needs_review(plan.tables, roots, decision),
                   categories(plan.tables, roots, rows),
                   explain(plan.tables, roots, decision, fields_of), memos)


# -- batches: numpy planes from Arrow columns ------------------------------------------------

def _plain(col: pa.Array | pa.ChunkedArray, empty_type: pa.DataType) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks else pa.array([], empty_type)
    return col


def _batch(plans: Sequence[Plan], result: pa.Table | pa.RecordBatch, layout: Stage1,
           inputs: Mapping[str, pa.Array | pa.ChunkedArray] | None
           ) -> tuple[Rows, Callable[[_Source], Planes]]:
    """The rows of a stage-1 result and its leaves' planes — every one converted here, so that
    policies in parallel threads only read the cache."""
    procedure = _plain(result.column("procedure"), pa.int8()).to_numpy(zero_copy_only=False)
    cache: dict[_Source, Planes] = {}

    def planes_of(source: _Source) -> Planes:
        planes = cache.get(source)
        if planes is None:
            from_input, name = source
            col = (inputs or {})[name] if from_input else result.column(name)
            planes = cache[source] = bool_planes(_plain(col, pa.bool_()))
        return planes

    for plan in plans:
        for nodes in plan.nodes:
            for node in nodes:
                if node.kind == "leaf":
                    planes_of(layout.source(plan, node))
    for column in layout.null_tests.values():
        planes_of((False, column))
    return Rows(procedure), planes_of


def _per_policy(fn: Callable[[Plan], _T], plans: Sequence[Plan], n: int) -> list[_T]:
    workers = min(len(plans), os.cpu_count() or 1)
    if workers > 1 and n >= _PARALLEL_ROWS:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(fn, plans))
    return [fn(p) for p in plans]


def _matrix(planes: Sequence[Plane], n: int) -> np.ndarray:
    """Planes as an (n, len(planes)) bool matrix."""
    if not planes:
        return np.zeros((n, 0), dtype=bool)
    packed = np.stack(planes)
    return np.unpackbits(packed, axis=1, count=n, bitorder="little").view(bool).T


def _lists(matrix: np.ndarray, ids: Sequence[str]) -> pa.Array:
    """A list<string> array: for row i, ``ids[j]`` for each true ``matrix[i, j]``, in order."""
    n = matrix.shape[0]
    if matrix.shape[1] == 0:
        empty = pa.DictionaryArray.from_arrays(pa.array([], pa.int32()),
                                               pa.array([], pa.string()))
        return pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, np.int32)), empty)
    # flat (row-major) positions: ~10x faster than np.nonzero's (row, column) pairs
    k = matrix.shape[1]
    flat = np.flatnonzero(np.ascontiguousarray(matrix))
    cols = flat % k
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(flat // k, minlength=n), out=offsets[1:], dtype=np.int32)
    values = pa.DictionaryArray.from_arrays(pa.array(cols.astype(np.int32)),
                                            pa.array(list(ids), pa.string()))
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def _arrow_columns(judged: _Judged) -> dict[str, pa.Array]:
    rows, ex = judged.decision.rows, judged.explanation
    assert ex is not None and judged.categories is not None and judged.review is not None
    category = np.full(rows.n, -1, dtype=np.int8)
    for i, (_cat, hit) in reversed(list(enumerate(judged.categories))):
        category[rows.bits(hit)] = i  # the strongest category that holds wins
    ids = judged.plan.tables.ids
    cols: dict[str, pa.Array] = {
        "verdict": verdict_names(judged.decision.codes()),
        "needs_review": pa.array(rows.bits(judged.review)),
        "category": pa.DictionaryArray.from_arrays(pa.array(category, mask=category < 0),
                                                   pa.array([c.value for c in CATEGORIES])),
    }
    for name in _LISTS:
        cols[name] = _lists(_matrix(getattr(ex, name), rows.n), ids)
    cols["undocumented_fields"] = _lists(_matrix(list(ex.fields.values()), rows.n),
                                         list(ex.fields))
    return cols


def evaluate_long(plans: Sequence[Plan], result: pa.Table, layout: Stage1,
                  inputs: Mapping[str, pa.Array | pa.ChunkedArray] | None = None) -> pa.Table:
    """Verdicts and explanations, long: one row per case and policy (policy-major, case order
    kept), from detailed stage-1 output. ``inputs``: the boolean input columns of the
    ``direct`` leaves (same rows, same order)."""
    if not plans:
        raise ValueError("no policy selected")
    rows, planes_of = _batch(plans, result, layout, inputs)
    keep = {k: result.column(k) for k in KEEP}

    def one(plan: Plan) -> pa.Table:
        cols: dict[str, Any] = dict(keep)
        cols["policy"] = pa.array([plan.policy.id] * rows.n, pa.string())
        cols.update(_arrow_columns(_judge(plan, rows, planes_of, layout, detail=True)))
        return pa.table(cols).select(list(OUTPUT_COLUMNS))

    return pa.concat_tables(_per_policy(one, plans, rows.n))


def evaluate_wide(plans: Sequence[Plan], result: pa.Table | pa.RecordBatch,
                  case_id: pa.ChunkedArray | pa.Array, layout: Stage1,
                  inputs: Mapping[str, pa.Array | pa.ChunkedArray] | None = None) -> pa.Table:
    """Verdicts only, wide: ``case_id`` and one ``verdict:<policy>`` column per policy, from
    fast stage-1 output. ``inputs``: as for :func:`evaluate_long`."""
    rows, planes_of = _batch(plans, result, layout, inputs)

    def one(plan: Plan) -> pa.Array:
        return verdict_names(_judge(plan, rows, planes_of, layout, detail=False)
                             .decision.codes())

    names = _per_policy(one, plans, rows.n)
    out: dict[str, Any] = {"case_id": case_id}
    out.update({f"verdict:{p.policy.id}": v for p, v in zip(plans, names, strict=True)})
    return pa.table(out)


# -- one case: int planes from a fetched row -------------------------------------------------

def _truth(planes: Planes) -> bool | None:
    return True if is_set(planes[0], 0) else (False if is_set(planes[1], 0) else None)


def _row(judged: _Judged, keep: Mapping[str, Any]) -> dict[str, Any]:
    ex = judged.explanation
    assert ex is not None and judged.categories is not None and judged.review is not None
    ids = judged.plan.tables.ids
    code = judged.decision.code(0)

    def listed(planes: Sequence[Plane], names: Sequence[str]) -> list[str]:
        return [name for name, plane in zip(names, planes, strict=True) if is_set(plane, 0)]

    out: dict[str, Any] = {
        "case_id": keep["case_id"], "policy": judged.plan.policy.id,
        "cpt_code": keep["cpt_code"], "region": keep["region"], "contrast": keep["contrast"],
        "verdict": VERDICTS[code].value if code >= 0 else None,
        "needs_review": is_set(judged.review, 0),
        "category": next((c.value for c, hit in judged.categories if is_set(hit, 0)), None),
    }
    for name in _LISTS:
        out[name] = listed(getattr(ex, name), ids)
    out["undocumented_fields"] = listed(list(ex.fields.values()), list(ex.fields))
    return out


def evaluate_row(plans: Sequence[Plan], layout: Stage1, values: Mapping[str, Any],
                 inputs: Mapping[str, Any]
                 ) -> tuple[list[dict[str, Any]], dict[str, dict[str, list[bool | None]]]]:
    """One case from its detailed stage-1 row (``values`` by output column; ``inputs``: the
    case's typed values, for ``direct`` leaves): the rows :func:`evaluate_long` gives for it
    and, per policy and criterion, the truth value of every clause in pre-order."""
    if not plans:
        raise ValueError("no policy selected")
    rows = Rows(np.array([values["procedure"]], dtype=np.int8), packed=False)
    cache: dict[_Source, Planes] = {}

    def planes_of(source: _Source) -> Planes:
        planes = cache.get(source)
        if planes is None:
            from_input, name = source
            planes = cache[source] = value_planes([(inputs if from_input else values)[name]])
        return planes

    out, traces = [], {}
    for plan in plans:
        judged = _judge(plan, rows, planes_of, layout, detail=True)
        out.append(_row(judged, values))
        assert judged.memos is not None
        traces[plan.policy.id] = {
            c.id: [_truth(judged.memos[j][id(n)]) for n in plan.nodes[j]]
            for j, c in enumerate(plan.policy.criteria)}
    return out, traces
