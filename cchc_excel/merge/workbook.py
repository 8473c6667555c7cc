"""OUT.xlsx of a merge, for people: the totals in the forms' own layout, then the detail behind them.

The workbook is a filled template of the parent level (`template.write_template` with the totals as
values, one short Ghi chú line per total, footnotes and a signature block under each form (`merge.notes`),
and metadata saying it is a merged report of n units), so the level above checks and merges it like any
other return. The cover lists the parent level's own rows still blank. After the form sheets come:

- `So sánh các kỳ` (`merge.compare_sheet`, with `--previous`): each total beside the earlier periods';
- `Chi tiết BM1` ... `Chi tiết BM7`: one row per merged unit, one column per row of the form, with the
  total line, the number of units behind each total and how it was made, printed across pages;
- `Tình hình nộp báo cáo`: one line per unit (status, file, received, late, errors, warnings);
- `Các tệp đã nhận`: one line per file with its status and why (nothing is dropped silently);
- `Kiểm tra`: every finding of every file, in words (at most `merge.MAX_FINDINGS` lines, and it says so);
- `Biểu đồ` (`merge.charts`): who has reported, and per unit the shares of the spec's `charts` rows.

Text from the returns goes through `write_string`: a unit name starting with `=` stays text.
Written atomically: an interrupted run never leaves a half-written file.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from cchc_excel.merge.charts import CHARTS_SHEET, write_charts_sheet  # noqa: F401 (a sheet's name, here too)
from cchc_excel.merge.compare_sheet import write_compare_sheet
from cchc_excel.merge.notes import blank_own_rows, form_footnotes, merged_notes
from cchc_excel.merge.totals import choice_counts, total_note
from cchc_excel.core.atomic import atomic_file
from cchc_excel.merge.result import FILE_STATUS_LABELS, MergeResult
from cchc_excel.core.kinds import PERCENT_KINDS, WHOLE_KINDS
from cchc_excel.core.periods import VIETNAM
from cchc_excel.core.text import vn_date
from cchc_excel.check.report import SEVERITY_LABELS
from cchc_excel.template.styles import (BORDER_COLOR, FOOTER_PAGE, FORMULA_FILL, HEADER_FILL, Styles, merged_line,
                                        print_setup, row_height, text_lines)
from cchc_excel.ooxml.bulk import BulkRows
from cchc_excel.template.cover import COVER, COVER_WIDTHS, cover_free_row, section

STATUS_SHEET = "Tình hình nộp báo cáo"
FILES_SHEET = "Các tệp đã nhận"
FINDINGS_SHEET = "Kiểm tra"
DETAIL_WIDTH = 14  # characters, each indicator's column of the detail sheets
DETAIL_A4_COLUMNS = 6  # indicator columns that fit across A4 landscape at DETAIL_PRINT_SCALE
DETAIL_PRINT_SCALE = 90  # percent


def detail_sheet_name(form) -> str:
    return f"Chi tiết {form.id}"


def write_merged_workbook(result: MergeResult, path: str | Path, *, password: str | None = None) -> Path:
    """Write OUT.xlsx atomically: into a temporary file in the same folder, renamed into place when
    complete, so that an interrupted run leaves the old file (or none), never half a file.

    The workbook is built by the template writer with the first row of each long table; the other rows
    are streamed into the file afterwards (`xlsx_bulk`), so memory stays flat at 10,000 units.

    Args:
        result: the merge.
        path: where to write (`.xlsx`).
        password: the sheets' protection password, as for the templates.
    """
    from cchc_excel.template.build import template_bytes

    bulk = BulkRows()
    data = template_bytes(
        result.spec, level=result.level, unit=result.root, period=result.period, password=password,
        values=result.report_values(), notes=merged_notes(result),
        footnotes=form_footnotes(result, detail_sheet_name), signature=True,
        reported_levels=frozenset(result.reported_levels), merged_units=result.merged_units,
        after_sheets=lambda workbook, styles: add_merge_sheets(workbook, styles, result, bulk),
    )
    with atomic_file(Path(path)) as out:
        bulk.write_to(data, out)
    return Path(path)


def add_merge_sheets(workbook, styles: Styles | None, result: MergeResult, bulk: BulkRows | None = None) -> None:
    """Add the sheets after the forms (see the module docstring) to an xlsxwriter workbook.

    Long tables go through `bulk` (their rows are inserted by `bulk.write_to` into the finished file);
    without one, every cell is written here.
    """
    styles = styles or Styles(workbook)
    bulk = bulk or BulkRows(direct=True)
    fmt = _Formats(styles)
    _cover_lines(workbook, styles, result)
    write_compare_sheet(workbook, fmt, result, _subtitle(result))
    for form in result.spec.forms:
        _detail_sheet(workbook, fmt, result, form, bulk)
    _status_sheet(workbook, fmt, result, bulk)
    _files_sheet(workbook, fmt, result, bulk)
    _findings_sheet(workbook, fmt, result, bulk)
    write_charts_sheet(workbook, fmt, result, _subtitle(result))


class _Formats:
    """The few formats these sheets need, on the template's font."""

    def __init__(self, s: Styles):
        border = {"border": 1, "border_color": BORDER_COLOR, "valign": "vcenter"}
        self.s = s
        self.title = s.title
        self.caption = s.caption
        self.bold = s.fmt(bold=True, valign="vcenter")
        self.italic = s.fmt(italic=True, valign="vcenter")
        self.wrap = s.fmt(valign="vcenter", text_wrap=True)
        self.header = s.fmt(bold=True, align="center", text_wrap=True, bg_color=HEADER_FILL, **border)
        self.label = s.fmt(font_size=10, align="center", valign="top", text_wrap=True, **_nov(border))
        self.cell = s.fmt(text_wrap=True, **border)
        self.center = s.fmt(align="center", **border)
        self.integer = s.fmt(num_format="#,##0", **border)
        self.number = s.fmt(num_format="#,##0.00", **border)
        self.percent = s.fmt(num_format="0.00", **border)
        self.date = s.fmt(num_format="dd/mm/yyyy hh:mm", align="center", **border)
        self.total_text = s.fmt(bold=True, bg_color=FORMULA_FILL, text_wrap=True, **border)  # computed
        self.total_integer = s.fmt(bold=True, bg_color=FORMULA_FILL, num_format="#,##0", **border)
        self.total_number = s.fmt(bold=True, bg_color=FORMULA_FILL, num_format="#,##0.00", **border)
        self.total_percent = s.fmt(bold=True, bg_color=FORMULA_FILL, num_format="0.00", **border)
        self.units = s.fmt(italic=True, num_format="#,##0", align="center", **border)
        self.units_text = s.fmt(italic=True, **border)
        self.how = s.fmt(italic=True, font_size=10, text_wrap=True, valign="top", **_nov(border))
        self.plain = s.fmt(**border)

    def value(self, kind: str, total: bool = False):
        if kind in PERCENT_KINDS:
            return self.total_percent if total else self.percent
        if kind in WHOLE_KINDS:
            return self.total_integer if total else self.integer
        return self.total_number if total else self.number


