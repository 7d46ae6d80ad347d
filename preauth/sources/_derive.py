"""Package-internal: the vectorized derivation of fields from a column of diagnosis codes.

A column of a million requests holds far fewer distinct cells (a few tens of thousands: the
same codes, written alike), and what a cell derives for a field does not depend on the row -
only whether the row's own cell of that field is empty does (an explicit value wins). So each
distinct cell is derived once, as if every field were empty, and its results are given to the
rows holding it, field by field, where the row's own cell is empty (:func:`derive`).

For the cells, items are (cell, field, value) derivations of one code; they are grouped by
(cell, field) with numpy (sorts on integer keys, ``reduceat``); the rows get theirs by integer
gathers. Never a loop over rows. See :func:`preauth.sources.codes.derive_from_codes` for the
rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.fields import FIELDS_BY_NAME
from preauth.catalog.schema import ARROW_TYPES, PROVENANCE_TYPE
from preauth.catalog.values import value_text
from preauth.sources._vector import Matcher, Tokens

__all__ = ["PROVENANCE_TYPE", "WARNING_SCHEMA", "derive"]

WARNING_SCHEMA = pa.schema([("row", pa.int64()), ("column", pa.string()),
                            ("value", pa.string()), ("message", pa.string())])
_SHOWN = 40  # characters of a malformed token quoted in a warning


@dataclass(frozen=True)
class _Items:
    """One item per (row, field, code) derivation whose field is empty in that row, sorted
    by row, field and position in the cell; ``starts`` are the first items of the (row,
    field) groups."""

    row: np.ndarray
    field: np.ndarray
    value: np.ndarray
    pos: np.ndarray  # token index
    deriv: np.ndarray  # index of the (word, entry, field) derivation: its citation
    starts: np.ndarray
    conflict: np.ndarray  # per group: its codes give different values

    @property
    def g_row(self) -> np.ndarray:
        return self.row[self.starts]

    @property
    def g_field(self) -> np.ndarray:
        return self.field[self.starts]

    def group_of_items(self) -> np.ndarray:
        mark = np.zeros(len(self.row), np.int64)
        mark[self.starts] = 1
        return np.cumsum(mark) - 1


def _word_derivations(t: Tokens, m: Matcher) -> tuple[np.ndarray, ...]:
    """Per (valid word, entry, derived field), sorted by word: word, entry, field, value."""
    w, e = m.match(t.key)
    keep = t.valid[w]
    w, e = w[keep], e[keep]
    which, f, v = m.derivations(e)
    w, e = w[which], e[which]
    order = np.argsort(w, kind="stable")
    return w[order], e[order], f[order], v[order]


class _Empty:
    """Per field: whether the field's own cell is empty, row by row (a missing or all-NULL
    column: every row, ``None`` - no array is made for it)."""

    def __init__(self, table: pa.Table, m: Matcher) -> None:
        self.table, self.m = table, m
        self._masks: dict[int, np.ndarray | None] = {}

    def __call__(self, k: int) -> np.ndarray | None:
        if k not in self._masks:
            name, n = self.m.fields[k], self.table.num_rows
            col = self.table.column(name) if name in self.table.column_names else None
            if col is None or col.null_count == n or not self.m.values[k]:
                self._masks[k] = None
            elif col.null_count == 0:
                self._masks[k] = np.zeros(n, bool)
            else:
                self._masks[k] = col.is_null().to_numpy(zero_copy_only=False)
        return self._masks[k]

    def at(self, field: np.ndarray, row: np.ndarray) -> np.ndarray:
        """Whether the own cell of ``field[i]`` is empty in ``row[i]``."""
        out = np.ones(len(row), bool)
        for k in np.unique(field):
            mask = self(int(k))
            if mask is not None:
                which = field == k
                out[which] = mask[row[which]]
        return out


def _stable(key: np.ndarray) -> np.ndarray:
    # Timsort: the keys are already nearly in order (rows ascend), so this is close to linear.
    return np.argsort(key, kind="stable")


def _items(t: Tokens, m: Matcher, empty: np.ndarray, cites: list[pa.Array]) -> _Items:
    w, e, f, v = _word_derivations(t, m)
    cites.append(pc.binary_join_element_wise(
        "ICD-10-CM ", t.code.take(pa.array(w)), m.suffix.take(pa.array(e)), ""))
    per_word = np.bincount(w, minlength=len(t.words))
    first = np.concatenate([[0], np.cumsum(per_word)])[:-1]
    counts = per_word[t.word]  # derivations per token, tokens in (row, position) order
    token = np.repeat(np.arange(len(t.word)), counts)
    d = np.repeat(first[t.word], counts) + (
        np.arange(len(token)) - np.repeat(np.cumsum(counts) - counts, counts))
    row, field = t.row[token], f[d]
    # An explicit value in the field's own column wins: drop those items first.
    open_ = empty[field, row]
    token, d, row, field = token[open_], d[open_], row[open_], field[open_]
    # A code written twice in a cell (G83.4, g834) counts once: drop repeats of (row, field,
    # code, entry), the code compared in its normal form.
    key_id = pc.dictionary_encode(t.key).indices.to_numpy(zero_copy_only=False).astype(np.int64)
    n_fields, n_entries = len(m.fields), len(m.code_list.entries)
    _, same = np.unique((key_id[w] * n_entries + e) * n_fields + f, return_inverse=True)
    group_key = row * n_fields + field
    k1 = group_key * max(len(w), 1) + same.reshape(-1)[d]
    o = _stable(k1)
    dup = np.zeros(len(o), bool)
    dup[o[1:]] = k1[o][1:] == k1[o][:-1]
    keep = np.flatnonzero(~dup)  # still in (row, position) order
    o = keep[_stable(group_key[keep])]  # (row, field, position)
    row, field, token, d = row[o], field[o], token[o], d[o]
    value = v[d]
    first_of_group = np.ones(len(row), bool)
    first_of_group[1:] = (row[1:] != row[:-1]) | (field[1:] != field[:-1])
    starts = np.flatnonzero(first_of_group)
    conflict = (np.minimum.reduceat(value, starts) != np.maximum.reduceat(value, starts)) \
        if len(starts) else np.zeros(0, bool)
    return _Items(row, field, value, token, d, starts, conflict)


def derive(table: pa.Table, column: str, t: Tokens, m: Matcher, cell_of: np.ndarray,
           n_cells: int) -> tuple[pa.Table, pa.Array, pa.Table, dict[str, int]]:
    """(table with the derived values, provenance, warnings, rows filled per field).

    ``t``: the tokens of the column's ``n_cells`` distinct cells; ``cell_of``: each row's
    cell (int32, -1 where the row has none)."""
    cites: list[pa.Array] = []
    items = _items(t, m, np.ones((len(m.fields), n_cells), bool), cites)
    keep = ~items.conflict
    # per field and cell: the value derived (-1: none, or its codes disagree); the last
    # column, which cell_of -1 picks, is a row without codes
    value = np.full((len(m.fields), n_cells + 1), -1, np.int32)
    kept = np.flatnonzero(keep)
    value[items.g_field[kept], items.g_row[kept]] = items.value[items.starts[kept]]
    empty = _Empty(table, m)
    out, derived, blocked = _fill(table, m, value, cell_of, empty)
    cells = _provenance(n_cells, m, items, keep, cites[0])
    provenance = _rows_provenance(cells, items.g_field[keep], cell_of, empty, blocked)
    warnings = pa.concat_tables([_malformed(t, column),
                                 _conflicts(items, items.conflict, m, t, column)])
    warnings = warnings.sort_by([("row", "ascending"), ("pos", "ascending")])
    return out, provenance, _rows_warnings(warnings, cell_of, n_cells, empty), derived


def _fill(table: pa.Table, m: Matcher, value: np.ndarray, cell_of: np.ndarray,
          empty: _Empty) -> tuple[pa.Table, dict[str, int], bool]:
    """(the table with each field's derived values where its own cell is empty, rows filled
    per field, whether some row's own value stood where its codes derive one)."""
    n = table.num_rows
    derived: dict[str, int] = {}
    blocked = False
    for k, name in enumerate(m.fields):
        has = value[k] >= 0
        if not has.any():
            continue
        fill = has[cell_of]
        own_empty = empty(k)
        if own_empty is not None:
            blocked = blocked or bool((fill & ~own_empty).any())
            fill &= own_empty
        count = int(fill.sum())
        if not count:
            continue
        values = pa.array(m.values[k], ARROW_TYPES[FIELDS_BY_NAME[name].kind])
        if len(values) == 1:  # one value (yes): no per-row index
            filled = pc.if_else(pa.array(fill), values[0], pa.scalar(None, values.type))
        else:
            filled = values.take(pa.array(value[k][cell_of], mask=~fill))
        derived[name] = count
        if name in table.column_names:
            i = table.column_names.index(name)
            own = table.column(name)
            if own.null_count < n:  # an own value wins: fill the rest
                filled = pc.coalesce(own.combine_chunks(), filled)
            table = table.set_column(i, table.schema.field(i), filled)
        else:
            table = table.append_column(pa.field(name, values.type), filled)
    return table, derived, blocked


def _provenance(n: int, m: Matcher, items: _Items, keep: np.ndarray,
                cites: pa.Array) -> pa.Array:
    """Per cell: field -> the citations of its codes (the groups ``keep`` holds)."""
    kept = keep[items.group_of_items()] if len(items.row) else np.zeros(0, bool)
    texts = cites.take(pa.array(items.deriv[kept], pa.int64()))
    sizes = np.diff(np.append(items.starts, len(items.row)))[keep]
    item_offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int32)
    keys = pa.array(m.fields, pa.string()).take(pa.array(items.g_field[keep], pa.int64()))
    lists = pa.ListArray.from_arrays(pa.array(item_offsets, pa.int32()), texts)
    counts = np.bincount(items.g_row[keep], minlength=n)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.MapArray.from_arrays(pa.array(offsets, pa.int32()), keys, lists,
                                   type=PROVENANCE_TYPE, mask=pa.array(counts == 0))


