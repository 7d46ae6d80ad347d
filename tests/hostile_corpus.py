"""A corpus of hostile input files, written at test time (no binaries in the repository).

Each :class:`Hostile` names a file, a function that writes it into a directory, and what ingest
must do with it: refuse it with one :class:`~preauth.ingest.errors.IngestError` line that contains
``phrase`` (``rows is None``), or read it with ``rows`` = (rows in, accepted, rejected).

Workbooks are assembled with :mod:`zipfile` from hand-written parts, so a part can say what a
real spreadsheet never would (a cell at XFD1048576, a lying ``<dimension>``, a DTD); the zip
bomb's shared strings are written in pieces, so building a 1 GB bomb stays small in memory.

``python -m tests.hostile_corpus DIR`` writes the corpus (and the real-size bomb) to ``DIR``.
"""

from __future__ import annotations

import struct
import sys
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '</Types>')
ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    '</Relationships>')
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
    '</Relationships>')

HEADER = ["case_id", "cpt_code", "age"]
ROWS = [["A1", "72148", "40"], ["A2", "72141", "51"], ["A3", "72148", "62"]]


def column_letters(index: int) -> str:
    """1 -> A, 27 -> AA, 16384 -> XFD."""
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell(ref: str, value: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def row_xml(number: int, values: Iterable[str], first_column: int = 1) -> str:
    cells = "".join(cell(f"{column_letters(first_column + i)}{number}", v)
                    for i, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>'


def sheet_xml(rows: str, dimension: str | None = None) -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN_NS}">{dim}'
            f'<sheetData>{rows}</sheetData></worksheet>')


def table_rows(rows: list[list[str]] | None = None) -> str:
    return "".join(row_xml(i, r) for i, r in enumerate([HEADER, *(rows or ROWS)], start=1))


def write_xlsx(path: Path, sheet: str, shared: str | Iterable[bytes] | None = None,
               extra: dict[str, bytes] | None = None) -> Path:
    """A minimal workbook: one sheet, optional shared strings (text, or byte pieces written
    one after another so a huge part never sits in memory) and extra members."""
    empty_sst = f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN_NS}"/>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        zf.writestr("xl/worksheets/sheet1.xml", sheet)
        if shared is None or isinstance(shared, str):
            zf.writestr("xl/sharedStrings.xml", shared or empty_sst)
        else:
            with zf.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
                for piece in shared:
                    fh.write(piece)
        for member, data in (extra or {}).items():
            zf.writestr(member, data)
    return path


# --- workbooks -------------------------------------------------------------------------------

def bomb_pieces(expanded_bytes: int) -> Iterable[bytes]:
    """sharedStrings.xml of about ``expanded_bytes``: the same short string over and over
    (deflate packs it ~1,000 to 1; read naively, tens of millions of string objects)."""
    yield f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN_NS}">'.encode()
    block = b"<si><t>AAAAAAAAAAAAAAAA</t></si>" * 32768
    written = 0
    while written < expanded_bytes:
        yield block
        written += len(block)
    yield b"</sst>"


def write_bomb(path: Path, expanded_bytes: int = 1 << 30) -> Path:
    """The review's zip bomb: ~1 MB on disk, shared strings expanding to ``expanded_bytes``;
    the sheet refers to the first string."""
    sheet = sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')
    return write_xlsx(path, sheet, bomb_pieces(expanded_bytes))


def write_xfd(path: Path) -> Path:
    """One cell, the last one Excel has: XFD1048576 (1.6 KB)."""
    return write_xlsx(path, sheet_xml(row_xml(1048576, ["x"], first_column=16384),
                                      dimension="XFD1048576"))


def write_dimension_lie(path: Path) -> Path:
    """Three ordinary rows under a <dimension> claiming the whole grid."""
    return write_xlsx(path, sheet_xml(table_rows(), dimension="A1:XFD1048576"))


def write_far_cell(path: Path) -> Path:
    """Three ordinary rows and one value in the last row, at column 1,999 (within the column
    limit): that row is read (and rejected: a cell beyond the header) at the cost of one
    cell, not of the 1,048,572 empty rows above it."""
    rows = table_rows() + row_xml(1048576, ["stray"], first_column=1999)
    return write_xlsx(path, sheet_xml(rows, dimension="A1:BXW1048576"))


def write_stray_xfd(path: Path) -> Path:
    """Three ordinary rows and a value at XFD1048576."""
    rows = table_rows() + row_xml(1048576, ["stray"], first_column=16384)
    return write_xlsx(path, sheet_xml(rows))


def write_row_beyond_excel(path: Path) -> Path:
    rows = table_rows() + row_xml(2_000_000, ["A9", "72148", "40"])
    return write_xlsx(path, sheet_xml(rows))


def write_many_parts(path: Path, parts: int = 10_001) -> Path:
    extra = {f"xl/media/p{i}.bin": b"" for i in range(parts)}
    return write_xlsx(path, sheet_xml(table_rows()), extra=extra)


