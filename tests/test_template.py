"""The template's structure: every row and kind, validations, protection, formulas, greying, metadata."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from cchc_excel.template import metadata
from cchc_excel.errors import CchcError
from cchc_excel.core.roster import Unit
from cchc_excel.spec.loader import load_spec, parse_spec
from cchc_excel.template.build import template_bytes, write_template
from cchc_excel.template.checks import excel_string
from cchc_excel.template.forms import COL_LABEL, FIRST_ROW, WIDTHS, unit_display
from cchc_excel.template.styles import FORMULA_FILL, GREY_FILL, INPUT_FILL, text_lines
from cchc_excel.ooxml.patch import password_hash

SPEC = load_spec()
UNIT = Unit("22240", "UBND phường Tam Quan Bắc", "xa")
WHEN = datetime(2023, 6, 1, 8, 30, tzinfo=timezone.utc)
FORMS = [f"Biểu mẫu {f.number}" for f in SPEC.forms]


def rgb(color: str) -> str:
    return "FF" + color.lstrip("#").upper()


def row_of(ind) -> int:
    """1-based row of an indicator on its form sheet."""
    form = SPEC.form(ind.form)
    return FIRST_ROW + 1 + form.indicators.index(ind)


def book(data: bytes, **kw):
    return load_workbook(io.BytesIO(data), **kw)


def cached(data: bytes, sheet: str) -> list:
    """Cell values as a viewer that does not recalculate sees them (python-calamine reads cached results).

    Indexed from A1: calamine's rows start at the first used cell (`sheet.start`).
    """
    ws = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(sheet)
    top, left = ws.start
    return [[] for _ in range(top)] + [[""] * left + row for row in ws.to_python()]


def validations(ws) -> dict:
    return {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}


@pytest.fixture(scope="module")
def xa_bytes():
    return template_bytes(level="xa", unit=UNIT, period="2023-Q2", password="mật-khẩu", generated_at=WHEN)


@pytest.fixture(scope="module")
def xa(xa_bytes):
    return book(xa_bytes)


def test_sheets_in_order_with_metadata_very_hidden(xa):
    assert xa.sheetnames == ["Thông tin chung", "Hướng dẫn", *FORMS, "_cchc"]
    assert xa["_cchc"].sheet_state == "veryHidden"
    assert all(xa[name].sheet_state == "visible" for name in xa.sheetnames[:-1])
    assert xa.active.title == "Thông tin chung"


def test_every_sheet_protected_and_structure_locked(xa, xa_bytes):
    for ws in xa.worksheets:
        assert ws.protection.sheet, ws.title
        assert ws.protection.password == password_hash("mật-khẩu"), ws.title
    workbook_xml = zipfile.ZipFile(io.BytesIO(xa_bytes)).read("xl/workbook.xml").decode()
    assert re.search(r'<workbookProtection workbookPassword="[0-9A-F]+" lockStructure="1"/><bookViews', workbook_xml)
    assert xa.security.lockStructure


def test_every_row_as_printed(xa):
    for form in SPEC.forms:
        ws = xa[form.name]
        assert ws["A4"].value == form.name and ws["A5"].value == form.title
        assert ws["A6"].value == "Đơn vị báo cáo: UBND phường Tam Quan Bắc — Kỳ báo cáo: Quý II/2023"
        assert ws["A7"].value == "STT" and ws["C7"].value == "Kết quả thống kê" and ws["E7"].value == "Ghi chú"
        assert (ws["C8"].value, ws["D8"].value) == ("Đơn vị tính", "Số liệu")
        assert ws["B7"].value.startswith("Chỉ tiêu thống kê")
        for ind in form.indicators:
            r = row_of(ind)
            assert ws.cell(r, 1).value == f"{ind.code}.", ind.id
            assert ws.cell(r, 2).value == ind.full_label, ind.id
            assert (ws.cell(r, 3).value or "") == unit_display(ind), ind.id
            assert " ".join((ws.cell(r, 3).value or "").split()) == ind.unit, ind.id
            assert ws.cell(r, 2).font.b == (ind.kind == "header"), ind.id
            assert bool(ws.cell(r, 2).font.i) == ind.italic, ind.id
            assert ws.row_dimensions[r].height >= 15.75 * text_lines(ind.full_label, WIDTHS[COL_LABEL]), ind.id
        assert ws.cell(FIRST_ROW + 1 + len(form.indicators), 1).value in (None, "")
    assert xa["Biểu mẫu 2"].cell(FIRST_ROW + 2 + len(SPEC.form(2).indicators), 1).value == SPEC.form(2).footnote


def test_note_is_italic_in_a_rich_label():
    data = template_bytes(level="xa", generated_at=WHEN)
    ws = book(data, rich_text=True)["Biểu mẫu 1"]
    label = ws.cell(FIRST_ROW + 1, 2).value  # BM1-1 and its note
    runs = [(str(run.text) if hasattr(run, "text") else str(run), getattr(getattr(run, "font", None), "i", None))
            for run in label]
    assert runs[0][0] == "Số văn bản chỉ đạo CCHC đã ban hành " and not runs[0][1]
    assert runs[1] == ("(Kết luận, chỉ thị, công văn chỉ đạo, quán triệt)", True)


EXPECTED_VALIDATION = {
    "count": ("whole", "greaterThanOrEqual", "0"),
    "amount": ("decimal", "greaterThanOrEqual", "0"),
    "rate": ("decimal", "between", "0"),
}


def test_inputs_unlocked_coloured_and_validated(xa):
    seen = set()
    for form in SPEC.forms:
        ws = xa[form.name]
        dvs = validations(ws)
        for ind in form.indicators:
            r = row_of(ind)
            value, note = ws.cell(r, 4), ws.cell(r, 5)
            if not (ind.is_input and "xa" in ind.levels):
                assert value.protection.locked, ind.id
                assert f"D{r}" not in dvs, ind.id
                continue
            seen.add(ind.kind)
            assert not value.protection.locked and not note.protection.locked, ind.id
            assert value.fill.fgColor.rgb == rgb(INPUT_FILL), ind.id
            dv = dvs[f"D{r}"]
            assert dv.errorStyle in (None, "stop") and dv.showErrorMessage and dv.showInputMessage
            assert len(dv.prompt) <= 255 and len(dv.error) <= 224 and len(dv.promptTitle) <= 32
            if ind.kind in ("flag", "choice"):  # 0 is an answer there (BM1-5.2: 0 = Trực tuyến): never "none"
                assert dv.prompt.endswith("Để trống nếu chưa có số liệu.") and "ghi 0" not in dv.prompt
            else:
                assert dv.prompt.endswith("Để trống nếu chưa có số liệu; ghi 0 nếu bằng không.")
            if ind.kind in ("flag", "choice"):
                assert dv.type == "list"
                assert dv.formula1 == '"' + ",".join(str(c) for c in ind.choice_codes) + '"'
                assert all(f"{c} = {t}" in dv.prompt for c, t in ind.choices)
            else:
                # "between" is the default operator of the file format: xlsxwriter leaves it out
                assert (dv.type, dv.operator or "between", dv.formula1) == EXPECTED_VALIDATION[ind.kind], ind.id
                if ind.kind == "rate":
                    assert dv.formula2 == "100"
    assert seen == {"count", "amount", "rate", "flag", "choice"}


def test_header_rows_bold_without_input(xa):
    for ind in SPEC.indicators.values():
        if ind.kind != "header":
            continue
        ws = xa[SPEC.form(ind.form).name]
        r = row_of(ind)
        assert ws.cell(r, 1).font.b and ws.cell(r, 2).font.b
        assert ws.cell(r, 4).value is None and ws.cell(r, 4).protection.locked
        assert ws.cell(r, 5).protection.locked


def test_ratios_are_locked_formulas_of_their_operands(xa):
    ratios = [i for i in SPEC.indicators.values() if i.kind == "ratio"]
    assert len(ratios) == 12
    for ind in ratios:
        ws = xa[SPEC.form(ind.form).name]
        cell = ws.cell(row_of(ind), 4)
        num, den = (f"D{row_of(SPEC[i])}" for i in (ind.numerator, ind.denominator))
        assert cell.value == (f'=IF(AND(ISNUMBER({num}),ISNUMBER({den})),IF({den}=0,"",'
                              f'ROUND({num}/{den}*100,2)),"")'), ind.id
        assert cell.protection.locked and cell.fill.fgColor.rgb == rgb(FORMULA_FILL)


def test_ratio_cached_results_follow_the_values():
    values = {"BM1-2.1": 25, "BM1-2.2": 12, "BM3-3.1.1": 369, "BM3-3.1.2": 369, "BM3-3.2.1": 0,
              "BM3-3.2.2": 0, "BM6-1.1": 3, "BM7-2.4.1": 399}
    data = template_bytes(level="xa", values=values, generated_at=WHEN)
    bm1, bm3, bm6, bm7 = (cached(data, f"Biểu mẫu {n}") for n in (1, 3, 6, 7))

    def value(rows, ind_id):
        return rows[row_of(SPEC[ind_id]) - 1][3]

    assert value(bm1, "BM1-2") == 48
    assert value(bm1, "BM1-2.1") == 25
    assert value(bm3, "BM3-3.1") == 100
    assert value(bm3, "BM3-3.2") == ""  # 0/0: blank
    assert value(bm6, "BM6-1") == ""  # numerator blank
    assert value(bm7, "BM7-2.4") == ""  # numerator blank
    assert value(bm1, "BM1-3.3") == ""  # nothing typed


@pytest.mark.parametrize("level", ["so", "huyen", "xa"])
def test_rows_of_other_levels_grey_and_locked(level):
    wb = book(template_bytes(level=level, generated_at=WHEN))
    greyed = set()
    for form in SPEC.forms:
        ws = wb[form.name]
        for ind in form.indicators:
            cell = ws.cell(row_of(ind), 4)
            if cell.fill.fgColor.rgb == rgb(GREY_FILL):
                assert cell.protection.locked and ws.cell(row_of(ind), 2).fill.fgColor.rgb == rgb(GREY_FILL)
                greyed.add(ind.id)
    expected = {i.id for i in SPEC.indicators.values() if i.kind != "header" and level not in i.levels}
    assert greyed == expected
    assert ("BM2-1.3" in greyed) == (level != "xa") and ("BM1-3.2" in greyed) == (level != "huyen")


def test_merged_report_enables_the_levels_it_covers():
    data = template_bytes(level="huyen", reported_levels=frozenset({"huyen", "xa"}), merged_units=17,
                          values={"BM2-1.3": 4}, generated_at=WHEN)
    wb = book(data)
    for ind_id in ("BM2-1.2", "BM2-1.3", "BM3-1.4.3", "BM7-1.1.3"):
        cell = wb[f"Biểu mẫu {SPEC[ind_id].form}"].cell(row_of(SPEC[ind_id]), 4)
        assert not cell.protection.locked, ind_id
    assert wb["Biểu mẫu 2"].cell(row_of(SPEC["BM2-1.1"]), 4).protection.locked
    meta, _ = metadata.parse_sheet(cached(data, "_cchc"))
    assert (meta["merged"], meta["units_merged"], meta["reported_levels"]) == ("1", "17", "huyen,xa")
    assert "tổng hợp 17 đơn vị" in wb["Thông tin chung"]["B7"].value


def test_a_merged_report_of_no_unit_is_still_a_merged_report():
    meta, _ = metadata.parse_sheet(cached(template_bytes(level="huyen", merged_units=0, generated_at=WHEN), "_cchc"))
    assert (meta["merged"], meta["units_merged"]) == ("1", "0")
    own, _ = metadata.parse_sheet(cached(template_bytes(level="huyen", generated_at=WHEN), "_cchc"))
    assert (own["merged"], own["units_merged"]) == ("0", "")


def test_metadata_sheet_properties_and_names(xa, xa_bytes):
    meta, layout = metadata.parse_sheet(cached(xa_bytes, "_cchc"))
    assert meta == {
        "generator": meta["generator"], "spec_id": "cv371-2022", "spec_version": "2022.1",
        "fingerprint": SPEC.fingerprint, "level": "xa", "reported_levels": "xa", "unit_code": "22240",
        "unit_name": "UBND phường Tam Quan Bắc", "period": "2023-Q2", "generated_at": "2023-06-01T08:30:00Z",
        "merged": "0", "units_merged": "",
    }
    assert meta["generator"].startswith("cchc_excel ")
    assert set(layout) == set(SPEC.indicators)
    props = {p.name: p.value for p in xa.custom_doc_props.props}
    assert {k[len(metadata.PROPERTY_PREFIX):]: v or "" for k, v in props.items()} == meta
    for ind in SPEC.indicators.values():
        sheet, cell = layout[ind.id]
        assert (sheet, cell) == (SPEC.form(ind.form).name, f"D{row_of(ind)}")
        assert xa[sheet].cell(row_of(ind), 1).value == f"{ind.code}."
        name = metadata.defined_name(ind.id)
        if ind.kind == "header":
            assert name not in xa.defined_names
        else:
            assert xa.defined_names[name].attr_text == f"'{sheet}'!$D${row_of(ind)}"
    assert xa.defined_names["cchc_unit_name"].attr_text == "'Thông tin chung'!$B$5"
    assert xa.defined_names["cchc_period"].attr_text == "'Thông tin chung'!$B$8"


def test_print_ready(xa):
    for form in SPEC.forms:
        ws = xa[form.name]
        assert ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "portrait"
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert (ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight) == (1, 0)  # 1 is the default
        assert ws.print_title_rows == "$7:$8"
        last = FIRST_ROW + len(form.indicators) + (2 if form.footnote else 0)
        assert ws.print_area == f"'{form.name}'!$A$1:$E${last}"
        assert ws.freeze_panes == "A9"
        assert "&P" in ws.oddFooter.right.text
        assert ws.column_dimensions["G"].hidden and ws.column_dimensions["I"].width > 40
        assert ws.cell(FIRST_ROW + 1, 2).font.name == "Times New Roman"
    assert xa["Thông tin chung"].page_setup.paperSize == 9


def test_cover_prefilled_and_locked_or_left_to_fill():
    given = book(template_bytes(level="xa", unit=UNIT, period="2023-Q1", generated_at=WHEN))["Thông tin chung"]
    assert [given[f"B{r}"].value for r in range(5, 12)] == [
        "UBND phường Tam Quan Bắc", "22240", "UBND cấp xã", "Quý I/2023",
        "từ ngày 15/12/2022 đến ngày 14/03/2023", "20/03/2023", "cv371-2022 (phiên bản 2022.1)"]
    assert given["B5"].protection.locked and given["B8"].protection.locked
    assert [given[f"A{r}"].value for r in range(14, 18)] == ["Họ và tên", "Số điện thoại", "Thư điện tử",
                                                             "Ngày lập biểu"]
    assert not any(given[f"B{r}"].protection.locked for r in range(14, 18))
    assert {"B14", "B15", "B16", "B17"} <= set(validations(given))

    wb = book(template_bytes(level="so", generated_at=WHEN))
    blank = wb["Thông tin chung"]
    assert blank["B5"].value is None and not blank["B5"].protection.locked
    assert not blank["B8"].protection.locked and "B8" in validations(blank)
    assert blank["B7"].value == "Sở, ban, ngành"
    assert wb["Biểu mẫu 1"]["A6"].value.startswith("=\"Đơn vị báo cáo: \"&IF('Thông tin chung'!$B$5=\"\"")


def test_live_checks_show_their_messages_and_the_cover_counts_them():
    values = {"BM1-2.1": 10, "BM1-2.2": 12, "BM1-5": 0, "BM1-5.1": 30, "BM3-1.4": 150, "BM3-1.4.3": 157,
              "BM4-2.1": 20, "BM4-2.2": 21, "BM7-1.2.3": 100, "BM4-2.5": 120}
    data = template_bytes(level="xa", values=values, generated_at=WHEN)

    def checks(form_no, ind_id):
        """(errors, warnings, messages) beside a row; a count with nothing to count may be blank."""
        row = cached(data, f"Biểu mẫu {form_no}")[row_of(SPEC[ind_id]) - 1]
        return row[6] or 0, row[7] or 0, row[8]

    assert checks(1, "BM1-2.2") == (1, 0, "Mục 2.2 (12) lớn hơn mục 2.1 (10).")
    assert checks(1, "BM1-5.1") == (1, 0, "Mục 5 ghi 0 (không khảo sát) nhưng mục 5.1 lại có số liệu (30).")
    assert checks(3, "BM3-1.4") == (1, 0, "Mục 1.4 (150) khác tổng các chỉ tiêu chi tiết mục 1.4.3 (157).")
    assert checks(4, "BM4-2.2") == (0, 1, "Mục 2.2 (21) lớn hơn mục 2.1 (20); hãy kiểm tra lại.")
    assert checks(4, "BM4-2.5") == (1, 0, "Mục 2.5 (120) phải nằm trong khoảng 0–100%.")
    assert checks(7, "BM7-1.2")[1:] == (1, "Mục 1.2 để trống trong khi các chỉ tiêu chi tiết của nó đã có số liệu.")
    assert checks(1, "BM1-2.1") == (0, 0, "")
    cover = cached(data, "Thông tin chung")
    assert cover[19][0] == "Còn 4 lỗi và 2 cảnh báo: xem cột “Kiểm tra tự động” bên phải mỗi biểu mẫu."
    assert cover[21][:5] == ["Biểu mẫu 1", "Công tác chỉ đạo điều hành CCHC", "4 / 14", 2, 0]
    assert cover[28][2:5] == ["10 / 77", 4, 2]
    wb = book(data)
    ws = wb["Biểu mẫu 1"]
    formula = ws.cell(row_of(SPEC["BM1-2.2"]), 9).value
    assert formula.startswith('=TRIM(IF(ISTEXT(D12),"Mục 2.2: """&D12&""" không phải là số.","")&" "&')
    assert ('IF(AND(COUNT(D12)>0,COUNT(D11)>0,SUM(D12)-SUM(D11)>0.000001),"Mục 2.2 ("&SUM(D12)&") lớn hơn mục 2.1 ("'
            '&SUM(D11)&").","")') in formula
    rules = {tuple(str(r.sqref).split()): [c.formula for c in r.rules] for r in ws.conditional_formatting}
    assert rules[("D9:D27",)] == [["$G9>0"], ["$H9>0"]]
    bm7_r9 = wb["Biểu mẫu 7"].cell(row_of(SPEC["BM7-2.1.1"]), 9).value  # a rule across forms
    assert f"SUM('Biểu mẫu 3'!D{row_of(SPEC['BM3-1.4'])})" in bm7_r9


def test_blank_template_has_no_problem_to_report(xa_bytes):
    cover = cached(xa_bytes, "Thông tin chung")
    assert cover[19][0] == "Chưa phát hiện lỗi nào trong số liệu đã nhập."
    for form in SPEC.forms:
        rows = cached(xa_bytes, form.name)
        assert all(r[8] == "" and r[6] in ("", 0) for r in rows[FIRST_ROW:])


def test_notes_are_text_cells(xa):
    """Ghi chú is free text: "15/6" typed there must not turn into a date, nor "02" into 2."""
    ws = xa["Biểu mẫu 4"]
    r = row_of(SPEC["BM4-2.3"])
    assert ws.cell(r, 5).number_format == "@" and ws.cell(r, 5).protection.locked is False


def test_values_notes_and_comments():
    data = template_bytes(level="xa", unit=UNIT, period="2023-Q2", generated_at=WHEN,
                          values={"BM4-2.3": 2, "BM6-1.1": 1250.5, "BM1-1": "khoảng 6"},
                          notes={"BM4-2.3": "Gồm 02 hợp đồng"},
                          comments={"BM4-2.3": "Số hợp đồng viết là \"02\": đã đọc là 2, hãy kiểm tra."})
    ws = book(data)["Biểu mẫu 4"]
    r = row_of(SPEC["BM4-2.3"])
    assert ws.cell(r, 4).value == 2 and ws.cell(r, 5).value == "Gồm 02 hợp đồng"
    assert ws.cell(r, 4).comment.text.startswith("Số hợp đồng viết là \"02\"")
    assert ws.cell(r, 4).fill.fgColor.rgb == "FFFFC7CE"
    assert book(data)["Biểu mẫu 6"].cell(row_of(SPEC["BM6-1.1"]), 4).value == 1250.5
    bm1 = cached(data, "Biểu mẫu 1")[row_of(SPEC["BM1-1"]) - 1]
    assert bm1[3] == "khoảng 6" and bm1[8] == "Mục 1: \"khoảng 6\" không phải là số."
    with pytest.raises(CchcError, match="BM9-1"):
        template_bytes(level="xa", values={"BM9-1": 1})


def test_user_strings_are_text():
    unit = Unit("=1+1", "=HYPERLINK(\"http://x\",\"y\")", "xa")
    data = template_bytes(level="xa", unit=unit, period="2023", notes={"BM1-1": "=SUM(A1)"}, generated_at=WHEN)
    wb = book(data)
    assert wb["Thông tin chung"]["B5"].value == unit.name and wb["Thông tin chung"]["B5"].data_type == "s"
    assert wb["Thông tin chung"]["B6"].value == "=1+1" and wb["Thông tin chung"]["B6"].data_type == "s"
    assert wb["Biểu mẫu 1"].cell(row_of(SPEC["BM1-1"]), 5).data_type == "s"


def test_hooks_add_sheets_before_the_cover_and_after_the_forms():
    def first(workbook, styles):
        ws = workbook.add_worksheet("Lỗi cần sửa")
        ws.write_string(0, 0, "Còn 2 lỗi", styles.bold)

    def last(workbook, styles):
        workbook.add_worksheet("Theo đơn vị")

    wb = book(template_bytes(level="xa", before_sheets=first, after_sheets=[last], generated_at=WHEN))
    assert wb.sheetnames == ["Lỗi cần sửa", "Thông tin chung", "Hướng dẫn", *FORMS, "Theo đơn vị", "_cchc"]
    assert wb.active.title == "Lỗi cần sửa" and wb["Lỗi cần sửa"]["A1"].font.b


def test_unknown_level_is_an_error():
    with pytest.raises(CchcError, match="Cấp 'phuong'"):
        template_bytes(level="phuong")


def test_write_template_is_atomic(tmp_path):
    path = write_template(tmp_path / "t.xlsx", level="xa", generated_at=WHEN)
    assert path == tmp_path / "t.xlsx" and zipfile.is_zipfile(path)
    assert [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]


MINI = {
    "id": "mini-2099", "version": "1", "title": "Hai biểu thử", "column_note": "",
    "levels": {"tinh": {"name": "Tỉnh", "reports": ["so", "huyen", "xa"]}, "xa": {"name": "Cấp xã", "reports": ["xa"]},
               "huyen": {"name": "Cấp huyện", "reports": ["huyen"]}, "so": {"name": "Sở", "reports": ["so"]}},
    "checks": {c: {"severity": "error", "message": f"{{label}}: lỗi {c} ({{value}})."} for c in (
        "not-number", "negative", "not-whole", "percent-range", "not-choice", "wrong-level", "ratio",
        "ratio-no-denominator", "ratio-no-numerator", "formula-overwritten", "parent-blank")},
    "rules": [
        {"id": "A-R1", "kind": "le", "left": ["BM1-2.2"], "right": ["BM1-2.1"], "severity": "error",
         "message": "{left_label} ({left}) vượt {right_label} ({right})."},
        {"id": "B-R1", "kind": "blank_if", "when": "BM1-3", "equals": 0, "rows": ["BM2-1"], "severity": "warning",
         "message": "{when_label} là 0 mà {label} có số ({value})."},
    ],
    "forms": [
        {"number": 1, "title": "Biểu thử A", "rows": [
            {"code": "1", "label": "Số hồ sơ", "unit": "Hồ sơ", "kind": "count"},
            {"code": "2", "label": "Tỷ lệ đúng hạn", "unit": "%", "kind": "ratio", "of": ["2.2", "2.1"]},
            {"code": "2.1", "label": "Số đã giải quyết", "unit": "Hồ sơ", "kind": "count", "italic": True},
            {"code": "2.2", "label": "Số đúng hạn", "unit": "Hồ sơ", "kind": "count", "italic": True},
            {"code": "3", "label": "Có khảo sát", "unit": "Có = 1; Không = 0", "kind": "flag",
             "choices": {1: "Có", 0: "Không"}},
            {"code": "4", "label": "Tài chính", "kind": "header"},
            {"code": "4.1", "label": "Kinh phí", "unit": "Triệu đồng", "kind": "amount", "levels": ["xa"]},
            {"code": "4.2", "label": "Tỷ lệ tự chủ", "unit": "%", "kind": "rate", "levels": ["huyen"]},
        ]},
        {"number": 2, "title": "Biểu thử B", "footnote": "¹ Chú thích.", "rows": [
            {"code": "1", "label": "Hình thức", "unit": "A = 0 B = 1 C = 2", "kind": "choice",
             "choices": {0: "A", 1: "B", 2: "C"}},
            {"code": "2", "label": "Số người", "unit": "Người", "kind": "count"},
        ]},
    ],
}


def test_a_spec_of_our_own_makes_its_own_template():
    spec = parse_spec(MINI, source="mini.yaml")
    data = template_bytes(spec, level="xa", values={"BM1-2.1": 4, "BM1-2.2": 5, "BM1-3": 0, "BM2-1": 2},
                          generated_at=WHEN)
    wb = book(data)
    assert wb.sheetnames == ["Thông tin chung", "Hướng dẫn", "Biểu mẫu 1", "Biểu mẫu 2", "_cchc"]
    ws = wb["Biểu mẫu 1"]
    assert [ws.cell(FIRST_ROW + 1 + i, 1).value for i in range(8)] == ["1.", "2.", "2.1.", "2.2.", "3.", "4.",
                                                                      "4.1.", "4.2."]
    assert ws["A4"].value == "Biểu mẫu 1" and ws["A5"].value == "Biểu thử A" and ws["B7"].value == "Chỉ tiêu thống kê"
    assert ws["D10"].value.startswith("=IF(AND(ISNUMBER(D12),ISNUMBER(D11))")
    assert ws["D16"].fill.fgColor.rgb == rgb(GREY_FILL)  # 4.2 is the district's
    assert validations(ws)["D15"].type == "decimal"
    rows1, rows2 = cached(data, "Biểu mẫu 1"), cached(data, "Biểu mẫu 2")
    assert rows1[9][3] == 125 and rows1[11][8] == "Mục 2.2 (5) vượt mục 2.1 (4)."
    assert rows2[8][7:9] == [1, "Mục 3 là 0 mà mục 1 có số (2)."]
    assert rows2[11][0] == "¹ Chú thích."
    assert validations(wb["Biểu mẫu 2"])["D9"].formula1 == '"0,1,2"'
    meta, layout = metadata.parse_sheet(cached(data, "_cchc"))
    assert (meta["spec_id"], meta["fingerprint"]) == ("mini-2099", spec.fingerprint)
    assert layout["BM2-2"] == ("Biểu mẫu 2", "D10")
    parts = zipfile.ZipFile(io.BytesIO(data))
    text = "".join(parts.read(n).decode("utf-8", "replace") for n in parts.namelist())
    assert "371" not in text and "Phụ lục" not in text and "cv371" not in text


@pytest.mark.parametrize("text, expected", [
    ("", '""'),
    ('Ghi "02"', '"Ghi ""02"""'),
    ("a" * 255, '"' + "a" * 255 + '"'),
    ("a" * 256, '"' + "a" * 255 + '"&"a"'),
    ("a" * 254 + '"b', '"' + "a" * 254 + '"&"""b"'),
    ("a" * 254 + '"' + "b" * 254, '"' + "a" * 254 + '"&"""' + "b" * 253 + '"&"b"'),  # no piece of 256
])
def test_formula_string_constants_stay_within_excel_limits(text, expected):
    assert excel_string(text) == expected


