"""Opening a returned workbook: python-calamine for the cell values, the raw XML for the rest.

python-calamine reads xlsx, xls and ods, but gives values only, and parses whole sheets. What else the
reader needs comes from the file's XML parts, read lazily and only for the cells that need it:

* for our templates, the few columns the layout points at, straight from the xlsx sheet XML
  (`xlsx_fast`): a template's sheets carry hundreds of live-check formulas the reader does not need;
* whether a ratio cell still holds a formula (`<f>` in the xlsx sheet, `table:formula` in ods);
* whether a cell is percent-formatted, so that 0.48 shown as 48% reads as 48 (xlsx `styles.xml`, ods
  `office:value-type="percentage"`; .xls keeps no formats we can read);
* whether a sheet is protected (`<sheetProtection>`), the workbook's defined names, and when it was last
  saved (docProps/core.xml `dcterms:modified`, ods meta.xml `dc:date`).

calamine parses a whole sheet when it is opened (about 1 s and 160 MB for 400,000 rows), and keeps it as
a dense rectangle from A1 to its farthest cell, about 32 bytes a cell, however few cells there are: two
cells at A1 and XFD1048576 ask for 512 GB and abort the process. An xlsx sheet whose XML is larger than
`STREAM_THRESHOLD`, or whose cells reach beyond the row or column limit, is therefore streamed with expat
instead (`xml_stream`), stopping at the limits, so it costs little time and bounded memory. An `.ods` is
scanned first (`xml_stream.scan_ods`) and refused when a sheet's rectangle exceeds the limits' cells. A
legacy `.xls` holds at most 65,536 rows and 256 columns.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime, timezone
from operator import itemgetter
from pathlib import Path

from xml.parsers.expat import ExpatError

from python_calamine import CalamineWorkbook, SheetVisibleEnum

from cchc_excel.template import metadata

from cchc_excel.ooxml import fast as xlsx_fast
from cchc_excel.ooxml.a1 import cell_name, col_index, split_ref
from cchc_excel.ooxml.gate import abnormal
from cchc_excel.ooxml.stream import scan_ods, stream_xlsx_rows

__all__ = ["Book", "read_meta_sheet", "col_index", "cell_name", "split_ref", "STREAM_THRESHOLD"]

STREAM_THRESHOLD = 2_000_000  # bytes of uncompressed sheet XML above which an xlsx sheet is streamed


# --- the workbook ------------------------------------------------------------------------------------

class Book:
    """One open workbook: each sheet's rows are read once and kept.

    Args:
        path: the file.
        file_format: "xlsx", "xls" or "ods" (from `safety.open_checked`).
        data, zip: the file's bytes and the zip open on them, when `safety.open_checked` already read
            them (read here otherwise).
        max_rows: at most this many rows are read from each sheet.
        max_cols: at most this many columns.

    Raises `UnreadableFile` for an .ods with a sheet larger than `max_rows` × `max_cols` cells, and
    whatever python-calamine or zipfile raise: the caller turns that into `UnreadableFile`.
    """

    def __init__(self, path: Path, file_format: str, max_rows: int, max_cols: int = 256, *,
                 data: bytes | None = None, zip: zipfile.ZipFile | None = None):
        self.path = Path(path)
        self.format = file_format
        self.max_rows = max_rows
        self.max_cols = max_cols
        if data is None and file_format in ("xlsx", "ods"):
            data = self.path.read_bytes()
        self._data = data
        self._wb: CalamineWorkbook | None = None
        self.truncated: dict[str, int] = {}  # sheet -> rows it has beyond those read (at least 1)
        self.too_wide: set[str] = set()  # sheets with cells beyond the columns read
        self._rows: dict[str, list] = {}
        self._columns: dict[tuple, list | None] = {}
        self._zip: zipfile.ZipFile | None = zip
        self._parts: dict[str, str] | None = None  # sheet name -> zip part (xlsx)
        self._states: dict[str, str] = {}  # sheet name -> visibility (xlsx)
        self._names: dict[str, str] | None = None
        self._workbook: bytes | None = None
        self._sheet_xml: dict[str, bytes] = {}
        self._styles: bytes | None = None
        self._percent_xf: frozenset | None = None
        self._date_xf: frozenset | None = None
        self._strings: xlsx_fast.SharedStrings | None = None
        self._ods_cells: dict | None = None
        if file_format == "ods":
            self._scan_ods()
        if file_format == "xlsx" and self.sheet_parts():
            # Sheet names from workbook.xml: python-calamine is opened only if a sheet must be read whole.
            self.sheet_names = list(self._parts)
            self.hidden = {name for name, state in self._states.items() if state in ("hidden", "veryHidden")}
        else:
            meta = self._calamine().sheets_metadata
            self.sheet_names = [m.name for m in meta]
            self.hidden = {m.name for m in meta if m.visible != SheetVisibleEnum.Visible}

    def _calamine(self) -> CalamineWorkbook:
        if self._wb is None:
            source = io.BytesIO(self._data) if self._data is not None else str(self.path)
            self._wb = CalamineWorkbook.from_object(source)
        return self._wb

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        if self._wb is not None:
            self._wb.close()

    # -- values --

    def rows(self, sheet: str) -> list[list]:
        """The sheet's rows from A1 (row i is the sheet's row i + 1), at most `max_rows` of them."""
        rows = self._rows.get(sheet)
        if rows is None:
            rows = self._read_rows(sheet)
            self._rows[sheet] = rows
        return rows

    def loaded(self, sheet: str) -> bool:
        """Whether the sheet's whole rows have been read."""
        return sheet in self._rows

    def column_rows(self, sheet: str, columns) -> list[list]:
        """Like `rows`, but only `columns` (letters) need be filled: for xlsx they are read straight from
        the sheet's XML, much faster than the whole sheet; other formats give the whole rows."""
        if sheet in self._rows or self.format != "xlsx":
            return self.rows(sheet)
        key = (sheet, tuple(sorted(columns)))
        if key not in self._columns:
            xml = self.sheet_xml(sheet)
            rows = None
            if xml is not None:
                rows = xlsx_fast.column_rows(xml, key[1], self._shared_strings(), self._date_styles(),
                                             self.max_rows)
            self._columns[key] = rows
        rows = self._columns[key]
        return rows if rows is not None else self.rows(sheet)

    def _read_rows(self, sheet: str) -> list[list]:
        if self.format == "xlsx" and self.sheet_parts().get(sheet):
            xml = self.sheet_xml(sheet)  # None above STREAM_THRESHOLD
            extent = xlsx_fast.sheet_extent(xml) if xml is not None else None
            if extent is None or extent[0] > self.max_rows or extent[1] > self.max_cols:
                rows, more_rows, more_cols = stream_xlsx_rows(
                    self.zip(), self.sheet_parts()[sheet], self._shared_strings_part(), self.max_rows,
                    self.max_cols)
                if more_rows:
                    self.truncated[sheet] = more_rows
                if more_cols:
                    self.too_wide.add(sheet)
                return rows
        ws = self._calamine().get_sheet_by_name(sheet)
        height = ws.total_height if ws.end is not None else 0
        if height > self.max_rows:
            self.truncated[sheet] = height - self.max_rows
            rows = ws.to_python(skip_empty_area=False, nrows=self.max_rows)
        else:
            rows = ws.to_python(skip_empty_area=False)
        if rows and len(rows[0]) > self.max_cols:
            self.too_wide.add(sheet)
            rows = [row[:self.max_cols] for row in rows]
        return rows

    def string_cells(self, sheet: str):
        """xlsx: a sheet made of text only as `(shape, strings)`: `xlsx_fast.string_cells` and the
        shared-strings table; None for other formats and sheets."""
        if self.format != "xlsx" or sheet in self._rows:
            return None
        xml = self.sheet_xml(sheet)
        shape = xlsx_fast.string_cells(xml) if xml else None
        return (shape, self._shared_strings()) if shape is not None else None

    def _shared_strings(self) -> xlsx_fast.SharedStrings:
        if self._strings is None:
            part = self._shared_strings_part()
            self._strings = xlsx_fast.SharedStrings(self._part(part) or b"" if part else b"")
        return self._strings

    def _styles_xml(self) -> bytes:
        if self._styles is None:
            self._styles = self._part("xl/styles.xml") or b""
        return self._styles

    def _date_styles(self) -> frozenset:
        if self._date_xf is None:
            self._date_xf = xlsx_fast.date_styles(self._styles_xml())
        return self._date_xf

    # -- zip parts (xlsx, ods) --

    def zip(self) -> zipfile.ZipFile:
        if self._zip is None:
            self._zip = zipfile.ZipFile(io.BytesIO(self._data))
        return self._zip

    def _part(self, name: str) -> bytes | None:
        try:
            return _read_member(self.zip(), self.zip().getinfo(name))
        except KeyError:
            return None

    def _workbook_xml(self) -> bytes:
        if self._workbook is None:
            self._workbook = self._part("xl/workbook.xml") or b""
        return self._workbook

    def sheet_parts(self) -> dict[str, str]:
        """xlsx: sheet title -> zip part name (`xl/worksheets/sheet1.xml`)."""
        if self._parts is None:
            self._parts = {}
            rels = self._part("xl/_rels/workbook.xml.rels") or b""
            targets = {}
            for rel in re.finditer(rb"<(?:\w+:)?Relationship\b([^>]*)>", rels):
                blob = rel.group(1)
                if b"/worksheet" not in blob:
                    continue  # styles, theme, shared strings, chart sheets...
                attrs = _attrs(blob)
                if "Id" in attrs and "Target" in attrs:
                    target = attrs["Target"]
                    target = target.lstrip("/") if target.startswith("/") else "xl/" + target
                    targets[attrs["Id"]] = _normpath(target)
            for sheet in re.finditer(rb"<(?:\w+:)?sheet\b([^>]*)/?>", self._workbook_xml()):
                attrs = _attrs(sheet.group(1))
                rid = next((v for k, v in attrs.items() if k.endswith(":id")), None)
                if "name" in attrs and rid in targets:
                    self._parts[attrs["name"]] = targets[rid]
                    self._states[attrs["name"]] = attrs.get("state", "visible")
        return self._parts

    def defined_names(self) -> dict[str, str]:
        """xlsx: workbook-level defined names -> their formula text (`'Biểu mẫu 3'!$D$21`)."""
        if self.format != "xlsx":
            return {}
        if self._names is None:
            self._names = {}
            for dn in re.finditer(rb"<(?:\w+:)?definedName\b([^>]*)>([^<]*)<", self._workbook_xml()):
                attrs = _attrs(dn.group(1))
                if "name" in attrs and "localSheetId" not in attrs:
                    self._names[attrs["name"]] = _unescape(dn.group(2).decode("utf-8", "replace"))
        return self._names

    def _shared_strings_part(self) -> str | None:
        for candidate in ("xl/sharedStrings.xml", "xl/SharedStrings.xml"):
            if candidate in self.zip().NameToInfo:
                return candidate
        return None

    def sheet_xml(self, sheet: str) -> bytes | None:
        """xlsx: the sheet's raw XML (only for sheets under the streaming threshold)."""
        if sheet in self._sheet_xml:
            return self._sheet_xml[sheet]
        data = None
        part = self.sheet_parts().get(sheet)
        if part:
            info = self.zip().getinfo(part)
            if info.file_size <= STREAM_THRESHOLD:
                data = _read_member(self.zip(), info)
        self._sheet_xml[sheet] = data
        return data

    def formula_cells(self, sheet: str, refs) -> set:
        """Which of `refs` (A1 names) hold a formula; empty for .xls, where calamine cannot tell."""
        refs = list(refs)
        if not refs:
            return set()
        if self.format == "xlsx":
            xml = self.sheet_xml(sheet)
            if not xml:
                return set()
            found = set()
            for ref in refs:
                m = _cell_match(xml, ref)
                if m and m.content and re.search(rb"<(?:\w+:)?f\b", m.content):
                    found.add(ref)
            return found
        if self.format == "ods":
            cells = self._ods().get(sheet, {})
            return {ref for ref in refs if cells.get(ref, (False, False))[0]}
        return set()

    def is_percent(self, sheet: str, ref: str) -> bool:
        """Whether the cell is percent-formatted (Excel stores 48% as 0.48 there)."""
        if self.format == "xlsx":
            if not self._percent_styles():  # our templates have none: no need to find the cell
                return False
            xml = self.sheet_xml(sheet)
            m = _cell_match(xml, ref) if xml else None
            if not m:
                return False
            style = _attrs(m.attrs).get("s")
            return style is not None and style.isdigit() and int(style) in self._percent_styles()
        if self.format == "ods":
            return self._ods().get(sheet, {}).get(ref, (False, False))[1]
        return False

    def is_protected(self, sheet: str) -> bool | None:
        """xlsx: whether the sheet is protected; None when it cannot be told."""
        if self.format != "xlsx":
            return None
        xml = self.sheet_xml(sheet)
        if xml is None:
            return None
        pos = xml.rfind(b"sheetProtection")  # it follows the cell data
        if pos == -1 or xml[pos - 1:pos] not in (b"<", b":"):
            return False
        end = xml.find(b">", pos)
        return _attrs(xml[pos:end]).get("sheet", "0") in ("1", "true")

    def _percent_styles(self) -> frozenset:
        """Indexes of the cell formats (`cellXfs`) whose number format shows a percent."""
        if self._percent_xf is None:
            self._percent_xf = xlsx_fast.percent_styles(self._styles_xml())
        return self._percent_xf

    def _scan_ods(self) -> None:
        """Scan content.xml before python-calamine opens it whole: refuse a sheet whose rectangle of cells
        exceeds the limits (a cell repeated a thousand times over a million rows is a 1 KB file); keep the
        formula and percent flags of its cells."""
        try:
            self._ods_cells, extents = scan_ods(self.zip(), self.max_rows, self.max_cols)
        except (ExpatError, KeyError, ValueError):
            self._ods_cells = {}  # python-calamine will say what is wrong with it
            return
        for sheet, (rows, cols) in extents.items():
            if rows * cols > self.max_rows * self.max_cols:
                raise abnormal(self.path.name, f"trang tính '{sheet[:80]}' trải trên {rows} dòng × {cols} cột, "
                                               "quá lớn")

    def _ods(self) -> dict:
        return self._ods_cells or {}

    # -- document properties --

    def saved_at(self) -> datetime | None:
        """When the file says it was last saved: xlsx docProps/core.xml, ods meta.xml; else None."""
        if self.format == "xlsx":
            xml = self._part("docProps/core.xml")
            pattern = rb"<dcterms:modified\b[^>]*>([^<]+)<"
        elif self.format == "ods":
            xml = self._part("meta.xml")
            pattern = rb"<dc:date>([^<]+)<"
        else:
            return None
        m = re.search(pattern, xml or b"")
        return _parse_datetime(m.group(1).decode("ascii", "replace")) if m else None


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A zip member, inflating no more than the size its central directory declares (which
    `safety.inspect_file` checked): `ZipFile.read` would inflate all of a member lying about its size
    before cutting it short, and its check sum then fails."""
    with zf.open(info) as f:
        return f.read(info.file_size)


# --- small XML helpers ---------------------------------------------------------------------------------

_ATTR_RE = re.compile(rb'([\w:.-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);")


def _unescape(text: str) -> str:
    """XML character and entity references (`&amp;`, `&#7889;`) in attribute values and text."""
    if "&" not in text:
        return text
    return _ENTITY.sub(xlsx_fast.unescape_reference, text)


def _attrs(blob: bytes) -> dict[str, str]:
    return {
        m.group(1).decode(): _unescape((m.group(2) if m.group(2) is not None else m.group(3)).decode("utf-8", "replace"))
        for m in _ATTR_RE.finditer(blob)
    }


def _normpath(path: str) -> str:
    parts: list[str] = []
    for piece in path.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece and piece != ".":
            parts.append(piece)
    return "/".join(parts)


class _CellMatch:
    """The `<c r="ref" ...>` element found in a sheet's XML: its attributes and its content."""

    __slots__ = ("attrs", "content")

    def __init__(self, attrs: bytes, content: bytes | None):
        self.attrs, self.content = attrs, content


