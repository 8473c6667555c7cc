"""The gate every returned file passes before any parser touches it.

`inspect_file` looks only at the container: the zip central directory (declared sizes, never
decompressing to check), the package's relationships, the prolog of each XML part (at most 4 KB), or the
directory and the cell records of an OLE2 file.
It returns the format ("xlsx", "ods" or "xls") or raises `UnreadableFile` with a Vietnamese message that
names the file; a file that is no workbook at all raises `NotWorkbook`, which names what it is (`kind`:
"zip" for a plain archive, "docx", "doc", "pdf", ...). It costs a fraction of a millisecond on a normal
20 KB workbook.

Format quirks this relies on:
- .xlsx/.xlsm (OOXML) and .ods (ODF) are zip files ("PK"). OOXML's relationships name its workbook part,
  usually xl/workbook.xml, but anywhere (`parts.locate`; .xlsb has a binary xl/workbook.bin); some
  writers name the members with backslashes. ODF starts with a stored member "mimetype" naming the
  document type.
- .xls (BIFF) is an OLE2 compound file (a small FAT file system, magic D0 CF 11 E0 A1 B1 1A E1) with a stream
  "Workbook" (BIFF8) or "Book" (BIFF5). Word's .doc and PowerPoint's .ppt are OLE files too.
- An OOXML file with a password to open is not a zip at all: Excel (and LibreOffice) wrap the encrypted zip
  in an OLE file with streams "EncryptionInfo" and "EncryptedPackage", whatever the file's extension.
  An encrypted .xls keeps its Workbook stream, with a FILEPASS record among the first records.
  An encrypted .ods stays a zip whose META-INF/manifest.xml has <manifest:encryption-data> elements.
- Many "xls" files exported by web software are HTML tables or Excel 2003 XML with an .xls name.
- python-calamine parses every sheet of an .xls when it opens it, as a dense rectangle from A1 to the
  farthest cell: the gate reads the Workbook stream (`ooxml.ole`) and measures its sheets (`ooxml.biff`)
  against `Limits.max_cells` first. That is the one check that reads a whole stream.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from cchc_excel.core.text import vn_number
from cchc_excel.errors import UnreadableFile
from cchc_excel.ooxml import biff, parts
from cchc_excel.ooxml.ole import OleFile


@dataclass(frozen=True)
class Limits:
    """Bounds on a returned file; beyond them it is refused unread (zip bombs, runaway sizes)."""

    max_file_bytes: int = 50 * 2**20
    max_entries: int = 2000  # zip members
    max_total_uncompressed: int = 200 * 2**20
    max_entry_uncompressed: int = 100 * 2**20
    max_ratio: float = 200.0  # uncompressed/compressed, checked for entries over RATIO_MIN_BYTES
    max_rows: int = 20000  # rows read per sheet (applied by the reader)
    max_cols: int = 256  # columns read per sheet (applied by the reader; 256 = IV, the .xls limit)
    # Cells python-calamine may hold: it keeps a sheet as the rectangle from A1 to its farthest cell,
    # 30-60 bytes a cell and 8 more once read; .xls and .ods have every sheet parsed when opened (applied
    # to .xls here, to .ods and to the sheets of an .xlsx by the reader). 2 million: about 200 MB.
    max_cells: int = 2_000_000


RATIO_MIN_BYTES = 2**20  # small parts (a sheet of empty rows) may compress very well: no ratio check
XML_HEAD = 4096  # at most this much of each XML part is inflated
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_DTD = re.compile(rb"<!(?i:doctype|entity)")
# What may stand before the root element without a DTD: XML declaration, processing instructions, comments.
_PROLOG = re.compile(rb"\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*)*<[A-Za-z_]", re.S)
_NOT_BOOK = "không phải sổ tính Excel/LibreOffice (.xlsx, .xls, .ods)"
# Things a spreadsheet program opens and can save again as .xlsx: worth telling the user how.
_XLSB, _XML2003, _HTML = "sổ Excel nhị phân (.xlsb)", "tệp Excel 2003 XML", "trang web (HTML)"
_ZIP_KINDS = [("xl/workbook.bin", "xlsb", _XLSB), ("word/document.xml", "docx", "tài liệu Word (.docx)"),
              ("ppt/presentation.xml", "pptx", "bản trình chiếu PowerPoint (.pptx)")]
_CORRUPT = 'Tệp "{}" bị hỏng hoặc không đầy đủ (có thể tải về chưa xong); hãy đề nghị đơn vị gửi lại.'
_PASSWORD = 'Tệp "{}" được đặt mật khẩu mở tệp; hãy gỡ mật khẩu rồi gửi lại.'
# Damaged or cut-off data, as zipfile, zlib, struct and the OLE scan report it.
_BROKEN = (zipfile.BadZipFile, zlib.error, struct.error, EOFError, ValueError, NotImplementedError, RuntimeError)
_MAGIC = [(b"%PDF", "pdf", "tệp PDF"), (b"\x89PNG", "image", "ảnh PNG"), (b"\xff\xd8\xff", "image", "ảnh JPEG"),
          (b"GIF8", "image", "ảnh GIF"), (b"{\\rtf", "rtf", "văn bản RTF"), (b"Rar!", "rar", "tệp nén RAR"),
          (b"7z\xbc\xaf", "7z", "tệp nén 7z")]
# What to send instead, by kind (the rest: the right template file).
_INSTEAD = {kind: "hãy đề nghị đơn vị điền số liệu vào tệp Excel biểu mẫu đã nhận và gửi lại tệp Excel đó "
                  "(bản PDF, ảnh chụp hay văn bản không đọc được số liệu)"
            for kind in ("pdf", "image", "rtf", "text", "docx", "doc", "odt", "pptx", "ppt")}
_INSTEAD.update({kind: "hãy đề nghị đơn vị nén dạng .zip hoặc gửi riêng từng tệp Excel biểu mẫu"
                 for kind in ("rar", "7z")})


class NotWorkbook(UnreadableFile):
    """A file that is no workbook at all; `kind` names what it is ("zip", "docx", "doc", "pdf", "image",
    "text", ... or None when unknown) so that a caller can open an archive or pass a document on."""

    def __init__(self, message: str, kind: str | None = None):
        super().__init__(message)
        self.kind = kind


def sniff_format(path: Path | str) -> str | None:
    """The container by its first bytes: "zip" (xlsx, ods, docx...), "ole" (xls, encrypted OOXML, doc...)
    or None. Says nothing about what is inside; `inspect_file` does."""
    with open(path, "rb") as f:
        head = f.read(8)
    return "zip" if head.startswith(b"PK") else "ole" if head == OLE_MAGIC else None


@dataclass
class CheckedFile:
    """A file that passed `open_checked`: its format and, for the zip formats, its bytes and open zip
    (so that the reader does not read the file and its central directory a second time)."""

    format: str
    data: bytes | None = None
    zip: zipfile.ZipFile | None = None

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def inspect_file(path: Path | str, limits: Limits = Limits()) -> str:
    """Check a returned file before parsing it; return "xlsx", "ods" or "xls".

    Raises UnreadableFile (Vietnamese message naming the file) when the file is empty, not a spreadsheet,
    corrupt or truncated, password-protected, too large or built like a zip bomb / XML entity bomb.
    """
    checked = open_checked(path, limits)
    checked.close()
    return checked.format


def open_checked(path: Path | str, limits: Limits = Limits(), *, data: bytes | None = None,
                 word: bool = False) -> CheckedFile:
    """`inspect_file`, keeping what it read: for .xlsx and .ods the file's bytes (at most
    `limits.max_file_bytes`) and the zip opened on them; for .xls nothing (python-calamine reads the path).
    The caller closes it.

    With `data`, the file's bytes are `data` (a member of a zip, read into memory) and `path` only names
    it; the bytes are then kept for .xls too. With `word`, Word documents pass too, as format "docx" (after
    the same bomb and XML checks) or "doc"; spreadsheets are then refused as `NotWorkbook`."""
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size if data is None else len(data)
        if size == 0:
            raise UnreadableFile(f'Tệp "{name}" rỗng (0 byte).')
        if size > limits.max_file_bytes:
            raise abnormal(name, f"dung lượng {mb(size)}, quá lớn (giới hạn {mb(limits.max_file_bytes)})")
        with (open(path, "rb") if data is None else io.BytesIO(data)) as f:
            head = f.read(2048)
            if head.startswith(b"PK"):
                data = head + f.read(limits.max_file_bytes + 1 - len(head))
            elif head.startswith(OLE_MAGIC):
                return CheckedFile(_check_ole(f, size, name, limits, word), data)
            else:
                raise _not_book(name, *_describe(head))
        zf = parts.normalise_names(zipfile.ZipFile(io.BytesIO(data)))
        try:
            return CheckedFile(_check_zip(zf, name, limits, word), data, zf)
        except BaseException:
            zf.close()
            raise
    except _BROKEN as e:  # a cut-off download loses the zip's central directory at the end of the file
        raise UnreadableFile(_CORRUPT.format(name)) from e
    except OSError as e:
        raise UnreadableFile(f'Không tìm thấy tệp "{name}".' if isinstance(e, FileNotFoundError)
                             else f'Không đọc được tệp "{name}" ({e.strerror or e}).') from e


def _check_zip(zf: zipfile.ZipFile, name: str, limits: Limits, word: bool = False) -> str:
    infos = check_zip_limits(zf, name, limits)
    names = set(zf.namelist())
    if word:
        if "word/document.xml" not in names:
            raise _not_book(name, *_describe_zip(zf, names))
        kind = "docx"
    elif (package := parts.locate(zf)) is not None and package.binary:
        raise _not_book(name, "xlsb", _XLSB)
    elif package is not None:
        kind = "xlsx"
    elif "mimetype" in names and zf.open("mimetype").read(100).strip() == ODS_MIME:
        kind = "ods"
        if "META-INF/manifest.xml" in names and b"encryption-data" in zf.open("META-INF/manifest.xml").read(65536):
            raise UnreadableFile(_PASSWORD.format(name))
    else:
        raise _not_book(name, *_describe_zip(zf, names))
    for i in infos:
        if i.file_size and i.filename.lower().endswith(_XML_SUFFIXES) and not _xml_is_safe(zf, i):
            raise abnormal(name, f"thành phần {i.filename[:80]} chứa khai báo DOCTYPE/ENTITY (XML độc hại)")
    return kind


def check_zip_limits(zf: zipfile.ZipFile, name: str, limits: Limits = Limits()) -> list[zipfile.ZipInfo]:
    """The members of zip `zf` (of file `name`), after checking the bomb limits on the sizes its central
    directory declares and refusing zip-level encryption; raises `UnreadableFile` otherwise."""
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise abnormal(name, f"có {len(infos)} thành phần nén, quá nhiều (giới hạn {limits.max_entries})")
    total = 0
    for i in infos:  # sizes as declared in the central directory; zipfile never inflates past them
        total += i.file_size
        part = i.filename[:80]  # names are the sender's: keep messages short
        if i.file_size > limits.max_entry_uncompressed:
            raise abnormal(name, f"thành phần {part} giải nén ra {mb(i.file_size)}, quá lớn")
        if total > limits.max_total_uncompressed:
            raise abnormal(name, f"tổng dung lượng giải nén trên {mb(limits.max_total_uncompressed)}, quá lớn")
        ratio = i.file_size // max(i.compress_size, 1)
        if i.file_size > RATIO_MIN_BYTES and ratio > limits.max_ratio:
            raise abnormal(name, f"thành phần {part} có tỉ lệ nén bất thường ({ratio} lần, dấu hiệu bom zip)")
        if i.flag_bits & 0x1:  # zip-level encryption (not what Excel does, but some tools do)
            raise UnreadableFile(_PASSWORD.format(name))
    return infos


def _xml_is_safe(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """A DTD, which billion laughs and XXE need, can only stand in the prolog, before the root element.
    Safe when the root element starts within the first bytes after only a declaration, PIs and comments.
    Otherwise refused, unless the whole part was seen without a DTD (a broken part is the parser's)."""
    for n in (512, XML_HEAD):  # the root element of a normal part starts within ~100 bytes
        raw = _member_head(zf, info, n)
        head = raw
        if b"\0" in head[:4]:  # UTF-16, with or without byte-order mark
            head = head.decode("utf-16-be" if head[:1] in (b"\0", b"\xfe") else "utf-16-le", "ignore").encode()
        head = head.removeprefix(b"\xef\xbb\xbf")
        if _PROLOG.match(head):
            return True
    return len(raw) >= info.file_size and not _DTD.search(head)


def _member_head(zf: zipfile.ZipFile, info: zipfile.ZipInfo, n: int) -> bytes:
    """Up to n bytes from the start of a member, inflating no more than that. Reads the local header and
    the data directly: several times cheaper than zf.open(...).read(n) (no CRC, no read-ahead buffer)."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return zf.open(info).read(n)
    f = zf.fp
    f.seek(info.header_offset)
    local = f.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile("bad local header")
    f.seek(info.header_offset + 30 + sum(struct.unpack_from("<HH", local, 26)))
    data = f.read(min(info.compress_size, n))  # XML inflates to more than this; less only if crafted
    if info.compress_type == zipfile.ZIP_STORED:
        return data
    return zlib.decompressobj(-15).decompress(data, n)  # raw deflate, output bounded by n


def _check_ole(f, size: int, name: str, limits: Limits, word: bool = False) -> str:
    ole = OleFile(f, size)
    streams = ole.entries
    if "encryptioninfo" in streams or "encryptedpackage" in streams:
        raise UnreadableFile(_PASSWORD.format(name))
    if word and "worddocument" in streams:
        return "doc"
    book = "workbook" if "workbook" in streams else "book" if "book" in streams else None
    if book:
        data = ole.stream(book, limits.max_file_bytes)
        if biff.is_encrypted(data[:ole.ss]):
            raise UnreadableFile(_PASSWORD.format(name))
        check_cells(name, biff.sheet_extents(data), limits.max_cells)
        return "xls"
    if "worddocument" in streams:
        raise _not_book(name, "doc", "tài liệu Word (.doc)")
    if "powerpoint document" in streams:
        raise _not_book(name, "ppt", "bản trình chiếu PowerPoint (.ppt)")
    raise _not_book(name, "ole", "tệp Office dạng OLE")


def check_cells(name: str, extents: dict[str, tuple[int, int]], max_cells: int) -> None:
    """Refuse file `name` when the rectangles python-calamine would hold for its sheets, (rows, columns)
    from A1 each, exceed `max_cells`, one sheet or all together (.xls and .ods: calamine parses every
    sheet when it opens the file)."""
    for sheet, (rows, cols) in extents.items():
        if rows * cols > max_cells:
            raise abnormal(name, f"trang tính '{sheet[:80]}' trải trên {vn_number(rows)} dòng × {cols} cột "
                                 f"({vn_number(rows * cols)} ô, giới hạn {vn_number(max_cells)} ô), quá lớn")
    total = sum(rows * cols for rows, cols in extents.values())
    if total > max_cells:
        raise abnormal(name, f"các trang tính trải trên tổng cộng {vn_number(total)} ô (giới hạn "
                             f"{vn_number(max_cells)} ô), quá lớn")


def _describe(head: bytes) -> tuple[str | None, str | None]:
    """What a non-zip, non-OLE file seems to be, from its first bytes: (kind, Vietnamese name), None for
    no idea."""
    for magic, kind, what in _MAGIC:
        if head.startswith(magic):
            return kind, what
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 text, e.g. Excel's "Unicode Text" export
        head = head.decode("utf-16", "ignore").encode("utf-8", "ignore")
    low = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"urn:schemas-microsoft-com:office:spreadsheet" in low:
        return "xml2003", _XML2003
    if low.startswith((b"<!doctype html", b"<html")) or b"<table" in low:
        return "html", _HTML
    if head and not re.search(rb"[\x00-\x08\x0e-\x1f]", head):
        return "text", "tệp văn bản"
    return None, None


def _describe_zip(zf: zipfile.ZipFile, names: set[str]) -> tuple[str | None, str]:
    """(kind, Vietnamese name) of a zip that is no workbook; kind "zip" only for a plain archive, not for
    another OOXML or ODF document (which have [Content_Types].xml or mimetype)."""
    found = next(((kind, what) for part, kind, what in _ZIP_KINDS if part in names), None)
    if found:
        return found
    if "mimetype" in names:
        if zf.open("mimetype").read(100).startswith(b"application/vnd.oasis.opendocument.text"):
            return "odt", "văn bản OpenDocument (.odt)"
        return None, "tài liệu OpenDocument"
    if "[Content_Types].xml" in names:
        return None, "tài liệu Office"
    return "zip", "tệp nén ZIP"


def _not_book(name: str, kind: str | None, what: str | None) -> NotWorkbook:
    """The error refusing file `name`, which seems to be `what` (of `kind`), with what to send instead."""
    if kind in ("xlsb", "xml2003", "html"):
        return NotWorkbook(f'Tệp "{name}" là {what}, {_NOT_BOOK}; hãy mở bằng Excel, lưu lại dạng '
                           '"Excel Workbook (.xlsx)" rồi gửi lại.', kind)
    seems = f" (có vẻ là {what})" if what else ""
    instead = _INSTEAD.get(kind, "hãy gửi lại đúng tệp biểu mẫu")
    return NotWorkbook(f'Tệp "{name}"{seems} {_NOT_BOOK}; {instead}.', kind)


def abnormal(name: str, detail: str) -> UnreadableFile:
    """The error refusing file `name`, unread, for what `detail` says (Vietnamese)."""
    return UnreadableFile(f'Tệp "{name}" bất thường: {detail}; để an toàn, hệ thống không đọc tệp này.')


def mb(n: int) -> str:
    return vn_number(n / 2**20, places=1, fixed=True) + " MB"
