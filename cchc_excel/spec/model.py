"""The form spec: the Biểu mẫu of one issued version of the forms, as frozen objects (`loader.py` reads
and validates the YAML).

The code knows nothing of one version of the forms: everything specific (rows, labels, kinds, levels,
rules, aggregation) lives in `forms/<id>.yaml`. A row is referred to as `BM<form>-<code>`, for example
`BM3-3.1.2`; codes are strings, never floats.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from cchc_excel.core.kinds import INPUT_KINDS, VALUE_KINDS
from cchc_excel.core.levels import row_levels
from cchc_excel.spec.outliers import OutlierThresholds

if TYPE_CHECKING:
    from cchc_excel.spec.report_text import ReportText



def indicator_id(form: int, code: str) -> str:
    """`indicator_id(3, "3.1.2") == "BM3-3.1.2"`."""
    return f"BM{form}-{code}"


@dataclass(frozen=True)
class Indicator:
    """One row of a form ("chỉ tiêu thống kê")."""

    id: str
    form: int
    code: str
    label: str
    note: str
    unit: str
    kind: str
    levels: frozenset
    units: str
    time: str
    italic: bool = False
    choices: tuple = ()  # ((code, label), ...) in printed order
    combine: tuple = ()  # ((code, (part codes)), ...): a choice code standing for several others together
    numerator: str | None = None  # indicator ids, for ratio rows
    denominator: str | None = None
    parent: str | None = None
    children: tuple = ()

    @property
    def is_input(self) -> bool:
        """Typed by the unit (not a header, not a computed ratio)."""
        return self.kind in INPUT_KINDS

    @property
    def full_label(self) -> str:
        """Label and note as printed."""
        return f"{self.label} {self.note}" if self.note else self.label

    @property
    def choice_codes(self) -> tuple:
        return tuple(code for code, _ in self.choices)

    def concerns(self, level: str | None) -> bool:
        """Whether this is a row of `level`'s own (None: unknown level, so yes). A level whose report
        covers others' rows (the province): `FormSpec.concerns`."""
        return level is None or level in self.levels


@dataclass(frozen=True)
class Form:
    """One Biểu mẫu."""

    number: int
    title: str
    indicators: tuple
    footnote: str = ""

    @property
    def id(self) -> str:
        return f"BM{self.number}"

    @property
    def name(self) -> str:
        """`Biểu mẫu 3`: the printed heading and the sheet title."""
        return f"Biểu mẫu {self.number}"


@dataclass(frozen=True)
class Check:
    """A generic check run on every row of its kind; its message is a template."""

    id: str
    severity: str
    message: str


@dataclass(frozen=True)
class Rule:
    """A rule between rows: `le`, `eq`, `ge` compare sums of indicators; `blank_if` is a conditional."""

    id: str
    kind: str
    severity: str
    message: str
    left: tuple = ()
    right: tuple = ()
    when: str | None = None
    equals: float | None = None
    rows: tuple = ()

    @property
    def indicators(self) -> tuple:
        return self.left + self.right + self.rows + ((self.when,) if self.when else ())


@dataclass(frozen=True)
class FormSpec:
    """One issued version of the forms. Hashable (by id, version, source and structure), so that the
    stages may `lru_cache` what they derive from it."""

    id: str
    version: str
    appendix: str
    title: str
    issued_with: str
    column_note: str
    forms: tuple
    checks: dict
    rules: tuple
    levels: dict  # code -> core.levels.Level, from the top down, as the spec lists them
    cutoff_day: int = 14
    deadline_day: int = 20
    charts: tuple = ()  # % rows the merged workbook charts per unit (ids), in order
    report: ReportText | None = field(default=None, compare=False, repr=False)  # the report's sentences
    outliers: OutlierThresholds = field(default_factory=OutlierThresholds)  # when a unit's value is far off
    source: str = ""
    indicators: dict = field(default_factory=dict, compare=False, repr=False)
    origin: str = field(default="", compare=False, repr=False)  # the file `load_spec` read it from

    def __hash__(self) -> int:
        return hash((self.id, self.version, self.source, self.fingerprint))

    def __getitem__(self, indicator_id: str) -> Indicator:
        return self.indicators[indicator_id]

    def form(self, number: int) -> Form:
        for form in self.forms:
            if form.number == number:
                return form
        raise KeyError(number)

    @property
    def value_indicators(self) -> list:
        """Every row that holds a value (all but headers), in order."""
        return [ind for ind in self.indicators.values() if ind.kind in VALUE_KINDS]

    def level_name(self, level: str) -> str:
        info = self.levels.get(level)
        return info.name if info else level

    def reported_levels(self, level: str) -> frozenset:
        """The row levels a report of `level` covers (the province's covers all)."""
        info = self.levels.get(level)
        return frozenset(info.reports) if info else frozenset({level})

    def concerns(self, ind: Indicator, level: str | None) -> bool:
        """Whether a report of `level` has the row `ind` (None: unknown level, so yes)."""
        return level is None or not ind.levels.isdisjoint(self.reported_levels(level))

    @cached_property
    def row_levels(self) -> tuple:
        """The levels that have rows of their own (some level's report covers them), in the spec's order:
        a row that names no levels is a row of each."""
        return row_levels(self.levels)

    @property
    def default_level(self) -> str:
        """The level a return of unknown level is first taken for: the lowest of those with rows of their
        own (the commune level `xa` in the 2022 forms), the most numerous."""
        return self.row_levels[-1]

    def ordered_levels(self, levels) -> tuple:
        """Those of `levels` the spec knows, in its order."""
        wanted = set(levels)
        return tuple(lv for lv in self.levels if lv in wanted)

    @cached_property
    def fingerprint(self) -> str:
        """A short hash of the structure (forms, codes, kinds, ratio operands): changes when layout does."""
        shape = [
            (ind.id, ind.kind, ind.numerator, ind.denominator, sorted(ind.levels), ind.choice_codes)
            for ind in self.indicators.values()
        ]
        blob = json.dumps([self.id, self.version, shape], ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
