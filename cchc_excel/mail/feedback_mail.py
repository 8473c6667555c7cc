"""`send_feedback`: each unit its feedback workbook (`cchc check --feedback DIR`), with a message naming what
to fix and the new deadline, through the outbox and send log of `distribute` (the log
`da-gui-phan-hoi.csv`, keyed per workbook: a workbook is sent once, a new one for a new return goes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Iterable

from cchc_excel.core.periods import Period, parse_period
from cchc_excel.core.roster import Roster, Unit
from cchc_excel.core.text import vn_date
from cchc_excel.mail.distribute import (NoEmail, check_settings, parse_recipients, queue, send_round,
                                        sending_unit_name, start_round)
from cchc_excel.mail.message import official_name
from cchc_excel.mail.remind import FEEDBACK_LEDGER, GRACE_DAYS, MAX_LISTED, closing
from cchc_excel.mail.outbox import DraftWriter, drafting
from cchc_excel.mail.skeleton import MessageCopies
from cchc_excel.mail.smtp import SmtpSettings
from cchc_excel.spec.loader import load_spec
from cchc_excel.spec.model import FormSpec


@dataclass(frozen=True)
class Feedback:
    """A feedback workbook found in a folder: whose, which period, from which returned file, what to fix
    (the rows of its `Lỗi cần sửa` sheet: severity word, form number, cell, row id, text)."""

    path: Path
    unit: str | None
    period: str | None
    source: str
    findings: tuple


def find_feedback(folder: str | Path, spec: FormSpec, roster: Roster | None = None) -> list[Feedback]:
    """The feedback workbooks under `folder` (ours, by their custom property), sorted by name."""
    from cchc_excel.check.feedback import recorded_source
    from cchc_excel.check.run import check_file

    out = []
    for path in sorted(Path(folder).rglob("*.xlsx")):
        source = recorded_source(path)
        if source is None:
            continue
        rep = check_file(path, spec, roster=roster, keep_submission=False)
        out.append(Feedback(path, (rep.unit or {}).get("code"), rep.period, Path(source).name, _findings(path)))
    return out


def _findings(path: Path) -> tuple:
    from python_calamine import CalamineWorkbook

    from cchc_excel.check.feedback_sheet import COL_CELL, COL_FORM, COL_ID, COL_SEVERITY, COL_TEXT, TABLE_ROW
    from cchc_excel.read.layout import FEEDBACK_SHEET

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(FEEDBACK_SHEET).to_python()
    out = []
    for row in rows[TABLE_ROW + 1:]:
        row = list(row) + [""] * 7
        if str(row[COL_TEXT]).strip():
            form = row[COL_FORM]
            out.append((str(row[COL_SEVERITY]), int(form) if isinstance(form, float) else None,
                        str(row[COL_CELL]), str(row[COL_ID]), str(row[COL_TEXT]).strip()))
    return tuple(out)


def feedback_body(unit: Unit, period: Period, deadline: date, fb: Feedback, *, contact: str | None = None,
                  from_unit: str = "") -> str:
    """The Vietnamese text of the message that carries a feedback workbook: what to fix, by when."""
    errors = sum(1 for f in fb.findings if f[0] == "Lỗi")
    warnings = sum(1 for f in fb.findings if f[0] == "Cảnh báo")
    counts = ", ".join(p for p in (f"{errors} lỗi cần sửa" if errors else "",
                                   f"{warnings} cảnh báo cần xem lại" if warnings else "") if p)
    lines = [f"Kính gửi: {official_name(unit.name)}.", "",
             f"Báo cáo số liệu thống kê cải cách hành chính (CCHC) {period.label} đơn vị đã gửi (tệp "
             f"{fb.source}) có {counts or 'điểm cần xem lại'}:"]
    for severity, form, cell, indicator, text in fb.findings[:MAX_LISTED]:
        where = ", ".join(p for p in (f"Biểu mẫu {form}" if form else "", f"ô {cell}" if cell else "",
                                      indicator) if p)
        lines.append(f"- {severity}{' (' + where + ')' if where else ''}: {text}")
    if len(fb.findings) > MAX_LISTED:
        lines.append(f"- và {len(fb.findings) - MAX_LISTED} điểm khác (xem trang “Lỗi cần sửa” của tệp gửi kèm).")
    lines += ["", f"Tệp gửi kèm ({fb.path.name}) là biểu mẫu đã chép sẵn số liệu đơn vị đã gửi: các ô cần sửa "
                  "được tô màu và có ghi chú, trang “Lỗi cần sửa” liệt kê từng điểm. Đề nghị đơn vị sửa các ô "
                  f"đó và gửi lại chậm nhất ngày {vn_date(deadline)} bằng cách trả lời thư này, đính kèm tệp "
                  "đã sửa."]
    return "\n".join(lines + closing(contact, from_unit)) + "\n"


def send_feedback(roster: Roster, period: Period | str, folder: str | Path, outbox: Path, spec=None, *,
                  sender: str | None = None, deadline: date | None = None, contact: str | None = None,
                  smtp: SmtpSettings | None = None, resend: Iterable[str] = (),
                  today: date | None = None):
    """Draft (and with `smtp` send) to each unit the feedback workbooks of `period` in `folder`; the new
    deadline is `deadline` (default: GRACE_DAYS from today). A workbook already sent (by the log
    `da-gui-phan-hoi.csv`) is not sent again unless its unit is in `resend`. A workbook of a unit not in
    the roster, or of another period, is a warning of the result.

    Returns:
        A `DistributeResult`.
    """
    spec = spec if isinstance(spec, FormSpec) else load_spec(spec)
    period = parse_period(period)
    resend = list(dict.fromkeys(resend))
    check_settings(sender, smtp, resend)
    today = today or date.today()
    result, ledger = start_round(period, outbox, spec, deadline=deadline or today + timedelta(days=GRACE_DAYS),
                                 smtp=smtp, today=today, ledger=FEEDBACK_LEDGER, per_message=True)
    built = []
    messages = MessageCopies(period, sender=sender, draft=smtp is None, kind="phan-hoi")
    with drafting(result.outbox) as writer:
        for fb in find_feedback(folder, spec, roster):
            unit = roster.get(fb.unit) if fb.unit else None
            if unit is None or fb.period != period.code:
                why = "đơn vị không có trong danh sách" if unit is None else f"kỳ {fb.period or 'không rõ'}"
                result.warnings.append(f"{fb.path.name}: không gửi ({why}).")
                continue
            if resend and unit.code not in resend:
                continue
            item = _one(result, roster, unit, fb, messages, writer, sender, contact, resend, ledger)
            if item is not None:
                built.append(item)
    send_round(result, built, smtp, sender, resend, ledger)
    return result


def _one(result, roster: Roster, unit: Unit, fb: Feedback, messages: MessageCopies, writer: DraftWriter,
         sender, contact, resend, ledger):
    """The (Draft, bytes) of one workbook, or None when it goes to `no_email` or `already_sent`."""
    to, bad = parse_recipients(unit.email)
    eml = result.outbox / (fb.path.stem + ".eml")
    if not to:
        reason = ("email không hợp lệ: " + ", ".join(bad)) if bad else "chưa có email trong danh sách"
        result.no_email.append(NoEmail(unit.code, unit.name, reason, fb.path))
        return None
    before = result.sent_before(ledger, unit.code, eml.name)
    if before is not None and unit.code not in resend:
        result.already_sent.append(before)
        return None
    from_unit = sending_unit_name(roster, unit, sender)
    period = messages.period
    body = feedback_body(unit, period, result.deadline, fb, contact=contact or sender, from_unit=from_unit)
    subject = (f"[CCHC] Đề nghị sửa báo cáo thống kê CCHC {period.label} – {official_name(unit.name)} – "
               f"hạn gửi lại {vn_date(result.deadline)}")
    msg = messages.compose(unit, fb.path, to=to, subject=subject, body=body)
    return queue(result, unit, to, msg, eml, fb.path, writer)
