"""A worksheet's cells and the shared string table (package-internal to
:mod:`preauth.ingest.xlsx`): streamed by expat handlers, only the cells present looked at."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from preauth.catalog.values import MAX_CELL_CHARS
from preauth.ingest._cells import cell_text
from preauth.ingest._headers import blank_names, check_header_row
from preauth.ingest._xlsx_parts import COLUMN_OF, LOCAL_NAMES, column_letters, local_name
from preauth.ingest.errors import ROW_COLUMN, IngestError
from preauth.ingest.raw import RawTable

if TYPE_CHECKING:
    from preauth.ingest._xlsx_book import Workbook

_FLUSH_CELLS = 1 << 20  # a sheet's rows become Arrow columns every ~million cells


class SharedStrings:
    """The shared string table, kept as Arrow text (a few bytes a string, not a Python object
    each); ``blank`` holds the indexes of strings that are only whitespace."""

    def __init__(self, book: Workbook, part: str | None) -> None:
        self.blank: set[int] = set()
        chunks: list[pa.Array] = []
        pending: list[str] = []
        parts: list[str] | None = None
        sink: list[str] | None = None
        depth = phonetic = kept = count = 0
        left = book.elements_left
        max_depth = book.limits.max_depth

        def start(tag: str, attrs: dict[str, str]) -> None:
            nonlocal parts, sink, depth, phonetic, kept, left
            depth += 1
            left -= 1
            if depth > max_depth:
                raise book.too_deep(part or "")
            if left < 0:
                raise book.too_many_elements(part or "")
            local = local_name(tag)
            if local == "si":
                parts, kept = [], 0
            elif local == "t":
                if parts is not None and not phonetic:
                    sink = parts
            elif local == "rPh":
                phonetic += 1

        def end(tag: str) -> None:
            nonlocal parts, sink, depth, phonetic, pending, count
            depth -= 1
            local = local_name(tag)
            if local == "t":
                sink = None
            elif local == "rPh":
                phonetic -= 1
            elif local == "si" and parts is not None:
                text = "".join(parts).replace("x005F_", "")  # as openpyxl reads them
                if not text.strip():
                    self.blank.add(count)
                pending.append(text)
                count += 1
                parts = None
                if len(pending) >= 1 << 16:
                    chunks.append(pa.array(pending, pa.string()))
                    pending = []

        def chars(data: str) -> None:
            nonlocal kept, sink
            if sink is not None:
                sink.append(data)
                kept += len(data)
                if kept > MAX_CELL_CHARS:  # longer than any cell may be: the rest is not kept
                    sink = None

        if part is not None and book.has(part):
            book.parse(part, start, end, chars)
            book.elements_left = left
        chunks.append(pa.array(pending, pa.string()))
        self.table = pa.concat_arrays(chunks)
        self.count = len(self.table)

    def text(self, index: int) -> str:
        return self.table[index].as_py()

    def resolve(self, column: Sequence[Any]) -> pa.Array:
        """One column of cells (text, None, or a shared string's index) as Arrow text."""
        try:
            return pa.array(column, pa.string())
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            pass
        indexes = pa.array([v if type(v) is int else None for v in column], pa.int64())
        texts = pa.array([None if type(v) is int else v for v in column], pa.string())
        return pc.coalesce(texts, self.table.take(indexes))


class SheetReader:
    """One worksheet's cells, streamed: rows that hold a value become table rows (the first
    the header); blank rows, empty cells and the declared dimension cost nothing."""

    def __init__(self, book: Workbook, sheet: str, part: str, shared: SharedStrings,
                 date_styles: frozenset[int], delta_styles: frozenset[int],
                 epoch: dt.datetime) -> None:
        self.book, self.sheet, self.part, self.shared = book, sheet, part, shared
        self.date_styles, self.delta_styles, self.epoch = date_styles, delta_styles, epoch
        self.limits = book.limits
        self.header: list[str] | None = None
        self.width = self.rows_read = self.row_number = self.column = self.depth = 0
        self.cells: list[tuple[int, str | int]] = []
        self.pending: list[list[str | int | None]] = []
        self.columns: list[list[pa.Array]] = []
        self.errors: list[tuple[int, str, str, str]] = []
        self.kind = "n"
        self.style: str | None = None
        self.value: list[str] | None = None
        self.inline: list[str] | None = None
        self.sink: list[str] | None = None
        self.kept = self.phonetic = self.rows_seen = 0
        self.elements_left = book.elements_left

    def where(self) -> str:
        return f"{self.book.name}: sheet {self.sheet!r}"

    def read(self) -> RawTable | None:
        self.book.parse(self.part, self.start, self.end, self.chars)
        self.book.elements_left = self.elements_left
        if self.header is None:
            return None
        self.flush()
        columns = [pa.chunked_array(self.columns[j] if self.columns else [], pa.string())
                   for j in range(self.width)]
        table = pa.table(columns, names=blank_names(self.header))
        return RawTable(table, self.book.name, "xlsx", None, None, tuple(self.errors))

    # -- expat handlers ----------------------------------------------------------------------

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        self.elements_left -= 1
        if self.depth > self.limits.max_depth:
            raise self.book.too_deep(self.part)
        if self.elements_left < 0:
            raise self.book.too_many_elements(self.part)
        local = LOCAL_NAMES.get(tag) or local_name(tag)
        if local == "c":
            ref = attrs.get("r")
            if ref:
                column = COLUMN_OF.get(ref.rstrip("0123456789"))
                if column is None:
                    raise IngestError(f"{self.where()} has a cell reference {ref[:20]!r} that "
                                      "is not one; expected an Excel .xlsx file")
                self.column = column
            else:
                self.column += 1
            self.kind = attrs.get("t", "n")
            self.style = attrs.get("s")
            self.value = self.inline = None
        elif local == "v":
            self.sink = self.value = []
            self.kept = 0
        elif local == "t":
            if self.inline is not None and not self.phonetic:
                self.sink = self.inline
        elif local == "is":
            self.inline = []
            self.kept = 0
        elif local == "row":
            number = attrs.get("r")
            self.row_number = int(number) if number else self.row_number + 1
            self.rows_seen += 1
            if self.row_number > self.limits.max_rows:
                raise IngestError(f"{self.where()} has a row {self.row_number:,}, beyond "
                                  f"Excel's last row ({self.limits.max_rows:,}); expected an "
                                  "Excel .xlsx file")
            if self.rows_seen > self.limits.max_rows:
                raise IngestError(f"{self.where()} has more than {self.limits.max_rows:,} "
                                  "rows, Excel's maximum; expected an Excel .xlsx file")
            self.cells = []
            self.column = 0
        elif local == "rPh":
            self.phonetic += 1

    def chars(self, data: str) -> None:
        sink = self.sink
        if sink is not None:
            sink.append(data)
            self.kept += len(data)
            if self.kept > MAX_CELL_CHARS:  # longer than any cell may be: the rest is not kept
                self.sink = None

    def end(self, tag: str) -> None:
        self.depth -= 1
        local = LOCAL_NAMES.get(tag) or local_name(tag)
        if local == "c":
            self.cell()
        elif local in ("v", "t"):
            self.sink = None
        elif local == "row":
            self.row()
        elif local == "rPh":
            self.phonetic -= 1

    # -- cells and rows ----------------------------------------------------------------------

    def cell(self) -> None:
        kind = self.kind
        value: str | int | None
        if kind == "inlineStr":
            value = "".join(self.inline) if self.inline is not None else None
        else:
            text = "".join(self.value) if self.value else ""
            if not text:
                return
            if kind == "n":
                value = self.number(text)
            elif kind == "s":
                value = int(text)
                if not 0 <= value < self.shared.count:
                    raise IngestError(f"{self.where()}: a cell refers to shared string "
                                      f"{value:,} of {self.shared.count:,}; expected an Excel "
                                      ".xlsx file")
            elif kind == "b":
                value = "true" if int(text) else "false"
            elif kind == "d":
                from openpyxl.utils.datetime import from_ISO8601

                value = cell_text(from_ISO8601(text))
            else:  # "str" (a formula's text), "e" (#N/A ...)
                value = text
        if value is None:
            return
        if self.column > self.limits.max_columns:
            ref = f"{column_letters(self.column)}{self.row_number}"
            raise IngestError(f"{self.where()} has a value in cell {ref} (column "
                              f"{self.column:,}); at most {self.limits.max_columns:,} columns "
                              "are supported")
        self.cells.append((self.column, value))

    def number(self, text: str) -> str | None:
        style = int(self.style) if self.style else 0
        if style in self.date_styles:
            from openpyxl.utils.datetime import from_excel

            number: float | int = float(text) if ("." in text or "E" in text or "e" in text) \
                else int(text)
            try:
                return cell_text(from_excel(number, self.epoch,
                                             timedelta=style in self.delta_styles))
            except (OverflowError, ValueError):
                return "#VALUE!"  # as openpyxl: a date serial out of range
        if "." in text or "E" in text or "e" in text:
            return cell_text(float(text))
        return str(int(text))

    def row(self) -> None:
        cells = self.cells
        if not cells:
            return
        self.cells = []
        blank = self.shared.blank
        if not any((v not in blank) if type(v) is int else v.strip()  # type: ignore[union-attr]
                   for _, v in cells):
            return
        if self.header is None:
            texts = {column: self.text(v) for column, v in cells}
            header = [texts.get(c, "") for c in range(1, max(texts) + 1)]
            while header and not header[-1].strip():
                header.pop()
            check_header_row(header, self.book.name)
            self.header, self.width = header, len(header)
            return
        width = self.width
        values: list[str | int | None] = [None] * width
        extra = []
        for column, v in cells:
            if column <= width:
                values[column - 1] = v
            else:
                extra.append((column, v))
        self.rows_read += 1
        if extra:
            beyond = [t for _, v in sorted(extra, key=lambda c: c[0])
                      if (t := self.text(v)).strip()]
            if beyond:
                self.errors.append((self.rows_read, ROW_COLUMN, " | ".join(beyond),
                                    f"row has cells beyond the {width} header columns"))
        if self.rows_read * width > self.limits.max_cells:
            raise IngestError(
                f"{self.where()} is too big to read: more than {self.limits.max_cells:,} cells "
                f"({self.rows_read:,} rows x {width:,} columns so far); save it as CSV or "
                "Parquet (read in batches)")
        self.pending.append(values)
        if len(self.pending) * width >= _FLUSH_CELLS:
            self.flush()

    def text(self, value: str | int) -> str:
        return self.shared.text(value) if type(value) is int else value  # type: ignore[return-value]

    def flush(self) -> None:
        if not self.columns:
            self.columns = [[] for _ in range(self.width)]
        if self.pending:
            for j, column in enumerate(zip(*self.pending, strict=True)):
                self.columns[j].append(self.shared.resolve(column))
        self.pending = []

