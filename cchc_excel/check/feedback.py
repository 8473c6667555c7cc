"""Feedback workbooks: what `cchc check --feedback DIR` sends back to a unit whose return has findings.

A feedback workbook is a fresh template of the unit's level and period (`template.template_bytes`), so the
unit fixes its numbers in a file the tool reads back like any return, with:

- the values the unit typed (`Submission.values` of the input rows, and the text of cells that were not
  numbers, as typed) and its Ghi chú. Ratio rows are the template's formulas again, so a ratio typed over
  its formula is not carried; a value in a row the unit's level does not report is not carried either (the
  template locks that row, the unit could not clear it) and a finding says so;
- a comment on every value cell with an error or a warning (its messages, one per line, each after its
  severity word), the cell highlighted by the template;
- a first sheet `Lỗi cần sửa`: who, which period, which file; what to do; a table of every finding
  (`STT | Mức độ | Biểu mẫu | Ô | Mã chỉ tiêu | Chỉ tiêu | Nội dung`), errors first, the `Ô` a link to the
  cell in this workbook's own layout (the returned file's cell, when it differs, is named in the text).
  Findings about the file as a whole (another period, an unknown unit) are only listed there.

Which files get one: those with an error or a warning. A file with information findings only (how a
value was read) is fine as it is, and an unreadable file has no values and no known unit to send a
template to: neither gets a workbook.

Unknown unit or period: the template leaves them for the unit to type on `Thông tin chung` and the sheet
says so. Unknown level: the level whose rows cover most of the filled cells (the commune level `xa` on a
tie, the most common unit), said likewise.

The returned file is never opened, let alone modified: everything comes from the `FileReport` (and its
`Submission`, when kept). The workbook is `<stem of the returned file>_phan-hoi.xlsx`, written atomically;
it records the returned file's path in a custom property, so a second run over the same files replaces its
own earlier feedback and a different file of the same name gets `_phan-hoi-2.xlsx`.

Layout of `Lỗi cần sửa` (0-based rows): 0 title, 1 unit and period, 2 file, 3 counts, 5-8 what to do,
9 remarks on the template chosen, 11 the table header, data from 12. The reader skips a sheet of this name
(`layout.FEEDBACK_SHEET`) when it looks for forms, unit and period, so a returned feedback workbook reads as
the template it carries.
"""

from __future__ import annotations

import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import count
from pathlib import Path

from cchc_excel.errors import CchcError
from cchc_excel.read.layout import FEEDBACK_SHEET, form_in_sheet_name, form_in_title
from cchc_excel.core.periods import VIETNAM, Period, parse_period
from cchc_excel.check.report import SEVERITIES, SEVERITY_LABELS, SEVERITY_RANK, FileReport, Report
from cchc_excel.core.roster import Unit
from cchc_excel.check.rules import format_number, indicator_label
from cchc_excel.spec.model import REPORTING_LEVELS, FormSpec, load_spec
from cchc_excel.template.forms import layout
from cchc_excel.template.styles import BORDER_COLOR, merged_line, row_height, text_lines
from cchc_excel.core.atomic import write_bytes_atomic
from cchc_excel.ooxml.xmltext import unescape

__all__ = ["FEEDBACK_SHEET", "needs_feedback", "feedback_bytes", "feedback_path", "write_feedback",
           "write_feedbacks"]

SUFFIX = "_phan-hoi"
SOURCE_PROPERTY = "cchc_feedback_source"  # custom property: the returned file's absolute path
SHA256_PROPERTY = "cchc_feedback_sha256"  # and the digest of its bytes as checked
DEFAULT_LEVEL = "xa"
MAX_COMMENT = 4000  # characters; Excel allows more, nobody reads more

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


