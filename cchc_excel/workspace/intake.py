"""What a workspace receives, before it is checked: each file with its source and, where one is known, a
better received time than its upload's: the `Date:` of the message (`.eml`, `.mbox`) it came in, or the
time `cchc collect`'s `manifest.csv` gives the files of a folder. A message's attachments are received as
files of their own; a folder is only read, never written."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator

from cchc_excel.core.text import RETURN_SUFFIXES
from cchc_excel.errors import CchcError

MAIL_SUFFIXES = (".eml", ".mbox")
MAX_FOLDER_FILE = 25 * 1024 * 1024  # as an upload: a folder may hold a film beside the returns


@dataclass(frozen=True)
class Incoming:
    """One file to store and check; `received_at` None: the time it is stored."""

    name: str
    data: bytes
    source: str = "upload"
    received_at: datetime | None = None


def is_mail(name: str) -> bool:
    return name.lower().endswith(MAIL_SUFFIXES)


def mail_attachments(mail: Incoming) -> Iterator[Incoming | str]:
    """The returns attached to the message(s) of `mail` (`cchc collect`'s reading, in a temporary folder),
    each dated by its message; a Vietnamese line for what could not be taken."""
    from cchc_excel.mail.collect import collect

    with tempfile.TemporaryDirectory(prefix="cchc-thu-") as tmp:
        source = Path(tmp) / ("thu" + Path(mail.name).suffix.lower())
        source.write_bytes(mail.data)
        out = Path(tmp) / "tep"
        result = collect([source], out)
        for saved in result.saved:
            yield Incoming(saved.saved_name, (out / saved.saved_name).read_bytes(), "mail", saved.date)
        for problem in result.problems:
            yield problem.replace(str(source), mail.name)
        for skipped in result.skipped:
            yield f"{mail.name}: tệp đính kèm «{skipped.name}» không được nhận ({skipped.reason})."
        if not result.saved and not result.duplicates and not result.problems:
            yield f"{mail.name}: thư không có tệp báo cáo đính kèm ({', '.join(RETURN_SUFFIXES)})."


class FolderScan:
    """Every file under `folder` as `cchc check` finds them (its manifest left out), named by its path
    inside it, dated by the manifest of `cchc collect` beside it; a file whose real path lies outside
    `folder` (a link) is not read. `len()` is how many files were found; iterating reads them one by one.

    Raises:
        CchcError: `folder` is not a folder that can be read.
    """

    def __init__(self, folder: str | Path, *, max_bytes: int = MAX_FOLDER_FILE):
        from cchc_excel.check.run import find_files
        from cchc_excel.merge.run import received_times

        given = Path(folder).expanduser()
        if not given.is_dir():
            raise CchcError(f"{folder}: không có thư mục này trên máy (hoặc không phải thư mục).")
        self.root = given.resolve()
        self.paths = [Path(p) for p in find_files([self.root])]
        self.dates = received_times(self.paths)
        self.max_bytes = max_bytes

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[Incoming | str]:
        for path in self.paths:
            yield self._read(path)

    def _read(self, path: Path) -> Incoming | str:
        name = path.relative_to(self.root).as_posix()
        real = path.resolve()
        if not real.is_relative_to(self.root):
            return f"{name}: là liên kết tới một tệp ngoài thư mục đã chọn, không được đọc."
        try:
            if real.stat().st_size > self.max_bytes:
                return f"{name}: tệp quá lớn (tối đa {self.max_bytes // 2**20} MB), không được nhận."
            data = real.read_bytes()
        except OSError as e:
            return f"{name}: không đọc được ({e.strerror or e})."
        return Incoming(name.replace("/", "_"), data, "folder", self.dates.get(str(real)))
