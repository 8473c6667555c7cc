"""The sheets `Biểu mẫu 1` … `Biểu mẫu N` of a template, laid out as the forms are printed.

Layout (rows and columns 0-based here, stable for the reader):

- rows 0–5, the title block: the spec's appendix, title and "issued with" lines, `Biểu mẫu N`, the
  form's title, the unit and period;
- rows 6–7, the two-row header `STT | Chỉ tiêu thống kê | Kết quả thống kê (Đơn vị tính, Số liệu) | Ghi chú`;
- from row 8, one row per indicator: A STT (`3.1.2.`), B label (its note in italic), C unit, D value,
  E Ghi chú; G and H (hidden) count the errors and warnings of the row's live checks, I shows them (not
  printed; its text runs on into the empty cells to its right). F is a narrow gap: LibreOffice draws the
  "###" of a hidden numeric cell at the left edge of the next column, which must not be a printed one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cchc_excel.core.kinds import CODED_KINDS, QUANTITY_KINDS
from cchc_excel.spec.expr import Ratio, Value, is_number
from cchc_excel.template.metadata import defined_name
from cchc_excel.template.checks import row_formulas
from cchc_excel.template.signature import Signature, write_after_form
from cchc_excel.template.styles import (BORDER_COLOR, CHECK_FONT, COMMENT_BORDER, COMMENT_FILL, FOOTER_SHEET_AND_PAGE,
                                        FORMULA_FILL, GREY_FILL, GREY_FONT, INPUT_FILL, merged_line, print_setup,
                                        row_height, text_lines)

HEADER_ROW = 6  # first of the two header rows
FIRST_ROW = 8  # first indicator row
COL_STT, COL_LABEL, COL_UNIT, COL_VALUE, COL_NOTE, COL_GAP, COL_ERRORS, COL_WARNINGS, COL_CHECK = range(9)
WIDTHS = {COL_STT: 7.5, COL_LABEL: 49, COL_UNIT: 17.5, COL_VALUE: 11, COL_NOTE: 11, COL_GAP: 2, COL_CHECK: 70}
LETTER = "ABCDEFGHI"
CHECK_HEADER = "Kiểm tra tự động"

# Data validation texts: titles at most 32 characters, input messages 255, error messages 224.
_VALIDATION = {
    "count": ("Số nguyên, không âm",
              "Nhập số nguyên từ 0 trở lên, không kèm chữ hay đơn vị tính.",
              "Ô này chỉ nhận số nguyên từ 0 trở lên (ví dụ 12), không nhận chữ, số thập phân hay số âm."),
    "amount": ("Số tiền, không âm",
               "Nhập số từ 0 trở lên, có thể có phần thập phân, không kèm chữ hay đơn vị tính.",
               "Ô này chỉ nhận số từ 0 trở lên (ví dụ 1250,5), không nhận chữ hay số âm."),
    "rate": ("Tỷ lệ phần trăm (0–100)",
             "Nhập tỷ lệ phần trăm là một số từ 0 đến 100 (ví dụ 85 nghĩa là 85%), không gõ dấu %.",
             "Ô này chỉ nhận số từ 0 đến 100 (ví dụ 85 nghĩa là 85%), không gõ dấu % hay chữ."),
    "choice": ("Chọn trong danh sách",
               "Bấm mũi tên bên phải ô để chọn: {choices}.",
               "Ô này chỉ nhận một trong các giá trị: {choices}."),
}
_BLANK_NOTE = " Để trống nếu chưa có số liệu; ghi 0 nếu bằng không."
# A choice or a flag: 0 is one of its answers (BM1-5.2: 0 = Trực tuyến), never "none".
_BLANK_CODED = " Để trống nếu chưa có số liệu."
# The reviewer's comment on a value cell (feedback workbooks).
COMMENT_OPTIONS = {"author": "Người kiểm tra", "x_scale": 2.5, "y_scale": 1.6, "font_name": "Times New Roman",
                   "font_size": 11}


@dataclass
class FormContext:
    """Everything a form sheet needs, computed once for the workbook."""

    spec: object
    reported_levels: frozenset
    cells: dict  # indicator id -> (sheet title, 0-based row)
    values: dict  # indicator id -> value (typed and computed ratios), for cached results
    notes: dict
    comments: dict
    checks: dict  # indicator id -> [LiveCheck]
    unit_line: tuple  # ("text", str) or ("formula", formula, cached str)
    password: str | None
    results: dict = field(default_factory=dict)  # indicator id -> (text, errors, warnings)
    footnotes: dict = field(default_factory=dict)  # form number -> lines printed under the form
    signature: Signature | None = None  # the signature block under each form (a report sent upward)

    def concerned(self, ind) -> bool:
        if ind.kind == "header":
            return any(self.concerned(self.spec[c]) for c in ind.children) if ind.children else True
        return bool(ind.levels & self.reported_levels)

    def ref(self, sheet: str):
        """A function giving an indicator's value cell as seen from a formula on `sheet`."""
        def ref(ind_id: str) -> str:
            other, row = self.cells[ind_id]
            cell = f"D{row + 1}"
            return cell if other == sheet else f"'{other}'!{cell}"
        return ref


