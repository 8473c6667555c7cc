"""Send each unit its template by email: one `.eml` per unit in an outbox, optionally sent through SMTP.

For every reporting unit of a roster that has an email address, `distribute` writes the unit's own
template (as `cchc template --roster` makes it) and a Vietnamese message with that template attached,
`<code>_<slug>_<period>.eml`, into the outbox folder. With SMTP settings it also sends them, one
connection for the batch, and records every attempt in the ledger `da-gui.csv` of the outbox, so that
a second run sends nothing twice; `resend` sends chosen units again. A failure for one unit is recorded
and reported, and the others still go.

Drafts written without sending carry `X-Unsent: 1`: Outlook opens them as a message ready to send.
"""

from __future__ import annotations

import csv
import re
import smtplib
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from pathlib import Path
from typing import Iterable

from cchc_excel.core.atomic import append_csv, read_csv_log, write_bytes_atomic
from cchc_excel.core.text import clean_text, vn_date
from cchc_excel.errors import CchcError
from cchc_excel.core.periods import Period, parse_period
from cchc_excel.core.roster import Roster, Unit
from cchc_excel.mail.smtp import Mailer, SmtpSettings, error_text, server_text
from cchc_excel.spec.model import FormSpec
from cchc_excel.spec.loader import load_spec

LEDGER_NAME = "da-gui.csv"
LEDGER_COLUMNS = ("ky_bao_cao", "ma_don_vi", "ten_don_vi", "email", "message_id", "thoi_gian",
                  "trang_thai", "chi_tiet", "tep_thu")
OK, FAILED = "ok", "loi"
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
_TEXT_COLUMNS = ("ten_don_vi", "email", "chi_tiet", "tep_thu", "ma_don_vi")
_ADDR_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
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


def is_address(addr: str) -> bool:
    """A plain ASCII `local@domain.tld` address."""
    return bool(_ADDR_RE.match(addr)) and len(addr) <= 254


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


def parse_sender(text: str) -> tuple[str, str]:
    """(`From` header value, envelope address) from `Tên <addr>` or `addr`.

    Raises:
        CchcError: when there is no valid address.
    """
    m = re.match(r"^\s*([^<>]*?)\s*<\s*([^<>\s]+)\s*>\s*$", text or "", re.S)  # a comma in the name is fine
    if m:
        name, addr = m.group(1).strip().strip('"'), m.group(2)
    else:
        name, addr = ("", "") if re.search("[<>]", text or "") else parseaddr(text or "")
    if not is_address(addr):
        raise CchcError(f"Địa chỉ người gửi {text!r} không hợp lệ (ví dụ đúng: "
                        f"\"Phòng Nội vụ <noivu@example.gov.vn>\").")
    return (str(Address(display_name=name.strip(), addr_spec=addr)) if name.strip() else addr), addr


def eml_name(unit: Unit, period: Period) -> str:
    """`22240_phuong-tam-quan-bac_2023-Q2.eml`: the template's name with `.eml`."""
    from cchc_excel.template.build import template_filename  # lazy: xlsxwriter is not needed to collect

    return template_filename(unit, period).removesuffix(".xlsx") + ".eml"


# ---------------------------------------------------------------- the message

def message_body(unit: Unit, period: Period, window: tuple, deadline: date, filename: str,
                 contact: str | None = None) -> str:
    """The Vietnamese text of the message to one unit."""
    start, end = window
    lines = [
        f"Kính gửi: {unit.name}",
        "",
        f"Gửi kèm thư này là biểu mẫu thống kê số liệu cải cách hành chính (CCHC) {period.label} "
        f"dành riêng cho đơn vị (tệp {filename}).",
        "",
        "Đề nghị đơn vị:",
        "1. Mở tệp bằng Excel, LibreOffice hoặc WPS và nhập số liệu vào các ô để trống của từng biểu mẫu. "
        "Các ô bị khóa là ô tự tính hoặc không thuộc cấp của đơn vị; ô nhập chưa đúng được báo ngay "
        "khi nhập.",
        f"2. Số liệu tính từ ngày {vn_date(start)} đến hết ngày {vn_date(end)}.",
        f"3. Gửi lại chậm nhất ngày {vn_date(deadline)} bằng cách trả lời thư này, đính kèm tệp đã điền.",
        "4. Giữ nguyên tên các trang tính (sheet), không thêm, xóa hay di chuyển dòng, cột; không dán ảnh "
        "chụp hay bản PDF thay cho tệp Excel.",
        "5. Nếu cần sửa số liệu đã gửi, gửi lại cả tệp; bản nhận được sau cùng sẽ được dùng.",
        "",
    ]
    lines.append(f"Mọi vướng mắc xin liên hệ: {contact}." if contact
                 else "Mọi vướng mắc xin trả lời thư này.")
    lines += ["", "Trân trọng."]
    return "\n".join(lines) + "\n"


