"""The plan of a feedback workbook: which template (level, unit, period) the unit gets back, the values
carried into it, the findings of the `Lỗi cần sửa` table and the comments on value cells, all worked out
from a `FileReport` (see `feedback.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cchc_excel.check.report import SEVERITY_LABELS, SEVERITY_RANK, FileReport
from cchc_excel.check.returned import values_digest, wrong_period_text
from cchc_excel.check.rules import format_number, indicator_label
from cchc_excel.core.kinds import PERCENT_KINDS
from cchc_excel.core.periods import Period, parse_period
from cchc_excel.core.roster import Unit
from cchc_excel.read.layout import form_in_sheet_name, form_in_title
from cchc_excel.spec.loader import load_spec
from cchc_excel.spec.model import FormSpec
from cchc_excel.template.forms import layout

MAX_COMMENT = 4000  # characters; Excel allows more, nobody reads more


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
class Plan:
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
    digest: str = ""  # `returned.values_digest` of the values and notes carried


def make_plan(fr: FileReport) -> Plan:
    """What the feedback workbook of `fr` shows: its template (level, unit, period), values, findings."""
    spec = _spec_of(fr)
    unit, period, level, values, texts, notes, reported, saved_at = _returned(fr, spec)
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
    if fr.other_period:  # never another period's numbers under this period's title: a blank template
        values, texts, notes = {}, {}, {}
        remarks.append(_wrong_period(fr, period))

    carried, dropped = _carried(spec, values, texts, reported)
    if fr.other_period:
        findings = [Finding("error", None, "", "", "", "", _wrong_period(fr, period))]
    else:
        findings = _findings(fr, spec, reported, dropped, level)
    comments = _comments(spec, findings, reported)
    notes = {k: v for k, v in notes.items() if k in spec.indicators}
    return Plan(
        spec=spec, level=level, reported_levels=reported, merged_units=fr.merged_units, unit=unit,
        period=period, values=carried, notes=notes,
        comments=comments, findings=tuple(findings), remarks=tuple(remarks),
        source=str(absolute(Path(fr.path))), saved_at=saved_at, sha256=fr.sha256,
        digest=values_digest(spec, carried, notes),
    )


def _returned(fr: FileReport, spec: FormSpec) -> tuple:
    """(unit, period, level, values, texts, notes, reported levels, saved time) of the returned file, from
    its submission when kept, else from the report (texts and notes are then unknown)."""
    sub = fr.submission
    if sub is not None:
        return (sub.unit, sub.period, sub.level, sub.values, sub.texts, sub.notes,
                sub.reported_levels or fr.reported_levels, sub.saved_at or fr.saved_at)
    unit = Unit(fr.unit["code"], fr.unit.get("name") or fr.unit["code"], fr.unit.get("level") or "") \
        if fr.unit else None
    period = parse_period(fr.period) if fr.period else None
    level = (fr.unit or {}).get("level") or None
    values = {i.id: fr.values.get(i.id) for i in spec.value_indicators if i.is_input}
    return unit, period, level, values, {}, {}, fr.reported_levels, fr.saved_at


def _carried(spec: FormSpec, values: dict, texts: dict, reported: frozenset) -> tuple[dict, dict]:
    """The values carried into the template's rows of the `reported` levels, and those dropped (rows the
    template locks)."""
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
    return carried, dropped


def _wrong_period(fr: FileReport, period: Period | None) -> str:
    stated = parse_period(fr.other_period)
    return wrong_period_text(stated, period) if period is not None else \
        f"Đơn vị gửi nhầm biểu mẫu {stated.label}."


def _spec_of(fr: FileReport) -> FormSpec:
    sub = fr.submission
    if sub is not None and isinstance(sub.spec, FormSpec):
        return sub.spec
    spec_id = sub.spec if sub is not None and isinstance(sub.spec, str) else fr.spec
    return load_spec(spec_id)


def _likely_level(spec: FormSpec, values: dict, texts: dict) -> str:
    """The level with rows of its own with the fewest filled cells outside its rows (those the template
    would grey out and drop); the spec's default level (the commune level) first on a tie."""
    filled = [spec[i] for i in spec.indicators
              if texts.get(i) or (values.get(i) is not None and spec[i].kind != "header")]
    default = spec.default_level
    levels = (default,) + tuple(lv for lv in spec.row_levels if lv != default)
    return min(levels, key=lambda lv: sum(1 for ind in filled if not ind.levels & spec.reported_levels(lv)))


def _findings(fr: FileReport, spec: FormSpec, reported: frozenset, dropped: dict, level: str) -> list:
    cells = layout(spec)
    findings = []
    for issue in sorted(fr.issues, key=lambda i: SEVERITY_RANK[i.severity]):
        ind = spec.indicators.get(issue.indicator)
        text = issue.shown_message
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
        shown = raw if isinstance(raw, str) else format_number(raw, percent=ind.kind in PERCENT_KINDS)
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


def absolute(path: Path) -> Path:
    """`path` made absolute, resolved where it can be."""
    try:
        return path.resolve()
    except OSError:
        return path.absolute()
