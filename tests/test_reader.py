"""Reading returned workbooks (issue 3, "Reading"): our templates, edited ones, hand-made layouts,
.xls and .ods, values as officials type them, unit and period, huge and broken files."""

from __future__ import annotations

import re
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from cchc_excel.template import metadata

from cchc_excel.ooxml import fast as xlsx_fast
from cchc_excel.errors import UnreadableFile
from cchc_excel.core.periods import Period
from cchc_excel.read.reader import read_workbook
from cchc_excel.core.roster import Roster, Unit
from cchc_excel.spec.loader import load_spec
from cchc_excel.read.workbook_io import Book
from cchc_excel.ooxml.a1 import col_index, split_ref
from cchc_excel.ooxml import styles as xlsx_styles

import lo
from workbooks import Pct, write_handmade, write_template

SPEC = load_spec()

# Made-up codes for the 17 commune-level units of thị xã Hoài Nhơn (DESIGN §2).
WARDS = ["phường Bồng Sơn", "phường Hoài Đức", "phường Hoài Hảo", "phường Hoài Hương", "phường Hoài Tân",
         "phường Hoài Thanh", "phường Hoài Thanh Tây", "phường Hoài Xuân", "phường Tam Quan",
         "phường Tam Quan Bắc", "phường Tam Quan Nam", "xã Hoài Châu", "xã Hoài Châu Bắc", "xã Hoài Hải",
         "xã Hoài Mỹ", "xã Hoài Phú", "xã Hoài Sơn"]


def make_roster() -> Roster:
    roster = Roster(source="test")
    roster.units["HN"] = Unit("HN", "Thị xã Hoài Nhơn", "huyen")
    for i, name in enumerate(WARDS, start=1):
        roster.units[f"HN{i:02d}"] = Unit(f"HN{i:02d}", name[0].upper() + name[1:], "xa", "HN")
    return roster


ROSTER = make_roster()
TQB = ROSTER.get("HN10")  # Phường Tam Quan Bắc

# The seed's numbers (Q2/2023 return of UBND phường Tam Quan Bắc), as typed there.
SEED = {
    "BM1-1": 6, "BM1-2": 48, "BM1-2.1": 25, "BM1-2.2": 12, "BM1-5": 1, "BM1-5.1": 10, "BM1-5.2": 0, "BM1-6": 1,
    "BM2-1.3": 0,
    "BM3-1.4": 157, "BM3-1.4.3": 157, "BM3-3.1": 100, "BM3-3.1.1": 369, "BM3-3.1.2": 369,
    "BM3-3.2": 0, "BM3-3.2.1": 0, "BM3-3.2.2": 0,
    "BM4-1.1": 1, "BM4-2.1": 0, "BM4-2.2": 20, "BM4-2.3": "02", "BM4-2.4": 0, "BM4-3.1": 42, "BM4-3.2": 42,
    "BM4-3.3": 0, "BM4-3.4": 0,
    "BM7-1.1": 100, "BM7-1.1.3": 100, "BM7-1.2.3": 100, "BM7-2.4.1": 399, "BM7-2.4.2": 399,
}
SEED_READ = {k: (2 if v == "02" else v) for k, v in SEED.items()}
RATIOS = {ind.id for ind in SPEC.value_indicators if ind.kind == "ratio"}
SEED_INPUTS = {k: v for k, v in SEED.items() if k not in RATIOS}
TITLE = ["UBND PHƯỜNG TAM QUAN BẮC", "BÁO CÁO KẾT QUẢ CÔNG TÁC CẢI CÁCH HÀNH CHÍNH QUÝ II/2023"]


def filled(sub) -> dict:
    return {k: v for k, v in sub.values.items() if v is not None}


def rules(sub, severity=None) -> list:
    return [i.rule for i in sub.issues if severity is None or i.severity == severity]


def layout_of(path) -> dict:
    wb = CalamineWorkbook.from_path(str(path))
    return metadata.parse_sheet(wb.get_sheet_by_name(metadata.SHEET).to_python(skip_empty_area=False))[1]


def cell_value(path, ref):
    """The value at a CellRef, read independently with openpyxl."""
    wb = openpyxl.load_workbook(path)
    return wb[ref.sheet][ref.cell].value


@pytest.fixture(scope="module")
def tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reader")


@pytest.fixture(scope="module")
def template(tmp) -> Path:
    """Our template for Tam Quan Bắc, Q2/2023, filled with the seed's typed numbers."""
    return write_template(tmp / "tam-quan-bac.xlsx", SPEC, level="xa", unit=TQB, period="2023-Q2",
                          values=SEED_INPUTS)


