"""Units after the returns are chosen: which are covered by the merged report of a unit above, which
records are merged, and one status per unit (merged, errors, missing) and per file."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime

from cchc_excel.core.periods import VIETNAM, Period, parse_period
from cchc_excel.core.roster import Roster, Unit
from cchc_excel.merge.choose import NOT_RETURNS, UnitReturns, Verdict, Verdicts
from cchc_excel.merge.inputs import Entry, Scope
from cchc_excel.merge.levels import top_level
from cchc_excel.merge.result import FileStatus, UnitStatus
from cchc_excel.spec.model import FormSpec


@dataclass
class Coverage:
    """Units whose figures are already in the merged report of a unit above: {code: that unit's code}."""

    covered: dict = field(default_factory=dict)
    verdicts: Verdicts = field(default_factory=dict)
    notes: list = field(default_factory=list)


def coverage(by_unit: dict[str, UnitReturns], roster: Roster | None) -> Coverage:
    """Which units a merged report of a unit above covers; their merged files become `superseded`."""
    out = Coverage()
    if roster is None:
        return out
    # A merged report says so in its metadata, whatever the number of units behind it (one is enough).
    merged_reports = [code for code, returns in by_unit.items()
                      if any(e.merged_units for e in returns.used_files())]
    for code in merged_reports:
        if code in out.covered:
            continue
        for unit in roster.subtree(code):
            if unit.code != code:
                out.covered[unit.code] = code
    for code, above in out.covered.items():
        if code in by_unit:
            reason = f"Đã có trong báo cáo tổng hợp của {roster.get(above).name}"
            out.verdicts.update({e: Verdict("superseded", reason) for e in by_unit[code].used_files()})
    for above in sorted(set(out.covered.values())):
        inside = sum(1 for c in out.covered.values() if c == above)
        name = roster.get(above).name
        out.notes.append(f"{name} gửi báo cáo tổng hợp của mình: {inside} đơn vị trực thuộc không được liệt kê "
                         f"riêng (tình hình nộp báo cáo của họ có trong báo cáo của {name}).")
    return out


def unit_order(scope: Scope, by_unit: dict) -> list[str]:
    """Units in roster order (those of the scope), then the others seen, by code."""
    if scope.roster is None:
        return sorted(by_unit)
    order = [u.code for u in scope.roster if u.code in scope]
    known = set(order)
    return order + sorted(c for c in by_unit if c not in known)


@dataclass
class Merged:
    """The records merged (one per unit, rolled up to the period), and every piece behind them."""

    records: list = field(default_factory=list)
    pieces: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def merged_records(by_unit: dict[str, UnitReturns], order: list[str], covered: dict, unit_info: dict,
                   target: Period) -> Merged:
    """One record per unit not covered by a unit above, in `order`; notes on roll-ups and gaps."""
    out = Merged()
    rolled_up, lacking = [], []
    for code in order:
        returns = by_unit.get(code)
        if returns is None or code in covered:
            continue
        out.pieces.extend(returns.rejected)
        rolled = returns.rolled
        if rolled.record is None:
            continue
        out.records.append(rolled.record)
        out.pieces.extend(rolled.used)
        if len(rolled.used) > 1 or rolled.missing:
            rolled_up.append(code)
        if rolled.missing:
            lacking.append(code)
    if rolled_up:
        out.notes.append(f"{len(rolled_up)} đơn vị được cộng dồn số liệu {target.label} từ báo cáo các kỳ ngắn "
                         f"hơn (số phát sinh cộng lại, số tại thời điểm báo cáo lấy kỳ sau cùng, tỷ lệ tính lại).")
    if lacking:
        names = ", ".join(unit_info[c].name for c in lacking[:10]) + (" …" if len(lacking) > 10 else "")
        out.notes.append(f"{len(lacking)} đơn vị thiếu báo cáo của một số kỳ trong {target.label}: {names} "
                         f"(xem cột Ghi chú của từng đơn vị).")
    return out


# ---------------------------------------------------------------------------------------------------
# Statuses


def is_late(moment: datetime | None, period: Period | None, deadline_day: int) -> bool:
    if moment is None or period is None:
        return False
    return moment.astimezone(VIETNAM).date() > period.deadline(deadline_day)


OWN_REASON = "Báo cáo riêng của đơn vị tổng hợp (--own)"


def file_status(e: Entry, verdict: Verdict, spec: FormSpec) -> FileStatus:
    """A file's status; the merged unit's own return (`--own`) is never late and says what it is."""
    reason = verdict.reason or (OWN_REASON if e.own else "")
    return FileStatus(
        path=e.path, status=verdict.status, reason=reason, unit=e.unit.code if e.unit else None,
        unit_name=e.unit.name if e.unit else "", period=e.period_text, check_status=e.check_status,
        errors=e.errors, warnings=e.warnings, saved_at=e.saved_at, received=e.received,
        late=not e.own and is_late(e.received or e.saved_at, e.period, spec.deadline_day), sha256=e.sha256,
    )


def expected_units(scope: Scope, covered: dict, spec: FormSpec) -> list[Unit] | None:
    """The units that should report (None without a roster): those under the root (every one without a
    root), but the units of the top level, which report to nobody, and those a unit above covers."""
    if scope.roster is None:
        return None
    top = top_level(spec)
    root = scope.root.code if scope.root is not None else None
    # Units inside a merged report of a unit above are that unit's business: not listed here.
    return [u for u in scope.roster.reporting_units(root) if u.level != top and u.code not in covered]


def unit_statuses(scope: Scope, expected: list[Unit] | None, by_unit: dict[str, UnitReturns],
                  files: list[FileStatus], unit_info: dict, target: Period,
                  own: frozenset = frozenset()) -> list[UnitStatus]:
    """One status per unit expected (with a roster: the root first when it sent its own return) or seen
    (without); `own`, the paths of the root's own return (`--own`), makes the root's status say so."""
    files_of: dict[str, list[FileStatus]] = defaultdict(list)
    for f in files:
        if f.unit and f.status in ("merged", "errors", "superseded", *NOT_RETURNS):
            files_of[f.unit].append(f)
    root = scope.root
    if expected is not None:
        codes = [u.code for u in expected if u.code in scope]
        if root is not None and root.code in by_unit:
            codes = [root.code] + codes
    else:
        codes = sorted(by_unit)
    out = [_unit_status(unit_info[code], files_of.get(code, []), by_unit.get(code), target) for code in codes]
    return [replace(u, reason="; ".join(x for x in (OWN_REASON, u.reason) if x)) if own & set(u.files) else u
            for u in out]


def _unit_status(unit, mine: list[FileStatus], returns: UnitReturns | None, target: Period) -> UnitStatus:
    used = [f for f in mine if f.status == "merged"]
    bad = [f for f in mine if f.status == "errors"]
    shown = used or bad
    if not shown:
        return _missing(unit, [f for f in mine if f.status in NOT_RETURNS], target)
    received = max((f.received or f.saved_at for f in shown if f.received or f.saved_at), default=None)
    common = dict(files=tuple(f.path for f in shown), received=received, late=any(f.late for f in shown),
                  errors=sum(f.errors for f in shown), warnings=sum(f.warnings for f in shown))
    if not used:
        return UnitStatus(unit, "errors", f"{sum(f.errors for f in bad)} lỗi cần sửa", **common)
    missing = tuple(q.code for q in returns.rolled.missing) if returns else ()
    reason = "Thiếu " + ", ".join(parse_period(q).label for q in missing) if missing else ""
    if bad:
        reason = "; ".join(x for x in (reason, "tệp " + ", ".join(f.path.name for f in bad) + " có lỗi") if x)
    return UnitStatus(unit, "merged", reason, missing_periods=missing, **common)


def _missing(unit, strays: list[FileStatus], target: Period) -> UnitStatus:
    """A unit with no return: none received, or only files that are none (a blank form, our feedback sent
    back unchanged), which say why."""
    if not strays:
        return UnitStatus(unit, "missing", f"Chưa nhận báo cáo {target.label}")
    reason = "; ".join(f"{f.label} (tệp {f.path.name})" for f in strays)
    received = max((f.received or f.saved_at for f in strays if f.received or f.saved_at), default=None)
    return UnitStatus(unit, "missing", reason, files=tuple(f.path for f in strays), received=received)
