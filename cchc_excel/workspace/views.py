"""What the page and the command line ask of a workspace, as plain data or bytes: the merge of a period
(`merge.run.merge_reports` over the files the workspace holds: the merge's rules, "latest wins" among
them, are the merge's own), each unit's status, the merged workbook, the report draft, the tidy CSV, a
file's feedback workbook (and those of the units with errors, to send), and an earlier period's result (the history comparisons use)."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from cchc_excel.core.periods import Period, parse_period
from cchc_excel.core.roster import Unit
from cchc_excel.errors import CchcError
from cchc_excel.merge.result import MergeResult
from cchc_excel.workspace.db import writing
from cchc_excel.workspace.space import Workspace, file_id, file_name, now_text

# A unit's status in a period, as the workspace keeps it: the merge's three (merged, errors, missing),
# `empty` for a unit whose only return is a blank form (the merge counts it missing: nothing to merge),
# `explained` for one with errors the unit explained.
# Late is a flag beside it; superseded is a file's status (`files` of the summary).
UNIT_STATES = ("missing", "empty", "errors", "explained", "merged")


def merge(ws: Workspace, period: Period | str, unit: str | None = None, *,
          include_errors: bool = False) -> MergeResult:
    """Merge what the workspace holds for `period` (and the shorter periods in it), the subtree under
    `unit` (default: the whole roster); the summary is recorded as the period's merged result."""
    from cchc_excel.merge.exports import summary
    from cchc_excel.merge.run import merge_reports

    period = parse_period(period)
    reports, received = ws.file_reports(period, with_received=True)
    result = merge_reports(reports, ws.spec, roster=ws.roster(), period=period, unit_code=unit,
                           include_errors=include_errors, received=received)
    with writing(ws.conn) as c:
        c.execute("INSERT OR IGNORE INTO periods (code, created_at) VALUES (?, ?)", (period.code, now_text()))
        c.execute("INSERT OR REPLACE INTO merged (period, unit, at, summary_json) VALUES (?, ?, ?, ?)",
                  (period.code, unit or "", now_text(), json.dumps(summary(result), ensure_ascii=False)))
        _record_statuses(c, period, result, ws.explained(period))
    return result


def _record_statuses(c, period: Period, result: MergeResult, explanations: dict) -> None:
    empty = {f.unit for f in result.files if f.status == "empty"}
    at = now_text()
    for u in result.units:
        state = "explained" if u.status == "errors" and u.unit.code in explanations else u.status
        if u.status == "missing" and u.unit.code in empty:
            state = "empty"
        c.execute("INSERT OR REPLACE INTO unit_status (period, unit, status, late, reason, updated_at) "
                  "VALUES (?,?,?,?,?,?)", (period.code, u.unit.code, state, int(u.late), u.reason, at))


def status(ws: Workspace, period: Period | str, unit: str | None = None) -> dict:
    """`GET /api/periods/<period>/status[?unit=CODE]`: the `aggregate --json` summary of the period, with
    `"statuses"`: {unit code: {"status": one of UNIT_STATES, "late": bool}}."""
    from cchc_excel.merge.exports import summary

    result = merge(ws, period, unit)
    return {**summary(result), "statuses": unit_states(ws, result)}


def unit_states(ws: Workspace, result: MergeResult) -> dict:
    """{unit code: {"status": one of UNIT_STATES, "late": bool}} of the units of a `merge` result, as it
    recorded them."""
    rows = ws.conn.execute("SELECT unit, status, late FROM unit_status WHERE period = ?", (result.period.code,))
    states = {r["unit"]: {"status": r["status"], "late": bool(r["late"])} for r in rows}
    return {u.unit.code: states[u.unit.code] for u in result.units}


def missing_units(ws: Workspace, period: Period | str, unit: str | None = None) -> list[Unit]:
    """The units still to send their return for `period` (the merge's `missing`), in roster order."""
    result = merge(ws, period, unit)
    return [u.unit for u in result.units if u.status == "missing"]


