"""Shared fixtures for the per-criterion boundary tests and the verdict vignettes.

One :class:`Engine` per session and a memo of (policy, case) → result row. To keep the suite
fast, the cases of the parametrized criterion tests (parameters ``cpt`` + ``case``, or
``cpt`` + ``overlay`` on the quiet case, in a module with a ``POLICY``) are gathered at
collection and evaluated up front in one batch per policy (``Engine.evaluate``, the same SQL
and stage-2 code as ``Engine.evaluate_case``; ``test_batch_and_single_case_agree`` checks
that). Anything else is evaluated one case at a time with ``Engine.evaluate_case``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from preauth.catalog.fields import RED_FLAG_FIELDS
from preauth.catalog.schema import case_table
from preauth.criteria.library import Library, load_library
from preauth.evaluate.engine import Engine

Row = dict[str, Any]

# Fully documented, unremarkable case: every clinical field a criterion reads is documented
# with a "negative" value, so no indication of any policy is met or undocumented (checked by
# ``test_quiet_case_meets_nothing`` in test_vignettes.py). Criterion tests overlay the fields
# that make one criterion true to see which contrast classes it supports.
QUIET: dict[str, Any] = {
    "age": 45,
    "symptom_weeks": 8.0,
    "prior_spine_surgery_region": "none",
    "new_or_progressive_symptoms": False,
    "functional_impairment": False,
    "pain_score": 4,
    "degenerative_spine_disease": False,
    "severe_back_pain": False,
    "known_spinal_malignancy_or_infection": False,
    "radiculopathy": False,
    "neuro_deficit": False,
    "motor_or_reflex_deficit": False,
    "progressive_neuro_deficit": False,
    "myelopathy_signs": False,
    "motor_strength_grade": 5,
    "foot_drop": False,
    "major_motor_weakness": False,
    "clinical_spinal_stenosis": False,
    "suspected_cord_injury": False,
    "myelopathy_initial_diagnosis": False,
    "abnormal_emg_ncs": False,
    "neuro_exam_documented": True,
    **{f.name: f.absent_value for f in RED_FLAG_FIELDS},  # every red flag of the catalog
    "conservative_therapy_weeks": 0.0,
    "physical_therapy": False,
    "medication_trial": False,
    "active_conservative_therapy": False,
    "inactive_conservative_therapy": False,
    "progression_during_conservative_care": False,
    "surgical_candidate": False,
    "epidural_injection_planned": False,
    "prior_radiographs": False,
    "radiographs_inconclusive": False,
    # months_since_prior_mri stays NULL: "leave empty when there was none" (and with it the
    # overlapping-imaging justifications); conservative_therapy_weeks_last_6_months stays NULL:
    # the 8-week episode lies within the last 6 months
}


Key = tuple[str, tuple[tuple[str, Any], ...]]


def _key(policy: str, case: Mapping[str, Any]) -> Key:
    return policy, tuple(sorted({**case, "case_id": "t"}.items()))


class Evaluator:
    """Evaluates cases with one engine, memoising (policy, case) → result row."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._memo: dict[Key, Row] = {}
        self.prefetched: list[Key] = []

    def row(self, policy: str, case: Mapping[str, Any]) -> Row:
        key = _key(policy, case)
        if key not in self._memo:
            rows = self.engine.evaluate_case({**case, "case_id": "t"}, [policy])
            assert len(rows) == 1
            self._memo[key] = rows[0]
        return self._memo[key]

    def single(self, policy: str, case: Mapping[str, Any]) -> Row:
        """Always through ``evaluate_case`` (no memo)."""
        return self.engine.evaluate_case({**case, "case_id": "t"}, [policy])[0]

    def prefetch(self, wanted: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        """Evaluate many (policy, case) pairs in one batch per policy (kept in the memo; their
        keys in ``prefetched``)."""
        by_policy: dict[str, dict[Key, Mapping[str, Any]]] = {}
        for policy, case in wanted:
            key = _key(policy, case)
            if key not in self._memo:
                by_policy.setdefault(policy, {})[key] = case
        for policy, cases in by_policy.items():
            keys = list(cases)
            table = case_table([{**cases[k], "case_id": str(i)} for i, k in enumerate(keys)])
            for row in self.engine.evaluate(table, [policy]).to_pylist():
                self._memo[keys[int(row["case_id"])]] = {**row, "case_id": "t"}
            self.prefetched.extend(keys)


def status(engine: Engine | Evaluator, policy: str, criterion_id: str,
           case: Mapping[str, Any]) -> str:
    """'met' | 'not_met' | 'undocumented' for an applicable criterion, else 'n/a'."""
    ev = engine if isinstance(engine, Evaluator) else Evaluator(engine)
    # a typo in a test must not pass silently as 'n/a'
    ev.engine.library[policy].criterion(criterion_id)
    row = ev.row(policy, case)
    found = [name for name, key in (("met", "fired"), ("not_met", "not_met"),
                                    ("undocumented", "undocumented"))
             if criterion_id in row[key]]
    assert len(found) <= 1, f"{criterion_id} in several status lists: {row}"
    return found[0] if found else "n/a"


HERE = Path(__file__).resolve().parent
_PREFETCH = pytest.StashKey[list[tuple[str, dict[str, Any]]]]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        if item.path.parent != HERE:  # only this directory's criterion tests
            continue
        params = getattr(getattr(item, "callspec", None), "params", {})
        policy = getattr(getattr(item, "module", None), "POLICY", None)
        if not policy or "cpt" not in params:
            continue
        if "case" in params:
            wanted.append((policy, {"cpt_code": params["cpt"], **params["case"]}))
        elif "overlay" in params:
            wanted.append((policy, {**QUIET, **params["overlay"], "cpt_code": params["cpt"]}))
    config.stash[_PREFETCH] = wanted


@pytest.fixture(scope="session")
def library() -> Library:
    return load_library()


@pytest.fixture(scope="session")
def engine(library: Library) -> Iterator[Engine]:
    eng = Engine(library)
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def evaluator(engine: Engine, request: pytest.FixtureRequest) -> Evaluator:
    ev = Evaluator(engine)
    ev.prefetch(request.config.stash.get(_PREFETCH, []))
    return ev


@pytest.fixture(scope="session")
def status_of(evaluator: Evaluator) -> Callable[[str, str, Mapping[str, Any]], str]:
    """``status_of(policy, criterion_id, case)`` with the session engine."""

    def _status(policy: str, criterion_id: str, case: Mapping[str, Any]) -> str:
        return status(evaluator, policy, criterion_id, case)

    return _status


@pytest.fixture(scope="session")
def outcome(evaluator: Evaluator) -> Callable[[str, Mapping[str, Any]], str]:
    """``outcome(policy, case)``: 'meets' (no review), 'review' (meets, flagged for review),
    'does_not_meet' or 'insufficient'."""

    def _outcome(policy: str, case: Mapping[str, Any]) -> str:
        row = evaluator.row(policy, case)
        if row["verdict"] == "meets_criteria":
            return "review" if row["needs_review"] else "meets"
        return {"does_not_meet": "does_not_meet",
                "insufficient_documentation": "insufficient"}[row["verdict"]]

    return _outcome


@pytest.fixture()
def quiet() -> dict[str, Any]:
    return dict(QUIET)
