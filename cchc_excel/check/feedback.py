"""Feedback workbooks: what `cchc check --feedback DIR` sends back to a unit whose return has findings.

A feedback workbook is a fresh template of the unit's level and period (`template.template_bytes`), so the
unit fixes its numbers in a file the tool reads back like any return, with:

- the values the unit typed (`Submission.values` of the input rows, and the text of cells that were not
  numbers, as typed) and its Ghi chú. Ratio rows are the template's formulas again, so a ratio typed over
  its formula is not carried; a value in a row the unit's level does not report is not carried either (the
  template locks that row, the unit could not clear it) and a finding says so;
- a comment on every value cell with an error or a warning (its messages, one per line, each after its
  severity word), the cell highlighted by the template;
- a first sheet `Lỗi cần sửa`: who, which period, which file; what to do; a table of every finding
  (`STT | Mức độ | Biểu mẫu | Ô | Mã chỉ tiêu | Chỉ tiêu | Nội dung`), errors first, the `Ô` a link to the
  cell in this workbook's own layout (the returned file's cell, when it differs, is named in the text).
  Findings about the file as a whole (another period, an unknown unit) are only listed there.

Which files get one: those with an error or a warning, but a file a later return of the same unit and
period without errors supersedes. A file with information findings only (how a value was read) is fine as
it is, an unreadable file has no values and no known unit to send a template to, and our own feedback sent
back unchanged is known by its metadata (`returned.py`): none of them gets a workbook. A file of another
period than the one asked gets a blank template of the asked period, never its numbers under that title.

Unknown unit or period: the template leaves them for the unit to type on `Thông tin chung` and the sheet
says so. Unknown level: the level whose rows cover most of the filled cells (on a tie the spec's default
level, the lowest: the commune level `xa` of the 2022 forms, the most common unit), said likewise.

The returned file is never opened, let alone modified: everything comes from the `FileReport` (and its
`Submission`, when kept). The workbook is `<stem of the returned file>_phan-hoi.xlsx`, written atomically;
it records the returned file's path in a custom property, so a second run over the same files replaces its
own earlier feedback and a different file of the same name gets `_phan-hoi-2.xlsx`.

`feedback_plan.py` works out what the workbook shows, `feedback_sheet.py` writes `Lỗi cần sửa`, and
`feedback_fast.py` makes the workbook by patching the level's base one (built once per process), which
is what `cchc check --feedback` does in its worker processes; the full build is the fallback for what
the fast path does not cover (a text it cannot write as xlsxwriter would, a base it cannot cut). The
reader skips a sheet of this name (`layout.FEEDBACK_SHEET`) when it looks for forms, unit and period, so
a returned feedback workbook reads as the template it carries.
"""

from __future__ import annotations

import os
import re
import traceback
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import count
from pathlib import Path

from cchc_excel.check.feedback_plan import absolute, make_plan
from cchc_excel.check.feedback_sheet import SOURCE_PROPERTY, TABLE_ROW, feedback_metadata, first_sheet_hook
from cchc_excel.check.report import FileReport, Report
from cchc_excel.check.returned import superseded_by_clean
from cchc_excel.core.atomic import fsync_folder, write_bytes_atomic
from cchc_excel.errors import CchcError
from cchc_excel.ooxml.xmltext import unescape
from cchc_excel.read.layout import FEEDBACK_SHEET

__all__ = ["FEEDBACK_SHEET", "TABLE_ROW", "needs_feedback", "feedback_bytes", "feedback_path", "write_feedback",
           "write_feedbacks", "FeedbackWriter", "prepared_feedback", "feedback_problem", "FeedbackProblem"]

SUFFIX = "_phan-hoi"


def needs_feedback(file_report: FileReport) -> bool:
    """Whether a file gets a feedback workbook: it was read, is not our feedback sent back unchanged (the
    unit has that one already), and it has an error or a warning not explained in Ghi chú."""
    if file_report.status in ("unreadable", "feedback_unchanged"):
        return False
    return any(issue.counts for issue in file_report.issues)