def build_message(unit: Unit, period: Period, template: Path, *, to: Iterable[str], window: tuple,
                  deadline: date, sender: str | None = None, contact: str | None = None,
                  now: datetime | None = None, draft: bool = False) -> EmailMessage:
    """The message to one unit with its template attached.

    Args:
        sender: the `From` value (`Tên <addr>` or `addr`); without it the message has no `From`, which
            the mail program fills in when the draft is sent from it.
        draft: mark it `X-Unsent: 1`, so that Outlook opens it ready to send.
    """
    template = Path(template)
    msg = EmailMessage()
    domain = "cchc.local"
    if sender:
        header_value, addr = parse_sender(sender)
        msg["From"] = header_value
        domain = addr.rpartition("@")[2]
    name = clean_text(unit.name)  # a line break in a roster cell must not reach a header
    msg["To"] = tuple(Address(display_name=name, addr_spec=a) for a in to)
    msg["Subject"] = f"[CCHC] Biểu mẫu thống kê CCHC {period.label} – {name}"
    msg["Date"] = format_datetime((now or datetime.now()).astimezone())
    idstring = re.sub(r"[^0-9A-Za-z-]+", "", f"cchc-{period.code}-{unit.code}")[:40]
    msg["Message-ID"] = make_msgid(idstring=idstring, domain=domain)
    msg["X-CCHC-Period"] = period.code
    msg["X-CCHC-Unit"] = re.sub(r"[^\x21-\x7e]", "", unit.code) or "-"
    if draft:
        msg["X-Unsent"] = "1"
    msg.set_content(message_body(unit, period, window, deadline, template.name, contact or sender))
    try:
        data = template.read_bytes()
    except OSError as e:
        raise CchcError(f"{template}: không đọc được biểu mẫu ({e.strerror or e})") from e
    msg.add_attachment(data, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=template.name)
    return msg


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as sent and saved: CRLF line ends, 7-bit (encoded headers, base64 attachment)."""
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


# ---------------------------------------------------------------- the ledger

def read_ledger(outbox: Path) -> list[Delivery]:
    """Every send attempt recorded in `outbox/da-gui.csv`, oldest first; [] if there is none yet."""
    path = Path(outbox) / LEDGER_NAME
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


def _append_ledger(outbox: Path, delivery: Delivery) -> None:
    values = dict(ky_bao_cao=delivery.period, ma_don_vi=delivery.code, ten_don_vi=delivery.name,
                  email=";".join(delivery.to), message_id=delivery.message_id,
                  thoi_gian=delivery.time.isoformat(timespec="seconds") if delivery.time else "",
                  trang_thai=delivery.status, chi_tiet=delivery.detail, tep_thu=delivery.eml)
    append_csv(outbox / LEDGER_NAME, LEDGER_COLUMNS, [values], _TEXT_COLUMNS)


# ---------------------------------------------------------------- the run

def _template_writer(spec, period: Period, outbox: Path, password: str | None):
    """unit -> the path of its template written in `outbox`, as `cchc template --roster` makes it."""
    from cchc_excel.template.build import UnitCopies, template_filename

    copies = UnitCopies(spec, period, password=password)  # one build per level, then cheap copies

    def write(unit: Unit) -> Path:
        path = outbox / template_filename(unit, period)
        write_bytes_atomic(path, copies.copy(unit))
        return path
    return write


def distribute(roster: Roster, period: Period | str, outbox: Path, spec=None, *,
               sender: str | None = None, deadline: date | None = None, contact: str | None = None,
               unit_code: str | None = None, smtp: SmtpSettings | None = None, resend: Iterable[str] = (),
               template_password: str | None = None, today: date | None = None) -> DistributeResult:
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
        smtp: send through this server; already sent units (by the ledger) are skipped.
        resend: unit codes to send again even if already sent (only these are handled).
        template_password: the sheet protection password of the templates.

    Raises:
        CchcError: for what stops the whole run before anything is sent (no sender, password missing,
            unknown unit code, server unreachable or refusing the login, unreadable ledger).
    """
    spec = spec if isinstance(spec, FormSpec) else load_spec(spec)
    period = parse_period(period)
    outbox = Path(outbox)
    resend = list(dict.fromkeys(resend))
    _check_settings(sender, smtp, resend)
    units = _select(roster, period, unit_code, resend)
    try:
        outbox.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CchcError(f"{outbox}: không tạo được thư mục ({e.strerror or e})") from e
    sent_before = {d.code: d for d in read_ledger(outbox) if d.period == period.code and d.ok}

    result = DistributeResult(period, period.window(spec.cutoff_day),
                              deadline or period.deadline(spec.deadline_day), outbox,
                              sending=smtp is not None)
    _date_warnings(result, today or date.today())
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

    write_template = _template_writer(spec, period, outbox, template_password)
    for i, item in enumerate(result.no_email):  # their templates, to send some other way
        path = _template_or_problem(result, write_template, roster.get(item.code))
        result.no_email[i] = NoEmail(item.code, item.name, item.reason, path)
    built = []
    for unit, to in todo:
        path = _template_or_problem(result, write_template, unit)
        if path is not None:
            msg = build_message(unit, period, path, to=to, window=result.window, deadline=result.deadline,
                                sender=sender, contact=contact, draft=smtp is None)
            eml, data = outbox / eml_name(unit, period), message_bytes(msg)
            try:
                write_bytes_atomic(eml, data)
            except OSError as e:
                raise CchcError(f"{eml}: không ghi được thư ({e.strerror or e})") from e
            result.drafts.append(Draft(unit.code, unit.name, tuple(to), str(msg["Subject"]),
                                       str(msg["Message-ID"]), eml, path))
            built.append((result.drafts[-1], data))
    if smtp is not None and built:
        _send_all(result, built, smtp, parse_sender(sender)[1], resend)
    return result


