"""The template in a real spreadsheet client: LibreOffice Calc, headless (DESIGN §7).

Three LibreOffice runs for the whole module: render to PDF, open-and-save as .xlsx, and type a return.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from cchc_excel.core.roster import Unit
from cchc_excel.spec.loader import load_spec, parse_spec
from cchc_excel.template.build import template_bytes
from cchc_excel.template.forms import FIRST_ROW

import lo
from test_template import MINI, row_of

pytestmark = pytest.mark.libreoffice

SPEC = load_spec()
UNIT = Unit("22240", "UBND phường Tam Quan Bắc", "xa")
WHEN = datetime(2023, 6, 1, 8, 30, tzinfo=timezone.utc)

# What UBND phường Tam Quan Bắc reported for Q2/2023 (the seed), plus two slips the live checks catch.
SEED_VALUES = {
    "BM1-1": 6, "BM1-2.1": 25, "BM1-2.2": 12, "BM1-3.3.1": 2, "BM1-3.3.2": 3, "BM1-5": 1, "BM1-5.1": 10,
    "BM1-5.2": 0, "BM1-6": 1, "BM2-1.3": 0, "BM3-1.4": 157, "BM3-1.4.3": 157, "BM3-3.1.1": 369,
    "BM3-3.1.2": 369, "BM3-3.2.1": 0, "BM3-3.2.2": 0, "BM4-1.1": 1, "BM4-2.1": 0, "BM4-2.2": 20, "BM4-2.3": 2,
    "BM4-2.4": 0, "BM4-3.1": 42, "BM4-3.2": 42, "BM4-3.3": 0, "BM4-3.4": 0, "BM6-1.1": 1250.5, "BM6-1.2": 980.25,
    "BM7-1.1": 100, "BM7-1.1.3": 100, "BM7-1.2.3": 100, "BM7-2.4.1": 399, "BM7-2.4.2": 399,
}


# Typing does not go through validation with this API (as when a value is pasted): the live checks catch these.
SLIPS = {"BM4-2.5": 150, "BM1-4.1": 2.5}
TYPED = {**SEED_VALUES, **SLIPS}


def cell(ind_id: str) -> tuple[str, str]:
    return f"Biểu mẫu {SPEC[ind_id].form}", f"D{row_of(SPEC[ind_id])}"


def sheet_rows(data: bytes, name: str) -> list:
    ws = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(name)
    top, left = ws.start
    return [[] for _ in range(top)] + [[""] * left + row for row in ws.to_python()]


def normal(formula: str) -> str:
    """A formula as LibreOffice writes it back (`FALSE()` for `FALSE`)."""
    return formula.replace(" ", "").replace("FALSE()", "FALSE").replace("TRUE()", "TRUE")


def flat(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    if not lo.available():
        pytest.skip("LibreOffice, poppler-utils or python3-uno is missing")
    tmp = tmp_path_factory.mktemp("lo")
    xa = tmp / "xa.xlsx"
    xa.write_bytes(template_bytes(level="xa", unit=UNIT, period="2023-Q2", password="mk", generated_at=WHEN))
    mini = tmp / "mini.xlsx"
    mini.write_bytes(template_bytes(parse_spec(MINI), level="huyen", generated_at=WHEN))
    return {"dir": tmp, "xa": xa, "mini": mini}


@pytest.fixture(scope="module")
def pdfs(files):
    xa_pdf, mini_pdf = lo.convert([files["xa"], files["mini"]], "pdf", files["dir"] / "pdf")
    return {"xa": lo.pdf_text(xa_pdf), "mini": lo.pdf_text(mini_pdf), "xa_pdf": xa_pdf}


@pytest.fixture(scope="module")
def saved(files):
    """The templates opened and saved again by LibreOffice, as a user would."""
    xa, mini = lo.convert([files["xa"], files["mini"]], lo.XLSX, files["dir"] / "saved")
    return {"xa": xa, "mini": mini}


@pytest.fixture(scope="module")
def typed(files):
    """The seed's return typed into the template through LibreOffice, with slips a person makes."""
    locked = [cell("BM1-2") + ("48",), cell("BM1-3.2") + ("1",), cell("BM1-3") + ("5",)]
    entries = locked + [cell("BM1-1") + ("sáu",)] + [cell(i) + (str(v),) for i, v in TYPED.items()]
    entries.append(("Thông tin chung", "B14", "Nguyễn Văn An"))
    out = files["dir"] / "typed.xlsx"
    result = lo.type_cells(files["xa"], out, entries, reads=[cell("BM1-2"), cell("BM3-3.1"), cell("BM6-1")])
    return {"result": result, "path": out, "locked": len(locked)}


