"""ui.text: user and file text shown as plain text, and safe download names (issue 8)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from preauth.evaluate.letter import markdown_text
from ui.text import plain, safe_file_stem

ACTIVE = set("\\`*_{}[]()<>!#|~$:=^&.@")


def _unescaped_active(s: str) -> list[str]:
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            i += 2  # an escaped character
            continue
        if s[i] in ACTIVE:
            out.append(s[i])
        i += 1
    return out


@given(st.text())
def test_every_markdown_active_character_is_escaped(text: str) -> None:
    out = plain(text)
    assert _unescaped_active(out) == []
    assert "\n" not in out and "\r" not in out
    assert not re.match(r"\s*[-+>]", out)  # no list or quote at the start


def test_links_images_and_directives_become_text() -> None:
    out = plain("[Click](https://evil.example/login) ![x](https://evil.example/t.png) "
                ":red[x] :material/home: www.evil.example a@b.example <img src=x>")
    for raw in ("[Click]", "](", "![", ":red[", ":material/", "www.evil", "<img"):
        assert re.search(r"(?<!\\)" + re.escape(raw), out) is None, raw
    assert out.replace("\\", "").startswith("[Click](https://evil.example/login)")


def test_long_text_is_cut() -> None:
    assert plain("x" * 100, limit=10) == "x" * 9 + "…"


@given(st.text())
def test_safe_file_stem(text: str) -> None:
    stem = safe_file_stem(text)
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,80}", stem)
    assert not stem.startswith(".")


@given(st.text(), st.none() | st.integers(min_value=0, max_value=40))
def test_plain_is_the_domain_escaper(text: str, limit: int | None) -> None:
    """One Markdown escaper: the pages' and the review letter's are the same function."""
    assert plain(text, limit) == markdown_text(text, limit)


def test_the_stricter_of_the_two_former_escapers() -> None:
    # as ui.text.plain did: "=" and every "." escaped, and a list marker at the start
    assert plain("- a=b.c") == "\\- a\\=b\\.c"
    assert plain("+ x") == "\\+ x"
    # as the letter did: control and other non-printable characters and runs of whitespace
    # become one space, none at either end
    assert plain("  a\tb\u2028c\x00  d\u00a0e\n") == "a b c d e"
