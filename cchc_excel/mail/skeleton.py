"""The messages of one round made from one prepared skeleton rather than by the email package each time.

`compose` and `message_bytes` cost about 25 ms a message, most of it in the email package's header
folding; a round writes hundreds. `MessageCopies` builds one message with placeholder tokens through
`compose`'s own code, serialises it once, and for each unit fills the slots: the headers that differ
(RFC 2047 encoded words for Vietnamese), the body text (quoted-printable or base64, chosen as the email
package chooses) and the attachment's base64. The result parses (`email.message_from_bytes` with the
default policy) into the same headers, body and attachment as `compose` gives (tested field by field).

A value the slots cannot take as it is (text that is not clean, an address `is_address` refuses, a file
name that would need quoting, a line over 998 characters) goes through `compose` itself, which accepts and
refuses exactly as before: a CR or LF never reaches a header either way.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email import quoprimime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as _DEFAULT
from email.utils import format_datetime
from pathlib import Path
from typing import Iterable

from cchc_excel.core.periods import Period
from cchc_excel.core.roster import Unit
from cchc_excel.core.text import clean_text
from cchc_excel.mail.inbox import header_text
from cchc_excel.mail.message import (attach, compose, is_address, message_bytes, message_id, read_attachment,
                                     sender_domain, text_message, unit_header)

_CRLF = b"\r\n"
_MAX_LINE = 998  # what `message_bytes` allows (RFC 5322)
_WORD_BYTES = 45  # UTF-8 bytes of one encoded word: `=?utf-8?b?` + 60 base64 + `?=` is 72 ≤ 75 (RFC 2047)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,200}$")  # a file name the email package writes as it is
_UNIT, _SUBJECT, _BODY, _FILE = "CCHC0UNIT0SLOT", "CCHC0SUBJECT0SLOT", "CCHC0BODY0SLOT", "CCHC0FILE0SLOT.xlsx"
_TO = "cchc0to0slot@cchc.invalid"
_ATTACHMENT = b"CCHC0ATTACHMENT0SLOT0000"  # 24 bytes: one line of base64 without padding
_WHEN = datetime(2000, 1, 1, tzinfo=timezone.utc)
_QP_ENCODED = bytes(range(128, 256)) + b"="  # bytes that quoted-printable always writes as =XX


@dataclass(frozen=True)
class Letter:
    """A message ready to write and send: its bytes (as `message_bytes` gives), subject and Message-ID."""

    data: bytes
    subject: str
    message_id: str

    @classmethod
    def of(cls, msg: EmailMessage) -> "Letter":
        return cls(message_bytes(msg), str(msg["Subject"]), str(msg["Message-ID"]))


class MessageCopies:
    """`compose` for every unit of a round with one sender, draft flag and kind, from one skeleton.

    `compose(unit, attachment, ...)` gives the Letter of `compose(unit, period, attachment, ...)`.
    """

    def __init__(self, period: Period, *, sender: str | None = None, draft: bool = False, kind: str = ""):
        self.period, self.sender, self.draft, self.kind = period, sender, draft, kind
        self._pieces: list | None = None  # constant bytes and slot names, built at the first message
        self._boundary, self._boundaries, self._domain = b"", 0, ""  # the skeleton's, with it

    def compose(self, unit: Unit, attachment: Path, *, to: Iterable[str], subject: str, body: str,
                now: datetime | None = None) -> Letter:
        """The Letter of `compose(unit, self.period, attachment, ...)` with this round's sender, draft
        flag and kind.

        Raises:
            CchcError: the attachment cannot be read.
        """
        to, attachment = list(to), Path(attachment)
        if self._skeleton():
            filled = self._values(unit, attachment, to, subject, body, now)
            if filled is not None:
                values, msgid = filled
                data = b"".join(values[p] if isinstance(p, str) else p for p in self._pieces)
                if data.count(self._boundary) == self._boundaries:  # no value holds the boundary
                    return Letter(data, subject, msgid)
        return Letter.of(compose(unit, self.period, attachment, to=to, subject=subject, body=body,
                                 sender=self.sender, now=now, draft=self.draft, kind=self.kind))

    @property
    def fast(self) -> bool:
        """Whether messages are made from the skeleton (False: the email package did not write the
        tokens as expected, so every message goes through `compose`)."""
        return bool(self._skeleton())

    def _skeleton(self) -> list:
        if self._pieces is None:
            msg = text_message(Unit(_UNIT, "", "xa"), self.period, to=[_TO], subject=_SUBJECT,
                               body=_BODY + "\n", sender=self.sender, now=_WHEN, draft=self.draft,
                               kind=self.kind)
            attach(msg, _ATTACHMENT, _FILE)
            data = message_bytes(msg)
            slots = {"to": f"To: {_TO}\r\n", "subject": f"Subject: {_SUBJECT}\r\n",
                     "date": f"Date: {msg['Date']}\r\n", "id": f"Message-ID: {msg['Message-ID']}\r\n",
                     "unit": f"X-CCHC-Unit: {_UNIT}\r\n",
                     "body": f"Content-Transfer-Encoding: 7bit\r\n\r\n{_BODY}\r\n",
                     "file": f'filename="{_FILE}"', "data": _base64_lines(_ATTACHMENT).decode("ascii")}
            self._boundary = (msg.get_boundary() or "").encode("ascii")
            self._domain = sender_domain(self.sender)
            self._boundaries = data.count(self._boundary)
            self._pieces = _split(data, {k: v.encode("ascii") for k, v in slots.items()}) or []
        return self._pieces

    def _values(self, unit: Unit, attachment: Path, to: list, subject: str, body: str,
                now: datetime | None) -> tuple[dict, str] | None:
        """(the bytes of each slot, the Message-ID) of this message, or None when a slot cannot take
        its value."""
        name = header_text(unit.name)
        code = unit_header(unit.code)
        mailboxes = [_mailbox(name, addr) for addr in to]
        text, words = _text_payload(body), _words(subject)
        if (not to or None in mailboxes or text is None or words is None
                or not _SAFE_NAME.match(attachment.name) or not _clean(code)):
            return None
        msgid = message_id(self.period, unit, self.kind, self._domain)
        headers = {"to": "To: " + ", ".join(mailboxes), "subject": "Subject: " + words,
                   "date": "Date: " + format_datetime((now or datetime.now()).astimezone()),
                   "id": "Message-ID: " + msgid, "unit": "X-CCHC-Unit: " + code}
        if any(len(v) > _MAX_LINE or not v.isascii() or "\r" in v or "\n" in v for v in headers.values()):
            return None
        data = read_attachment(attachment)
        if not data:
            return None
        values = {k: v.encode("ascii") + _CRLF for k, v in headers.items()}
        values["body"] = (f"Content-Transfer-Encoding: {text[0]}\r\n\r\n".encode("ascii")
                          + text[1].replace(b"\n", _CRLF))
        values["file"] = f'filename="{attachment.name}"'.encode("ascii")
        values["data"] = _base64_lines(data)
        return values, msgid


def _base64_lines(data: bytes, end: bytes = _CRLF) -> bytes:
    """`data` in base64 as the email package writes a body at 78 characters a line: lines of 76
    characters (57 bytes), each ending in `end`."""
    text = binascii.b2a_base64(data, newline=False)
    return end.join([text[i:i + 76] for i in range(0, len(text), 76)]) + end if text else b""


def _split(data: bytes, slots: dict) -> list | None:
    """`data` cut at each slot (each must occur once): constant bytes and slot names in order."""
    found = []
    for key, token in slots.items():
        if data.count(token) != 1:
            return None
        found.append((data.index(token), key, token))
    pieces, at = [], 0
    for start, key, token in sorted(found):
        pieces += [data[at:start], key]
        at = start + len(token)
    return [*pieces, data[at:]]


def _clean(text: str) -> bool:
    """Text a header takes as it is: clean (`clean_text`), and nothing a reader would decode."""
    return bool(text) and "=?" not in text and text == clean_text(text)


def _mailbox(name: str, addr: str) -> str | None:
    """`Tên <addr>` for a `To` header, or None when `compose` must write it.

    A Vietnamese name is one encoded word, as the email package writes it at 998 characters a line:
    Python's parser keeps the space between two encoded words of a name, RFC 2047 readers drop it."""
    if not is_address(addr) or (name and not _clean(name)):
        return None
    if not name:
        return addr
    if name.isascii():
        return str(Address(display_name=name, addr_spec=addr))  # quoted when it holds `,` `"` `<` ...
    return f"=?utf-8?b?{base64.b64encode(name.encode('utf-8')).decode('ascii')}?= <{addr}>"


