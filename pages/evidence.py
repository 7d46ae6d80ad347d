"""Evidence: rates, odds ratios and verdict–decision concordance over many requests.

Thin page: every number comes from :mod:`preauth.evidence` (aggregated in DuckDB, cached on the
selection's key by :mod:`ui.datasets`); the browser only ever receives aggregates and short
heads. A filter reruns the page; the analyses below the KPI tiles are one fragment whose tabs
draw only the open one, so switching tabs or changing a tab's own options reruns that part
alone and draws one chart.

The page is laid out top to bottom but sent analyses first: the first chart needs the
browser's Plotly code, by far the largest script it loads, so the browser starts on it while
the filters and tiles arrive (the filters' values are read from session state, where the
widgets keep them, before the widgets are drawn).
"""

from __future__ import annotations

import hashlib
from functools import partial

import pandas as pd
import streamlit as st

from preauth.catalog.fields import CPT_CODES, REGIONS
from preauth.evaluate.engine import Engine
from preauth.evidence.cells import MEASURES, MODEL_OUTCOMES, Filters
from preauth.evidence.concordance import DISCORDANT_KINDS, VERDICT_LABELS
from ui import charts
from ui.bootstrap import ensure_navigation
from ui.case_form import cpt_label
from ui.datasets import (
    Dataset,
    Selection,
    Summary,
    all_discordant,
    available_datasets,
    carriers_for,
    case_row,
    date_range,
    discordant_for,
    model_for,
    rate_table_for,
    rates_for,
    summary_for,
)
from ui.downloads import BOM_HELP, BOM_LABEL, download_csv, table_with_download
from ui.handoff import drill_down_origin, open_in_explorer, page_state
from ui.numbers import compact_count, p_value_text
from ui.resources import current_engine, current_library, library_key

MEASURE_LABELS = {name: m.label for name, m in MEASURES.items()}
DIM_LABELS = {"region": "Region", "carrier": "Carrier", "cpt_code": "CPT code"}
PCT = st.column_config.NumberColumn(format="%.1f%%")
PCT_COLUMNS = {c: PCT for c in ("rate %", "95% CI low %", "95% CI high %")}
TABS = ["Odds ratios", "Carrier × region", "Over time", "By group", "Concordance"]
TILES = {"preauth_required": "Preauth needed", "denied": "Denied at first",
         "peer_to_peer": "Peer-to-peer", "overturned": "P2P overturned",
         "completed": "MRI completed"}


def rate_display(t: pd.DataFrame, dims: list[str]) -> pd.DataFrame:
    out = t.copy()
    for d in dims:
        if d == "month":
            out[d] = out[d].dt.strftime("%Y-%m")
    out["rate"] = 100 * out["rate"]
    out["ci_low"] = 100 * out["ci_low"]
    out["ci_high"] = 100 * out["ci_high"]
    return out.rename(columns={"numerator": "count", "denominator": "total", "rate": "rate %",
                               "ci_low": "95% CI low %", "ci_high": "95% CI high %",
                               **{d: DIM_LABELS.get(d, d.capitalize()) for d in dims}})