@dataclass(frozen=True)
class Finding:
    """One line of the `Lỗi cần sửa` table.

    Attributes:
        severity: "error", "warning" or "info".
        form: the form's number, or None for the file as a whole.
        sheet, cell: the value cell in the feedback workbook ("" when the finding has no row).
        indicator: `BM3-3.1.2`, or "".
        label: the row's label, or "".
        text: the message, with the returned file's cell when it differs from `sheet!cell`.
    """

    severity: str
    form: int | None
    sheet: str
    cell: str
    indicator: str
    label: str
    text: str


@dataclass(frozen=True)
class _Plan:
    """Everything the feedback workbook shows, worked out from a `FileReport`."""

    spec: FormSpec
    level: str
    reported_levels: frozenset
    merged_units: int | None
    unit: Unit | None
    period: Period | None
    values: dict
    notes: dict
    comments: dict
    findings: tuple
    remarks: tuple
    source: str
    saved_at: datetime | None
    sha256: str


def needs_feedback(file_report: FileReport) -> bool:
    """Whether a file gets a feedback workbook: it was read, and it has an error or a warning."""
    if file_report.status == "unreadable":
        return False
    return any(issue.severity in ("error", "warning") for issue in file_report.issues)


def feedback_bytes(file_report: FileReport, *, password: str | None = None,
                   generated_at: datetime | None = None) -> bytes | None:
    """The feedback workbook of one checked file as .xlsx bytes, or None when it needs none.

    Args:
        file_report: from `check_file` (its `submission` kept, the default) or `check_paths`
            (`keep_submissions=True`). Without the submission, the values come from the report: texts
            that were not numbers and Ghi chú are then not carried.
        password: the sheets' protection password, as for the templates.
        generated_at: the time recorded in the workbook (default: now).

    Raises:
        CchcError: when the spec the file was read with cannot be loaded.
    """
    if not needs_feedback(file_report):
        return None
    from cchc_excel.template.build import template_bytes  # the writer is heavy: only when writing

    plan = _plan(file_report)
    generated_at = (generated_at or datetime.now(timezone.utc)).replace(microsecond=0)

    def first_sheet(workbook, styles):
        _write_sheet(workbook, styles, plan, generated_at)
        workbook.set_custom_property(SOURCE_PROPERTY, plan.source, "text")
        workbook.set_custom_property(SHA256_PROPERTY, plan.sha256 or "", "text")

    return template_bytes(
        plan.spec, level=plan.level, unit=plan.unit, period=plan.period, password=password,
        values=plan.values, notes=plan.notes, comments=plan.comments, reported_levels=plan.reported_levels,
        merged_units=plan.merged_units, before_sheets=first_sheet, generated_at=generated_at,
    )


def write_feedback(file_report: FileReport, out_dir: str | Path, *, password: str | None = None,
                   generated_at: datetime | None = None) -> Path | None:
    """Write the feedback workbook of one checked file into `out_dir` (created if needed), atomically.

    The returned file itself is never opened or modified.

    Args:
        file_report: the file's report (see `feedback_bytes`).
        out_dir: the folder for feedback workbooks.
        password, generated_at: as for `feedback_bytes`.

    Returns:
        The path written (`feedback_path`), or None when the file needs no feedback (no error and no
        warning, or unreadable).

    Raises:
        CchcError: when the spec cannot be loaded or the folder cannot be written.
    """
    data = feedback_bytes(file_report, password=password, generated_at=generated_at)
    if data is None:
        return None
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        return write_bytes_atomic(feedback_path(file_report, out_dir), data)
    except OSError as e:
        raise CchcError(f"Không ghi được tệp phản hồi vào thư mục {out_dir}: {e.strerror or e}.") from e


def write_feedbacks(report: Report, out_dir: str | Path, *, password: str | None = None,
                    generated_at: datetime | None = None) -> list[Path]:
    """`write_feedback` for every file of `report`; returns the paths written, in the report's order."""
    written = []
    for file_report in report.files:
        path = write_feedback(file_report, out_dir, password=password, generated_at=generated_at)
        if path is not None:
            written.append(path)
    return written


