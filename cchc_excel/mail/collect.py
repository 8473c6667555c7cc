"""Collect the returns units email back into one folder, with a manifest of who sent what, when.

Sources are `.eml` files, folders of them (searched recursively), mbox files and Maildir folders.
Every attachment that may be a return (a workbook, a Word report, a zip of them) is saved once (by SHA-256 of its content, across runs) under a safe,
unique name inside the output folder; `manifest.csv` there records sender, date and subject.
Problems with one message or one source are reported as data and never stop the rest.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from email.message import Message
from pathlib import Path
from typing import Iterable

from cchc_excel.mail.inbox import (BASE64_DEFECTS, MAX_NESTING, attachment_name, header, leaf_parts,
                           message_date, message_problems, read_source, sender)
from cchc_excel.core.atomic import write_bytes_atomic
from cchc_excel.core.text import RETURN_SUFFIXES, clean_text
from cchc_excel.core.manifest import MANIFEST_NAME, SavedAttachment, read_manifest, write_manifest  # noqa: F401
from cchc_excel.errors import CchcError

# The content types of returns (`check` reads each; a Word file without Phụ lục I gets its line there).
RETURN_MIME = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.12": ".xlsm",
    "application/vnd.ms-excel": ".xls",
    "application/excel": ".xls",
    "application/x-excel": ".xls",
    "application/x-msexcel": ".xls",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/msword": ".doc",
    "application/zip": ".zip",
    "application/x-zip-compressed": ".zip",
}
DEFAULT_STEM = "tep-dinh-kem"
TOO_DEEP = (f"có phần thư lồng nhau quá {MAX_NESTING} lớp (thư chuyển tiếp trong thư chuyển tiếp…): tệp "
            f"đính kèm trong đó chưa được lưu, hãy mở thư và lưu tay")
MAX_NAME_BYTES = 180  # leaves room for "-NNN" and stays far below the usual 255-byte limit
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{p}{d}" for p in ("COM", "LPT") for d in "0123456789¹²³"
}
_WINDOWS_BAD = re.compile(r'[<>:"/\\|?*]')


@dataclass(frozen=True)
class Skipped:
    """An attachment not saved; `reason` is Vietnamese, for the official."""

    source: str
    subject: str
    name: str
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CollectResult:
    """What a `collect` run did. `problems` has one Vietnamese line per malformed message or bad source."""

    saved: list[SavedAttachment] = field(default_factory=list)
    duplicates: list[SavedAttachment] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "saved": [s.to_dict() for s in self.saved],
            "duplicates": [s.to_dict() for s in self.duplicates],
            "skipped": [s.to_dict() for s in self.skipped],
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class _Envelope:
    """What is recorded about the message an attachment came in (outer message for forwards)."""

    source: str
    sender: str
    date: datetime | None
    subject: str
    message_id: str




# ---------------------------------------------------------------- names

def _split_ext(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if dot and "." + ext.lower() in RETURN_SUFFIXES:
        return stem, "." + ext.lower()
    return name, ""


def safe_filename(name: str, default_ext: str = ".xlsx") -> str:
    """A plain file name (no directory part) safe on Linux, macOS and Windows; keeps Vietnamese letters.

    The extension is kept when it is one of a return (a workbook, a Word report, a zip), otherwise `default_ext` is appended.
    """
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/")
    name = name.rsplit("/", 1)[-1]
    name = re.sub(r"^[A-Za-z]:", "", name)
    name = _WINDOWS_BAD.sub("_", clean_text(name))
    stem, ext = _split_ext(name)
    ext = ext or default_ext
    stem = stem.strip(" .")
    if not stem:
        stem = DEFAULT_STEM
    if stem.split(".", 1)[0].strip().upper() in _RESERVED:
        stem = "_" + stem
    limit = MAX_NAME_BYTES - len(ext.encode())
    stem = stem.encode("utf-8")[:limit].decode("utf-8", "ignore")
    return stem.rstrip(" .") + ext


def _claim_name(name: str, taken: set[str], out_dir: Path) -> str:
    """`name`, or `stem-2.ext`, `stem-3.ext`, ... the first not taken (case-insensitively) nor on disk,
    claimed by creating it empty with an exclusive create: another run saving into the same folder at
    the same time can never get the same name (the file's bytes replace the empty one afterwards)."""
    stem, ext = _split_ext(name)
    candidate, n = name, 1
    while True:
        if candidate.casefold() not in taken:
            try:
                os.close(os.open(out_dir / candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
                return candidate
            except FileExistsError:  # on disk already (ours from before, or another run's just now)
                taken.add(candidate.casefold())
        n += 1
        candidate = f"{stem}-{n}{ext}"


# ---------------------------------------------------------------- files

class _Collector:
    def __init__(self, out_dir: Path, max_bytes: int):
        self.out_dir, self.max_bytes = out_dir, max_bytes
        self.result = CollectResult()
        known = read_manifest(out_dir)
        # content whose file was deleted since is saved again, under a new name
        self.by_sha = {s.sha256: n for n, s in known.items() if (out_dir / n).exists()}
        self.taken = {n.casefold() for n in [*os.listdir(out_dir), *known]}

    def message(self, msg: Message, source: str) -> None:
        issues = message_problems(msg)
        subject = header(msg, "Subject")
        date, date_problem = message_date(msg) if msg.keys() else (None, "")
        issues += [date_problem] if date_problem else []
        env = _Envelope(source, sender(msg), date, subject, header(msg, "Message-ID"))
        for part, part_subject in leaf_parts(msg, subject):
            if part is None:
                issues += [TOO_DEEP] if TOO_DEEP not in issues else []
            else:
                self.attachment(part, replace(env, subject=part_subject), issues)
        if issues:
            shown = f" (tiêu đề «{subject}»)" if subject else ""
            self.result.problems.append(f"{source}{shown}: thư bị lỗi: " + "; ".join(issues))

    def attachment(self, part: Message, env: _Envelope, issues: list[str]) -> None:
        name, ctype = attachment_name(part), part.get_content_type()
        shown = name or ctype
        skip = lambda reason: self.result.skipped.append(Skipped(env.source, env.subject, shown, reason))
        if not _split_ext(name)[1] and ctype not in RETURN_MIME:
            if name or (part.get_content_disposition() or "").lower() == "attachment":
                skip("không phải bảng tính hay báo cáo Word")
            return  # otherwise the message body, an inline picture, a signature
        before = len(part.defects)
        data = part.get_payload(decode=True) or b""
        if any(isinstance(d, BASE64_DEFECTS) for d in part.defects[before:]):
            issues.append(f"tệp đính kèm «{shown}» bị hỏng (mã base64 sai)")
            return skip("nội dung bị hỏng (mã base64 sai)")
        if len(data) > self.max_bytes:
            return skip(f"quá lớn ({len(data) / 2**20:.1f} MB, tối đa {self.max_bytes / 2**20:.1f} MB)")
        if not data:
            return skip("tệp rỗng")
        sha = hashlib.sha256(data).hexdigest()
        record = dict(sender=env.sender, date=env.date, subject=env.subject, original_name=name,
                      sha256=sha, size=len(data), message_id=env.message_id, source=env.source)
        if sha in self.by_sha:
            self.result.duplicates.append(SavedAttachment(saved_name=self.by_sha[sha], **record))
            return
        saved = self._save(safe_filename(name, RETURN_MIME.get(ctype, ".xlsx")), data)
        self.by_sha[sha] = saved
        self.result.saved.append(SavedAttachment(saved_name=saved, **record))

    def _save(self, name: str, data: bytes) -> str:
        """Save `data` under `name` or the first free variant of it; the name saved."""
        if (self.out_dir / name).parent != self.out_dir or Path(name).name != name or name in (".", ".."):
            raise CchcError(f"{self.out_dir / name}: tên tệp không an toàn")  # cannot happen: safe_filename
        try:
            saved = _claim_name(name, self.taken, self.out_dir)
        except OSError as e:
            raise CchcError(f"{self.out_dir / name}: không ghi được tệp ({e.strerror or e})") from e
        target = self.out_dir / saved
        self.taken.add(saved.casefold())
        try:
            write_bytes_atomic(target, data)
        except BaseException as e:
            with contextlib.suppress(OSError):
                os.unlink(target)  # the empty claim
            if isinstance(e, OSError):
                raise CchcError(f"{target}: không ghi được tệp ({e.strerror or e})") from e
            raise
        return saved


def collect(sources: Iterable[Path], out_dir: Path, *,
            max_attachment_bytes: int = 25 * 2**20) -> CollectResult:
    """Save every spreadsheet attached to the messages in `sources` into `out_dir`; see the module doc.

    Raises CchcError only when `out_dir` cannot be used (not writable, manifest unreadable).
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CchcError(f"{out_dir}: không tạo được thư mục ({e.strerror or e})") from e
    collector = _Collector(out_dir, max_attachment_bytes)
    problems = collector.result.problems
    try:
        for source in sources:
            for where, msg in read_source(Path(source)):
                if isinstance(msg, str):
                    problems.append(f"{where}: {msg}")
                    continue
                try:
                    collector.message(msg, where)
                except CchcError:
                    raise
                except Exception as e:  # one broken message never stops the rest
                    problems.append(f"{where}: không đọc được thư ({type(e).__name__}: {e})")
    finally:
        if collector.result.saved:
            write_manifest(out_dir, collector.result.saved)
    return collector.result
