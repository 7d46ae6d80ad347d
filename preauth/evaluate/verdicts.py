"""The verdict rules and explanations, on bit planes (stage 2 of evaluation).

Input: for every criterion of a policy, its TRUE / FALSE planes (:mod:`preauth.evaluate.planes`),
and the rows' procedure codes (region × contrast). Output, as planes: the verdict, whether it
needs review, the decisive category, the criteria that fired / are not met / are undocumented,
``would_flip`` and the undocumented fields that decide the verdict. The same functions serve a
batch (numpy planes) and one case (int planes), on DuckDB and on Spark, so the explorer, the CLI
and batch cannot disagree.

Verdict rules (also in docs/criteria.md):

* an applicable, documented-true **exclusion** → ``does_not_meet``;
* else a **met** indication whose category for the requested procedure supports imaging
  (usually appropriate / may be appropriate / covered) → ``meets_criteria`` (flagged for
  review when only "may be appropriate" supports it);
* else an **undocumented** indication that would support imaging → ``insufficient_documentation``;
* else ``does_not_meet``.

A criterion is *applicable* when it lists the case's region and rates its contrast class.
``would_flip`` lists the applicable criteria, not met, whose holding would change the verdict.
Rows without a known procedure get no verdict and no explanation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from preauth.catalog.fields import CLINICAL_FIELDS, CONTRASTS, REGIONS
from preauth.criteria.expressions import Node
from preauth.criteria.library import Category, Policy
from preauth.evaluate.planes import Plane, Planes, is_set, pack, unpack, zeros
from preauth.evaluate.vocabulary import Verdict

__all__ = ["CATEGORIES", "N_PROCEDURES", "UNKNOWN_PROCEDURE", "VERDICTS", "Decision",
           "Explanation", "PolicyTables", "Rows", "Verdict", "categories", "decide", "explain",
           "needs_review", "null_fields", "procedure_code", "verdict_names"]

N_PROCEDURES = len(REGIONS) * len(CONTRASTS)
UNKNOWN_PROCEDURE = N_PROCEDURES  # region or contrast missing
VERDICTS = (Verdict.MEETS, Verdict.DOES_NOT_MEET, Verdict.INSUFFICIENT)  # by verdict code
CATEGORIES = tuple(sorted(Category, key=lambda c: -c.rank))  # the strongest first
_SUPPORTING = frozenset(c for c in Category if c.supports_imaging)
_STRONG = frozenset({Category.USUALLY_APPROPRIATE, Category.COVERED})
_FIELD_ORDER = {f.name: i for i, f in enumerate(CLINICAL_FIELDS)}


def procedure_code(region: str | None, contrast: str | None) -> int:
    """Index of (region, contrast) in 0..8, or :data:`UNKNOWN_PROCEDURE`."""
    if region not in REGIONS or contrast not in CONTRASTS:
        return UNKNOWN_PROCEDURE
    return REGIONS.index(region) * len(CONTRASTS) + CONTRASTS.index(contrast)


class PolicyTables:
    """Which criteria of one policy matter for which procedure, built once per policy:
    per procedure, the indices of its supporting / strong indications, applicable exclusions
    and indications of each category; per criterion, the procedures it applies to and, for
    an indication, those it supports."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.ids = [c.id for c in policy.criteria]
        k = len(policy.criteria)
        self.indication = np.array([c.kind == "indication" for c in policy.criteria], bool)
        shape = (N_PROCEDURES, k)
        applicable, supports, strong = (np.zeros(shape, bool) for _ in range(3))
        category = {cat: np.zeros(shape, bool) for cat in Category}
        for j, c in enumerate(policy.criteria):
            for contrast, rating in c.appropriateness.items():
                for region in c.regions:
                    p = procedure_code(region, contrast)
                    applicable[p, j] = True
                    supports[p, j] = rating.category in _SUPPORTING
                    strong[p, j] = rating.category in _STRONG
                    category[rating.category][p, j] = True
        ind = self.indication

        def by_procedure(m: np.ndarray) -> list[np.ndarray]:
            return [np.flatnonzero(m[p]) for p in range(N_PROCEDURES)]

        self.supporting = by_procedure(supports & ind)
        self.strong = by_procedure(strong & ind)
        self.exclusions = by_procedure(applicable & ~ind)
        self.by_category = {cat: by_procedure(m & ind) for cat, m in category.items()}
        self.applicable_in = [np.flatnonzero(applicable[:, j]).tolist() for j in range(k)]
        self.supporting_in = [np.flatnonzero(supports[:, j] & ind[j]).tolist()
                              for j in range(k)]


