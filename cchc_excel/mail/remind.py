"""Reminders and feedback by email, through the same outbox, message building and send log as
`distribute` (each kind of message its own log in the outbox, so that nothing is sent twice).

- `remind`: to each unit still missing for the period (the caller says which: the merge's `missing` of a
  folder of returns, or of a workspace), a reminder with its template attached again and the deadline;
  once per unit and period.
- `send_feedback`: to each unit, the feedback workbook `cchc check --feedback` wrote for its return, with a
  message naming what to fix and the new deadline; once per feedback workbook.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Iterable

from cchc_excel.core.periods import Period, parse_period
from cchc_excel.core.roster import Roster, Unit
from cchc_excel.core.text import vn_date
from cchc_excel.errors import CchcError
from cchc_excel.mail.distribute import (DistributeResult, check_settings, eml_name, queue, send_round,
                                        sending_unit_name, sent_ok, sort_units, start_round, template_or_problem,
                                        template_writer, templates_for_no_email)
from cchc_excel.mail.message import official_name, signature
from cchc_excel.mail.outbox import drafting
from cchc_excel.mail.skeleton import MessageCopies
from cchc_excel.mail.smtp import SmtpSettings
from cchc_excel.spec.loader import load_spec
from cchc_excel.spec.model import FormSpec

REMIND_LEDGER = "da-gui-nhac-nop.csv"
FEEDBACK_LEDGER = "da-gui-phan-hoi.csv"
GRACE_DAYS = 5  # the new deadline of a feedback, when none is given: this many days from today
MAX_LISTED = 20  # findings named in a feedback message; the workbook lists them all


def closing(contact: str | None, from_unit: str) -> list[str]:
    return ["", f"Mọi vướng mắc xin liên hệ: {contact}." if contact else "Mọi vướng mắc xin trả lời thư này.",
            "", "Trân trọng.", *signature(from_unit, contact)]


def reminder_body(unit: Unit, period: Period, deadline: date, filename: str, *, contact: str | None = None,
                  from_unit: str = "", due: date | None = None) -> str:
    """The Vietnamese text of a reminder to a unit that has not sent its return; `due` the period's
    deadline when it is not `deadline` (the new one)."""
    was = f" (hạn gửi {vn_date(due)})" if due and due != deadline else ""
    lines = [f"Kính gửi: {official_name(unit.name)}.", "",
             f"Đến nay đơn vị chưa gửi báo cáo số liệu thống kê cải cách hành chính (CCHC) {period.label}{was}.",
             f"Đề nghị đơn vị điền biểu mẫu gửi kèm thư này (tệp {filename}) và gửi lại chậm nhất ngày "
             f"{vn_date(deadline)} bằng cách trả lời thư này, đính kèm tệp đã điền.",
             "Nếu đơn vị đã gửi báo cáo, xin trả lời thư này để chúng tôi kiểm tra lại."]
    return "\n".join(lines + closing(contact, from_unit)) + "\n"


def remind(roster: Roster, period: Period | str, outbox: Path, missing: Iterable[str], spec=None, *,
           sender: str | None = None, deadline: date | None = None, contact: str | None = None,
           smtp: SmtpSettings | None = None, resend: Iterable[str] = (), template_password: str | None = None,
           today: date | None = None) -> DistributeResult:
    """Draft (and with `smtp` send) a reminder to each unit of `missing` (codes of the roster), its
    template attached; a unit already reminded for the period (by the log `da-gui-nhac-nop.csv`) is not
    reminded again unless in `resend`.

    Raises:
        CchcError: as `distribute` (no sender, password missing, a code not in the roster, ...).
    """
    spec = spec if isinstance(spec, FormSpec) else load_spec(spec)
    period = parse_period(period)
    resend = list(dict.fromkeys(resend))
    check_settings(sender, smtp, resend)
    codes = list(dict.fromkeys([*missing, *resend]))
    for code in codes:
        if code not in roster:
            raise CchcError(f"{roster.source}: không có đơn vị mã {code!r} trong danh sách.")
    units = [roster.get(c) for c in (resend or codes)]
    result, ledger = start_round(period, outbox, spec, deadline=deadline, smtp=smtp, today=today,
                                 ledger=REMIND_LEDGER)
    todo = sort_units(result, units, sent_ok(ledger, period.code), resend)
    write_template = template_writer(spec, period, result.outbox, template_password)
    messages = MessageCopies(period, sender=sender, draft=smtp is None, kind="nhac")
    due = period.deadline(spec.deadline_day)
    built = []
    with drafting(result.outbox) as writer:
        templates_for_no_email(result, roster, write_template)
        for unit, to in todo:
            path = template_or_problem(result, write_template, unit)
            if path is None:
                continue
            from_unit = sending_unit_name(roster, unit, sender)
            body = reminder_body(unit, period, result.deadline, path.name, contact=contact or sender,
                                 from_unit=from_unit, due=due)
            subject = (f"[CCHC] Nhắc gửi báo cáo thống kê CCHC {period.label} – {official_name(unit.name)} – "
                       f"hạn gửi {vn_date(result.deadline)}")
            msg = messages.compose(unit, path, to=to, subject=subject, body=body)
            eml = result.outbox / eml_name(unit, period).replace(".eml", "_nhac-nop.eml")
            built.append(queue(result, unit, to, msg, eml, path, writer))
    send_round(result, built, smtp, sender, resend, ledger)
    return result
