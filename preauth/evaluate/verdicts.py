"""From criterion statuses to verdicts and explanations — vectorized (numpy / Arrow).

Stage 2 of evaluation. Stage 1 (SQL on DuckDB or Spark, :mod:`preauth.evaluate.engine`)
computes, per case, a procedure code (region × contrast) and, per policy,
two bit sets over its criteria —
*met* (TRUE) and *known* (not NULL) — packed in 62-bit words so the SQL stays portable
(BIGINT arithmetic). In the detailed mode it also says, for undocumented criteria, which NULL
fields decide them. This module turns those into, per (case, policy): the verdict, whether it
needs review, the decisive category, the met / not met / undocumented criteria, ``would_flip``
and the undocumented fields that decide the verdict. The same functions serve one case and ten
million, so the explorer and batch cannot disagree.

Verdict rules (also in docs/criteria.md):

* an applicable, documented-true **exclusion** → ``does_not_meet``;
* else a **met** indication whose category for the requested procedure supports imaging
  (usually appropriate / may be appropriate / covered) → ``meets_criteria`` (flagged for
  review when only "may be appropriate" supports it);
* else an **undocumented** indication that would support imaging → ``insufficient_documentation``;
* else ``does_not_meet``.

A criterion is *applicable* when it lists the case's region and rates its contrast class.
``would_flip`` lists the applicable criteria, not met, whose holding would change the verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from preauth.catalog.fields import CLINICAL_FIELDS, CONTRASTS, REGIONS
from preauth.criteria.expressions import Node
from preauth.criteria.library import Category, Policy
from preauth.evaluate.vocabulary import Verdict

__all__ = ["BITS_PER_WORD", "UNKNOWN_PROCEDURE", "Decision", "Planes", "PolicyTables",
           "Statuses", "Verdict", "bool_planes", "category", "decide", "explain",
           "kleene_planes", "pack_words", "procedure_code", "procedure_masks", "verdict_codes",
           "verdict_names"]




BITS_PER_WORD = 62  # stays positive in a signed 64-bit integer on every engine
N_PROCEDURES = len(REGIONS) * len(CONTRASTS)
UNKNOWN_PROCEDURE = N_PROCEDURES  # region or contrast missing

_CODE = {Verdict.MEETS: 0, Verdict.DOES_NOT_MEET: 1, Verdict.INSUFFICIENT: 2}
_NAMES = [Verdict.MEETS, Verdict.DOES_NOT_MEET, Verdict.INSUFFICIENT]
_SUPPORTING = frozenset(c for c in Category if c.supports_imaging)
_STRONG = frozenset({Category.USUALLY_APPROPRIATE, Category.COVERED})
_FIELD_ORDER = {f.name: i for i, f in enumerate(CLINICAL_FIELDS)}


def procedure_code(region: str | None, contrast: str | None) -> int:
    """Index of (region, contrast) in 0..8, or :data:`UNKNOWN_PROCEDURE`."""
    if region not in REGIONS or contrast not in CONTRASTS:
        return UNKNOWN_PROCEDURE
    return REGIONS.index(region) * len(CONTRASTS) + CONTRASTS.index(contrast)


def n_words(n_criteria: int) -> int:
    return max(1, -(-n_criteria // BITS_PER_WORD))


class PolicyTables:
    """Per-procedure bit tables of one policy: ``table[word][procedure]`` is the set of
    criteria (bits) with a property for that procedure. Built once per policy."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.ids = [c.id for c in policy.criteria]
        self.words = n_words(len(policy.criteria))
        k = len(policy.criteria)
        self.indication = np.zeros(k, dtype=bool)
        # boolean [procedure, criterion] matrices (procedure UNKNOWN row stays all False)
        shape = (N_PROCEDURES + 1, k)
        self.applicable_m = np.zeros(shape, dtype=bool)
        self.supports_m = np.zeros(shape, dtype=bool)
        self.strong_m = np.zeros(shape, dtype=bool)
        self.category_m = {cat: np.zeros(shape, dtype=bool) for cat in Category}
        for j, c in enumerate(policy.criteria):
            self.indication[j] = c.kind == "indication"
            for contrast, rating in c.appropriateness.items():
                for region in c.regions:
                    p = procedure_code(region, contrast)
                    self.applicable_m[p, j] = True
                    self.supports_m[p, j] = rating.category in _SUPPORTING
                    self.strong_m[p, j] = rating.category in _STRONG
                    self.category_m[rating.category][p, j] = True
        ind = self.indication
        self.applicable = self._pack(self.applicable_m)
        self.supports_ind = self._pack(self.supports_m & ind)
        self.strong_ind = self._pack(self.strong_m & ind)
        self.exclusion_app = self._pack(self.applicable_m & ~ind)
        self.category_ind = {cat: self._pack(m & ind) for cat, m in self.category_m.items()}
        # fast path (bit planes): per procedure, the supporting indications and exclusions
        self.supports_by_proc = [np.flatnonzero(self.supports_m[p] & ind)
                                 for p in range(N_PROCEDURES)]
        self.exclusions_by_proc = [np.flatnonzero(self.applicable_m[p] & ~ind)
                                   for p in range(N_PROCEDURES)]

    def _pack(self, m: np.ndarray) -> list[np.ndarray]:
        """[procedure, criterion] bools → per word, an int64 bit set per procedure."""
        out = []
        for w in range(self.words):
            cols = m[:, w * BITS_PER_WORD:(w + 1) * BITS_PER_WORD]
            weights = (np.int64(1) << np.arange(cols.shape[1], dtype=np.int64))
            out.append((cols.astype(np.int64) * weights).sum(axis=1).astype(np.int64))
        return out


