"""Package-internal table helpers of :mod:`preauth.evidence` (not part of its API)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd


def empty_frame(columns: Iterable[str]) -> pd.DataFrame:
    """No rows, the given columns (object dtype)."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: NaN / ±inf become None, numpy scalars become Python ones."""
    out = []
    for row in df.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for k, v in row.items():
            if isinstance(v, np.generic):
                v = v.item()
            clean[k] = None if _is_missing(v) else v
        out.append(clean)
    return out


def _is_missing(v: Any) -> bool:
    if isinstance(v, float):
        return not math.isfinite(v)
    if isinstance(v, (list, tuple, dict, str)):
        return False
    return bool(pd.isna(v))
