"""The content-addressed store of every file received: `files/ab/cdef...` named by the sha256 of its
bytes, written to a temporary file, fsynced and renamed into place before its row is committed, and never
modified afterwards. The same bytes received twice are stored once."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cchc_excel.core.atomic import write_bytes_atomic
from cchc_excel.errors import CchcError
from cchc_excel.merge.outputs import os_reason  # the words for a full disk, a read-only folder, ...

FILES = "files"


class StoreError(CchcError):
    "A received file could not be stored (a full disk, a read-only folder): it is not in the workspace."


class Store:
    """The files of a workspace folder `root`."""

    def __init__(self, root: str | Path):
        self.root = Path(root) / FILES

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:]

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def put(self, data: bytes, name: str = "") -> str:
        """Store `data` durably; its sha256. An existing copy is kept as it is (same bytes, same name).

        Raises:
            StoreError: naming `name` and why (nothing is left behind: the temporary file is removed).
        """
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.is_file():
            return digest
        try:
            # a temporary file beside the target, fsynced, renamed, the folder fsynced; another process
            # storing the same bytes at once renames the same content onto the same name
            write_bytes_atomic(target, data)
        except OSError as e:
            raise StoreError(f"{name or digest}: không lưu được tệp vào thư mục làm việc ({os_reason(e)}); tệp "
                             "chưa được nhận, hãy gửi lại sau.") from e
        return digest

    def leftovers(self) -> list[Path]:
        """Temporary files of writes that never finished (a process killed mid-upload)."""
        return sorted(self.root.glob("*/.*.tmp"))

    def digests(self) -> set[str]:
        """The sha256 of every file stored."""
        if not self.root.is_dir():
            return set()
        return {f"{d.name}{f.name}" for d in self.root.iterdir() if d.is_dir()
                for f in d.iterdir() if not f.name.startswith(".")}