@dataclass
class Statuses:
    """Stage-1 output for one policy, as numpy arrays of length n.

    ``met[w]`` / ``known[w]``: int64 bit sets (word w) of criteria that are TRUE / not NULL.
    ``null_fields(j)`` maps each field of criterion j to a bool array: the criterion is NULL
    *because* that field is undocumented (detailed mode only; meaningful where it is NULL).
    """

    procedure: np.ndarray  # int8 procedure codes
    met: list[np.ndarray]
    known: list[np.ndarray]
    null_fields: Callable[[int], dict[str, np.ndarray]] | None = None

    @property
    def n(self) -> int:
        return len(self.procedure)


@dataclass
class Decision:
    """Vectorized per-policy result (arrays of length n)."""

    verdict: np.ndarray  # int8 verdict codes, -1 = none
    excluded: np.ndarray
    needs_review: np.ndarray

    def verdict_names(self) -> pa.Array:
        return verdict_names(self.verdict)


def verdict_names(codes: np.ndarray) -> pa.Array:
    """int8 verdict codes (-1 = none) as a dictionary array of verdict names."""
    arr = pa.array(codes.astype(np.int8), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(arr, pa.array(_NAMES))


def _any(words_a: list[np.ndarray], words_b: list[np.ndarray]) -> np.ndarray:
    out = (words_a[0] & words_b[0]) != 0
    for a, b in zip(words_a[1:], words_b[1:], strict=True):
        out |= (a & b) != 0
    return out


def _lookup(table: list[np.ndarray], procedure: np.ndarray) -> list[np.ndarray]:
    return [t.take(procedure) for t in table]


def decide(tables: PolicyTables, st: Statuses) -> Decision:
    """Verdict of every case under one policy (see the module docstring for the rules)."""
    proc = st.procedure
    unknown = [~k for k in st.known]
    supports = _lookup(tables.supports_ind, proc)
    met_support = _any(st.met, supports)
    undoc_support = _any(unknown, supports)
    excluded = _any(st.met, _lookup(tables.exclusion_app, proc))
    strong_met = _any(st.met, _lookup(tables.strong_ind, proc))
    verdict = np.where(met_support, _CODE[Verdict.MEETS],
                       np.where(undoc_support, _CODE[Verdict.INSUFFICIENT],
                                _CODE[Verdict.DOES_NOT_MEET])).astype(np.int8)
    verdict[excluded] = _CODE[Verdict.DOES_NOT_MEET]
    verdict[proc >= UNKNOWN_PROCEDURE] = -1
    needs_review = (verdict == _CODE[Verdict.MEETS]) & ~strong_met
    return Decision(verdict, excluded, needs_review)


def _unpack(words: list[np.ndarray], k: int) -> np.ndarray:
    """int64 bit-set words → an (n, k) bool matrix."""
    parts = []
    for w, word in enumerate(words):
        width = min(BITS_PER_WORD, k - w * BITS_PER_WORD)
        # the eight little-endian bytes of each word, unpacked: bit b of the word is column b
        octets = np.ascontiguousarray(word, dtype="<i8").view(np.uint8).reshape(-1, 8)
        bits = np.unpackbits(octets, axis=1, count=width, bitorder="little")
        parts.append(bits.view(bool))
    return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]


