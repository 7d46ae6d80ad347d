"""Excel workbooks (.xlsx), read within limits a hostile file cannot get round.

An .xlsx workbook is a zip of XML parts, read here with zipfile and expat rather than
openpyxl's loader, so that what a hostile workbook can cost is bounded before and while it is
read: the zip's directory is checked before anything is decompressed (number of parts, their
declared sizes and compression ratios), every part is read through a stream that stops at its
declared size and the file's budget, the XML may not declare a DTD (entity expansion) nor nest
deeper than a workbook does, and a sheet costs what its cells cost - only the cells present
are looked at (a cell's column from its own reference), never the grid that <dimension> or the
last cell claims. Values follow what openpyxl's read-only, values-only reader gave: shared and
inline strings, numbers (dates by their cell style), booleans, cached formula results.

The zip and its parts: ``_xlsx_book``; shared strings and the sheet's cells: ``_xlsx_sheet``.
"""

from __future__ import annotations

from dataclasses import dataclass

from preauth.ingest._xlsx_book import Workbook
from preauth.ingest._xlsx_parts import detail
from preauth.ingest.errors import IngestError
from preauth.ingest.raw import MAX_COLUMNS, RawTable

__all__ = ["XLSX_LIMITS", "XlsxLimits", "read_xlsx"]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class XlsxLimits:
    """What reading one .xlsx file may cost (the reasons are in the README's Security
    section). Tests lower them to try small files against them."""

    max_parts: int = 10_000  # zip members
    max_directory_bytes: int = 4 << 20  # the zip's central directory
    max_expanded_bytes: int = 512 << 20  # all members together, decompressed
    max_ratio: int = 100  # decompressed : compressed, for a member of ...
    ratio_from_bytes: int = 1 << 20  # ... at least this many decompressed bytes
    max_rows: int = 1_048_576  # Excel's last row (and most rows a sheet can have)
    max_columns: int = MAX_COLUMNS  # a value beyond this column refuses the file
    max_cells: int = 1 << 24  # data rows x header columns (the table that is built)
    max_elements: int = 1 << 26  # XML elements in all parts read (~4 a cell)
    max_depth: int = 64  # XML element nesting
    max_listed: int = 100_000  # sheets, relationships, styles listed in the small parts


XLSX_LIMITS = XlsxLimits()


def read_xlsx(data: bytes, name: str, limits: XlsxLimits | None = None) -> RawTable:
    """The first worksheet with data of the workbook ``data`` as a table of text, read within
    ``limits`` (default :data:`XLSX_LIMITS`)."""
    try:
        import openpyxl  # noqa: F401 - its date helpers; the file is read below
    except ImportError as exc:
        raise IngestError(f"{name}: reading .xlsx needs the openpyxl package (pip install "
                          "openpyxl); or save the sheet as CSV") from exc
    if data.startswith(_OLE_MAGIC):
        raise IngestError(f"{name}: is a password-protected workbook or an old binary Excel "
                          "file, not an .xlsx; save it without a password as .xlsx or CSV")
    if not data.startswith(b"PK\x03\x04"):
        raise IngestError(f"{name}: is not an .xlsx workbook (not a ZIP container); expected "
                          "an Excel .xlsx file")
    try:
        return Workbook(data, name, limits or XLSX_LIMITS).read()
    except (IngestError, MemoryError):
        raise
    except Exception as exc:  # zipfile, zlib, expat and value parsing raise many kinds
        raise IngestError(f"{name}: could not be opened as an .xlsx workbook "
                          f"({detail(exc)})") from exc

