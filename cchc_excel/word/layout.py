"""Nghị định 30/2020/NĐ-CP presentation in python-docx: the page, fonts, paragraphs, rules, page numbers,
table headers repeated on every page (DESIGN §9). Only layout: no report content here.
"""

from __future__ import annotations

from docx import Document
from docx.enum.section import WD_SECTION_START
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_COLOR_INDEX, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

FONT = "Times New Roman"
BODY_SIZE = 14
PAGE = {"width": Mm(210), "height": Mm(297), "top": Mm(20), "bottom": Mm(20), "left": Mm(30), "right": Mm(15)}
TEXT_WIDTH = PAGE["width"] - PAGE["left"] - PAGE["right"]  # 165 mm
FIRST_LINE = Cm(1.27)
AFTER = Pt(6)
LINE_SPACING = 1.15

CENTER, LEFT, RIGHT, JUSTIFY = (WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.LEFT, WD_ALIGN_PARAGRAPH.RIGHT,
                                WD_ALIGN_PARAGRAPH.JUSTIFY)


def new_document() -> Document:
    """An empty A4 portrait document, margins and the Normal style as Nghị định 30 asks."""
    doc = Document()
    section = doc.sections[0]
    section.start_type = WD_SECTION_START.NEW_PAGE
    section.page_width, section.page_height = PAGE["width"], PAGE["height"]
    section.top_margin, section.bottom_margin = PAGE["top"], PAGE["bottom"]
    section.left_margin, section.right_margin = PAGE["left"], PAGE["right"]
    section.header_distance = section.footer_distance = Mm(10)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(BODY_SIZE)
    set_font_name(normal.element.get_or_add_rPr())
    fmt = normal.paragraph_format
    fmt.space_before, fmt.space_after = Pt(0), AFTER
    fmt.line_spacing = LINE_SPACING
    return doc


def set_font_name(rpr) -> None:
    """Times New Roman for every script: Word picks the East Asian or complex-script font for some
    Vietnamese letters when only `ascii`/`hAnsi` are set."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)


def paragraph(container, segments=(), *, align=JUSTIFY, size=BODY_SIZE, bold=False, italic=False,
              first_line=None, before=0, after=None, keep_next=False, single=False):
    """A paragraph of `segments` [(text, gap)] (or one text): gaps highlighted yellow for the person.

    `container` is the document, a cell or a header. `single`: single line spacing, no space after.
    """
    p = container.add_paragraph()
    fmt = p.paragraph_format
    fmt.alignment = align
    fmt.first_line_indent = first_line
    fmt.space_before = Pt(before)
    fmt.space_after = Pt(0) if single else (AFTER if after is None else Pt(after))
    if single:
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    fmt.keep_with_next = keep_next
    if isinstance(segments, str):
        segments = [(segments, False)]
    for text, gap in segments:
        run(p, text, size=size, bold=bold, italic=italic, gap=gap)
    return p


def run(p, text: str, *, size=BODY_SIZE, bold=False, italic=False, gap=False):
    """A run of text; a line break for each `\\n`."""
    r = p.add_run(text)
    r.font.size = Pt(size)
    r.bold, r.italic = bold or None, italic or None
    if gap:
        r.font.highlight_color = WD_COLOR_INDEX.YELLOW
    return r


def text_width(text: str, size: float, *, bold: bool = False) -> int:
    """An estimate of the printed width of `text` in Times New Roman (EMU), for rules under headings:
    average advance widths of capitals, small letters, spaces and punctuation (within a few %)."""
    em = 0.0
    for ch in text:
        if ch.isspace():
            em += 0.25
        elif ch.isupper():
            em += 0.72 if bold else 0.68
        elif ch.isalnum():
            em += 0.545 if bold else 0.5
        else:
            em += 0.33
    return int(Pt(size * em))


def balanced(text: str, size: float, width: int = TEXT_WIDTH, *, bold: bool = False) -> str:
    """`text` broken into two lines of about equal length when it does not fit on one, as centred
    titles are printed (instead of one word left alone on the second line)."""
    if text_width(text, size, bold=bold) <= width * 0.95 or " " not in text:
        return text
    cut = min((i for i, ch in enumerate(text) if ch == " "),
              key=lambda i: abs(text_width(text[:i], size, bold=bold) - text_width(text[i + 1:], size, bold=bold)))
    return text[:cut] + "\n" + text[cut + 1:]


def rule(container, length: int, width: int, *, before: float = 0, after: float = 0) -> None:
    """A horizontal line `length` long (EMU), centred in a column `width` wide: an empty paragraph of
    exact 1 pt height with a top border, its indents leaving the line's length between them."""
    p = container.add_paragraph()
    fmt = p.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(1)
    side = max(0, (width - length) // 2)
    fmt.left_indent = fmt.right_indent = side
    borders = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "0"), ("w:color", "000000")):
        top.set(qn(key), value)
    borders.append(top)
    p._p.get_or_add_pPr().append(borders)


def page_numbers_from_page_two(section) -> None:
    """The page number centred in the top margin, none on the first page (a different first-page
    header, left empty, and a PAGE field in the header of the other pages)."""
    section.different_first_page_header_footer = True
    header = section.header
    header.is_linked_to_previous = False
    p = header.paragraphs[0]
    p.paragraph_format.alignment = CENTER
    p.paragraph_format.space_after = Pt(0)
    r = p.add_run()
    r.font.size = Pt(BODY_SIZE)
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), (None, "2"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        elif text == "PAGE":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = " PAGE "
        else:
            el = OxmlElement("w:t")
            el.text = text
        r._r.append(el)


def table(container, widths: list, rows: int = 0, *, grid: bool = True):
    """A table of fixed column widths (EMU); borderless when not `grid`."""
    t = container.add_table(rows=rows, cols=len(widths))
    if grid:
        t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    t._tbl.tblPr.append(layout)
    for col, width in zip(t.columns, widths):
        col.width = width
    return t


def set_widths(row, widths: list) -> None:
    """Cell widths of a row: Word reads the cells' widths, LibreOffice the grid's; both are set."""
    for cell, width in zip(row.cells, widths):
        cell.width = width


def row_flags(row, *, header: bool = False) -> None:
    """A row never split across pages; a header row repeated at the top of every page (`w:tblHeader`)."""
    trpr = row._tr.get_or_add_trPr()
    for tag in (("w:cantSplit", "w:tblHeader") if header else ("w:cantSplit",)):
        el = OxmlElement(tag)
        el.set(qn("w:val"), "true")
        trpr.append(el)


def cell_text(cell, segments, **kw):
    """Replace a cell's text by a single-spaced paragraph of `segments` (see `paragraph`)."""
    cell._tc.remove(cell.paragraphs[0]._p)
    kw.setdefault("single", True)
    return paragraph(cell, segments, **kw)


def vertical_center(cell) -> None:
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def page_break(doc) -> None:
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