def layout(spec) -> dict:
    """Where each indicator's row is: {indicator id: (sheet title, 0-based row)}."""
    cells = {}
    for form in spec.forms:
        for i, ind in enumerate(form.indicators):
            cells[ind.id] = (form.name, FIRST_ROW + i)
    return cells


def _ratio(ind) -> Ratio:
    return Ratio(Value(ind.numerator), Value(ind.denominator))


def ratio_value(values: dict, ind) -> float | None:
    """The cached result of a ratio formula (`spec.expr.ratio`): blank unless both operands are numbers and
    the denominator is not 0."""
    return _ratio(ind).ev(values)


def ratio_formula(ind, ref) -> str:
    """The formula of a ratio row's cell: the same tree as `ratio_value`, rendered for Excel."""
    return "=" + _ratio(ind).xl(ref)


_CHOICE_BREAK = re.compile(r"(=\s*\d+\s*;?)\s+(?=\S)")


def unit_display(ind) -> str:
    """The unit as printed; the codes of a flag or choice one per line (`Có = 1;` / `Không = 0`)."""
    if ind.kind in CODED_KINDS:
        return _CHOICE_BREAK.sub(lambda m: m.group(1) + "\n", ind.unit)
    return ind.unit


def input_cells(form, ctx: FormContext) -> list:
    """0-based rows of the form's input cells that this template's level fills."""
    return [ctx.cells[i.id][1] for i in form.indicators if i.is_input and ctx.concerned(i)]