def _words(text: str) -> str | None:
    """An unstructured header's value: `text` itself when it is ASCII, else encoded words of whole
    characters (a reader joins adjacent encoded words without the space between them); None when
    `text` is not clean."""
    if not _clean(text):
        return None
    if text.isascii():
        return text
    words, chunk = [], b""
    for char in text:
        b = char.encode("utf-8")
        if len(chunk) + len(b) > _WORD_BYTES:
            words.append(chunk)
            chunk = b""
        chunk += b
    return " ".join(f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in [*words, chunk])


def _text_payload(body: str) -> tuple[str, bytes] | None:
    """(Content-Transfer-Encoding, payload with LF line ends) that `EmailMessage.set_content(body)` gives
    under the default policy: 7bit or 8bit (the text as it is) when no line is over 78 bytes, else
    quoted-printable or base64, whichever the first ten lines make shorter: email.contentmanager's own
    choice (private there), repeated here. None when `body` cannot be encoded in UTF-8."""
    try:
        lines = body.encode("utf-8").splitlines()
    except UnicodeEncodeError:
        return None
    width = _DEFAULT.max_line_length
    normal = b"\n".join(lines) + b"\n"  # the policy's line end is "\n" too
    if max((len(x) for x in lines), default=0) <= width:
        if normal.isascii():
            return "7bit", normal
        if _DEFAULT.cte_type == "8bit":
            return "8bit", normal
    sniff = b"\n".join(lines[:10]) + b"\n"
    sniff_b64 = len(binascii.b2a_base64(sniff))
    # Every byte over 127 and every "=" takes three characters in quoted-printable: when that alone
    # makes it longer, base64 it is, without encoding (slowly, in Python) what would be thrown away.
    encoded = len(sniff) - len(sniff.translate(None, _QP_ENCODED))
    if len(sniff) + 2 * encoded > sniff_b64:
        return "base64", _base64_lines(normal, b"\n")
    sniff_qp = quoprimime.body_encode(sniff.decode("latin-1"), width)
    if len(sniff_qp) > sniff_b64:
        return "base64", _base64_lines(normal, b"\n")  # 57 bytes a line: `width // 4 * 3`
    if len(lines) <= 10:
        return "quoted-printable", sniff_qp.encode("ascii")
    return "quoted-printable", quoprimime.body_encode(normal.decode("latin-1"), width).encode("ascii")
