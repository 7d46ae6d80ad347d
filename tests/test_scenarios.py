"""The teaching gallery: every scenario is a valid case and the engine reaches the verdicts the
gallery teaches (so a criteria change that moves a teaching case is noticed)."""

from __future__ import annotations

import pytest

from preauth.catalog.case import Case
from preauth.evaluate.engine import Engine
from preauth.synthetic.scenarios import DEFAULT_CASE, SCENARIOS, scenario


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
