"""Hypothesis strategies for case_ids as files hold them: short ones that repeat, long ones
(300 characters and more, beyond the 200 the error table shows) and odd ones - Unicode,
quotes, commas and other delimiters, padding, embedded whitespace and line breaks."""

from __future__ import annotations

from hypothesis import strategies as st

ODD_IDS = ("Ünïcødé-ケース-7", "🙂", 'say "hi"', '"', "O'Brien", "a,b", ",", "a;b", "a|b",
           "tab\there", " padded ", "two  spaces", "line\nbreak", "cr\ronly", "crlf\r\nx",
           "=1+1", "\u00a0nbsp\u00a0", "\u2003em", "\u202eRTL", "x\u0301")
LONG_ID_CHARS = ("L", "é", "ケ", '"', ",", " x", "\n")

_TEXT = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")


def case_id() -> st.SearchStrategy[str]:
    """One case_id: short, long or odd (never a NUL byte: that rejects a CSV row, tested
    elsewhere)."""
    return st.one_of(
        st.integers(0, 20).map("C{}".format),
        st.tuples(st.sampled_from(LONG_ID_CHARS), st.integers(300, 420),
                  st.integers(0, 3)).map(lambda t: t[0] * t[1] + str(t[2])),
        st.sampled_from(ODD_IDS),
        st.text(_TEXT, min_size=1, max_size=12),
    )


@st.composite
def case_ids(draw: st.DrawFn, n: int) -> list[str]:
    """``n`` case_ids drawn from a pool of at most ``n`` (so repeats are likely)."""
    pool = draw(st.lists(case_id(), min_size=1, max_size=max(1, n)))
    return [draw(st.sampled_from(pool)) for _ in range(n)]
