"""The rules engine: what the numbers of one return say about each other and about the form.

`check_submission(sub)` runs, on a `Submission` read from a workbook:

* the spec's generic checks (`checks:` in the YAML), row by row according to the row's kind: text where a
  number belongs (`not-number`), a negative count or amount (`negative`), a fraction in a count
  (`not-whole`), a rate outside 0-100 (`percent-range`), a flag or choice that is not a listed code
  (`not-choice`), a value in a row the unit's level does not report (`wrong-level`), a typed ratio that
  contradicts its numerator and denominator (`ratio`, `ratio-no-denominator`, `formula-overwritten`) and a
  total left blank above filled breakdowns (`parent-blank`);
* the spec's rules between rows (`rules:`): `le`, `ge`, `eq` between sums of rows, and `blank_if`.

Nothing is evaluated with `eval`: rules are structured data. Severities and message templates come from the
spec; messages are filled with `str.format_map` on known placeholders, numbers written the Vietnamese way
(`1.234`, `16,2`, percentages to two decimals).

Missing values (blank is not zero):

* A blank row is never a finding by itself: the seed ward leaves most rows blank.
* `le`, `ge`, `eq` are evaluated only when at least one row on each side holds a number.
* Inside a sum, a blank row that does not concern the unit's level (a ward's `BM3-1.4.1 Số TTHC cấp
  tỉnh`) counts as 0. A blank row the unit should have filled is unknown: the side's sum is then only a
  lower bound (parts are never negative), and a rule is reported only when it is broken whatever the blank
  could hold. So `le` (left <= right) is reported when the known left already exceeds a fully known right;
  `ge` the other way round; and `eq` with a blank part on the right is checked as "left >= the known
  parts" (and symmetrically), an error when violated.
* Ratios are recomputed from numerator and denominator (`derive_values`); a blank ratio is not a finding.
  A typed ratio is compared with the recomputed one: rounding to a whole number is fine (|typed -
  recomputed| < 1 percentage point, as in "chiếm 61%" for 60.65%); 0/0 may be blank or 0; a non-zero
  ratio over a zero or blank denominator is `ratio-no-denominator`; over a blank numerator it is
  `ratio-no-numerator` (a warning: the tool cannot recompute it, so it will not be merged). When the ratio
  cell still holds the template's formula there is nothing to compare. In one of our templates (the
  submission carries template metadata) a typed ratio cell is a formula overwritten by hand: when it
  disagrees, that is `formula-overwritten` rather than `ratio`.
* `parent-blank`: a typed row (not a header, not a ratio) left blank while one of its breakdown rows that
  concern the unit holds a non-zero value (the seed leaves BM7-1.2 blank with 1.2.3 = 100). Zero-valued breakdowns under a blank
  total are not worth a word (the seed: BM2-1 blank, 1.3 = 0).
* Rows the unit's level does not report are checked for `wrong-level` only.
"""

from __future__ import annotations

import math
from functools import lru_cache

from cchc_excel.core.findings import SEVERITY_RANK, Issue
from cchc_excel.core.text import vn_number as format_number
from cchc_excel.spec.model import FormSpec, Indicator

__all__ = ["derive_values", "check_submission", "evaluate", "issue_order", "recompute_ratio", "format_number", "indicator_label",
           "RATIO_TOLERANCE"]

RATIO_TOLERANCE = 1.0  # percentage points between a typed and a recomputed ratio
_EPS = 1e-6  # slack for sums of amounts (floats)
_INF = math.inf



# --------------------------------------------------------------------------------------------- values

def recompute_ratio(num, den):
    """`num / den × 100`, or None when either is blank, the denominator is 0 or the quotient overflows
    (1e300 over 1e-300: JSON has no infinity)."""
    if num is None or den is None or den == 0:
        return None
    ratio = num / den * 100
    return _tidy(ratio) if math.isfinite(ratio) else None


def derive_values(sub) -> dict:
    """Every value row of the spec -> the value as the tool will use it.

    Typed rows as read (None for blank or for text that is not a number); ratio rows recomputed from their
    numerator and denominator (None when either is blank or the denominator is 0), whatever the file
    showed. Keys in spec order; headers are left out.
    """
    values = sub.values
    out = {}
    for ind in _plan(sub.spec).value_rows:
        if ind.kind == "ratio":
            out[ind.id] = recompute_ratio(values.get(ind.numerator), values.get(ind.denominator))
        else:
            out[ind.id] = values.get(ind.id)
    return out


# --------------------------------------------------------------------------------------------- checking

