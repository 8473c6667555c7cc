"""Writing a round's drafts into the outbox: every file atomic and fsynced, the folder fsynced once.

`drafting(folder)` is the block in which a round writes its templates and messages. Every file is written
to a temporary name, fsynced and renamed (`core.atomic`), but the folder is fsynced once when the block
ends rather than after each rename: until then a crash can lose a rename, leaving that file absent or as
it was, never half-written. The block ends before anything is sent, so a message is durable before the
send log names it; the log itself is still synced on every line (`core.atomic.append_csv`).

The messages are written by a thread of the block (`DraftWriter`), so that the next unit's template and
message are made while one message is on its way to the disk (an fsync waits for the disk, not for the
processor).
"""

from __future__ import annotations

import contextlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cchc_excel.core.atomic import fsync_folder, write_bytes_atomic
from cchc_excel.errors import CchcError


class DraftWriter:
    """Writes messages one after the other on a thread of its own, at most `DEPTH` waiting.

    `write` raises the error of an earlier message; `close` waits for the others and raises the first
    error among them.
    """

    DEPTH = 4

    def __init__(self):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cchc-outbox")
        self._pending: deque = deque()

    def write(self, path: Path, data: bytes) -> None:
        """
        Raises:
            CchcError: an earlier message could not be written.
        """
        self._pending.append((path, self._pool.submit(write_bytes_atomic, path, data, sync_folder=False)))
        while len(self._pending) > self.DEPTH:
            _written(*self._pending.popleft())

    def close(self, check: bool = True) -> None:
        """Wait for every message; with `check`, raise the first error (CchcError)."""
        try:
            while self._pending:
                path, future = self._pending.popleft()
                if check:
                    _written(path, future)
                else:
                    future.exception()  # only waited for: another error is on its way out
        finally:
            self._pool.shutdown(wait=True)


def _written(path: Path, future) -> None:
    try:
        future.result()
    except OSError as e:
        raise CchcError(f"{path}: không ghi được thư ({e.strerror or e})") from e


@contextlib.contextmanager
def drafting(folder: Path):
    """The block that writes a round's files into `folder`: gives the `DraftWriter` of its messages;
    at the end waits for them and fsyncs the folder once.

    Raises:
        CchcError: a message could not be written.
    """
    writer, ended = DraftWriter(), False
    try:
        yield writer
        ended = True
    finally:
        try:
            writer.close(check=ended)
        finally:
            fsync_folder(Path(folder))
