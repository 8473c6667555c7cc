"""Which returns to merge: one status per file and per unit, latest wins, duplicates, late returns.

`merge_reports` takes the checked files (`check.FileReport`, or any `inputs.CheckedFile`) and decides,
for the period merged, what each file is:

- `merged`: its values are in the totals;
- `superseded`: the same unit sent a later version of the same period (the latest is the one the
  workbook itself says was saved last, else the one received last, else the file's time; a tie is said),
  or a longer period of the unit covers it, or the merged report of a unit above covers it;
- `errors`: it has errors the unit must fix (merged anyway with `include_errors`);
- `unreadable`; `other_period`; `unknown_unit` (not identified, or not in the roster);
- `other_unit`: in the roster but outside the unit merged (`--unit`);
- `duplicate`: the same bytes as another file;
- `empty` (a blank template sent back), `feedback_unchanged` (our feedback sent back as it was): no
  return, never merged and never superseding one; the unit stays missing, and says why.

With a roster, every unit under the merged one gets one status: `merged`, `errors` or `missing`, and a
return received after the deadline is flagged late. `aggregate_paths` reads and checks the files (the
way `cchc check` does) and calls `merge_reports`. The steps are in `choose` (files) and `units`.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable, Iterable

from cchc_excel.core.periods import Period
from cchc_excel.core.roster import Roster, load_roster
from cchc_excel.core.text import vn_number
from cchc_excel.errors import CchcError
from cchc_excel.merge.choose import (exclusions, latest_versions, not_returns, off_period, target_period,
                                     undecided, unit_returns)
from cchc_excel.merge.inputs import (CheckedFile, Entry, Scope, compact, own_entries, pack_values, read_entries,
                                    scope_of)
from cchc_excel.merge.history import history_of
from cchc_excel.merge.levels import top_level
from cchc_excel.merge.result import (FILE_STATUS_LABELS, FILE_STATUSES, MAX_FINDINGS, NO_RETURN_STATUSES,
                                     UNIT_STATUS_LABELS, UNIT_STATUSES, FileStatus, Finding, MergeResult,
                                     UnitStatus)
from cchc_excel.merge.totals import aggregate_units
from cchc_excel.merge.units import (coverage, expected_units, file_status, merged_records, unit_order,
                                    unit_statuses)
from cchc_excel.spec.model import FormSpec
from cchc_excel.spec.loader import load_spec

__all__ = ["FILE_STATUSES", "NO_RETURN_STATUSES", "FILE_STATUS_LABELS", "UNIT_STATUSES", "UNIT_STATUS_LABELS",
           "MAX_FINDINGS", "FileStatus", "UnitStatus", "Finding", "MergeResult", "CheckedFile", "merge_reports",
           "aggregate_paths", "received_times"]


def merge_reports(
    reports: Iterable[CheckedFile],
    spec: FormSpec | None = None,
    *,
    roster: Roster | None = None,
    period: Period | str | None = None,
    unit_code: str | None = None,
    include_errors: bool = False,
    received: dict | None = None,
    own: Iterable[CheckedFile] = (),
    previous: Iterable[CheckedFile] = (),
) -> MergeResult:
    """Decide the status of every file and unit, total the merged ones, compare them with earlier periods
    and warn of values far off (`merge.history`, `merge.outliers`).

    Args:
        reports: checked files (`check.FileReport`s, or anything with the attributes of `CheckedFile`).
        spec: the forms (default: the bundled spec).
        roster: the units; without one, every identified unit counts and none is missing.
        period: the period to merge; default: the one most returns report (the latest of a tie).
        unit_code: merge the subtree under this unit (needs a roster); default: the whole roster.
        include_errors: merge returns that have errors too.
        received: {path: datetime} when each file arrived (from an email manifest).
        own: the merged unit's own return (`--own`: its own rows, BM1-3.2, BM2-1.2, ...): merged as the
            root's part, never late nor of an unknown unit; its values of rows the units below also fill
            (dossiers, documents) add to theirs, as any unit's do.
        previous: earlier returns of the units, or earlier merged reports of the unit merged: the period
            before and the same period a year before (told apart by their period), for `comparisons` and
            the outlier checks against each unit's history.

    Raises:
        RosterError: `unit_code` not in the roster, or given without a roster; an `own` file of another
            unit, or without a unit to merge for.
        PeriodError: no period given and none can be found in the returns.
    """
    # numpy imported here, not with this module: workers forked before (`aggregate_paths`) stay small.
    from cchc_excel.merge.outliers import outliers

    spec = spec if isinstance(spec, FormSpec) else load_spec(spec)
    result = _merge(reports, spec, roster=roster, period=period, unit_code=unit_code,
                    include_errors=include_errors, received=received, own=own)
    history = None
    previous = list(previous)
    if previous:
        history = history_of(result, previous, _merge, roster=roster, unit_code=unit_code,
                             include_errors=include_errors, received=received)
        result.comparisons = history.comparisons
        result.notes.extend(history.notes)
    result.outliers = outliers(result, history)
    if result.outliers:
        result.notes.append(f"{len(result.outliers)} số liệu của các đơn vị khác xa các kỳ trước hoặc các đơn vị "
                            "cùng cấp (cảnh báo, không làm thay đổi số tổng hợp): xem trang Kiểm tra.")
    room = max(0, MAX_FINDINGS - len(result.findings))
    result.findings.extend(result.outliers[:room])
    result.findings_total += len(result.outliers)
    return result


def _merge(reports, spec: FormSpec, *, roster=None, period=None, unit_code=None, include_errors=False,
           received=None, own=()) -> MergeResult:
    """`merge_reports` without the comparisons and outliers: one period's statuses and totals."""
    from cchc_excel.merge.table import value_table  # numpy, as above

    scope = scope_of(roster, unit_code)
    entries = read_entries(reports, roster, received or {}) + own_entries(own, scope, spec)
    verdicts = exclusions(entries, roster, scope)
    target = target_period(period, undecided(entries, verdicts))
    verdicts |= off_period(undecided(entries, verdicts), target)
    verdicts |= not_returns(undecided(entries, verdicts))
    latest = latest_versions(undecided(entries, verdicts))
    verdicts |= latest.verdicts
    by_unit, chosen = unit_returns(latest.winners, spec, target, include_errors)
    verdicts |= chosen
    covers = coverage(by_unit, roster)
    verdicts |= covers.verdicts
    left = undecided(entries, verdicts)
    assert not left, [e.path for e in left]  # every file has a status: nothing is dropped silently

    unit_info = _unit_info(entries, roster)
    merged = merged_records(by_unit, unit_order(scope, by_unit), covers.covered, unit_info, target)
    files = [file_status(e, verdicts[e], spec) for e in entries]
    expected = expected_units(scope, covers.covered, spec)
    units = unit_statuses(scope, expected, by_unit, files, unit_info, target,
                          own=frozenset(e.path for e in entries if e.own))
    level, reported = _merged_levels(scope, merged.records, spec)
    findings, total_findings, cap_notes = _findings(entries)
    table = value_table(merged.records, spec)
    notes = [*(roster.warnings if roster is not None else ()), *latest.notes, *covers.notes, *merged.notes,
             *_root_notes(scope, spec, level), *cap_notes]
    return MergeResult(
        spec=spec, period=target, root=scope.root, level=level, reported_levels=reported, files=files,
        units=units, expected=None if expected is None else len(expected), records=merged.records,
        pieces=merged.pieces, frame=table, totals=aggregate_units(merged.records, spec, table),
        findings=findings, findings_total=total_findings, unit_info=unit_info, notes=notes,
    )