def check_submission(sub) -> list:
    """Every finding the rules make about `sub`, errors first, then in form order.

    The reader's own findings (`sub.issues`) are not included.
    """
    return _Checker(sub).run()


def evaluate(sub) -> tuple:
    """`(check_submission(sub), derive_values(sub))`, computing the derived values once."""
    checker = _Checker(sub)
    return checker.run(), checker.derived


def issue_order(spec: FormSpec):
    """A sort key for issues: errors first, then in form order (file-wide findings first)."""
    order = _plan(spec).order
    return lambda i: (SEVERITY_RANK[i.severity], order.get(i.indicator, -1))


class _Plan:
    """What the engine needs of a spec, computed once per spec."""

    def __init__(self, spec: FormSpec):
        self.spec = spec
        self.value_rows = tuple(spec.value_indicators)
        self.order = {ind_id: i for i, ind_id in enumerate(spec.indicators)}
        self.labels = {ind.id: indicator_label(spec, ind) for ind in spec.indicators.values()}


@lru_cache(maxsize=16)
def _plan(spec: FormSpec) -> _Plan:
    return _Plan(spec)


class _Checker:
    def __init__(self, sub):
        self.sub = sub
        self.spec = sub.spec
        self.plan = _plan(sub.spec)
        self.values = sub.values
        self.derived = derive_values(sub)
        self.levels = _reported_levels(sub)
        self.issues: list = []

    # -- helpers

    def concerns(self, ind: Indicator) -> bool:
        return not self.levels or not ind.levels.isdisjoint(self.levels)

    def label(self, ind_id: str) -> str:
        return self.plan.labels[ind_id]

    def emit(self, check_or_rule: str, severity: str, template: str, indicator: str, fields: dict):
        ref = self.sub.cells.get(indicator)
        self.issues.append(Issue(
            severity=severity, rule=check_or_rule, indicator=indicator,
            sheet=ref.sheet if ref else "", cell=ref.cell if ref else "",
            message=fill(template, fields),
        ))

    def check(self, check_id: str, ind: Indicator, **fields):
        check = self.spec.checks[check_id]
        severity, template = check.severity, check.message
        fields.setdefault("label", self.label(ind.id))
        fields.setdefault("unit", ind.unit)
        self.emit(check_id, severity, template, ind.id, fields)

    # -- the run

    def run(self) -> list:
        for ind in self.plan.value_rows:
            self.check_row(ind)
        for rule in self.spec.rules:
            if rule.kind == "blank_if":
                self.check_blank_if(rule)
            else:
                self.check_comparison(rule)
        self.issues.sort(key=issue_order(self.spec))
        return self.issues

    def check_row(self, ind: Indicator):
        value = self.values.get(ind.id)
        text = self.sub.texts.get(ind.id)
        if not self.concerns(ind):
            if value is not None or text:
                shown = text if text else format_number(value, percent=ind.kind in ("ratio", "rate"))
                self.check("wrong-level", ind, value=shown, level=self.level_name())
            return
        if text:
            self.check("not-number", ind, value=text)
            return
        if ind.kind == "ratio":
            self.check_ratio(ind, value)
            return
        if value is None:
            if ind.children and any(self.values.get(c) not in (None, 0) and self.concerns(self.spec[c])
                                    for c in ind.children):
                self.check("parent-blank", ind)
            return
        kind = ind.kind
        shown = format_number(value, percent=kind == "rate")
        if kind in ("count", "amount"):
            if value < 0:
                self.check("negative", ind, value=shown)
            elif kind == "count" and not float(value).is_integer():
                self.check("not-whole", ind, value=shown)
        elif kind == "rate":
            if not 0 <= value <= 100:
                self.check("percent-range", ind, value=shown)
        elif kind in ("flag", "choice"):
            if value not in ind.choice_codes or not float(value).is_integer():
                choices = ", ".join(f"{code} = {name}" for code, name in ind.choices)
                self.check("not-choice", ind, value=shown, choices=choices)

    def check_ratio(self, ind: Indicator, reported):
        if reported is None or ind.id in self.sub.formulas:
            return  # blank: the tool recomputes it; a live formula: nothing typed to compare
        num = self.values.get(ind.numerator)
        den = self.values.get(ind.denominator)
        fields = {
            "value": format_number(reported, percent=True),
            "num_label": self.label(ind.numerator), "num": format_number(num),
            "den_label": self.label(ind.denominator), "den": format_number(den),
        }
        if den is None or den == 0:
            if reported != 0:  # 0/0 may be written 0 (the seed writes 0% for 0 PAKN)
                self.check("ratio-no-denominator", ind, **fields)
            return
        if num is None:
            self.check("ratio-no-numerator", ind, **fields)
            return
        expected = num / den * 100
        if not math.isfinite(expected) or abs(reported - expected) < RATIO_TOLERANCE:
            return  # an overflow is nothing to compare with
        fields["expected"] = format_number(expected, percent=True)
        if self.sub.template is not None:
            # Our templates compute every ratio: a number typed over the formula.
            fields["typed"] = fields["value"]
            self.check("formula-overwritten", ind, **fields)
        else:
            self.check("ratio", ind, **fields)

    def level_name(self) -> str:
        if self.sub.level:
            return self.spec.level_name(self.sub.level)
        return ", ".join(self.spec.level_name(lv) for lv in sorted(self.levels))

    def side(self, ids) -> tuple:
        """(known sum, number of rows holding a number, upper bound) of one side of a rule."""
        total, filled, complete = 0, 0, True
        for ind_id in ids:
            value = self.derived.get(ind_id)
            if value is None:
                if self.concerns(self.spec[ind_id]):
                    complete = False  # blank is not zero: unknown, at least 0
            else:
                total += value
                filled += 1
        return total, filled, (total if complete else _INF)

    def check_comparison(self, rule):
        left, n_left, left_hi = self.side(rule.left)
        right, n_right, right_hi = self.side(rule.right)
        if not n_left or not n_right:
            return
        too_big = left > right_hi + _EPS  # left certainly > right
        too_small = right > left_hi + _EPS  # left certainly < right
        broken = (too_big if rule.kind == "le" else too_small if rule.kind == "ge" else too_big or too_small)
        if not broken:
            return
        fields = {
            "left_label": self.side_label(rule.left), "left": format_number(left),
            "right_label": self.side_label(rule.right), "right": format_number(right),
            "left_codes": self.codes(rule.left), "right_codes": self.codes(rule.right),
        }
        self.emit(rule.id, rule.severity, rule.message, rule.left[0], fields)

    def check_blank_if(self, rule):
        when = self.derived.get(rule.when)
        if when is None or when != rule.equals:
            return
        for ind_id in rule.rows:
            value = self.derived.get(ind_id)
            if value is None or value == 0:
                continue
            ind = self.spec[ind_id]
            fields = {
                "when_label": self.label(rule.when), "when": format_number(when),
                "label": self.label(ind_id), "value": format_number(value, percent=ind.kind == "rate"),
            }
            self.emit(rule.id, rule.severity, rule.message, ind_id, fields)

    def side_label(self, ids) -> str:
        """One row: its label. Several: their codes added up, `4.2 + 4.3 + 4.4` (reads after "Tổng")."""
        if len(ids) == 1:
            return self.label(ids[0])
        return self.codes(ids)

    def codes(self, ids) -> str:
        forms = {self.spec[i].form for i in ids}
        if len(forms) == 1:
            return " + ".join(self.spec[i].code for i in ids)
        return " + ".join(ids)  # rows of several forms: full ids, BM7-2.1.2 + BM3-1.4