def _cell_match(xml: bytes, ref: str) -> _CellMatch | None:
    """Find the cell element of `ref` with plain byte searches (a regex over the sheet costs 10x more)."""
    needle = b' r="' + ref.encode() + b'"'
    pos = xml.find(needle)
    while pos != -1:
        start = xml.rfind(b"<", 0, pos)
        tag_end = xml.find(b">", pos)
        if start != -1 and tag_end != -1 and re.match(rb"<(?:\w+:)?c\b", xml[start:start + 8]):
            name_end = start + 1
            while xml[name_end:name_end + 1] not in (b" ", b"\t", b"\n", b"\r", b"/", b">", b""):
                name_end += 1
            name = xml[start + 1:name_end]
            if xml[tag_end - 1:tag_end] == b"/":
                return _CellMatch(xml[name_end:tag_end - 1], None)
            close = xml.find(b"</" + name + b">", tag_end)
            if close == -1:
                return None
            return _CellMatch(xml[name_end:tag_end], xml[tag_end + 1:close])
        pos = xml.find(needle, pos + 1)
    return None


def _parse_datetime(text: str) -> datetime | None:
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # LibreOffice writes nanoseconds
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# --- our template's metadata sheet ---------------------------------------------------------------------

def read_meta_sheet(book: Book) -> tuple[dict, dict]:
    """`metadata.parse_sheet` of the `_cchc` sheet; its layout table is parsed once per template
    generation (same cells, same strings), the key/value pairs above it every time."""
    found = book.string_cells(metadata.SHEET)
    if found is None:
        return metadata.parse_sheet(book.rows(metadata.SHEET))
    shape, strings = found
    raw = strings.raw
    if any(index >= len(raw) for _, _, index in shape):
        return metadata.parse_sheet(book.rows(metadata.SHEET))
    first = metadata.LAYOUT_ROW - 1  # 0-based row of the layout header
    head = [(r, c, index) for r, c, index in shape if r < first]
    table = [(r, c, index) for r, c, index in shape if r >= first]
    indexes = [index for _, _, index in table]
    key = (tuple(table), tuple(itemgetter(*indexes)(raw)) if len(indexes) > 1 else tuple(raw[i] for i in indexes))
    layout = _LAYOUTS.get(key)
    if layout is None:
        layout = metadata.parse_sheet(_cells_to_rows(table, strings))[1]
        if len(_LAYOUTS) > 32:
            _LAYOUTS.clear()
        _LAYOUTS[key] = layout
    meta = metadata.parse_sheet(_cells_to_rows(head, strings))[0]
    return meta, layout


def _cells_to_rows(cells, strings) -> list[list]:
    height = max((r for r, _, _ in cells), default=-1) + 1
    rows = [["", "", ""] for _ in range(height)]
    for r, c, index in cells:
        if c < 3:
            rows[r][c] = strings[index]
    return rows


_LAYOUTS: dict = {}  # layout table (cells, strings) -> parsed layout