def write_form(workbook, styles, form, ctx: FormContext):
    """Add the sheet of one form; returns the worksheet."""
    spec = ctx.spec
    ws = workbook.add_worksheet(form.name)
    for col, width in WIDTHS.items():
        ws.set_column(col, col, width)
    ws.set_column(COL_ERRORS, COL_WARNINGS, 4, None, {"hidden": True})
    _title_block(ws, styles, spec, form, ctx)
    _header(ws, styles, spec)
    ref = ctx.ref(form.name)
    last = FIRST_ROW + len(form.indicators) - 1
    for ind in form.indicators:
        _indicator_row(ws, styles, workbook, ind, ctx, ref)
    end = last
    if form.footnote:
        end = last + 2
        ws.merge_range(end, 0, end, COL_NOTE, "", styles.small_italic)
        ws.write_string(end, 0, form.footnote, styles.small_italic)
        ws.set_row(end, row_height(text_lines(form.footnote, 96, 10), 10))
    end = write_after_form(ws, styles, end, COL_NOTE, sum(WIDTHS[c] for c in range(COL_NOTE + 1)),
                           ctx.footnotes.get(form.number, ()), ctx.signature)
    # Colour the value cell of a row whose checks found something.
    first_a1 = FIRST_ROW + 1
    err, warn, check = LETTER[COL_ERRORS], LETTER[COL_WARNINGS], LETTER[COL_CHECK]
    rng = f"D{first_a1}:D{last + 1}"
    ws.conditional_format(rng, {"type": "formula", "criteria": f"=${err}{first_a1}>0", "format": styles.cf_error,
                                "stop_if_true": True})
    ws.conditional_format(rng, {"type": "formula", "criteria": f"=${warn}{first_a1}>0", "format": styles.cf_warning})
    checks = f"{check}{first_a1}:{check}{last + 1}"
    ws.conditional_format(checks, {"type": "formula", "criteria": f"=${err}{first_a1}>0",
                                   "format": styles.error_text_cf, "stop_if_true": True})
    ws.conditional_format(checks, {"type": "formula", "criteria": f"=${warn}{first_a1}>0",
                                   "format": styles.warning_text_cf})
    # Print: A4 portrait, one page wide, the table header on every page, the check column left out.
    print_setup(ws, margins=(0.55, 0.4, 0.6, 0.6), center=True, repeat=(HEADER_ROW, HEADER_ROW + 1),
                area=(0, 0, end, COL_NOTE), footer=FOOTER_SHEET_AND_PAGE)
    ws.freeze_panes(FIRST_ROW, 0)
    ws.protect(ctx.password or "", {"format_columns": True, "format_rows": True})
    return ws


def _title_block(ws, styles, spec, form, ctx):
    width = sum(WIDTHS[c] for c in range(COL_NOTE + 1))
    lines = [
        (spec.appendix, styles.subtitle, False),
        (spec.title, styles.subtitle, True),
        (spec.issued_with, styles.caption, False),
        (form.name, styles.title, True),
        (form.title, styles.title, True),
    ]
    for row, (text, fmt, bold) in enumerate(lines):
        merged_line(ws, row, COL_NOTE, text, fmt, width, 13 if fmt is styles.title else 12, bold)
    unit_fmt = styles.fmt(italic=True, align="center", valign="vcenter", shrink=True)
    ws.merge_range(5, 0, 5, COL_NOTE, "", unit_fmt)
    if ctx.unit_line[0] == "text":
        ws.write_string(5, 0, ctx.unit_line[1], unit_fmt)
    else:
        ws.write_formula(5, 0, ctx.unit_line[1], unit_fmt, ctx.unit_line[2])
    ws.set_row(5, 21)


def _header(ws, styles, spec):
    h = HEADER_ROW
    header = styles.header
    ws.merge_range(h, COL_STT, h + 1, COL_STT, "STT", header)
    ws.merge_range(h, COL_LABEL, h + 1, COL_LABEL, "", header)
    if spec.column_note:
        ws.write_rich_string(h, COL_LABEL, styles.fmt(bold=True), "Chỉ tiêu thống kê\n",
                             styles.fmt(italic=True), spec.column_note, header)
    else:
        ws.write_string(h, COL_LABEL, "Chỉ tiêu thống kê", header)
    ws.merge_range(h, COL_UNIT, h, COL_VALUE, "Kết quả thống kê", header)
    ws.write_string(h + 1, COL_UNIT, "Đơn vị tính", header)
    ws.write_string(h + 1, COL_VALUE, "Số liệu", header)
    ws.merge_range(h, COL_NOTE, h + 1, COL_NOTE, "Ghi chú", header)
    check_header = styles.fmt(bold=True, valign="vcenter", font_color=CHECK_FONT)
    ws.merge_range(h, COL_CHECK, h + 1, COL_CHECK, "", check_header)
    ws.write_string(h, COL_CHECK, f"{CHECK_HEADER} (không in)", check_header)
    label_lines = 1 + (text_lines(spec.column_note, WIDTHS[COL_LABEL], 12, False) if spec.column_note else 0)
    total = row_height(max(label_lines, 2))
    ws.set_row(h, round(total - row_height(1), 2))
    ws.set_row(h + 1, row_height(1))


