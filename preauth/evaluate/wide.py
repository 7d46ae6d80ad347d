"""The wide result: one row per request, for people reading it in a spreadsheet.

The long result of :mod:`preauth.evaluate.batch` (one row per request × policy, with lists of
criterion ids) is what programs read. The wide result has one row per request: the request's
own columns as read (catalog fields under their catalog names, so the file can be uploaded
again; yes/no fields as ``Yes`` / ``No``, numbers and dates as they are; then the user's
source columns that were not mapped, if given), and per chosen policy, in the order chosen:

* ``<policy>: verdict`` — the verdict's label from :mod:`preauth.evaluate.vocabulary`
  ("Meets criteria", …);
* ``<policy>: flagged for review`` — ``Yes`` when the verdict rests on a "may be
  appropriate" category (:data:`~preauth.evaluate.vocabulary.NEEDS_REVIEW_LABEL`), else ``No``;
* ``<policy>: criteria met`` — the fired criteria's titles, joined with ``"; "``;
* ``<policy>: documentation needed`` — what the determination letter lists under
  "Documentation required": the documentation of the supporting criteria that fired (when
  the criteria are met) or of the criteria that would change the verdict (otherwise), then
  ``Document: <field>`` for each field whose documentation would decide it; ``"; "``-joined.

Built column-wise, never a Python loop over rows: the long table becomes integer codes once,
every policy together — each list column's rows keyed exactly by the bytes of their
dictionary indices (a zero-copy view) and dictionary-encoded — and a policy's rows are a
stride of those codes. Texts are made once per distinct pattern (a few thousand in a million
requests), and every policy column is a dictionary array over them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.fields import FIELDS, FIELDS_BY_NAME
from preauth.criteria.library import Criterion, Library, Policy
from preauth.evaluate.vocabulary import Verdict, verdict_label

__all__ = ["LAYOUTS", "POLICY_COLUMNS", "echoed_fields", "policy_column", "wide_result"]

LAYOUTS = ("long", "wide")
# what the wide result says per policy, in column order
POLICY_COLUMNS = ("verdict", "flagged for review", "criteria met", "documentation needed")
YES, NO = "Yes", "No"
# the fields that name the procedure: always filled in an accepted row (derived when absent)
_PROCEDURE = ("case_id", "cpt_code", "region", "contrast")
_NEEDED = ["case_id", "policy", "contrast", "verdict", "needs_review", "fired", "would_flip",
           "undocumented_fields"]


def policy_column(policy: str, what: str) -> str:
    """The wide column saying ``what`` (one of :data:`POLICY_COLUMNS`) under ``policy``:
    ``"acr: verdict"``."""
    if what not in POLICY_COLUMNS:
        raise ValueError(f"unknown column {what!r}; expected one of {', '.join(POLICY_COLUMNS)}")
    return f"{policy}: {what}"


def echoed_fields(mapped: Iterable[str] | None = None) -> list[str]:
    """The catalog fields a wide result echoes, in catalog order: ``mapped`` (the fields the
    file's columns were mapped to; ``None``: every field) and those naming the request and
    its procedure, which an accepted row always has."""
    if mapped is None:
        return [f.name for f in FIELDS]
    wanted = set(mapped) | set(_PROCEDURE)
    unknown = wanted - set(FIELDS_BY_NAME)
    if unknown:
        raise ValueError(f"not catalog fields: {', '.join(sorted(unknown))}")
    return [f.name for f in FIELDS if f.name in wanted]


def wide_result(cases: pa.Table, long: pa.Table, library: Library,
                policies: Sequence[str] | None = None, *,
                fields: Sequence[str] | None = None,
                source: pa.Table | None = None) -> pa.Table:
    """One row per row of ``cases`` (a validated case table, as evaluated), from ``long``:
    their determinations in the batch path's order (:func:`preauth.evaluate.batch.
    evaluate_in_batches` — for each case, one row per policy of ``policies``; ``None``: the
    policies of the first case's rows). ``fields``: the catalog columns to echo (default:
    every catalog column ``cases`` has), after ``row`` when ``cases`` has it; ``source``: more
    columns to echo after them (the user's unmapped columns, aligned with ``cases``). Raises
    ``ValueError`` when ``long`` is not the determinations of ``cases`` in that order."""
    n = cases.num_rows
    ids = list(policies) if policies is not None else _policies_of(long, n)
    k = len(ids)
    if not k:
        raise ValueError("no policy")
    if long.num_rows != n * k:
        raise ValueError(f"{long.num_rows:,} determinations for {n:,} requests × {k} "
                         "policies")
    if source is not None and source.num_rows != n:
        raise ValueError(f"source has {source.num_rows:,} rows for {n:,} requests")
    names: list[str] = []
    columns: list[pa.Array | pa.ChunkedArray] = []
    for name, col in _echo(cases, fields):
        names.append(name)
        columns.append(col)
    if source is not None:
        for name, col in zip(source.column_names, source.columns, strict=True):
            names.append(_free_name(name, names, ids))
            columns.append(col)
    codes = _Determinations.of(long.select(_NEEDED).unify_dictionaries(),
                               cases.column("case_id"), ids)
    for j, pid in enumerate(ids):
        names += [policy_column(pid, what) for what in POLICY_COLUMNS]
        columns += codes.policy_block(j, library[pid])
    return pa.table(columns, names=names)


def _policies_of(long: pa.Table, n: int) -> list[str]:
    if not n or long.num_rows % n:
        raise ValueError("give the policies: they cannot be read from the determinations")
    return [str(p) for p in long.column("policy").slice(0, long.num_rows // n).to_pylist()]


def _array(col: pa.ChunkedArray) -> pa.Array:
    return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)


def _check_order(long: pa.Table, case_ids: pa.ChunkedArray, ids: list[str]) -> None:
    """Row ``i * k + j`` of ``long`` must be case ``i`` under policy ``ids[j]``."""
    k = len(ids)
    policy = pc.dictionary_encode(_array(long.column("policy")).cast(pa.string()))
    where = {p: j for j, p in enumerate(ids)}
    position = np.array([where.get(p, -1) for p in policy.dictionary.to_pylist()] + [-1])
    got = position[pc.fill_null(policy.indices, len(position) - 1).to_numpy(
        zero_copy_only=False)]
    if len(got) and not np.array_equal(got.reshape(-1, k), np.broadcast_to(
            np.arange(k), (len(got) // k, k))):
        raise ValueError("the determinations are not in the batch order (for each request, "
                         f"one row per policy: {', '.join(ids)})")
    each = pa.array(np.repeat(np.arange(len(case_ids)), k))
    same = pc.equal(_array(long.column("case_id")).cast(pa.string()),
                    case_ids.take(each).cast(pa.string()))
    if len(same) and not pc.all(pc.fill_null(same, True)).as_py():
        raise ValueError("the determinations are not those of these requests, in their order")


def _free_name(name: str, taken: list[str], ids: Sequence[str]) -> str:
    """``name``, or ``name (input)`` (…``(input 2)``) when the wide result already has or
    will have a column of that name."""
    reserved = set(taken) | {policy_column(p, w) for p in ids for w in POLICY_COLUMNS}
    out, i = name, 1
    while out in reserved:
        out = f"{name} (input)" if i == 1 else f"{name} (input {i})"
        i += 1
    return out


def _echo(cases: pa.Table, fields: Sequence[str] | None) -> list[tuple[str, pa.ChunkedArray]]:
    names = cases.column_names
    chosen = [f for f in (fields if fields is not None else
                          [f.name for f in FIELDS if f.name in names]) if f != "row"]
    missing = [f for f in chosen if f not in names]
    if missing:
        raise ValueError(f"the requests have no column {', '.join(missing)}")
    out = [("row", cases.column("row"))] if "row" in names else []
    for f in chosen:
        col = cases.column(f)
        out.append((f, _yes_no(col) if pa.types.is_boolean(col.type) else col))
    return out


def _yes_no(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A yes/no column as ``No`` / ``Yes`` (empty stays empty), dictionary-encoded."""
    words = pa.array([NO, YES])
    return pa.chunked_array([pa.DictionaryArray.from_arrays(c.cast(pa.int8()), words)
                             for c in col.chunks], pa.dictionary(pa.int8(), pa.string()))


@dataclass(frozen=True)
class _Codes:
    """A list column of dictionary-encoded ids, dictionary-encoded by content: ``codes[i]``
    is row ``i``'s pattern, ``patterns[c]`` the ids of pattern ``c``."""

    codes: np.ndarray
    patterns: list[list[str]]


def _list_codes(lists: pa.Array) -> _Codes:
    """Rows of a ``list<dictionary<string>>`` column keyed exactly by the bytes of their
    dictionary indices (a zero-copy binary view), then dictionary-encoded."""
    if not (pa.types.is_list(lists.type) and pa.types.is_dictionary(lists.type.value_type)):
        plain = lists.cast(pa.list_(pa.string()))
        items = plain.values.slice(plain.offsets[0].as_py(),
                                   plain.offsets[-1].as_py() - plain.offsets[0].as_py())
        lists = pa.ListArray.from_arrays(pc.subtract(plain.offsets, plain.offsets[0]),
                                         pc.dictionary_encode(items))
    items = lists.values
    if items.null_count:
        raise ValueError("a list of criteria or fields holds an empty item")
    indices, words = items.indices, items.dictionary.to_pylist()
    width = indices.type.byte_width
    offsets = lists.offsets.to_numpy().astype(np.int64)  # into ``items``
    byte_offsets = pa.py_buffer(((offsets + indices.offset) * width).astype(np.int64))
    keys = pa.Array.from_buffers(pa.large_binary(), len(lists),
                                 [None, byte_offsets, indices.buffers()[1]])
    encoded = pc.dictionary_encode(keys)
    dtype = np.dtype(f"i{width}")  # the buffer's own (native) byte order
    patterns = [[words[i] for i in np.frombuffer(b, dtype)]
                for b in encoded.dictionary.to_pylist()]
    return _Codes(encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), patterns)


def _dictionary(codes: np.ndarray, text: Callable[[int], str | None]) -> pa.DictionaryArray:
    """``text(codes[i])`` for every row (empty where it is ``None``), each text made once,
    only for the codes used."""
    used = np.flatnonzero(np.bincount(codes)) if len(codes) else np.array([], np.int64)
    remap = np.full(int(used[-1]) + 1 if len(used) else 0, -1, dtype=np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    kept = [text(int(u)) for u in used]
    empty = np.array([t is None for t in kept], dtype=bool)
    indices = remap[codes]
    mask = empty[indices] if empty.any() else None
    return pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32(), mask=mask),
                                          pa.array([t or "" for t in kept], pa.string()))


@dataclass(frozen=True)
class _Determinations:
    """The long result as integer codes (every policy at once): row ``i * k + j`` is request
    ``i`` under policy ``j``, so a policy's rows are a stride of each code array."""

    k: int
    verdict: np.ndarray  # codes into ``labels``
    labels: pa.Array  # the vocabulary's label of each verdict, and of none
    review: np.ndarray
    meets: np.ndarray
    contrast: np.ndarray  # codes into ``contrasts``
    contrasts: list[str | None]
    fired: _Codes
    flip: _Codes
    undocumented: _Codes

    @classmethod
    def of(cls, long: pa.Table, case_ids: pa.ChunkedArray, ids: list[str]) -> _Determinations:
        _check_order(long, case_ids, ids)
        verdict = _array(long.column("verdict"))
        if not pa.types.is_dictionary(verdict.type):
            verdict = pc.dictionary_encode(verdict)
        values = verdict.dictionary.to_pylist()
        contrast = pc.dictionary_encode(_array(long.column("contrast")))
        contrasts = [*contrast.dictionary.to_pylist(), None]
        meets = pc.equal(verdict.cast(pa.string()), Verdict.MEETS.value)
        return cls(
            k=len(ids),
            verdict=pc.fill_null(verdict.indices.cast(pa.int32()), len(values)).to_numpy(
                zero_copy_only=False),
            labels=pa.array([verdict_label(v) for v in [*values, None]], pa.string()),
            review=pc.fill_null(_array(long.column("needs_review")), False).to_numpy(
                zero_copy_only=False),
            meets=pc.fill_null(meets, False).to_numpy(zero_copy_only=False),
            contrast=pc.fill_null(contrast.indices, len(contrasts) - 1).to_numpy(
                zero_copy_only=False).astype(np.int64),
            contrasts=contrasts,
            fired=_list_codes(_array(long.column("fired"))),
            flip=_list_codes(_array(long.column("would_flip"))),
            undocumented=_list_codes(_array(long.column("undocumented_fields"))))

    def policy_block(self, j: int, policy: Policy) -> list[pa.Array]:
        """The four wide columns of the ``j``-th policy (see the module notes)."""
        rows = slice(j, None, self.k)
        by_id = {c.id: c for c in policy.criteria}
        fired, flip = self.fired.codes[rows], self.flip.codes[rows]
        meets, contrast = self.meets[rows], self.contrast[rows]
        undocumented = self.undocumented.codes[rows]

        def titles(code: int) -> str | None:
            return "; ".join(by_id[cid].title for cid in self.fired.patterns[code]) or None

        # the documentation depends on (meets, contrast, fired) or would_flip, and on the
        # undocumented fields: one text per distinct combination
        criteria = np.where(meets, fired * len(self.contrasts) + contrast, flip) * 2 + meets
        criteria_codes, criteria_first = _encode(criteria)
        key = criteria_codes * max(len(self.undocumented.patterns), 1) + undocumented
        doc_codes, doc_first = _encode(key)
        criteria_docs = [_criteria_documentation(
            bool(meets[r]), self.contrasts[contrast[r]],
            self.fired.patterns[fired[r]] if meets[r] else self.flip.patterns[flip[r]], by_id)
            for r in criteria_first]
        asks: dict[int, list[str]] = {}
        docs: list[str | None] = []
        for r in doc_first:
            u = int(undocumented[r])
            if u not in asks:
                asks[u] = [f"Document: {FIELDS_BY_NAME[f].label}"
                           for f in self.undocumented.patterns[u]]
            docs.append("; ".join([*criteria_docs[criteria_codes[r]], *asks[u]]) or None)

        verdict = pa.DictionaryArray.from_arrays(pa.array(self.verdict[rows]), self.labels)
        review = pa.DictionaryArray.from_arrays(pa.array(self.review[rows].astype(np.int8)),
                                                pa.array([NO, YES]))
        return [verdict, review, _dictionary(fired, titles),
                _dictionary(doc_codes, docs.__getitem__)]


def _encode(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values`` as codes ``0..u-1`` (in order of first appearance) and, per code, a row
    holding it."""
    encoded = pc.dictionary_encode(pa.array(values, pa.int64()))
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    first = np.empty(len(encoded.dictionary), dtype=np.int64)
    first[codes] = np.arange(len(codes))  # any row of each code will do
    return codes, first


def _criteria_documentation(meets: bool, contrast: str | None, criteria: list[str],
                            by_id: dict[str, Criterion]) -> list[str]:
    """The letter's documentation of the criteria of one pattern: of the supporting criteria
    met (``criteria`` = fired) when the criteria are met, else of those that would change
    the verdict (``criteria`` = would_flip); each once, in order."""
    if meets:
        chosen = [by_id[cid] for cid in criteria
                  if contrast is not None
                  and (cat := by_id[cid].category_for(contrast)) is not None
                  and cat.supports_imaging]
    else:
        chosen = [by_id[cid] for cid in criteria]
    return list(dict.fromkeys(d for c in chosen for d in c.documentation))
