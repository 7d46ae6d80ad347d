"""Dates as exports write them: how a column of date texts becomes dates.

Read without being told (the catalog's own rule, :func:`parse_dates`):

* ``YYYY-MM-DD`` or ``YYYY/MM/DD`` (month and day of one or two digits);
* ``D.M.YYYY`` - dotted dates are day first, as in Europe;
* ``a/b/YYYY`` - month first (US) or day first (UK, Europe): the **column** decides
  (:func:`slash_dates`). A date that only reads one way (``04/13/2024``: no month 13;
  ``13/04/2024``) sets the order for the whole column; one that reads as two different dates
  (``03/04/2024``) needs the column to have set it. A column with dates of both kinds has no
  order; a column whose slash dates all read both ways is ambiguous - ingest asks (see
  :class:`preauth.ingest.errors.AmbiguousDates`), the explorer's single value is refused;
* each optionally followed by a midnight time (``T00:00``, `` 00:00:00.000``, `` 0:00``,
  `` 12:00:00 AM``); a real calendar date from year 0001 on.

Read as told (:func:`parse_dates_as`): a strptime format from a mapping profile
(``"%m/%d/%Y"``) - every value must match it; see :func:`check_date_format` for the directives.

Vectorized: Arrow regular expressions split a text into year, month and day, which are
joined as ISO text and checked to be a real date by a round trip through Arrow's
``strptime``/``strftime``. No per-value Python.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "DATE_ORDERS",
    "DAY_FIRST",
    "MONTH_FIRST",
    "SlashDates",
    "check_date_format",
    "date_values",
    "parse_dates",
    "parse_dates_as",
    "slash_dates",
]

MONTH_FIRST = "%m/%d/%Y"  # 04/13/2024: the US order
DAY_FIRST = "%d/%m/%Y"  # 13/04/2024: the UK / European order
DATE_ORDERS = (MONTH_FIRST, DAY_FIRST)
_EXAMPLES = 3  # values quoted when a column's slash dates are ambiguous

_MIDNIGHT = r"(?:[T ]0?0:00(?::00(?:\.0+)?)?| 12:00(?::00)? ?[Aa][Mm])?"
_D = "[0-9]{1,2}"
_DATE = (rf"^(?:(?P<iy>[0-9]{{4}})-(?P<im>{_D})-(?P<id>{_D})"
         rf"|(?P<jy>[0-9]{{4}})/(?P<jm>{_D})/(?P<jd>{_D})"
         rf"|(?P<sa>{_D})/(?P<sb>{_D})/(?P<sy>[0-9]{{4}})"
         rf"|(?P<dd>{_D})\.(?P<dm>{_D})\.(?P<dy>[0-9]{{4}})){_MIDNIGHT}$")
_SLASH = rf"^(?P<a>{_D})/(?P<b>{_D})/(?P<y>[0-9]{{4}}){_MIDNIGHT}$"
_FIRST_DAY = (dt.date(1, 1, 1) - dt.date(1970, 1, 1)).days  # the dates a date field accepts
_LAST_DAY = (dt.date(9999, 12, 31) - dt.date(1970, 1, 1)).days
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")


# --- the column's slash order -------------------------------------------------------------------

@dataclass(frozen=True)
class SlashDates:
    """What a column's ``a/b/YYYY`` dates say about their order.

    ``month_first``: the first value that is a date only as M/D/YYYY; ``day_first``: the first
    that is one only as D/M/YYYY; ``ambiguous``: the first few values that are two different
    dates (``03/04/2024``; ``05/05/2024`` is the same date either way and says nothing).
    """

    month_first: str | None = None
    day_first: str | None = None
    ambiguous: tuple[str, ...] = ()

    @property
    def mixed(self) -> bool:
        """Dates of both orders: the column has none."""
        return self.month_first is not None and self.day_first is not None

    @property
    def order(self) -> str | None:
        """:data:`MONTH_FIRST` or :data:`DAY_FIRST` when the column sets one, else None."""
        if self.mixed:
            return None
        if self.month_first is not None:
            return MONTH_FIRST
        return DAY_FIRST if self.day_first is not None else None

    @property
    def undecided(self) -> bool:
        """Some values read as two different dates and none sets the order."""
        return bool(self.ambiguous) and self.month_first is None and self.day_first is None


def slash_dates(texts: pa.Array) -> SlashDates:
    """What the slash dates among trimmed ``texts`` say about their order (in order of
    appearance: the examples are the first such values)."""
    parts = pc.extract_regex(texts, _SLASH)
    slash = pc.fill_null(pc.is_valid(parts), False)
    if not pc.any(slash).as_py():
        return SlashDates()
    a, b, y = (pc.struct_field(parts, k) for k in ("a", "b", "y"))
    as_month_first = pc.is_valid(_real_date(y, a, b))
    as_day_first = pc.is_valid(_real_date(y, b, a))
    same = pc.equal(pc.cast(a, pa.int32()), pc.cast(b, pa.int32()))

    def first(mask: pa.Array, count: int = 1) -> list[str]:
        where = pc.fill_null(mask, False)
        return texts.filter(where).slice(0, count).to_pylist() if pc.any(where).as_py() else []

    month = first(pc.and_(as_month_first, pc.invert(as_day_first)))
    day = first(pc.and_(as_day_first, pc.invert(as_month_first)))
    both = first(pc.and_(pc.and_(as_month_first, as_day_first), pc.invert(same)), _EXAMPLES)
    return SlashDates(month[0] if month else None, day[0] if day else None, tuple(both))


# --- reading a column ---------------------------------------------------------------------------

def parse_dates(texts: pa.Array, order: str | None = None) -> pa.Array:
    """Trimmed ``texts`` as ``date32`` by the catalog's rule (module notes); NULL where empty
    or not a date. Slash dates are read in ``order`` (:data:`MONTH_FIRST` /
    :data:`DAY_FIRST`), or in the order ``texts`` set themselves when ``order`` is None; where
    there is no order they are NULL (not acceptable) unless they read the same either way."""
    if order is None:
        order = slash_dates(texts).order
    parts = pc.extract_regex(texts, _DATE)
    p = {k: pc.struct_field(parts, k) for k in
         ("iy", "im", "id", "jy", "jm", "jd", "sa", "sb", "sy", "dd", "dm", "dy")}
    slash = pc.not_equal(p["sa"], "")
    if order is None:  # no order: a slash date is one only where both parts are equal
        same = pc.equal(pc.utf8_lpad(p["sa"], 2, "0"), pc.utf8_lpad(p["sb"], 2, "0"))
        slash_m = pc.if_else(slash, pc.if_else(same, p["sa"], pa.scalar(None, pa.string())),
                             "")
        slash_d = slash_m
    else:
        first, second = (p["sa"], p["sb"]) if order == MONTH_FIRST else (p["sb"], p["sa"])
        slash_m, slash_d = (pc.if_else(slash, x, "") for x in (first, second))
    year = pc.binary_join_element_wise(p["iy"], p["jy"], p["sy"], p["dy"], "")
    month = pc.binary_join_element_wise(p["im"], p["jm"], p["dm"], slash_m, "")
    day = pc.binary_join_element_wise(p["id"], p["jd"], p["dd"], slash_d, "")
    return _real_date(year, month, day)


def parse_dates_as(texts: pa.Array, date_format: str) -> pa.Array:
    """Trimmed ``texts`` as ``date32`` by the strptime format ``date_format`` (checked by
    :func:`check_date_format`); NULL where empty or not matching it. A format without a time
    also takes a trailing midnight time; a format with one reads any time of that day."""
    pattern, has_time = _format_regex(date_format)
    parts = pc.extract_regex(texts, "^" + pattern + ("" if has_time else _MIDNIGHT) + "$")
    names = {f.name for f in parts.type}
    if "Y" in names:
        year = pc.struct_field(parts, "Y")
    else:  # %y: 69-99 -> 1969-1999, 00-68 -> 2000-2068 (as POSIX strptime)
        yy = pc.struct_field(parts, "y")
        old = pc.greater_equal(pc.cast(pc.if_else(pc.equal(yy, ""), "0", yy), pa.int32()), 69)
        year = pc.binary_join_element_wise(pc.if_else(old, "19", "20"), yy, "")
    if "m" in names:
        month = pc.struct_field(parts, "m")
    else:
        month = _month_number(pc.struct_field(parts, "b"))
    return _real_date(year, month, pc.struct_field(parts, "d"))


def check_date_format(date_format: str) -> None:
    """Raise ``ValueError`` (one line) unless ``date_format`` is a strptime format that reads a
    whole date: exactly one year (``%Y`` or ``%y``), month (``%m``, or a month name ``%b`` /
    ``%B``) and day (``%d``); optionally a time (``%H %I %M %S %f %p``) and weekday names
    (``%a %A``), which are read past; ``%%`` for a percent sign; any other character as
    itself."""
    _format_regex(date_format)


# --- helpers ------------------------------------------------------------------------------------

def _real_date(year: pa.Array, month: pa.Array, day: pa.Array) -> pa.Array:
    """``date32`` of year / month / day texts; NULL where a part is missing or the date does
    not exist (2024-02-30, year 0000)."""
    iso = pc.binary_join_element_wise(year, pc.utf8_lpad(month, 2, "0"),
                                      pc.utf8_lpad(day, 2, "0"), "-")
    stamp = pc.strptime(iso, "%Y-%m-%d", unit="s", error_is_null=True)
    real = pc.equal(pc.strftime(stamp, "%Y-%m-%d"), iso)  # rejects 2024-02-30
    return date_values(pc.if_else(real, stamp, pa.scalar(None, stamp.type)))


def date_values(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The dates (``date32``) of ``values`` - dates, or timestamps without a time zone - that
    a date field accepts: NULL where a timestamp is not at midnight or the date is not from
    0001-01-01 to 9999-12-31 (year 0000 exists in Arrow but not in Python's dates, which the
    app's date filters use). The text rules end here after reading a cell's date; ingest
    applies it to a typed (Parquet) column directly (:mod:`preauth.ingest._typed`)."""
    if pa.types.is_timestamp(values.type):
        days = values.cast(pa.date32(), safe=False)
        days = pc.if_else(pc.equal(days.cast(values.type, safe=False), values), days,
                          pa.scalar(None, pa.date32()))
    else:
        days = values.cast(pa.date32())
    whole = days.cast(pa.int32())  # days since 1970-01-01
    inside = pc.and_(pc.greater_equal(whole, _FIRST_DAY), pc.less_equal(whole, _LAST_DAY))
    return pc.if_else(inside, days, pa.scalar(None, pa.date32()))


