"""Checking returned workbooks: read each file, run the rules, gather one `FileReport` per file.

`check_file` never raises for a bad file: a file that cannot be read (empty, not a spreadsheet, encrypted,
a zip bomb, ...) gets status `unreadable` and one error issue (rule `unreadable`) with the reader's
Vietnamese message. Only bad arguments (a broken spec, roster or period) raise, as `CchcError`s.

`check_paths` takes files and folders (searched recursively), checks every file in sorted order and
spreads many files over worker processes in chunks. A Word report (.docx, .doc) is read as a return by
`read.docx`. Every file gets its line: one that is no return (a PDF, a Word document without Phụ lục I,
an image, a lock file) is `unreadable` with one error issue (rule `not-a-return`)
saying what it is and what to send instead; a zip is opened and each file in it checked as a return of
its own, shown as `archive.zip!inner.xlsx` (a zip inside it is not opened: rule `nested-archive`).

It keeps per file only the small `FileReport`, not the `Submission` (unless `keep_submissions`), so
memory stays flat in the number of files. A file that crashes
its worker process (which a hostile file might do to a parser written in native code) is retried alone
and, if it crashes again, reported unreadable; the others are not affected.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import traceback
from pathlib import Path

from cchc_excel.errors import CchcError, UnreadableFile
from cchc_excel.ooxml.gate import NotWorkbook
from cchc_excel.read.archive import MEMBER_SEP, Archive
from cchc_excel.core.memory import limit_worker_memory
from cchc_excel.core.periods import Period, parse_period
from cchc_excel.check.explain import explain_issues
from cchc_excel.check.report import FileReport, Issue, Report, status_of
from cchc_excel.check.returned import other_period, standing
from cchc_excel.core.roster import Roster, load_roster
from cchc_excel.core.text import SPREADSHEET_SUFFIXES  # noqa: F401 (part of this module's names)
from cchc_excel.check.rules import evaluate, issue_order
from cchc_excel.spec.loader import load_spec
from cchc_excel.spec.model import FormSpec

__all__ = ["check_file", "check_paths", "iter_checked", "find_files", "FileReport", "Report", "SPREADSHEET_SUFFIXES"]

PARALLEL_MIN_FILES = 24  # below this, starting worker processes costs more than it saves
MAX_JOBS = 8
UNREADABLE_HASH_LIMIT = 64 << 20  # an unreadable file larger than this is not hashed (no time wasted)


# --------------------------------------------------------------------------------------------- one file

def _read_workbook(path, spec, *, roster=None, unit_code=None, period=None, data=None):
    """The reader, imported late so that the rules can be used (and tested) without it; `data`: the bytes
    of a zip's member shown as `path`."""
    from cchc_excel.read.reader import read_workbook

    return read_workbook(path, spec, roster=roster, unit_code=unit_code, period=period, data=data)


def check_file(path, spec=None, *, roster=None, unit_code=None, period=None,
               keep_submission: bool = True) -> FileReport:
    """Read and check one returned workbook.

    Args:
        path: the file.
        spec: a `FormSpec`, a spec id or a path to a spec YAML; None for the default spec.
        roster: a `Roster` (or a path to one) to recognise the unit by.
        unit_code: the unit the file comes from, when the file does not say.
        period: the period it reports (`Period` or text such as `2023-Q2`), when the file does not say.
        keep_submission: keep the `Submission` read on the report (`FileReport.submission`).

    Returns:
        A `FileReport`; status `unreadable` with one error issue when the file cannot be read or is no
        return. A zip holding one file gives that file's report; one holding several gives a line saying
        so (`check_paths` gives each member its own).

    Raises:
        CchcError: only for bad arguments (spec, roster, period), never for a bad file.
    """
    spec, roster, period = _resolve(spec, roster, period)
    path = str(path)
    reports = _check_path(path, spec, roster, unit_code, period, keep_submission)
    if len(reports) == 1:
        return reports[0]
    return _unreadable(path, f"{os.path.basename(path)}: tệp nén chứa {len(reports)} tệp; hãy kiểm tra cả "
                             "thư mục chứa nó (cchc check) để mỗi tệp bên trong có kết quả riêng.")


