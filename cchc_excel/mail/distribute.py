"""Send each unit its template by email: one `.eml` per unit in an outbox, optionally sent through SMTP.

For every reporting unit of a roster that has an email address, `distribute` writes the unit's own
template (as `cchc template --roster` makes it) and a Vietnamese message with that template attached,
`<code>_<slug>_<period>.eml`, into the outbox folder. With SMTP settings it also sends them, one
connection for the batch, and records every attempt in the ledger `da-gui.csv` of the outbox, so that
a second run sends nothing twice; `resend` sends chosen units again. Each send holds the ledger's lock
(`core.lock`) and reads the ledger again first, so that two runs at once never send a unit twice. A
failure for one unit is recorded and reported, and the others still go.

Drafts written without sending carry `X-Unsent: 1`: Outlook opens them as a message ready to send.
"""

from __future__ import annotations

import csv
import re
import smtplib
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from email.utils import getaddresses
from pathlib import Path
from typing import Iterable

from cchc_excel.core.atomic import append_csv, read_csv_log, write_bytes_atomic
from cchc_excel.core.lock import file_lock
from cchc_excel.errors import CchcError
from cchc_excel.core.periods import Period, parse_period
from cchc_excel.core.roster import Roster, Unit
from cchc_excel.mail.message import (XLSX_TYPE, build_message, is_address, letter_text,  # noqa: F401
                                     message_body, message_bytes, official_name, parse_sender, sender_name,
                                     vn_date)
from cchc_excel.mail.outbox import DraftWriter, drafting
from cchc_excel.mail.skeleton import Letter, MessageCopies
from cchc_excel.mail.smtp import Mailer, SmtpSettings, error_text, server_text
from cchc_excel.spec.loader import load_spec
from cchc_excel.spec.model import FormSpec

LEDGER_NAME = "da-gui.csv"
LEDGER_COLUMNS = ("ky_bao_cao", "ma_don_vi", "ten_don_vi", "email", "message_id", "thoi_gian",
                  "trang_thai", "chi_tiet", "tep_thu")
OK, FAILED = "ok", "loi"
_TEXT_COLUMNS = ("ten_don_vi", "email", "chi_tiet", "tep_thu", "ma_don_vi")
_DATE_RE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")


# ---------------------------------------------------------------- values

@dataclass(frozen=True)
class Draft:
    """One unit's message, written to the outbox."""

    code: str
    name: str
    to: tuple
    subject: str
    message_id: str
    eml: Path
    template: Path

    def to_dict(self) -> dict:
        return {**asdict(self), "to": list(self.to), "eml": str(self.eml), "template": str(self.template)}


@dataclass(frozen=True)
class Delivery:
    """One line of the ledger: a send attempt of one unit's message (status `ok` or `loi`)."""

    period: str
    code: str
    name: str
    to: tuple
    message_id: str
    time: datetime | None
    status: str
    detail: str = ""
    eml: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_dict(self) -> dict:
        return {**asdict(self), "to": list(self.to), "time": self.time.isoformat() if self.time else None}


@dataclass(frozen=True)
class NoEmail:
    """A unit that gets no message: no address in the roster, or one that is not valid."""

    code: str
    name: str
    reason: str
    template: Path | None = None

    def to_dict(self) -> dict:
        return {**asdict(self), "template": str(self.template) if self.template else None}


@dataclass
class DistributeResult:
    """What a `distribute` run did. `problems` are Vietnamese lines (a template that could not be written)."""

    period: Period
    window: tuple
    deadline: date
    outbox: Path
    drafts: list = field(default_factory=list)
    no_email: list = field(default_factory=list)
    already_sent: list = field(default_factory=list)  # Delivery: the earlier successful send
    sent: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    sending: bool = False
    ledger: str = LEDGER_NAME  # the send log in the outbox: one per kind of message
    per_message: bool = False  # the log's key: (period, unit) when False, else also the message's file

    def sent_before(self, ledger: list, code: str, eml: str = "") -> Delivery | None:
        """The last successful send in `ledger` this run must not repeat for unit `code` (message `eml`)."""
        return next((d for d in reversed(ledger) if d.period == self.period.code and d.code == code and d.ok
                     and (not self.per_message or d.eml == eml)), None)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.problems else 0

    def to_dict(self) -> dict:
        return {"period": self.period.code, "window": [d.isoformat() for d in self.window],
                "deadline": self.deadline.isoformat(), "outbox": str(self.outbox), "sending": self.sending,
                **{k: [x.to_dict() for x in getattr(self, k)]
                   for k in ("drafts", "no_email", "already_sent", "sent", "failed")},
                "problems": list(self.problems), "warnings": list(self.warnings)}