def in_order(words: list, wanted: str) -> bool:
    """Whether the words of `wanted` appear in `words` in order (lines of cells side by side interleave)."""
    it = iter(words)
    return all(any(w == x for x in it) for w in wanted.split())


def test_pdf_shows_every_title_and_label(pdfs):
    pages = [flat(page) for page in pdfs["xa"].split("\f") if page.strip()]
    text = " ".join(pages)
    assert "UBND phường Tam Quan Bắc" in text and "Quý II/2023" in text and "HƯỚNG DẪN ĐIỀN BIỂU MẪU" in text
    by_sheet: dict = {}
    current = None
    for page in pages:  # a form's first page has its title block; the next ones start with the header
        current = next((f.name for f in SPEC.forms if f"{f.name} {f.title} Đơn vị báo cáo" in page), current)
        if current and (current not in by_sheet or page.startswith("STT ")):
            by_sheet.setdefault(current, []).append(page)
    assert list(by_sheet) == [form.name for form in SPEC.forms]
    assert len(by_sheet["Biểu mẫu 7"]) == 2 and by_sheet["Biểu mẫu 7"][1].startswith("STT Chỉ tiêu thống kê")
    for form in SPEC.forms:
        words = " ".join(by_sheet[form.name]).split()
        for ind in form.indicators:
            assert in_order(words, f"{ind.code}. {ind.full_label}"), ind.id
    assert "(không in)" not in text and "###" not in text  # the live-check columns are not printed
    assert "Biểu thử A" in flat(pdfs["mini"]) and "Tỷ lệ tự chủ" in flat(pdfs["mini"])


def test_every_form_fits_one_page_width(pdfs):
    info = lo.pdf_text(pdfs["xa_pdf"], layout=True)
    assert info.count("\f") >= len(SPEC.forms) + 2
    for page in info.split("\f"):
        assert all(len(line) < 200 for line in page.splitlines())


def test_open_and_save_keeps_protection_inputs_validations_formulas(files, saved):
    before, after = load_workbook(files["xa"]), load_workbook(saved["xa"])
    assert after.sheetnames == before.sheetnames
    # LibreOffice saves a very hidden sheet as hidden, and drops the workbook structure lock: Excel keeps both.
    assert after["_cchc"].sheet_state in ("hidden", "veryHidden")
    for name in before.sheetnames:
        b, a = before[name], after[name]
        assert a.protection.sheet, name
        dv_before = {(str(d.sqref), d.type, d.formula1, d.prompt) for d in b.data_validations.dataValidation}
        dv_after = {(str(d.sqref), d.type, d.formula1, d.prompt) for d in a.data_validations.dataValidation}
        assert dv_after == dv_before, name
        for row in b.iter_rows():
            for c in row:
                other = a[c.coordinate]
                assert other.protection.locked == c.protection.locked, (name, c.coordinate)
                if isinstance(c.value, str) and c.value.startswith("="):
                    assert normal(other.value) == normal(c.value), (name, c.coordinate)
        if name.startswith("Biểu mẫu"):
            assert a.print_title_rows == "$7:$8" and a.page_setup.paperSize == 9
            assert (a.page_setup.fitToWidth or 1, a.page_setup.fitToHeight) == (1, 0)
            assert len(a.conditional_formatting) == len(b.conditional_formatting)
    assert after.defined_names["BM3_3.1.2"].attr_text == before.defined_names["BM3_3.1.2"].attr_text
    assert after.defined_names["cchc_unit_name"].attr_text == "'Thông tin chung'!$B$5"
    mini = load_workbook(saved["mini"])
    assert mini.sheetnames == ["Thông tin chung", "Hướng dẫn", "Biểu mẫu 1", "Biểu mẫu 2", "_cchc"]