def _reported_levels(sub) -> frozenset:
    """The row levels the unit's report covers; empty when unknown (then every row concerns it)."""
    if sub.reported_levels:
        return frozenset(sub.reported_levels)
    if sub.level:
        return sub.spec.reported_levels(sub.level)
    return frozenset()


# --------------------------------------------------------------------------------------------- text

def indicator_label(spec: FormSpec, ind: Indicator) -> str:
    """The label a message names a row by.

    A breakdown whose label does not say what it counts (`Cấp xã`, `Đã thực hiện`, `Hình thức khảo sát`)
    gets its parent's label in front: `Tỷ lệ hồ sơ công việc được xử lý trên môi trường mạng – Cấp xã`.
    Labels that start with what they measure (Số, Tổng, Tỷ lệ) stand alone.
    """
    label = ind.label
    if ind.parent and not label.startswith(("Số", "Tổng", "Tỷ lệ")):
        parent = spec.indicators.get(ind.parent)
        if parent is not None and parent.kind != "header":
            return f"{parent.label} – {label}"
    return label


class _Fields(dict):
    def __missing__(self, key):
        return "{" + key + "}"  # an unknown placeholder is left as written


def fill(template: str, fields: dict) -> str:
    """`template.format_map(fields)`, leaving unknown placeholders and malformed templates as written."""
    try:
        return template.format_map(_Fields(fields))
    except (ValueError, IndexError, AttributeError, TypeError):
        return template


def _tidy(x: float):
    x = round(x, 10)
    return int(x) if x.is_integer() else x
