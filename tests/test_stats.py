"""preauth.evidence: aggregation, rates, odds ratios (vs row-level Logit), exact ORs,
concordance, degenerate inputs."""

from __future__ import annotations

import datetime as dt
import json
import math
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import statsmodels.formula.api as smf
from scipy.stats import fisher_exact
from scipy.stats.contingency import odds_ratio
from statsmodels.stats.proportion import proportion_confint

from preauth.evaluate.engine import Engine
from preauth.evidence.cells import VERDICTS, Filters, carriers_in, verdict_column
from preauth.evidence.cells import cells as aggregate
from preauth.evidence.concordance import concordance, discordant_cases
from preauth.evidence.odds import ModelResult, default_carrier_reference, odds_ratios
from preauth.evidence.rates import kpis, rate_table, rates
from preauth.evidence.report import analyse, verdict_counts
from preauth.synthetic.generator import synthesize


@pytest.fixture(scope="module")
def table(engine: Engine) -> pa.Table:
    return synthesize(4000, seed=11, engine=engine)


@pytest.fixture(scope="module")
def verdict(engine: Engine, table: pa.Table) -> pa.ChunkedArray:
    return verdict_column(engine, table, "acr")


@pytest.fixture(scope="module")
def cells(table: pa.Table, verdict: pa.ChunkedArray) -> pd.DataFrame:
    return aggregate(table, verdict)


def _frame(rows: list[tuple]) -> pd.DataFrame:
    """Requests from (carrier, cpt_code, preauth_required, decision, count) tuples."""
    out = []
    for carrier, cpt, required, decision, count in rows:
        out += [{"case_id": f"{carrier}-{cpt}-{required}-{decision}-{i}", "carrier": carrier,
                 "cpt_code": cpt, "region": {"72141": "cervical", "72146": "thoracic",
                                             "72148": "lumbar"}[cpt],
                 "preauth_required": required, "decision": decision,
                 "request_date": dt.date(2020, 1 + i % 12, 1)} for i in range(count)]
    return pd.DataFrame(out)


def _logit_or(df: pd.DataFrame, outcome: str, carrier_ref: str) -> tuple[pd.Series, pd.DataFrame,
                                                                        pd.Series]:
    formula = (f"{outcome} ~ C(region, Treatment('cervical')) + "
               f"C(carrier, Treatment('{carrier_ref}'))")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = smf.logit(formula, df).fit(disp=0)
    return np.exp(fit.params), np.exp(fit.conf_int()), fit.pvalues


def _glm_lookup(result: ModelResult) -> dict[str, pd.Series]:
    return {f"{r['factor']}={r['level']}": r for _, r in result.table.iterrows()}


def _term(name: str, carrier_ref: str) -> str:
    factor, level = name.split("=")
    ref = "'cervical'" if factor == "region" else f"'{carrier_ref}'"
    return f"C({factor}, Treatment({ref}))[T.{level}]"


# -- aggregation ----------------------------------------------------------------------------

def test_cells_count_every_request_once(table: pa.Table, cells: pd.DataFrame) -> None:
    assert int(cells["n"].sum()) == table.num_rows
    assert set(cells["verdict"]) <= set(VERDICTS)
    assert cells["month"].min() >= pd.Timestamp("2013-01-01")


def test_measure_counts_match_a_direct_count(table: pa.Table, cells: pd.DataFrame) -> None:
    df = table.to_pandas()
    req = df["preauth_required"].fillna(False).astype(bool)
    decided = df["decision"].isin(["approved", "denied", "cancelled"])
    denied = df["decision"].isin(["denied", "cancelled"])
    p2p = df["peer_to_peer"].fillna(False).astype(bool)
    k = kpis(cells)
    assert k["preauth_required"]["numerator"] == req.sum()
    assert k["denied"] == {"numerator": (req & denied).sum(),
                           "denominator": (req & decided).sum(),
                           "rate": (req & denied).sum() / (req & decided).sum()}
    assert k["peer_to_peer"]["numerator"] == (req & p2p).sum()
    over = req & p2p & denied
    assert k["overturned"]["denominator"] == over.sum()
    assert k["overturned"]["numerator"] == (over & (df["final_decision"] == "approved")).sum()
    assert k["completed_after_denial"]["numerator"] == (req & denied & df["completed"]).sum()


def test_rates_have_wilson_intervals(cells: pd.DataFrame) -> None:
    t = rate_table(cells, "denied", "carrier")
    lo, hi = proportion_confint(t["numerator"], t["denominator"], method="wilson")
    np.testing.assert_allclose(t["ci_low"], lo)
    np.testing.assert_allclose(t["ci_high"], hi)
    long = rates(cells)
    assert set(long["by"]) == {"overall", "region", "carrier", "cpt_code", "month"}
    assert set(long["measure"]) == {"preauth_required", "denied", "peer_to_peer", "overturned",
                                    "completed", "completed_after_denial"}
    months = long[(long["by"] == "month") & (long["measure"] == "preauth_required")]
    assert len(months) == 84 and months["group"].iloc[0] == "2013-01"


