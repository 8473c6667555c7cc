"""Row heights estimated from text length.

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