# -- odds ratios ---------------------------------------------------------------------------
def odds_ratio_tab(sel: Selection, summary: Summary, tag: str) -> None:
    c1, c2 = st.columns([3, 2])
    outcome = c1.radio("Outcome", list(MODEL_OUTCOMES), format_func=MODEL_OUTCOMES.get,
                       key="ev_outcome")
    known = summary.carriers
    ref = summary.default_reference
    ref_key = f"ev_ref_{tag}"
    if known:
        if st.session_state.get(ref_key) not in known:
            st.session_state[ref_key] = ref
        ref = c2.selectbox("Reference carrier", known, key=ref_key,
                           help="Default: the carrier with the most requests.")
    model = model_for(sel, summary, outcome, ref)
    refs = ", ".join(f"{f} {v}" for f, v in model.references.items()) or "none"
    st.caption(f"`{model.formula}` — multivariable logistic regression fitted as a binomial GLM "
               f"on the region × carrier table (identical to the row-level fit); "
               f"n = {model.n:,}, events = {model.events:,}; references: {refs}; "
               "Wald 95% confidence intervals.")
    for msg in model.messages:
        st.info(msg, icon=":material/info:")
    table = model.table
    if not table.empty and table["estimable"].any():
        st.plotly_chart(charts.forest_plot(table), key=f"forest_{outcome}")
    if not table.empty:
        shown = table[["factor", "level", "reference", "odds_ratio", "ci_low", "ci_high",
                       "p_value", "n", "events", "note"]]
        shown = shown.assign(p_value=shown["p_value"].map(p_value_text))
        table_with_download(
            shown, f"odds_ratios_{outcome}.csv", f"dl_or_{outcome}_{tag}",
            column_config={"odds_ratio": st.column_config.NumberColumn("OR", format="%.2f"),
                           "ci_low": st.column_config.NumberColumn("95% CI low", format="%.2f"),
                           "ci_high": st.column_config.NumberColumn("95% CI high",
                                                                    format="%.2f"),
                           "p_value": st.column_config.TextColumn("p")},
            download=table)
    if not model.exact.empty:
        st.warning("Some comparisons have a 2×2 cell below 5, where the Wald interval is "
                   "unreliable: exact conditional (Fisher) odds ratios, unadjusted, below.",
                   icon=":material/warning:")
        exact = model.exact.assign(table=model.exact["table"].map(
            lambda c: f"{c[0]}/{c[1]} vs {c[2]}/{c[3]}"),
            p_value=model.exact["p_value"].map(p_value_text))
        table_with_download(
            exact[["factor", "level", "reference", "odds_ratio", "ci_low", "ci_high",
                   "p_value", "table", "note"]],
            f"exact_odds_ratios_{outcome}.csv", f"dl_exact_{outcome}_{tag}",
            column_config={
                "odds_ratio": st.column_config.NumberColumn("exact OR", format="%.2f"),
                "ci_low": st.column_config.NumberColumn("95% CI low", format="%.3g"),
                "ci_high": st.column_config.NumberColumn("95% CI high", format="%.3g"),
                "p_value": st.column_config.TextColumn("Fisher p"),
                "table": st.column_config.TextColumn(
                    "2×2 (events/non-events: level vs reference)")},
            download=exact)


# -- carrier × region ----------------------------------------------------------------------
def heatmap_tab(sel: Selection, summary: Summary, tag: str) -> None:
    heat_measure = st.selectbox("Rate", list(MEASURE_LABELS), format_func=MEASURE_LABELS.get,
                                key="ev_heat_measure")
    heat = rate_table_for(sel, summary, heat_measure, ("carrier", "region"))
    heat = heat[heat["denominator"] > 0]
    if heat.empty:
        st.info("No requests with this rate's denominator in the selection.")
        return
    st.plotly_chart(charts.rate_heatmap(heat, "carrier", "region",
                                        MEASURE_LABELS[heat_measure]),
                    key="heatmap")
    table_with_download(rate_display(heat, ["carrier", "region"]),
                        f"{heat_measure}_by_carrier_region.csv", f"dl_heat_{tag}",
                        column_config=PCT_COLUMNS, download=heat)


# -- over time -----------------------------------------------------------------------------
def time_tab(sel: Selection, summary: Summary, tag: str) -> None:
    c1, c2 = st.columns([3, 2])
    time_measure = c1.selectbox("Rate", list(MEASURE_LABELS), format_func=MEASURE_LABELS.get,
                                key="ev_time_measure")
    split = c2.radio("Lines", [None, "region", "carrier"], horizontal=True, key="ev_split",
                     format_func={None: "overall", "region": "by region",
                                  "carrier": "by carrier"}.get)
    dims = ["month"] + ([split] if split else [])
    series = rate_table_for(sel, summary, time_measure, tuple(dims))
    series = series[series["month"].notna() & (series["denominator"] > 0)]
    if series.empty:
        st.info("No dated requests with this rate's denominator in the selection.")
        return
    st.plotly_chart(charts.rate_over_time(series, MEASURE_LABELS[time_measure], split),
                    key="timeline")
    download = series.assign(month=series["month"].dt.strftime("%Y-%m"))
    table_with_download(rate_display(series, dims), f"{time_measure}_by_month.csv",
                        f"dl_time_{tag}", column_config=PCT_COLUMNS, height=300,
                        download=download)


