"""A finished sheet's XML patched cell by cell, and cells written as xlsxwriter writes them.

`SheetSlots` cuts a sheet's XML once at the cells and row tags that change from copy to copy; each copy
then joins the pieces with its own cells in those places. The cell writers here give the XML xlsxwriter
gives, but for text, which goes in as an inline string (`t="inlineStr"`): the shared-strings table of the
copied workbook stays as it is, and Excel, LibreOffice, openpyxl and python-calamine read both alike.
"""

from __future__ import annotations

import re

from cchc_excel.ooxml.xmltext import escape

__all__ = ["SheetSlots", "blank_cell", "formula_cell", "inline_string", "inline_string_cell", "number_cell",
           "row_ht", "row_tag", "xlsx_number"]

_CELL = re.compile(r'<c r="([A-Z]{1,3}\d+)"[^>]*?(?:/>|>.*?</c>)', re.S)
_ROW = re.compile(r'<row r="(\d+)"[^>]*?/?>')
_FORMULA = re.compile(r"<f>.*?</f>", re.S)
_STYLE = re.compile(r' s="(\d+)"')
_HT = re.compile(r' ht="[^"]*"')
_FORMULA_ERRORS = ("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!")


class SheetSlots:
    """A sheet's XML cut at the cells `cells` (A1 references) and the row tags `rows` (1-based)."""

    def __init__(self, xml: str, cells=(), rows=()):
        wanted_cells, wanted_rows = set(cells), {int(r) for r in rows}
        marks = []
        for m in _CELL.finditer(xml):
            if m.group(1) in wanted_cells:
                marks.append((m.start(), m.end(), m.group(1)))
        for m in _ROW.finditer(xml):
            if int(m.group(1)) in wanted_rows:
                marks.append((m.start(), m.end(), int(m.group(1))))
        marks.sort()
        self.pieces: list[str] = []
        self.index: dict = {}
        pos = 0
        for start, end, key in marks:
            self.pieces.append(xml[pos:start])
            self.index[key] = len(self.pieces)
            self.pieces.append(xml[start:end])
            pos = end
        self.pieces.append(xml[pos:])
        self._styles: dict = {}
        self._formulas: dict = {}

    def __contains__(self, key) -> bool:
        return key in self.index

    def base(self, key) -> str:
        """The base's XML of a cell (`"D12"`) or a row tag (12)."""
        return self.pieces[self.index[key]]

    def style(self, ref: str) -> str | None:
        """The style index of a cell of the base, as written."""
        known = self._styles.get(ref, ...)
        if known is ...:
            m = _STYLE.search(self.base(ref))
            known = self._styles[ref] = m.group(1) if m else None
        return known

    def formula(self, ref: str) -> str:
        """The `<f>` element of a formula cell of the base, as written."""
        known = self._formulas.get(ref)
        if known is None:
            known = self._formulas[ref] = _FORMULA.search(self.base(ref)).group()
        return known

    @property
    def head(self) -> str:
        """The XML before the first slot."""
        return self.pieces[0]

    @property
    def tail(self) -> str:
        """The XML after the last slot."""
        return self.pieces[-1] if len(self.pieces) > 1 else ""

    def middle(self, changes: dict) -> str:
        """The XML from the first slot to the last, with `changes` ({cell reference or row number: its new XML})
        in place."""
        pieces = list(self.pieces)
        index = self.index
        for key, xml in changes.items():
            pieces[index[key]] = xml
        return "".join(pieces[1:-1])


def _points(height: float) -> str:
    """A row height as xlsxwriter's `set_row` writes it: whole pixels, in points."""
    pixels = int(height * 4.0 / 3.0 + 0.5)
    return f"{pixels * 0.75:.16g}"


def row_ht(tag: str, height: float) -> str:
    """A `<row>` tag (with a height) given another height."""
    return _HT.sub(f' ht="{_points(height)}"', tag, count=1)


def row_tag(r: int, spans: str, height: float) -> str:
    """The start tag of row `r` (1-based) set to `height` points."""
    return f'<row r="{r}" spans="{spans}" ht="{_points(height)}" customHeight="1">'


def _s(style) -> str:
    return f' s="{style}"' if style is not None else ""


def xlsx_number(value) -> str:
    """A number as xlsxwriter writes a cell's number."""
    return f"{value:.16G}"


def number_cell(ref: str, style, value) -> str:
    return f'<c r="{ref}"{_s(style)}><v>{xlsx_number(value)}</v></c>'


def blank_cell(ref: str, style) -> str:
    return f'<c r="{ref}"{_s(style)}/>'


def inline_string(text: str) -> str:
    """The `<is>` element of an inline string: escaped as in shared strings (`xmltext.escape`), edge
    spaces and line breaks preserved."""
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
    return f"<is><t{space}>{escape(text)}</t></is>"


def inline_string_cell(ref: str, style, text: str) -> str:
    return f'<c r="{ref}"{_s(style)} t="inlineStr">{inline_string(text)}</c>'


def formula_cell(ref: str, style, formula: str, value) -> str:
    """A formula cell with its cached result, typed as xlsxwriter types it; `formula` is the `<f>`
    element as written."""
    kind = ""
    if isinstance(value, bool):
        kind, value = ' t="b"', int(value)
    elif isinstance(value, str):
        if value in _FORMULA_ERRORS:
            kind = ' t="e"'
        elif value:
            kind = ' t="str"'
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    elif value is None:
        value = ""
    return f'<c r="{ref}"{_s(style)}{kind}>{formula}<v>{value}</v></c>'
