"""A case as URL query parameters (the explorer's shareable link) and back.

Only documented fields are written (an absent parameter means *not documented*); booleans are
1/0. Reading validates every value against the field catalog through the ``Case`` model and
reports each bad parameter by name instead of failing the whole link.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from preauth.case import Case
from preauth.fields import CLINICAL_FIELDS, FIELDS_BY_NAME, Kind

__all__ = ["case_from_params", "case_to_params"]

_SHARED = [f for f in CLINICAL_FIELDS if f.name not in ("region", "contrast")]


def case_to_params(case: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in _SHARED:
        value = case.get(f.name)
        if value is None:
            continue
        if f.kind is Kind.BOOLEAN:
            out[f.name] = "1" if value else "0"
        elif isinstance(value, float) and value.is_integer():
            out[f.name] = str(int(value))
        else:
            out[f.name] = str(value)
    return out


def case_from_params(params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(case, problems): every valid parameter is kept; each invalid or unknown one is
    reported ("age: Input should be less than or equal to 120 (got '130')") and left out."""
    raw = {k: (v[0] if isinstance(v, list) and v else v) for k, v in params.items()}
    problems = [f"{k}: not a case field" for k in raw
                if k not in FIELDS_BY_NAME or k in ("region", "contrast")]
    data = {k: v for k, v in raw.items() if k in {f.name for f in _SHARED}}
    data.setdefault("case_id", "shared-case")
    while True:
        try:
            case = Case(**data)
            break
        except ValidationError as err:
            bad = set()
            for e in err.errors():
                name = str(e["loc"][0]) if e["loc"] else "cpt_code"
                problems.append(f"{name}: {e['msg']} (got {data.get(name)!r})")
                bad.add(name)
            if not bad & set(data):
                bad = {"cpt_code"}
            for name in bad:
                data.pop(name, None)
            data.setdefault("case_id", "shared-case")
    return case.to_record(), problems