# --- our template ------------------------------------------------------------------------------------

def test_template_is_recognised_by_its_metadata(template):
    sub = read_workbook(template, roster=ROSTER)
    assert sub.template is not None and sub.template["spec_id"] == SPEC.id
    assert sub.unit == TQB and sub.period == Period(2023, "Q2")
    assert sub.level == "xa" and sub.reported_levels == frozenset({"xa"})
    assert sub.file_format == "xlsx" and isinstance(sub.saved_at, datetime)
    assert set(sub.values) == {ind.id for ind in SPEC.value_indicators}
    inputs = {k: v for k, v in filled(sub).items() if k not in RATIOS}
    assert inputs == {k: v for k, v in SEED_READ.items() if k not in RATIOS}
    # Every ratio cell still holds the template's formula; the rules recompute them.
    assert sub.formulas == RATIOS
    assert [i for i in sub.issues if i.severity != "info"] == []
    # Cells point at the value cells the layout names.
    layout = layout_of(template)
    for ind_id, ref in sub.cells.items():
        assert (ref.sheet, ref.cell) == layout[ind_id]
    assert cell_value(template, sub.cells["BM3-3.1.1"]) == 369


def test_template_without_roster_uses_the_metadata_unit(template):
    sub = read_workbook(template)
    assert sub.unit.code == TQB.code and sub.unit.name == TQB.name and sub.level == "xa"


def test_template_for_another_unit_period_level_or_spec(template, tmp):
    sub = read_workbook(template, roster=ROSTER, unit_code="HN03", period="2023-Q3")
    assert sub.unit.code == "HN03" and sub.period == Period(2023, "Q3")
    assert "other-unit" in rules(sub, "warning") and "other-period" in rules(sub, "warning")
    roster = make_roster()
    roster.units["HN10"] = Unit("HN10", TQB.name, "huyen", "HN")
    assert "other-level" in rules(read_workbook(template, roster=roster), "warning")
    # Same period written another way: no warning.
    sub = read_workbook(template, period=Period(2023, "Q2"), unit_code="HN10")
    assert not {"other-period", "other-unit"} & set(rules(sub))


def test_template_of_another_spec_version(tmp):
    path = tmp / "old-version.xlsx"
    write_template(path, SPEC, unit=TQB, values={"BM1-1": 3}, real=False)
    _replace_meta(path, tmp / "old-version-edited.xlsx", {"spec_version": "2021.0"})
    sub = read_workbook(tmp / "old-version-edited.xlsx")
    assert "other-spec" in rules(sub, "warning")
    assert sub.values["BM1-1"] == 3


def _replace_meta(src, dst, changes: dict):
    wb = openpyxl.load_workbook(src)
    ws = wb[metadata.SHEET]
    for row in ws.iter_rows(max_row=metadata.LAYOUT_ROW - 1):
        if row[0].value in changes:
            row[1].value = changes[row[0].value]
    wb.save(dst)


def test_typed_ratio_over_the_formula(template, tmp):
    layout = layout_of(template)
    wb = openpyxl.load_workbook(template)
    sheet, ref = layout["BM1-2"]
    wb[sheet][ref].value = 50
    path = tmp / "typed-ratio.xlsx"
    wb.save(path)
    sub = read_workbook(path)
    assert sub.values["BM1-2"] == 50 and "BM1-2" not in sub.formulas
    assert "BM3-3.1" in sub.formulas


