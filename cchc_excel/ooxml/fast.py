"""A few columns of an xlsx sheet, read straight from its XML: the fast path for our own templates.

A template's layout says where every value is, so the reader needs three columns of each form sheet
(STT, Số liệu, Ghi chú), not the hundreds of live-check formulas beside them that python-calamine would
parse too. `column_rows` returns those columns as python-calamine would give them (numbers as float, text
as str, '' for empty or error cells, dates as `date`/`datetime`, booleans as bool). It sees only cells
written the plain way (`<c r="D21" ...>`, as Excel, LibreOffice, WPS, openpyxl and xlsxwriter write them):
the caller checks what it finds and reads the sheet with python-calamine when that fails.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import lru_cache

__all__ = ["SharedStrings", "column_rows", "date_styles", "percent_styles", "sheet_extent", "string_cells"]

_EPOCH = datetime(1899, 12, 30)
_T = re.compile(rb"<t\b[^>]*?(?:/>|>(.*?)</t>)", re.S)
_RPH = re.compile(rb"<rPh\b.*?</rPh>", re.S)
_V = re.compile(rb"<v>(.*?)</v>", re.S)
_ATTR_T = re.compile(rb'\bt="(\w+)"')
_ATTR_S = re.compile(rb'\bs="(\d+)"')
_ESCAPE = re.compile(r"&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);|_x([0-9a-fA-F]{4})_")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


def unescape_reference(m) -> str:
    """The character for a match of `&(name);` (group 1) or OOXML's `_xHHHH_` (group 2)."""
    if m.lastindex == 2 and m.group(2):  # OOXML escapes control characters as _xHHHH_
        return chr(int(m.group(2), 16))
    name = m.group(1)
    if name.startswith("#x"):
        return chr(int(name[2:], 16))
    if name.startswith("#"):
        return chr(int(name[1:]))
    return _NAMED[name]


def xml_text(raw: bytes) -> str:
    text = raw.decode("utf-8")
    if "&" in text or "_x" in text:
        text = _ESCAPE.sub(unescape_reference, text)
    return text


def _rich_text(content: bytes) -> str:
    """The text of an `<si>` or `<is>` element: its `<t>` runs, without phonetic hints."""
    if content.startswith(b"<t>") and content.endswith(b"</t>") and content.count(b"<") == 2:
        return xml_text(content[3:-4])
    if b"<rPh" in content:
        content = _RPH.sub(b"", content)
    return "".join(xml_text(m.group(1) or b"") for m in _T.finditer(content))


class SharedStrings:
    """The shared-strings table, decoded only for the indexes asked for."""

    def __init__(self, xml: bytes):
        if b"<si " in xml or b"<si/>" in xml or b":si" in xml:  # unusual writers: the careful way
            self._raw = [m.group(1) or b"" for m in re.finditer(rb"<(?:\w+:)?si\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?si>)",
                                                                xml, re.S)]
        else:
            self._raw = [item[:item.rfind(b"</si>")] for item in xml.split(b"<si>")[1:]]

    @property
    def raw(self) -> list:
        """The undecoded `<si>` contents, by index."""
        return self._raw

    def __getitem__(self, index: int) -> str:
        if not 0 <= index < len(self._raw):
            return ""
        return _decoded(self._raw[index])


@lru_cache(maxsize=50_000)  # the same labels and codes recur in every template: keep them
def _decoded(raw: bytes) -> str:
    return _rich_text(raw)


def date_styles(styles_xml: bytes) -> frozenset:
    """Indexes of the cell formats (`cellXfs`) whose number format shows a date or a time."""
    return _styles_cached(styles_xml, "date")


def percent_styles(styles_xml: bytes) -> frozenset:
    """Indexes of the cell formats (`cellXfs`) whose number format shows a percent (48% stored as 0.48)."""
    return _styles_cached(styles_xml, "percent")


_DATE_IDS = frozenset(range(14, 23)) | frozenset(range(27, 37)) | frozenset(range(45, 48)) | \
    frozenset(range(50, 59))  # Excel's built-in date and time formats
_PERCENT_IDS = frozenset({9, 10})  # 0% and 0.00%
_NUMFMT = re.compile(rb"<(?:\w+:)?numFmt\b([^>]*)>")
_CELL_XFS = re.compile(rb"<(?:\w+:)?cellXfs\b[^>]*>(.*?)</(?:\w+:)?cellXfs>", re.S)
_XF = re.compile(rb"<(?:\w+:)?xf\b([^>]*)>")
_NUMFMT_ID = re.compile(rb"""\bnumFmtId\s*=\s*["'](\d+)["']""")
_FORMAT_CODE = re.compile(rb"""\bformatCode\s*=\s*(?:"([^"]*)"|'([^']*)')""")