def test_filters_restrict_the_requests(table: pa.Table, verdict: pa.ChunkedArray) -> None:
    df = table.to_pandas()
    f = Filters(carriers=("Carrier B", "Carrier C"), regions=("lumbar",),
                      cpt_codes=("72148", "72158"), date_from=dt.date(2015, 1, 1),
                      date_to=dt.date(2016, 6, 30))
    c = aggregate(table, verdict, f)
    dates = pd.to_datetime(df["request_date"])
    want = (df["carrier"].isin(["Carrier B", "Carrier C"]) & (df["region"] == "lumbar")
            & df["cpt_code"].isin(["72148", "72158"]) & (dates >= "2015-01-01")
            & (dates <= "2016-06-30"))
    assert int(c["n"].sum()) == int(want.sum()) > 0
    assert aggregate(table, verdict, Filters(carriers=())).empty
    assert "carrier in Carrier B, Carrier C" in f.describe()


# -- odds ratios ----------------------------------------------------------------------------

@pytest.mark.parametrize("carrier_ref", [None, "Carrier C"])
def test_glm_on_the_contingency_table_equals_row_level_logit(
        table: pa.Table, cells: pd.DataFrame, carrier_ref: str | None) -> None:
    df = table.to_pandas()
    df["y"] = df["preauth_required"].astype(int)
    result = odds_ratios(cells, "preauth_required", carrier_ref)
    ref = carrier_ref or default_carrier_reference(cells)
    assert result.references == {"region": "cervical", "carrier": ref}
    ors, cis, ps = _logit_or(df, "y", ref)
    got = _glm_lookup(result)
    assert len(got) == 2 + 4
    for name, row in got.items():
        term = _term(name, ref)
        assert row["odds_ratio"] == pytest.approx(ors[term], rel=1e-6)
        assert row["ci_low"] == pytest.approx(cis.loc[term, 0], rel=1e-6)
        assert row["ci_high"] == pytest.approx(cis.loc[term, 1], rel=1e-6)
        assert row["p_value"] == pytest.approx(ps[term], rel=1e-5, abs=1e-300)
    assert result.n == table.num_rows


def test_denial_model_among_preauthorized_equals_logit(table: pa.Table,
                                                       cells: pd.DataFrame) -> None:
    df = table.to_pandas()
    df = df[df["preauth_required"].astype(bool)].copy()
    df["y"] = df["decision"].isin(["denied", "cancelled"]).astype(int)
    result = odds_ratios(cells, "denied")
    ref = result.references["carrier"]
    ors, _, _ = _logit_or(df, "y", ref)
    for name, row in _glm_lookup(result).items():
        assert row["odds_ratio"] == pytest.approx(ors[_term(name, ref)], rel=1e-6)
    assert result.n == len(df)


def test_default_reference_is_the_carrier_with_most_requests(table: pa.Table,
                                                            cells: pd.DataFrame) -> None:
    counts = table.to_pandas()["carrier"].value_counts()  # counted from the rows themselves
    assert counts.iloc[0] > counts.iloc[1]  # one carrier has the most
    assert default_carrier_reference(cells) == counts.index[0]


def test_small_cells_get_an_exact_conditional_odds_ratio() -> None:
    df = _frame([("Big", "72141", True, "approved", 60), ("Big", "72141", False, None, 40),
                 ("Big", "72148", True, "approved", 80), ("Big", "72148", False, None, 20),
                 ("Tiny", "72141", True, "approved", 3), ("Tiny", "72141", False, None, 2),
                 ("Tiny", "72148", True, "approved", 4), ("Tiny", "72148", False, None, 1)])
    result = odds_ratios(aggregate(df), "preauth_required")
    tiny = result.table[result.table["level"] == "Tiny"].iloc[0]
    assert bool(tiny["small_cells"]) and "exact" in tiny["note"]
    exact = result.exact[result.exact["level"] == "Tiny"].iloc[0]
    table2 = [[7, 3], [140, 60]]
    assert exact["table"] == [7, 3, 140, 60]
    assert exact["method"] == "exact_conditional" and not exact["adjusted"]
    ref = odds_ratio(table2, kind="conditional")
    assert exact["odds_ratio"] == pytest.approx(ref.statistic)
    assert exact["ci_low"] == pytest.approx(ref.confidence_interval(0.95).low)
    assert exact["p_value"] == pytest.approx(fisher_exact(table2).pvalue)


