"""Bytes to UTF-8 text for the delimited-text reader: byte-order marks, UTF-16 without one,
UTF-8, then Windows-1252 / Latin-1; binary files (a ZIP, a PDF, mostly NUL bytes) refused
with a message saying what they look like."""

from __future__ import annotations

import codecs

from preauth.ingest.errors import IngestError

__all__ = ["SAMPLE_BYTES", "binary_error", "decode", "is_blank", "legacy_to_utf8",
           "looks_binary", "sample_text", "undecodable_error"]

SAMPLE_BYTES = 1 << 20  # what is sniffed and checked first: the file's first megabyte

# Leading bytes of common non-text files, for a helpful message when one is uploaded as text.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook?)"),
    (b"PAR1", "a Parquet file"),
    (b"\xd0\xcf\x11\xe0", "an old binary Excel/Office file (.xls)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
)


def is_blank(data: bytes) -> bool:
    """Only whitespace, NULs and byte-order marks (checked without copying a big file)."""
    junk = b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"
    return all(not data[i:i + 65536].strip(junk) for i in range(0, len(data), 65536))


def decode(data: bytes, name: str, verify: bool = True) -> tuple[bytes, str]:
    """(UTF-8 bytes without BOM, detected encoding name).

    With ``verify=False`` UTF-8 is only checked on the first megabyte (the CSV parser checks
    the rest and the caller falls back to :func:`legacy_to_utf8` when it fails), which spares a
    decoded copy of a big file.
    """
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise IngestError(f"{name}: looks like {what}, not delimited text; expected a "
                              "CSV/TSV text file")
    boms = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
            (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le"),
            (codecs.BOM_UTF16_BE, "utf-16-be"))
    for bom, encoding in boms:
        if data.startswith(bom):
            body = data[len(bom):]
            if encoding == "utf-8-sig":
                if not _is_utf8(body, verify):
                    raise undecodable_error(name, "UTF-8")
                return body, encoding
            try:
                text = body.decode(encoding)
            except UnicodeDecodeError as exc:
                raise undecodable_error(name, encoding.upper()) from exc
            return text.encode("utf-8"), encoding
    utf16 = _bomless_utf16(data[:4096])
    if utf16:
        try:
            return data.decode(utf16).encode("utf-8"), utf16
        except UnicodeDecodeError as exc:
            raise undecodable_error(name, utf16.upper()) from exc
    if _mostly_nul(data[:SAMPLE_BYTES]):
        raise binary_error(name)
    if _is_utf8(data, verify):
        return data, "utf-8"
    return legacy_to_utf8(data)


def _mostly_nul(head: bytes) -> bool:
    """More than 1 byte in 100 of the file's first megabyte is NUL: binary data (or text in an
    encoding that was not recognised), refused. A rarer NUL - a stray one in a text export -
    rejects just its row (:mod:`~preauth.ingest.delimited`), in whole and batched reading
    alike: both decide on the same first megabyte."""
    nuls = head.count(0)
    return nuls > 0 and nuls * 100 > len(head)


def _is_utf8(data: bytes, whole: bool) -> bool:
    try:
        if whole:
            data.decode("utf-8")
        else:
            codecs.getincrementaldecoder("utf-8")().decode(data[:SAMPLE_BYTES], final=False)
    except UnicodeDecodeError:
        return False
    return True


def legacy_to_utf8(data: bytes) -> tuple[bytes, str]:
    """Windows-1252 (what "Latin-1" exports usually are), else ISO-8859-1, as UTF-8."""
    try:
        return data.decode("cp1252").encode("utf-8"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1").encode("utf-8"), "latin-1"


def _bomless_utf16(head: bytes) -> str | None:
    if len(head) < 8:
        return None
    even, odd = head[0::2], head[1::2]
    even_nul, odd_nul = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_nul > 0.3 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.3 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def undecodable_error(name: str, encoding: str) -> IngestError:
    return IngestError(f"{name}: the text could not be decoded as {encoding}; expected a "
                       "UTF-8, UTF-16 or Latin-1 CSV file")


def binary_error(name: str) -> IngestError:
    return IngestError(f"{name}: looks like binary data, not delimited text; expected a "
                       "CSV/TSV text file")


def sample_text(data: bytes) -> str:
    """The first ~1 MB of UTF-8 ``data``, cut at the last line break."""
    head = data[:SAMPLE_BYTES]
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(head, final=False)
    if len(data) > SAMPLE_BYTES:
        cut = max(text.rfind("\n"), text.rfind("\r"))
        if cut > 0:
            text = text[:cut]
    return text


def looks_binary(sample: str) -> bool:
    if not sample:
        return False
    controls = sum(1 for ch in sample[:65536]
                   if (ord(ch) < 32 and ch not in "\t\r\n\x0b\x0c") or 0x7F <= ord(ch) < 0xA0)
    return controls > max(3, len(sample[:65536]) // 100)

