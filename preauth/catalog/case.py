"""The pydantic ``Case`` model, generated from the field catalog (no field is listed twice).

Used to validate one case given by a person - the explorer's form, a share link, JSON - with a
message per field. Each field's validator is :func:`preauth.catalog.values.parse_value`, the
parser batch ingest applies to a whole column, so a value is accepted, refused and read alike
everywhere. Beyond the values, the model checks what ingest checks of a row's CPT code, region
and contrast (agreement; region and contrast derived from the code, the code from both). One
rule stays ingest's own: a row of a file must name its procedure, while a case being typed in
may not have one yet.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model, model_validator

from preauth.catalog.fields import CPT_CODES, FIELDS, Kind, cpt_for
from preauth.catalog.fields import Field as CatalogField
from preauth.catalog.values import parse_value

__all__ = ["Case"]

_PYTHON_TYPES: dict[Kind, Any] = {
    Kind.BOOLEAN: bool, Kind.INTEGER: int, Kind.NUMBER: float, Kind.DATE: dt.date,
    Kind.TEXT: str,
}


def _parser(f: CatalogField) -> BeforeValidator:
    """``f``'s values by the catalog's parser (an empty required value is refused)."""

    def parse(value: Any) -> Any:
        parsed = parse_value(f, value)  # InvalidValue is a ValueError: pydantic reports it
        if parsed is None and f.required:
            raise ValueError(f"{f.name} is required but the value is empty")
        return parsed

    return BeforeValidator(parse)


def _annotation(f: CatalogField) -> Any:
    base: Any = Literal[f.values] if f.kind is Kind.ENUM else _PYTHON_TYPES[f.kind]
    return Annotated[base if f.required else base | None, _parser(f)]


def _definition(f: CatalogField) -> tuple[Any, Any]:
    # (the parser has checked ranges and finiteness; these bounds describe the field in the
    # model's JSON schema)
    kwargs: dict[str, Any] = {"description": f.help, "title": f.label}
    if f.minimum is not None:
        kwargs["ge"] = f.minimum
    if f.maximum is not None:
        kwargs["le"] = f.maximum
    if f.kind is Kind.NUMBER:
        kwargs["allow_inf_nan"] = False
    return _annotation(f), Field(... if f.required else None, **kwargs)


class _CaseBase(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

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