def _fmt(styles, *, bold=False, italic=False, grey=False, align=None, fill=None, locked=True,
         num_format=None, comment=False):
    # Called for every cell of every row: the Format remembered by the arguments, not by its properties.
    key = ("_fmt", bold, italic, grey, align, fill, locked, num_format, comment)
    known = styles._cache.get(key)
    if known is None:
        known = styles._cache[key] = _new_fmt(styles, bold, italic, grey, align, fill, locked, num_format, comment)
    return known


def _new_fmt(styles, bold, italic, grey, align, fill, locked, num_format, comment):
    props = {"border": 1, "border_color": BORDER_COLOR, "valign": "vcenter", "text_wrap": True}
    if bold:
        props["bold"] = True
    if italic:
        props["italic"] = True
    if align:
        props["align"] = align
    if grey:
        props["bg_color"] = GREY_FILL
        props["font_color"] = GREY_FONT
    elif fill:
        props["bg_color"] = fill
    if not locked:
        props["locked"] = False
    if num_format:
        props["num_format"] = num_format
    if comment:
        props.update(bg_color=COMMENT_FILL, border=2, border_color=COMMENT_BORDER)
    return styles.fmt(**props)


def indicator_row_height(ind, note: str) -> float:
    """The height of an indicator's row: its label, unit or note, wrapped, whichever is tallest."""
    bold = ind.kind == "header"
    lines = max(
        text_lines(ind.full_label, WIDTHS[COL_LABEL], 12, bold),
        text_lines(unit_display(ind), WIDTHS[COL_UNIT], 12, bold),
        text_lines(note, WIDTHS[COL_NOTE], 12, False) if note else 1,
    )
    return row_height(lines)


def value_format(styles, ind, concerned: bool, commented: bool):
    """The format of an indicator's value cell; `commented`: highlighted for a reviewer's comment."""
    grey, italic = not concerned, ind.italic
    if ind.kind == "header":
        return _fmt(styles, grey=grey, comment=commented)
    if ind.kind == "ratio" and concerned:
        return _fmt(styles, fill=FORMULA_FILL, align="center", italic=italic, comment=commented)
    num_format = "#,##0" if ind.kind == "count" else "General"
    return _fmt(styles, grey=grey, fill=INPUT_FILL, align="center", locked=grey, italic=italic,
                num_format=num_format, comment=commented)


def _indicator_row(ws, styles, workbook, ind, ctx: FormContext, ref):
    sheet, row = ctx.cells[ind.id]
    concerned = ctx.concerned(ind)
    unit_text = unit_display(ind)
    _label_cells(ws, styles, ind, row, not concerned, unit_text)
    _value_cell(ws, styles, ind, row, ctx, ref, concerned)
    note = ctx.notes.get(ind.id, "")
    # Text format: a note typed as "15/6" or "02" stays what was typed, not a date or a number.
    note_fmt = _fmt(styles, grey=not concerned, italic=ind.italic, locked=not concerned or ind.kind == "header",
                    num_format="@")
    if note:
        ws.write_string(row, COL_NOTE, note, note_fmt)
    else:
        ws.write_blank(row, COL_NOTE, None, note_fmt)
    _check_cells(ws, styles, ind, row, ctx, ref)
    ws.set_row(row, indicator_row_height(ind, note))
    if ind.kind != "header":
        workbook.define_name(defined_name(ind.id), f"='{sheet}'!$D${row + 1}")


