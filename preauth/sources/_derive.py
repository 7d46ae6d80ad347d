"""Package-internal: the vectorized derivation of fields from a column of diagnosis codes.

Items are (row, field, value) derivations of one code; they are grouped by (row, field) with
numpy (sorts on integer keys, ``reduceat``), never per row. See
:func:`preauth.sources.codes.derive_from_codes` for the rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.fields import FIELDS_BY_NAME
from preauth.catalog.schema import ARROW_TYPES
from preauth.catalog.values import value_text
from preauth.sources._vector import Matcher, Tokens

__all__ = ["PROVENANCE_TYPE", "WARNING_SCHEMA", "derive"]

PROVENANCE_TYPE = pa.map_(pa.string(), pa.list_(pa.string()))
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


def _empty_fields(table: pa.Table, m: Matcher) -> np.ndarray:
    """(field id, row) -> the field's own column is empty there (a missing column is)."""
    out = np.ones((len(m.fields), table.num_rows), bool)
    for k, name in enumerate(m.fields):
        if name in table.column_names and m.values[k]:
            out[k] = table.column(name).is_null().to_numpy(zero_copy_only=False)
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


def derive(table: pa.Table, column: str, t: Tokens,
           m: Matcher) -> tuple[pa.Table, pa.Array, pa.Table, dict[str, int]]:
    """(table with the derived values, provenance, warnings, rows filled per field)."""
    cites: list[pa.Array] = []
    items = _items(t, m, _empty_fields(table, m), cites)
    keep = ~items.conflict
    out, derived = _fill(table, m, items, keep)
    provenance = _provenance(table.num_rows, m, items, keep, cites[0])
    warnings = pa.concat_tables([_malformed(t, column),
                                 _conflicts(items, items.conflict, m, t, column)])
    warnings = warnings.sort_by([("row", "ascending"), ("pos", "ascending")]).drop_columns("pos")
    return out, provenance, warnings, derived


def _fill(table: pa.Table, m: Matcher, items: _Items,
          keep: np.ndarray) -> tuple[pa.Table, dict[str, int]]:
    n = table.num_rows
    derived: dict[str, int] = {}
    kept = np.flatnonzero(keep)
    g_field = items.g_field[kept]
    by_field = kept[np.argsort(g_field.astype(np.int16), kind="stable")]  # radix sort
    bounds = np.searchsorted(items.g_field[by_field], np.arange(len(m.fields) + 1))
    for k, name in enumerate(m.fields):
        groups = by_field[bounds[k]:bounds[k + 1]]
        if not len(groups):
            continue
        index = np.full(n, -1, np.int32)
        index[items.row[items.starts[groups]]] = items.value[items.starts[groups]]
        values = pa.array(m.values[k], ARROW_TYPES[FIELDS_BY_NAME[name].kind])
        filled = values.take(pa.array(index, mask=index < 0))
        derived[name] = len(groups)
        if name in table.column_names:
            i = table.column_names.index(name)
            own = table.column(name)
            if own.null_count < n:  # items with an own value were dropped: fill the rest
                filled = pc.coalesce(own.combine_chunks(), filled)
            table = table.set_column(i, table.schema.field(i), filled)
        else:
            table = table.append_column(pa.field(name, values.type), filled)
    return table, derived


def _provenance(n: int, m: Matcher, items: _Items, keep: np.ndarray,
                cites: pa.Array) -> pa.Array:
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


def _shown(value: str) -> str:
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in value)
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN - 1] + "…")


def _warnings(row: np.ndarray, pos: np.ndarray, column: str, values: pa.Array,
              messages: pa.Array) -> pa.Table:
    return pa.table({"row": pa.array(row, pa.int64()),
                     "column": pa.array(np.full(len(row), column, object), pa.string()),
                     "value": values, "message": messages, "pos": pa.array(pos, pa.int64())})


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
    rows, pos, names, messages = [], [], [], []
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
        names.append(m.fields[k])
        messages.append(f"{column}: {m.fields[k]} not derived — the codes disagree "
                        f"({disagree}); left not documented")
    return _warnings(np.array(rows, np.int64), np.array(pos, np.int64), column,
                     pa.array(names, pa.string()), pa.array(messages, pa.string()))
