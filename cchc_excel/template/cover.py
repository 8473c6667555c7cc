"""The first two sheets of a template: `Thông tin chung` (who, which period, the checks' summary) and
`Hướng dẫn` (how to fill it in, in plain Vietnamese).

The cover's input cells carry workbook-level names, for a reader of a blank template that was filled by
hand: `cchc_unit_name`, `cchc_unit_code`, `cchc_period`, `cchc_preparer`, `cchc_phone`, `cchc_email`,
`cchc_date`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cchc_excel.template.forms import COL_ERRORS, COL_WARNINGS, LETTER, input_cells
from cchc_excel.template.styles import (BORDER_COLOR, ERROR_FILL, FORMULA_FILL, GREY_FILL, INPUT_FILL, SECTION_FONT,
                                        WARNING_FILL, merged_line, print_setup, row_height, text_lines)

COVER = "Thông tin chung"
GUIDE = "Hướng dẫn"
COVER_WIDTHS = (30, 46, 11, 8, 10)
ERR, WARN = LETTER[COL_ERRORS], LETTER[COL_WARNINGS]
# 0-based rows of the cover's inputs, each a defined name `cchc_<key>` on column B.
NAMES = {"unit_name": 4, "unit_code": 5, "period": 7, "preparer": 13, "phone": 14, "email": 15, "date": 16}
LEVEL_ROW = 6
SUMMARY_ROW = 19  # the status line of the checks' summary, then its table of forms


def cover_free_row(spec) -> int:
    """The first row under the cover's summary (and a gap), for lines a caller adds (a merged report)."""
    return SUMMARY_ROW + len(spec.forms) + 5

MARGINS = (0.6, 0.5, 0.7, 0.7)  # print margins in inches: left, right, top, bottom


@dataclass(frozen=True)
class CoverInfo:
    unit_name: str | None
    unit_code: str | None
    level_name: str
    period_label: str | None
    window: str  # "từ ngày 15/03/2023 đến ngày 14/06/2023", or the rule when no period is given
    deadline: str
    spec_text: str


def cover_cell(key: str) -> str:
    """Absolute reference of a cover input (`unit_name`, `period`...), for formulas on other sheets."""
    return f"'{COVER}'!$B${NAMES[key] + 1}"


def write_cover(workbook, styles, spec, info: CoverInfo, forms_ctx, password):
    ws = workbook.add_worksheet(COVER)
    for col, width in enumerate(COVER_WIDTHS):
        ws.set_column(col, col, width)
    total_width = sum(COVER_WIDTHS)
    merged_line(ws, 0, 4, spec.title, styles.title, total_width, 13, True)
    merged_line(ws, 1, 4, spec.issued_with, styles.caption, total_width)
    ws.set_row(2, 8)
    section(ws, styles, 3, "THÔNG TIN CHUNG")
    row = _row_writer(ws, styles)
    text_rule = {"validate": "length", "criteria": "<=", "value": 250, "error_title": "Quá dài",
                 "error_message": "Nội dung quá dài (tối đa 250 ký tự)."}
    row(NAMES["unit_name"], "Tên đơn vị báo cáo", info.unit_name, info.unit_name is not None,
        validation={**text_rule, "input_title": "Tên đơn vị",
                    "input_message": "Ghi tên đơn vị báo cáo, ví dụ: UBND phường Tam Quan Bắc."})
    row(NAMES["unit_code"], "Mã đơn vị", info.unit_code, info.unit_code is not None,
        validation={**text_rule, "input_title": "Mã đơn vị",
                    "input_message": "Ghi mã đơn vị do cơ quan nhận báo cáo cấp (nếu có)."})
    row(LEVEL_ROW, "Cấp", info.level_name, True)
    row(NAMES["period"], "Kỳ báo cáo", info.period_label, info.period_label is not None,
        validation={**text_rule, "input_title": "Kỳ báo cáo",
                    "input_message": "Ví dụ: Quý II/2023; 6 tháng đầu năm 2023; 9 tháng đầu năm 2023; Năm 2023."})
    plain = styles.fmt(border=1, border_color=BORDER_COLOR, valign="vcenter", text_wrap=True)
    row(8, "Số liệu tính", info.window, True, fmt=plain)
    row(9, "Hạn gửi báo cáo", info.deadline, True, fmt=plain)
    row(10, "Bộ biểu mẫu", info.spec_text, True, fmt=plain)
    ws.set_row(11, 8)
    section(ws, styles, 12, "NGƯỜI LẬP BIỂU")
    _preparer_rows(ws, styles, row, text_rule)
    for key, r in NAMES.items():
        workbook.define_name(f"cchc_{key}", f"='{COVER}'!$B${r + 1}")
    ws.set_row(SUMMARY_ROW - 2, 8)
    section(ws, styles, SUMMARY_ROW - 1, "KIỂM TRA SỐ LIỆU")
    _summary(ws, styles, spec, forms_ctx, first=SUMMARY_ROW)
    _page_setup(ws, password, center=True)
    return ws