def pack_words(matrix: np.ndarray) -> list[np.ndarray]:
    """An (n, k) bool matrix → int64 bit-set words (bit b of word w is column 62·w + b)."""
    n, k = matrix.shape
    out = []
    for w in range(n_words(k)):
        packed = np.packbits(matrix[:, w * BITS_PER_WORD:(w + 1) * BITS_PER_WORD], axis=1,
                             bitorder="little")
        octets = np.zeros((n, 8), dtype=np.uint8)
        octets[:, :packed.shape[1]] = packed
        out.append(octets.view("<i8").reshape(n).astype(np.int64))
    return out


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


def category(tables: PolicyTables, st: Statuses) -> pa.Array:
    """The decisive category per case: the strongest category among met applicable
    indications (NULL when none is met)."""
    out = np.full(st.n, -1, dtype=np.int8)
    cats = sorted(Category, key=lambda c: -c.rank)
    for i, cat in reversed(list(enumerate(cats))):
        hit = _any(st.met, _lookup(tables.category_ind[cat], st.procedure))
        out[hit] = i
    codes = pa.array(out, mask=out < 0)
    return pa.DictionaryArray.from_arrays(codes, pa.array([c.value for c in cats]))


def explain(tables: PolicyTables, st: Statuses, dec: Decision) -> dict[str, pa.Array]:
    """Explanation columns: fired, not_met, undocumented, would_flip, undocumented_fields."""
    k = len(tables.ids)
    proc = st.procedure
    met = _unpack(st.met, k)
    known = _unpack(st.known, k)
    applicable = tables.applicable_m[proc]  # (n, k)
    supports = tables.supports_m[proc] & tables.indication
    meets = dec.verdict == _CODE[Verdict.MEETS]
    insufficient = dec.verdict == _CODE[Verdict.INSUFFICIENT]
    open_verdict = (dec.verdict >= 0) & ~meets & ~dec.excluded
    not_true = ~met
    flip = np.where(tables.indication,
                    open_verdict[:, None] & supports,
                    (meets | insufficient)[:, None] & applicable) & not_true
    # Undocumented fields deciding an insufficient verdict: NULL fields (in Kleene terms) of
    # the undocumented indications that would support imaging.
    deciding = insufficient[:, None] & supports & ~known
    field_masks: dict[str, np.ndarray] = {}
    for j in np.nonzero(deciding.any(axis=0))[0]:
        c = tables.policy.criteria[j]
        per_field = st.null_fields(j) if st.null_fields is not None else {}
        for f in c.expression.fields:
            rel = per_field.get(f)
            mask = deciding[:, j] if rel is None else deciding[:, j] & rel
            field_masks[f] = field_masks[f] | mask if f in field_masks else mask
    names = sorted(field_masks, key=lambda f: _FIELD_ORDER.get(f, 10_000))
    fields_matrix = np.stack([field_masks[f] for f in names], axis=1) if names \
        else np.zeros((st.n, 0), dtype=bool)
    return {
        "fired": _lists(applicable & met, tables.ids),
        "not_met": _lists(applicable & known & not_true, tables.ids),
        "undocumented": _lists(applicable & ~known, tables.ids),
        "would_flip": _lists(flip, tables.ids),
        "undocumented_fields": _lists(fields_matrix, names),
    }


# --------------------------------------------------------------------------------------------
# Fast path: verdicts from packed bit planes
# --------------------------------------------------------------------------------------------
# Stage 1 of the fast path computes each distinct leaf predicate (comparison, IN, IS NULL, a
# boolean field ...) once; Arrow hands each back as two bitmaps (values, validity). A clause is
# represented by two packed planes, TRUE and FALSE (NULL = neither), and Kleene logic is plain
# bitwise arithmetic on them — eight rows per byte, no NULL handling:
#   AND: T = T1 & T2, F = F1 | F2;   OR: T = T1 | T2, F = F1 & F2;   NOT: swap T and F.
# The verdict rules are those of :func:`decide`, applied per procedure with bit masks
# (a property test checks both paths agree).

