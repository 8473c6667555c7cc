"""Findings as data: an `Issue` is one thing worth telling a unit about one file. Every stage that finds
something (the reader, the rules, the merge) makes `Issue`s; `check.report` gathers them."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

SEVERITIES = ("error", "warning", "info")
SEVERITY_LABELS = {"error": "Lỗi", "warning": "Cảnh báo", "info": "Thông tin"}
SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}  # errors first
_A1 = re.compile(r"\$?[A-Za-z]{1,3}\$?[0-9]{1,7}")


@dataclass(frozen=True)
class Issue:
    """One finding about one file.

    Attributes:
        severity: "error" (must be fixed before merging), "warning" (worth a look) or "info"
            (how the tool read something).
        rule: the rule id from the spec (`BM1-R1`), a check id of the spec (`ratio`, `not-whole`) or a
            finding of the reader (`row-missing`, `unreadable`).
        indicator: the row concerned, `BM3-3.1.2`, or "" for the file as a whole.
        sheet: sheet title where it was found (a Word return: the form, `Biểu mẫu 3`), or "".
        cell: A1 reference (a Word return: `mục 3.1.2 (bảng 3, dòng 21)`), or "".
        message: Vietnamese text for the unit, without the location prefix.
        explanation: the unit's own words in the Ghi chú beside the row, for a warning ("" for none):
            an explained warning no longer counts against the file; an error stays an error.
    """

    severity: str
    rule: str
    indicator: str = ""
    sheet: str = ""
    cell: str = ""
    message: str = ""
    explanation: str = ""

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")

    @property
    def location(self) -> str:
        """`Biểu mẫu 3!D21`, `Biểu mẫu 3` or ""; in a Word return `Biểu mẫu 3, mục 3.1.2 (bảng 3, dòng 21)`."""
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}" if _A1.fullmatch(self.cell) else f"{self.sheet}, {self.cell}"
        return self.sheet or self.cell

    @property
    def place(self) -> str:
        """The location in words: `Biểu mẫu 3, ô D21`, or as `location` says it in a Word return."""
        if self.sheet and self.cell and _A1.fullmatch(self.cell):
            return f"{self.sheet}, ô {self.cell}"
        return self.location

    @property
    def explained(self) -> bool:
        """A warning the unit explained in Ghi chú."""
        return self.severity == "warning" and bool(self.explanation)

    @property
    def counts(self) -> bool:
        """Whether it counts against the file: an error, or a warning not explained."""
        return self.severity == "error" or (self.severity == "warning" and not self.explanation)

    @property
    def shown_message(self) -> str:
        """The message, with the unit's explanation when the warning has one."""
        if self.explained:
            return f"{self.message} (đã giải trình: {self.explanation})"
        return self.message

    def text(self) -> str:
        """The message with its location, as shown to a person."""
        return f"{self.location}: {self.shown_message}" if self.location else self.shown_message

    def to_dict(self) -> dict:
        out = {
            "severity": self.severity,
            "rule": self.rule,
            "indicator": self.indicator,
            "sheet": self.sheet,
            "cell": self.cell,
            "message": self.message,
        }
        if self.explanation:
            out["explanation"] = self.explanation
        return out


def explain(issues, notes: dict) -> list:
    """`issues` with each warning on a row that has a Ghi chú (`notes`: indicator id -> text) marked as
    explained by it. Errors and findings about the file as a whole are left as they are."""
    if not notes:
        return list(issues)
    return [replace(i, explanation=notes[i.indicator])
            if i.severity == "warning" and i.indicator and notes.get(i.indicator) else i for i in issues]
