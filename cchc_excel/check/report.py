"""Reports: a `FileReport` holds the findings (`core.findings.Issue`) for one file and a `Report` for
many. `Report.to_dict()` is what `cchc check --json` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cchc_excel.core.findings import SEVERITIES, SEVERITY_LABELS, SEVERITY_RANK, Issue  # noqa: F401

# `empty`: no number in any form (a blank template sent back); `feedback_unchanged`: our feedback workbook
# sent back as it was written (see `returned.py`). Neither is a return: never merged.
STATUSES = ("ok", "warnings", "errors", "unreadable", "empty", "feedback_unchanged")
PASSING = ("ok", "warnings", "empty")  # the statuses of a valid report: a blank form is no wrong file
STATUS_LABELS = {"ok": "Đạt", "warnings": "Có cảnh báo", "errors": "Có lỗi", "unreadable": "Không đọc được",
                 "empty": "Chưa nhập số liệu", "feedback_unchanged": "Tệp phản hồi gửi lại chưa sửa"}


def status_of(issues) -> str:
    """`errors` when any issue is an error, else `warnings` when any warning is not explained in Ghi
    chú, else `ok`."""
    severities = {issue.severity for issue in issues if issue.counts}
    if "error" in severities:
        return "errors"
    if "warning" in severities:
        return "warnings"
    return "ok"


@dataclass
class FileReport:
    """What checking one file found.

    Attributes:
        path: the file as given.
        status: `ok`, `warnings`, `errors`, `unreadable`, `empty` or `feedback_unchanged`.
        unit: {"code", "name", "level"} of the reporting unit, or None when unknown.
        period: `2023-Q2`, or None when unknown.
        spec: id of the form spec the file was read with, or None when it could not be read.
        values: every value row (indicator id -> number or None) as the tool will use it: inputs as typed,
            ratios recomputed. Empty for an unreadable file.
        issues: the reader's findings and the rules', errors first.
        sha256: hex digest of the file's bytes ("" when it could not be opened), to spot copies.
        saved_at: when the workbook says it was last saved, or None.
        reported_levels: the row levels the return covers ({"xa"} for a ward; more for a merged report).
        merged_units: for a merged report made by this tool, how many units it stands for, else None.
        other_period: the period the file itself is of (`2023-Q1`) when another was asked, else None.
        submission: the `Submission` read, when asked for (never serialized).
    """

    path: str
    status: str
    unit: dict | None = None
    period: str | None = None
    spec: str | None = None
    values: dict = field(default_factory=dict)
    issues: list = field(default_factory=list)
    sha256: str = ""
    saved_at: datetime | None = None
    reported_levels: frozenset = frozenset()
    merged_units: int | None = None
    other_period: str | None = None
    submission: object = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")

    @property
    def status_label(self) -> str:
        """`Đạt`, `Có cảnh báo`, `Có lỗi`, `Không đọc được`, `Chưa nhập số liệu`, ..."""
        return STATUS_LABELS[self.status]

    def count(self, severity: str) -> int:
        return sum(1 for issue in self.issues if issue.severity == severity)

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "status": self.status,
            "unit": dict(self.unit) if self.unit else None,
            "period": self.period,
            "spec": self.spec,
            "values": dict(self.values),
            "issues": [issue.to_dict() for issue in self.issues],
        }


@dataclass
class Report:
    """The findings about a set of files, one `FileReport` each, in the order checked."""

    files: list = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """True when no file has errors, is unreadable or is our feedback sent back unchanged. A blank
        form (`empty`) is no wrong file: its unit has not reported yet, as if it had sent nothing."""
        return all(f.status in PASSING for f in self.files)

    @property
    def exit_code(self) -> int:
        """The command's exit status: 0 when valid, else 1."""
        return 0 if self.valid else 1

    def summary(self) -> dict:
        """Counts of files by status (`empty` and `feedback_unchanged` only when there are some) and of
        issues by severity."""
        tally = Tally()
        for f in self.files:
            tally.add(f)
        return tally.summary()

    def to_dict(self) -> dict:
        """`{"files": [...], "summary": {...}}`, what `cchc check --json` prints."""
        return {"files": [f.to_dict() for f in self.files], "summary": self.summary()}

    def flatten(self, keys=("path", "rule", "indicator")) -> list:
        """One list per issue with the values of `keys`, for short assertions (after frictionless).

        Keys are issue fields (severity, rule, indicator, sheet, cell, message, location) or file fields
        (path, status, period, spec, unit: the unit's code).
        """
        rows = []
        for f in self.files:
            file_fields = {"path": f.path, "status": f.status, "period": f.period, "spec": f.spec,
                           "unit": (f.unit or {}).get("code")}
            for issue in f.issues:
                issue_fields = {**issue.to_dict(), "location": issue.location}
                rows.append([issue_fields[k] if k in issue_fields else file_fields[k] for k in keys])
        return rows

    def summary_text(self) -> str:
        """One Vietnamese sentence: `12 tệp: 8 đạt, 2 có cảnh báo, 1 có lỗi, 1 không đọc được.`"""
        explained = sum(1 for f in self.files for i in f.issues if i.explained)
        return summary_text(self.summary(), explained)

    def lines(self) -> list:
        """The report as text lines for a terminal: per file a header, its findings errors first, then a
        summary line. Returns (kind, text) pairs, kind one of `file`, the severities, or `summary`, so that
        a caller can colour them."""
        out = []
        for f in self.files:
            out.extend(file_lines(f))
        out.append(("summary", self.summary_text()))
        return out