def _unit_info(entries: list[Entry], roster: Roster | None) -> dict:
    """code -> Unit of every unit seen, the roster's word first."""
    info = {e.unit.code: e.unit for e in entries if e.unit is not None}
    if roster is not None:
        info.update({u.code: u for u in roster})
    return info


def _merged_levels(scope: Scope, records: list, spec: FormSpec) -> tuple[str, frozenset]:
    """The merged report's level (the root's; without a root the spec's top level) and the row levels it
    covers (its level's, and whatever the records merged cover)."""
    level = scope.root.level if scope.root is not None else top_level(spec)
    reported = set(spec.reported_levels(level))
    for rec in records:
        reported |= set(rec.reported_levels or ({rec.level} if rec.level else set()))
    return level, frozenset(reported)


def _root_notes(scope: Scope, spec: FormSpec, level: str) -> list[str]:
    if scope.root is not None:
        return []
    return [f"Không có đơn vị gốc (--unit): báo cáo tổng hợp được lập cho cấp {spec.level_name(level).lower()}."]


def _findings(entries: list[Entry]) -> tuple[list[Finding], int, list[str]]:
    """The findings of every file, at most MAX_FINDINGS of them, how many there were, and a note when
    there were more."""
    findings, total = [], 0
    for e in entries:
        for issue in e.issues:
            total += 1
            if len(findings) < MAX_FINDINGS:
                findings.append(Finding(e.path, e.unit.code if e.unit else None,
                                        e.unit.name if e.unit else "", issue))
    notes = []
    if total > MAX_FINDINGS:
        notes.append(f"Có {vn_number(total)} phát hiện; trang Kiểm tra chỉ ghi {vn_number(MAX_FINDINGS)} "
                     "dòng đầu.")
    return findings, total, notes


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
    own: str | Path | None = None,
    previous: Iterable = (),
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
        own: the merged unit's own return (`--own`), read as the root's when it does not say whose it is.
        previous: files and folders of earlier returns or earlier merged reports (`--previous`).
    """
    from cchc_excel.check.run import find_files, iter_checked

    spec = spec if isinstance(spec, FormSpec) else load_spec(spec)
    if roster is not None and not isinstance(roster, Roster):
        roster = load_roster(roster, levels=spec.levels)
    skip = {Path(p).resolve() for p in (*exclude, *([own] if own else []))}
    files = [f for f in find_files(paths) if Path(f).resolve() not in skip]
    if not files and not own:
        where = ", ".join(str(p) for p in paths)
        raise CchcError(f"Không tìm thấy tệp bảng tính nào (.xlsx, .xlsm, .xls, .ods) trong {where}.")
    if received is None:
        received = received_times(files)
    # Each report is made compact as it comes, its values packed where it was checked: the main process
    # keeps the values it merges, not every report as checked, so that its memory stays flat in the
    # number of returns.
    reports = [compact(r, spec, roster) for r, _ in iter_checked(files, spec, roster=roster, jobs=jobs,
                                                                 progress=progress, after=partial(pack_values, spec))]
    mine = _check_own(own, spec, roster, unit_code, period) if own else []
    earlier = _check_previous(previous, spec, roster, jobs, skip) if previous else []
    # Handed over as an iterator: once the merge has read them into its entries, the reports are freed.
    handed, reports = iter(reports), None
    return merge_reports(handed, spec, roster=roster, period=period, unit_code=unit_code,
                         include_errors=include_errors, received=received, own=mine, previous=earlier)


def _check_previous(paths, spec: FormSpec, roster: Roster | None, jobs, skip: set) -> list:
    """The earlier files (`--previous`), checked as returns are."""
    from cchc_excel.check.run import find_files, iter_checked

    files = [f for f in find_files(list(paths)) if Path(f).resolve() not in skip]
    if not files:
        where = ", ".join(str(p) for p in paths)
        raise CchcError(f"Không tìm thấy tệp bảng tính nào (.xlsx, .xlsm, .xls, .ods) trong {where} (--previous).")
    return [compact(r, spec, roster) for r, _ in iter_checked(files, spec, roster=roster, jobs=jobs,
                                                              after=partial(pack_values, spec))]


def _check_own(own, spec: FormSpec, roster: Roster | None, unit_code: str | None, period) -> list:
    """The merged unit's own return, checked: as the root's when the file does not say whose it is (a
    file of another unit keeps its unit, and `merge_reports` refuses it)."""
    from cchc_excel.check.run import check_paths

    mine = check_paths([own], spec, roster=roster, period=period, jobs=1).files
    if not mine:
        raise CchcError(f"{own}: không phải tệp bảng tính (.xlsx, .xlsm, .xls, .ods) (--own).")
    root = scope_of(roster, unit_code).root
    if root is not None and not mine[0].unit and mine[0].status != "unreadable":
        mine = check_paths([own], spec, roster=roster, unit_code=root.code, period=period, jobs=1).files
    return mine