def _nov(border: dict) -> dict:
    return {k: v for k, v in border.items() if k != "valign"}


def _cover_lines(workbook, styles: Styles, result: MergeResult) -> None:
    """On the cover, under its summary: the rows of the merged unit's own level still blank, which no unit
    below reports and the merged unit fills itself (`--own`, or typed here)."""
    ws = workbook.get_worksheet_by_name(COVER)
    if ws is None:
        return
    row = cover_free_row(result.spec)
    level = result.spec.level_name(result.level)
    section(ws, styles, row, f"SỐ LIỆU RIÊNG CỦA {level.upper()}")
    blank = blank_own_rows(result)
    width = sum(COVER_WIDTHS)
    text = styles.fmt(valign="vcenter", text_wrap=True)
    if not blank:
        merged_line(ws, row + 1, 4, f"Các chỉ tiêu riêng của {level} đã có số liệu.", text, width)
        return
    merged_line(ws, row + 1, 4, f"{len(blank)} chỉ tiêu riêng của {level} còn để trống, cần đơn vị tổng hợp tự "
                f"điền (nhập vào ô màu vàng ở biểu mẫu, hoặc tổng hợp lại với --own TỆP là báo cáo riêng của "
                f"đơn vị):", text, width)
    for i, ind in enumerate(blank, row + 2):
        merged_line(ws, i, 4, f"{result.spec.form(ind.form).name}, dòng {ind.code}. {ind.label}", text,
                    width)


