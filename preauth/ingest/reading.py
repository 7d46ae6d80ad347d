"""How each column of a file is read beyond the catalog's value rules: a mapping profile's
``values`` and ``formats``, and what the file itself decides - the order of its slash dates,
checkbox columns, decimal commas in a semicolon-delimited file.

* ``values[field][source text] -> catalog text`` is applied to a column's trimmed text before
  it is parsed: an exact match first, then a case-insensitive one; a target ``""`` reads as
  not documented (NULL, no warning). Vectorized: the distinct texts are looked up with
  ``pc.index_in``.
* ``formats[field]`` is a strptime format for a DATE field
  (:func:`preauth.catalog.dates.check_date_format`); every value must match it.
* Without a format, a date column's slash dates are read in the order the column shows
  (:func:`preauth.catalog.dates.slash_dates`); a column that shows none raises
  :class:`~preauth.ingest.errors.AmbiguousDates`, one that shows both
  :class:`~preauth.ingest.errors.MixedDates`.
* A boolean column whose non-empty values are all check marks is a checkbox column
  (:func:`preauth.catalog.values.checkbox_column`): a mark is yes, an empty cell no - also a
  cell a profile maps to ``""``.

What a column decided is kept in :class:`FileDecisions`, so that the batches of a big file
(:mod:`preauth.ingest.stream`) are read alike: a later batch reads its slash dates in the
order an earlier one set, and one that shows the other order raises
:class:`~preauth.ingest.errors.MixedDates`, as the whole file would; a later batch that
contradicts an earlier batch's checkbox column raises :class:`ReadingChanged` (the file is
then validated whole).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, replace

import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.dates import MONTH_FIRST, slash_dates
from preauth.catalog.fields import FIELDS, FIELDS_BY_NAME, Field, Kind
from preauth.catalog.values import TRIM, ColumnReading, checkbox_column, parse_texts, value_text
from preauth.ingest.errors import AmbiguousDates, IngestError, MixedDates

__all__ = [
    "ColumnOutcome",
    "ColumnPlan",
    "FileDecisions",
    "ProfileEntryError",
    "ReadingChanged",
    "check_profile",
    "checked_format",
    "checked_value",
    "checked_value_field",
    "map_values",
]

_ORDER_NAMES = {MONTH_FIRST: "M/D/YYYY"}
_FIELD_ORDER = {f.name: i for i, f in enumerate(FIELDS)}


class ReadingChanged(IngestError):
    """A batch of a file reads a column differently from the batches before it (a checkbox
    column that later holds yes/no words): the file must be validated whole."""


@dataclass(frozen=True)
class FileDecisions:
    """What a file's columns decided about how they are read, by field name.

    ``date_orders``: a date field -> (the order of its slash dates,
    :data:`~preauth.catalog.dates.MONTH_FIRST` or ``DAY_FIRST``; the first value that set it).
    ``checkboxes``: a boolean field -> whether it is a checkbox column (absent: its cells
    were all empty so far). ``notes``: field -> a line for the user about how it was read.
    """

    date_orders: Mapping[str, tuple[str, str]] = dataclasses.field(default_factory=dict)
    checkboxes: Mapping[str, bool] = dataclasses.field(default_factory=dict)
    notes: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def updated(self, outcomes: Mapping[str, ColumnOutcome]) -> FileDecisions:
        """These decisions with the columns' ``outcomes`` added (earlier ones are kept)."""
        orders, boxes, notes = dict(self.date_orders), dict(self.checkboxes), dict(self.notes)
        for name, o in outcomes.items():
            if o.date_order is not None:
                orders.setdefault(name, o.date_order)
            if o.checkbox is not None:
                boxes.setdefault(name, o.checkbox)
            if o.note is not None:
                notes.setdefault(name, o.note)
        return FileDecisions(orders, boxes, notes)

    def note_lines(self) -> list[str]:
        """The notes in catalog field order."""
        return [self.notes[n] for n in sorted(self.notes, key=lambda n: _FIELD_ORDER[n])]