def _check_settings(sender: str | None, smtp: SmtpSettings | None, resend: list) -> None:
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


def _template_or_problem(result: DistributeResult, write_template, unit: Unit) -> Path | None:
    try:
        return write_template(unit)
    except (CchcError, OSError) as e:
        text = str(e) if isinstance(e, CchcError) else (e.strerror or str(e))
        result.problems.append(f"{unit.code} {unit.name}: không tạo được biểu mẫu ({text}).")
        return None


def _send_all(result: DistributeResult, built: list, smtp: SmtpSettings, from_addr: str,
              resend: list) -> None:
    """Send each draft; record every attempt in the ledger as soon as it is known."""
    mailer = Mailer(smtp)
    try:
        mailer.connect()  # a server that cannot be reached or refuses the login stops the run here
    except CchcError as e:
        raise CchcError(f"{e} Chưa gửi thư nào; các thư đã soạn nằm trong {result.outbox}.") from e
    down = ""
    try:
        for draft, data in built:
            detail, ok = "", False
            if down:
                detail = f"chưa gửi: {down}"
            else:
                try:
                    refused = mailer.send(from_addr, list(draft.to), data)
                except CchcError as e:  # could not reconnect: stop trying, record the rest
                    down = detail = str(e)
                except (smtplib.SMTPException, OSError) as e:
                    detail = error_text(e)
                else:
                    ok = True
                    if refused:
                        detail = "máy chủ từ chối: " + "; ".join(
                            f"{a} ({c} {server_text(m)})" for a, (c, m) in refused.items())
                    if draft.code in resend:
                        detail = "; ".join(filter(None, ["gửi lại", detail]))
            delivery = Delivery(result.period.code, draft.code, draft.name, draft.to, draft.message_id,
                                datetime.now().astimezone(), OK if ok else FAILED, detail, draft.eml.name)
            try:
                _append_ledger(result.outbox, delivery)
            except OSError as e:  # without the record, a rerun would send it again: stop here
                done = "đã gửi" if ok else "chưa gửi được"
                raise CchcError(f"{result.outbox / LEDGER_NAME}: không ghi được sổ ghi thư đã gửi "
                                f"({e.strerror or e}); thư của {draft.code} {draft.name} {done}, các thư sau "
                                f"chưa gửi.") from e
            (result.sent if ok else result.failed).append(delivery)
    finally:
        mailer.close()
