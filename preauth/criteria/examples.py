"""Examples kept beside each criterion: small partial cases with the status they must give.

In a criteria file::

    examples:            # partial cases; a field not listed is NOT documented (NULL)
      - {expect: met,          case: {conservative_therapy_weeks: 6}, note: at the threshold}
      - {expect: undocumented, case: {}, note: nothing documented}

``expect`` is the criterion's own three-valued status — its ``when`` under Kleene logic:
``met`` (TRUE), ``not_met`` (FALSE) or ``undocumented`` (NULL). ``case`` uses the catalog's
column names and values exactly as a CSV row would; it is validated when the file loads
through the catalog's own :class:`~preauth.catalog.case.Case` model (types, allowed values,
ranges, CPT / region / contrast agreement), so an example can never hold a value a real case
could not. ``region`` / ``cpt_code`` / ``contrast`` may be given; :func:`example_case` fills
the rest of the procedure from the criterion when they are absent.

The examples are run by one generic test (``tests/criteria/test_examples.py``), which also
checks their coverage (:mod:`preauth.criteria.coverage`). Loading never evaluates them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from preauth.catalog.case import Case
from preauth.catalog.fields import CONTRASTS, CPT_CODES, FIELDS_BY_NAME, Kind, cpt_for
from preauth.safe_yaml import one_line

if TYPE_CHECKING:
    from preauth.criteria.library import Criterion

__all__ = [
    "EXPECTATIONS",
    "MAX_EXAMPLES_PER_CRITERION",
    "MAX_EXAMPLES_PER_POLICY",
    "MAX_NOTE_CHARS",
    "PROCEDURE_FIELDS",
    "Example",
    "example_case",
    "procedure_problem",
]

# Limits (what the bundled files need is in brackets; see preauth.criteria.library's limits).
# An example's case is bounded by the catalog: each field at most once, unknown ones refused.
# [17 / 101 / 75 in evicore_style.yaml; 32 / 251 / 102 in the ACR branch's acr.yaml]
MAX_EXAMPLES_PER_CRITERION = 250
MAX_EXAMPLES_PER_POLICY = 2_500
MAX_NOTE_CHARS = 1_000

Expectation = Literal["met", "not_met", "undocumented"]
EXPECTATIONS: tuple[str, ...] = ("met", "not_met", "undocumented")
# The request's procedure: supplied by the test from the criterion when an example omits it.
PROCEDURE_FIELDS = ("cpt_code", "region", "contrast")


def _case_problem(err: ValidationError) -> str:
    """The first problem of the catalog's Case validation, in one line."""
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    shown = one_line(repr(first.get("input")), 60)
    more = f" (and {len(err.errors()) - 1} more problems)" if len(err.errors()) > 1 else ""
    if not loc or first["type"] == "value_error":  # the catalog's own message says it all
        return f"{loc}: {msg}{more}" if loc else f"{msg}{more}"
    hint = FIELDS_BY_NAME[loc].describe_type() if loc in FIELDS_BY_NAME else ""
    expected = f"; expected {hint}" if hint else ""
    return f"{loc}: {msg} (got {shown}{expected}){more}"


class Example(BaseModel):
    """One example of a criterion: a partial case and the status it must give."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    expect: Expectation
    case: dict[str, Any]
    note: str = Field(default="", max_length=MAX_NOTE_CHARS)

    @field_validator("case", mode="before")
    @classmethod
    def _valid_case(cls, v: Any) -> Any:
        """Keys are catalog fields a criterion may read; values pass the catalog's Case
        model. Returns the given fields with their parsed values (plus the region and
        contrast a CPT code implies)."""
        if v is None:
            return {}
        if not isinstance(v, Mapping):
            raise ValueError("expected a mapping of case fields to values, e.g. "
                             "{symptom_weeks: 6, radiculopathy: true}")
        for key in v:
            if not isinstance(key, str) or key not in FIELDS_BY_NAME:
                lowered = FIELDS_BY_NAME.get(str(key).strip().lower())
                hint = f" (did you mean {lowered.name!r}?)" if lowered else " (check spelling)"
                raise ValueError(f"unknown field {one_line(repr(key), 60)}{hint}")
            f = FIELDS_BY_NAME[key]
            if f.outcome or f.kind is Kind.TEXT:
                what = "a payer outcome" if f.outcome else "an identifier"
                raise ValueError(f"{key} is {what}, not a clinical fact a criterion reads")
        try:
            parsed = Case.model_validate({"case_id": "example", **v})
        except ValidationError as err:
            raise ValueError(_case_problem(err)) from None
        record = parsed.to_record()
        given = set(v)
        if "cpt_code" in given:
            given |= {"region", "contrast"}
        return {name: record[name] for name in FIELDS_BY_NAME if name in given}


def procedure_problem(criterion: Criterion, example: Example) -> str | None:
    """Why the example's procedure (if it names one) cannot test ``criterion``: its region
    is not one of the criterion's, or its contrast class is not rated by it."""
    region = example.case.get("region")
    contrast = example.case.get("contrast")
    if region is not None and region not in criterion.regions:
        return (f"region {region} is not one of the criterion's regions "
                f"({', '.join(criterion.regions)})")
    if contrast is not None and contrast not in criterion.appropriateness:
        return (f"contrast {contrast} is not rated by the criterion "
                f"({', '.join(criterion.appropriateness)})")
    return None


def example_case(criterion: Criterion, example: Example) -> dict[str, Any]:
    """The example as a full case record for the engine: every catalog field (None = not
    documented), with the procedure filled from the criterion where the example omits it —
    its first region and its first rated contrast class (without contrast if rated)."""
    case: dict[str, Any] = {name: None for name in FIELDS_BY_NAME}
    case.update(example.case)
    case["case_id"] = "example"
    region = case.get("region") or criterion.regions[0]
    contrast = case.get("contrast") or next(
        c for c in CONTRASTS if c in criterion.appropriateness)
    cpt = case.get("cpt_code") or cpt_for(region, contrast)
    assert CPT_CODES[cpt] == (region, contrast), "Case validation keeps these consistent"
    case.update(cpt_code=cpt, region=region, contrast=contrast)
    return case
