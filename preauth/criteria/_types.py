"""Package-internal: the static types of expression operands and what a literal may be.

A type is a string: ``"boolean"``, ``"number"``, ``"date"``, ``"null"``, ``"text"``,
``"enum:<field name>"`` (a string constrained to that field's allowed values) or ``"string"``
(a bare text literal). :func:`require_compatible` says which two types may meet in a
comparison, IN or COALESCE; :func:`literal_fits` checks a literal against what it meets (a
value of the enum, a strict ISO date, a number within the field's range), so that whatever
the checker accepts also runs on DuckDB and Spark.
"""

from __future__ import annotations

import datetime as dt
import re
import sys

from sqlglot import exp

from preauth.catalog.fields import FIELDS_BY_NAME, Field, Kind
from preauth.criteria._syntax import (
    ExpressionError,
    is_literal,
    literal_value,
    quoted,
    shown,
    token,
    unparen,
)

__all__ = ["check_date", "describe_type", "field_type", "literal_fits", "require_compatible"]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_INT32 = (-(2**31), 2**31 - 1)  # the SQL INTEGER of Kind.INTEGER fields
_DOUBLE = (-sys.float_info.max, sys.float_info.max)  # the SQL DOUBLE of Kind.NUMBER fields


def field_type(f: Field) -> str:
    """The type of a reference to field ``f``."""
    if f.kind is Kind.BOOLEAN:
        return "boolean"
    if f.is_numeric:
        return "number"
    if f.kind is Kind.DATE:
        return "date"
    if f.kind is Kind.ENUM:
        return f"enum:{f.name}"
    return "text"


def describe_type(t: str) -> str:
    """A type in words, for a message."""
    if t.startswith("enum:"):
        f = FIELDS_BY_NAME[t[5:]]
        return f"value of {f.name} ({', '.join(f.values)})"
    return {"boolean": "true/false value", "number": "number", "date": "date",
            "string": "text literal", "null": "NULL", "text": "text"}.get(t, t)


def require_compatible(lt: str, left: exp.Expr, rt: str, right: exp.Expr,
                       op: str, whole: exp.Expr) -> None:
    """Refuse ``left`` (of type ``lt``) meeting ``right`` (``rt``) in ``whole`` unless the
    comparison means something: same type, numbers, an enum and a string, a date and a
    string, or two enums sharing values. Comparing with NULL is refused too."""
    if "null" in (lt, rt):
        raise ExpressionError(
            f"comparing with NULL is always unknown; use IS NULL / IS NOT NULL in "
            f"{quoted(whole)}", token(whole))
    ok = (
        lt == rt
        or {lt, rt} <= {"number"}
        or (lt.startswith("enum:") and rt == "string")
        or (rt.startswith("enum:") and lt == "string")
        or {lt, rt} == {"date", "string"}
        or (lt.startswith("enum:") and rt.startswith("enum:")
            and bool(set(FIELDS_BY_NAME[lt[5:]].values) & set(FIELDS_BY_NAME[rt[5:]].values)))
    )
    if not ok:
        raise ExpressionError(
            f"type mismatch in {quoted(whole)}: {quoted(left)} is a {describe_type(lt)} but "
            f"{quoted(right)} is a {describe_type(rt)}", token(right))


def literal_fits(other: exp.Expr, t: str, lit: exp.Expr) -> None:
    """``lit`` meets ``other`` (of type ``t``): it must be a value ``other`` can take."""
    value = literal_value(lit)
    if t.startswith("enum:"):
        f = FIELDS_BY_NAME[t[5:]]
        if value not in f.values:
            raise ExpressionError(
                f"{shown(value)} is not a value of {f.name} (allowed: "
                f"{', '.join(f.values)})",
                token(lit))
    elif t == "date":
        check_date(value, lit)
    elif t == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        domain = _domain(other)
        if domain is None:
            return
        lo, hi, what = domain
        if not lo <= value <= hi:
            raise ExpressionError(
                f"{token(lit)} is out of range for {what} "
                f"(from {_fmt(lo)} to {_fmt(hi)})", token(lit))


def check_date(value: object, lit: exp.Expr) -> None:
    """A date literal is strictly YYYY-MM-DD and a real day (what DuckDB and Spark cast)."""
    cut = repr(value) if len(str(value)) <= 40 else repr(str(value)[:37] + "…")
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ExpressionError(f"{cut} is not an ISO date (YYYY-MM-DD)", token(lit))
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ExpressionError(f"{cut} is not a real date (YYYY-MM-DD)", token(lit)) from None


def _field_domain(f: Field) -> tuple[float, float]:
    """The values a numeric field can hold: its catalog range within its SQL type."""
    lo, hi = _INT32 if f.kind is Kind.INTEGER else _DOUBLE
    if f.minimum is not None:
        lo = max(lo, f.minimum)
    if f.maximum is not None:
        hi = min(hi, f.maximum)
    return lo, hi


def _domain(e: exp.Expr) -> tuple[float, float, str] | None:
    """(low, high, description) of the values a numeric field expression can take: a
    field's catalog range, or for COALESCE the span of its fields' ranges."""
    e = unparen(e)
    if isinstance(e, exp.Column) and (f := FIELDS_BY_NAME.get(e.name)) and f.is_numeric:
        lo, hi = _field_domain(f)
        return lo, hi, f.name
    if isinstance(e, exp.Coalesce):
        spans = [d for a in (e.this, *e.expressions) if not is_literal(a)
                 and (d := _domain(a)) is not None]
        if spans:
            return (min(d[0] for d in spans), max(d[1] for d in spans),
                    "COALESCE(" + ", ".join(d[2] for d in spans) + ")")
    return None


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e16 else f"{x:g}"
