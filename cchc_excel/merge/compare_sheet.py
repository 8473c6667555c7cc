"""The `So sánh các kỳ` sheet of the merged workbook (`aggregate --previous`): each total of the forms with,
beside it, the previous period's and the same period last year's total and the change (a percentage's in
percentage points, a quantity's also in % of the earlier value). Flags and choices count answers: they
are not compared. The official forms are left as printed, so that the level above reads them back.
"""

from __future__ import annotations

from cchc_excel.core.kinds import PERCENT_KINDS
from cchc_excel.merge.history import COMPARED_KINDS, COMPARISON_LABELS, PREVIOUS, YEAR_BEFORE
from cchc_excel.merge.result import MergeResult
from cchc_excel.template.styles import FOOTER_PAGE, print_setup, row_height, text_lines

COMPARE_SHEET = "So sánh các kỳ"
LABEL_WIDTH = 48


def write_compare_sheet(workbook, fmt, result: MergeResult, subtitle: str) -> None:
    """Add the sheet (only when the merge has comparisons); `fmt` is the merged workbook's formats."""
    if not result.comparisons:
        return
    ws = workbook.add_worksheet(COMPARE_SHEET)
    which = [w for w in (PREVIOUS, YEAR_BEFORE) if w in result.comparisons]
    headers = ["STT", "Chỉ tiêu", "Đơn vị tính", f"Kỳ này\n({result.period.label})"]
    for w in which:
        headers += [f"{COMPARISON_LABELS[w]}\n({result.comparisons[w].period.label})", "Tăng/giảm",
                    "Tăng/giảm (%)"]
    last = len(headers) - 1
    ws.merge_range(0, 0, 0, last, f"SO SÁNH VỚI CÁC KỲ TRƯỚC — {result.period.label.upper()}", fmt.title)
    ws.merge_range(1, 0, 1, last, subtitle + "; tỷ lệ (%): tăng/giảm tính bằng điểm phần trăm", fmt.caption)
    for col, text in enumerate(headers):
        ws.write_string(3, col, text, fmt.header)
    ws.set_row(3, row_height(3))
    signed = {False: fmt.s.fmt(num_format="+#,##0.##;-#,##0.##;0", border=1, valign="vcenter"),
              True: fmt.s.fmt(num_format="+0.00;-0.00;0", border=1, valign="vcenter")}
    share = fmt.s.fmt(num_format="+0.0;-0.0;0", border=1, valign="vcenter")
    row = 4
    for form in result.spec.forms:
        rows = [ind for ind in form.indicators if ind.kind in COMPARED_KINDS
                and any(ind.id in result.comparisons[w].changes for w in which)]
        if not rows:
            continue
        ws.merge_range(row, 0, row, last, f"{form.name}. {form.title}", fmt.total_text)
        row += 1
        for ind in rows:
            _line(ws, fmt, result, ind, which, row, signed[ind.kind in PERCENT_KINDS], share)
            row += 1
    ws.set_column(0, 0, 7)
    ws.set_column(1, 1, LABEL_WIDTH)
    ws.set_column(2, 2, 11)
    ws.set_column(3, last, 13)
    ws.freeze_panes(4, 2)
    print_setup(ws, landscape=True, margins=(0.4, 0.4, 0.6, 0.6), repeat=(3, 3), footer=FOOTER_PAGE)


def _line(ws, fmt, result: MergeResult, ind, which: list, row: int, signed, share) -> None:
    value = fmt.value(ind.kind)
    ws.write_string(row, 0, f"{ind.code}.", fmt.center)
    ws.write_string(row, 1, ind.full_label, fmt.cell)
    ws.write_string(row, 2, ind.unit or "", fmt.plain)
    ws.set_row(row, row_height(text_lines(ind.full_label, LABEL_WIDTH)))
    _number(ws, row, 3, result.totals[ind.id].report_value, value)
    for i, w in enumerate(which):
        change = result.comparisons[w].changes.get(ind.id)
        col = 4 + 3 * i
        _number(ws, row, col, change.earlier if change else None, value)
        _number(ws, row, col + 1, change.difference if change else None, signed)
        _number(ws, row, col + 2, change.relative if change else None, share)


def _number(ws, row: int, col: int, number, cell_format) -> None:
    if number is None:
        ws.write_blank(row, col, None, cell_format)
    else:
        ws.write_number(row, col, float(number), cell_format)
