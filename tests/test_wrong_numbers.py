"""Nothing of another period, no blank form and no feedback workbook reaches the totals; feedback is written
only where it is needed.

Returns are our templates filled in the test (`write_template`, its save time set by `generated_at`),
checked with `check_file`/`check_paths`, their feedback written, and merged with `merge_reports`.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

import lo
from cchc_excel.check.feedback import FEEDBACK_SHEET, TABLE_ROW, write_feedback, write_feedbacks
from cchc_excel.check.run import check_file, check_paths
from cchc_excel.cli import cli
from cchc_excel.core.roster import load_roster
from cchc_excel.merge.exports import summary
from cchc_excel.merge.run import merge_reports
from cchc_excel.merge.workbook import write_merged_workbook
from cchc_excel.spec.loader import load_spec
from cchc_excel.template.build import template_bytes, write_template
from cchc_excel.template.forms import layout

SPEC = load_spec()
CELLS = {ind_id: (sheet, f"D{row + 1}") for ind_id, (sheet, row) in layout(SPEC).items()}
ROSTER_CSV = """ma_don_vi,ten_don_vi,cap,don_vi_cha
H1,Thị xã Hoài Nhơn,huyen,
X1,UBND phường Tam Quan Bắc,xa,H1
X2,UBND phường Bồng Sơn,xa,H1
"""
CLEAN = {"BM1-1": 6, "BM1-2.1": 25, "BM1-2.2": 12, "BM4-2.1": 20, "BM4-2.2": 20}
WRONG = {**CLEAN, "BM1-2.2": 30}  # done > planned: an error
WRONG_PERIOD_TEXT = "Đơn vị gửi nhầm biểu mẫu Quý I/2023; hãy điền số liệu Quý II/2023 vào biểu mẫu này."


@pytest.fixture()
def roster(tmp_path):
    path = tmp_path / "don-vi.csv"
    path.write_text(ROSTER_CSV, encoding="utf-8")
    return load_roster(path, levels=SPEC.levels)


def on(day: int) -> datetime:
    return datetime(2023, 6, day, 9, tzinfo=timezone.utc)


def ret(path, roster, code="X1", period="2023-Q2", values=CLEAN, day=10):
    """Our template of unit `code` filled with `values`, saved on `day` June."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_template(path, SPEC, level="xa", unit=roster.get(code), period=period, values=values,
                   generated_at=on(day))
    return path


def cell(path, ind_id):
    sheet, ref = CELLS[ind_id]
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
    row, col = int(ref[1:]) - 1, ord(ref[0]) - ord("A")
    return rows[row][col] if row < len(rows) and col < len(rows[row]) else ""


def sheet_text(path, sheet) -> str:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
    return "\n".join(" | ".join(str(v) for v in row) for row in rows)


def statuses(result) -> dict:
    return {f.path.name: f.status for f in result.files}


def unit(result, code):
    return next(u for u in result.units if u.unit.code == code)


# --------------------------------------------------------------------------------------------- another period

def test_a_return_of_another_period_is_an_error_and_its_feedback_a_blank_template(tmp_path, roster):
    q1 = ret(tmp_path / "ve" / "tqb-q1.xlsx", roster, period="2023-Q1", values=CLEAN)
    report = check_file(q1, roster=roster, period="2023-Q2")
    assert report.status == "errors" and report.period == "2023-Q2" and report.other_period == "2023-Q1"
    assert [(i.severity, i.rule) for i in report.issues] == [("error", "other-period")]

    out = write_feedback(report, tmp_path / "phan-hoi")
    head = sheet_text(out, FEEDBACK_SHEET)
    assert "Kỳ báo cáo: Quý II/2023" in head and WRONG_PERIOD_TEXT in head
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name(FEEDBACK_SHEET).to_python()[TABLE_ROW + 1:]
    assert [(r[1], r[6]) for r in rows if any(v != "" for v in r)] == [("Lỗi", WRONG_PERIOD_TEXT)]
    # never another period's numbers under this period's title
    assert all(cell(out, ind_id) == "" for ind_id in CLEAN)

    # sent back unchanged it is a blank form of the asked period: never merged
    back = check_file(out, roster=roster)
    assert back.period == "2023-Q2" and back.status == "empty"
    result = merge_reports([back], SPEC, roster=roster, period="2023-Q2")
    assert statuses(result) == {out.name: "empty"} and result.records == []


# --------------------------------------------------------------------------------------------- a blank form

