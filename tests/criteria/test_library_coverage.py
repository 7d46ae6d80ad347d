"""Every criterion in criteria/*.yaml must have tests: its id, quoted, in the mirrored test
module tests/criteria/test_<file stem>.py (criteria/acr.yaml → tests/criteria/test_acr.py).

A new criterion or a new policy file without tests fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from preauth.criteria.library import default_criteria_dir

TESTS_DIR = Path(__file__).resolve().parent
CRITERIA_FILES = sorted(p for p in default_criteria_dir().iterdir()
                        if p.suffix in (".yaml", ".yml") and p.is_file())


def criterion_ids(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [str(c["id"]) for c in data.get("criteria") or [] if isinstance(c, dict)
            and "id" in c]


def untested(ids: list[str], test_source: str) -> list[str]:
    """The ids not mentioned as a quoted string in ``test_source``."""
    return [cid for cid in ids if not re.search(rf"""["']{re.escape(cid)}["']""", test_source)]


def test_there_are_criteria_files():
    assert CRITERIA_FILES, "no criteria/*.yaml found"


@pytest.mark.parametrize("path", CRITERIA_FILES, ids=lambda p: p.name)
def test_every_criterion_has_tests(path: Path):
    ids = criterion_ids(path)
    assert ids, f"{path.name} has no criteria"
    test_file = TESTS_DIR / f"test_{path.stem}.py"
    assert test_file.is_file(), (
        f"{path.name} has no test module: add {test_file.relative_to(TESTS_DIR.parent.parent)}"
        f" with boundary tests for {', '.join(ids)}")
    text = test_file.read_text(encoding="utf-8")
    missing = untested(ids, text)
    assert not missing, (
        f"criteria of {path.name} without tests in {test_file.name}: {', '.join(missing)} — "
        "add boundary tests (thresholds under/at/over, TRUE/FALSE/NULL, regions, contrast)")


def test_coverage_check_sees_a_missing_id(tmp_path: Path):
    """The check itself works: an id absent from the test module is reported."""
    (tmp_path / "x.yaml").write_text("criteria:\n  - id: made-up-criterion\n  - id: acr-lbp-v1\n",
                                     encoding="utf-8")
    ids = criterion_ids(tmp_path / "x.yaml")
    text = (TESTS_DIR / "test_acr.py").read_text(encoding="utf-8")
    assert untested(ids, text) == ["made-up-criterion"]
    # a prefix of a tested id is not "mentioned": the match is on the whole quoted id
    assert untested(["acr-lbp"], text) == ["acr-lbp"]
