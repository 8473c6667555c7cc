"""Phụ lục I of the report: one Word table per Biểu mẫu with the merged values, laid out as the seed prints
them (`STT | Chỉ tiêu thống kê | Kết quả thống kê (Đơn vị tính, Số liệu) | Ghi chú`, two header rows
repeated on every page), so that a reader can read it back by STT code.
"""

from __future__ import annotations

from docx.shared import Mm

from cchc_excel.check.rules import format_number
from cchc_excel.merge.result import MergeResult
from cchc_excel.merge.workbook import merged_notes
from cchc_excel.template.forms import unit_display
from cchc_excel.word import layout as L

WIDTHS = [Mm(15), Mm(66), Mm(26), Mm(20), Mm(38)]  # 165 mm: the text width
HEADER_HEIGHTS = [Mm(10), Mm(8)]
TABLE_SIZE = 12
NOTE_SIZE = 11


def value_text(value, kind: str) -> str:
    """A value in the Số liệu column: `7.708`, `13.692,3`, `98,62` (the % is in the unit column); "" blank."""
    if value is None:
        return ""
    return format_number(value, percent=kind in ("ratio", "rate"))


def write_appendix(doc, result: MergeResult) -> None:
    """Phụ lục I's titles, then each Biểu mẫu: its number and title above its table, its footnote below."""
    spec = result.spec
    L.paragraph(doc, spec.appendix or "Phụ lục I", align=L.CENTER, bold=True, after=0, keep_next=True)
    L.paragraph(doc, spec.title, align=L.CENTER, bold=True, after=0, keep_next=True)
    if spec.issued_with:
        L.paragraph(doc, L.balanced(spec.issued_with, L.BODY_SIZE), align=L.CENTER, italic=True, after=12,
                    keep_next=True)
    values = result.report_values()
    notes = merged_notes(result)
    for form in spec.forms:
        L.paragraph(doc, form.name, align=L.CENTER, size=13, bold=True, before=12, after=0, keep_next=True)
        L.paragraph(doc, form.title, align=L.CENTER, size=13, bold=True, after=6, keep_next=True)
        _form_table(doc, spec, form, values, notes)
        if form.footnote:
            L.paragraph(doc, form.footnote, align=L.LEFT, size=NOTE_SIZE, italic=True, before=3)


def _header_rows(t, spec) -> None:
    """Two header rows: STT, Chỉ tiêu and Ghi chú span both; Kết quả thống kê spans Đơn vị tính and Số liệu."""
    top, second = t.add_row(), t.add_row()
    for row, height in zip((top, second), HEADER_HEIGHTS):
        L.set_widths(row, WIDTHS)
        L.row_flags(row, header=True)
        # LibreOffice repeats the header rows at their own heights, clipping a cell merged over both
        # when they are shorter than it: give them room for the label's three lines
        row.height = height
    label = [("Chỉ tiêu thống kê", False)]
    cells = top.cells
    texts = [[("STT", False)], label, [("Kết quả thống kê", False)], None, [("Ghi chú", False)]]
    for cell, text in zip(cells, texts):
        if text:
            p = L.cell_text(cell, text, align=L.CENTER, size=TABLE_SIZE, bold=True)
            if text is label and spec.column_note:
                L.run(p, "\n" + spec.column_note, size=TABLE_SIZE, italic=True)
    for i, text in ((2, "Đơn vị tính"), (3, "Số liệu")):
        L.cell_text(second.cells[i], text, align=L.CENTER, size=TABLE_SIZE, bold=True)
    for i in (0, 1, 4):
        top.cells[i].merge(second.cells[i])
    top.cells[2].merge(top.cells[3])
    for cell in top.cells + second.cells:
        L.vertical_center(cell)


def _form_table(doc, spec, form, values: dict, notes: dict) -> None:
    t = L.table(doc, WIDTHS)
    _header_rows(t, spec)
    for ind in form.indicators:
        row = t.add_row()
        L.set_widths(row, WIDTHS)
        L.row_flags(row)
        bold = ind.kind == "header"
        c_stt, c_label, c_unit, c_value, c_note = row.cells
        L.cell_text(c_stt, f"{ind.code}.", align=L.CENTER, size=TABLE_SIZE, bold=bold, italic=ind.italic)
        p = L.cell_text(c_label, ind.label, align=L.LEFT, size=TABLE_SIZE, bold=bold, italic=ind.italic)
        if ind.note:  # notes in parentheses are printed in italic beside the label
            L.run(p, " " + ind.note, size=TABLE_SIZE, italic=True)
        L.cell_text(c_unit, unit_display(ind), align=L.CENTER, size=TABLE_SIZE, italic=ind.italic)
        value = values.get(ind.id) if ind.kind != "header" else None
        L.cell_text(c_value, value_text(value, ind.kind), align=L.CENTER, size=TABLE_SIZE)
        L.cell_text(c_note, notes.get(ind.id, ""), align=L.LEFT, size=NOTE_SIZE)
        for cell in row.cells:
            L.vertical_center(cell)
