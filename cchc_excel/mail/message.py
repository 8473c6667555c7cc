"""The message `distribute` sends each unit: its Vietnamese text and its headers.

Every header value is built from text decoded and cleaned by `inbox.header_text`: a roster cell or a
`--from` name may hold an RFC 2047 encoded word that the reader's mail program would decode to CR LF and
a `Bcc:` line.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Iterable

from cchc_excel.core.periods import Period
from cchc_excel.core.roster import Unit
from cchc_excel.core.text import UBND_PREFIX, clean_text, fold, vn_date
from cchc_excel.errors import CchcError
from cchc_excel.mail.inbox import header_text

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
_ADDR_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
# Names of local governments, whose official name is "UBND <name>" ("Phường Tam Quan Bắc" is addressed
# as "UBND phường Tam Quan Bắc"), folded; the longest first.
_LOCAL = ("thanh pho", "thi tran", "thi xa", "phuong", "huyen", "quan", "tinh", "xa")


def is_address(addr: str) -> bool:
    """A plain ASCII `local@domain.tld` address."""
    return bool(_ADDR_RE.match(addr)) and len(addr) <= 254


def parse_sender(text: str) -> tuple[str, str]:
    """(`From` header value, envelope address) from `Tên <addr>` or `addr`.

    Raises:
        CchcError: when there is no valid address.
    """
    name, addr = _sender_parts(text)
    if not is_address(addr):
        raise CchcError(f"Địa chỉ người gửi {text!r} không hợp lệ (ví dụ đúng: "
                        f"\"Phòng Nội vụ <noivu@example.gov.vn>\").")
    return (str(Address(display_name=name, addr_spec=addr)) if name else addr), addr


def _sender_parts(text: str) -> tuple[str, str]:
    """(display name decoded and cleaned, address) of `Tên <addr>` or `addr`, unchecked."""
    m = re.match(r"^\s*([^<>]*?)\s*<\s*([^<>\s]+)\s*>\s*$", text or "", re.S)  # a comma in the name is fine
    if m:
        name, addr = m.group(1).strip().strip('"'), m.group(2)
    else:
        name, addr = ("", "") if re.search("[<>]", text or "") else parseaddr(text or "")
    return header_text(name), addr


def sender_name(sender: str | None) -> str:
    """The display name of a `--from` value (`Phòng Nội vụ` of `Phòng Nội vụ <a@x.vn>`), or ""."""
    return _sender_parts(sender)[0] if sender else ""


def official_name(name: str) -> str:
    """How a letter addresses a unit: `UBND phường Tam Quan Bắc` for `Phường Tam Quan Bắc`; a name that
    is not a local government's (`Sở Nội vụ`) or already says UBND is kept."""
    name = header_text(name)
    folded = fold(name)
    if UBND_PREFIX.match(folded):
        return name
    for kind in _LOCAL:
        if folded.startswith(kind + " "):
            words = len(kind.split())
            head, rest = name.split(" ", words)[:words], name.split(" ", words)[words:]
            return " ".join(["UBND", *(w.lower() for w in head), *rest])
    return name


# ---------------------------------------------------------------- the text

def message_body(unit: Unit, period: Period, window: tuple, deadline: date, filename: str,
                 contact: str | None = None, *, basis: str | None = None, issued_with: str | None = None,
                 from_unit: str | None = None) -> str:
    """The Vietnamese text of the message to one unit.

    Args:
        basis: the sender's own công văn asking for the report (`--basis`), named first.
        issued_with: the spec's `issued_with`, the document the forms were issued with.
        from_unit: the sending unit, signed under the text with `contact`.
    """
    lines = [f"Kính gửi: {official_name(unit.name)}.", ""]
    if basis:
        lines += [f"Thực hiện {clean_text(basis).rstrip('.')}, đề nghị đơn vị báo cáo số liệu thống kê "
                  f"cải cách hành chính {period.label}.", ""]
    lines.append(f"Gửi kèm thư này là biểu mẫu thống kê số liệu cải cách hành chính (CCHC) {period.label} "
                 f"dành riêng cho đơn vị (tệp {filename}).")
    issued = clean_text(issued_with or "").strip("() .")
    if issued:
        lines.append(f"Các biểu mẫu {issued[:1].lower()}{issued[1:]}.")
    lines += ["", *_steps(window, deadline), ""]
    lines.append(f"Mọi vướng mắc xin liên hệ: {contact}." if contact
                 else "Mọi vướng mắc xin trả lời thư này.")
    lines += ["", "Trân trọng.", *signature(from_unit, contact)]
    return "\n".join(lines) + "\n"


def _steps(window: tuple, deadline: date) -> list[str]:
    start, end = window
    return [
        "Đề nghị đơn vị:",
        "1. Mở tệp bằng Excel, LibreOffice hoặc WPS và nhập số liệu vào các ô để trống của từng biểu mẫu. "
        "Các ô bị khóa là ô tự tính hoặc không thuộc cấp của đơn vị; ô nhập chưa đúng được báo ngay "
        "khi nhập.",
        f"2. Số liệu tính từ ngày {vn_date(start)} đến hết ngày {vn_date(end)}.",
        f"3. Gửi lại chậm nhất ngày {vn_date(deadline)} bằng cách trả lời thư này, đính kèm tệp đã điền.",
        "4. Giữ nguyên tên các trang tính (sheet), không thêm, xóa hay di chuyển dòng, cột; không dán ảnh "
        "chụp hay bản PDF thay cho tệp Excel.",
        "5. Nếu cần sửa số liệu đã gửi, gửi lại cả tệp; bản nhận được sau cùng sẽ được dùng.",
    ]


