"""AppTest for the Upload & batch page: upload (AppTest's file_uploader), the mapping step
(samples, meaning, one control per column), problems by column with one-click value maps, the
date-order question, the preview, batch evaluation, and handing the data to the Evidence page.
Profiles and work kept across pages: test_upload_work.py."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest

from preauth.synthetic.generator import synthesize
from tests.app.helpers import app
from tests.app.upload_helpers import (
    MONTH_FIRST,
    SMALL,
    assert_healthy,
    edit_mapping,
    messy,
    metrics,
    problem_lines,
    submit,
    table,
    unescaped,
    upload,
)
from tests.messy_upload import expected_counts


def test_empty_page_offers_the_template() -> None:
    at = app("upload")
    assert "Choose a file" in at.info[0].value
    assert at.download_button(key="dl_template").label == "Upload template (CSV)"


def test_validation_report_reconciles_and_lists_rejected_rows() -> None:
    at = upload("small.csv", SMALL)
    assert metrics(at) == {"Rows in": "4", "Accepted": "2", "Rejected": "2", "Errors": "3",
                            "Warnings": "0"}
    assert any("4 = 2 + 2" in c.value for c in at.caption)
    assert any("Ignored columns: notes" in c.value for c in at.caption)
    errors = table(at, "message")
    assert set(errors.columns) == {"row", "case_id", "column", "value", "message"}
    assert {(r, c) for r, c in zip(errors["row"], errors["column"], strict=True)} == {
        (3, "age"), (3, "radiculopathy"), (4, "case_id")}
    assert at.download_button(key="dl_rejected").label == "Download all 3 errors (CSV)"


def test_mapping_step_shows_samples_meaning_and_allowed_values() -> None:
    at = messy()
    shown = at.data_editor[0].value
    assert list(shown.columns) == ["Column in your file", "Sample values", "Read as",
                                   "Problems", "Allowed values and meaning"]
    row = shown.set_index("Column in your file")
    assert row.loc["Gender", "Sample values"] == "Male · Female · U"  # distinct, non-empty
    assert row.loc["Radiculopathy", "Sample values"] == "Y · N"  # empty cells skipped
    assert row.loc["Gender", "Read as"] == "sex"
    assert row.loc["Gender", "Allowed values and meaning"] == "one of F, M, other · Optional."
    assert row.loc["Patient Age", "Allowed values and meaning"] == (
        "a whole number from 0 to 120 · Age in whole years.")
    assert row.loc["Reviewer Note", "Read as"] == "(ignore this column)"
    assert row.loc["Gender", "Problems"] == f"{sum(expected_counts().values()) - 7} warnings"
    assert any(e.label.startswith("Column mapping — 9 of 10 columns read") for e in at.expander)
    # the field dictionary (docs/fields.md, from the catalog) opens from the mapping step
    assert not any("| `sex` | one of F, M, other |" in m.value for m in at.markdown)
    at.button(key="field_dictionary").click().run()
    assert_healthy(at)
    assert any("| `sex` | one of F, M, other |" in m.value for m in at.markdown)


def test_mapping_step_changes_what_is_validated() -> None:
    at = upload("small.csv", SMALL)
    at = edit_mapping(at, {"Payer": "(ignore this column)", "notes": "trauma"},
                       "No valid rows")
    # (not sex: an unknown sex is read as not documented, the row kept)
    assert at.session_state["upload_work"].mapping["notes"] == "trauma"
    assert metrics(at)["Accepted"] == "0"  # x, y, z, q are not a kind of trauma
    assert "No valid rows" in at.error[0].value
    assert any(c.value.endswith("Ignored columns: Payer.") for c in at.caption)
    # the editor now shows the new mapping, with the field's meaning
    row = at.data_editor[0].value.set_index("Column in your file")
    assert row.loc["notes", "Read as"] == "trauma"
    assert row.loc["notes", "Allowed values and meaning"].startswith(
        "one of none, low_velocity, high_velocity · ")


def test_a_field_given_to_another_column_moves() -> None:
    at = upload("small.csv", SMALL)
    at = edit_mapping(at, {"notes": "carrier"})
    mapping = at.session_state["upload_work"].mapping
    assert mapping["notes"] == "carrier" and mapping["Payer"] is None
    assert "Payer is no longer read as carrier: notes is." in unescaped(at.info[0].value)


def test_problems_by_column_are_summarised_above_the_row_list() -> None:
    at = messy()
    counts = expected_counts()
    lines = problem_lines(at)
    gender = counts["U"] + counts["Unknown"]
    assert (f"Gender: {gender} values not recognised (read as not documented) — "
            f"U ({counts['U']}), Unknown ({counts['Unknown']}) → map them?") in lines
    assert (f"Status: {counts['Withdrawn']} values not recognised (read as not documented) — "
            f"Withdrawn ({counts['Withdrawn']}) → map them?") in lines
    assert "0 with errors (rows rejected), 2 with warnings" in lines
    assert metrics(at)["Warnings"] == str(gender + counts["Withdrawn"])
    # warnings are listed row by row like errors, with their download
    warnings = table(at, "message")
    assert set(warnings["column"]) == {"sex", "decision"}
    assert at.download_button(key="dl_warnings").label == \
        f"Download all {gender + counts['Withdrawn']} warnings (CSV)"
    # the summary comes before the row-by-row list
    shown = [str(getattr(e, "value", "")) for e in at.main if hasattr(e, "value")]
    summary = next(i for i, v in enumerate(shown) if "Problems by column" in v)
    rows = next(i for i, v in enumerate(shown) if "were read as not documented" in v)
    assert summary < rows


def test_one_click_value_mapping_accepts_the_rows() -> None:
    """A yes/no column written Positive / Negative rejects the rows that say either;
    mapping its values with one button accepts them all."""
    data = (b"case_id,cpt_code,radiculopathy\nA,72148,Positive\nB,72148,Negative\n"
            b"C,72148,Positive\nD,72148,\n")
    at = upload("posneg.csv", data)
    assert metrics(at)["Accepted"] == "1"  # D: empty is not documented
    assert ("radiculopathy: 3 values not accepted (their rows are rejected) — "
            "Positive (2), Negative (1) → map them?") in problem_lines(at)
    boxes = {s.label: s for s in at.selectbox if s.key and s.key.startswith("vm_")}
    assert set(boxes) == {"Positive (2 rows)", "Negative (1 row)"}
    assert boxes["Positive (2 rows)"].options == ["(leave as it is)", "yes", "no",
                                                  "not documented"]
    boxes["Positive (2 rows)"].set_value("yes")
    boxes["Negative (1 row)"].set_value("no")
    at = submit(at, "value_form_radiculopathy")
    assert metrics(at) == {"Rows in": "4", "Accepted": "4", "Rejected": "0", "Errors": "0",
                            "Warnings": "0"}
    assert at.session_state["upload_work"].values == {
        "radiculopathy": {"Positive": "yes", "Negative": "no"}}
    preview = table(at, "Radiculopathy")
    assert list(preview["Radiculopathy"][:3]) == [True, False, True]


def test_one_click_mapping_of_warnings_with_proposals() -> None:
    """Unknown sexes are proposed as not documented; Withdrawn is chosen by the user."""
    at = messy()
    sex = {s.label: s for s in at.selectbox if s.key and s.key.startswith("vm_sex")}
    assert {s.value for s in sex.values()} == {"not documented"}  # proposed, not applied
    at = submit(at, "value_form_sex")
    assert "Gender" not in problem_lines(at)
    status = next(s for s in at.selectbox if s.key and s.key.startswith("vm_decision"))
    assert status.value == "(leave as it is)"
    status.set_value("cancelled")
    at = submit(at, "value_form_decision")
    assert metrics(at)["Warnings"] == "0" and metrics(at)["Accepted"] == "24"
    assert "Problems by column" not in problem_lines(at)
    decisions = table(at, "Initial decision")["Initial decision"]
    assert "cancelled" in set(decisions)
    shown = unescaped(" ".join(c.value for c in at.caption))
    assert "Gender: U → not documented, Unknown → not documented" in shown
    assert "Status: Withdrawn → cancelled" in shown
    at.button(key="undo_values_sex").click().run()  # a wrong click is undone
    assert_healthy(at)
    assert at.session_state["upload_work"].values == {"decision": {"Withdrawn": "cancelled"}}
    assert "Gender: 8 values not recognised" in problem_lines(at)


def test_ambiguous_dates_are_asked_in_plain_words_then_read_as_answered() -> None:
    at = messy(answer=False)
    question = unescaped(" ".join(m.value for m in at.markdown))
    assert ("Date Requested has dates like 02/06/2024. Is that 6 February 2024 or "
            "2 June 2024?") in question
    labels = {b.key: unescaped(b.label) for b in at.button if b.key and b.key.startswith("date_")}
    assert labels == {MONTH_FIRST: "6 February 2024 — month first (M/D/YYYY)",
                      "date_request_date_%d/%m/%Y": "2 June 2024 — day first (D/M/YYYY)"}
    assert not at.metric  # no validation report before the answer
    at.button(key="date_request_date_%d/%m/%Y").click().run()
    assert_healthy(at)
    assert at.session_state["upload_work"].formats == {"request_date": "%d/%m/%Y"}
    dates = table(at, "Request date")["Request date"]
    assert str(dates[1]) == "2024-06-02"  # 02/06/2024 read day first
    at.button(key="undo_formats_request_date").click().run()  # "Undo" the answer
    assert any("Is that 6 February 2024" in unescaped(m.value) for m in at.markdown)
    at.button(key=MONTH_FIRST).click().run()
    assert str(table(at, "Request date")["Request date"][1]) == "2024-02-06"


def test_mixed_dates_get_their_own_message() -> None:
    data = (b"case_id,cpt_code,request_date\nA,72148,04/13/2024\nB,72148,13/04/2024\n"
            b"C,72148,05/06/2024\n")
    at = upload("mixed.csv", data)
    text = unescaped(" ".join(m.value for m in at.markdown))
    assert "The dates of this column mix two orders" in text
    assert ("request_date has dates that only make sense month first (04/13/2024 is "
            "13 April 2024) and dates that only make sense day first (13/04/2024 is "
            "13 April 2024)") in text
    at.button(key=MONTH_FIRST).click().run()
    assert_healthy(at)
    assert metrics(at)["Warnings"] == "1"  # 13/04/2024 is not M/D: not documented
    assert "request_date: 1 value not recognised" in problem_lines(at)


def test_batch_evaluation_with_progress_and_downloads() -> None:
    at = upload("small.csv", SMALL)
    at.multiselect(key="batch_policies").set_value(["acr", "evicore_style"]).run()
    at.button(key="batch_run").click().run()
    assert not at.exception
    results = at.session_state["batch_results"]["table"]
    assert results.num_rows == 2 * 2
    # input row order: each case under every chosen policy in turn
    assert results.column("case_id").to_pylist() == ["A1", "A1", "A2", "A2"]
    assert results.column("policy").to_pylist() == ["acr", "evicore_style", "acr",
                                                    "evicore_style"]
    assert at.get("progress")[0].proto.value == 100
    assert "4 determinations" in " ".join(m.value for m in at.markdown)
    assert at.download_button(key="dl_results_csv").label == "Download results (CSV)"
    assert at.download_button(key="dl_results_parquet")


def test_page_and_cli_give_the_same_determinations_in_the_same_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page and `preauth evaluate` share one batch path: for the same file and policies
    (several batches here), the same rows in the same order."""
    from preauth.cli import main
    from preauth.evaluate import batch

    monkeypatch.setattr(batch, "BATCH_ROWS", 7)
    src = tmp_path / "requests.parquet"
    pq.write_table(synthesize(30, seed=9), src)
    policies = ["evicore_style", "acr", "bcbs_style"]  # not the library's order

    at = upload(src.name, src.read_bytes(), "application/octet-stream")
    at.multiselect(key="batch_policies").set_value(policies).run()
    at.button(key="batch_run").click().run()
    assert not at.exception and not at.error
    page = at.session_state["batch_results"]["table"]

    out = tmp_path / "cli.parquet"
    assert main(["evaluate", str(src), "--policy", ",".join(policies), "--format", "parquet",
                 "--out", str(out)]) == 0
    cli = pq.read_table(out)
    assert page.num_rows == cli.num_rows == 30 * 3
    assert page.to_pylist() == cli.to_pylist()
    # and the page's Parquet download holds what the CLI wrote
    from ui.downloads import parquet_bytes

    assert pq.read_table(io.BytesIO(parquet_bytes(page))).to_pylist() == cli.to_pylist()


