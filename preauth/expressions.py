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
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from preauth.fields import FIELDS_BY_NAME, Field, Kind

__all__ = [
    "CompiledExpression",
    "ExpressionError",
    "Node",
    "compile_expression",
]

MAX_EXPRESSION_LENGTH = 4000
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


def _literal_value(node: exp.Expression) -> object:
    """The Python value of a literal node (number, string, bool or None)."""
    if isinstance(node, exp.Paren):
        return _literal_value(node.this)
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Neg):
        inner = _literal_value(node.this)
        if isinstance(inner, int | float) and not isinstance(inner, bool):
            return -inner
        raise ExpressionError(f"'-' applies to numbers only, not {_token(node.this)!r}",
                              _token(node))
    if isinstance(node, exp.Literal):
        if node.is_string:
            return str(node.this)
        text = str(node.this)
        return float(text) if any(c in text for c in ".eE") else int(text)
    raise ExpressionError(f"not a literal: {_token(node)!r}", _token(node))


def _is_literal(node: exp.Expression) -> bool:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Neg):
        return _is_literal(node.this)
    return isinstance(node, exp.Literal | exp.Boolean | exp.Null)


class _Checker:
    """Walks a parsed tree, refusing anything outside the whitelist, and infers types."""

    def __init__(self, source: str = "") -> None:
        self.fields: set[str] = set()
        self.source = source

    def check(self, node: exp.Expression) -> str:
        method = getattr(self, f"_check_{type(node).__name__}", None)
        if method is None:
            msg, token = self._refusal(node)
            raise ExpressionError(msg, token)
        return method(node)

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
                    f"(only COALESCE is); offending token: {name!r}", name)
        if isinstance(node, exp.Query | exp.Subquery):
            return f"subqueries are not allowed in a criterion; offending token: {tok!r}", tok
        return f"{type(node).__name__.lower()} is not allowed in a criterion: {tok!r}", tok

    # -- structure -----------------------------------------------------------------------
    def _check_Paren(self, node: exp.Paren) -> str:
        return self.check(node.this)

    def _bool_operand(self, node: exp.Expression, op: str) -> None:
        t = self.check(node)
        if t not in ("boolean", "null"):
            raise ExpressionError(
                f"{op} needs true/false operands, but {_token(node)!r} is a {_describe(t)}",
                _token(node))

    def _check_And(self, node: exp.And) -> str:
        self._bool_operand(node.left, "AND")
        self._bool_operand(node.right, "AND")
        return "boolean"

    def _check_Or(self, node: exp.Or) -> str:
        self._bool_operand(node.left, "OR")
        self._bool_operand(node.right, "OR")
        return "boolean"

    def _check_Not(self, node: exp.Not) -> str:
        self._bool_operand(node.this, "NOT")
        return "boolean"

    # -- atoms ---------------------------------------------------------------------------
    def _check_Column(self, node: exp.Column) -> str:
        if node.table or node.args.get("db") or node.args.get("catalog"):
            raise ExpressionError(f"qualified column names are not allowed: {_token(node)!r}",
                                  _token(node))
        name = node.name
        f = FIELDS_BY_NAME.get(name)
        if f is None:
            lowered = FIELDS_BY_NAME.get(name.lower())
            hint = f" (did you mean {lowered.name!r}?)" if lowered else ""
            raise ExpressionError(f"unknown field {name!r}{hint}", name)
        if f.outcome:
            raise ExpressionError(
                f"field {name!r} is a payer outcome, not a clinical fact; criteria may not "
                f"use it", name)
        if f.kind in _FORBIDDEN_KINDS:
            raise ExpressionError(f"field {name!r} is an identifier; criteria may not use it",
                                  name)
        self.fields.add(f.name)
        return _field_type(f)

    def _check_Literal(self, node: exp.Literal) -> str:
        return "string" if node.is_string else "number"

    def _check_Boolean(self, node: exp.Boolean) -> str:
        return "boolean"

    def _check_Null(self, node: exp.Null) -> str:
        return "null"

    def _check_Neg(self, node: exp.Neg) -> str:
        if not isinstance(node.this, exp.Literal) or node.this.is_string:
            raise ExpressionError(f"'-' applies to number literals only: {_token(node)!r}",
                                  _token(node))
        return "number"

    # -- predicates ----------------------------------------------------------------------
    def _compare(self, left: exp.Expression, right: exp.Expression, op: str,
                 whole: exp.Expression) -> None:
        lt, rt = self.check(left), self.check(right)
        _require_compatible(lt, left, rt, right, op, whole)
        for t, lit in ((lt, right), (rt, left)):
            if _is_literal(lit):
                _check_literal_against(t, lit, whole)

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
                        f"{_token(side)!r} ({_describe(t)})", _token(node))
        return "boolean"

    _check_EQ = _check_NEQ = _check_GT = _check_GTE = _check_LT = _check_LTE = _cmp

    def _check_In(self, node: exp.In) -> str:
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
            raise ExpressionError(f"IN takes a list of literals only: {_token(node)!r}",
                                  _token(node))
        subject = node.this
        st = self.check(subject)
        items = node.expressions
        if not items:
            raise ExpressionError(f"IN needs at least one value: {_token(node)!r}",
                                  _token(node))
        for item in items:
            if not _is_literal(item):
                raise ExpressionError(f"IN takes literals only, not {_token(item)!r}",
                                      _token(item))
            it = self.check(item)
            _require_compatible(st, subject, it, item, "IN", node)
            _check_literal_against(st, item, node)
        return "boolean"

    def _check_Between(self, node: exp.Between) -> str:
        st = self.check(node.this)
        if st not in ("number", "date"):
            raise ExpressionError(
                f"BETWEEN needs a number or date field, not {_token(node.this)!r}",
                _token(node))
        for bound in (node.args["low"], node.args["high"]):
            self._compare(node.this, bound, "BETWEEN", node)
        return "boolean"

    def _check_Is(self, node: exp.Is) -> str:
        if not isinstance(node.expression, exp.Null):
            raise ExpressionError(
                f"only IS NULL / IS NOT NULL are allowed, not {_token(node)!r}", _token(node))
        self.check(node.this)
        return "boolean"

    def _check_Coalesce(self, node: exp.Coalesce) -> str:
        args = [node.this, *node.expressions]
        types = [self.check(a) for a in args]
        concrete = [t for t in types if t != "null"]
        for t, a in zip(types, args, strict=True):
            if concrete:
                _require_compatible(concrete[0], args[types.index(concrete[0])], t, a,
                                    "COALESCE", node)
            if _is_literal(a) and concrete:
                _check_literal_against(concrete[0], a, node)
        return concrete[0] if concrete else "null"


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
            f"{_token(whole)!r}", _token(whole))
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
            f"type mismatch in {_token(whole)!r}: {_token(left)!r} is a {_describe(lt)} but "
            f"{_token(right)!r} is a {_describe(rt)}", _token(right))


