"""Package-internal: Arrow kernels that read a diagnosis-code column and match it to a list.

No per-row Python. A column is split into tokens (one list per row, flattened with the row of
each token: at ASCII white space over the column, then at the other separators once per
distinct piece); the tokens are dictionary-encoded, so the string work — trimming, upper-casing,
the well-formedness check, the dotless and dotted forms and the look-ups against the list
(``index_in``: once against its exact codes, once per prefix length against its ``*`` entries
and range members) — is done once per distinct token, and each token carries an integer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.values import TRIM
from preauth.sources._codelist import DERIVABLE, CodeList

__all__ = ["Matcher", "Tokens", "tokens"]

# Separators between codes: comma, semicolon, |, and any white space (with the NBSP and
# vertical tab the catalog trims from values; a byte-order mark is trimmed from each token).
SEPARATORS = r"[,;|\s\x{00A0}\x0B]+"
# A well-formed token, after upper-casing: letter, digit, letter or digit, then optionally a
# dot and 1-4 letters or digits (the dot may be left out).
TOKEN = r"^[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$"


@dataclass(frozen=True)
class Tokens:
    """The non-empty tokens of a column, in row order: ``row`` and ``word`` of each; per
    distinct word: the text as written (``words``), whether it is ``valid``, its dotless
    upper-case ``key`` and its dotted ``code`` (``G83.4``)."""

    row: np.ndarray  # int64, per token
    word: np.ndarray  # int64, per token: index into words
    words: pa.Array  # string, per word
    valid: np.ndarray  # bool, per word
    key: pa.Array  # string, per word
    code: pa.Array  # string, per word


def _np(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return array.to_numpy(zero_copy_only=False)


def tokens(column: pa.Array) -> Tokens:
    """Split a string column (NULL = no codes) into its tokens."""
    # ASCII white space first (a fast kernel over the whole column), then the other
    # separators, trimming and dropping empty parts once per distinct piece.
    lists = pc.ascii_split_whitespace(column)
    row = _np(pc.list_parent_indices(lists)).astype(np.int64)
    coarse = pc.dictionary_encode(pc.list_flatten(lists))
    piece = _np(coarse.indices).astype(np.int64)
    parts = pc.split_pattern_regex(coarse.dictionary, SEPARATORS)
    parent = _np(pc.list_parent_indices(parts)).astype(np.int64)
    text = pc.utf8_trim(pc.list_flatten(parts), TRIM)
    nonempty = _np(pc.not_equal(text, ""))
    parent, text = parent[nonempty], text.filter(pa.array(nonempty))
    counts = np.bincount(parent, minlength=len(coarse.dictionary))
    encoded = pc.dictionary_encode(text)
    part_word = _np(encoded.indices).astype(np.int64)
    first = (np.cumsum(counts) - counts)[piece]
    per_piece = counts[piece]
    if (per_piece == 1).all():  # the usual case: one code between white space
        word = part_word[first]
    else:
        offsets = np.cumsum(per_piece) - per_piece
        part = np.repeat(first - offsets, per_piece) + np.arange(int(per_piece.sum()))
        row, word = np.repeat(row, per_piece), part_word[part]
    words = encoded.dictionary
    upper = pc.utf8_upper(words)
    valid = _np(pc.fill_null(pc.match_substring_regex(upper, TOKEN), False))
    key = pc.replace_substring(upper, ".", "")
    long = pc.greater(pc.utf8_length(key), 3)
    code = pc.if_else(long, pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(key, 0, 3), pc.utf8_slice_codeunits(key, 3), "."), key)
    return Tokens(row, word, words, valid, key, code)


class Matcher:
    """A code list compiled for look-ups: which entries cover a key, and what each derives."""

    def __init__(self, code_list: CodeList) -> None:
        self.code_list = code_list
        entries = code_list.entries
        exact = [(m, i) for i, e in enumerate(entries) if e.kind == "code" for m in e.members]
        by_length: dict[int, list[tuple[str, int]]] = {0: exact}
        for i, e in enumerate(entries):
            if e.kind != "code":
                for m in e.members:
                    by_length.setdefault(len(m), []).append((m, i))
        # length 0: exact codes; n > 0: prefixes of n characters
        self._lookups = [(n, pa.array([m for m, _ in pairs], pa.string()),
                          np.array([i for _, i in pairs], np.int64))
                         for n, pairs in sorted(by_length.items()) if pairs]
        # Derivations: entry i derives deriv_field/deriv_value[offsets[i]:offsets[i + 1]].
        self.fields = tuple(f.name for f in DERIVABLE)
        field_id = {name: k for k, name in enumerate(self.fields)}
        self.values: list[list[object]] = [[] for _ in self.fields]  # per field, its values
        fids, vids, counts = [], [], []
        for e in entries:
            counts.append(len(e.derives))
            for name, value in e.derives:
                k = field_id[name]
                if value not in self.values[k]:
                    self.values[k].append(value)
                fids.append(k)
                vids.append(self.values[k].index(value))
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.deriv_field = np.array(fids, np.int64)
        self.deriv_value = np.array(vids, np.int64)
        self.suffix = pa.array([e.suffix for e in entries], pa.string())

    def match(self, key: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """(key index, entry index) for every entry covering each key."""
        positions, entries = [], []
        for n, keys, entry_of in self._lookups:
            probe = key if n == 0 else pc.utf8_slice_codeunits(key, 0, n)
            found = _np(pc.fill_null(pc.index_in(probe, value_set=keys), -1))
            hit = np.flatnonzero(found >= 0)
            positions.append(hit)
            entries.append(entry_of[found[hit]])
        return np.concatenate(positions), np.concatenate(entries)

    def derivations(self, entries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For matches of ``entries``: (match index, field id, value id) of every derivation."""
        counts = self.offsets[entries + 1] - self.offsets[entries]
        which = np.repeat(np.arange(len(entries)), counts)
        within = np.arange(len(which)) - np.repeat(np.cumsum(counts) - counts, counts)
        d = np.repeat(self.offsets[entries], counts) + within
        return which, self.deriv_field[d], self.deriv_value[d]
