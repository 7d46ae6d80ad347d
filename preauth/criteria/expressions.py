"""Criterion expressions: parse with sqlglot, check against a whitelist and the field catalog,
compile to DuckDB / Spark SQL, and expose a clause tree for traces and plain-words reading.

The grammar accepted is deliberately small: catalog columns, literals, comparisons
(= <> != < <= > >=), AND / OR / NOT, IN (...), BETWEEN, IS [NOT] NULL, COALESCE and
parentheses. Everything else — function calls, subqueries, ``;``, unknown columns, type
mismatches such as ``age = 'old'``, enum values the catalog does not know — raises
:class:`ExpressionError` naming the offending token. Nothing is ever ``eval``-ed and no
string is concatenated into SQL: the SQL we run is regenerated from the checked tree.

This module is the public face of the language. Its parts live in package-internal modules:
reading within bounds in ``_parser``, the whitelist in ``_checker``, operand types in
``_types``, and what they share (the error type, literals) in ``_syntax``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from sqlglot import exp

from preauth.criteria._checker import Checker
from preauth.criteria._parser import (
    MAX_EXPRESSION_LENGTH,
    MAX_EXPRESSION_NODES,
    MAX_NESTING_DEPTH,
    TOO_DEEP,
    parse,
)
from preauth.criteria._syntax import (
    MAX_NUMBER_DIGITS,
    PARSE_DIALECT,
    ExpressionError,
    fields_of,
    flatten,
    is_literal,
    literal_value,
    quoted,
    token,
    unparen,
)
from preauth.criteria._types import describe_type

__all__ = [
    "MAX_EXPRESSION_LENGTH",
    "MAX_EXPRESSION_NODES",
    "MAX_NESTING_DEPTH",
    "MAX_NUMBER_DIGITS",
    "PARSE_DIALECT",
    "CompiledExpression",
    "ExpressionError",
    "Node",
    "compile_expression",
    "is_literal",
    "literal_value",
    "unparen",
]


# --------------------------------------------------------------------------------------
# Clause tree
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    """One clause of a criterion: AND/OR/NOT over children, or a leaf predicate."""

    kind: str  # "and" | "or" | "not" | "leaf"
    expr: exp.Expr = field(repr=False, compare=False)
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


def _build(e: exp.Expr) -> Node:
    e = unparen(e)
    if isinstance(e, exp.And | exp.Or):
        parts = flatten(e, type(e))
        return Node("and" if isinstance(e, exp.And) else "or", e,
                    tuple(_build(p) for p in parts), fields_of(e))
    if isinstance(e, exp.Not) and isinstance(unparen(e.this), exp.And | exp.Or | exp.Not):
        return Node("not", e, (_build(e.this),), fields_of(e))
    return Node("leaf", e, (), fields_of(e))


# --------------------------------------------------------------------------------------
# Compiled expression
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CompiledExpression:
    """A checked expression: its source, syntax tree, the fields it reads and its size."""

    source: str
    tree: exp.Expr = field(repr=False, compare=False)
    fields: tuple[str, ...] = ()
    size: int = 0  # syntax-tree nodes

    def sql(self, dialect: str = "duckdb") -> str:
        return self.tree.sql(dialect=dialect, identify=True)

    def pretty(self) -> str:
        return self.tree.sql(dialect=PARSE_DIALECT, pretty=True)

    @cached_property
    def root(self) -> Node:
        return _build(self.tree)


def compile_expression(source: str) -> CompiledExpression:
    """Parse and check ``source``; raise :class:`ExpressionError` naming the bad token.

    Its size is bounded before parsing (:data:`MAX_EXPRESSION_LENGTH` characters,
    :data:`MAX_EXPRESSION_NODES` tokens, :data:`MAX_NESTING_DEPTH` levels) and after
    (:data:`MAX_EXPRESSION_NODES` syntax-tree nodes), so no input reaches a recursion limit.
    """
    tree, nodes = parse(source)
    checker = Checker(source)
    try:
        result_type = checker.check(tree)
    except RecursionError:  # pragma: no cover - the nesting bound keeps the walk shallow
        raise ExpressionError(TOO_DEEP, None) from None
    if result_type != "boolean":
        raise ExpressionError(
            f"a criterion must be a true/false condition, but {quoted(tree)} is a "
            f"{describe_type(result_type)}", token(tree))
    return CompiledExpression(source=source, tree=tree, fields=fields_of(tree), size=nodes)
