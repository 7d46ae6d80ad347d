"""What a criterion's examples must cover, read from its compiled (checked) expression.

The rule (docs/criteria.md, "Examples"):

* every status the expression can give — met (TRUE), not met (FALSE), undocumented (NULL) —
  has an example; :func:`possible_statuses` decides which it can give;
* every **threshold** — a numeric operand (a numeric field, or a COALESCE of them) compared
  with a number literal by ``=``, ``<>``, ``<``, ``<=``, ``>``, ``>=`` or bounding a
  ``BETWEEN`` — has an example with the operand exactly **at** the literal, one **below** it
  (within one unit: 5.9 or 5 for 6 weeks) and one **above** it (within one unit), wherever
  the operand's catalog range allows such a value (no "below" for ``pain_score >= 0``, no
  "at" for a whole-number field against ``70.5``); :func:`thresholds` finds them.

:func:`possible_statuses` is **sound**: it over-approximates the values the expression can
take, so a status it leaves out is impossible by construction (e.g. an expression made only
of ``IS NULL`` tests is never undocumented). It enumerates which of the expression's fields
are documented; under each such pattern the nullness of every operand is known exactly, and
the truth values of the documented leaves are taken as free (TRUE or FALSE independently —
the over-approximation). Kleene logic then gives the possible values of the whole. With more
than :data:`MAX_ENUMERATED_FIELDS` fields it returns all three statuses (requires every one:
still sound).

Nothing here evaluates a case against a criterion; the generic test does that with the
engine (tests/criteria/test_examples.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from preauth.catalog.fields import FIELDS_BY_NAME, Kind
from preauth.criteria._syntax import (
    COMPARISONS,
    is_comparison,
    is_literal,
    literal_value,
    unparen,
)
from preauth.criteria.examples import EXPECTATIONS, PROCEDURE_FIELDS
from preauth.criteria.expressions import CompiledExpression

if TYPE_CHECKING:
    from preauth.criteria.library import Criterion

__all__ = [
    "MAX_ENUMERATED_FIELDS",
    "SIDES",
    "Threshold",
    "coverage_gaps",
    "operand_value",
    "possible_statuses",
    "thresholds",
]

MAX_ENUMERATED_FIELDS = 16  # 2**16 documentation patterns at most (bundled criteria: ≤ 13)
SIDES = ("below", "at", "above")
_STATUS = {True: "met", False: "not_met", None: "undocumented"}
_VALUE = "value"  # abstract: some documented, non-boolean value


# --------------------------------------------------------------------------------------
# Which statuses can the expression give at all?
# --------------------------------------------------------------------------------------
def _and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def _states(e: exp.Expr, documented: frozenset[str]) -> frozenset[Any]:
    """Over-approximation of the values ``e`` can take when exactly the fields in
    ``documented`` are documented: a subset of {True, False, None} for a condition, of
    {"value", None} for a number, text or date."""
    e = unparen(e)
    if isinstance(e, exp.And | exp.Or):
        combine = _and if isinstance(e, exp.And) else _or
        acc = _states(e.left, documented)
        right = _states(e.right, documented)
        return frozenset(combine(a, b) for a in acc for b in right)
    if isinstance(e, exp.Not):
        return frozenset(None if v is None else not v for v in _states(e.this, documented))
    if isinstance(e, exp.Column):
        if e.name not in documented:
            return frozenset({None})
        f = FIELDS_BY_NAME.get(e.name)
        return frozenset({True, False}) if f is not None and f.kind is Kind.BOOLEAN \
            else frozenset({_VALUE})
    if isinstance(e, exp.Boolean):
        return frozenset({bool(e.this)})
    if isinstance(e, exp.Null):
        return frozenset({None})
    if is_literal(e):
        return frozenset({_VALUE})
    if isinstance(e, exp.Is):  # IS NULL (IS NOT NULL is NOT over it)
        return frozenset(v is None for v in _states(e.this, documented))
    if isinstance(e, exp.Coalesce):
        out: set[Any] = set()
        for arg in (e.this, *e.expressions):
            s = _states(arg, documented)
            out |= s - {None}
            if None not in s:
                return frozenset(out)
        return frozenset(out | {None})
    if is_comparison(e) or isinstance(e, exp.In | exp.Between):
        if isinstance(e, exp.In):
            operands = [e.this, *e.expressions]
        elif isinstance(e, exp.Between):
            operands = [e.this, e.args["low"], e.args["high"]]
        else:
            operands = [e.left, e.right]
        states = [_states(o, documented) for o in operands]
        out = set()
        if any(None in s for s in states):
            out.add(None)  # a NULL operand makes the comparison unknown
        if all(s - {None} for s in states):
            out |= {True, False}
        return frozenset(out)
    raise TypeError(f"coverage cannot read {type(e).__name__}: {e.sql()!r}")  # pragma: no cover


def _patterns(fields: Sequence[str]) -> Iterator[frozenset[str]]:
    """Every subset of ``fields`` (documented ones): none, all, then the rest."""
    n = len(fields)
    order = [0, (1 << n) - 1, *range(1, (1 << n) - 1)] if n else [0]
    for k in order:
        yield frozenset(f for i, f in enumerate(fields) if k >> i & 1) | set(PROCEDURE_FIELDS)


def possible_statuses(compiled: CompiledExpression) -> frozenset[str]:
    """The statuses (met / not_met / undocumented) the expression can give; sound (see the
    module docstring). The procedure (region, contrast, CPT code) is always documented: the
    examples' test supplies it."""
    fields = [f for f in compiled.fields if f not in PROCEDURE_FIELDS]
    if len(fields) > MAX_ENUMERATED_FIELDS:
        return frozenset(EXPECTATIONS)
    found: set[str] = set()
    for documented in _patterns(fields):
        found |= {_STATUS[v] for v in _states(compiled.tree, documented)}
        if len(found) == len(EXPECTATIONS):
            break
    return frozenset(found)