def write_ratio_media(path: Path) -> Path:
    """An ordinary sheet beside a member that is never read but is a bomb (16 MB of zeros)."""
    return write_xlsx(path, sheet_xml(table_rows()), extra={"xl/media/image1.png":
                                                            b"\x00" * (16 << 20)})


def write_dtd(path: Path) -> Path:
    """Shared strings with a "billion laughs" entity declaration."""
    lol = ('<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">'
           + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'
                     for i in range(8))
           + f']><sst xmlns="{MAIN_NS}"><si><t>&i;</t></si></sst>')
    sheet = sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')
    return write_xlsx(path, sheet, lol)


def write_deep_xml(path: Path, depth: int = 100_000) -> Path:
    rows = '<row r="1"><c r="A1" t="inlineStr"><is>' + "<r>" * depth + "</r>" * depth
    return write_xlsx(path, sheet_xml(rows + "</is></c></row>"))


def write_wide_grid(path: Path, columns: int = 2_000, rows: int = 8_400) -> Path:
    """A 2,000-column header, then rows of one cell each: a handful of bytes per row, but as a
    table rows × 2,000 cells (here just over 16 Mi cells)."""
    header = row_xml(1, [f"c{i}" for i in range(columns)])
    header = header.replace(">c0<", ">case_id<", 1)
    body = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>x{r}</t></is></c></row>'
                   for r in range(2, rows + 2))
    return write_xlsx(path, sheet_xml(header + body))


def write_lying_sizes(path: Path) -> Path:
    """A workbook whose zip headers say the sheet expands to 10 bytes (it is larger)."""
    write_xlsx(path, sheet_xml(table_rows()))
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    # (signature, offset of the uncompressed size, length of the fixed header)
    for signature, size_at, fixed in ((b"PK\x01\x02", 24, 46), (b"PK\x03\x04", 22, 30)):
        at = data.find(signature)
        while at >= 0:
            name_len = struct.unpack_from("<H", data, at + size_at + 4)[0]
            if bytes(data[at + fixed:at + fixed + name_len]) == name:
                struct.pack_into("<L", data, at + size_at, 10)
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    return path


def write_shared_table(path: Path) -> Path:
    """Ordinary rows through shared strings, numbers, a boolean and a date style."""
    strings = ["case_id", "cpt_code", "age", "radiculopathy", "request_date", "A1", "A2",
               " "]
    sst = (f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN_NS}">'
           + "".join(f"<si><t>{s}</t></si>" for s in strings) + "</sst>")
    styles = (f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{MAIN_NS}">'
              '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs>'
              '</styleSheet>')
    sheet = sheet_xml(
        '<row r="1">' + "".join(f'<c r="{c}1" t="s"><v>{i}</v></c>'
                                for i, c in enumerate("ABCDE")) + "</row>"
        '<row r="2"><c r="A2" t="s"><v>5</v></c><c r="B2"><v>72148</v></c>'
        '<c r="C2"><v>40</v></c><c r="D2" t="b"><v>1</v></c>'
        '<c r="E2" s="1"><v>45296</v></c></row>'
        '<row r="3"><c r="A3" t="s"><v>7</v></c><c r="B3" t="s"><v>7</v></c></row>'
        '<row r="4"><c r="A4" t="s"><v>6</v></c><c r="B4" t="str"><f>1</f><v>72141</v></c>'
        '<c r="C4"><v>3.5E1</v></c><c r="D4" t="b"><v>0</v></c></row>')
    write_xlsx(path, sheet, sst, extra={"xl/styles.xml": styles.encode()})
    # the workbook must point at the styles part
    data = zipfile.ZipFile(path).read("xl/_rels/workbook.xml.rels").decode()
    rels = data.replace("</Relationships>", f'<Relationship Id="rId3" Type="{REL_NS}/styles" '
                        'Target="styles.xml"/></Relationships>')
    _replace_member(path, "xl/_rels/workbook.xml.rels", rels.encode())
    return path


def _replace_member(path: Path, member: str, data: bytes) -> None:
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: zf.read(i.filename) for i in zf.infolist()}
    members[member] = data
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)


def write_encrypted(path: Path) -> Path:
    """What Excel saves with a password: an OLE compound file, not a zip."""
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    return path


# --- text files ------------------------------------------------------------------------------

def _bytes(content: bytes) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        path.write_bytes(content)
        return path
    return write


CSV_ROWS = "case_id,cpt_code,age\nA1,72148,40\nA2,72141,51\nA3,72148,62\n"


def _huge_field(path: Path) -> Path:
    with open(path, "wb") as fh:
        fh.write(b"case_id,cpt_code,age\nA1,72148,40\nA2,72141,")
        fh.write(b"9" * (20 << 20))
        fh.write(b"\nA3,72148,62\n")
    return path


def _json_deep_cell() -> bytes:
    nested = "[" * 500 + "]" * 500
    return f'[{{"case_id": "A1", "cpt_code": "72148", "notes": {nested}}}]'.encode()


