"""Comparisons with earlier periods (`aggregate --previous`): the previous period's and the same period
last year's totals beside this period's, and the change.

The earlier files are earlier returns of the same units, or earlier merged workbooks of the unit merged
(our template of its level with `merged` metadata: its values are the totals). Which period a file
stands for is read from the file: the period before (`Period.previous`, a quarter's) or the same period a
year before (`Period.year_before`); earlier periods of the same length are the units' history for the
outlier checks (`merge.outliers`). Each earlier period is merged by `merge_reports`, as this one is; an
earlier merged workbook of the unit merged gives that period's totals, its units' returns its units'
values. Nothing here changes this period's totals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from cchc_excel.core.kinds import PERCENT_KINDS, QUANTITY_KINDS
from cchc_excel.core.periods import Period, parse_period
from cchc_excel.core.text import vn_number
from cchc_excel.errors import PeriodError
from cchc_excel.merge.result import MergeResult

PREVIOUS, YEAR_BEFORE = "previous", "year_before"
COMPARISON_LABELS = {PREVIOUS: "Kỳ trước", YEAR_BEFORE: "Cùng kỳ năm trước"}
MAX_HISTORY = 8  # earlier periods of the same length kept as a unit's history
COMPARED_KINDS = QUANTITY_KINDS + PERCENT_KINDS  # flags and choices are counts of answers: not compared


@dataclass(frozen=True)
class Change:
    """One row's total now and in an earlier period; a percentage changes in percentage points."""

    indicator: str
    current: float | None
    earlier: float | None
    points: bool = False

    @property
    def difference(self) -> float | None:
        if self.current is None or self.earlier is None:
            return None
        return self.current - self.earlier

    @property
    def relative(self) -> float | None:
        """The change in % of the earlier value (a quantity's, when that was above 0), else None."""
        if self.points or self.difference is None or not self.earlier:
            return None
        return self.difference / self.earlier * 100

    def to_dict(self) -> dict:
        d = {"value": _rounded(self.earlier), "change": _rounded(self.difference)}
        d["change_unit"] = "percentage_points" if self.points else "value"
        if not self.points:
            d["change_percent"] = _rounded(self.relative)
        return d

    def words(self) -> str:
        """`tăng 12%`, `giảm 3,5 điểm phần trăm`, `tăng từ 0 lên 50`, `không đổi`; "" when a side is blank."""
        diff = self.difference
        if diff is None:
            return ""
        if abs(diff) < 1e-9:
            return "không đổi"
        way = "tăng" if diff > 0 else "giảm"
        if self.points:
            return f"{way} {vn_number(abs(diff), places=1)} điểm phần trăm"
        if self.relative is None:
            return f"{way} từ {vn_number(self.earlier)} lên {vn_number(self.current)}"
        rel = abs(self.relative)
        return f"{way} {vn_number(rel, places=0 if rel >= 10 else 1)}%"


def _rounded(value):
    if value is None:
        return None
    value = round(float(value), 4)
    return int(value) if value.is_integer() else value


@dataclass
class Comparison:
    """This period's totals against one earlier period's.

    Attributes:
        which: PREVIOUS or YEAR_BEFORE; period: the earlier period.
        result: the earlier period's merge (its totals; from a merged workbook or the units' returns).
        changes: {indicator id: Change} of every row compared (quantities and percentages).
    """

    which: str
    period: Period
    result: MergeResult
    changes: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return COMPARISON_LABELS[self.which]

    def to_dict(self) -> dict:
        return {"period": self.period.code, "units": self.result.merged_units,
                "totals": {k: c.to_dict() for k, c in self.changes.items()}}


@dataclass
class History:
    """What the earlier files gave: the comparisons, each earlier period's merge of the units' returns
    (their history, newest first), and what to tell about files not used."""

    comparisons: dict = field(default_factory=dict)  # {PREVIOUS | YEAR_BEFORE: Comparison}
    units: dict = field(default_factory=dict)  # {Period: MergeResult of the units' returns}
    notes: list = field(default_factory=list)