@dataclass(frozen=True)
class ColumnOutcome:
    """What reading one column decided (see :class:`FileDecisions`)."""

    date_order: tuple[str, str] | None = None
    checkbox: bool | None = None
    note: str | None = None


@dataclass(frozen=True)
class ColumnPlan:
    """How to read the column ``header`` of file ``filename`` as ``field``: the profile's
    value map and date format, whether commas are decimal, what earlier batches decided."""

    field: Field
    header: str
    filename: str
    values: Mapping[str, str] | None = None
    date_format: str | None = None
    decimal_comma: bool = False
    decided: FileDecisions = dataclasses.field(default_factory=FileDecisions)

    def expected(self) -> str:
        """What the column accepts, for messages: the field's kind, or the profile's format."""
        if self.date_format is not None:
            return f"a date written as {self.date_format}"
        return self.field.describe_type()

    def read(self, trimmed: pa.Array) -> tuple[pa.Array, pa.Array, ColumnOutcome]:
        """(the texts after the value map, their typed values, what the column decided) for
        the trimmed texts of the column (or of its distinct values)."""
        f = self.field
        if self.values:
            trimmed = map_values(trimmed, self.values)
        reading = ColumnReading(date_format=self.date_format,
                                decimal_comma=self.decimal_comma and f.is_numeric)
        outcome = ColumnOutcome()
        if f.kind is Kind.DATE and self.date_format is None:
            order = self._date_order(trimmed)
            if order is not None:
                reading = replace(reading, date_order=order[0])
                shown = _ORDER_NAMES.get(order[0], "D/M/YYYY")
                outcome = ColumnOutcome(date_order=order, note=(
                    f"{self.header}: dates read as {shown} ({order[1]} shows the order)"))
        elif f.kind is Kind.BOOLEAN:
            checkbox = self._checkbox(trimmed)
            reading = replace(reading, checkbox=bool(checkbox))
            note = (f"{self.header}: read as a checkbox column (X = yes, blank = no)"
                    if checkbox else None)
            outcome = ColumnOutcome(checkbox=checkbox, note=note)
        return trimmed, parse_texts(f, trimmed, trimmed=True, reading=reading), outcome

    def _date_order(self, trimmed: pa.Array) -> tuple[str, str] | None:
        """(order, the value that shows it) for this column's slash dates, None when it has
        none that need one. Raises AmbiguousDates / MixedDates."""
        slash = slash_dates(trimmed)
        name = self.field.name
        earlier = self.decided.date_orders.get(name)
        if earlier is not None:
            order, example = earlier
            other = slash.day_first if order == MONTH_FIRST else slash.month_first
            if other is not None:
                pair = (example, other) if order == MONTH_FIRST else (other, example)
                raise MixedDates(self.filename, name, self.header, pair)
            return earlier
        if slash.mixed:
            assert slash.month_first is not None and slash.day_first is not None
            raise MixedDates(self.filename, name, self.header,
                             (slash.month_first, slash.day_first))
        if slash.undecided:
            raise AmbiguousDates(self.filename, name, self.header, slash.ambiguous)
        if slash.order is None:
            return None
        return slash.order, slash.month_first or slash.day_first or ""

    def _checkbox(self, trimmed: pa.Array) -> bool | None:
        mine = checkbox_column(trimmed)
        earlier = self.decided.checkboxes.get(self.field.name)
        if earlier is None:
            return mine
        if earlier and mine is False:
            raise ReadingChanged(f"{self.filename}: {self.header} is a checkbox column in the "
                                 "first rows but holds other values later")
        return earlier


