"""A lock between processes, the same on Linux, macOS and Windows: a lock file made with an exclusive
create (`O_CREAT | O_EXCL`) beside the file it guards, removed when the block ends.

A lock left by a run that died is broken when its holder is known to be gone (same machine, no such
process; checked on POSIX only: on Windows `os.kill` would terminate the process) or when it is older
than `stale_after` seconds. Hold it for short steps (one send, one append), not for a whole run.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path

from cchc_excel.errors import CchcError

STALE_AFTER = 600.0
_POLL = 0.02


def lock_path(path: str | Path) -> Path:
    """`.manifest.csv.lock` beside `manifest.csv`."""
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


@contextlib.contextmanager
def file_lock(path: str | Path, *, stale_after: float = STALE_AFTER, wait: float = 3600.0):
    """Hold the lock of `path` (the file it guards) for the block; waits while another process holds it.
    The folder is created if needed.

    Raises:
        CchcError: when the lock cannot be made (folder not writable) or is still held after `wait` s.
    """
    lock = lock_path(path)
    token = f"{os.getpid()} {socket.gethostname()} {time.time():.3f}\n".encode()
    give_up = time.monotonic() + wait
    while True:
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            seen = _stale(lock, stale_after)
            if seen is not None:
                _break(lock, seen)
            elif time.monotonic() > give_up:
                raise CchcError(f"{lock}: tệp đang bị một lần chạy khác giữ; hãy chờ nó xong rồi chạy lại.")
            else:
                time.sleep(_POLL)
            continue
        except PermissionError as e:
            # Windows refuses to create a file whose deletion by its last holder is still pending.
            if os.name != "nt" or time.monotonic() > give_up:
                raise CchcError(f"{lock}: không tạo được tệp khóa ({e.strerror or e})") from e
            time.sleep(_POLL)
            continue
        except OSError as e:
            raise CchcError(f"{lock}: không tạo được tệp khóa ({e.strerror or e})") from e
        break
    try:
        os.write(fd, token)
    finally:
        os.close(fd)
    try:
        yield lock
    finally:
        with contextlib.suppress(OSError):
            if lock.read_bytes() == token:  # never remove a lock another process took after breaking ours
                os.unlink(lock)


def _stale(lock: Path, stale_after: float) -> bytes | None:
    """The content of `lock` when it is stale, else None."""
    try:
        age = time.time() - lock.stat().st_mtime
        content = lock.read_bytes()
    except OSError:  # gone already: look again
        return None
    if age > stale_after:  # also a lock its holder died before writing its name into
        return content
    try:
        pid, host = content.decode("ascii", "replace").split()[:2]
    except ValueError:  # being written: look again
        return None
    if os.name == "posix" and host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return content
        except OSError:  # it exists but belongs to another user
            return None
    return None


def _break(lock: Path, seen: bytes) -> None:
    """Remove the stale lock whose content was `seen`: renamed aside first, and put back if another
    waiter broke it meanwhile and what was renamed is a live lock."""
    aside = lock.with_name(f"{lock.name}.{os.getpid()}.stale")
    with contextlib.suppress(OSError):
        os.replace(lock, aside)
        if aside.read_bytes() != seen:
            with contextlib.suppress(OSError):
                os.link(aside, lock)  # fails if yet another lock is there: that one holds
        os.unlink(aside)
