"""Live checks of a template: the spec's rules and per-row checks as Excel formulas.

Each check is a small expression tree that renders to an Excel formula (Excel 2010 and LibreOffice
functions only: IF, AND, OR, NOT, ISNUMBER, ISTEXT, INT, ABS, SUM, COUNT, TRIM) and evaluates in Python
on the same values, so the formula's cached result is right in a viewer that does not recalculate.
A check fires exactly when `cchc check` (`rules.py`) would report it on the same numbers. Blank is not
zero: comparisons between rows fire only when both sides hold a number, and a side with a blank row is a
lower bound, not a sum.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cchc_excel.spec.model import FormSpec, Indicator

EPSILON = "0.000001"
_EPS = 1e-6
_MAX_LITERAL = 255  # Excel's limit on one string constant in a formula
# What a unit must look at while filling; "info" (how a value was read) is not shown live.
LIVE_SEVERITIES = ("error", "warning")


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _num(value) -> float:
    return value if is_number(value) else 0.0


def excel_string(text: str) -> str:
    """A string constant for a formula: quotes doubled, split into pieces of at most 255 characters
    (counted as written, a doubled quote as two; a pair is never split)."""
    if not text:
        return '""'
    pieces, piece, size = [], [], 0
    for char in text:
        cost = 2 if char == '"' else 1
        if size + cost > _MAX_LITERAL:
            pieces.append("".join(piece))
            piece, size = [], 0
        piece.append(char)
        size += cost
    pieces.append("".join(piece))
    return "&".join('"' + p.replace('"', '""') + '"' for p in pieces)


def number_text(value) -> str:
    """How Excel shows a number joined to text (General format): 12, 0.5, 1234.25."""
    if not is_number(value):
        return "" if value is None else str(value)
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.15g}"


# ---- expressions -----------------------------------------------------------------------------------

class Expr:
    def xl(self, ref) -> str:  # ref: indicator id -> cell reference text
        raise NotImplementedError

    def ev(self, values: dict):
        raise NotImplementedError


@dataclass(frozen=True)
class Value(Expr):
    id: str

    def xl(self, ref):
        return ref(self.id)

    def ev(self, values):
        return values.get(self.id)


@dataclass(frozen=True)
class IsNumber(Expr):
    id: str

    def xl(self, ref):
        return f"ISNUMBER({ref(self.id)})"

    def ev(self, values):
        return is_number(values.get(self.id))


@dataclass(frozen=True)
class IsText(Expr):
    id: str

    def xl(self, ref):
        return f"ISTEXT({ref(self.id)})"

    def ev(self, values):
        return isinstance(values.get(self.id), str)


@dataclass(frozen=True)
class Sum(Expr):
    ids: tuple

    def xl(self, ref):
        return f"SUM({','.join(ref(i) for i in self.ids)})"

    def ev(self, values):
        return sum(_num(values.get(i)) for i in self.ids)


@dataclass(frozen=True)
class Count(Expr):
    ids: tuple

    def xl(self, ref):
        return f"COUNT({','.join(ref(i) for i in self.ids)})"

    def ev(self, values):
        return sum(1 for i in self.ids if is_number(values.get(i)))


@dataclass(frozen=True)
class Compare(Expr):
    """`left op right`; numbers only (blank counts as 0, as in Excel). op: < > <= >= = <>."""

    op: str
    left: Expr | float
    right: Expr | float

    def xl(self, ref):
        def side(x):
            return x.xl(ref) if isinstance(x, Expr) else number_text(x)
        return f"{side(self.left)}{self.op}{side(self.right)}"

    def ev(self, values):
        a = self.left.ev(values) if isinstance(self.left, Expr) else self.left
        b = self.right.ev(values) if isinstance(self.right, Expr) else self.right
        a, b = _num(a), _num(b)
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b, "=": a == b, "<>": a != b}[self.op]


@dataclass(frozen=True)
class Exceeds(Expr):
    """`SUM(big) - SUM(small) > epsilon`: a tolerant strict comparison of two sums."""

    big: Sum
    small: Sum

    def xl(self, ref):
        return f"{self.big.xl(ref)}-{self.small.xl(ref)}>{EPSILON}"

    def ev(self, values):
        return self.big.ev(values) - self.small.ev(values) > _EPS


@dataclass(frozen=True)
class Differs(Expr):
    left: Sum
    right: Sum

    def xl(self, ref):
        return f"ABS({self.left.xl(ref)}-{self.right.xl(ref)})>{EPSILON}"

    def ev(self, values):
        return abs(self.left.ev(values) - self.right.ev(values)) > _EPS


@dataclass(frozen=True)
class NotWhole(Expr):
    """A number with a fractional part; INT of a text would be an error, hence the IF."""

    id: str

    def xl(self, ref):
        r = ref(self.id)
        return f"IF(ISNUMBER({r}),{r}<>INT({r}),FALSE)"

    def ev(self, values):
        v = values.get(self.id)
        return is_number(v) and not float(v).is_integer()


@dataclass(frozen=True)
class AllOf(Expr):
    items: tuple

    def xl(self, ref):
        return f"AND({','.join(i.xl(ref) for i in self.items)})"

    def ev(self, values):
        return all(i.ev(values) for i in self.items)


@dataclass(frozen=True)
class AnyOf(Expr):
    items: tuple

    def xl(self, ref):
        return f"OR({','.join(i.xl(ref) for i in self.items)})"

    def ev(self, values):
        return any(i.ev(values) for i in self.items)


@dataclass(frozen=True)
class Not(Expr):
    item: Expr

    def xl(self, ref):
        return f"NOT({self.item.xl(ref)})"

    def ev(self, values):
        return not self.item.ev(values)


# ---- checks ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LiveCheck:
    """One check shown beside the row `row`: `message` parts are text or numeric expressions."""

    id: str
    severity: str  # error | warning
    row: str
    test: Expr
    message: tuple

    def message_formula(self, ref) -> str:
        parts = []
        for part in self.message:
            parts.append(excel_string(part) if isinstance(part, str) else part.xl(ref))
        return "&".join(p for p in parts if p != '""') or '""'

    def message_text(self, values: dict) -> str:
        return "".join(part if isinstance(part, str) else number_text(part.ev(values)) for part in self.message)


def row_formulas(checks: list, ref) -> tuple[str | None, str | None, str | None]:
    """Formulas for one row: (message text, error count, warning count); None where there is nothing."""
    if not checks:
        return None, None, None
    texts = [f"IF({c.test.xl(ref)},{c.message_formula(ref)},\"\")" for c in checks]
    text = texts[0] if len(texts) == 1 else "TRIM(" + '&" "&'.join(texts) + ")"

    def count(severity):
        tests = [f"({c.test.xl(ref)})*1" for c in checks if c.severity == severity]
        return "=" + "+".join(tests) if tests else None

    return "=" + text, count("error"), count("warning")


def row_results(checks: list, values: dict) -> tuple[str, int, int]:
    """What `row_formulas` compute on `values`: (messages, errors, warnings)."""
    fired = [c for c in checks if c.test.ev(values)]
    text = " ".join(c.message_text(values) for c in fired)
    return text, sum(c.severity == "error" for c in fired), sum(c.severity == "warning" for c in fired)


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _render(template: str, fields: dict) -> tuple:
    """Split a message template into parts, substituting text or expressions; unknown fields vanish."""
    parts: list = []
    pos = 0
    for m in _PLACEHOLDER.finditer(template):
        parts.append(template[pos:m.start()])
        parts.append(fields.get(m.group(1), ""))
        pos = m.end()
    parts.append(template[pos:])
    merged: list = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    if merged and isinstance(merged[0], str):
        merged[0] = merged[0][:1].upper() + merged[0][1:]
    return tuple(merged)


def row_ref(ids) -> str:
    """How a live message names rows: `mục 2.2`, `mục 4.2 + 4.3 + 4.4`."""
    codes = [i.split("-", 1)[1] for i in ids]
    return "mục " + " + ".join(codes)


def build_checks(spec: FormSpec, reported_levels: frozenset, level_name: str) -> dict:
    """Live checks by the row they show on: {indicator id: [LiveCheck, ...]}."""

    def concerned(ind: Indicator) -> bool:
        return bool(ind.levels & reported_levels)

    checks: dict[str, list] = {}

    def add(check: LiveCheck):
        checks.setdefault(check.row, []).append(check)

    for ind in spec.indicators.values():
        if not ind.is_input:
            continue
        label = row_ref([ind.id])
        fields = {"label": label, "value": Value(ind.id), "unit": ind.unit, "level": level_name,
                  "choices": ", ".join(f"{code} = {text}" for code, text in ind.choices)}

        def generic(check_id, test):
            check = spec.checks[check_id]
            if check.severity in LIVE_SEVERITIES:
                add(LiveCheck(check_id, check.severity, ind.id, test, _render(check.message, fields)))

        if not concerned(ind):
            generic("wrong-level", IsNumber(ind.id))
            continue
        generic("not-number", IsText(ind.id))
        if ind.kind in ("count", "amount"):
            generic("negative", AllOf((IsNumber(ind.id), Compare("<", Value(ind.id), 0))))
        if ind.kind == "count":
            generic("not-whole", NotWhole(ind.id))
        if ind.kind == "rate":
            outside = AnyOf((Compare("<", Value(ind.id), 0), Compare(">", Value(ind.id), 100)))
            generic("percent-range", AllOf((IsNumber(ind.id), outside)))
        if ind.kind in ("flag", "choice"):
            allowed = tuple(Compare("=", Value(ind.id), code) for code in ind.choice_codes)
            generic("not-choice", AllOf((IsNumber(ind.id), Not(AnyOf(allowed)))))
        children = tuple(c for c in ind.children if spec[c].is_input and concerned(spec[c]))
        if children:
            # As the reader: blank (not a text) while a breakdown holds a number other than 0.
            nonzero = AnyOf(tuple(AllOf((IsNumber(c), Compare("<>", Value(c), 0))) for c in children))
            generic("parent-blank", AllOf((Not(IsNumber(ind.id)), Not(IsText(ind.id)), nonzero)))

    for rule in spec.rules:
        severity = rule.severity
        if severity not in LIVE_SEVERITIES:
            continue
        if rule.kind == "blank_if":
            if not concerned(spec[rule.when]):
                continue
            for row in rule.rows:
                if not concerned(spec[row]):
                    continue
                test = AllOf((IsNumber(rule.when), Compare("=", Value(rule.when), rule.equals),
                            IsNumber(row), Compare("<>", Value(row), 0)))
                fields = {"when_label": row_ref([rule.when]), "when": Value(rule.when),
                          "label": row_ref([row]), "value": Value(row)}
                add(LiveCheck(rule.id, severity, row, test, _render(rule.message, fields)))
            continue
        left = tuple(i for i in rule.left if concerned(spec[i]))
        right = tuple(i for i in rule.right if concerned(spec[i]))
        if not left or not right:
            continue
        fields = {"left_label": row_ref(left), "left": Sum(left), "right_label": row_ref(right), "right": Sum(right)}
        add(LiveCheck(rule.id, severity, left[0], _broken(rule.kind, left, right), _render(rule.message, fields)))
    return checks


def _broken(kind: str, left: tuple, right: tuple) -> Expr:
    """Whether `left <kind> right` (`le`, `ge`, `eq`) is broken, decided as the reader does (`rules.py`).

    Both sides must hold a number. Blank is not zero: the sum of a side with a blank row is only a lower
    bound, so `le` is broken when the known left exceeds a complete right, `ge` the other way round, and
    `eq` when either is.
    """
    both = (Compare(">", Count(left), 0), Compare(">", Count(right), 0))
    if kind == "eq" and len(left) == 1 and len(right) == 1:
        return AllOf(both + (Differs(Sum(left), Sum(right)),))
    left_over = _all(_complete(right) + (Exceeds(Sum(left), Sum(right)),))
    right_over = _all(_complete(left) + (Exceeds(Sum(right), Sum(left)),))
    if kind == "le":
        return AllOf(both + (left_over,))
    if kind == "ge":
        return AllOf(both + (right_over,))
    return AllOf(both + (AnyOf((left_over, right_over)),))


def _complete(ids: tuple) -> tuple:
    """The test that every row of a side holds a number; none for one row (`both` tests it already)."""
    return (Compare("=", Count(ids), len(ids)),) if len(ids) > 1 else ()


def _all(tests: tuple) -> Expr:
    return tests[0] if len(tests) == 1 else AllOf(tests)
