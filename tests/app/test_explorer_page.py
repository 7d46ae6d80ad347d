"""AppTest for the case explorer."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from preauth.evaluate.reading import Reading
from preauth.synthetic.scenarios import scenario
from tests.app.helpers import alerts, app, assert_healthy

ROOT = Path(__file__).resolve().parents[2]


def opened(**params: str | list[str]) -> AppTest:
    """The app opened from a link with ``params``; the run must be healthy."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    assert_healthy(at)
    return at


def test_default_case_does_not_meet_then_cauda_equina_meets() -> None:
    at = app()
    assert "Does not meet criteria" in alerts(at)
    at.radio(key="f_cauda_equina_signs").set_value("Yes").run()
    assert not at.exception
    assert "Meets criteria" in alerts(at)


def test_undocumented_field_gives_insufficient_documentation() -> None:
    at = app()
    at.radio(key="f_cauda_equina_signs").set_value("Not documented").run()
    assert "Insufficient documentation" in alerts(at)
    assert "Cauda equina signs" in " ".join(m.value for m in at.markdown)


def test_case_is_in_the_url_and_letters_are_offered() -> None:
    at = app()
    assert at.query_params["cpt_code"] == "72148"
    assert at.query_params["cauda_equina_signs"] == "0"
    labels = [b.label for b in at.get("download_button")]
    assert "Letter (Markdown)" in labels and "Letter (HTML)" in labels


def test_shared_link_loads_the_case_and_reports_bad_values() -> None:
    from pathlib import Path

    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"),
                           default_timeout=60)
    at.query_params["cpt_code"] = "72141"
    at.query_params["radiculopathy"] = "1"
    at.query_params["age"] = "300"
    at.run()
    assert not at.exception
    assert at.selectbox(key="f_cpt_code").value == "72141"
    assert at.radio(key="f_radiculopathy").value == "Yes"
    assert "Some values in the link were not usable: Age." in alerts(at)
    assert [t.value for t in at.text] == ["age 300 is not between 0 and 120 — left empty"]
    assert at.number_input(key="f_age").value is None


def test_pending_scenario_is_loaded() -> None:
    at = app(pending_case=scenario("cauda-equina").case)
    assert at.radio(key="f_cauda_equina_signs").value == "Yes"
    assert "Meets criteria" in alerts(at)


def test_every_policy_can_be_explained() -> None:
    at = app()
    for pid in ("evicore_style", "aetna_style", "bcbs_style", "acr"):
        at.radio(key="explain_policy").set_value(pid).run()
        assert not at.exception


