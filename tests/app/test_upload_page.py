"""AppTest for the Upload & batch page: upload (AppTest's file_uploader), mapping,
validation report, batch evaluation, and handing the data to the Evidence page."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from preauth.synthetic.generator import synthesize
from tests.app.helpers import assert_healthy

ROOT = Path(__file__).resolve().parents[2]

SMALL = (b"Case ID;CPT;Payer;age;radiculopathy;conservative_weeks;preauth_required;decision;"
         b"notes\n"
         b"A1;72148;Acme;45;yes;8;yes;approved;x\n"
         b"A2;72141;Acme;50;no;2;yes;denied;y\n"
         b"A3;72148;Beta;200;maybe;;no;;z\n"
         b"A1;72148;Beta;40;yes;7;yes;approved;q\n")


def _upload(name: str, data: bytes, mime: str = "text/csv") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/upload.py").run()
    assert_healthy(at)
    at.file_uploader(key="upload_file").set_value((name, data, mime)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_empty_page_offers_the_template() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/upload.py").run()
    assert not at.exception
    assert "Choose a file" in at.info[0].value
    assert at.download_button(key="dl_template").label == "Upload template (CSV)"


def test_validation_report_reconciles_and_lists_rejected_rows() -> None:
    at = _upload("small.csv", SMALL)
    assert _metrics(at) == {"Rows in": "4", "Accepted": "2", "Rejected": "2", "Errors": "3"}
    assert any("4 = 2 + 2" in c.value for c in at.caption)
    assert any("Ignored columns: notes" in c.value for c in at.caption)
    errors = at.dataframe[0].value
    assert set(errors.columns) == {"row", "case_id", "column", "value", "message"}
    assert {(r, c) for r, c in zip(errors["row"], errors["column"], strict=True)} == {
        (3, "age"), (3, "radiculopathy"), (4, "case_id")}
    assert at.download_button(key="dl_rejected").label == "Download all 3 errors (CSV)"


def test_batch_evaluation_with_progress_and_downloads() -> None:
    at = _upload("small.csv", SMALL)
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

    at = _upload(src.name, src.read_bytes(), "application/octet-stream")
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
    at = _upload("small.csv", SMALL)
    at.button(key="batch_run").click().run()
    counts = next(d.value for d in at.dataframe if "Policy" in d.value.columns)
    assert list(counts.columns) == ["Policy", "Meets criteria", "Insufficient documentation",
                                    "Does not meet criteria", "Flagged for review", "Total"]


def test_mapping_step_changes_what_is_validated() -> None:
    at = _upload("small.csv", SMALL)
    at.selectbox(key=next(s.key for s in at.selectbox if s.label == "Payer")).set_value(
        "(ignore this column)")
    at.selectbox(key=next(s.key for s in at.selectbox if s.label == "notes")).set_value(
        "trauma")  # (not sex: an unknown sex is read as not documented, the row kept)
    at.button[0].click().run()  # the form's "Apply mapping and validate"
    assert not at.exception
    assert _metrics(at)["Accepted"] == "0"  # x, y, z, q are not a kind of trauma
    assert "No valid rows" in at.error[0].value
    assert not any(c.value.endswith("Ignored columns: notes.") for c in at.caption)


@pytest.mark.parametrize(("name", "data", "message"), [
    ("empty.csv", b"", "the file is empty"),
    ("nocase.csv", b"cpt,age\n72148,40\n", "no case_id column"),
    ("broken.parquet", b"PAR1 not really", "could not be read"),
])
def test_unusable_files_get_one_clear_error(name: str, data: bytes, message: str) -> None:
    at = _upload(name, data, "application/octet-stream")
    assert message in at.error[0].value


def test_parquet_and_excel_uploads() -> None:
    table = synthesize(120, seed=4)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    at = _upload("requests.parquet", buf.getvalue(), "application/octet-stream")
    assert _metrics(at)["Accepted"] == "120"

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["case_id", "cpt_code", "age", "cauda_equina_signs"])
    ws.append(["X1", "72148", 40, "yes"])
    ws.append(["X2", "72158", 61, "no"])
    out = io.BytesIO()
    wb.save(out)
    at = _upload("requests.xlsx", out.getvalue(),
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert _metrics(at) == {"Rows in": "2", "Accepted": "2", "Rejected": "0", "Errors": "0"}


def test_use_in_evidence_hands_over_the_accepted_rows() -> None:
    at = _upload("small.csv", SMALL)
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
    at = _upload("seed.csv", seed)
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

    at = _upload("small.csv", SMALL)
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
