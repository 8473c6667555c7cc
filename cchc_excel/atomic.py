"""Atomic outputs: every file this package writes goes to a temporary file in the target folder and is
renamed into place only when complete, so an interrupted run never leaves a half-written file (and never
replaces a good one with a broken one)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

# The process umask, read once (os.umask can only be read by setting it): temporary files are created
# 0600 by mkstemp, and get the permissions an ordinary open() would have given before the rename.
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_file(path: str | Path):
    """A binary file to write `path` through: renamed into place when the block ends without error,
    removed otherwise. The folder is created if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o666 & ~_UMASK)
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically (see `atomic_file`); returns the path."""
    with atomic_file(path) as f:
        f.write(data)
    return Path(path)