# ---------------------------------------------------------------- small parsers

def parse_date(text: str) -> date:
    """`20/06/2023`, `20-6-2023` or ISO `2023-06-20`.

    Raises:
        CchcError: with the accepted forms.
    """
    m = _DATE_RE.match(text or "")
    try:
        if m:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        return date.fromisoformat((text or "").strip())
    except ValueError:
        pass
    raise CchcError(f"Không hiểu ngày {text!r}: hãy ghi dd/mm/yyyy (20/06/2023) hoặc yyyy-mm-dd.")


def parse_recipients(text: str) -> tuple[list[str], list[str]]:
    """The valid and the invalid addresses of a roster's email cell (`a@x.vn; b@x.vn`, `Tên <a@x.vn>`)."""
    good, bad = [], []
    for _, addr in getaddresses([re.sub(r"[;\n]", ",", text or "")]):
        addr = addr.strip()
        if addr:
            (good if is_address(addr) else bad).append(addr)
    if (text or "").strip() and not good and not bad:
        bad.append(text.strip())
    return list(dict.fromkeys(good)), bad


def eml_name(unit: Unit, period: Period) -> str:
    """`22240_phuong-tam-quan-bac_2023-Q2.eml`: the template's name with `.eml`."""
    from cchc_excel.template.build import template_filename  # lazy: xlsxwriter is not needed to collect

    return template_filename(unit, period).removesuffix(".xlsx") + ".eml"


# ---------------------------------------------------------------- the ledger

def read_ledger(outbox: Path, name: str = LEDGER_NAME) -> list[Delivery]:
    """Every send attempt recorded in `outbox/da-gui.csv` (or the log `name`), oldest first; [] if there
    is none yet."""
    path = Path(outbox) / name
    try:
        out = []
        for row in read_csv_log(path, LEDGER_COLUMNS, _TEXT_COLUMNS):
            time = datetime.fromisoformat(row["thoi_gian"]) if row["thoi_gian"] else None
            out.append(Delivery(row["ky_bao_cao"], row["ma_don_vi"], row["ten_don_vi"],
                                tuple(a for a in row["email"].split(";") if a), row["message_id"], time,
                                row["trang_thai"], row["chi_tiet"], row["tep_thu"]))
        return out
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, csv.Error) as e:
        raise CchcError(f"{path}: không đọc được sổ ghi thư đã gửi ({e})") from e


def _append_ledger(outbox: Path, delivery: Delivery, name: str = LEDGER_NAME) -> None:
    values = dict(ky_bao_cao=delivery.period, ma_don_vi=delivery.code, ten_don_vi=delivery.name,
                  email=";".join(delivery.to), message_id=delivery.message_id,
                  thoi_gian=delivery.time.isoformat(timespec="seconds") if delivery.time else "",
                  trang_thai=delivery.status, chi_tiet=delivery.detail, tep_thu=delivery.eml)
    append_csv(outbox / name, LEDGER_COLUMNS, [values], _TEXT_COLUMNS)


# ---------------------------------------------------------------- the run

def template_writer(spec, period: Period, outbox: Path, password: str | None):
    """unit -> the path of its template written in `outbox`, as `cchc template --roster` makes it."""
    from cchc_excel.template.build import UnitCopies, template_filename

    copies = UnitCopies(spec, period, password=password)  # one build per level, then cheap copies

    def write(unit: Unit) -> Path:
        path = outbox / template_filename(unit, period)
        write_bytes_atomic(path, copies.copy(unit), sync_folder=False)  # see `outbox.drafting`
        return path
    return write


