"""Live checks of a template: the spec's rules and per-row checks as Excel formulas.

The trees come from `spec.expr` (the rules engine evaluates the same ones), rendered to Excel formulas for
the "Kiểm tra tự động" column and evaluated in Python on the same values, so the formula's cached result is
right in a viewer that does not recalculate. A check fires exactly when `cchc check` (`check/rules.py`)
would report it on the same numbers. Rows the template's level does not report are locked and blank, so
rules over them are shortened (`outside_blank`); ratio rows are formulas, so their checks are not shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from cchc_excel.spec.conditions import row_conditions, rule_conditions
from cchc_excel.spec.expr import Expr, Sum, Value, is_number, number_text, row_value
from cchc_excel.spec.model import FormSpec, Indicator

__all__ = ["LIVE_SEVERITIES", "LiveCheck", "build_checks", "excel_string", "is_number", "number_text",
           "row_formulas", "row_results", "row_ref"]

_MAX_LITERAL = 255  # Excel's limit on one string constant in a formula
# What a unit must look at while filling; "info" (how a value was read) is not shown live.
LIVE_SEVERITIES = ("error", "warning")


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
    """Live checks by the row they show on: {indicator id: [LiveCheck, ...]}.

    Remembered per spec, levels and level name (every template and feedback workbook of a level has the
    same ones): the result is shared, callers must not change it."""
    return _build_checks(spec, frozenset(reported_levels), level_name)


@lru_cache(maxsize=64)
def _build_checks(spec: FormSpec, reported_levels: frozenset, level_name: str) -> dict:

    def concerns(ind: Indicator) -> bool:
        return bool(ind.levels & reported_levels)

    checks: dict[str, list] = {}

    def add(cond, message: str, fields: dict):
        if cond.severity in LIVE_SEVERITIES:
            live = LiveCheck(cond.id, cond.severity, cond.row, cond.test, _render(message, fields))
            checks.setdefault(cond.row, []).append(live)

    for ind in spec.indicators.values():
        if ind.is_input:  # ratio rows are formulas: nothing typed to check
            fields = _row_fields(ind, level_name)
            for cond in row_conditions(spec, ind, concerns):
                add(cond, spec.checks[cond.id].message, fields)
    for rule in spec.rules:
        for cond in rule_conditions(spec, rule, concerns, outside_blank=True):
            add(cond, rule.message, _rule_fields(spec, rule, cond))
    return checks


def _row_fields(ind: Indicator, level_name: str) -> dict:
    return {"label": row_ref([ind.id]), "value": Value(ind.id), "unit": ind.unit, "level": level_name,
            "choices": ", ".join(f"{code} = {text}" for code, text in ind.choices)}


def _rule_fields(spec: FormSpec, rule, cond) -> dict:
    if rule.kind == "blank_if":
        return {"when_label": row_ref([rule.when]), "when": row_value(spec, rule.when),
                "label": row_ref([cond.row]), "value": row_value(spec, cond.row)}
    left = tuple(row_value(spec, i) for i in cond.left)
    right = tuple(row_value(spec, i) for i in cond.right)
    return {"left_label": row_ref(cond.left), "left": Sum(left), "right_label": row_ref(cond.right),
            "right": Sum(right)}