@lru_cache(maxsize=64)  # templates of one generation share their styles part
def _styles_cached(styles_xml: bytes, kind: str) -> frozenset:
    if kind == "date":
        return _styles_showing(styles_xml, _DATE_IDS, _is_date_code)
    return _styles_showing(styles_xml, _PERCENT_IDS, _is_percent_code)


def _styles_showing(styles_xml: bytes, builtin: frozenset, is_wanted) -> frozenset:
    """Indexes of the cell formats whose number format is one of the `builtin` ids or a custom format
    (`<numFmt>`) whose code passes `is_wanted`."""
    ids = set(builtin)
    for m in _NUMFMT.finditer(styles_xml):
        fmt_id, code = _NUMFMT_ID.search(m.group(1)), _FORMAT_CODE.search(m.group(1))
        if fmt_id and code and is_wanted(xml_text(code.group(1) if code.group(1) is not None else code.group(2))):
            ids.add(int(fmt_id.group(1)))
    found = set()
    block = _CELL_XFS.search(styles_xml)
    if block:
        for i, m in enumerate(_XF.finditer(block.group(1))):
            fmt_id = _NUMFMT_ID.search(m.group(1))
            if fmt_id and int(fmt_id.group(1)) in ids:
                found.add(i)
    return frozenset(found)


def _is_percent_code(code: str) -> bool:
    return "%" in re.sub(r'"[^"]*"|\\.', "", code)


def _is_date_code(code: str) -> bool:
    code = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.', "", code)
    return bool(re.search(r"[dmyhs]", code, re.I)) and "general" not in code.lower()


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
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


def column_rows(xml: bytes, columns, strings: SharedStrings | None, dates: frozenset,
                max_rows: int) -> list[list]:
    """Rows from A1 holding only `columns` (letters, e.g. ("A", "D", "E")).

    Cells written without their `r` reference or with a namespace prefix are not seen: the caller checks
    what it reads (the STT codes) and reads the sheet whole when that fails.
    """
    columns = tuple(sorted(set(columns)))
    width = max(_col_index(c.encode()) for c in columns) + 1
    cells = []
    height = 0
    for col, row, attrs, content in _cell_pattern(columns).findall(xml):
        if not content:
            continue  # a styled empty cell
        r = int(row) - 1
        if r >= max_rows:
            continue
        if content[:3] == b"<v>" and content[-4:] == b"</v>" and b"<" not in content[3:-4]:
            raw = content[3:-4]
            if b't="' not in attrs:
                try:
                    value = float(raw)
                except ValueError:
                    value = xml_text(raw)
                else:
                    if dates and b's="' in attrs:
                        value = _maybe_date(value, attrs, dates)
            elif b't="s"' in attrs:
                value = strings[int(raw)] if strings is not None and raw.isdigit() else ""
            else:
                value = _value(attrs, content, strings, dates)
        else:
            value = _value(attrs, content, strings, dates)
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


def _maybe_date(number: float, attrs: bytes, dates: frozenset):
    style = _ATTR_S.search(attrs)
    if style and int(style.group(1)) in dates:
        moment = _EPOCH + timedelta(days=number)
        return moment.date() if number.is_integer() else moment
    return number


def _value(attrs: bytes, content: bytes | None, strings: SharedStrings | None, dates: frozenset):
    """A cell's value, the careful way (formulas, inline strings, booleans, errors, ISO dates)."""
    if not content:
        return ""
    kind = _ATTR_T.search(attrs)
    kind = kind.group(1) if kind else b"n"
    if kind == b"inlineStr":
        return _rich_text(content)
    v = _V.search(content)
    if v is None:
        return ""
    raw = v.group(1)
    if kind == b"s":
        return strings[int(raw)] if strings is not None and raw.strip().isdigit() else ""
    if kind == b"str":
        return xml_text(raw)
    if kind == b"b":
        return raw.strip() == b"1"
    if kind == b"e":
        return ""
    if kind == b"d":
        try:
            return datetime.fromisoformat(raw.decode())
        except ValueError:
            return xml_text(raw)
    try:
        number = float(raw)
    except ValueError:
        return xml_text(raw)
    return _maybe_date(number, attrs, dates) if dates else number
