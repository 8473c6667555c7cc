"""A Word 97–2003 document (.doc) made .docx by LibreOffice headless, so that `docx.py` can read it.

LibreOffice quirks: a running instance with the same profile takes the job over (or refuses it) and a
stale lock file beside the input makes loading fail silently, so each conversion gets a fresh private
profile (`-env:UserInstallation`) and HOME, and works on a copy in a temporary folder. `soffice` starts
helper processes of its own: it runs in a session of its own, and the whole session is ended when the
time is up.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from cchc_excel.core.memory import lift_for_child
from cchc_excel.ooxml.gate import NotWorkbook

__all__ = ["doc_to_docx", "soffice", "TIMEOUT"]

TIMEOUT = 60.0  # seconds a conversion may take
_ASK_DOCX = ("hãy đề nghị đơn vị mở bằng Word, lưu lại dạng \"Word Document (.docx)\" rồi gửi lại, "
             "hoặc gửi tệp Excel biểu mẫu đã điền")


def soffice() -> str | None:
    """The LibreOffice program, when installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def doc_to_docx(path: Path, data: bytes | None = None, *, timeout: float = TIMEOUT) -> bytes:
    """The bytes of `path` (or `data`, a zip member shown as `path`) converted to .docx.

    Raises:
        NotWorkbook: LibreOffice is not installed, fails, or takes longer than `timeout` (the file is
            then listed as no return, saying what to send instead).
    """
    program = soffice()
    name = Path(path).name
    if program is None:
        raise NotWorkbook(f'Tệp "{name}" là tài liệu Word (.doc) dạng Word 97–2003; máy này chưa cài LibreOffice '
                          f"để chuyển đổi, {_ASK_DOCX}.", "doc")
    with tempfile.TemporaryDirectory(prefix="cchc-doc-") as tmp:
        tmp = Path(tmp)
        source = tmp / "in" / "bao-cao.doc"  # a plain name: the sender's is not ours to put on a command line
        source.parent.mkdir()
        if data is None:
            shutil.copyfile(path, source)
        else:
            source.write_bytes(data)
        out = tmp / "out"
        cmd = [program, "--headless", "--norestore", "--nolockcheck", "--nodefault", "--nologo",
               f"-env:UserInstallation={(tmp / 'profile').as_uri()}", "--convert-to", "docx",
               "--outdir", str(out), str(source)]
        env = {**os.environ, "HOME": str(tmp)}
        env.pop("PYTHONPATH", None)
        _run(cmd, env, timeout, name)
        result = out / "bao-cao.docx"
        if not result.is_file():
            raise NotWorkbook(f'Tệp "{name}" là tài liệu Word (.doc) nhưng không chuyển được sang .docx (tệp có '
                              f"thể bị hỏng hoặc được đặt mật khẩu); {_ASK_DOCX}.", "doc")
        return result.read_bytes()


def _run(cmd: list, env: dict, timeout: float, name: str) -> None:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            env=env, start_new_session=True,
                            preexec_fn=lift_for_child if os.name == "posix" else None)  # a worker's ceiling off
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the session started above: soffice and its helpers only
        except (OSError, AttributeError):  # AttributeError: no process groups on Windows
            proc.kill()
        proc.wait()
        raise NotWorkbook(f'Tệp "{name}" là tài liệu Word (.doc) nhưng chuyển sang .docx mất quá {int(timeout)} '
                          f"giây nên đã dừng; {_ASK_DOCX}.", "doc") from None