class Tally:
    """`Report.summary` counted file by file, for a caller that writes each report out as it comes."""

    def __init__(self):
        self.files = 0
        self.by_status = {status: 0 for status in STATUSES[:4]}  # the rarer statuses once there are some
        self.by_severity = {severity: 0 for severity in SEVERITIES}
        self.explained = 0

    def add(self, f: FileReport) -> None:
        self.files += 1
        self.by_status[f.status] = self.by_status.get(f.status, 0) + 1
        for issue in f.issues:
            self.by_severity[issue.severity] += 1
            self.explained += issue.explained

    @property
    def valid(self) -> bool:
        """True when every file has a passing status (as `Report.valid`)."""
        return all(n == 0 for status, n in self.by_status.items() if status not in PASSING)

    @property
    def exit_code(self) -> int:
        return 0 if self.valid else 1

    def summary(self) -> dict:
        return {"files": self.files, **self.by_status, "issues": dict(self.by_severity), "valid": self.valid}


def summary_text(s: dict, explained: int = 0) -> str:
    """The sentence of a summary (`Report.summary`), with how many warnings were `explained`."""
    parts = [f"{s[status]} {STATUS_LABELS[status].lower()}" for status in STATUSES if s.get(status)]
    issues = s["issues"]
    counts = f"{issues['error']} lỗi, {issues['warning']} cảnh báo"
    if explained:
        counts += f", trong đó {explained} cảnh báo đã giải trình"
    return f"Đã kiểm tra {s['files']} tệp: {', '.join(parts) or 'không có tệp nào'} ({counts})."


def file_lines(f: FileReport) -> list:
    """The (kind, text) lines of one file in `Report.lines`."""
    unit = f"{f.unit['name']} ({f.unit['code']})" if f.unit else "đơn vị chưa rõ"
    period = f.period or "kỳ chưa rõ"
    out = [("file", f"{f.path} — {unit} — {period} — {f.status_label}")]
    ranked = sorted(f.issues, key=lambda i: SEVERITIES.index(i.severity))
    width = max((len(i.location) for i in ranked), default=0)
    id_width = max((len(i.indicator) for i in ranked), default=0)
    for issue in ranked:
        label = SEVERITY_LABELS[issue.severity].ljust(9)
        cols = [label, issue.location.ljust(width)] if width else [label]
        if id_width:
            cols.append(issue.indicator.ljust(id_width))
        cols.append(issue.shown_message)
        out.append((issue.severity, "  " + "  ".join(cols)))
    return out