def _row_writer(ws, styles):
    """row(r, caption, value, given, fmt, validation): one line of the cover, a caption and a merged cell
    that shows `value` when `given`, else is an unlocked input (with its validation)."""
    label = styles.fmt(border=1, border_color=BORDER_COLOR, valign="vcenter", text_wrap=True)
    fixed = styles.fmt(border=1, border_color=BORDER_COLOR, valign="vcenter", shrink=True, bold=True)
    entry = styles.fmt(border=1, border_color=BORDER_COLOR, valign="vcenter", bg_color=INPUT_FILL, locked=False,
                       shrink=True, num_format="@")

    def row(r, caption, value, given, fmt=None, validation=None):
        ws.write_string(r, 0, caption, label)
        cell_fmt = fmt or (fixed if given else entry)
        ws.merge_range(r, 1, r, 4, "", cell_fmt)
        if given:
            ws.write_string(r, 1, value, cell_fmt)
        if validation and not given:
            ws.data_validation(r, 1, r, 1, validation)
        ws.set_row(r, 21)
    return row


def _preparer_rows(ws, styles, row, text_rule) -> None:
    entry_date = styles.fmt(border=1, border_color=BORDER_COLOR, valign="vcenter", bg_color=INPUT_FILL, locked=False,
                            num_format="dd/mm/yyyy", align="left")
    row(NAMES["preparer"], "Họ và tên", "", False,
        validation={**text_rule, "input_title": "Người lập biểu", "input_message": "Họ và tên người lập biểu."})
    row(NAMES["phone"], "Số điện thoại", "", False,
        validation={"validate": "length", "criteria": "between", "minimum": 0, "maximum": 30,
                    "input_title": "Số điện thoại", "input_message": "Số điện thoại liên hệ khi cần đối chiếu số liệu.",
                    "error_title": "Số điện thoại", "error_message": "Số điện thoại quá dài (tối đa 30 ký tự)."})
    row(NAMES["email"], "Thư điện tử", "", False,
        validation={"validate": "custom", "value": f'=ISNUMBER(SEARCH("@",B{NAMES["email"] + 1}))', "ignore_blank": True,
                    "input_title": "Thư điện tử", "input_message": "Địa chỉ thư điện tử, ví dụ: vanthu@example.vn.",
                    "error_title": "Thư điện tử", "error_message": "Địa chỉ thư điện tử phải có dấu @."})
    row(NAMES["date"], "Ngày lập biểu", "", False, fmt=entry_date, validation={
        "validate": "date", "criteria": "between", "minimum": date(2000, 1, 1), "maximum": date(2100, 12, 31),
        "input_title": "Ngày lập biểu", "input_message": "Ngày/tháng/năm, ví dụ 20/06/2023.", "error_title": "Ngày không hợp lệ",
        "error_message": "Hãy nhập một ngày, ví dụ 20/06/2023."})


def _page_setup(ws, password, *, center: bool = False) -> None:
    """A4 portrait, one page wide, and the sheet protected (the cover's and the guide's)."""
    print_setup(ws, margins=MARGINS, center=center)
    ws.protect(password or "", {"format_columns": True, "format_rows": True})