def test_widgets_default_to_the_sessions_value() -> None:
    """A widget the browser remounts shows its default: that default must be the session's
    value, not the widget's minimum / first option (under load a case silently changed to
    CPT 72141 and age 0 that way, issue 8)."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"),
                           default_timeout=60)
    at.query_params.update({"cpt_code": "72146", "age": "37", "cauda_equina_signs": "0",
                            "trauma": "none"})
    at.run()
    assert not at.exception
    at.radio(key="f_cauda_equina_signs").set_value("Not documented").run()  # a later rerun
    age = at.number_input(key="f_age")
    assert age.value == 37 and age.proto.default == 37
    cpt = at.selectbox(key="f_cpt_code")
    assert cpt.value == "72146" and cpt.options[cpt.proto.default].startswith("72146")
    radio = at.radio(key="f_cauda_equina_signs")
    assert radio.value == "Not documented"
    assert radio.options[radio.proto.default] == "Not documented"


def test_reading_of_silence_is_selectable() -> None:
    """Strict (default): an unmentioned red flag leaves the request undecided; the reviewer
    reading takes it as absent, and the determination says which reading was used."""
    at = app()
    at.radio(key="f_cauda_equina_signs").set_value("Not documented").run()
    assert "Insufficient documentation" in alerts(at)
    captions = " ".join(c.value for c in at.caption)
    assert "Strict reading" in captions
    at.segmented_control(key="reading").set_value(Reading.REVIEWER).run()
    assert not at.exception
    assert "Does not meet criteria" in alerts(at)
    captions = " ".join(c.value for c in at.caption)
    assert "Reviewer reading" in captions and "Cauda equina signs" in captions


def test_the_policy_explained_is_in_the_link_and_restored() -> None:
    at = app()
    assert at.query_params["policy"] == "acr"
    at.radio(key="explain_policy").set_value("aetna_style").run()
    assert at.query_params["policy"] == "aetna_style"
    at.radio(key="f_radiculopathy").set_value("Yes").run()  # a full rerun keeps it
    assert at.query_params["policy"] == "aetna_style"
    shared = opened(**dict(at.query_params))
    assert shared.radio(key="explain_policy").value == "aetna_style"
    assert shared.radio(key="f_radiculopathy").value == "Yes"
    assert not shared.warning and not shared.text  # nothing to report
    assert shared.query_params["policy"] == "aetna_style"


def test_an_unknown_policy_in_the_link_is_one_sentence_and_the_default_is_explained() -> None:
    at = opened(cpt_code="72148", policy="retired_policy")
    assert at.radio(key="explain_policy").value == "acr"
    assert [t.value for t in at.text] == [
        "policy retired_policy is not one of this app's policies (acr, aetna_style, "
        "bcbs_style, evicore_style) — ACR Appropriateness Criteria (spine MRI) is explained "
        "instead"]
    assert at.query_params["policy"] == "acr"


def test_a_stale_link_gets_one_sentence_per_bad_parameter() -> None:
    at = opened(cpt_code="99999", age="250", sex="Q", radiculopathy="1", foo="1",
                symptom_weeks="inf")
    [warning] = [w for w in at.warning if "link" in w.value]
    assert warning.value == ("Some values in the link were not usable: CPT code, Age, Sex, "
                             "Symptom duration; 1 unknown parameter.")
    lines = at.text[0].value.split("\n")
    assert len(lines) == 5
    assert lines[0].startswith("cpt_code 99999 is not a spine MRI code (72141, ")
    assert lines[0].endswith(") — 72148 is used instead")
    assert lines[1:] == ["age 250 is not between 0 and 120 — left empty",
                         lines[2], "unknown parameter 'foo' — ignored",
                         "symptom_weeks inf is not a number ≥ 0 — left empty"]
    assert lines[2].startswith("sex Q is not ") and lines[2].endswith(" — left empty")
    # the usable part of the link is read; the bad values are empty, the CPT code the default
    assert at.radio(key="f_radiculopathy").value == "Yes"
    assert at.number_input(key="f_age").value is None
    assert at.selectbox(key="f_cpt_code").value == "72148"
    assert at.query_params["cpt_code"] == "72148"


def test_every_policy_table_is_short() -> None:
    """Verdict, short policy name, review flag and how many criteria fired — no list of
    criterion ids, no long policy names (the table fits half a 1,400 px page)."""
    at = app(pending_case=scenario("cauda-equina").case)
    table = at.dataframe[0].value
    assert list(table.columns) == ["Verdict", "Policy", "Review", "Fired"]
    assert list(table["Policy"]) == ["ACR", "Aetna-style", "BCBS-style", "eviCore-style"]
    assert all(isinstance(n, int | float) and n >= 1 for n in table["Fired"])
    assert all(v.endswith("Meets criteria") for v in table["Verdict"])
    assert max(len(str(x)) for row in table.itertuples() for x in row[1:]) <= 24


def test_diagnosis_codes_fill_empty_fields_with_their_source() -> None:
    """A cauda equina code decides the default case only while the form leaves the field
    not documented; the explanation and the letter name the code."""
    at = app()
    at.radio(key="f_cauda_equina_signs").set_value("Not documented").run()
    at.text_input(key="f_diagnosis_codes").set_value("m54.5, g834").run()
    assert_healthy(at)
    assert "Meets criteria" in alerts(at)
    text = " ".join(m.value for m in at.markdown).replace("\\", "")  # Markdown escapes
    assert "Facts from the diagnosis codes" in text
    assert "**Cauda equina signs**: Yes — from ICD-10-CM G83.4 Cauda equina syndrome" in text
    assert at.query_params["diagnosis_codes"] == "m54.5, g834"  # the link keeps what was typed
    # an explicit No in the form wins over the code
    at.radio(key="f_cauda_equina_signs").set_value("No").run()
    assert "Does not meet criteria" in alerts(at)
    assert "Facts from the diagnosis codes" not in " ".join(m.value for m in at.markdown)


def test_a_malformed_code_is_named_not_fatal() -> None:
    at = app()
    at.text_input(key="f_diagnosis_codes").set_value("G83.4, 12345").run()
    assert_healthy(at)
    assert any("12345" in c.value for c in at.caption)