def test_counts_table_speaks_the_verdict_vocabulary() -> None:
    at = upload("small.csv", SMALL)
    at.button(key="batch_run").click().run()
    counts = next(d.value for d in at.dataframe if "Policy" in d.value.columns)
    assert list(counts.columns) == ["Policy", "Meets criteria", "Insufficient documentation",
                                    "Does not meet criteria", "Flagged for review", "Total"]


@pytest.mark.parametrize(("name", "data", "message"), [
    ("empty.csv", b"", "the file is empty"),
    ("nocase.csv", b"cpt,age\n72148,40\n", "no case_id column"),
    ("broken.parquet", b"PAR1 not really", "could not be read"),
])
def test_unusable_files_get_one_clear_error(name: str, data: bytes, message: str) -> None:
    at = upload(name, data, "application/octet-stream", message)
    assert message in unescaped(at.error[0].value)


def test_parquet_and_excel_uploads() -> None:
    synthetic = synthesize(120, seed=4)
    buf = io.BytesIO()
    pq.write_table(synthetic, buf)
    at = upload("requests.parquet", buf.getvalue(), "application/octet-stream")
    assert metrics(at)["Accepted"] == "120"

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["case_id", "cpt_code", "age", "cauda_equina_signs"])
    ws.append(["X1", "72148", 40, "yes"])
    ws.append(["X2", "72158", 61, "no"])
    out = io.BytesIO()
    wb.save(out)
    at = upload("requests.xlsx", out.getvalue(),
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert metrics(at) == {"Rows in": "2", "Accepted": "2", "Rejected": "0", "Errors": "0",
                            "Warnings": "0"}


def test_use_in_evidence_hands_over_the_accepted_rows() -> None:
    at = upload("small.csv", SMALL)
    at.button(key="use_in_evidence").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["uploaded_dataset"].num_rows == 2
    assert at.radio(key="evidence_source").value == "uploaded"
    assert "Uploaded: small.csv (2 requests)" in at.radio(key="evidence_source").options
    assert {m.label: m.value for m in at.metric}["Requests"] == "2"


def test_reading_of_silence_on_the_batch_page(tmp_path: Path) -> None:
    """The page's reviewer reading equals `preauth evaluate --reading reviewer`, differs
    from the strict reading on a file whose red flags are not mentioned, and says so."""
    from preauth.cli import main
    from preauth.evaluate.reading import Reading

    seed = (b"case_id,cpt_code,age,symptom_weeks,prior_spine_surgery_region,radiculopathy,"
            b"neuro_deficit,surgical_candidate\n"
            b"t,72157,54,8,cervical,no,no,no\nl,72158,54,8,cervical,no,no,no\n")
    at = upload("seed.csv", seed)
    at.multiselect(key="batch_policies").set_value(["acr"]).run()
    at.button(key="batch_run").click().run()
    strict = at.session_state["batch_results"]["table"].column("verdict").to_pylist()
    at.segmented_control(key="batch_reading").set_value(Reading.REVIEWER).run()
    at.button(key="batch_run").click().run()
    assert not at.exception and not at.error
    page = at.session_state["batch_results"]["table"]
    assert strict == ["insufficient_documentation"] * 2
    assert page.column("verdict").to_pylist() == ["does_not_meet"] * 2
    assert "reviewer reading" in " ".join(m.value for m in at.markdown)
    src, out = tmp_path / "seed.csv", tmp_path / "out.parquet"
    src.write_bytes(seed)
    assert main(["evaluate", str(src), "--policy", "acr", "--reading", "reviewer",
                 "--format", "parquet", "--out", str(out)]) == 0
    assert page.to_pylist() == pq.read_table(out).to_pylist()


def test_downloads_offer_both_layouts_and_the_bom(tmp_path: Path) -> None:
    """Wide (one row per request) and long downloads in CSV, Parquet and JSON Lines, and the
    Excel checkbox; the wide table the page builds on click is what `preauth evaluate
    --layout wide` writes for the same file and policies."""
    from preauth.cli import main
    from ui.datasets import upload_wide
    from ui.downloads import BOM_LABEL, csv_bytes

    at = upload("small.csv", SMALL)
    at.multiselect(key="batch_policies").set_value(["evicore_style", "acr"]).run()
    at.button(key="batch_run").click().run()
    assert_healthy(at)
    for fmt, text in (("csv", "CSV"), ("parquet", "Parquet"), ("json", "JSON Lines")):
        assert at.download_button(key=f"dl_wide_{fmt}").label == \
            f"One row per request ({text})"
        assert at.download_button(key=f"dl_results_{fmt}").label == \
            f"Download results ({text})"
    assert at.checkbox(key="dl_bom").label == BOM_LABEL
    at.checkbox(key="dl_bom").check().run()
    assert_healthy(at)
    assert at.download_button(key="dl_wide_csv")

    # what the wide button makes: the CLI's wide CSV, byte for byte (BOM included)
    determinations = at.session_state["batch_results"]["table"]
    src = tmp_path / "small.csv"
    src.write_bytes(SMALL)
    out = tmp_path / "wide.csv"
    assert main(["evaluate", str(src), "--policy", "evicore_style,acr", "--layout", "wide",
                 "--format", "csv", "--bom", "--out", str(out)]) == 0
    from preauth.criteria.library import load_library
    from preauth.ingest.read import read_raw
    from preauth.ingest.validate import validate

    file = read_raw(SMALL, "small.csv")
    result = validate(file)
    wide = upload_wide(file, result, determinations, load_library(), ["evicore_style", "acr"])
    assert wide.num_rows == 2 and "notes" in wide.column_names  # the unmapped column
    assert csv_bytes(wide, bom=True) == out.read_bytes()