def map_values(texts: pa.Array, table: Mapping[str, str]) -> pa.Array:
    """``texts`` with each value found in ``table`` replaced by its target: an exact match,
    else a case-insensitive one (the first key of that spelling); others unchanged."""
    keys = pa.array(list(table), pa.string())
    targets = pa.array(list(table.values()), pa.string())
    exact = pc.index_in(texts, value_set=keys)
    folded_keys = pc.utf8_lower(keys).to_pylist()
    first_of: dict[str, int] = {}
    for i, k in enumerate(folded_keys):
        first_of.setdefault(k, i)
    folded = pc.index_in(pc.utf8_lower(texts), value_set=pa.array(list(first_of), pa.string()))
    index = pc.coalesce(exact, pa.array(list(first_of.values()), pa.int32()).take(folded))
    return pc.coalesce(targets.take(index), texts)


class ProfileEntryError(ValueError):
    """One entry of a profile's ``values`` or ``formats`` that cannot be used; the message
    names the field and says what was expected (the caller adds the file, and line)."""


def checked_format(name: str, fmt: object) -> str:
    """The strptime format ``fmt`` for date field ``name``, or :class:`ProfileEntryError`
    (not a date field, or a format that does not read a whole date)."""
    f = FIELDS_BY_NAME[name]
    if f.kind is not Kind.DATE:
        dates = ", ".join(g.name for g in FIELDS if g.kind is Kind.DATE)
        raise ProfileEntryError(f"{name} is {f.describe_type()}, not a date; formats are for "
                                f"date fields ({dates})")
    try:
        return ColumnReading(date_format=str(fmt)).date_format or ""
    except ValueError as exc:
        raise ProfileEntryError(f"{name}: {exc}") from None


def checked_value_field(name: str) -> Field:
    """The field a profile maps values of, or :class:`ProfileEntryError` (``case_id``)."""
    if name == "case_id":
        raise ProfileEntryError("case_id is the row's identity; its values are read as they "
                                "are")
    return FIELDS_BY_NAME[name]


def checked_value(f: Field, source: object, target: object, date_format: str | None = None
                  ) -> tuple[str, str]:
    """A value map entry as (trimmed source text, trimmed catalog text); ``""`` is not
    documented. :class:`ProfileEntryError` when ``f`` does not accept the target."""
    key = (value_text(source) or "").strip(TRIM)
    text = (value_text(target) or "").strip(TRIM)
    reading = ColumnReading(date_format=date_format)
    if text and parse_texts(f, pa.array([text], pa.string()), trimmed=True,
                            reading=reading)[0].as_py() is None:
        expected = (f"a date written as {date_format}" if date_format else f.describe_type())
        raise ProfileEntryError(f"{f.name}: {key!r} is mapped to {text!r}, but {f.name} must "
                                f"be {expected}")
    return key, text


def check_profile(values: Mapping[str, Mapping[str, str]] | None,
                  formats: Mapping[str, str] | None, filename: str
                  ) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """A profile's ``values`` and ``formats`` checked and trimmed (the rules of
    :func:`checked_format`, :func:`checked_value_field` and :func:`checked_value`, which the
    YAML profile reader applies entry by entry with lines). Raises :class:`IngestError`
    naming the entry."""
    checked_formats: dict[str, str] = {}
    checked_values: dict[str, dict[str, str]] = {}
    for name, fmt in (formats or {}).items():
        _field(name, "formats", filename)
        try:
            checked_formats[name] = checked_format(name, fmt)
        except ProfileEntryError as exc:
            raise IngestError(f"{filename}: formats: {exc}") from None
    for name, table in (values or {}).items():
        f = _field(name, "values", filename)
        try:
            checked_value_field(name)
            if not isinstance(table, Mapping):
                raise ProfileEntryError(f"{name} must map source values to catalog values, "
                                        f"got {type(table).__name__}")
            checked_values[name] = dict(
                checked_value(f, source, target, checked_formats.get(name))
                for source, target in table.items())
        except ProfileEntryError as exc:
            raise IngestError(f"{filename}: values: {exc}") from None
    return checked_values, checked_formats


def _field(name: str, section: str, filename: str) -> Field:
    f = FIELDS_BY_NAME.get(str(name))
    if f is None:
        raise IngestError(f"{filename}: {section}: {name!r} is not a case field; expected a "
                          "name from the field catalog")
    return f
