"""AppTest for the Upload page's mapping profiles (saved with the choices made on the page,
loaded back, applied - before or after the file -, refused line by line) and for its work kept
for the browser session across pages, cleared on request, and never seen by another session."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from preauth.ingest.profile import load_profile
from tests.app.helpers import app
from tests.app.upload_helpers import (
    assert_healthy,
    messy,
    metrics,
    problem_lines,
    submit,
    unescaped,
    upload,
)
from tests.messy_upload import messy_csv


@pytest.fixture()
def profile_downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What the page hands to its download buttons, by key."""
    seen: dict[str, Any] = {}
    original = DeltaGenerator.download_button

    def spy(self: DeltaGenerator, label: str, data: Any, *args: Any, **kwargs: Any) -> Any:
        seen[kwargs.get("key") or label] = data
        return original(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", spy)
    return seen


def _fixedmessy() -> AppTest:
    at = messy()
    at = submit(at, "value_form_sex")
    next(s for s in at.selectbox if s.key and s.key.startswith("vm_decision")).set_value(
        "cancelled")
    return submit(at, "value_form_decision")


def test_profile_download_holds_the_choices_and_loads_back(
        profile_downloads: dict[str, Any]) -> None:
    at = _fixedmessy()
    text = profile_downloads["dl_profile"]
    assert at.download_button(key="dl_profile").label == "Save choices as a profile"
    profile = load_profile(text.encode(), "messy_profile.yaml")
    assert profile.formats == {"request_date": "%m/%d/%Y"}
    assert profile.values == {"sex": {"U": "", "Unknown": ""},
                              "decision": {"Withdrawn": "cancelled"}}
    assert profile.columns["Gender"] == "sex" and profile.columns["Reviewer Note"] is None
    assert profile.columns == at.session_state["upload_work"].mapping


def test_uploading_a_profile_applies_it(profile_downloads: dict[str, Any]) -> None:
    text = _fixedmessy() and profile_downloads["dl_profile"]
    at = upload("messy.csv", messy_csv())  # a new session: the question again
    assert any("Is that" in unescaped(m.value) for m in at.markdown)
    at.file_uploader(key="profile_upload_0").set_value(
        ("messy_profile.yaml", text.encode(), "application/x-yaml")).run()
    assert_healthy(at)
    assert "Applied the profile messy_profile.yaml." in unescaped(at.success[0].value)
    assert metrics(at) == {"Rows in": "24", "Accepted": "24", "Rejected": "0", "Errors": "0",
                            "Warnings": "0"}
    assert "Problems by column" not in problem_lines(at)


def test_profile_before_the_file_and_a_column_it_renames() -> None:
    """A profile chosen first is applied when the file comes; its columns win over the
    proposal (a column the proposal gave the same field is left out)."""
    at = app("upload")
    profile = (b'columns:\n  "Reviewer Note": carrier\nformats:\n'
               b'  request_date: "%m/%d/%Y"\n')
    at.file_uploader(key="profile_upload_0").set_value(
        ("team.yaml", profile, "application/x-yaml")).run()
    assert_healthy(at)
    at.file_uploader(key="upload_file").set_value(("messy.csv", messy_csv(), "text/csv")).run()
    assert_healthy(at)
    mapping = at.session_state["upload_work"].mapping
    assert mapping["Reviewer Note"] == "carrier" and mapping["Payer"] is None
    assert metrics(at)["Accepted"] == "24"


def test_a_bad_profile_names_every_problem_with_its_line() -> None:
    at = messy()
    bad = (b"columns:\n  Gender: gendre\nvalues:\n  sex: {U: unknown}\nformat:\n  x: y\n")
    at.file_uploader(key="profile_upload_0").set_value(
        ("bad.yaml", bad, "application/x-yaml")).run()
    assert_healthy(at, "The profile was not applied")
    shown = unescaped(at.error[0].value)
    assert "bad.yaml, line 2: 'gendre' is not a case field" in shown
    assert "bad.yaml, line 4" in shown and "bad.yaml, line 5: unknown key 'format'" in shown
    assert "did you mean 'formats'?" in shown
    assert at.session_state["upload_work"].values == {}  # nothing of it applied


def test_work_survives_a_visit_to_another_page_and_clears_on_request() -> None:
    at = _fixedmessy()
    at.multiselect(key="batch_policies").set_value(["acr"]).run()
    at.button(key="batch_run").click().run()
    assert_healthy(at)
    before = at.session_state["batch_results"]["table"]
    at.switch_page("pages/explorer.py").run()
    assert_healthy(at)
    at.switch_page("pages/upload.py").run()
    assert_healthy(at)
    # the file, the answers and value maps, the validation and the results are all there
    assert any("messy.csv" in unescaped(c.value) for c in at.caption)
    assert metrics(at)["Accepted"] == "24" and metrics(at)["Warnings"] == "0"
    assert at.multiselect(key="batch_policies").value == ["acr"]
    assert at.session_state["batch_results"]["table"] is before
    assert "24 determinations" in " ".join(m.value for m in at.markdown)
    assert at.download_button(key="dl_wide_csv")

    at.button(key="clear_upload").click().run()
    assert_healthy(at)
    assert "Choose a file" in at.info[0].value
    for key in ("upload_work", "batch_results", "uploaded_dataset"):
        assert key not in at.session_state
    memo = at.session_state["_session_memo"]
    assert not any(memo.get(k) for k in ("upload_validated", "upload_problems"))
    assert at.file_uploader(key="upload_file_1").value is None  # a new, empty uploader


def test_another_session_sees_nothing_of_anupload() -> None:
    _fixedmessy()
    other = app("upload")
    assert "Choose a file" in other.info[0].value
    assert "upload_work" not in other.session_state
