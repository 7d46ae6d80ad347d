"""Helpers for the Upload page's AppTests: uploading, the messy export, reading what the page
shows (unescaped: the page escapes what a file says before Markdown renders it)."""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from tests.app.helpers import app, assert_healthy
from tests.messy_upload import messy_csv

SMALL = (b"Case ID;CPT;Payer;age;radiculopathy;conservative_weeks;preauth_required;decision;"
         b"notes\n"
         b"A1;72148;Acme;45;yes;8;yes;approved;x\n"
         b"A2;72141;Acme;50;no;2;yes;denied;y\n"
         b"A3;72148;Beta;200;maybe;;no;;z\n"
         b"A1;72148;Beta;40;yes;7;yes;approved;q\n")
MONTH_FIRST = "date_request_date_%m/%d/%Y"  # the key of the answer "month first"


def upload(name: str, data: bytes, mime: str = "text/csv", *expected_errors: str) -> AppTest:
    at = app("upload")
    at.file_uploader(key="upload_file").set_value((name, data, mime)).run()
    assert_healthy(at, *expected_errors)
    return at


def messy(answer: bool = True) -> AppTest:
    """The messy export uploaded and (``answer``) its date question answered month first."""
    at = upload("messy.csv", messy_csv())
    if answer:
        at.button(key=MONTH_FIRST).click().run()
        assert_healthy(at)
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def unescaped(text: str) -> str:
    return text.replace("\\", "")


def problem_lines(at: AppTest) -> str:
    """The problems by column as shown (expander labels and lines), unescaped."""
    return unescaped(" | ".join([e.label for e in at.expander]
                                 + [m.value for m in at.markdown]))


def submit(at: AppTest, form: str, *expected_errors: str) -> AppTest:
    next(b for b in at.button if b.key and form in b.key).click().run()
    assert_healthy(at, *expected_errors)
    return at


def edit_mapping(at: AppTest, edits: dict[str, str], *expected_errors: str) -> AppTest:
    """Choose ``header -> field`` in the mapping editor and apply."""
    editor = at.data_editor[0]
    headers = list(editor.value["Column in your file"])
    at.session_state[editor.key] = {
        "edited_rows": {headers.index(h): {"Read as": f} for h, f in edits.items()},
        "added_rows": [], "deleted_rows": []}
    return submit(at, "mapping_form", *expected_errors)


def table(at: AppTest, column: str) -> Any:
    """The first table on the page with ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


