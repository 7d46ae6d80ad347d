"""Plain-words reading of criterion clauses, generated from the expression and the case.

E.g. ``conservative_therapy_weeks >= 6`` with 2 documented weeks reads
"Conservative therapy ≥ 6 weeks — documented: 2 weeks", and
``COALESCE(symptom_weeks, conservative_therapy_weeks) >= 6`` reads "Symptom duration (or, if
not recorded, conservative therapy) ≥ 6 weeks". Labels and units come from the field catalog
(a unit is singular for exactly one: "1 week"); nothing here is specific to one criterion, and
no SQL (COALESCE, IS NULL, field names) reaches a reader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from preauth.catalog.fields import FIELDS_BY_NAME, Field, Kind
from preauth.criteria._syntax import COMPARISONS, flatten, is_comparison
from preauth.criteria.expressions import Node, is_literal, literal_value, unparen

__all__ = ["Clause", "blocking_clauses", "describe", "format_value", "missing_clauses",
           "read_expression", "with_unit"]

_NEGATED = {"=": "≠", "≠": "=", ">": "≤", "≥": "<", "<": "≥", "≤": ">"}
_MIRRORED = {">": "<", "<": ">", "≥": "≤", "≤": "≥"}  # the operator with its sides swapped


def with_unit(value: float, unit: str) -> str:
    """A number with its unit, the unit singular for exactly one ("1 week", "6 weeks",
    "9/10")."""
    num = f"{value:g}" if isinstance(value, float) else str(value)
    if unit.startswith("/"):
        return f"{num}{unit}"
    if value in (1, -1) and unit.endswith("s") and unit.isalpha():
        unit = unit[:-1]
    return f"{num} {unit}".strip()


def format_value(f: Field, value: Any) -> str:
    """A case value as a reader would write it ("2 weeks", "1 week", "Yes", "low
    velocity")."""
    if value is None:
        return "not documented"
    if f.kind is Kind.BOOLEAN:
        return "Yes" if value else "No"
    if f.is_numeric and isinstance(value, int | float):
        return with_unit(value, f.unit)
    return str(value).replace("_", " ")


def _literal_text(f: Field | None, node: exp.Expr) -> str:
    value = literal_value(node)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value is None:
        return "unknown"
    if f is not None and f.is_numeric and isinstance(value, int | float):
        return with_unit(value, f.unit)
    return str(value).replace("_", " ")


def _operand_text(node: exp.Expr) -> str:
    """A field or COALESCE operand in words: "pain score", "symptom duration (or, if not
    recorded, conservative therapy)"."""
    node = unparen(node)
    if isinstance(node, exp.Column) and node.name in FIELDS_BY_NAME:
        return _lower_first(_label(node.name))
    if isinstance(node, exp.Coalesce):
        first, *rest = (node.this, *node.expressions)
        f = _field_of(first)
        return (_operand_text(first) + " (or, if not recorded, "
                + "; or else ".join(_value_text(f, r) for r in rest) + ")")
    return _lower_first(describe(node))


def _field_of(node: exp.Expr) -> Field | None:
    """The field an operand reads (a COALESCE's first), for the unit of its values."""
    node = unparen(node)
    if isinstance(node, exp.Coalesce):
        return _field_of(node.this)
    return FIELDS_BY_NAME.get(node.name) if isinstance(node, exp.Column) else None


def _value_text(f: Field | None, node: exp.Expr) -> str:
    """A literal (with the field's unit) or another operand, in words."""
    return _literal_text(f, node) if is_literal(node) else _operand_text(node)


def _label(name: str) -> str:
    return FIELDS_BY_NAME[name].label


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:1].isupper() and not text[1:2].isupper() \
        else text


def describe(e: exp.Expr, negate: bool = False) -> str:
    """Plain words for a leaf predicate (``negate``: words for its opposite)."""
    e = unparen(e)
    if isinstance(e, exp.Not):
        return describe(e.this, not negate)
    if isinstance(e, exp.Column):
        label = _label(e.name)
        return f"No {_lower_first(label)}" if negate else label
    if isinstance(e, exp.Boolean):
        return "false" if bool(e.this) != negate else "true"
    if isinstance(e, exp.Null):
        return "unknown"
    if isinstance(e, exp.Is):
        label = _label(unparen(e.this).name) if isinstance(unparen(e.this), exp.Column) \
            else describe(e.this)
        return f"{label} documented" if negate else f"{label} not documented"
    if isinstance(e, exp.Coalesce):
        inner = e.this
        default = e.expressions[-1] if e.expressions else None
        text = describe(inner, negate)
        fallbacks = [describe(a, negate) for a in e.expressions
                     if not isinstance(a, exp.Boolean | exp.Null)]
        if fallbacks:
            text += " (or, if not recorded, " + "; or else ".join(
                _lower_first(t) for t in fallbacks) + ")"
        if isinstance(default, exp.Boolean):
            return f"{text} (undocumented counts as {'Yes' if default.this else 'No'})"
        return text
    if is_comparison(e):
        return _describe_comparison(e, negate)
    if isinstance(e, exp.In):
        subject = unparen(e.this)
        f = _field_of(subject)
        items = " or ".join(_value_text(f, i) for i in e.expressions)
        label = f.label if f else describe(subject)
        return f"{label} {'is not' if negate else 'is'} {items}"
    if isinstance(e, exp.Between):
        subject = unparen(e.this)
        f = _field_of(subject)
        low = _value_text(f, e.args["low"])
        high = _value_text(f, e.args["high"])
        label = f.label if f else describe(subject)
        return f"{label} {'not ' if negate else ''}between {low} and {high}"
    if isinstance(e, exp.And | exp.Or):
        word = " and " if isinstance(e, exp.And) != negate else " or "
        parts = [describe(p, negate) for p in flatten(e, type(e))]
        return "(" + word.join(parts[:1] + [_lower_first(p) for p in parts[1:]]) + ")"
    raise TypeError(f"no wording for {type(e).__name__}")  # pragma: no cover - whitelist


