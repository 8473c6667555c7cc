"""A sheet's XML read straight, without parsing it whole: the fast path for our own templates.

A template's layout says where every value is, so the reader needs three columns of each form sheet
(STT, Số liệu, Ghi chú), not the hundreds of live-check formulas beside them that python-calamine would
parse too. `column_rows` returns those columns decoded by `cells.decode_cell`, as python-calamine would
give them (but for error cells, `CellError` here). It sees only cells written the plain way
(`<c r="D21" ...>`, as Excel, LibreOffice, WPS, openpyxl and xlsxwriter write them): the caller checks
what it finds and reads the sheet with python-calamine when that fails. `find_cell` finds one cell's
element (its style, its formula), `sheet_extent` the rectangle a sheet spans.
"""

from __future__ import annotations

import re
from functools import lru_cache

from cchc_excel.ooxml.a1 import col_index
from cchc_excel.ooxml.cells import CellError, NumberFormats, decode_cell, serial_value
from cchc_excel.ooxml.strings import SharedStrings, rich_text
from cchc_excel.ooxml.xmltext import xml_text

__all__ = ["column_rows", "error_cells", "find_cell", "sheet_extent", "string_cells"]

_V = re.compile(rb"<v>(.*?)</v>", re.S)
_ATTR_T = re.compile(rb'\bt="(\w+)"')
_ATTR_S = re.compile(rb'\bs="(\d+)"')


@lru_cache(maxsize=64)
def _cell_pattern(columns: tuple) -> re.Pattern:
    if all(len(c) == 1 for c in columns):
        group = b"[" + b"".join(c.encode() for c in columns) + b"]"
    else:
        group = b"|".join(c.encode() for c in columns)
    # Only cells with content: a styled empty cell `<c r="E9" s="29"/>` does not match (cell attributes
    # never hold a slash), which spares the loop below most of a template's cells.
    return re.compile(rb'<c r="(' + group + rb')(\d+)"([^>/]*)>(.*?)</c>', re.S)


@lru_cache(maxsize=256)
def _col_index(letters: bytes) -> int:
    return col_index(letters.decode("ascii"))


def column_rows(xml: bytes, columns, strings: SharedStrings | None, formats: NumberFormats,
                max_rows: int) -> list[list]:
    """Rows from A1 holding only `columns` (letters, e.g. ("A", "D", "E")), decoded by `cells.decode_cell`.

    Cells written without their `r` reference or with a namespace prefix are not seen: the caller checks
    what it reads (the STT codes) and reads the sheet whole when that fails.
    """
    columns = tuple(sorted(set(columns)))
    width = max(_col_index(c.encode()) for c in columns) + 1
    dates = formats.dates
    cells = []
    height = 0
    raw_strings = strings.raw if strings is not None else ()
    for col, row, attrs, content in _cell_pattern(columns).findall(xml):
        if not content:
            continue  # a styled empty cell
        r = int(row) - 1
        if r >= max_rows:
            continue
        raw = content[3:-4]
        if content[:3] != b"<v>" or content[-4:] != b"</v>" or b"<" in raw:
            value = _value(attrs, content, strings, formats)
        elif b't="' not in attrs:
            try:  # a plain number, most of what a template holds: spared the general call
                value = float(raw)
            except ValueError:
                value = _value(attrs, content, strings, formats)
            else:
                if dates and b's="' in attrs:
                    style = _style(attrs)
                    if style in dates:
                        value = serial_value(value, style, formats)
        elif b' t="s"' in attrs and raw.isdigit() and int(raw) < len(raw_strings):
            value = strings[int(raw)]  # a shared string (the STT codes): spared the general call too
        else:
            value = _value(attrs, content, strings, formats)
        if value == "":
            continue
        cells.append((r, _col_index(col), value))
        if r >= height:
            height = r + 1
    rows = [[""] * width for _ in range(height)]
    for r, c, value in cells:
        rows[r][c] = value
    return rows


