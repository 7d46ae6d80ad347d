"""The package's shape (issue 9): what each subpackage may import, and private stays private.

Read from the source with :mod:`ast`, so a new import that breaks the layering fails here,
not in a review. The table is the README's "Architecture" table.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "preauth"

# subpackage -> the other parts of ``preauth`` it may import
ALLOWED: dict[str, set[str]] = {
    "catalog": set(),
    "criteria": {"catalog"},
    "evaluate": {"catalog", "criteria"},
    "sources": {"catalog"},
    "ingest": {"catalog", "sources"},
    "evidence": {"catalog", "criteria", "evaluate", "ingest"},
    "synthetic": {"catalog", "criteria", "evaluate", "evidence", "sources"},
}
MODULES = sorted(PACKAGE.rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module imported, names imported from it, line) for every ``preauth`` import."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "preauth":
            out.append((node.module, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names
                    if a.name.split(".")[0] == "preauth"]
    return out


def _imports_any(path: Path) -> list[tuple[str, list[str], int]]:
    """Every absolute import of ``path`` (any package)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
    return out


def _subpackage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ALLOWED) else None


def test_the_package_has_the_subpackages_of_the_architecture() -> None:
    found = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert set(ALLOWED) <= found
    for name in found:
        doc = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text()))
        assert doc and "import" in doc, f"preauth/{name}/__init__.py: say what it owns and " \
                                        "what it may import"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_layering_and_private_names(path: Path) -> None:
    here = _module_name(path)
    mine = _subpackage(here)
    streamlit = [m for m, _, _ in _imports_any(path) if m.split(".")[0] == "streamlit"]
    assert not streamlit, f"{here}: the domain package never imports Streamlit"
    for module, names, line in _imports(path):
        where = f"{path.relative_to(PACKAGE.parent)}:{line}"
        theirs = _subpackage(module)
        if mine in ALLOWED and theirs in ALLOWED and theirs != mine:
            assert theirs in ALLOWED[mine], \
                f"{where}: preauth.{mine} may not import preauth.{theirs} ({module})"
        leaf = module.rsplit(".", 1)[-1]
        if leaf.startswith("_"):  # a package-internal module: only from inside its package
            assert module.rsplit(".", 1)[0] == here.rsplit(".", 1)[0] or \
                module.rsplit(".", 1)[0] == here, \
                f"{where}: {module} is internal to its subpackage"
            continue
        private = [n for n in names if n.startswith("_")]
        assert not private, f"{where}: imports private {private} from {module}"


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """The import reader sees a private import and a layering breach."""
    bad = tmp_path / "bad.py"
    bad.write_text("from preauth.evaluate.engine import _Plan\n"
                   "from preauth.evaluate.engine import Engine\n"
                   "import streamlit as st\n")
    assert _imports(bad) == [("preauth.evaluate.engine", ["_Plan"], 1),
                             ("preauth.evaluate.engine", ["Engine"], 2)]
    assert ("streamlit", [], 3) in _imports_any(bad)
    assert _subpackage("preauth.evaluate.engine") == "evaluate"
    assert "evaluate" not in ALLOWED["catalog"]
    assert "sources" not in ALLOWED["evaluate"]  # evaluate receives provenance as data