def test_a_blank_template_is_empty_never_merged_and_the_unit_stays_missing(tmp_path, roster):
    blank = ret(tmp_path / "ve" / "bs-trong.xlsx", roster, code="X2", values={})
    ret(tmp_path / "ve" / "tqb.xlsx", roster, code="X1", values=CLEAN)
    report = check_paths([tmp_path / "ve"], SPEC, roster=roster)
    by_name = {f.path.rsplit("/", 1)[-1]: f for f in report.files}
    empty = by_name["bs-trong.xlsx"]
    assert empty.status == "empty" and empty.status_label == "Chưa nhập số liệu"
    assert [(i.severity, i.rule) for i in empty.issues] == [("warning", "empty")]
    # no wrong file: its unit has not reported yet
    assert report.exit_code == 0 and report.summary()["empty"] == 1
    assert any(text.endswith("— Chưa nhập số liệu") for kind, text in report.lines() if kind == "file")

    result = merge_reports(report.files, SPEC, roster=roster, period="2023-Q2")
    assert statuses(result) == {"bs-trong.xlsx": "empty", "tqb.xlsx": "merged"}
    assert [r.unit for r in result.records] == ["X1"]
    x2 = unit(result, "X2")
    assert x2.status == "missing" and x2.reason == "Chưa nhập số liệu (tệp bs-trong.xlsx)"
    data = summary(result)
    assert data["units"]["missing"] == ["X2"] and data["units"]["received"] == 1
    assert data["missing_reasons"] == {"X2": "Chưa nhập số liệu (tệp bs-trong.xlsx)"}
    assert next(f for f in data["files"] if f["status"] == "empty")["reason"].startswith("Chưa nhập số liệu")

    merged = write_merged_workbook(result, tmp_path / "tong-hop.xlsx")
    assert "Chưa nộp | bs-trong.xlsx" in sheet_text(merged, "Tình hình nộp báo cáo")
    assert "Chưa nhập số liệu (tệp bs-trong.xlsx)" in sheet_text(merged, "Tình hình nộp báo cáo")
    assert "bs-trong.xlsx | X2 | UBND phường Bồng Sơn | 2023-Q2 | Chưa nhập số liệu" in \
        sheet_text(merged, "Các tệp đã nhận")

    # the feedback says so too
    fb = write_feedback(empty, tmp_path / "phan-hoi")
    assert "Chưa nhập số liệu" in sheet_text(fb, FEEDBACK_SHEET)
    assert blank.is_file()


def test_cli_texts_name_a_blank_return(tmp_path, roster):
    ret(tmp_path / "ve" / "bs-trong.xlsx", roster, code="X2", values={})
    ret(tmp_path / "ve" / "tqb.xlsx", roster, code="X1", values=CLEAN)
    runner = CliRunner()
    checked = runner.invoke(cli, ["check", str(tmp_path / "ve"), "--json"], catch_exceptions=False)
    assert checked.exit_code == 0
    files = {f["path"].rsplit("/", 1)[-1]: f["status"] for f in json.loads(checked.output)["files"]}
    assert files == {"bs-trong.xlsx": "empty", "tqb.xlsx": "ok"}
    merged = runner.invoke(cli, ["aggregate", str(tmp_path / "ve"), "--roster", str(tmp_path / "don-vi.csv"),
                                 "--period", "2023-Q2", "-o", str(tmp_path / "th.xlsx")], catch_exceptions=False)
    assert merged.exit_code == 0, merged.output
    assert "Chưa nộp: UBND phường Bồng Sơn (X2; Chưa nhập số liệu (tệp bs-trong.xlsx))." in merged.output
    assert "1 chưa nhập số liệu" in merged.output


# --------------------------------------------------------------------------------------------- feedback sent back

def test_feedback_in_the_returns_folder_never_supersedes_the_corrected_return(tmp_path, roster):
    folder = tmp_path / "ve"
    v1 = ret(folder / "tqb-v1.xlsx", roster, values=WRONG, day=10)
    out = write_feedback(check_file(v1, roster=roster), folder, generated_at=on(15))  # into the returns
    ret(folder / "tqb-v2.xlsx", roster, values=CLEAN, day=12)  # corrected, saved before the feedback
    report = check_paths([folder], SPEC, roster=roster)
    by_name = {f.path.rsplit("/", 1)[-1]: f for f in report.files}
    fb = by_name[out.name]
    assert fb.status == "feedback_unchanged" and fb.status_label == "Tệp phản hồi gửi lại chưa sửa"
    assert any(i.rule == "feedback-unchanged" and "chưa sửa" in i.message for i in fb.issues)
    meta = fb.submission.template if fb.submission else check_file(out).submission.template
    assert meta["feedback_for"] == by_name["tqb-v1.xlsx"].sha256

    result = merge_reports(report.files, SPEC, roster=roster, period="2023-Q2")
    assert statuses(result) == {"tqb-v1.xlsx": "superseded", "tqb-v2.xlsx": "merged",
                                out.name: "feedback_unchanged"}
    assert result.records[0].values["BM1-2.2"] == 12
    # and no feedback on the feedback
    assert write_feedbacks(report, tmp_path / "fb2") == []