def test_typing_into_a_locked_cell_is_refused(typed):
    entries = typed["result"]["typed"]
    for entry in entries[:typed["locked"]]:
        assert entry["after"] == entry["before"], entry
        assert "Protected cells can not be modified." in entry["message"], entry
    assert entries[0]["formula"].startswith("=IF(AND(ISNUMBER(")  # the ratio keeps its formula
    for entry in entries[typed["locked"]:]:
        assert entry["message"] == "" and entry["after"] != "", entry
    assert entries[typed["locked"]]["after"] == "sáu"  # then overwritten with 6


def test_typed_values_give_the_right_ratios(typed):
    cells = typed["result"]["cells"]
    assert cells[f"Biểu mẫu 1!{cell('BM1-2')[1]}"]["value"] == 48
    assert cells[f"Biểu mẫu 3!{cell('BM3-3.1')[1]}"]["value"] == 100
    assert cells[f"Biểu mẫu 6!{cell('BM6-1')[1]}"]["value"] == pytest.approx(78.39)


def test_our_cached_results_are_what_libreoffice_computes(typed):
    """Every formula's cached result in a template pre-filled with these values equals LibreOffice's own."""
    ours = template_bytes(level="xa", unit=UNIT, period="2023-Q2", values=TYPED, generated_at=WHEN)
    theirs = typed["path"].read_bytes()
    for form in SPEC.forms:
        mine, lo_rows = sheet_rows(ours, form.name), sheet_rows(theirs, form.name)
        for i, ind in enumerate(form.indicators):
            r = FIRST_ROW + i
            a = [x if x != "" else None for x in (mine[r] + [""] * 9)[3:9]]
            b = [x if x != "" else None for x in (lo_rows[r] + [""] * 9)[3:9]]
            a[1] = b[1] = None  # Ghi chú
            assert a == b, ind.id
    messages = [r[8] for f in SPEC.forms for r in sheet_rows(theirs, f.name)[FIRST_ROW:] if len(r) > 8 and r[8]]
    assert messages == [
        "Mục 3.3.2 (3) lớn hơn mục 3.3.1 (2).",
        "Mục 4.1 (2.5) phải là số nguyên (đơn vị: Nhiệm vụ).",
        # not BM2-1 left blank over 1.3 = 0: a breakdown of 0 under a blank total is not worth a word
        "Mục 2.2 (20) lớn hơn mục 2.1 (0); hãy kiểm tra lại.",
        "Mục 2.5 (150) phải nằm trong khoảng 0–100%.",
        "Mục 1.2 để trống trong khi các chỉ tiêu chi tiết của nó đã có số liệu.",
    ]
    cover_ours, cover_lo = sheet_rows(ours, "Thông tin chung"), sheet_rows(theirs, "Thông tin chung")
    assert cover_lo[19][0] == cover_ours[19][0] == (
        "Còn 3 lỗi và 2 cảnh báo: xem cột “Kiểm tra tự động” bên phải mỗi biểu mẫu.")
    for r in range(21, 29):
        assert cover_lo[r][:5] == cover_ours[r][:5], r
    assert cover_lo[13][1] == "Nguyễn Văn An"
    with zipfile.ZipFile(typed["path"]) as z:
        assert re.search(r"<sheetProtection[^>]*sheet=\"(true|1)\"", z.read("xl/worksheets/sheet3.xml").decode())
