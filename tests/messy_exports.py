"""Realistic utilization-management exports, built from the bundled data, for tests (the CLI's
and the Upload page's end-to-end ones) and the intake benchmark.

Each builder returns ``(bytes, filename)``, the same for the same arguments:

* :func:`us_export` - Windows-1252 CSV, CRLF: ``Request ID``, ``Date Requested`` (M/D/YYYY,
  not zero-padded), ``Procedure Code``, ``Payer``, ``Patient Age``, ``Gender``
  (Male/Female), ``Dx Codes`` (ICD-10-CM codes consistent with the row's clinical fields,
  written as people write them: any case, with or without the dot, separated by commas,
  semicolons, spaces or ``|``; now and then a token that is not a code), ``Symptom Weeks``,
  ``Neuro Deficit`` and ``PT Completed`` (Y/N), ``Status`` (Approved/Denied/Withdrawn/
  Pending), ``Peer to Peer`` (X or blank) and an unmapped ``Notes`` column with cp1252
  characters. The clinical yes/no columns the codes document (radiculopathy, cauda equina,
  cancer history, infection, myelopathy, osteoporosis, immunosuppression, degenerative
  disease) are left out: the codes supply them.
* :func:`eu_export` - UTF-8 with a BOM, ``;``-delimited: D.M.YYYY dates, decimal commas in
  the weeks columns, ``ICD-10`` codes, Yes/No, Approved/Rejected/Cancelled.
* :func:`xlsx_export` - either one as an Excel workbook (dates, ages and weeks as typed
  cells, the rest as text).

Planted problems (when the export has that many rows): data row :data:`BAD_CPT_ROW` has a
procedure code that is not a spine MRI and row :data:`DUPLICATE_ROW` repeats the ID of the
row before it - both are rejected. "Withdrawn" (the bundled data's ``cancelled``) is what
a profile has to map. Rows beyond the bundled 50,000 repeat them with new IDs.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

__all__ = ["BAD_CPT_ROW", "CODE_FOR", "DUPLICATE_ROW", "EU_HEADERS", "US_HEADERS",
           "eu_export", "us_export", "xlsx_export"]

DATA = Path(__file__).resolve().parents[1] / "data" / "requests.parquet"
BAD_CPT_ROW = 7
DUPLICATE_ROW = 13

US_HEADERS = ("Request ID", "Date Requested", "Procedure Code", "Payer", "Patient Age",
              "Gender", "Dx Codes", "Symptom Weeks", "Neuro Deficit", "PT Completed",
              "Status", "Peer to Peer", "Notes")
EU_HEADERS = ("Case ID", "Request Date", "CPT", "Insurance", "Age", "Sex", "ICD-10",
              "Symptom Weeks", "Conservative Therapy Weeks", "Physical Therapy", "Decision",
              "Comment")

# A code on codes/icd10.yaml for each field it derives (true), as a coder would pick it.
CODE_FOR = {"cauda_equina_signs": "G83.4", "cancer_history": "Z85.3",
            "infection_signs": "M46.26", "myelopathy_signs": "G95.9",
            "osteoporosis": "M81.0", "immunosuppressed": "D84.9",
            "degenerative_spine_disease": "M51.36"}
_RADICULOPATHY = {"lumbar": "M54.16", "cervical": "M54.12", "thoracic": "M54.14"}
_PAIN = {"lumbar": "M54.50", "cervical": "M54.2", "thoracic": "M54.6"}  # derive nothing
_US_PAYERS = {"Carrier A": "Blue Cross – Texas", "Carrier B": "Aetna", "Carrier C": "Cigna",
              "Carrier D": "UnitedHealthcare", "Carrier E": "Zoë Health Plan"}
_EU_PAYERS = {"Carrier A": "AOK Bayern", "Carrier B": "Techniker Krankenkasse",
              "Carrier C": "Allianz Privat", "Carrier D": "DKV", "Carrier E": "Zoë Santé"}
_US_STATUS = {"approved": "Approved", "denied": "Denied", "cancelled": "Withdrawn",
              "pending": "Pending"}
_EU_STATUS = {"approved": "Approved", "denied": "Rejected", "cancelled": "Cancelled",
              "pending": "Pending"}
_NOTES = ("Pt reports “sharp” pain – see chart", "Café visit f/u — Dr. Müller", "", "",
          "Zoë: urgent?", "½ dose trial", "")
_COMMENTS = ("Rückenschmerzen – seit 6 Wochen", "", "Überweisung: Dr. Ødegård", "", "Zoë")


@cache
def _bundled() -> tuple[dict[str, Any], ...]:
    return tuple(pq.read_table(DATA).to_pylist())


def _rows(rows: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """(1-based row, the bundled request it is built from), the bundled data repeated."""
    data = _bundled()
    for i in range(rows):
        yield i + 1, data[i % len(data)]


def _codes(r: dict[str, Any], rng: random.Random) -> list[str]:
    codes = [_RADICULOPATHY[r["region"]]] if r["radiculopathy"] else []
    codes += [code for name, code in CODE_FOR.items() if r[name]]
    if rng.random() < 0.5:
        codes.append(_PAIN[r["region"]])
    rng.shuffle(codes)
    return codes


def _written(code: str, rng: random.Random) -> str:
    """A code as people write it: as listed, lower case, without the dot, or both."""
    form = rng.random()
    if form < 0.15:
        return code.lower()
    if form < 0.3:
        return code.replace(".", "")
    if form < 0.4:
        return code.replace(".", "").lower()
    return code


def _dx(i: int, r: dict[str, Any], rng: random.Random, separators: tuple[str, ...]) -> str:
    codes = [_written(c, rng) for c in _codes(r, rng)]
    if i % 53 == 0:
        codes.append("see notes")  # two tokens that are not codes: two warnings
    if not codes and i % 7 == 0:
        codes = ["N/A"]  # a placeholder: a warning, nothing derived
    return rng.choice(separators).join(codes)


def _yes_no(value: bool | None, yes: str = "Y", no: str = "N") -> str:
    return "" if value is None else (yes if value else no)


def _number(value: float | int | None, comma: bool = False) -> str:
    if value is None:
        return ""
    text = f"{value:g}"
    return text.replace(".", ",") if comma else text


def _us_cells(rows: int, seed: int) -> Iterator[list[Any]]:
    rng = random.Random(seed)
    for i, r in _rows(rows):
        status = _US_STATUS.get(r["decision"] or "", "")
        if status == "Approved" and rng.random() < 0.02:
            status = "Pending"
        cpt = "99213" if i == BAD_CPT_ROW else r["cpt_code"]
        yield [f"UM-{i - (i == DUPLICATE_ROW):06d}", r["request_date"], cpt,
               _US_PAYERS.get(r["carrier"], r["carrier"] or ""), r["age"],
               {"M": "Male", "F": "Female", "other": "Other"}.get(r["sex"] or "", ""),
               _dx(i, r, rng, (", ", "; ", " ", "|", ",")), r["symptom_weeks"],
               _yes_no(r["neuro_deficit"]), _yes_no(r["physical_therapy"]), status,
               "X" if r["peer_to_peer"] else "", rng.choice(_NOTES)]


def _eu_cells(rows: int, seed: int) -> Iterator[list[Any]]:
    rng = random.Random(seed)
    for i, r in _rows(rows):
        cpt = "99213" if i == BAD_CPT_ROW else r["cpt_code"]
        yield [f"EU-{i - (i == DUPLICATE_ROW):06d}", r["request_date"], cpt,
               _EU_PAYERS.get(r["carrier"], r["carrier"] or ""), r["age"], r["sex"] or "",
               _dx(i, r, rng, (", ", " ", "|")), r["symptom_weeks"],
               r["conservative_therapy_weeks"], _yes_no(r["physical_therapy"], "Yes", "No"),
               _EU_STATUS.get(r["decision"] or "", ""), rng.choice(_COMMENTS)]


def _us_text(cells: list[Any]) -> list[str]:
    d: dt.date | None = cells[1]
    return [cells[0], "" if d is None else f"{d.month}/{d.day}/{d.year}", cells[2], cells[3],
            _number(cells[4]), cells[5], cells[6], _number(cells[7]), *cells[8:]]


def _eu_text(cells: list[Any]) -> list[str]:
    d: dt.date | None = cells[1]
    date = "" if d is None else (f"{d.day}.{d.month}.{d.year}" if d.day % 2
                                 else f"{d.day:02d}.{d.month:02d}.{d.year}")
    return [cells[0], date, cells[2], cells[3], _number(cells[4]), cells[5], cells[6],
            _number(cells[7], comma=True), _number(cells[8], comma=True), *cells[9:]]


def us_export(rows: int = 2000, seed: int = 1) -> tuple[bytes, str]:
    """A US utilization-management export as Windows-1252 CSV (see the module notes)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(US_HEADERS)
    writer.writerows(_us_text(c) for c in _us_cells(rows, seed))
    return out.getvalue().encode("cp1252"), "um_export.csv"


def eu_export(rows: int = 2000, seed: int = 1) -> tuple[bytes, str]:
    """A European export: UTF-8 with a BOM, ``;``-delimited, D.M.YYYY, decimal commas."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(EU_HEADERS)
    writer.writerows(_eu_text(c) for c in _eu_cells(rows, seed))
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"), "eu_export.csv"


def xlsx_export(rows: int = 2000, seed: int = 1, style: str = "us") -> tuple[bytes, str]:
    """The US (``style="us"``) or European (``"eu"``) export as an Excel workbook: dates,
    ages and weeks as typed cells (as Excel keeps them), everything else as text."""
    from openpyxl import Workbook

    if style not in ("us", "eu"):
        raise ValueError("style is 'us' or 'eu'")
    book = Workbook()
    sheet = book.active
    sheet.title = "Requests"
    sheet.append(list(US_HEADERS if style == "us" else EU_HEADERS))
    for cells in (_us_cells if style == "us" else _eu_cells)(rows, seed):
        sheet.append([None if c == "" else c for c in cells])
    for cell in sheet["B"][1:]:
        cell.number_format = "m/d/yyyy" if style == "us" else "d.m.yyyy"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), f"{style}_export.xlsx"
