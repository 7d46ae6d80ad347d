"""Compare two policies: their structure (waits, prerequisites, red flags that bypass the wait,
contrast coverage, fields read) and where they disagree on the teaching scenarios.

Disagreements are found by any object with an engine's ``evaluate_case`` (:class:`Evaluator`),
so this package does not import the engines (they import it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlglot import exp

from preauth.catalog.fields import CONTRAST_LABELS, CONTRASTS, FIELDS_BY_NAME, REGIONS
from preauth.criteria.expressions import literal_value, unparen
from preauth.criteria.library import Criterion, Policy

__all__ = ["Evaluator", "Feature", "compare", "disagreements", "features"]

_WAIT_FIELDS = ("conservative_therapy_weeks",)


class Evaluator(Protocol):
    """What :func:`disagreements` needs of an engine (e.g. ``preauth.evaluate.engine.Engine``):
    one case's result rows, one per policy, each with ``policy``, ``verdict`` and ``fired``."""

    def evaluate_case(self, case: Mapping[str, Any],
                      policies: Iterable[str] | str | None = None) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Feature:
    name: str
    a: str
    b: str

    @property
    def differs(self) -> bool:
        return self.a != self.b


def _thresholds(c: Criterion, field: str) -> list[float]:
    out = []
    for node in c.expression.tree.find_all(exp.GTE, exp.GT):
        left, right = unparen(node.left), unparen(node.right)
        if isinstance(left, exp.Column) and left.name == field \
                and isinstance(right, exp.Literal | exp.Neg):
            out.append(float(literal_value(right)))  # type: ignore[arg-type]
    return out


def _supporting(p: Policy) -> list[Criterion]:
    return [c for c in p.criteria if c.kind == "indication" and c.supporting_contrasts()]


def _fmt_weeks(values: Iterable[float]) -> str:
    vals = sorted(set(values))
    return ", ".join(f"{v:g} week{'' if v == 1 else 's'}" for v in vals) if vals else "none"


def features(p: Policy) -> dict[str, str]:
    sup = _supporting(p)
    waits = [w for c in sup for f in _WAIT_FIELDS for w in _thresholds(c, f)]
    wait_crits = [c for c in sup if any(f in c.expression.fields for f in _WAIT_FIELDS)]
    bypass = [c for c in sup if not any(f in c.expression.fields for f in _WAIT_FIELDS)]
    radiographs = [c.title for c in sup if "prior_radiographs" in c.expression.fields]
    exam = [c.title for c in sup if "neuro_exam_documented" in c.expression.fields
            or "IS NOT NULL" in c.when.upper()]
    multimodal = [c.title for c in wait_crits if {"physical_therapy", "medication_trial"}
                  <= set(c.expression.fields)]
    coverage = {}
    for contrast in CONTRASTS:
        ok = sorted({r for c in sup if contrast in c.supporting_contrasts() for r in c.regions},
                    key=REGIONS.index)
        coverage[contrast] = (f"{sum(contrast in c.supporting_contrasts() for c in sup)} "
                              f"indications ({', '.join(ok) or 'no region'})")
    return {
        "Conservative care required (weeks)": _fmt_weeks(waits),
        "Multimodal therapy required by": "; ".join(multimodal) or "—",
        "Radiographs first for": "; ".join(radiographs) or "—",
        "Documented exam required by": "; ".join(exam) or "—",
        "Indications that bypass the wait": "; ".join(c.title for c in bypass) or "—",
        "Exclusions": "; ".join(c.title for c in p.criteria if c.kind == "exclusion") or "—",
        **{f"MRI {CONTRAST_LABELS[k]} supported by": v for k, v in coverage.items()},
        "Fields read": ", ".join(sorted({f for c in p.criteria for f in c.expression.fields},
                                        key=lambda f: FIELDS_BY_NAME[f].label)),
    }


def compare(a: Policy, b: Policy) -> list[Feature]:
    fa, fb = features(a), features(b)
    return [Feature(k, fa[k], fb[k]) for k in fa]


def disagreements(engine: Evaluator, a: str, b: str,
                  cases: Iterable[tuple[str, Mapping[str, Any]]]) -> list[dict[str, str]]:
    """Named cases on which the two policies reach different verdicts."""
    out = []
    for name, case in cases:
        rows = {r["policy"]: r for r in engine.evaluate_case(case, [a, b])}
        if rows[a]["verdict"] != rows[b]["verdict"]:
            out.append({"case": name, a: rows[a]["verdict"], b: rows[b]["verdict"],
                        f"{a} fired": ", ".join(rows[a]["fired"]),
                        f"{b} fired": ", ".join(rows[b]["fired"])})
    return out