@dataclass(frozen=True)
class Hostile:
    name: str
    write: Callable[[Path], Path]
    phrase: str = ""  # refused: the one-line message contains this (case-insensitive)
    rows: tuple[int, int, int] | None = None  # read: (rows in, accepted, rejected)
    seed: bool = True  # small and quick enough to seed the byte-level fuzzer


CORPUS: tuple[Hostile, ...] = (
    # workbooks
    Hostile("bomb.xlsx", lambda p: write_bomb(p, 200 << 20), "xl/sharedStrings.xml", seed=False),
    Hostile("xfd.xlsx", write_xfd, "XFD1048576"),
    Hostile("stray_xfd.xlsx", write_stray_xfd, "XFD1048576"),
    Hostile("dimension_lie.xlsx", write_dimension_lie, rows=(3, 3, 0)),
    Hostile("far_cell.xlsx", write_far_cell, rows=(4, 3, 1)),
    Hostile("row_beyond_excel.xlsx", write_row_beyond_excel, "1,048,576"),
    Hostile("many_parts.xlsx", write_many_parts, "10,000", seed=False),
    Hostile("ratio_media.xlsx", write_ratio_media, "xl/media/image1.png", seed=False),
    Hostile("dtd.xlsx", write_dtd, "DTD"),
    Hostile("deep_xml.xlsx", write_deep_xml, "deep"),
    Hostile("wide_grid.xlsx", write_wide_grid, "cells", seed=False),
    Hostile("lying_sizes.xlsx", write_lying_sizes, "xl/worksheets/sheet1.xml"),
    Hostile("shared_table.xlsx", write_shared_table, rows=(2, 2, 0)),
    Hostile("encrypted.xlsx", write_encrypted, "password"),
    # delimited text
    Hostile("cr_only.csv", _bytes(CSV_ROWS.replace("\n", "\r").encode()), rows=(3, 3, 0)),
    Hostile("mixed_line_ends.csv", _bytes(b"case_id,cpt_code,age\r\nA1,72148,40\rA2,72141,51\n"
                                          b"A3,72148,62\r\n"), rows=(3, 3, 0)),
    Hostile("nul_in_row.csv", _bytes(("case_id,cpt_code,age,carrier\n"
                                      + "".join(f"C{i},72148,40,Carrier {i}\n"
                                                for i in range(200))
                                      + "C200,72148,40,Car\x00rier\n").encode()),
            rows=(201, 200, 1)),
    Hostile("nul_mostly.csv", _bytes(b"case_id,cpt_code\nA1\x00\x00,72148\n"), "binary"),
    Hostile("ragged.csv", _bytes(b"case_id,cpt_code,age\nA1,72148,40\nA2,72141\n"
                                 b"A3,72148,62,extra\nA4,72148,50\n"), rows=(4, 2, 2)),
    Hostile("huge_field.csv", _huge_field, rows=(3, 2, 1), seed=False),
    # JSON
    Hostile("dup_keys.json", _bytes(b'[{"case_id": "A1", "cpt_code": "72148", "age": "40",'
                                    b' "age": "50"}, {"case_id": "A2", "cpt_code": "72141"}]'),
            rows=(2, 1, 1)),
    Hostile("dup_keys.jsonl", _bytes(b'{"case_id": "A1", "cpt_code": "72148"}\n'
                                     b'{"case_id": "A2", "case_id": "A3", "cpt_code": "72141"}'
                                     b'\n'),
            rows=(2, 1, 1)),
    Hostile("dup_nested.json", _bytes(b'[{"case_id": "A1", "cpt_code": "72148",'
                                      b' "notes": {"a": 1, "a": 2}}]'), rows=(1, 0, 1)),
    Hostile("dup_wrapper.json", _bytes(b'{"cases": [{"case_id": "A1", "cpt_code": "72148"}],'
                                       b' "cases": []}'), "cases"),
    Hostile("deep.json", _bytes(b"[" * 50_000 + b"]" * 50_000), "JSON"),
    Hostile("deep_cell.json", _bytes(_json_deep_cell()), rows=(1, 1, 0)),
)
BY_NAME = {h.name: h for h in CORPUS}

# Reading or refusing any file of the corpus takes at most ~600,000 function calls today
# (wide_grid.xlsx, refused at its cell limit; most take a few thousand). A file read in
# proportion to what it claims — the bomb's 200 MB of shared strings, XFD1048576's grid, a
# million padded rows — takes tens of millions or more. Counted, not timed (tests/work.py).
CORPUS_CALLS = 5_000_000


def write_corpus(directory: Path, seeds_only: bool = False) -> dict[str, Path]:
    """Write the corpus (or only its small files, see ``Hostile.seed``) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    return {h.name: h.write(directory / h.name) for h in CORPUS if h.seed or not seeds_only}


if __name__ == "__main__":  # pragma: no cover - a helper for measuring by hand
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile")
    paths = write_corpus(out)
    write_bomb(out / "bomb_1gb.xlsx")
    for name, p in sorted(paths.items()):
        print(f"{p.stat().st_size:>12,}  {name}")
    print(f"{(out / 'bomb_1gb.xlsx').stat().st_size:>12,}  bomb_1gb.xlsx")
