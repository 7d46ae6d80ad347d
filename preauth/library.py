"""Load and validate the criteria library (YAML files in ``criteria/``) into pydantic models.

Every problem is reported as :class:`CriteriaError` naming the file, the criterion id and the
reason (for expressions, the offending token). Loading never executes anything from a file.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from preauth.expressions import CompiledExpression, ExpressionError, compile_expression
from preauth.fields import CONTRASTS, REGIONS

__all__ = [
    "Category",
    "CriteriaError",
    "Criterion",
    "Library",
    "Policy",
    "default_criteria_dir",
    "load_library",
    "load_policy_text",
]

MAX_FILE_BYTES = 1_000_000
MAX_YAML_DEPTH = 32  # nesting of mappings / lists (the bundled files need 6)
MAX_YAML_ALIASES = 50  # "*anchor" references ("billion laughs" needs many; files need none)
MAX_CRITERIA_PER_POLICY = 500
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class CriteriaError(ValueError):
    """A criteria file is unusable; the message names file, criterion and reason."""

    def __init__(self, file: str, criterion: str | None, reason: str,
                 token: str | None = None) -> None:
        where = file + (f", criterion {criterion!r}" if criterion else "")
        super().__init__(f"{where}: {reason}")
        self.file = file
        self.criterion = criterion
        self.reason = reason
        self.token = token


class Category(StrEnum):
    """Appropriateness of a procedure under a criterion.

    ACR uses the first three; payer policies say covered / not covered. ``may_be_appropriate``
    meets criteria but is flagged for review.
    """

    USUALLY_APPROPRIATE = "usually_appropriate"
    MAY_BE_APPROPRIATE = "may_be_appropriate"
    USUALLY_NOT_APPROPRIATE = "usually_not_appropriate"
    COVERED = "covered"
    NOT_COVERED = "not_covered"

    @property
    def supports_imaging(self) -> bool:
        return self in (Category.USUALLY_APPROPRIATE, Category.MAY_BE_APPROPRIATE,
                        Category.COVERED)

    @property
    def needs_review(self) -> bool:
        return self is Category.MAY_BE_APPROPRIATE

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]

    @property
    def rank(self) -> int:
        """Higher is stronger support for imaging (used to pick the decisive category)."""
        return {Category.USUALLY_APPROPRIATE: 4, Category.COVERED: 4,
                Category.MAY_BE_APPROPRIATE: 3, Category.USUALLY_NOT_APPROPRIATE: 1,
                Category.NOT_COVERED: 1}[self]


CATEGORY_LABELS = {
    Category.USUALLY_APPROPRIATE: "Usually appropriate",
    Category.MAY_BE_APPROPRIATE: "May be appropriate",
    Category.USUALLY_NOT_APPROPRIATE: "Usually not appropriate",
    Category.COVERED: "Covered",
    Category.NOT_COVERED: "Not covered",
}


def _id_shape(v: str) -> str:
    if not _ID.match(v):
        raise ValueError("ids are lower-case letters, digits, '_', '.', '-' (≤ 64)")
    return v


Identifier = Annotated[str, AfterValidator(_id_shape)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Rating(_Strict):
    category: Category
    rating: int | None = Field(default=None, ge=1, le=9)
    rating_note: str = ""  # e.g. "legacy 2007 rating"
    comment: str = ""


class Reference(_Strict):
    text: str = Field(min_length=5)
    url: str = ""
    date: str = ""

    @field_validator("date", mode="before")
    @classmethod
    def _date_text(cls, v: Any) -> Any:
        return v.isoformat() if isinstance(v, dt.date) else v


class Criterion(_Strict):
    id: Identifier
    title: str = Field(min_length=3)
    kind: Literal["indication", "exclusion"] = "indication"
    regions: tuple[Literal["cervical", "thoracic", "lumbar"], ...] = Field(min_length=1)
    source: str = Field(min_length=3)  # e.g. "ACR AC Low Back Pain (2021), Variant 3"
    when: str
    appropriateness: dict[Literal["without", "with", "without_and_with"], Rating]
    other_procedures: dict[str, Rating] = Field(default_factory=dict)
    rationale: str = Field(min_length=10)
    citations: tuple[str, ...] = Field(min_length=1)
    documentation: tuple[str, ...] = ()
    # regions where the rule is applied by analogy (the source is about another region);
    # the rationale must say so
    by_analogy: tuple[Literal["cervical", "thoracic", "lumbar"], ...] = ()

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True,
                              arbitrary_types_allowed=True)


    @field_validator("appropriateness", mode="before")
    @classmethod
    def _short_form(cls, v: Any) -> Any:
        # Allow `without: usually_appropriate` as short for `{category: ...}`.
        if isinstance(v, Mapping):
            return {k: ({"category": r} if isinstance(r, str) else r) for k, r in v.items()}
        return v

    @field_validator("other_procedures", mode="before")
    @classmethod
    def _short_form_other(cls, v: Any) -> Any:
        return cls._short_form(v)

    @cached_property
    def expression(self) -> CompiledExpression:
        return compile_expression(self.when)

    def category_for(self, contrast: str) -> Category | None:
        r = self.appropriateness.get(contrast)  # type: ignore[call-overload]
        return r.category if r else None

    def supporting_contrasts(self) -> tuple[str, ...]:
        """Contrast classes for which meeting this criterion supports imaging."""
        return tuple(c for c in CONTRASTS
                     if (cat := self.category_for(c)) is not None and cat.supports_imaging)


class Policy(_Strict):
    id: Identifier
    name: str = Field(min_length=3)
    kind: Literal["guideline", "payer"]
    publisher: str
    models: str = ""  # for payer policies: the public document this models
    version: str
    effective: dt.date | None = None
    url: str = ""
    summary: str = Field(min_length=10)
    references: dict[str, Reference] = Field(min_length=1)
    criteria: tuple[Criterion, ...] = Field(min_length=1)
    file: str = ""


    def criterion(self, cid: str) -> Criterion:
        for c in self.criteria:
            if c.id == cid:
                return c
        raise KeyError(f"policy {self.id!r} has no criterion {cid!r}")

    def applicable(self, region: str) -> list[Criterion]:
        return [c for c in self.criteria if region in c.regions]


class Library(BaseModel):
    """A set of policies, keyed by id, in load order."""

    model_config = ConfigDict(frozen=True)
    policies: tuple[Policy, ...]

    @cached_property
    def by_id(self) -> dict[str, Policy]:
        return {p.id: p for p in self.policies}

    @property
    def ids(self) -> list[str]:
        return [p.id for p in self.policies]

    def __getitem__(self, pid: str) -> Policy:
        try:
            return self.by_id[pid]
        except KeyError:
            raise KeyError(f"unknown policy {pid!r}; known: {', '.join(self.ids)}") from None

    def select(self, spec: str | Iterable[str] | None) -> list[Policy]:
        """Policies named by ``spec``: None / "all" / "a,b" / an iterable of ids."""
        if spec is None or spec == "all":
            return list(self.policies)
        ids = spec.split(",") if isinstance(spec, str) else list(spec)
        return [self[i.strip()] for i in ids if i.strip()]

    def with_policy(self, policy: Policy) -> Library:
        """A copy with ``policy`` added (replacing one of the same id)."""
        kept = tuple(p for p in self.policies if p.id != policy.id)
        return Library(policies=(*kept, policy))


def default_criteria_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "criteria"


def _format_validation(err: ValidationError, data: Any) -> tuple[str | None, str]:
    first = err.errors()[0]
    loc = list(first["loc"])
    criterion = None
    if len(loc) >= 2 and loc[0] == "criteria" and isinstance(loc[1], int):
        try:
            criterion = str(data["criteria"][loc[1]].get("id") or f"#{loc[1] + 1}")
        except (KeyError, IndexError, TypeError, AttributeError):
            criterion = f"#{loc[1] + 1}"
        loc = loc[2:]
    where = ".".join(str(p) for p in loc) or "(top level)"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key (check spelling)"
    elif first["type"] == "missing":
        msg = "required key is missing"
    more = f" (and {len(err.errors()) - 1} more problems)" if len(err.errors()) > 1 else ""
    return criterion, f"{where}: {msg}{more}"


class _YAMLLimit(yaml.YAMLError):
    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class _GuardedLoader(yaml.SafeLoader):
    """``yaml.safe_load`` with bounded nesting and a bounded number of aliases, checked
    while composing — before any object is built — so a hostile file fails fast with a
    clear message instead of a RecursionError or an exponential alias graph."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise _YAMLLimit(f"more than {MAX_YAML_ALIASES} aliases (*name)",
                                 self.peek_event().start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _YAMLLimit(f"nested deeper than {MAX_YAML_DEPTH} levels",
                                 self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_policy_text(text: str, file: str) -> Policy:
    """Parse and validate one policy file's text; ``file`` names it in error messages."""
    if len(text.encode("utf-8", errors="replace")) > MAX_FILE_BYTES:
        raise CriteriaError(file, None, f"file is larger than {MAX_FILE_BYTES:,} bytes")
    try:
        data = yaml.load(text, Loader=_GuardedLoader)  # a SafeLoader subclass
    except RecursionError:
        raise CriteriaError(file, None, "not valid YAML: nested too deeply") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise CriteriaError(file, None, f"not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise CriteriaError(file, None, "expected a mapping with 'policy' and 'criteria' keys")
    if set(data) - {"policy", "criteria"}:
        extra = ", ".join(sorted(map(str, set(data) - {"policy", "criteria"})))
        raise CriteriaError(file, None, f"unknown top-level key(s): {extra}")
    meta = data.get("policy")
    crits = data.get("criteria")
    if not isinstance(meta, dict):
        raise CriteriaError(file, None, "'policy' must be a mapping of policy metadata")
    if not isinstance(crits, list) or not crits:
        raise CriteriaError(file, None, "'criteria' must be a non-empty list")
    if len(crits) > MAX_CRITERIA_PER_POLICY:
        raise CriteriaError(file, None, f"more than {MAX_CRITERIA_PER_POLICY} criteria")
    merged = {**meta, "criteria": crits, "file": file}
    try:
        policy = Policy.model_validate(merged)
    except ValidationError as err:
        criterion, reason = _format_validation(err, merged)
        raise CriteriaError(file, criterion, reason) from None
    _check_policy(policy, file)
    return policy


def _check_policy(policy: Policy, file: str) -> None:
    seen: set[str] = set()
    for c in policy.criteria:
        if c.id in seen:
            raise CriteriaError(file, c.id, "duplicate criterion id")
        seen.add(c.id)
        try:
            compiled = c.expression
        except ExpressionError as err:
            raise CriteriaError(file, c.id, f"when: {err}", err.token) from None
        if not compiled.fields:
            raise CriteriaError(file, c.id, "when: the expression references no case field")
        if not c.appropriateness:
            raise CriteriaError(file, c.id, "appropriateness: rate at least one procedure")
        for ref in c.citations:
            if ref not in policy.references:
                raise CriteriaError(
                    file, c.id, f"citations: {ref!r} is not in the policy's references "
                                f"({', '.join(policy.references)})", ref)
        if c.by_analogy and "analogy" not in c.rationale.lower():
            raise CriteriaError(file, c.id,
                                "by_analogy: the rationale must say the rule is applied by "
                                "analogy")
        stray = set(c.by_analogy) - set(c.regions)
        if stray:
            raise CriteriaError(file, c.id, f"by_analogy: {', '.join(sorted(stray))} is not "
                                            f"in regions")
        for r in c.regions:
            if r not in REGIONS:  # pragma: no cover - pydantic Literal already checks
                raise CriteriaError(file, c.id, f"regions: unknown region {r!r}")


def load_library(directory: str | Path | None = None,
                 extra_texts: Mapping[str, str] | None = None) -> Library:
    """Load every ``*.yaml`` / ``*.yml`` policy in ``directory`` (default: ``criteria/``).

    ``extra_texts`` maps a display file name to YAML text (custom uploads); an uploaded
    policy replaces a bundled one with the same id.
    """
    root = Path(directory) if directory is not None else default_criteria_dir()
    if not root.is_dir():
        raise CriteriaError(str(root), None, "criteria directory not found")
    files = sorted(p for p in root.iterdir()
                   if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files and not extra_texts:
        raise CriteriaError(str(root), None, "no *.yaml criteria files found")
    policies: dict[str, Policy] = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise CriteriaError(path.name, None, "file is not UTF-8 text") from None
        p = load_policy_text(text, path.name)
        if p.id in policies:
            raise CriteriaError(path.name, None,
                                f"policy id {p.id!r} is also used by {policies[p.id].file}")
        policies[p.id] = p
    for name, text in (extra_texts or {}).items():
        p = load_policy_text(text, name)
        policies[p.id] = p
    return Library(policies=tuple(policies.values()))