# -- by group ------------------------------------------------------------------------------
def group_tab(sel: Selection, summary: Summary, tag: str) -> None:
    c1, c2 = st.columns(2)
    dim = c1.radio("Group by", list(DIM_LABELS), format_func=DIM_LABELS.get, horizontal=True,
                   key="ev_group_dim")
    group_measure = c2.selectbox("Rate", list(MEASURE_LABELS), format_func=MEASURE_LABELS.get,
                                 key="ev_group_measure")
    groups = rate_table_for(sel, summary, group_measure, (dim,))
    groups = groups[groups["denominator"] > 0]
    if groups.empty:
        st.info("No requests with this rate's denominator in the selection.")
    else:
        st.plotly_chart(charts.rate_bars(groups, dim, MEASURE_LABELS[group_measure]),
                        key="bars")
        table_with_download(rate_display(groups, [dim]), f"{group_measure}_by_{dim}.csv",
                            f"dl_group_{tag}", column_config=PCT_COLUMNS, download=groups)
    with st.expander("Every rate, overall and by region, carrier, CPT code and month"):
        table_with_download(rates_for(sel, summary), "rates.csv", f"dl_rates_{tag}",
                            height=300)


# -- concordance ---------------------------------------------------------------------------
def concordance_tab(sel: Selection, summary: Summary, tag: str, engine: Engine,
                    policy_name: str) -> None:
    con = summary.concordance
    st.caption(f"Criteria verdict under **{policy_name}** against the payer's initial "
               f"decision, among preauthorized requests (n = {con.n:,}). Each cell: count and "
               "share of the verdict's row.")
    for msg in con.messages:
        st.info(msg, icon=":material/info:")
    if not con.n:
        return
    m1, m2, m3 = st.columns(3)
    share = con.share_denied_although_meets
    m1.metric("Denied although criteria met", compact_count(con.denied_although_meets),
              border=True, help=f"{con.denied_although_meets:,} requests: verdict meets "
              "criteria; initial decision denied or cancelled."
              + ("" if share is None else f" {100 * share:.1f}% of those meeting the "
                                          "criteria."))
    share = con.share_approved_although_not_meets
    m2.metric("Approved although not met", compact_count(con.approved_although_not_meets),
              border=True, help=f"{con.approved_although_not_meets:,} requests: verdict "
              "does not meet; initial decision approved."
              + ("" if share is None else f" {100 * share:.1f}% of those not meeting "
                                          "the criteria."))
    agree = con.agreement
    m3.metric("Agreement", "—" if agree is None else f"{100 * agree:.1f}%", border=True,
              help="Meets ↔ approved and does not meet ↔ denied/cancelled, among decided "
                   "requests with a definite verdict.")
    shown = con.matrix
    if "pending" in shown.columns and not shown["pending"].any():
        shown = shown.drop(columns="pending")  # no pending decisions in this data
    st.plotly_chart(charts.concordance_heatmap(shown, VERDICT_LABELS), key="concordance")
    matrix = shown.reset_index()
    matrix["verdict"] = matrix["verdict"].map(lambda v: VERDICT_LABELS.get(v, v))
    table_with_download(matrix, f"concordance_{sel.policy}.csv", f"dl_conc_{tag}")
    drill_down(sel, summary, tag, engine)


def drill_down(sel: Selection, summary: Summary, tag: str, engine: Engine) -> None:
    con = summary.concordance
    st.subheader("Drill down")
    counts = {"denied_although_meets": con.denied_although_meets,
              "approved_although_not_meets": con.approved_although_not_meets}
    kind = st.radio("Requests", list(DISCORDANT_KINDS), key="ev_kind",
                    format_func={x: f"{label} ({counts[x]:,})"
                                 for x, label in DISCORDANT_KINDS.items()}.get)
    rows, total = discordant_for(sel, engine, kind)
    if total == 0:
        st.info("No such requests in this selection.")
        return
    st.caption(f"The first {rows.num_rows:,} of {total:,}, earliest first; the download "
               "has all of them, one row per request with its clinical fields and outcomes, "
               "then under each policy the verdict, the criteria met and the documentation "
               "needed.")
    st.dataframe(rows.to_pandas(), hide_index=True, width="stretch", height=300)
    d1, d2 = st.columns([2, 1], vertical_alignment="center")
    bom = d2.checkbox(BOM_LABEL, key=f"ev_bom_{tag}", help=BOM_HELP)
    with d1:
        download_csv(partial(all_discordant, sel, engine, kind), f"{kind}_{sel.policy}.csv",
                     f"dl_disc_{kind}_{tag}", bom=bom,
                     label=f"Download all {total:,} with their criteria (CSV)")
    ids = rows.column("case_id").to_pylist()
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    chosen = c1.selectbox("Case", ids, key=f"ev_case_{kind}_{tag}")
    if c2.button("Open in explorer", icon=":material/open_in_new:", key="ev_open",
                 width="stretch"):
        case = case_row(sel.dataset.table, chosen)
        if case is None:
            st.error(f"Case {chosen} is no longer in the data.")
        else:  # the way back restores this page's choices (Streamlit forgets them)
            keep = page_state(("evidence_source", "ev_policy", "ev_tab", "ev_kind",
                               *(f"{k}_{tag}" for k in ("ev_carriers", "ev_regions", "ev_cpt",
                                                        "ev_dates", f"ev_case_{kind}"))))
            open_in_explorer(case, drill_down_origin(case, DISCORDANT_KINDS[kind],
                                                     engine.library.select([sel.policy])[0],
                                                     keep))


