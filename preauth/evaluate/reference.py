"""A small pure-Python reference evaluator — the oracle for differential tests and the
baseline of the benchmark. Not used by the product.

It interprets the checked sqlglot tree with Kleene logic row by row and applies the verdict
rules written out independently of :mod:`preauth.evaluate.verdicts`, returning the same shape
as a row of :meth:`preauth.evaluate.engine.Engine.evaluate`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlglot import exp

from preauth.catalog.fields import CLINICAL_FIELDS, CPT_CODES
from preauth.criteria.expressions import literal_value, unparen
from preauth.criteria.library import Category, Criterion, Library, Policy

__all__ = ["evaluate_case", "judge", "kleene", "trace"]

_FIELD_ORDER = {f.name: i for i, f in enumerate(CLINICAL_FIELDS)}


def _and(values: list[bool | None]) -> bool | None:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _or(values: list[bool | None]) -> bool | None:
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def _compare(op: type[exp.Binary], a: Any, b: Any) -> bool | None:
    if a is None or b is None:
        return None
    if isinstance(a, dt.date) and isinstance(b, str):
        b = dt.date.fromisoformat(b)
    if isinstance(b, dt.date) and isinstance(a, str):
        a = dt.date.fromisoformat(a)
    return {exp.EQ: a == b, exp.NEQ: a != b, exp.GT: a > b, exp.GTE: a >= b,
            exp.LT: a < b, exp.LTE: a <= b}[op]


def _value(e: exp.Expr, case: Mapping[str, Any]) -> Any:
    e = unparen(e)
    if isinstance(e, exp.Column):
        return case.get(e.name)
    if isinstance(e, exp.Coalesce):
        for arg in (e.this, *e.expressions):
            v = _value(arg, case)
            if v is not None:
                return v
        return None
    if isinstance(e, exp.Literal | exp.Boolean | exp.Null | exp.Neg):
        return literal_value(e)
    return kleene(e, case)


def kleene(e: exp.Expr, case: Mapping[str, Any]) -> bool | None:
    """Three-valued truth of a checked expression for one case (None = unknown)."""
    e = unparen(e)
    if isinstance(e, exp.And):
        return _and([kleene(e.left, case), kleene(e.right, case)])
    if isinstance(e, exp.Or):
        return _or([kleene(e.left, case), kleene(e.right, case)])
    if isinstance(e, exp.Not):
        v = kleene(e.this, case)
        return None if v is None else not v
    if isinstance(e, exp.Binary) and type(e) in (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT,
                                                 exp.LTE):
        return _compare(type(e), _value(e.left, case), _value(e.right, case))
    if isinstance(e, exp.In):
        subject = _value(e.this, case)
        results = [_compare(exp.EQ, subject, _value(i, case)) for i in e.expressions]
        return _or(results)
    if isinstance(e, exp.Between):
        v = _value(e.this, case)
        return _and([_compare(exp.GTE, v, _value(e.args["low"], case)),
                     _compare(exp.LTE, v, _value(e.args["high"], case))])
    if isinstance(e, exp.Is):
        return _value(e.this, case) is None
    if isinstance(e, exp.Column | exp.Coalesce | exp.Boolean | exp.Null):
        v = _value(e, case)
        return None if v is None else bool(v)
    raise TypeError(f"reference evaluator cannot interpret {e.sql()!r}")


def _relevant_nulls(e: exp.Expr, case: Mapping[str, Any]) -> set[str]:
    """Fields whose being undocumented makes ``e`` unknown (``e`` is known to be NULL)."""
    e = unparen(e)
    if isinstance(e, exp.Not):
        return _relevant_nulls(e.this, case)
    if isinstance(e, exp.And | exp.Or):
        parts = _flatten(e, type(e))
        out: set[str] = set()
        for p in parts:
            if kleene(p, case) is None:
                out |= _relevant_nulls(p, case)
        return out
    cols = [c.name for c in e.find_all(exp.Column)]
    if len(set(cols)) == 1:
        return set(cols)
    return {c for c in cols if case.get(c) is None}


def _flatten(e: exp.Expr, kind: type[exp.Connector]) -> list[exp.Expr]:
    e = unparen(e)
    if isinstance(e, kind):
        return _flatten(e.left, kind) + _flatten(e.right, kind)
    return [e]


def _rated(c: Criterion, region: str | None, contrast: str | None) -> Category | None:
    if region not in c.regions or contrast is None:
        return None
    r = c.appropriateness.get(contrast)  # type: ignore[call-overload]
    return r.category if r else None


def _decide(policy: Policy, region: str | None, contrast: str | None,
            status: Mapping[str, bool | None]) -> str | None:
    if region is None or contrast is None:
        return None
    for c in policy.criteria:
        if c.kind == "exclusion" and _rated(c, region, contrast) and status[c.id] is True:
            return "does_not_meet"
    supporting = [c for c in policy.criteria if c.kind == "indication"
                  and (cat := _rated(c, region, contrast)) is not None and cat.supports_imaging]
    if any(status[c.id] is True for c in supporting):
        return "meets_criteria"
    if any(status[c.id] is None for c in supporting):
        return "insufficient_documentation"
    return "does_not_meet"


def judge(policy: Policy, region: str | None, contrast: str | None,
          status: Mapping[str, bool | None]) -> dict[str, Any]:
    """The verdict rules on given criterion statuses (id → True / False / None): verdict,
    needs_review, category and the fired / not_met / undocumented / would_flip lists."""
    verdict = _decide(policy, region, contrast, status)
    applicable = [c for c in policy.criteria if _rated(c, region, contrast) is not None]
    flips = []
    if verdict is not None:
        for c in applicable:
            if status[c.id] is True:
                continue
            if _decide(policy, region, contrast, {**status, c.id: True}) != verdict:
                flips.append(c.id)
    best = None
    for c in applicable:
        cat = _rated(c, region, contrast)
        if c.kind == "indication" and status[c.id] is True and cat is not None \
                and (best is None or cat.rank > best.rank):
            best = cat
    strong = any(status[c.id] is True and _rated(c, region, contrast) in
                 (Category.USUALLY_APPROPRIATE, Category.COVERED)
                 for c in applicable if c.kind == "indication")
    return {
        "verdict": verdict,
        "needs_review": verdict == "meets_criteria" and not strong,
        "category": best.value if best else None,
        "fired": [c.id for c in applicable if status[c.id] is True],
        "not_met": [c.id for c in applicable if status[c.id] is False],
        "undocumented": [c.id for c in applicable if status[c.id] is None],
        "would_flip": flips,
    }


def _with_procedure(case: Mapping[str, Any]) -> dict[str, Any]:
    """The case with region and contrast derived from its CPT code where missing."""
    case = dict(case)
    cpt = case.get("cpt_code")
    if cpt in CPT_CODES:
        case.setdefault("region", None)
        case.setdefault("contrast", None)
        case["region"] = case["region"] or CPT_CODES[cpt][0]
        case["contrast"] = case["contrast"] or CPT_CODES[cpt][1]
    return case


def trace(library: Library, case: Mapping[str, Any], policies: list[str] | None = None
          ) -> dict[str, dict[str, list[bool | None]]]:
    """Per policy and criterion, the truth value of every clause in pre-order — the shape of
    the trace of :meth:`Engine.evaluate_case_traced`."""
    case = _with_procedure(case)
    return {p.id: {c.id: [kleene(n.expr, case) for n in c.expression.root.walk()]
                   for c in p.criteria}
            for p in library.select(policies)}


def evaluate_case(library: Library, case: Mapping[str, Any],
                  policies: list[str] | None = None) -> list[dict[str, Any]]:
    """Rows shaped like :meth:`Engine.evaluate` output, computed by the reference rules."""
    case = _with_procedure(case)
    cpt = case.get("cpt_code")
    region, contrast = case.get("region"), case.get("contrast")
    rows = []
    for policy in library.select(policies):
        status = {c.id: kleene(c.expression.tree, case) for c in policy.criteria}
        judged = judge(policy, region, contrast, status)
        fields: set[str] = set()
        if judged["verdict"] == "insufficient_documentation":
            for c in policy.criteria:
                cat = _rated(c, region, contrast)
                if c.kind == "indication" and cat and cat.supports_imaging \
                        and status[c.id] is None:
                    fields |= _relevant_nulls(c.expression.tree, case)
        rows.append({
            "case_id": case.get("case_id"), "policy": policy.id, "cpt_code": cpt,
            "region": region, "contrast": contrast, "verdict": judged["verdict"],
            "needs_review": judged["needs_review"], "category": judged["category"],
            "fired": judged["fired"], "not_met": judged["not_met"],
            "undocumented": judged["undocumented"], "would_flip": judged["would_flip"],
            "undocumented_fields": sorted(fields, key=lambda f: _FIELD_ORDER.get(f, 10_000)),
        })
    return rows