def _expand(per_cell: np.ndarray, cell_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For parts listed per cell (``per_cell``: how many each cell has, in cell order, and a
    last 0 for rows without a cell): ``(row, part)`` of every part of every row, rows
    ascending, parts in cell order."""
    counts = per_cell[cell_of]
    rows = np.flatnonzero(counts)  # only the rows that have parts
    counts = counts[rows]
    first = np.concatenate([[0], np.cumsum(per_cell[:-1])])[cell_of[rows]]
    row = np.repeat(rows, counts)
    within = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    return row, np.repeat(first, counts) + within


def _rows_provenance(cells: pa.MapArray, entry_field: np.ndarray, cell_of: np.ndarray,
                     empty: _Empty, blocked: bool) -> pa.Array:
    """Each row's cell's provenance, without the fields whose own cell the row fills."""
    if not blocked:
        return cells.take(pa.array(cell_of, mask=cell_of < 0))
    row, entry = _expand(np.append(np.diff(cells.offsets.to_numpy()), 0), cell_of)
    mine = empty.at(entry_field[entry], row)
    row, entry = row[mine], entry[mine]
    counts = np.bincount(row, minlength=len(cell_of))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    at = pa.array(entry, pa.int64())
    return pa.MapArray.from_arrays(pa.array(offsets, pa.int32()), cells.keys.take(at),
                                   cells.items.take(at), type=PROVENANCE_TYPE,
                                   mask=pa.array(counts == 0))


def _rows_warnings(cells: pa.Table, cell_of: np.ndarray, n_cells: int,
                   empty: _Empty) -> pa.Table:
    """The warnings of each row's cell (by row, then position in the cell), without those
    about a field whose own cell the row fills."""
    if not cells.num_rows:
        return WARNING_SCHEMA.empty_table()
    per_cell = np.bincount(cells.column("row").to_numpy(), minlength=n_cells + 1)
    row, part = _expand(per_cell, cell_of)
    field = cells.column("field").to_numpy()[part]
    mine = field < 0
    about = np.flatnonzero(~mine)
    mine[about] = empty.at(field[about], row[about])
    at = pa.array(part[mine], pa.int64())
    return pa.table({"row": pa.array(row[mine], pa.int64()),
                     "column": cells.column("column").take(at),
                     "value": cells.column("value").take(at),
                     "message": cells.column("message").take(at)}, schema=WARNING_SCHEMA)


def _shown(value: str) -> str:
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in value)
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN - 1] + "…")


def _warnings(row: np.ndarray, pos: np.ndarray, column: str, values: pa.Array,
              messages: pa.Array, field: np.ndarray | None = None) -> pa.Table:
    """Warnings of cells: ``row`` is the cell, ``pos`` the token, ``field`` the field a
    warning is about (-1: the code itself)."""
    return pa.table({"row": pa.array(row, pa.int64()),
                     "column": pa.array(np.full(len(row), column, object), pa.string()),
                     "value": values, "message": messages, "pos": pa.array(pos, pa.int64()),
                     "field": pa.array(np.full(len(row), -1, np.int64) if field is None
                                       else field, pa.int64())})


def _malformed(t: Tokens, column: str) -> pa.Table:
    """One warning per malformed token (the message is built once per distinct word)."""
    bad_words = np.flatnonzero(~t.valid)
    message = np.full(len(t.words), None, object)
    for w, text in zip(bad_words, t.words.take(pa.array(bad_words, pa.int64())).to_pylist(),
                       strict=True):
        message[w] = f"{column} {_shown(text)} is not an ICD-10-CM code — ignored"
    bad = np.flatnonzero(~t.valid[t.word])
    words = pa.array(t.word[bad], pa.int64())
    return _warnings(t.row[bad], bad, column, t.words.take(words),
                     pa.array(message, pa.string()).take(words))


def _conflicts(items: _Items, which: np.ndarray, m: Matcher, t: Tokens,
               column: str) -> pa.Table:
    """One warning per (row, field) whose codes disagree (its own column being empty)."""
    rows, pos, names, messages, fields = [], [], [], [], []
    ends = np.append(items.starts[1:], len(items.row))
    for g in np.flatnonzero(which):
        lo, hi = items.starts[g], ends[g]
        k = int(items.field[lo])
        said: dict[int, str] = {}
        for i in range(lo, hi):
            said.setdefault(int(items.value[i]), t.code[int(t.word[items.pos[i]])].as_py())
        disagree = ", ".join(f"{code} gives {value_text(m.values[k][v])}"
                             for v, code in sorted(said.items()))
        rows.append(int(items.row[lo]))
        pos.append(int(items.pos[lo]))
        fields.append(k)
        names.append(m.fields[k])
        messages.append(f"{column}: {m.fields[k]} not derived — the codes disagree "
                        f"({disagree}); left not documented")
    return _warnings(np.array(rows, np.int64), np.array(pos, np.int64), column,
                     pa.array(names, pa.string()), pa.array(messages, pa.string()),
                     np.array(fields, np.int64))
