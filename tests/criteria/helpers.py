"""Parameter builders shared by the per-criterion boundary tests."""

from __future__ import annotations

from typing import Any

import pytest

MET, NOT_MET, UNDOC, NA = "met", "not_met", "undocumented", "n/a"
C_WO, C_W, C_WW = "72141", "72142", "72156"  # cervical without / with / without and with
T_WO, T_W, T_WW = "72146", "72147", "72157"  # thoracic
L_WO, L_W, L_WW = "72148", "72149", "72158"  # lumbar


def c(name: str, expected: str, *bases: dict[str, Any], cpt: str = L_WO,
      marks: Any = (), **fields: Any) -> Any:
    """One parameter: request ``cpt`` with the merged ``bases`` and ``fields`` (None = NULL)."""
    case: dict[str, Any] = {}
    for base in bases:
        case.update(base)
    case.update(fields)
    return pytest.param(cpt, case, expected, id=f"{name} -> {expected}", marks=marks)


def regions(expected_by_cpt: dict[str, str], base: dict[str, Any]) -> list[Any]:
    """One parameter per requested CPT code, with the status expected for it."""
    return [c(f"request {cpt}", want, base, cpt=cpt) for cpt, want in expected_by_cpt.items()]