def test_edited_template_is_still_read(template, tmp):
    """Protection removed, rows inserted, a sheet renamed, sheets reordered (saved by openpyxl, which
    keeps formulas without results and does not move the defined names)."""
    layout = layout_of(template)
    sheet3, ref = layout["BM3-3.1"]
    row = split_ref(ref)[0] + 1
    wb = openpyxl.load_workbook(template)
    ws = wb[sheet3]
    ws.insert_rows(row, amount=2)
    ws.cell(row=row, column=1, value="3.0.")
    ws.cell(row=row, column=2, value="Dòng do đơn vị tự thêm")
    ws.cell(row=row, column=4, value=5)
    ws.protection.sheet = False
    sheet5 = layout["BM5-1.1"][0]
    wb[sheet5].title = "BM5 (đã sửa)"
    wb.move_sheet(wb[layout["BM7-1.1"][0]], offset=-3)
    edited = tmp / "edited.xlsx"
    wb.save(edited)

    sub = read_workbook(edited, roster=ROSTER)
    inputs = {k: v for k, v in filled(sub).items() if k not in RATIOS}
    assert inputs == {k: v for k, v in SEED_READ.items() if k not in RATIOS}
    assert sub.cells["BM3-3.1.1"].cell != layout["BM3-3.1.1"][1]
    assert cell_value(edited, sub.cells["BM3-3.1.1"]) == 369
    assert sub.cells["BM5-1.1"].sheet == "BM5 (đã sửa)"
    changed = " | ".join(i.message for i in sub.issues if i.rule == "template-changed")
    assert "BM5 (đã sửa)" in changed  # renamed
    assert "Biểu mẫu 3" in changed and "chèn" in changed  # rows inserted
    assert "Thứ tự" in changed  # reordered
    assert "gỡ bảo vệ" in changed and sheet3 in changed  # protection removed
    unknown = [i for i in sub.issues if i.rule == "row-unknown"]
    assert len(unknown) == 1 and unknown[0].severity == "warning" and unknown[0].sheet == sheet3
    assert sub.formulas == RATIOS  # formulas are still there, their cached results are not
    assert sub.values["BM1-2"] is None


def test_rows_inserted_in_excel_are_followed_by_the_defined_names(template, tmp):
    """Excel moves the defined names with inserted rows: the reader follows them, and still says that
    the structure differs from the template."""
    layout = layout_of(template)
    sheet, ref = layout["BM3-3.1"]
    at = split_ref(ref)[0] + 1
    wb = openpyxl.load_workbook(template)
    wb[sheet].insert_rows(at, amount=2)
    for name, defined in wb.defined_names.items():
        target = defined.attr_text
        if target.startswith(f"'{sheet}'!"):
            row = int(target.rsplit("$", 1)[1])
            if row >= at:
                defined.attr_text = target.rsplit("$", 1)[0] + f"${row + 2}"
    path = tmp / "names-moved.xlsx"
    wb.save(path)
    sub = read_workbook(path, roster=ROSTER)
    assert sub.values["BM3-3.1.1"] == 369 and sub.values["BM3-1.4"] == 157
    assert sub.cells["BM3-3.1.1"].cell == "D" + str(split_ref(layout["BM3-3.1.1"][1])[0] + 3)
    assert any("Biểu mẫu 3" in i.message for i in sub.issues if i.rule == "template-changed")
    assert "row-unknown" not in rules(sub)


# --- hand-made layouts -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stacked(tmp) -> Path:
    """All seven forms down one sheet, as the seed's Phụ lục I: a title with unit and period, a two-row
    header repeated where pages broke, a column-number row, extra columns."""
    return write_handmade(tmp / "phu-luc.xlsx", SPEC, SEED, layout="stacked", title_rows=TITLE,
                          page_break=9, column_numbers=True, extra_columns=True,
                          notes={"BM4-2.3": "Hợp đồng theo Nghị định 68"})


def test_stacked_handmade_layout(stacked):
    sub = read_workbook(stacked, roster=ROSTER)
    assert sub.template is None
    assert filled(sub) == SEED_READ
    assert sub.unit == TQB and sub.period == Period(2023, "Q2") and sub.level == "xa"
    assert sub.notes == {"BM4-2.3": "Hợp đồng theo Nghị định 68"}
    assert sub.formulas == set()
    ref = sub.cells["BM3-3.1.1"]
    assert ref.sheet == "Phụ lục I" and ref.cell.startswith("E")  # "Kỳ trước" pushed "Số liệu" to E
    assert cell_value(stacked, ref) == 369
    assert [i for i in sub.issues if i.severity != "info"] == []
    assert len(sub.cells) == len(SPEC.value_indicators)


def test_per_sheet_handmade_layout(tmp):
    path = write_handmade(tmp / "bao-cao.xlsx", SPEC, SEED, layout="sheets", title_rows=TITLE,
                          two_row_header=False, column_numbers=False, stt_style="float")
    sub = read_workbook(path, roster=ROSTER)
    assert filled(sub) == SEED_READ
    assert sub.unit == TQB and sub.period == Period(2023, "Q2")
    assert sub.cells["BM7-2.4.1"].sheet == "Biểu mẫu 7" and sub.cells["BM7-2.4.1"].cell.startswith("D")


