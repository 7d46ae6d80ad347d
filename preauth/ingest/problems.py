"""What went wrong, column by column: a validation's errors and warnings grouped by the file's
column, so that one look says "Gender: 2,000 values not recognised — U, Unknown" instead of
2,000 lines; what a value map could fix; and the plain question to ask about a date column
whose order the file does not show.

* :func:`column_problems` groups :attr:`IngestResult.errors` and :attr:`IngestResult.warnings`
  by column and severity (Arrow ``group_by``, never a loop over rows): the source header, the
  catalog field, the rows affected, the most common values the field refused (trimmed, with
  counts), what the field expects, and whether a value map (a profile's ``values:``) can fix
  it - an enum or yes/no field whose refused values could each mean one of its values.
* :func:`suggested_target` proposes what a refused value probably means (a spelling of "not
  known" -> not documented; a value that starts like exactly one allowed value, or is a close
  typo of one) - a proposal for a person to confirm, never applied on its own.
* :func:`date_question` turns :class:`~preauth.ingest.errors.AmbiguousDates` /
  :class:`~preauth.ingest.errors.MixedDates` into a question in plain words with its two
  answers (strptime formats for a profile's ``formats:``).
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.dates import DAY_FIRST, MONTH_FIRST, parse_dates_as
from preauth.catalog.fields import FIELDS_BY_NAME, Field, Kind
from preauth.catalog.values import BOOL_FALSE, BOOL_TRUE, TRIM
from preauth.ingest.errors import VALUE_CHARS, AmbiguousDates, MixedDates
from preauth.ingest.raw import RawTable
from preauth.ingest.validate import IngestResult

__all__ = [
    "MAX_VALUES",
    "NOT_DOCUMENTED",
    "ColumnProblem",
    "DateChoice",
    "DateQuestion",
    "Severity",
    "column_problems",
    "date_format_words",
    "date_question",
    "suggested_target",
    "value_targets",
]

Severity = Literal["error", "warning"]
MAX_VALUES = 12  # refused values kept per column (most common first)
NOT_DOCUMENTED = ""  # the value-map target that reads a value as not documented
_HEADLINE_VALUES = 3  # values quoted in a headline
_REFUSED = r"^(?P<f>[a-z0-9_]+) must be "  # validate's message for a refused value
# Spellings of "not known" that exports use; a value map may read them as not documented.
_UNKNOWN = frozenset({"u", "unk", "unkn", "unknown", "not known", "n/a", "na", "n.a.", "?",
                      "-", "--", "null", "nil", "not documented", "not recorded",
                      "not stated", "not specified", "unspecified", "undisclosed",
                      "declined to state", "prefer not to say"})


@dataclass(frozen=True)
class ColumnProblem:
    """The problems of one column of the file, of one severity.

    ``header``: the file's column (or the error table's column when none is the source:
    ``"(row)"``); ``field``: the catalog field it was read as (None: not a field); ``rows``:
    rows with a problem in it; ``lines``: problem lines; ``refused``: lines that are a value
    the field does not accept; ``values``: the most common refused values (trimmed) with
    their counts, most first (at most :data:`MAX_VALUES`); ``distinct``: how many different
    values were refused; ``expects``: what the field accepts; ``mappable``: a value map can
    fix the refused values; ``example``: one message of a problem that is not a refused
    value (a duplicate, an empty case_id, a contradiction), ``""`` when there is none.
    """

    header: str
    field: str | None
    severity: Severity
    rows: int
    lines: int
    refused: int
    values: tuple[tuple[str, int], ...]
    distinct: int
    expects: str
    mappable: bool
    example: str = ""

    @property
    def other(self) -> int:
        """Problem lines that are not a refused value."""
        return self.lines - self.refused

    @property
    def mappable_values(self) -> tuple[tuple[str, int], ...]:
        """The refused values a value map can name (not empty, not cut short)."""
        return tuple((v, n) for v, n in self.values if v and len(v) < VALUE_CHARS)

    def headline(self) -> str:
        """One line: ``Gender: 2,000 values not recognised (read as not documented) — U
        (1,500), Unknown (500) → map them?`` (plain text; quote it as such)."""
        parts = []
        if self.refused:
            noun = "value" if self.refused == 1 else "values"
            what = ("not recognised (read as not documented)" if self.severity == "warning"
                    else "not accepted (their rows are rejected)")
            shown = ", ".join(f"{v or '(empty)'} ({n:,})"
                              for v, n in self.values[:_HEADLINE_VALUES])
            more = self.distinct - min(self.distinct, _HEADLINE_VALUES)
            shown += f" and {more:,} more" if more else ""
            parts.append(f"{self.refused:,} {noun} {what} — {shown}")
        if self.other:
            noun = "problem" if self.other == 1 else "problems"
            parts.append(f"{self.other:,} {noun}, such as: {self.example}")
        text = f"{self.header}: " + "; ".join(parts)
        return text + (" → map them?" if self.mappable else "")


def column_problems(result: IngestResult, raw: RawTable, *,
                    formats: dict[str, str] | None = None) -> list[ColumnProblem]:
    """The errors and warnings of ``result`` (the validation of ``raw``) grouped by column:
    errors first, then warnings; within each, the column with most rows affected first, ties
    in the file's column order. ``formats``: the date formats validation was given (for
    what a column expects)."""
    header_of = {f: h for h, f in result.mapping.items()}
    position = {h: i for i, h in enumerate(raw.headers)}
    found: list[ColumnProblem] = []
    for severity, table in (("error", result.errors), ("warning", result.warnings)):
        if table.num_rows:
            found += _grouped(severity, table, header_of, formats or {})  # type: ignore[arg-type]
    found.sort(key=lambda p: (p.severity != "error", -p.rows,
                              position.get(p.header, len(position)), p.header))
    return found


def _grouped(severity: Severity, table: pa.Table, header_of: dict[str, str],
             formats: dict[str, str]) -> list[ColumnProblem]:
    """The problems of one severity, one per column (vectorized: group_by)."""
    column = table["column"]
    if severity == "warning":  # a warning is a value read as not documented
        refused = pa.chunked_array([pa.array([True] * table.num_rows, pa.bool_())])
    else:
        named = pc.struct_field(pc.extract_regex(table["message"], _REFUSED), "f")
        refused = pc.fill_null(pc.equal(named, column), False)
    lines = pa.table({"column": column, "row": table["row"],
                      "refused": pc.cast(refused, pa.int64()),
                      "value": pc.utf8_trim(pc.fill_null(table["value"], ""), characters=TRIM),
                      "message": table["message"]})
    per_column = lines.group_by("column").aggregate(
        [("row", "count_distinct"), ("row", "count"), ("refused", "sum")])
    values = _top_values(lines.filter(pc.equal(lines["refused"], 1)))
    others = lines.filter(pc.equal(lines["refused"], 0))
    examples = dict(zip(*(others.group_by("column", use_threads=False)
                          .aggregate([("message", "first")])
                          .to_pydict().values()), strict=True)) if others.num_rows else {}
    out = []
    for name, rows, count, n_refused in zip(
            *(per_column[c].to_pylist() for c in ("column", "row_count_distinct", "row_count",
                                                  "refused_sum")), strict=True):
        f = FIELDS_BY_NAME.get(name) if name in header_of else None
        top, distinct = values.get(name, ((), 0))
        out.append(ColumnProblem(
            header=header_of.get(name, name), field=f.name if f else None, severity=severity,
            rows=rows, lines=count, refused=n_refused, values=top, distinct=distinct,
            expects=_expects(f, formats), example=examples.get(name, ""),
            mappable=bool(n_refused) and f is not None and _value_mappable(f)))
    return out


def _top_values(refused: pa.Table) -> dict[str, tuple[tuple[tuple[str, int], ...], int]]:
    """column -> (its most common refused values with counts, how many distinct ones)."""
    if not refused.num_rows:
        return {}
    counts = refused.group_by(["column", "value"]).aggregate([("row", "count")])
    counts = counts.sort_by([("column", "ascending"), ("row_count", "descending"),
                             ("value", "ascending")])
    distinct = counts.group_by("column").aggregate([("value", "count")]).sort_by("column")
    out = {}
    start = 0
    for name, n in zip(distinct["column"].to_pylist(), distinct["value_count"].to_pylist(),
                       strict=True):
        top = counts.slice(start, min(n, MAX_VALUES))
        out[name] = (tuple(zip(top["value"].to_pylist(), top["row_count"].to_pylist(),
                               strict=True)), n)
        start += n
    return out


def _value_mappable(f: Field) -> bool:
    return f.kind in (Kind.ENUM, Kind.BOOLEAN) and f.name != "case_id"


def _expects(f: Field | None, formats: dict[str, str]) -> str:
    if f is None:
        return ""
    if f.name in formats:
        return f"a date written as {formats[f.name]}"
    return f.describe_type()


# --- value maps -------------------------------------------------------------------------------

def value_targets(field: str) -> tuple[str, ...]:
    """What a value map may read a value of ``field`` as (besides not documented): the enum's
    values, or ``yes`` / ``no``; ``()`` for a field whose values are not a short list."""
    f = FIELDS_BY_NAME[field]
    if f.kind is Kind.BOOLEAN:
        return ("yes", "no")
    return f.values if f.kind is Kind.ENUM else ()


def suggested_target(field: str, value: str) -> str | None:
    """A proposal for what the refused ``value`` of ``field`` means: a target of
    :func:`value_targets`, :data:`NOT_DOCUMENTED` for a spelling of "not known", or None
    when nothing is clear. For a person to confirm: it is never applied by itself."""
    text = value.strip(TRIM).lower()
    targets = value_targets(field)
    if not text or not targets:
        return None
    if text in _UNKNOWN:
        return NOT_DOCUMENTED
    if targets == ("yes", "no"):
        if text in BOOL_TRUE:
            return "yes"
        return "no" if text in BOOL_FALSE else None
    words = {t: t.lower().replace("_", " ") for t in targets}
    spaced = text.replace("_", " ").replace("-", " ")
    starts = [t for t, w in words.items()
              if len(spaced) >= 3 and (w.startswith(spaced) or spaced.startswith(w + " "))]
    if len(starts) == 1:
        return starts[0]
    close = difflib.get_close_matches(spaced, list(words.values()), n=2, cutoff=0.85)
    if len(close) == 1:
        return next(t for t, w in words.items() if w == close[0])
    return None


# --- the date question ------------------------------------------------------------------------

_ORDER_WORDS = {MONTH_FIRST: "month first (M/D/YYYY)", DAY_FIRST: "day first (D/M/YYYY)"}


@dataclass(frozen=True)
class DateChoice:
    """One answer: ``format`` (a strptime format for ``formats:``) and how it reads."""

    format: str
    label: str


@dataclass(frozen=True)
class DateQuestion:
    """What to ask about a date column: ``text`` (plain words, quoting the file's values),
    its ``choices``; ``field`` / ``header`` name the column; ``mixed``: the column shows
    both orders, so whichever is chosen some of its dates will not read."""

    field: str
    header: str
    text: str
    choices: tuple[DateChoice, ...]
    mixed: bool


def date_format_words(fmt: str) -> str:
    """``'%m/%d/%Y'`` -> ``'month first (M/D/YYYY)'``; another format as it is."""
    return _ORDER_WORDS.get(fmt, fmt)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _spoken(example: str, fmt: str) -> str | None:
    """``'03/04/2024'`` read with ``fmt`` as ``'4 March 2024'`` (None: not a date so)."""
    value = parse_dates_as(pa.array([example], pa.string()), fmt)[0].as_py()
    if not isinstance(value, dt.date):
        return None
    return f"{value.day} {value:%B} {value.year}"


def date_question(err: AmbiguousDates) -> DateQuestion:
    """The question :class:`AmbiguousDates` (or :class:`MixedDates`) asks, in plain words:
    ``Date Requested has dates like 03/04/2024. Is that 4 March 2024 or 3 April 2024?``"""
    formats = err.formats
    if isinstance(err, MixedDates):
        month, day = err.examples[0], err.examples[1]
        text = (f"{err.header} has dates that only make sense month first ({month} is "
                f"{_spoken(month, MONTH_FIRST)}) and dates that only make sense day first "
                f"({day} is {_spoken(day, DAY_FIRST)}), so the column does not show one order. "
                "Which order does your export use? Dates that do not read in that order will "
                "be listed as problems.")
        choices = tuple(DateChoice(f, _capital(_ORDER_WORDS.get(f, f))) for f in formats)
        return DateQuestion(err.field, err.header, text, choices, True)
    example = err.examples[0]
    spoken = [(f, _spoken(example, f)) for f in formats]
    readings = [s for _, s in spoken if s]
    if len(readings) == len(formats):
        asked = " or ".join(readings)
        text = f"{err.header} has dates like {example}. Is that {asked}?"
    else:
        text = f"{err.header} has dates like {example}. In which order are they written?"
    others = [e for e in err.examples[1:] if e != example]
    if others:
        text += f" (Others like it: {', '.join(others)}.)"
    choices = tuple(DateChoice(f, f"{s} — {_ORDER_WORDS.get(f, f)}" if s
                               else _capital(_ORDER_WORDS.get(f, f))) for f, s in spoken)
    return DateQuestion(err.field, err.header, text, choices, False)
