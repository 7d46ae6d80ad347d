"""The "Seed coverage" table of docs/criteria.md stays true to the library.

Every indication or requirement named in the three seed answers maps to the criteria and case
fields that model it, or says why it is not modelled. Here: every criterion id and field the
table names exists (a renamed or removed criterion fails here, not silently), and every row
names a criterion or gives the reason none models it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from preauth.catalog.fields import FIELDS_BY_NAME
from preauth.criteria.library import Library, load_library

DOC = Path(__file__).resolve().parents[2] / "docs" / "criteria.md"
CRITERION_ID = re.compile(r"^(acr|ev|ae|bc)-[a-z0-9.-]+$")
NOT_MODELLED = ("Not modelled", "Not a criterion", "Not order criteria")


def seed_section(text: str) -> str:
    start = text.index("\n## Seed coverage\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def rows(section: str) -> list[list[str]]:
    """The table's body rows, as cells."""
    out = []
    for line in section.splitlines():
        if not line.startswith("| ") or line.startswith("| Named in") or \
                line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        assert len(cells) == 3, line
        out.append(cells)
    return out


def names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


@pytest.fixture(scope="module")
def table() -> list[list[str]]:
    body = rows(seed_section(DOC.read_text(encoding="utf-8")))
    assert len(body) >= 20, "the seed coverage table looks truncated"
    return body


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library()


def test_every_named_criterion_exists(table, library) -> None:
    known = {c.id for p in library.policies for c in p.criteria}
    named = [n for _, modelled, _ in table for n in names(modelled) if CRITERION_ID.match(n)]
    assert named
    missing = sorted(set(named) - known)
    assert not missing, f"docs/criteria.md 'Seed coverage' names unknown criteria: {missing}"


def test_every_named_field_exists(table) -> None:
    named = [n for _, modelled, _ in table for n in names(modelled)
             if not CRITERION_ID.match(n)]
    assert named
    missing = sorted(n for n in set(named) if n not in FIELDS_BY_NAME)
    assert not missing, f"docs/criteria.md 'Seed coverage' names unknown fields: {missing}"


def test_every_row_is_modelled_or_says_why_not(table) -> None:
    for item, modelled, notes in table:
        has_criterion = any(CRITERION_ID.match(n) for n in names(modelled))
        assert has_criterion or any(w in notes for w in NOT_MODELLED), item


def test_every_row_says_which_seed_answer_names_it(table) -> None:
    for item, _, _ in table:
        assert re.search(r"\((?:[ABC](?:, )?)+\)$", item), item


def test_the_check_sees_an_unknown_id(library) -> None:
    """The check itself works: a made-up id in a row is reported."""
    fake = seed_section(DOC.read_text(encoding="utf-8")).replace(
        "`acr-lbp-v4`", "`acr-lbp-v99`", 1)
    named = {n for _, modelled, _ in rows(fake) for n in names(modelled)
             if CRITERION_ID.match(n)}
    known = {c.id for p in library.policies for c in p.criteria}
    assert named - known == {"acr-lbp-v99"}
