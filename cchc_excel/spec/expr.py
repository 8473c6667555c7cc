"""One expression tree for the spec's checks and rules, with two back ends.

`spec.conditions` turns every generic check and rule of a spec into such trees. Each node has two back
ends:

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
from typing import ClassVar

__all__ = ["ratio", "is_number", "number_text", "RATIO_DECIMALS", "RATIO_TOLERANCE", "EPS",
           "Expr", "Value", "Ratio", "IsNumber", "IsText", "Sum", "Count", "Gap", "Compare", "NotWhole",
           "AllOf", "AnyOf", "Not", "row_value"]

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
class _Function(Expr):
    """An Excel function of the items: `FUNCTION(a,b,c)`."""

    items: tuple
    function: ClassVar[str] = ""

    def xl(self, ref):
        return f"{self.function}({','.join(i.xl(ref) for i in self.items)})"


@dataclass(frozen=True)
class Sum(_Function):
    """The numbers among the items added up (SUM skips blanks and text)."""

    function: ClassVar[str] = "SUM"

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
class Count(_Function):
    """How many items hold a number."""

    function: ClassVar[str] = "COUNT"

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
class AllOf(_Function):
    function: ClassVar[str] = "AND"

    def compile(self):
        fs = tuple(i.fn for i in self.items)

        def all_of(values):
            for f in fs:
                if not f(values):
                    return False
            return True
        return all_of


@dataclass(frozen=True)
class AnyOf(_Function):
    function: ClassVar[str] = "OR"

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
