"""The merge as data: a JSON summary and tidy long CSV (one line per unit, period and row).

Both are written atomically (a temporary file in the same folder, then `os.replace`): an interrupted run
leaves the old file or none, never half a file.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from cchc_excel.core.atomic import atomic_file, csv_safe, write_bytes_atomic
from cchc_excel.merge.levels import row_levels
from cchc_excel.merge.run import MergeResult

CSV_COLUMNS = ("ma_don_vi", "ten_don_vi", "cap", "don_vi_cha", "ky_bao_cao", "bieu_mau", "stt", "chi_tieu",
               "ten_chi_tieu", "gia_tri", "trang_thai_tep")
ROLLED_UP = "rolled_up"  # file status of a unit's values rolled up over time from several returns


def summary(result: MergeResult) -> dict:
    """The JSON summary of a merge.

    `{"period", "unit", "level", "units": {"expected", "received", "merged", "missing", "with_errors",
    "late"}, "missing_reasons": {code: why}, "files": [{"path", "unit", "period", "status", "reason"}],
    "totals": {id: {"value", "units", ...}}, "comparisons": {"previous" | "year_before": {"period", "units",
    "totals": {id: {"value", "change", "change_unit", "change_percent"}}}}, "outliers": [{"path", "unit",
    "severity", "rule", "indicator", ...}], "notes"}`. A flag's value is the number of units answering 1, a
    choice's value the count of each code, a rate's value the mean (with n, min and max).
    """
    units = result.units
    received = [u.unit.code for u in units if u.files and u.status != "missing"]
    return {
        "period": result.period.code,
        "unit": result.root.to_dict() if result.root else None,
        "level": result.level,
        "units": {
            "expected": result.expected,
            "received": len(received),
            "merged": sum(1 for u in units if u.status == "merged"),
            "missing": result.units_with("missing"),
            "with_errors": result.units_with("errors"),
            "late": result.late_units,
        },
        "missing_reasons": {u.unit.code: u.reason for u in units if u.status == "missing"},
        "files": [f.to_dict() for f in result.files],
        "totals": {k: t.to_dict() for k, t in result.totals.items()},
        "comparisons": {which: c.to_dict() for which, c in result.comparisons.items()},
        "outliers": [{"path": str(f.path), "unit": f.unit, **f.issue.to_dict()} for f in result.outliers],
        "notes": list(result.notes),
    }


def write_json(result: MergeResult, path: str | Path) -> Path:
    """Write `summary(result)` as UTF-8 JSON (Vietnamese kept readable), atomically."""
    text = json.dumps(summary(result), ensure_ascii=False, indent=2) + "\n"
    return write_bytes_atomic(Path(path), text.encode("utf-8"))


def _tidy_blocks(result: MergeResult):
    """The tidy lines, a record at a time: every return used or left out for its errors, and, when a
    unit's period was rolled up from several returns, the rolled-up values too. Rows a record's levels do
    not report are left out; a blank value is None.

    Yields:
        (unit code, name, level, parent, period), [(indicator, value)], file status.
    """
    spec = result.spec
    status_of = {str(f.path): f.status for f in result.files}
    pieces = {id(r) for r in result.pieces}
    rolled = [r for r in result.records if id(r) not in pieces]
    rows_of: dict[frozenset, list] = {}
    for rec in list(result.pieces) + rolled:
        unit = result.unit_info.get(rec.unit)
        name, level, parent = (unit.name, unit.level, unit.parent or "") if unit else ("", rec.level or "", "")
        status = status_of.get(rec.source, "") if id(rec) in pieces else ROLLED_UP
        covers = rec.reported_levels
        if covers not in rows_of:
            rows_of[covers] = [ind for ind in spec.value_indicators
                               if not covers or ind.levels & row_levels(spec, covers)]
        values = rec.values
        yield ((rec.unit, name, level, parent, rec.period.code),
               [(ind, values.get(ind.id)) for ind in rows_of[covers]], status)


def _csv_value(value) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return ""
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(round(value, 6))
    return str(value)


def write_csv(result: MergeResult, path: str | Path) -> Path:
    """Write the tidy CSV: UTF-8 with a BOM (so that Excel reads the Vietnamese right), comma-separated,
    a dot for decimals; every field quoted, and text that a spreadsheet would take for a formula (with `,`
    or `;` as the separator) is escaped by `csv_safe`.

    Streamed to the file, and the constant parts of a line quoted once, so that 10,000 units (a million
    lines) take seconds and little memory.
    """
    fragment = _Fragments()
    with atomic_file(Path(path)) as raw:
        out = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        out.write("\ufeff" + ",".join(CSV_COLUMNS) + "\r\n")
        middles: dict = {}
        for head, rows, status in _tidy_blocks(result):
            start, end = fragment(head) + ",", "," + fragment((status,)) + "\r\n"
            lines = []
            for ind, value in rows:
                middle = middles.get(ind.id)
                if middle is None:
                    middle = middles[ind.id] = fragment((ind.form, ind.code, ind.id, ind.full_label)) + ","
                lines.append(start + middle + '"' + _csv_value(value) + '"' + end)
            out.write("".join(lines))
        out.flush()
        out.detach()
    return Path(path)


class _Fragments:
    """Fields quoted as csv.writer would with QUOTE_ALL, and made safe from spreadsheets' formulas."""

    def __init__(self):
        self.buf = io.StringIO()
        self.writer = csv.writer(self.buf, lineterminator="", quoting=csv.QUOTE_ALL)

    def __call__(self, fields) -> str:
        self.buf.seek(0)
        self.buf.truncate()
        self.writer.writerow([csv_safe(v) if isinstance(v, str) else v for v in fields])
        return self.buf.getvalue()
