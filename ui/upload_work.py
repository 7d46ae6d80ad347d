"""The Upload page's work, kept for the browser session (UI plumbing, no domain logic).

Streamlit forgets a widget's value when the page that drew it is left - the file uploader's
file too - so the page keeps what the user did in this session's own state
(``st.session_state``, never a process-wide cache another session could read): the file's
bytes (bounded by ``server.maxUploadSize``), the column mapping, the value maps and date
formats (what a mapping profile holds), and the batch results. Its validation, samples and
problems by column are memoised in the session too (:mod:`ui.session_cache`). All of
it is dropped by :func:`clear_upload` ("Clear upload") or with the session.

Every function handed to Streamlit as a callback lives here, not in the page: a page-defined
function would keep the page's globals (the upload) alive in Streamlit's widget registry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from preauth.ingest.errors import IngestError
from preauth.ingest.mapping import propose_mapping, resolve_mapping
from preauth.ingest.problems import ColumnProblem, column_problems
from preauth.ingest.profile import MappingProfile, ProfileError, load_profile, profile_text
from preauth.ingest.raw import RawTable
from preauth.ingest.read import read_raw
from preauth.ingest.samples import column_samples
from preauth.ingest.validate import IngestResult, validate
from ui.session_cache import clear_session_memo, session_memo

__all__ = ["RESULTS", "UploadWork", "apply_profile", "clear_upload", "current_work",
           "file_key", "forget_results", "keep_widget", "problems_for", "profile_changed",
           "profile_key", "profile_notes", "profile_yaml", "remember_widget",
           "samples_for", "set_date_format", "set_mapping", "set_values", "start_work",
           "sync_profile", "validation_for"]

WORK = "upload_work"  # session state: the UploadWork
RESULTS = "batch_results"  # session state: {"key": run key, "table": determinations}
PROFILE_NOTES = "upload_profile_notes"  # what applying the last profile said
_NONCE = "upload_nonce"  # bumped by clear_upload: new, empty uploaders
_KEPT = "_kept_"  # prefix of the copies of widget values kept across pages
_MEMO_KINDS = ("upload_validated", "upload_problems", "upload_samples")
_HANDED_TO_EVIDENCE = ("uploaded_dataset", "uploaded_dataset_name", "uploaded_dataset_token")


@dataclass
class UploadWork:
    """One uploaded file and what the user decided about it (a mapping profile's content).

    ``raw``: the file as read (its text table - kept instead of the uploaded bytes, which
    would be a second copy of the file: nothing needs them once it is read); ``token``: a
    hash of the bytes; ``mapping``: every header -> field (None: ignored); ``values``: field
    -> {source value: catalog value}, ``""`` = not documented; ``formats``: date field ->
    strptime format; ``profile``: the name of the last profile applied; ``editor``: the
    mapping editor's generation (a new, unedited editor after the mapping changed)."""

    name: str
    raw: RawTable
    token: str
    mapping: dict[str, str | None]
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    profile: str = ""
    profile_token: str = ""
    editor: int = 0
    upload_id: str = ""  # the uploader's id of the file (no re-hashing on every run)

    @property
    def choices_key(self) -> str:
        """Identifies the mapping, value maps and formats (memo and result keys)."""
        text = json.dumps([self.mapping, self.values, self.formats], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def as_profile(self) -> MappingProfile:
        return MappingProfile(columns=dict(self.mapping), values=self.values,
                              formats=self.formats,
                              description=f"Made on the Upload page for {self.name}")

    def options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`preauth.ingest.validate.validate`."""
        return {"mapping": dict(self.mapping), "values": self.values or None,
                "formats": self.formats or None}


def _token(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _nonce() -> int:
    return int(st.session_state.get(_NONCE, 0))


def file_key() -> str:
    """The requests-file uploader's key (a new one after :func:`clear_upload`)."""
    n = _nonce()
    return "upload_file" if n == 0 else f"upload_file_{n}"


def profile_key() -> str:
    """The profile uploader's key (a new one after :func:`clear_upload`)."""
    return f"profile_upload_{_nonce()}"


def current_work() -> UploadWork | None:
    work = st.session_state.get(WORK)
    return work if isinstance(work, UploadWork) else None


def start_work(uploaded: Any) -> UploadWork:
    """The work on the file in the uploader (a Streamlit ``UploadedFile``): the session's,
    when it is the same file (the same upload, or the same content and name), else new work
    (the previous file's choices and results dropped). Raises :class:`IngestError` when the
    file cannot be read (the previous work is dropped all the same: the user replaced the
    file)."""
    work = current_work()
    upload_id = str(getattr(uploaded, "file_id", ""))
    if work is not None and upload_id and work.upload_id == upload_id:
        return work
    name, data = str(uploaded.name), uploaded.getvalue()
    token = _token(data)
    if work is not None and work.token == token and work.name == name:
        work.upload_id = upload_id
        return work
    _drop_work()
    raw = read_raw(data, name)
    proposed = propose_mapping(raw.headers)
    work = UploadWork(name, raw, token, {h: proposed.get(h) for h in raw.headers},
                      upload_id=upload_id)
    st.session_state[WORK] = work
    return work


def samples_for(work: UploadWork, raw: RawTable) -> dict[str, tuple[str, ...]]:
    return session_memo("upload_samples", work.token, lambda: column_samples(raw))


def validation_for(work: UploadWork, raw: RawTable
                   ) -> tuple[IngestResult | None, IngestError | None]:
    """The file validated under the work's choices, or the whole-file problem that stops it
    (an ambiguous date column among them), memoised for this session."""
    def run() -> tuple[IngestResult | None, IngestError | None]:
        try:
            return validate(raw, **work.options()), None
        except IngestError as err:
            return None, err

    return session_memo("upload_validated", f"{work.token}|{work.choices_key}", run)


def problems_for(work: UploadWork, raw: RawTable, result: IngestResult) -> list[ColumnProblem]:
    return session_memo("upload_problems", f"{work.token}|{work.choices_key}",
                        lambda: column_problems(result, raw, formats=work.formats))


def forget_results() -> None:
    st.session_state.pop(RESULTS, None)


def _drop_work() -> None:
    for key in (WORK, RESULTS, PROFILE_NOTES):
        st.session_state.pop(key, None)
    for kind in _MEMO_KINDS:
        clear_session_memo(kind)


def clear_upload() -> None:
    """Forget the file, its choices, validation and results, and what was handed to the
    Evidence page; the uploaders start empty. (A button callback.)"""
    _drop_work()
    for key in _HANDED_TO_EVIDENCE:
        st.session_state.pop(key, None)
    st.session_state.pop(file_key(), None)
    st.session_state.pop(profile_key(), None)
    st.session_state[_NONCE] = _nonce() + 1


# --- the user's choices -----------------------------------------------------------------------

def _changed(work: UploadWork) -> None:
    work.editor += 1
    forget_results()


def set_mapping(work: UploadWork, edits: Mapping[str, str | None]) -> list[str]:
    """Apply the user's ``edits`` (header -> field or None). A field now given to an edited
    column is taken from any other column that had it; returns a line for each such move."""
    mapping = dict(work.mapping)
    notes = []
    for header, target in edits.items():
        if header not in mapping or mapping[header] == target:
            continue
        if target is not None:
            for other, f in mapping.items():
                if f == target and other != header and other not in edits:
                    mapping[other] = None
                    notes.append(f"{other} is no longer read as {target}: {header} is.")
        mapping[header] = target
    if mapping != work.mapping:
        work.mapping = mapping
        _changed(work)
    return notes


def set_values(work: UploadWork, field_name: str, table: Mapping[str, str] | None) -> None:
    """Add ``table`` (source value -> catalog value, ``""`` = not documented) to the value
    map of ``field_name``; ``None`` drops that map."""
    if table is None:
        work.values = {k: v for k, v in work.values.items() if k != field_name}
    elif table:
        work.values = {**work.values, field_name: {**work.values.get(field_name, {}),
                                                   **table}}
    else:
        return
    _changed(work)


def set_date_format(work: UploadWork, field_name: str, fmt: str | None) -> None:
    """Read the date field ``field_name`` with ``fmt`` (``None``: as the column shows)."""
    work.formats = {k: v for k, v in work.formats.items() if k != field_name}
    if fmt is not None:
        work.formats[field_name] = fmt
    _changed(work)


# --- profiles ---------------------------------------------------------------------------------

def profile_yaml(work: UploadWork) -> str:
    """The work's choices as a mapping profile (YAML, every column of the file listed)."""
    return profile_text(work.as_profile())


def apply_profile(work: UploadWork, profile: MappingProfile, name: str, token: str = ""
                  ) -> list[str]:
    """Read the file as ``profile`` says: its columns on top of the proposed mapping, its
    value maps and date formats instead of the work's. Returns notes for the user (columns
    the profile names that this file does not have). Raises :class:`IngestError` when the
    profile's columns cannot be applied to this file."""
    headers = list(work.mapping)
    present = {h: f for h, f in profile.columns.items() if h in work.mapping}
    final = resolve_mapping(headers, present, work.name)
    missing = [h for h in profile.columns if h not in work.mapping]
    work.mapping = {h: final.get(h) for h in headers}
    work.values = {f: dict(t) for f, t in profile.values.items()}
    work.formats = dict(profile.formats)
    work.profile, work.profile_token = name, token
    _changed(work)
    notes = [f"Applied the profile {name}."]
    if missing:
        notes.append("It names columns this file does not have (left out): "
                     + ", ".join(missing) + ".")
    return notes


def profile_changed() -> None:
    """Callback of the profile uploader: a profile was chosen (again), so apply it even if the
    same one was applied before."""
    work = current_work()
    if work is not None:
        work.profile_token = ""


def sync_profile(work: UploadWork, key: str) -> None:
    """Apply the profile in the uploader ``key`` to the work unless it already was (also
    when the requests file comes after the profile); what happened - every problem with its
    line - is kept for the page to show (:func:`profile_notes`)."""
    uploaded = st.session_state.get(key)
    if uploaded is None:
        return
    data = uploaded.getvalue()
    token = _token(data)
    if token == work.profile_token:
        return
    work.profile_token = token
    try:
        profile = load_profile(data, uploaded.name)
        notes = apply_profile(work, profile, uploaded.name, token)
    except ProfileError as err:
        st.session_state[PROFILE_NOTES] = ("error", err.problems)
        return
    except IngestError as err:
        st.session_state[PROFILE_NOTES] = ("error", [str(err)])
        return
    st.session_state[PROFILE_NOTES] = ("success", notes)


def profile_notes() -> tuple[str, list[str]] | None:
    """("success" or "error", lines) about the last profile applied, if any."""
    notes = st.session_state.get(PROFILE_NOTES)
    return notes if isinstance(notes, tuple) else None


# --- widgets whose value outlives a visit to another page -------------------------------------

def keep_widget(key: str) -> None:
    """Before drawing the widget ``key``: restore the value it had when the page was left."""
    kept = _KEPT + key
    if key not in st.session_state and kept in st.session_state:
        st.session_state[key] = st.session_state[kept]


def remember_widget(key: str) -> None:
    """After drawing the widget ``key``: keep its value for the next visit."""
    if key in st.session_state:
        st.session_state[_KEPT + key] = st.session_state[key]
