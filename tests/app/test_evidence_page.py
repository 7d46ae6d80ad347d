"""AppTest for the Evidence page: bundled data, filters, model options, uploaded and degenerate
data, drill-down into the explorer."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from preauth.ingest.raw import RawTable
from preauth.ingest.validate import validate
from preauth.synthetic.generator import synthesize
from tests.app.helpers import assert_healthy

ROOT = Path(__file__).resolve().parents[2]


def _evidence(**state: object) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page("pages/evidence.py").run()
    assert_healthy(at)  # no exception, no error box ("Could not analyse this dataset: …")
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _alerts(at: AppTest) -> str:
    return " ".join(e.value for e in [*at.info, *at.warning, *at.error, *at.success])


def _accepted(table: pa.Table) -> pa.Table:
    return validate(RawTable.from_arrow(table)).accepted


def _open_tab(at: AppTest, label: str) -> AppTest:
    """Switch the analyses' tabs as a click would (the tabs keep their state in ``ev_tab``)."""
    at.session_state["ev_tab"] = label
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


TABS = ["Odds ratios", "Carrier × region", "Over time", "By group", "Concordance"]


def test_bundled_data_kpis_charts_and_downloads() -> None:
    # the tiles, counted from the file itself (not by the code that draws them)
    required = pq.read_table(ROOT / "data" / "requests.parquet").column("preauth_required")
    assert len(required) == 50_000
    recorded = pc.count(required, mode="only_valid").as_py()
    rate = pc.sum(pc.cast(required, pa.int64())).as_py() / recorded
    at = _evidence()
    m = _metrics(at)
    assert m["Requests"] == "50,000"
    assert m["Preauth needed"] == f"{100 * rate:.1f}%"
    assert at.radio(key="evidence_source").options == [
        "Bundled synthetic data (50,000 requests)"]
    assert [t.label for t in at.tabs] == TABS
    charts, labels = [], []
    for tab in TABS:  # forest, heat map, timeline, bars, concordance: one in each tab
        _open_tab(at, tab)
        drawn = at.get("plotly_chart")
        assert len(drawn) == 1, (tab, len(drawn))
        charts += drawn
        labels += [d.label for d in at.download_button]
        if tab == "Concordance":
            assert _metrics(at)["Denied although criteria met"] != "0"
    assert len(charts) == 5
    assert labels.count("Download CSV") >= 6
    assert any(label.startswith("Download all") for label in labels)


def test_only_the_open_tab_is_drawn() -> None:
    """The tabs are lazy: a rerun draws the open tab's chart and widgets, not all five."""
    at = _evidence()
    assert len(at.get("plotly_chart")) == 1
    keys = {w.key for w in at.radio}
    assert "ev_outcome" in keys and not keys & {"ev_split", "ev_group_dim", "ev_kind"}
    _open_tab(at, "Over time")
    keys = {w.key for w in at.radio}
    assert "ev_split" in keys and "ev_outcome" not in keys
    assert len(at.get("plotly_chart")) == 1


def test_filters_and_model_options() -> None:
    at = _evidence()
    carriers = next(w for w in at.multiselect if w.key.startswith("ev_carriers"))
    carriers.set_value(["Carrier B", "Carrier D"]).run()
    assert not at.exception
    table = pq.read_table(ROOT / "data" / "requests.parquet")
    want = sum(1 for c in table.column("carrier").to_pylist() if c in ("Carrier B", "Carrier D"))
    assert _metrics(at)["Requests"] == f"{want:,}"
    at.radio(key="ev_outcome").set_value("denied").run()
    ref = next(w for w in at.selectbox if w.key.startswith("ev_ref_"))
    assert ref.value == "Carrier B"  # the larger of the two
    ref.set_value("Carrier D").run()
    at.selectbox(key="ev_policy").set_value("bcbs_style").run()
    _open_tab(at, "Over time").radio(key="ev_split").set_value("region").run()
    _open_tab(at, "By group").radio(key="ev_group_dim").set_value("cpt_code").run()
    _open_tab(at, "Concordance").radio(key="ev_kind").set_value(
        "approved_although_not_meets").run()
    assert not at.exception, [e.value for e in at.exception]
    regions = next(w for w in at.multiselect if w.key.startswith("ev_regions"))
    regions.set_value(["thoracic"]).run()
    cpts = next(w for w in at.multiselect if w.key.startswith("ev_cpt"))
    cpts.set_value(["72148"]).run()  # lumbar code within thoracic: nothing left
    assert not at.exception
    assert "No requests match these filters" in _alerts(at)