def test_sheets_found_by_name_without_titles(tmp):
    path = write_handmade(tmp / "BC_CCHC_Q3_2023_Hoai_Chau_Bac.xlsx", SPEC, SEED, layout="sheets",
                          form_titles=False, sheet_names={f.number: f"BM{f.number}" for f in SPEC.forms},
                          left_margin=1, stt_style="plain")
    sub = read_workbook(path, roster=ROSTER)
    assert filled(sub) == SEED_READ
    assert sub.unit.code == "HN13"  # from the file name: xã Hoài Châu Bắc, not Hoài Châu
    assert sub.period == Period(2023, "Q3")


def test_unit_and_period_unknown(tmp):
    path = write_handmade(tmp / "bao-cao-1.xlsx", SPEC, {"BM1-1": 6}, layout="stacked")
    sub = read_workbook(path, roster=ROSTER)
    assert sub.unit is None and sub.period is None and sub.level is None
    assert {"unit-unknown", "period-unknown"} <= set(rules(sub, "warning"))
    sub = read_workbook(path, roster=ROSTER, unit_code="HN01", period="2023-H1")
    assert sub.unit.name == "Phường Bồng Sơn" and sub.level == "xa" and sub.period == Period(2023, "H1")
    assert not {"unit-unknown", "period-unknown"} & set(rules(sub))


@pytest.mark.parametrize("title, unit, period", [
    (["UBND phường Tam Quan Bắc"], "HN10", None),
    (["ỦY BAN NHÂN DÂN XÃ HOÀI CHÂU", "Báo cáo 6 tháng đầu năm 2023"], "HN12", Period(2023, "H1")),
    (["Đơn vị: ubnd phuong tam quan nam", "BÁO CÁO CCHC 9 THÁNG NĂM 2024"], "HN11", Period(2024, "9M")),
    (["Báo cáo năm 2023 của phường Hoài Thanh Tây"], "HN07", Period(2023, "Y")),
    (["UBND THỊ XÃ HOÀI NHƠN", "UBND PHƯỜNG TAM QUAN BẮC", "Quý 4 năm 2023"], "HN10", Period(2023, "Q4")),
    (["UBND THỊ XÃ HOÀI NHƠN", "Quý 4 năm 2023"], "HN", Period(2023, "Q4")),
    (["Phường Hoài Hảo và phường Hoài Tân"], None, None),
])
def test_unit_and_period_from_title_text(tmp, title, unit, period):
    path = write_handmade(tmp / f"t-{unit}.xlsx", SPEC, {"BM4-2.5": 1.5}, layout="sheets", title_rows=title)
    sub = read_workbook(path, roster=ROSTER)
    assert (sub.unit.code if sub.unit else None, sub.period) == (unit, period)
    # "so với năm 2015" inside the table is not a period
    assert sub.values["BM4-2.5"] == 1.5


def test_feedback_sheet_is_not_searched_for_unit_period_or_forms(stacked, tmp):
    """A feedback workbook comes back with `Lỗi cần sửa` first: its lines quote files, units, periods."""
    from cchc_excel.check.feedback import FEEDBACK_SHEET
    from cchc_excel.read.layout import FEEDBACK_SHEET as SKIPPED

    assert SKIPPED == FEEDBACK_SHEET
    wb = openpyxl.load_workbook(stacked)
    ws = wb.create_sheet(FEEDBACK_SHEET, 0)
    ws["A1"] = "Đơn vị: UBND xã Hoài Châu — Kỳ báo cáo: Quý I/2023"
    ws["A3"] = "Biểu mẫu 3"
    ws["A4"], ws["B4"] = "STT", "Chỉ tiêu"
    ws["A5"], ws["A6"] = "3.1.1", "3.1.2"
    wb.save(tmp / "with-feedback-sheet.xlsx")
    sub = read_workbook(tmp / "with-feedback-sheet.xlsx", roster=ROSTER)
    assert sub.unit == TQB and sub.period == Period(2023, "Q2")
    assert filled(sub) == SEED_READ and sub.cells["BM3-3.1.1"].sheet == "Phụ lục I"
    assert "form-duplicate" not in rules(sub)


