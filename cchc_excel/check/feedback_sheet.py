"""The first sheet of a feedback workbook, `Lỗi cần sửa`: who, which period, which file; what to do; a
table of every finding, errors first, each `Ô` a link to the cell.

Layout (0-based rows): 0 title, 1 unit and period, 2 file, 3 counts, 5-8 what to do, 9 remarks on the
template chosen, 11 the table header, data from 12.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timezone
from pathlib import Path

from cchc_excel.check.feedback_plan import Plan
from cchc_excel.check.report import SEVERITIES, SEVERITY_LABELS
from cchc_excel.core.periods import VIETNAM
from cchc_excel.core.roster import Unit
from cchc_excel.read.layout import FEEDBACK_SHEET
from cchc_excel.core.text import vn_date
from cchc_excel.template.styles import (BORDER_COLOR, ERROR_FILL, ERROR_FONT, FOOTER_SHEET_AND_PAGE, HEADER_FILL,
                                        LINK_FONT, WARNING_FILL, WARNING_FONT, merged_line, print_setup,
                                        row_height, text_lines)

TABLE_ROW = 11  # the table's header row; findings from the next row
COLUMNS = (("STT", 5), ("Mức độ", 10), ("Biểu mẫu", 8.5), ("Ô", 7), ("Mã chỉ tiêu", 12.5),
           ("Chỉ tiêu", 38), ("Nội dung", 66))
COL_STT, COL_SEVERITY, COL_FORM, COL_CELL, COL_ID, COL_LABEL, COL_TEXT = range(len(COLUMNS))
LAST_COL = len(COLUMNS) - 1
WIDTH = sum(width for _, width in COLUMNS)

INSTRUCTIONS = (
    "1. Sửa các ô được tô màu trong các Biểu mẫu (đưa chuột vào ô để đọc nhận xét), rồi gửi lại tệp này.",
    "2. Bấm vào địa chỉ ở cột “Ô” để đi tới ô cần sửa. Lỗi phải được sửa trước khi số liệu được tổng hợp; "
    "cảnh báo cần xem lại, nếu số liệu vẫn đúng thì ghi lý do vào cột Ghi chú của dòng đó.",
    "3. Số liệu đơn vị đã gửi được chép sẵn vào các Biểu mẫu: chỉ sửa những ô cần sửa. Không đổi tên "
    "trang tính, không chèn hay xóa dòng.",
)


def write_sheet(workbook, styles, plan: Plan, generated_at: datetime) -> None:
    """Add the `Lỗi cần sửa` sheet, active, as the workbook's first sheet."""
    ws = workbook.add_worksheet(FEEDBACK_SHEET)
    for col, (_, width) in enumerate(COLUMNS):
        ws.set_column(col, col, width)
    fmt = _formats(styles)
    _write_head(ws, fmt, plan, generated_at)
    last = _write_table(ws, fmt, plan.findings)
    _print_setup(ws, last)
    ws.activate()


def _formats(s) -> dict:
    border = {"border": 1, "border_color": BORDER_COLOR, "valign": "vcenter", "text_wrap": True}
    return {
        "title": s.fmt(bold=True, font_size=14, align="center", valign="vcenter", text_wrap=True),
        "line": s.fmt(valign="vcenter", text_wrap=True),
        "bold": s.fmt(bold=True, valign="vcenter", text_wrap=True),
        "remark": s.fmt(italic=True, valign="vcenter", text_wrap=True, font_color=WARNING_FONT),
        "header": s.fmt(bold=True, align="center", bg_color=HEADER_FILL, **border),
        "cell": s.fmt(**border),
        "center": s.fmt(align="center", **border),
        "link": s.fmt(align="center", font_color=LINK_FONT, underline=1, **border),
        "error": s.fmt(align="center", bold=True, bg_color=ERROR_FILL, font_color=ERROR_FONT, **border),
        "warning": s.fmt(align="center", bold=True, bg_color=WARNING_FILL, font_color=WARNING_FONT, **border),
        "info": s.fmt(align="center", **border),
    }


