"""One expression tree for the spec's checks and rules, with two back ends.

`conditions(spec, concerns)` turns every generic check and rule of a spec into `Condition`s: the finding,
the row it shows on and a small typed tree saying when it fires. Each node has two back ends:

* `ev(values)`, a Python evaluator, used by the rules engine (`check/rules.py`) on the values read from a
  return (numbers, text for a cell that is not a number, None for blank);
* `xl(ref)`, an Excel formula (Excel 2010 and LibreOffice functions only: IF, AND, OR, NOT, ISNUMBER,
  ISTEXT, INT, ABS, ROUND, SUM, COUNT), used by the live checks of a template (`template/checks.py`).

So the semantics are written once: blank is not zero (a comparison between rows needs a number on each
side; a side with a blank row the unit should fill is a lower bound, not a sum), sums of amounts get a
tolerance, a ratio is recomputed from its numerator and denominator with one rounding (`ratio`), 0/0 is no
ratio. No `eval`: the tree is data.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from functools import cached_property

__all__ = ["ratio", "is_number", "number_text", "RATIO_DECIMALS", "RATIO_TOLERANCE", "EPS",
           "Expr", "Value", "Ratio", "IsNumber", "IsText", "Sum", "Count", "Gap", "Compare", "NotWhole",
           "AllOf", "AnyOf", "Not", "row_value", "Condition", "conditions", "row_conditions", "rule_conditions"]

RATIO_DECIMALS = 2  # what the template's ratio formula shows: ROUND(num/den*100, 2)
RATIO_TOLERANCE = 1.0  # percentage points between a typed and a recomputed ratio ("chiếm 61%" for 60.65%)
EPS = 1e-6  # slack for sums of amounts (floats)


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def ratio(num, den):
    """`num / den × 100` rounded to `RATIO_DECIMALS`, an int when whole: the one ratio of the tool.

    None unless both are numbers and the denominator is not 0, or when the quotient overflows (1e300 over
    1e-300: JSON has no infinity).
    """
    if not (is_number(num) and is_number(den)) or den == 0:
        return None
    value = num / den * 100
    if not math.isfinite(value):
        return None
    value = round(float(value), RATIO_DECIMALS)
    return int(value) if value.is_integer() else value


def number_text(value) -> str:
    """How Excel shows a number joined to text (General format): 12, 0.5, 1234.25."""
    if not is_number(value):
        return "" if value is None else str(value)
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.15g}"


def _literal(value) -> str:
    """A number constant in a formula, never in exponent form (1e-06 is written 0.000001)."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.15f}".rstrip("0")


def _num(value) -> float:
    """A cell in Excel arithmetic: blank (and text, always tested before) counts as 0."""
    return value if is_number(value) else 0


# ---- nodes -----------------------------------------------------------------------------------------
#
# The Python back end compiles each tree once into nested closures (`ev` calls them): the rules engine
# runs the whole spec on every return, and closures cost a fraction of walking the dataclasses.

class Expr:
    """A node: `ev(values)` in Python, `xl(ref)` as Excel formula text (ref: indicator id -> cell)."""

    def xl(self, ref) -> str:
        raise NotImplementedError

    def compile(self):
        """A function of `values` computing the node."""
        raise NotImplementedError

    def compile_operand(self):
        """The node as an arithmetic operand: a number, or None when it has none (an undefined ratio)."""
        f = self.fn
        return lambda values: _num(f(values))

    @cached_property
    def fn(self):
        return self.compile()

    @cached_property
    def operand(self):
        return self.compile_operand()

    def ev(self, values: dict):
        return self.fn(values)


def _operand(x):
    if isinstance(x, Expr):
        return x.operand
    return lambda values: x


def _render(x, ref) -> str:
    return x.xl(ref) if isinstance(x, Expr) else _literal(x)


@dataclass(frozen=True)
class Value(Expr):
    """A row's cell as typed: a number, a text, or None (blank)."""

    id: str

    def xl(self, ref):
        return ref(self.id)

    def compile(self):
        key = self.id
        return lambda values: values.get(key)


@dataclass(frozen=True)
class Ratio(Expr):
    """`num / den × 100` as the template computes it (`ratio`); blank unless both are numbers and den ≠ 0.

    With `row`, the ratio row that holds exactly this formula in a template: Excel refers to its cell, so a
    sum of rows takes the cell as it shows ("" when undefined, which SUM and COUNT skip).
    """

    num: Value
    den: Value
    row: str | None = None

    def xl(self, ref):
        if self.row is not None:
            return ref(self.row)
        n, d = self.num.xl(ref), self.den.xl(ref)
        return f'IF(AND(ISNUMBER({n}),ISNUMBER({d})),IF({d}=0,"",ROUND({n}/{d}*100,{RATIO_DECIMALS})),"")'

    def compile(self):
        n, d = self.num.fn, self.den.fn
        return lambda values: ratio(n(values), d(values))

    def compile_operand(self):
        return self.fn


