"""Preauth Explorer — Streamlit entry point: page config and navigation only."""

import streamlit as st

st.set_page_config(page_title="Preauth Explorer", page_icon=":material/radiology:",
                   layout="wide")

pages = {
    "Explore": [
        st.Page("pages/explorer.py", title="Case explorer", icon=":material/search:",
                default=True),
    ],
}
st.navigation(pages).run()