@pytest.mark.parametrize("text, width, lines", [
    ("Số nhiệm vụ đã hoàn thành", 50, 1),
    ("Tỷ lệ sử dụng văn bản điện tử của cơ quan, địa phương (Chỉ thống kê tỷ lệ văn bản được gửi hoàn toàn "
     "dưới dạng điện tử; sử dụng chữ ký số, chứng thư số và gửi trên môi trường điện tử).", 50, 4),
    ("Trực tuyến = 0\nPhát phiếu = 1\nKết hợp = 2", 14, 3),
    ("", 10, 1),
])
def test_row_heights_from_wrapped_text(text, width, lines):
    assert text_lines(text, width) == lines


@pytest.mark.parametrize("level", ["so", "huyen", "xa"])
def test_formulas_within_excel_limits(level):
    """Excel 2010: a formula of at most 8,192 characters, string constants of at most 255, no dynamic arrays."""
    wb = book(template_bytes(level=level, generated_at=WHEN))
    formulas = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row
                if isinstance(c.value, str) and c.value.startswith("=")]
    assert len(formulas) > 100
    for formula in formulas:
        assert len(formula) <= 8192
        assert all(len(s) <= 255 for s in re.findall(r'"((?:[^"]|"")*)"', formula)), formula
        assert not re.search(r"\b(FILTER|LET|XLOOKUP|TEXTJOIN|CONCAT|IFS|SWITCH|UNIQUE|SEQUENCE)\(", formula)


