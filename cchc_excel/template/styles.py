"""Cell formats of the templates and their colours; rows as high as their wrapped text
(`merged_line`, over `ooxml.measure`)."""

from __future__ import annotations

from cchc_excel.ooxml.measure import (FONT, FONT_SIZE, LINE_PT, char_width, column_px, row_height,  # noqa: F401
                                      text_lines, text_width_px)

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
COMMENT_BORDER = "#C00000"
OK_FILL = "#C6EFCE"
OK_FONT = "#006100"
BORDER_COLOR = "#808080"
HEADER_FILL = "#F2F2F2"  # light grey: table headers of the feedback and merged sheets
LINK_FONT = "#0563C1"
SECTION_FONT = "#1F3864"  # dark blue: section headings of the cover sheet
CHECK_FONT = "#404040"  # the unprinted check column
# Charts of the merged workbook.
CHART_MERGED = "#70AD47"  # green
CHART_ERRORS = "#C00000"  # red
CHART_MISSING = "#FFC000"  # amber
CHART_BARS = "#4472C4"  # blue
CHART_TOTAL = "#1F3864"  # dark blue: the parent's total among the units

# Footers: the sheet name left and "Trang 1/3" right, or only the page centred (merged workbook).
FOOTER_SHEET_AND_PAGE = '&L&"Times New Roman,Italic"&9&A&R&"Times New Roman,Regular"&9Trang &P/&N'
FOOTER_PAGE = '&C&"Times New Roman"&10Trang &P/&N'


def merged_line(ws, row: int, last_col: int, text: str, fmt, width_chars: float, size: float = FONT_SIZE,
                bold: bool = False) -> None:
    """`text` across columns 0..`last_col` of `row`, the row as high as the wrapped text (a thin gap
    when there is no text). `width_chars` is the merged width, `size` and `bold` those of `fmt`."""
    ws.merge_range(row, 0, row, last_col, "", fmt)
    if text:
        ws.write_string(row, 0, text, fmt)
    ws.set_row(row, merged_line_height(text, width_chars, size, bold))


def merged_line_height(text: str, width_chars: float, size: float = FONT_SIZE, bold: bool = False) -> float:
    """The height of a `merged_line` row."""
    return row_height(text_lines(text, width_chars, size, bold), size) if text else 6


def print_setup(ws, *, landscape: bool = False, margins: tuple | None = None, center: bool = False,
                repeat: tuple | None = None, area: tuple | None = None, footer: str | None = None) -> None:
    """A4, one page wide and as many pages tall as needed; `margins` (left, right, top, bottom) in inches,
    `repeat` the (first, last) rows printed on every page, `area` the (first_row, first_col, last_row,
    last_col) printed, `footer` one of the FOOTER_ strings."""
    ws.set_paper(9)  # A4
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)  # 0: as many pages tall as it takes
    if center:
        ws.center_horizontally()
    if margins:
        left, right, top, bottom = margins
        ws.set_margins(left=left, right=right, top=top, bottom=bottom)
    if repeat:
        ws.repeat_rows(*repeat)
    if area:
        ws.print_area(*area)
    if footer:
        ws.set_footer(footer)


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
        self.link = f(font_color=LINK_FONT, underline=1, valign="vcenter", text_wrap=True, border=1,
                      border_color=BORDER_COLOR)
        self.header = f(bold=True, align="center", text_wrap=True, border=1, border_color=BORDER_COLOR,
                        valign="vcenter")
        self.counter = f(num_format=";;;")
        # Conditional-format (dxf) formats: only fill and font colour.
        self.cf_error = workbook.add_format({"bg_color": ERROR_FILL, "font_color": ERROR_FONT})
        self.cf_warning = workbook.add_format({"bg_color": WARNING_FILL, "font_color": WARNING_FONT})
        self.cf_ok = workbook.add_format({"bg_color": OK_FILL, "font_color": OK_FONT})
        self.error_text_cf = workbook.add_format({"font_color": ERROR_FONT})
        self.warning_text_cf = workbook.add_format({"font_color": WARNING_FONT})

    def fmt(self, **props):
        """A format with these xlsxwriter properties on the template font; the same props give the same format."""
        props = {"font_name": FONT, "font_size": FONT_SIZE, **props}
        key = tuple(sorted(props.items()))
        if key not in self._cache:
            self._cache[key] = self.workbook.add_format(props)
        return self._cache[key]

