"""The case form, generated from the field catalog (labels, help, groups, allowed values)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from preauth.catalog.fields import CLINICAL_FIELDS, CONTRAST_LABELS, CPT_CODES, GROUPS, Field, Kind
from preauth.catalog.values import parse_value

NOT_DOCUMENTED = "Not documented"
_BOOL_OPTIONS = ("Yes", "No", NOT_DOCUMENTED)
_SKIP = {"case_id", "carrier", "request_date", "region", "contrast"}
KEPT = "case_form_kept"  # the form's widget values, kept across pages (see current_case)


def cpt_label(code: str) -> str:
    region, contrast = CPT_CODES[code]
    return f"{code} · {region} · {CONTRAST_LABELS[contrast]}"


def widget_key(name: str) -> str:
    return f"f_{name}"


def to_widget(f: Field, value: Any) -> Any:
    """A case value as the widget's state."""
    if f.kind is Kind.BOOLEAN:
        return NOT_DOCUMENTED if value is None else ("Yes" if value else "No")
    if f.kind is Kind.ENUM:
        return NOT_DOCUMENTED if value is None else value
    if value is not None and f.kind is Kind.NUMBER:
        return float(value)
    if value is not None and f.kind is Kind.INTEGER:
        return int(value)
    if f.kind is Kind.TEXT:
        return "" if value is None else str(value)
    return value


def from_widget(f: Field, value: Any) -> Any:
    """A widget's state as a case value (None = not documented)."""
    if value is None or value == NOT_DOCUMENTED:
        return None
    if f.kind is Kind.BOOLEAN:
        return value == "Yes"
    if f.kind is Kind.INTEGER:
        return int(value)
    if f.kind is Kind.NUMBER:
        return float(value)
    if f.kind is Kind.TEXT:  # trimmed and checked by the catalog's rule, as ingest does
        return parse_value(f, value)
    return value


def seed_state(case: dict[str, Any]) -> None:
    """Put ``case`` into the widgets' session state (e.g. a scenario or a shared URL)."""
    for f in _form_fields():
        st.session_state[widget_key(f.name)] = to_widget(f, case.get(f.name))


def _widget(f: Field) -> None:
    """One field's widget. Its default (``index`` / ``value``) is always the value the session
    holds: Streamlit's browser side re-creates a widget from its default when it remounts it
    (seen under load: a number reset to its minimum, a select to its first option), so a
    key-only widget could silently show — and then send back — a value the user never chose."""
    key = widget_key(f.name)
    current = st.session_state.get(key, to_widget(f, None))
    if f.name == "cpt_code":
        options: list[Any] = list(CPT_CODES)
        st.selectbox(f.label, options, key=key, format_func=cpt_label, help=f.help,
                     index=_index(options, current))
    elif f.kind is Kind.BOOLEAN:
        st.radio(f.label, _BOOL_OPTIONS, key=key, horizontal=True, help=f.help,
                 index=_index(list(_BOOL_OPTIONS), current))
    elif f.kind is Kind.ENUM:
        options = [NOT_DOCUMENTED, *f.values]
        st.selectbox(f.label, options, key=key, help=f.help, index=_index(options, current),
                     format_func=lambda v: v.replace("_", " "))
    elif f.kind is Kind.TEXT:  # diagnosis codes: read by preauth.sources.codes
        st.text_input(f.label, value=current or "", key=key, max_chars=2_000,
                      help=f"{f.help} Leave empty when not documented.",
                      placeholder="e.g. M54.16, G83.4")
    elif f.is_numeric:
        num = int if f.kind is Kind.INTEGER else float
        unit = ("of " + f.unit[1:]) if f.unit.startswith("/") else f.unit
        st.number_input(
            f"{f.label} ({unit})" if unit else f.label,
            min_value=None if f.minimum is None else num(f.minimum),
            max_value=None if f.maximum is None else num(f.maximum),
            value=None if current is None else num(current),
            step=num(1) if num is int else 0.5, key=key,
            help=f"{f.help} Leave empty when not documented.", placeholder=NOT_DOCUMENTED)


def _index(options: list[Any], value: Any) -> int:
    return options.index(value) if value in options else 0


def _form_fields() -> list[Field]:
    return [f for f in CLINICAL_FIELDS if f.name not in _SKIP]


def current_case() -> dict[str, Any]:
    """The case the form's state describes, without drawing the form: at the start of a rerun
    session state already holds the value just changed, so the results can be computed (and
    sent to the browser) before the form's widgets.

    Streamlit forgets a widget's value once a run of another page has not drawn it, so the
    form's values are also kept under :data:`KEPT` (not a widget key) and put back when the
    explorer is opened again in this session."""
    kept = st.session_state.get(KEPT) or {}
    case: dict[str, Any] = {"case_id": st.session_state.get("case_id", "explorer-case")}
    for f in _form_fields():
        key = widget_key(f.name)
        if key not in st.session_state:
            st.session_state[key] = kept[key] if key in kept else \
                to_widget(f, None) if f.name != "cpt_code" else "72148"
        case[f.name] = from_widget(f, st.session_state[key])
    st.session_state[KEPT] = {widget_key(f.name): st.session_state[widget_key(f.name)]
                              for f in _form_fields()}
    return case


def case_form(expanded: tuple[str, ...] = ("request", "red_flags")) -> dict[str, Any]:
    """Render the grouped form; return the case it describes."""
    case = current_case()
    for group, title in GROUPS.items():
        members = [f for f in _form_fields() if f.group == group]
        if not members:
            continue
        with st.expander(title, expanded=group in expanded):
            for f in members:
                _widget(f)
    return case
