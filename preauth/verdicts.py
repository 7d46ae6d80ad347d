"""From criterion statuses to verdicts and explanations — vectorized (numpy / Arrow).

Stage 2 of evaluation. Stage 1 (SQL on DuckDB or Spark, :mod:`preauth.engine`) computes, per
case, each criterion's three-valued status and, for undocumented criteria, which NULL fields
decide it. This module turns those columns into, per (case, policy): the verdict, whether it
needs review, the decisive category, the met / not met / undocumented criteria, ``would_flip``
and the undocumented fields that decide the verdict. The same functions serve one case and ten
million, so the explorer and batch cannot disagree.

Verdict rules (documented in docs/criteria.md):

* an applicable, documented-true **exclusion** → ``does_not_meet``;
* else a **met** indication whose category for the requested procedure supports imaging
  (usually appropriate / may be appropriate / covered) → ``meets_criteria`` (flagged for
  review when only "may be appropriate" supports it);
* else an **undocumented** indication that would support imaging → ``insufficient_documentation``;
* else ``does_not_meet``.

A criterion is *applicable* when it lists the case's region and rates its contrast class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from preauth.fields import CLINICAL_FIELDS, CONTRASTS, REGIONS
from preauth.library import Category, Criterion, Policy

__all__ = ["PolicyTables", "Statuses", "Verdict", "decide", "explain"]


class Verdict:
    MEETS = "meets_criteria"
    DOES_NOT_MEET = "does_not_meet"
    INSUFFICIENT = "insufficient_documentation"
    ALL = (MEETS, DOES_NOT_MEET, INSUFFICIENT)


# Verdict codes in arrays; -1 = no verdict (no requested procedure).
_CODE = {Verdict.MEETS: 0, Verdict.DOES_NOT_MEET: 1, Verdict.INSUFFICIENT: 2}
_NAMES = np.array([Verdict.MEETS, Verdict.DOES_NOT_MEET, Verdict.INSUFFICIENT], dtype=object)

_REGION_INDEX = {r: i for i, r in enumerate(REGIONS)}
_CONTRAST_INDEX = {c: i for i, c in enumerate(CONTRASTS)}
_SUPPORTING = frozenset(c for c in Category if c.supports_imaging)
_STRONG = frozenset({Category.USUALLY_APPROPRIATE, Category.COVERED})
_FIELD_ORDER = {f.name: i for i, f in enumerate(CLINICAL_FIELDS)}


def _table(c: Criterion, cats: frozenset[Category] | None) -> np.ndarray:
    """[region, contrast] → bool, with an extra all-False row/column for unknown values."""
    t = np.zeros((len(REGIONS) + 1, len(CONTRASTS) + 1), dtype=bool)
    for contrast, rating in c.appropriateness.items():
        if cats is not None and rating.category not in cats:
            continue
        for region in c.regions:
            t[_REGION_INDEX[region], _CONTRAST_INDEX[contrast]] = True
    return t


@dataclass(frozen=True)
class PolicyTables:
    """Per-criterion lookup tables of one policy, built once."""

    policy: Policy
    applicable: list[np.ndarray] = field(default_factory=list)
    supports: list[np.ndarray] = field(default_factory=list)
    strong: list[np.ndarray] = field(default_factory=list)
    by_category: dict[Category, list[np.ndarray]] = field(default_factory=dict)

    @classmethod
    def build(cls, policy: Policy) -> PolicyTables:
        t = cls(policy)
        for c in policy.criteria:
            t.applicable.append(_table(c, None))
            t.supports.append(_table(c, _SUPPORTING))
            t.strong.append(_table(c, _STRONG))
        for cat in Category:
            t.by_category[cat] = [_table(c, frozenset({cat})) for c in policy.criteria]
        return t


@dataclass
class Statuses:
    """Stage-1 output for one policy, as numpy arrays of length n.

    ``met[j]`` / ``known[j]``: criterion j is TRUE / is not NULL. ``null_fields[j]`` maps a
    field name to a bool array: the criterion is NULL *because* that field is undocumented.
    """

    region: np.ndarray  # int8 codes, len(REGIONS) = unknown
    contrast: np.ndarray  # int8 codes, len(CONTRASTS) = unknown
    met: list[np.ndarray]
    known: list[np.ndarray]
    null_fields: list[dict[str, np.ndarray]] | None = None

    @property
    def n(self) -> int:
        return len(self.region)


def region_codes(values: pa.Array | Sequence[str | None]) -> np.ndarray:
    return _codes(values, _REGION_INDEX)


def contrast_codes(values: pa.Array | Sequence[str | None]) -> np.ndarray:
    return _codes(values, _CONTRAST_INDEX)


def _codes(values: pa.Array | pa.ChunkedArray | Sequence[str | None],
           index: Mapping[str, int]) -> np.ndarray:
    arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values,
                                                                                 pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks else pa.array([], pa.string())
    enc = arr.dictionary_encode()
    dictionary = enc.dictionary.to_pylist()
    lookup = np.array([index.get(v, len(index)) for v in dictionary] + [len(index)],
                      dtype=np.int8)
    idx = enc.indices.fill_null(len(dictionary)).to_numpy(zero_copy_only=False)
    return lookup[idx]


def bool_pair(col: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(is TRUE, is not NULL) numpy arrays of a three-valued boolean Arrow column."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks else pa.array([], pa.bool_())
    known = col.is_valid().to_numpy(zero_copy_only=False)
    met = col.fill_null(False).to_numpy(zero_copy_only=False)
    return met.astype(bool, copy=False), known.astype(bool, copy=False)


@dataclass
class Decision:
    """Vectorized per-policy result (arrays of length n)."""

    verdict: np.ndarray  # int8 verdict codes, -1 = none
    excluded: np.ndarray
    needs_review: np.ndarray
    applicable: list[np.ndarray]
    supports: list[np.ndarray]

    def verdict_names(self) -> pa.Array:
        names = np.empty(len(self.verdict), dtype=object)
        ok = self.verdict >= 0
        names[ok] = _NAMES[self.verdict[ok]]
        names[~ok] = None
        return pa.array(names, pa.string())


def decide(tables: PolicyTables, st: Statuses) -> Decision:
    """Verdict of every case under one policy (see the module docstring for the rules)."""
    n = st.n
    zeros = np.zeros(n, dtype=bool)
    met_support = zeros.copy()
    undoc_support = zeros.copy()
    excluded = zeros.copy()
    strong_met = zeros.copy()
    applicable: list[np.ndarray] = []
    supports: list[np.ndarray] = []
    for j, c in enumerate(tables.policy.criteria):
        app = tables.applicable[j][st.region, st.contrast]
        sup = tables.supports[j][st.region, st.contrast]
        applicable.append(app)
        supports.append(sup)
        met, known = st.met[j], st.known[j]
        if c.kind == "exclusion":
            excluded |= app & met
            continue
        met_support |= sup & met
        undoc_support |= sup & ~known
        strong_met |= tables.strong[j][st.region, st.contrast] & met
    verdict = np.full(n, _CODE[Verdict.DOES_NOT_MEET], dtype=np.int8)
    verdict[undoc_support] = _CODE[Verdict.INSUFFICIENT]
    verdict[met_support] = _CODE[Verdict.MEETS]
    verdict[excluded] = _CODE[Verdict.DOES_NOT_MEET]
    no_procedure = (st.region >= len(REGIONS)) | (st.contrast >= len(CONTRASTS))
    verdict[no_procedure] = -1
    needs_review = (verdict == _CODE[Verdict.MEETS]) & ~strong_met
    return Decision(verdict, excluded, needs_review, applicable, supports)


def _id_lists(masks: Sequence[np.ndarray], ids: Sequence[str], n: int) -> pa.Array:
    """A list<string> array: for row i, the ids whose mask is true at i, in order."""
    if not masks:
        return pa.array([[] for _ in range(n)], pa.list_(pa.string()))
    m = np.stack(masks, axis=1)
    rows, cols = np.nonzero(m)
    del rows
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(m.sum(axis=1, dtype=np.int32), out=offsets[1:])
    values = pa.DictionaryArray.from_arrays(pa.array(cols.astype(np.int32)),
                                            pa.array(list(ids), pa.string()))
    return pa.ListArray.from_arrays(pa.array(offsets), values.cast(pa.string()))


def category(tables: PolicyTables, st: Statuses, dec: Decision) -> pa.Array:
    """The decisive category per case: the strongest category among met applicable
    indications (NULL when none is met)."""
    out = np.empty(st.n, dtype=object)
    out[:] = None
    done = np.zeros(st.n, dtype=bool)
    for cat in sorted(Category, key=lambda c: -c.rank):
        hit = np.zeros(st.n, dtype=bool)
        for j, c in enumerate(tables.policy.criteria):
            if c.kind == "indication":
                hit |= tables.by_category[cat][j][st.region, st.contrast] & st.met[j]
        new = hit & ~done
        out[new] = cat.value
        done |= hit
    return pa.array(out, pa.string())


def explain(tables: PolicyTables, st: Statuses, dec: Decision) -> dict[str, pa.Array]:
    """Explanation columns: fired, not_met, undocumented, would_flip, undocumented_fields."""
    crits = tables.policy.criteria
    ids = [c.id for c in crits]
    n = st.n
    fired = [dec.applicable[j] & st.met[j] for j in range(len(crits))]
    not_met = [dec.applicable[j] & st.known[j] & ~st.met[j] for j in range(len(crits))]
    undoc = [dec.applicable[j] & ~st.known[j] for j in range(len(crits))]
    meets = dec.verdict == _CODE[Verdict.MEETS]
    insufficient = dec.verdict == _CODE[Verdict.INSUFFICIENT]
    open_verdict = (dec.verdict >= 0) & ~meets & ~dec.excluded
    flip = []
    for j, c in enumerate(crits):
        if c.kind == "indication":
            flip.append(open_verdict & dec.supports[j] & ~st.met[j])
        else:  # a documented exclusion would turn meets / insufficient into does-not-meet
            flip.append((meets | insufficient) & dec.applicable[j] & ~st.met[j])
    # Undocumented fields deciding an insufficient verdict: NULL fields (in Kleene terms) of
    # the undocumented indications that would support imaging.
    field_masks: dict[str, np.ndarray] = {}
    for j, c in enumerate(crits):
        if c.kind != "indication":
            continue
        deciding = insufficient & dec.supports[j] & ~st.known[j]
        if not deciding.any():
            continue
        per_field = st.null_fields[j] if st.null_fields is not None else {}
        for f in c.expression.fields:
            rel = per_field.get(f)
            mask = deciding if rel is None else deciding & rel
            field_masks[f] = field_masks[f] | mask if f in field_masks else mask
    names = sorted(field_masks, key=lambda f: _FIELD_ORDER.get(f, 10_000))
    return {
        "fired": _id_lists(fired, ids, n),
        "not_met": _id_lists(not_met, ids, n),
        "undocumented": _id_lists(undoc, ids, n),
        "would_flip": _id_lists(flip, ids, n),
        "undocumented_fields": _id_lists([field_masks[f] for f in names], names, n),
    }
