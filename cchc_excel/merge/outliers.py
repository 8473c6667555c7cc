"""Per-unit outliers: a unit's value far from its own history or from the other units of its level, as
warnings with the reason (`gấp 9 lần quý trước`). They go to the `Kiểm tra` sheet and the JSON; the
totals never change. Thresholds are the spec's (`outliers:`, `spec.outliers`).

- `outlier-previous`: against the period before (the quarter before; else the same period a year
  before): a number `ratio` times it or 1/`ratio` of it, a percentage more than `points` points off.
- `outlier-history`: outside the lowest–highest of the unit's earlier periods of the same length (with
  at least `min_history` of them), widened by `range_margin` (DHIS2's min–max check).
- `outlier-peers`: a robust z-score among the units of its level, (x − median) / (1,4826 · MAD), and
  with MAD = 0 the mean absolute deviation × 1,2533 (Iglewicz–Hoaglin). Robust, not the plain z-score:
  one wild value inflates the mean and standard deviation it is measured with, and among n values a
  z-score can never exceed (n − 1)/√n (1,79 for 5 units, 3,9 for 17): a plain z-score of 3,5 would
  never fire for a district's 17 wards. The median and MAD do not move with the outlier.

Only quantities and percentages are compared; numbers below `min_value` on both sides, differences from
the median below it, and ratios over a denominator below it are not news.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from cchc_excel.core.findings import Issue
from cchc_excel.core.kinds import PERCENT_KINDS
from cchc_excel.core.text import vn_number
from cchc_excel.merge.history import COMPARED_KINDS, History, period_words
from cchc_excel.merge.result import Finding, MergeResult

MAD_SCALE = 1.4826  # MAD × this estimates the standard deviation of normal data
MEAN_AD_SCALE = 1.253314  # the same for the mean absolute deviation


def outliers(result: MergeResult, history: History | None = None) -> list[Finding]:
    """The outlier warnings of every merged unit (against its history only with a `history`)."""
    rows = [ind for ind in result.spec.value_indicators if ind.kind in COMPARED_KINDS]
    found = _history_findings(result, rows, history) if history is not None and history.units else []
    return found + _peer_findings(result, rows)


def _history_findings(result: MergeResult, rows: list, history: History) -> list[Finding]:
    """Each unit against its own earlier periods, a row at a time over every unit (numpy); words only for
    the values flagged."""
    codes = [rec.unit for rec in result.records]
    periods = sorted(history.units, reverse=True)  # newest first
    earlier = {p: _aligned(history.units[p], codes) for p in periods}
    target = result.period
    before = [b for b in (target.previous(), target.year_before()) if b in earlier]
    out = []
    for ind in rows:
        now = _column(result.frame, ind, result.spec.outliers)
        past = np.column_stack([_column(earlier[p], ind, result.spec.outliers) for p in periods])
        last, which = np.full(len(now), np.nan), np.full(len(now), -1)
        for i, b in enumerate(before):
            take = np.isnan(last) & ~np.isnan(past[:, periods.index(b)])
            last[take], which[take] = past[take, periods.index(b)], i
        flags = _history_flags(result.spec.outliers, ind.kind in PERCENT_KINDS, now, last, past)
        for rule, flagged in flags:
            for i in np.flatnonzero(flagged):
                reason = (_previous_reason(result, ind, now[i], before[which[i]], last[i])
                          if rule == "outlier-previous" else _range_reason(ind, now[i], past[i]))
                out.append(_finding(result, result.records[i], ind, float(now[i]), rule, reason))
    return out


def _column(table, ind, t) -> np.ndarray:
    """A row's values over the units; a ratio over a denominator below `min_value` left out (1 of 1
    complaints settled is 100%, and no news)."""
    values = table.column(ind.id)
    if ind.kind == "ratio":
        with np.errstate(invalid="ignore"):
            values = np.where(table.column(ind.denominator) >= t.min_value, values, np.nan)
    return values


def _aligned(earlier: MergeResult, codes: list):
    """An earlier merge's values, one row per unit of `codes` (in that order; NaN for a unit it lacks;
    of a unit it has twice, the last)."""
    at = {r.unit: i for i, r in enumerate(earlier.records)}
    return earlier.frame.take([at.get(code, -1) for code in codes])


def _history_flags(t, percent: bool, now: np.ndarray, last: np.ndarray, past: np.ndarray) -> list:
    """[(rule, which units)]: far from the period before, else outside the min–max of the earlier ones."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if percent:
            previous = np.abs(now - last) > t.points
        else:
            times = now / last
            previous = ((now > 0) & (last > 0) & (np.fmax(now, last) >= t.min_value)
                        & ((times >= t.ratio) | (times <= 1 / t.ratio)))
        enough = (~np.isnan(past)).sum(axis=1) >= max(1, t.min_history)
        lo = np.where(enough, np.nanmin(np.where(enough[:, None], past, 0), axis=1), np.nan)
        hi = np.where(enough, np.nanmax(np.where(enough[:, None], past, 0), axis=1), np.nan)
        if percent:
            outside = (now > hi + t.points) | (now < lo - t.points)
        else:
            outside = (((now > hi * (1 + t.range_margin)) & (now >= t.min_value))
                       | ((now < lo / (1 + t.range_margin)) & (lo >= t.min_value)))
    return [("outlier-previous", previous), ("outlier-history", outside & ~previous)]


