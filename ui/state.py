"""Session-state plumbing shared by pages (no domain logic)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.case_form import seed_state

PENDING = "pending_case"


def open_in_explorer(case: dict[str, Any]) -> None:
    """Load ``case`` into the explorer and go there."""
    st.session_state[PENDING] = dict(case)
    st.switch_page("pages/explorer.py")


def take_pending_case() -> dict[str, Any] | None:
    case = st.session_state.pop(PENDING, None)
    if case is not None:
        seed_state(case)
        st.session_state["case_id"] = case.get("case_id") or "explorer-case"
    return case