def test_uploaded_dataset_is_offered_and_chosen_when_requested() -> None:
    table = _accepted(synthesize(400, seed=5))
    at = _evidence(uploaded_dataset=table, uploaded_dataset_name="mine.csv",
                   evidence_source_request="uploaded")
    assert at.radio(key="evidence_source").value == "uploaded"
    assert _metrics(at)["Requests"] == "400"
    at.radio(key="evidence_source").set_value("bundled").run()
    assert _metrics(at)["Requests"] == "50,000"


@pytest.mark.parametrize(("variant", "message"), [
    ("one_carrier", "Only one carrier"),
    ("all_required", "not estimable"),
    ("no_outcomes", "no payer outcomes"),
])
def test_degenerate_uploads_show_messages(variant: str, message: str) -> None:
    table = synthesize(300, seed=9, outcomes=variant != "no_outcomes")
    if variant == "one_carrier":
        table = table.set_column(table.schema.get_field_index("carrier"), "carrier",
                                 pa.array(["Solo"] * table.num_rows))
    if variant == "all_required":
        table = table.set_column(table.schema.get_field_index("preauth_required"),
                                 "preauth_required", pa.array([True] * table.num_rows))
    at = _evidence(uploaded_dataset=_accepted(table), evidence_source_request="uploaded")
    assert message in _alerts(at), _alerts(at)


def test_drill_down_opens_the_case_in_the_explorer() -> None:
    at = _open_tab(_evidence(), "Concordance")
    case_box = next(w for w in at.selectbox if w.key.startswith("ev_case_denied"))
    case_id = case_box.options[1]
    case_box.set_value(case_id).run()
    at.button(key="ev_open").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = pq.read_table(ROOT / "data" / "requests.parquet")
    row = table.filter(pa.compute.equal(table.column("case_id"), case_id)).to_pylist()[0]
    assert at.session_state["case_id"] == case_id
    assert at.session_state["f_cpt_code"] == row["cpt_code"]
    assert any(t.value == "Case explorer" for t in at.title)


def test_uploads_stay_in_their_sessions_even_under_one_key() -> None:
    """Aggregates of an upload are kept in the session that owns it, never in a process-wide
    cache: two sessions whose uploads carry the same token still see their own data."""
    tables = {400: _accepted(synthesize(400, seed=5)), 300: _accepted(synthesize(300, seed=6))}
    sessions = {n: _evidence(uploaded_dataset=t, uploaded_dataset_name="same.csv",
                             uploaded_dataset_token="same-token",
                             evidence_source_request="uploaded")
                for n, t in tables.items()}
    for n, at in sessions.items():
        at.run()
        assert _metrics(at)["Requests"] == f"{n:,}"
        _open_tab(at, "Concordance")
        assert not at.exception


def test_drill_down_download_carries_fields_and_criteria() -> None:
    """The drill-down's download is the wide result of the listed requests: clinical fields,
    outcomes, and every policy's verdict and criteria — the page only offers the button."""
    from preauth.criteria.library import load_library
    from preauth.evaluate.engine import Engine
    from preauth.evidence.cells import verdict_column
    from preauth.evidence.concordance import discordant_cases
    from preauth.evidence.drilldown import discordant_wide

    at = _open_tab(_evidence(), "Concordance")
    label = next(d.label for d in at.download_button if d.label.startswith("Download all"))
    assert label.endswith("with their criteria (CSV)")
    assert any(c.label == "For Excel (UTF-8 with BOM)" for c in at.checkbox)

    table = pq.read_table(ROOT / "data" / "requests.parquet")
    engine = Engine(load_library())
    try:
        verdict = verdict_column(engine, table, "acr")
        listed, total = discordant_cases(table, verdict, "denied_although_meets", limit=None)
        wide = discordant_wide(table, verdict, "denied_although_meets", engine, "acr")
    finally:
        engine.close()
    assert total > 0 and wide.num_rows == total
    assert wide.column("case_id").to_pylist() == listed.column("case_id").to_pylist()
    names = wide.column_names
    for name in ("age", "radiculopathy", "conservative_therapy_weeks", "decision",
                 "acr: verdict", "acr: criteria met", "evicore_style: documentation needed"):
        assert name in names
    assert names.index("acr: verdict") < names.index("aetna_style: verdict")  # its policy first
    assert set(wide.column("acr: verdict").to_pylist()) == {"Meets criteria"}
    assert all(wide.column("acr: criteria met").to_pylist())
    assert set(wide.column("decision").to_pylist()) <= {"denied", "cancelled"}
