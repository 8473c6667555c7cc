"""A merge's outputs written as one set: OUT.xlsx, and the JSON summary and the CSV when asked for.

Each output is first written whole to a temporary file beside its target (as `core.atomic` does for one
file); only when all are complete are they renamed into place, one after the other. Should a rename fail
(a target another program holds open, as Excel does on Windows), the ones already renamed are put back:
a failure anywhere leaves the old outputs as they were, or none, never a mix of new and old, and no
temporary file. An existing target is moved aside before its new file takes its place, so that it can
be put back.

`check_outputs` refuses, before any work, what can be known from the paths alone: the same path twice, a
target that is a folder, a parent that is a file.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from cchc_excel.core.atomic import create_temp, fsync_folder
from cchc_excel.errors import OutputError
from cchc_excel.merge import exports
from cchc_excel.merge.result import MergeResult

__all__ = ["check_outputs", "write_outputs", "OutputError"]

_KEPT = "chưa ghi tệp kết quả nào (tệp cũ, nếu có, vẫn giữ nguyên)"
_REASONS = {
    errno.ENOSPC: "ổ đĩa đã đầy", getattr(errno, "EDQUOT", -1): "đã hết dung lượng được cấp trên ổ đĩa",
    errno.EROFS: "ổ đĩa chỉ cho phép đọc", errno.EACCES: "không có quyền ghi vào đây",
    errno.EPERM: "không có quyền ghi vào đây", errno.EISDIR: "đây là một thư mục",
    errno.ENOTDIR: "một phần của đường dẫn là tệp, không phải thư mục", errno.EEXIST: "đã có một tệp trùng tên",
    errno.ENAMETOOLONG: "tên tệp quá dài", errno.EBUSY: "tệp đang được chương trình khác dùng",
}
_WINDOWS_LOCKED = (32, 33)  # ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION: open in Excel, for one


def check_outputs(workbook: str | Path | None, json_path: str | Path | None = None,
                  csv_path: str | Path | None = None, report_path: str | Path | None = None) -> list[Path]:
    """The outputs asked for, in that order (None left out), after refusing the same path twice, a target
    that is an existing folder and a parent that is a file.

    Raises:
        OutputError: naming the path.
    """
    named = [(Path(p), what) for p, what in ((workbook, "bảng tổng hợp"), (json_path, "tệp JSON"),
                                             (csv_path, "tệp CSV"), (report_path, "báo cáo Word"))
             if p is not None]
    seen: dict[str, tuple[Path, str]] = {}
    for path, what in named:
        key = os.path.normcase(os.path.abspath(path))
        twin = seen.get(key) or next((s for s in seen.values() if _same_file(s[0], path)), None)
        if twin:
            raise OutputError(f"{path}: cùng một tệp được chọn cho cả {twin[1]} và {what}; hãy đặt tên khác nhau.")
        seen[key] = (path, what)
        if path.is_dir():
            raise OutputError(f"Không ghi được {path}: đây là một thư mục; hãy ghi tên tệp.")
        above = next((a for a in path.parents if os.path.lexists(a)), None)
        if above is not None and not above.is_dir():
            raise OutputError(f"Không ghi được {path}: {above} là một tệp, không phải thư mục.")
    return [path for path, _ in named]


def write_outputs(result: MergeResult, workbook: str | Path | None, *, json_path: str | Path | None = None,
                  csv_path: str | Path | None = None, password: str | None = None,
                  report_path: str | Path | None = None, write_report=None) -> list[Path]:
    """Write OUT.xlsx (`merge.workbook`), the JSON summary and the CSV (`merge.exports`), and the report
    draft (`write_report(result, path)`, from a later stage: `word.write_report`), those given, all or none
    (see the module docstring); folders are created as needed. Returns the paths written.

    Raises:
        OutputError: one Vietnamese line naming the file that could not be written.
    """
    from cchc_excel.merge.workbook import write_merged_workbook

    targets = check_outputs(workbook, json_path, csv_path, report_path)
    writers = [lambda p: write_merged_workbook(result, p, password=password)] if workbook is not None else []
    writers += [lambda p: exports.write_json(result, p)] if json_path is not None else []
    writers += [lambda p: exports.write_csv(result, p)] if csv_path is not None else []
    writers += [lambda p: write_report(result, p)] if report_path is not None else []
    temps: list[Path] = []
    current = targets[0] if targets else None
    try:
        for current, write in zip(targets, writers):
            temps.append(_claim(current))
            write(temps[-1])
        current = None
        _rename_all(list(zip(temps, targets)))
    except OSError as e:
        raise OutputError(f"Không ghi được {_culprit(e, current, targets)}: {os_reason(e)}; {_KEPT}.") from e
    finally:
        for tmp in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return targets


def _claim(target: Path) -> Path:
    """A new empty temporary file beside `target` (its folder created if needed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp(target.parent, target.name)
    os.close(fd)
    return tmp


def _rename_all(pairs: list[tuple[Path, Path]]) -> None:
    """Rename each temporary file onto its target; on a failure put back what was renamed, and raise."""
    done: list[tuple[Path, Path | None]] = []  # (target, the old file moved aside, or None)
    try:
        for tmp, target in pairs:
            old = None
            if os.path.lexists(target):
                old = _claim(target)
                try:
                    os.replace(target, old)  # fails for a file Windows keeps locked: nothing lost yet
                except OSError:
                    os.unlink(old)
                    raise
            try:
                os.replace(tmp, target)
            except OSError:
                if old is not None:
                    os.replace(old, target)
                raise
            done.append((target, old))
    except OSError:
        for target, old in reversed(done):
            with contextlib.suppress(OSError):
                if old is not None:
                    os.replace(old, target)
                else:
                    os.unlink(target)
        raise
    for _, old in done:
        if old is not None:
            with contextlib.suppress(OSError):
                os.unlink(old)
    for folder in {target.parent for _, target in pairs}:
        fsync_folder(folder)


def _culprit(e: OSError, current: Path | None, targets: list[Path]) -> Path:
    """The output to name: the one being written, else the target the failed rename was about."""
    if current is not None:
        return current
    names = {str(e.filename), str(getattr(e, "filename2", None))}
    return next((t for t in targets if str(t) in names), targets[0])


def os_reason(e: OSError) -> str:
    if getattr(e, "winerror", None) in _WINDOWS_LOCKED:
        return "tệp đang được mở trong chương trình khác (như Excel); hãy đóng tệp rồi chạy lại"
    if isinstance(e, FileExistsError) or e.errno == errno.ENOTDIR:
        return _REASONS[errno.ENOTDIR]
    return _REASONS.get(e.errno) or e.strerror or str(e)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