def _resolve(spec, roster, period):
    # spec None stays None: the reader then takes the one our template names, else the default.
    if spec is not None and not isinstance(spec, FormSpec):
        spec = load_spec(spec)
    if roster is not None and not isinstance(roster, Roster):
        roster = load_roster(roster, levels=(spec or load_spec()).levels)
    if period is not None and not isinstance(period, Period):
        period = parse_period(period)
    return spec, roster, period


def _check_path(path: str, spec, roster, unit_code, period, keep_submission: bool) -> list:
    """The lines of one file found: one, or one per member of a zip."""
    name = os.path.basename(path) or path
    if os.path.isdir(path) and not os.access(path, os.R_OK | os.X_OK):
        # find_files names a folder it could not list, so that what is inside is not skipped in silence
        return [_unreadable(path, f"{name}: không mở được thư mục này (không có quyền đọc); các tệp bên "
                                  f"trong chưa được kiểm tra.")]
    if os.path.exists(path) and not os.path.isfile(path):
        what = "một thư mục" if os.path.isdir(path) else "một thiết bị hoặc tệp đặc biệt"
        return [_unreadable(path, f"{name}: đây là {what}, không phải tệp bảng tính.")]
    return _check_source(path, None, (spec, roster, unit_code, period, keep_submission))


def _check_source(path: str, data: bytes | None, args: tuple, depth: int = 0, read=None) -> list:
    """Check the file `path` or, with `data`, a member of a zip shown as `path`; `read` is the reader
    (default: the workbook reader)."""
    spec, roster, unit_code, period, keep_submission = args
    name = os.path.basename(path) or path
    companion = _companion(name.rsplit(MEMBER_SEP, 1)[-1] if data is not None else name, name)
    if companion:
        return [_not_a_return(path, companion)]
    try:
        sub = (read or _read_workbook)(Path(path), spec, roster=roster, unit_code=unit_code, period=period,
                                       **({"data": data} if data is not None else {}))
    except NotWorkbook as e:
        other = _OTHER_FILES.get(e.kind, _other_file) if read is None else _other_file
        return other(path, data, e, args, depth)
    except UnreadableFile as e:
        return [_unreadable(path, str(e), _digest(path, data, UNREADABLE_HASH_LIMIT))]
    except FileNotFoundError:
        return [_unreadable(path, f"{name}: không tìm thấy tệp.")]
    except PermissionError:
        return [_unreadable(path, f"{name}: không có quyền đọc tệp.")]
    except MemoryError:
        return [_unreadable(path, f"{name}: tệp quá lớn, không đủ bộ nhớ để đọc.")]
    except CchcError as e:  # arguments were checked before: whatever the reader says is about this file
        return [_unreadable(path, str(e), _digest(path, data, UNREADABLE_HASH_LIMIT))]
    except Exception as e:  # a bug or a file no check foresaw: one line for the user, never a traceback
        if os.environ.get("CCHC_DEBUG"):
            traceback.print_exc()
        return [_unreadable(
            path, f"{name}: không đọc được tệp do lỗi không lường trước ({type(e).__name__}); "
                  "hãy gửi tệp này cho người quản trị công cụ.", _digest(path, data, UNREADABLE_HASH_LIMIT))]
    return [_file_report(path, sub, _digest(path, data), keep_submission)]


def _file_report(path: str, sub, digest: str, keep_submission: bool) -> FileReport:
    try:
        rule_issues, values = evaluate(sub)
        issues = explain_issues(_merge(sub.issues, rule_issues, sub.spec), sub)
    except Exception as e:  # a rule that trips on a value nobody foresaw must not stop the others
        if os.environ.get("CCHC_DEBUG"):
            traceback.print_exc()
        issues = list(sub.issues) + [Issue(
            "error", "internal", message=f"Không kiểm tra hết được tệp do lỗi của chương trình "
                                         f"({type(e).__name__}); hãy gửi tệp này cho người quản trị công cụ.")]
        values = dict(sub.values)
    issues, status = standing(sub, issues)  # another period, a blank form, our feedback sent back as it was
    return FileReport(
        path=path,
        status=status or status_of(issues),
        unit=sub.unit.to_dict() if sub.unit is not None else None,
        period=str(sub.period) if sub.period is not None else None,
        spec=sub.spec.id,
        values=values,
        issues=issues,
        sha256=digest,
        saved_at=sub.saved_at,
        reported_levels=frozenset(sub.reported_levels or ()),
        merged_units=_merged_units(sub.template),
        other_period=other_period(sub),
        submission=sub if keep_submission else None,
    )


