"""Returns sent as a .zip: its members, read into memory under the gate's limits, never extracted.

Units often zip their return (or several) before attaching it. Each member is a return of its own, shown
as `archive.zip!inner.xlsx` (`member_path`). Folders inside the zip become part of that name
(`archive.zip!Báo cáo!inner.xlsx`): a name inside a zip never becomes a path on disk, and the archive's
name stays in every file name derived from a member's (feedback files, aggregate's list of files).

The archive passes the gate's bomb limits first (`gate.check_zip_limits`: number of members, declared
sizes, compression ratio, encryption); each member read is bounded by the size its central directory
declares and by `Limits.max_file_bytes`, one at a time.
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

from cchc_excel.errors import UnreadableFile
from cchc_excel.ooxml.gate import Limits, abnormal, check_zip_limits, mb

__all__ = ["Archive", "MEMBER_SEP", "member_path", "outer_file"]

MEMBER_SEP = "!"
_UTF8_NAME = 0x800  # general purpose flag: the member's name is UTF-8 (else cp437, by the zip spec)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Damaged data, as zipfile and zlib report it (a bad CRC, an unknown compression method, a cut-off file).
_BROKEN = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError, RuntimeError,
           OSError)


def member_path(archive: str | Path, name: str) -> str:
    """How a member of `archive` is shown: `archive.zip!inner.xlsx`, folders inside the zip joined by `!`
    too, control characters replaced by `?`."""
    parts = [p for p in re.split(r"[/\\]+", _CONTROL.sub("?", name)) if p not in ("", ".")]
    return f"{archive}{MEMBER_SEP}{MEMBER_SEP.join(parts) or '?'}"


def outer_file(path: str | Path) -> str:
    """The file on disk behind a path `member_path` made (the archive); `path` itself otherwise."""
    text = str(path)
    if MEMBER_SEP not in text or os.path.isfile(text):
        return text
    at = text.find(MEMBER_SEP)
    while at != -1:
        if os.path.isfile(text[:at]):
            return text[:at]
        at = text.find(MEMBER_SEP, at + 1)
    return text


def _decoded_name(info: zipfile.ZipInfo) -> str:
    """The member's name; one without the UTF-8 flag that is valid UTF-8 read as such (7-Zip, macOS and
    many mail programs write UTF-8 names without setting the flag; zipfile then decodes them as cp437)."""
    if info.flag_bits & _UTF8_NAME:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


class Archive:
    """A zip of returns, open and checked against the gate's limits; `members` is [(shown path, info)] of
    its files (folders left out), in order of their shown paths. Use as a context manager.

    Raises:
        UnreadableFile: naming the archive, when it is too large, built like a zip bomb, encrypted or
            damaged, or holds no file at all.
    """

    def __init__(self, path: str | Path, limits: Limits = Limits()):
        self.path, self.limits = str(path), limits
        name = Path(path).name
        try:
            size = os.path.getsize(path)
            if size > limits.max_file_bytes:
                raise abnormal(name, f"dung lượng {mb(size)}, quá lớn (giới hạn {mb(limits.max_file_bytes)})")
            self.zip = zipfile.ZipFile(path)
        except _BROKEN as e:
            raise UnreadableFile(f'Tệp nén "{name}" bị hỏng hoặc không đầy đủ; hãy đề nghị đơn vị gửi lại.') from e
        try:
            infos = check_zip_limits(self.zip, name, limits)
        except BaseException:
            self.zip.close()
            raise
        self.members = sorted(((member_path(self.path, _decoded_name(i)), i) for i in infos if not i.is_dir()),
                              key=lambda m: m[0])
        if not self.members:
            self.zip.close()
            raise UnreadableFile(f'Tệp nén "{name}" không chứa tệp nào; hãy đề nghị đơn vị gửi lại.')

    def read(self, shown: str, info: zipfile.ZipInfo) -> bytes:
        """The bytes of member `info` (shown as `shown`); raises `UnreadableFile` naming it when it is larger
        than a return may be or cannot be inflated."""
        name = Path(shown).name
        limit = self.limits.max_file_bytes
        if info.file_size > limit:
            raise abnormal(name, f"giải nén ra {mb(info.file_size)}, quá lớn (giới hạn {mb(limit)})")
        from cchc_excel.read.workbook_io import read_member  # python-calamine: imported when needed

        try:
            return read_member(self.zip, info)
        except _BROKEN as e:
            raise UnreadableFile(f'Tệp "{name}" trong tệp nén bị hỏng, không giải nén được; hãy đề nghị '
                                 'đơn vị gửi lại.') from e

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