def test_a_carrier_with_every_request_preauthorized_is_not_estimable() -> None:
    df = _frame([("A", "72141", True, "approved", 50), ("A", "72141", False, None, 50),
                 ("A", "72148", True, "approved", 70), ("A", "72148", False, None, 30),
                 ("B", "72141", True, "approved", 40), ("B", "72141", False, None, 40),
                 ("B", "72148", True, "approved", 30), ("B", "72148", False, None, 10),
                 ("C", "72141", True, "approved", 6), ("C", "72148", True, "approved", 3)])
    result = odds_ratios(aggregate(df), "preauth_required")
    assert result.fitted
    c = result.table[result.table["level"] == "C"].iloc[0]
    assert not c["estimable"] and math.isnan(c["odds_ratio"]) and "all of its" in c["note"]
    exact = result.exact[result.exact["level"] == "C"].iloc[0]
    assert math.isinf(exact["odds_ratio"]) and exact["ci_low"] > 0
    b = result.table[result.table["level"] == "B"].iloc[0]
    assert b["estimable"] and b["odds_ratio"] > 0
    # the other estimates are those of a row-level Logit without carrier C's (separated) rows
    rest = df[df["carrier"] != "C"].assign(y=lambda d: d["preauth_required"].astype(int))
    ref = result.references["carrier"]
    assert ref == "A"  # the carrier with the most requests
    ors, cis, _ = _logit_or(rest, "y", ref)
    assert b["odds_ratio"] == pytest.approx(ors[_term("carrier=B", ref)], rel=1e-6)
    assert b["ci_low"] == pytest.approx(cis.loc[_term("carrier=B", ref), 0], rel=1e-6)
    json.dumps(analyse(df).to_dict(), allow_nan=False)


@pytest.mark.parametrize("case", ["empty", "no_outcomes", "all_required", "one_carrier",
                                  "one_region", "no_carrier", "unknown_reference",
                                  "confounded", "separated_reference", "missing_some_carriers"])
def test_degenerate_data_gives_messages_not_exceptions(case: str) -> None:
    base = [("A", "72141", True, "approved", 30), ("A", "72141", False, None, 20),
            ("A", "72148", True, "denied", 30), ("A", "72148", False, None, 10),
            ("B", "72141", True, "approved", 20), ("B", "72141", False, None, 30),
            ("B", "72148", True, "approved", 25), ("B", "72148", False, None, 5)]
    df = _frame(base)
    ref = None
    expect = ""
    if case == "empty":
        df = df.iloc[0:0]
        expect = "No requests"
    elif case == "no_outcomes":
        df = df.drop(columns=["preauth_required", "decision"])
        expect = "needs the outcome"
    elif case == "all_required":
        df["preauth_required"] = True
        expect = "not estimable"
    elif case == "one_carrier":
        df["carrier"] = "A"
        expect = "Only one carrier"
    elif case == "one_region":
        df = df[df["region"] == "lumbar"]
        expect = "Only one region"
    elif case == "no_carrier":
        df["carrier"] = None
        expect = "No carrier recorded"
    elif case == "unknown_reference":
        ref = "Nobody"
        expect = "not in the data"
    elif case == "confounded":
        df = _frame([("A", "72141", True, "approved", 30), ("A", "72141", False, None, 20),
                     ("B", "72148", True, "approved", 25), ("B", "72148", False, None, 5)])
        expect = "confounded"
    elif case == "separated_reference":
        df = _frame([*base, ("Z", "72141", True, "approved", 500),
                     ("Z", "72148", True, "approved", 500)])
        expect = "has all or none of the events"
    elif case == "missing_some_carriers":
        df.loc[df.index[:7], "carrier"] = None
        expect = "without a carrier"
    ev = analyse(df, carrier_reference=ref)
    text = " ".join(ev.messages + [m for r in ev.models.values() for m in r.messages])
    assert expect in text, text
    payload = json.dumps(ev.to_dict(), allow_nan=False)
    assert '"odds_ratios"' in payload
    assert ev.to_text()
    if case in ("one_carrier", "one_region", "no_carrier", "missing_some_carriers",
                "unknown_reference", "separated_reference"):
        model = ev.models["preauth_required"]
        assert model.fitted and model.table["estimable"].any()
    if case in ("no_carrier", "one_carrier"):
        assert set(ev.models["preauth_required"].table["factor"]) == {"region"}


# -- concordance ----------------------------------------------------------------------------

