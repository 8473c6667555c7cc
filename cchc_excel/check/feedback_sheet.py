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


SOURCE_PROPERTY = "cchc_feedback_source"  # custom property: the returned file's absolute path
SHA256_PROPERTY = "cchc_feedback_sha256"  # and the digest of its bytes as checked


def first_sheet_hook(plan: Plan, generated_at: datetime, styled=None):
    """The `before_sheets` hook of `template_bytes` for `plan`'s feedback: the `Lỗi cần sửa` sheet, then
    `styled(styles)` if given, then the custom properties naming the returned file."""
    def first_sheet(workbook, styles):
        write_sheet(workbook, styles, plan, generated_at)
        if styled is not None:
            styled(styles)
        workbook.set_custom_property(SOURCE_PROPERTY, plan.source, "text")
        workbook.set_custom_property(SHA256_PROPERTY, plan.sha256 or "", "text")
    return first_sheet


def feedback_metadata(plan: Plan) -> dict:
    """What the feedback's metadata records (`template_bytes(feedback=)`): the file it answers, the digest
    of the values and notes it carries."""
    return {"feedback_for": plan.sha256 or "", "feedback_values": plan.digest}


def write_sheet(workbook, styles, plan: Plan, generated_at: datetime) -> None:
    """Add the `Lỗi cần sửa` sheet, active, as the workbook's first sheet."""
    ws = workbook.add_worksheet(FEEDBACK_SHEET)
    for col, (_, width) in enumerate(COLUMNS):
        ws.set_column(col, col, width)
    fmt = formats(styles)
    _write_head(ws, fmt, plan, generated_at)
    last = _write_table(ws, fmt, plan.findings)
    _print_setup(ws, last)
    ws.activate()


def formats(s) -> dict:
    """The sheet's formats by key (the same `Format`s on every call for one workbook's `Styles`)."""
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


GAP_ROWS = (4, 10)  # thin rows between the parts of the head


def head_lines(plan: Plan, generated_at: datetime) -> list[tuple]:
    """The lines of rows 0-10, each (row, text, format key, font size, bold), merged across the table."""
    errors, warnings, infos = (sum(1 for f in plan.findings if f.severity == sev) for sev in SEVERITIES)
    counts = [f"{errors} lỗi", f"{warnings} cảnh báo"] + ([f"{infos} thông tin"] if infos else [])
    lines = [
        (0, "PHẢN HỒI KẾT QUẢ KIỂM TRA BÁO CÁO THỐNG KÊ CẢI CÁCH HÀNH CHÍNH", "title", 14, True),
        (1, f"Đơn vị: {_unit_text(plan.unit)} — Kỳ báo cáo: "
            f"{plan.period.label if plan.period else 'chưa xác định'}", "bold", 12, True),
        (2, _file_text(plan, generated_at), "line", 12, False),
        (3, "Kết quả kiểm tra: " + ", ".join(counts) + ".", "line", 12, False),
        (5, "Cách sửa:", "bold", 12, True),
    ]
    lines += [(6 + i, text, "line", 12, False) for i, text in enumerate(INSTRUCTIONS)]
    if plan.remarks:
        lines.append((9, " ".join(plan.remarks), "remark", 12, False))
    return [(row, _nfc(text), style, size, bold) for row, text, style, size, bold in lines]


def _write_head(ws, fmt: dict, plan: Plan, generated_at: datetime) -> None:
    """Rows 0-10: title, unit and period, file, counts, what to do, remarks."""
    for row, text, style, size, bold in head_lines(plan, generated_at):
        merged_line(ws, row, LAST_COL, text, fmt[style], WIDTH - 2, size, bold)
    for row in GAP_ROWS:
        ws.set_row(row, 6)


def table_cells(n: int, f) -> list[tuple]:
    """The cells of the table's `n`th finding `f`, each (column, value, format key, link): a value is
    text, a number or None (a formatted blank); a link is (location, tooltip) for the `Ô` cell."""
    link = (f"{_quote(f.sheet)}!{f.cell}", f"Đi tới ô {f.cell} của {f.sheet}") if f.cell else None
    # The form's number only: "Biểu mẫu 3" in the first columns would read as a form's title.
    return [
        (COL_STT, n, "center", None),
        (COL_SEVERITY, SEVERITY_LABELS[f.severity], f.severity, None),
        (COL_FORM, f.form, "center", None),
        (COL_CELL, f.cell or None, "link" if link else "center", link),
        (COL_ID, f.indicator, "center", None),
        (COL_LABEL, _nfc(f.label), "cell", None),
        (COL_TEXT, _nfc(f.text), "cell", None),
    ]


def table_row_height(f) -> float:
    lines = max(text_lines(f.label, COLUMNS[COL_LABEL][1]), text_lines(f.text, COLUMNS[COL_TEXT][1]))
    return row_height(lines)


def _write_table(ws, fmt: dict, findings) -> int:
    """The table of findings from `TABLE_ROW`; returns its last row."""
    for col, (title, _) in enumerate(COLUMNS):
        ws.write_string(TABLE_ROW, col, title, fmt["header"])
    ws.set_row(TABLE_ROW, row_height(1))
    row = TABLE_ROW
    for n, f in enumerate(findings, 1):
        row = TABLE_ROW + n
        for col, value, style, link in table_cells(n, f):
            if link:
                ws.write_url(row, col, f"internal:{link[0]}", fmt[style], value, link[1])
            elif value is None:
                ws.write_blank(row, col, None, fmt[style])
            elif isinstance(value, str):
                ws.write_string(row, col, value, fmt[style])
            else:
                ws.write_number(row, col, value, fmt[style])
        ws.set_row(row, table_row_height(f))
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