def distribute(roster: Roster, period: Period | str, outbox: Path, spec=None, *,
               sender: str | None = None, deadline: date | None = None, contact: str | None = None,
               unit_code: str | None = None, smtp: SmtpSettings | None = None, resend: Iterable[str] = (),
               template_password: str | None = None, today: date | None = None,
               basis: str | None = None) -> DistributeResult:
    """Write each unit's template and message into `outbox`; with `smtp`, send those not sent yet.

    Args:
        roster: the units; those with an email get a message, the others are listed in `no_email`.
        period: `2023-Q2` or a Period; its cut-off window and deadline come from the spec's days.
        spec: a FormSpec (default: the built-in forms).
        sender: the `From` (`Tên <addr>`); required with `smtp`.
        deadline: overrides the period's deadline.
        contact: who to call, written in the message (default: the sender).
        unit_code: only the units under this one, as `cchc aggregate --unit` merges them (default: every
            unit that files a return).
        smtp: send through this server; already sent units (by the ledger) are skipped, also when
            another run sends at the same time (the ledger is locked and read again before each send).
        resend: unit codes to send again even if already sent (only these are handled).
        template_password: the sheet protection password of the templates.
        basis: the sender's own công văn asking for the report, named in the message.

    Raises:
        CchcError: for what stops the whole run before anything is sent (no sender, password missing,
            unknown unit code, server unreachable or refusing the login, unreadable ledger).
    """
    spec = spec if isinstance(spec, FormSpec) else load_spec(spec)
    period = parse_period(period)
    resend = list(dict.fromkeys(resend))
    check_settings(sender, smtp, resend)
    units = _select(roster, period, unit_code, resend)
    result, ledger = start_round(period, outbox, spec, deadline=deadline, smtp=smtp, today=today)
    todo = sort_units(result, units, sent_ok(ledger, period.code), resend)
    write_template = template_writer(spec, period, result.outbox, template_password)
    messages = MessageCopies(period, sender=sender, draft=smtp is None)
    letter = dict(window=result.window, deadline=result.deadline, sender=sender, contact=contact, basis=basis,
                  issued_with=spec.issued_with)
    built = []  # (draft, message bytes) kept only to send them: writing drafts alone holds one at a time
    with drafting(result.outbox) as writer:
        templates_for_no_email(result, roster, write_template)
        for unit, to in todo:
            draft = _draft(result, write_template, messages, writer, unit, to, letter,
                           sending_unit_name(roster, unit, sender))
            if draft and smtp is not None:
                built.append(draft)
    send_round(result, built, smtp, sender, resend, ledger)
    return result


def start_round(period: Period, outbox: Path, spec: FormSpec, *, deadline: date | None, smtp,
                today: date | None, ledger: str = LEDGER_NAME, per_message: bool = False):
    """The outbox made, its send log `ledger` read: (an empty `DistributeResult` with the period's window
    and deadline and the date warnings, the log's deliveries).

    Raises:
        CchcError: the outbox cannot be made, or the log cannot be read.
    """
    outbox = Path(outbox)
    try:
        outbox.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CchcError(f"{outbox}: không tạo được thư mục ({e.strerror or e})") from e
    deliveries = read_ledger(outbox, ledger)
    result = DistributeResult(period, period.window(spec.cutoff_day),
                              deadline or period.deadline(spec.deadline_day), outbox,
                              sending=smtp is not None, ledger=ledger, per_message=per_message)
    _date_warnings(result, today or date.today())
    return result, deliveries


def templates_for_no_email(result: DistributeResult, roster: Roster, write_template) -> None:
    """Write the template of each unit without an email, to send some other way."""
    for i, item in enumerate(result.no_email):
        path = template_or_problem(result, write_template, roster.get(item.code))
        result.no_email[i] = NoEmail(item.code, item.name, item.reason, path)


def send_round(result: DistributeResult, built: list, smtp, sender: str | None, resend: list,
               ledger: list) -> None:
    """With `smtp`, send the (Draft, bytes) `built`, each at most once by the send log (see `_send_all`)."""
    if smtp is not None and built:
        known = {d.message_id for d in ledger}
        _send_all(result, built, smtp, parse_sender(sender)[1], resend, known)


