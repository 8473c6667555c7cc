"""Reading mail for `collect`: sources (.eml, folders, mbox, Maildir), decoded headers, attachment parts.

Nothing here writes files. Every message is parsed with `email.policy.default`, which decodes RFC 2047
headers and RFC 2231 parameters. Problems are returned as Vietnamese text, never raised.
"""

from __future__ import annotations

import email
import email.errors
import mailbox
import os
import unicodedata
from datetime import datetime, timezone
from email.header import decode_header, make_header
from email.message import Message
from email.policy import default as POLICY
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Iterator

from cchc_excel.core.text import clean_text

MAX_NESTING = 8  # how deep we follow forwards of forwards and nested multiparts
MIME_DEFECTS = (
    email.errors.NoBoundaryInMultipartDefect,
    email.errors.StartBoundaryNotFoundDefect,
    email.errors.MultipartInvariantViolationDefect,
)
BASE64_DEFECTS = (
    email.errors.InvalidBase64CharactersDefect,
    email.errors.InvalidBase64PaddingDefect,
    email.errors.InvalidBase64LengthDefect,
)


def header_text(text: str) -> str:
    """Text to put in a header we write: RFC 2047 encoded words decoded first (as the reader's mail
    program would decode them; a roster cell may hold one that decodes to CR LF and a `Bcc:`), then
    cleaned by `clean_text`. What still looks like an encoded word is broken up, so that nothing is
    decoded twice."""
    text = text or ""
    for _ in range(4):  # an encoded word may hold another one
        if "=?" not in text:
            break
        try:
            decoded = str(make_header(decode_header(text)))
        except Exception:  # not a valid encoded word: kept as text
            break
        if decoded == text:
            break
        text = decoded
    return clean_text(text).replace("=?", "= ?")


def _raw(msg: Message, name: str) -> str | None:
    return next((str(v) for k, v in msg.raw_items() if k.lower() == name.lower()), None)


def header(msg: Message, name: str) -> str:
    """A header decoded (RFC 2047) and cleaned; "" if absent."""
    try:
        value = msg.get(name)
        return clean_text(str(value)) if value is not None else ""
    except Exception:  # a header the policy cannot parse: fall back to its raw text
        return clean_text(_raw(msg, name) or "")


def sender(msg: Message) -> str:
    """`Display Name <address>` of the first From address, or just the address."""
    try:
        addresses = msg["From"].addresses if msg["From"] is not None else ()
    except Exception:
        addresses = ()
    if not addresses:
        return header(msg, "From")
    name, addr = clean_text(addresses[0].display_name or ""), clean_text(addresses[0].addr_spec or "")
    return f"{name} <{addr}>" if name and addr else (addr or name)


def message_date(msg: Message) -> tuple[datetime | None, str]:
    """The Date header as an aware datetime (UTC when the zone is unknown), and a problem text or ""."""
    raw = _raw(msg, "Date")
    if not (raw or "").strip():
        return None, "thiếu ngày gửi (Date)"
    try:
        date = parsedate_to_datetime(" ".join(raw.split()))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None, f"ngày gửi không hợp lệ «{clean_text(raw)}»"
    return (date if date.tzinfo else date.replace(tzinfo=timezone.utc)), ""


def attachment_name(part: Message) -> str:
    """The part's file name (RFC 2231 or RFC 2047 decoded, NFC), or ""."""
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    if "=?" in name:  # encoded words left inside a quoted parameter (some mail programs do this)
        try:
            name = str(make_header(decode_header(name)))
        except Exception:
            pass
    return unicodedata.normalize("NFC", name)


def leaf_parts(msg: Message, subject: str, depth: int = 0) -> Iterator[tuple[Message | None, str]]:
    """Non-multipart parts with the subject to record, walking into forwarded messages; (None, subject)
    for a part nested deeper than MAX_NESTING, which is not walked into.

    A forward (message/rfc822 part, or an attached `.eml`) keeps the outer `subject` unless it is empty,
    in which case the inner message's subject is used.
    """
    if depth > MAX_NESTING:
        yield None, subject
        return
    forwarded = msg.get_content_type() == "message/rfc822" or (
        depth > 0 and not msg.is_multipart() and attachment_name(msg).lower().endswith(".eml"))
    if forwarded:
        payload = msg.get_payload()
        if isinstance(payload, list):
            inner = payload[0] if payload else None
        else:
            inner = email.message_from_bytes(msg.get_payload(decode=True) or b"", policy=POLICY)
        if inner is not None:
            yield from leaf_parts(inner, subject or header(inner, "Subject"), depth + 1)
    elif msg.is_multipart():
        for sub in msg.get_payload():
            yield from leaf_parts(sub, subject, depth + 1)
    else:
        yield msg, subject