def _previous_reason(result: MergeResult, ind, value: float, p, then: float) -> str:
    percent = ind.kind in PERCENT_KINDS
    where = f"{period_words(result.period, p)} ({p.label}: {_text(then, percent)})"
    if percent:
        way = "tăng" if value > then else "giảm"
        return f"{way} {vn_number(abs(value - then), places=1)} điểm phần trăm so với {where}"
    times = value / then
    return f"gấp {_times(times)} lần {where}" if times > 1 else f"chỉ bằng 1/{_times(1 / times)} {where}"


def _range_reason(ind, value: float, past: np.ndarray) -> str:
    percent = ind.kind in PERCENT_KINDS
    given = past[~np.isnan(past)]
    lo, hi = float(given.min()), float(given.max())
    return (f"{'cao' if value > hi else 'thấp'} hơn nhiều so với {len(given)} kỳ trước (thấp nhất "
            f"{_text(lo, percent)}, cao nhất {_text(hi, percent)})")


def _peer_findings(result: MergeResult, rows: list) -> list[Finding]:
    """Units far from the other units of their level by a robust z-score (see the module docstring)."""
    t = result.spec.outliers
    if len(result.records) < t.min_units:
        return []
    levels = np.array([rec.level or "" for rec in result.records])
    out = []
    for ind in rows:
        column = _column(result.frame, ind, t)
        for level in np.unique(levels):
            index = np.flatnonzero((levels == level) & ~np.isnan(column))
            if len(index) < t.min_units:
                continue
            out.extend(_far_from_peers(result, ind, index, column[index]))
    return out


def _far_from_peers(result: MergeResult, ind, index: np.ndarray, values: np.ndarray) -> list[Finding]:
    t = result.spec.outliers
    median = float(np.median(values))
    spread = MAD_SCALE * float(np.median(np.abs(values - median)))
    if spread == 0:
        spread = MEAN_AD_SCALE * float(np.mean(np.abs(values - median)))
    if spread == 0:
        return []
    z = (values - median) / spread
    far = np.flatnonzero((np.abs(z) > t.z) & (np.abs(values - median) >= t.min_value))
    percent = ind.kind in PERCENT_KINDS
    peers = f"{len(values)} đơn vị cùng cấp ({_text(median, percent)})"
    out = []
    for i in far:
        value = float(values[i])
        if not percent and median > 0 and value > median:
            how = f"gấp {_times(value / median)} lần trung vị của {peers}"
        else:
            how = f"{'cao' if value > median else 'thấp'} hơn nhiều so với trung vị của {peers}"
        out.append(_finding(result, result.records[index[i]], ind, value, "outlier-peers",
                            f"{how}; điểm z hiệu chỉnh {vn_number(float(z[i]), places=1)}"))
    return out


def _finding(result: MergeResult, rec, ind, value: float, rule: str, reason: str) -> Finding:
    unit = result.unit_info.get(rec.unit)
    percent = ind.kind in PERCENT_KINDS
    message = f"{ind.label} ({_text(value, percent)}) {reason}: hãy kiểm tra lại số liệu."
    issue = Issue("warning", rule, ind.id, result.spec.form(ind.form).name, "", message)
    return Finding(Path(rec.source), rec.unit, unit.name if unit else rec.unit, issue)


def _times(x: float) -> str:
    return vn_number(x, places=0 if x >= 10 else 1)


def _text(value: float, percent: bool) -> str:
    if not math.isfinite(value):
        return str(value)
    return vn_number(value, percent=percent) + ("%" if percent else "")