def sent_ok(ledger: list, period: str) -> dict:
    """unit code -> its last successful send of `period` in the ledger."""
    return {d.code: d for d in ledger if d.period == period and d.ok}


def sort_units(result: DistributeResult, units: list, sent_before: dict, resend: list) -> list:
    """The (unit, addresses) to write a message to; the others go to `no_email` and `already_sent`."""
    todo = []
    for unit in units:
        good, bad = parse_recipients(unit.email)
        if not good:
            reason = ("email không hợp lệ: " + _quoted(bad)) if bad else "chưa có email trong danh sách"
            result.no_email.append(NoEmail(unit.code, unit.name, reason))
            if unit.code in resend:
                result.problems.append(f"{unit.code} {unit.name}: không gửi lại được ({reason}).")
        elif unit.code in sent_before and unit.code not in resend:
            result.already_sent.append(sent_before[unit.code])
        else:
            todo.append((unit, good))
        if good and bad:
            result.warnings.append(f"{unit.code} {unit.name}: bỏ qua địa chỉ không hợp lệ {_quoted(bad)}.")
    return todo


def sending_unit_name(roster: Roster, unit: Unit, sender: str | None) -> str:
    """Who signs the message: the sender's name, or else the unit above in the roster."""
    parent = roster.get(unit.parent) if unit.parent else None
    return sender_name(sender) or (official_name(parent.name) if parent else "")


def _draft(result: DistributeResult, write_template, messages: MessageCopies, writer: DraftWriter,
           unit: Unit, to: list, letter: dict, from_unit: str):
    """Write the unit's template and message (`build_message`'s) into the outbox: (Draft, message bytes),
    or None when its template could not be written (a problem of the result)."""
    path = template_or_problem(result, write_template, unit)
    if path is None:
        return None
    subject, body = letter_text(unit, result.period, path.name, from_unit=from_unit, **letter)
    msg = messages.compose(unit, path, to=to, subject=subject, body=body)
    return queue(result, unit, to, msg, result.outbox / eml_name(unit, result.period), path, writer)


def queue(result: DistributeResult, unit: Unit, to: list, letter: Letter, eml: Path, attachment: Path,
          writer: DraftWriter):
    """Write `letter` to `eml` in the outbox through `writer` (`outbox.drafting`'s) and list it in the
    drafts: (Draft, message bytes).

    Raises:
        CchcError: an earlier message of the round could not be written (`DraftWriter.write`).
    """
    writer.write(eml, letter.data)
    result.drafts.append(Draft(unit.code, unit.name, tuple(to), letter.subject, letter.message_id, eml,
                               attachment))
    return result.drafts[-1], letter.data


def check_settings(sender: str | None, smtp: SmtpSettings | None, resend: list) -> None:
    if resend and smtp is None:
        raise CchcError("Gửi lại (--resend) cần máy chủ thư (--smtp-host).")
    if smtp is not None and not sender:
        raise CchcError("Cần địa chỉ người gửi (--from) để gửi thư.")
    if smtp is not None:
        smtp.require_password()
    if sender:
        parse_sender(sender)


def _select(roster: Roster, period: Period, unit_code: str | None, resend: list) -> list[Unit]:
    """The units to handle: `resend`'s, or those that file a return (under `unit_code` if given)."""
    for code in [*resend, *([unit_code] if unit_code else [])]:
        if code not in roster:
            raise CchcError(f"{roster.source}: không có đơn vị mã {code!r} trong danh sách.")
    units = [roster.get(c) for c in resend] if resend else roster.reporting_units(unit_code)
    names: dict = {}
    for unit in units:
        other = names.setdefault(eml_name(unit, period), unit.code)
        if other != unit.code:
            raise CchcError(f"{roster.source}: đơn vị {other} và {unit.code} cho cùng một tên tệp "
                            f"{eml_name(unit, period)}.")
    return units


def _quoted(items) -> str:
    return ", ".join(f"«{x}»" for x in items)


