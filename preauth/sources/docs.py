"""The generated reference of the ICD-10-CM code list: ``docs/codes.md``, from
``codes/icd10.yaml``. Regenerate with ``python -m preauth.sources.docs``; a test fails when the
committed file is stale (so every code of the list is in it)."""

from __future__ import annotations

import sys
from pathlib import Path

from preauth.catalog.fields import FIELDS_BY_NAME
from preauth.catalog.values import value_text
from preauth.sources.codes import DEFAULT_CODE_LIST, DERIVABLE_FIELDS, CodeList, load_code_list

__all__ = ["codes_markdown", "write_codes_doc"]

ROOT = Path(__file__).resolve().parents[2]

_INTRO = """\
# ICD-10-CM codes as evidence

<!-- Generated from codes/icd10.yaml by `python -m preauth.sources.docs`; do not edit. -->

A case's `diagnosis_codes` column (also read from headers such as *Dx Codes*, *ICD10*,
*Diagnoses*) holds ICD-10-CM codes. The cited list [`codes/icd10.yaml`](../codes/icd10.yaml)
says which codes document which case field; `preauth.sources.codes` applies it to every row.

## Rules

- **Writing codes.** Codes are separated by commas, semicolons, white space or `|`, with or
  without the dot, in any case: `G83.4; m5416 | Z85.3` reads as G83.4, M54.16, Z85.3. A code
  is a letter, a digit, a letter or digit, then optionally a dot and 1–4 letters or digits
  (`C7A.1`, `M80.08XA`).
- **Malformed → warning.** A token that is not such a code (`M54.X6Q!`, `n/a`) is a warning
  naming the value — *diagnosis_codes 'M54.X6Q!' is not an ICD-10-CM code — ignored* — and the
  row is kept.
- **Own column wins.** A code fills a field only when that field's own column is empty (not
  documented). An explicit value in the column — even *no* — is kept.
- **Non-specific codes derive nothing.** Pain (low back pain, cervicalgia), sciatica, a gait
  abnormality or a fracture without its mechanism say less than the fields mean; they are
  listed below as deriving nothing, so the list records the decision. A code that is not on
  the list derives nothing either.
- **Disagreeing codes derive nothing.** When the codes of one row derive different values for
  one field, none is used: the field stays not documented and a warning names the codes.
  (The bundled list never does this: two entries that can match one code may not derive the
  same field — the loader refuses it.)
- **Provenance.** Each derived value carries where it came from — the code as written in the
  row, in its dotted form, and the list entry's official title — e.g. *ICD-10-CM G83.4 Cauda
  equina syndrome*, or *ICD-10-CM M54.16 (M54.1- Radiculopathy)* for a code under a `*` entry.
  The explorer shows it, the determination letter cites it ("Cauda equina signs: yes — from
  ICD-10-CM G83.4 Cauda equina syndrome") and JSON output carries it as `provenance`.

## The list's format

```yaml
sources:                      # every source an entry cites: text and url
  icd10cm_fy2026: {text: "ICD-10-CM FY2026 …", url: "https://…"}
codes:
  - code: G83.4               # one code, in the dotted form
    title: Cauda equina syndrome        # its official ICD-10-CM title
    source: icd10cm_fy2026    # a key of sources
    derives: {cauda_equina_signs: true} # field: value ({} = derives nothing)
    note: why                 # required when derives is {}
  - code: Z85.*               # the code and every code under it (also M54.1*)
  - range: M46.20-M46.28      # codes differing only in the last character, and codes under them
```

A `*` entry or a range carries the title of the category that holds its codes (Z85, M46.2).
A field a code may derive is a yes/no or category field of a case's clinical groups; the
value must be one the field accepts.

**Refused when the list is loaded**, with file, line and entry named: an unknown key or field
(with a suggestion), a value the field does not accept, a malformed code or range, a missing
title, source or note, a source not in `sources`, a key given twice, and two entries that can
match one code where both derive the same field (conflicting or not) or one derives nothing
and the other something.

## How to add a code

1. Find the code and its official title in the current ICD-10-CM Tabular List (CDC/NCHS
   files, or CMS's code descriptions in tabular order) — never from memory. Copy the title
   exactly.
2. Decide what it derives: only a field whose meaning the title (or an inclusion term of the
   Tabular List) states. Say why in `note`, quoting the inclusion term you rely on. When the
   code says less than any field, list it with `derives: {}` and a note.
3. Run `python -m preauth.sources.docs` to regenerate this page and `pytest tests/test_codes.py`.
"""


def _value(name: str, value: object) -> str:
    return f"`{name}` = {value_text(value)}"


def codes_markdown(code_list: CodeList | None = None) -> str:
    """The whole of ``docs/codes.md``: rules, format, and every entry of the list."""
    cl = code_list or load_code_list(DEFAULT_CODE_LIST)
    lines = [_INTRO, f"## The list: {cl.version}", "", "Sources:", ""]
    for s in cl.sources.values():
        lines.append(f"- `{s.key}`: {s.text} <{s.url}>" + (f" (files: <{s.files}>)"
                                                          if s.files else ""))
    lines += ["", "| code | official title | derives | why |", "|---|---|---|---|"]
    for e in cl.entries:
        derives = ", ".join(_value(n, v) for n, v in e.derives) or "nothing"
        note = e.note.replace("|", "\\|")
        lines.append(f"| {e.label} | {e.title} | {derives} | {note} |")
    lines += ["", "## Fields a code can fill", ""]
    for name in cl.derived_fields:
        codes = ", ".join(e.label for e in cl.entries if any(n == name for n, _ in e.derives))
        lines.append(f"- `{name}` ({FIELDS_BY_NAME[name].label}): {codes}")
    others = [f"`{n}`" for n in DERIVABLE_FIELDS if n not in cl.derived_fields]
    lines += ["", "No code on the list derives the other yes/no and category fields ("
              + ", ".join(others) + "); numbers, dates and the request's own fields are never "
              "derived from a code."]
    return "\n".join(lines) + "\n"


def write_codes_doc(root: Path = ROOT) -> Path:
    path = root / "docs" / "codes.md"
    path.write_text(codes_markdown(), encoding="utf-8")
    return path


if __name__ == "__main__":  # pragma: no cover
    print(f"wrote {write_codes_doc()}", file=sys.stderr)
