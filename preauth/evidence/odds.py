"""Odds ratios from the cells: the multivariable logistic regression
``outcome ~ region + carrier``, fitted as a binomial GLM on the region × carrier contingency
table (successes, failures). The likelihood is the row-level one, so odds ratios, Wald
intervals and p-values equal a row-level ``Logit`` fit. Where a 2×2 comparison has a cell
below :data:`SMALL_CELL`, the exact conditional (Fisher) odds ratio is reported as well,
flagged.

:func:`odds_ratios` runs in named steps: the complete cases (:func:`_complete_cases`), levels
with all or none of the events set aside (:func:`_set_aside_separated`), the model's terms
(:func:`_model_terms`), the fit (:func:`_fit`) and one row per comparison
(:func:`_comparisons`). statsmodels and scipy are imported when a model is fitted.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from preauth.catalog.fields import REGIONS
from preauth.evidence._frames import empty_frame, records
from preauth.evidence._sql import MISSING
from preauth.evidence.cells import MEASURES, MODEL_OUTCOMES

__all__ = ["EXACT_COLUMNS", "ODDS_RATIO_COLUMNS", "REFERENCE_REGION", "SMALL_CELL",
           "ModelResult", "default_carrier_reference", "exact_odds_ratios", "odds_ratios"]

REFERENCE_REGION = "cervical"
SMALL_CELL = 5  # a 2×2 cell below this gets an exact conditional odds ratio
ODDS_RATIO_COLUMNS = ("outcome", "factor", "level", "reference", "odds_ratio", "ci_low",
                      "ci_high", "p_value", "n", "events", "small_cells", "estimable", "note")
EXACT_COLUMNS = ("outcome", "factor", "level", "reference", "odds_ratio", "ci_low", "ci_high",
                 "p_value", "method", "adjusted", "table", "note")
_FACTORS = ("region", "carrier")


@dataclass
class ModelResult:
    """A fitted (or not fittable) ``outcome ~ region + carrier`` model.

    ``table`` has :data:`ODDS_RATIO_COLUMNS` — one row per non-reference level (``odds_ratio``
    etc. NaN when not estimable, with the reason in ``note``); ``exact`` the exact conditional
    odds ratios of the 2×2 comparisons with a cell below :data:`SMALL_CELL`.
    """

    outcome: str
    table: pd.DataFrame
    exact: pd.DataFrame
    n: int = 0
    events: int = 0
    references: dict[str, str] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    fitted: bool = False
    # per factor: (events, non-events) of the reference level, for the 2×2 comparisons
    reference_counts: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def formula(self) -> str:
        terms = [f for f in _FACTORS if f in self.references]
        return f"{self.outcome} ~ {' + '.join(terms) or '1'}"

    def to_records(self) -> list[dict[str, Any]]:
        return records(self.table)


def default_carrier_reference(cell_table: pd.DataFrame) -> str | None:
    """The carrier with the most requests (ties: first by name); None without carriers."""
    known = cell_table[cell_table["carrier"] != MISSING]
    if known.empty:
        return None
    counts = known.groupby("carrier")["n"].sum().reset_index()
    counts = counts.sort_values(["n", "carrier"], ascending=[False, True])
    return str(counts["carrier"].iloc[0])


def odds_ratios(cell_table: pd.DataFrame, outcome: str = "preauth_required",
                carrier_reference: str | None = None) -> ModelResult:
    """Multivariable logistic regression ``outcome ~ region + carrier`` as a binomial GLM on
    the region × carrier table of (events, non-events) — the same likelihood as the row-level
    fit. Reference region: cervical; reference carrier: ``carrier_reference`` or the carrier
    with the most requests. Degenerate data gives a result with ``messages`` and no (or
    fewer) estimates, never an exception."""
    if outcome not in MODEL_OUTCOMES:
        raise ValueError(f"unknown model outcome {outcome!r}; expected one of "
                         f"{', '.join(MODEL_OUTCOMES)}")
    result = ModelResult(outcome, empty_frame(ODDS_RATIO_COLUMNS), empty_frame(EXACT_COLUMNS))
    prepared = _complete_cases(cell_table, result)
    if prepared is None:
        return result
    data, factors = prepared
    no_carrier = "carrier" not in factors
    wanted = {"region": REFERENCE_REGION,
              "carrier": carrier_reference or default_carrier_reference(cell_table)}
    data, factors, wanted, not_estimable = _set_aside_separated(data, factors, wanted,
                                                                result.messages)
    levels = _model_terms(data, factors, wanted, not_estimable, result)
    fit = _fit(data, levels, result.messages)
    result.fitted = fit is not None
    rows = _comparisons(cell_table, result, fit, not_estimable, no_carrier)
    if rows:
        result.table = pd.DataFrame(rows, columns=list(ODDS_RATIO_COLUMNS))
    result.exact = exact_odds_ratios(result)
    return result


def _model_data(cell_table: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """(events, trials) of ``outcome`` per region × carrier, groups without trials left out."""
    m = MEASURES[outcome]
    g = (cell_table.groupby(["region", "carrier"], sort=True)[[f"{m.name}_num", f"{m.name}_den"]]
         .sum().reset_index().rename(columns={f"{m.name}_num": "events",
                                              f"{m.name}_den": "trials"}))
    return g[g["trials"] > 0].reset_index(drop=True)


def _complete_cases(cell_table: pd.DataFrame,
                    result: ModelResult) -> tuple[pd.DataFrame, list[str]] | None:
    """Step 1: the region × carrier table without unrecorded regions or carriers (carrier
    dropped from the model when none is recorded), with ``result.n`` / ``result.events``
    set; None (and a message) when there is nothing to model."""
    msgs, outcome = result.messages, result.outcome
    if cell_table.empty:
        msgs.append("No requests in this selection.")
        return None
    data = _model_data(cell_table, outcome)
    what = MEASURES[outcome].denominator
    if data.empty:
        msgs.append(f"No {what}: the model needs the outcome columns.")
        return None
    missing_carrier = data["carrier"] == MISSING
    factors = list(_FACTORS)
    if missing_carrier.all():
        factors = ["region"]
        msgs.append("No carrier recorded: the model has region only.")
    elif missing_carrier.any():
        dropped = int(data.loc[missing_carrier, "trials"].sum())
        msgs.append(f"{dropped:,} {what} without a carrier are left out of the model.")
        data = data[~missing_carrier].reset_index(drop=True)
    missing_region = data["region"] == MISSING
    if missing_region.any():
        msgs.append(f"{int(data.loc[missing_region, 'trials'].sum()):,} {what} without a "
                    "region are left out of the model.")
        data = data[~missing_region].reset_index(drop=True)
    result.n = int(data["trials"].sum())
    result.events = int(data["events"].sum())
    if result.n == 0:
        msgs.append(f"No {what} with a region and a carrier.")
        return None
    if result.events in (0, result.n):
        every = "every one" if result.events else "none"
        msgs.append(f"{every.capitalize()} of the {result.n:,} {what} had the outcome "
                    f"({MEASURES[outcome].numerator}): odds ratios are not estimable.")
        return None
    return data, factors


def _pick_reference(margins: pd.DataFrame, wanted: str | None, factor: str,
                    messages: list[str], default_reason: str) -> str | None:
    """``wanted`` when it is present and estimable, else the largest usable level."""
    usable = margins[(margins["events"] > 0) & (margins["events"] < margins["trials"])]
    if wanted is not None and wanted in set(usable.index):
        return wanted
    if usable.empty:
        return None
    fallback = str(usable.sort_values("trials", ascending=False, kind="stable").index[0])
    if wanted is not None:
        why = ("is not in the data" if wanted not in set(margins.index)
               else "has all or none of the events, so nothing can be compared with it")
        messages.append(f"{factor} reference {wanted!r} {why}; using {fallback!r} "
                        f"({default_reason}).")
    return fallback


def _separation_note(events: int, trials: int) -> str:
    """Why a level with all (or none) of the events has no maximum-likelihood estimate."""
    kind = "none" if events == 0 else "all"
    if trials == 1:
        its = "its only request " + ("had" if kind == "all" else "did not have")
    else:
        its = f"{kind} of its {trials:,} requests had"
    return (f"{its} the outcome: not estimable by maximum likelihood (see the exact odds "
            "ratio)")


def _set_aside_separated(
        data: pd.DataFrame, factors: list[str], wanted: dict[str, str | None],
        msgs: list[str],
) -> tuple[pd.DataFrame, list[str], dict[str, str | None], dict[tuple[str, str], str]]:
    """Step 2: levels with all or none of the events have an infinite MLE (separation):
    report them as not estimable, leave their rows out (the other estimates are the limit of
    the full fit) and repeat until no factor has such a level. Returns the remaining data,
    the factors still in the model, the references (``wanted``, moved off unusable levels)
    and the notes of the levels set aside."""
    factors, wanted = list(factors), dict(wanted)
    not_estimable: dict[tuple[str, str], str] = {}
    changed = True
    while changed:
        changed = False
        for factor in list(factors):
            margins = data.groupby(factor)[["events", "trials"]].sum()
            if len(margins) < 2:
                continue
            ref = _pick_reference(margins, wanted[factor], factor, msgs,
                                  f"the largest estimable {factor}")
            if ref is None:  # every level has all or none of the events
                factors.remove(factor)
                msgs.append(f"Every {factor} has all or none of the events in this selection: "
                            f"no {factor} odds ratios (see the exact odds ratios).")
                for level in margins.index:
                    if str(level) != wanted[factor]:
                        not_estimable[(factor, str(level))] = (
                            "all or none of its requests had the outcome: not estimable")
                changed = True
                continue
            wanted[factor] = ref
            bad = margins[(margins["events"] == 0) | (margins["events"] == margins["trials"])]
            for level in bad.index:
                if level == ref:
                    continue
                not_estimable[(factor, str(level))] = _separation_note(
                    int(bad.loc[level, "events"]), int(bad.loc[level, "trials"]))
                data = data[data[factor] != level]
                changed = True
    return data.reset_index(drop=True), factors, wanted, not_estimable


def _level_order(factor: str, levels: Iterable[str]) -> list[str]:
    levels = list(levels)
    if factor == "region":
        return [r for r in REGIONS if r in levels] + sorted(set(levels) - set(REGIONS))
    return sorted(levels)


def _model_terms(data: pd.DataFrame, factors: list[str], wanted: dict[str, str | None],
                 not_estimable: dict[tuple[str, str], str],
                 result: ModelResult) -> dict[str, list[str]]:
    """Step 3: the non-reference levels of each factor left in the model (a factor with one
    level, or an outcome that no longer varies, has no term); sets ``result.references``."""
    msgs = result.messages
    if factors and int(data["events"].sum()) in (0, int(data["trials"].sum())):
        msgs.append("Once the levels with all or none of the events are set aside, the outcome "
                    "no longer varies: no adjusted odds ratios.")
        factors = []
    levels: dict[str, list[str]] = {}
    for factor in factors:
        present = _level_order(factor, data[factor].unique())
        if len(present) < 2:
            if not any(k[0] == factor for k in not_estimable):
                only = present[0] if present else "none"
                msgs.append(f"Only one {factor} ({only}) in this selection: the model has no "
                            f"{factor} term.")
            continue
        ref = wanted[factor] if wanted[factor] in present else present[0]
        result.references[factor] = str(ref)
        levels[factor] = [lv for lv in present if lv != ref]
    for factor in _FACTORS:
        if factor not in result.references and any(k[0] == factor for k in not_estimable):
            ref = wanted[factor]
            if ref is not None:
                result.references[factor] = ref
    return levels


def _fit(data: pd.DataFrame, levels: dict[str, list[str]], msgs: list[str]) -> Any:
    """Step 4: the binomial GLM on (events, non-events) with one indicator per level in
    ``levels``; None (with a message) when there is nothing to fit or the design is
    confounded."""
    if not levels or data.empty:
        return None
    import statsmodels.api as sm

    x = pd.DataFrame({"const": np.ones(len(data))})
    for factor, names in levels.items():
        for level in names:
            x[f"{factor}={level}"] = (data[factor] == level).astype(float).to_numpy()
    endog = np.column_stack([data["events"].to_numpy(float),
                             (data["trials"] - data["events"]).to_numpy(float)])
    if np.linalg.matrix_rank(x.to_numpy()) < x.shape[1]:
        msgs.append("Region and carrier are confounded in this selection (some "
                    "combinations are absent), so their effects cannot be separated: "
                    "no adjusted odds ratios.")
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # IRLS stops when the deviance changes by less than its rounding noise, which
            # grows with the counts (~1e-15 per request): a fixed 1e-12 is below the noise
            # for millions of requests and would spin to maxiter.
            return sm.GLM(endog, x, family=sm.families.Binomial()).fit(
                tol=max(1e-12, 1e-15 * float(endog.sum())), rtol=1e-12, maxiter=200)
    except (np.linalg.LinAlgError, ValueError) as err:  # pragma: no cover - defensive
        msgs.append(f"The model could not be fitted ({err}).")
        return None


def _comparisons(cell_table: pd.DataFrame, result: ModelResult, fit: Any,
                 not_estimable: dict[tuple[str, str], str],
                 no_carrier: bool) -> list[dict[str, Any]]:
    """Step 5: one row per level against its factor's reference — counted on the complete
    cases, as in the model — with the estimate or the reason there is none; sets
    ``result.reference_counts``."""
    margins_all = _model_data(cell_table, result.outcome)
    keep = margins_all["region"] != MISSING
    if not no_carrier:  # complete cases, as in the model
        keep &= margins_all["carrier"] != MISSING
    margins_all = margins_all[keep]
    rows: list[dict[str, Any]] = []
    for factor in _FACTORS:
        ref = result.references.get(factor)
        if ref is None:
            continue
        marg = margins_all.groupby(factor)[["events", "trials"]].sum()
        rev, rtr = ((int(marg.loc[ref, "events"]), int(marg.loc[ref, "trials"]))
                    if ref in marg.index else (0, 0))
        result.reference_counts[factor] = (rev, rtr - rev)
        for level in [lv for lv in _level_order(factor, marg.index) if lv != ref]:
            ev, tr = int(marg.loc[level, "events"]), int(marg.loc[level, "trials"])
            row: dict[str, Any] = {
                "outcome": result.outcome, "factor": factor, "level": level, "reference": ref,
                "odds_ratio": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                "p_value": math.nan, "n": tr, "events": ev,
                "small_cells": min(ev, tr - ev, rev, rtr - rev) < SMALL_CELL,
                "estimable": False, "note": ""}
            _estimate(row, fit, not_estimable.get((factor, level)))
            rows.append(row)
    return rows


def _estimate(row: dict[str, Any], fit: Any, set_aside: str | None) -> None:
    """Fill ``row``'s odds ratio, Wald interval and p-value from ``fit``, or its note."""
    name = f"{row['factor']}={row['level']}"
    if set_aside is not None:
        row["note"] = set_aside
    elif fit is not None and name in fit.params.index:
        beta, se = float(fit.params[name]), float(fit.bse[name])
        lo, hi = (float(v) for v in fit.conf_int(alpha=0.05).loc[name])
        with np.errstate(over="ignore"):
            row.update(odds_ratio=float(np.exp(beta)), ci_low=float(np.exp(lo)),
                       ci_high=float(np.exp(hi)), p_value=float(fit.pvalues[name]),
                       estimable=bool(np.isfinite(se) and se < 10))
        if not row["estimable"]:
            row["note"] = "unstable estimate (near-separation): see the exact odds ratio"
    else:
        row["note"] = "not estimated (see the notes above)"
    if row["small_cells"] and not row["note"]:
        row["note"] = f"a 2×2 cell below {SMALL_CELL}: see the exact odds ratio"


