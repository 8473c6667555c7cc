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

Only quantities and percentages are compared; numbers below `min_value` on both sides, and differences
from the median below it, are not news.
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
    """The outlier warnings of every merged unit (history checks only with a `history`)."""
    spec = result.spec
    rows = [ind for ind in spec.value_indicators if ind.kind in COMPARED_KINDS]
    now = _by_unit(result)
    earlier = [(p, _by_unit(r)) for p, r in sorted((history.units if history else {}).items(), reverse=True)]
    found: list[Finding] = []
    for ind in rows:
        for rec in result.records:
            value = now[rec.unit].get(ind.id)
            if value is None:
                continue
            past = [(p, values[rec.unit][ind.id]) for p, values in earlier
                    if values.get(rec.unit, {}).get(ind.id) is not None]
            for rule, reason in _history_reasons(result, ind, value, past):
                found.append(_finding(result, rec, ind, value, rule, reason))
        found.extend(_peer_findings(result, ind, now))
    return found


def _by_unit(result: MergeResult) -> dict:
    """{unit: {indicator id: value}} of a merge's records (blank left out; rows a record's levels do not
    cover are blank in the frame)."""
    columns = list(result.frame.columns)
    data = result.frame.to_numpy(dtype=float).tolist() if len(result.frame) else []
    return {rec.unit: {c: v for c, v in zip(columns, row) if v == v} for rec, row in zip(result.records, data)}


def _history_reasons(result: MergeResult, ind, value: float, past: list) -> list[tuple[str, str]]:
    t = result.spec.outliers
    percent = ind.kind in PERCENT_KINDS
    target = result.period
    before = [x for x in (target.previous(), target.year_before()) if x is not None]
    last = next(((p, v) for b in before for p, v in past if p == b), None)
    out = []
    if last is not None:
        p, then = last
        where = f"{period_words(target, p)} ({p.label}: {_text(then, percent)})"
        if percent and abs(value - then) > t.points:
            way = "tăng" if value > then else "giảm"
            out.append(("outlier-previous", f"{way} {vn_number(abs(value - then), places=1)} điểm phần trăm so "
                                            f"với {where}"))
        elif not percent and value > 0 and then > 0 and max(value, then) >= t.min_value:
            times = value / then
            if times >= t.ratio:
                out.append(("outlier-previous", f"gấp {_times(times)} lần {where}"))
            elif times <= 1 / t.ratio:
                out.append(("outlier-previous", f"chỉ bằng 1/{_times(1 / times)} {where}"))
    if not out and len(past) >= t.min_history:
        lo, hi = min(v for _, v in past), max(v for _, v in past)
        if percent:
            high, low = value > hi + t.points, value < lo - t.points
        else:
            high = value > hi * (1 + t.range_margin) and value >= t.min_value
            low = value < lo / (1 + t.range_margin) and lo >= t.min_value
        if high or low:
            out.append(("outlier-history", f"{'cao' if high else 'thấp'} hơn nhiều so với {len(past)} kỳ trước "
                                           f"(thấp nhất {_text(lo, percent)}, cao nhất {_text(hi, percent)})"))
    return out


def _peer_findings(result: MergeResult, ind, now: dict) -> list[Finding]:
    """Units far from the other units of their level by a robust z-score (see the module docstring)."""
    t = result.spec.outliers
    percent = ind.kind in PERCENT_KINDS
    groups: dict = {}
    for rec in result.records:
        value = now[rec.unit].get(ind.id)
        if value is not None:
            groups.setdefault(rec.level, []).append((rec, value))
    out = []
    for level, members in groups.items():
        if len(members) < t.min_units:
            continue
        values = np.array([v for _, v in members])
        median = float(np.median(values))
        spread = MAD_SCALE * float(np.median(np.abs(values - median)))
        if spread == 0:
            spread = MEAN_AD_SCALE * float(np.mean(np.abs(values - median)))
        if spread == 0:
            continue
        peers = f"{len(members)} đơn vị cùng cấp"
        for rec, value in members:
            z = (value - median) / spread
            if abs(z) <= t.z or abs(value - median) < t.min_value:
                continue
            if not percent and median > 0 and value > median:
                how = f"gấp {_times(value / median)} lần trung vị của {peers} ({_text(median, percent)})"
            else:
                how = (f"{'cao' if value > median else 'thấp'} hơn nhiều so với trung vị của {peers} "
                       f"({_text(median, percent)})")
            out.append(_finding(result, rec, ind, value, "outlier-peers",
                                f"{how}; điểm z hiệu chỉnh {vn_number(z, places=1)}"))
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
