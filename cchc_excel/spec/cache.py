"""Validated form specs kept on disk, so that a command checking one file does not parse and validate the
YAML again (about 40 ms of its start) nor import the YAML library.

One pickle per spec in `$XDG_CACHE_HOME/cchc_excel` (default `~/.cache/cchc_excel`), named by the sha256
of the YAML file's name and bytes and of the code that builds and holds a spec (the sources of `core/`, `spec/` and
`errors.py`, and the Python version): another version of the package, or any edited module, never reads
an old pickle. A pickle that cannot be read is ignored and written again; a folder that cannot be written
only costs the time. Loading a pickle runs code, so only a file owned by this user is read: whoever can
put one there can already run code as this user.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from functools import lru_cache
from pathlib import Path

KEEP = 16  # pickles kept, the newest: one per spec file in use is plenty
_ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cchc_excel"


@lru_cache(maxsize=1)
def _code_digest() -> bytes:
    digest = hashlib.sha256(f"{sys.version_info[:3]} {pickle.HIGHEST_PROTOCOL}".encode())
    for path in [*sorted((_ROOT / "core").glob("*.py")), *sorted((_ROOT / "spec").glob("*.py")),
                 _ROOT / "errors.py"]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.digest()


def _path(key: bytes) -> Path:
    return cache_dir() / f"spec-{hashlib.sha256(_code_digest() + key).hexdigest()[:40]}.pickle"


def load(key: bytes, kind: type):
    """The `kind` object stored for `key` (the YAML file's name and bytes), or None."""
    try:
        with open(_path(key), "rb") as f:
            if hasattr(os, "getuid") and os.fstat(f.fileno()).st_uid != os.getuid():
                return None
            obj = pickle.load(f)
    except Exception:  # absent, truncated, written by other code: the caller builds the spec again
        return None
    return obj if type(obj) is kind else None


def store(key: bytes, obj) -> None:
    """Keep `obj` for `key` (atomically); the oldest pickles beyond `KEEP` are removed."""
    from cchc_excel.core.atomic import write_bytes_atomic

    folder = cache_dir()
    try:
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_bytes_atomic(_path(key), data, sync_folder=False)  # a lost rename is only a miss
        old = sorted(folder.glob("spec-*.pickle"), key=lambda p: p.stat().st_mtime_ns, reverse=True)[KEEP:]
        for path in old:
            path.unlink(missing_ok=True)
    except (OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
        pass  # no cache: the next start parses the YAML again