def feedback_bytes(file_report: FileReport, *, password: str | None = None,
                   generated_at: datetime | None = None, fast: bool = True) -> bytes | None:
    """The feedback workbook of one checked file as .xlsx bytes, or None when it needs none.

    Args:
        file_report: from `check_file` (its `submission` kept, the default) or `check_paths`
            (`keep_submissions=True`). Without the submission, the values come from the report: texts
            that were not numbers and Ghi chú are then not carried.
        password: the sheets' protection password, as for the templates.
        generated_at: the time recorded in the workbook (default: now).
        fast: patch the level's base workbook (`feedback_fast`) where it can; False: always build the
            workbook in full (the same content; tests compare the two).

    Raises:
        CchcError: when the spec the file was read with cannot be loaded.
    """
    if not needs_feedback(file_report):
        return None
    # the writers are heavy: only when writing
    from cchc_excel.check.feedback_fast import fast_feedback
    from cchc_excel.template.build import template_bytes

    plan = make_plan(file_report)
    generated_at = (generated_at or datetime.now(timezone.utc)).replace(microsecond=0)
    data = None
    if fast:
        try:
            data = fast_feedback(plan, password=password, generated_at=generated_at)
        except (AttributeError, TypeError):
            # The fast path leans on a few private xlsxwriter methods (`template.patched`): a release that
            # changes them must cost speed, never a unit's feedback. The full build below is what the fast
            # one is tested to equal.
            if os.environ.get("CCHC_DEBUG"):
                traceback.print_exc()
    if data is not None:
        return data
    # The full build: what the fast path does not cover (see `feedback_fast`).
    return template_bytes(
        plan.spec, level=plan.level, unit=plan.unit, period=plan.period, password=password,
        values=plan.values, notes=plan.notes, comments=plan.comments, reported_levels=plan.reported_levels,
        merged_units=plan.merged_units, before_sheets=first_sheet_hook(plan, generated_at),
        generated_at=generated_at, feedback=feedback_metadata(plan),
    )


def write_feedback(file_report: FileReport, out_dir: str | Path, *, password: str | None = None,
                   generated_at: datetime | None = None, data=..., sync_folder: bool = True) -> Path | None:
    """Write the feedback workbook of one checked file into `out_dir` (created if needed), atomically.

    The returned file itself is never opened or modified.

    Args:
        file_report: the file's report (see `feedback_bytes`).
        out_dir: the folder for feedback workbooks.
        password, generated_at: as for `feedback_bytes`.
        data: the workbook's bytes when already made (`prepared_feedback`, in a worker process); None
            when the file needs none.
        sync_folder: False when the caller fsyncs `out_dir` once after a batch (`FeedbackWriter`).

    Returns:
        The path written (`feedback_path`), or None when the file needs no feedback (no error and no
        warning, or unreadable).

    Raises:
        CchcError: when the spec cannot be loaded or the folder cannot be written.
    """
    if data is ...:
        data = feedback_bytes(file_report, password=password, generated_at=generated_at)
    if data is None:
        return None
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        return write_bytes_atomic(feedback_path(file_report, out_dir), data, sync_folder=sync_folder)
    except OSError as e:
        raise CchcError(f"Không ghi được tệp phản hồi vào thư mục {out_dir}: {e.strerror or e}.") from e


def prepared_feedback(file_report: FileReport, *, password: str | None = None,
                      generated_at: datetime | None = None):
    """What a worker process hands back for one file: its feedback workbook's bytes (None when it needs
    none), or a `FeedbackProblem` saying why it could not be made; `write_feedback(..., data=)` writes it."""
    try:
        return feedback_bytes(file_report, password=password, generated_at=generated_at)
    except Exception as e:
        return FeedbackProblem(feedback_problem(file_report, e))


class FeedbackProblem(str):
    """The sentence saying why a file's feedback could not be made (see `prepared_feedback`)."""


def write_feedbacks(report: Report, out_dir: str | Path, *, password: str | None = None,
                    generated_at: datetime | None = None, problems: list | None = None) -> list[Path]:
    """`write_feedback` for every file of `report` but those a later return of the same unit and period
    without errors supersedes; returns the paths written, in the report's order.

    With `problems` (a list), a file whose feedback cannot be written, even for a bug, adds a sentence
    there and the other units still get theirs; without it the first failure raises."""
    written = []
    superseded = superseded_by_clean(report.files)
    # One time for the whole batch: it is part of the patched feedback's base (`feedback_fast`).
    generated_at = generated_at or datetime.now(timezone.utc)
    for file_report in report.files:
        if file_report.path in superseded:
            continue
        try:
            path = write_feedback(file_report, out_dir, password=password, generated_at=generated_at)
        except Exception as e:
            if problems is None:
                raise
            problems.append(feedback_problem(file_report, e))
            continue
        if path is not None:
            written.append(path)
    return written


