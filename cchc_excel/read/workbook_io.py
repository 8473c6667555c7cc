"""Opening a returned workbook: python-calamine for the cell values, the raw XML for the rest.

python-calamine reads xlsx, xls and ods, but gives values only, and parses whole sheets. What else the
reader needs comes from the file's XML parts, read lazily and only for the cells that need it:

* for our templates, the few columns the layout points at, straight from the xlsx sheet XML
  (`ooxml.fast`): a template's sheets carry hundreds of live-check formulas the reader does not need;
* whether a ratio cell still holds a formula (`<f>` in the xlsx sheet, `table:formula` in ods);
* whether a cell is percent-formatted, so that 0.48 shown as 48% reads as 48 (xlsx `styles.xml`, ods
  `office:value-type="percentage"`; .xls keeps no formats we can read);
* whether a sheet is protected (`<sheetProtection>`), the workbook's defined names, and when it was last
  saved (docProps/core.xml `dcterms:modified`, ods meta.xml `dc:date`).

calamine parses a whole sheet when it is opened (about 1 s and 160 MB for 400,000 rows), and keeps it as
a dense rectangle from A1 to its farthest cell, about 32 bytes a cell, however few cells there are: two
cells at A1 and XFD1048576 ask for 512 GB and abort the process. An xlsx sheet whose XML is larger than
`STREAM_THRESHOLD`, or whose cells reach beyond the row or column limit, is therefore streamed with expat
instead (`ooxml.stream`), stopping at the limits, so it costs little time and bounded memory; so is one
whose rectangle holds more than `max_cells` cells. An `.ods` is scanned first (`ooxml.stream.scan_ods`)
and refused when its sheets' rectangles hold more than `max_cells`; the gate does the same for an `.xls`
(`ooxml.biff`): python-calamine parses every sheet of those two when it opens the file. Both xlsx paths of
our own decode their cells with `ooxml.cells.decode_cell`, so a cell reads the same whichever path its
sheet takes. The package's parts are found through its relationships (`ooxml.parts.locate`).
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from datetime import datetime
from pathlib import Path

from xml.parsers.expat import ExpatError

from python_calamine import CalamineWorkbook, SheetVisibleEnum

from cchc_excel.ooxml import fast, parts
from cchc_excel.ooxml.cells import NumberFormats, is_external_formula
from cchc_excel.ooxml.gate import Limits, check_cells
from cchc_excel.ooxml.stream import scan_ods, stream_xlsx_rows
from cchc_excel.ooxml.strings import SharedStrings
from cchc_excel.ooxml.styles import date_styles, duration_styles, percent_styles
from cchc_excel.ooxml.xmltext import attributes, unescape

__all__ = ["Book", "STREAM_THRESHOLD"]

STREAM_THRESHOLD = 2_000_000  # bytes of uncompressed sheet XML above which an xlsx sheet is streamed
_FORMULA = re.compile(rb"<(?:\w+:)?f\b[^>]*>([^<]*)</(?:\w+:)?f>")
_BRACKET_FORMULA = re.compile(rb"<(?:\w+:)?f\b[^>]*>[^<]*\[")


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
        max_cells: at most this many cells held by python-calamine (`Limits.max_cells`): an .ods over
            it is refused, an .xlsx sheet over it streamed.

    Raises `UnreadableFile` for an .ods whose sheets span more than `max_cells` cells, and
    whatever python-calamine or zipfile raise: the caller turns that into `UnreadableFile`.
    """

    def __init__(self, path: Path, file_format: str, max_rows: int, max_cols: int = 256, *,
                 data: bytes | None = None, zip: zipfile.ZipFile | None = None,
                 max_cells: int = Limits.max_cells):
        self.path = Path(path)
        self.format = file_format
        self.max_rows = max_rows
        self.max_cols = max_cols
        self.max_cells = max_cells
        if data is None and file_format in ("xlsx", "ods"):
            data = self.path.read_bytes()
        self._data = data
        self._wb: CalamineWorkbook | None = None
        self.truncated: dict[str, int] = {}  # sheet -> rows it has beyond those read (at least 1)
        self.too_wide: set[str] = set()  # sheets with cells beyond the columns read
        self._rows: dict[str, list] = {}
        self._extents: dict[str, tuple[int, int]] = {}  # sheet -> (rows, columns) of the rows kept
        self._columns: dict[tuple, list | None] = {}
        self._zip: zipfile.ZipFile | None = zip
        self._package: parts.Package | None | bool = None  # False: no workbook part found
        self._parts: dict[str, str] | None = None  # sheet name -> zip part (xlsx)
        self._states: dict[str, str] = {}  # sheet name -> visibility (xlsx)
        self._names: dict[str, str] | None = None
        self._workbook: bytes | None = None
        self._sheet_xml: dict[str, bytes] = {}
        self._styles: bytes | None = None
        self._formats: NumberFormats | None = None
        self._strings: SharedStrings | None = None
        self._flags: dict[str, dict] = {}  # sheet -> {A1 ref: (formula, percent, external)}, ods, streamed xlsx
        self._ods_errors: dict[str, dict] = {}  # sheet -> {(row, col): CellError}, ods
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
        """The sheet's rows from A1 (row i is the sheet's row i + 1), at most `max_rows` of them.

        Values as python-calamine gives them (`ooxml.cells`), but an xlsx formula error is a `CellError`
        on every path (.xls and .ods give ''): `cells.is_empty` treats it as blank.

        Raises `UnreadableFile` when the rows kept of all the sheets read hold more cells than one sheet
        may (`max_rows` × `max_cols`, about 40 MB): an xlsx of many sheets, each with a cell at A1 and one
        far away. (A merged workbook of 10,000 units keeps about 3 million.)
        """
        rows = self._rows.get(sheet)
        if rows is None:
            rows = self._read_rows(sheet)
            self._extents[sheet] = (len(rows), max((len(row) for row in rows), default=0))
            check_cells(self.path.name, self._extents, max(self.max_cells, self.max_rows * self.max_cols))
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
                rows = fast.column_rows(xml, key[1], self._shared_strings(), self.number_formats(),
                                        self.max_rows)
            self._columns[key] = rows
        rows = self._columns[key]
        return rows if rows is not None else self.rows(sheet)

    def _read_rows(self, sheet: str) -> list[list]:
        if self.format == "xlsx" and self.sheet_parts().get(sheet):
            xml = self.sheet_xml(sheet)  # None above STREAM_THRESHOLD
            extent = fast.sheet_extent(xml) if xml is not None else None
            if (extent is None or extent[0] > self.max_rows or extent[1] > self.max_cols
                    or extent[0] * extent[1] > self.max_cells):  # calamine would hold the rectangle
                streamed = stream_xlsx_rows(
                    self.zip(), self.sheet_parts()[sheet], self._package_part("shared_strings"),
                    self.max_rows, self.max_cols, self.number_formats())
                if streamed.more_rows:
                    self.truncated[sheet] = streamed.more_rows
                if streamed.wide:
                    self.too_wide.add(sheet)
                self._flags[sheet] = streamed.flags
                return streamed.rows
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
        xml = self.sheet_xml(sheet) if self.format == "xlsx" else None
        if xml:
            errors = fast.error_cells(xml)
        else:
            errors = [(r, c, error) for (r, c), error in self._ods_errors.get(sheet, {}).items()]
        for r, c, error in errors:  # python-calamine gives them as ''
            if r < len(rows) and c < len(rows[r]):
                rows[r][c] = error
        return rows

    def string_cells(self, sheet: str):
        """xlsx: a sheet made of text only as `(shape, strings)`: `fast.string_cells` and the
        shared-strings table; None for other formats and sheets."""
        if self.format != "xlsx" or sheet in self._rows:
            return None
        xml = self.sheet_xml(sheet)
        shape = fast.string_cells(xml) if xml else None
        return (shape, self._shared_strings()) if shape is not None else None

    def _shared_strings(self) -> SharedStrings:
        if self._strings is None:
            part = self._package_part("shared_strings")
            self._strings = SharedStrings(self._part(part) or b"" if part else b"")
        return self._strings

    def _styles_xml(self) -> bytes:
        if self._styles is None:
            part = self._package_part("styles")
            self._styles = self._part(part) or b"" if part else b""
        return self._styles

    def number_formats(self) -> NumberFormats:
        """xlsx: which cell formats show dates and elapsed times, and the workbook's date system."""
        if self._formats is None:
            styles = self._styles_xml()
            self._formats = NumberFormats(date_styles(styles), duration_styles(styles), percent_styles(styles),
                                          parts.date1904(self._workbook_xml()))
        return self._formats

    # -- zip parts (xlsx, ods) --

    def zip(self) -> zipfile.ZipFile:
        if self._zip is None:
            self._zip = parts.normalise_names(zipfile.ZipFile(io.BytesIO(self._data)))
        return self._zip

    def _package_part(self, which: str) -> str | None:
        """xlsx: the zip member of the package's `which` part ("workbook", "rels", "shared_strings",
        "styles", "core"), found through its relationships (`parts.locate`)."""
        if self._package is None:
            self._package = parts.locate(self.zip()) or False
        return getattr(self._package, which) if self._package else None

    def _part(self, name: str) -> bytes | None:
        try:
            return read_member(self.zip(), self.zip().getinfo(name))
        except KeyError:
            return None

    def _workbook_xml(self) -> bytes:
        if self._workbook is None:
            part = self._package_part("workbook")
            self._workbook = self._part(part) or b"" if part else b""
        return self._workbook

    def sheet_parts(self) -> dict[str, str]:
        """xlsx: sheet title -> zip part name (`xl/worksheets/sheet1.xml`)."""
        if self._parts is None:
            rels = self._package_part("rels")
            folder = posixpath.dirname(self._package_part("workbook") or "")
            found = parts.sheet_parts(self._workbook_xml(), self._part(rels) or b"" if rels else b"", folder)
            self._parts = {name: parts.find_member(self.zip(), sheet.part) or sheet.part
                           for name, sheet in found.items()}
            self._states = {name: sheet.state for name, sheet in found.items()}
        return self._parts

    def defined_names(self) -> dict[str, str]:
        """xlsx: workbook-level defined names -> their formula text (`'Biểu mẫu 3'!$D$21`)."""
        if self.format != "xlsx":
            return {}
        if self._names is None:
            self._names = parts.defined_names(self._workbook_xml())
        return self._names

    def sheet_xml(self, sheet: str) -> bytes | None:
        """xlsx: the sheet's raw XML (only for sheets under the streaming threshold)."""
        if sheet in self._sheet_xml:
            return self._sheet_xml[sheet]
        data = None
        part = self.sheet_parts().get(sheet)
        if part:
            info = self.zip().getinfo(part)
            if info.file_size <= STREAM_THRESHOLD:
                data = read_member(self.zip(), info)
        self._sheet_xml[sheet] = data
        return data

    def formula_cells(self, sheet: str, refs) -> set:
        """Which of `refs` (A1 names) hold a formula; empty for .xls, where calamine cannot tell."""
        refs = list(refs)
        if not refs:
            return set()
        xml = self.sheet_xml(sheet) if self.format == "xlsx" else None
        if xml:
            found = set()
            for ref in refs:
                m = fast.find_cell(xml, ref)
                if m and m.content and re.search(rb"<(?:\w+:)?f\b", m.content):
                    found.add(ref)
            return found
        cells = self._cell_flags(sheet)
        return {ref for ref in refs if cells.get(ref, (False, False))[0]}

    def external_cells(self, sheet: str, refs) -> set:
        """Which of `refs` hold a formula that takes its value from another workbook (`[1]Sheet1!A1`):
        its cached result is whatever that workbook held once. Empty for .xls, where calamine cannot tell."""
        refs = list(refs)
        xml = self.sheet_xml(sheet) if self.format == "xlsx" and refs else None
        if xml is not None:
            # No formula with a bracket: the common case, one search (and none at all without a bracket:
            # the regex costs more than reading the rest of the sheet).
            if b"[" not in xml or not _BRACKET_FORMULA.search(xml):
                return set()
            found = set()
            for ref in refs:
                m = fast.find_cell(xml, ref)
                f = _FORMULA.search(m.content) if m and m.content else None
                if f and is_external_formula(unescape(f.group(1).decode("utf-8", "replace"))):
                    found.add(ref)
            return found
        cells = self._cell_flags(sheet) if refs else {}
        return {ref for ref in refs if cells.get(ref, (False, False, False))[2]}

    def is_percent(self, sheet: str, ref: str) -> bool:
        """Whether the cell is percent-formatted (Excel stores 48% as 0.48 there)."""
        if self.format == "xlsx":
            percents = self.number_formats().percents
            if not percents:  # our templates have none: no need to find the cell
                return False
            xml = self.sheet_xml(sheet)
            if xml is not None:
                m = fast.find_cell(xml, ref)
                style = attributes(m.attrs).get("s") if m else None
                return style is not None and style.isdigit() and int(style) in percents
        return self._cell_flags(sheet).get(ref, (False, False))[1]

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
        return attributes(xml[pos:end]).get("sheet", "0") in ("1", "true")

    def _cell_flags(self, sheet: str) -> dict:
        """{A1 ref: (holds a formula, is percent-formatted)} found while scanning an ods or streaming an
        xlsx sheet; empty for .xls, where python-calamine cannot tell."""
        if self.format == "xlsx" and sheet in self.sheet_parts():
            self.rows(sheet)  # a sheet without its XML at hand is streamed, which records them
        return self._flags.get(sheet, {})

    def _scan_ods(self) -> None:
        """Scan content.xml before python-calamine opens it whole: refuse sheets whose rectangles of cells
        exceed `max_cells` (a cell repeated a thousand times over a million rows is a 1 KB file); keep the
        formula and percent flags of its cells."""
        try:
            self._flags, extents, self._ods_errors = scan_ods(self.zip(), self.max_rows, self.max_cols)
        except (ExpatError, KeyError, ValueError):
            self._flags = {}  # python-calamine will say what is wrong with it
            return
        check_cells(self.path.name, extents, self.max_cells)

    # -- document properties --

    def saved_at(self) -> datetime | None:
        """When the file says it was last saved: xlsx docProps/core.xml, ods meta.xml; else None."""
        if self.format not in ("xlsx", "ods"):
            return None
        part = self._package_part("core") if self.format == "xlsx" else "meta.xml"
        xml = self._part(part) if part else None
        return parts.saved_at(xml or b"", self.format)


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A zip member, inflating no more than the size its central directory declares (which
    `safety.inspect_file` checked): `ZipFile.read` would inflate all of a member lying about its size
    before cutting it short, and its check sum then fails."""
    with zf.open(info) as f:
        return f.read(info.file_size)
