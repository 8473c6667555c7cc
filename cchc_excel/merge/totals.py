"""Totals over units and over time, from plain records: no files, no workbooks (DESIGN §3, §4).

A `Record` is one unit's values for one period. `aggregate_units` gives one `Total` per row of the spec,
following the row's `units` aggregation; `roll_up` turns a unit's returns of several periods of one year
into one record of a longer period, following the row's `time` roll-up. Blank stays blank: a total says
how many units it covers, and a total over no unit is None, never 0.

Over units:

- `sum`: counts and amounts add up.
- `max`: counts of procedures in a catalogue shared by every unit of one level (DESIGN §4) take the
  maximum within each level, and the maxima of the levels add up (the province's catalogue is the
  provincial, district and commune ones together), so that `BM3-1.4 = 1.4.1 + 1.4.2 + 1.4.3` still holds.
  A merged report holds the catalogues of every level it covers: the communes' returns merged beside a
  district's merged report add nothing to a catalogue that report already holds.
- `ratio`: recomputed from the aggregated numerator and denominator, never an average of percentages.
- `mean`: rates: the mean over the units that reported, with n, min and max.
- `flag`: how many units answered 1, out of those answering.
- `choice`: how many units gave each code. The parent's form shows the code most units gave, or, for a
  row whose spec declares codes that combine others (`combine: {2: [0, 1]}`), the code of everything the
  units answered together (some online, some on paper: "Kết hợp").

A record may stand for several units (the merged report of a district counts for its communes): its
`weight` is the number of units behind it; it counts that many times in the `units` of a sum, maximum,
ratio or rate and in the mean of a rate. A flag or a choice counts answers: a merged report answers once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable

from cchc_excel.core.kinds import WHOLE_KINDS
from cchc_excel.core.periods import Period, parse_period
from cchc_excel.core.text import vn_number
from cchc_excel.merge.levels import row_levels
from cchc_excel.spec.expr import ratio
from cchc_excel.spec.model import FormSpec, Indicator

if TYPE_CHECKING:  # numpy is imported where totals are made, never before the workers fork; pandas only
    import numpy as np  # for `value_frame`
    import pandas as pd

    from cchc_excel.merge.table import ValueTable


@dataclass(frozen=True, slots=True)
class Record:
    """One unit's values for one period.

    Attributes:
        unit: the unit's code.
        period: the period the values are for.
        values: indicator id -> number, None (or absent) for blank.
        level: the unit's level (`xa`, `huyen`, `so`, `tinh`), or None when unknown.
        reported_levels: the row levels the values cover ({level} for a unit's own return; more for a
            merged report). Values of rows outside them are not aggregated. Empty: every row counts.
        weight: the number of units behind the record (1; n for a merged report of n units).
        source: an opaque key telling where the values came from (a file path), kept as is.
    """

    unit: str
    period: Period
    values: dict
    level: str | None = None
    reported_levels: frozenset = frozenset()
    weight: int = 1
    source: str = ""


@dataclass(frozen=True)
class Total:
    """The total of one row over units.

    Attributes:
        indicator: `BM3-3.1.1`.
        how: the row's aggregation over units (sum, max, ratio, mean, flag, choice, none).
        value: sum / max / recomputed ratio (%) / mean; for a flag the number of units answering 1;
            for a choice the count of each code as {"0": n0, "1": n1, ...}; None when no unit reported.
        units: the number of units behind the total (that gave a value; for a ratio, a denominator).
        minimum, maximum: for a rate, the smallest and largest value reported.
        answered: for a flag or a choice, the number of units answering (with a valid code).
        mode: for a choice, the code most units gave (the smallest of tied codes); `tie` says a tie.
        combined: for a choice whose spec combines codes, the code of all the answers together.
    """

    indicator: str
    how: str
    value: object = None
    units: int = 0
    minimum: float | None = None
    maximum: float | None = None
    answered: int = 0
    mode: int | None = None
    tie: bool = False
    combined: int | None = None

    @property
    def report_value(self):
        """What the form of the parent level shows: a flag is 1 when any unit answered 1, a choice is
        the code all answers make together (a row with `combine`) or else the code most units gave, a rate
        is the mean; other rows their total. None when blank."""
        if self.how == "flag":
            return None if not self.answered else int(self.value > 0)
        if self.how == "choice":
            return self.combined if self.combined is not None else self.mode
        return self.value

    def to_dict(self) -> dict:
        """The JSON shape: {"value", "units"} and, by kind, n/min/max, answered, mode."""
        d = {"value": _json_number(self.value) if not isinstance(self.value, dict) else self.value,
             "units": self.units}
        if self.how == "mean":
            d.update(n=self.units, min=_json_number(self.minimum), max=_json_number(self.maximum))
        elif self.how == "flag":
            d["answered"] = self.answered
        elif self.how == "choice":
            d.update(answered=self.answered, mode=self.mode, tie=self.tie)
            if self.combined is not None:
                d["combined"] = self.combined
        return d


def _json_number(value):
    if value is None:
        return None
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        return round(value, 4)
    return value


# ---------------------------------------------------------------------------------------------------
# The units x indicators frame


def value_frame(records: list[Record], spec: FormSpec) -> pd.DataFrame:
    """Records as a float pandas frame: one row per record (in order), one column per value row of the
    spec (`table.value_table` as a `DataFrame`).

    Blank is NaN. A value of a row that the record's `reported_levels` do not cover is dropped (NaN),
    as is anything that is not a number.
    """
    from cchc_excel.merge.table import value_table

    return value_table(records, spec).frame()


# ---------------------------------------------------------------------------------------------------
# Over units


def aggregate_units(records: Iterable[Record], spec: FormSpec, table: ValueTable | None = None) -> dict:
    """Total every value row of the spec over the records (one per unit).

    Args:
        records: one record per unit, all of the same period (roll up first when needed).
        spec: the form spec, whose rows say how each one aggregates.
        table: `table.value_table(records, spec)` when the caller already has it.

    Returns:
        {indicator id: Total}, in the spec's order.
    """
    import numpy as np

    from cchc_excel.merge.table import value_table

    records = list(records)
    if table is None:
        table = value_table(records, spec)
    weights = np.array([max(1, int(r.weight)) for r in records], dtype=float)
    covers = _Covers(records, spec)
    totals: dict[str, Total] = {}
    ratios = []
    for ind in spec.value_indicators:
        column = table.column(ind.id) if len(records) else np.array([])
        if ind.units == "ratio":
            ratios.append(ind)
            continue
        totals[ind.id] = _total(ind, column, weights, covers)
    _keep_catalogue_sums(spec, totals)
    for ind in ratios:
        totals[ind.id] = _ratio_total(ind, totals, table, weights)
    return {ind.id: totals[ind.id] for ind in spec.value_indicators}


def _keep_catalogue_sums(spec: FormSpec, totals: dict) -> None:
    """Make the spec's `eq` rules between maxima hold in the totals.

    The maximum of a sum is not the sum of the maxima: with `BM7-2.3.1 = 2.1.2 + 2.2.2` in every ward, the
    largest 2.3.1 need not equal the largest 2.1.2 plus the largest 2.2.2, and the merged report would
    break the rule the level above checks. So when a rule `X = A + B + ...` involves only rows that take
    the maximum, X is set to the sum of the maxima of its parts (which is what the catalogue holds).
    """
    for rule in spec.rules:
        if rule.kind != "eq" or len(rule.left) != 1:
            continue
        ids = rule.left + rule.right
        if not all(i in totals and totals[i].how == "max" for i in ids):
            continue
        parts = [totals[i].value for i in rule.right if totals[i].value is not None]
        left = totals[rule.left[0]]
        if not parts or left.value is None:
            continue
        total = sum(parts)
        if total != left.value:
            totals[left.indicator] = Total(left.indicator, left.how, total, left.units)


def _number(x: float, ind: Indicator):
    """Whole numbers of counts as int; amounts and rates as float."""
    if ind.kind in WHOLE_KINDS and float(x).is_integer():
        return int(x)
    return float(x)


def _covered(rec: Record) -> frozenset:
    return rec.reported_levels or (frozenset({rec.level}) if rec.level else frozenset())


class _Covers:
    """The row levels each record covers (its `reported_levels`, else its own level, with the levels the
    spec says they report), as an index into the few distinct sets there are."""

    def __init__(self, records: list, spec: FormSpec):
        import numpy as np

        index: dict = {}
        self.group = np.array([index.setdefault(_covered(r), len(index)) for r in records], dtype=int)
        self.sets = [row_levels(spec, levels) for levels in index]

    def catalogue_total(self, ind: Indicator, values: np.ndarray, present: np.ndarray) -> float:
        """The maximum within each catalogue of the row, the maxima of the catalogues added up.

        A record's catalogue for the row is the levels it covers that the row concerns: a commune's
        return gives the communes' one, a district's merged report the district's and communes' together.
        A catalogue inside another one that is present is already counted there, and is left out.
        Records of unknown level make a catalogue of their own.
        """
        import numpy as np

        group = self.group[present]
        maxima: dict = {}
        for g in np.unique(group):
            cover = self.sets[g]
            key = ind.levels & cover if cover else None
            best = values[group == g].max()
            maxima[key] = max(maxima.get(key, best), best)
        return sum(best for key, best in maxima.items()
                   if key is None or not any(other is not None and key < other for other in maxima))


def _total(ind: Indicator, column: np.ndarray, weights: np.ndarray, covers: _Covers) -> Total:
    import numpy as np

    present = ~np.isnan(column)
    units = int(weights[present].sum())
    how = ind.units
    if how == "none" or not present.any():
        return Total(ind.id, how, None, 0)
    values = column[present]
    if how == "sum":
        return Total(ind.id, how, _number(values.sum(), ind), units)
    if how == "max":
        return Total(ind.id, how, _number(covers.catalogue_total(ind, values, present), ind), units)
    if how == "mean":
        w = weights[present]
        mean = float((values * w).sum() / w.sum())
        return Total(ind.id, how, mean, units, minimum=float(values.min()), maximum=float(values.max()))
    if how == "flag":
        yes = values == 1
        answered = yes | (values == 0)
        return Total(ind.id, how, int(yes.sum()), int(answered.sum()), answered=int(answered.sum()))
    if how == "choice":
        codes = ind.choice_codes
        counts = Counter(int(v) for v in values if float(v).is_integer() and int(v) in codes)
        answered = sum(counts.values())
        best = max(counts.values(), default=0)
        leaders = [c for c in codes if counts.get(c, 0) == best] if answered else []
        return Total(ind.id, how, {str(c): counts.get(c, 0) for c in codes}, answered, answered=answered,
                     mode=min(leaders) if leaders else None, tie=len(leaders) > 1,
                     combined=combined_code(ind, counts))
    raise ValueError(f"{ind.id}: unknown aggregation over units {how!r}")


def combined_code(ind: Indicator, counts: dict) -> int | None:
    """The code that stands for every code answered (`counts`: {code: units}), by the row's `combine`
    (each code stands for its parts, or for itself); None when the row combines nothing or no code does."""
    if not ind.combine:
        return None
    parts = dict(ind.combine)
    given = set().union(*(parts.get(code, (code,)) for code, n in counts.items() if n))
    return next((code for code in ind.choice_codes if set(parts.get(code, (code,))) == given), None) if given else None


def choice_counts(total: Total, ind: Indicator) -> str:
    """The units per choice with their labels: `Trực tuyến: 6; Phát phiếu: 3; Kết hợp: 3` ("" if none)."""
    if not total.answered:
        return ""
    labels = dict(ind.choices)
    return "; ".join(f"{labels[int(code)]}: {n}" for code, n in total.value.items())


def _ratio_total(ind: Indicator, totals: dict, table: ValueTable, weights: np.ndarray) -> Total:
    import numpy as np

    num, den = totals[ind.numerator], totals[ind.denominator]
    behind = ~np.isnan(table.column(ind.denominator)) if len(table) else np.array([], dtype=bool)
    units = int(weights[behind].sum())
    return Total(ind.id, "ratio", ratio(num.value, den.value), units)


def recompute_ratios(values: dict, spec: FormSpec) -> dict:
    """`values` with every ratio row recomputed from its numerator and denominator (blank when the
    denominator is blank or 0): a new dict when any ratio changes, else `values` itself."""
    changes = {}
    for ind in _ratio_rows(spec):
        computed = ratio(values.get(ind.numerator), values.get(ind.denominator))
        shown = values.get(ind.id)
        if computed is None and shown is None:
            continue
        if computed is None or not isinstance(shown, (int, float)) or abs(shown - computed) > 1e-6:
            changes[ind.id] = computed
    if not changes and len(values):
        return values  # already right (the checker's values are): no copy, 10,000 of them add up
    return {**values, **changes}


@lru_cache(maxsize=8)  # the spec is hashable; a merge asks this once per record
def _ratio_rows(spec: FormSpec) -> tuple:
    return tuple(ind for ind in spec.value_indicators if ind.kind == "ratio")


# ---------------------------------------------------------------------------------------------------
# Over time


@dataclass(frozen=True)
class RollUp:
    """The result of rolling a unit's returns up to a longer period.

    Attributes:
        record: one record for the target period (None when no return lies within it).
        used: the records used, in time order.
        unused: the records within the target not used (another return covers their quarters).
        missing: the quarters no used record covers, as Periods.
    """

    record: Record | None
    used: tuple = ()
    unused: tuple = ()
    missing: tuple = ()


def choose_pieces(periods: Iterable[Period], target: Period) -> tuple[list[Period], list[Period]]:
    """Which of the given periods tile `target`, and which of its quarters none covers.

    The target itself wins when given; otherwise from the first quarter on, the longest given period
    starting there (H1 before Q1, 9M before H1). Periods outside the target are ignored.

    Returns:
        (chosen periods in time order, missing quarters).
    """
    available = {p for p in periods if target.contains(p)}
    if target in available:
        return [target], []
    chosen, missing = [], []
    quarters = list(target.quarters)
    i = 0
    while i < len(quarters):
        starting = [p for p in available if p.quarters[0] == quarters[i]]
        if starting:
            best = max(starting, key=lambda p: len(p.quarters))
            chosen.append(best)
            i += len(best.quarters)
        else:
            missing.append(quarters[i])
            i += 1
    return chosen, missing


def roll_up(records: Iterable[Record], spec: FormSpec, target: Period | str) -> RollUp:
    """Roll one unit's records of several periods of one year up to `target`, row by row.

    Flows sum over the pieces; stocks (and cumulative rows) take the latest piece; rates take the mean
    of the pieces weighted by their number of quarters; flags (`any`) are 1 when any piece is 1;
    ratios are recomputed from the rolled-up numerator and denominator. Blank stays blank: a flow is
    the sum of the pieces that gave a value, None when none did.

    Args:
        records: the returns of one unit (one per period; pick the latest version first).
        spec: the form spec.
        target: the longer period (`2023-H1`, `2023`).
    """
    target = parse_period(target)
    by_period = {}
    for rec in records:
        by_period[rec.period] = rec
    if len(by_period) == 1 and target in by_period:  # the common case: the unit's return of the period
        return RollUp(by_period[target], (by_period[target],), (), ())
    chosen, missing = choose_pieces(by_period, target)
    used = tuple(by_period[p] for p in chosen)
    unused = tuple(r for p, r in sorted(by_period.items()) if target.contains(p) and p not in chosen)
    if not used:
        return RollUp(None, (), unused, tuple(missing))
    if len(used) == 1 and used[0].period == target:
        return RollUp(used[0], used, unused, ())
    latest = used[-1]
    values = {}
    for ind in spec.value_indicators:
        if ind.kind == "ratio":
            continue
        series = [(r.values.get(ind.id), len(r.period.quarters)) for r in used]
        values[ind.id] = _roll(ind, series)
    values = recompute_ratios(values, spec)
    levels = frozenset().union(*(r.reported_levels for r in used))
    record = Record(latest.unit, target, values, latest.level, levels, latest.weight, latest.source)
    return RollUp(record, used, unused, tuple(missing))


def _roll(ind: Indicator, series: list):
    given = [(v, q) for v, q in series if isinstance(v, (int, float)) and not isinstance(v, bool)]
    how = ind.time
    if how == "none":
        return None
    if how == "stock":
        return series[-1][0]
    if not given:
        return None
    if how == "flow":
        total = sum(v for v, _ in given)
        return int(total) if ind.kind == "count" and float(total).is_integer() else total
    if how == "mean":
        return sum(v * q for v, q in given) / sum(q for _, q in given)
    if how == "any":
        return int(any(v == 1 for v, _ in given))
    raise ValueError(f"{ind.id}: unknown roll-up over time {how!r}")


# ---------------------------------------------------------------------------------------------------
# Notes for the merged form


def total_note(total: Total, ind: Indicator) -> str:
    """The Ghi chú of a total in the merged form (Vietnamese), "" when there is nothing to say."""
    if total.units == 0 and total.how not in ("none",):
        return "Không có đơn vị nào báo cáo"
    if total.how == "flag":
        yes_label = dict(ind.choices).get(1, "Có")
        return f"{total.value}/{total.answered} đơn vị trả lời {yes_label}"
    if total.how == "choice":
        labels = dict(ind.choices)
        parts = "; ".join(f"{labels[int(code)]} {n}" for code, n in total.value.items())
        tie = " (bằng nhau, lấy mã nhỏ nhất)" if total.tie and total.combined is None else ""
        return f"Số đơn vị chọn: {parts}{tie}"
    if total.how == "mean":
        return (f"Trung bình của {total.units} đơn vị; thấp nhất {vn_number(total.minimum, percent=True)}%, "
                f"cao nhất {vn_number(total.maximum, percent=True)}%")
    if total.how == "max":
        return f"Lớn nhất trong {total.units} đơn vị (danh mục TTHC dùng chung)"
    if total.how in ("sum", "ratio"):
        return f"{total.units} đơn vị"
    return ""