def signature(from_unit: str | None, contact: str | None) -> list[str]:
    lines = [clean_text(from_unit)] if from_unit and clean_text(from_unit) else []
    if contact:
        lines.append(f"Liên hệ: {clean_text(contact)}")
    return ["", *lines] if lines else []


# ---------------------------------------------------------------- the message

def build_message(unit: Unit, period: Period, template: Path, *, to: Iterable[str], window: tuple,
                  deadline: date, sender: str | None = None, contact: str | None = None,
                  now: datetime | None = None, draft: bool = False, basis: str | None = None,
                  issued_with: str | None = None, from_unit: str | None = None) -> EmailMessage:
    """The message to one unit with its template attached; the deadline is in the subject.

    Args:
        sender: the `From` value (`Tên <addr>` or `addr`); without it the message has no `From`, which
            the mail program fills in when the draft is sent from it.
        draft: mark it `X-Unsent: 1`, so that Outlook opens it ready to send.
        basis, issued_with, from_unit: see `message_body`; `from_unit` defaults to the sender's name.
    """
    subject, body = letter_text(unit, period, Path(template).name, window=window, deadline=deadline,
                                sender=sender, contact=contact, basis=basis, issued_with=issued_with,
                                from_unit=from_unit)
    return compose(unit, period, template, to=to, subject=subject, body=body, sender=sender, now=now,
                   draft=draft)


def letter_text(unit: Unit, period: Period, filename: str, *, window: tuple, deadline: date,
                sender: str | None = None, contact: str | None = None, basis: str | None = None,
                issued_with: str | None = None, from_unit: str | None = None) -> tuple[str, str]:
    """(subject, body) of the message `build_message` makes to one unit."""
    subject = (f"[CCHC] Biểu mẫu thống kê CCHC {period.label} – {official_name(header_text(unit.name))} – "
               f"hạn gửi {vn_date(deadline)}")
    body = message_body(unit, period, window, deadline, filename, contact or sender, basis=basis,
                        issued_with=issued_with, from_unit=from_unit or sender_name(sender))
    return subject, body


def compose(unit: Unit, period: Period, attachment: Path, *, to: Iterable[str], subject: str, body: str,
            sender: str | None = None, now: datetime | None = None, draft: bool = False,
            kind: str = "") -> EmailMessage:
    """A message to one unit with one workbook attached: the headers every message of this package has
    (`X-CCHC-Period`, `X-CCHC-Unit`, a Message-ID naming period, unit and `kind`), `body` as its text.

    Raises:
        CchcError: the attachment cannot be read.
    """
    attachment = Path(attachment)
    msg = text_message(unit, period, to=to, subject=subject, body=body, sender=sender, now=now, draft=draft,
                       kind=kind)
    attach(msg, read_attachment(attachment), attachment.name)
    return msg


def text_message(unit: Unit, period: Period, *, to: Iterable[str], subject: str, body: str,
                 sender: str | None = None, now: datetime | None = None, draft: bool = False,
                 kind: str = "") -> EmailMessage:
    """`compose`'s message before its workbook is attached."""
    msg = EmailMessage()
    if sender:
        msg["From"] = parse_sender(sender)[0]
    name = header_text(unit.name)
    msg["To"] = tuple(Address(display_name=name, addr_spec=a) for a in to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime((now or datetime.now()).astimezone())
    msg["Message-ID"] = message_id(period, unit, kind, sender_domain(sender))
    msg["X-CCHC-Period"] = period.code
    msg["X-CCHC-Unit"] = unit_header(unit.code)
    if draft:
        msg["X-Unsent"] = "1"
    msg.set_content(body)
    return msg


def attach(msg: EmailMessage, data: bytes, filename: str) -> None:
    """Attach the workbook `data` as `filename`."""
    msg.add_attachment(data, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=filename)


def message_id(period: Period, unit: Unit, kind: str, domain: str) -> str:
    """A new Message-ID naming the period, the unit and the kind of message."""
    idstring = re.sub(r"[^0-9A-Za-z-]+", "", f"cchc-{kind + '-' if kind else ''}{period.code}-{unit.code}")[:40]
    return make_msgid(idstring=idstring, domain=domain)


def sender_domain(sender: str | None) -> str:
    """The domain of Message-IDs: the sender's, or `cchc.local` without one."""
    return parse_sender(sender)[1].rpartition("@")[2] if sender else "cchc.local"


def unit_header(code: str) -> str:
    """The `X-CCHC-Unit` value: the unit code's visible ASCII characters, "-" when none."""
    return re.sub(r"[^\x21-\x7e]", "", code) or "-"


def read_attachment(path: Path) -> bytes:
    """The bytes of the workbook to attach.

    Raises:
        CchcError: the attachment cannot be read.
    """
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise CchcError(f"{path}: không đọc được biểu mẫu ({e.strerror or e})") from e


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as sent and saved: CRLF line ends, 7-bit (encoded headers, base64 attachment).

    Headers are not folded at 78 characters: Python's folder splits a Vietnamese subject into encoded
    words and drops the space between two of them ("thống kê" arrives as "thốngkê"); RFC 5322 allows
    lines up to 998 characters."""
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n", max_line_length=998))
