"""Checking returned workbooks: read each file, run the rules, gather one `FileReport` per file.

`check_file` never raises for a bad file: a file that cannot be read (empty, not a spreadsheet, encrypted,
a zip bomb, ...) gets status `unreadable` and one error issue (rule `unreadable`) with the reader's
Vietnamese message. Only bad arguments (a broken spec, roster or period) raise, as `CchcError`s.

`check_paths` takes files and folders (searched recursively), checks every spreadsheet in sorted order and
spreads many files over worker processes in chunks. It keeps per file only the small `FileReport`, not the
`Submission` (unless `keep_submissions`), so memory stays flat in the number of files. A file that crashes
its worker process (which a hostile file might do to a parser written in native code) is retried alone
and, if it crashes again, reported unreadable; the others are not affected.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
import threading
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from cchc_excel.errors import CchcError, UnreadableFile
from cchc_excel.core.periods import Period, parse_period
from cchc_excel.check.report import FileReport, Issue, Report, status_of
from cchc_excel.core.roster import Roster, load_roster
from cchc_excel.core.text import SPREADSHEET_SUFFIXES
from cchc_excel.check.rules import evaluate, issue_order
from cchc_excel.spec.loader import load_spec
from cchc_excel.spec.model import FormSpec

__all__ = ["check_file", "check_paths", "find_files", "FileReport", "Report", "SPREADSHEET_SUFFIXES"]

PARALLEL_MIN_FILES = 24  # below this, starting worker processes costs more than it saves
MAX_JOBS = 8
UNREADABLE_HASH_LIMIT = 64 << 20  # an unreadable file larger than this is not hashed (no time wasted)


# --------------------------------------------------------------------------------------------- one file

def _read_workbook(path, spec, *, roster=None, unit_code=None, period=None):
    """The reader, imported late so that the rules can be used (and tested) without it."""
    from cchc_excel.read.reader import read_workbook

    return read_workbook(path, spec, roster=roster, unit_code=unit_code, period=period)


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
        A `FileReport`; status `unreadable` with one error issue when the file cannot be read.

    Raises:
        CchcError: only for bad arguments (spec, roster, period), never for a bad file.
    """
    spec, roster, period = _resolve(spec, roster, period)
    return _check_one(str(path), spec, roster, unit_code, period, keep_submission)


def _resolve(spec, roster, period):
    # spec None stays None: the reader then takes the one our template names, else the default.
    if spec is not None and not isinstance(spec, FormSpec):
        spec = load_spec(spec)
    if roster is not None and not isinstance(roster, Roster):
        roster = load_roster(roster, levels=(spec or load_spec()).levels)
    if period is not None and not isinstance(period, Period):
        period = parse_period(period)
    return spec, roster, period


def _check_one(path: str, spec, roster, unit_code, period, keep_submission: bool) -> FileReport:
    name = os.path.basename(path) or path
    if os.path.isdir(path) and not os.access(path, os.R_OK | os.X_OK):
        # find_files names a folder it could not list, so that what is inside is not skipped in silence
        return _unreadable(path, f"{name}: không mở được thư mục này (không có quyền đọc); các tệp bên "
                                 f"trong chưa được kiểm tra.")
    if os.path.exists(path) and not os.path.isfile(path):
        what = "một thư mục" if os.path.isdir(path) else "một thiết bị hoặc tệp đặc biệt"
        return _unreadable(path, f"{name}: đây là {what}, không phải tệp bảng tính.")
    try:
        sub = _read_workbook(Path(path), spec, roster=roster, unit_code=unit_code, period=period)
    except UnreadableFile as e:
        return _unreadable(path, str(e), _sha256(path, UNREADABLE_HASH_LIMIT))
    except FileNotFoundError:
        return _unreadable(path, f"{name}: không tìm thấy tệp.")
    except PermissionError:
        return _unreadable(path, f"{name}: không có quyền đọc tệp.")
    except MemoryError:
        return _unreadable(path, f"{name}: tệp quá lớn, không đủ bộ nhớ để đọc.")
    except CchcError as e:  # arguments were checked before: whatever the reader says is about this file
        return _unreadable(path, str(e), _sha256(path, UNREADABLE_HASH_LIMIT))
    except Exception as e:  # a bug or a file no check foresaw: one line for the user, never a traceback
        if os.environ.get("CCHC_DEBUG"):
            traceback.print_exc()
        return _unreadable(
            path, f"{name}: không đọc được tệp do lỗi không lường trước ({type(e).__name__}); "
                  "hãy gửi tệp này cho người quản trị công cụ.", _sha256(path, UNREADABLE_HASH_LIMIT))
    digest = _sha256(path)
    try:
        rule_issues, values = evaluate(sub)
        issues = _merge(sub.issues, rule_issues, sub.spec)
    except Exception as e:  # a rule that trips on a value nobody foresaw must not stop the others
        if os.environ.get("CCHC_DEBUG"):
            traceback.print_exc()
        issues = list(sub.issues) + [Issue(
            "error", "internal", message=f"Không kiểm tra hết được tệp do lỗi của chương trình "
                                         f"({type(e).__name__}); hãy gửi tệp này cho người quản trị công cụ.")]
        values = dict(sub.values)
    return FileReport(
        path=path,
        status=status_of(issues),
        unit=sub.unit.to_dict() if sub.unit is not None else None,
        period=str(sub.period) if sub.period is not None else None,
        spec=sub.spec.id,
        values=values,
        issues=issues,
        sha256=digest,
        saved_at=sub.saved_at,
        reported_levels=frozenset(sub.reported_levels or ()),
        merged_units=_merged_units(sub.template),
        submission=sub if keep_submission else None,
    )