def _check_literal_against(t: str, lit: exp.Expression, whole: exp.Expression) -> None:
    """A literal compared with a field must be a value that field can take."""
    value = _literal_value(lit)
    if t.startswith("enum:"):
        f = FIELDS_BY_NAME[t[5:]]
        if value not in f.values:
            raise ExpressionError(
                f"{value!r} is not a value of {f.name} (allowed: {', '.join(f.values)})",
                _token(lit))
    elif t == "date":
        try:
            dt.date.fromisoformat(str(value))
        except ValueError:
            raise ExpressionError(f"{value!r} is not an ISO date (YYYY-MM-DD)",
                                  _token(lit)) from None


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
        return self.expr.sql(dialect=dialect, identify=True)

    @property
    def text(self) -> str:
        """The clause as written (normalised spacing), for display."""
        return self.expr.sql(dialect=PARSE_DIALECT, pretty=False)

    def walk(self) -> Iterator[Node]:
        yield self
        for c in self.children:
            yield from c.walk()


def _unparen(e: exp.Expression) -> exp.Expression:
    while isinstance(e, exp.Paren):
        e = e.this
    return e


def _flatten(e: exp.Expression, kind: type[exp.Connector]) -> list[exp.Expression]:
    e = _unparen(e)
    if isinstance(e, kind):
        return _flatten(e.left, kind) + _flatten(e.right, kind)
    return [e]


def _fields_of(e: exp.Expression) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for col in e.find_all(exp.Column, bfs=False):
        seen.setdefault(col.name, None)
    return tuple(seen)


def _build(e: exp.Expression) -> Node:
    e = _unparen(e)
    if isinstance(e, exp.And | exp.Or):
        parts = _flatten(e, type(e))
        return Node("and" if isinstance(e, exp.And) else "or", e,
                    tuple(_build(p) for p in parts), _fields_of(e))
    if isinstance(e, exp.Not) and isinstance(_unparen(e.this), exp.And | exp.Or | exp.Not):
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


def compile_expression(source: str) -> CompiledExpression:
    """Parse and check ``source``; raise :class:`ExpressionError` naming the bad token."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("expression is empty", None)
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"expression is {len(source)} characters long; at most {MAX_EXPRESSION_LENGTH} "
            f"are accepted", source[:40] + "…")
    try:
        tokens = sqlglot.tokenize(source, read=PARSE_DIALECT)
    except TokenError as err:
        raise ExpressionError(f"cannot read the expression: {err}", None) from None
    for tok in tokens:
        if tok.token_type.name in ("SEMICOLON",) or _SEMICOLON.fullmatch(tok.text or ""):
            raise ExpressionError("';' is not allowed: an expression is a single condition",
                                  ";")
        if tok.comments:  # sqlglot would carry them into the SQL it generates
            raise ExpressionError("SQL comments (-- or /* */) are not allowed in an "
                                  "expression; use the YAML file's # comments", "--")
    try:
        statements = sqlglot.parse(source, read=PARSE_DIALECT)
    except ParseError as err:
        first = err.errors[0] if err.errors else {}
        token = first.get("highlight") if isinstance(first, dict) else None
        desc = first.get("description") if isinstance(first, dict) else str(err)
        where = ""
        if isinstance(first, dict) and token:
            before = str(first.get("start_context") or "")[-30:].lstrip()
            where = (f" at line {first.get('line')}, column {first.get('col')}: "
                     f"offending token {token!r} after {before!r}")
        raise ExpressionError(f"syntax error: {desc}{where}", token) from None
    statements = [s for s in statements if s is not None]
    if len(statements) != 1:
        raise ExpressionError("an expression is a single condition", None)
    tree = statements[0]
    checker = _Checker(source)
    result_type = checker.check(tree)
    if result_type != "boolean":
        raise ExpressionError(
            f"a criterion must be a true/false condition, but {_token(tree)!r} is a "
            f"{_describe(result_type)}", _token(tree))
    return CompiledExpression(source=source, tree=tree, fields=_fields_of(tree))
