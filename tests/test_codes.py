"""ICD-10-CM codes as evidence (issue 11): the code list, reading a cell, deriving fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from preauth.catalog.schema import arrow_schema, case_table
from preauth.sources.codes import (
    CODES_COLUMN,
    DEFAULT_CODE_LIST,
    DERIVABLE_FIELDS,
    PROVENANCE_TYPE,
    WARNING_SCHEMA,
    CodeList,
    CodeListError,
    default_code_list,
    derive_case,
    derive_from_codes,
    load_code_list,
    parse_codes,
)
from preauth.sources.docs import ROOT, codes_markdown

HEAD = """\
sources:
  src: {text: A source, url: https://example.org/codes}
codes:
"""


def write(tmp_path: Path, entries: str, head: str = HEAD) -> Path:
    path = tmp_path / "list.yaml"
    path.write_text(head + entries, encoding="utf-8")
    return path


def entry(code: str = "code: G83.4", derives: str = "{cauda_equina_signs: true}",
          extra: str = "") -> str:
    return (f"  - {code}\n    title: A title\n    source: src\n    derives: {derives}\n"
            + extra)


# --- the code list: loading and refusals -----------------------------------------------------

def test_a_good_list_loads(tmp_path: Path) -> None:
    cl = load_code_list(write(tmp_path, entry() + entry("code: Z85.*", "{cancer_history: yes}")
                              + entry("range: M46.20-M46.28", "{infection_signs: 1}")
                              + entry("code: M54.50", "{}", "    note: pain alone\n")))
    assert [e.label for e in cl.entries] == ["G83.4", "Z85.-", "M46.20–M46.28", "M54.50"]
    assert [e.kind for e in cl.entries] == ["code", "prefix", "range", "code"]
    assert cl.entries[1].derives == (("cancer_history", True),)  # "yes" read by the catalog
    assert cl.entries[2].members == tuple(f"M462{i}" for i in range(9))
    assert [e.line for e in cl.entries] == [4, 8, 12, 16]
    assert cl.derived_fields == ("cauda_equina_signs", "cancer_history", "infection_signs")


REFUSALS = [
    # (entries, line of the bad entry, entry shown, what the message says)
    (entry(derives="{cauda_equina: true}"), 4, "'G83.4'",
     "unknown field 'cauda_equina' (did you mean 'cauda_equina_signs'?)"),
    (entry(derives="{cauda_equina_signs: maybe}"), 4, "'G83.4'",
     "cauda_equina_signs must be true/false, yes/no, y/n or 1/0, got 'maybe'"),
    (entry(derives="{trauma: fast}"), 4, "'G83.4'",
     "trauma must be one of none, low_velocity, high_velocity, got 'fast'"),
    (entry(derives="{cancer_history: null}"), 4, "'G83.4'", "a code cannot derive"),
    (entry(derives="{age: 50}"), 4, "'G83.4'", "age cannot be derived from a code"),
    (entry(derives="{decision: approved}"), 4, "'G83.4'", "decision cannot be derived"),
    (entry(derives="{diagnosis_codes: G83.4}"), 4, "'G83.4'", "cannot be derived"),
    (entry(derives="[cauda_equina_signs]"), 4, "'G83.4'", "'derives' must map a field"),
    (entry() + entry("code: G8.34"), 8, "'G8.34'", "is not an ICD-10-CM code"),
    (entry() + entry("code: g83.4"), 8, "'g83.4'", "dotted form"),
    (entry() + entry("code: G834"), 8, "'G834'", "dotted form"),
    (entry() + entry("code: Z85*"), 8, "'Z85*'", "(Z85.*, M54.1*)"),
    (entry() + entry("code: M54.1.*"), 8, "'M54.1.*'", "is not an ICD-10-CM code"),
    (entry() + entry("range: M46.20-M46.3"), 8, "'M46.20-M46.3'", "must run over the last"),
    (entry() + entry("range: M46.28-M46.20"), 8, "'M46.28-M46.20'", "first below last"),
    (entry() + entry("range: M46.20-M47.28"), 8, "'M46.20-M47.28'", "same characters"),
    (entry() + entry("range: M46.20 to M46.28"), 8, "'M46.20 to M46.28'", "joined by '-'"),
    (entry() + "  - code: M54.16\n    source: src\n    derives: {radiculopathy: true}\n", 8,
     "'M54.16'", "'title' is missing"),
    (entry() + "  - code: M54.16\n    title: T\n    derives: {radiculopathy: true}\n", 8,
     "'M54.16'", "'source' is missing"),
    (entry() + "  - code: M54.16\n    title: T\n    source: scr\n    derives: {}\n", 8,
     "'M54.16'", "source 'scr' is not in 'sources' (did you mean 'src'?)"),
    (entry() + "  - code: M54.16\n    title: T\n    source: src\n", 8, "'M54.16'",
     "'derives' is missing"),
    (entry() + entry("code: M54.50", "{}"), 8, "'M54.50'", "derives nothing, so it needs a"),
    (entry() + entry("code: M54.50", "{}", "    titel: x\n"), 8, "'M54.50'",
     "unknown key 'titel' (did you mean 'title'?)"),
    (entry() + "  - code: M54.16\n    range: M54.10-M54.18\n    title: T\n    source: src\n"
     "    derives: {}\n", 8, "'M54.16'", "exactly one of 'code' and 'range'"),
    (entry() + "  - G83.4\n", 8, "#2", "an entry is a mapping"),
    # overlaps
    (entry("code: M54.16", "{trauma: low_velocity}")
     + entry("code: M54.1*", "{trauma: high_velocity}"), 8, "'M54.1*'",
     "overlaps entry 'M54.16' (line 4), conflicting values for trauma"),
    (entry("code: M54.1*", "{radiculopathy: true}")
     + entry("range: M54.10-M54.18", "{radiculopathy: true}"), 8, "'M54.10-M54.18'",
     "both derive radiculopathy"),
    (entry("code: M54.*", "{}", "    note: n\n")
     + entry("code: M54.16", "{radiculopathy: true}"), 9, "'M54.16'",
     "'M54.*' derives nothing but 'M54.16' derives radiculopathy"),
    (entry() + entry(), 8, "'G83.4'", "both derive cauda_equina_signs"),
    (entry("code: M54.50", "{}", "    note: n\n") + entry("code: M54.50", "{}", "    note: n\n"),
     9, "'M54.50'", "list a code once"),
]


@pytest.mark.parametrize(("entries", "line", "shown", "says"), REFUSALS,
                         ids=[r[3][:40] for r in REFUSALS])
def test_a_bad_entry_is_refused_naming_file_line_and_entry(
        tmp_path: Path, entries: str, line: int, shown: str, says: str) -> None:
    path = write(tmp_path, entries)
    with pytest.raises(CodeListError) as err:
        load_code_list(path)
    message = str(err.value)
    assert message.startswith(f"{path}, line {line}, entry {shown}:"), message
    assert says in message, message


@pytest.mark.parametrize(("text", "says"), [
    ("codes: [}\n", "not valid YAML"),
    (HEAD + entry(extra="    derives: {}\n"),
     "at line 8, column 5: duplicate key 'derives' (first given at line 7)"),
    ("sources: {src: {text: t}}\ncodes: []\n", "source 'src': 'url' is missing"),
    ("codes:\n" + entry(), "'sources' must map a key"),
    (HEAD, "'codes' must be a non-empty list"),
    ("colour: red\n" + HEAD + entry(), "unknown key 'colour'"),
])
def test_a_bad_file_is_refused(tmp_path: Path, text: str, says: str) -> None:
    path = write(tmp_path, "", head=text)
    with pytest.raises(CodeListError, match=None) as err:
        load_code_list(path)
    assert str(err.value).startswith(str(path)) and says in str(err.value), str(err.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CodeListError, match="cannot read the code list"):
        load_code_list(tmp_path / "nope.yaml")


# --- the bundled list ----------------------------------------------------------------------

def test_the_bundled_list_is_cited_and_every_decision_explained() -> None:
    cl = default_code_list()
    assert cl.path == str(DEFAULT_CODE_LIST) and "FY2026" in cl.version
    assert all(s.url.startswith("https://") for s in cl.sources.values())
    assert len({e.label for e in cl.entries}) == len(cl.entries) >= 50
    for e in cl.entries:
        assert e.title and e.source in cl.sources and e.line, e.pattern
        assert e.derives or e.note.startswith("Derives nothing"), e.pattern


def _derives(code: str) -> dict[str, Any]:
    return {name: value for e in default_code_list().lookup(code) for name, value in e.derives}


# The decisions of issue 11, one per line: code -> what it derives (and nothing else).
DECISIONS = {
    "G83.4": {"cauda_equina_signs": True},
    "C79.51": {"cancer_history": True},  # not suspected_malignancy: see its note
    "Z85.3": {"cancer_history": True}, "Z85.46": {"cancer_history": True},
    "M46.26": {"infection_signs": True}, "M46.36": {"infection_signs": True},
    "M46.46": {},  # discitis not specified as infective
    "M54.12": {"radiculopathy": True}, "M54.16": {"radiculopathy": True},
    "M54.17": {"radiculopathy": True}, "M50.122": {"radiculopathy": True},
    "M51.16": {"radiculopathy": True},
    "M80.08XA": {"osteoporosis": True, "suspected_fracture": True},
    "M80.08XD": {"osteoporosis": True}, "M81.0": {"osteoporosis": True},
    "D84.9": {"immunosuppressed": True}, "D84.821": {"immunosuppressed": True},
    "Z79.52": {"chronic_steroid_use": True},
    "M47.12": {"myelopathy_signs": True, "degenerative_spine_disease": True},
    "M50.02": {"myelopathy_signs": True},
    "R63.4": {"unexplained_weight_loss": True},
    "S32.010A": {}, "S22.000A": {}, "S12.000A": {},  # trauma velocity unknown
    "M54.50": {}, "M54.59": {}, "M54.2": {}, "M54.6": {}, "R26.89": {},
    "I10": {},  # not on the list
}


@pytest.mark.parametrize(("code", "expected"), DECISIONS.items())
def test_the_bundled_list_derives_what_issue_11_decided(code: str, expected: dict) -> None:
    assert _derives(code) == expected


def test_codes_doc_is_generated_and_lists_every_entry() -> None:
    doc = (ROOT / "docs" / "codes.md").read_text(encoding="utf-8")
    assert doc == codes_markdown(), "docs/codes.md is stale: run `python -m preauth.sources.docs`"
    for e in default_code_list().entries:
        assert f"| {e.label} | {e.title} |" in doc, e.label


# --- reading a cell --------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "codes", "malformed"), [
    ("G83.4", ("G83.4",), ()),
    ("g834", ("G83.4",), ()),
    ("G83.4,M54.16;Z85.3|M81.0 R63.4", ("G83.4", "M54.16", "Z85.3", "M81.0", "R63.4"), ()),
    (" G83.4 ,\tm54.16 ;\n z853 |  ", ("G83.4", "M54.16", "Z85.3"), ()),
    ("G83.4\u00a0M5416\x0bC7A.1", ("G83.4", "M54.16", "C7A.1"), ()),
    ("\ufeffG83.4", ("G83.4",), ()),
    ("m80.08xa, M8008XA", ("M80.08XA",), ()),
    ("G83.4 g83.4 G834", ("G83.4",), ()),
    ("I10, i10", ("I10",), ()),
    ("M54.X6Q!", (), ("M54.X6Q!",)),
    ("72148 M5 M54.12345 M54. .M54 5M4.1 n/a MM4.1", (),
     ("72148", "M5", "M54.12345", "M54.", ".M54", "5M4.1", "n/a", "MM4.1")),
    ("G83.4, n/a, M54.16", ("G83.4", "M54.16"), ("n/a",)),
    ("", (), ()), (" ,; | ", (), ()), (None, (), ()),
])
def test_parse_codes(text: str | None, codes: tuple, malformed: tuple) -> None:
    assert parse_codes(text) == (codes, malformed)


# --- deriving fields -------------------------------------------------------------------------

def derive(*cases: dict[str, Any], code_list: CodeList | None = None) -> Any:
    return derive_from_codes(case_table([{"case_id": f"c{i}", **c}
                                         for i, c in enumerate(cases)]), code_list)


def column(result: Any, name: str) -> list:
    return result.table.column(name).to_pylist()


def test_an_empty_field_is_filled_and_cites_the_code() -> None:
    r = derive({CODES_COLUMN: "G83.4"})
    assert column(r, "cauda_equina_signs") == [True]
    assert r.provenance_of(0) == {"cauda_equina_signs": ["ICD-10-CM G83.4 Cauda equina syndrome"]}
    assert r.derived == {"cauda_equina_signs": 1}
    assert r.provenance.type == PROVENANCE_TYPE and r.warnings.schema == WARNING_SCHEMA
    assert r.provenance.to_pylist() == [[("cauda_equina_signs",
                                          ["ICD-10-CM G83.4 Cauda equina syndrome"])]]


@pytest.mark.parametrize("own", [False, True])
def test_an_explicit_value_in_the_own_column_wins(own: bool) -> None:
    r = derive({CODES_COLUMN: "G83.4, M54.16", "cauda_equina_signs": own})
    assert column(r, "cauda_equina_signs") == [own]
    assert column(r, "radiculopathy") == [True]
    assert r.provenance_of(0) == {"radiculopathy": ["ICD-10-CM M54.16 (M54.1- Radiculopathy)"]}


def test_non_specific_and_unlisted_codes_derive_nothing() -> None:
    r = derive({CODES_COLUMN: "M54.50 M54.2 M54.6 S32.010A I10"})
    assert r.derived == {} and r.provenance.to_pylist() == [None]
    assert r.table.select(DERIVABLE_FIELDS).equals(case_table([{}]).select(DERIVABLE_FIELDS))
    assert r.warnings.num_rows == 0


def test_ranges_and_prefixes_match_their_codes_and_cite_the_entry() -> None:
    r = derive({CODES_COLUMN: "M46.28"}, {CODES_COLUMN: "z85"}, {CODES_COLUMN: "Z85.828"},
               {CODES_COLUMN: "M46.31 M80.08XA"})
    assert column(r, "infection_signs") == [True, None, None, True]
    assert column(r, "cancer_history") == [None, True, True, None]
    assert r.provenance_of(0) == {
        "infection_signs": ["ICD-10-CM M46.28 (M46.20–M46.28 Osteomyelitis of vertebra)"]}
    assert r.provenance_of(1) == {
        "cancer_history": ["ICD-10-CM Z85 (Z85.- Personal history of malignant neoplasm)"]}
    assert r.provenance_of(3) == {
        "infection_signs": ["ICD-10-CM M46.31 (M46.30–M46.39 Infection of intervertebral disc "
                            "(pyogenic))"],
        "suspected_fracture": ["ICD-10-CM M80.08XA Age-related osteoporosis with current "
                               "pathological fracture, vertebra(e), initial encounter for "
                               "fracture"],
        "osteoporosis": ["ICD-10-CM M80.08XA (M80.0- Age-related osteoporosis with current "
                         "pathological fracture)"]}


TEST_LIST = (entry("range: M46.20-M46.24", "{infection_signs: true}")
             + entry("code: T01.1", "{trauma: low_velocity}")
             + entry("code: T01.2", "{trauma: high_velocity}")
             + entry("code: T01.3", "{trauma: high_velocity, suspected_fracture: true}")
             + entry("code: G83.4", "{cauda_equina_signs: true}")
             + entry("code: G83.5*", "{cauda_equina_signs: true}"))


@pytest.fixture
def test_list(tmp_path: Path) -> CodeList:
    return load_code_list(write(tmp_path, TEST_LIST))


def test_range_bounds_and_exact_codes(test_list: CodeList) -> None:
    r = derive(*({CODES_COLUMN: c} for c in ("M46.20", "M46.24", "M46.25", "M46.241", "G83.4",
                                              "G83.41", "G83.5", "G83.59X")), code_list=test_list)
    assert column(r, "infection_signs") == [True, True, None, True, None, None, None, None]
    assert column(r, "cauda_equina_signs") == [None, None, None, None, True, None, True, True]


def test_codes_that_disagree_derive_nothing_and_say_so(test_list: CodeList) -> None:
    r = derive({CODES_COLUMN: "T01.1; T01.3"}, {CODES_COLUMN: "T01.2, T01.3"},
               {CODES_COLUMN: "T01.1 T01.3", "trauma": "none"}, code_list=test_list)
    assert column(r, "trauma") == [None, "high_velocity", "none"]
    assert column(r, "suspected_fracture") == [True, True, True]  # T01.3's other field stands
    assert r.provenance_of(0) == {"suspected_fracture": ["ICD-10-CM T01.3 A title"]}
    assert r.provenance_of(1) == {
        "trauma": ["ICD-10-CM T01.2 A title", "ICD-10-CM T01.3 A title"],
        "suspected_fracture": ["ICD-10-CM T01.3 A title"]}
    assert r.warnings.to_pylist() == [{
        "row": 0, "column": CODES_COLUMN, "value": "trauma",
        "message": "diagnosis_codes: trauma not derived — the codes disagree (T01.1 gives "
                   "low_velocity, T01.3 gives high_velocity); left not documented"}]


def test_a_code_written_twice_is_cited_once_in_cell_order() -> None:
    r = derive({CODES_COLUMN: "M54.17, G83.4 m5416 g834 M54.17 M51.16"})
    assert r.provenance_of(0) == {
        "radiculopathy": ["ICD-10-CM M54.17 (M54.1- Radiculopathy)",
                          "ICD-10-CM M54.16 (M54.1- Radiculopathy)",
                          "ICD-10-CM M51.16 (M51.1- Thoracic, thoracolumbar and lumbosacral "
                          "intervertebral disc disorders with radiculopathy)"],
        "cauda_equina_signs": ["ICD-10-CM G83.4 Cauda equina syndrome"]}


def test_malformed_codes_are_warnings_naming_the_value() -> None:
    r = derive({CODES_COLUMN: "G83.4"}, {}, {CODES_COLUMN: "M54.X6Q!, M54.16 n/a"},
               {CODES_COLUMN: "x" * 80})
    assert r.warnings.to_pylist() == [
        {"row": 2, "column": CODES_COLUMN, "value": "M54.X6Q!",
         "message": "diagnosis_codes 'M54.X6Q!' is not an ICD-10-CM code — ignored"},
        {"row": 2, "column": CODES_COLUMN, "value": "n/a",
         "message": "diagnosis_codes 'n/a' is not an ICD-10-CM code — ignored"},
        {"row": 3, "column": CODES_COLUMN, "value": "x" * 80,
         "message": f"diagnosis_codes '{'x' * 39}…' is not an ICD-10-CM code — ignored"}]
    assert column(r, "radiculopathy") == [None, None, True, None]
    assert r.messages(2) == [w["message"] for w in r.warnings.to_pylist()[:2]]


def test_rows_and_other_columns_are_untouched() -> None:
    cases = [{CODES_COLUMN: "G83.4", "age": 51, "carrier": "X"}, {"age": 40},
             {CODES_COLUMN: None, "cauda_equina_signs": False}, {CODES_COLUMN: "M54.50"}]
    table = case_table([{"case_id": str(i), **c} for i, c in enumerate(cases)])
    r = derive_from_codes(table)
    assert r.table.schema == arrow_schema() and r.table.num_rows == 4
    assert r.table.drop_columns(["cauda_equina_signs"]).equals(
        table.drop_columns(["cauda_equina_signs"]))
    assert column(r, "cauda_equina_signs") == [True, None, False, None]
    assert r.provenance.to_pylist()[1:] == [None, None, None]


def test_no_codes_column_or_no_codes_changes_nothing() -> None:
    table = case_table([{"case_id": "a"}, {"case_id": "b"}])
    for t in (table, table.drop_columns([CODES_COLUMN])):
        r = derive_from_codes(t)
        assert r.table is t and r.provenance.to_pylist() == [None, None]
        assert r.warnings.num_rows == 0 and r.derived == {}


def test_chunked_input_and_a_missing_field_column() -> None:
    a = case_table([{"case_id": "a", CODES_COLUMN: "G83.4"}])
    b = case_table([{"case_id": "b", CODES_COLUMN: "M54.16", "cauda_equina_signs": False}])
    table = pa.concat_tables([a, b])
    assert table.column(CODES_COLUMN).num_chunks == 2
    r = derive_from_codes(table)
    assert column(r, "cauda_equina_signs") == [True, False]
    assert column(r, "radiculopathy") == [None, True]
    slim = derive_from_codes(table.select(["case_id", CODES_COLUMN]))
    assert slim.table.column_names == ["case_id", CODES_COLUMN, "radiculopathy",
                                       "cauda_equina_signs"]
    assert column(slim, "cauda_equina_signs") == [True, None]


# --- one case ---------------------------------------------------------------------------------

def test_derive_case_fills_cites_and_warns() -> None:
    case = {"case_id": "x", CODES_COLUMN: "g834; R63.4 ??", "radiculopathy": False,
            "unexplained_weight_loss": None, "age": 60}
    out, provenance, warnings = derive_case(case)
    assert out == {**case, "cauda_equina_signs": True, "unexplained_weight_loss": True}
    assert provenance == {"cauda_equina_signs": ["ICD-10-CM G83.4 Cauda equina syndrome"],
                          "unexplained_weight_loss": ["ICD-10-CM R63.4 Abnormal weight loss"]}
    assert warnings == ["diagnosis_codes '??' is not an ICD-10-CM code — ignored"]
    assert derive_case({"age": 3}) == ({"age": 3}, {}, [])