def test_stray_cell_far_right_is_cut_off_not_read_whole(tmp):
    """A cell in column XFD would make python-calamine hold the rows × 16,384 columns in memory."""
    src = write_handmade(tmp / "far-src.xlsx", SPEC, SEED, title_rows=TITLE)
    path = tmp / "far.xlsx"
    _append_rows(src, path, "xl/worksheets/sheet1.xml", 0, '<row r="900"><c r="XFD900"><v>7</v></c></row>')
    sub = read_workbook(path, roster=ROSTER)
    assert filled(sub) == SEED_READ and sub.unit == TQB and sub.period == Period(2023, "Q2")
    assert [i.message for i in sub.issues if i.rule == "sheet-truncated"] == [
        "Trang tính có quá nhiều cột; chỉ đọc 256 cột đầu, phần sau bị bỏ qua."]


def test_hand_typed_period_conflicting_with_the_one_asked(stacked):
    sub = read_workbook(stacked, roster=ROSTER, period="2023-Q3", unit_code="HN01")
    assert sub.period == Period(2023, "Q3") and sub.unit.code == "HN01"
    assert {"other-period", "other-unit"} <= set(rules(sub, "warning"))


def test_rows_not_in_the_form_and_rows_missing(tmp):
    path = write_handmade(
        tmp / "extra-rows.xlsx", SPEC, {"BM1-1": 6, "BM1-5.1": 10}, title_rows=TITLE,
        skip={"BM1-5.1", "BM2-1.3"}, extra_rows={1: [("7.", "Chỉ tiêu đơn vị tự thêm", 4),
                                                      ("", "Tổng cộng", 99), ("", "Người lập biểu", "")]})
    sub = read_workbook(path, roster=ROSTER)
    assert sub.values["BM1-1"] == 6 and sub.values["BM1-5.1"] is None
    warnings = [(i.rule, i.indicator) for i in sub.issues if i.severity == "warning"]
    assert ("row-missing", "BM1-5.1") in warnings and ("row-missing", "BM2-1.3") in warnings
    unknown = [i.message for i in sub.issues if i.rule == "row-unknown"]
    assert len(unknown) == 2 and "STT 7" in unknown[0] and "Tổng cộng" in unknown[1]
    assert "BM1-1" in sub.cells and "BM1-5.1" not in sub.cells

    # A ward's own form need not list the rows of other levels.
    path = write_handmade(tmp / "ward-rows-only.xlsx", SPEC, {"BM1-1": 6}, title_rows=TITLE,
                          skip={ind.id for ind in SPEC.indicators.values() if not ind.concerns("xa")})
    sub = read_workbook(path, roster=ROSTER)
    assert sub.level == "xa" and "row-missing" not in rules(sub)
    assert "row-missing" in rules(read_workbook(path))  # level unknown: every row is expected


def test_value_column_without_a_header_is_guessed(tmp):
    path = write_handmade(tmp / "no-header.xlsx", SPEC, {"BM1-1": 6, "BM3-1.4": 157}, value_header="",
                          two_row_header=False, column_numbers=False)
    sub = read_workbook(path)
    assert sub.values["BM1-1"] == 6 and sub.values["BM3-1.4"] == 157
    assert "value-column-guessed" in rules(sub, "warning")


def test_a_form_missing(tmp):
    path = tmp / "only-bm1.xlsx"
    write_handmade(path, SPEC, {"BM1-1": 6}, layout="sheets")
    wb = openpyxl.load_workbook(path)
    del wb["Biểu mẫu 4"]
    wb.save(path)
    sub = read_workbook(path)
    missing = [i for i in sub.issues if i.rule == "form-missing"]
    assert len(missing) == 1 and "Biểu mẫu 4" in missing[0].message and missing[0].severity == "warning"
    assert not [i for i in sub.issues if i.rule == "row-missing" and i.indicator.startswith("BM4-")]


def test_not_a_return_at_all(tmp):
    path = tmp / "danh-sach.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["Họ tên", "Chức vụ"])
    wb.save(path)
    sub = read_workbook(path)
    assert [(i.severity, i.rule) for i in sub.issues if i.rule == "form-missing"] == [("error", "form-missing")]
    assert filled(sub) == {}


# --- values as typed ---------------------------------------------------------------------------------