def _summary(ws, styles, spec, ctx, first):
    """The status line and, per form, how many cells are filled and how many problems are left."""
    table = first + 1
    for col, text in enumerate(("Biểu mẫu", "Tên biểu mẫu", "Đã nhập", "Lỗi", "Cảnh báo")):
        ws.write_string(table, col, text, styles.header)
    ws.set_row(table, 21)
    cell = styles.fmt(border=1, border_color=BORDER_COLOR, valign="vcenter", align="center")
    per_form, totals = summary_counts(spec, ctx)
    counts = [_form_line(ws, styles, cell, form, ctx, table + 1 + i, per_form[i])
              for i, form in enumerate(spec.forms)]
    total = table + 1 + len(spec.forms)
    _total_line(ws, styles, counts, totals, table, total)
    _status_line(ws, styles, first, total, errors=totals[2], warnings=totals[3])
    note = "Lỗi phải sửa trước khi gửi; cảnh báo là số liệu nên xem lại. Bấm vào “Biểu mẫu 1”… để chuyển đến trang đó."
    ws.merge_range(total + 1, 0, total + 1, 4, "", styles.small_italic)
    ws.write_string(total + 1, 0, note, styles.small_italic)
    ws.set_row(total + 1, row_height(text_lines(note, sum(COVER_WIDTHS), 10), 10))


def _form_line(ws, styles, cell, form, ctx, r, counts) -> str:
    """One form's line of the summary, its cached values `counts` (`form_counts`); the COUNT expression
    of its input cells."""
    rows = input_cells(form, ctx)
    inputs, filled, errors, warnings = counts
    sheet = f"'{form.name}'"
    count = "+".join(f"COUNT({sheet}!{rng})" for rng in _ranges(rows)) or "0"
    last = ctx.cells[form.indicators[-1].id][1] + 1
    first_row = ctx.cells[form.indicators[0].id][1] + 1
    # The link goes on the short name: LibreOffice does not wrap the text of a hyperlink cell.
    ws.write_url(r, 0, f"internal:{sheet}!A1", styles.link, form.name)
    ws.write_string(r, 1, form.title, styles.fmt(border=1, border_color=BORDER_COLOR, valign="vcenter",
                                                  text_wrap=True))
    ws.write_formula(r, 2, f'={count}&" / {inputs}"', cell, f"{filled} / {inputs}")
    ws.write_formula(r, 3, f"=SUM({sheet}!{ERR}{first_row}:{ERR}{last})", cell, errors)
    ws.write_formula(r, 4, f"=SUM({sheet}!{WARN}{first_row}:{WARN}{last})", cell, warnings)
    ws.set_row(r, row_height(text_lines(form.title, 46, 12)))
    return count


def form_counts(form, ctx) -> tuple[int, int, int, int]:
    """(input cells, filled ones, errors, warnings) of one form: its line of the cover's summary."""
    inputs = len(input_cells(form, ctx))
    filled = sum(1 for ind in form.indicators if ind.id in ctx.values and ind.is_input and ctx.concerned(ind)
                 and ctx.values[ind.id] is not None and not isinstance(ctx.values[ind.id], str))
    errors = sum(ctx.results[ind.id][1] for ind in form.indicators)
    warnings = sum(ctx.results[ind.id][2] for ind in form.indicators)
    return inputs, filled, errors, warnings


def summary_counts(spec, ctx) -> tuple[list, tuple]:
    """`form_counts` of every form, and their sums (the total line)."""
    per_form = [form_counts(form, ctx) for form in spec.forms]
    return per_form, tuple(map(sum, zip(*per_form))) if per_form else (0, 0, 0, 0)


def summary_results(spec, ctx) -> dict:
    """{(0-based row, column): cached result} of every formula of the cover's summary, as `_summary`
    writes them: the status line, each form's line and the total line."""
    per_form, totals = summary_counts(spec, ctx)
    out = {}
    for r, (inputs, filled, errors, warnings) in enumerate([*per_form, totals], start=SUMMARY_ROW + 2):
        out.update({(r, 2): f"{filled} / {inputs}", (r, 3): errors, (r, 4): warnings})
    out[(SUMMARY_ROW, 0)] = status_text(totals[2], totals[3])
    return out


def status_text(errors: int, warnings: int) -> str:
    """The cached result of the cover's status line."""
    if errors + warnings == 0:
        return STATUS_OK
    return f"Còn {errors} lỗi và {warnings} cảnh báo: xem cột “Kiểm tra tự động” bên phải mỗi biểu mẫu."