def _print_setup(ws, header_rows: int, landscape: bool = True) -> None:
    print_setup(ws, landscape=landscape, margins=(0.4, 0.4, 0.6, 0.6), repeat=(0, header_rows - 1),
                footer=FOOTER_PAGE)


def _title(ws, fmt: _Formats, text: str, subtitle: str, last_col: int, first_col: int = 0) -> None:
    ws.merge_range(0, first_col, 0, last_col, text, fmt.title)
    ws.merge_range(1, first_col, 1, last_col, subtitle, fmt.caption)
    ws.set_row(0, row_height(2, 13))


def _subtitle(result: MergeResult) -> str:
    who = result.root.name if result.root else "Toàn bộ danh sách đơn vị"
    return f"{who} — {result.period.label} — {result.merged_units} đơn vị được tổng hợp"


def _local(moment: datetime | None) -> datetime | None:
    return moment.astimezone(VIETNAM).replace(tzinfo=None) if moment else None


# --------------------------------------------------------------------------------------- per-unit sheets


def _detail_sheet(workbook, fmt: _Formats, result: MergeResult, form, bulk: BulkRows) -> None:
    indicators = [i for i in form.indicators if i.kind != "header"]
    ws = workbook.add_worksheet(detail_sheet_name(form))
    first = 4  # columns STT, code, name, level before the indicators
    last_col = first + len(indicators) - 1
    # Titled over columns of the first printed page only: a title merged over every column is cut by the
    # pages, and one over the repeated columns A–C shows in pieces on every page.
    _title(ws, fmt, f"{form.name.upper()}. {form.title.upper()}: SỐ LIỆU TỪNG ĐƠN VỊ", _subtitle(result),
           min(last_col, first + DETAIL_A4_COLUMNS - 1), first_col=3)
    head = 3
    for col, text in enumerate(("STT", "Mã đơn vị", "Tên đơn vị", "Cấp")):
        ws.merge_range(head, col, head + 2, col, text, fmt.header)
    widest = units = 1
    for j, ind in enumerate(indicators):
        col = first + j
        ws.write_string(head, col, f"{ind.code}.", fmt.header)
        ws.write_string(head + 1, col, ind.label, fmt.label)
        ws.write_string(head + 2, col, ind.unit or "", fmt.label)
        widest = max(widest, text_lines(ind.label, DETAIL_WIDTH, size=10))
        units = max(units, text_lines(ind.unit or "", DETAIL_WIDTH, size=10))
    ws.set_row(head + 1, row_height(min(widest, 14), 10))
    ws.set_row(head + 2, row_height(units, 10))
    ws.set_column(0, 0, 5)
    ws.set_column(1, 1, 11)
    ws.set_column(2, 2, 28)
    ws.set_column(3, 3, 14)
    ws.set_column(first, last_col, DETAIL_WIDTH)
    ws.freeze_panes(head + 3, 3)

    row = head + 3
    rows = _UnitRows(result, indicators)
    formats = [fmt.center, fmt.plain, fmt.cell, fmt.plain] + [fmt.value(ind.kind) for ind in indicators]
    end = bulk.write(ws, row, rows, formats)
    if end > row:
        ws.autofilter(head + 2, 0, end - 1, last_col)
    row = end

    _total_lines(ws, fmt, result, indicators, row, first)
    _detail_print(ws, head + 3, len(indicators))


