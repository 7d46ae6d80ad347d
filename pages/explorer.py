"""Case explorer: toggle a case's attributes and see, live, how each policy decides it."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from preauth.catalog.share import (
    POLICY_PARAM,
    describe_problems,
    link_params,
    overflow_guard_script,
    read_link,
)
from preauth.evaluate.determination import Determination, determine
from preauth.evaluate.letter import letter_html, letter_markdown
from preauth.evaluate.reading import Reading
from preauth.evaluate.vocabulary import NEEDS_REVIEW_LABEL, STATUS_LABELS, Verdict
from preauth.sources.codes import derive_case
from preauth.synthetic.scenarios import DEFAULT_CASE
from ui.bootstrap import ensure_navigation
from ui.case_form import case_form, current_case, seed_state
from ui.explorer_view import (
    BODY,
    COLUMNS,
    SUMMARY,
    explorer_css,
    keep_choice,
    restore_choices,
    verdict_summary,
    verdict_table,
)
from ui.handoff import clear_origin, scroll_to_top, show_origin, take_handoff
from ui.resources import current_engine
from ui.text import plain, safe_file_stem

ensure_navigation()

st.title("Case explorer")
st.caption("Change any field and the verdicts update at once. *Not documented* is not the same "
           "as *No*. Educational tool — not medical advice; payer policies change.")

engine = current_engine()
policies = {p.id: p.name for p in engine.library.policies}
# Where the case comes from: a scenario / drill-down, a shared link, or the default case.
handed_over = take_handoff()
if handed_over is not None:
    scroll_to_top()
elif "explorer_seeded" not in st.session_state:
    params = {k: st.query_params.get_all(k) for k in st.query_params}
    if params:
        link = read_link(params, policies, fallback={"cpt_code": DEFAULT_CASE["cpt_code"]})
        seed_state(link.case)
        st.session_state["case_id"] = link.case.get("case_id") or "shared-case"
        if link.policy is not None:
            st.session_state["explain_policy"] = link.policy
        if link.problems:  # the link's own names and values only ever as plain text (st.text)
            headline, details = describe_problems(link.problems)
            st.warning(headline, icon=":material/link_off:")
            st.text(details)
    else:
        seed_state(DEFAULT_CASE)
        # Streamlit reads no parameter of a link with too many: the browser re-opens it
        # with its case fields only, and the problems above say so
        st.html(f"<script>{overflow_guard_script()}</script>", unsafe_allow_javascript=True)
st.session_state["explorer_seeded"] = True
restore_choices(policies)
show_origin()
explorer_css()


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value).replace("_", " ")


@st.fragment
def explain(results: list[Determination], case: dict[str, Any]) -> None:
    """One policy's reasons; switching the policy reruns only this part. Policy text may come
    from a custom upload, so it is always shown as plain text (ui.text.plain)."""
    names = {d.policy.id: plain(d.policy.name) for d in results}
    chosen = st.radio("Explain under", list(names), format_func=names.get, horizontal=True,
                      key="explain_policy")
    st.query_params[POLICY_PARAM] = chosen  # the link names the policy explained
    keep_choice("explain_policy", chosen)
    d = next(x for x in results if x.policy.id == chosen)
    banners = {Verdict.MEETS: st.success, Verdict.DOES_NOT_MEET: st.error,
               Verdict.INSUFFICIENT: st.warning}
    banner = banners[d.verdict] if d.verdict is not None else st.info
    banner(f"**{d.verdict_label}** — {d.procedure_label}"
           + (f" · {NEEDS_REVIEW_LABEL.lower()}" if d.needs_review else ""),
           icon=d.material_icon)
    st.markdown(plain(d.summary()))
    st.caption(plain(d.reading_note))
    if d.derived_from:
        st.markdown("#### Facts from the diagnosis codes")
        st.caption("Filled in only where the form leaves the field not documented; a value "
                   "in the form always wins.")
        st.markdown("\n".join(
            f"- **{plain(label)}**: {plain(_shown(case.get(name)))} — from "
            + "; ".join(plain(c) for c in cites)
            for (label, cites), name in zip(d.derived_from, d.provenance, strict=True)))

    if d.fired:
        st.markdown("#### Criteria that fired")
        for r in d.fired:
            with st.expander(f"{plain(r.title)} — {r.category_label}",
                             expanded=len(d.fired) == 1):
                st.markdown(f"*{plain(r.criterion.source)}*")
                st.markdown(plain(r.criterion.rationale))
                for ref in r.criterion.citations:
                    st.caption(plain(d.policy.references[ref].text))
    if d.undocumented_fields:
        st.markdown("#### Documentation that would decide it")
        st.markdown("\n".join(f"- {label}" for label in d.undocumented_field_labels))
    if d.would_flip:
        st.markdown("#### What would change this decision")
        for r in d.would_flip:
            needs = [plain(c) for c in r.blocking] + [f"{plain(c.text)} — not documented"
                                                      for c in r.missing]
            st.markdown(f"- **{plain(r.title)}** ({r.category_label})"
                        + "".join(f"\n    - {n}" for n in needs))
    if d.missing_documentation:
        with st.expander("Documentation a reviewer would need"):
            st.markdown("\n".join(f"- {plain(doc)}" for doc in d.missing_documentation))
    with st.expander("Every criterion of this policy"):
        st.dataframe(pd.DataFrame([{
            "Criterion": r.title, "Status": STATUS_LABELS[r.status],
            "Category": r.category_label,
            "Why": "; ".join(str(c) for c in r.blocking)
                   or "; ".join(f"{c.text} — not documented" for c in r.missing),
        } for r in d.results]), hide_index=True, width="stretch")

    st.markdown("#### Share and save")
    st.caption("The address bar holds this case — copy it to share. Download the "
               "determination as a review letter:")
    d1, d2 = st.columns(2)
    stem = safe_file_stem(f"determination-{d.case_id or 'case'}-{d.policy.id}")
    d1.download_button("Letter (Markdown)", letter_markdown(d, case), f"{stem}.md",
                       "text/markdown", icon=":material/description:", width="stretch")
    d2.download_button("Letter (HTML)", letter_html(d, case), f"{stem}.html", "text/html",
                       icon=":material/html:", width="stretch")


body = st.container(key=BODY)
summary = body.container(key=SUMMARY, horizontal=True, gap="small")
left, right = body.container(key=COLUMNS).columns([2, 3], gap="large")
# The results are computed from the form's state and drawn first, so the new verdict reaches
# the browser before the form's widgets do.
case = current_case()
# the address bar is the shareable link: the case and the policy it is explained under
st.query_params.from_dict(link_params(case, st.session_state.get("explain_policy")))

with right:
    reading = st.segmented_control(
        "Reading of silence", list(Reading), format_func=lambda r: r.label,
        default=Reading.STRICT, key="reading",
        help=" ".join(f"**{r.label}**: {r.meaning}" for r in Reading)) or Reading.STRICT
    keep_choice("reading", reading)
    # Diagnosis codes fill the fields the form leaves empty, through the batch path's own
    # code (a one-row table), each with the code it came from
    case, provenance, code_problems = derive_case(case)
    for problem in code_problems:
        st.caption(plain(problem))
    try:
        results = determine(engine, case, reading=reading, provenance=provenance)
    except Exception as err:  # a clear message, never a traceback
        results = None
        st.error(f"Could not evaluate this case: {err}")
    if results is not None:
        for item in verdict_summary(results):
            summary.markdown(item, width="content")
        st.subheader("Under every policy")
        st.dataframe(verdict_table(results), hide_index=True, width="stretch",
                     column_config={"Fired": st.column_config.NumberColumn(
                         "Fired", help="How many of the policy's criteria fired")})
        explain(results, case)

with left:
    c1, c2 = st.columns(2)
    if c1.button("Example case", icon=":material/restart_alt:", width="stretch",
                 help="Reset the form to the example case (acute low back pain, no red flags)."):
        seed_state(DEFAULT_CASE)
        clear_origin()
        st.rerun()
    if c2.button("Clear all", icon=":material/ink_eraser:", width="stretch",
                 help="Set every field to not documented (the CPT code stays)."):
        seed_state({"cpt_code": st.session_state.get("f_cpt_code", "72148")})
        clear_origin()
        st.rerun()
    case_form()
