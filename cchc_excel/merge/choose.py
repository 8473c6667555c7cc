"""Choosing the returns to merge, one step at a time; each step gives a `Verdict` to the files it
decides, and the notes (Vietnamese) it has to tell.

1. `exclusions`: duplicates, unreadable files, units unknown or outside the scope.
2. `target_period` and `off_period`: the period merged, and the files of other periods.
   `not_returns`: blank templates sent back and feedback workbooks sent back unchanged: never merged,
   and never superseding anything.
3. `latest_versions`: the latest version of each unit and period wins, the others are `superseded`.
4. `unit_returns`: returns with errors are left out (unless `include_errors`); a unit's returns are
   rolled up to the period, and those a longer one of the unit covers are `superseded`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

from cchc_excel.core.periods import VIETNAM, Period, parse_period
from cchc_excel.core.roster import Roster
from cchc_excel.core.text import vn_datetime
from cchc_excel.errors import PeriodError
from cchc_excel.merge.inputs import Entry, Scope
from cchc_excel.merge.totals import Record, RollUp, recompute_ratios, roll_up
from cchc_excel.spec.model import FormSpec


@dataclass(frozen=True, slots=True)
class Verdict:
    """What becomes of a file: one of `result.FILE_STATUSES` or `NO_RETURN_STATUSES`, and why (Vietnamese,
    "" for a plain merge)."""

    status: str
    reason: str = ""


Verdicts = dict  # {Entry: Verdict}


def undecided(entries: list[Entry], verdicts: Verdicts) -> list[Entry]:
    return [e for e in entries if e not in verdicts]


# ---------------------------------------------------------------------------------------------------
# 1. Files that cannot take part


def exclusions(entries: list[Entry], roster: Roster | None, scope: Scope) -> Verdicts:
    """Duplicates (the same bytes as an earlier file), unreadable files, units unknown or outside."""
    verdicts: Verdicts = {}
    first_of: dict[str, Entry] = {}
    for e in entries:
        if e.sha256 and e.sha256 in first_of:
            verdicts[e] = Verdict("duplicate", f"Trùng nội dung với tệp {first_of[e.sha256].name}")
            continue
        if e.sha256:
            first_of[e.sha256] = e
        verdict = _excluded(e, roster, scope)
        if verdict is not None:
            verdicts[e] = verdict
    return verdicts


def _excluded(e: Entry, roster: Roster | None, scope: Scope) -> Verdict | None:
    root = scope.root
    if e.check_status == "unreadable":
        return Verdict("unreadable", e.first_error() or "Không đọc được tệp")
    if e.unit is None:
        return Verdict("unknown_unit", "Không xác định được đơn vị gửi báo cáo")
    if roster is not None and e.unit.code not in roster:
        return Verdict("unknown_unit", f"Mã đơn vị {e.unit.code} không có trong danh sách đơn vị")
    if e.unit.code not in scope:
        return Verdict("other_unit", f"Đơn vị {e.unit.name} không thuộc {root.name}")
    if root is not None and e.unit.code == root.code and e.merged_units:
        return Verdict("other_unit", f"Báo cáo tổng hợp của chính {root.name}: không tổng hợp lại")
    return None


# ---------------------------------------------------------------------------------------------------
# 2. The period


def target_period(period: Period | str | None, entries: list[Entry]) -> Period:
    """The period given, else the one most files report (the latest of a tie)."""
    if period:
        return parse_period(period)
    counts = Counter(e.period for e in entries if e.period is not None)
    if not counts:
        raise PeriodError("Không xác định được kỳ báo cáo của các tệp; hãy ghi rõ --period (ví dụ 2023-Q2).")
    best = max(counts.values())
    return max(p for p, n in counts.items() if n == best)


def off_period(entries: list[Entry], target: Period) -> Verdicts:
    """Files of no known period, or of one outside `target`."""
    verdicts: Verdicts = {}
    for e in entries:
        if e.period is None:
            verdicts[e] = Verdict("other_period", "Không xác định được kỳ báo cáo")
        elif not target.contains(e.period):
            verdicts[e] = Verdict("other_period", f"Báo cáo {e.period.label}, không thuộc {target.label}")
    return verdicts


# What `cchc check` says a file is that is no return, and why it is left out.
NOT_RETURNS = {
    "empty": "Chưa nhập số liệu: biểu mẫu không có số liệu nào",
    "feedback_unchanged": "Tệp phản hồi gửi lại mà chưa sửa số liệu: không phải báo cáo mới",
}


def not_returns(entries: list[Entry]) -> Verdicts:
    """Blank templates sent back and our feedback sent back unchanged."""
    return {e: Verdict(e.check_status, NOT_RETURNS[e.check_status]) for e in entries
            if e.check_status in NOT_RETURNS}


# ---------------------------------------------------------------------------------------------------
# 3. Latest wins


@dataclass
class Latest:
    """The latest version of each unit's return of each period: {unit code: {period: entry}}."""

    winners: dict
    verdicts: Verdicts = field(default_factory=dict)
    notes: list = field(default_factory=list)


