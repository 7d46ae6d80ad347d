"""Issue 11: ICD-10-CM codes in intake (preauth.ingest.derived) and their provenance through
the batch path and the outputs. A file mapping a diagnosis_codes column gets, in its accepted
rows, the fields the codes derive (own cell empty only), a provenance column, warnings for
codes that are not codes (file row and case_id), and a note counting what was derived -
the same whole and in batches; the engines ignore provenance; JSON writes it as an object,
CSV as text, Parquet as a map."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preauth.catalog.schema import PROVENANCE_COLUMN, PROVENANCE_TYPE
from preauth.criteria.library import Library
from preauth.evaluate.batch import evaluate_all, evaluate_in_batches
from preauth.evaluate.engine import Engine
from preauth.evaluate.wide import wide_result
from preauth.ingest.derived import derive_accepted, derived_counts
from preauth.ingest.export import jsonl_bytes, map_text, write_table
from preauth.ingest.read import read_raw
from preauth.ingest.stream import validate_in_batches
from preauth.ingest.validate import IngestResult, validate
from tests.fast import examples

G834 = "ICD-10-CM G83.4 Cauda equina syndrome"
M5416 = "ICD-10-CM M54.16 (M54.1- Radiculopathy)"
NOT_A_CODE = "is not an ICD-10-CM code — ignored"


def ingest(text: str, name: str = "dx.csv", **options: Any) -> IngestResult:
    return validate(read_raw(text.encode("utf-8"), name), **options)


FILE = """\
Request ID,Procedure Code,Dx Codes,Radiculopathy,cauda_equina_signs
r1,99999,G83.4,,
r2,72148,"m5416; G83.4",,
r3,72148,M54.16,no,
r4,72148,N/A,,
r5,72148,M54.50 see.notes,,yes
r6,72148,,,
"""


def test_codes_fill_the_empty_fields_of_accepted_rows_with_provenance() -> None:
    result = ingest(FILE)
    assert (result.rows_in, result.rows_accepted, result.rows_rejected) == (6, 5, 1)
    rows = {r["case_id"]: r for r in result.accepted.to_pylist()}
    assert result.accepted.schema.field(PROVENANCE_COLUMN).type == PROVENANCE_TYPE
    # derived where the own cell is empty, with the codes cited
    assert (rows["r2"]["radiculopathy"], rows["r2"]["cauda_equina_signs"]) == (True, True)
    assert dict(rows["r2"]["provenance"]) == {"radiculopathy": [M5416],
                                              "cauda_equina_signs": [G834]}
    # an explicit value wins, even no: nothing derived, no provenance
    assert rows["r3"]["radiculopathy"] is False and rows["r3"]["provenance"] is None
    # a non-specific code derives nothing; an explicit yes stays
    assert rows["r5"]["cauda_equina_signs"] is True and rows["r5"]["provenance"] is None
    assert rows["r6"]["provenance"] is None
    assert result.notes == ["Dx Codes: 2 values derived from ICD-10-CM codes "
                            "(radiculopathy 1, cauda_equina_signs 1)"]
    assert result.fields_read()[-2:] == ["radiculopathy", "cauda_equina_signs"]


def test_a_cell_with_no_code_is_a_warning_per_token_and_the_row_is_kept() -> None:
    """The decision documented in preauth.ingest.derived: warning(s), the row kept with its
    text, nothing derived."""
    result = ingest(FILE)
    warned = [(w["row"], w["case_id"], w["column"], w["value"], w["message"])
              for w in result.warnings.to_pylist()]
    assert warned == [  # the file's data rows (r1 was rejected), the cell as the row holds it
        (4, "r4", "diagnosis_codes", "N/A", f"diagnosis_codes 'N/A' {NOT_A_CODE}"),
        (5, "r5", "diagnosis_codes", "M54.50 see.notes",
         f"diagnosis_codes 'see.notes' {NOT_A_CODE}")]
    r4 = result.accepted.filter(pa.compute.equal(result.accepted["case_id"], "r4"))
    assert r4["diagnosis_codes"].to_pylist() == ["N/A"] and r4["provenance"].null_count == 1
    assert result.warning_counts() == {"diagnosis_codes": 2}
    assert result.summary().endswith("; 2 warnings (diagnosis_codes 2)")


def test_a_rejected_row_gets_no_code_warnings_and_nothing_derived() -> None:
    result = ingest("id,cpt_code,diagnosis_codes\na,nope,G83.4 zz\nb,72148,zz\n")
    assert result.accepted["case_id"].to_pylist() == ["b"]
    assert [(w["row"], w["case_id"]) for w in result.warnings.to_pylist()] == [(2, "b")]
    assert result.notes == []


def test_a_profile_maps_a_placeholder_to_no_codes() -> None:
    result = ingest(FILE, values={"diagnosis_codes": {"n/a": ""}})
    assert [w["case_id"] for w in result.warnings.to_pylist()] == ["r5"]


def test_warnings_are_listed_by_row_with_the_lenient_ones() -> None:
    result = ingest("id,cpt_code,sex,diagnosis_codes,decision\n"
                    "a,72148,Mx,q1 G83.4,Gone\nb,72148,,q2,\n")
    assert [(w["row"], w["column"]) for w in result.warnings.to_pylist()] == [
        (1, "sex"), (1, "diagnosis_codes"), (1, "decision"), (2, "diagnosis_codes")]


def test_codes_that_disagree_are_a_warning_on_the_file_row(tmp_path: Path) -> None:
    from preauth.sources.codes import load_code_list
    from tests.test_codes import TEST_LIST, write

    table = ingest("id,cpt_code,diagnosis_codes\nz,bad,\na,72148,T01.1; T01.3\n").accepted
    plain = table.drop_columns([PROVENANCE_COLUMN])
    derived, lines, counts = derive_accepted(plain, load_code_list(write(tmp_path, TEST_LIST)))
    assert counts == {"suspected_fracture": 1}  # T01.3's other field stands
    assert derived["trauma"].to_pylist() == [None]
    assert lines.to_pylist() == [{
        "row": 2, "case_id": "a", "column": "diagnosis_codes", "value": "T01.1; T01.3",
        "message": "diagnosis_codes: trauma not derived — the codes disagree (T01.1 gives "
                   "low_velocity, T01.3 gives high_velocity); left not documented"}]
    assert derive_accepted(table)[0] is table  # a table that has its provenance: as it is


def test_a_file_without_codes_has_an_empty_provenance_column_and_no_note() -> None:
    result = ingest("id,cpt_code\na,72148\n")
    assert result.accepted[PROVENANCE_COLUMN].to_pylist() == [None]
    assert result.notes == [] and derived_counts(result.accepted) == {}


def test_engines_ignore_provenance(engine: Engine) -> None:
    cases = ingest(FILE).accepted
    plain = cases.drop_columns([PROVENANCE_COLUMN])
    assert engine.evaluate(cases).equals(engine.evaluate(plain))
    assert engine.verdicts(cases).equals(engine.verdicts(plain))


# --- in batches --------------------------------------------------------------------------------

_TOKENS = ["G83.4", "g834", "M54.16", "m5416", "Z85.3", "M81.0", "M54.50", "D84.9", "zz",
           "N/A", "M46.26", "C79.51", "M47.26"]


@settings(max_examples=examples(40), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.tuples(st.lists(st.sampled_from(_TOKENS), max_size=3),
                                st.sampled_from(["", "yes", "no"]),
                                st.sampled_from(["72148", "72148", "bad"])),
                      min_size=1, max_size=30),
       sep=st.sampled_from([", ", " ", "|", ";"]), batch_rows=st.integers(1, 9),
       fmt=st.sampled_from(["csv", "parquet"]))
def test_batches_derive_what_the_whole_file_derives(
        tmp_path: Path, cells: list[tuple[list[str], str, str]], sep: str, batch_rows: int,
        fmt: str) -> None:
    table = pa.table({
        "id": [f"c{i}" for i in range(len(cells))],
        "cpt_code": [c[2] for c in cells],
        "Dx Codes": [sep.join(c[0]) for c in cells],
        "radiculopathy": [c[1] for c in cells]}).cast(pa.schema(
            [(n, pa.string()) for n in ("id", "cpt_code", "Dx Codes", "radiculopathy")]))
    path = tmp_path / f"dx.{fmt}"
    if fmt == "csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path, row_group_size=3)
    whole = validate(read_raw(path))
    batched = validate_in_batches(path, batch_rows)
    assert batched is not None
    assert batched.accepted.equals(whole.accepted)
    assert batched.warnings.to_pylist() == whole.warnings.to_pylist()
    assert batched.notes == whole.notes
    assert whole.rows_in == whole.rows_accepted + whole.rows_rejected


def test_a_checkbox_column_found_after_rows_with_codes_is_read_whole(tmp_path: Path) -> None:
    """Blanks read before the column shows it is a checkbox column were empty when the codes
    were read; whole, they are no and the codes fill nothing there."""
    path = tmp_path / "late.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "cpt_code": ["72148"] * 3,
                             "diagnosis_codes": ["M54.16", "", ""],
                             "radiculopathy": ["", "", "X"]}), path)
    assert validate_in_batches(path, 2) is None
    whole = validate(read_raw(path))
    assert whole.accepted["radiculopathy"].to_pylist() == [False, False, True]
    assert whole.accepted[PROVENANCE_COLUMN].null_count == 3


# --- the batch path and the outputs --------------------------------------------------------------

@settings(max_examples=examples(15), deadline=None)
@given(size=st.integers(1, 7), k=st.integers(1, 3))
def test_each_determination_carries_its_cases_provenance(engine: Engine, size: int,
                                                         k: int) -> None:
    cases = ingest(FILE).accepted
    policies = ["acr", "evicore_style", "aetna_style"][:k]
    out = pa.concat_tables(b.table for b in evaluate_in_batches(engine, cases, policies,
                                                                batch_rows=size))
    assert out.column_names[-1] == PROVENANCE_COLUMN
    want = cases[PROVENANCE_COLUMN].to_pylist()
    assert out[PROVENANCE_COLUMN].to_pylist() == [p for p in want for _ in policies]
    assert out.drop_columns([PROVENANCE_COLUMN]).to_pylist() == evaluate_all(
        engine, cases.drop_columns([PROVENANCE_COLUMN]), policies).to_pylist()


def test_cases_without_provenance_give_the_columns_they_gave(engine: Engine) -> None:
    cases = ingest(FILE).accepted.drop_columns([PROVENANCE_COLUMN])
    assert PROVENANCE_COLUMN not in evaluate_all(engine, cases, "acr").column_names


def _provenance(rows: list[Any]) -> pa.Array:
    return pa.array(rows, PROVENANCE_TYPE)


def test_json_writes_provenance_as_an_object_and_csv_as_text(engine: Engine) -> None:
    out = evaluate_all(engine, ingest(FILE).accepted, "acr")
    lines = [json.loads(line) for line in jsonl_bytes(out).decode().splitlines()]
    assert lines[0]["case_id"] == "r2" and lines[0]["provenance"] == {
        "radiculopathy": [M5416], "cauda_equina_signs": [G834]}
    assert lines[1]["provenance"] is None
    buf = io.BytesIO()
    write_table(out, "csv", buf)
    rows = list(pacsv.read_csv(io.BytesIO(buf.getvalue())).to_pylist())
    assert rows[0]["provenance"] == f"radiculopathy: {M5416}; cauda_equina_signs: {G834}"
    assert rows[1]["provenance"] == ""  # NULL: an empty cell


def test_parquet_keeps_the_map(engine: Engine, tmp_path: Path) -> None:
    out = evaluate_all(engine, ingest(FILE).accepted, "acr")
    write_table(out, "parquet", tmp_path / "out.parquet")
    back = pq.read_table(tmp_path / "out.parquet")
    assert pa.types.is_map(back.schema.field(PROVENANCE_COLUMN).type)
    assert back[PROVENANCE_COLUMN].to_pylist() == out[PROVENANCE_COLUMN].to_pylist()


def test_map_text_of_slices_nulls_empty_maps_and_several_citations() -> None:
    arr = _provenance([[("a", ["x", "y"])], None, [], [("b", ["=z"]), ("c", ["w"])]])
    assert map_text(arr).to_pylist() == ["a: x + y", None, "", "b: =z; c: w"]
    assert map_text(arr.slice(1)).to_pylist() == [None, "", "b: =z; c: w"]
    assert map_text(arr.slice(3)).to_pylist() == ["b: =z; c: w"]


_MAPS = st.lists(st.none() | st.lists(
    st.tuples(st.text(max_size=6), st.lists(st.text(max_size=6), max_size=3)), max_size=3,
    unique_by=lambda kv: kv[0]), min_size=1, max_size=6)


@settings(max_examples=examples(100), deadline=None)
@given(maps=_MAPS, start=st.integers(0, 5))
def test_json_of_a_map_column_is_json_dumps_of_the_dicts(maps: list[Any], start: int) -> None:
    arr = _provenance(maps).slice(min(start, len(maps) - 1))
    table = pa.table({"n": pa.array(range(len(arr))), "provenance": arr})
    want = "".join(json.dumps({"n": r["n"], "provenance": None if r["provenance"] is None
                               else dict(r["provenance"])}, ensure_ascii=False) + "\n"
                   for r in table.to_pylist())
    assert jsonl_bytes(table).decode("utf-8") == want


def test_the_wide_result_has_provenance_after_the_fields(engine: Engine,
                                                         library: Library) -> None:
    cases = ingest(FILE).accepted
    wide = wide_result(cases, evaluate_all(engine, cases, "acr"), library, ["acr"],
                       fields=["case_id", "diagnosis_codes", "radiculopathy"])
    names = wide.column_names
    assert names[names.index("radiculopathy") + 1] == PROVENANCE_COLUMN
    assert names[names.index(PROVENANCE_COLUMN) + 1] == "acr: verdict"
    buf = io.BytesIO()
    write_table(wide, "csv", buf, bom=True)
    assert buf.getvalue().startswith(b"\xef\xbb\xbf")
    assert f"cauda_equina_signs: {G834}" in buf.getvalue().decode("utf-8-sig")