def _merged_units(template) -> int | None:
    if not template or template.get("merged") != "1":
        return None
    try:
        return int(template.get("units_merged") or 0)
    except ValueError:
        return None


def _unreadable(path: str, message: str, digest: str = "") -> FileReport:
    return FileReport(path=path, status="unreadable", issues=[Issue("error", "unreadable", message=message)],
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
    """The spreadsheets to check: files as given, folders searched recursively, sorted, no duplicates.

    In folders only `.xlsx .xlsm .xls .ods` files are taken, leaving out the lock files Excel (`~$…`) and
    LibreOffice (`.~lock.…#`) leave next to an open workbook and macOS's `._…` companions. A file named
    explicitly is always taken, whatever its name: it gets its line in the report. So does a folder that
    cannot be listed: nothing under it is skipped in silence.
    """
    found = set()
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for root, dirs, files in os.walk(p, onerror=lambda e: found.add(e.filename)):
                dirs.sort()
                for name in files:
                    if _is_spreadsheet_name(name):
                        found.add(os.path.join(root, name))
        else:
            found.add(str(p))
    return sorted(found)


def _is_spreadsheet_name(name: str) -> bool:
    if name.startswith(("~$", ".~lock.", "._")):
        return False
    return name.lower().endswith(SPREADSHEET_SUFFIXES)


def check_paths(paths, spec=None, *, roster=None, unit_code=None, period=None, jobs=None, progress=None,
                keep_submissions: bool = False) -> Report:
    """Check every spreadsheet under `paths` (files and folders).

    Args:
        paths: files and folders; folders are searched recursively (see `find_files`).
        spec, roster, unit_code, period: as for `check_file`, the same for every file.
        jobs: worker processes; None for the number of CPUs (at most 8). Few files are checked in this
            process.
        progress: optional callable(done, total), called as files are checked.
        keep_submissions: keep each file's `Submission` on its report (memory grows with the files).

    Returns:
        A `Report` with one `FileReport` per file, in sorted path order.
    """
    spec, roster, period = _resolve(spec, roster, period)
    files = find_files(paths)
    total = len(files)
    if jobs is None:
        jobs = min(_cpu_count(), MAX_JOBS)
    jobs = max(1, min(int(jobs), total or 1))
    args = (spec, roster, unit_code, period, keep_submissions)
    if jobs == 1 or total < PARALLEL_MIN_FILES:
        reports = []
        for n, path in enumerate(files, 1):
            reports.append(_check_one(path, *args))
            if progress:
                progress(n, total)
    else:
        reports = _check_parallel(files, args, jobs, progress)
    return Report(files=reports)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _mp_context():
    # fork starts workers in milliseconds; it is only safe while this process runs a single thread.
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1 and sys.platform != "darwin":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


_WORKER_ARGS = None


def _init_worker(*args):
    global _WORKER_ARGS
    _WORKER_ARGS = args


def _check_chunk(paths: list) -> list:
    spec, roster, unit_code, period, keep = _WORKER_ARGS
    # A Submission kept is pickled back without its spec (see Submission.__getstate__).
    return [_check_one(path, spec, roster, unit_code, period, keep) for path in paths]


def _chunks(items: list, size: int) -> list:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _check_parallel(files: list, args: tuple, jobs: int, progress) -> list:
    total = len(files)
    size = max(1, min(64, total // (jobs * 8) or 1))
    results: dict = {}
    done = 0

    def record(reports):
        nonlocal done
        for r in reports:
            results[r.path] = r
        done += len(reports)
        if progress:
            progress(done, total)

    pending = _chunks(files, size)
    while pending:
        broken = _run_pool(pending, args, jobs, record)
        if not broken:
            break
        if all(len(chunk) == 1 for chunk in broken):
            # A pool breaks every task in flight: try each suspect alone to find the culprit.
            for (path,) in broken:
                again = _run_pool([[path]], args, 1, record)
                if again:
                    record([_unreadable(path, f"{path}: tệp làm chương trình đọc bị dừng đột ngột; "
                                              "tệp có thể bị hỏng hoặc cố ý làm hại.", _sha256(path))])
            break
        pending = [[p] for chunk in broken for p in chunk]
    return [results[p] for p in files]


def _run_pool(chunks: list, args: tuple, jobs: int, record) -> list:
    """Run chunks on a fresh pool; return the chunks lost to a broken pool."""
    broken = []
    with ProcessPoolExecutor(max_workers=jobs, mp_context=_mp_context(), initializer=_init_worker,
                             initargs=args) as pool:
        futures = {pool.submit(_check_chunk, chunk): chunk for chunk in chunks}
        for future in as_completed(futures):
            try:
                reports = future.result()
            except BrokenProcessPool:
                broken.append(futures[future])
                continue
            record(reports)
    return broken