def latest_versions(entries: list[Entry]) -> Latest:
    """Among versions of one unit and period, the latest wins; a tie is said (and broken by file name)."""
    versions: dict[tuple, list[Entry]] = defaultdict(list)
    for e in entries:
        versions[(e.unit.code, e.period)].append(e)
    out = Latest(defaultdict(dict))
    for (code, period), group in versions.items():
        winner, verdicts, note = _latest(group)
        out.winners[code][period] = winner
        out.verdicts.update(verdicts)
        if note:
            out.notes.append(note)
    return out


def _latest(group: list[Entry]) -> tuple[Entry, Verdicts, str]:
    """The latest version, the verdicts of the others (`superseded`), and a note when there is a tie."""
    floor = datetime.min.replace(tzinfo=timezone.utc)
    ordered = sorted(group, key=lambda e: (e.time or floor, str(e.path)))
    winner = ordered[-1]
    tied = [e for e in ordered[:-1] if e.time == winner.time]
    when = _when(winner.time)
    verdicts = {
        e: Verdict("superseded", f"Cùng thời điểm lưu với {winner.name} ({when}); chọn {winner.name} theo tên tệp"
                   if e in tied else f"Có bản mới hơn: {winner.name} ({when})")
        for e in ordered[:-1]
    }
    note = ""
    if tied:
        names = ", ".join(e.name for e in tied + [winner])
        note = f"{winner.unit.name}: các tệp {names} cùng thời điểm lưu; dùng {winner.name}."
    return winner, verdicts, note


def _when(moment: datetime | None) -> str:
    return vn_datetime(moment.astimezone(VIETNAM)) if moment else "không rõ thời điểm"


# ---------------------------------------------------------------------------------------------------
# 4. Errors, then pieces of a longer period


@dataclass(frozen=True)
class UnitReturns:
    """One unit's chosen returns: rolled up to the period, the latest file of each period, and the
    records of the files left out for their errors."""

    rolled: RollUp
    files: dict  # {Period: Entry}
    rejected: tuple = ()

    def used_files(self) -> list[Entry]:
        return [self.files[rec.period] for rec in self.rolled.used]


def unit_returns(winners: dict, spec: FormSpec, target: Period,
                 include_errors: bool) -> tuple[dict, Verdicts]:
    """{unit code: UnitReturns} and the verdicts of the winning files (merged, errors, superseded)."""
    by_unit, verdicts = {}, {}
    for code, per_period in winners.items():
        usable = {}
        rejected = []
        for period, e in per_period.items():
            if e.check_status == "errors" and not include_errors:
                verdicts[e] = Verdict("errors", f"{e.errors} lỗi cần sửa trước khi tổng hợp")
                rejected.append(record_of(e, spec))
            else:
                usable[period] = e
        rolled = roll_up([record_of(e, spec) for e in usable.values()], spec, target)
        verdicts.update(_rolled_verdicts(rolled, usable))
        by_unit[code] = UnitReturns(rolled, per_period, tuple(rejected))
    return by_unit, verdicts


def _rolled_verdicts(rolled: RollUp, usable: dict) -> Verdicts:
    verdicts = {}
    for rec in rolled.used:
        e = usable[rec.period]
        reason = f"Có {e.errors} lỗi, vẫn tổng hợp (--include-errors)" if e.check_status == "errors" else ""
        verdicts[e] = Verdict("merged", reason)
    longer = ", ".join(r.period.label for r in rolled.used)
    for rec in rolled.unused:
        verdicts[usable[rec.period]] = Verdict("superseded", f"Đã có báo cáo {longer} của đơn vị bao trùm kỳ này")
    return verdicts


def record_of(e: Entry, spec: FormSpec) -> Record:
    """A file's values as a `Record` of its unit and period."""
    level = e.unit.level or None
    # Without the file's own word (a merged report covers more), a unit's return covers its level's rows.
    levels = e.reported_levels or (spec.reported_levels(level) if level else frozenset())
    # The file's own % rows are not trusted: recomputed from its numerators and denominators.
    values = recompute_ratios(e.values, spec)
    return Record(e.unit.code, e.period, values, level, levels, max(1, e.merged_units), str(e.path))