def exact_odds_ratios(result: ModelResult) -> pd.DataFrame:
    """Exact conditional (Fisher) odds ratios, unadjusted, for every comparison in
    ``result.table`` with a 2×2 cell below :data:`SMALL_CELL`; two-sided Fisher p-value."""
    t = result.table
    if t.empty or not t["small_cells"].any():
        return empty_frame(EXACT_COLUMNS)
    from scipy.stats import fisher_exact
    from scipy.stats.contingency import odds_ratio

    out = []
    for _, row in t[t["small_cells"]].iterrows():
        ref_counts = result.reference_counts.get(row["factor"])
        if ref_counts is None:
            continue
        a, b = int(row["events"]), int(row["n"] - row["events"])
        c, d = ref_counts
        table = [[a, b], [c, d]]
        rec: dict[str, Any] = {
            "outcome": row["outcome"], "factor": row["factor"], "level": row["level"],
            "reference": row["reference"], "odds_ratio": math.nan, "ci_low": math.nan,
            "ci_high": math.nan, "p_value": math.nan, "method": "exact_conditional",
            "adjusted": False, "table": [a, b, c, d], "note": ""}
        if min(a + b, c + d, a + c, b + d) == 0:
            rec["note"] = "a row or column of the 2×2 table is empty: no odds ratio"
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = odds_ratio(table, kind="conditional")
                ci = est.confidence_interval(confidence_level=0.95)
                rec.update(odds_ratio=float(est.statistic), ci_low=float(ci.low),
                           ci_high=float(ci.high),
                           p_value=float(fisher_exact(table).pvalue))
            if not math.isfinite(rec["odds_ratio"]) or rec["odds_ratio"] == 0:
                rec["note"] = "a zero cell: the odds ratio is unbounded; the interval is exact"
        out.append(rec)
    return pd.DataFrame(out, columns=list(EXACT_COLUMNS)) if out else empty_frame(EXACT_COLUMNS)
