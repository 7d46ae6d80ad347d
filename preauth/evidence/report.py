"""Everything at once for the CLI (``preauth stats``) and the benchmark: :func:`analyse` runs
one aggregation pass and derives the rates, both models and the concordance from it; the
:class:`Evidence` it returns renders as JSON (:meth:`Evidence.to_dict`) or aligned text
(:func:`format_text`). Also the verdict counts of a batch evaluation (:func:`verdict_counts`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa

from preauth.evidence._frames import empty_frame, records
from preauth.evidence._sql import MISSING, as_arrow
from preauth.evidence.cells import MODEL_OUTCOMES, VERDICTS, Filters, cells, verdict_column
from preauth.evidence.concordance import VERDICT_LABELS, Concordance, concordance
from preauth.evidence.odds import EXACT_COLUMNS, ODDS_RATIO_COLUMNS, ModelResult, odds_ratios
from preauth.evidence.rates import rates

__all__ = ["Evidence", "analyse", "format_text", "verdict_counts"]


@dataclass
class Evidence:
    cells: pd.DataFrame
    rates: pd.DataFrame
    models: dict[str, ModelResult]
    concordance: Concordance | None
    filters: Filters
    messages: list[str] = field(default_factory=list)

    @property
    def odds_ratio_table(self) -> pd.DataFrame:
        parts = [m.table for m in self.models.values() if not m.table.empty]
        return pd.concat(parts, ignore_index=True) if parts else empty_frame(ODDS_RATIO_COLUMNS)

    @property
    def exact_table(self) -> pd.DataFrame:
        parts = [m.exact for m in self.models.values() if not m.exact.empty]
        return pd.concat(parts, ignore_index=True) if parts else empty_frame(EXACT_COLUMNS)

    def to_text(self) -> str:
        """Plain-text report (``preauth stats --format table``)."""
        return format_text(self)

    def to_dict(self) -> dict[str, Any]:
        """The ``preauth stats`` JSON object."""
        return {
            "requests": int(self.cells["n"].sum()) if len(self.cells) else 0,
            "filters": self.filters.describe(),
            "odds_ratios": records(self.odds_ratio_table),
            "exact_odds_ratios": records(self.exact_table),
            "models": [{"outcome": m.outcome, "formula": m.formula, "n": m.n,
                        "events": m.events, "references": m.references,
                        "fitted": m.fitted, "messages": m.messages}
                       for m in self.models.values()],
            "rates": records(self.rates),
            "concordance": None if self.concordance is None else self.concordance.to_dict(),
            "messages": list(self.messages),
        }


def analyse(table: pa.Table | pd.DataFrame, engine: Any = None, policy: str | None = "acr",
            carrier_reference: str | None = None, filters: Filters | None = None,
            verdict: pa.Array | pa.ChunkedArray | None = None) -> Evidence:
    """Rates, both models and the concordance of ``policy``'s verdicts (computed with
    ``engine`` unless ``verdict`` is given; skipped when neither is) in one aggregation."""
    arrow = as_arrow(table)
    filters = filters or Filters()
    if verdict is None and engine is not None and policy:
        verdict = verdict_column(engine, arrow, policy)
    c = cells(arrow, verdict, filters)
    messages: list[str] = []
    if c.empty:
        messages.append("No requests match this selection." if filters.where()[1]
                        else "The data has no requests.")
    ref = carrier_reference
    if ref is not None and ref not in set(c["carrier"]):
        known = sorted(set(c["carrier"]) - {MISSING})
        messages.append(f"carrier reference {ref!r} is not in the data (carriers: "
                        f"{', '.join(known) or 'none'}); using the carrier with the most "
                        "requests.")
        ref = None
    models = {o: odds_ratios(c, o, ref) for o in MODEL_OUTCOMES}
    conc = concordance(c, policy) if verdict is not None and policy else None
    return Evidence(c, rates(c), models, conc, filters, messages)


def verdict_counts(results: pa.Table) -> pd.DataFrame:
    """Per policy, how many determinations of each verdict (and flagged for review) a batch
    evaluation (:meth:`preauth.evaluate.engine.Engine.evaluate` output) holds."""
    cols = ["policy", *VERDICTS, "needs_review", "total"]
    if results.num_rows == 0:
        return pd.DataFrame({c: pd.Series(dtype="object" if c == "policy" else "int64")
                             for c in cols})
    g = results.group_by(["policy", "verdict"]).aggregate([([], "count_all")]).to_pandas()
    wide = g.pivot(index="policy", columns="verdict", values="count_all")
    wide = wide.reindex(columns=list(VERDICTS), fill_value=0).fillna(0).astype("int64")
    review = (results.group_by("policy").aggregate([("needs_review", "sum")]).to_pandas()
              .set_index("policy")["needs_review_sum"])
    wide["needs_review"] = review.reindex(wide.index).fillna(0).astype("int64")
    wide["total"] = wide[list(VERDICTS)].sum(axis=1)
    import pyarrow.compute as pc

    order = pc.unique(results.column("policy")).to_pylist()  # first-appearance order
    return wide.reindex(order).reset_index()[cols]


def _fmt(x: Any, spec: str = ".2f") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return format(x, spec)


def _fmt_p(p: Any) -> str:
    if p is None or (isinstance(p, float) and not math.isfinite(p)):
        return "—"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    line = "  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def format_text(ev: Evidence) -> str:
    """The evidence as aligned plain-text tables."""
    parts = [f"Requests: {int(ev.cells['n'].sum()) if len(ev.cells) else 0:,} "
             f"({ev.filters.describe()})", *ev.messages, ""]
    parts += _rates_text(ev.rates)
    for m in ev.models.values():
        parts += _model_text(m)
    if ev.concordance is not None:
        parts += _concordance_text(ev.concordance)
    return "\n".join(parts).rstrip() + "\n"


def _rates_text(rate_rows: pd.DataFrame) -> list[str]:
    overall = rate_rows[rate_rows["by"] == "overall"]
    return ["Rates (Wilson 95% CI)", _text_table(
        ["measure", "n / N", "rate", "95% CI"],
        [[r.label, f"{r.numerator:,} / {r.denominator:,}", _fmt(100 * r.rate, ".2f") + "%"
          if math.isfinite(r.rate) else "—",
          f"{_fmt(100 * r.ci_low)}–{_fmt(100 * r.ci_high)}%" if math.isfinite(r.rate) else "—"]
         for r in overall.itertuples()]), ""]


def _model_text(m: ModelResult) -> list[str]:
    parts = [f"{MODEL_OUTCOMES[m.outcome]}: {m.formula} "
             f"(binomial GLM, n = {m.n:,}, events = {m.events:,})"]
    parts += [f"  note: {msg}" for msg in m.messages]
    if not m.table.empty:
        parts.append(_text_table(
            ["factor", "level", "reference", "OR", "95% CI", "p", "note"],
            [[r.factor, r.level, r.reference, _fmt(r.odds_ratio),
              f"{_fmt(r.ci_low)}–{_fmt(r.ci_high)}", _fmt_p(r.p_value), r.note]
             for r in m.table.itertuples()]))
    if not m.exact.empty:
        parts.append("  exact conditional odds ratios (small cells, unadjusted):")
        parts.append(_text_table(
            ["factor", "level", "reference", "OR", "95% CI", "Fisher p"],
            [[r.factor, r.level, r.reference, _fmt(r.odds_ratio),
              f"{_fmt(r.ci_low)}–{_fmt(r.ci_high)}", _fmt_p(r.p_value)]
             for r in m.exact.itertuples()]))
    parts.append("")
    return parts


def _concordance_text(con: Concordance) -> list[str]:
    parts = [f"Criteria verdict ({con.policy}) × initial decision, preauthorized "
             f"requests (n = {con.n:,})"]
    parts += [f"  note: {msg}" for msg in con.messages]
    parts.append(_text_table(
        ["verdict", *con.matrix.columns],
        [[VERDICT_LABELS.get(str(v), str(v)), *(f"{int(x):,}" for x in row)]
         for v, row in con.matrix.iterrows()]))
    parts.append(f"Denied or cancelled although the criteria are met: "
                 f"{con.denied_although_meets:,}; approved although not met: "
                 f"{con.approved_although_not_meets:,}")
    return parts