@dataclass(frozen=True, slots=True)
class _Seen:
    """What `superseded_by_clean` needs of a checked file, kept for every file of a streamed check."""
    path: str
    unit: dict | None
    period: str | None
    status: str
    saved_at: datetime | None


class FeedbackWriter:
    """Feedback written as a streamed check passes each file (`add`), as `write_feedbacks` writes it for a
    whole report: whether a later return of the same unit and period without errors supersedes a file is
    known only once every file is seen, so `finish` takes back the workbooks this run wrote for such files.
    Only what deciding that needs is kept per file, never the reports or the workbooks.
    """

    def __init__(self, out_dir: str | Path):
        self.out_dir = Path(out_dir)
        self.problems: list[str] = []
        self._seen: list[_Seen] = []
        self._written: dict[str, Path] = {}

    def add(self, file_report: FileReport, data) -> None:
        """One file's report and what its worker made (`prepared_feedback`); a failure to write it is a
        sentence in `problems` (even a bug: the other units still get theirs)."""
        unit = {"code": file_report.unit["code"]} if file_report.unit and file_report.unit.get("code") else None
        self._seen.append(_Seen(str(file_report.path), unit, file_report.period, file_report.status,
                                file_report.saved_at))
        if isinstance(data, FeedbackProblem):
            self.problems.append(str(data))
            return
        try:
            path = write_feedback(file_report, self.out_dir, data=data, sync_folder=False)
        except Exception as e:
            self.problems.append(feedback_problem(file_report, e))
            return
        if path is not None:
            self._written[str(file_report.path)] = path

    def finish(self) -> list[Path]:
        """Remove the feedback of files a later clean return superseded, then make the folder's renames
        durable at once (each file was fsynced before its rename); the paths kept, in input order."""
        for source in superseded_by_clean(self._seen):
            path = self._written.pop(source, None)
            if path is not None:
                try:
                    path.unlink()
                except OSError:
                    pass  # an unneeded feedback left behind: harmless, the unit's later return is clean
        if self._written:
            fsync_folder(self.out_dir)
        return list(self._written.values())


def feedback_problem(file_report: FileReport, e: Exception) -> str:
    if isinstance(e, CchcError):
        return f"Không ghi được phản hồi cho {file_report.path}: {e}"
    if os.environ.get("CCHC_DEBUG"):
        traceback.print_exc()
    return (f"Không ghi được phản hồi cho {file_report.path} do lỗi của chương trình ({type(e).__name__}); "
            f"hãy báo cho người quản trị công cụ.")


def feedback_path(file_report: FileReport, out_dir: str | Path) -> Path:
    """Where the feedback of `file_report` goes: `<stem>_phan-hoi.xlsx` in `out_dir`.

    A file already there is replaced only when it is this tool's feedback on the same returned file (an
    earlier run); otherwise `<stem>_phan-hoi-2.xlsx`, `-3`, ... The returned file is never the target.
    """
    source = Path(file_report.path)
    stem = _fit_name(source.stem or "bao-cao")
    wanted = str(absolute(source))
    out_dir = Path(out_dir)
    for n in count(1):
        target = out_dir / f"{stem}{SUFFIX}{'' if n == 1 else f'-{n}'}.xlsx"
        if not os.path.lexists(target):
            return target
        if _same_file(target, source):
            continue
        if target.is_file() and recorded_source(target) == wanted:
            return target
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------------------------- file names

def _fit_name(stem: str, limit: int = 230) -> str:
    """The stem, shortened so that the file name stays within the 255 bytes file systems allow."""
    while len(stem.encode("utf-8")) > limit:
        stem = stem[:-1]
    return stem


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


_PROPERTY_RE = re.compile(r'<property\b[^>]*\bname="' + re.escape(SOURCE_PROPERTY)
                          + r'"[^>]*>\s*<vt:lpwstr>([^<]*)</vt:lpwstr>')


def recorded_source(path: Path) -> str | None:
    """The returned file a feedback workbook was made from (its custom property), or None when `path` is
    not one of ours (or not a readable .xlsx)."""
    try:
        with zipfile.ZipFile(path) as z:
            info = z.getinfo("docProps/custom.xml")
            if info.file_size > 1 << 20:
                return None
            xml = z.read(info).decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile, RuntimeError, ValueError):
        return None
    m = _PROPERTY_RE.search(xml)
    return unescape(m.group(1)) if m else None
