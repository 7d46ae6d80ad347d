"""The .xlsx zip and its XML parts (package-internal to :mod:`preauth.ingest.xlsx`): the zip's
directory checked before anything is decompressed, every part parsed by expat through a capped
stream, the workbook's sheets, relationships and date styles listed."""

from __future__ import annotations

import io
import posixpath
import struct
import zipfile
import zlib
from typing import TYPE_CHECKING, Any
from xml.parsers import expat

from preauth.ingest._xlsx_parts import CappedStream, detail, human_size, local_name
from preauth.ingest._xlsx_sheet import SharedStrings, SheetReader
from preauth.ingest.errors import IngestError
from preauth.ingest.raw import RawTable

if TYPE_CHECKING:
    from preauth.ingest.xlsx import XlsxLimits

_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_XML_CHUNK = 1 << 20


class Workbook:
    """One .xlsx file: its zip checked (see :class:`XlsxLimits`), its parts parsed by expat."""

    def __init__(self, data: bytes, name: str, limits: XlsxLimits) -> None:
        self.name, self.limits = name, limits
        self._check_directory(data)
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        self._check_members()
        self.budget = limits.max_expanded_bytes
        self.elements_left = limits.max_elements

    # -- the zip, before anything is decompressed --------------------------------------------

    def _check_directory(self, data: bytes) -> None:
        """zipfile parses the whole central directory when it opens a file: check its size and
        entry count from the end record first."""
        name, limits = self.name, self.limits
        at = data.rfind(b"PK\x05\x06", max(0, len(data) - _EOCD.size - 65535))
        if at < 0 or at + _EOCD.size > len(data):
            raise IngestError(f"{name}: is not an .xlsx workbook (a damaged zip: no end of "
                              "directory record); expected an Excel .xlsx file")
        entries, directory = _EOCD.unpack_from(data, at)[4:6]
        start64 = at - _EOCD64_LOCATOR.size - _EOCD64.size
        if (entries == 0xFFFF or directory == 0xFFFFFFFF) and start64 >= 0 \
                and data[at - _EOCD64_LOCATOR.size:at].startswith(b"PK\x06\x07") \
                and data[start64:start64 + 4] == b"PK\x06\x06":
            entries, directory = _EOCD64.unpack_from(data, start64)[7:9]
        if entries > limits.max_parts:
            raise self._too_many_parts(entries)
        if directory > limits.max_directory_bytes:
            raise IngestError(f"{name}: the zip directory is {human_size(directory)}; at most "
                              f"{human_size(limits.max_directory_bytes)} is accepted in an .xlsx "
                              "workbook")

    def _too_many_parts(self, count: int) -> IngestError:
        return IngestError(f"{self.name}: the zip holds {count:,} parts; at most "
                           f"{self.limits.max_parts:,} are accepted in an .xlsx workbook")

    def _check_members(self) -> None:
        name, limits = self.name, self.limits
        infos = self.zip.infolist()
        if len(infos) > limits.max_parts:
            raise self._too_many_parts(len(infos))
        total = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise IngestError(f"{name}: part {info.filename} is encrypted; save the "
                                  "workbook without a password")
            size = info.file_size
            if size >= limits.ratio_from_bytes \
                    and size > limits.max_ratio * max(info.compress_size, 1):
                raise IngestError(
                    f"{name}: part {info.filename} expands from "
                    f"{human_size(info.compress_size)} to {human_size(size)} "
                    f"({size // max(info.compress_size, 1):,} to 1); at most "
                    f"{limits.max_ratio} to 1 is accepted in an .xlsx workbook (a zip bomb?)")
            total += size
        if total > limits.max_expanded_bytes:
            big = max(infos, key=lambda i: i.file_size)
            raise IngestError(
                f"{name}: the workbook expands to {human_size(total)} (largest part "
                f"{big.filename}: {human_size(big.file_size)}); at most "
                f"{human_size(limits.max_expanded_bytes)} is read from an .xlsx file - save a "
                "sheet this big as CSV")

    # -- parts -------------------------------------------------------------------------------

    def has(self, part: str) -> bool:
        return part in self.zip.NameToInfo

    def parse(self, part: str, start: Any, end: Any, chars: Any = None) -> None:
        """Feed ``part`` through expat to the handlers (no DTD, bounded bytes)."""
        name = self.name
        try:
            info = self.zip.getinfo(part)
        except KeyError:
            raise IngestError(f"{name}: the workbook has no part {part} (a damaged .xlsx?); "
                              "expected an Excel .xlsx file") from None
        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.buffer_size = 1 << 16

        def refuse_dtd(*_: Any) -> None:
            raise IngestError(f"{name}: part {part} declares a DTD (XML entities), which "
                              ".xlsx parts never do; refused")

        parser.StartDoctypeDeclHandler = refuse_dtd
        parser.EntityDeclHandler = refuse_dtd
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        if chars is not None:
            parser.CharacterDataHandler = chars
        cap = min(info.file_size, self.budget)

        def too_big() -> IngestError:
            return IngestError(f"{name}: part {part} expands beyond the {human_size(cap)} its zip "
                               "entry declares (a zip bomb?); refused")

        try:
            with self.zip.open(info) as raw:
                stream = CappedStream(raw, cap, too_big)
                while chunk := stream.read(_XML_CHUNK):
                    parser.Parse(chunk, False)
                parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise IngestError(f"{name}: part {part} is not well-formed XML ({detail(exc)}); "
                              "expected an Excel .xlsx file") from exc
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise IngestError(f"{name}: part {part} is damaged ({detail(exc)}); expected an "
                              "Excel .xlsx file") from exc
        self.budget -= stream.count

    def elements(self, part: str, wanted: set[str]
                 ) -> list[tuple[str, dict[str, str], str]]:
        """``(name, attributes, parent's name)`` of the ``wanted`` elements of a small part."""
        found: list[tuple[str, dict[str, str], str]] = []
        stack: list[str] = [""]
        limits = self.limits

        def start(tag: str, attrs: dict[str, str]) -> None:
            self.elements_left -= 1
            if self.elements_left < 0:
                raise self.too_many_elements(part)
            local = local_name(tag)
            if local in wanted:
                if len(found) >= limits.max_listed:
                    raise IngestError(f"{self.name}: part {part} lists more than "
                                      f"{limits.max_listed:,} {local} elements; refused")
                found.append((local, attrs, stack[-1]))
            stack.append(local)
            if len(stack) > limits.max_depth:
                raise self.too_deep(part)

        def end(tag: str) -> None:
            stack.pop()

        self.parse(part, start, end)
        return found

    def too_deep(self, part: str) -> IngestError:
        return IngestError(f"{self.name}: part {part} nests XML elements more than "
                           f"{self.limits.max_depth} deep; expected an Excel .xlsx file")

    def too_many_elements(self, part: str) -> IngestError:
        return IngestError(f"{self.name}: part {part} takes the workbook beyond "
                           f"{self.limits.max_elements:,} XML elements; save a sheet this big "
                           "as CSV")

    def relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """Id -> (type, target part) of a ``.rels`` part (none when it is missing)."""
        if not self.has(part):
            return {}
        base = posixpath.dirname(posixpath.dirname(part))
        rels = {}
        for _, attrs, _ in self.elements(part, {"Relationship"}):
            target = attrs.get("Target", "")
            if attrs.get("TargetMode") == "External" or not target:
                continue
            target = target.lstrip("/") if target.startswith("/") \
                else posixpath.normpath(posixpath.join(base, target))
            rels[attrs.get("Id", "")] = (attrs.get("Type", ""), target)
        return rels

    # -- the workbook ------------------------------------------------------------------------

    def read(self) -> RawTable:
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

        name = self.name
        office = [t for kind, t in self.relationships("_rels/.rels").values()
                  if kind.endswith("/officeDocument")]
        book = office[0] if office else "xl/workbook.xml"
        book_rels = self.relationships(posixpath.join(posixpath.dirname(book), "_rels",
                                                      posixpath.basename(book) + ".rels"))
        listed = self.elements(book, {"sheet", "workbookPr"})
        date1904 = any(attrs.get("date1904", "").lower() in ("1", "true")
                       for local, attrs, _ in listed if local == "workbookPr")
        epoch = CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900
        sheets = []
        for local, attrs, _ in listed:
            if local != "sheet":
                continue
            rid = next((v for k, v in attrs.items() if k.endswith(":id")), attrs.get("id"))
            kind, target = book_rels.get(rid or "", ("", ""))
            if kind.endswith("/worksheet"):
                sheets.append((attrs.get("name", target), target))
        by_kind = {kind.rpartition("/")[2]: target for kind, target in book_rels.values()}
        date_styles, delta_styles = self._date_styles(by_kind.get("styles"))
        strings = by_kind.get("sharedStrings")
        if strings is None and self.has("xl/sharedStrings.xml"):
            strings = "xl/sharedStrings.xml"
        shared: SharedStrings | None = None
        for sheet_name, part in sheets:
            if shared is None:
                shared = SharedStrings(self, strings)
            reader = SheetReader(self, sheet_name, part, shared, date_styles, delta_styles,
                                  epoch)
            raw = reader.read()
            if raw is not None:
                return raw
        raise IngestError(f"{name}: the workbook has no data; expected a header row with "
                          "column names such as case_id, cpt_code")

    def _date_styles(self, part: str | None) -> tuple[frozenset[int], frozenset[int]]:
        """Cell style indexes whose number format shows a date (and those showing a duration),
        as openpyxl decides."""
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

        if not part or not self.has(part):
            return frozenset(), frozenset()
        found = self.elements(part, {"numFmt", "xf"})
        custom = {attrs.get("numFmtId"): attrs.get("formatCode")
                  for local, attrs, _ in found if local == "numFmt"}
        dates, deltas = set(), set()
        xfs = [attrs for local, attrs, parent in found if local == "xf" and parent == "cellXfs"]
        for index, attrs in enumerate(xfs):
            fmt_id = attrs.get("numFmtId", "0")
            fmt = custom[fmt_id] if fmt_id in custom else \
                BUILTIN_FORMATS.get(int(fmt_id) if fmt_id.isdigit() else -1)
            if is_date_format(fmt):
                dates.add(index)
            if is_timedelta_format(fmt):
                deltas.add(index)
        return frozenset(dates), frozenset(deltas)

