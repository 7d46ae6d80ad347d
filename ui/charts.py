"""Plotly figures for the Evidence page (presentation only: they draw what preauth.evidence
computed)."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from ui.numbers import p_value_text

__all__ = ["concordance_heatmap", "forest_plot", "rate_bars", "rate_heatmap", "rate_over_time"]

_BLUE = "#1f5fa8"
_FONT = {"size": 13}


def _layout(fig: go.Figure, height: int, **kw: object) -> go.Figure:
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      font=_FONT, **kw)
    return fig


def forest_plot(table: pd.DataFrame, title: str = "") -> go.Figure:
    """Odds ratios with 95% CIs on a log axis; one line per factor level vs its reference."""
    t = table[table["odds_ratio"].map(lambda v: isinstance(v, float) and math.isfinite(v))]
    t = t.iloc[::-1]  # first row on top
    labels = [f"{r.factor}: {r.level}  (vs {r.reference})" for r in t.itertuples()]
    fig = go.Figure(go.Scatter(
        x=t["odds_ratio"], y=labels, mode="markers",
        marker={"size": 11, "color": _BLUE, "symbol": "square"},
        error_x={"type": "data", "symmetric": False, "color": _BLUE, "thickness": 2,
                 "array": (t["ci_high"] - t["odds_ratio"]).tolist(),
                 "arrayminus": (t["odds_ratio"] - t["ci_low"]).tolist()},
        customdata=list(zip(t["ci_low"], t["ci_high"], t["p_value"].map(p_value_text),
                            strict=True)),
        hovertemplate="%{y}<br>OR %{x:.2f} (95% CI %{customdata[0]:.2f}–%{customdata[1]:.2f})"
                      "<br>p = %{customdata[2]}<extra></extra>"))
    fig.add_vline(x=1, line_dash="dash", line_color="#888")
    lows = [v for v in t["ci_low"] if v > 0]
    lo = min([0.8, *(v / 1.15 for v in lows)])
    hi = max([1.25, *(v * 1.15 for v in t["ci_high"] if math.isfinite(v))])
    ticks = [v for v in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 50, 100,
                         200, 500, 1000) if lo <= v <= hi]
    fig.update_xaxes(type="log", title="odds ratio (log scale), 95% CI",
                     range=[math.log10(lo), math.log10(hi)], tickvals=ticks,
                     ticktext=[f"{v:g}" for v in ticks])
    return _layout(fig, 90 + 42 * max(1, len(t)), title=title, showlegend=False)


def rate_heatmap(table: pd.DataFrame, rows: str, cols: str, label: str) -> go.Figure:
    """Rate by two dimensions as a heat map, annotated with the rate and n."""
    col_order = list(dict.fromkeys(table[cols]))  # keep the table's (anatomical) order
    row_order = list(dict.fromkeys(table[rows]))
    pivot = table.pivot(index=rows, columns=cols, values="rate").reindex(
        index=row_order, columns=col_order)
    n = table.pivot(index=rows, columns=cols, values="denominator").reindex(
        index=row_order, columns=col_order)
    text = [[("—" if pd.isna(v) else f"{100 * v:.1f}%") + f"<br>n={int(k) if pd.notna(k) else 0:,}"
             for v, k in zip(pr, nr, strict=True)]
            for pr, nr in zip(pivot.to_numpy(), n.to_numpy(), strict=True)]
    fig = go.Figure(go.Heatmap(
        z=(pivot * 100).to_numpy(), x=list(pivot.columns), y=list(pivot.index), text=text,
        texttemplate="%{text}", colorscale="Blues", colorbar={"title": "%"},
        hovertemplate=f"%{{y}} · %{{x}}<br>{label}: %{{z:.1f}}%<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, 110 + 55 * len(pivot.index))


def rate_over_time(table: pd.DataFrame, label: str, split: str | None = None) -> go.Figure:
    """Monthly rate with its Wilson band (one line per ``split`` group if given)."""
    fig = go.Figure()
    groups = [(None, table)] if split is None else list(table.groupby(split, sort=True))
    palette = ["#1f5fa8", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#a6761d"]
    for i, (name, g) in enumerate(groups):
        g = g.sort_values("month")
        color = palette[i % len(palette)]
        if split is None:
            fig.add_trace(go.Scatter(
                x=list(g["month"]) + list(g["month"])[::-1],
                y=list(100 * g["ci_high"]) + list(100 * g["ci_low"])[::-1],
                fill="toself", fillcolor="rgba(31,95,168,0.15)", line={"width": 0},
                hoverinfo="skip", name="95% CI"))
        fig.add_trace(go.Scatter(x=g["month"], y=100 * g["rate"], mode="lines",
                                 line={"color": color, "width": 2},
                                 name=str(name) if name is not None else label,
                                 hovertemplate="%{x|%Y-%m}: %{y:.1f}%<extra></extra>"))
    fig.update_yaxes(title=f"{label} (%)")
    return _layout(fig, 380, showlegend=split is not None)


def rate_bars(table: pd.DataFrame, dim: str, label: str) -> go.Figure:
    t = table.iloc[::-1]
    fig = go.Figure(go.Bar(
        x=100 * t["rate"], y=t[dim].astype(str), orientation="h", marker_color=_BLUE,
        error_x={"type": "data", "symmetric": False,
                 "array": (100 * (t["ci_high"] - t["rate"])).tolist(),
                 "arrayminus": (100 * (t["rate"] - t["ci_low"])).tolist()},
        hovertemplate="%{y}: %{x:.1f}%<extra></extra>"))
    fig.update_xaxes(title=f"{label} (%), 95% CI")
    return _layout(fig, 90 + 34 * max(1, len(t)))


def concordance_heatmap(matrix: pd.DataFrame, verdict_labels: dict[str, str]) -> go.Figure:
    """Counts of verdict × decision, coloured by the share of the verdict's row."""
    m = matrix.drop(columns=["total"])
    totals = matrix["total"].replace(0, float("nan"))
    share = m.div(totals, axis=0)
    text = [[f"{int(c):,}<br>{'—' if pd.isna(s) else f'{100 * s:.0f}%'}"
             for c, s in zip(cr, sr, strict=True)]
            for cr, sr in zip(m.to_numpy(), share.to_numpy(), strict=True)]
    fig = go.Figure(go.Heatmap(
        z=(share * 100).to_numpy(), x=list(m.columns),
        y=[verdict_labels.get(str(v), str(v)) for v in m.index], text=text,
        texttemplate="%{text}", colorscale="Purples", colorbar={"title": "% of row"},
        hovertemplate="%{y} · %{x}: %{text}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title="initial payer decision")
    return _layout(fig, 300)