class Rows:
    """The rows of one stage-1 result: their procedure codes and, per procedure, the plane of
    its rows (None when no row has it). ``packed``: numpy planes, else int planes."""

    def __init__(self, procedure: np.ndarray, packed: bool = True) -> None:
        self.procedure = procedure
        self.n = len(procedure)
        self.packed = packed
        self.masks: list[Plane | None] = []
        for p in range(N_PROCEDURES):
            rows = procedure == p
            self.masks.append(pack(rows, packed) if rows.any() else None)
        self.decided = self.union(range(N_PROCEDURES))  # rows with a known procedure

    def empty(self) -> Plane:
        return zeros(self.n, self.packed)

    def union(self, procedures: Iterable[int]) -> Plane:
        """The rows whose procedure is one of ``procedures``."""
        out = self.empty()
        for p in procedures:
            mask = self.masks[p]
            if mask is not None:
                out |= mask  # in place: ``out`` is a fresh plane
        return out

    def any_of(self, by_procedure: Sequence[np.ndarray], plane: Callable[[int], Plane]
               ) -> Plane:
        """The rows where ``plane(j)`` holds for some criterion j listed for their procedure."""
        out = self.empty()
        for p, mask in enumerate(self.masks):
            criteria = by_procedure[p]
            if mask is None or not len(criteria):
                continue
            acc = plane(int(criteria[0]))
            if len(criteria) > 1:
                acc = acc | plane(int(criteria[1]))  # a fresh plane, then updated in place
                for j in criteria[2:]:
                    acc |= plane(int(j))
            out |= mask & acc
        return out

    def any(self, plane: Plane) -> bool:
        """Whether any row is in ``plane`` (a plane of real rows only)."""
        return bool(plane) if isinstance(plane, int) else bool(plane.any())

    def bits(self, plane: Plane) -> np.ndarray:
        return unpack(plane, self.n)


@dataclass(frozen=True)
class Decision:
    """One policy's verdicts, as planes: each decided row is in ``meets``, in
    ``insufficient`` or in neither (does not meet); ``excluded``: a met exclusion decided it."""

    rows: Rows
    meets: Plane
    insufficient: Plane
    excluded: Plane

    def codes(self) -> np.ndarray:
        """int8 verdict codes (index into :data:`VERDICTS`; -1: no procedure, no verdict)."""
        code = 1 - self.rows.bits(self.meets).astype(np.int8)
        code += self.rows.bits(self.insufficient)
        code[self.rows.procedure >= UNKNOWN_PROCEDURE] = -1
        return code

    def code(self, row: int) -> int:
        if self.rows.procedure[row] >= UNKNOWN_PROCEDURE:
            return -1
        return 0 if is_set(self.meets, row) else (2 if is_set(self.insufficient, row) else 1)


def _true(roots: Sequence[Planes]) -> Callable[[int], Plane]:
    return lambda j: roots[j][0]


def decide(tables: PolicyTables, roots: Sequence[Planes], rows: Rows) -> Decision:
    """The verdicts of one policy from each criterion's TRUE / FALSE planes (see the module
    docstring for the rules)."""
    met_support = rows.any_of(tables.supporting, _true(roots))
    undoc_support = rows.any_of(tables.supporting, lambda j: ~(roots[j][0] | roots[j][1]))
    excluded = rows.any_of(tables.exclusions, _true(roots))
    meets = met_support & ~excluded
    insufficient = undoc_support & ~met_support & ~excluded
    return Decision(rows, meets, insufficient, excluded)