def _write_head(ws, fmt: dict, plan: Plan, generated_at: datetime) -> None:
    """Rows 0-10: title, unit and period, file, counts, what to do, remarks."""

    def line(row, text, style="line", size=12, bold=False):
        merged_line(ws, row, LAST_COL, _nfc(text), fmt[style], WIDTH - 2, size, bold)

    errors, warnings, infos = (sum(1 for f in plan.findings if f.severity == sev) for sev in SEVERITIES)
    line(0, "PHẢN HỒI KẾT QUẢ KIỂM TRA BÁO CÁO THỐNG KÊ CẢI CÁCH HÀNH CHÍNH", "title", 14, True)
    line(1, f"Đơn vị: {_unit_text(plan.unit)} — Kỳ báo cáo: "
            f"{plan.period.label if plan.period else 'chưa xác định'}", "bold", bold=True)
    line(2, _file_text(plan, generated_at))
    counts = [f"{errors} lỗi", f"{warnings} cảnh báo"] + ([f"{infos} thông tin"] if infos else [])
    line(3, "Kết quả kiểm tra: " + ", ".join(counts) + ".")
    ws.set_row(4, 6)
    line(5, "Cách sửa:", "bold", bold=True)
    for i, text in enumerate(INSTRUCTIONS):
        line(6 + i, text)
    if plan.remarks:
        line(9, " ".join(plan.remarks), "remark")
    ws.set_row(10, 6)


def _write_table(ws, fmt: dict, findings) -> int:
    """The table of findings from `TABLE_ROW`; returns its last row."""
    for col, (title, _) in enumerate(COLUMNS):
        ws.write_string(TABLE_ROW, col, title, fmt["header"])
    ws.set_row(TABLE_ROW, row_height(1))
    row = TABLE_ROW
    for n, f in enumerate(findings, 1):
        row = TABLE_ROW + n
        ws.write_number(row, COL_STT, n, fmt["center"])
        ws.write_string(row, COL_SEVERITY, SEVERITY_LABELS[f.severity], fmt[f.severity])
        # The form's number only: "Biểu mẫu 3" in the first columns would read as a form's title.
        if f.form is not None:
            ws.write_number(row, COL_FORM, f.form, fmt["center"])
        else:
            ws.write_blank(row, COL_FORM, None, fmt["center"])
        if f.cell:
            ws.write_url(row, COL_CELL, f"internal:{_quote(f.sheet)}!{f.cell}", fmt["link"], f.cell,
                         f"Đi tới ô {f.cell} của {f.sheet}")
        else:
            ws.write_blank(row, COL_CELL, None, fmt["center"])
        ws.write_string(row, COL_ID, f.indicator, fmt["center"])
        ws.write_string(row, COL_LABEL, _nfc(f.label), fmt["cell"])
        ws.write_string(row, COL_TEXT, _nfc(f.text), fmt["cell"])
        lines = max(text_lines(f.label, COLUMNS[COL_LABEL][1]), text_lines(f.text, COLUMNS[COL_TEXT][1]))
        ws.set_row(row, row_height(lines))
    ws.autofilter(TABLE_ROW, 0, row, LAST_COL)
    ws.freeze_panes(TABLE_ROW + 1, 0)
    return row


def _print_setup(ws, last_row: int) -> None:
    """A4 landscape, one page wide, the table header on every page."""
    print_setup(ws, landscape=True, margins=(0.5, 0.4, 0.6, 0.6), center=True, repeat=(TABLE_ROW,),
                area=(0, 0, last_row, LAST_COL), footer=FOOTER_SHEET_AND_PAGE)


def _unit_text(unit: Unit | None) -> str:
    if unit is None:
        return "chưa xác định"
    if unit.name and unit.code and unit.name != unit.code:
        return f"{unit.name} (mã {unit.code})"
    return unit.name or unit.code


def _file_text(plan: Plan, generated_at: datetime) -> str:
    text = f"Tệp đã kiểm tra: {Path(plan.source).name}"
    if plan.saved_at is not None:
        saved = _local(plan.saved_at)
        text += f" (lưu lúc {saved:%H:%M} ngày {vn_date(saved)})"
    return text + f"; kiểm tra ngày {vn_date(_local(generated_at))}."


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(VIETNAM)


def _quote(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)