def _month_number(names: pa.Array) -> pa.Array:
    """``'Jan'``, ``'january'``, ``'SEPT'`` ... -> ``'1'`` ... ``'12'`` (NULL: not a month)."""
    low = pc.utf8_lower(names)
    full = pc.index_in(low, value_set=pa.array(_MONTHS))
    short = pc.index_in(pc.utf8_slice_codeunits(low, 0, 3),
                        value_set=pa.array([m[:3] for m in _MONTHS]))
    abbreviation = pc.or_(pc.equal(pc.utf8_length(low), 3), pc.equal(low, "sept"))
    index = pc.coalesce(full, pc.if_else(abbreviation, short, pa.scalar(None, pa.int32())))
    return pc.cast(pc.add(index, 1), pa.string())


_DIRECTIVES = {
    "Y": "(?P<Y>[0-9]{4})", "y": "(?P<y>[0-9]{2})", "m": f"(?P<m>{_D})", "d": f"(?P<d>{_D})",
    "b": "(?P<b>[A-Za-z]{3,9})", "B": "(?P<b>[A-Za-z]{3,9})", "h": "(?P<b>[A-Za-z]{3,9})",
    "H": "(?:[01]?[0-9]|2[0-3])", "I": "(?:0?[1-9]|1[0-2])", "M": "[0-5][0-9]",
    "S": "(?:[0-5][0-9]|60)", "f": "[0-9]{1,9}", "p": "[AaPp][Mm]",
    "a": "[A-Za-z]{3,9}", "A": "[A-Za-z]{3,9}",
}
_ONE_OF = {"year": "Yy", "month": "mbBh", "day": "d"}
_TIME = set("HIMSfp")


def _format_regex(date_format: str) -> tuple[str, bool]:
    """(a regular expression for ``date_format`` with groups Y or y, m or b, and d; whether
    it reads a time). ``ValueError`` for a format that does not read one whole date."""
    if not isinstance(date_format, str) or not date_format.strip():
        raise ValueError("a date format must be a strptime format such as '%m/%d/%Y'")
    out, used, i = [], [], 0
    while i < len(date_format):
        c = date_format[i]
        if c != "%":
            out.append(r"\s+" if c.isspace() else re.escape(c))
            i += 1
            continue
        code = date_format[i + 1:i + 2]
        if code == "%":
            out.append("%")
        elif code in _DIRECTIVES:
            out.append(_DIRECTIVES[code])
            used.append(code)
        else:
            raise ValueError(f"date format {date_format!r}: %{code} is not supported; use "
                             "%Y %y %m %d %b %B for the date (and %H %I %M %S %f %p for a time)")
        i += 2
    for what, codes in _ONE_OF.items():
        count = sum(1 for u in used if u in codes)
        if count != 1:
            raise ValueError(f"date format {date_format!r} must give the {what} exactly once "
                             f"(with {' or '.join('%' + c for c in codes[:2])})")
    return "".join(out), bool(_TIME & set(used))
