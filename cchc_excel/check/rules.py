"""The rules engine: what the numbers of one return say about each other and about the form.

`check_submission(sub)` runs, on a `Submission` read from a workbook:

* the spec's generic checks (`checks:` in the YAML), row by row according to the row's kind: text where a
  number belongs (`not-number`), a negative count or amount (`negative`), a fraction in a count
  (`not-whole`), a rate outside 0-100 (`percent-range`), a flag or choice that is not a listed code
  (`not-choice`), a value in a row the unit's level does not report (`wrong-level`), a typed ratio that
  contradicts its numerator and denominator (`ratio`, `ratio-no-denominator`, `formula-overwritten`) and a
  total left blank above filled breakdowns (`parent-blank`);
* the spec's rules between rows (`rules:`): `le`, `ge`, `eq` between sums of rows, and `blank_if`.

When each finding fires is decided by the trees of `spec.conditions` (the template's live checks render the
same trees as Excel formulas); this module evaluates them and words the findings. Nothing is evaluated
with `eval`: rules are structured data. Severities and message templates come from the spec; messages are filled with `str.format_map` on known placeholders, numbers written the Vietnamese way
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
* Ratios are recomputed from numerator and denominator (`derive_values`), rounded to two decimals as the
  template's formula shows them (`spec.expr.ratio`, the tool's one ratio); a blank ratio is not a finding.
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

from functools import lru_cache

from cchc_excel.core.kinds import PERCENT_KINDS
from cchc_excel.core.findings import SEVERITY_RANK, Issue
from cchc_excel.core.text import vn_number as format_number
from cchc_excel.spec.conditions import conditions
from cchc_excel.spec.expr import RATIO_TOLERANCE, ratio, row_value
from cchc_excel.spec.model import FormSpec, Indicator

__all__ = ["derive_values", "check_submission", "evaluate", "issue_order", "recompute_ratio", "format_number", "indicator_label",
           "RATIO_TOLERANCE"]


# --------------------------------------------------------------------------------------------- values

recompute_ratio = ratio  # `num / den × 100` as the template shows it; None when blank, over 0 or overflowing


def derive_values(sub) -> dict:
    """Every value row of the spec -> the value as the tool will use it.

    Typed rows as read (None for blank or for text that is not a number); ratio rows recomputed from their
    numerator and denominator (None when either is blank or the denominator is 0), whatever the file
    showed. Keys in spec order; headers are left out.
    """
    values = sub.values
    return {ind_id: (value.fn(values) if value is not None else values.get(ind_id))
            for ind_id, value in _plan(sub.spec).row_values}


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
    """What the engine needs of a spec, computed once per spec (the trees once per set of levels)."""

    def __init__(self, spec: FormSpec):
        self.spec = spec
        self.value_rows = tuple(spec.value_indicators)
        # Ratio rows as recomputed (`spec.expr.Ratio`); None for a typed row, read as it is.
        self.row_values = tuple((ind.id, row_value(spec, ind.id) if ind.kind == "ratio" else None)
                                for ind in self.value_rows)
        self.order = {ind_id: i for i, ind_id in enumerate(spec.indicators)}
        self.labels = {ind.id: indicator_label(spec, ind) for ind in spec.indicators.values()}
        self._conditions: dict = {}

    def conditions(self, levels: frozenset) -> tuple:
        """The spec's checks and rules as trees for a unit reporting `levels` (all rows when empty):
        (condition, its compiled test, the rows it needs, whether a live ratio formula voids it)."""
        found = self._conditions.get(levels)
        if found is None:
            def concerns(ind):
                return not levels or not ind.levels.isdisjoint(levels)
            found = self._conditions[levels] = tuple(
                (c, c.test.fn, tuple(c.needs or ()), c.id in _RATIO_CHECKS)
                for c in conditions(self.spec, concerns))
        return found


@lru_cache(maxsize=16)
def _plan(spec: FormSpec) -> _Plan:
    return _Plan(spec)


_RATIO_CHECKS = frozenset({"ratio", "ratio-no-denominator", "ratio-no-numerator"})


class _Checker:
    """Evaluates the spec's trees (`spec.expr`) on one return and words what fires."""

    def __init__(self, sub):
        self.sub = sub
        self.spec = sub.spec
        self.plan = _plan(sub.spec)
        self.values = sub.values
        self.derived = derive_values(sub)
        self.levels = _reported_levels(sub)
        # The cells as the trees see them: numbers, the text of a cell that is not a number, None.
        self.cells = {**sub.values, **{k: t for k, t in sub.texts.items() if t}}
        self.issues: list = []

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
        fields.setdefault("label", self.label(ind.id))
        fields.setdefault("unit", ind.unit)
        self.emit(check_id, check.severity, check.message, ind.id, fields)

    # -- the run

    def run(self) -> list:
        cells, formulas = self.cells, self.sub.formulas
        rules = {rule.id: rule for rule in self.spec.rules}
        get = cells.get
        for cond, test, needs, ratio_check in self.plan.conditions(self.levels):
            for ind_id in needs:
                if get(ind_id) is not None:
                    break
            else:
                if needs:
                    continue  # every row it needs is blank: it cannot fire
            if ratio_check and cond.row in formulas:
                continue  # a live formula: nothing typed to compare
            if not test(cells):
                continue
            rule = rules.get(cond.id)
            if rule is None:
                self.report_check(cond.id, self.spec[cond.row])
            elif rule.kind == "blank_if":
                self.report_blank_if(rule, cond.row)
            else:
                self.report_comparison(rule, cond)
        self.issues.sort(key=issue_order(self.spec))
        return self.issues

    def report_check(self, check_id: str, ind: Indicator):
        value = self.values.get(ind.id)
        text = self.sub.texts.get(ind.id)
        if check_id in _RATIO_CHECKS:
            self.report_ratio(check_id, ind, value)
        elif check_id == "wrong-level":
            shown = text if text else format_number(value, percent=ind.kind in PERCENT_KINDS)
            self.check("wrong-level", ind, value=shown, level=self.level_name())
        elif check_id == "not-number":
            self.check("not-number", ind, value=text)
        elif check_id == "not-choice":
            choices = ", ".join(f"{code} = {name}" for code, name in ind.choices)
            self.check("not-choice", ind, value=format_number(value), choices=choices)
        elif check_id == "parent-blank":
            self.check("parent-blank", ind)
        else:  # negative, not-whole, percent-range
            self.check(check_id, ind, value=format_number(value, percent=ind.kind == "rate"))

    def report_ratio(self, check_id: str, ind: Indicator, reported):
        num = self.values.get(ind.numerator)
        den = self.values.get(ind.denominator)
        fields = {
            "value": format_number(reported, percent=True),
            "num_label": self.label(ind.numerator), "num": format_number(num),
            "den_label": self.label(ind.denominator), "den": format_number(den),
        }
        if check_id == "ratio":
            fields["expected"] = format_number(ratio(num, den), percent=True)
            if self.sub.template is not None:
                # Our templates compute every ratio: a number typed over the formula.
                fields["typed"] = fields["value"]
                check_id = "formula-overwritten"
        self.check(check_id, ind, **fields)

    def level_name(self) -> str:
        if self.sub.level:
            return self.spec.level_name(self.sub.level)
        return ", ".join(self.spec.level_name(lv) for lv in sorted(self.levels))

    def side_sum(self, ids) -> float:
        """The known sum of one side of a rule (blank rows left out)."""
        return sum(v for v in (self.derived.get(i) for i in ids) if v is not None)

    def report_comparison(self, rule, cond):
        fields = {
            "left_label": self.side_label(rule.left), "left": format_number(self.side_sum(rule.left)),
            "right_label": self.side_label(rule.right), "right": format_number(self.side_sum(rule.right)),
            "left_codes": self.codes(rule.left), "right_codes": self.codes(rule.right),
        }
        self.emit(rule.id, rule.severity, rule.message, cond.row, fields)

    def report_blank_if(self, rule, ind_id: str):
        when, value = self.derived.get(rule.when), self.derived.get(ind_id)
        fields = {
            "when_label": self.label(rule.when), "when": format_number(when),
            "label": self.label(ind_id), "value": format_number(value, percent=self.spec[ind_id].kind == "rate"),
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


