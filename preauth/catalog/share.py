"""A case as URL query parameters (the explorer's shareable link) and back.

Only documented fields are written (an absent parameter means *not documented*); booleans are
1/0. Reading validates every value against the field catalog through the ``Case`` model and
reports each bad parameter by name instead of failing the whole link.

A link is written by anyone, so reading one is defensive (issue 8):

* every value obeys the rule of batch ingest: the ``Case`` model parses it with
  :mod:`preauth.catalog.values`, the parser ingest applies (numbers: a plain decimal number,
  finite, within the catalog field's minimum and maximum — no ``inf``, ``nan`` or ``1_000``);
* every problem is **plain text** meant for a non-Markdown element: the names and values it
  quotes are the link's own, cut to :data:`MAX_SHOWN` characters with control characters
  escaped; :func:`describe_problems` lists at most :data:`MAX_PROBLEMS` of them;
* Streamlit ignores a query string of more than :data:`MAX_LINK_PARAMETERS` parameters (or
  :data:`MAX_LINK_CHARS` characters) altogether, so such a link would open the default case
  without a word. :func:`overflow_guard_script` is a script for the page that re-opens the
  link with its case fields only plus :data:`OVERFLOW_PARAM` (how many parameters there
  were), which :func:`case_from_params` reports. Called directly with more parameters than
  that, :func:`case_from_params` reads the case fields and reports the rest the same way.

No Streamlit here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from preauth.catalog.case import Case
from preauth.catalog.fields import CLINICAL_FIELDS, FIELDS_BY_NAME, Kind

__all__ = ["MAX_LINK_CHARS", "MAX_LINK_PARAMETERS", "MAX_PROBLEMS", "MAX_SHOWN",
           "OVERFLOW_PARAM", "case_from_params", "case_to_params", "describe_problems",
           "overflow_guard_script", "shown"]

_SHARED = [f for f in CLINICAL_FIELDS if f.name not in ("region", "contrast")]
_SHARED_NAMES = frozenset(f.name for f in _SHARED)

MAX_SHOWN = 60  # characters of a parameter's name or value quoted in a problem
MAX_PROBLEMS = 10  # problems listed; the rest are counted
MAX_NAMES = 5  # unknown parameter names quoted (the rest are counted)
# Streamlit's own limits (streamlit.runtime.state.query_params): beyond either, it reads no
# parameter at all.
MAX_LINK_PARAMETERS = 1000
MAX_LINK_CHARS = 512 * 1024
OVERFLOW_PARAM = "link_overflow"
_OVERFLOW = "the link has "  # how the problem lines that name no case field begin
_UNKNOWN = "not case fields: "


def case_to_params(case: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in _SHARED:
        value = case.get(f.name)
        if value is None:
            continue
        if f.kind is Kind.BOOLEAN:
            out[f.name] = "1" if value else "0"
        elif isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            out[f.name] = str(int(value))
        elif isinstance(value, float):
            out[f.name] = repr(value)  # 1e+300, not 301 digits
        else:
            out[f.name] = str(value)
    return out


def _clip(text: Any, limit: int) -> str:
    s = str(text)
    extra = len(s) - limit
    cut = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                  for c in s[:limit])
    return cut + (f"… ({extra:,} more characters)" if extra > 0 else "")


def shown(text: Any, limit: int = MAX_SHOWN) -> str:
    """``text`` as a problem quotes it: in quotes, control and format characters escaped
    (newlines, bidi overrides), at most ``limit`` characters and how many more there were."""
    s = str(text)
    cut = _clip(s[:limit], limit)
    extra = len(s) - limit
    return f"'{cut}'" + (f"… ({extra:,} more characters)" if extra > 0 else "")


def case_from_params(params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(case, problems): every valid parameter is kept; each invalid or unknown one is
    reported ("age: expected a whole number from 0 to 120 (got '130')") and left out.

    ``params`` maps names to a value or a list of values (the first is read). Problems are
    plain text (see the module notes): the overflow first, then the parameters that are not
    case fields (one line), then one line per case field."""
    unknown: list[str] = []
    fields: list[str] = []
    declared = None  # parameters the link had, by the page's overflow guard
    if OVERFLOW_PARAM in params:
        first = _first(params[OVERFLOW_PARAM])
        if isinstance(first, str) and first.isdigit() and len(first) < 10 \
                and int(first) > MAX_LINK_PARAMETERS:
            declared = int(first)
        else:
            unknown.append(OVERFLOW_PARAM)
    n_params = len(params) - (declared is not None)
    if n_params > MAX_LINK_PARAMETERS:
        declared = max(declared or 0, n_params)
    data: dict[str, Any] = {}
    for k, v in params.items():
        if k == OVERFLOW_PARAM:
            continue  # (reported above)
        if k not in _SHARED_NAMES:
            if k in ("region", "contrast"):
                fields.append(f"{k}: not read from a link (it follows cpt_code)")
            else:
                unknown.append(str(k))
            continue
        if isinstance(v, list | tuple) and len(v) > 1 and len(set(v)) > 1:
            fields.append(f"{k}: given {len(v):,} times; the first was read")
        data[k] = _first(v)  # parsed by Case, with the parser of batch ingest
    if unknown:
        names = ", ".join(shown(k) for k in unknown[:MAX_NAMES])
        more = len(unknown) - MAX_NAMES
        count = "1 parameter" if len(unknown) == 1 else f"{len(unknown):,} parameters"
        unknown = [f"{_UNKNOWN}{count}, ignored: {names}"
                   + (f" and {more:,} more" if more > 0 else "")]
    read = sum(1 for k in params if k in _SHARED_NAMES)
    overflow = [] if declared is None else [
        f"{_OVERFLOW}{declared:,} parameters, more than the {MAX_LINK_PARAMETERS:,} this "
        f"app reads: only its case fields were read ({read} of them)"]
    data.setdefault("case_id", "shared-case")
    while True:
        try:
            case = Case(**data)
            break
        except ValidationError as err:
            bad = set()
            for e in err.errors():
                name = str(e["loc"][0]) if e["loc"] else "cpt_code"
                # the catalog's wording, not pydantic's (which may quote the whole value)
                why = (f"expected {FIELDS_BY_NAME[name].describe_type()}"
                       if name in FIELDS_BY_NAME else _clip(e["msg"], 160))
                fields.append(f"{name}: {why} (got {shown(data.get(name))})")
                bad.add(name)
            if not bad & set(data):
                bad = {"cpt_code"}
            for name in bad:
                data.pop(name, None)
            data.setdefault("case_id", "shared-case")
    return case.to_record(), overflow + unknown + fields