def test_generation_time_is_stored_in_utc_and_read_back_as_the_same_instant(tmp_path):
    from datetime import timedelta

    from cchc_excel.read.reader import read_workbook

    saved = datetime(2023, 6, 16, 8, 30, tzinfo=timezone(timedelta(hours=7)))  # on Vietnamese time
    path = write_template(tmp_path / "t.xlsx", level="xa", unit=Unit("22240", "Phường Tam Quan Bắc", "xa"),
                          period="2023-Q2", generated_at=saved)
    core = zipfile.ZipFile(path).read("docProps/core.xml").decode()
    assert "<dcterms:modified xsi:type=\"dcterms:W3CDTF\">2023-06-16T01:30:00Z<" in core
    assert read_workbook(path).saved_at == saved


def live_findings(spec, level: str, values: dict) -> set:
    """(rule, row, severity) of every live check that fires on `values` in a template of `level`."""
    from cchc_excel.template.checks import build_checks
    from cchc_excel.template.forms import ratio_value

    reported = spec.reported_levels(level)
    shown = dict(values)
    for ind in spec.value_indicators:
        if ind.kind == "ratio" and ind.levels & reported:
            shown[ind.id] = ratio_value(values, ind)
    checks = build_checks(spec, reported, spec.level_name(level))
    return {(c.id, row, c.severity) for row, cs in checks.items() for c in cs if c.test.ev(shown)}