def feedback_path(file_report: FileReport, out_dir: str | Path) -> Path:
    """Where the feedback of `file_report` goes: `<stem>_phan-hoi.xlsx` in `out_dir`.

    A file already there is replaced only when it is this tool's feedback on the same returned file (an
    earlier run); otherwise `<stem>_phan-hoi-2.xlsx`, `-3`, ... The returned file is never the target.
    """
    source = Path(file_report.path)
    stem = _fit_name(source.stem or "bao-cao")
    wanted = str(_absolute(source))
    out_dir = Path(out_dir)
    for n in count(1):
        target = out_dir / f"{stem}{SUFFIX}{'' if n == 1 else f'-{n}'}.xlsx"
        if not os.path.lexists(target):
            return target
        if _same_file(target, source):
            continue
        if target.is_file() and _recorded_source(target) == wanted:
            return target
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------------------------- the plan

def _plan(fr: FileReport) -> _Plan:
    sub = fr.submission
    spec = _spec_of(fr)
    if sub is not None:
        unit, period, level = sub.unit, sub.period, sub.level
        values, texts, notes = sub.values, sub.texts, sub.notes
        reported = sub.reported_levels or fr.reported_levels
        saved_at = sub.saved_at or fr.saved_at
    else:
        unit = Unit(fr.unit["code"], fr.unit.get("name") or fr.unit["code"], fr.unit.get("level") or "") \
            if fr.unit else None
        period = parse_period(fr.period) if fr.period else None
        level = (fr.unit or {}).get("level") or None
        values = {i.id: fr.values.get(i.id) for i in spec.value_indicators if i.is_input}
        texts, notes = {}, {}
        reported = fr.reported_levels
        saved_at = fr.saved_at

    remarks = []
    if unit is None:
        remarks.append("Chưa xác định được đơn vị gửi báo cáo: hãy ghi tên và mã đơn vị ở trang “Thông tin chung”.")
    if period is None:
        remarks.append("Chưa xác định được kỳ báo cáo: hãy ghi kỳ báo cáo ở trang “Thông tin chung”.")
    if unit is not None and unit.level in spec.levels and level and unit.level != level \
            and any(issue.rule == "other-level" for issue in fr.issues):
        # the unit filled the template of another level: send it its own
        remarks.append(f"Tệp gửi về là mẫu dành cho {spec.level_name(level)}; tệp này là mẫu đúng của "
                       f"{spec.level_name(unit.level)}.")
        level, reported = unit.level, spec.reported_levels(unit.level)
    if level not in spec.levels:
        level = _likely_level(spec, values, texts)
        reported = spec.reported_levels(level)
        remarks.append(f"Chưa xác định được cấp của đơn vị: tệp này dùng mẫu của {spec.level_name(level)}, "
                       "cấp có các dòng khớp nhất với số liệu đã ghi.")
    reported = frozenset(reported) if reported else spec.reported_levels(level)

    carried, dropped = {}, {}
    for ind in spec.value_indicators:
        raw = texts.get(ind.id)
        if not raw:
            raw = values.get(ind.id)
        if raw is None or raw == "":
            continue
        concerned = bool(ind.levels & reported)
        if not concerned:
            dropped[ind.id] = raw
        elif ind.kind != "ratio":  # a ratio row is the template's formula again
            carried[ind.id] = raw

    findings = _findings(fr, spec, reported, dropped, level)
    comments = _comments(spec, findings, reported)
    return _Plan(
        spec=spec, level=level, reported_levels=reported, merged_units=fr.merged_units, unit=unit,
        period=period, values=carried, notes={k: v for k, v in notes.items() if k in spec.indicators},
        comments=comments, findings=tuple(findings), remarks=tuple(remarks),
        source=str(_absolute(Path(fr.path))), saved_at=saved_at, sha256=fr.sha256,
    )