def _first(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return value[0] if value else ""
    return value


def describe_problems(problems: list[str], limit: int = MAX_PROBLEMS) -> tuple[str, str]:
    """(headline, details) for the page. The headline quotes nothing from the link — only
    the names of catalog fields — so it may be shown as Markdown; the details are the first
    ``limit`` problems and how many more, one a line, to be shown as plain text only."""
    names: list[str] = []
    for p in problems:
        name = p.split(":", 1)[0]
        if name in FIELDS_BY_NAME and name not in names:
            names.append(name)
    bits = []
    if any(p.startswith(_OVERFLOW) for p in problems):
        bits.append(f"the link has more than {MAX_LINK_PARAMETERS:,} parameters")
    if names:
        bits.append(", ".join(f"`{n}`" for n in names))
    if any(p.startswith(_UNKNOWN) for p in problems):
        bits.append("parameters that are not case fields")
    headline = "Some values in the link were not usable and were left out" \
        + (": " + "; ".join(bits) if bits else "") + "."
    lines = list(problems[:limit])
    if len(problems) > limit:
        lines.append(f"… and {len(problems) - limit:,} more")
    return headline, "\n".join(lines)


def overflow_guard_script(page_paths: tuple[str, ...] = ("", "explorer")) -> str:
    """JavaScript for the page when Streamlit has read no parameter: if the address the
    browser opened (the tab's navigation, not a later in-app page change) was this page —
    its last path segment one of ``page_paths``, by default the explorer's (the app's
    default page, url path ``explorer``) — and has more parameters (or characters) than
    Streamlit reads, re-open the page with only the link's case fields (first value each)
    and :data:`OVERFLOW_PARAM` = how many parameters there were. Nothing from the link is
    put into the page."""
    config = json.dumps({"fields": sorted(_SHARED_NAMES), "marker": OVERFLOW_PARAM,
                         "maxParams": MAX_LINK_PARAMETERS, "maxChars": MAX_LINK_CHARS,
                         "pages": list(page_paths)})
    return """(() => {
  const cfg = __CONFIG__;
  const nav = performance.getEntriesByType("navigation")[0];
  const opened = new URL(nav ? nav.name : window.location.href);
  const page = opened.pathname.replace(/\\/+$/, "").split("/").pop();
  if (opened.pathname !== window.location.pathname && !cfg.pages.includes(page)) return;
  const search = opened.search.replace(/^\\?/, "");
  if (!search) return;
  const count = search.split("&").length;  // as Streamlit counts them
  if (count <= cfg.maxParams && search.length <= cfg.maxChars) return;
  const fields = new Set(cfg.fields);
  const keep = new URLSearchParams();
  for (const [name, value] of new URLSearchParams(search)) {
    if (fields.has(name) && !keep.has(name)) keep.append(name, value);
  }
  keep.set(cfg.marker, String(count));
  let query = keep.toString();
  if (query.length > cfg.maxChars) query = cfg.marker + "=" + count;
  window.location.replace(window.location.pathname + "?" + query);
})();""".replace("__CONFIG__", config)
