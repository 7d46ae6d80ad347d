"""The pydantic ``Case`` model, generated from the field catalog (no field is listed twice).

Used to validate one case typed by a person (the explorer, JSON on the CLI) with clear
per-field messages. Batch files go through the vectorized :mod:`preauth.ingest` instead; both
apply the same catalog rules (types, allowed values, ranges, CPT/region/contrast agreement).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from preauth.catalog.fields import CPT_CODES, FIELDS, Kind, cpt_for
from preauth.catalog.fields import Field as CatalogField

__all__ = ["Case", "parse_bool"]

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


def parse_bool(value: Any) -> bool | None:
    """true/false, yes/no, y/n, 1/0 (any case); empty → None; anything else → ValueError."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text == "":
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected true/false, yes/no, y/n or 1/0, got {value!r}")


def _annotation(f: CatalogField) -> Any:
    base: Any
    if f.kind is Kind.BOOLEAN:
        base = bool
    elif f.kind is Kind.INTEGER:
        base = int
    elif f.kind is Kind.NUMBER:
        base = float
    elif f.kind is Kind.DATE:
        base = dt.date
    elif f.kind is Kind.ENUM:
        base = Literal[f.values]  # type: ignore[valid-type]
    else:
        base = str
    return base if f.required else base | None


def _definition(f: CatalogField) -> tuple[Any, Any]:
    kwargs: dict[str, Any] = {"description": f.help, "title": f.label}
    if f.minimum is not None:
        kwargs["ge"] = f.minimum
    if f.maximum is not None:
        kwargs["le"] = f.maximum
    if f.kind is Kind.NUMBER:
        kwargs["allow_inf_nan"] = False  # finite, as batch ingest requires
    if f.required:
        kwargs["min_length"] = 1
        return _annotation(f), Field(..., **kwargs)
    return _annotation(f), Field(None, **kwargs)


class _CaseBase(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              validate_assignment=True)

    @field_validator(*[f.name for f in FIELDS if f.kind is Kind.BOOLEAN], mode="before",
                     check_fields=False)
    @classmethod
    def _bools(cls, v: Any) -> Any:
        return parse_bool(v)

    @field_validator(*[f.name for f in FIELDS if not f.required], mode="before",
                     check_fields=False)
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        return None if isinstance(v, str) and v.strip() == "" else v

    @model_validator(mode="after")
    def _procedure(self) -> _CaseBase:
        cpt = getattr(self, "cpt_code", None)
        region = getattr(self, "region", None)
        contrast = getattr(self, "contrast", None)
        if cpt is not None:
            r, c = CPT_CODES[cpt]
            if region is not None and region != r:
                raise ValueError(f"region {region!r} contradicts cpt_code {cpt} ({r})")
            if contrast is not None and contrast != c:
                raise ValueError(f"contrast {contrast!r} contradicts cpt_code {cpt} ({c})")
            object.__setattr__(self, "region", r)
            object.__setattr__(self, "contrast", c)
        elif region is not None and contrast is not None:
            object.__setattr__(self, "cpt_code", cpt_for(region, contrast))
        return self

    def to_record(self) -> dict[str, Any]:
        """Plain dict of every catalog field (None = not documented)."""
        return self.model_dump()


Case: type[_CaseBase] = create_model(  # type: ignore[call-overload]
    "Case", __base__=_CaseBase, **{f.name: _definition(f) for f in FIELDS})
