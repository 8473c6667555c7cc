"""Cell formats of the templates, their colours, and row heights estimated from text length.

xlsxwriter does not fit row heights to wrapped text and Excel does not either when it opens a file, so
every row with wrapped text gets an explicit height from `text_lines`: a greedy word wrap over the
advance widths of Times New Roman (LibreOffice substitutes the metric-compatible Liberation Serif).
"""

from __future__ import annotations

import math
import unicodedata
from functools import lru_cache

FONT = "Times New Roman"
FONT_SIZE = 12
LINE_PT = 15.75  # one line of 12 pt Times New Roman, as Excel spaces it
DIGIT_PX = 8  # maximum digit width of 12 pt Times New Roman at 96 dpi: one unit of column width
COLUMN_PADDING_PX = 5

# Colours: what each means is told on the "Hướng dẫn" sheet.
INPUT_FILL = "#FFF2CC"  # pale yellow: type here
FORMULA_FILL = "#DDEBF7"  # pale blue: computed, locked
GREY_FILL = "#D9D9D9"  # grey: not a row of this level, locked
GREY_FONT = "#7F7F7F"
ERROR_FILL = "#FF9999"
ERROR_FONT = "#9C0006"
WARNING_FILL = "#F4B183"
WARNING_FONT = "#843C0C"
COMMENT_FILL = "#FFC7CE"  # a cell commented on by the reviewer (feedback workbooks)
BORDER_COLOR = "#808080"

# Advance widths of Times New Roman regular in 1/1000 em (the Adobe core-font metrics).
_WIDTHS = dict(zip(
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
    (250, 333, 408, 500, 500, 833, 778, 180, 333, 333, 500, 564, 250, 333, 250, 278,
     500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 278, 278, 564, 564, 564, 444, 921,
     722, 667, 667, 722, 611, 556, 722, 722, 333, 389, 722, 611, 889, 722, 722, 556, 722, 667, 556, 611,
     722, 722, 944, 722, 722, 611, 333, 278, 333, 469, 500, 333,
     444, 500, 444, 500, 444, 333, 500, 500, 278, 278, 500, 278, 778, 500, 500, 500, 500, 333, 389, 278,
     500, 500, 722, 500, 500, 444, 480, 200, 480, 541),
))
_HORN = "\u031b"  # ơ, ư: a little wider than o, u


def char_width(char: str) -> float:
    """Advance width of one character in em (Vietnamese letters measured by their base letter)."""
    if char in _WIDTHS:
        return _WIDTHS[char] / 1000
    if char in "đĐ":
        return 0.5 if char == "đ" else 0.722
    decomposed = unicodedata.normalize("NFD", char)
    base = decomposed[0]
    width = _WIDTHS.get(base, 500) / 1000
    if _HORN in decomposed:
        width += 0.08
    if unicodedata.east_asian_width(base) in ("W", "F"):
        width = 1.0
    return width


def text_width_px(text: str, size: float = FONT_SIZE, bold: bool = False) -> float:
    """Width of `text` on one line, in pixels at 96 dpi."""
    em = sum(char_width(c) for c in text)
    return em * size * 96 / 72 * (1.08 if bold else 1.0)


def column_px(width_chars: float) -> int:
    """Pixel width of a column of `width_chars` units, as xlsxwriter writes it."""
    return int(width_chars * DIGIT_PX + 0.5) + COLUMN_PADDING_PX


@lru_cache(maxsize=4096)
def text_lines(text: str, width_chars: float, size: float = FONT_SIZE, bold: bool = False) -> int:
    """How many lines `text` takes when wrapped in a column `width_chars` wide (at least 1)."""
    room = column_px(width_chars) - 8  # cell margins, and a little slack for the renderer
    lines = 0
    for paragraph in str(text).split("\n"):
        lines += 1
        used = 0.0
        for word in paragraph.split(" "):
            width = text_width_px(word, size, bold)
            space = text_width_px(" ", size, bold) if used else 0.0
            if used and used + space + width > room:
                lines += 1
                used = 0.0
                space = 0.0
            if width > room:  # a word longer than the column breaks anywhere
                extra = math.ceil(width / room) - 1
                lines += extra
                width -= extra * room
            used += space + width
    return max(lines, 1)


def row_height(lines: int, size: float = FONT_SIZE) -> float:
    """Row height in points for `lines` lines of text."""
    return round(lines * LINE_PT * size / FONT_SIZE + 3, 2)


def merged_line(ws, row: int, last_col: int, text: str, fmt, width_chars: float, size: float = FONT_SIZE,
                bold: bool = False) -> None:
    """`text` across columns 0..`last_col` of `row`, the row as high as the wrapped text (a thin gap
    when there is no text). `width_chars` is the merged width, `size` and `bold` those of `fmt`."""
    ws.merge_range(row, 0, row, last_col, "", fmt)
    if text:
        ws.write_string(row, 0, text, fmt)
    ws.set_row(row, row_height(text_lines(text, width_chars, size, bold), size) if text else 6)


class Styles:
    """The cell formats of one workbook, shared with callers that add their own sheets.

    Attributes are xlsxwriter `Format`s, all Times New Roman:

    - `title`, `subtitle` (bold, centred, wrapped), `caption` (italic, centred), `text`, `bold`,
      `small_italic` (10 pt, for footnotes), `link` (a bordered hyperlink), `header` (bordered, bold,
      centred: table headers), `counter` (a number shown as nothing);
    - `cf_error`, `cf_warning`, `cf_ok`, `error_text_cf`, `warning_text_cf`: for conditional formats.

    `fmt(**props)` makes (and caches) any other format on the same font.
    """

    def __init__(self, workbook):
        self.workbook = workbook
        self._cache: dict = {}
        f = self.fmt
        self.title = f(bold=True, font_size=13, align="center", valign="vcenter", text_wrap=True)
        self.subtitle = f(bold=True, align="center", valign="vcenter", text_wrap=True)
        self.caption = f(italic=True, align="center", valign="vcenter", text_wrap=True)
        self.text = f(valign="vcenter")
        self.bold = f(bold=True, valign="vcenter")
        self.small_italic = f(italic=True, font_size=10, valign="top", text_wrap=True)
        self.link = f(font_color="#0563C1", underline=1, valign="vcenter", text_wrap=True, border=1,
                      border_color=BORDER_COLOR)
        self.header = f(bold=True, align="center", text_wrap=True, border=1, border_color=BORDER_COLOR,
                        valign="vcenter")
        self.counter = f(num_format=";;;")
        # Conditional-format (dxf) formats: only fill and font colour.
        self.cf_error = workbook.add_format({"bg_color": ERROR_FILL, "font_color": ERROR_FONT})
        self.cf_warning = workbook.add_format({"bg_color": WARNING_FILL, "font_color": WARNING_FONT})
        self.cf_ok = workbook.add_format({"bg_color": "#C6EFCE", "font_color": "#006100"})
        self.error_text_cf = workbook.add_format({"font_color": ERROR_FONT})
        self.warning_text_cf = workbook.add_format({"font_color": WARNING_FONT})

    def fmt(self, **props):
        """A format with these xlsxwriter properties on the template font; the same props give the same format."""
        props = {"font_name": FONT, "font_size": FONT_SIZE, **props}
        key = tuple(sorted(props.items()))
        if key not in self._cache:
            self._cache[key] = self.workbook.add_format(props)
        return self._cache[key]

