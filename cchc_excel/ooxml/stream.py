"""Streaming readers (expat) for what must not be loaded whole: huge xlsx sheets, the ods content.

An xlsx sheet of 400,000 rows (or with a cell in column XFD) is read up to the row and column limits and
no further, and only the shared strings those rows use are kept, so time and memory stay bounded whatever
the file holds. An ods is scanned before python-calamine opens it, which it does whole. DTDs are refused,
so entity-expansion attacks cannot run.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from xml.parsers import expat

from cchc_excel.ooxml.a1 import cell_name, split_ref
from cchc_excel.ooxml.cells import PLAIN, CellError, NumberFormats, decode_cell, is_external_formula
from cchc_excel.ooxml.strings import needed_strings
from cchc_excel.ooxml.xmltext import decode_escapes

__all__ = ["StreamedSheet", "stream_xlsx_rows", "scan_ods"]


def _safe_parser() -> expat.XMLParserType:
    """An expat parser that refuses DTDs, hence entity expansion attacks."""
    parser = expat.ParserCreate()

    def refuse(*_args):
        raise ValueError("DTD not allowed in a spreadsheet part")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.buffer_text = True
    return parser


class _Stop(Exception):
    """Raised from an expat handler to stop parsing early."""


def _feed(parser, stream, chunk: int = 1 << 16) -> None:
    try:
        while True:
            data = stream.read(chunk)
            if not data:
                parser.Parse(b"", True)
                return
            parser.Parse(data, False)
    except _Stop:
        return


def _local(tag: str) -> str:
    return tag.rsplit(":", 1)[-1]


@dataclass
class StreamedSheet:
    """What `stream_xlsx_rows` read of a sheet.

    Attributes:
        rows: rows from A1 as python-calamine would give them (`cells.decode_cell`), as wide as the widest.
        more_rows: how many rows with cells were seen beyond the row limit (0 or 1: parsing stops there).
        wide: whether cells beyond the column limit were left out.
        flags: {A1 ref: (holds a formula, is percent-formatted, the formula refers to another workbook)}
            of the cells read that have a formula or a percent format.
    """

    rows: list
    more_rows: int
    wide: bool
    flags: dict


def stream_xlsx_rows(zf: zipfile.ZipFile, part: str, sst_part: str | None, max_rows: int, max_cols: int,
                     formats: NumberFormats = PLAIN) -> StreamedSheet:
    """Read the first `max_rows` rows and `max_cols` columns of an xlsx sheet in bounded memory, each
    cell decoded by `cells.decode_cell` (dates and percents by the workbook's `formats`)."""
    sheet = _SheetReader(max_rows, max_cols, formats)
    parser = _safe_parser()
    parser.StartElementHandler = sheet.start
    parser.EndElementHandler = sheet.end
    parser.CharacterDataHandler = sheet.chars
    with zf.open(part) as stream:
        _feed(parser, stream)
    needed = {int(text) for row in sheet.cells.values() for text in row.values() if type(text) is _Shared}
    strings = needed_strings(zf, sst_part, needed) if needed and sst_part else {}
    return StreamedSheet(_dense(sheet.cells, strings, formats), sheet.more, sheet.wide, sheet.flags)


class _Shared(str):
    """A shared-string cell's index text, decoded once the strings it needs are read."""


class _SheetReader:
    """expat handlers for a worksheet: the cells of the first rows and columns, by row and column."""

    def __init__(self, max_rows: int, max_cols: int, formats: NumberFormats):
        self.max_rows, self.max_cols, self.formats = max_rows, max_cols, formats
        self.cells: dict[int, dict[int, object]] = {}
        self.flags: dict[str, tuple[bool, bool, bool]] = {}
        self.row, self.col, self.kind, self.style = -1, -1, "n", None
        self.text: list[str] = []
        self.formula_text: list[str] = []
        self.in_v = self.in_t = self.in_rph = self.in_f = self.formula = False
        self.more, self.wide = 0, False

    def start(self, tag, attrs):
        name = _local(tag)
        if name == "row":
            r = attrs.get("r")
            self.row = int(r) - 1 if r and r.isdigit() else self.row + 1
            self.col = -1
            if self.row >= self.max_rows:
                self.more = 1
                raise _Stop
        elif name == "c":
            pos = split_ref(attrs["r"]) if attrs.get("r") else None
            self.col = pos[1] if pos else self.col + 1
            self.kind = attrs.get("t", "n")
            style = attrs.get("s")
            self.style = int(style) if style and style.isdigit() else None
            self.text = []
            self.formula_text = []
            self.formula = False
        elif name == "v":
            self.in_v = True
        elif name == "t":
            self.in_t = True
        elif name == "rPh":
            self.in_rph = True
        elif name == "f":
            self.formula = self.in_f = True

    def end(self, tag):
        name = _local(tag)
        if name == "f":
            self.in_f = False
        elif name == "v":
            self.in_v = False
        elif name == "t":
            self.in_t = False
        elif name == "rPh":
            self.in_rph = False
        elif name == "c":
            self._cell()

    def chars(self, data):
        if self.in_v or (self.in_t and not self.in_rph):
            self.text.append(data)
        elif self.in_f:
            self.formula_text.append(data)

    def _cell(self) -> None:
        inside = self.col < self.max_cols
        percent = self.style is not None and self.style in self.formats.percents
        if inside and (self.formula or percent):
            external = is_external_formula("".join(self.formula_text))
            self.flags[cell_name(self.row, self.col)] = (self.formula, percent, external)
        text = decode_escapes("".join(self.text))  # expat has decoded XML's escapes, not OOXML's
        if self.kind == "s":
            value = _Shared(text.strip()) if text.strip().isdigit() else ""
        else:
            value = decode_cell(self.kind, text, self.style, self.formats)
        if value == "":
            return
        if not inside:
            self.wide = True
        else:
            self.cells.setdefault(self.row, {})[self.col] = value


def _dense(cells: dict, strings: dict, formats: NumberFormats) -> list[list]:
    """The cells as rows from A1, all as wide as the widest, shared strings filled in."""
    height = max(cells) + 1 if cells else 0
    rows: list[list] = []
    for r in range(height):
        row = cells.get(r, {})
        out = [""] * (max(row) + 1 if row else 0)
        for c, v in row.items():
            out[c] = decode_cell("s", v, None, formats, strings) if type(v) is _Shared else v
        rows.append(out)
    width = max((len(r) for r in rows), default=0)
    for r in rows:
        r.extend([""] * (width - len(r)))
    return rows


def scan_ods(zf: zipfile.ZipFile, max_rows: int, max_cols: int) -> tuple[dict, dict, dict]:
    """One pass over an ods's content.xml, before python-calamine opens it.

    Returns:
        (flags, extents, errors): sheet -> {A1 ref: (holds a formula, is a percentage, the formula refers
        to another workbook)} for the cells of the first `max_rows` rows and `max_cols` columns that have a
        formula or a percentage; sheet -> (rows, columns) from A1 to the farthest cell with content,
        repeats counted (`table:number-rows-repeated`, `table:number-columns-repeated`): python-calamine
        keeps that whole rectangle in memory; sheet -> {(row, column): `CellError`} for the formula errors
        (`calcext:value-type="error"`, shown `#DIV/0!` or `Err:502`), which python-calamine reads as ''.
    """
    scan = _OdsScan(max_rows, max_cols)
    parser = _safe_parser()  # no namespace processing: tags and attributes keep their prefixes
    parser.StartElementHandler = scan.start
    parser.EndElementHandler = scan.end
    parser.CharacterDataHandler = scan.chars
    with zf.open("content.xml") as stream:
        _feed(parser, stream)
    return scan.flags, scan.extents, scan.errors


class _OdsScan:
    """expat handlers for an ods's content.xml: formula and percent cells, and each sheet's extent."""

    def __init__(self, max_rows: int, max_cols: int):
        self.max_rows, self.max_cols = max_rows, max_cols
        self.flags: dict[str, dict[str, tuple[bool, bool, bool]]] = {}
        self.extents: dict[str, tuple[int, int]] = {}
        self.errors: dict[str, dict[tuple, CellError]] = {}
        self.error_text: list | None = None  # the shown text of an error cell being read
        self.sheet: str | None = None
        self.row, self.col, self.row_repeat = -1, 0, 1
        self.cell: list | None = None  # [column right of the cell, whether it has content]

    def start(self, tag, attrs):
        name = _local(tag)
        if name == "table":
            self.sheet = attrs.get("table:name", "")
            self.row = -1
            self.flags.setdefault(self.sheet, {})
        elif self.sheet is None:
            return
        elif name == "table-row":
            self.row += 1
            self.col = 0
            self.row_repeat = _count(attrs.get("table:number-rows-repeated"))
        elif name in ("table-cell", "covered-table-cell"):
            self._cell_start(attrs)
        elif self.cell is not None:
            self.cell[1] = True

    def _cell_start(self, attrs) -> None:
        repeat = _count(attrs.get("table:number-columns-repeated"))
        formula = "table:formula" in attrs
        percent = attrs.get("office:value-type") == "percentage"
        first = self.col
        if (formula or percent) and self.row < self.max_rows:
            flag = (formula, percent, is_external_formula(attrs.get("table:formula", "")))
            for c in range(first, min(first + repeat, self.max_cols)):
                self.flags[self.sheet][cell_name(self.row, c)] = flag
        if attrs.get("calcext:value-type") == "error" and self.row < self.max_rows and first < self.max_cols:
            self.error_text = [first, min(first + repeat, self.max_cols)]
        self.col += repeat
        # content: a value type, a formula, or (seen below) any element inside the cell
        self.cell = [first + repeat, formula or "office:value-type" in attrs]

    def end(self, tag):
        name = _local(tag)
        if name == "table":
            self.sheet = None
        elif self.sheet is None:
            return
        elif name == "table-row":
            self.row += self.row_repeat - 1
        elif name in ("table-cell", "covered-table-cell") and self.cell is not None:
            if self.error_text is not None:
                first, last, *text = self.error_text
                self.error_text = None
                error = CellError("".join(text).strip() or "#N/A")
                for c in range(first, last):
                    self.errors.setdefault(self.sheet, {})[(self.row, c)] = error
            right, filled = self.cell
            self.cell = None
            if filled:
                rows, cols = self.extents.get(self.sheet, (0, 0))
                self.extents[self.sheet] = (max(rows, self.row + self.row_repeat), max(cols, right))

    def chars(self, data):
        if self.error_text is not None:
            self.error_text.append(data)


def _count(text: str | None) -> int:
    """A repeat count attribute: 1 when absent or not a positive number."""
    return int(text) if text and text.isdecimal() and text.isascii() and int(text) > 0 else 1
