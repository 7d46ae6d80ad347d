"""Validating a file's table: map the headers to catalog fields, parse every column by the
catalog's value rules (:mod:`preauth.catalog.values`), reject the rows with problems.

Column-wise and vectorized (Arrow compute + numpy, threads across columns - no per-row
Python). A column with few distinct values - booleans, enums, ages, dates, as case data mostly
is - is dictionary-encoded first and only its distinct values are trimmed and parsed; the typed
column and the "invalid" mask are then gathered back through the dictionary indices. Row-level
checks that span fields (duplicates, CPT / region / contrast) work on the typed arrays. Bad
rows are rejected with one error line per problem (row number, column, raw value, message);
good rows come back as a typed table with exactly
:func:`preauth.catalog.schema.arrow_schema` plus a 1-based ``row`` column. Empty cells are
NULL ("undocumented"), never false or zero (except in a checkbox column: blank = no).

A value a *lenient* field (:attr:`preauth.catalog.fields.Field.lenient`: the payer outcomes
and descriptive fields no criterion reads - sex, request_date, carrier) does not accept is
read as not documented and listed as a **warning** - same columns as an error line - and the
row is kept; in any other field it is an error that rejects the row. A mapping profile's
``values`` and ``formats`` and what the file decides about its columns (slash-date order,
checkbox columns, decimal commas) are applied by :mod:`preauth.ingest.reading`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.fields import CPT_CODES, FIELDS, FIELDS_BY_NAME, Field, cpt_for
from preauth.catalog.schema import arrow_schema
from preauth.catalog.values import MAX_CELL_CHARS, TRIM
from preauth.ingest._arrow import flat, np_bool, workers
from preauth.ingest._cells import text_column
from preauth.ingest._typed import coerce_typed, reads_typed
from preauth.ingest.duplicates import clean_ids, duplicate_errors, duplicate_of
from preauth.ingest.errors import ERROR_SCHEMA, IngestError, error_rows, quoted
from preauth.ingest.mapping import resolve_mapping
from preauth.ingest.raw import RawTable, check_headers
from preauth.ingest.reading import ColumnOutcome, ColumnPlan, FileDecisions, check_profile

__all__ = ["IngestResult", "validate"]


@dataclass
class IngestResult:
    """Typed accepted rows, one line per problem in the rejected ones, warnings about the
    accepted ones, and how the file was read.

    ``accepted`` has exactly :func:`preauth.catalog.schema.arrow_schema` plus ``row`` (int64,
    the 1-based data row of the file); ``errors`` has ``row, case_id, column, value, message``
    (:data:`preauth.ingest.errors.ERROR_SCHEMA`). ``rows_in == rows_accepted + rows_rejected``
    always; a rejected row may have several errors. ``warnings`` (same schema) lists the
    values of lenient fields read as not documented, only in accepted rows - a warning never
    rejects. ``notes``: one line per column read in a way the file decided ("Physical therapy:
    read as a checkbox column (X = yes, blank = no)", "Date Requested: dates read as
    M/D/YYYY ..."); ``decisions``: the same, for reading more of the file alike.
    """

    accepted: pa.Table
    errors: pa.Table
    rows_in: int
    rows_accepted: int
    rows_rejected: int
    mapping: dict[str, str]
    unmapped_columns: list[str]
    filename: str = ""
    warnings: pa.Table = field(default_factory=ERROR_SCHEMA.empty_table)
    notes: list[str] = field(default_factory=list)
    decisions: FileDecisions = field(default_factory=FileDecisions)

    @property
    def error_count(self) -> int:
        return self.errors.num_rows

    @property
    def warning_count(self) -> int:
        return self.warnings.num_rows

    def warning_counts(self) -> dict[str, int]:
        """Warnings per column (catalog field name), most first."""
        if not self.warnings.num_rows:
            return {}
        counts = self.warnings.group_by("column").aggregate([("row", "count")])
        pairs = zip(counts["column"].to_pylist(), counts["row_count"].to_pylist(), strict=True)
        return dict(sorted(pairs, key=lambda p: (-p[1], p[0])))

    def summary(self) -> str:
        """``'read 1,000 rows: 990 accepted, 10 rejected (14 errors)'``, then
        ``'; 67 values read as not documented (warnings)'`` when there are warnings."""
        rows = "row" if self.rows_in == 1 else "rows"
        errs = "error" if self.error_count == 1 else "errors"
        text = (f"read {self.rows_in:,} {rows}: {self.rows_accepted:,} accepted, "
                f"{self.rows_rejected:,} rejected ({self.error_count:,} {errs})")
        if self.warning_count:
            values = "value" if self.warning_count == 1 else "values"
            text += (f"; {self.warning_count:,} {values} read as not documented "
                     f"({'warning' if self.warning_count == 1 else 'warnings'})")
        return text


_CODES = pa.array(list(CPT_CODES), pa.string())
_REGION_BY_CODE = pa.array([pair[0] for pair in CPT_CODES.values()], pa.string())
_CONTRAST_BY_CODE = pa.array([pair[1] for pair in CPT_CODES.values()], pa.string())
_REGIONS = FIELDS_BY_NAME["region"].values
_CONTRASTS = FIELDS_BY_NAME["contrast"].values
# CPT code by region index * len(contrasts) + contrast index
_CODE_BY_PAIR = pa.array([cpt_for(r, c) for r in _REGIONS for c in _CONTRASTS], pa.string())
_ARROW_TYPES = {f.name: f.type for f in arrow_schema()}
_PROCEDURE = ("cpt_code", "region", "contrast")

# Error lines of one row are listed in this order of their checks.
_REQUIRED, _DUPLICATE = 0, 1
_FIELD_ORDER = {f.name: 3 + i for i, f in enumerate(FIELDS)}
_CONFLICT = {"region": 3 + len(FIELDS), "contrast": 4 + len(FIELDS)}
_NO_PROCEDURE, _LONG_CELL, _READ = 5 + len(FIELDS), 6 + len(FIELDS), 7 + len(FIELDS)


# --- parsing columns --------------------------------------------------------------------------

@dataclass
class _Coerced:
    typed: pa.Array | pa.ChunkedArray  # the field's type; NULL where empty or invalid
    invalid: np.ndarray | None  # per row: a non-empty value that is not acceptable (None: none)
    given: np.ndarray | None  # per row: the cell is not empty (only when asked for)
    outcome: ColumnOutcome = field(default_factory=ColumnOutcome)  # what the column decided
    text: pa.Array | None = None  # a typed column's text where refused (NULL elsewhere)


def _few_distinct(col: pa.ChunkedArray) -> bool:
    """Whether dictionary-encoding ``col`` pays off (judged on a sample)."""
    n = len(col)
    if n < 64:
        return False
    # Parsing (regex, dates) costs far more per value than hashing, so encode unless the
    # values look nearly all distinct.
    sample = col.take(pa.array(np.linspace(0, n - 1, min(n, 2048)).astype(np.int64)))
    return len(pc.unique(sample)) <= len(sample) * 3 // 4


def _coerce(f: Field, col: pa.ChunkedArray, want_given: bool = False,
            plan: ColumnPlan | None = None) -> _Coerced:
    """Parse one raw text column for field ``f`` (read as ``plan`` says: a profile's values
    and format, what earlier batches decided)."""
    if not pa.types.is_string(col.type):  # a typed column: preauth.ingest._typed
        typed, invalid, given, text = coerce_typed(f, col, want_given)
        return _Coerced(typed, invalid, given, text=text)
    if _few_distinct(col):
        encoded = pc.dictionary_encode(col)
        if len({len(c.dictionary) for c in encoded.chunks}) > 1:
            encoded = encoded.unify_dictionaries()
        values = encoded.chunk(0).dictionary

        def expand(arr: pa.Array) -> pa.Array | pa.ChunkedArray:
            return pa.chunked_array([arr.take(c.indices) for c in encoded.chunks], arr.type)
    else:
        values = flat(col)

        def expand(arr: pa.Array) -> pa.Array | pa.ChunkedArray:
            return arr

    trimmed = pc.utf8_trim(values, characters=TRIM)
    trimmed, typed_values, outcome = (plan or ColumnPlan(f, f.name, "")).read(trimmed)
    filled = pc.fill_null(pc.not_equal(trimmed, ""), False)
    invalid_values = pc.and_(filled, pc.is_null(typed_values))
    invalid = np_bool(expand(invalid_values)) if pc.any(invalid_values).as_py() else None
    given = np_bool(expand(filled)) if want_given else None
    typed = expand(typed_values)
    if outcome.checkbox:  # a NULL cell of a checkbox column is blank: no
        typed = pc.fill_null(typed, False)
    return _Coerced(typed, invalid, given, outcome)


def _long_mask(col: pa.ChunkedArray) -> np.ndarray | None:
    """Per row: the cell is longer than MAX_CELL_CHARS (None: no such cell)."""
    if len(col) == 0 or not pa.types.is_string(col.type):  # no typed value is that long
        return None
    longest = pc.max(pc.binary_length(col)).as_py()
    if longest is None or longest <= MAX_CELL_CHARS:  # bytes >= characters
        return None
    mask = np_bool(pc.greater(pc.utf8_length(col), MAX_CELL_CHARS))
    return mask if mask.any() else None


# --- collecting errors ------------------------------------------------------------------------

class _Errors:
    """Error lines collected check by check (vectorized per check), built by
    :func:`preauth.ingest.errors.error_rows`, listed by row and then by check."""

    def __init__(self, ids: pa.Array) -> None:
        self.ids = ids
        self.parts: list[tuple[np.ndarray, int, pa.Table]] = []
        self.bad = np.zeros(len(ids), dtype=bool)

    def add(self, order: int, mask: np.ndarray | None, column: str,
            values: pa.Array | pa.ChunkedArray | None,
            message: str | Callable[[pa.Array], pa.Array]) -> None:
        """Lines for the rows where ``mask``; ``values`` is indexed by row; ``message``: a
        string, or a function of the row indices returning one message per row."""
        if mask is None or not mask.any():
            return
        rows = np.flatnonzero(mask)
        take = pa.array(rows, pa.int64())
        text = message if isinstance(message, str) else message(take)
        lines = error_rows(rows + 1, self.ids.take(take), column,
                           None if values is None else values.take(take), text)
        self.add_table(order, rows, lines)

    def add_table(self, order: int, rows: np.ndarray, lines: pa.Table) -> None:
        """Lines already built, one per row index in ``rows``."""
        self.parts.append((rows, order, lines))
        self.bad[rows] = True

    def table(self) -> pa.Table:
        if not self.parts:
            return ERROR_SCHEMA.empty_table()
        rows = np.concatenate([p[0] for p in self.parts])
        order = np.concatenate([np.full(len(p[0]), p[1]) for p in self.parts])
        table = pa.concat_tables([p[2] for p in self.parts]).combine_chunks()
        return table.take(pa.array(np.lexsort((order, rows))))


# --- validate ---------------------------------------------------------------------------------

def validate(raw: RawTable, mapping: Mapping[str, str | None] | None = None,
             check_duplicates: bool = True, *,
             values: Mapping[str, Mapping[str, str]] | None = None,
             formats: Mapping[str, str] | None = None,
             decided: FileDecisions | None = None) -> IngestResult:
    """Map, coerce and check every row of ``raw`` (vectorized, column-wise).

    ``mapping`` (source header -> field name, or ``None`` to drop a column) overrides the
    proposed mapping. A mapping profile's ``values`` (field -> {source text: catalog text};
    a target ``""`` reads as not documented) are applied to a column's trimmed text before
    it is parsed - an exact match, else a case-insensitive one; its ``formats`` (field ->
    strptime format) say how a date column is written, and then every value must match
    (:mod:`preauth.ingest.reading`). Names of fields the file does not have are ignored.

    Raises :class:`~preauth.ingest.errors.IngestError` only for whole-file problems (no
    case_id column, a bad mapping or profile entry, a date column whose slash dates do not
    show their order: :class:`~preauth.ingest.errors.AmbiguousDates`, or show both:
    :class:`~preauth.ingest.errors.MixedDates`); row problems go to ``errors`` and reject just
    that row, or to ``warnings`` for a lenient field. ``check_duplicates=False`` leaves
    repeated case_ids to the caller, and ``decided`` carries what earlier batches of the file
    decided (a file validated in batches: :mod:`preauth.ingest.stream`).
    """
    name = raw.filename
    headers = raw.table.column_names
    check_headers(headers, name)
    final = resolve_mapping(headers, mapping, name)
    if "case_id" not in final.values():
        looked = ", ".join(("case_id", *FIELDS_BY_NAME["case_id"].synonyms))
        raise IngestError(f"{name}: no case_id column (looked for {looked}); map one of the "
                          "columns to case_id")
    checked_values, checked_formats = check_profile(values, formats, name)
    plans = {f: ColumnPlan(FIELDS_BY_NAME[f], h, name, checked_values.get(f),
                           checked_formats.get(f), raw.delimiter == ";",
                           decided or FileDecisions())
             for h, f in final.items()}
    n = raw.table.num_rows
    # text, or a column validated typed - unless a profile says how to read its values
    source: dict[str, pa.ChunkedArray] = {
        header: col if pa.types.is_string(col.type)
        or _typed_ok(plans[final[header]] if header in final else None, col)
        else text_column(col)
        for header, col in zip(headers, raw.table.columns, strict=True)}
    raw_of = {f: source[h] for h, f in final.items()}  # field -> raw text column
    ids, dup_of, coerced, long_cells = _parse_columns(source, raw_of, check_duplicates, plans)
    raw_of |= {f: c.text for f, c in coerced.items() if c.text is not None}  # typed: refused

    errors, warnings = _Errors(ids), _Errors(ids)
    errors.add(_REQUIRED, np_bool(pc.is_null(ids)), "case_id", raw_of["case_id"],
               "case_id is required but the cell is empty")
    if dup_of.any():
        errors.add_table(_DUPLICATE, np.flatnonzero(dup_of),
                         duplicate_errors(ids, raw_of["case_id"], dup_of))
    _value_errors(errors, warnings, coerced, raw_of, plans,
                  {final[h]: m for h, m in long_cells.items() if h in final})
    procedure = _procedure(errors, coerced, raw_of, n)
    for header, m in long_cells.items():
        errors.add(_LONG_CELL, m, final.get(header, header), source[header],
                   f"cell longer than {MAX_CELL_CHARS:,} characters")
    _add_read_errors(errors, raw, n)

    finals = {"case_id": ids, **procedure}
    schema = arrow_schema().append(pa.field("row", pa.int64()))
    arrays = [finals[f.name] if f.name in finals else _typed(coerced, f.name, n)
              for f in FIELDS]
    arrays.append(pa.array(np.arange(1, n + 1, dtype=np.int64)))
    accepted = pa.Table.from_arrays(arrays, schema=schema)
    if errors.bad.any():
        accepted = accepted.filter(pa.array(~errors.bad))
    warned = warnings.table()
    if warned.num_rows and errors.bad.any():  # warnings are about accepted rows only
        keep = ~errors.bad[warned["row"].to_numpy() - 1]
        warned = warned.filter(pa.array(keep))
    decisions = (decided or FileDecisions()).updated({f: c.outcome for f, c in coerced.items()})
    return IngestResult(
        accepted=accepted, errors=errors.table(), rows_in=n, rows_accepted=accepted.num_rows,
        rows_rejected=int(errors.bad.sum()), mapping=final,
        unmapped_columns=[h for h in headers if h not in final], filename=name,
        warnings=warned, notes=decisions.note_lines(), decisions=decisions)


def _typed_ok(plan: ColumnPlan | None, col: pa.ChunkedArray) -> bool:
    """Whether ``col`` is validated in its typed form (:mod:`preauth.ingest._typed`): its type
    holds the field's values and no profile maps its values or gives its date format (those
    apply to text)."""
    if plan is not None and (plan.values or plan.date_format is not None):
        return False
    return reads_typed(None if plan is None else plan.field, col)


def _parse_columns(source: dict[str, pa.ChunkedArray], raw_of: dict[str, pa.ChunkedArray],
                   check_duplicates: bool, plans: dict[str, ColumnPlan]
                   ) -> tuple[pa.Array, np.ndarray, dict[str, _Coerced], dict[str, np.ndarray]]:
    """(clean case_ids, :func:`duplicate_of` per row, the parsed mapped fields, the long-cell
    masks by header), the columns parsed in parallel threads (each read as ``plans`` say)."""
    n = len(raw_of["case_id"])
    with ThreadPoolExecutor(max_workers=workers()) as pool:
        futures = {f: pool.submit(_coerce, FIELDS_BY_NAME[f], col, f in _PROCEDURE, plans[f])
                   for f, col in raw_of.items() if f != "case_id"}
        long_futures = {h: pool.submit(_long_mask, col) for h, col in source.items()}
        ids = clean_ids(raw_of["case_id"])
        dup_of = (pool.submit(duplicate_of, ids).result() if check_duplicates
                  else np.zeros(n, dtype=np.int64))
        coerced = {f: fut.result() for f, fut in futures.items()}
        long_cells = {h: m for h, fut in long_futures.items() if (m := fut.result()) is not None}
    return ids, dup_of, coerced, long_cells


def _value_errors(errors: _Errors, warnings: _Errors, coerced: dict[str, _Coerced],
                  raw_of: dict[str, pa.ChunkedArray], plans: dict[str, ColumnPlan],
                  long_by_field: dict[str, np.ndarray]) -> None:
    """``<field> must be <what the column accepts>, got '<value>'`` for each refused value
    (an over-long one is reported once, as a long cell); in a lenient field a warning
    ``<field> '<value>' is not <what it accepts> - read as not documented`` instead."""
    for f in FIELDS:
        c = coerced.get(f.name)
        if c is None or c.invalid is None:
            continue
        invalid = c.invalid
        if f.name in long_by_field:
            invalid = invalid & ~long_by_field[f.name]
        col, expected = raw_of[f.name], plans[f.name].expected()
        if f.lenient:
            warnings.add(_FIELD_ORDER[f.name], invalid, f.name, col,
                         partial(_not_documented, f, expected, col))
        else:
            errors.add(_FIELD_ORDER[f.name], invalid, f.name, col,
                       partial(_refused, f, expected, col))


def _refused(f: Field, expected: str, col: pa.ChunkedArray, take: pa.Array) -> pa.Array:
    """``<field> must be <what the column accepts>, got '<value>'`` for rows ``take``."""
    return pc.binary_join_element_wise(
        f"{f.name} must be {expected}, got ",
        quoted(pc.utf8_trim(col.take(take), characters=TRIM)), "")


def _not_documented(f: Field, expected: str, col: pa.ChunkedArray, take: pa.Array
                    ) -> pa.Array:
    """``<field> '<value>' is not <what it accepts> — read as not documented``."""
    return pc.binary_join_element_wise(
        f"{f.name} ", quoted(pc.utf8_trim(col.take(take), characters=TRIM)),
        f" is not {expected} — read as not documented", "")


def _typed(coerced: dict[str, _Coerced], field_name: str, n: int) -> pa.Array | pa.ChunkedArray:
    c = coerced.get(field_name)
    return c.typed if c is not None else pa.nulls(n, _ARROW_TYPES[field_name])


def _mask(coerced: dict[str, _Coerced], field_name: str, attr: str, n: int) -> np.ndarray:
    c = coerced.get(field_name)
    m = getattr(c, attr) if c is not None else None
    return m if m is not None else np.zeros(n, dtype=bool)


def _procedure(errors: _Errors, coerced: dict[str, _Coerced],
               raw_of: dict[str, pa.ChunkedArray], n: int) -> dict[str, pa.Array]:
    """CPT code, region and contrast: what is missing derived from the rest, contradictions
    and rows naming no procedure rejected. Returns the three final columns."""
    cpt, region, contrast = (flat(_typed(coerced, f, n)) for f in _PROCEDURE)
    code_index = pc.index_in(cpt, value_set=_CODES)
    derived = {"region": _REGION_BY_CODE.take(code_index),
               "contrast": _CONTRAST_BY_CODE.take(code_index)}
    for name, given in (("region", region), ("contrast", contrast)):
        conflict = np_bool(pc.not_equal(given, derived[name]))
        errors.add(_CONFLICT[name], conflict, name, raw_of.get(name),
                   partial(_contradiction, name, given, derived[name], cpt))
    pair = pc.add(pc.multiply(pc.index_in(region, value_set=pa.array(_REGIONS)),
                              len(_CONTRASTS)),
                  pc.index_in(contrast, value_set=pa.array(_CONTRASTS)))
    cpt_given = _mask(coerced, "cpt_code", "given", n)
    no_procedure = (~cpt_given & np_bool(pc.or_(pc.is_null(region), pc.is_null(contrast)))
                    & ~_mask(coerced, "region", "invalid", n)
                    & ~_mask(coerced, "contrast", "invalid", n))
    errors.add(_NO_PROCEDURE, no_procedure, "cpt_code", raw_of.get("cpt_code"),
               "no requested procedure: give cpt_code (or region and contrast)")
    return {
        "cpt_code": pc.if_else(pa.array(cpt_given), cpt,
                               pc.coalesce(cpt, _CODE_BY_PAIR.take(pair))),
        "region": pc.coalesce(region, derived["region"]),
        "contrast": pc.coalesce(contrast, derived["contrast"]),
    }


def _contradiction(name: str, given: pa.Array, derived: pa.Array, cpt: pa.Array,
                   take: pa.Array) -> pa.Array:
    """``region 'cervical' contradicts cpt_code 72148 (lumbar)`` for rows ``take``."""
    return pc.binary_join_element_wise(
        f"{name} '", given.take(take), "' contradicts cpt_code ", cpt.take(take),
        " (", derived.take(take), ")", "")


def _add_read_errors(errors: _Errors, raw: RawTable, n: int) -> None:
    """The problems the reader found in single rows (a CSV row with the wrong number of
    cells, a NUL byte, a repeated JSON key, text that is not UTF-8)."""
    read_errors = [e for e in raw.read_errors if 0 < e[0] <= n]
    if not read_errors:
        return
    rows = np.array([e[0] - 1 for e in read_errors], dtype=np.int64)
    lines = error_rows(rows + 1, errors.ids.take(pa.array(rows, pa.int64())),
                       [e[1] for e in read_errors], pa.array([e[2] for e in read_errors],
                                                             pa.string()),
                       pa.array([e[3] for e in read_errors], pa.string()))
    errors.add_table(_READ, rows, lines)