def _label_cells(ws, styles, ind, row: int, grey: bool, unit_text: str):
    """STT, label (its note in italic) and unit."""
    bold, italic = ind.kind == "header", ind.italic
    common = {"bold": bold, "italic": italic, "grey": grey}
    ws.write_string(row, COL_STT, f"{ind.code}.", _fmt(styles, **common))
    label_fmt = _fmt(styles, **common)
    if ind.note and not italic:
        plain = styles.fmt(bold=bold, font_color=GREY_FONT) if grey else styles.fmt(bold=bold)
        slanted = styles.fmt(bold=bold, italic=True, font_color=GREY_FONT) if grey else styles.fmt(
            bold=bold, italic=True)
        ws.write_rich_string(row, COL_LABEL, plain, ind.label + " ", slanted, ind.note, label_fmt)
    else:
        ws.write_string(row, COL_LABEL, ind.full_label, label_fmt)
    ws.write_string(row, COL_UNIT, unit_text, _fmt(styles, align="center", **common))


def _value_cell(ws, styles, ind, row: int, ctx: FormContext, ref, concerned: bool):
    """The value cell: blank for a header, the ratio formula, or an input cell with its validation."""
    value = ctx.values.get(ind.id)
    commented = ind.id in ctx.comments
    fmt = value_format(styles, ind, concerned, commented)
    if ind.kind == "header":
        ws.write_blank(row, COL_VALUE, None, fmt)
    elif ind.kind == "ratio" and concerned:
        cached = ratio_value(ctx.values, ind)
        ws.write_formula(row, COL_VALUE, ratio_formula(ind, ref), fmt, "" if cached is None else cached)
    else:
        if is_number(value):
            ws.write_number(row, COL_VALUE, value, fmt)
        elif isinstance(value, str) and value:
            ws.write_string(row, COL_VALUE, value, fmt)
        else:
            ws.write_blank(row, COL_VALUE, None, fmt)
        if concerned and ind.kind != "ratio":
            _validate(ws, row, ind)
    if commented:
        ws.write_comment(row, COL_VALUE, ctx.comments[ind.id], dict(COMMENT_OPTIONS))


def _check_cells(ws, styles, ind, row: int, ctx: FormContext, ref):
    """The live checks: their messages (column I) and counts of errors and warnings (G, H)."""
    text_f, errors_f, warnings_f = row_formulas(ctx.checks.get(ind.id, []), ref)
    text, errors, warnings = ctx.results[ind.id]
    if text_f:
        ws.write_formula(row, COL_CHECK, text_f, styles.text, text)
    # ";;;" shows nothing: LibreOffice would otherwise put "###" of the hidden columns into a PDF's text.
    if errors_f:
        ws.write_formula(row, COL_ERRORS, errors_f, styles.counter, errors)
    if warnings_f:
        ws.write_formula(row, COL_WARNINGS, warnings_f, styles.counter, warnings)


def _validate(ws, row, ind):
    kind = "choice" if ind.kind in CODED_KINDS else ind.kind
    title, message, error = _VALIDATION[kind]
    choices = ", ".join(f"{code} = {text}" for code, text in ind.choices)
    options = {"input_title": title, "error_title": "Số liệu không hợp lệ", "error_type": "stop"}
    if kind == "choice":
        options.update(validate="list", source=[str(code) for code in ind.choice_codes])
        message, error = message.format(choices=choices), error.format(choices=choices)
    elif kind == "count":
        options.update(validate="integer", criteria=">=", value=0)
    elif kind == "amount":
        options.update(validate="decimal", criteria=">=", value=0)
    else:
        options.update(validate="decimal", criteria="between", minimum=0, maximum=100)
    unit = f"Đơn vị tính: {ind.unit}. " if ind.unit and kind in QUANTITY_KINDS else ""
    blank = _BLANK_CODED if kind == "choice" else _BLANK_NOTE
    options["input_message"] = (unit + message + blank)[:255]
    options["error_message"] = error[:224]
    ws.data_validation(row, COL_VALUE, row, COL_VALUE, options)
