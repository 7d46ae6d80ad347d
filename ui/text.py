"""Text from files, links and uploads shown as *plain text* in Streamlit's markdown elements.

Streamlit renders ``st.markdown`` / ``st.error`` / ``st.success`` / expander labels as
markdown (links, images, headings, HTML-like tags, ``:color[...]`` and ``:material/...:``
directives). Anything a user or a file supplies goes through :func:`plain` first, so it can
never become a link, an image fetched by the browser, or formatting. The escaping itself is
the domain's one Markdown escaper, :func:`preauth.evaluate.letter.markdown_text` (the review
letter uses it too).
"""

from __future__ import annotations

import re

from preauth.evaluate.letter import markdown_text

__all__ = ["plain", "safe_file_stem"]


def plain(text: object, limit: int | None = None) -> str:
    """``text`` as literal Markdown on one line, cut to ``limit`` characters with an
    ellipsis (see :func:`preauth.evaluate.letter.markdown_text`)."""
    return markdown_text(text, limit)


_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def safe_file_stem(text: str, limit: int = 80) -> str:
    """A download file name stem from user text (a case id from a link): letters, digits,
    ``.``, ``_`` and ``-`` only, at most ``limit`` characters, never empty or hidden."""
    stem = _UNSAFE_FILE_CHARS.sub("_", text).strip("._") or "download"
    return stem[:limit]