@dataclass(frozen=True)
class IsNumber(Expr):
    item: Expr

    def xl(self, ref):
        return f"ISNUMBER({self.item.xl(ref)})"

    def compile(self):
        f = self.item.fn
        return lambda values: is_number(f(values))


@dataclass(frozen=True)
class IsText(Expr):
    item: Expr

    def xl(self, ref):
        return f"ISTEXT({self.item.xl(ref)})"

    def compile(self):
        f = self.item.fn
        return lambda values: isinstance(f(values), str)


@dataclass(frozen=True)
class Sum(Expr):
    """The numbers among the items added up (SUM skips blanks and text)."""

    items: tuple

    def xl(self, ref):
        return f"SUM({','.join(i.xl(ref) for i in self.items)})"

    def compile(self):
        fs = tuple(i.fn for i in self.items)

        def total(values):
            out = 0
            for f in fs:
                value = f(values)
                if is_number(value):
                    out += value
            return out
        return total


@dataclass(frozen=True)
class Count(Expr):
    """How many items hold a number."""

    items: tuple

    def xl(self, ref):
        return f"COUNT({','.join(i.xl(ref) for i in self.items)})"

    def compile(self):
        fs = tuple(i.fn for i in self.items)
        return lambda values: sum(1 for f in fs if is_number(f(values)))


@dataclass(frozen=True)
class Gap(Expr):
    """`|left - right|`."""

    left: Expr
    right: Expr

    def xl(self, ref):
        return f"ABS({self.left.xl(ref)}-{self.right.xl(ref)})"

    def compile(self):
        fa, fb = self.left.operand, self.right.operand

        def gap(values):
            a, b = fa(values), fb(values)
            return None if a is None or b is None else abs(a - b)
        return gap

    def compile_operand(self):
        return self.fn


_OPS = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge, "=": operator.eq,
        "<>": operator.ne}


@dataclass(frozen=True)
class Compare(Expr):
    """`left op right` (op: < > <= >= = <>); with a tolerance, `left - right op tolerance`.

    Blank counts as 0, as in Excel: guard with IsNumber where blank must not compare. An operand with no
    number (an undefined ratio) makes it false.
    """

    op: str
    left: Expr | float
    right: Expr | float
    tolerance: float | None = None

    def xl(self, ref):
        left, right = _render(self.left, ref), _render(self.right, ref)
        if self.tolerance is None:
            return f"{left}{self.op}{right}"
        return f"{left}-{right}{self.op}{_literal(self.tolerance)}"

    def compile(self):
        fa, fb, op, tol = _operand(self.left), _operand(self.right), _OPS[self.op], self.tolerance

        def compare(values):
            a, b = fa(values), fb(values)
            if a is None or b is None:
                return False
            return op(a, b) if tol is None else op(a - b, tol)
        return compare


@dataclass(frozen=True)
class NotWhole(Expr):
    """A number with a fractional part; INT of a text would be an error, hence the IF."""

    item: Expr

    def xl(self, ref):
        r = self.item.xl(ref)
        return f"IF(ISNUMBER({r}),{r}<>INT({r}),FALSE)"

    def compile(self):
        f = self.item.fn

        def not_whole(values):
            v = f(values)
            return is_number(v) and not float(v).is_integer()
        return not_whole


@dataclass(frozen=True)
class AllOf(Expr):
    items: tuple

    def xl(self, ref):
        return f"AND({','.join(i.xl(ref) for i in self.items)})"

    def compile(self):
        fs = tuple(i.fn for i in self.items)

        def all_of(values):
            for f in fs:
                if not f(values):
                    return False
            return True
        return all_of


@dataclass(frozen=True)
class AnyOf(Expr):
    items: tuple

    def xl(self, ref):
        return f"OR({','.join(i.xl(ref) for i in self.items)})"

    def compile(self):
        fs = tuple(i.fn for i in self.items)

        def any_of(values):
            for f in fs:
                if f(values):
                    return True
            return False
        return any_of


@dataclass(frozen=True)
class Not(Expr):
    item: Expr

    def xl(self, ref):
        return f"NOT({self.item.xl(ref)})"

    def compile(self):
        f = self.item.fn
        return lambda values: not f(values)


def row_value(spec, ind_id: str) -> Expr:
    """A row's value as the tool uses it: the typed cell, or for a ratio row the ratio recomputed."""
    ind = spec[ind_id]
    if ind.kind == "ratio":
        return Ratio(Value(ind.numerator), Value(ind.denominator), row=ind.id)
    return Value(ind.id)


# ---- the spec's checks and rules as trees ----------------------------------------------------------

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
    if kind in ("count", "amount"):
        out.append(check("negative", AllOf((number, Compare("<", v, 0)))))
    if kind == "count":  # a negative fraction is reported as negative only
        out.append(check("not-whole", AllOf((NotWhole(v), Compare(">=", v, 0)))))
    if kind == "rate":
        outside = AnyOf((Compare("<", v, 0), Compare(">", v, 100)))
        out.append(check("percent-range", AllOf((number, outside))))
    if kind in ("flag", "choice"):
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