STATUS_OK = "Chưa phát hiện lỗi nào trong số liệu đã nhập."


def _total_line(ws, styles, counts, totals, table, total) -> None:
    bold_cell = styles.fmt(border=1, border_color=BORDER_COLOR, valign="vcenter", align="center", bold=True)
    inputs, filled, errors, warnings = totals
    ws.merge_range(total, 0, total, 1, "Tổng cộng", bold_cell)
    ws.write_formula(total, 2, f'=({"+".join(counts)})&" / {inputs}"', bold_cell, f"{filled} / {inputs}")
    ws.write_formula(total, 3, f"=SUM(D{table + 2}:D{total})", bold_cell, errors)
    ws.write_formula(total, 4, f"=SUM(E{table + 2}:E{total})", bold_cell, warnings)
    ws.set_row(total, 21)
    for col in (3, 4):
        rng = f"{'DE'[col - 3]}{table + 2}:{'DE'[col - 3]}{total + 1}"
        ws.conditional_format(rng, {"type": "cell", "criteria": ">", "value": 0,
                                    "format": styles.cf_error if col == 3 else styles.cf_warning})


def _status_line(ws, styles, first, total, *, errors: int, warnings: int) -> None:
    d, e = f"D{total + 1}", f"E{total + 1}"
    status = (f'=IF({d}+{e}=0,"{STATUS_OK}","Còn "&{d}&" lỗi và "&{e}&" cảnh báo: xem cột “Kiểm tra tự động” '
              f'bên phải mỗi biểu mẫu.")')
    cached = status_text(errors, warnings)
    status_fmt = styles.fmt(bold=True, valign="vcenter", text_wrap=True, border=1, border_color=BORDER_COLOR)
    ws.merge_range(first, 0, first, 4, "", status_fmt)
    ws.write_formula(first, 0, status, status_fmt, cached)
    ws.set_row(first, 36)
    ws.conditional_format(f"A{first + 1}", {"type": "formula", "criteria": f"={d}+{e}=0", "format": styles.cf_ok,
                                            "stop_if_true": True})
    ws.conditional_format(f"A{first + 1}", {"type": "formula", "criteria": f"={d}>0", "format": styles.cf_error})
    ws.conditional_format(f"A{first + 1}", {"type": "formula", "criteria": f"={e}>0", "format": styles.cf_warning})


def _ranges(rows: list) -> list:
    """Contiguous runs of 0-based rows as A1 ranges of column D: [8, 9, 10, 12] -> ["D9:D11", "D13"]."""
    runs = []
    for r in sorted(rows):
        if runs and r == runs[-1][1] + 1:
            runs[-1][1] = r
        else:
            runs.append([r, r])
    return [f"D{a + 1}:D{b + 1}" if a != b else f"D{a + 1}" for a, b in runs]


def section(ws, styles, row, text):
    """A section heading of the cover (`THÔNG TIN CHUNG`)."""
    ws.write_string(row, 0, text, styles.fmt(bold=True, valign="bottom", font_color=SECTION_FONT))
    ws.set_row(row, 22)