@st.fragment
def analyses(sel: Selection, summary: Summary, tag: str, engine: Engine,
             policy_name: str) -> None:
    """The tabs. Only the open one is drawn; switching tabs or changing an option inside one
    reruns this fragment alone (everything it shows is cached on the selection)."""
    tabs = st.tabs(TABS, key="ev_tab", on_change="rerun")
    draw = [lambda: odds_ratio_tab(sel, summary, tag),
            lambda: heatmap_tab(sel, summary, tag),
            lambda: time_tab(sel, summary, tag),
            lambda: group_tab(sel, summary, tag),
            lambda: concordance_tab(sel, summary, tag, engine, policy_name)]
    for tab, body in zip(tabs, draw, strict=True):
        if tab.open:
            with tab:
                body()


# -- data source and filters ---------------------------------------------------------------
def choose_source(datasets: dict[str, Dataset]) -> str:
    """The dataset shown: one asked for by another page, else the last one chosen."""
    requested = st.session_state.pop("evidence_source_request", None)
    if requested in datasets:
        st.session_state["evidence_source"] = requested
    if st.session_state.get("evidence_source") not in datasets:
        st.session_state["evidence_source"] = next(iter(datasets))
    return str(st.session_state["evidence_source"])


def choose_policy(policy_names: dict[str, str]) -> str:
    policy_ids = list(policy_names)
    if st.session_state.get("ev_policy") not in policy_ids:
        st.session_state["ev_policy"] = "acr" if "acr" in policy_ids else policy_ids[0]
    return str(st.session_state["ev_policy"])


def chosen_filters(tag: str, span: tuple[object, object] | None) -> Filters:
    """The filters the widgets of :func:`draw_filters` hold (their session-state values;
    nothing chosen yet = no restriction)."""
    def picked(name: str) -> tuple[str, ...] | None:
        return tuple(st.session_state.get(f"{name}_{tag}") or ()) or None

    date_from = date_to = None
    dates = st.session_state.get(f"ev_dates_{tag}")
    if span is not None and isinstance(dates, tuple | list) and len(dates) == 2 \
            and tuple(dates) != span:
        date_from, date_to = dates
    return Filters(carriers=picked("ev_carriers"), regions=picked("ev_regions"),
                   cpt_codes=picked("ev_cpt"), date_from=date_from, date_to=date_to)


def draw_source(datasets: dict[str, Dataset]) -> None:
    # Label functions are dict lookups, never page-defined functions: those would keep this
    # page's globals (an uploaded dataset) alive in Streamlit's widget registry.
    st.radio("Data", list(datasets), format_func={k: d.label for k, d in datasets.items()}.get,
             key="evidence_source", horizontal=True)
    if "uploaded" not in datasets:
        st.page_link("pages/upload.py", label="Analyse your own file: Upload & batch",
                     icon=":material/upload_file:")


