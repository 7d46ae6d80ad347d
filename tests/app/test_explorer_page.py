"""AppTest for the case explorer."""

from __future__ import annotations

from preauth.evaluate.reading import Reading
from preauth.synthetic.scenarios import scenario
from tests.app.helpers import alerts, app


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
    assert "age" in alerts(at)


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
