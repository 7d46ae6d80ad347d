"""Handing a case to the explorer with where it came from, and the way back.

A scenario or a drill-down opens its case in the explorer with an :class:`Origin`: one plain
sentence saying where the case came from (the scenario's title; the Evidence drill-down's
carrier and payer decision) and the page to go back to, with that page's own choices (filters,
tab, quiz mode) as they were, since Streamlit forgets a page's widgets once another page runs.

Everything lives in this browser session's ``st.session_state`` — never in the URL (a shared
link must not claim to come from someone else's scenario) nor in anything shared between
sessions. No domain logic here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from preauth.catalog.share import case_to_params
from preauth.criteria.library import Policy
from ui.case_form import current_case
from ui.state import open_in_explorer as _open_in_explorer
from ui.state import take_pending_case
from ui.text import plain

__all__ = ["ORIGIN", "Origin", "clear_origin", "drill_down_origin", "open_in_explorer",
           "page_state", "scenario_origin", "scroll_to_top", "show_origin", "take_handoff"]

PENDING_ORIGIN = "pending_origin"  # set with the pending case, taken by the explorer
ORIGIN = "explorer_origin"  # the origin of the case the explorer shows
MAX_TEXT = 120  # characters of a title, carrier or case id quoted


@dataclass(frozen=True)
class Origin:
    """Where the explorer's case came from and how to go back there."""

    text: str  # one sentence, plain text (may quote data: shown through ui.text.plain)
    page: str  # the page to go back to, e.g. "pages/scenarios.py"
    back_label: str  # the way back, e.g. "Back to the scenarios"
    restore: Mapping[str, Any] = field(default_factory=dict)  # that page's state, put back
    seeded: Mapping[str, str] = field(default_factory=dict)  # the case as handed over (link)


def page_state(keys: Iterable[str]) -> dict[str, Any]:
    """The current values of ``keys`` in this session (those that have one), to restore on
    the way back. Only widget values that may be set (not buttons or file uploaders)."""
    return {k: st.session_state[k] for k in keys if k in st.session_state}


def scenario_origin(title: str, restore: Mapping[str, Any] | None = None) -> Origin:
    return Origin(f"Opened from the teaching scenario “{_cut(title)}”.",
                  "pages/scenarios.py", "Back to the scenarios", dict(restore or {}))


def drill_down_origin(case: Mapping[str, Any], listed: str, policy: Policy,
                      restore: Mapping[str, Any] | None = None) -> Origin:
    """The origin of request ``case`` picked in the Evidence page's drill-down among the
    requests ``listed`` (e.g. "Denied or cancelled although the criteria are met") under
    ``policy``: its carrier and the payer's decisions, as the data record them."""
    decision = f"payer decision {case.get('decision') or 'not recorded'}"
    final = case.get("final_decision")
    if final is not None and final != case.get("decision"):
        decision += f", final decision {final}"
        if case.get("peer_to_peer"):
            decision += " after peer-to-peer review"
    carrier = case.get("carrier")
    text = (f"Request {_cut(case.get('case_id') or '?')} from the Evidence drill-down "
            f"({_cut(listed.lower())} under {_cut(policy.short_label)}): carrier "
            f"{_cut(carrier) if carrier else 'not recorded'}, {decision}.")
    return Origin(text, "pages/evidence.py", "Back to Evidence", dict(restore or {}))


def _cut(value: Any) -> str:
    s = " ".join(str(value).split())
    return s if len(s) <= MAX_TEXT else s[:MAX_TEXT - 1] + "…"


def open_in_explorer(case: dict[str, Any], origin: Origin | None = None) -> None:
    """Load ``case`` into the explorer, remembering ``origin``, and go there."""
    st.session_state[PENDING_ORIGIN] = origin
    _open_in_explorer(case)


def take_handoff() -> dict[str, Any] | None:
    """The case handed over by another page (seeded into the form), with its origin now the
    explorer's (None when nothing was handed over; an earlier origin stays)."""
    case = take_pending_case()
    origin = st.session_state.pop(PENDING_ORIGIN, None)
    if case is not None:
        if isinstance(origin, Origin):
            origin = Origin(origin.text, origin.page, origin.back_label, origin.restore,
                            case_to_params(current_case()))
            st.session_state[ORIGIN] = origin
        else:
            clear_origin()
    return case


def clear_origin() -> None:
    """The explorer's case no longer comes from anywhere (another case was loaded)."""
    st.session_state.pop(ORIGIN, None)


def show_origin() -> None:
    """Where the explorer's case came from, whether it has been changed since, and a button
    back to that page with its choices restored. Nothing when the case has no origin."""
    origin = st.session_state.get(ORIGIN)
    if not isinstance(origin, Origin):
        return
    with st.container(border=True, key="explorer_origin", horizontal=True,
                      vertical_alignment="center"):
        edited = case_to_params(current_case()) != dict(origin.seeded)
        st.markdown(plain(origin.text) + (" *Changed here since.*" if edited else ""),
                    width="stretch")
        if st.button(origin.back_label, icon=":material/arrow_back:", key="origin_back",
                     width="content"):
            for key, value in origin.restore.items():
                st.session_state[key] = value
            st.switch_page(origin.page)


def scroll_to_top() -> None:
    """Show the page from its top: Streamlit keeps the scroll position of the page that
    handed the case over (a scenario far down the list), which would hide the origin."""
    st.html('<script>document.querySelector(\'[data-testid="stMain"]\')?.scrollTo(0, 0)'
            "</script>", unsafe_allow_javascript=True)
