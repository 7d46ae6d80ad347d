"""Preauth Explorer — Streamlit entry point: page config and navigation only."""

import logging
from pathlib import Path

import streamlit as st

from ui.bootstrap import mark_navigation_ran
from ui.session_reaper import register_session, use_returnable_arrow_memory

use_returnable_arrow_memory()  # a closed session's memory can go back to the OS

st.set_page_config(page_title="Preauth Explorer", page_icon=":material/radiology:",
                   layout="wide")
register_session()  # a closed session's memory goes back to the server (ui/session_reaper.py)

PAGES = Path(__file__).resolve().parent / "pages"
SECTIONS = {
    "Cases": [("explorer.py", "Case explorer", ":material/search:"),
              ("scenarios.py", "Teaching scenarios", ":material/school:"),
              ("criteria.py", "Criteria library", ":material/menu_book:")],
    "Evidence": [("evidence.py", "Evidence", ":material/insights:"),
                 ("upload.py", "Upload & batch", ":material/upload_file:")],
    "About": [("about.py", "About", ":material/info:")],
}

navigation = {
    section: [st.Page(str(PAGES / file), title=title, icon=icon, url_path=file[:-3],
                      default=file == "explorer.py")
              for file, title, icon in entries if (PAGES / file).exists()]
    for section, entries in SECTIONS.items()
}
selected = st.navigation({k: v for k, v in navigation.items() if v})
mark_navigation_ran()
try:
    selected.run()
except Exception:  # last line of defence: no input may put a traceback on a shared page
    logging.getLogger("preauth.app").exception("page %r failed", selected.title)
    st.error("This page could not be shown: an unexpected error occurred (details are in "
             "the server log). Your other pages and data in this session are unaffected.",
             icon=":material/error:")