def test_feedback_the_unit_edited_is_a_return_dated_by_its_own_save(tmp_path, roster):
    v1 = ret(tmp_path / "ve" / "tqb-v1.xlsx", roster, values=WRONG, day=10)
    out = write_feedback(check_file(v1, roster=roster), tmp_path / "phan-hoi", generated_at=on(11))
    meta = check_file(out, roster=roster).submission.template
    edited = tmp_path / "ve" / "tqb-sua.xlsx"
    # the same workbook, its metadata kept, one number corrected and saved on 13 June
    edited.write_bytes(template_bytes(SPEC, level="xa", unit=roster.get("X1"), period="2023-Q2",
                                      values=CLEAN, generated_at=on(13), feedback=meta))
    again = check_file(edited, roster=roster)
    assert again.status == "ok" and again.saved_at == on(13)
    result = merge_reports([check_file(v1, roster=roster), again], SPEC, roster=roster, period="2023-Q2")
    assert statuses(result) == {"tqb-v1.xlsx": "superseded", "tqb-sua.xlsx": "merged"}


@pytest.mark.libreoffice
def test_feedback_metadata_survives_libreoffice(tmp_path, roster):
    v1 = ret(tmp_path / "ve" / "tqb.xlsx", roster, values={**WRONG, "BM3-3.1.1": "khoảng 20"})
    out = write_feedback(check_file(v1, roster=roster), tmp_path / "phan-hoi")
    saved = lo.convert(out, lo.XLSX, tmp_path / "lo")  # opened and saved unchanged
    assert check_file(saved, roster=roster).status == "feedback_unchanged"
    fixed = tmp_path / "lo" / "sua.xlsx"
    lo.type_cells(out, fixed, [("Biểu mẫu 1", CELLS["BM1-2.2"][1], "12")])
    after = check_file(fixed, roster=roster)
    assert after.status not in ("feedback_unchanged", "empty") and after.values["BM1-2.2"] == 12


# --------------------------------------------------------------------------------------------- who gets feedback

def test_no_feedback_for_a_file_a_later_clean_return_supersedes(tmp_path, roster):
    folder = tmp_path / "ve"
    ret(folder / "tqb-v1.xlsx", roster, values=WRONG, day=10)
    ret(folder / "tqb-v2.xlsx", roster, values=CLEAN, day=12)
    ret(folder / "bs.xlsx", roster, code="X2", values=WRONG, day=12)
    report = check_paths([folder], SPEC, roster=roster, keep_submissions=True)
    written = write_feedbacks(report, tmp_path / "fb")
    assert [p.name for p in written] == ["bs_phan-hoi.xlsx"]
    # a later return with errors does not make the earlier one's feedback needless... and an earlier clean
    # return never spares a later faulty one its feedback
    shutil.rmtree(folder)
    ret(folder / "tqb-v1.xlsx", roster, values=CLEAN, day=10)
    ret(folder / "tqb-v2.xlsx", roster, values=WRONG, day=12)
    report = check_paths([folder], SPEC, roster=roster, keep_submissions=True)
    assert [p.name for p in write_feedbacks(report, tmp_path / "fb3")] == ["tqb-v2_phan-hoi.xlsx"]


def test_check_cli_writes_no_feedback_for_a_file_a_later_clean_return_supersedes(tmp_path, roster):
    # The command streams: each feedback is written as its file passes, before a later return is seen.
    from click.testing import CliRunner

    from cchc_excel.cli import cli

    folder = tmp_path / "ve"
    ret(folder / "tqb-v1.xlsx", roster, values=WRONG, day=10)
    ret(folder / "tqb-v2.xlsx", roster, values=CLEAN, day=12)
    ret(folder / "bs.xlsx", roster, code="X2", values=WRONG, day=12)
    roster_csv = tmp_path / "don-vi.csv"
    roster_csv.write_text(ROSTER_CSV, encoding="utf-8")
    out = tmp_path / "fb"
    result = CliRunner().invoke(cli, ["check", str(folder), "--roster", str(roster_csv), "--feedback", str(out),
                                      "-j", "2"])
    assert result.exit_code == 1, result.output
    assert sorted(p.name for p in out.iterdir()) == ["bs_phan-hoi.xlsx"]
    assert "Đã ghi 1 tệp phản hồi" in result.output
