"""A return as read from a workbook: the values typed by a unit, and where each one was found."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cchc_excel.core.periods import Period
from cchc_excel.core.findings import Issue
from cchc_excel.core.roster import Unit
from cchc_excel.spec.model import FormSpec
from cchc_excel.spec.loader import load_spec, spec_ref


@dataclass(frozen=True)
class CellRef:
    """Where a value was read: sheet title and A1 reference."""

    sheet: str
    cell: str


@dataclass
class Submission:
    """One returned workbook, read but not yet checked.

    Attributes:
        path: the file as given.
        spec: the form spec it was read with.
        unit: the reporting unit (from the template's metadata, the roster or the command line), or None.
        period: the period it reports, or None when unknown.
        stated_period: the period the workbook itself names (metadata, title rows, file name), or None;
            differs from `period` when another one was asked for.
        level: the unit's level (`xa`, `huyen`, `so`, `tinh`), or None when unknown.
        reported_levels: the row levels this report covers: {level} for a unit's own return, more for a
            merged report of a parent level (from the template metadata).
        values: indicator id -> number as typed (int or float), None for blank. Every value row of the spec
            is a key. Ratio rows hold what the file showed (typed, or the formula's result when we could
            read one); the rules recompute them.
        texts: indicator id -> the raw text of a cell that is not a number for its kind ("khoảng 20").
        formulas: ids of ratio rows whose cell still holds a formula (not overwritten by a typed number).
        cells: indicator id -> CellRef of its value cell, for every row found.
        notes: indicator id -> text of its Ghi chú cell, when filled.
        issues: findings made while reading (conversions, structure differences, unknown unit...).
        template: our template's metadata (dict of str) when the workbook is one of ours, else None.
        saved_at: when the workbook says it was last saved (docProps/core.xml), else None.
        file_format: "xlsx", "xls" or "ods".
    """

    path: Path
    spec: FormSpec
    unit: Unit | None = None
    period: Period | None = None
    stated_period: Period | None = None
    level: str | None = None
    reported_levels: frozenset = frozenset()
    values: dict = field(default_factory=dict)
    texts: dict = field(default_factory=dict)
    formulas: set = field(default_factory=set)
    cells: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    issues: list = field(default_factory=list)
    template: dict | None = None
    saved_at: datetime | None = None
    file_format: str = "xlsx"

    def add(self, issue: Issue) -> None:
        self.issues.append(issue)

    # Worker processes send their Submissions back pickled: without the spec when `load_spec` can give
    # it back, so that a thousand of them share one FormSpec instead of a thousand unpickled copies.
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        ref = spec_ref(self.spec) if isinstance(self.spec, FormSpec) else None
        if ref is not None:
            state["spec"] = _SpecRef(ref)
        return state

    def __setstate__(self, state: dict) -> None:
        if isinstance(state.get("spec"), _SpecRef):
            state = {**state, "spec": load_spec(state["spec"].ref)}
        self.__dict__.update(state)


@dataclass(frozen=True)
class _SpecRef:
    """A spec in a pickled Submission: what `load_spec` takes to give it back."""

    ref: str
