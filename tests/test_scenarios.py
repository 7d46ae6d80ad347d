"""The teaching gallery: every scenario is a valid case and the engine reaches the verdicts the
gallery teaches (so a criteria change that moves a teaching case is noticed)."""

from __future__ import annotations

import pytest

from preauth.catalog.case import Case
from preauth.catalog.fields import FIELDS, FIELDS_BY_NAME, RED_FLAG_FIELDS, Kind
from preauth.evaluate.engine import Engine
from preauth.synthetic.scenarios import DEFAULT_CASE, NO_RED_FLAGS, SCENARIOS, scenario

# The catalog's red-flag group, read from the fields themselves (not from RED_FLAG_FIELDS), so
# a field added to the group is one these tests expect everywhere a red-flag list is used.
CATALOG_RED_FLAGS = {f.name for f in FIELDS if f.group == "red_flags"}


def _documented_absent(name: str, value: object) -> bool:
    f = FIELDS_BY_NAME[name]
    return value is False if f.kind is Kind.BOOLEAN else value == "none"


def test_gallery_covers_the_required_vignettes() -> None:
    assert len(SCENARIOS) >= 12
    ids = {s.id for s in SCENARIOS}
    for needed in ("acute-lbp-no-red-flags", "chronic-lbp-no-management",
                   "failed-6-weeks-injection-planned", "cauda-equina", "cancer-history",
                   "infection-ivdu", "osteoporotic-fall", "post-lumbar-surgery",
                   "cervical-radiculopathy", "cervical-myelopathy", "thoracic-known-cancer",
                   "post-cervical-fusion-lumbar", "post-cervical-fusion-thoracic"):
        assert needed in ids
    assert len(ids) == len(SCENARIOS)


@pytest.mark.parametrize("s", SCENARIOS, ids=lambda s: s.id)
def test_scenario_is_a_valid_case_with_sources(s) -> None:  # type: ignore[no-untyped-def]
    Case(**s.case)
    assert s.sources and s.teaching and s.summary


@pytest.mark.parametrize("s", SCENARIOS, ids=lambda s: s.id)
def test_engine_reaches_the_taught_verdicts(engine: Engine, s) -> None:  # type: ignore[no-untyped-def]
    got = {r["policy"]: r["verdict"] for r in engine.evaluate_case(s.case)}
    assert got == s.expected


def test_default_case_and_lookup() -> None:
    Case(**DEFAULT_CASE)
    assert scenario("cauda-equina").case["cauda_equina_signs"] is True
    with pytest.raises(KeyError):
        scenario("nope")


def test_red_flag_fields_are_the_catalog_group() -> None:
    assert {"cauda_equina_signs", "cancer_history", "trauma"} <= CATALOG_RED_FLAGS
    assert [f.name for f in RED_FLAG_FIELDS] == [f.name for f in FIELDS
                                                 if f.name in CATALOG_RED_FLAGS]


def test_no_red_flags_baseline_documents_every_red_flag_absent() -> None:
    """The negative red-flag screen of the scenarios (and the explorer's default case) covers
    every red flag of the catalog: a red flag added to the group is documented absent too."""
    assert set(NO_RED_FLAGS) == CATALOG_RED_FLAGS
    for case in (NO_RED_FLAGS, DEFAULT_CASE, scenario("acute-lbp-no-red-flags").case):
        missing = sorted(n for n in CATALOG_RED_FLAGS
                         if n not in case or not _documented_absent(n, case[n]))
        assert not missing, f"red flags not documented absent: {missing}"