# --------------------------------------------------------------------------------------
# Thresholds
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Threshold:
    """A numeric operand compared with a number literal."""

    operand: exp.Expr  # a numeric field or a COALESCE of them
    value: float
    text: str  # the comparison as written (for messages)
    low: float  # the operand's catalog range
    high: float
    whole: bool  # the operand holds whole numbers only

    @property
    def operand_text(self) -> str:
        return self.operand.sql(dialect="duckdb")

    def feasible(self, side: str) -> bool:
        """Whether the operand can take a value on ``side`` of the literal within one unit."""
        if side == "at":
            return self.low <= self.value <= self.high and (
                not self.whole or float(self.value).is_integer())
        if side == "below":
            lo = max(self.low, self.value - 1)
            if self.whole:
                return math.ceil(lo) < self.value
            return lo < self.value
        hi = min(self.high, self.value + 1)
        if self.whole:
            return math.floor(hi) > self.value
        return hi > self.value

    def side_of(self, v: float) -> str | None:
        """``below`` / ``at`` / ``above`` when ``v`` is the literal or within one unit of it."""
        if v == self.value:
            return "at"
        if self.value - 1 <= v < self.value:
            return "below"
        if self.value < v <= self.value + 1:
            return "above"
        return None

    def suggestion(self, side: str) -> str:
        v = self.value
        step = 1 if self.whole else (0.1 if side == "below" else 1)
        shown = v if side == "at" else (v - step if side == "below" else v + step)
        if self.whole:
            shown = math.floor(v) if side == "below" and not float(v).is_integer() else shown
            shown = math.ceil(v) if side == "above" and not float(v).is_integer() else shown
        return f"{shown:g}"


def _numeric_domain(e: exp.Expr) -> tuple[float, float, bool] | None:
    """(low, high, whole numbers only) of a numeric operand, or None if ``e`` is not one:
    a numeric field, or a COALESCE of numeric fields and number literals."""
    e = unparen(e)
    if isinstance(e, exp.Column):
        f = FIELDS_BY_NAME.get(e.name)
        if f is None or not f.is_numeric:
            return None
        return (-math.inf if f.minimum is None else f.minimum,
                math.inf if f.maximum is None else f.maximum,
                f.kind is Kind.INTEGER)
    if isinstance(e, exp.Coalesce):
        parts: list[tuple[float, float, bool]] = []
        for arg in (e.this, *e.expressions):
            if is_literal(arg):
                v = literal_value(arg)
                if not isinstance(v, int | float) or isinstance(v, bool):
                    return None
                parts.append((v, v, float(v).is_integer()))
            else:
                d = _numeric_domain(arg)
                if d is None:
                    return None
                parts.append(d)
        if all(is_literal(a) for a in (e.this, *e.expressions)):
            return None
        return (min(p[0] for p in parts), max(p[1] for p in parts), all(p[2] for p in parts))
    return None


def _number(e: exp.Expr) -> float | None:
    if not is_literal(e):
        return None
    v = literal_value(e)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def thresholds(compiled: CompiledExpression) -> list[Threshold]:
    """Every numeric threshold of the expression, in source order (BETWEEN gives two)."""
    out: list[Threshold] = []
    for node in compiled.tree.find_all(*COMPARISONS, exp.Between, bfs=False):
        pairs: list[tuple[exp.Expr, exp.Expr]]
        if isinstance(node, exp.Between):
            pairs = [(node.this, node.args["low"]), (node.this, node.args["high"])]
        elif isinstance(node, exp.Binary):
            pairs = [(node.left, node.right), (node.right, node.left)]
        else:  # pragma: no cover - find_all yields only the comparisons and BETWEEN
            continue
        for operand, literal in pairs:
            value = _number(literal)
            domain = _numeric_domain(operand)
            if value is None or domain is None:
                continue
            out.append(Threshold(unparen(operand), value, node.sql(dialect="duckdb"),
                                 *domain))
    return out


def operand_value(e: exp.Expr, case: Mapping[str, Any]) -> Any:
    """The value of a field / COALESCE / literal operand for a case record (None = NULL)."""
    e = unparen(e)
    if isinstance(e, exp.Column):
        return case.get(e.name)
    if isinstance(e, exp.Coalesce):
        for arg in (e.this, *e.expressions):
            v = operand_value(arg, case)
            if v is not None:
                return v
        return None
    return literal_value(e) if is_literal(e) else None


# --------------------------------------------------------------------------------------
# The rule
# --------------------------------------------------------------------------------------
def coverage_gaps(criterion: Criterion,
                  cases: Iterable[tuple[str, Mapping[str, Any]]] | None = None) -> list[str]:
    """What the criterion's examples leave uncovered, one line each (empty: covered).

    ``cases``: (expect, full case record) pairs; default: the criterion's own examples.
    """
    if cases is None:
        cases = [(e.expect, e.case) for e in criterion.examples]
    cases = list(cases)
    compiled = criterion.expression
    gaps = []
    have = {expect for expect, _ in cases}
    for status in EXPECTATIONS:
        if status in possible_statuses(compiled) and status not in have:
            gaps.append(f"no {status} example")
    for t in thresholds(compiled):
        seen = set()
        for _, case in cases:
            v = operand_value(t.operand, case)
            if isinstance(v, int | float) and not isinstance(v, bool):
                seen.add(t.side_of(v))
        for side in SIDES:
            if side not in seen and t.feasible(side):
                gaps.append(f"threshold {t.text}: no example with {t.operand_text} {side} "
                            f"{t.value:g} (e.g. {t.suggestion(side)})")
    return gaps
