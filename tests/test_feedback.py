"""Feedback workbooks (issue 3, `cchc check --feedback DIR`).

Returns with errors are built in the test (our template filled with `write_template(values=...)`, and a
hand-made workbook whose rows sit elsewhere), checked with `check_file`, and their feedback written; the
feedback is read back with python-calamine and openpyxl, checked again (a round trip: the same errors),
and printed once by LibreOffice.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

import lo
from workbooks import write_handmade
from cchc_excel.check.run import check_file
from cchc_excel.cli import cli
from cchc_excel.check.feedback import (FEEDBACK_SHEET, TABLE_ROW, feedback_path, needs_feedback, write_feedback,
                                 write_feedbacks)
from cchc_excel.read.layout import find_sections
from cchc_excel.check.report import FileReport, Issue, Report
from cchc_excel.core.roster import Roster, Unit
from cchc_excel.spec.loader import load_spec
from cchc_excel.template.build import write_template
from cchc_excel.template.forms import layout

SPEC = load_spec()
CELLS = {ind_id: (sheet, f"D{row + 1}") for ind_id, (sheet, row) in layout(SPEC).items()}
UNIT = Unit("HN-TQB", "UBND phường Tam Quan Bắc", "xa")
HEADER = ["STT", "Mức độ", "Biểu mẫu", "Ô", "Mã chỉ tiêu", "Chỉ tiêu", "Nội dung"]
SEVERITY_WORDS = {"error": "Lỗi", "warning": "Cảnh báo", "info": "Thông tin"}

# A ward's return with three errors (part > whole, text in a number cell, a negative count), a value in
# a district-only row (wrong-level) and a plausibility warning (staff present > assigned).
VALUES = {
    "BM1-1": 6, "BM1-2.1": 25, "BM1-2.2": 30, "BM3-1.4.3": 157, "BM3-1.4": 157,
    "BM3-3.1.1": "khoảng 20", "BM4-2.1": 0, "BM4-2.2": 20, "BM4-3.1": -3, "BM2-1.2": 4,
}
NOTES = {"BM1-1": "Theo kế hoạch số 12/KH-UBND", "BM4-2.2": "Có 2 người biệt phái"}
CLEAN = {"BM1-1": 6, "BM1-2.1": 25, "BM1-2.2": 12, "BM4-2.1": 20, "BM4-2.2": 20}


def stamp(path: Path) -> tuple:
    st = path.stat()
    return path.read_bytes(), st.st_mtime_ns, st.st_size


def table(path: Path) -> list:
    """The findings table of the feedback sheet (rows after the header), as calamine reads it."""
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(FEEDBACK_SHEET).to_python()
    assert rows[TABLE_ROW] == HEADER
    return [r for r in rows[TABLE_ROW + 1:] if any(v != "" for v in r)]


def cell(path: Path, sheet: str, ref: str):
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
    col = ord(ref[0]) - ord("A")
    row = int(ref[1:]) - 1
    return rows[row][col] if row < len(rows) and col < len(rows[row]) else ""


def openpyxl_book(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # data validation extensions openpyxl does not know
        return load_workbook(path)


@pytest.fixture(scope="module")
def ward(tmp_path_factory):
    """Our template returned with errors, checked, and its feedback written."""
    d = tmp_path_factory.mktemp("ward")
    src = d / "ve" / "bao-cao-tam-quan-bac.xlsx"
    src.parent.mkdir()
    write_template(src, SPEC, level="xa", unit=UNIT, period="2023-Q2", values=VALUES, notes=NOTES)
    before = stamp(src)
    report = check_file(src)
    out = write_feedback(report, d / "phan-hoi")
    return {"src": src, "before": before, "report": report, "out": out, "dir": d}


@pytest.fixture(scope="module")
def handmade(tmp_path_factory):
    """A hand-made workbook (all forms down one sheet), no unit, no period, a typed ratio that is wrong,
    a row that is not in the form."""
    d = tmp_path_factory.mktemp("handmade")
    src = d / "bc.xlsx"
    values = {"BM1-1": 6, "BM1-2": 80, "BM1-2.1": 25, "BM1-2.2": 12, "BM3-1.4.3": 157, "BM3-1.4": 157,
              "BM3-3.1.1": "khoảng 20", "BM2-1.2": 3}
    write_handmade(src, SPEC, values, extra_rows={3: [("3.9", "Dòng tự thêm", 5)]}, notes={"BM1-1": "abc"})
    before = stamp(src)
    report = check_file(src)
    out = write_feedback(report, d / "phan-hoi")
    return {"src": src, "before": before, "report": report, "out": out}


# --------------------------------------------------------------------------------------------- the ward

def test_name_and_place(ward):
    assert ward["out"] == ward["dir"] / "phan-hoi" / "bao-cao-tam-quan-bac_phan-hoi.xlsx"
    assert ward["out"].is_file()
    assert not list(ward["out"].parent.glob("*.tmp"))


def test_returned_file_is_untouched(ward, handmade):
    for case in (ward, handmade):
        assert stamp(case["src"]) == case["before"]
    assert sorted(p.name for p in ward["src"].parent.iterdir()) == ["bao-cao-tam-quan-bac.xlsx"]


def test_feedback_sheet_is_first_and_lists_every_finding(ward):
    report, out = ward["report"], ward["out"]
    book = CalamineWorkbook.from_path(str(out))
    assert book.sheet_names[0] == FEEDBACK_SHEET
    assert book.sheet_names[1:4] == ["Thông tin chung", "Hướng dẫn", "Biểu mẫu 1"]
    rules = {(i.rule, i.indicator) for i in report.issues}
    assert {("BM1-R1", "BM1-2.2"), ("not-number", "BM3-3.1.1"), ("negative", "BM4-3.1"),
            ("wrong-level", "BM2-1.2"), ("BM4-R1", "BM4-2.2")} <= rules

    rows = table(out)
    assert len(rows) == len(report.issues)
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    severities = [r[1] for r in rows]
    assert severities == sorted(severities, key=["Lỗi", "Cảnh báo", "Thông tin"].index)  # errors first
    by_id = {r[4]: r for r in rows}
    for issue in report.issues:
        row = by_id[issue.indicator]
        assert row[1] == SEVERITY_WORDS[issue.severity]
        assert row[6].startswith(issue.message)
        sheet, ref = CELLS[issue.indicator]
        assert row[2] == int(sheet.split()[-1]) and row[3] == ref
    assert by_id["BM1-2.2"][5] == "Số nhiệm vụ đã hoàn thành"

    head = CalamineWorkbook.from_path(str(out)).get_sheet_by_name(FEEDBACK_SHEET).to_python()[:TABLE_ROW]
    text = "\n".join(str(v) for r in head for v in r if v)
    assert "UBND phường Tam Quan Bắc" in text and "Quý II/2023" in text
    assert "bao-cao-tam-quan-bac.xlsx" in text
    assert "Kết quả kiểm tra: 3 lỗi, 2 cảnh báo." in text
    assert "Sửa các ô được tô màu trong các Biểu mẫu" in text and "gửi lại tệp này" in text


def test_links_point_to_the_cells_of_this_workbook(ward):
    ws = openpyxl_book(ward["out"])[FEEDBACK_SHEET]
    links = {}
    for row in ws.iter_rows(min_row=TABLE_ROW + 2):
        link = row[3].hyperlink
        if link is not None:
            links[row[4].value] = (link.location, row[3].value)
    assert links["BM1-2.2"] == ("'Biểu mẫu 1'!D12", "D12")
    assert links["BM3-3.1.1"] == ("'Biểu mẫu 3'!D23", "D23")
    assert set(links) == {i.indicator for i in ward["report"].issues}


def test_print_setup_of_the_feedback_sheet(ward):
    ws = openpyxl_book(ward["out"])[FEEDBACK_SHEET]
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize in (9, "9")
    assert ws.print_title_rows.replace("$", "") == f"{TABLE_ROW + 1}:{TABLE_ROW + 1}"
    assert ws.cell(TABLE_ROW + 1, 1).font.name == "Times New Roman"
    assert ws.freeze_panes == f"A{TABLE_ROW + 2}"


def test_values_and_notes_are_carried(ward):
    out = ward["out"]
    for ind_id, value in VALUES.items():
        sheet, ref = CELLS[ind_id]
        if ind_id == "BM2-1.2":  # a district row: locked in a ward's template, so not carried
            assert cell(out, sheet, ref) == ""
        else:
            assert cell(out, sheet, ref) == value, ind_id
    assert isinstance(cell(out, *CELLS["BM3-3.1.1"]), str)  # the text as typed, not a number
    for ind_id, note in NOTES.items():
        sheet, ref = CELLS[ind_id]
        assert cell(out, sheet, "E" + ref[1:]) == note
    # the ratio row is the template's formula again, its cached result from the carried values
    assert cell(out, *CELLS["BM1-2"]) == 120
    row = next(r for r in table(out) if r[4] == "BM2-1.2")
    assert "Trong tệp này ô đã được để trống" in row[6]


def test_faulty_cells_have_comments(ward):
    wb = openpyxl_book(ward["out"])
    comments = {}
    for sheet in wb.sheetnames:
        for row in wb[sheet].iter_rows():
            for c in row:
                if c.comment is not None:
                    comments[(sheet, c.coordinate)] = c.comment.text
    issues = {i.indicator: i for i in ward["report"].issues}
    assert set(comments) == {CELLS[ind_id] for ind_id in issues}
    for ind_id, issue in issues.items():
        text = comments[CELLS[ind_id]]
        assert text.startswith(f"{SEVERITY_WORDS[issue.severity]}: {issue.message}")
    assert comments[CELLS["BM1-2.2"]] == ("Lỗi: Số nhiệm vụ đã hoàn thành (30) lớn hơn Số nhiệm vụ đề ra "
                                          "trong kế hoạch (25).")
    # the template highlights a commented cell
    fill = wb["Biểu mẫu 1"]["D12"].fill.fgColor.rgb
    assert fill.endswith("FFC7CE")


def test_round_trip_same_unit_period_and_errors(ward):
    again = check_file(ward["out"])
    report = ward["report"]
    assert again.unit == report.unit and again.period == "2023-Q2" == report.period
    assert again.submission.level == "xa"

    def errors(r):
        return sorted((i.rule, i.indicator, i.sheet, i.cell) for i in r.issues if i.severity == "error")
    assert errors(again) == errors(report)
    # the warning about the district row is gone with its value; the plausibility warning stays
    assert {(i.rule, i.indicator) for i in again.issues if i.severity == "warning"} == {("BM4-R1", "BM4-2.2")}
    assert not any(i.rule == "template-changed" for i in again.issues)


def test_feedback_sheet_is_never_taken_for_a_form(ward, handmade):
    for case in (ward, handmade):
        rows = CalamineWorkbook.from_path(str(case["out"])).get_sheet_by_name(FEEDBACK_SHEET).to_python()
        assert find_sections(FEEDBACK_SHEET, rows, {f.number for f in SPEC.forms}) == []


# --------------------------------------------------------------------------------------------- hand-made

def test_handmade_unknown_unit_and_period(handmade):
    report, out = handmade["report"], handmade["out"]
    assert report.unit is None and report.period is None
    rows = table(out)
    texts = [r[6] for r in rows]
    # every finding, plus one line for the district row's value that was not carried
    assert len(rows) == len(report.issues) + 1
    # the returned file's cell, where the row sat elsewhere
    ratio = next(r for r in rows if r[4] == "BM1-2")
    orig = next(i for i in report.issues if i.indicator == "BM1-2")
    assert ratio[1] == "Lỗi" and (FEEDBACK_SHEET, ratio[3]) != (orig.sheet, orig.cell)
    assert ("Biểu mẫu 1", ratio[3]) == CELLS["BM1-2"]
    assert ratio[6] == f"{orig.message} (Trong tệp đã gửi: {orig.sheet}!{orig.cell}.)"
    unknown_row = next(r for r in rows if "3.9" in r[6])
    assert unknown_row[2] == 3 and unknown_row[3] == "" and unknown_row[4] == ""
    assert any("Không xác định được kỳ báo cáo" in t for t in texts)
    dropped = next(r for r in rows if r[4] == "BM2-1.2")
    assert dropped[1] == "Thông tin" and "không được chép sang" in dropped[6]

    head = CalamineWorkbook.from_path(str(out)).get_sheet_by_name(FEEDBACK_SHEET).to_python()[:TABLE_ROW]
    text = " ".join(str(v) for row in head for v in row if v)
    assert "Đơn vị: chưa xác định — Kỳ báo cáo: chưa xác định" in text
    assert "hãy ghi tên và mã đơn vị ở trang “Thông tin chung”" in text
    assert "dùng mẫu của UBND cấp xã" in text

    # the ratio is the template's formula again: the comment says so; the row is carried
    wb = openpyxl_book(out)
    comment = wb[CELLS["BM1-2"][0]][CELLS["BM1-2"][1]].comment.text
    assert comment.startswith(f"Lỗi: {orig.message}") and "tính tự động" in comment
    assert cell(out, *CELLS["BM1-1"]) == 6 and cell(out, "Biểu mẫu 1", "E" + CELLS["BM1-1"][1][1:]) == "abc"
    assert cell(out, *CELLS["BM1-2"]) == 48  # recomputed, not the 80 typed


def test_handmade_round_trip_keeps_what_is_unknown(handmade):
    again = check_file(handmade["out"])
    # the period quoted as an example in a finding ("Quý II/2023") is not taken for the report's period
    assert again.unit is None and again.period is None
    assert again.submission.level == "xa"
    errors = sorted((i.rule, i.indicator) for i in again.issues if i.severity == "error")
    # the typed ratio is a formula again: only the text in a number cell is left to fix
    assert errors == [("not-number", "BM3-3.1.1")]


# --------------------------------------------------------------------------------------------- who gets one

def test_no_feedback_for_a_clean_or_unreadable_or_info_only_file(tmp_path):
    clean = tmp_path / "sach.xlsx"
    write_template(clean, SPEC, level="xa", unit=UNIT, period="2023-Q2", values=CLEAN)
    broken = tmp_path / "hong.xlsx"
    broken.write_bytes(b"not a workbook")
    reports = [check_file(clean), check_file(broken)]
    assert [r.status for r in reports] == ["ok", "unreadable"]
    info_only = FileReport(path=str(tmp_path / "x.xlsx"), status="ok", spec=SPEC.id,
                           issues=[Issue("info", "read-conversion", "BM1-1", "Biểu mẫu 1", "D9", "Đã hiểu …")])
    assert not any(needs_feedback(r) for r in reports + [info_only])
    out = tmp_path / "fb"
    assert write_feedbacks(Report(files=reports + [info_only]), out) == []
    assert not out.exists() or not list(out.iterdir())


def test_feedback_without_the_submission(tmp_path, ward):
    report = check_file(ward["src"], keep_submission=False)
    out = write_feedback(report, tmp_path)
    assert [r[4] for r in table(out)] == [i.indicator for i in report.issues]
    assert cell(out, *CELLS["BM1-2.2"]) == 30 and cell(out, *CELLS["BM4-3.1"]) == -3
    assert cell(out, *CELLS["BM3-3.1.1"]) == ""  # the text typed is only known from the submission
    again = check_file(out)
    assert again.unit == report.unit and again.period == "2023-Q2"


def test_names_unique_and_rerun_replaces_its_own(tmp_path):
    a, b = tmp_path / "a" / "bc.xlsx", tmp_path / "b" / "bc.xlsx"
    for path, value in ((a, 30), (b, 40)):
        path.parent.mkdir()
        write_template(path, SPEC, level="xa", unit=UNIT, period="2023-Q2",
                       values={"BM1-2.1": 25, "BM1-2.2": value})
    reports = Report(files=[check_file(a), check_file(b)])
    out = tmp_path / "fb"
    first = write_feedbacks(reports, out)
    assert [p.name for p in first] == ["bc_phan-hoi.xlsx", "bc_phan-hoi-2.xlsx"]
    assert cell(first[1], *CELLS["BM1-2.2"]) == 40
    assert write_feedbacks(reports, out) == first  # a second run replaces its own files
    assert sorted(p.name for p in out.iterdir()) == ["bc_phan-hoi-2.xlsx", "bc_phan-hoi.xlsx"]
    # a file of someone else's under the name is left alone
    other = tmp_path / "c" / "bc.xlsx"
    other.parent.mkdir()
    (out / "bc_phan-hoi-3.xlsx").write_bytes(b"mine")
    report_c = FileReport(path=str(other), status="errors", spec=SPEC.id)
    assert feedback_path(report_c, out).name == "bc_phan-hoi-4.xlsx"
    assert (out / "bc_phan-hoi-3.xlsx").read_bytes() == b"mine"


# --------------------------------------------------------------------------------------------- CLI

def test_cli_check_feedback(tmp_path):
    bad = tmp_path / "ve" / "tam-quan-bac.xlsx"
    good = tmp_path / "ve" / "hoai-duc.xlsx"
    bad.parent.mkdir()
    write_template(bad, SPEC, level="xa", unit=UNIT, period="2023-Q2", values=VALUES)
    write_template(good, SPEC, level="xa", unit=Unit("HN-HD", "UBND phường Hoài Đức", "xa"), period="2023-Q2",
                   values=CLEAN)
    before = stamp(bad)
    out = tmp_path / "phan-hoi"
    result = CliRunner().invoke(cli, ["check", str(bad.parent), "--feedback", str(out)], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert sorted(p.name for p in out.iterdir()) == ["tam-quan-bac_phan-hoi.xlsx"]
    assert len(table(out / "tam-quan-bac_phan-hoi.xlsx")) == len(check_file(bad).issues)
    assert stamp(bad) == before


# --------------------------------------------------------------------------------------------- LibreOffice

@pytest.mark.libreoffice
def test_libreoffice_prints_the_feedback_sheet(ward, tmp_path):
    pdf = lo.convert(ward["out"], "pdf", tmp_path)
    pages = lo.pdf_text(pdf).split("\f")
    first = pages[0]
    assert "PHẢN HỒI KẾT QUẢ KIỂM TRA BÁO CÁO THỐNG KÊ CẢI CÁCH HÀNH CHÍNH" in first
    assert "Lỗi cần sửa" in first  # the footer names the sheet
    assert "Mức độ" in first and "Nội dung" in first and "Cảnh báo" in first
    assert "Số nhiệm vụ đã hoàn thành (30) lớn hơn Số nhiệm vụ đề ra trong kế hoạch (25)." in " ".join(first.split())
    assert '"khoảng 20" không phải là số' in first
    # the forms follow, with the carried text
    assert any("khoảng 20" in p and "Biểu mẫu 3" in p for p in pages[1:])
    assert os.path.getsize(pdf) > 0


def test_unit_that_filled_another_levels_template_gets_its_own(tmp_path):
    district = Unit("HN", "UBND thị xã Hoài Nhơn", "huyen")
    src = tmp_path / "hoai-nhon.xlsx"
    # the district filled a ward's template: BM3-1.4.3 (TTHC cấp xã) is not a district row
    write_template(src, SPEC, level="xa", unit=district, period="2023-Q2",
                   values={"BM1-2.1": 25, "BM1-2.2": 30, "BM3-1.4.3": 157})
    report = check_file(src, roster=Roster(units={district.code: district}))
    assert any(i.rule == "other-level" for i in report.issues)
    out = write_feedback(report, tmp_path / "fb")
    again = check_file(out)
    assert again.submission.level == "huyen" and again.unit["code"] == "HN"
    assert cell(out, *CELLS["BM3-1.4.3"]) == ""
    head = CalamineWorkbook.from_path(str(out)).get_sheet_by_name(FEEDBACK_SHEET).to_python()[:TABLE_ROW]
    assert any("tệp này là mẫu đúng của UBND cấp huyện" in str(v) for row in head for v in row)
    assert any(r[4] == "BM3-1.4.3" and r[1] == "Thông tin" for r in table(out))