def _spec_of(fr: FileReport) -> FormSpec:
    sub = fr.submission
    if sub is not None and isinstance(sub.spec, FormSpec):
        return sub.spec
    spec_id = sub.spec if sub is not None and isinstance(sub.spec, str) else fr.spec
    return load_spec(spec_id)


def _likely_level(spec: FormSpec, values: dict, texts: dict) -> str:
    """The reporting level with the fewest filled cells outside its own rows (those the template would
    grey out and drop); `xa` first on a tie."""
    filled = [spec[i] for i in spec.indicators
              if texts.get(i) or (values.get(i) is not None and spec[i].kind != "header")]
    order = (DEFAULT_LEVEL,) + tuple(lv for lv in REPORTING_LEVELS if lv != DEFAULT_LEVEL)
    levels = [lv for lv in order if lv in spec.levels] or [DEFAULT_LEVEL]
    return min(levels, key=lambda lv: sum(1 for ind in filled if not ind.levels & spec.reported_levels(lv)))


def _findings(fr: FileReport, spec: FormSpec, reported: frozenset, dropped: dict, level: str) -> list:
    cells = layout(spec)
    findings = []
    for issue in sorted(fr.issues, key=lambda i: SEVERITY_RANK[i.severity]):
        ind = spec.indicators.get(issue.indicator)
        text = issue.message
        if ind is not None:
            sheet, row = cells[ind.id]
            cell = f"D{row + 1}"
            form, label = ind.form, indicator_label(spec, ind)
        else:
            sheet = cell = label = ""
            # the form of a row-level finding without a row: its sheet's name or the message's "Biểu mẫu 3: ..."
            form = (form_in_sheet_name(issue.sheet) if issue.sheet else None) or form_in_title(issue.message)
        if issue.cell and (issue.sheet, issue.cell) != (sheet, cell):
            text += f" (Trong tệp đã gửi: {issue.location}.)"
        elif issue.sheet and not issue.cell and ind is None and issue.sheet not in text:
            text += f" (Trong tệp đã gửi: trang tính {issue.sheet}.)"
        findings.append(Finding(issue.severity, form, sheet, cell, ind.id if ind else "", label, text))

    level_name = spec.level_name(level)
    for ind_id, raw in dropped.items():
        ind = spec[ind_id]
        shown = raw if isinstance(raw, str) else format_number(raw, percent=ind.kind in ("ratio", "rate"))
        note = (f"Số liệu đã ghi ({shown}) không được chép sang tệp này vì dòng này không thuộc báo cáo của "
                f"{level_name}.")
        for i, f in enumerate(findings):
            if f.indicator == ind_id:
                findings[i] = Finding(f.severity, f.form, f.sheet, f.cell, f.indicator, f.label,
                                      f"{f.text} Trong tệp này ô đã được để trống (dòng bị khóa).")
                break
        else:
            sheet, row = cells[ind_id]
            findings.append(Finding("info", ind.form, sheet, f"D{row + 1}", ind_id, indicator_label(spec, ind), note))
    return findings


def _comments(spec: FormSpec, findings: list, reported: frozenset) -> dict:
    """Indicator id -> comment text, for the rows with an error or a warning (their notes too)."""
    faulty = {f.indicator for f in findings if f.indicator and f.severity in ("error", "warning")}
    lines: dict = {}
    for f in findings:
        if f.indicator in faulty:
            lines.setdefault(f.indicator, []).append(f"{SEVERITY_LABELS[f.severity]}: {f.text}")
    comments = {}
    for ind_id, texts in lines.items():
        ind = spec[ind_id]
        if ind.kind == "ratio" and ind.levels & reported:
            texts.append("Ô này nay được tính tự động từ tử số và mẫu số: hãy kiểm tra hai dòng đó.")
        text = "\n".join(texts)
        comments[ind_id] = text if len(text) <= MAX_COMMENT else text[:MAX_COMMENT - 1] + "…"
    return comments


