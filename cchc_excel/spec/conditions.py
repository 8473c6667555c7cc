"""The spec's generic checks and rules as expression trees (`spec.expr`): when each finding fires.

`conditions(spec, concerns)` gives one `Condition` per finding that can show on a row: its check or rule
id, severity, row and test. The rules engine (`check/rules.py`) evaluates the tests on a return; the live
checks of a template (`template/checks.py`) render them as Excel formulas.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from cchc_excel.core.kinds import CODED_KINDS, QUANTITY_KINDS
from cchc_excel.spec.expr import (EPS, RATIO_TOLERANCE, AllOf, AnyOf, Compare, Count, Expr, Gap, IsNumber, IsText,
                                  Not, NotWhole, Ratio, Sum, Value, row_value)

__all__ = ["Condition", "conditions", "row_conditions", "rule_conditions"]


@dataclass(frozen=True)
class Condition:
    """Finding `id` (a check or rule of the spec, with its severity) shows on row `row` when `test` holds.

    A comparison rule keeps the rows of its sides (`left`, `right`) for its message.
    """

    id: str
    severity: str
    row: str
    test: Expr
    left: tuple = ()
    right: tuple = ()

    @cached_property
    def needs(self) -> frozenset | None:
        """Rows of which one at least must hold something for the test to hold (None: not known).

        The rules engine skips a condition whose rows are all blank, as most rows of a return are.
        """
        return _needs(self.test)


def _rows(item: Expr) -> frozenset:
    if isinstance(item, Ratio):
        return frozenset((item.num.id, item.den.id))  # a blank operand leaves no ratio
    return frozenset((item.id,)) if isinstance(item, Value) else frozenset()


def _needs(test: Expr) -> frozenset | None:
    """Rows such that the test is false when every one of them is blank, or None."""
    if isinstance(test, (IsNumber, IsText, NotWhole)):
        return _rows(test.item) or None
    if isinstance(test, Compare) and isinstance(test.left, Count) and (test.op, test.right) == (">", 0):
        rows = frozenset().union(*(_rows(i) for i in test.left.items))
        return rows or None
    if isinstance(test, AllOf):
        known = [n for n in map(_needs, test.items) if n is not None]
        return min(known, key=len) if known else None  # any false item makes it false
    if isinstance(test, AnyOf):
        every = [_needs(i) for i in test.items]
        return None if None in every else frozenset().union(*every)
    return None


def conditions(spec, concerns, *, outside_blank: bool = False) -> list:
    """Every generic check of every value row, in form order, then every rule, in spec order.

    `concerns(ind)`: whether the unit's level reports the row. With `outside_blank` the other rows are
    known to be blank (locked in a template of the level): rules over them are left out or shortened.
    """
    out = []
    for ind in spec.value_indicators:
        out += row_conditions(spec, ind, concerns)
    for rule in spec.rules:
        out += rule_conditions(spec, rule, concerns, outside_blank=outside_blank)
    return out


def row_conditions(spec, ind, concerns) -> list:
    """The generic checks of one value row; at most one of them fires."""
    v = Value(ind.id)
    number = IsNumber(v)

    def check(check_id, test):
        return Condition(check_id, spec.checks[check_id].severity, ind.id, test)

    if not concerns(ind):
        return [check("wrong-level", AnyOf((number, IsText(v))))]
    out = [check("not-number", IsText(v))]
    kind = ind.kind
    if kind == "ratio":
        return out + _ratio_conditions(ind, check)
    if kind in QUANTITY_KINDS:
        out.append(check("negative", AllOf((number, Compare("<", v, 0)))))
    if kind == "count":  # a negative fraction is reported as negative only
        out.append(check("not-whole", AllOf((NotWhole(v), Compare(">=", v, 0)))))
    if kind == "rate":
        outside = AnyOf((Compare("<", v, 0), Compare(">", v, 100)))
        out.append(check("percent-range", AllOf((number, outside))))
    if kind in CODED_KINDS:
        allowed = tuple(Compare("=", v, code) for code in ind.choice_codes)
        out.append(check("not-choice", AllOf((number, Not(AnyOf(allowed))))))
    children = tuple(Value(c) for c in ind.children if spec[c].kind != "header" and concerns(spec[c]))
    if children:
        # Blank (not a text) while a breakdown holds a number other than 0 (zeros lose nothing).
        nonzero = AnyOf(tuple(AllOf((IsNumber(c), Compare("<>", c, 0))) for c in children))
        out.append(check("parent-blank", AllOf((Not(number), Not(IsText(v)), nonzero))))
    return out


def _ratio_conditions(ind, check) -> list:
    """A typed ratio against its numerator and denominator: 0/0 may be blank or 0; rounding to a whole
    number is fine. `ratio` is `formula-overwritten` where the cell held our template's formula."""
    r, n, d = Value(ind.id), Value(ind.numerator), Value(ind.denominator)
    typed = IsNumber(r)
    den_ok = AllOf((IsNumber(d), Compare("<>", d, 0)))
    far = Compare(">=", Gap(r, Ratio(n, d)), RATIO_TOLERANCE)  # an overflow compares with nothing
    return [
        check("ratio-no-denominator", AllOf((typed, Not(den_ok), Compare("<>", r, 0)))),
        check("ratio-no-numerator", AllOf((typed, den_ok, Not(IsNumber(n))))),
        check("ratio", AllOf((typed, IsNumber(n), den_ok, far))),
    ]


