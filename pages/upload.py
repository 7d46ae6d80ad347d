"""Upload & batch: read a file of requests, map its columns, validate, evaluate every request
under the chosen policies, download the results, or analyse it on the Evidence page.

Thin page: reading, mapping and validation are :mod:`preauth.ingest`, evaluation is
:mod:`preauth.evaluate.batch` (as ``preauth evaluate``), counting is :mod:`preauth.evidence`.
The upload is read from memory and never written to disk; only heads are shown, full tables
are downloads produced on click.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pyarrow as pa
import streamlit as st

from preauth.catalog.fields import FIELDS
from preauth.evaluate.batch import evaluate_in_batches
from preauth.evaluate.reading import Reading
from preauth.evaluate.vocabulary import NEEDS_REVIEW_LABEL, Verdict
from preauth.evidence.report import verdict_counts
from preauth.ingest.errors import IngestError
from preauth.ingest.mapping import propose_mapping
from ui.bootstrap import ensure_navigation
from ui.datasets import (
    UPLOADED,
    UPLOADED_NAME,
    UPLOADED_TOKEN,
    content_token,
    read_upload,
    upload_wide,
    validate_upload,
)
from ui.downloads import BOM_HELP, BOM_LABEL, FORMATS, download_csv, download_table
from ui.resources import current_engine, current_library, library_key

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "data" / "template.csv"
TYPES = ["csv", "tsv", "txt", "parquet", "pq", "json", "jsonl", "ndjson", "xlsx"]
IGNORE = "(ignore this column)"
HEAD_ROWS = 200
RESULTS = "batch_results"
# Widget label functions are dict lookups, never page-defined functions: those would keep
# this page's globals (the upload and its results) alive in Streamlit's widget registry.
CHOICE_LABELS = {IGNORE: IGNORE, **{f.name: f"{f.name} — {f.label}" for f in FIELDS}}

ensure_navigation()

st.title("Upload & batch")
st.caption("One row per request, columns as in the template (names are matched ignoring case "
           "and spacing; anything else you map below). CSV with any common delimiter and "
           "encoding, Parquet, JSON or Excel (.xlsx). The file is read in memory and never "
           "written to disk. Empty cells mean *not documented*.")

left, right = st.columns([3, 1], vertical_alignment="bottom")
uploaded = left.file_uploader("Requests file", type=TYPES, key="upload_file")
if TEMPLATE.exists():
    right.download_button("Upload template (CSV)", TEMPLATE.read_bytes(),
                          file_name="preauth_template.csv", mime="text/csv",
                          icon=":material/download:", key="dl_template", width="stretch",
                          on_click="ignore")
if uploaded is None:
    st.info("Choose a file to start, or download the template to see the expected columns.",
            icon=":material/upload_file:")
    st.stop()

data = uploaded.getvalue()
token = content_token(data)
try:
    raw = read_upload(token, uploaded.name, data)
except IngestError as err:
    st.error(str(err), icon=":material/error:")
    st.stop()
details = [raw.format.upper()]
if raw.encoding:
    details.append(f"encoding {raw.encoding}")
if raw.delimiter:
    details.append(f"delimiter {raw.delimiter!r}")
st.caption(f"**{uploaded.name}**: {', '.join(details)}; {raw.num_rows:,} rows, "
           f"{len(raw.headers)} columns.")

# -- mapping -------------------------------------------------------------------------------
headers = raw.headers
map_key = f"mapping_{token}"
if map_key not in st.session_state:
    proposed = propose_mapping(headers)
    st.session_state[map_key] = {h: proposed.get(h) for h in headers}
mapping: dict[str, str | None] = st.session_state[map_key]
mapped = [h for h in headers if mapping.get(h)]
unmapped = [h for h in headers if not mapping.get(h)]
field_names = [f.name for f in FIELDS]

with st.expander(f"Column mapping — {len(mapped)} of {len(headers)} columns mapped",
                 expanded=bool(unmapped) or "case_id" not in mapping.values()):
    st.caption("Proposed from the column names (and known synonyms). Change any column's "
               "field, or ignore it, then apply.")
    with st.form(f"mapping_form_{token}", border=False):
        grid = st.columns(3)
        for i, h in enumerate(headers):
            current = mapping.get(h)
            grid[i % 3].selectbox(
                f"{h}", [IGNORE, *field_names],
                index=0 if not current else field_names.index(current) + 1,
                format_func=CHOICE_LABELS.get,
                key=f"map_{token}_{i}")
        if st.form_submit_button("Apply mapping and validate", icon=":material/check:"):
            st.session_state[map_key] = {
                h: (None if (v := st.session_state[f"map_{token}_{i}"]) == IGNORE else v)
                for i, h in enumerate(headers)}
            st.session_state.pop(RESULTS, None)
            st.rerun()

mapping_json = json.dumps(mapping, sort_keys=True)
try:
    with st.spinner("Validating…"):
        result = validate_upload(token, mapping_json, raw, mapping)
except IngestError as err:
    st.error(str(err), icon=":material/error:")
    st.stop()

# -- validation report ---------------------------------------------------------------------
st.subheader("Validation")
c = st.columns(4)
c[0].metric("Rows in", f"{result.rows_in:,}", border=True)
c[1].metric("Accepted", f"{result.rows_accepted:,}", border=True)
c[2].metric("Rejected", f"{result.rows_rejected:,}", border=True)
c[3].metric("Errors", f"{result.error_count:,}", border=True,
            help="A rejected row can have several errors, one line each.")
st.caption(f"Rows in = accepted + rejected: {result.rows_in:,} = {result.rows_accepted:,} + "
           f"{result.rows_rejected:,}."
           + (f" Ignored columns: {', '.join(result.unmapped_columns)}."
              if result.unmapped_columns else ""))
if result.rows_rejected:
    rows = "1 row was" if result.rows_rejected == 1 else f"{result.rows_rejected:,} rows were"
    st.warning(f"{rows} rejected and will not be evaluated. Each problem is listed with its "
               "row number (1 = first data row), column and value.",
               icon=":material/warning:")
    st.dataframe(result.errors.slice(0, 1000).to_pandas(), hide_index=True, width="stretch",
                 height="auto" if result.error_count <= 10 else 400)
    errors = result.errors
    download_csv(errors, f"{Path(uploaded.name).stem}_rejected.csv", "dl_rejected",
                 label=f"Download all {result.error_count:,} errors (CSV)")
else:
    st.success(f"All {result.rows_in:,} rows are valid.", icon=":material/check_circle:")

if result.rows_accepted == 0:
    st.error("No valid rows to evaluate: fix the file or the mapping.")
    st.stop()

accepted = result.accepted
if st.button("Analyse these requests on the Evidence page", icon=":material/insights:",
             key="use_in_evidence"):
    st.session_state[UPLOADED] = accepted
    st.session_state[UPLOADED_NAME] = uploaded.name
    st.session_state[UPLOADED_TOKEN] = f"{token}-{content_token(mapping_json.encode())}"
    st.session_state["evidence_source_request"] = "uploaded"
    st.switch_page("pages/evidence.py")

# -- batch evaluation ----------------------------------------------------------------------
st.subheader("Batch evaluation")
library = current_library()
names = {p.id: p.name for p in library.policies}
chosen = st.multiselect("Policies", list(names), default=list(names), format_func=names.get,
                        key="batch_policies")
reading = st.segmented_control(
    "Reading of silence", list(Reading), format_func=lambda r: r.label,
    default=Reading.STRICT, key="batch_reading",
    help=" ".join(f"**{r.label}**: {r.meaning}" for r in Reading)) or Reading.STRICT
run_key = f"{token}|{mapping_json}|{','.join(chosen)}|{library_key()}|{reading}"
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
        st.error(f"Evaluation failed: {err}")
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
    stem = Path(uploaded.name).stem
    st.markdown("**Download the results**")
    bom = st.checkbox(BOM_LABEL, key="dl_bom", help=BOM_HELP)
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