def _describe_comparison(e: exp.Binary, negate: bool) -> str:
    """Plain words for ``left op right``: the field first, with its label and unit."""
    left, right = unparen(e.left), unparen(e.right)
    op = COMPARISONS[type(e)]
    if not isinstance(left, exp.Column) and isinstance(right, exp.Column):
        left, right = right, left
        op = _MIRRORED.get(op, op)
    if negate:
        op = _NEGATED[op]
    if isinstance(left, exp.Column) and isinstance(right, exp.Column):
        if op in ("=", "≠"):
            verb = "matches" if op == "=" else "differs from"
            return f"{_label(left.name)} {verb} the {_lower_first(_label(right.name))}"
        return f"{_label(left.name)} {op} {_lower_first(_label(right.name))}"
    if isinstance(left, exp.Column) and is_literal(right):
        f = FIELDS_BY_NAME[left.name]
        value = literal_value(right)
        if f.kind is Kind.BOOLEAN and isinstance(value, bool):
            positive = value if op == "=" else not value
            return describe(left, negate=not positive)
        if f.kind is Kind.ENUM and op in ("=", "≠"):
            verb = "is" if op == "=" else "is not"
            return f"{f.label} {verb} {_literal_text(f, right)}"
        return f"{f.label} {op} {_literal_text(f, right)}"
    if is_literal(left) and not is_literal(right):
        left, right = right, left
        op = _MIRRORED.get(op, op)
    text = _operand_text(left)
    return f"{text[:1].upper()}{text[1:]} {op} {_value_text(_field_of(left), right)}"


def read_expression(node: Node) -> str:
    """The whole clause tree in plain words (for the criteria library page)."""
    if node.kind == "leaf":
        return describe(node.expr)
    if node.kind == "not":
        child = node.children[0]
        if child.kind == "or":
            return "none of: " + "; ".join(read_expression(c) for c in child.children)
        if child.kind == "and":
            return "not all of: " + "; ".join(read_expression(c) for c in child.children)
        return "not " + read_expression(child)
    if node.kind == "and":
        return "all of: " + "; ".join(_nested(c) for c in node.children)
    return "any of: " + "; ".join(_nested(c) for c in node.children)


def _nested(node: Node) -> str:
    text = read_expression(node)
    return f"({text})" if node.kind in ("and", "or") else text


@dataclass(frozen=True)
class Clause:
    """One leaf clause that decides a criterion for a case."""

    text: str  # what the criterion needs, in plain words
    documented: str  # what the case documents for the clause's fields
    fields: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.text} — documented: {self.documented}"


def _documented(node: Node, case: Mapping[str, Any]) -> str:
    parts = []
    for name in node.fields:
        f = FIELDS_BY_NAME[name]
        value = format_value(f, case.get(name))
        parts.append(value if len(node.fields) == 1 else f"{_lower_first(f.label)} {value}")
    return ", ".join(parts)


def _walk(node: Node, values: dict[int, bool | None], want: bool, case: Mapping[str, Any],
          missing: bool) -> list[Clause]:
    """Leaves that stop ``node`` from being ``want`` (``missing``: the undocumented ones that
    leave it unknown, instead of the documented ones that decide it)."""
    v = values[id(node)]
    if v is want:
        return []
    if missing and v is not None:
        return []
    if node.kind == "leaf":
        return [Clause(describe(node.expr, negate=not want), _documented(node, case),
                       node.fields)]
    if node.kind == "not":
        return _walk(node.children[0], values, not want, case, missing)
    is_and = node.kind == "and"
    out: list[Clause] = []
    for child in node.children:
        cv = values[id(child)]
        if missing:
            if cv is None:
                out.extend(_walk(child, values, want, case, True))
        elif (is_and == want and cv is (not want)) or (is_and != want and cv is not want):
            # AND wanted True fails on its False children; OR wanted True fails only when all
            # children are False (each is a reason); duals for want=False.
            out.extend(_walk(child, values, want, case, False))
    return out


def _values(root: Node, trace: list[bool | None]) -> dict[int, bool | None]:
    return {id(n): v for n, v in zip(root.walk(), trace, strict=True)}


def blocking_clauses(root: Node, trace: list[bool | None],
                     case: Mapping[str, Any]) -> list[Clause]:
    """The documented clauses that make a criterion *not met* (empty unless it is FALSE)."""
    values = _values(root, trace)
    if values[id(root)] is not False:
        return []
    return _walk(root, values, True, case, missing=False)


def missing_clauses(root: Node, trace: list[bool | None],
                    case: Mapping[str, Any]) -> list[Clause]:
    """The undocumented clauses that leave a criterion *undocumented* (Kleene-relevant)."""
    values = _values(root, trace)
    if values[id(root)] is not None:
        return []
    return _walk(root, values, True, case, missing=True)
