"""The Upload page's review of a validation (UI only): the problems by column with a one-click
value map for the columns one can fix, the date-order question, and a preview of the first
rows as they will be read. What is counted and proposed comes from
:mod:`preauth.ingest.problems`; answers go back through :mod:`ui.upload_work` and the file is
validated again."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from preauth.catalog.fields import FIELDS_BY_NAME
from preauth.evaluate.wide import echoed_fields
from preauth.ingest.problems import (
    NOT_DOCUMENTED,
    ColumnProblem,
    DateQuestion,
    date_format_words,
    suggested_target,
    value_targets,
)
from preauth.ingest.validate import IngestResult
from ui.text import plain
from ui.upload_work import UploadWork, current_work, set_date_format, set_values

__all__ = ["PREVIEW_ROWS", "choices_in_use", "date_question_box", "preview",
           "problem_summary"]

PREVIEW_ROWS = 20
KEEP = "(leave as it is)"
NOT_DOCUMENTED_LABEL = "not documented"
_OPEN = 4  # problems shown opened


# --- the date-order question ------------------------------------------------------------------

def answer_dates(field_name: str, fmt: str) -> None:
    """Callback of a date answer: read ``field_name`` with ``fmt``."""
    work = current_work()
    if work is not None:
        set_date_format(work, field_name, fmt)


def forget_choice(section: str, field_name: str) -> None:
    """Callback of "Undo": drop the work's date format (``"formats"``) or value map
    (``"values"``) for ``field_name``; a date column is then asked about again."""
    work = current_work()
    if work is None:
        return
    if section == "formats":
        set_date_format(work, field_name, None)
    else:
        set_values(work, field_name, None)


def date_question_box(question: DateQuestion) -> None:
    """The question in plain words and one button per answer."""
    with st.container(border=True):
        title = ("**The dates of this column mix two orders.**" if question.mixed
                 else "**Which date order does this column use?**")
        st.markdown(title)
        st.markdown(plain(question.text))
        for col, choice in zip(st.columns(len(question.choices)), question.choices,
                               strict=True):
            col.button(plain(choice.label), key=f"date_{question.field}_{choice.format}",
                       on_click=answer_dates, args=(question.field, choice.format),
                       icon=":material/event:", width="stretch")
        st.caption("Your answer is part of the mapping profile you can download above.")


def choices_in_use(work: UploadWork) -> None:
    """The date orders and value maps in use (answers, one-click maps or a profile), each
    with a way to undo it."""
    header_of = {f: h for h, f in work.mapping.items() if f}
    lines = [("formats", name, f"dates read {date_format_words(fmt)}")
             for name, fmt in work.formats.items()]
    lines += [("values", name, ", ".join(
        f"{source} → {target or NOT_DOCUMENTED_LABEL}" for source, target in table.items()))
        for name, table in work.values.items() if table]
    for section, name, text in lines:
        left, right = st.columns([6, 1], vertical_alignment="center")
        left.caption(f"{plain(header_of.get(name, name))}: {plain(text)} (your choice, or "
                     "the profile's).")
        right.button("Undo", key=f"undo_{section}_{name}", on_click=forget_choice,
                     args=(section, name), icon=":material/undo:", width="stretch")


# --- problems by column -----------------------------------------------------------------------

def apply_value_map(field_name: str, values: tuple[str, ...], prefix: str) -> None:
    """Callback of "Apply value mapping": the chosen meaning of each value joins the work's
    value map for ``field_name``; values left as they are stay out of it."""
    work = current_work()
    if work is None:
        return
    table = {}
    for i, value in enumerate(values):
        choice = st.session_state.get(f"{prefix}_{i}")
        if choice == NOT_DOCUMENTED_LABEL:
            table[value] = NOT_DOCUMENTED
        elif choice not in (None, KEEP):
            table[value] = str(choice)
    set_values(work, field_name, table)


def _value_map_form(work: UploadWork, problem: ColumnProblem) -> None:
    field_name = problem.field or ""
    f = FIELDS_BY_NAME[field_name]
    options = [KEEP, *value_targets(field_name), NOT_DOCUMENTED_LABEL]
    values = problem.mappable_values
    kept = ("stay not documented, with a warning" if problem.severity == "warning"
            else "stay refused, and their rows rejected")
    st.caption(f"{plain(f.label)} accepts {plain(problem.expects)}. Say what each value "
               f"means; values left as they are {kept}. The choices join the mapping "
               "profile.")
    prefix = f"vm_{field_name}_{work.editor}"
    with st.form(f"value_form_{field_name}_{work.editor}", border=False):
        cols = st.columns(3)
        for i, (value, count) in enumerate(values):
            proposed = suggested_target(field_name, value)
            default = KEEP if proposed is None else (
                NOT_DOCUMENTED_LABEL if proposed == NOT_DOCUMENTED else proposed)
            rows = "row" if count == 1 else "rows"
            cols[i % 3].selectbox(f"{plain(value)} ({count:,} {rows})", options,
                                  index=options.index(default), key=f"{prefix}_{i}")
        more = problem.distinct - len(values)
        if more > 0:
            st.caption(f"{more:,} more values are not shown; map them in a profile "
                       "(download it above, edit, upload it).")
        st.form_submit_button(
            "Apply value mapping", icon=":material/auto_fix_high:", type="primary",
            on_click=apply_value_map, args=(field_name, tuple(v for v, _ in values), prefix))


def problem_summary(work: UploadWork, problems: list[ColumnProblem]) -> None:
    """Every column's problems in one line each, errors before warnings; the ones a value map
    can fix open a small form to map them."""
    errors = sum(p.severity == "error" for p in problems)
    st.markdown(f"**Problems by column** — {errors} with errors (rows rejected), "
                f"{len(problems) - errors} with warnings (rows kept, value read as not "
                "documented)")
    for i, p in enumerate(problems):
        icon = ":material/error:" if p.severity == "error" else ":material/warning:"
        if p.mappable and p.mappable_values:
            with st.expander(plain(p.headline()), icon=icon, expanded=i < _OPEN):
                _value_map_form(work, p)
        else:
            expects = f" Expected: {plain(p.expects)}." if p.expects else ""
            with st.container(border=True):
                st.markdown(f"{icon} {plain(p.headline())}")
                if expects:
                    st.caption(expects.strip())


# --- preview ----------------------------------------------------------------------------------

def preview(result: IngestResult) -> pd.DataFrame:
    """The first accepted rows as they will be read (typed), under the fields' labels."""
    names = ["row", *echoed_fields(result.mapping.values())]
    head = result.accepted.slice(0, PREVIEW_ROWS).select(
        [n for n in names if n in result.accepted.column_names])
    labels = {n: FIELDS_BY_NAME[n].label if n in FIELDS_BY_NAME else "Row" for n in names}
    return head.to_pandas().rename(columns=labels)