# --------------------------------------------------------------------------------------------- the sheet

def _write_sheet(workbook, styles, plan: _Plan, generated_at: datetime) -> None:
    ws = workbook.add_worksheet(FEEDBACK_SHEET)
    for col, (_, width) in enumerate(COLUMNS):
        ws.set_column(col, col, width)
    s = styles
    border = {"border": 1, "border_color": BORDER_COLOR, "valign": "vcenter", "text_wrap": True}
    fmt = {
        "title": s.fmt(bold=True, font_size=14, align="center", valign="vcenter", text_wrap=True),
        "line": s.fmt(valign="vcenter", text_wrap=True),
        "bold": s.fmt(bold=True, valign="vcenter", text_wrap=True),
        "remark": s.fmt(italic=True, valign="vcenter", text_wrap=True, font_color="#843C0C"),
        "header": s.fmt(bold=True, align="center", bg_color="#F2F2F2", **border),
        "cell": s.fmt(**border),
        "center": s.fmt(align="center", **border),
        "link": s.fmt(align="center", font_color="#0563C1", underline=1, **border),
        "error": s.fmt(align="center", bold=True, bg_color="#FF9999", font_color="#9C0006", **border),
        "warning": s.fmt(align="center", bold=True, bg_color="#F4B183", font_color="#843C0C", **border),
        "info": s.fmt(align="center", **border),
    }

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

    for col, (title, _) in enumerate(COLUMNS):
        ws.write_string(TABLE_ROW, col, title, fmt["header"])
    ws.set_row(TABLE_ROW, row_height(1))
    row = TABLE_ROW
    for n, f in enumerate(plan.findings, 1):
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

    # Print: A4 landscape, one page wide, the table header on every page.
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.center_horizontally()
    ws.set_margins(left=0.5, right=0.4, top=0.6, bottom=0.6)
    ws.repeat_rows(TABLE_ROW)
    ws.print_area(0, 0, row, LAST_COL)
    ws.set_footer('&L&"Times New Roman,Italic"&9&A&R&"Times New Roman,Regular"&9Trang &P/&N')
    ws.activate()


def _unit_text(unit: Unit | None) -> str:
    if unit is None:
        return "chưa xác định"
    if unit.name and unit.code and unit.name != unit.code:
        return f"{unit.name} (mã {unit.code})"
    return unit.name or unit.code


def _file_text(plan: _Plan, generated_at: datetime) -> str:
    text = f"Tệp đã kiểm tra: {Path(plan.source).name}"
    if plan.saved_at is not None:
        text += f" (lưu lúc {_local(plan.saved_at):%H:%M ngày %d/%m/%Y})"
    return text + f"; kiểm tra ngày {_local(generated_at):%d/%m/%Y}."


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(VIETNAM)


def _quote(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# --------------------------------------------------------------------------------------------- file names

def _absolute(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path.absolute()


def _fit_name(stem: str, limit: int = 230) -> str:
    """The stem, shortened so that the file name stays within the 255 bytes file systems allow."""
    while len(stem.encode("utf-8")) > limit:
        stem = stem[:-1]
    return stem


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


_PROPERTY_RE = re.compile(r'<property\b[^>]*\bname="' + re.escape(SOURCE_PROPERTY)
                          + r'"[^>]*>\s*<vt:lpwstr>([^<]*)</vt:lpwstr>')


def _recorded_source(path: Path) -> str | None:
    """The returned file a feedback workbook was made from (its custom property), or None when `path` is
    not one of ours (or not a readable .xlsx)."""
    try:
        with zipfile.ZipFile(path) as z:
            info = z.getinfo("docProps/custom.xml")
            if info.file_size > 1 << 20:
                return None
            xml = z.read(info).decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile, RuntimeError, ValueError):
        return None
    m = _PROPERTY_RE.search(xml)
    return unescape(m.group(1)) if m else None