def reader_findings(spec, level: str, values: dict) -> set:
    """(rule, row, severity) of what `cchc check` finds in the same values typed into the template."""
    from pathlib import Path

    from cchc_excel.check.rules import check_submission
    from cchc_excel.read.submission import Submission

    sub = Submission(path=Path("x.xlsx"), spec=spec, level=level, reported_levels=spec.reported_levels(level),
                     values={i.id: None if isinstance(values.get(i.id), str) else values.get(i.id)
                             for i in spec.value_indicators},
                     texts={k: v for k, v in values.items() if isinstance(v, str)},
                     formulas={i.id for i in spec.value_indicators if i.kind == "ratio"})
    return {(i.rule, i.indicator, i.severity) for i in check_submission(sub)}


def test_live_checks_leave_blank_parts_unknown_as_the_reader_does():
    """Blank is not zero: `BM6-2.1 = 2.2 + 2.3 + 2.4 + 2.5` with 2.5 not typed yet is no error while the
    known parts stay within the total; a blank total over breakdowns of 0 is no warning."""
    values = {"BM6-2.1": 10, "BM6-2.2": 3, "BM6-2.3": 4, "BM1-5.1": 0, "BM1-5.2": 0}
    assert live_findings(SPEC, "xa", values) == set() == reader_findings(SPEC, "xa", values)
    too_many = {**values, "BM6-2.4": 5}  # the known parts already exceed the total
    assert ("BM6-R2", "BM6-2.1", "error") in live_findings(SPEC, "xa", too_many)
    complete = {**values, "BM6-2.4": 1, "BM6-2.5": 1}  # every part typed: the sum must match
    assert live_findings(SPEC, "xa", complete) == {("BM6-R2", "BM6-2.1", "error")} == reader_findings(
        SPEC, "xa", complete)
    data = template_bytes(level="xa", values=values, generated_at=WHEN)
    assert cached(data, "Thông tin chung")[19][0] == "Chưa phát hiện lỗi nào trong số liệu đã nhập."


