"""How the explorer shows its determinations at every width: the "Under every policy" table,
a compact verdict summary that stays in view on a narrow screen, and the page's layout rules.

Layout, no domain logic: the determinations come from :mod:`preauth.evaluate`. Policy names
may come from a custom upload, so they are shown as plain text (:func:`ui.text.plain`).

The explorer puts its form and results in a container keyed :data:`BODY` and its summary in
:data:`SUMMARY`. Where that container is narrow (a phone, or a 800 px window with the sidebar
open) the two columns are stacked, form first, and the summary is shown, sticking to the top
of the screen while the form scrolls under it; where it is wide, the table beside the form
says the same and the summary is hidden. The rule is a CSS container query, so it follows the
space the page has, not the window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from preauth.evaluate.determination import Determination
from preauth.evaluate.vocabulary import Verdict
from ui.text import plain

__all__ = ["BODY", "COLUMNS", "SUMMARY", "explorer_css", "keep_choice", "restore_choices",
           "short_policy_name", "verdict_summary", "verdict_table"]

BODY = "explorer_body"  # key of the container of the form and results
COLUMNS = "explorer_columns"  # key of the container of the two columns
SUMMARY = "verdict_summary"  # key of the sticky summary
CHOICES = ("explain_policy", "reading")  # the explorer's own widgets kept across pages
KEPT = "explorer_choices_kept"
SHORT_NAME_CHARS = 24  # a policy name in the table and summary, at most
STACK_BELOW = "46rem"  # the body's width under which form and results are stacked
_COLOURS = {Verdict.MEETS: "green", Verdict.DOES_NOT_MEET: "red", Verdict.INSUFFICIENT: "orange"}

# Streamlit wraps each keyed container in a layout wrapper: the summary's wrapper is what
# sticks (its parent, the body, is as tall as the form), the columns' block is inside one.
_SUMMARY_BOX = f'[data-testid="stLayoutWrapper"]:has(> .st-key-{SUMMARY})'
_COLUMN_ROW = (f'.st-key-{COLUMNS} > [data-testid="stLayoutWrapper"]'
               ' > [data-testid="stHorizontalBlock"]')
_CSS = f"""
.st-key-{BODY} {{ container-type: inline-size; container-name: explorer; }}
{_SUMMARY_BOX} {{ display: none; }}
@container explorer (max-width: {STACK_BELOW}) {{
  {_COLUMN_ROW} {{ flex-direction: column; }}
  {_COLUMN_ROW} > [data-testid="stColumn"] {{
    width: 100% !important; flex: 1 1 auto !important; min-width: 0; }}
  {_SUMMARY_BOX} {{
    display: flex; position: sticky; top: 3.75rem; z-index: 99;
    background: var(--st-background-color, #fff); padding: 0.4rem 0;
    border-bottom: 1px solid rgba(49, 51, 63, 0.2); }}
}}
.st-key-{SUMMARY} {{ row-gap: 0.1rem; }}
.st-key-{SUMMARY} [data-testid="stMarkdownContainer"] {{ margin-bottom: 0; }}
.st-key-{SUMMARY} p {{ margin: 0; white-space: nowrap; }}
"""


def explorer_css() -> None:
    """The explorer's layout rules (an invisible element)."""
    st.html(f"<style>{_CSS}</style>")


def short_policy_name(d: Determination) -> str:
    """The policy's short name (its file's ``short_name``, else its name cut short)."""
    name = " ".join(d.policy.short_label.split())
    return name if len(name) <= SHORT_NAME_CHARS else name[:SHORT_NAME_CHARS - 1] + "…"


def verdict_table(results: Sequence[Determination]) -> pd.DataFrame:
    """One row per policy: verdict first (long names must not hide it), the policy's short
    name, the review flag and how many criteria fired — narrow enough for a half-width
    column without scrolling."""
    return pd.DataFrame([{
        "Verdict": f"{d.icon} {d.verdict_label}",
        "Policy": short_policy_name(d),
        "Review": "flagged" if d.needs_review else "",
        "Fired": len(d.fired),
    } for d in results])


def verdict_summary(results: Sequence[Determination]) -> list[str]:
    """One short Markdown item per policy ("ACR :green[✓ Meets criteria]"), policy names as
    plain text; the explorer shows them side by side, wrapping."""
    items = []
    for d in results:
        colour = _COLOURS.get(d.verdict) if d.verdict is not None else None
        verdict = f"{d.icon} {d.verdict_label}"
        items.append(f"**{plain(short_policy_name(d))}** "
                     + (f":{colour}[{verdict}]" if colour else verdict)
                     + (" · review" if d.needs_review else ""))
    return items


def restore_choices(policies: Mapping[str, str]) -> None:
    """Put back the explorer's choices (policy explained, reading of silence) that Streamlit
    forgot while another page ran; a policy no longer offered becomes the first one."""
    kept = st.session_state.get(KEPT) or {}
    for key in CHOICES:
        if key not in st.session_state and key in kept:
            st.session_state[key] = kept[key]
    if st.session_state.get("explain_policy") not in policies:
        st.session_state["explain_policy"] = next(iter(policies))


def keep_choice(key: str, value: Any) -> None:
    """Remember the explorer's choice ``key`` for :func:`restore_choices`."""
    st.session_state[KEPT] = {**(st.session_state.get(KEPT) or {}), key: value}