def _total_lines(ws, fmt: _Formats, result: MergeResult, indicators: list, row: int, first: int) -> None:
    """Under the units: the total line, the units behind each total, and how each total was made (a
    count of procedures says it is the largest, not a sum)."""
    maxima = any(result.totals[ind.id].how == "max" for ind in indicators)
    label = f"Tổng hợp ({result.merged_units} đơn vị" + ("; số thủ tục: lấy số lớn nhất)" if maxima else ")")
    ws.merge_range(row, 0, row, 3, label, fmt.total_text)
    ws.merge_range(row + 1, 0, row + 1, 3, "Số đơn vị có số liệu", fmt.units_text)
    ws.merge_range(row + 2, 0, row + 2, 3, "Cách tổng hợp", fmt.units_text)
    lines = totals = 1
    for j, ind in enumerate(indicators):
        total = result.totals[ind.id]
        col = first + j
        _write_total(ws, row, col, total, ind, fmt)
        ws.write_number(row + 1, col, total.units, fmt.units)
        how = total_note(total, ind) if total.units else ""
        ws.write_string(row + 2, col, how, fmt.how)
        lines = max(lines, text_lines(how, DETAIL_WIDTH, 10))
        if total.how == "choice":
            totals = max(totals, text_lines(choice_counts(total, ind), DETAIL_WIDTH, bold=True))
    ws.set_row(row, row_height(totals))
    ws.set_row(row + 2, row_height(lines, 10))


def _detail_print(ws, header_rows: int, columns: int) -> None:
    """Landscape, A4 when the table fits at full size, else A3, split over pages across (the unit's code
    and name repeated on each); never shrunk to one page wide, which made 3-point text of Biểu mẫu 7."""
    _print_setup(ws, header_rows)
    ws.repeat_rows(3, header_rows - 1)  # the table's header; the title is on the first page only
    ws.set_paper(9 if columns <= DETAIL_A4_COLUMNS else 8)
    ws.set_print_scale(DETAIL_PRINT_SCALE)  # also turns "fit to one page wide" off
    ws.repeat_columns(0, 2)
    ws.print_across()


class _UnitRows:
    """The rows of a per-unit sheet, made when asked for (the value table holds the numbers)."""

    def __init__(self, result: MergeResult, indicators: list):
        self.result = result
        self.ids = [ind.id for ind in indicators]

    def __len__(self) -> int:
        return len(self.result.records)

    def __iter__(self):
        # The numbers taken from the table as the rows are written, not kept: every form's at once would
        # copy the whole table while the workbook is finished.
        block = self.result.frame.block(self.ids) if len(self.result.frame) else None
        info = self.result.unit_info
        for i, rec in enumerate(self.result.records):
            unit = info.get(rec.unit)
            level = self.result.spec.level_name(rec.level) if rec.level else ""
            head = [i + 1, rec.unit, unit.name if unit else rec.unit, level]
            yield head + [None if v != v else v for v in block[i].tolist()]


def _write_total(ws, row: int, col: int, total, ind, fmt: _Formats) -> None:
    if total.how == "flag":
        if total.answered:
            ws.write_string(row, col, f"{total.value}/{total.answered}", fmt.total_text)
        else:
            ws.write_blank(row, col, None, fmt.total_text)
    elif total.how == "choice":
        ws.write_string(row, col, choice_counts(total, ind), fmt.total_text)
    elif total.value is None:
        ws.write_blank(row, col, None, fmt.value(ind.kind, total=True))
    else:
        ws.write_number(row, col, float(total.value), fmt.value(ind.kind, total=True))


# --------------------------------------------------------------------------------------- statuses


