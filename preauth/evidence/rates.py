"""Rates from the cells: proportions with Wilson 95% intervals (statsmodels
``proportion_confint``), overall and by region, carrier, CPT code or month (or any
combination)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from preauth.catalog.fields import REGIONS
from preauth.evidence._sql import MISSING
from preauth.evidence.cells import MEASURES

__all__ = ["kpis", "rate_table", "rates"]


def _wilson(num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from statsmodels.stats.proportion import proportion_confint

    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    rate = np.full(len(num), np.nan)
    low = np.full(len(num), np.nan)
    high = np.full(len(num), np.nan)
    ok = den > 0
    if ok.any():
        rate[ok] = num[ok] / den[ok]
        lo, hi = proportion_confint(num[ok], den[ok], alpha=0.05, method="wilson")
        low[ok] = lo
        high[ok] = hi
    return rate, low, high


def _group_label(series: pd.Series) -> pd.Series:
    if series.name == "month":
        return series.dt.strftime("%Y-%m").fillna(MISSING)
    return series.astype(str)


def _grouped_sums(cell_table: pd.DataFrame, dims: list[str],
                  columns: list[str]) -> pd.DataFrame:
    """``columns`` summed by ``dims`` (regions in anatomical order, other keys sorted); one
    row of totals when ``dims`` is empty."""
    if dims:
        g = (cell_table.groupby(dims, dropna=False, sort=True)[columns].sum().reset_index())
    else:
        g = pd.DataFrame({c: [int(cell_table[c].sum()) if len(cell_table) else 0]
                          for c in columns})
    if "region" in dims:  # anatomical order, then the other keys as sorted
        rank = {r: i for i, r in enumerate(REGIONS)}
        g = g.sort_values(dims, kind="stable", key=lambda col: col.map(
            lambda v: (rank.get(v, len(rank)), str(v))) if col.name == "region" else col)
        g = g.reset_index(drop=True)
    return g


def rate_table(cell_table: pd.DataFrame, measure: str,
               by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """One measure by the given dimensions: the group columns, then ``numerator``,
    ``denominator``, ``rate``, ``ci_low``, ``ci_high`` (Wilson 95%). Groups with an empty
    denominator have NaN rates."""
    m = MEASURES[measure]
    dims = [by] if isinstance(by, str) else list(by or [])
    num, den = f"{m.name}_num", f"{m.name}_den"
    out = _grouped_sums(cell_table, dims, [num, den]).rename(
        columns={num: "numerator", den: "denominator"})
    out["numerator"] = out["numerator"].astype("int64")
    out["denominator"] = out["denominator"].astype("int64")
    out["rate"], out["ci_low"], out["ci_high"] = _wilson(out["numerator"].to_numpy(),
                                                         out["denominator"].to_numpy())
    return out


def rates(cell_table: pd.DataFrame,
          by: Sequence[str | None] = (None, "region", "carrier", "cpt_code", "month"),
          measures: Sequence[str] | None = None) -> pd.DataFrame:
    """Long table of every measure overall (``None``) and by each dimension: ``measure``,
    ``label``, ``by``, ``group``, ``numerator``, ``denominator``, ``rate``, ``ci_low``,
    ``ci_high``. The same figures as :func:`rate_table`, one grouping per dimension."""
    names = list(measures or MEASURES)
    columns = [f"{name}_{part}" for name in names for part in ("num", "den")]
    sums = {dim: _grouped_sums(cell_table, [dim] if dim else [], columns) for dim in by}
    groups = {dim: (_group_label(g[dim]) if dim else pd.Series(["all"] * len(g))).to_numpy()
              for dim, g in sums.items()}
    parts = []
    for name in names:
        for dim in by:
            g = sums[dim]
            parts.append(pd.DataFrame({
                "measure": name, "label": MEASURES[name].label, "by": dim or "overall",
                "group": groups[dim],
                "numerator": g[f"{name}_num"].to_numpy(dtype="int64"),
                "denominator": g[f"{name}_den"].to_numpy(dtype="int64")}))
    out = pd.concat(parts, ignore_index=True)
    out["rate"], out["ci_low"], out["ci_high"] = _wilson(out["numerator"].to_numpy(),
                                                         out["denominator"].to_numpy())
    return out


def kpis(cell_table: pd.DataFrame) -> dict[str, dict[str, float | int | None]]:
    """Overall value of every measure: ``{measure: {numerator, denominator, rate}}`` plus
    ``requests``."""
    out: dict[str, dict[str, float | int | None]] = {
        "requests": {"numerator": int(cell_table["n"].sum()) if len(cell_table) else 0}}
    names = list(MEASURES)  # one pass over the cells for all of them (as rate_table does)
    totals = _grouped_sums(cell_table, [], [f"{n}_{part}" for n in names
                                            for part in ("num", "den")]).iloc[0]
    num = np.array([int(totals[f"{n}_num"]) for n in names], dtype="int64")
    den = np.array([int(totals[f"{n}_den"]) for n in names], dtype="int64")
    rate, _, _ = _wilson(num, den)
    for name, k, d, r in zip(names, num, den, rate, strict=True):
        out[name] = {"numerator": int(k), "denominator": int(d),
                     "rate": None if math.isnan(r) else float(r)}
    return out