@pytest.mark.parametrize("level", ["so", "huyen", "xa"])
def test_live_checks_find_what_the_reader_finds(level):
    """On random returns (rows of the level only: the others are locked), every rule and check a formula
    can express fires in the template exactly when `cchc check` reports it."""
    import random

    rng = random.Random(371)
    expressible = {"ratio", "ratio-no-denominator", "ratio-no-numerator", "formula-overwritten"}
    rows = [i for i in SPEC.value_indicators if i.kind != "ratio" and i.levels & SPEC.reported_levels(level)]
    for _ in range(300):
        values = {}
        for ind in rows:
            if rng.random() < 0.4:
                continue
            if ind.kind in ("flag", "choice"):
                values[ind.id] = rng.choice([0, 1, 2])
            elif ind.kind == "rate":
                values[ind.id] = rng.choice([0, 50, 100, 120, -1])
            else:
                values[ind.id] = rng.choice([0, 0, 1, 2, 3, 5, -1, 2.5, "x"])
        reader = {f for f in reader_findings(SPEC, level, values) if f[0] not in expressible}
        assert live_findings(SPEC, level, values) == reader, values


def test_info_rules_are_not_shown_while_filling():
    """A check or rule of severity info says how a value was read: not a problem left in the template."""
    data = {**MINI, "checks": {**MINI["checks"], "negative": {"severity": "info", "message": "{label} âm."}},
            "rules": [{**MINI["rules"][0], "severity": "info"}]}
    spec = parse_spec(data, source="mini.yaml")
    assert live_findings(spec, "xa", {"BM1-1": -1, "BM1-2.1": 4, "BM1-2.2": 5}) == set()