TYPED = {
    "BM1-1": "02",            # leading zero
    "BM3-3.1.1": "1.234",     # thousands dot in a count: 1234, noted
    "BM6-1.1": "16,2",        # decimal comma
    "BM6-1.2": "1.234,5",     # both separators
    "BM4-2.5": "48%",         # a rate typed with its sign
    "BM4-3.4": Pct(0.48),     # a rate typed the Excel way: 0.48 in a percent-formatted cell
    "BM7-1.1": Pct(1.0),      # 100% the Excel way
    "BM7-1.2": 0.5,           # a plain 0.5 in a general cell stays 0.5
    "BM4-2.1": "25",          # a number stored as text
    "BM4-2.2": "x",           # nothing to report
    "BM4-2.4": "-",
    "BM4-3.1": "khoảng 20",   # not a number
    "BM5-1.1": 0,             # zero is zero...
    "BM5-1.2": "",            # ...and blank is not zero
    "BM1-2.1": 25, "BM1-2.2": 12, "BM1-2": Pct(0.48),  # a ratio as a fraction, told by its operands
    "BM7-2.4.1": 399, "BM7-2.4.2": 399, "BM7-2.4": "100%",
}
TYPED_READ = {
    "BM1-1": 2, "BM3-3.1.1": 1234, "BM6-1.1": 16.2, "BM6-1.2": 1234.5, "BM4-2.5": 48, "BM4-3.4": 48,
    "BM7-1.1": 100, "BM7-1.2": 0.5, "BM4-2.1": 25, "BM4-2.2": None, "BM4-2.4": None, "BM4-3.1": None,
    "BM5-1.1": 0, "BM5-1.2": None, "BM1-2.1": 25, "BM1-2.2": 12, "BM1-2": 48, "BM7-2.4.1": 399,
    "BM7-2.4.2": 399, "BM7-2.4": 100,
}


@pytest.fixture(scope="module")
def typed(tmp) -> Path:
    return write_handmade(tmp / "typed.xlsx", SPEC, TYPED, title_rows=TITLE)


def test_values_as_officials_type_them(typed):
    sub = read_workbook(typed)
    assert {k: sub.values[k] for k in TYPED_READ} == TYPED_READ
    assert sub.texts == {"BM4-3.1": "khoảng 20"}
    notes = {i.indicator: i.message for i in sub.issues if i.rule == "read-conversion"}
    assert all(i.severity == "info" for i in sub.issues if i.rule == "read-conversion")
    assert "1.234" in notes["BM3-3.1.1"] and "nghìn" in notes["BM3-3.1.1"]
    assert "không phải số 0" in notes["BM4-2.2"] and "BM4-2.4" in notes
    assert "BM1-2" not in notes and "BM4-3.4" not in notes  # a percent format says it plainly
    assert type(sub.values["BM1-1"]) is int


def test_template_percent_cells(tmp):
    path = write_template(tmp / "pct.xlsx", SPEC, unit=TQB, values={"BM4-2.5": Pct(0.125), "BM7-1.1": 0.5,
                                                                      "BM1-2.1": 4, "BM1-2.2": 1},
                          real=False)
    sub = read_workbook(path)
    assert sub.values["BM4-2.5"] == 12.5 and sub.values["BM7-1.1"] == 0.5


def test_percent_cells_over_100_percent(tmp):
    """150% in a percent-formatted cell is stored 1.5: it reads 150, not 1.5."""
    path = write_handmade(tmp / "pct-over.xlsx", SPEC, {"BM4-2.5": Pct(1.5), "BM1-2.1": 10, "BM1-2.2": 12,
                                                         "BM1-2": Pct(1.2), "BM4-3.4": 1.5}, title_rows=TITLE)
    sub = read_workbook(path)
    assert (sub.values["BM4-2.5"], sub.values["BM1-2"], sub.values["BM4-3.4"]) == (150, 120, 1.5)


# --- .xls and .ods -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def converted(tmp, template, stacked, typed) -> dict:
    """The template and two hand-made files saved by LibreOffice as .xls, .ods and .xlsx (one run each)."""
    out = {}
    sources = [template, stacked, typed]
    for fmt in ("xls", "ods", lo.XLSX):
        ext = fmt.split(":")[0]
        for src, dst in zip(sources, lo.convert(sources, fmt, tmp / f"lo-{ext}")):
            out[(src.stem, ext)] = dst
    return out


