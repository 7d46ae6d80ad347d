"""Properties of deriving fields from diagnosis codes: one case ≡ its row in a batch, and a
code reads the same however it is spelled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preauth.catalog.schema import case_table
from preauth.sources.codes import (
    CODES_COLUMN,
    DERIVABLE_FIELDS,
    CodeList,
    default_code_list,
    derive_case,
    derive_from_codes,
    load_code_list,
    parse_codes,
)
from tests.fast import examples

# Codes the bundled list derives from (exact, under a * entry, in a range, two fields, one of
# the overlapping M80 pair), codes it lists as deriving nothing, codes it does not hold, and
# junk.
POOL = ["G83.4", "C79.51", "Z85.3", "Z85", "M46.26", "M46.31", "M54.16", "M51.16", "M47.12",
        "M80.08XA", "M80.08XD", "M81.0", "D84.9", "Z79.52", "R63.4", "M48.062", "M54.50",
        "M54.2", "S32.010A", "I10", "E11.9", "N/A", "M54.X6Q!", "72148", "x"]
FIELDS = ["cauda_equina_signs", "cancer_history", "radiculopathy", "osteoporosis",
          "suspected_fracture", "infection_signs", "myelopathy_signs"]
SEPARATORS = [",", ";", "|", " ", ", ", " | ", "\t", "\n"]
# A list whose codes disagree on an enum (trauma), so the conflict rule is exercised too.
CONFLICTING = """\
sources:
  src: {text: Test source, url: https://example.org}
codes:
  - {code: T01.1, title: One, source: src, derives: {trauma: low_velocity}}
  - {code: T01.2, title: Two, source: src, derives: {trauma: high_velocity}}
  - {code: T01.3*, title: Three, source: src, derives: {trauma: high_velocity,
                                                         cauda_equina_signs: true}}
  - {code: G83.4, title: Four, source: src, derives: {cauda_equina_signs: true}}
"""


def _spelling(code: str) -> st.SearchStrategy[str]:
    return st.sampled_from([code, code.lower(), code.replace(".", ""),
                            code.replace(".", "").lower()])


@st.composite
def _cell(draw: st.DrawFn, pool: list[str]) -> str | None:
    codes = draw(st.lists(st.sampled_from(pool).flatmap(_spelling), max_size=5))
    if not codes and draw(st.booleans()):
        return None
    out = ""
    for i, code in enumerate(codes):
        out += (draw(st.sampled_from(SEPARATORS)) if i else "") + code
    return out


@st.composite
def _cases(draw: st.DrawFn, pool: list[str]) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 8))
    out = []
    for i in range(n):
        case: dict[str, Any] = {"case_id": f"c{i}", CODES_COLUMN: draw(_cell(pool))}
        for name in FIELDS:
            case[name] = draw(st.sampled_from([None, None, True, False]))
        case["trauma"] = draw(st.sampled_from([None, None, "none", "high_velocity"]))
        out.append(case)
    return out


def _one_equals_batch(cases: list[dict[str, Any]], code_list: CodeList) -> None:
    batch = derive_from_codes(case_table(cases), code_list)
    for i, case in enumerate(cases):
        one, provenance, warnings = derive_case(case, code_list)
        row = {name: batch.table.column(name)[i].as_py() for name in DERIVABLE_FIELDS}
        assert {name: one.get(name) for name in DERIVABLE_FIELDS} == row, case
        assert provenance == batch.provenance_of(i), case
        assert warnings == batch.messages(i), case
        # the rules: an explicit value is never changed; a filled value is cited
        for name in DERIVABLE_FIELDS:
            if case.get(name) is not None:
                assert row[name] == case[name] and name not in provenance
            elif row[name] is not None:
                assert provenance[name]


@settings(max_examples=examples(150), deadline=None)
@given(_cases(POOL))
def test_one_case_is_its_row_in_a_batch(cases: list[dict[str, Any]]) -> None:
    _one_equals_batch(cases, default_code_list())


@pytest.fixture(scope="module")
def conflicting(tmp_path_factory: pytest.TempPathFactory) -> CodeList:
    path: Path = tmp_path_factory.mktemp("codes") / "conflicting.yaml"
    path.write_text(CONFLICTING, encoding="utf-8")
    return load_code_list(path)


@settings(max_examples=examples(150), deadline=None)
@given(st.data())
def test_one_case_is_its_row_with_disagreeing_codes(conflicting: CodeList,
                                                    data: st.DataObject) -> None:
    cases = data.draw(_cases(["T01.1", "T01.2", "T01.3", "T01.31", "G83.4", "I10", "??"]))
    _one_equals_batch(cases, conflicting)


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.sampled_from(POOL[:-4]), min_size=1, max_size=6), st.data())
def test_a_code_reads_the_same_however_it_is_spelled(codes: list[str],
                                                     data: st.DataObject) -> None:
    spelled = [data.draw(_spelling(c)) for c in codes]
    text = "".join((data.draw(st.sampled_from(SEPARATORS)) if i else "") + c
                   for i, c in enumerate(spelled))
    assert parse_codes(text) == (tuple(dict.fromkeys(codes)), ())
