"""Criterion expressions: parse with sqlglot, check against a whitelist and the field catalog,
compile to DuckDB / Spark SQL, and expose a clause tree for traces and plain-words reading.

The grammar accepted is deliberately small: catalog columns, literals, comparisons
(= <> != < <= > >=), AND / OR / NOT, IN (...), BETWEEN, IS [NOT] NULL, COALESCE and
parentheses. Everything else — function calls, subqueries, ``;``, unknown columns, type
mismatches such as ``age = 'old'``, enum values the catalog does not know — raises
:class:`ExpressionError` naming the offending token. Nothing is ever ``eval``-ed and no
string is concatenated into SQL: the SQL we run is regenerated from the checked tree.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.tokens import TokenType

from preauth.catalog.fields import FIELDS_BY_NAME, Field, Kind

__all__ = [
    "CompiledExpression",
    "ExpressionError",
    "Node",
    "compile_expression",
    "is_literal",
    "literal_value",
    "unparen",
]

# Limits on one criterion's expression, checked before sqlglot parses it (its parser recurses
# about 25 Python frames per nesting level, so deep nesting would otherwise end in a
# RecursionError) and bounding the work of checking, compiling and evaluating it. The bundled
# criteria need at most 311 characters, 50 parts and nesting 2.
MAX_EXPRESSION_LENGTH = 3000
MAX_EXPRESSION_NODES = 500  # tokens before parsing, syntax-tree nodes after
MAX_NESTING_DEPTH = 10  # parentheses / brackets plus stacked prefix operators (NOT, -)
MAX_NUMBER_DIGITS = 30  # characters of one number literal
PARSE_DIALECT = "duckdb"

# Fields a criterion may not reference: identifiers and payer outcomes are not clinical facts.
_FORBIDDEN_KINDS = {Kind.TEXT}

_COMPARISONS: dict[type[exp.Expression], str] = {
    exp.EQ: "=",
    exp.NEQ: "≠",
    exp.GT: ">",
    exp.GTE: "≥",
    exp.LT: "<",
    exp.LTE: "≤",
}


class ExpressionError(ValueError):
    """An expression is not in the accepted language; ``token`` names the offending part."""

    def __init__(self, message: str, token: str | None = None) -> None:
        super().__init__(message)
        self.token = token


# --------------------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------------------
# An expression's static type: "boolean", "number", "date", "null" or "enum:<field name>"
# (a string constrained to that field's allowed values) or "string" (a bare text literal).


def _field_type(f: Field) -> str:
    if f.kind is Kind.BOOLEAN:
        return "boolean"
    if f.is_numeric:
        return "number"
    if f.kind is Kind.DATE:
        return "date"
    if f.kind is Kind.ENUM:
        return f"enum:{f.name}"
    return "text"


def _token(node: exp.Expression) -> str:
    try:
        return node.sql(dialect=PARSE_DIALECT)
    except Exception:  # pragma: no cover - defensive: sqlglot cannot print some nodes
        return type(node).__name__


def _shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` for a message, shortened to about ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 2] + "…" + text[-1]


def _q(node: exp.Expression) -> str:
    """A node as written, quoted and shortened, for a message."""
    return _shown(_token(node))


def literal_value(node: exp.Expression) -> object:
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
        raise ExpressionError(f"'-' applies to numbers only, not {_q(node.this)}",
                              _token(node))
    if isinstance(node, exp.Literal):
        if node.is_string:
            return str(node.this)
        return _number(str(node.this))
    raise ExpressionError(f"not a literal: {_q(node)}", _token(node))


def _number(text: str) -> int | float:
    """A number literal's value: at most :data:`MAX_NUMBER_DIGITS` characters and finite
    (so no conversion limit, overflow or infinity reaches Python, DuckDB or Spark)."""
    shown = text if len(text) <= 40 else text[:37] + "…"
    if len(text) > MAX_NUMBER_DIGITS:
        raise ExpressionError(f"number {shown} has more than {MAX_NUMBER_DIGITS} characters",
                              shown)
    try:
        value: int | float = float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        raise ExpressionError(f"{shown!r} is not a number", shown) from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError(f"number {shown} is too large", shown)
    return value


def is_literal(node: exp.Expression) -> bool:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Neg):
        return is_literal(node.this)
    return isinstance(node, exp.Literal | exp.Boolean | exp.Null)


class _Checker:
    """Walks a parsed tree, refusing anything outside the whitelist, and infers types.

    Every literal is checked against what it meets, so that whatever is accepted also runs:
    a value of the enum, a strict ISO date, a number within the field's range. Types are
    memoised per node (each node is checked once) and AND / OR chains are walked without
    recursion, so the work is linear and the recursion depth is the nesting depth.
    """

    def __init__(self, source: str = "") -> None:
        self.fields: set[str] = set()
        self.source = source
        self._types: dict[int, str] = {}

    def check(self, node: exp.Expression) -> str:
        t = self._types.get(id(node))
        if t is None:
            method = getattr(self, f"_check_{type(node).__name__}", None)
            if method is None:
                msg, token = self._refusal(node)
                raise ExpressionError(msg, token)
            t = self._types[id(node)] = method(node)
        return t

    def _as_written(self, name: str) -> str:
        """``name`` as the author spelled it in the source (sqlglot upper-cases some)."""
        m = re.search(re.escape(name), self.source, flags=re.IGNORECASE)
        return m.group(0) if m else name

    def _refusal(self, node: exp.Expression) -> tuple[str, str]:
        tok = _token(node)
        if isinstance(node, exp.Func | exp.Anonymous):
            name = str(node.this) if isinstance(node, exp.Anonymous) else (
                node.sql_name() if hasattr(node, "sql_name") else type(node).__name__)
            name = self._as_written(name)
            return (f"function call {name}(...) is not allowed in a criterion "
                    f"(only COALESCE is); offending token: {_shown(name)}", name)
        if isinstance(node, exp.Query | exp.Subquery):
            return f"subqueries are not allowed in a criterion; offending token: {_shown(tok)}", tok
        return f"{type(node).__name__.lower()} is not allowed in a criterion: {_shown(tok)}", tok

    # -- structure -----------------------------------------------------------------------
    def _check_Paren(self, node: exp.Paren) -> str:
        return self.check(node.this)

    def _bool_operand(self, node: exp.Expression, op: str) -> None:
        t = self.check(node)
        if t not in ("boolean", "null"):
            raise ExpressionError(
                f"{op} needs true/false operands, but {_q(node)} is a {_describe(t)}",
                _token(node))

    def _connector(self, node: exp.Connector) -> str:
        op = "AND" if isinstance(node, exp.And) else "OR"
        for part in _flatten(node, type(node)):
            self._bool_operand(part, op)
        return "boolean"

    _check_And = _check_Or = _connector

    def _check_Not(self, node: exp.Not) -> str:
        self._bool_operand(node.this, "NOT")
        return "boolean"

    # -- atoms ---------------------------------------------------------------------------
    def _check_Column(self, node: exp.Column) -> str:
        if node.table or node.args.get("db") or node.args.get("catalog"):
            raise ExpressionError(f"qualified column names are not allowed: {_q(node)}",
                                  _token(node))
        name = node.name
        f = FIELDS_BY_NAME.get(name)
        if f is None:
            lowered = FIELDS_BY_NAME.get(name.lower())
            hint = f" (did you mean {lowered.name!r}?)" if lowered else ""
            raise ExpressionError(f"unknown field {_shown(name)}{hint}", name)
        if f.outcome:
            raise ExpressionError(
                f"field {_shown(name)} is a payer outcome, not a clinical fact; criteria may not "
                f"use it", name)
        if f.kind in _FORBIDDEN_KINDS:
            raise ExpressionError(f"field {_shown(name)} is an identifier; criteria may not use it",
                                  name)
        self.fields.add(f.name)
        return _field_type(f)

    def _check_Literal(self, node: exp.Literal) -> str:
        if node.is_string:
            return "string"
        _number(str(node.this))  # bounded and finite wherever it appears
        return "number"

    def _check_Boolean(self, node: exp.Boolean) -> str:
        return "boolean"

    def _check_Null(self, node: exp.Null) -> str:
        return "null"

    def _check_Neg(self, node: exp.Neg) -> str:
        if not isinstance(node.this, exp.Literal) or node.this.is_string:
            raise ExpressionError(f"'-' applies to number literals only: {_q(node)}",
                                  _token(node))
        self.check(node.this)
        return "number"

    # -- predicates ----------------------------------------------------------------------
    def _compare(self, left: exp.Expression, right: exp.Expression, op: str,
                 whole: exp.Expression) -> None:
        lt, rt = self.check(left), self.check(right)
        _require_compatible(lt, left, rt, right, op, whole)
        if is_literal(left) and is_literal(right):
            raise ExpressionError(
                f"{_q(whole)} compares two constants; a condition compares a case "
                f"field with a value or another field", _token(whole))
        if is_literal(right):
            self._literal_fits(left, lt, right)
        elif is_literal(left):
            self._literal_fits(right, rt, left)

    def _cmp(self, node: exp.Binary) -> str:
        op = _COMPARISONS[type(node)]
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
                        f"{_q(side)} ({_describe(t)})", _token(node))
        return "boolean"

    _check_EQ = _check_NEQ = _check_GT = _check_GTE = _check_LT = _check_LTE = _cmp

    def _check_In(self, node: exp.In) -> str:
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
            raise ExpressionError(f"IN takes a list of literals only: {_q(node)}",
                                  _token(node))
        subject = node.this
        st = self.check(subject)
        items = node.expressions
        if not items:
            raise ExpressionError(f"IN needs at least one value: {_q(node)}",
                                  _token(node))
        if is_literal(subject):
            raise ExpressionError(
                f"{_q(node)} tests a constant; IN tests a case field", _token(subject))
        for item in items:
            if not is_literal(item):
                raise ExpressionError(f"IN takes literals only, not {_q(item)}",
                                      _token(item))
            it = self.check(item)
            _require_compatible(st, subject, it, item, "IN", node)
            self._literal_fits(subject, st, item)
        return "boolean"

    def _check_Between(self, node: exp.Between) -> str:
        st = self.check(node.this)
        if st not in ("number", "date"):
            raise ExpressionError(
                f"BETWEEN needs a number or date field, not {_q(node.this)}",
                _token(node))
        for bound in (node.args["low"], node.args["high"]):
            self._compare(node.this, bound, "BETWEEN", node)
        return "boolean"

    def _check_Is(self, node: exp.Is) -> str:
        if not isinstance(node.expression, exp.Null):
            raise ExpressionError(
                f"only IS NULL / IS NOT NULL are allowed, not {_q(node)}", _token(node))
        self.check(node.this)
        return "boolean"

    def _check_Coalesce(self, node: exp.Coalesce) -> str:
        args = [node.this, *node.expressions]
        types = [self.check(a) for a in args]
        fields = [(a, t) for a, t in zip(args, types, strict=True) if not is_literal(a)]
        if not fields:
            raise ExpressionError(
                f"{_q(node)} has no case field; COALESCE picks the first documented "
                f"field, with a value as the fallback", _token(node))
        first, result = fields[0]
        for a, t in zip(args, types, strict=True):
            if t == "null":
                raise ExpressionError(f"NULL as an argument of {_q(node)} has no "
                                      f"effect; leave it out", _token(a))
            _require_compatible(result, first, t, a, "COALESCE", node)
            if is_literal(a):
                self._literal_fits(node, result, a)
        return result

    # -- literals ------------------------------------------------------------------------
    def _literal_fits(self, other: exp.Expression, t: str, lit: exp.Expression) -> None:
        """``lit`` meets ``other`` (of type ``t``): it must be a value ``other`` can take."""
        value = literal_value(lit)
        if t.startswith("enum:"):
            f = FIELDS_BY_NAME[t[5:]]
            if value not in f.values:
                raise ExpressionError(
                    f"{_shown(value)} is not a value of {f.name} (allowed: "
                    f"{', '.join(f.values)})",
                    _token(lit))
        elif t == "date":
            _check_date(value, lit)
        elif t == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            domain = _domain(other)
            if domain is None:
                return
            lo, hi, what = domain
            if not lo <= value <= hi:
                raise ExpressionError(
                    f"{_token(lit)} is out of range for {what} "
                    f"(from {_fmt(lo)} to {_fmt(hi)})", _token(lit))


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_INT32 = (-(2**31), 2**31 - 1)  # the SQL INTEGER of Kind.INTEGER fields
_DOUBLE = (-sys.float_info.max, sys.float_info.max)  # the SQL DOUBLE of Kind.NUMBER fields


def _check_date(value: object, lit: exp.Expression) -> None:
    """A date literal is strictly YYYY-MM-DD and a real day (what DuckDB and Spark cast)."""
    shown = repr(value) if len(str(value)) <= 40 else repr(str(value)[:37] + "…")
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ExpressionError(f"{shown} is not an ISO date (YYYY-MM-DD)", _token(lit))
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ExpressionError(f"{shown} is not a real date (YYYY-MM-DD)", _token(lit)) from None


def _field_domain(f: Field) -> tuple[float, float]:
    """The values a numeric field can hold: its catalog range within its SQL type."""
    lo, hi = _INT32 if f.kind is Kind.INTEGER else _DOUBLE
    if f.minimum is not None:
        lo = max(lo, f.minimum)
    if f.maximum is not None:
        hi = min(hi, f.maximum)
    return lo, hi


def _domain(e: exp.Expression) -> tuple[float, float, str] | None:
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


def _describe(t: str) -> str:
    if t.startswith("enum:"):
        f = FIELDS_BY_NAME[t[5:]]
        return f"value of {f.name} ({', '.join(f.values)})"
    return {"boolean": "true/false value", "number": "number", "date": "date",
            "string": "text literal", "null": "NULL", "text": "text"}.get(t, t)


def _require_compatible(lt: str, left: exp.Expression, rt: str, right: exp.Expression,
                        op: str, whole: exp.Expression) -> None:
    if "null" in (lt, rt):
        raise ExpressionError(
            f"comparing with NULL is always unknown; use IS NULL / IS NOT NULL in "
            f"{_q(whole)}", _token(whole))
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
            f"type mismatch in {_q(whole)}: {_q(left)} is a {_describe(lt)} but "
            f"{_q(right)} is a {_describe(rt)}", _token(right))


# --------------------------------------------------------------------------------------
# Clause tree
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    """One clause of a criterion: AND/OR/NOT over children, or a leaf predicate."""

    kind: str  # "and" | "or" | "not" | "leaf"
    expr: exp.Expression = field(repr=False, compare=False)
    children: tuple[Node, ...] = ()
    fields: tuple[str, ...] = ()

    def sql(self, dialect: str = "duckdb") -> str:
        # memoised per dialect: the library keys leaves by it and the engine builds its SQL
        # from it, and generating SQL from a tree is the costly part of both
        cache: dict[str, str] = self.__dict__.setdefault("_sql", {})
        text = cache.get(dialect)
        if text is None:
            text = cache[dialect] = self.expr.sql(dialect=dialect, identify=True)
        return text

    @property
    def text(self) -> str:
        """The clause as written (normalised spacing), for display."""
        return self.expr.sql(dialect=PARSE_DIALECT, pretty=False)

    def walk(self) -> Iterator[Node]:
        yield self
        for c in self.children:
            yield from c.walk()


def unparen(e: exp.Expression) -> exp.Expression:
    while isinstance(e, exp.Paren):
        e = e.this
    return e


def _flatten(e: exp.Expression, kind: type[exp.Connector]) -> list[exp.Expression]:
    """The operands of a chain of ``kind`` (AND or OR) in source order, parentheses
    dropped. Iterative: a long chain is a deep (left-leaning) tree."""
    out: list[exp.Expression] = []
    stack = [e]
    while stack:
        e = unparen(stack.pop())
        if isinstance(e, kind):
            stack += (e.right, e.left)
        else:
            out.append(e)
    return out


def _fields_of(e: exp.Expression) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for col in e.find_all(exp.Column, bfs=False):
        seen.setdefault(col.name, None)
    return tuple(seen)


def _build(e: exp.Expression) -> Node:
    e = unparen(e)
    if isinstance(e, exp.And | exp.Or):
        parts = _flatten(e, type(e))
        return Node("and" if isinstance(e, exp.And) else "or", e,
                    tuple(_build(p) for p in parts), _fields_of(e))
    if isinstance(e, exp.Not) and isinstance(unparen(e.this), exp.And | exp.Or | exp.Not):
        return Node("not", e, (_build(e.this),), _fields_of(e))
    return Node("leaf", e, (), _fields_of(e))


# --------------------------------------------------------------------------------------
# Compiled expression
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CompiledExpression:
    source: str
    tree: exp.Expression = field(repr=False, compare=False)
    fields: tuple[str, ...] = ()
    size: int = 0  # syntax-tree nodes

    def sql(self, dialect: str = "duckdb") -> str:
        return self.tree.sql(dialect=dialect, identify=True)

    def pretty(self) -> str:
        return self.tree.sql(dialect=PARSE_DIALECT, pretty=True)

    @cached_property
    def root(self) -> Node:
        return _build(self.tree)

    def null_conditions(self, dialect: str = "duckdb",
                        ref: Callable[[Node], str] | None = None) -> dict[str, str]:
        """For each field, a SQL condition that holds exactly when the expression is NULL
        *because of* that field being undocumented (Kleene logic: a NULL operand of an AND
        whose other operands are all TRUE, of an OR whose others are all FALSE, ...).

        Only meaningful where the whole expression IS NULL; callers AND it with that.
        ``ref(node)`` gives the SQL for a clause's value (default: the clause inlined); the
        engine passes column references so the SQL stays linear in size.
        """
        if ref is None:
            def ref(node: Node) -> str:
                return f"({node.sql(dialect)})"
        return _null_conditions(self.root, dialect, ref)


def _or(parts: list[str]) -> str:
    parts = [p for p in parts if p != "FALSE"]
    if not parts:
        return "FALSE"
    if "TRUE" in parts:
        return "TRUE"
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


def _null_conditions(node: Node, dialect: str, ref: Callable[[Node], str]) -> dict[str, str]:
    if node.kind == "leaf":
        # A leaf predicate over fields and literals is NULL only if one of its fields is;
        # with one field that field alone decides it. With several, name each NULL one.
        if len(node.fields) == 1:
            return {node.fields[0]: "TRUE"}
        quoted = {f: exp.column(f, quoted=True).sql(dialect=dialect) for f in node.fields}
        return {f: f"({q} IS NULL)" for f, q in quoted.items()}
    if node.kind == "not":
        return _null_conditions(node.children[0], dialect, ref)
    # AND / OR: the expression is NULL (given) so no child decides it by itself; each child
    # that is NULL contributes its own deciding fields.
    acc: dict[str, list[str]] = {}
    for child in node.children:
        child_null = f"({ref(child)} IS NULL)"
        for f, cond in _null_conditions(child, dialect, ref).items():
            acc.setdefault(f, []).append(child_null if cond == "TRUE"
                                         else f"({child_null} AND {cond})")
    return {f: _or(conds) for f, conds in acc.items()}


_SEMICOLON = re.compile(r";")
_OPEN = {TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE, TokenType.CASE}
_CLOSE = {TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE, TokenType.END}
_PREFIX = {TokenType.NOT, TokenType.DASH, TokenType.PLUS, TokenType.TILDE}
_SEPARATORS = {TokenType.AND, TokenType.OR, TokenType.COMMA}
_TOO_DEEP = (f"the expression is nested too deeply (at most {MAX_NESTING_DEPTH} levels of "
             f"parentheses and NOT); write it as a flatter AND / OR of conditions")


def _too_complex(parts: int) -> ExpressionError:
    return ExpressionError(
        f"the expression is too complex: {parts} parts (fields, values, operators, "
        f"parentheses); at most {MAX_EXPRESSION_NODES} are accepted — split it into "
        f"several criteria", None)


def _nesting(tokens: list[sqlglot.tokens.Token]) -> int:
    """An upper bound of the parser's nesting: open brackets (and CASE) plus the prefix
    operators (NOT, unary -) stacked at each level since its last AND / OR / comma."""
    stack = [0]
    deepest = 0
    for tok in tokens:
        tt = tok.token_type
        if tt in _OPEN:
            stack.append(0)
        elif tt in _CLOSE:
            if len(stack) > 1:
                stack.pop()
        elif tt in _PREFIX:
            stack[-1] += 1
        elif tt in _SEPARATORS:
            stack[-1] = 0
        deepest = max(deepest, len(stack) - 1 + sum(stack))
    return deepest


def _parse(source: str, tokens: list[sqlglot.tokens.Token]) -> list[exp.Expression | None]:
    try:
        return sqlglot.Dialect.get_or_raise(PARSE_DIALECT).parser().parse(tokens, source)
    except ParseError as err:
        first = err.errors[0] if err.errors else {}
        token = first.get("highlight") if isinstance(first, dict) else None
        desc = first.get("description") if isinstance(first, dict) else str(err)
        where = ""
        if isinstance(first, dict) and token:
            before = str(first.get("start_context") or "")[-30:].lstrip()
            where = (f" at line {first.get('line')}, column {first.get('col')}: "
                     f"offending token {_shown(token)} after {before!r}")
        raise ExpressionError(f"syntax error: {desc}{where}", token) from None
    except SqlglotError as err:
        raise ExpressionError(f"syntax error: {err}", None) from None
    except RecursionError:  # a nesting the token bound did not foresee
        raise ExpressionError(_TOO_DEEP, None) from None


def compile_expression(source: str) -> CompiledExpression:
    """Parse and check ``source``; raise :class:`ExpressionError` naming the bad token.

    Its size is bounded before parsing (:data:`MAX_EXPRESSION_LENGTH` characters,
    :data:`MAX_EXPRESSION_NODES` tokens, :data:`MAX_NESTING_DEPTH` levels) and after
    (:data:`MAX_EXPRESSION_NODES` syntax-tree nodes), so no input reaches a recursion limit.
    """
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("expression is empty", None)
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"expression is {len(source):,} characters long; at most "
            f"{MAX_EXPRESSION_LENGTH:,} are accepted", source[:40] + "…")
    try:
        tokens = sqlglot.tokenize(source, read=PARSE_DIALECT)
    except SqlglotError as err:
        raise ExpressionError(f"cannot read the expression: {err}", None) from None
    for tok in tokens:
        if tok.token_type.name in ("SEMICOLON",) or _SEMICOLON.fullmatch(tok.text or ""):
            raise ExpressionError("';' is not allowed: an expression is a single condition",
                                  ";")
        if tok.comments:  # sqlglot would carry them into the SQL it generates
            raise ExpressionError("SQL comments (-- or /* */) are not allowed in an "
                                  "expression; use the YAML file's # comments", "--")
    if len(tokens) > MAX_EXPRESSION_NODES:
        raise _too_complex(len(tokens))
    if _nesting(tokens) > MAX_NESTING_DEPTH:
        raise ExpressionError(_TOO_DEEP, None)
    statements = [s for s in _parse(source, tokens) if s is not None]
    if len(statements) != 1:
        raise ExpressionError("an expression is a single condition", None)
    tree = statements[0]
    nodes = sum(1 for _ in tree.walk())  # iterative
    if nodes > MAX_EXPRESSION_NODES:
        raise _too_complex(nodes)
    checker = _Checker(source)
    try:
        result_type = checker.check(tree)
    except RecursionError:  # pragma: no cover - the nesting bound keeps the walk shallow
        raise ExpressionError(_TOO_DEEP, None) from None
    if result_type != "boolean":
        raise ExpressionError(
            f"a criterion must be a true/false condition, but {_q(tree)} is a "
            f"{_describe(result_type)}", _token(tree))
    return CompiledExpression(source=source, tree=tree, fields=_fields_of(tree), size=nodes)