_STRING_CELL = re.compile(rb'<c r="([A-Z]{1,3})(\d+)"[^>]*?\bt="s"[^>]*><v>(\d+)</v></c>')
_SHAPES: dict[bytes, tuple] = {}


def string_cells(xml: bytes) -> tuple | None:
    """A sheet made of shared strings only (our `_cchc` metadata sheet) as `((row, col, index), ...)`:
    0-based positions and shared-string indexes; None when the sheet holds anything else."""
    shape = _SHAPES.get(xml)
    if shape is None:
        found = _STRING_CELL.findall(xml)
        if len(found) != xml.count(b"<c "):
            return None
        shape = tuple((int(row) - 1, _col_index(col), int(index)) for col, row, index in found)
        if len(_SHAPES) > 64:
            _SHAPES.clear()
        _SHAPES[xml] = shape
    return shape


_CELL_TAG = re.compile(rb"<(?:\w+:)?c[\s/>]")
_CELL_REF = re.compile(rb'<(?:\w+:)?c r="([A-Z]{1,3})(\d{1,7})"[^>]*?(/?)>')


def sheet_extent(xml: bytes) -> tuple[int, int] | None:
    """(rows, columns) from A1 to the farthest cell with content: the rectangle python-calamine allocates
    for the sheet, about 32 bytes a cell, whatever lies between (two cells, at A1 and XFD1048576, make
    17 billion). None when a cell is written without its reference first (`<c r="...">`): its place then
    depends on the cells before it."""
    refs = _CELL_REF.findall(xml)
    if len(refs) != len(_CELL_TAG.findall(xml)):
        return None
    filled = [(letters, row) for letters, row, empty in refs if not empty]  # `<c r="XFD1" s="3"/>`: nothing
    rows = max((int(row) for _, row in filled), default=0)
    widest = max(((len(letters), letters) for letters, _ in filled), default=(0, b""))[1]
    return rows, (_col_index(widest) + 1 if widest else 0)


_ERROR_CELL = re.compile(rb'<c r="([A-Z]{1,3})(\d+)"[^>/]*\bt="e"[^>/]*>(.*?)</c>', re.S)


def error_cells(xml: bytes) -> list[tuple[int, int, CellError]]:
    """The formula error cells (`t="e"`) of a sheet as 0-based (row, column, `CellError`), which
    python-calamine reads as ''."""
    if b't="e"' not in xml:
        return []
    out = []
    for col, row, content in _ERROR_CELL.findall(xml):
        v = _V.search(content)
        value = decode_cell("e", xml_text(v.group(1)), None) if v else ""
        if value != "":
            out.append((int(row) - 1, _col_index(col), value))
    return out


def _style(attrs: bytes) -> int | None:
    style = _ATTR_S.search(attrs)
    return int(style.group(1)) if style else None


def _value(attrs: bytes, content: bytes, strings: SharedStrings | None, formats: NumberFormats):
    """A cell's value, the general way (formulas, shared and inline strings, booleans, errors, ISO dates)."""
    kind = _ATTR_T.search(attrs)
    kind = kind.group(1).decode("ascii") if kind else "n"
    if kind == "inlineStr":
        text = rich_text(content)
    else:
        v = _V.search(content)
        if v is None:
            return ""
        text = xml_text(v.group(1))
    return decode_cell(kind, text, _style(attrs) if kind == "n" else None, formats, strings)


class CellElement:
    """The `<c r="ref" ...>` element found in a sheet's XML: its attributes and its content (None for
    `<c .../>`)."""

    __slots__ = ("attrs", "content")

    def __init__(self, attrs: bytes, content: bytes | None):
        self.attrs, self.content = attrs, content


def find_cell(xml: bytes, ref: str) -> CellElement | None:
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
                return CellElement(xml[name_end:tag_end - 1], None)
            close = xml.find(b"</" + name + b">", tag_end)
            if close == -1:
                return None
            return CellElement(xml[name_end:tag_end], xml[tag_end + 1:close])
        pos = xml.find(needle, pos + 1)
    return None
