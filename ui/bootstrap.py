"""Make every page run inside app.py's navigation.

Streamlit runs scripts in a ``pages/`` folder on their own (its legacy multipage mode) until
the main script has called ``st.navigation`` once in the server process — so on a freshly
started server a deep link such as ``/scenarios`` would run the page without app.py (no
sections, no wide layout). Each page calls :func:`ensure_navigation` first: in that case it
leaves legacy mode and reruns, and the rerun goes through app.py to the same page.
"""

from __future__ import annotations

import streamlit as st

_navigation_ran = False  # app.py has built the navigation in this process


def mark_navigation_ran() -> None:
    """Called by app.py after ``st.navigation``."""
    global _navigation_ran
    _navigation_ran = True


def ensure_navigation() -> None:
    if _navigation_ran:
        return
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - a future Streamlit without the legacy mode
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
