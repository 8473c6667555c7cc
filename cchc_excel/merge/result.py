"""The result of a merge, as data: one status per file and per unit, the records merged, their totals.

Made by `merge.merge_reports`; read by the merged workbook, the JSON summary, the tidy CSV and the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cchc_excel.core.periods import Period
from cchc_excel.core.findings import Issue
from cchc_excel.core.roster import Unit
from cchc_excel.spec.model import FormSpec

if TYPE_CHECKING:
    from cchc_excel.merge.table import ValueTable

FILE_STATUSES = ("merged", "superseded", "errors", "unreadable", "other_period", "unknown_unit",
                 "other_unit", "duplicate")
# Files `cchc check` found to be no return: a blank template sent back, our feedback sent back unchanged.
NO_RETURN_STATUSES = ("empty", "feedback_unchanged")
FILE_STATUS_LABELS = {
    "merged": "Đã tổng hợp", "superseded": "Bản cũ (đã thay)", "errors": "Có lỗi (chưa tổng hợp)",
    "unreadable": "Không đọc được", "other_period": "Kỳ báo cáo khác", "unknown_unit": "Đơn vị không rõ",
    "other_unit": "Ngoài phạm vi tổng hợp", "duplicate": "Tệp trùng", "empty": "Chưa nhập số liệu",
    "feedback_unchanged": "Tệp phản hồi gửi lại chưa sửa",
}
UNIT_STATUSES = ("merged", "errors", "missing")
UNIT_STATUS_LABELS = {"merged": "Đã tổng hợp", "errors": "Có lỗi", "missing": "Chưa nộp"}
MAX_FINDINGS = 100_000  # rows of the `Kiểm tra` sheet; the rest are counted and said


@dataclass(frozen=True, slots=True)
class FileStatus:
    """What became of one file.

    Attributes:
        path: the file.
        status: one of FILE_STATUSES or NO_RETURN_STATUSES; `reason` says why in Vietnamese ("" for a plain merge).
        unit, unit_name: the unit it reports for (code and name), or None / "".
        period: the period code it reports (`2023-Q2`), or None.
        check_status: what `cchc check` said (ok, warnings, errors, unreadable).
        errors, warnings: numbers of findings of each severity.
        saved_at: when the workbook says it was saved; received: when it arrived (email manifest).
        late: received (or saved) after the deadline of its period.
        sha256: the checksum of the file's bytes ("" when unknown).
    """

    path: Path
    status: str
    reason: str = ""
    unit: str | None = None
    unit_name: str = ""
    period: str | None = None
    check_status: str = ""
    errors: int = 0
    warnings: int = 0
    saved_at: datetime | None = None
    received: datetime | None = None
    late: bool = False
    sha256: str = ""

    @property
    def label(self) -> str:
        return FILE_STATUS_LABELS[self.status]

    def to_dict(self) -> dict:
        return {"path": str(self.path), "unit": self.unit, "period": self.period, "status": self.status,
                "reason": self.reason}


@dataclass(frozen=True, slots=True)
class UnitStatus:
    """One unit's status for the period: merged, errors or missing (late is a flag beside it)."""

    unit: Unit
    status: str
    reason: str = ""
    files: tuple = ()  # the files behind the status
    received: datetime | None = None
    late: bool = False
    errors: int = 0
    warnings: int = 0
    missing_periods: tuple = ()

    @property
    def label(self) -> str:
        return UNIT_STATUS_LABELS[self.status]


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding of one file, for the `Kiểm tra` sheet."""

    path: Path
    unit: str | None
    unit_name: str
    issue: Issue


@dataclass
class MergeResult:
    """Everything a merge produced: statuses, the records merged, their totals, the findings.

    Attributes:
        spec, period: the forms and the period merged.
        root: the unit whose report this is (`--unit`, or the roster's only root), or None.
        level: the level of the merged report (the root's; `tinh` without a root).
        reported_levels: the row levels the merged report covers.
        files: one FileStatus per file, in path order.
        units: one UnitStatus per unit (with a roster: every unit under the root; else the units seen).
        expected: how many units should have reported (None without a roster).
        records: one record per merged unit (rolled up to the period when needed), in unit order.
        pieces: the records of every file merged or left out for its errors (`source` is its path), for
            the tidy CSV and the per-unit sheets.
        frame: records' values, a `table.ValueTable` (one row per record, one column per value row;
            `.frame()` as a pandas DataFrame); totals: {id: Total}.
        findings: issues of every file, at most MAX_FINDINGS; findings_total: how many there were.
        unit_info: code -> Unit of every unit seen (roster or files).
        notes: what people should know about the merge (ties, roll-ups, caps), in Vietnamese.
        comparisons: {"previous" | "year_before": `history.Comparison`} with earlier periods (`--previous`).
        outliers: the units' values far from their history or their peers (`merge.outliers`), as
            warnings; also among `findings`, for the `Kiểm tra` sheet.
    """

    spec: FormSpec
    period: Period
    root: Unit | None
    level: str
    reported_levels: frozenset
    files: list
    units: list
    expected: int | None
    records: list
    pieces: list
    frame: ValueTable
    totals: dict
    findings: list = field(default_factory=list)
    findings_total: int = 0
    unit_info: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    comparisons: dict = field(default_factory=dict)
    outliers: list = field(default_factory=list)

    @property
    def merged_units(self) -> int:
        """Units behind the totals (a merged report counts for the units it merged)."""
        return sum(max(1, r.weight) for r in self.records)

    def units_with(self, status: str, *, below: bool = False) -> list[str]:
        """Codes of the units with `status`; `below`: leaving out the merged unit's own return."""
        root = self.root.code if below and self.root is not None else None
        return [u.unit.code for u in self.units if u.status == status and u.unit.code != root]

    @property
    def own_status(self) -> UnitStatus | None:
        """The status of the merged unit's own return, when it sent one (`--own`)."""
        return next((u for u in self.units if self.root is not None and u.unit.code == self.root.code), None)

    @property
    def late_units(self) -> list[str]:
        return [u.unit.code for u in self.units if u.late]

    def files_with(self, status: str) -> list[FileStatus]:
        return [f for f in self.files if f.status == status]

    def report_values(self) -> dict:
        """Values for the parent level's form: totals as the form shows them (a rate's mean to two
        decimals, sums of amounts without float noise); None for blank."""
        out = {}
        for ind_id, total in self.totals.items():
            value = total.report_value
            if isinstance(value, float):
                value = round(value, 2 if total.how == "mean" else 6)
            out[ind_id] = value
        return out
