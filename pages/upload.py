"""Upload & batch: read a file of requests, map its columns (or apply a saved mapping profile),
fix what the file says in its own words, validate, evaluate every request under the chosen
policies, download the results, or analyse it on the Evidence page.

Thin page: reading, mapping, validation, the problems by column and the date question are
:mod:`preauth.ingest`, evaluation is :mod:`preauth.evaluate.batch` (as ``preauth evaluate``),
counting is :mod:`preauth.evidence`; the page's state lives in :mod:`ui.upload_work` (kept for
the browser session, across pages, until "Clear upload"), its parts in :mod:`ui.upload_mapping`
and :mod:`ui.upload_review`. The upload is read from memory and never written to disk; only
heads are shown, full tables are downloads produced on click.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pyarrow as pa
import streamlit as st

from preauth.evaluate.batch import evaluate_in_batches
from preauth.evaluate.reading import Reading
from preauth.evaluate.vocabulary import NEEDS_REVIEW_LABEL, Verdict
from preauth.evidence.report import verdict_counts
from preauth.ingest.errors import AmbiguousDates, IngestError
from preauth.ingest.problems import date_question
from ui.bootstrap import ensure_navigation
from ui.datasets import UPLOADED, UPLOADED_NAME, UPLOADED_TOKEN, upload_wide
from ui.downloads import BOM_HELP, BOM_LABEL, FORMATS, download_csv, download_table
from ui.resources import current_engine, current_library, library_key
from ui.text import plain, safe_file_stem
from ui.upload_mapping import field_dictionary, mapping_editor
from ui.upload_review import (
    PREVIEW_ROWS,
    choices_in_use,
    date_question_box,
    preview,
    problem_summary,
)
from ui.upload_work import (
    RESULTS,
    clear_upload,
    current_work,
    file_key,
    keep_widget,
    problems_for,
    profile_changed,
    profile_key,
    profile_notes,
    profile_yaml,
    remember_widget,
    samples_for,
    start_work,
    sync_profile,
    validation_for,
)

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "data" / "template.csv"
TYPES = ["csv", "tsv", "txt", "parquet", "pq", "json", "jsonl", "ndjson", "xlsx"]
HEAD_ROWS = 200
SHOWN_LINES = 1000  # error / warning lines on screen (all of them in the downloads)

ensure_navigation()

st.title("Upload & batch")
st.caption("One row per request, columns as in the template (names are matched ignoring case "
           "and spacing; anything else you map below). CSV with any common delimiter and "
           "encoding, Parquet, JSON or Excel (.xlsx). The file is read in memory and never "
           "written to disk; it stays in this browser session until you clear it. Empty "
           "cells mean *not documented*.")

# -- the file and its profile --------------------------------------------------------------
file_col, profile_col, template_col = st.columns([4, 3, 2], vertical_alignment="bottom")
uploaded = file_col.file_uploader("Requests file", type=TYPES, key=file_key())
profile_col.file_uploader(
    "Mapping profile (optional)", type=["yaml", "yml"], key=profile_key(),
    on_change=profile_changed,
    help="A profile saved on this page (or written by `preauth profile`) says how an "
         "export's columns, values and dates are read: apply it every month.")
if TEMPLATE.exists():
    template_col.download_button("Upload template (CSV)", TEMPLATE.read_bytes(),
                                 file_name="preauth_template.csv", mime="text/csv",
                                 icon=":material/download:", key="dl_template",
                                 width="stretch", on_click="ignore")
work = current_work()
if uploaded is not None:
    try:
        work = start_work(uploaded)
    except IngestError as err:
        st.error(plain(str(err)), icon=":material/error:")
        st.stop()
if work is None:
    st.info("Choose a file to start, or download the template to see the expected columns. "
            "A mapping profile saved from an earlier month is applied to the file.",
            icon=":material/upload_file:")
    st.stop()

raw = work.raw
sync_profile(work, profile_key())
details = [raw.format.upper()]
if raw.encoding:
    details.append(f"encoding {raw.encoding}")
if raw.delimiter:
    details.append(f"delimiter {raw.delimiter!r}")
info, save, clear = st.columns([5, 2, 1.4], vertical_alignment="center")
info.caption(f"**{plain(work.name)}**: {', '.join(details)}; {raw.num_rows:,} rows, "
             f"{len(raw.headers)} columns. Kept for this browser session, with your "
             "choices and results, until you clear it.")
save.download_button("Save choices as a profile", profile_yaml(work),
                     file_name=f"{safe_file_stem(Path(work.name).stem)}_profile.yaml",
                     mime="application/x-yaml", icon=":material/save:",
                     key="dl_profile", width="stretch", on_click="ignore",
                     help="The mapping, value maps and date orders as a YAML profile: "
                          "upload it next month, or use it with `preauth evaluate FILE "
                          "--mapping PROFILE.yaml`.")
clear.button("Clear upload", icon=":material/delete:", key="clear_upload",
             on_click=clear_upload, width="stretch",
             help="Forget the file, the mapping, the results and the data handed to the "
                  "Evidence page")
notes = profile_notes()
if notes is not None:
    kind, lines = notes
    text = "\n".join(f"- {plain(line)}" for line in lines)
    if kind == "error":
        st.error("The profile was not applied:\n" + text, icon=":material/error:")
    else:
        st.success(text, icon=":material/task_alt:")

# -- validation under the current choices --------------------------------------------------
result, failure = validation_for(work, raw)
problems = problems_for(work, raw, result) if result is not None else []

if isinstance(failure, AmbiguousDates):  # asked first: nothing is validated until answered
    date_question_box(date_question(failure))

# -- mapping -------------------------------------------------------------------------------
read_as = sum(1 for f in work.mapping.values() if f)
with st.expander(f"Column mapping — {read_as} of {len(work.mapping)} columns read",
                 expanded=failure is not None or bool(problems) or read_as < len(work.mapping)):
    dict_col, text_col = st.columns([1, 3], vertical_alignment="center")
    text_col.caption("Proposed from the column names (and known synonyms). Change a "
                     "column's field in **Read as** (or ignore it), then apply. The field "
                     "dictionary lists every field with its meaning and allowed values.")
    with dict_col:
        field_dictionary()
    mapping_editor(work, samples_for(work, raw), problems)

if isinstance(failure, AmbiguousDates):
    st.stop()
if failure is not None or result is None:
    st.error(plain(str(failure)), icon=":material/error:")
    st.stop()

# -- validation report ---------------------------------------------------------------------
st.subheader("Validation")
c = st.columns(5)
c[0].metric("Rows in", f"{result.rows_in:,}", border=True)
c[1].metric("Accepted", f"{result.rows_accepted:,}", border=True)
c[2].metric("Rejected", f"{result.rows_rejected:,}", border=True)
c[3].metric("Errors", f"{result.error_count:,}", border=True,
            help="A rejected row can have several errors, one line each.")
c[4].metric("Warnings", f"{result.warning_count:,}", border=True,
            help="Values read as not documented in an optional or outcome column; the row "
                 "is kept.")
st.caption(f"Rows in = accepted + rejected: {result.rows_in:,} = {result.rows_accepted:,} + "
           f"{result.rows_rejected:,}."
           + (f" Ignored columns: {plain(', '.join(result.unmapped_columns))}."
              if result.unmapped_columns else ""))
for note in result.notes:
    st.caption(plain(note))
choices_in_use(work)

if problems:
    problem_summary(work, problems)
stem = safe_file_stem(Path(work.name).stem)
if result.rows_rejected:
    rows = "1 row was" if result.rows_rejected == 1 else f"{result.rows_rejected:,} rows were"
    st.warning(f"{rows} rejected and will not be evaluated. Each problem is listed with its "
               "row number (1 = first data row), column and value.",
               icon=":material/warning:")
    st.dataframe(result.errors.slice(0, SHOWN_LINES).to_pandas(), hide_index=True,
                 width="stretch", height="auto" if result.error_count <= 10 else 400,
                 key="error_lines")
    download_csv(result.errors, f"{stem}_rejected.csv", "dl_rejected",
                 label=f"Download all {result.error_count:,} errors (CSV)")
else:
    st.success(f"All {result.rows_in:,} rows are accepted.", icon=":material/check_circle:")
if result.warning_count:
    st.caption(f"{result.warning_count:,} values were read as not documented (warnings; "
               "their rows are kept):")
    st.dataframe(result.warnings.slice(0, SHOWN_LINES).to_pandas(), hide_index=True,
                 width="stretch", height="auto" if result.warning_count <= 10 else 300,
                 key="warning_lines")
    download_csv(result.warnings, f"{stem}_warnings.csv", "dl_warnings",
                 label=f"Download all {result.warning_count:,} warnings (CSV)")

if result.rows_accepted == 0:
    st.error("No valid rows to evaluate: fix the file or the mapping.")
    st.stop()

st.markdown(f"**The first {min(PREVIEW_ROWS, result.rows_accepted)} rows as they will be "
            "read** (after the mapping, value maps and date orders)")
st.dataframe(preview(result), hide_index=True, width="stretch", key="preview")

accepted = result.accepted
if st.button("Analyse these requests on the Evidence page", icon=":material/insights:",
             key="use_in_evidence"):
    st.session_state[UPLOADED] = accepted
    st.session_state[UPLOADED_NAME] = work.name
    st.session_state[UPLOADED_TOKEN] = f"{work.token}-{work.choices_key}"
    st.session_state["evidence_source_request"] = "uploaded"
    st.switch_page("pages/evidence.py")

# -- batch evaluation ----------------------------------------------------------------------
st.subheader("Batch evaluation")
library = current_library()
names = {p.id: p.name for p in library.policies}
keep_widget("batch_policies")
if [p for p in st.session_state.get("batch_policies", []) if p not in names]:
    st.session_state["batch_policies"] = [p for p in st.session_state["batch_policies"]
                                          if p in names]
chosen = st.multiselect("Policies", list(names), format_func=names.get, key="batch_policies",
                        default=None if "batch_policies" in st.session_state else list(names))
remember_widget("batch_policies")
keep_widget("batch_reading")
reading = st.segmented_control(
    "Reading of silence", list(Reading), format_func={r: r.label for r in Reading}.get,
    default=None if "batch_reading" in st.session_state else Reading.STRICT,
    key="batch_reading",
    help=" ".join(f"**{r.label}**: {r.meaning}" for r in Reading)) or Reading.STRICT
remember_widget("batch_reading")
run_key = f"{work.token}|{work.choices_key}|{','.join(chosen)}|{library_key()}|{reading}"
n = accepted.num_rows
if st.button(f"Evaluate {n:,} requests × {len(chosen)} policies", type="primary",
             icon=":material/play_arrow:", key="batch_run", disabled=not chosen):
    bar = st.progress(0.0, text="Evaluating…")
    parts: list[pa.Table] = []
    try:  # the batch path of `preauth evaluate`: same rows, same order
        for done in evaluate_in_batches(current_engine(), accepted, chosen, reading=reading):
            parts.append(done.table)
            bar.progress(done.fraction_done, text=f"{done.stop:,} of {n:,} requests")
    except Exception as err:  # a clear message, never a traceback
        bar.empty()
        st.error(f"Evaluation failed: {plain(str(err))}")
        st.stop()
    bar.progress(1.0, text=f"Done: {n * len(chosen):,} determinations "
                           f"({Reading(reading).label.lower()}).")
    st.session_state[RESULTS] = {"key": run_key, "table": pa.concat_tables(parts)}

batch = st.session_state.get(RESULTS)
if batch is not None and batch["key"] == run_key:
    results: pa.Table = batch["table"]
    st.markdown(f"**{results.num_rows:,} determinations** ({n:,} requests × {len(chosen)} "
                f"policies, {Reading(reading).label.lower()}).")
    counts = verdict_counts(results)
    counts["policy"] = counts["policy"].map(lambda p: names.get(p, p))
    st.dataframe(counts.rename(columns={
        "policy": "Policy", **Verdict.labels(), "needs_review": NEEDS_REVIEW_LABEL,
        "total": "Total"}), hide_index=True, width="stretch")
    st.caption(f"The first {min(HEAD_ROWS, results.num_rows):,} determinations; the downloads "
               "have all of them (lists joined with ';' in CSV).")
    st.dataframe(results.slice(0, HEAD_ROWS).to_pandas(), hide_index=True, width="stretch",
                 height=320)
    # -- downloads: wide (one row per request) and long (one per request and policy) -----
    st.markdown("**Download the results**")
    keep_widget("dl_bom")
    bom = st.checkbox(BOM_LABEL, key="dl_bom", help=BOM_HELP)
    remember_widget("dl_bom")
    wide = partial(upload_wide, raw, result, results, library, chosen)
    st.caption("One row per request — its columns as read, then per policy the verdict, "
               "whether it is flagged for review, the criteria met and the documentation "
               "needed. For spreadsheets.")
    for col, fmt in zip(st.columns(3), FORMATS, strict=True):
        with col:
            download_table(wide, fmt, f"{stem}_by_request", f"dl_wide_{fmt}",
                           f"One row per request ({FORMATS[fmt][0]})", bom=bom)
    st.caption("One row per request and policy — the determinations with the lists of "
               "criterion ids (met, not met, undocumented, would change the verdict) and the "
               "undocumented fields. For analysis.")
    for col, fmt in zip(st.columns(3), FORMATS, strict=True):
        with col:
            download_table(results, fmt, f"{stem}_determinations", f"dl_results_{fmt}",
                           f"Download results ({FORMATS[fmt][0]})", bom=bom)
