"""Text from files, links and uploads shown as *plain text* in Streamlit's markdown elements.

Streamlit renders ``st.markdown`` / ``st.error`` / ``st.success`` / expander labels as
markdown (links, images, headings, HTML-like tags, ``:color[...]`` and ``:material/...:``
directives). Anything a user or a file supplies goes through :func:`plain` first, so it can
never become a link, an image fetched by the browser, or formatting.
"""

from __future__ import annotations

import re

__all__ = ["plain", "safe_file_stem"]

# characters that start markdown / Streamlit syntax ("." and "@" for GFM's bare-URL and
# e-mail autolinks such as www.example.org)
_ACTIVE = re.compile(r"([\\`*_{}\[\]()<>!#|~$:=^&.@])")
# and those that do only at the start of a line (lists, quotes, numbered items)
_LEADING = re.compile(r"^(\s*)(?:([-+>])|(\d+)(\)))")


def plain(text: object, limit: int | None = None) -> str:
    """``text`` with every markdown-active character backslash-escaped (CommonMark allows
    escaping any ASCII punctuation, so the text reads the same) and line breaks flattened;
    cut to ``limit`` characters with an ellipsis."""
    s = str(text)
    if limit is not None and len(s) > limit:
        s = s[: max(limit - 1, 0)] + "…"
    s = s.replace("\r", " ").replace("\n", " ")
    s = _ACTIVE.sub(r"\\\1", s)
    return _LEADING.sub(lambda m: m.group(1) + ("\\" + m.group(2) if m.group(2)
                                                else m.group(3) + "\\" + m.group(4)), s)


_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def safe_file_stem(text: str, limit: int = 80) -> str:
    """A download file name stem from user text (a case id from a link): letters, digits,
    ``.``, ``_`` and ``-`` only, at most ``limit`` characters, never empty or hidden."""
    stem = _UNSAFE_FILE_CHARS.sub("_", text).strip("._") or "download"
    return stem[:limit]