@pytest.mark.libreoffice
@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_legacy_xls_and_ods_are_read_the_same_way(converted, template, stacked, typed, fmt):
    sub = read_workbook(converted[(template.stem, fmt)], roster=ROSTER)
    assert sub.file_format == fmt and sub.template is not None
    assert sub.unit == TQB and sub.period == Period(2023, "Q2")
    inputs = {k: v for k, v in filled(sub).items() if k not in RATIOS}
    assert inputs == {k: v for k, v in SEED_READ.items() if k not in RATIOS}
    if fmt == "ods":
        assert sub.formulas == RATIOS and isinstance(sub.saved_at, datetime)

    sub = read_workbook(converted[(stacked.stem, fmt)], roster=ROSTER)
    assert filled(sub) == SEED_READ and sub.unit == TQB and sub.notes

    sub = read_workbook(converted[(typed.stem, fmt)])
    expected = dict(TYPED_READ)
    if fmt == "xls":  # no number formats in .xls: a rate stored as 0.48 stays 0.48, noted
        expected.update({"BM4-3.4": 0.48, "BM7-1.1": 1})
    assert {k: sub.values[k] for k in TYPED_READ} == expected
    notes = {i.indicator for i in sub.issues if i.rule == "read-conversion"}
    if fmt == "xls":  # the ratio is told by its operands, the rate is only noted
        assert {"BM1-2", "BM4-3.4"} <= notes
    else:
        assert not {"BM1-2", "BM4-3.4"} & notes


@pytest.mark.libreoffice
def test_template_saved_by_libreoffice(converted, template):
    """Opened and saved as a user would: values, formulas and the fast column reading all hold."""
    path = converted[(template.stem, "xlsx")]
    sub = read_workbook(path, roster=ROSTER)
    inputs = {k: v for k, v in filled(sub).items() if k not in RATIOS}
    assert inputs == {k: v for k, v in SEED_READ.items() if k not in RATIOS}
    assert sub.formulas == RATIOS and sub.values["BM1-2"] == 48  # results recalculated by LibreOffice
    assert "template-changed" not in rules(sub)
    assert_fast_columns_match_calamine(path)


def assert_fast_columns_match_calamine(path, columns=("A", "D", "E")):
    """The fast column reading of our form sheets gives what python-calamine gives."""
    book = Book(Path(path), "xlsx", 20000)
    wb = CalamineWorkbook.from_path(str(path))
    index = [col_index(c) for c in columns]

    def project(rows):
        out = [[row[i] if i < len(row) else "" for i in index] for row in rows]
        while out and all(v == "" for v in out[-1]):
            out.pop()
        return out

    checked = 0
    for sheet in wb.sheet_names:
        if sheet.startswith("Biểu mẫu"):
            full = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
            assert project(book.column_rows(sheet, columns)) == project(full), sheet
            checked += 1
    assert checked == len(SPEC.forms)


def test_fast_columns_match_calamine(template, tmp):
    assert_fast_columns_match_calamine(template)
    wb = openpyxl.load_workbook(template)  # openpyxl writes inline-free shared strings, no cached results
    wb["Biểu mẫu 4"]["E12"] = "Ghi chú & <ghi> \"chú\""
    wb.save(tmp / "openpyxl-saved.xlsx")
    assert_fast_columns_match_calamine(tmp / "openpyxl-saved.xlsx")


def test_sheet_without_cell_references_is_read_as_calamine_reads_it(stacked, tmp):
    """Cells written without `r="..."` are placed by their order; such a sheet is streamed (its extent is
    unknown before), with the same rows as python-calamine gives."""
    path = tmp / "no-refs.xlsx"
    with zipfile.ZipFile(stacked) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'<c r="[A-Z]+[0-9]+"', b"<c", data)
            zout.writestr(info, data)
    sheet = "Phụ lục I"
    assert xlsx_fast.sheet_extent(Book(path, "xlsx", 20000).sheet_xml(sheet)) is None
    expected = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    assert Book(path, "xlsx", 20000).rows(sheet) == expected


@pytest.mark.parametrize("numfmt", [
    b'<numFmt numFmtId="164" formatCode="0.0%"/>',
    b'<numFmt formatCode="0.0%" numFmtId="164"/>',
    b"<x:numFmt formatCode='0.0%' numFmtId='164'/>",
])
def test_percent_and_date_styles_whatever_the_attribute_order(numfmt):
    styles = (b'<styleSheet><numFmts count="2">' + numfmt + numfmt.replace(b"164", b"165").replace(b"0.0%", b"dd/mm/yyyy")
              + b'</numFmts><cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="9"/>'
              b'<xf numFmtId="165"/></cellXfs></styleSheet>')
    assert xlsx_styles.percent_styles(styles) == {1, 2}
    assert xlsx_styles.date_styles(styles) == {3}


