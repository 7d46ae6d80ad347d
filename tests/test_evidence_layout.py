"""preauth.evidence keeps the layout of ARCHITECTURE.md: a package docstring and no code in
``__init__``, modules of at most ~500 lines, functions of at most ~80, no private name imported
from outside a ``_`` module, and the one verdict vocabulary."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from preauth.evaluate.vocabulary import Verdict
from preauth.evidence.cells import MISSING, VERDICTS
from preauth.evidence.concordance import VERDICT_LABELS

PACKAGE = Path(__file__).resolve().parents[1] / "preauth" / "evidence"
MODULES = sorted(PACKAGE.glob("*.py"))
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_package_init_is_a_docstring_only() -> None:
    body = _tree(PACKAGE / "__init__.py").body
    assert len(body) == 1 and isinstance(body[0], ast.Expr), "code in preauth/evidence/__init__"
    doc = ast.get_docstring(_tree(PACKAGE / "__init__.py")) or ""
    assert "May import" in doc


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_module_and_function_sizes(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_MODULE_LINES, f"{path.name} has {lines} lines"
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for node in ast.walk(_tree(path))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and (node.end_lineno or 0) - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{path.name}: {', '.join(long)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_private_name_from_a_public_module(path: Path) -> None:
    wrong = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.module:
            private_module = node.module.rsplit(".", 1)[-1].startswith("_")
            wrong += [f"{node.module}.{a.name}" for a in node.names
                      if a.name.startswith("_") and not private_module]
    assert not wrong, f"{path.name} imports {wrong}"


def test_verdict_labels_are_the_one_vocabulary() -> None:
    assert set(VERDICTS) == {v.value for v in Verdict}
    for v in Verdict:
        assert VERDICT_LABELS[v.value] == v.label
    assert set(VERDICT_LABELS) == {*VERDICTS, MISSING}