Planes = tuple[np.ndarray, np.ndarray]  # (TRUE, FALSE), packed little-endian uint8


def _bitmap(buf: pa.Buffer, offset: int, n: int) -> np.ndarray:
    nbytes = (n + 7) // 8
    raw = np.frombuffer(buf, dtype=np.uint8)
    if offset % 8 == 0:
        return raw[offset // 8:offset // 8 + nbytes]
    bits = np.unpackbits(raw, bitorder="little")[offset:offset + n]
    return np.packbits(bits, bitorder="little")


def bool_planes(arr: pa.Array) -> Planes:
    """A boolean Arrow array as packed TRUE / FALSE planes (bits past the end are junk)."""
    n = len(arr)
    if pa.types.is_null(arr.type) or arr.null_count == n:
        zero = np.zeros((n + 7) // 8, dtype=np.uint8)
        return zero, zero
    if not pa.types.is_boolean(arr.type):
        raise TypeError(f"expected a boolean column, got {arr.type}")
    validity, values = arr.buffers()[:2]
    vals = _bitmap(values, arr.offset, n)
    if arr.null_count == 0 or validity is None:
        return vals, ~vals
    valid = _bitmap(validity, arr.offset, n)
    return vals & valid, ~vals & valid


def kleene_planes(node: Node, leaf: Callable[[Node], Planes],
                  memo: dict[int, Planes] | None = None) -> Planes:
    """TRUE / FALSE planes of a clause tree, from its leaves' planes (``leaf(node)``);
    ``memo`` (by ``id(node)``) receives the planes of every clause on the way."""
    if node.kind == "leaf":
        t, f = leaf(node)
    elif node.kind == "not":
        f, t = kleene_planes(node.children[0], leaf, memo)
    else:
        parts = [kleene_planes(c, leaf, memo) for c in node.children]
        t, f = parts[0]
        for ct, cf in parts[1:]:
            if node.kind == "and":
                t, f = t & ct, f | cf
            else:
                t, f = t | ct, f & cf
    if memo is not None:
        memo[id(node)] = (t, f)
    return t, f


def procedure_masks(procedure: np.ndarray) -> list[np.ndarray | None]:
    """Per procedure code, a packed bit mask of its rows (None: no such row)."""
    out: list[np.ndarray | None] = []
    for p in range(N_PROCEDURES):
        rows = procedure == p
        out.append(np.packbits(rows, bitorder="little") if rows.any() else None)
    return out


def verdict_codes(tables: PolicyTables, planes: Sequence[Planes], procedure: np.ndarray,
                  masks: Sequence[np.ndarray | None] | None = None) -> np.ndarray:
    """int8 verdict codes (-1 = no procedure) of one policy, from each criterion's planes —
    the rules of :func:`decide` on bit planes. ``masks``: :func:`procedure_masks` of
    ``procedure`` (computed here when not given)."""
    n = len(procedure)
    if masks is None:
        masks = procedure_masks(procedure)
    nbytes = (n + 7) // 8
    met_support = np.zeros(nbytes, dtype=np.uint8)
    undoc_support = np.zeros(nbytes, dtype=np.uint8)
    excluded = np.zeros(nbytes, dtype=np.uint8)

    def any_of(indices: np.ndarray, plane: Callable[[int], np.ndarray]) -> np.ndarray:
        out = plane(int(indices[0])).copy()
        for j in indices[1:]:
            out |= plane(int(j))
        return out

    for p in range(N_PROCEDURES):
        supports, exclusions = tables.supports_by_proc[p], tables.exclusions_by_proc[p]
        mask = masks[p]
        if mask is None or (not len(supports) and not len(exclusions)):
            continue
        if len(supports):
            met_support |= mask & any_of(supports, lambda j: planes[j][0])
            undoc_support |= mask & any_of(supports, lambda j: ~(planes[j][0] | planes[j][1]))
        if len(exclusions):
            excluded |= mask & any_of(exclusions, lambda j: planes[j][0])
    meets = met_support & ~excluded
    insufficient = ~met_support & undoc_support & ~excluded
    code = np.unpackbits(~meets & ~insufficient, count=n, bitorder="little").astype(np.int8)
    code += 2 * np.unpackbits(insufficient, count=n, bitorder="little").astype(np.int8)
    code[procedure >= UNKNOWN_PROCEDURE] = -1
    return code
