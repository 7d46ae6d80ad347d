"""Number formats for the page: counts that fit a KPI tile, p-values."""

from __future__ import annotations

import math


def compact_count(n: int) -> str:
    """``12,345``; from 100,000 on ``250k`` / ``1.00M`` / ``12.5M`` (the tile shows the
    exact count in its help)."""
    if n < 100_000:
        return f"{n:,}"
    if n < 1_000_000:
        return f"{n / 1_000:.0f}k"
    millions = n / 1_000_000
    return f"{millions:.2f}M" if millions < 10 else f"{millions:.1f}M"


def p_value_text(p: float | None) -> str:
    """A p-value as read: ``0.012``, ``3.4e-05``; one that underflowed double precision (0.0
    from a huge sample) as ``< 1e-300``, never as 0."""
    if p is None or not math.isfinite(p):
        return "—"
    if p <= 0:
        return "< 1e-300"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"
