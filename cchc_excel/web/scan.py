"""Scanning a folder of this computer from the page: only for a browser on the server's own computer
(the path names a folder of it, which a colleague's browser cannot see, and the page's password is no
right to read its disk), read only, and each file's result streamed as it is checked."""

from __future__ import annotations

import json

from flask import abort, current_app

from cchc_excel.errors import CchcError
from cchc_excel.web.app import from_this_computer
from cchc_excel.workspace.intake import FolderScan
from cchc_excel.workspace.space import gathered

REFUSED = ("Chỉ quét được thư mục khi mở trang trên chính máy chạy chương trình (địa chỉ 127.0.0.1); từ máy "
           "khác, hãy kéo thả các tệp vào ô phía trên.")


def scan_or_abort(path: str) -> FolderScan:
    """The files of the folder `path` typed on the page; 403 from another computer, 400 for a bad path."""
    if not from_this_computer():
        abort(403, REFUSED)
    path = (path or "").strip().strip('"')  # Windows' "Copy as path" quotes it
    if not path:
        abort(400, "Hãy nhập đường dẫn của thư mục cần quét (ví dụ D:\\BaoCao\\2023-Q2).")
    try:
        return FolderScan(path, max_bytes=current_app.config["MAX_FILE"])  # the same bound as an upload
    except CchcError as e:
        abort(400, str(e))


def stream_lines(ws, period, scan: FolderScan):
    """NDJSON: `{"total": N}` first, then per file found `{"done": n, "total": N, "files": [...],
    "problems": [...]}` as soon as it is checked and committed (a message: all its attachments)."""
    total = len(scan)
    yield json.dumps({"total": total}) + "\n"
    for done, item in enumerate(scan, 1):
        try:
            part = gathered(ws.receive_iter(period, [item]))
        except Exception:  # the response has begun: one line says it, the next files go on
            current_app.logger.exception("scanning a folder")
            name = item if isinstance(item, str) else item.name
            part = {"files": [], "problems": [f"{name}: lỗi trong chương trình khi nhận tệp này."]}
        yield json.dumps({"done": done, "total": total, **part}, ensure_ascii=False) + "\n"
