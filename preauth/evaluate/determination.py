"""Determinations for one case: verdict, reasons, missing documentation, what would flip it.

Built from the engine's output for a one-row table (the same path as batch) plus the clause
trace, joined with the library's metadata (titles, categories, rationale, citations,
documentation). Pure data — the pages and the CLI only lay it out.

A value that came from another source than the field's own column (an ICD-10-CM code, later a
FHIR resource or a note) arrives with its provenance as plain data — field -> citations, as
``preauth.sources`` produces it — and the determination lists it (:attr:`Determination.
derived_from`); evaluate never imports the sources themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from preauth.catalog.fields import CONTRAST_LABELS, CPT_CODES, FIELDS_BY_NAME
from preauth.criteria.library import Category, Criterion, Policy
from preauth.criteria.wording import Clause, blocking_clauses, missing_clauses
from preauth.evaluate.engine import Engine
from preauth.evaluate.reading import Reading, read_as_absent
from preauth.evaluate.vocabulary import (
    NEEDS_REVIEW_LABEL,
    Verdict,
    verdict_label,
    verdict_material_icon,
    verdict_symbol,
)

__all__ = ["CriterionResult", "Determination", "determine"]


@dataclass(frozen=True)
class CriterionResult:
    criterion: Criterion
    status: str  # met | not_met | undocumented
    category: Category | None  # for the requested procedure
    rating: int | None
    rating_note: str
    blocking: tuple[Clause, ...] = ()  # documented clauses that make it not met
    missing: tuple[Clause, ...] = ()  # undocumented clauses that leave it open

    @property
    def id(self) -> str:
        return self.criterion.id

    @property
    def title(self) -> str:
        return self.criterion.title

    @property
    def category_label(self) -> str:
        if self.category is None:
            return "not rated"
        text = self.category.label
        if self.rating is not None:
            note = f"; {self.rating_note}" if self.rating_note else ""
            text += f" — rating {self.rating}{note}"
        return text


@dataclass(frozen=True)
class Determination:
    policy: Policy
    case_id: str | None
    cpt_code: str | None
    region: str | None
    contrast: str | None
    verdict: Verdict | None  # None: the request names no procedure
    needs_review: bool
    category: Category | None
    fired: tuple[CriterionResult, ...]
    results: tuple[CriterionResult, ...]  # every applicable criterion, library order
    would_flip: tuple[CriterionResult, ...]
    undocumented_fields: tuple[str, ...]
    missing_documentation: tuple[str, ...] = field(default=())
    reading: Reading = Reading.STRICT  # how empty red flags were read
    read_as_absent: tuple[str, ...] = ()  # labels of unmentioned red flags read as absent
    # field -> where its value came from, for values not from the field's own column
    provenance: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def derived_from(self) -> list[tuple[str, tuple[str, ...]]]:
        """(field label, citations) for each field whose value came from another source,
        in catalog order: ``("Cauda equina signs", ("ICD-10-CM G83.4 Cauda equina
        syndrome",))``."""
        return [(FIELDS_BY_NAME[name].label, cites) for name, cites in self.provenance.items()]

    @property
    def reading_note(self) -> str:
        """Which reading was used, in one sentence, naming what was read as absent."""
        if self.reading is Reading.STRICT:
            return f"{self.reading.label}: an empty field is not documented."
        if not self.read_as_absent:
            return f"{self.reading.label}: every red flag is documented in the record."
        return (f"{self.reading.label}: not mentioned, so read as absent — "
                f"{', '.join(self.read_as_absent)}.")

    @property
    def verdict_label(self) -> str:
        return verdict_label(self.verdict)

    @property
    def icon(self) -> str:
        return verdict_symbol(self.verdict)

    @property
    def material_icon(self) -> str:
        return verdict_material_icon(self.verdict)

    @property
    def procedure_label(self) -> str:
        if self.region is None or self.contrast is None:
            return "no requested procedure"
        code = self.cpt_code or next((c for c, pair in CPT_CODES.items()
                                      if pair == (self.region, self.contrast)), "")
        return f"{code} MRI {self.region} spine {CONTRAST_LABELS[self.contrast]}".strip()

    @property
    def undocumented_field_labels(self) -> list[str]:
        return [FIELDS_BY_NAME[f].label for f in self.undocumented_fields]

    def summary(self) -> str:
        """One sentence: the verdict and its main reason."""
        if self.verdict is None:
            return "No verdict: the request names no procedure (CPT code, or region and contrast)."
        if self.verdict == Verdict.MEETS:
            best = [r for r in self.fired if r.category and r.category.supports_imaging]
            why = "; ".join(f"{r.title} ({r.category_label})" for r in best[:3])
            review = f" {NEEDS_REVIEW_LABEL}: the best category is 'may be appropriate'." \
                if self.needs_review else ""
            return f"{self.verdict_label} under {self.policy.name}: {why}.{review}"
        if self.verdict == Verdict.INSUFFICIENT:
            fields = ", ".join(self.undocumented_field_labels[:6])
            return (f"{self.verdict_label} under {self.policy.name}: the record does not say "
                    f"whether an indication holds; document {fields}.")
        excluded = [r for r in self.results
                    if r.criterion.kind == "exclusion" and r.status == "met"]
        if excluded:
            return (f"{self.verdict_label} under {self.policy.name}: "
                    f"{excluded[0].title}.")
        against = [r for r in self.fired if r.category and not r.category.supports_imaging]
        if against:
            return (f"{self.verdict_label} under {self.policy.name}: {against[0].title} — "
                    f"{against[0].category_label} for {self.procedure_label}.")
        return (f"{self.verdict_label} under {self.policy.name}: no indication of the policy "
                f"is met for {self.procedure_label}.")


def _result(c: Criterion, status: str, contrast: str | None, trace: list[bool | None] | None,
            case: Mapping[str, Any]) -> CriterionResult:
    rating = c.appropriateness.get(contrast) if contrast else None  # type: ignore[call-overload]
    blocking: tuple[Clause, ...] = ()
    missing: tuple[Clause, ...] = ()
    if trace is not None:
        blocking = tuple(blocking_clauses(c.expression.root, trace, case))
        missing = tuple(missing_clauses(c.expression.root, trace, case))
    return CriterionResult(c, status, rating.category if rating else None,
                           rating.rating if rating else None,
                           rating.rating_note if rating else "", blocking, missing)


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _provenance(provenance: Mapping[str, Sequence[str]] | None,
                case: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The provenance of the case's fields, in catalog order: only catalog fields whose value
    the case holds, each citation once."""
    if not provenance:
        return {}
    out = {}
    for name in FIELDS_BY_NAME:
        cites = provenance.get(name)
        if cites and case.get(name) is not None:
            out[name] = _dedupe(str(c) for c in ([cites] if isinstance(cites, str) else cites))
    return out


def determine(engine: Engine, case: Mapping[str, Any],
              policies: Iterable[str] | str | None = None,
              reading: Reading | str = Reading.STRICT,
              provenance: Mapping[str, Sequence[str]] | None = None) -> list[Determination]:
    """Determinations of one case under each chosen policy (default: all), with empty red
    flags read as ``reading`` says (:mod:`preauth.evaluate.reading`). ``provenance`` says
    where values not from their own column came from (field -> citations, e.g.
    ``{"cauda_equina_signs": ["ICD-10-CM G83.4 Cauda equina syndrome"]}``); each
    determination lists it for the fields the case holds."""
    reading = Reading(reading)
    cited = _provenance(provenance, case)
    absent = tuple(f.label for f in read_as_absent(case, reading))
    rows, traces = engine.evaluate_case_traced(case, policies, reading)
    out = []
    for row in rows:
        policy = engine.library[row["policy"]]
        trace = traces[policy.id]
        case = {**case, **{k: row[k] for k in ("cpt_code", "region", "contrast")
                           if case.get(k) is None}}
        status = {cid: "met" for cid in row["fired"]}
        status.update({cid: "not_met" for cid in row["not_met"]})
        status.update({cid: "undocumented" for cid in row["undocumented"]})
        results = tuple(_result(c, status[c.id], row["contrast"], trace[c.id], case)
                        for c in policy.criteria if c.id in status)
        by_id = {r.id: r for r in results}
        fired = tuple(by_id[cid] for cid in row["fired"])
        flip = tuple(by_id[cid] for cid in row["would_flip"])
        if row["verdict"] == Verdict.MEETS:
            docs = [d for r in fired if r.category and r.category.supports_imaging
                    for d in r.criterion.documentation]
        else:
            docs = [d for r in flip for d in r.criterion.documentation]
        out.append(Determination(
            policy=policy, case_id=row["case_id"], cpt_code=row["cpt_code"],
            region=row["region"], contrast=row["contrast"], verdict=Verdict.of(row["verdict"]),
            needs_review=bool(row["needs_review"]),
            category=Category(row["category"]) if row["category"] else None,
            fired=fired, results=results, would_flip=flip,
            undocumented_fields=tuple(row["undocumented_fields"]),
            missing_documentation=_dedupe(docs),
            reading=reading, read_as_absent=absent, provenance=cited,
        ))
    return out