# ------------------------------------------------------------------------------------ files that are no workbook
# What the gate names (`NotWorkbook.kind`) decides what becomes of a file that is no workbook: a zip is
# opened, any other file gets its line saying what it is and what to send instead.

def _other_file(path: str, data, error: NotWorkbook, args: tuple, depth: int) -> list:
    """A PDF, an image, a text file...: listed as no return, with the gate's words for it."""
    return [_not_a_return(path, str(error))]


def _word_document(path: str, data, error: NotWorkbook, args: tuple, depth: int) -> list:
    """A Word document (.docx, .doc): its Phụ lục I read as a return (`read.docx`)."""
    from cchc_excel.read.docx import read_docx

    return _check_source(path, data, args, depth, read=read_docx)


def _archive(path: str, data, error: NotWorkbook, args: tuple, depth: int) -> list:
    """A zip: every member is checked as a return of its own, read into memory (never extracted). A zip
    inside a zip is not opened: one level only."""
    name = os.path.basename(path)
    if data is not None or depth:
        return [_unreadable(path, f'Tệp "{name}" là tệp nén nằm trong một tệp nén khác, không được mở; hãy '
                                  'đề nghị đơn vị giải nén và gửi riêng từng tệp Excel biểu mẫu.',
                            rule="nested-archive")]
    try:
        archive = Archive(path)
    except UnreadableFile as e:
        return [_unreadable(path, str(e), _sha256(path, UNREADABLE_HASH_LIMIT))]
    reports = []
    with archive:
        for shown, info in archive.members:
            try:
                member = archive.read(shown, info)
            except UnreadableFile as e:
                reports.append(_unreadable(shown, str(e)))
                continue
            reports.extend(_check_source(shown, member, args, depth + 1))
    return reports


_OTHER_FILES = {"zip": _archive, "docx": _word_document, "doc": _word_document}

# Files that programs leave beside the returns, by name: (name starts with, exact names), what it is, advice.
_COMPANIONS = (
    (("~$",), (), "tệp khoá tạm Excel tạo ra khi một bảng tính đang mở (hoặc còn sót lại khi Excel bị tắt "
                  "đột ngột)", "đóng bảng tính đó trong Excel; nếu tệp khoá vẫn còn, có thể xoá nó"),
    ((".~lock.",), (), "tệp khoá tạm LibreOffice tạo ra khi một bảng tính đang mở",
     "đóng bảng tính đó trong LibreOffice; nếu tệp khoá vẫn còn, có thể xoá nó"),
    (("._",), (), "tệp phụ máy Mac tạo kèm khi chép tệp", "có thể xoá tệp này"),
    ((), ("thumbs.db", "desktop.ini", ".ds_store"), "tệp hệ thống của Windows hoặc macOS", "có thể xoá tệp này"),
)


def _companion(own: str, shown: str) -> str:
    """The message for a lock file or an operating system's file, by its own name `own` (shown as
    `shown`); "" for any other name."""
    for starts, names, what, advice in _COMPANIONS:
        if own.startswith(starts) if starts else own.lower() in names:
            return f'Tệp "{shown}" là {what}, không phải báo cáo; {advice}.'
    return ""


def _not_a_return(path: str, message: str) -> FileReport:
    # No sha256: two copies of the same PDF are two lines saying what each is, not a "duplicate".
    return _unreadable(path, message, rule="not-a-return")


def _merged_units(template) -> int | None:
    if not template or template.get("merged") != "1":
        return None
    try:
        return int(template.get("units_merged") or 0)
    except ValueError:
        return None


