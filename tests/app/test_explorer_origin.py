"""AppTest: a case handed to the explorer says where it came from and leads back there
(issue 11, item 6); the origin stays in its browser session.

An in-app ``st.switch_page`` is followed by the AppTest's next ``run()`` only through
``at.switch_page`` (AppTest reruns the page it last ran), so each test names the page it
expects and checks its title."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
from streamlit.testing.v1 import AppTest

from preauth.evaluate.reading import Reading
from preauth.synthetic.scenarios import scenario
from tests.app.helpers import alerts, app, assert_healthy

ROOT = Path(__file__).resolve().parents[2]


def _on(at: AppTest, page: str, title: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert_healthy(at)
    assert [t.value for t in at.title] == [title]
    return at


def _origin(at: AppTest) -> str:
    """The origin box's text ('' when there is none)."""
    box = [m.value for m in at.markdown if m.value.startswith(("Opened from", "Request "))]
    return " ".join(box).replace("\\", "")


def _has_back(at: AppTest) -> bool:
    return any(b.key == "origin_back" for b in at.button)


def test_a_scenario_says_where_it_came_from_and_leads_back_to_the_quiz() -> None:
    at = app("scenarios")
    at.toggle(key="quiz_mode").set_value(True).run()
    at.button(key="quiz_next").click().run()  # the second scenario of the quiz
    at.button(key="quiz_open").click().run()
    assert_healthy(at)
    assert [t.value for t in at.title] == ["Case explorer"]
    title = "Chronic low back pain, no prior management"
    assert _origin(at) == f"Opened from the teaching scenario “{title}”."
    assert at.button(key="origin_back").label == "Back to the scenarios"
    # changed in the explorer, it still says where it came from, and that it was changed
    _on(at, "explorer", "Case explorer").radio(key="f_cauda_equina_signs").set_value("Yes").run()
    assert _origin(at).endswith("*Changed here since.*")
    at.button(key="origin_back").click().run()
    assert_healthy(at)
    assert [t.value for t in at.title] == ["Teaching scenarios"]
    _on(at, "scenarios", "Teaching scenarios")
    assert at.toggle(key="quiz_mode").value is True  # back where the user was
    assert any(title in m.value for m in at.markdown)


def test_a_gallery_scenario_keeps_its_tag_filter_on_the_way_back() -> None:
    at = app("scenarios")
    at.multiselect(key="scenario_tags").set_value(["cervical"]).run()
    s = scenario("cervical-radiculopathy")
    at.button(key=f"open_{s.id}").click().run()
    assert _origin(at) == f"Opened from the teaching scenario “{s.title}”."
    assert at.selectbox(key="f_cpt_code").value == s.case["cpt_code"]
    _on(at, "explorer", "Case explorer").button(key="origin_back").click().run()
    _on(at, "scenarios", "Teaching scenarios")
    assert at.multiselect(key="scenario_tags").value == ["cervical"]


def test_a_drill_down_names_carrier_and_decision_and_leads_back_to_the_same_selection() -> None:
    at = app(ev_tab="Concordance")
    _on(at, "evidence", "Evidence")
    regions = next(m for m in at.multiselect if m.label == "Regions")
    regions.set_value(["lumbar"]).run()
    at.radio(key="ev_kind").set_value("approved_although_not_meets").run()
    case_box = next(w for w in at.selectbox if w.label == "Case")
    case_id = case_box.options[1]
    case_box.set_value(case_id).run()
    at.button(key="ev_open").click().run()
    assert_healthy(at)
    assert [t.value for t in at.title] == ["Case explorer"]
    table = pq.read_table(ROOT / "data" / "requests.parquet")
    row = table.filter(pc.equal(table.column("case_id"), case_id)).to_pylist()[0]
    origin = _origin(at)
    assert origin.startswith(f"Request {case_id} from the Evidence drill-down "
                             "(approved although the criteria are not met under ACR)")
    assert f"carrier {row['carrier']}" in origin
    assert f"payer decision {row['decision']}" in origin
    assert at.button(key="origin_back").label == "Back to Evidence"
    _on(at, "explorer", "Case explorer").button(key="origin_back").click().run()
    _on(at, "evidence", "Evidence")
    assert next(m for m in at.multiselect if m.label == "Regions").value == ["lumbar"]
    assert at.radio(key="ev_kind").value == "approved_although_not_meets"
    assert next(w for w in at.selectbox if w.label == "Case").value == case_id


def test_drill_down_origin_quotes_data_as_plain_text() -> None:
    """A carrier from an uploaded file is the file's text: shown, never Markdown."""
    from ui.handoff import drill_down_origin, scenario_origin

    class Policy:
        short_label = "ACR"

    case = {"case_id": "c1", "carrier": "[x](https://evil.example) " + "A" * 500,
            "decision": "denied", "final_decision": "approved", "peer_to_peer": True}
    origin = drill_down_origin(case, "Denied or cancelled although the criteria are met",
                               Policy())  # type: ignore[arg-type]
    assert origin.text.startswith("Request c1 from the Evidence drill-down (denied or "
                                  "cancelled although the criteria are met under ACR): "
                                  "carrier [x](https://evil.example) AAA")
    assert origin.text.endswith("…, payer decision denied, final decision approved after "
                                "peer-to-peer review.")
    assert len(origin.text) < 400
    unrecorded = drill_down_origin({"case_id": "c2"}, "Approved although …", Policy())  # type: ignore[arg-type]
    assert unrecorded.text.endswith("carrier not recorded, payer decision not recorded.")
    assert scenario_origin("T").page == "pages/scenarios.py"


def test_the_origin_stays_in_its_session_and_out_of_the_link() -> None:
    a = app("scenarios")
    a.button(key="open_cauda-equina").click().run()
    assert "cauda equina" in _origin(a)
    b = app()  # another browser on the same server
    assert _origin(b) == "" and not _has_back(b)
    # the link A would share opens the same case elsewhere, without A's origin
    link = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    link.query_params.update(dict(a.query_params))
    link.run()
    assert_healthy(link)
    assert link.radio(key="f_cauda_equina_signs").value == "Yes"
    assert _origin(link) == "" and not _has_back(link)
    assert all("origin" not in k for k in a.query_params)


def test_loading_another_case_forgets_the_origin() -> None:
    at = app("scenarios")
    at.button(key="open_cauda-equina").click().run()
    assert _has_back(at)
    _on(at, "explorer", "Case explorer").button(key="origin_back")  # still there on a rerun
    assert _has_back(at)
    next(b for b in at.button if b.label == "Example case").click().run()
    _on(at, "explorer", "Case explorer")
    assert _origin(at) == "" and not _has_back(at)
    assert "Does not meet criteria" in alerts(at)


def test_the_form_and_choices_survive_a_visit_to_another_page() -> None:
    """Streamlit forgets a page's widgets while another page runs; the explorer puts its
    case, the policy explained and the reading back."""
    at = app()
    at.radio(key="f_radiculopathy").set_value("Yes").run()
    at.radio(key="explain_policy").set_value("bcbs_style").run()
    at.segmented_control(key="reading").set_value(Reading.REVIEWER).run()
    _on(at, "about", "About Preauth Explorer")
    _on(at, "explorer", "Case explorer")
    assert at.radio(key="f_radiculopathy").value == "Yes"
    assert at.radio(key="explain_policy").value == "bcbs_style"
    assert at.segmented_control(key="reading").value == Reading.REVIEWER
    assert at.query_params["policy"] == "bcbs_style"
