"""Case explorer: toggle a case's attributes and see, live, how each policy decides it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from preauth.determination import STATUS_LABELS, determine
from preauth.scenarios import DEFAULT_CASE
from ui.case_form import case_form, seed_state
from ui.resources import current_engine

st.title("Case explorer")
st.caption("Change any field: the verdicts below update at once. Empty = not documented. "
           "Educational tool — not medical advice; payer policies change.")

if "explorer_seeded" not in st.session_state:
    seed_state(DEFAULT_CASE)
    st.session_state["explorer_seeded"] = True

engine = current_engine()
left, right = st.columns([2, 3], gap="large")
with left:
    case = case_form()

with right:
    try:
        results = determine(engine, case)
    except Exception as err:  # a clear message, never a traceback
        st.error(f"Could not evaluate this case: {err}")
        st.stop()

    st.subheader("Under every policy")
    st.dataframe(pd.DataFrame([{
        "Policy": d.policy.name,
        "Verdict": f"{d.icon} {d.verdict_label}",
        "Review": "flag" if d.needs_review else "",
        "Fired": ", ".join(r.id for r in d.fired),
    } for d in results]), hide_index=True, width="stretch")

    names = {d.policy.id: d.policy.name for d in results}
    chosen = st.radio("Explain under", list(names), format_func=names.get, horizontal=True,
                      key="explain_policy")
    d = next(x for x in results if x.policy.id == chosen)
    banner = {"meets_criteria": st.success, "does_not_meet": st.error,
              "insufficient_documentation": st.warning}.get(d.verdict or "", st.info)
    banner(f"**{d.verdict_label}** — {d.procedure_label}", icon=d.material_icon)
    st.write(d.summary())

    if d.fired:
        st.markdown("#### Criteria that fired")
        for r in d.fired:
            st.markdown(f"- **{r.title}** — {r.category_label}  \n"
                        f"  *{r.criterion.source}*")
    if d.would_flip:
        st.markdown("#### What would change this decision")
        for r in d.would_flip:
            needs = [str(c) for c in r.blocking] + [f"{c.text} — not documented"
                                                     for c in r.missing]
            st.markdown(f"- **{r.title}** ({r.category_label})" +
                        "".join(f"\n    - {n}" for n in needs))
    if d.undocumented_fields:
        st.markdown("#### Documentation that would decide it")
        st.markdown("\n".join(f"- {label}" for label in d.undocumented_field_labels))
    if d.missing_documentation:
        with st.expander("Documentation a reviewer would need"):
            st.markdown("\n".join(f"- {doc}" for doc in d.missing_documentation))
    with st.expander("Every criterion of this policy"):
        st.dataframe(pd.DataFrame([{
            "Criterion": r.title, "Status": STATUS_LABELS[r.status],
            "Category": r.category_label,
            "Why": "; ".join(str(c) for c in r.blocking) or
                   "; ".join(f"{c.text} — not documented" for c in r.missing),
        } for r in d.results]), hide_index=True, width="stretch")
