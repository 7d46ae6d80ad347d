"""Package-internal: what the expression modules share about a parsed expression — the
dialect, the error type, how a node is quoted in a message, literals and the operands of
AND / OR chains. Public names are re-exported by :mod:`preauth.criteria.expressions`."""

from __future__ import annotations

import math
from typing import TypeGuard

from sqlglot import exp

__all__ = [
    "COMPARISONS",
    "MAX_NUMBER_DIGITS",
    "PARSE_DIALECT",
    "ExpressionError",
    "fields_of",
    "flatten",
    "is_comparison",
    "is_literal",
    "literal_value",
    "number",
    "quoted",
    "shown",
    "token",
    "unparen",
]

PARSE_DIALECT = "duckdb"
MAX_NUMBER_DIGITS = 30  # characters of one number literal

# The comparison nodes accepted, with the operator as a reader writes it.
COMPARISONS: dict[type[exp.Binary], str] = {
    exp.EQ: "=",
    exp.NEQ: "≠",
    exp.GT: ">",
    exp.GTE: "≥",
    exp.LT: "<",
    exp.LTE: "≤",
}


def is_comparison(node: exp.Expr) -> TypeGuard[exp.Binary]:
    """Whether ``node`` is one of the :data:`COMPARISONS` (its exact class, not a subclass)."""
    return type(node) in COMPARISONS


class ExpressionError(ValueError):
    """An expression is not in the accepted language; ``token`` names the offending part."""

    def __init__(self, message: str, token: str | None = None) -> None:
        super().__init__(message)
        self.token = token


def token(node: exp.Expr) -> str:
    """A node as written (regenerated from the tree), for ``ExpressionError.token``."""
    try:
        return node.sql(dialect=PARSE_DIALECT)
    except Exception:  # pragma: no cover - defensive: sqlglot cannot print some nodes
        return type(node).__name__


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` for a message, shortened to about ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 2] + "…" + text[-1]


def quoted(node: exp.Expr) -> str:
    """A node as written, quoted and shortened, for a message."""
    return shown(token(node))


def unparen(e: exp.Expr) -> exp.Expr:
    """``e`` without the parentheses around it."""
    while isinstance(e, exp.Paren):
        e = e.this
    return e


def literal_value(node: exp.Expr) -> object:
    """The Python value of a literal node (number, string, bool or None)."""
    if isinstance(node, exp.Paren):
        return literal_value(node.this)
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Neg):
        inner = literal_value(node.this)
        if isinstance(inner, int | float) and not isinstance(inner, bool):
            return -inner
        raise ExpressionError(f"'-' applies to numbers only, not {quoted(node.this)}",
                              token(node))
    if isinstance(node, exp.Literal):
        if node.is_string:
            return str(node.this)
        return number(str(node.this))
    raise ExpressionError(f"not a literal: {quoted(node)}", token(node))


def number(text: str) -> int | float:
    """A number literal's value: at most :data:`MAX_NUMBER_DIGITS` characters and finite
    (so no conversion limit, overflow or infinity reaches Python, DuckDB or Spark)."""
    cut = text if len(text) <= 40 else text[:37] + "…"
    if len(text) > MAX_NUMBER_DIGITS:
        raise ExpressionError(f"number {cut} has more than {MAX_NUMBER_DIGITS} characters",
                              cut)
    try:
        value: int | float = float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        raise ExpressionError(f"{cut!r} is not a number", cut) from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError(f"number {cut} is too large", cut)
    return value


def is_literal(node: exp.Expr) -> bool:
    """Whether ``node`` is a constant: a number (maybe negated), string, boolean or NULL."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Neg):
        return is_literal(node.this)
    return isinstance(node, exp.Literal | exp.Boolean | exp.Null)


def flatten(e: exp.Expr, kind: type[exp.Connector]) -> list[exp.Expr]:
    """The operands of a chain of ``kind`` (AND or OR) in source order, parentheses
    dropped. Iterative: a long chain is a deep (left-leaning) tree."""
    out: list[exp.Expr] = []
    stack = [e]
    while stack:
        e = unparen(stack.pop())
        if isinstance(e, kind):
            stack += (e.right, e.left)
        else:
            out.append(e)
    return out


def fields_of(e: exp.Expr) -> tuple[str, ...]:
    """The field names ``e`` reads, in source order, each once."""
    seen: dict[str, None] = {}
    for col in e.find_all(exp.Column, bfs=False):
        seen.setdefault(col.name, None)
    return tuple(seen)