def rule_conditions(spec, rule, concerns, *, outside_blank: bool = False) -> list:
    """One rule: `blank_if` gives one condition per row, a comparison one on its first left row."""
    def keep(ind_id):
        return not outside_blank or concerns(spec[ind_id])

    if rule.kind == "blank_if":
        if not keep(rule.when):
            return []
        w = row_value(spec, rule.when)
        when = (IsNumber(w), Compare("=", w, rule.equals))
        return [Condition(rule.id, rule.severity, row,
                          AllOf(when + (IsNumber(x), Compare("<>", x, 0))))
                for row in rule.rows if keep(row) for x in (row_value(spec, row),)]
    left = tuple(i for i in rule.left if keep(i))
    right = tuple(i for i in rule.right if keep(i))
    if not left or not right:
        return []
    test = _broken(rule.kind, _side(spec, left, concerns), _side(spec, right, concerns))
    return [Condition(rule.id, rule.severity, left[0], test, left, right)]


def _side(spec, ids, concerns) -> tuple:
    """(the rows' values, the rows whose blank leaves the side unknown: those the unit should fill)."""
    return tuple(row_value(spec, i) for i in ids), tuple(row_value(spec, i) for i in ids if concerns(spec[i]))


def _broken(kind: str, left: tuple, right: tuple) -> Expr:
    """Whether `left <kind> right` (`le`, `ge`, `eq`) is certainly broken.

    Both sides must hold a number. Blank is not zero: the known sum of a side with a blank row is only a
    lower bound (parts are never negative), so `le` is broken when the known left exceeds a complete right,
    `ge` the other way round, and `eq` when either is.
    """
    (lv, lreq), (rv, rreq) = left, right
    both = (Compare(">", Count(lv), 0), Compare(">", Count(rv), 0))
    if kind == "eq" and len(lv) == 1 and len(rv) == 1:
        return AllOf(both + (Compare(">", Gap(Sum(lv), Sum(rv)), EPS),))
    left_over = _all(_complete(rv, rreq) + (Compare(">", Sum(lv), Sum(rv), EPS),))
    right_over = _all(_complete(lv, lreq) + (Compare(">", Sum(rv), Sum(lv), EPS),))
    if kind == "le":
        return AllOf(both + (left_over,))
    if kind == "ge":
        return AllOf(both + (right_over,))
    return AllOf(both + (AnyOf((left_over, right_over)),))


def _complete(items: tuple, required: tuple) -> tuple:
    """The test that every row the unit should fill holds a number; none for a side of one row (`both`
    tests it already) or with no such row."""
    if len(items) == 1 or not required:
        return ()
    return (Compare("=", Count(required), len(required)),)


def _all(tests: tuple) -> Expr:
    return tests[0] if len(tests) == 1 else AllOf(tests)
