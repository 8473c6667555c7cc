"""Our template's metadata sheet (`_cchc`): spec, level, unit, period, and where every value cell is."""

from __future__ import annotations

from operator import itemgetter

from cchc_excel.read.workbook_io import Book
from cchc_excel.template import metadata

__all__ = ["read_meta_sheet"]


def read_meta_sheet(book: Book) -> tuple[dict, dict]:
    """`metadata.parse_sheet` of the `_cchc` sheet; its layout table is parsed once per template
    generation (same cells, same strings), the key/value pairs above it every time."""
    found = book.string_cells(metadata.SHEET)
    if found is None:
        return metadata.parse_sheet(book.rows(metadata.SHEET))
    shape, strings = found
    raw = strings.raw
    head, table, indexes, largest = _split(shape)
    if largest >= len(raw):
        return metadata.parse_sheet(book.rows(metadata.SHEET))
    key = (table, tuple(itemgetter(*indexes)(raw)) if len(indexes) > 1 else tuple(raw[i] for i in indexes))
    layout = _LAYOUTS.get(key)
    if layout is None:
        layout = metadata.parse_sheet(_cells_to_rows(table, strings))[1]
        if len(_LAYOUTS) > 32:
            _LAYOUTS.clear()
        _LAYOUTS[key] = layout
    meta = metadata.parse_sheet(_cells_to_rows(head, strings))[0]
    return meta, layout


def _split(shape: tuple) -> tuple:
    """The key/value cells above the layout table, the table's cells, their string indexes and the
    largest index of all; kept for the shape last seen (`fast.string_cells` gives every template of one
    generation the same shape object)."""
    global _SPLIT
    last = _SPLIT  # one read: another thread may replace it meanwhile
    if last[0] is shape:
        return last[1]
    first = metadata.LAYOUT_ROW - 1  # 0-based row of the layout header
    table = tuple((r, c, index) for r, c, index in shape if r >= first)
    split = ([(r, c, index) for r, c, index in shape if r < first], table, [index for _, _, index in table],
             max((index for _, _, index in shape), default=-1))
    _SPLIT = (shape, split)
    return split


_SPLIT: tuple = (None, None)  # (shape, its split)


def _cells_to_rows(cells, strings) -> list[list]:
    height = max((r for r, _, _ in cells), default=-1) + 1
    rows = [["", "", ""] for _ in range(height)]
    for r, c, index in cells:
        if c < 3:
            rows[r][c] = strings[index]
    return rows


_LAYOUTS: dict = {}  # layout table (cells, strings) -> parsed layout