def period_words(target: Period, earlier: Period) -> str:
    """How a sentence names an earlier period: `quý trước`, `cùng kỳ năm trước`, else its label."""
    if earlier == target.previous():
        return "quý trước"
    if earlier == target.year_before():
        return "cùng kỳ năm trước"
    return earlier.in_sentence


def history_of(result: MergeResult, reports: Iterable, merge: Callable, *, roster=None, unit_code=None,
               include_errors: bool = False, received: dict | None = None) -> History:
    """Merge the earlier files (`reports`: checked files, as for `merge_reports`) period by period.

    Args:
        result: this period's merge.
        reports: the earlier checked files.
        merge: `merge_reports` (passed in: it calls this).
        roster, unit_code, include_errors, received: as for this period's merge.
    """
    reports = list(reports)
    periods = [_period_of(r) for r in reports]
    target = result.period
    wanted = {which: p for which, p in ((PREVIOUS, target.previous()), (YEAR_BEFORE, target.year_before()))
              if p is not None}
    same_length = sorted({p for p in periods if p is not None and p < target and _same_length(p, target)},
                         reverse=True)[:MAX_HISTORY]
    out = History()
    used = set()
    for p in sorted(set(wanted.values()) | set(same_length), reverse=True):
        within = [r for r, q in zip(reports, periods) if q is not None and p.contains(q)]
        if not within:
            continue
        used.update(id(r) for r in within)
        own = [r for r in within if _merged_of(r, result.root)]
        units = [r for r in within if not _merged_of(r, result.root)]
        below = merge(units, result.spec, roster=roster, period=p, unit_code=unit_code,
                      include_errors=include_errors, received=received) if units else None
        if below is not None and below.records:
            out.units[p] = below
        totals = merge(own, result.spec, period=p) if own else below
        for which, q in wanted.items():
            if q == p and totals is not None and totals.records:
                out.comparisons[which] = Comparison(which, p, totals, changes(result, totals))
    out.notes = _notes(result, reports, periods, used, out)
    return out


def changes(result: MergeResult, earlier: MergeResult) -> dict:
    """{id: Change} of every quantity and percentage row, this period's total against `earlier`'s."""
    out = {}
    for ind in result.spec.value_indicators:
        if ind.kind not in COMPARED_KINDS or ind.id not in result.totals:
            continue
        now, then = result.totals[ind.id].report_value, earlier.totals[ind.id].report_value
        if now is None and then is None:
            continue
        out[ind.id] = Change(ind.id, now, then, points=ind.kind in PERCENT_KINDS)
    return out


def _period_of(report) -> Period | None:
    try:
        return parse_period(report.period) if report.period else None
    except PeriodError:
        return None


def _same_length(p: Period, target: Period) -> bool:
    return p.kind == target.kind or (p.is_quarter and target.is_quarter)


def _merged_of(report, root) -> bool:
    """An earlier merged workbook of the unit merged itself (its values are that period's totals)."""
    unit = report.unit
    code = (unit.get("code") if isinstance(unit, dict) else getattr(unit, "code", None)) if unit else None
    return bool(root is not None and code == root.code and report.merged_units)


def _notes(result: MergeResult, reports: list, periods: list, used: set, history: History) -> list[str]:
    target = result.period
    out = []
    for which, label in ((PREVIOUS, "kỳ trước"), (YEAR_BEFORE, "cùng kỳ năm trước")):
        wanted = target.previous() if which == PREVIOUS else target.year_before()
        if wanted is not None and which not in history.comparisons:
            out.append(f"Không có số liệu {label} ({wanted.label}) trong các tệp --previous: không so sánh "
                       f"với {label}.")
    unused = [(r, p) for r, p in zip(reports, periods) if id(r) not in used]
    if unused:
        names = ", ".join(f"{Path(r.path).name} ({p.label if p else 'không rõ kỳ'})" for r, p in unused[:10])
        more = " …" if len(unused) > 10 else ""
        out.append(f"{len(unused)} tệp --previous không thuộc kỳ trước hay cùng kỳ năm trước của {target.label}, "
                   f"không dùng để so sánh: {names}{more}.")
    return out
