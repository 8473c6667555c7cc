"""What the page remembers for next time (the sender of the letters, the mail server): one JSON object per
section in the workspace's settings table (`Workspace.setting`), beside its own unit. Never a password:
`save_settings` refuses any key that names one, so that no secret is ever written to disk."""

from __future__ import annotations

import json

from cchc_excel.workspace.space import Workspace

_SECRET_WORDS = ("password", "mat_khau", "secret")


def load_settings(ws: Workspace, section: str) -> dict:
    """The remembered values of `section` ({} when nothing is remembered or the value is unreadable:
    the page then simply asks again)."""
    try:
        values = json.loads(ws.setting(section, "{}"))
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else {}


def save_settings(ws: Workspace, section: str, values: dict) -> None:
    """Remember `values` (text) as `section`, replacing what it held, in one transaction.

    Raises:
        ValueError: a key names a password (a programming error: secrets stay in memory).
    """
    if any(word in key.lower() for key in values for word in _SECRET_WORDS):
        raise ValueError("a password is never written to the workspace")
    ws.set_setting(section, json.dumps({str(k): str(v) for k, v in values.items()}, ensure_ascii=False))