def _unreadable(path: str, message: str, digest: str = "", rule: str = "unreadable") -> FileReport:
    return FileReport(path=path, status="unreadable", issues=[Issue("error", rule, message=message)],
                      sha256=digest)


def _merge(reader_issues, rule_issues, spec) -> list:
    """The reader's findings and the rules', errors first then in form order; a rule finding the reader
    already made about the same row (same rule id) is dropped."""
    if not reader_issues:
        return rule_issues
    seen = {(i.rule, i.indicator) for i in reader_issues if i.indicator}
    issues = list(reader_issues) + [i for i in rule_issues if (i.rule, i.indicator) not in seen]
    issues.sort(key=issue_order(spec))
    return issues


def _digest(path: str, data: bytes | None, limit: int | None = None) -> str:
    """Hex digest of `data` (a zip member) or else of the file `path`; "" beyond `limit` bytes."""
    if data is None:
        return _sha256(path, limit)
    return "" if limit is not None and len(data) > limit else hashlib.sha256(data).hexdigest()


def _sha256(path: str, limit: int | None = None) -> str:
    """Hex digest of a regular file's bytes; "" when it cannot be read or is larger than `limit`."""
    h = hashlib.sha256()
    try:
        if not os.path.isfile(path) or (limit is not None and os.path.getsize(path) > limit):
            return ""
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    except OSError:
        return ""
    return h.hexdigest()


# --------------------------------------------------------------------------------------------- many files

def find_files(paths) -> list:
    """The files to check: files as given, folders searched recursively, sorted, no duplicates.

    Every file in a folder is taken, whatever its name: a PDF, a Word document, a lock file Excel left
    beside an open workbook each get their line in the report, saying what they are. So does a folder that
    cannot be listed: nothing under it is skipped in silence. The one file left out is the `manifest.csv`
    that `cchc collect` keeps beside the returns it saved (its own record of them, which `aggregate` reads).
    """
    found = set()
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for root, dirs, files in os.walk(p, onerror=lambda e: found.add(e.filename)):
                dirs.sort()
                for name in files:
                    if not _is_collect_manifest(root, name):
                        found.add(os.path.join(root, name))
        else:
            found.add(str(p))
    return sorted(found)


def _is_collect_manifest(folder: str, name: str) -> bool:
    from cchc_excel.core.manifest import MANIFEST_COLUMNS, MANIFEST_NAME

    if name != MANIFEST_NAME:
        return False
    try:
        with open(os.path.join(folder, name), "rb") as f:
            head = f.read(1024).removeprefix(b"\xef\xbb\xbf")
    except OSError:
        return False
    return head.split(b"\r\n", 1)[0].split(b"\n", 1)[0] == ",".join(MANIFEST_COLUMNS).encode()


def check_paths(paths, spec=None, *, roster=None, unit_code=None, period=None, jobs=None, progress=None,
                keep_submissions: bool = False) -> Report:
    """Check every file under `paths` (files and folders), each member of a zip as a file of its own.

    Args:
        paths: files and folders; folders are searched recursively (see `find_files`).
        spec, roster, unit_code, period: as for `check_file`, the same for every file.
        jobs: worker processes; None for the number of CPUs (at most 8). Few files are checked in this
            process.
        progress: optional callable(done, total), called as files are checked.
        keep_submissions: keep each file's `Submission` on its report (memory grows with the files).

    Returns:
        A `Report` with one `FileReport` per file (per member of a zip), in sorted path order.
    """
    return Report(files=list(iter_checked(paths, spec, roster=roster, unit_code=unit_code, period=period,
                                          jobs=jobs, progress=progress, keep_submissions=keep_submissions)))


