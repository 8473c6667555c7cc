"""What the page remembers for next time (the sender of the letters, the mail server): a small JSON file
in the workspace folder, `cai-dat.json`, one object per section. Never a password: `save_settings`
refuses any key that names one, so that no secret is ever written to disk."""

from __future__ import annotations

import json
from pathlib import Path

from cchc_excel.core.atomic import write_bytes_atomic
from cchc_excel.errors import CchcError

SETTINGS_NAME = "cai-dat.json"
_SECRET_WORDS = ("password", "mat_khau", "secret")


def load_settings(folder: str | Path, section: str) -> dict:
    """The remembered values of `section` ({} when nothing is remembered or the file is unreadable:
    the page then simply asks again)."""
    try:
        doc = json.loads((Path(folder) / SETTINGS_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    values = doc.get(section) if isinstance(doc, dict) else None
    return {str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else {}


def save_settings(folder: str | Path, section: str, values: dict) -> None:
    """Remember `values` (text) as `section`, replacing what it held; written atomically.

    Raises:
        ValueError: a key names a password (a programming error: secrets stay in memory).
        CchcError: the file cannot be written.
    """
    if any(word in key.lower() for key in values for word in _SECRET_WORDS):
        raise ValueError("a password is never written to the workspace")
    path = Path(folder) / SETTINGS_NAME
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc = doc if isinstance(doc, dict) else {}
    except (OSError, ValueError):
        doc = {}
    doc[section] = {str(k): str(v) for k, v in values.items()}
    try:
        write_bytes_atomic(path, json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8"))
    except OSError as e:
        raise CchcError(f"{path}: không ghi được cài đặt ({e.strerror or e}).") from e
