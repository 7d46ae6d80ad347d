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

Built column-wise: a policy's rows are a strided take of the long table; each list column's
rows are keyed exactly by the bytes of their dictionary indices (zero-copy) and
dictionary-encoded, so the texts are computed once per distinct pattern (a few hundred in a
million requests) and every output column is a dictionary array over them — no Python per
row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
    long = long.select(_NEEDED).unify_dictionaries().combine_chunks()
    names: list[str] = []
    columns: list[pa.Array | pa.ChunkedArray] = []
    for name, col in _echo(cases, fields):
        names.append(name)
        columns.append(col)
    if source is not None:
        for name, col in zip(source.column_names, source.columns, strict=True):
            names.append(_free_name(name, names, ids))
            columns.append(col)
    case_ids = cases.column("case_id")
    for j, pid in enumerate(ids):
        rows = long.take(pa.array(np.arange(j, n * k, k, dtype=np.int64)))
        _check_rows(rows, case_ids, pid)
        block = _policy_block(rows, library[pid])
        names += [policy_column(pid, what) for what in POLICY_COLUMNS]
        columns += block
    return pa.table(columns, names=names)


def _policies_of(long: pa.Table, n: int) -> list[str]:
    if not n or long.num_rows % n:
        raise ValueError("give the policies: they cannot be read from the determinations")
    return [str(p) for p in long.column("policy").slice(0, long.num_rows // n).to_pylist()]


def _check_rows(rows: pa.Table, case_ids: pa.ChunkedArray, pid: str) -> None:
    policy = rows.column("policy")
    if len(policy) and (policy.null_count
                        or not pc.all(pc.equal(policy.cast(pa.string()), pid)).as_py()):
        raise ValueError(f"the determinations are not in the batch order for policy {pid!r}")
    same = pc.equal(rows.column("case_id").cast(pa.string()), case_ids.cast(pa.string()))
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
    indices, words = items.indices, items.dictionary.to_pylist()
    width = indices.type.byte_width
    offsets = lists.offsets.to_numpy().astype(np.int64)  # into ``items``
    byte_offsets = pa.py_buffer(((offsets + indices.offset) * width).astype(np.int64))
    keys = pa.Array.from_buffers(pa.large_binary(), len(lists),
                                 [None, byte_offsets, indices.buffers()[1]])
    encoded = pc.dictionary_encode(keys)
    dtype = np.dtype(f"<i{width}")
    patterns = [[words[i] for i in np.frombuffer(b, dtype)]
                for b in encoded.dictionary.to_pylist()]
    return _Codes(encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), patterns)


def _labels(verdict: pa.Array) -> pa.DictionaryArray:
    """The verdict column as the vocabulary's labels (no verdict: its own label)."""
    if not pa.types.is_dictionary(verdict.type):
        verdict = pc.dictionary_encode(verdict)
    values = verdict.dictionary.to_pylist()
    words = pa.array([verdict_label(v) for v in values] + [verdict_label(None)])
    indices = pc.fill_null(verdict.indices.cast(pa.int32()), len(values))
    return pa.DictionaryArray.from_arrays(indices, words)


def _dictionary(codes: np.ndarray, texts: list[str | None]) -> pa.DictionaryArray:
    """``texts[codes[i]]`` for every row, empty where the text is; unused texts dropped."""
    used = np.unique(codes)
    remap = np.full(len(texts), -1, dtype=np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    kept = [texts[int(u)] for u in used]
    empty = np.array([t is None or t == "" for t in kept], dtype=bool)
    indices = remap[codes]
    mask = empty[indices] if empty.any() else None
    return pa.DictionaryArray.from_arrays(
        pa.array(indices, pa.int32(), mask=mask),
        pa.array([t or "" for t in kept], pa.string()))


def _policy_block(rows: pa.Table, policy: Policy) -> list[pa.Array]:
    """The four columns of one policy, from its determinations (one row per request)."""
    verdict = rows.column("verdict").combine_chunks()
    review = rows.column("needs_review").combine_chunks()
    fired = _list_codes(rows.column("fired").combine_chunks())
    flip = _list_codes(rows.column("would_flip").combine_chunks())
    undocumented = _list_codes(rows.column("undocumented_fields").combine_chunks())
    contrast = pc.dictionary_encode(rows.column("contrast").combine_chunks())
    contrasts = contrast.dictionary.to_pylist()
    contrast_code = pc.fill_null(contrast.indices, len(contrasts)).to_numpy(
        zero_copy_only=False).astype(np.int64)
    contrasts.append(None)

    by_id = {c.id: c for c in policy.criteria}
    titles = [("; ".join(by_id[cid].title for cid in ids) or None) for ids in fired.patterns]

    # documentation: (meets, contrast, fired) or would_flip, and the undocumented fields
    meets = pc.fill_null(pc.equal(verdict.cast(pa.string()), Verdict.MEETS.value), False)
    meets_np = meets.to_numpy(zero_copy_only=False)
    criteria_key = np.where(meets_np, fired.codes * len(contrasts) + contrast_code, flip.codes)
    key = (criteria_key * 2 + meets_np) * max(len(undocumented.patterns), 1) + undocumented.codes
    encoded = pc.dictionary_encode(pa.array(key, pa.int64()))
    doc_codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    first = np.empty(len(encoded.dictionary), dtype=np.int64)
    first[doc_codes] = np.arange(len(doc_codes))  # any row of each pattern will do
    docs = [_documentation(bool(meets_np[r]), contrasts[int(contrast_code[r])],
                           fired.patterns[int(fired.codes[r])],
                           flip.patterns[int(flip.codes[r])],
                           undocumented.patterns[int(undocumented.codes[r])], by_id)
            for r in first]

    review_words = pa.DictionaryArray.from_arrays(
        pc.fill_null(review, False).cast(pa.int8()), pa.array([NO, YES]))
    return [_labels(verdict), review_words, _dictionary(fired.codes, titles),
            _dictionary(doc_codes, docs)]


def _documentation(meets: bool, contrast: str | None, fired: list[str], flip: list[str],
                   undocumented: list[str], by_id: dict[str, Criterion]) -> str | None:
    """The letter's "Documentation required" for one pattern (see the module notes)."""
    if meets:
        supporting = [by_id[cid] for cid in fired
                      if contrast is not None
                      and (cat := by_id[cid].category_for(contrast)) is not None
                      and cat.supports_imaging]
        docs = [d for c in supporting for d in c.documentation]
    else:
        docs = [d for cid in flip for d in by_id[cid].documentation]
    items = list(dict.fromkeys(docs))
    items += [f"Document: {FIELDS_BY_NAME[f].label}" for f in undocumented]
    return "; ".join(items) or None
