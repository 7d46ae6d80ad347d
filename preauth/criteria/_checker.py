"""Package-internal: the whitelist. :class:`Checker` walks a parsed expression, refuses any
node outside the accepted grammar (naming the offending token) and infers each node's type
(:mod:`preauth.criteria._types`), so type mismatches such as ``age = 'old'`` and literals a
field cannot hold are refused at load time."""

from __future__ import annotations

import re

from sqlglot import exp

from preauth.catalog.fields import FIELDS_BY_NAME, Kind
from preauth.criteria._syntax import (
    COMPARISONS,
    ExpressionError,
    flatten,
    is_literal,
    number,
    quoted,
    shown,
    token,
)
from preauth.criteria._types import (
    describe_type,
    field_type,
    literal_fits,
    require_compatible,
)

__all__ = ["Checker"]

# Fields a criterion may not reference: identifiers and payer outcomes are not clinical facts.
_FORBIDDEN_KINDS = {Kind.TEXT}

class Checker:
    """Walks a parsed tree, refusing anything outside the whitelist, and infers types.

    Every literal is checked against what it meets, so that whatever is accepted also runs:
    a value of the enum, a strict ISO date, a number within the field's range. Types are
    memoised per node (each node is checked once) and AND / OR chains are walked without
    recursion, so the work is linear and the recursion depth is the nesting depth.
    ``fields`` collects the catalog fields read.
    """

    def __init__(self, source: str = "") -> None:
        self.fields: set[str] = set()
        self.source = source
        self._types: dict[int, str] = {}

    def check(self, node: exp.Expr) -> str:
        """The type of ``node``; raises :class:`ExpressionError` if it is not accepted."""
        t = self._types.get(id(node))
        if t is None:
            method = getattr(self, f"_check_{type(node).__name__}", None)
            if method is None:
                msg, tok = self._refusal(node)
                raise ExpressionError(msg, tok)
            t = self._types[id(node)] = method(node)
        return t

    def _as_written(self, name: str) -> str:
        """``name`` as the author spelled it in the source (sqlglot upper-cases some)."""
        m = re.search(re.escape(name), self.source, flags=re.IGNORECASE)
        return m.group(0) if m else name

    def _refusal(self, node: exp.Expr) -> tuple[str, str]:
        tok = token(node)
        if isinstance(node, exp.Func | exp.Anonymous):
            name = str(node.this) if isinstance(node, exp.Anonymous) else (
                node.sql_name() if hasattr(node, "sql_name") else type(node).__name__)
            name = self._as_written(name)
            return (f"function call {name}(...) is not allowed in a criterion "
                    f"(only COALESCE is); offending token: {shown(name)}", name)
        if isinstance(node, exp.Query | exp.Subquery):
            return f"subqueries are not allowed in a criterion; offending token: {shown(tok)}", tok
        return f"{type(node).__name__.lower()} is not allowed in a criterion: {shown(tok)}", tok

    # -- structure -----------------------------------------------------------------------
    def _check_Paren(self, node: exp.Paren) -> str:
        return self.check(node.this)

    def _bool_operand(self, node: exp.Expr, op: str) -> None:
        t = self.check(node)
        if t not in ("boolean", "null"):
            raise ExpressionError(
                f"{op} needs true/false operands, but {quoted(node)} is a {describe_type(t)}",
                token(node))

    def _connector(self, node: exp.Connector) -> str:
        op = "AND" if isinstance(node, exp.And) else "OR"
        for part in flatten(node, type(node)):
            self._bool_operand(part, op)
        return "boolean"

    _check_And = _check_Or = _connector

    def _check_Not(self, node: exp.Not) -> str:
        self._bool_operand(node.this, "NOT")
        return "boolean"

    # -- atoms ---------------------------------------------------------------------------
    def _check_Column(self, node: exp.Column) -> str:
        if node.table or node.args.get("db") or node.args.get("catalog"):
            raise ExpressionError(f"qualified column names are not allowed: {quoted(node)}",
                                  token(node))
        name = node.name
        f = FIELDS_BY_NAME.get(name)
        if f is None:
            lowered = FIELDS_BY_NAME.get(name.lower())
            hint = f" (did you mean {lowered.name!r}?)" if lowered else ""
            raise ExpressionError(f"unknown field {shown(name)}{hint}", name)
        if f.outcome:
            raise ExpressionError(
                f"field {shown(name)} is a payer outcome, not a clinical fact; criteria may not "
                f"use it", name)
        if f.kind in _FORBIDDEN_KINDS:
            raise ExpressionError(f"field {shown(name)} is an identifier; criteria may not use it",
                                  name)
        self.fields.add(f.name)
        return field_type(f)

    def _check_Literal(self, node: exp.Literal) -> str:
        if node.is_string:
            return "string"
        number(str(node.this))  # bounded and finite wherever it appears
        return "number"

    def _check_Boolean(self, node: exp.Boolean) -> str:
        return "boolean"

    def _check_Null(self, node: exp.Null) -> str:
        return "null"

    def _check_Neg(self, node: exp.Neg) -> str:
        if not isinstance(node.this, exp.Literal) or node.this.is_string:
            raise ExpressionError(f"'-' applies to number literals only: {quoted(node)}",
                                  token(node))
        self.check(node.this)
        return "number"

    # -- predicates ----------------------------------------------------------------------
    def _compare(self, left: exp.Expr, right: exp.Expr, op: str,
                 whole: exp.Expr) -> None:
        lt, rt = self.check(left), self.check(right)
        require_compatible(lt, left, rt, right, op, whole)
        if is_literal(left) and is_literal(right):
            raise ExpressionError(
                f"{quoted(whole)} compares two constants; a condition compares a case "
                f"field with a value or another field", token(whole))
        if is_literal(right):
            literal_fits(left, lt, right)
        elif is_literal(left):
            literal_fits(right, rt, left)

    def _cmp(self, node: exp.Binary) -> str:
        op = COMPARISONS[type(node)]
        self._compare(node.left, node.right, op, node)
        if op not in ("=", "≠"):
            types = {self.check(node.left), self.check(node.right)}
            for side in (node.left, node.right):
                t = self.check(side)
                if t == "string" and "date" in types:
                    continue  # an ISO date literal compared with a date field
                if t.startswith("enum:") or t in ("boolean", "string"):
                    raise ExpressionError(
                        f"ordering comparison {op} is not meaningful for "
                        f"{quoted(side)} ({describe_type(t)})", token(node))
        return "boolean"

    _check_EQ = _check_NEQ = _check_GT = _check_GTE = _check_LT = _check_LTE = _cmp

    def _check_In(self, node: exp.In) -> str:
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
            raise ExpressionError(f"IN takes a list of literals only: {quoted(node)}",
                                  token(node))
        subject = node.this
        st = self.check(subject)
        items = node.expressions
        if not items:
            raise ExpressionError(f"IN needs at least one value: {quoted(node)}",
                                  token(node))
        if is_literal(subject):
            raise ExpressionError(
                f"{quoted(node)} tests a constant; IN tests a case field", token(subject))
        for item in items:
            if not is_literal(item):
                raise ExpressionError(f"IN takes literals only, not {quoted(item)}",
                                      token(item))
            it = self.check(item)
            require_compatible(st, subject, it, item, "IN", node)
            literal_fits(subject, st, item)
        return "boolean"

    def _check_Between(self, node: exp.Between) -> str:
        st = self.check(node.this)
        if st not in ("number", "date"):
            raise ExpressionError(
                f"BETWEEN needs a number or date field, not {quoted(node.this)}",
                token(node))
        for bound in (node.args["low"], node.args["high"]):
            self._compare(node.this, bound, "BETWEEN", node)
        return "boolean"

    def _check_Is(self, node: exp.Is) -> str:
        if not isinstance(node.expression, exp.Null):
            raise ExpressionError(
                f"only IS NULL / IS NOT NULL are allowed, not {quoted(node)}", token(node))
        self.check(node.this)
        return "boolean"

    def _check_Coalesce(self, node: exp.Coalesce) -> str:
        args = [node.this, *node.expressions]
        types = [self.check(a) for a in args]
        fields = [(a, t) for a, t in zip(args, types, strict=True) if not is_literal(a)]
        if not fields:
            raise ExpressionError(
                f"{quoted(node)} has no case field; COALESCE picks the first documented "
                f"field, with a value as the fallback", token(node))
        first, result = fields[0]
        for a, t in zip(args, types, strict=True):
            if t == "null":
                raise ExpressionError(f"NULL as an argument of {quoted(node)} has no "
                                      f"effect; leave it out", token(a))
            require_compatible(result, first, t, a, "COALESCE", node)
            if is_literal(a):
                literal_fits(node, result, a)
        return result