def _date_warnings(result: DistributeResult, today: date) -> None:
    if result.deadline < today:
        result.warnings.append(f"Hạn gửi {vn_date(result.deadline)} đã qua (hôm nay {vn_date(today)}).")
    if result.deadline < result.window[1]:
        result.warnings.append(f"Hạn gửi {vn_date(result.deadline)} trước ngày chốt số liệu "
                               f"{vn_date(result.window[1])}.")


def template_or_problem(result: DistributeResult, write_template, unit: Unit) -> Path | None:
    try:
        return write_template(unit)
    except (CchcError, OSError) as e:
        text = str(e) if isinstance(e, CchcError) else (e.strerror or str(e))
        result.problems.append(f"{unit.code} {unit.name}: không tạo được biểu mẫu ({text}).")
        return None


def _send_all(result: DistributeResult, built: list, smtp: SmtpSettings, from_addr: str,
              resend: list, known: set) -> None:
    """Send each draft; record every attempt in the ledger as soon as it is known.

    Each send holds the ledger's lock, and the ledger is read again under it: a unit that another run
    sent meanwhile (any successful send, or for `resend` one not in the ledger when this run began,
    `known` message ids) is not sent again but listed in `already_sent`.
    """
    mailer = Mailer(smtp)
    try:
        mailer.connect()  # a server that cannot be reached or refuses the login stops the run here
    except CchcError as e:
        raise CchcError(f"{e} Chưa gửi thư nào; các thư đã soạn nằm trong {result.outbox}.") from e
    state = {"down": ""}
    ledger, ours = result.outbox / result.ledger, None  # the ledger as this run last left it
    try:
        for draft, data in built:
            with file_lock(ledger):
                other = None if _file_id(ledger) == ours else _sent_meanwhile(
                    result, draft, draft.code in resend, known)
                if other is not None:
                    result.already_sent.append(other)
                    continue
                delivery = _send_one(result, mailer, draft, data, from_addr, draft.code in resend, state)
                _record(result, draft, delivery)
                ours = _file_id(ledger)
    finally:
        mailer.close()


def _file_id(path: Path):
    """What tells whether another run rewrote the ledger (every write renames a new file into place)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def _sent_meanwhile(result: DistributeResult, draft: Draft, resending: bool, known: set):
    """The successful send of `draft` that the ledger holds now and this run must not repeat, or None."""
    ledger = read_ledger(result.outbox, result.ledger)
    if resending:
        ledger = [d for d in ledger if d.message_id not in known]
    return result.sent_before(ledger, draft.code, draft.eml.name)


def _send_one(result: DistributeResult, mailer: Mailer, draft: Draft, data: bytes, from_addr: str,
              resending: bool, state: dict) -> Delivery:
    """Send one draft (unless the server is down: `state["down"]`); the ledger line it gives."""
    detail, ok = "", False
    if state["down"]:
        detail = f"chưa gửi: {state['down']}"
    else:
        try:
            refused = mailer.send(from_addr, list(draft.to), data)
        except CchcError as e:  # could not reconnect: stop trying, record the rest
            state["down"] = detail = str(e)
        except (smtplib.SMTPException, OSError) as e:
            detail = error_text(e)
        else:
            ok = True
            if refused:
                detail = "máy chủ từ chối: " + "; ".join(
                    f"{a} ({c} {server_text(m)})" for a, (c, m) in refused.items())
            if resending:
                detail = "; ".join(filter(None, ["gửi lại", detail]))
    return Delivery(result.period.code, draft.code, draft.name, draft.to, draft.message_id,
                    datetime.now().astimezone(), OK if ok else FAILED, detail, draft.eml.name)


def _record(result: DistributeResult, draft: Draft, delivery: Delivery) -> None:
    try:
        _append_ledger(result.outbox, delivery, result.ledger)
    except OSError as e:  # without the record, a rerun would send it again: stop here
        done = "đã gửi" if delivery.ok else "chưa gửi được"
        raise CchcError(f"{result.outbox / result.ledger}: không ghi được sổ ghi thư đã gửi "
                        f"({e.strerror or e}); thư của {draft.code} {draft.name} {done}, các thư sau "
                        f"chưa gửi.") from e
    (result.sent if delivery.ok else result.failed).append(delivery)
