"""Ghi chú is read: the unit's text beside a row explains a warning on it (never an error)."""

import json

from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from cchc_excel.check.explain import explanations
from cchc_excel.check.feedback import feedback_bytes, needs_feedback
from cchc_excel.check.run import check_file
from cchc_excel.cli import cli
from cchc_excel.core.findings import Issue, explain
from cchc_excel.core.roster import Unit
from cchc_excel.merge.notes import short_note
from cchc_excel.merge.run import aggregate_paths
from cchc_excel.merge.totals import Total
from cchc_excel.merge.workbook import write_merged_workbook
from cchc_excel.read.submission import Submission
from cchc_excel.spec.loader import load_spec
from cchc_excel.template.build import write_template

SPEC = load_spec()
WARD = Unit("HN-BS", "Phường Bồng Sơn", "xa", "HN")
WHY = "Biên chế do UBND thị xã điều động sang"
# BM4-R1 (a warning): staff present (2.2) above staff assigned (2.1), as in the seed.
STAFF = {"BM4-2.1": 0, "BM4-2.2": 20}


def ward_return(path, values, notes):
    return write_template(path, level="xa", unit=WARD, period="2023-Q2", values=values, notes=notes)


def test_an_explained_warning_no_longer_counts_against_the_file(tmp_path):
    report = check_file(ward_return(tmp_path / "bs.xlsx", STAFF, {"BM4-2.2": WHY}))
    warning = next(i for i in report.issues if i.rule == "BM4-R1")
    assert (warning.severity, warning.explanation, warning.explained) == ("warning", WHY, True)
    assert report.status == "ok"
    assert warning.to_dict()["explanation"] == WHY
    assert not needs_feedback(report) and feedback_bytes(report) is None
    from cchc_excel.check.report import Report
    lines = [text for kind, text in Report([report]).lines() if kind == "warning"]
    assert lines and lines[0].endswith(f"(đã giải trình: {WHY})")
    assert Report([report]).summary_text().endswith("trong đó 1 cảnh báo đã giải trình).")


def test_a_warning_without_a_note_still_counts(tmp_path):
    report = check_file(ward_return(tmp_path / "bs.xlsx", STAFF, {"BM4-2.1": WHY}))  # a note on another row
    warning = next(i for i in report.issues if i.rule == "BM4-R1")
    assert (warning.explanation, report.status) == ("", "warnings")
    assert "explanation" not in warning.to_dict()


def test_errors_stay_errors_whatever_the_note_says(tmp_path):
    values = {**STAFF, "BM1-2.1": 5, "BM1-2.2": 9}  # BM1-R1, an error, on row 2.2
    report = check_file(ward_return(tmp_path / "bs.xlsx", values, {"BM1-2.2": "Đúng như vậy", "BM4-2.2": WHY}))
    error = next(i for i in report.issues if i.rule == "BM1-R1")
    assert (error.severity, error.explanation, report.status) == ("error", "", "errors")
    # the feedback workbook shows the warning as explained beside the error to fix
    data = feedback_bytes(report)
    path = tmp_path / "ph.xlsx"
    path.write_bytes(data)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Lỗi cần sửa").to_python()
    texts = [row[6] for row in rows[12:]]
    assert any(t.endswith(f"(đã giải trình: {WHY})") for t in texts)
    assert not any("đã giải trình" in t for t in texts if "lớn hơn" in t and "nhiệm vụ" in t)


def test_check_json_carries_the_explanation(tmp_path):
    ward_return(tmp_path / "bs.xlsx", STAFF, {"BM4-2.2": WHY})
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "bs.xlsx"), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    issue = next(i for i in document["files"][0]["issues"] if i["rule"] == "BM4-R1")
    assert issue["explanation"] == WHY and document["files"][0]["status"] == "ok"


def test_the_merged_workbook_shows_the_explanation(tmp_path):
    folder = tmp_path / "ve"
    folder.mkdir()
    ward_return(folder / "bs.xlsx", STAFF, {"BM4-2.2": WHY})
    result = aggregate_paths([folder], jobs=1)
    write_merged_workbook(result, tmp_path / "th.xlsx")
    rows = CalamineWorkbook.from_path(str(tmp_path / "th.xlsx")).get_sheet_by_name("Kiểm tra").to_python()
    row = next(r for r in rows if len(r) > 8 and r[7] == "BM4-R1")
    assert row[8].endswith(f"(đã giải trình: {WHY})")


def test_the_tools_own_notes_in_a_merged_report_explain_nothing():
    notes = {"BM4-2.2": short_note(Total("BM4-2.2", "sum", value=20, units=14)),
             "BM1-5": short_note(Total("BM1-5", "flag", value=3, units=14, answered=14)), "BM1-1": WHY}
    merged = Submission(path=None, spec=SPEC, notes=notes, template={"merged": "1"})
    assert explanations(merged) == {"BM1-1": WHY}
    own = Submission(path=None, spec=SPEC, notes=notes, template=None)
    assert explanations(own) == notes


def test_explain_marks_warnings_on_rows_with_a_note_only():
    issues = [Issue("warning", "BM4-R1", "BM4-2.2", message="w"), Issue("error", "BM1-R1", "BM1-2.2", message="e"),
              Issue("warning", "unit-unknown", message="u"), Issue("info", "read-conversion", "BM4-2.2", message="i")]
    out = explain(issues, {"BM4-2.2": WHY, "BM1-2.2": WHY})
    assert [i.explanation for i in out] == [WHY, "", "", ""]
    assert [i.counts for i in out] == [False, True, True, False]
