"""Which returns to merge: one status per file and per unit, latest wins, duplicates, late returns.

`merge_reports` takes the checked files (`check.FileReport`, or anything with the same attributes) and
decides, for the period merged, what each file is:

- `merged`: its values are in the totals;
- `superseded`: the same unit sent a later version of the same period (the latest is the one the
  workbook itself says was saved last, else the one received last, else the file's time; a tie is said),
  or a longer period of the unit covers it, or the merged report of a unit above covers it;
- `errors`: it has errors the unit must fix (merged anyway with `include_errors`);
- `unreadable`; `other_period`; `unknown_unit` (not identified, or not in the roster);
- `other_unit`: in the roster but outside the unit merged (`--unit`);
- `duplicate`: the same bytes as another file.

With a roster, every unit under the merged one gets one status: `merged`, `errors` or `missing`, and a
return received after the deadline is flagged late. `aggregate_paths` reads and checks the files (the
way `cchc check` does) and calls `merge_reports`.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

from cchc_excel.merge.totals import Record, aggregate_units, recompute_ratios, roll_up, value_frame
from cchc_excel.errors import CchcError, PeriodError, RosterError
from cchc_excel.merge.result import (FILE_STATUS_LABELS, FILE_STATUSES, MAX_FINDINGS, UNIT_STATUS_LABELS,
                                     UNIT_STATUSES, FileStatus, Finding, MergeResult, UnitStatus)
from cchc_excel.core.periods import VIETNAM, Period, parse_period
from cchc_excel.core.roster import Roster, Unit, load_roster
from cchc_excel.core.text import vn_datetime, vn_number
from cchc_excel.spec.model import FormSpec, load_spec

__all__ = ["FILE_STATUSES", "FILE_STATUS_LABELS", "UNIT_STATUSES", "UNIT_STATUS_LABELS", "MAX_FINDINGS",
           "FileStatus", "UnitStatus", "Finding", "MergeResult", "merge_reports", "aggregate_paths",
           "received_times"]


# ---------------------------------------------------------------------------------------------------


@dataclass
class _Entry:
    """A file on its way to a status (mutable while deciding)."""

    report: object
    path: Path
    unit: Unit | None
    period: Period | None
    period_text: str | None
    check_status: str
    errors: int
    warnings: int
    saved_at: datetime | None
    received: datetime | None
    time: datetime | None  # what "latest" compares
    sha256: str
    reported_levels: frozenset
    merged_units: int
    status: str = ""
    reason: str = ""


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # docProps/core.xml and our manifests write UTC
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(os.stat(path).st_mtime, timezone.utc)
    except OSError:
        return None


def _is_late(moment: datetime | None, period: Period | None, deadline_day: int) -> bool:
    if moment is None or period is None:
        return False
    return moment.astimezone(VIETNAM).date() > period.deadline(deadline_day)


def _unit_of(report, roster: Roster | None) -> Unit | None:
    info = getattr(report, "unit", None)
    if not info:
        return None
    if isinstance(info, Unit):
        code, name, level = info.code, info.name, info.level
    else:
        code, name, level = str(info.get("code") or ""), info.get("name") or "", info.get("level")
    if not code:
        return None
    if roster is not None and code in roster:
        return roster.get(code)
    return Unit(code, name or code, level or "")


def _meta(report) -> tuple[frozenset, int]:
    """Reported levels and number of units merged (0 for a unit's own return), as the checker read them
    from the template's metadata (`FileReport.reported_levels`, `FileReport.merged_units`)."""
    levels = getattr(report, "reported_levels", None) or frozenset()
    try:
        merged = int(getattr(report, "merged_units", None) or 0)
    except (TypeError, ValueError):
        merged = 0
    return frozenset(levels), merged


def _entries(reports, roster, received: dict) -> list[_Entry]:
    entries = []
    for rep in sorted(reports, key=lambda r: str(r.path)):
        path = Path(rep.path)
        text = getattr(rep, "period", None)
        try:
            period = parse_period(text) if text else None
        except PeriodError:
            period = None
        issues = getattr(rep, "issues", ()) or ()
        saved = _utc(getattr(rep, "saved_at", None))
        got = None
        if received:
            got = _utc(received.get(str(path.resolve())) or received.get(str(path)) or received.get(path.name))
        unit = _unit_of(rep, roster)
        levels, merged = _meta(rep)
        entries.append(_Entry(
            rep, path, unit, period, str(period) if period else text, rep.status,
            sum(1 for i in issues if i.severity == "error"), sum(1 for i in issues if i.severity == "warning"),
            saved, got, saved or got or _mtime(path), getattr(rep, "sha256", "") or "", levels, merged,
        ))
    return entries


def _name(entry: _Entry) -> str:
    return entry.path.name


def merge_reports(
    reports: Iterable,
    spec: FormSpec | None = None,
    *,
    roster: Roster | None = None,
    period: Period | str | None = None,
    unit_code: str | None = None,
    include_errors: bool = False,
    received: dict | None = None,
) -> MergeResult:
    """Decide the status of every file and unit, and total the merged ones.

    Args:
        reports: checked files: objects with `path, status, unit, period, values, issues, sha256,
            saved_at` (a `check.FileReport`); `reported_levels` and `merged_units` are used when there.
        spec: the forms (default: the bundled spec).
        roster: the units; without one, every identified unit counts and none is missing.
        period: the period to merge; default: the one most returns report (the latest of a tie).
        unit_code: merge the subtree under this unit (needs a roster); default: the whole roster.
        include_errors: merge returns that have errors too.
        received: {path: datetime} when each file arrived (from an email manifest).

    Raises:
        RosterError: `unit_code` not in the roster, or given without a roster.
        PeriodError: no period given and none can be found in the returns.
    """
    spec = spec if isinstance(spec, FormSpec) else load_spec(spec)
    received = {str(k): v for k, v in (received or {}).items()}
    notes: list[str] = list(roster.warnings) if roster is not None else []
    entries = _entries(reports, roster, received)

    root, scope = _scope(roster, unit_code)

    # 1. Files that cannot take part: duplicates, unreadable, unit unknown or outside.
    first_of: dict[str, _Entry] = {}
    for e in entries:
        if e.sha256 and e.sha256 in first_of:
            e.status, e.reason = "duplicate", f"Trùng nội dung với tệp {_name(first_of[e.sha256])}"
            continue
        if e.sha256:
            first_of[e.sha256] = e
        if e.check_status == "unreadable":
            e.status, e.reason = "unreadable", _first_error(e.report) or "Không đọc được tệp"
        elif e.unit is None:
            e.status, e.reason = "unknown_unit", "Không xác định được đơn vị gửi báo cáo"
        elif roster is not None and e.unit.code not in roster:
            e.status, e.reason = "unknown_unit", f"Mã đơn vị {e.unit.code} không có trong danh sách đơn vị"
        elif scope is not None and e.unit.code not in scope:
            e.status, e.reason = "other_unit", f"Đơn vị {e.unit.name} không thuộc {root.name}"
        elif root is not None and e.unit.code == root.code and e.merged_units:
            e.status, e.reason = "other_unit", f"Báo cáo tổng hợp của chính {root.name}: không tổng hợp lại"

    # 2. The period.
    target = _target_period(period, [e for e in entries if not e.status])
    for e in entries:
        if e.status:
            continue
        if e.period is None:
            e.status, e.reason = "other_period", "Không xác định được kỳ báo cáo"
        elif not target.contains(e.period):
            e.status, e.reason = "other_period", f"Báo cáo {e.period.label}, không thuộc {target.label}"

    # 3. Latest wins among versions of one unit and period.
    versions: dict[tuple, list[_Entry]] = defaultdict(list)
    for e in entries:
        if not e.status:
            versions[(e.unit.code, e.period)].append(e)
    winners: dict[str, dict[Period, _Entry]] = defaultdict(dict)
    for (code, per), group in versions.items():
        winner = _latest(group, notes)
        winners[code][per] = winner

    # 4. Errors, then pieces of a longer period.
    by_unit: dict[str, dict] = {}
    for code, per_period in winners.items():
        usable, rejected = {}, []
        for per, e in per_period.items():
            if e.check_status == "errors" and not include_errors:
                e.status = "errors"
                e.reason = f"{e.errors} lỗi cần sửa trước khi tổng hợp"
                rejected.append(_record(e, spec))
            else:
                usable[per] = e
        records = {per: _record(e, spec) for per, e in usable.items()}
        rolled = roll_up(records.values(), spec, target)
        for rec in rolled.used:
            e = usable[rec.period]
            e.status = "merged"
            if e.check_status == "errors":
                e.reason = f"Có {e.errors} lỗi, vẫn tổng hợp (--include-errors)"
        longer = ", ".join(r.period.label for r in rolled.used)
        for rec in rolled.unused:
            e = usable[rec.period]
            e.status, e.reason = "superseded", f"Đã có báo cáo {longer} của đơn vị bao trùm kỳ này"
        by_unit[code] = {"rolled": rolled, "files": per_period, "rejected": rejected}

    # 5. A merged report of a unit above covers the units under it.
    covered = _cover(by_unit, entries, roster)
    for above in sorted(set(covered.values())):
        inside = sum(1 for c in covered.values() if c == above)
        name = roster.get(above).name
        notes.append(f"{name} gửi báo cáo tổng hợp của mình: {inside} đơn vị trực thuộc không được liệt kê "
                     f"riêng (tình hình nộp báo cáo của họ có trong báo cáo của {name}).")

    unit_info = {e.unit.code: e.unit for e in entries if e.unit is not None}
    if roster is not None:
        unit_info.update({u.code: u for u in roster})
    records, pieces, unit_order = [], [], _unit_order(roster, scope, by_unit)
    rolled_up, lacking = [], []
    for code in unit_order:
        info = by_unit.get(code)
        if not info or code in covered:
            continue
        pieces.extend(info["rejected"])
        rolled = info["rolled"]
        if rolled.record is None:
            continue
        records.append(rolled.record)
        pieces.extend(rolled.used)
        if len(rolled.used) > 1 or rolled.missing:
            rolled_up.append(code)
        if rolled.missing:
            lacking.append(code)
    if rolled_up:
        notes.append(f"{len(rolled_up)} đơn vị được cộng dồn số liệu {target.label} từ báo cáo các kỳ ngắn hơn "
                     f"(số phát sinh cộng lại, số tại thời điểm báo cáo lấy kỳ sau cùng, tỷ lệ tính lại).")
    if lacking:
        names = ", ".join(unit_info[c].name for c in lacking[:10]) + (" …" if len(lacking) > 10 else "")
        notes.append(f"{len(lacking)} đơn vị thiếu báo cáo của một số kỳ trong {target.label}: {names} "
                     f"(xem cột Ghi chú của từng đơn vị).")

    for e in entries:
        assert e.status, e.path  # every file has a status: nothing is dropped silently

    files = [_file_status(e, spec) for e in entries]
    units, expected = _unit_statuses(roster, root, scope, by_unit, covered, files, unit_info, target)
    frame = value_frame(records, spec)
    level = root.level if root is not None else "tinh"
    reported = set(spec.reported_levels(level))
    for rec in records:
        reported |= set(rec.reported_levels or ({rec.level} if rec.level else set()))
    if root is None:
        notes.append("Không có đơn vị gốc (--unit): báo cáo tổng hợp được lập cho cấp tỉnh.")

    findings, total_findings = _findings(entries, notes)

    return MergeResult(
        spec=spec, period=target, root=root, level=level, reported_levels=frozenset(reported),
        files=files, units=units, expected=expected, records=records, pieces=pieces,
        frame=frame, totals=aggregate_units(records, spec, frame), findings=findings, findings_total=total_findings,
        unit_info=unit_info, notes=notes,
    )


def _findings(entries: list[_Entry], notes: list[str]) -> tuple[list[Finding], int]:
    """The findings of every file, at most MAX_FINDINGS of them (a note says when there were more), and
    how many there were."""
    findings, total = [], 0
    for e in entries:
        for issue in getattr(e.report, "issues", ()) or ():
            total += 1
            if len(findings) < MAX_FINDINGS:
                findings.append(Finding(e.path, e.unit.code if e.unit else None,
                                        e.unit.name if e.unit else "", issue))
    if total > MAX_FINDINGS:
        notes.append(f"Có {vn_number(total)} phát hiện; trang Kiểm tra chỉ ghi {vn_number(MAX_FINDINGS)} dòng đầu.")
    return findings, total


def _first_error(report) -> str:
    for issue in getattr(report, "issues", ()) or ():
        if issue.severity == "error":
            return issue.message
    return ""


def _scope(roster: Roster | None, unit_code: str | None) -> tuple[Unit | None, set | None]:
    if roster is None:
        if unit_code:
            raise RosterError(f"Cần danh sách đơn vị (--roster) để tổng hợp theo đơn vị {unit_code}.")
        return None, None
    if unit_code:
        if unit_code not in roster:
            raise RosterError(f"{roster.source}: không có đơn vị mã {unit_code!r} trong danh sách.")
        return roster.get(unit_code), {u.code for u in roster.subtree(unit_code)}
    roots = roster.roots()
    if len(roots) == 1:
        return roots[0], {u.code for u in roster.subtree(roots[0].code)}
    return None, {u.code for u in roster}


def _target_period(period, entries: list[_Entry]) -> Period:
    if period:
        return parse_period(period)
    counts = Counter(e.period for e in entries if e.period is not None)
    if not counts:
        raise PeriodError("Không xác định được kỳ báo cáo của các tệp; hãy ghi rõ --period (ví dụ 2023-Q2).")
    best = max(counts.values())
    return max(p for p, n in counts.items() if n == best)


def _latest(group: list[_Entry], notes: list[str]) -> _Entry:
    """The latest version; the others become `superseded`."""
    floor = datetime.min.replace(tzinfo=timezone.utc)
    ordered = sorted(group, key=lambda e: (e.time or floor, str(e.path)))
    winner = ordered[-1]
    tied = [e for e in ordered[:-1] if e.time == winner.time]
    for e in ordered[:-1]:
        if e in tied:
            e.status = "superseded"
            e.reason = (f"Cùng thời điểm lưu với {_name(winner)} ({_when(winner.time)}); "
                        f"chọn {_name(winner)} theo tên tệp")
        else:
            e.status, e.reason = "superseded", f"Có bản mới hơn: {_name(winner)} ({_when(winner.time)})"
    if tied:
        names = ", ".join(_name(e) for e in tied + [winner])
        notes.append(f"{winner.unit.name}: các tệp {names} cùng thời điểm lưu; dùng {_name(winner)}.")
    return winner


def _when(moment: datetime | None) -> str:
    return vn_datetime(moment.astimezone(VIETNAM)) if moment else "không rõ thời điểm"


def _record(e: _Entry, spec: FormSpec) -> Record:
    level = e.unit.level or None
    # Without the file's own word (a merged report covers more), a unit's return covers its level's rows.
    levels = e.reported_levels or (spec.reported_levels(level) if level else frozenset())
    # The file's own % rows are not trusted: recomputed from its numerators and denominators.
    values = recompute_ratios(getattr(e.report, "values", None) or {}, spec)
    return Record(e.unit.code, e.period, values, level, levels, max(1, e.merged_units), str(e.path))


def _cover(by_unit: dict, entries: list[_Entry], roster: Roster | None) -> dict:
    """Units whose figures are already in the merged report of a unit above: {code: that unit's code}."""
    covered: dict[str, str] = {}
    if roster is None:
        return covered
    # A merged report says so in its metadata, whatever the number of units behind it (one is enough).
    merged_reports = [code for code, info in by_unit.items()
                      if any(info["files"][rec.period].merged_units for rec in info["rolled"].used)]
    for code in merged_reports:
        if code in covered:
            continue
        for unit in roster.subtree(code):
            if unit.code != code:
                covered[unit.code] = code
    for code, above in covered.items():
        info = by_unit.get(code)
        if not info:
            continue
        name = roster.get(above).name
        for e in entries:
            if e.unit is not None and e.unit.code == code and e.status == "merged":
                e.status, e.reason = "superseded", f"Đã có trong báo cáo tổng hợp của {name}"
    return covered


def _unit_order(roster, scope, by_unit) -> list[str]:
    if roster is None:
        return sorted(by_unit)
    order = [u.code for u in roster if scope is None or u.code in scope]
    known = set(order)
    return order + sorted(c for c in by_unit if c not in known)


def _file_status(e: _Entry, spec: FormSpec) -> FileStatus:
    late = _is_late(e.received or e.saved_at, e.period, spec.deadline_day)
    return FileStatus(
        path=e.path, status=e.status, reason=e.reason, unit=e.unit.code if e.unit else None,
        unit_name=e.unit.name if e.unit else "", period=e.period_text, check_status=e.check_status,
        errors=e.errors, warnings=e.warnings, saved_at=e.saved_at, received=e.received, late=late,
        sha256=e.sha256,
    )


def _unit_statuses(roster, root, scope, by_unit, covered, files, unit_info, target):
    files_of: dict[str, list[FileStatus]] = defaultdict(list)
    for f in files:
        if f.unit and f.status in ("merged", "errors", "superseded"):
            files_of[f.unit].append(f)
    if roster is not None:
        # Units inside a merged report of a unit above are that unit's business: not listed here.
        wanted = [u for u in roster.reporting_units(root.code if root else None) if u.code not in covered]
        codes = [u.code for u in wanted if scope is None or u.code in scope]
        if root is not None and root.code in by_unit:
            codes = [root.code] + codes
        expected = len(wanted)
    else:
        codes, expected = sorted(by_unit), None
    out = []
    for code in codes:
        unit = unit_info[code]
        mine = files_of.get(code, [])
        used = [f for f in mine if f.status == "merged"]
        bad = [f for f in mine if f.status == "errors"]
        shown = used or bad
        received = max((f.received or f.saved_at for f in shown if f.received or f.saved_at), default=None)
        common = dict(files=tuple(f.path for f in shown), received=received, late=any(f.late for f in shown),
                      errors=sum(f.errors for f in shown), warnings=sum(f.warnings for f in shown))
        rolled = by_unit.get(code, {}).get("rolled")
        if used:
            missing = tuple(q.code for q in rolled.missing) if rolled else ()
            reason = ""
            if missing:
                reason = "Thiếu " + ", ".join(parse_period(q).label for q in missing)
            if bad:
                reason = "; ".join(x for x in (reason, "tệp " + ", ".join(f.path.name for f in bad) + " có lỗi")
                                   if x)
            out.append(UnitStatus(unit, "merged", reason, missing_periods=missing, **common))
        elif bad:
            out.append(UnitStatus(unit, "errors", f"{sum(f.errors for f in bad)} lỗi cần sửa", **common))
        else:
            out.append(UnitStatus(unit, "missing", f"Chưa nhận báo cáo {target.label}"))
    return out, expected


# ---------------------------------------------------------------------------------------------------
# From files


def received_times(paths: Iterable[Path]) -> dict:
    """{resolved path: datetime received} from the `manifest.csv` that `cchc collect` leaves in folders."""
    from cchc_excel.core.manifest import read_manifest

    out = {}
    for folder in {Path(p).resolve().parent for p in paths}:
        try:
            manifest = read_manifest(folder)
        except CchcError:
            continue  # a broken manifest only costs the received times
        for name, saved in manifest.items():
            if saved.date is not None:
                out[str(folder / name)] = saved.date
    return out


def aggregate_paths(
    paths: list,
    spec: FormSpec | str | None = None,
    *,
    roster: Roster | str | Path | None = None,
    period: Period | str | None = None,
    unit_code: str | None = None,
    include_errors: bool = False,
    received: dict | None = None,
    jobs: int | None = None,
    progress: Callable | None = None,
    exclude: Iterable = (),
) -> MergeResult:
    """Read and check every return (as `cchc check` does), then merge them (`merge_reports`).

    Args:
        paths: files and folders of returns (folders searched as `cchc check` does).
        spec, roster, period, unit_code, include_errors: as for `merge_reports` (a roster may be a path).
        received: {path: datetime received}; default: from the `manifest.csv` of `cchc collect` in the
            folders, when there is one.
        jobs: worker processes for reading (default: the machine's cores).
        progress: passed to `check.check_paths`, to show progress.
        exclude: paths not to read (the outputs of this merge).
    """
    from cchc_excel.check.run import check_paths, find_files

    spec = spec if isinstance(spec, FormSpec) else load_spec(spec)
    if roster is not None and not isinstance(roster, Roster):
        roster = load_roster(roster)
    skip = {Path(p).resolve() for p in exclude}
    files = [f for f in find_files(paths) if Path(f).resolve() not in skip]
    if not files:
        where = ", ".join(str(p) for p in paths)
        raise CchcError(f"Không tìm thấy tệp bảng tính nào (.xlsx, .xlsm, .xls, .ods) trong {where}.")
    if received is None:
        received = received_times(files)
    report = check_paths(files, spec, roster=roster, jobs=jobs, progress=progress)
    return merge_reports(report.files, spec, roster=roster, period=period, unit_code=unit_code,
                         include_errors=include_errors, received=received)
