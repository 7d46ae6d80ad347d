"""Load and validate the criteria library (YAML files in ``criteria/``) into pydantic models.

Every problem is reported as :class:`CriteriaError` naming the file, the criterion id and the
reason (for expressions, the offending token). Loading never executes anything from a file.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from preauth.catalog.fields import CONTRASTS, REGIONS
from preauth.criteria.examples import (
    MAX_EXAMPLES_PER_CRITERION,
    MAX_EXAMPLES_PER_POLICY,
    MAX_NOTE_CHARS,
    Example,
    procedure_problem,
)
from preauth.criteria.expressions import CompiledExpression, ExpressionError, compile_expression
from preauth.safe_yaml import (
    MAX_YAML_ALIASES,
    MAX_YAML_DEPTH,
    MAX_YAML_NUMBER_CHARS,
    YAMLProblem,
    one_line,
    read_yaml,
)

__all__ = [
    "CATEGORY_LABELS",
    "LEGACY_RATING_BANDS",
    "MAX_CRITERIA_PER_POLICY",
    "MAX_EXAMPLES_PER_CRITERION",
    "MAX_EXAMPLES_PER_POLICY",
    "MAX_FILE_BYTES",
    "MAX_LEAVES_PER_POLICY",
    "MAX_MESSAGE_CHARS",
    "MAX_NODES_PER_POLICY",
    "MAX_NOTE_CHARS",
    "MAX_YAML_ALIASES",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NUMBER_CHARS",
    "Category",
    "CriteriaError",
    "Criterion",
    "Example",
    "Library",
    "Policy",
    "Rating",
    "Reference",
    "default_criteria_dir",
    "load_library",
    "load_policy_text",
]

# Limits on one policy file (a custom upload is untrusted). What the bundled files need is in
# brackets; the limits leave about ten times that, and the worst file they allow still loads,
# builds an engine and evaluates a case quickly in little memory (docs/criteria.md).
MAX_FILE_BYTES = 256_000  # [23 KB here; 103 KB: the ACR branch's acr.yaml with its examples]
# (YAML: preauth.criteria._yaml's MAX_YAML_DEPTH [6], MAX_YAML_ALIASES [0] and
# MAX_YAML_NUMBER_CHARS [1], re-exported here)
MAX_CRITERIA_PER_POLICY = 200  # [16]
MAX_LEAVES_PER_POLICY = 300  # distinct leaf conditions, one SQL column each [28]
MAX_NODES_PER_POLICY = 10_000  # syntax-tree nodes of all its expressions [232] — 200
#   criteria as complex as the most complex bundled one (50); bounds load and evaluation work
# (per criterion: preauth.criteria.expressions.MAX_EXPRESSION_LENGTH / _NODES /
# MAX_NESTING_DEPTH; examples: preauth.criteria.examples' MAX_EXAMPLES_PER_CRITERION,
# MAX_EXAMPLES_PER_POLICY and MAX_NOTE_CHARS, re-exported here)
MAX_MESSAGE_CHARS = 500  # an error message names file, criterion and reason on one line
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


class CriteriaError(ValueError):
    """A criteria file is unusable; the message names file, criterion and reason."""

    def __init__(self, file: str, criterion: str | None, reason: str,
                 token: str | None = None) -> None:
        where = one_line(file, 120) + (f", criterion {one_line(criterion, 80)!r}"
                                         if criterion else "")
        super().__init__(one_line(f"{where}: {reason}", MAX_MESSAGE_CHARS))
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


# The legacy ACR 1–9 scale and the category each band meant: 1–3 usually not appropriate,
# 4–6 may be appropriate, 7–9 usually appropriate. Current ACR tables give categories only.
LEGACY_RATING_BANDS: dict[Category, tuple[int, int]] = {
    Category.USUALLY_NOT_APPROPRIATE: (1, 3),
    Category.MAY_BE_APPROPRIATE: (4, 6),
    Category.USUALLY_APPROPRIATE: (7, 9),
}


class Rating(_Strict):
    """A category for one procedure, with the legacy 1–9 rating where a source gave one.

    The rating must sit in its category's band (:data:`LEGACY_RATING_BANDS`) and its
    ``rating_note`` must label it as legacy, so that wherever the rating is shown beside its
    note it reads as the legacy scale and never contradicts the category.
    """

    category: Category
    rating: int | None = Field(default=None, ge=1, le=9)
    rating_note: str = ""  # e.g. "legacy 2007 rating"
    comment: str = ""

    @model_validator(mode="after")
    def _legacy_band(self) -> Rating:
        if self.rating is None:
            return self
        band = LEGACY_RATING_BANDS.get(self.category)
        if band is None:
            raise ValueError(f"rating {self.rating}: a 1–9 rating belongs to the ACR scale, "
                             f"not to the payer category {self.category.value}")
        if not band[0] <= self.rating <= band[1]:
            within = next(c for c, (lo, hi) in LEGACY_RATING_BANDS.items()
                          if lo <= self.rating <= hi)
            raise ValueError(
                f"legacy rating {self.rating} contradicts the category "
                f"{self.category.value}: on the legacy 1–9 scale {self.rating} is "
                f"{within.label.lower()} ({LEGACY_RATING_BANDS[within][0]}–"
                f"{LEGACY_RATING_BANDS[within][1]}), {self.category.value} is "
                f"{band[0]}–{band[1]}; drop the rating or give the category of its band")
        if "legacy" not in self.rating_note.lower():
            raise ValueError(
                f"rating {self.rating}: rating_note must label it as the legacy 1–9 scale "
                f"(e.g. 'legacy 2007 rating'); got {self.rating_note!r}")
        return self

    @property
    def legacy_text(self) -> str:
        """The rating as it is to be shown ("legacy 1–9 rating 8 (legacy 2007 rating)"), or
        "" without one."""
        if self.rating is None:
            return ""
        note = f" ({self.rating_note})" if self.rating_note else ""
        return f"legacy 1–9 rating {self.rating}{note}"


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
    # partial cases with the status they must give (preauth.criteria.examples); run and
    # checked for coverage by tests/criteria/test_examples.py, never at load time
    examples: tuple[Example, ...] = ()

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

    @field_validator("examples", mode="before")
    @classmethod
    def _bounded_examples(cls, v: Any) -> Any:
        # before any example is validated: a hostile file fails fast
        if isinstance(v, list | tuple) and len(v) > MAX_EXAMPLES_PER_CRITERION:
            raise ValueError(f"{len(v):,} examples; a criterion may have at most "
                             f"{MAX_EXAMPLES_PER_CRITERION}")
        return v

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
    # a few words where space is short (a table column, a phone screen); default: the name
    short_name: str = Field(default="", max_length=24)
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

    @field_validator("effective", mode="before")
    @classmethod
    def _iso_date(cls, v: Any) -> Any:
        # The loader keeps dates as text; only a real YYYY-MM-DD day is a date here (no
        # timestamps, week dates or numbers of seconds).
        if v is None or isinstance(v, dt.date):
            return v
        if not isinstance(v, str) or not _ISO_DATE.fullmatch(v.strip()):
            raise ValueError("expected a date written YYYY-MM-DD")
        try:
            return dt.date.fromisoformat(v.strip())
        except ValueError:
            raise ValueError(f"{v.strip()} is not a real date") from None

    @property
    def short_label(self) -> str:
        """The short name, or the name when the file gives none."""
        return self.short_name or self.name

    def criterion(self, cid: str) -> Criterion:
        for c in self.criteria:
            if c.id == cid:
                return c
        raise KeyError(f"policy {self.id!r} has no criterion {cid!r}")


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
    return Path(__file__).resolve().parents[2] / "criteria"


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
    if len(loc) >= 2 and loc[0] == "examples" and isinstance(loc[1], int):
        # examples are counted from 1, as a reader counts the items of the list
        loc = [f"example #{loc[1] + 1}", *loc[2:]]
    where = ".".join(str(p) for p in loc) or "(top level)"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key (check spelling)"
    elif first["type"] == "missing":
        msg = "required key is missing"
    elif first["type"] == "value_error":
        msg = msg.removeprefix("Value error, ")
    more = f" (and {len(err.errors()) - 1} more problems)" if len(err.errors()) > 1 else ""
    return criterion, f"{where}: {msg}{more}"


def load_policy_text(text: str, file: str) -> Policy:
    """Parse and validate one policy file's text; ``file`` names it in error messages.

    Raises :class:`CriteriaError` — and nothing else — for any text.
    """
    if not isinstance(text, str):
        raise CriteriaError(file, None, "expected the file's text")
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", errors="replace")) \
            > MAX_FILE_BYTES:
        raise CriteriaError(file, None, f"file is larger than {MAX_FILE_BYTES:,} bytes, the "
                                        f"limit for a criteria file")
    try:
        data = read_yaml(text)
    except YAMLProblem as err:
        raise CriteriaError(file, None, str(err)) from None
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
        raise CriteriaError(file, None, f"{len(crits):,} criteria; a policy file may have at "
                                        f"most {MAX_CRITERIA_PER_POLICY}")
    examples = sum(len(c["examples"]) for c in crits if isinstance(c, dict)
                   and isinstance(c.get("examples"), list))
    if examples > MAX_EXAMPLES_PER_POLICY:
        raise CriteriaError(file, None, f"{examples:,} examples; a policy file may have at "
                                        f"most {MAX_EXAMPLES_PER_POLICY:,}")
    if "criteria" in meta or "file" in meta:
        key = "criteria" if "criteria" in meta else "file"
        raise CriteriaError(file, None, f"policy.{key}: unknown key (check spelling)")
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
    leaves: set[str] = set()  # distinct leaf conditions, as the engine keys its columns
    nodes = 0
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
        nodes += compiled.size
        if nodes > MAX_NODES_PER_POLICY:
            raise CriteriaError(
                file, c.id, f"when: the policy's expressions have more than "
                            f"{MAX_NODES_PER_POLICY:,} parts (fields, values, operators) in "
                            f"all, the limit for one policy")
        leaves.update(n.sql() for n in compiled.root.walk() if n.kind == "leaf")
        if len(leaves) > MAX_LEAVES_PER_POLICY:
            raise CriteriaError(
                file, c.id, f"when: the policy's criteria use more than "
                            f"{MAX_LEAVES_PER_POLICY} distinct conditions (comparisons, IN, "
                            f"BETWEEN, IS NULL, yes/no fields), the limit for one policy")
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
        for i, example in enumerate(c.examples):
            problem = procedure_problem(c, example)
            if problem:
                raise CriteriaError(file, c.id, f"example #{i + 1}.case: {problem}")


# A criteria file's policy, parsed once per process for a given text: immutable, so every
# `preauth` command, page and test shares it (the YAML and the check of every example take
# most of a second). Files on disk only - an upload's text is not kept beyond its session.
_file_policy = lru_cache(maxsize=32)(load_policy_text)


def load_library(directory: str | Path | None = None,
                 extra_texts: Mapping[str, str] | None = None) -> Library:
    """Load every ``*.yaml`` / ``*.yml`` policy in ``directory`` (default: ``criteria/``).

    ``extra_texts`` maps a display file name to YAML text (custom uploads); an uploaded
    policy replaces a bundled one with the same id.
    """
    root = Path(directory) if directory is not None else default_criteria_dir()
    if not root.is_dir():
        raise CriteriaError(str(root), None, "criteria directory not found")
    try:
        files = sorted(p for p in root.iterdir()
                       if p.suffix in (".yaml", ".yml") and p.is_file())
    except OSError as err:
        raise CriteriaError(str(root), None, f"cannot list the criteria directory: "
                                             f"{err.strerror or type(err).__name__}") from None
    if not files and not extra_texts:
        raise CriteriaError(str(root), None, "no *.yaml criteria files found")
    policies: dict[str, Policy] = {}
    for path in files:
        try:
            if path.stat().st_size > MAX_FILE_BYTES:  # before reading it into memory
                raise CriteriaError(path.name, None, f"file is larger than "
                                                     f"{MAX_FILE_BYTES:,} bytes, the limit "
                                                     f"for a criteria file")
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise CriteriaError(path.name, None, "file is not UTF-8 text") from None
        except OSError as err:
            raise CriteriaError(path.name, None,
                                f"cannot be read: {err.strerror or type(err).__name__}"
                                ) from None
        p = _file_policy(text, path.name)
        if p.id in policies:
            raise CriteriaError(path.name, None,
                                f"policy id {p.id!r} is also used by {policies[p.id].file}")
        policies[p.id] = p
    for name, text in (extra_texts or {}).items():
        p = load_policy_text(text, name)
        policies[p.id] = p
    return Library(policies=tuple(policies.values()))