def _status_sheet(workbook, fmt: _Formats, result: MergeResult, bulk: BulkRows) -> None:
    ws = workbook.add_worksheet(STATUS_SHEET)
    headers = ("STT", "Mã đơn vị", "Tên đơn vị", "Cấp", "Trạng thái", "Tệp", "Ngày nhận (hoặc lưu)", "Nộp muộn",
               "Số lỗi", "Số cảnh báo", "Ghi chú")
    last = len(headers) - 1
    _title(ws, fmt, f"TÌNH HÌNH NỘP BÁO CÁO {result.period.label.upper()}", _subtitle(result), last)
    lines = _status_summary(result) + list(result.notes)
    row = 2
    for line in lines:
        ws.merge_range(row, 0, row, last, line, fmt.wrap)
        ws.set_row(row, row_height(text_lines(line, 150)))
        row += 1
    row += 1
    rows = _Lazy(len(result.units), lambda: (
        (i, u.unit.code, u.unit.name, result.spec.level_name(u.unit.level), u.label,
         "\n".join(Path(p).name for p in u.files), _local(u.received), "Muộn" if u.late else "", u.errors,
         u.warnings, u.reason) for i, u in enumerate(result.units, 1)))
    formats = [fmt.center, fmt.plain, fmt.cell, fmt.plain, fmt.plain, fmt.cell, fmt.date, fmt.plain,
               fmt.integer, fmt.integer, fmt.cell]
    _long_table(ws, fmt, bulk, row, headers, (5, 11, 30, 14, 16, 40, 17, 10, 8, 10, 40), formats, rows,
                wrap=(2, 5, 10), freeze=3,
                colours={4: {"Đã tổng hợp": "ok", "Có lỗi": "bad", "Chưa nộp": "warn"}, 7: {"Muộn": "warn"}})


def _status_summary(result: MergeResult) -> list[str]:
    counts = {s: len(result.units_with(s, below=True)) for s in ("merged", "errors", "missing")}
    expected = f"{result.expected} đơn vị phải báo cáo; " if result.expected is not None else ""
    by_file = {}
    for f in result.files:
        by_file[f.label] = by_file.get(f.label, 0) + 1
    files = "; ".join(f"{n} {label.lower()}" for label, n in by_file.items())
    lines = [
        f"{expected}{counts['merged']} đã tổng hợp, {counts['errors']} có lỗi, {counts['missing']} chưa nộp; "
        f"{len(result.late_units)} nộp muộn (hạn {vn_date(result.period.deadline(result.spec.deadline_day))}).",
        f"{len(result.files)} tệp đã nhận: {files or 'không có tệp nào'}.",
    ]
    if result.root is not None:
        lines.append(_own_line(result))
    return lines


def _own_line(result: MergeResult) -> str:
    """What became of the merged unit's own return (its own rows, `--own`)."""
    own = result.own_status
    name = result.root.name if result.root is not None else ""
    if own is None:
        return (f"Chưa có báo cáo riêng của {name} (các chỉ tiêu của cấp mình): ghép vào bằng --own TỆP, hoặc "
                "nhập ở các biểu mẫu; xem trang Thông tin chung.")
    return f"Báo cáo riêng của {name}: {own.label.lower()}" + (f" ({own.reason})." if own.reason else ".")


def _files_sheet(workbook, fmt: _Formats, result: MergeResult, bulk: BulkRows) -> None:
    ws = workbook.add_worksheet(FILES_SHEET)
    headers = ("STT", "Tệp", "Mã đơn vị", "Tên đơn vị", "Kỳ báo cáo", "Trạng thái", "Lý do", "Lưu lúc",
               "Ngày nhận", "Nộp muộn", "Số lỗi", "Số cảnh báo")
    last = len(headers) - 1
    _title(ws, fmt, "CÁC TỆP ĐÃ NHẬN", _subtitle(result), last)
    rows = _Lazy(len(result.files), lambda: (
        (i, f.path.name, f.unit or "", f.unit_name, f.period or "", f.label, f.reason, _local(f.saved_at),
         _local(f.received), "Muộn" if f.late else "", f.errors, f.warnings) for i, f in enumerate(result.files, 1)))
    formats = [fmt.center, fmt.cell, fmt.plain, fmt.cell, fmt.plain, fmt.cell, fmt.cell, fmt.date, fmt.date,
               fmt.plain, fmt.integer, fmt.integer]
    colours = {label: "warn" for label in FILE_STATUS_LABELS.values()}
    colours.update({FILE_STATUS_LABELS["merged"]: "ok", FILE_STATUS_LABELS["errors"]: "bad",
                    FILE_STATUS_LABELS["unreadable"]: "bad"})
    _long_table(ws, fmt, bulk, 3, headers, (5, 40, 11, 26, 10, 16, 40, 17, 17, 10, 8, 10), formats, rows,
                wrap=(1, 3, 5, 6), freeze=2, colours={5: colours, 9: {"Muộn": "warn"}})


