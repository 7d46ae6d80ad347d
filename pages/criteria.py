"""Criteria library: browse and search policies and criteria, compare two policies, and try a
custom criteria file for this browser session."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from preauth.catalog.fields import CONTRAST_LABELS
from preauth.criteria.library import MAX_FILE_BYTES, CriteriaError, load_policy_text
from preauth.criteria.policy_diff import compare, disagreements
from preauth.criteria.wording import read_expression
from preauth.evaluate.vocabulary import Verdict
from preauth.synthetic.scenarios import SCENARIOS
from ui.bootstrap import ensure_navigation
from ui.resources import (
    CUSTOM,
    CustomCriteriaLimit,
    add_custom_policy,
    bundled_library,
    current_engine,
    current_library,
)
from ui.text import plain

ensure_navigation()

st.title("Criteria library")
st.caption("Every criterion is data: a condition over case fields, the appropriateness it "
           "gives each MRI procedure, its rationale and its source.")

library = current_library()
browse, diff, custom = st.tabs(["Browse", "Compare policies", "Custom criteria"])

with browse:
    names = {p.id: p.name for p in library.policies}
    c1, c2 = st.columns([2, 3])
    pid = c1.selectbox("Policy", list(names), format_func=names.get, key="lib_policy")
    query = c2.text_input("Search criteria", key="lib_search",
                          placeholder="title, id, field or words in the rationale")
    policy = library[pid]
    # Policy text may come from a custom upload: always shown as plain text (ui.text.plain).
    st.markdown(f"**{plain(policy.name)}** — {plain(policy.version)}"
                + (f", effective {policy.effective}" if policy.effective else ""))
    st.markdown(plain(policy.summary))
    if policy.models:
        st.caption(f"Models: {plain(policy.models)}")
    q = query.strip().lower()
    shown = [c for c in policy.criteria
             if not q or q in " ".join([c.id, c.title, c.when, c.rationale, c.source,
                                        *c.expression.fields]).lower()]
    st.caption(f"{len(shown)} of {len(policy.criteria)} criteria")
    for c in shown:
        label = f"{plain(c.title)} · {plain(c.id)}" + (" · exclusion" if c.kind == "exclusion"
                                                       else "")
        with st.expander(label):
            regions = ", ".join(r + (" (by analogy)" if r in c.by_analogy else "")
                                for r in c.regions)
            st.markdown(f"*{plain(c.source)}* — regions: {regions}")
            st.markdown("**Condition**")
            st.code(c.expression.pretty(), language="sql")
            st.markdown(f"**In plain words:** {plain(read_expression(c.expression.root))}")
            rows = [{"Procedure": f"MRI {CONTRAST_LABELS[k]}", "Category": r.category.label,
                     "Rating": "" if r.rating is None else str(r.rating),
                     "Note": "; ".join(x for x in (r.rating_note, r.comment) if x)}
                    for k, r in c.appropriateness.items()]
            rows += [{"Procedure": k.replace("_", " ") + " (context)",
                      "Category": r.category.label,
                      "Rating": "" if r.rating is None else str(r.rating),
                      "Note": "; ".join(x for x in (r.rating_note, r.comment) if x)}
                     for k, r in c.other_procedures.items()]
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
            st.markdown(f"**Rationale:** {plain(c.rationale)}")
            if c.documentation:
                st.markdown("**Documentation a reviewer needs:**\n"
                            + "\n".join(f"- {plain(x)}" for x in c.documentation))
            st.markdown("**Sources:**\n" + "\n".join(
                f"- {plain(policy.references[r].text)}" for r in c.citations))

with diff:
    ids = [p.id for p in library.policies]
    c1, c2 = st.columns(2)
    a = c1.selectbox("Policy A", ids, index=0, format_func=names.get,
                     key="diff_a")
    b = c2.selectbox("Policy B", ids, index=min(1, len(ids) - 1),
                     format_func=names.get, key="diff_b")
    features = compare(library[a], library[b])
    # st.table renders markdown: every cell and header is plain text
    head_a, head_b = f"A: {plain(library[a].name)}", f"B: {plain(library[b].name)}"
    table = pd.DataFrame([{"": "≠" if f.differs else "=", "Aspect": plain(f.name),
                           head_a: plain(f.a), head_b: plain(f.b)} for f in features])
    st.table(table.set_index(""))
    st.markdown("**Where they disagree on the teaching scenarios**")
    rows = disagreements(current_engine(), a, b, [(s.title, s.case) for s in SCENARIOS])
    if rows:
        shown = pd.DataFrame(rows).replace(Verdict.labels())
        st.dataframe(shown, hide_index=True, width="stretch")
    else:
        st.info("The two policies reach the same verdict on every teaching scenario.")

with custom:
    st.markdown("Upload a policy file in the same YAML format as the bundled ones (see "
                "`docs/criteria.md`). It is checked like the bundled files — unknown fields, "
                "function calls and type mismatches are refused with the file, criterion and "
                "token — and is then available in the explorer **for this browser session "
                "only**. A file with the id of a bundled policy replaces it for the session.")
    upload = st.file_uploader("Criteria file", type=["yaml", "yml"], key="criteria_upload")
    seen = (upload.file_id, upload.name) if upload is not None else None
    if upload is not None and st.session_state.get("criteria_upload_seen") != seen:
        # each uploaded file is read once: later reruns (and "Remove") leave it alone
        st.session_state["criteria_upload_seen"] = seen
        try:
            if upload.size > MAX_FILE_BYTES:  # never decode an oversized file
                raise CriteriaError(upload.name, None,
                                    f"file is larger than {MAX_FILE_BYTES:,} bytes")
            text = upload.getvalue().decode("utf-8")
            policy = load_policy_text(text, upload.name)
            add_custom_policy(policy)
        except UnicodeDecodeError:
            outcome = ("error", f"{upload.name}: the file is not UTF-8 text.")
        except (CriteriaError, CustomCriteriaLimit) as err:
            outcome = ("error", str(err))
        else:
            outcome = ("success", f"Loaded {policy.name} ({policy.id}) with "
                                  f"{len(policy.criteria)} criteria — now selectable in the "
                                  "explorer.")
        st.session_state["criteria_upload_outcome"] = outcome
    if upload is not None and "criteria_upload_outcome" in st.session_state:
        kind, message = st.session_state["criteria_upload_outcome"]
        show = st.error if kind == "error" else st.success
        show(plain(message),
             icon=":material/error:" if kind == "error" else ":material/check_circle:")
    loaded = dict(st.session_state.get(CUSTOM) or {})
    for pid_, p in loaded.items():
        c1, c2 = st.columns([4, 1])
        replaced = " (replaces the bundled policy)" if pid_ in bundled_library().ids else ""
        c1.markdown(f"- **{plain(p.name)}** ({plain(pid_)}) from {plain(p.file)}{replaced}")
        if c2.button("Remove", key=f"remove_{pid_}"):
            loaded.pop(pid_)
            st.session_state[CUSTOM] = loaded
            st.rerun()