def test_concordance_matrix_and_drill_down(table: pa.Table, verdict: pa.ChunkedArray,
                                           cells: pd.DataFrame) -> None:
    con = concordance(cells, "acr")
    df = table.to_pandas().assign(verdict=verdict.to_pandas())
    req = df[df["preauth_required"].astype(bool)]
    cross = pd.crosstab(req["verdict"], req["decision"])
    for v in VERDICTS:
        for d in ("approved", "denied", "cancelled"):
            assert con.matrix.loc[v, d] == cross.loc[v, d]
    assert con.n == len(req)
    assert con.denied_although_meets == int(cross.loc["meets_criteria", ["denied", "cancelled"]]
                                            .sum())
    rows, total = discordant_cases(table, verdict, "denied_although_meets", limit=5)
    assert total == con.denied_although_meets and rows.num_rows == 5
    assert set(rows.column("verdict").to_pylist()) == {"meets_criteria"}
    assert set(rows.column("decision").to_pylist()) <= {"denied", "cancelled"}
    dates = rows.column("request_date").to_pylist()
    assert dates == sorted(dates)
    rows, total = discordant_cases(table, verdict, "approved_although_not_meets",
                                         limit=None)
    assert rows.num_rows == total == con.approved_although_not_meets
    assert 0 < con.agreement < 1
    with pytest.raises(ValueError, match="unknown kind"):
        discordant_cases(table, verdict, "nonsense")


def test_concordance_without_decisions_says_so() -> None:
    df = _frame([("A", "72141", None, None, 5)])
    con = concordance(aggregate(df, pa.array(["meets_criteria"] * 5)), "acr")
    assert con.n == 0 and "No payer decisions" in con.messages[0]


def test_a_decision_without_preauth_required_counts_as_preauthorized() -> None:
    df = _frame([("A", "72141", None, "denied", 2), ("A", "72141", None, "approved", 3)])
    k = kpis(aggregate(df))
    assert k["denied"]["denominator"] == 5 and k["denied"]["numerator"] == 2
    assert k["preauth_required"]["denominator"] == 0 and k["preauth_required"]["rate"] is None


def test_analyse_json_is_strict_and_complete(engine: Engine, table: pa.Table) -> None:
    ev = analyse(table, engine, "evicore_style")
    d = json.loads(json.dumps(ev.to_dict(), allow_nan=False))
    assert {"odds_ratios", "rates", "concordance", "exact_odds_ratios", "models"} <= set(d)
    keys = {"outcome", "factor", "level", "reference", "odds_ratio", "ci_low", "ci_high",
            "p_value"}
    assert all(keys <= set(r) for r in d["odds_ratios"])
    assert {r["outcome"] for r in d["odds_ratios"]} == {"preauth_required", "denied"}
    assert d["concordance"]["policy"] == "evicore_style"
    assert "Rates (Wilson 95% CI)" in ev.to_text()


def test_verdict_counts_per_policy(engine: Engine, table: pa.Table) -> None:
    results = engine.evaluate(table.slice(0, 300), ["acr", "bcbs_style"])
    counts = verdict_counts(results)
    assert list(counts["policy"]) == ["acr", "bcbs_style"]
    assert (counts["total"] == 300).all()
    assert verdict_counts(results.slice(0, 0)).empty


def test_filter_on_missing_carrier_labels() -> None:
    df = pd.DataFrame({"case_id": list("abcde"), "carrier": ["X", None, " ", "Y", "X"],
                       "cpt_code": ["72148"] * 5})
    missing = "(not recorded)"  # the label of a missing carrier (None or blank)
    picked = {f: aggregate(df, filters=Filters(carriers=f))
              for f in (("X",), (missing,), ("Y", missing))}
    assert [int(c["n"].sum()) for c in picked.values()] == [2, 2, 3]
    assert set(picked[(missing,)]["carrier"]) == {missing}
    assert carriers_in(df) == ["X", "Y"]


def test_the_evidence_database_is_locked_down() -> None:
    """No file access and no change of settings through the connections cells() uses."""
    import duckdb

    from preauth.evidence._sql import connect

    con = connect()
    try:
        with pytest.raises(duckdb.Error):
            con.sql("SELECT * FROM read_csv('/etc/hostname')").fetchall()
        with pytest.raises(duckdb.Error):
            con.execute("SET enable_external_access = true")
    finally:
        con.close()


def test_concurrent_aggregations_keep_their_own_tables() -> None:
    """Sessions aggregate at the same time on one database: each sees only its own rows."""
    from concurrent.futures import ThreadPoolExecutor

    tables = [synthesize(40 + 13 * i, seed=30 + i, outcomes=True) for i in range(4)]
    alone = [aggregate(t.cast(pa.schema([pa.field(f.name, pa.string())
                                         if f.name == "completed" else f
                                         for f in t.schema]))) for t in tables]

    def run(i: int) -> pd.DataFrame:  # the SQL path (text column): one registered view each
        t = tables[i]
        return aggregate(t.cast(pa.schema([pa.field(f.name, pa.string())
                                           if f.name == "completed" else f
                                           for f in t.schema])))

    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(5):
            for i, got in enumerate(pool.map(run, range(len(tables)))):
                pd.testing.assert_frame_equal(got, alone[i])
