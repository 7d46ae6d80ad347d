"""Generated reference documents: the field reference (docs/fields.md) and the CSV upload
template (data/template.csv), both from the field catalog. Regenerate with
``python -m preauth.catalog.docs``; a test fails when the committed files are stale."""

from __future__ import annotations

import sys
from pathlib import Path

from preauth.catalog.fields import FIELDS, GROUPS, Kind, fields_in

__all__ = ["fields_markdown", "template_csv", "write_all"]

ROOT = Path(__file__).resolve().parents[2]


def fields_markdown() -> str:
    lines = [
        "# Case fields",
        "",
        ("<!-- Generated from preauth/catalog/fields.py by `python -m preauth.catalog.docs`; "
         "do not edit. -->"),
        "",
        "One row = one spine MRI prior-authorization request. Column names are the public",
        "contract for uploads, the CLI, the case model and criteria expressions. Header",
        "matching is case- and whitespace-insensitive; the synonyms listed are also",
        "recognised. **An empty cell means *not documented*** (SQL NULL): a criterion that",
        "needs it is *undocumented*, not false. Booleans accept true/false, yes/no, y/n, 1/0",
        "in any case; a column whose filled cells are all `X` (or ✓) is a checkbox column:",
        "X = yes, blank = no. Dates: `YYYY-MM-DD`, `D.M.YYYY`, and `M/D/YYYY` or `D/M/YYYY`",
        "when the column shows which (a day over 12 somewhere in it; otherwise a mapping",
        "profile's `formats:` says). In a semicolon-delimited file `6,5` is 6.5.",
        "",
        "Fields marked *added* are not in the shared case-schema contract; they were added",
        "because a modelled payer policy needs them (the reason is given).",
        "",
        "**Red flags** (the whole Red flags group, and fields marked *red flag* elsewhere)",
        "are what the *reviewer* reading of silence (`--reading reviewer`, and the toggle in",
        "the explorer and on the Upload page) reads as absent when a record leaves them",
        "empty, as a utilization reviewer reads a chart that does not mention them. Under",
        "the default *strict* reading every empty field is not documented.",
        "",
    ]
    for group, title in GROUPS.items():
        members = fields_in(group)
        if not members:
            continue
        lines += [f"## {title}", "", "| column | type / values | meaning |", "|---|---|---|"]
        for f in members:
            notes = [f.help]
            if f.required:
                notes.append("**Required.**")
            if f.derived:
                notes.append("Derived when absent.")
            if f.unit and f.kind in (Kind.INTEGER, Kind.NUMBER):
                unit = f"out of {f.unit[1:]}" if f.unit.startswith("/") else f.unit
                notes.append(f"Unit: {unit}.")
            if f.synonyms:
                notes.append("Also read from: " + ", ".join(f"`{s}`" for s in f.synonyms) + ".")
            if f.value_synonyms:
                notes.append("Other spellings read: " + ", ".join(
                    f"{spelling.replace('_', ' ')} → {value}"
                    for spelling, value in f.value_synonyms) + ".")
            if f.lenient:
                notes.append("*Lenient:* a value it does not accept is read as not documented, "
                             "with a warning; the row is kept.")
            if f.red_flag:
                notes.append("*Red flag:* read as absent when empty under the reviewer "
                             "reading.")
            if f.added:
                notes.append(f"*Added:* {f.added}")
            meaning = " ".join(notes).replace("|", "\\|")
            lines.append(f"| `{f.name}` | {f.describe_type()} | {meaning} |")
        lines.append("")
    return "\n".join(lines)


def template_csv() -> str:
    header = ",".join(f.name for f in FIELDS)
    example = {
        "case_id": "REQ-0001", "request_date": "2026-01-15", "carrier": "Example Health",
        "cpt_code": "72148", "region": "", "contrast": "", "age": "47", "sex": "F",
        "symptom_weeks": "9", "conservative_therapy_weeks": "7", "physical_therapy": "yes",
        "medication_trial": "yes", "radiculopathy": "yes", "neuro_deficit": "no",
        "surgical_candidate": "yes", "trauma": "none", "prior_spine_surgery_region": "none",
        "diagnosis_codes": "M54.16",
    }
    row = ",".join(example.get(f.name, "") for f in FIELDS)
    return header + "\n" + row + "\n"


def write_all(root: Path = ROOT) -> list[Path]:
    out = [(root / "docs" / "fields.md", fields_markdown()),
           (root / "data" / "template.csv", template_csv())]
    for path, text in out:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return [p for p, _ in out]


if __name__ == "__main__":  # pragma: no cover
    for p in write_all():
        print(f"wrote {p}", file=sys.stderr)