GUIDE_STEPS = (
    "Trang “Thông tin chung”: kiểm tra tên đơn vị và kỳ báo cáo; ghi họ tên, số điện thoại, thư điện tử "
    "của người lập biểu và ngày lập.",
    "Ở mỗi trang “Biểu mẫu 1”, “Biểu mẫu 2”…, nhập số liệu vào cột “Số liệu”, chỉ ở các ô màu vàng. "
    "Cột “Ghi chú” ghi tự do nếu cần giải thích.",
    "Chỉ nhập số: không ghi chữ, dấu % hay đơn vị tính vào ô số liệu. Các chỉ tiêu đếm (văn bản, hồ sơ, "
    "thủ tục, người, đơn vị…) là số nguyên; Triệu đồng có thể có phần thập phân; tỷ lệ % là số từ 0 đến 100.",
    "Các dòng Có/Không hoặc có lựa chọn: bấm mũi tên bên phải ô để chọn mã số (ví dụ 1 = Có, 0 = Không).",
    "Ô nhập số: để trống nếu chưa có số liệu; ghi 0 nếu số liệu bằng không. Ô để trống không được hiểu "
    "là 0. Ô chọn mã thì khác: chỉ chọn một mã trong danh sách, và để trống nếu chưa có câu trả lời.",
    "Các ô tỷ lệ màu xanh tự tính từ hai chỉ tiêu con (tử số và mẫu số), không cần và không thể nhập.",
    "Dòng màu xám không thuộc báo cáo của cấp mình: bỏ qua.",
    "Cột “Kiểm tra tự động” bên phải mỗi biểu mẫu báo ngay những số liệu chưa khớp nhau (ví dụ số nhiệm vụ "
    "đã hoàn thành lớn hơn số nhiệm vụ được giao). Ô có lỗi tô đỏ, ô cần xem lại tô cam. Trang “Thông tin "
    "chung” đếm số lỗi còn lại: hãy sửa hết lỗi trước khi gửi.",
    "Không thêm, xóa, đổi tên trang tính và không chèn dòng: máy tính đọc số liệu theo đúng vị trí các ô. "
    "Không dán số liệu từ tệp khác vào (dán sẽ bỏ qua phần kiểm tra khi nhập).",
    "Lưu tệp theo định dạng Excel (.xlsx), giữ nguyên tên tệp, rồi gửi lại qua thư điện tử trước hạn ghi ở "
    "trang “Thông tin chung”. Nếu nhận được thư báo lỗi, sửa đúng các ô được nêu và gửi lại cả tệp.",
)

LEGEND = (
    (INPUT_FILL, "Ô nhập số liệu."),
    (FORMULA_FILL, "Ô tự tính (tỷ lệ %), đã khóa."),
    (GREY_FILL, "Dòng không thuộc báo cáo của cấp mình, đã khóa."),
    (ERROR_FILL, "Số liệu có lỗi: phải sửa."),
    (WARNING_FILL, "Số liệu cần xem lại (cảnh báo)."),
)


def write_guide(workbook, styles, spec, info: CoverInfo, password):
    ws = workbook.add_worksheet(GUIDE)
    ws.set_column(0, 0, 5)
    ws.set_column(1, 1, 92)
    ws.merge_range(0, 0, 0, 1, "HƯỚNG DẪN ĐIỀN BIỂU MẪU", styles.title)
    ws.set_row(0, 24)
    period = f"Kỳ báo cáo: {info.period_label}. " if info.period_label else ""
    intro = f"{period}Số liệu tính {info.window}. Hạn gửi báo cáo: {info.deadline}."
    merged_line(ws, 1, 1, intro, styles.caption, 97)
    step_fmt = styles.fmt(valign="top", text_wrap=True)
    number_fmt = styles.fmt(valign="top", align="right", bold=True)
    r = 3
    for i, step in enumerate(guide_steps(spec), start=1):
        ws.write_string(r, 0, f"{i}.", number_fmt)
        ws.write_string(r, 1, step, step_fmt)
        ws.set_row(r, row_height(text_lines(step, 92)) + 2)
        r += 1
    r += 1
    ws.write_string(r, 1, "Ý nghĩa các màu", styles.bold)
    ws.set_row(r, 21)
    r += 1
    for color, meaning in LEGEND:
        ws.write_blank(r, 0, None, styles.fmt(bg_color=color, border=1, border_color=BORDER_COLOR))
        ws.write_string(r, 1, meaning, styles.text)
        ws.set_row(r, 19)
        r += 1
    _page_setup(ws, password)
    return ws


def guide_steps(spec) -> tuple:
    """GUIDE_STEPS, the blank-or-zero step naming the choice rows where 0 is a choice (BM1-5.2:
    0 = Trực tuyến), so that nobody types 0 there for "none"."""
    zero = [(ind, text) for ind in spec.indicators.values() if ind.kind == "choice"
            for code, text in ind.choices if str(code) == "0"]
    if not zero:
        return GUIDE_STEPS
    rows = "; ".join(f"{ind.id}: 0 = {text}" for ind, text in zero)
    step = (GUIDE_STEPS[4] + f" Ở các dòng sau, 0 là một lựa chọn chứ không có nghĩa là “không có”: {rows}.")
    return GUIDE_STEPS[:4] + (step,) + GUIDE_STEPS[5:]
