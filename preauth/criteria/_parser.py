"""Package-internal: read one criterion expression into a sqlglot tree, within bounds.

The size of an expression is bounded before sqlglot parses it (its parser recurses about 25
Python frames per nesting level, so deep nesting would otherwise end in a RecursionError) and
after, which also bounds the work of checking, compiling and evaluating it. ``;`` and SQL
comments are refused at the token level. Public names are re-exported by
:mod:`preauth.criteria.expressions`.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.tokens import Token, TokenType

from preauth.criteria._syntax import PARSE_DIALECT, ExpressionError, shown

__all__ = [
    "MAX_EXPRESSION_LENGTH",
    "MAX_EXPRESSION_NODES",
    "MAX_NESTING_DEPTH",
    "TOO_DEEP",
    "parse",
]

# Limits on one criterion's expression. The bundled criteria need at most 311 characters,
# 50 parts and nesting 2.
MAX_EXPRESSION_LENGTH = 3000
MAX_EXPRESSION_NODES = 500  # tokens before parsing, syntax-tree nodes after
MAX_NESTING_DEPTH = 10  # parentheses / brackets plus stacked prefix operators (NOT, -)

_SEMICOLON = re.compile(r";")
_OPEN = {TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE, TokenType.CASE}
_CLOSE = {TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE, TokenType.END}
_PREFIX = {TokenType.NOT, TokenType.DASH, TokenType.PLUS, TokenType.TILDE}
_SEPARATORS = {TokenType.AND, TokenType.OR, TokenType.COMMA}
TOO_DEEP = (f"the expression is nested too deeply (at most {MAX_NESTING_DEPTH} levels of "
            f"parentheses and NOT); write it as a flatter AND / OR of conditions")


def _too_complex(parts: int) -> ExpressionError:
    return ExpressionError(
        f"the expression is too complex: {parts} parts (fields, values, operators, "
        f"parentheses); at most {MAX_EXPRESSION_NODES} are accepted — split it into "
        f"several criteria", None)


def _nesting(tokens: list[Token]) -> int:
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


def _tokens(source: str) -> list[Token]:
    """The tokens of ``source``, refusing ``;``, comments and too many or too deep ones."""
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
        raise ExpressionError(TOO_DEEP, None)
    return tokens


def _parse(source: str, tokens: list[Token]) -> list[exp.Expr | None]:
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
                     f"offending token {shown(token)} after {before!r}")
        raise ExpressionError(f"syntax error: {desc}{where}", token) from None
    except SqlglotError as err:
        raise ExpressionError(f"syntax error: {err}", None) from None
    except RecursionError:  # a nesting the token bound did not foresee
        raise ExpressionError(TOO_DEEP, None) from None


def parse(source: str) -> tuple[exp.Expr, int]:
    """The syntax tree of ``source`` (one condition) and its number of nodes.

    Raises :class:`ExpressionError` for an empty, too long, too complex, too deeply nested
    or unparsable expression, ``;`` and SQL comments.
    """
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("expression is empty", None)
    tokens = _tokens(source)
    statements = [s for s in _parse(source, tokens) if s is not None]
    if len(statements) != 1:
        raise ExpressionError("an expression is a single condition", None)
    tree = statements[0]
    nodes = sum(1 for _ in tree.walk())  # iterative
    if nodes > MAX_EXPRESSION_NODES:
        raise _too_complex(nodes)
    return tree, nodes
