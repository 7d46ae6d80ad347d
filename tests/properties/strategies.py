"""Hypothesis strategies for cases, generated from the field catalog."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from preauth.catalog.fields import CLINICAL_FIELDS, CPT_CODES, Field, Kind

_SKIP = {"case_id", "carrier", "request_date", "cpt_code", "region", "contrast"}


def _value(f: Field) -> st.SearchStrategy[Any]:
    if f.kind is Kind.BOOLEAN:
        return st.booleans()
    if f.kind is Kind.ENUM:
        return st.sampled_from(f.values)
    if f.kind is Kind.TEXT:  # diagnosis codes: read by no criterion, only by preauth.sources
        return st.text(alphabet="GMZ834.16 ,;|x!", max_size=20)
    lo = f.minimum if f.minimum is not None else 0
    hi = f.maximum if f.maximum is not None else 40
    if f.kind is Kind.INTEGER:
        return st.integers(int(lo), int(hi))
    # boundaries matter most: bias towards thresholds used by criteria
    return st.one_of(st.sampled_from([0.0, 0.9, 1.0, 2.9, 3.0, 3.1, 3.9, 4.0, 5.9, 6.0, 6.1,
                                      12.0]),
                     st.floats(lo, hi, allow_nan=False, allow_infinity=False))


# Built once: hypothesis validates a strategy the first time it draws from it, and building
# ~60 of them for every drawn case took most of a property test's time.
_CPT = st.one_of(st.sampled_from(sorted(CPT_CODES)), st.none())
_VALUES = {f.name: st.one_of(st.none(), _value(f)) for f in CLINICAL_FIELDS
           if f.name not in _SKIP}


@st.composite
def cases(draw: st.DrawFn, case_id: str = "h") -> dict[str, Any]:
    case: dict[str, Any] = {"case_id": case_id}
    case["cpt_code"] = draw(_CPT)
    for name, values in _VALUES.items():
        case[name] = draw(values)
    return case
