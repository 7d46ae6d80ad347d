"""The pydantic Case model: per-field messages, procedure derivation and conflicts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from preauth.catalog.case import Case


def test_case_coerces_and_derives() -> None:
    c = Case(case_id="a", cpt_code="72148", age="40", radiculopathy="Yes", symptom_weeks="")
    assert (c.region, c.contrast, c.age, c.radiculopathy, c.symptom_weeks) == \
        ("lumbar", "without", 40, True, None)
    assert Case(case_id="b", region="cervical", contrast="with").cpt_code == "72142"


@pytest.mark.parametrize(("data", "loc"), [
    ({"case_id": "a", "age": 130}, "age"),
    ({"case_id": "a", "radiculopathy": "maybe"}, "radiculopathy"),
    ({"case_id": "a", "trauma": "severe"}, "trauma"),
    ({"case_id": ""}, "case_id"),
    ({"case_id": "a", "unknown_field": 1}, "unknown_field"),
])
def test_case_errors_name_the_field(data: dict, loc: str) -> None:
    with pytest.raises(ValidationError) as info:
        Case(**data)
    assert loc in str(info.value)


def test_cpt_region_conflict() -> None:
    with pytest.raises(ValidationError, match="contradicts cpt_code 72148"):
        Case(case_id="a", cpt_code="72148", region="cervical")