def message_problems(msg: Message) -> list[str]:
    """What is wrong with a message as a whole (not its date or its attachments)."""
    if not msg.keys():
        return ["không phải thư điện tử (không có phần đầu thư)"]
    out = []
    defects = [d for part in msg.walk() for d in part.defects]
    if any(isinstance(d, MIME_DEFECTS) for d in defects):
        out.append("cấu trúc MIME bị lỗi")
    if any(isinstance(d, email.errors.CloseBoundaryNotFoundDefect) for d in defects):
        out.append("thư bị cắt cụt (thiếu ranh giới MIME cuối), tệp đính kèm cuối có thể không đủ")
    if "From" not in msg:
        out.append("thiếu người gửi (From)")
    return out


# ---------------------------------------------------------------- sources

def _is_maildir(path: Path) -> bool:
    return all((path / d).is_dir() for d in ("cur", "new", "tmp"))


def _is_mbox(path: Path) -> bool:
    if path.suffix.lower() in (".mbox", ".eml"):
        return path.suffix.lower() == ".mbox"
    with open(path, "rb") as f:
        return f.read(5) == b"From "


def _expand(source: Path) -> Iterator[tuple[str, Path]]:
    """(kind, path) for each mail file or mailbox under `source`; kind is eml, mbox or maildir."""
    if source.is_dir():
        if _is_maildir(source):
            yield "maildir", source
            return
        for root, dirs, files in os.walk(source):
            here = Path(root)
            boxes = {d for d in dirs if _is_maildir(here / d)}
            for d in sorted(boxes):
                yield "maildir", here / d
            dirs[:] = sorted(set(dirs) - boxes)
            for f in sorted(files):
                if f.lower().endswith((".eml", ".mbox")):
                    yield ("mbox" if f.lower().endswith(".mbox") else "eml"), here / f
    elif source.is_file():
        yield ("mbox" if _is_mbox(source) else "eml"), source
    else:
        raise FileNotFoundError(source)


def _messages(kind: str, path: Path) -> Iterator[tuple[str, Message | str]]:
    if kind == "eml":
        try:
            with open(path, "rb") as f:
                yield str(path), email.message_from_binary_file(f, policy=POLICY)
        except Exception as e:
            yield str(path), f"không đọc được thư ({type(e).__name__}: {e})"
        return
    box = mailbox.mbox(path, create=False) if kind == "mbox" else mailbox.Maildir(path, create=False)
    keys = list(box.keys()) if kind == "mbox" else sorted(box.keys())
    for i, key in enumerate(keys, 1):
        where = f"{path}#{i if kind == 'mbox' else key}"
        try:
            yield where, email.message_from_bytes(box.get_bytes(key), policy=POLICY)
        except Exception as e:
            yield where, f"không đọc được thư ({type(e).__name__}: {e})"


def read_source(source: Path) -> Iterator[tuple[str, Message | str]]:
    """(where, message) for every message in one SOURCE, or (where, Vietnamese problem) for what failed.

    `where` is the .eml path, `mbox-path#N` (N from 1) or `maildir-path#key`. A missing or unreadable
    source, or one holding no mail, yields a single problem.
    """
    try:
        boxes = list(_expand(source))
    except FileNotFoundError:
        yield str(source), "không tìm thấy tệp hoặc thư mục"
        return
    except OSError as e:
        yield str(source), f"không đọc được ({e.strerror or e})"
        return
    count = 0
    for kind, path in boxes:
        try:
            for item in _messages(kind, path):
                count += 1
                yield item
        except Exception as e:  # the mailbox itself cannot be read
            count += 1
            yield str(path), f"không đọc được hộp thư ({type(e).__name__}: {e})"
    if not count:
        yield str(source), "không có thư nào (.eml, mbox hoặc Maildir)"