def draw_filters(ds: Dataset, tag: str, span: tuple[object, object] | None,
                 policy_names: dict[str, str]) -> None:
    f1, f2, f3, f4 = st.columns([3, 2, 3, 3])
    f1.multiselect("Carriers", carriers_for(ds.key, ds.table), placeholder="All carriers",
                   key=f"ev_carriers_{tag}")
    f2.multiselect("Regions", list(REGIONS), placeholder="All regions",
                   key=f"ev_regions_{tag}")
    f3.multiselect("CPT codes", list(CPT_CODES), format_func=cpt_label,
                   placeholder="All CPT codes", key=f"ev_cpt_{tag}")
    if span is not None:
        f4.date_input("Request dates", value=span, min_value=span[0], max_value=span[1],
                      key=f"ev_dates_{tag}")
    else:
        f4.caption("No request dates in this data.")
    st.selectbox("Criteria verdicts under (for the concordance)", list(policy_names),
                 format_func=policy_names.get, key="ev_policy")


# -- KPI tiles -----------------------------------------------------------------------------
def draw_kpis(summary: Summary, filters: Filters) -> None:
    k = summary.kpis
    tiles = st.container(horizontal=True)  # a second row, not cut labels, when narrow
    tiles.metric("Requests", compact_count(k["requests"]["numerator"]), border=True,
                 help=f"{k['requests']['numerator']:,} requests in this selection "
                      f"({filters.describe()}).")
    for name, short in TILES.items():
        v = k[name]
        m = MEASURES[name]
        value = "—" if v["rate"] is None else f"{100 * v['rate']:.1f}%"
        tiles.metric(short, value, border=True,
                     help=f"{m.label}: {v['numerator']:,} {m.numerator} of "
                          f"{v['denominator']:,} {m.denominator}.")


def has_outcomes(summary: Summary) -> bool:
    k = summary.kpis
    return bool(k["preauth_required"]["denominator"] or k["denied"]["denominator"])


def draw_verdicts_only(summary: Summary, policy_name: str, tag: str) -> None:
    st.info("This dataset has no payer outcomes (preauth_required, decision, …), so there are "
            "no rates, odds ratios or concordance to show. The criteria verdicts under "
            f"{policy_name}:")
    counts = summary.requests_by_verdict.copy()
    counts["verdict"] = counts["verdict"].map(lambda v: VERDICT_LABELS.get(v, v))
    table_with_download(counts.rename(columns={"verdict": "Verdict", "n": "Requests"}),
                        "verdicts.csv", f"dl_verdicts_{tag}")


# -- the page --------------------------------------------------------------------------------
ensure_navigation()

st.title("Evidence")
st.caption("Patterns across many requests: how often preauthorization is required, denied, "
           "reviewed peer-to-peer and overturned; the adjusted odds by region and carrier; and "
           "how the criteria verdict agrees with the payer's decision. Educational tool — "
           "not medical advice; the bundled data are synthetic.")

datasets = available_datasets()
if not datasets:
    st.warning("No dataset: the bundled file data/requests.parquet is missing and nothing has "
               "been uploaded. Upload a file on the Upload & batch page.")
    st.stop()
ds = datasets[choose_source(datasets)]
tag = hashlib.sha1(ds.key.encode()).hexdigest()[:8]  # widget keys per dataset
library = current_library()
engine = current_engine()
policy_names = {p.id: p.name for p in library.policies}
policy = choose_policy(policy_names)
span = date_range(ds.key, ds.table)
filters = chosen_filters(tag, span)
selection = Selection(ds, policy, library_key(), filters)

# the layout, top to bottom; filled analyses first (see the module notes)
source_box = st.container()
filters_box = st.container(border=True)
summary_box = st.container()
analyses_box = st.container()
try:
    with summary_box, st.spinner("Evaluating the criteria and aggregating…"):
        summary = summary_for(selection, engine)
except Exception as err:  # a clear message, never a traceback
    summary = None
    summary_box.error(f"Could not analyse this dataset: {err}")
if summary is not None and not summary.cells.empty and has_outcomes(summary):
    with analyses_box:
        analyses(selection, summary, tag, engine, policy_names[policy])
with source_box:
    draw_source(datasets)
with filters_box:
    draw_filters(ds, tag, span, policy_names)
with summary_box:
    if summary is None:
        st.stop()
    if summary.cells.empty:
        st.warning(f"No requests match these filters ({filters.describe()}).")
        st.stop()
    draw_kpis(summary, filters)
    if not has_outcomes(summary):
        draw_verdicts_only(summary, policy_names[policy], tag)
