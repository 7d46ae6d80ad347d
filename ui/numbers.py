"""Number formats for the page: counts that fit a KPI tile."""

from __future__ import annotations


def compact_count(n: int) -> str:
    """``12,345``; from 100,000 on ``250k`` / ``1.00M`` / ``12.5M`` (the tile shows the
    exact count in its help)."""
    if n < 100_000:
        return f"{n:,}"
    if n < 1_000_000:
        return f"{n / 1_000:.0f}k"
    millions = n / 1_000_000
    return f"{millions:.2f}M" if millions < 10 else f"{millions:.1f}M"