def previous_period(period: Period | str) -> Period:
    """The period before: the quarter before (Q1: the last year's Q4); for H1, 9M and a year the same of
    the year before."""
    period = parse_period(period)
    if period.kind.startswith("Q"):
        q = int(period.kind[1])
        return Period(period.year, f"Q{q - 1}") if q > 1 else Period(period.year - 1, "Q4")
    return Period(period.year - 1, period.kind)


def previous_result(ws: Workspace, period: Period | str, unit: str | None = None) -> MergeResult | None:
    """The merged result of the period before `period`, from what the workspace holds (None when it holds
    no return of it): the history that comparisons and outlier warnings use."""
    before = previous_period(period)
    if not ws.file_reports(before):
        return None
    return merge(ws, before, unit)


# ------------------------------------------------------------------------------------ files to download

def _written(write, suffix: str) -> bytes:
    """The bytes a writer of files (`write(path)`) produces, through a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="cchc-xuat-") as tmp:
        path = Path(tmp) / f"out{suffix}"
        write(path)
        return path.read_bytes()


def merged_xlsx(ws: Workspace, period: Period | str, unit: str | None = None) -> bytes:
    """`GET /api/periods/<period>/merged.xlsx[?unit=CODE]`: the merged workbook of `cchc aggregate`."""
    from cchc_excel.merge.workbook import write_merged_workbook

    result = merge(ws, period, unit)
    return _written(lambda p: write_merged_workbook(result, p), ".xlsx")


def report_docx(ws: Workspace, period: Period | str, unit: str | None = None) -> bytes:
    """`GET /api/periods/<period>/report.docx[?unit=CODE]`: the report draft (`word.report`)."""
    from cchc_excel.word.report import write_report

    result = merge(ws, period, unit)
    return _written(lambda p: write_report(result, p), ".docx")


def tidy_csv(ws: Workspace, period: Period | str, unit: str | None = None) -> bytes:
    """`GET /api/periods/<period>/tidy.csv[?unit=CODE]`: the long CSV of `cchc aggregate --csv`."""
    from cchc_excel.merge.exports import write_csv

    result = merge(ws, period, unit)
    return _written(lambda p: write_csv(result, p), ".csv")


def feedback_xlsx(ws: Workspace, file_id: int) -> bytes:
    """`GET /api/files/<id>/feedback.xlsx`: the feedback workbook of `cchc check --feedback`.

    Raises:
        CchcError: no such file, or a file with nothing to fix (or unreadable: no template to send).
    """
    from cchc_excel.check.feedback import feedback_bytes

    report = ws.file_report(file_id, keep_submission=True)
    data = feedback_bytes(report, fast=False)  # one workbook: patching pays only over a run's many
    if data is None:
        raise CchcError(f"Tệp số {file_id} ({report.path}) không cần phản hồi: không có lỗi hay cảnh báo, "
                        "hoặc không đọc được.")
    return data


def write_feedback_books(ws: Workspace, period: Period | str, folder: Path, unit: str | None = None) -> list[Path]:
    """The feedback workbook of each file behind a unit whose state is `errors` (errors not explained)
    under `unit`, into `folder`, named with the file's id so that a new return gets a new workbook (the
    send log is keyed by it); the paths written."""
    result = merge(ws, period, unit)
    states = unit_states(ws, result)
    out = []
    for u in result.units:
        if states[u.unit.code]["status"] != "errors":
            continue
        for path in u.files:
            fid = file_id(path)
            try:
                data = feedback_xlsx(ws, fid)
            except CchcError:
                continue  # nothing to fix in it, or unreadable: no workbook to send
            stem = re.sub(r"[^\w.-]+", "_", Path(file_name(path)).stem)
            out.append(folder / f"{stem}_phan-hoi_tep-{fid}.xlsx")
            out[-1].write_bytes(data)
    return out
