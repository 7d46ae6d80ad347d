"""The Upload page's mapping step: one compact row per column of the file - its name, three
sample values, the field it is read as (the one control), that field's meaning and allowed
values, and how many problems it has - and the field dictionary beside it (UI only: the
samples, problems and dictionary come from :mod:`preauth`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from preauth.catalog.docs import fields_markdown
from preauth.catalog.fields import FIELDS, FIELDS_BY_NAME
from preauth.ingest.problems import ColumnProblem
from ui.text import plain
from ui.upload_work import UploadWork, current_work, set_mapping

__all__ = ["IGNORE", "editor_key", "field_dictionary", "mapping_editor"]

IGNORE = "(ignore this column)"
_NOTES = "upload_mapping_notes"
_COLUMN, _SAMPLES, _FIELD, _PROBLEMS, _MEANING = (
    "Column in your file", "Sample values", "Read as", "Problems", "Allowed values and meaning")
# Option labels (a function of this module, never one defined in a page: see ui.upload_work).
_LABELS = {IGNORE: IGNORE, **{f.name: f"{f.label} ({f.name})" for f in FIELDS}}
_ROW_PX, _MAX_PX = 35, 600


def _label(option: object) -> str:
    return _LABELS.get(str(option), str(option))


def editor_key(work: UploadWork) -> str:
    return f"mapping_editor_{work.token}_{work.editor}"


def _meaning(name: str | None) -> str:
    """What the field accepts, then what it means (its label is in "Read as")."""
    f = FIELDS_BY_NAME.get(name or "")
    if f is None:
        return "Not read."
    return f"{f.describe_type()} · {f.help}"


def _problem_counts(problems: list[ColumnProblem]) -> dict[str, str]:
    """header -> ``'67 errors'`` / ``'12 warnings'`` (both when both)."""
    out: dict[str, list[str]] = {}
    for p in problems:
        noun = p.severity if p.lines == 1 else f"{p.severity}s"
        out.setdefault(p.header, []).append(f"{p.lines:,} {noun}")
    return {h: ", ".join(parts) for h, parts in out.items()}


def mapping_table(work: UploadWork, samples: dict[str, tuple[str, ...]],
                  problems: list[ColumnProblem]) -> pd.DataFrame:
    counts = _problem_counts(problems)
    return pd.DataFrame({
        _COLUMN: list(work.mapping),
        _SAMPLES: [" · ".join(samples.get(h, ())) or "(all empty)" for h in work.mapping],
        _FIELD: [f or IGNORE for f in work.mapping.values()],
        _PROBLEMS: [counts.get(h, "") for h in work.mapping],
        _MEANING: [_meaning(f) for f in work.mapping.values()],
    })


def apply_mapping_edits(key: str) -> None:
    """Callback of "Apply mapping": the editor's changed rows become the work's mapping."""
    work = current_work()
    state = st.session_state.get(key)
    if work is None or not isinstance(state, dict):
        return
    headers = list(work.mapping)
    edits: dict[str, str | None] = {}
    for row, change in (state.get("edited_rows") or {}).items():
        i = int(row)
        if _FIELD in change and 0 <= i < len(headers):
            target = change[_FIELD]
            edits[headers[i]] = None if target in (None, IGNORE) else str(target)
    st.session_state[_NOTES] = set_mapping(work, edits)


def mapping_editor(work: UploadWork, samples: dict[str, tuple[str, ...]],
                   problems: list[ColumnProblem]) -> None:
    """The mapping table, editable in its "Read as" column, applied with one button."""
    frame = mapping_table(work, samples, problems)
    key = editor_key(work)
    with st.form(f"mapping_form_{work.token}", border=False):
        st.data_editor(
            frame, key=key, hide_index=True, width="stretch",
            height=min(_ROW_PX * (len(frame) + 1) + 3, _MAX_PX),
            disabled=[_COLUMN, _SAMPLES, _MEANING, _PROBLEMS],
            column_config={
                _COLUMN: st.column_config.TextColumn(width=150, pinned=True),
                _SAMPLES: st.column_config.TextColumn(
                    width=180, help="Up to three different values from the column"),
                _FIELD: st.column_config.SelectboxColumn(
                    width=230, required=True, options=[IGNORE, *(f.name for f in FIELDS)],
                    format_func=_label,
                    help="The case field this column is read as; click to change"),
                _PROBLEMS: st.column_config.TextColumn(
                    width=90, help="Problems found in the column (listed below)"),
                _MEANING: st.column_config.TextColumn(
                    width=250, help="The values the chosen field accepts and what it "
                    "means (click a cell for all of it; the field dictionary has every "
                    "field)"),
            })
        st.form_submit_button("Apply mapping and validate", icon=":material/check:",
                              on_click=apply_mapping_edits, args=(key,))
    for note in st.session_state.pop(_NOTES, None) or ():
        st.info(plain(note), icon=":material/swap_horiz:")


def _dictionary_text() -> str:
    """docs/fields.md (the catalog's own text) without its title and generator comment, its
    group headings made small."""
    lines = []
    for line in fields_markdown().splitlines():
        if line.startswith(("# ", "<!--")):
            continue
        lines.append("#### " + line[3:] if line.startswith("## ") else line)
    return "\n".join(lines)


@st.dialog("Field dictionary", width="large")
def _dictionary_dialog() -> None:
    st.caption("Every case field: the values it accepts and what it means (docs/fields.md, "
               "generated from the field catalog).")
    st.markdown(_dictionary_text())


def field_dictionary() -> None:
    """A button that opens the field dictionary (docs/fields.md) in a dialog."""
    if st.button("Field dictionary", icon=":material/menu_book:", key="field_dictionary",
                 width="stretch", help="Every case field: its meaning and the values it "
                                       "accepts (docs/fields.md)"):
        _dictionary_dialog()