def needs_review(tables: PolicyTables, roots: Sequence[Planes], decision: Decision) -> Plane:
    """The rows that meet criteria only through a "may be appropriate" indication."""
    return decision.meets & ~decision.rows.any_of(tables.strong, _true(roots))


def categories(tables: PolicyTables, roots: Sequence[Planes], rows: Rows
               ) -> list[tuple[Category, Plane]]:
    """Per category (strongest first, :data:`CATEGORIES`), the rows where a met applicable
    indication has it; a row's decisive category is the first that holds it."""
    return [(cat, rows.any_of(tables.by_category[cat], _true(roots))) for cat in CATEGORIES]


def null_fields(node: Node, memo: Mapping[int, Planes], isnull: Callable[[str], Plane]
                ) -> dict[str, Plane | None]:
    """Per field, where the clause is NULL *because of* that field being undocumented (Kleene:
    the NULL operands of a NULL AND / OR decide it; NOT passes it through); None: wherever the
    clause is NULL. ``memo``: the planes of every clause (:func:`kleene_planes`);
    ``isnull(field)``: where the field is NULL (for leaves over several fields). Meaningful
    only where the clause itself is NULL."""
    if node.kind == "leaf":
        if len(node.fields) == 1:
            return {node.fields[0]: None}
        return {f: isnull(f) for f in node.fields}
    if node.kind == "not":
        return null_fields(node.children[0], memo, isnull)
    acc: dict[str, Plane] = {}
    for child in node.children:
        t, f = memo[id(child)]
        child_null = ~(t | f)
        for name, rel in null_fields(child, memo, isnull).items():
            part = child_null if rel is None else child_null & rel
            acc[name] = acc[name] | part if name in acc else part
    return dict(acc)


@dataclass(frozen=True)
class Explanation:
    """One policy's explanation, as planes: per criterion, the rows where it fired, is not
    met, is undocumented, or would flip the verdict by holding; per field (catalog order), the
    rows whose insufficient verdict its documentation would decide."""

    fired: list[Plane]
    not_met: list[Plane]
    undocumented: list[Plane]
    would_flip: list[Plane]
    fields: dict[str, Plane]


def explain(tables: PolicyTables, roots: Sequence[Planes], decision: Decision,
            fields_of: Callable[[int], Mapping[str, Plane | None]] | None = None
            ) -> Explanation:
    """The explanation of one policy's verdicts. ``fields_of(j)``: :func:`null_fields` of
    criterion j (None: every field of an undocumented deciding criterion counts)."""
    rows = decision.rows
    decided_open = rows.decided & ~decision.meets & ~decision.excluded
    closed = decision.meets | decision.insufficient
    fired, not_met, undocumented, flip = [], [], [], []
    field_rows: dict[str, Plane] = {}
    for j, (t, f) in enumerate(roots):
        applicable = rows.union(tables.applicable_in[j])
        unknown = ~(t | f)
        fired.append(applicable & t)
        not_met.append(applicable & f)
        undocumented.append(applicable & unknown)
        if not tables.indication[j]:  # an exclusion holding would close an open verdict
            flip.append(closed & applicable & ~t)
            continue
        supports = rows.union(tables.supporting_in[j])
        flip.append(decided_open & supports & ~t)
        # undocumented fields deciding an insufficient verdict: the NULL fields (in Kleene
        # terms) of the undocumented indications that would support imaging
        deciding = decision.insufficient & supports & unknown
        if not rows.any(deciding):
            continue
        per_field = fields_of(j) if fields_of is not None else {}
        for name in tables.policy.criteria[j].expression.fields:
            rel = per_field.get(name)
            part = deciding if rel is None else deciding & rel
            field_rows[name] = field_rows[name] | part if name in field_rows else part
    ordered = {name: field_rows[name]
               for name in sorted(field_rows, key=lambda n: _FIELD_ORDER.get(n, 10_000))}
    return Explanation(fired, not_met, undocumented, flip, ordered)


def verdict_names(codes: np.ndarray) -> pa.Array:
    """int8 verdict codes (-1 = none) as a dictionary array of verdict names."""
    arr = pa.array(codes.astype(np.int8), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(arr, pa.array([v.value for v in VERDICTS]))