def test_live_checks_and_the_reader_agree_where_they_used_to_differ():
    """One tree: a negative fraction in a count is only `negative`; text in a row of another level is
    `wrong-level`, live as in `cchc check`."""
    negative = {"BM1-1": -2.5}
    assert live_findings(SPEC, "xa", negative) == {("negative", "BM1-1", "error")} == reader_findings(
        SPEC, "xa", negative)
    text_elsewhere = {"BM1-3.2": "x"}  # the district's row in a commune's return
    assert live_findings(SPEC, "xa", text_elsewhere) == {("wrong-level", "BM1-3.2", "warning")} == \
        reader_findings(SPEC, "xa", text_elsewhere)


def test_ratio_formula_and_cached_value_come_from_one_tree():
    from cchc_excel.template.forms import ratio_formula, ratio_value

    ind = SPEC["BM1-2"]  # 2.2 / 2.1
    ref = {"BM1-2.1": "D11", "BM1-2.2": "D12"}.get
    assert ratio_formula(ind, ref) == '=IF(AND(ISNUMBER(D12),ISNUMBER(D11)),IF(D11=0,"",ROUND(D12/D11*100,2)),"")'
    assert ratio_value({"BM1-2.1": 61, "BM1-2.2": 37}, ind) == 60.66
    assert ratio_value({"BM1-2.1": 25, "BM1-2.2": 12}, ind) == 48
    assert ratio_value({"BM1-2.1": 0, "BM1-2.2": 0}, ind) is None
    assert ratio_value({"BM1-2.1": "x", "BM1-2.2": 1}, ind) is None