def test_blank_template_filled_in_by_the_unit(tmp):
    """A template made without unit and period: the unit types them on the cover sheet."""
    path = write_template(tmp / "blank.xlsx", SPEC, level="xa", unit=None, period=None,
                          values={"BM1-1": 4})
    wb = openpyxl.load_workbook(path)
    cover = wb.worksheets[0]
    for row in cover.iter_rows(max_row=15):
        label = str(row[0].value or "")
        if label.startswith("Tên đơn vị"):
            row[1].value = "UBND xã Hoài Châu Bắc"
        elif label.startswith("Kỳ báo cáo"):
            row[1].value = "Quý III/2023"
    wb.save(tmp / "blank-filled.xlsx")
    sub = read_workbook(tmp / "blank-filled.xlsx", roster=ROSTER)
    assert sub.template is not None and sub.values["BM1-1"] == 4
    assert sub.unit.code == "HN13" and sub.period == Period(2023, "Q3") and sub.level == "xa"
    sub = read_workbook(path, roster=ROSTER)
    assert sub.unit is None and sub.period is None
    assert {"unit-unknown", "period-unknown"} <= set(rules(sub, "warning"))


# --- limits and broken files -------------------------------------------------------------------------

def test_a_sheet_of_400000_rows_is_cut_off(tmp):
    """The forms on top of a sheet that runs to 400,000 rows: only the first rows are read (how fast:
    benchmarks/bench_limits.py)."""
    huge = huge_sheet(tmp)
    assert zipfile.ZipFile(huge).getinfo("xl/worksheets/sheet1.xml").file_size > 10_000_000
    sub = read_workbook(huge, roster=ROSTER)
    assert filled(sub) == SEED_READ and sub.unit == TQB
    assert "sheet-truncated" in rules(sub, "warning")


def huge_sheet(folder: Path, rows: int = 400_000) -> Path:
    """The seed's forms hand-made on one sheet, followed by `rows` filler rows."""
    small = write_handmade(folder / "huge-src.xlsx", SPEC, SEED, title_rows=TITLE)
    _append_rows(small, folder / "huge.xlsx", "xl/worksheets/sheet1.xml", rows)
    return folder / "huge.xlsx"


def _append_rows(src: Path, dst: Path, part: str, count: int, extra: str = "") -> None:
    """Copy an xlsx, appending `count` filler rows (inline strings and numbers) and then `extra` (sheet
    XML) to one sheet."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == part:
                text = data.decode()
                start = 1000
                filler = "".join(
                    f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>Dòng {r}</t></is></c><c r="D{r}"><v>{r}</v></c></row>'
                    for r in range(start, start + count))
                text = text.replace("</sheetData>", filler + extra + "</sheetData>", 1)
                data = text.encode()
            zout.writestr(info, data)


def test_unreadable_files_raise_a_vietnamese_error(tmp, template, stacked):
    cases = {}
    path = tmp / "notes.xlsx"
    path.write_text("đây không phải bảng tính", encoding="utf-8")
    cases[path] = "không phải sổ tính"
    path = tmp / "truncated.xlsx"
    path.write_bytes(template.read_bytes()[:4000])
    cases[path] = "bị hỏng"
    for src, part in ((template, "Biểu mẫu 3"), (stacked, "Phụ lục I")):
        path = tmp / f"bad-xml-{src.name}"
        target = _sheet_part(src, part)
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
            for info in zin.infolist():
                data = zin.read(info.filename)
                zout.writestr(info, data[: len(data) // 2] if info.filename == target else data)
        cases[path] = f"Không đọc được tệp {path.name}: nội dung bảng tính bị hỏng."
    for path, expected in cases.items():
        with pytest.raises(UnreadableFile) as err:
            read_workbook(path)
        assert path.name in str(err.value) and expected in str(err.value)


def _sheet_part(path, sheet: str) -> str:
    return Book(Path(path), "xlsx", 100).sheet_parts()[sheet]


def test_parser_exceptions_are_wrapped(template, stacked, monkeypatch):
    import cchc_excel.read.workbook_io as io_mod
    from cchc_excel.ooxml.strings import SharedStrings

    def boom(*_a, **_k):
        raise RuntimeError("parser exploded")

    with monkeypatch.context() as m:
        m.setattr(io_mod.CalamineWorkbook, "from_object", boom)  # hand-made files go through calamine
        with pytest.raises(UnreadableFile, match="^Không đọc được tệp phu-luc.xlsx: .*parser exploded"):
            read_workbook(stacked)
    with monkeypatch.context() as m:
        m.setattr(SharedStrings, "__init__", boom)  # our templates through their XML
        with pytest.raises(UnreadableFile, match="^Không đọc được tệp tam-quan-bac.xlsx"):
            read_workbook(template)