def iter_checked(paths, spec=None, *, roster=None, unit_code=None, period=None, jobs=None, progress=None,
                 keep_submissions: bool = False, after=None):
    """`check_paths`' reports one at a time, in the same order, each as soon as it and those before it
    are ready, so that a caller can write them out without holding them all.

    With `after` (a picklable callable(FileReport) -> anything, such as a `functools.partial` of a module
    function), yields `(report, after(report))` pairs instead; `after` runs where the file was checked (in
    the worker process), with the report's `Submission` kept for it and dropped afterwards unless
    `keep_submissions`. `cchc check --feedback` builds each feedback workbook this way.
    """
    spec, roster, period = _resolve(spec, roster, period)
    files = find_files(paths)
    total = len(files)
    if jobs is None:
        jobs = min(_cpu_count(), MAX_JOBS)
    jobs = max(1, min(int(jobs), total or 1))
    args = (spec, roster, unit_code, period, keep_submissions, after)
    if jobs == 1 or total < PARALLEL_MIN_FILES:
        for n, path in enumerate(files, 1):
            for item in _check_one(path, args):
                yield item[0] if after is None else item
            if progress:
                progress(n, total)
    else:
        for item in _iter_parallel(files, args, jobs, progress):
            yield item[0] if after is None else item


def _check_one(path: str, args: tuple) -> list:
    """The (report, after's result) pairs of one file found (one per member of a zip)."""
    spec, roster, unit_code, period, keep, after = args
    reports = _check_path(path, spec, roster, unit_code, period, keep or after is not None)
    if after is None:
        return [(report, None) for report in reports]
    out = []
    for report in reports:
        extra = after(report)
        if not keep:
            report.submission = None
        out.append((report, extra))
    return out


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _mp_context():
    import multiprocessing  # lazy, as the pool: checking a few files starts none (about 25 ms of imports)

    # fork starts workers in milliseconds; it is only safe while this process runs a single thread.
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1 and sys.platform != "darwin":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


_WORKER_ARGS = None


def _init_worker(*args):
    global _WORKER_ARGS
    _WORKER_ARGS = args
    limit_worker_memory()  # a file that would take more is refused as too large (see core.memory)


def _check_chunk(paths: list) -> list:
    # A Submission kept is pickled back without its spec (see Submission.__getstate__).
    return [(path, _check_one(path, _WORKER_ARGS)) for path in paths]


def _chunks(items: list, size: int) -> list:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _iter_parallel(files: list, args: tuple, jobs: int, progress):
    """The pairs of every file, in the order of `files`, checked by a pool of `jobs` workers. Only the
    chunks finished ahead of one still running are held."""
    total = len(files)
    size = max(1, min(64, total // (jobs * 8) or 1))
    results: dict = {}
    done = 0
    ahead = 0  # files[:ahead] are yielded

    def ready():
        nonlocal ahead
        while ahead < total and files[ahead] in results:
            yield from results.pop(files[ahead])
            ahead += 1

    def record(checked):  # [(path, its pairs)]
        nonlocal done
        results.update(checked)
        done += len(checked)
        if progress:
            progress(done, total)

    pending = _chunks(files, size)
    while pending:
        broken = []
        for chunk, checked in _run_pool(pending, args, jobs):
            if checked is None:
                broken.append(chunk)
                continue
            record(checked)
            yield from ready()
        if not broken:
            break
        if all(len(chunk) == 1 for chunk in broken):
            # A pool breaks every task in flight: try each suspect alone to find the culprit.
            for (path,) in broken:
                for _, checked in _run_pool([[path]], args, 1):
                    if checked is None:
                        checked = [(path, [(_unreadable(path, f"{path}: tệp làm chương trình đọc bị dừng đột "
                                                              "ngột; tệp có thể bị hỏng hoặc cố ý làm hại.",
                                                        _sha256(path)), None)])]
                    record(checked)
            yield from ready()
            break
        pending = [[p] for chunk in broken for p in chunk]
    yield from ready()


def _run_pool(chunks: list, args: tuple, jobs: int):
    """Run chunks on a fresh pool, yielding (chunk, its results) as each finishes; (chunk, None) for a
    chunk lost to a broken pool."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    with ProcessPoolExecutor(max_workers=jobs, mp_context=_mp_context(), initializer=_init_worker,
                             initargs=args) as pool:
        futures = {pool.submit(_check_chunk, chunk): chunk for chunk in chunks}
        for future in as_completed(futures):
            chunk = futures.pop(future)  # so that its results are freed once handed on
            try:
                checked = future.result()
            except BrokenProcessPool:
                checked = None
            yield chunk, checked