def _findings_sheet(workbook, fmt: _Formats, result: MergeResult, bulk: BulkRows) -> None:
    ws = workbook.add_worksheet(FINDINGS_SHEET)
    headers = ("STT", "Tệp", "Mã đơn vị", "Tên đơn vị", "Mức độ", "Vị trí", "Chỉ tiêu", "Mã quy tắc", "Nội dung")
    last = len(headers) - 1
    shown = len(result.findings)
    note = f"{result.findings_total} phát hiện trong {len(result.files)} tệp"
    if result.findings_total > shown:
        note += f"; chỉ ghi {shown} dòng đầu"
    _title(ws, fmt, "KẾT QUẢ KIỂM TRA CÁC TỆP", note, last)
    formats = [fmt.center, fmt.cell, fmt.plain, fmt.cell, fmt.plain, fmt.plain, fmt.cell, fmt.plain, fmt.cell]
    _long_table(ws, fmt, bulk, 3, headers, (6, 34, 11, 22, 10, 17, 36, 14, 64), formats,
                _FindingRows(result.findings, result.spec), wrap=(1, 3, 6, 8), freeze=2,
                colours={4: {SEVERITY_LABELS["error"]: "bad", SEVERITY_LABELS["warning"]: "warn"}})
    # The rule's id is for whoever compares with the JSON summary: kept, hidden, not printed.
    ws.set_column(7, 7, 14, None, {"hidden": True})


def _long_table(ws, fmt: _Formats, bulk: BulkRows, head: int, headers, widths, formats, rows, *, wrap,
                freeze: int, colours: dict) -> None:
    """A table from row `head`: bold headers, one row per item (`bulk`, rows as high as the text of the
    `wrap` columns needs), status cells coloured (`colours`: column -> {text: colour}), an autofilter,
    the header and the first `freeze` columns frozen, print-ready."""
    for col, text in enumerate(headers):
        ws.write_string(head, col, text, fmt.header)
    ws.set_row(head, row_height(2))
    end = bulk.write(ws, head + 1, rows, formats, wrap={col: widths[col] for col in wrap})
    for col, texts in colours.items():
        _colour(ws, fmt, head + 1, end - 1, col, texts)
    ws.autofilter(head, 0, max(end - 1, head + 1), len(headers) - 1)
    ws.freeze_panes(head + 1, freeze)
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    _print_setup(ws, head + 1)


class _Lazy:
    """A sized iterable of `n` rows that `make()` makes anew each time it is iterated (`BulkRows` iterates
    twice), so that no long table is held whole while the workbook is finished."""

    def __init__(self, n: int, make):
        self.n, self.make = n, make

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        return self.make()


class _FindingRows:
    """The rows of the `Kiểm tra` sheet, made when asked for."""

    def __init__(self, findings: list, spec):
        self.findings = findings
        self.spec = spec

    def __len__(self) -> int:
        return len(self.findings)

    def __iter__(self):
        for i, finding in enumerate(self.findings, 1):
            issue = finding.issue
            ind = self.spec.indicators.get(issue.indicator) if issue.indicator else None
            where = issue.place
            yield (i, finding.path.name, finding.unit or "", finding.unit_name, SEVERITY_LABELS[issue.severity],
                   where, f"{ind.code}. {ind.label}" if ind else issue.indicator or "", issue.rule, issue.shown_message)


def _colour(ws, fmt: _Formats, first: int, last: int, col: int, colours: dict) -> None:
    """Colour a column's cells by their text (conditional formats: one style per column for bulk rows)."""
    if last < first:
        return
    dxf = {"ok": fmt.s.cf_ok, "bad": fmt.s.cf_error, "warn": fmt.s.cf_warning}
    for text, colour in colours.items():
        ws.conditional_format(first, col, last, col, {"type": "cell", "criteria": "==",
                                                      "value": '"' + text.replace('"', '""') + '"',
                                                      "format": dxf[colour]})
