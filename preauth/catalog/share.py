"""A case as URL query parameters (the explorer's shareable link) and back.

Only documented fields are written (an absent parameter means *not documented*); booleans are
1/0. The link may also name the policy the explanation is given under (:data:`POLICY_PARAM`).
Reading (:func:`read_link`) checks every value with the catalog's own value rules
(:func:`preauth.catalog.values.parse_value`, the parser batch ingest applies) and keeps every
usable one; each parameter it cannot use gets **one plain sentence** built from the catalog's
field metadata (label, type, minimum and maximum) — "age 250 is not between 0 and 120 — left
empty", "unknown parameter 'foo' — ignored" — never a validator's message.

A link is written by anyone, so reading one is defensive (issue 8):

* every sentence is **plain text** meant for a non-Markdown element: the names and values it
  quotes are the link's own, cut to :data:`MAX_SHOWN` characters with control characters
  escaped; :func:`describe_problems` shows at most :data:`MAX_PROBLEMS` of them under a
  headline that quotes nothing from the link;
* Streamlit ignores a query string of more than :data:`MAX_LINK_PARAMETERS` parameters (or
  :data:`MAX_LINK_CHARS` characters) altogether, so such a link would open the default case
  without a word. :func:`overflow_guard_script` is a script for the page that re-opens the
  link with its case fields only plus :data:`OVERFLOW_PARAM` (how many parameters there
  were), which :func:`read_link` reports. Called directly with more parameters than that,
  :func:`read_link` reads the case fields and reports the rest the same way.

No Streamlit here.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from preauth.catalog.case import Case
from preauth.catalog.fields import CLINICAL_FIELDS, FIELDS_BY_NAME, Field, Kind
from preauth.catalog.values import MAX_CELL_CHARS, InvalidValue, parse_value, value_text

__all__ = ["MAX_LINK_CHARS", "MAX_LINK_PARAMETERS", "MAX_PROBLEMS", "MAX_SHOWN",
           "OVERFLOW_PARAM", "POLICY_PARAM", "LinkProblem", "SharedLink", "case_from_params",
           "case_to_params", "describe_problems", "link_params", "overflow_guard_script",
           "read_link", "shown"]

_SHARED = [f for f in CLINICAL_FIELDS if f.name not in ("region", "contrast")]
_SHARED_NAMES = frozenset(f.name for f in _SHARED)

MAX_SHOWN = 60  # characters of a parameter's name or value quoted in a problem
MAX_PROBLEMS = 10  # sentences shown; the rest are counted
MAX_LABELS = 5  # field labels named in the headline (the rest are counted)
MAX_POLICY_IDS = 6  # policy ids named in the sentence about an unknown one
# Streamlit's own limits (streamlit.runtime.state.query_params): beyond either, it reads no
# parameter at all.
MAX_LINK_PARAMETERS = 1000
MAX_LINK_CHARS = 512 * 1024
OVERFLOW_PARAM = "link_overflow"
POLICY_PARAM = "policy"  # the policy the explanation is given under
SHARED_CASE_ID = "shared-case"  # the case id of a link that names none
# a value quoted as it is (no quotes) when it is short and harmless: 250, 1e308, -1, 72141
_BARE = re.compile(r"[A-Za-z0-9._+-]{1,24}", re.ASCII)

ProblemKind = Literal["overflow", "unknown", "derived", "value", "repeated", "missing",
                      "policy"]


@dataclass(frozen=True, slots=True)
class LinkProblem:
    """One parameter of a link that could not be used as given, in one plain sentence."""

    kind: ProblemKind
    param: str | None  # the parameter (None: the link as a whole)
    sentence: str

    def __str__(self) -> str:
        return self.sentence


@dataclass(frozen=True, slots=True)
class SharedLink:
    """What a link says: the case (every catalog field; None = not documented), the policy to
    explain under (None: the page's default) and one problem per parameter not used as
    given."""

    case: dict[str, Any]
    policy: str | None
    problems: tuple[LinkProblem, ...]

    @property
    def sentences(self) -> list[str]:
        return [p.sentence for p in self.problems]

    @property
    def refused(self) -> frozenset[str]:
        """The case fields whose value in the link was not read (left empty or replaced)."""
        return frozenset(p.param for p in self.problems
                         if p.kind == "value" and p.param is not None)


def case_to_params(case: Mapping[str, Any]) -> dict[str, str]:
    """The case fields of a link: the documented ones, booleans as 1/0."""
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


def link_params(case: Mapping[str, Any], policy: str | None = None) -> dict[str, str]:
    """The link of ``case`` explained under ``policy`` (its id; None: not part of the link)."""
    out = case_to_params(case)
    if policy:
        out[POLICY_PARAM] = policy
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


def read_link(params: Mapping[str, Any], policies: Mapping[str, str] | None = None, *,
              fallback: Mapping[str, Any] | None = None) -> SharedLink:
    """Read a share link: every usable parameter is kept, each other one is reported in one
    plain sentence and left out.

    ``params`` maps names to a value or a list of values (the first is read).
    ``policies`` maps the ids of the policies the page offers to their names, the first being
    the default (None: the link's policy is not read). ``fallback`` holds values used instead
    of a refused or absent field (the explorer always has a CPT code: ``{"cpt_code":
    "72148"}``). Problems come in the link's order, the overflow first."""
    fallback = fallback or {}
    problems: list[LinkProblem] = []
    declared = None  # parameters the link had, by the page's overflow guard
    if OVERFLOW_PARAM in params:
        first = _first(params[OVERFLOW_PARAM])
        if isinstance(first, str) and first.isdigit() and len(first) < 10 \
                and int(first) > MAX_LINK_PARAMETERS:
            declared = int(first)
    n_params = len(params) - (declared is not None)
    if n_params > MAX_LINK_PARAMETERS:
        declared = max(declared or 0, n_params)
    if declared is not None:
        read = sum(1 for k in params if k in _SHARED_NAMES)
        problems.append(LinkProblem(
            "overflow", None, f"the link has {declared:,} parameters, more than the "
            f"{MAX_LINK_PARAMETERS:,} this app reads: only its case fields were read "
            f"({read} of them)"))
    data: dict[str, Any] = {}
    policy = None
    for k, v in params.items():
        if k == OVERFLOW_PARAM and declared is not None:
            continue  # (reported above)
        if k == POLICY_PARAM:
            if policies is not None:
                policy = _policy(v, policies, problems)
        elif k in ("region", "contrast"):
            problems.append(LinkProblem(
                "derived", k, f"{k} is not read from a link (it follows cpt_code) — ignored"))
        elif k not in _SHARED_NAMES:
            problems.append(LinkProblem("unknown", str(k),
                                        f"unknown parameter {shown(k)} — ignored"))
        else:
            value = _field_value(FIELDS_BY_NAME[k], v, fallback, problems)
            if value is not None:
                data[k] = value
    for name, value in fallback.items():
        if name not in data and not any(p.param == name for p in problems):
            data[name] = value
            problems.append(LinkProblem("missing", name,
                                        f"the link gives no {name} — {value} is used"))
    return SharedLink(_case(data, problems), policy, tuple(problems))


def case_from_params(params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(case, sentences) of :func:`read_link` for a link read without its policy."""
    link = read_link(params)
    return link.case, link.sentences


def _shown_value(value: Any) -> str:
    """A value as a sentence quotes it: bare when short and harmless, else :func:`shown`."""
    text = value if isinstance(value, str) else value_text(value)
    text = "" if text is None else text
    return text if _BARE.fullmatch(text) else shown(text)


def _field_value(f: Field, given: Any, fallback: Mapping[str, Any],
                 problems: list[LinkProblem]) -> Any:
    """The value of case field ``f`` the link gives (None: none usable); a problem if any."""
    many = len(given) if isinstance(given, list | tuple) and len(set(map(str, given))) > 1 \
        else 0
    first = _first(given)
    try:
        value = parse_value(f, first)  # the catalog's rule, as batch ingest applies it
    except InvalidValue as err:
        tail = f"{fallback[f.name]} is used instead" if f.name in fallback else "left empty"
        also = f" (the first of {many:,} values given)" if many else ""
        problems.append(LinkProblem(
            "value", f.name, f"{f.name} {_quoted(err)}{also} {_why(err.field, err.text)}"
                             f" — {tail}"))
        return fallback.get(f.name)
    if value is None and f.required:  # (only case_id: a case is named)
        problems.append(LinkProblem(
            "value", f.name, f"{f.name} is empty but a case needs one — "
                             f"{fallback.get(f.name, SHARED_CASE_ID)} is used instead"))
        return fallback.get(f.name)
    if many:
        problems.append(LinkProblem(
            "repeated", f.name, f"{f.name} is given {many:,} times — the first, "
                                f"{_shown_value(first)}, was read"))
    return value


def _quoted(err: InvalidValue) -> str:
    if len(err.text) > MAX_CELL_CHARS:
        return f"({len(err.text):,} characters)"
    return _shown_value(err.text)


def _why(f: Field, text: str) -> str:
    """Why ``text`` is not a value of ``f``, from the catalog's description of the field."""
    if len(text) > MAX_CELL_CHARS:
        return f"is longer than the {MAX_CELL_CHARS:,} characters a value may have"
    if f.is_numeric:
        number = _any_number(f, text)
        if number is not None:
            lo, hi = f.minimum, f.maximum
            if (lo is not None and number < lo) or (hi is not None and number > hi):
                if lo is not None and hi is not None:
                    return f"is not between {lo:g} and {hi:g}"
                return f"is less than {lo:g}" if lo is not None else f"is more than {hi:g}"
            if f.kind is Kind.INTEGER and not float(number).is_integer():
                return "is not a whole number"
        return f"is not {f.describe_type()}"
    if f.name == "cpt_code":
        return f"is not a spine MRI code ({', '.join(f.values)})"
    if f.kind is Kind.BOOLEAN:
        return f"is not yes or no ({f.describe_type()})"
    return f"is not {f.describe_type()}"


def _any_number(f: Field, text: str) -> float | None:
    """``text`` as a number by the catalog's rule for numbers, any range (None: no number)."""
    try:
        number = parse_value(dataclasses.replace(f, kind=Kind.NUMBER, minimum=None,
                                                 maximum=None), text)
    except InvalidValue:
        return None
    return None if number is None else float(number)


def _policy(given: Any, policies: Mapping[str, str],
            problems: list[LinkProblem]) -> str | None:
    text = value_text(_first(given)) or ""
    if text in policies:
        return text
    if not text.strip():
        return None
    ids = list(policies)
    named = ", ".join(ids[:MAX_POLICY_IDS]) + (", …" if len(ids) > MAX_POLICY_IDS else "")
    default = _clip(policies[ids[0]], 80) if ids else "the first policy"
    problems.append(LinkProblem(
        "policy", POLICY_PARAM, f"policy {_shown_value(text)} is not one of this app's "
                                f"policies ({named}) — {default} is explained instead"))
    return None


def _case(data: dict[str, Any], problems: list[LinkProblem]) -> dict[str, Any]:
    """The ``Case`` of the values read (each has passed its field's rule)."""
    data.setdefault("case_id", SHARED_CASE_ID)
    try:
        return Case(**data).to_record()
    except ValidationError:  # a rule across fields: none concerns a link's fields today
        problems.append(LinkProblem("value", None, "the link's values do not fit together — "
                                                   "the case is read without them"))
        return Case(**{"case_id": data["case_id"]}).to_record()


def _first(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return value[0] if value else ""
    return value


def describe_problems(problems: Sequence[LinkProblem | str],
                      limit: int = MAX_PROBLEMS) -> tuple[str, str]:
    """(headline, details) for the page. The headline quotes nothing from the link — only the
    labels of catalog fields and counts — so it may be shown as Markdown; the details are
    the first ``limit`` sentences and how many more, one a line, to be shown as plain text
    only."""
    typed = [p for p in problems if isinstance(p, LinkProblem)]
    labels: list[str] = []
    for p in typed:
        f = FIELDS_BY_NAME.get(p.param or "")
        if p.kind in ("value", "repeated", "derived", "missing") and f and f.label not in labels:
            labels.append(f.label)
    bits = []
    if any(p.kind == "overflow" for p in typed):
        bits.append(f"the link has more than {MAX_LINK_PARAMETERS:,} parameters")
    if labels:
        more = len(labels) - MAX_LABELS
        bits.append(", ".join(labels[:MAX_LABELS])
                    + (f" and {more:,} more field{'s' if more > 1 else ''}" if more > 0 else ""))
    if any(p.kind == "policy" for p in typed):
        bits.append("the policy to explain under")
    unknown = sum(1 for p in typed if p.kind == "unknown")
    if unknown:
        bits.append("1 unknown parameter" if unknown == 1 else f"{unknown:,} unknown parameters")
    headline = "Some values in the link were not usable" \
        + (": " + "; ".join(bits) if bits else "") + "."
    lines = [str(p) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"… and {len(problems) - limit:,} more")
    return headline, "\n".join(lines)


def overflow_guard_script(page_paths: tuple[str, ...] = ("", "explorer")) -> str:
    """JavaScript for the page when Streamlit has read no parameter: if the address the
    browser opened (the tab's navigation, not a later in-app page change) was this page —
    its last path segment one of ``page_paths``, by default the explorer's (the app's
    default page, url path ``explorer``) — and has more parameters (or characters) than
    Streamlit reads, re-open the page with only the link's case fields and policy (first value each)
    and :data:`OVERFLOW_PARAM` = how many parameters there were. Nothing from the link is
    put into the page."""
    config = json.dumps({"fields": sorted(_SHARED_NAMES | {POLICY_PARAM}),
                         "marker": OVERFLOW_PARAM,
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
