"""What a checked file stands for, beyond its findings: a return of another period than the one asked (an
error for that period), a blank template sent back (`empty`), or a feedback workbook of ours sent back
without a change (`feedback_unchanged`); and which files a later clean return of the same unit supersedes.

A feedback workbook records in its metadata (`template.metadata.FEEDBACK_KEYS`) the sha256 of the file it
answers and `values_digest` of the values and notes it carried. Read back, the same digest means the unit
changed nothing: its saved time never decides.
"""

from __future__ import annotations

import hashlib
import json
import os
import unicodedata
from datetime import datetime, timezone

from cchc_excel.check.report import FileReport, Issue
from cchc_excel.core.periods import Period
from cchc_excel.read.archive import outer_file
from cchc_excel.spec.model import FormSpec

EMPTY_RULE = "empty"
FEEDBACK_RULE = "feedback-unchanged"
PERIOD_RULE = "other-period"


def wrong_period_text(stated: Period, asked: Period) -> str:
    """What the unit is told when it sent the file of another period."""
    return f"Đơn vị gửi nhầm biểu mẫu {stated.label}; hãy điền số liệu {asked.label} vào biểu mẫu này."


def standing(sub, issues: list) -> tuple[list, str | None]:
    """The findings of a read `Submission` with those about what the file is, and the status that this
    decides (`empty`, `feedback_unchanged`), or None when its findings decide."""
    issues = _period_error(sub, issues)
    # forms found and no number in them; a cell in error (`#DIV/0!` read as blank) is something to fix
    if sub.cells and not _entered(sub.spec, sub.values, sub.texts) and \
            not any(i.severity == "error" and i.cell for i in issues):
        when = f" {sub.period.label}" if sub.period else ""
        return issues + [Issue("warning", EMPTY_RULE, message=(
            f"Chưa nhập số liệu: các Biểu mẫu của tệp không có số liệu nào (biểu mẫu trống gửi lại?); hãy "
            f"điền số liệu{when} rồi gửi lại."))], "empty"
    meta = sub.template or {}
    if meta.get("feedback_values") and \
            values_digest(sub.spec, _entered(sub.spec, sub.values, sub.texts, sub.reported_levels),
                          sub.notes) == meta["feedback_values"]:
        return issues + [Issue("info", FEEDBACK_RULE, message=(
            "Đơn vị gửi lại tệp phản hồi mà chưa sửa số liệu hay ghi chú nào: tệp này không phải báo cáo mới "
            "và không được tổng hợp; hãy sửa các ô được tô màu theo phản hồi rồi gửi lại."))], "feedback_unchanged"
    return issues, None


def other_period(sub) -> str | None:
    """The period the file itself is of (`2023-Q1`) when another was asked for, else None."""
    if sub.stated_period is not None and sub.period is not None and sub.stated_period != sub.period:
        return str(sub.stated_period)
    return None


def _period_error(sub, issues: list) -> list:
    """The reader's warning about a file of another period than the one asked, made an error: its numbers
    are not those of the period asked."""
    if other_period(sub) is None:
        return issues
    stated, asked = sub.stated_period, sub.period
    error = Issue("error", PERIOD_RULE, message=(
        f"Tệp này là báo cáo {stated.label}, không phải {asked.label}: đơn vị gửi nhầm biểu mẫu; số liệu "
        f"của tệp không được dùng cho {asked.label}."))
    return [error] + [i for i in issues if i.rule != PERIOD_RULE]


def _entered(spec: FormSpec, values: dict, texts: dict, reported=None) -> dict:
    """Indicator id -> what the unit entered (the text of a cell that is no number, else the number) in
    the input rows (of the `reported` levels, when given)."""
    out = {}
    for ind in spec.value_indicators:
        if not ind.is_input or (reported and not ind.levels & reported):
            continue
        raw = texts.get(ind.id) or values.get(ind.id)
        if raw is not None and raw != "":
            out[ind.id] = raw
    return out


def values_digest(spec: FormSpec, values: dict, notes: dict) -> str:
    """sha256 of the values (indicator id -> number or text, blanks left out) and notes, in a canonical
    form: numbers as the reader gives them back (30.0 is 30), texts NFC and stripped."""
    def canon(value):
        if isinstance(value, str):
            return unicodedata.normalize("NFC", value).strip()
        number = float(value)
        return int(number) if number.is_integer() else round(number, 9)

    data = {
        "values": sorted((k, canon(v)) for k, v in values.items() if k in spec.indicators
                         and v is not None and canon(v) != ""),
        "notes": sorted((k, canon(v)) for k, v in notes.items() if k in spec.indicators and canon(v or "")),
    }
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------- superseded

def superseded_by_clean(files: list[FileReport]) -> set[str]:
    """Paths of the files for which a later return (saved later, else written later) of the same unit and
    period came back without errors: their feedback is not needed."""
    floor = datetime.min.replace(tzinfo=timezone.utc)
    groups: dict = {}
    for f in files:
        if f.unit and f.unit.get("code") and f.period and f.status != "unreadable":
            groups.setdefault((f.unit["code"], f.period), []).append((_time(f) or floor, f))
    out = set()
    for group in groups.values():
        clean = [t for t, f in group if f.status in ("ok", "warnings")]
        if clean:
            latest = max(clean)
            out.update(f.path for t, f in group if t < latest)
    return out


def _time(f: FileReport) -> datetime | None:
    if f.saved_at is not None:
        return f.saved_at if f.saved_at.tzinfo else f.saved_at.replace(tzinfo=timezone.utc)
    try:
        return datetime.fromtimestamp(os.stat(outer_file(f.path)).st_mtime, timezone.utc)
    except OSError:
        return None
