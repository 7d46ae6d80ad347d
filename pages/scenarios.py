"""Teaching scenarios: a gallery of vignettes with sources and notes, and a quiz mode."""

from __future__ import annotations

import streamlit as st

from preauth.catalog.schema import case_table
from preauth.evaluate.determination import determine
from preauth.evaluate.vocabulary import Verdict, verdict_label, verdict_symbol
from preauth.synthetic.scenarios import SCENARIOS
from ui.bootstrap import ensure_navigation
from ui.handoff import open_in_explorer, page_state, scenario_origin
from ui.resources import current_engine, current_library

# What the way back from the explorer restores: quiz mode, tag filter, quiz policy.
STATE = ("quiz_mode", "scenario_tags", "quiz_policy")
# Widget label functions are dict lookups, never page-defined functions (those would keep
# this page's globals alive in Streamlit's widget registry).
VERDICTS = Verdict.labels()

ensure_navigation()

st.title("Teaching scenarios")
st.caption("Clinical vignettes that show how ACR and the modelled payer policies read the same "
           "chart. Open one in the explorer to change it, or test yourself in quiz mode.")

engine = current_engine()
library = current_library()
quiz = st.toggle("Quiz mode", key="quiz_mode",
                 help="Pick the verdict first, then see the answer and why.")


def _verdict_lines() -> dict[str, str]:
    """Each scenario's verdict under every policy — one batch through the engine."""
    rows = engine.evaluate(case_table([s.case for s in SCENARIOS])).to_pylist()
    lines: dict[str, list[str]] = {}
    for r in rows:
        lines.setdefault(r["case_id"], []).append(
            f"{r['policy']}: {verdict_symbol(r['verdict'])} {verdict_label(r['verdict'])}")
    return {k: " · ".join(v) for k, v in lines.items()}


if not quiz:
    tags = sorted({t for s in SCENARIOS for t in s.tags})
    chosen_tags = st.multiselect("Filter by tag", tags, key="scenario_tags")
    shown = [s for s in SCENARIOS if not chosen_tags or set(chosen_tags) & set(s.tags)]
    verdicts = _verdict_lines()
    for s in shown:
        with st.container(border=True):
            row = st.container(horizontal=True)  # the button goes under the text when narrow
            head, action = row.container(width="stretch"), row.container(width="content")
            head.markdown(f"**{s.title}**  \n{s.summary}")
            head.caption(" · ".join(s.tags) + " — Sources: " + "; ".join(s.sources))
            if action.button("Open in explorer", key=f"open_{s.id}",
                             icon=":material/open_in_new:"):
                open_in_explorer(s.case, scenario_origin(s.title, page_state(STATE)))
            st.caption(verdicts[s.case["case_id"]])
            with st.expander("Teaching note"):
                st.write(s.teaching)
    st.stop()

# ---- quiz -------------------------------------------------------------------------------
score = st.session_state.setdefault("quiz_score", {"answered": 0, "correct": 0})
names = {p.id: p.name for p in library.policies}
policy = st.selectbox("Policy for the quiz", list(names), format_func=names.get,
                      key="quiz_policy")
index = st.session_state.setdefault("quiz_index", 0) % len(SCENARIOS)
s = SCENARIOS[index]
st.metric("Score", f"{score['correct']} / {score['answered']}")
with st.container(border=True):
    st.markdown(f"**Case {index + 1} of {len(SCENARIOS)}: {s.title}**")
    st.write(s.summary)
    st.caption(f"Requested: CPT {s.case.get('cpt_code')}")
answer_key = f"quiz_answer_{index}_{policy}"
revealed_key = f"quiz_revealed_{index}_{policy}"
guess = st.radio("Your verdict", list(VERDICTS), format_func=VERDICTS.get,
                 index=None, key=answer_key, horizontal=True)
if st.button("Check my answer",
             disabled=guess is None or bool(st.session_state.get(revealed_key)),
             key="quiz_check"):
    d = determine(engine, s.case, [policy])[0]
    score["answered"] += 1
    score["correct"] += int(guess == d.verdict)
    st.session_state[revealed_key] = True
    st.rerun()
if st.session_state.get(revealed_key):
    d = determine(engine, s.case, [policy])[0]
    right = st.session_state.get(answer_key) == d.verdict
    (st.success if right else st.error)(
        f"{'Correct' if right else 'Not quite'}: **{d.verdict_label}** under {d.policy.name}.",
        icon=":material/check_circle:" if right else ":material/cancel:")
    st.write(d.summary())
    if d.would_flip:
        st.markdown("What would change it: " + "; ".join(r.title for r in d.would_flip[:6]))
    st.info(s.teaching, icon=":material/school:")
c1, c2 = st.columns(2)
if c1.button("Next case", icon=":material/arrow_forward:", key="quiz_next"):
    st.session_state["quiz_index"] = index + 1
    st.rerun()
if c2.button("Open this case in the explorer", key="quiz_open"):
    open_in_explorer(s.case, scenario_origin(s.title, page_state(STATE)))
