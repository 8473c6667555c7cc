"""The report draft in Word of the samples' district (thị xã Hoài Nhơn, Q2/2023), read back with python-docx:
Nghị định 30 layout, sentences whose numbers are the merged totals, Phụ lục I tables that read back by STT
code as the merged values; and rendered by LibreOffice Writer to PDF."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from cchc_excel.core.roster import load_roster
from cchc_excel.core.values import parse_value
from cchc_excel.errors import SpecError
from cchc_excel.merge.run import aggregate_paths
from cchc_excel.spec.loader import parse_spec
from cchc_excel.word import write_report
from cchc_excel.word.report import date_line
from cchc_excel.word.text import vn_number

import lo
from test_report_text import mini_data

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.fixture(scope="module")
def result():
    return aggregate_paths([SAMPLES / "returns"], roster=load_roster(SAMPLES / "roster.csv"), unit_code="540",
                           period="2023-Q2", jobs=1)


@pytest.fixture(scope="module")
def docx_path(result, tmp_path_factory):
    return write_report(result, tmp_path_factory.mktemp("report") / "BAO-CAO.docx")


@pytest.fixture(scope="module")
def doc(docx_path):
    return Document(str(docx_path))


def body_text(doc) -> list[str]:
    return [p.text for p in doc.paragraphs if p.text.strip()]


def find(doc, start: str):
    return next(p for p in doc.paragraphs if p.text.startswith(start))


def cell_paragraphs(table) -> dict:
    return {p.text: p for row in table.rows for cell in row.cells for p in cell.paragraphs if p.text}


def test_page_and_fonts(doc):
    s = doc.sections[0]
    def mm(length):  # stored in twentieths of a point
        return round(length.mm, 1)

    assert (mm(s.page_width), mm(s.page_height)) == (210, 297)
    assert [mm(m) for m in (s.top_margin, s.bottom_margin, s.left_margin, s.right_margin)] == [20, 20, 30, 15]
    normal = doc.styles["Normal"]
    assert normal.font.size == Pt(14)
    fonts = normal.element.rPr.find(qn("w:rFonts"))
    assert {fonts.get(qn(a)) for a in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs")} == {"Times New Roman"}
    assert normal.paragraph_format.space_after == Pt(6)


def test_page_numbers_from_page_two(doc):
    s = doc.sections[0]
    assert s.different_first_page_header_footer
    assert not "".join(p.text for p in s.first_page_header.paragraphs).strip()
    header = s.header.paragraphs[0]
    assert header.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert [t.text.strip() for t in header._p.iter(qn("w:instrText"))] == ["PAGE"]


def test_heading_blocks(doc):
    block = cell_paragraphs(doc.tables[0])
    for text in ("ỦY BAN NHÂN DÂN", "THỊ XÃ HOÀI NHƠN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                 "Độc lập - Tự do - Hạnh phúc"):
        assert all(r.bold for r in block[text].runs), text
    assert block["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"].runs[0].font.size == Pt(12)
    assert block["Độc lập - Tự do - Hạnh phúc"].runs[0].font.size == Pt(13)
    assert block["Số:        /BC-UBND"].runs[0].font.size == Pt(13)
    date_para = block["Hoài Nhơn, ngày […] tháng 6 năm 2023"]
    assert all(r.italic for r in date_para.runs)
    assert [r.text for r in date_para.runs if r.font.highlight_color == WD_COLOR_INDEX.YELLOW] == ["[…]"]
    # the rules: an empty paragraph with a top border under the body's name and under the motto
    rules = [p for p in doc.tables[0]._tbl.iter(qn("w:p")) if p.find(".//" + qn("w:top")) is not None]
    assert len(rules) == 2
    kind, title = find(doc, "BÁO CÁO"), find(doc, "Kết quả công tác")
    assert kind.text == "BÁO CÁO" and title.text == "Kết quả công tác cải cách hành chính quý II/2023"
    for p in (kind, title):
        assert p.alignment == WD_ALIGN_PARAGRAPH.CENTER and all(r.bold for r in p.runs)


def test_sections_and_body_paragraphs(doc):
    headings = [t for t in body_text(doc) if re.match(r"^(I|II|III|IV|V)\. ", t)]
    assert headings == ["I. CÔNG TÁC CHỈ ĐẠO, ĐIỀU HÀNH CẢI CÁCH HÀNH CHÍNH",
                        "II. KẾT QUẢ THỰC HIỆN CÔNG TÁC CẢI CÁCH HÀNH CHÍNH", "III. ĐÁNH GIÁ CHUNG",
                        "IV. PHƯƠNG HƯỚNG, NHIỆM VỤ CẢI CÁCH HÀNH CHÍNH TRỌNG TÂM", "V. KIẾN NGHỊ, ĐỀ XUẤT"]
    subs = [t for t in body_text(doc) if re.match(r"^\d\. ", t)]
    assert subs == ["1. Cải cách thể chế", "2. Cải cách thủ tục hành chính (TTHC)", "3. Cải cách tổ chức bộ máy",
                    "4. Cải cách chế độ công vụ", "5. Cải cách tài chính công",
                    "6. Xây dựng và phát triển Chính quyền điện tử, Chính quyền số",
                    "1. Mặt tích cực", "2. Những tồn tại, hạn chế, nguyên nhân"]
    p = find(doc, "Trong quý II/2023, toàn thị xã tiếp nhận")
    assert p.alignment == WD_ALIGN_PARAGRAPH.JUSTIFY
    assert p.paragraph_format.first_line_indent == Cm(1.27)
    assert find(doc, "Trên đây là báo cáo").text == (
        "Trên đây là báo cáo kết quả công tác cải cách hành chính quý II/2023 của UBND thị xã Hoài Nhơn./.")


def test_the_sentences_say_the_merged_totals(doc, result):
    t = result.totals
    assert find(doc, "Trong quý II/2023, toàn thị xã tiếp nhận").text.startswith(
        f"Trong quý II/2023, toàn thị xã tiếp nhận {vn_number(t['BM7-2.4.1'].value)} hồ sơ TTHC, "
        f"đã giải quyết {vn_number(t['BM3-3.1.1'].value)} hồ sơ, trong đó {vn_number(t['BM3-3.1.2'].value)} "
        f"hồ sơ đúng hạn (đạt {vn_number(t['BM3-3.1'].value, percent=True)}). "
        f"Số liệu tổng hợp từ báo cáo của {t['BM3-3.1.1'].units}/17 đơn vị.")
    assert "(đạt 98,62%)" in find(doc, "Trong quý II/2023, toàn thị xã tiếp nhận").text
    assert find(doc, "Kế hoạch giải ngân").text.startswith(
        "Kế hoạch giải ngân vốn đầu tư công được giao 20.986 triệu đồng, đã thực hiện 13.692,3 triệu đồng, "
        "đạt 65,24% kế hoạch.")
    assert find(doc, "Có 12/14 đơn vị đã tổ chức khảo sát").text.startswith(
        "Có 12/14 đơn vị đã tổ chức khảo sát sự hài lòng của người dân, tổ chức, với 1.400 phiếu khảo sát "
        "(hình thức khảo sát: trực tuyến 6 đơn vị, phát phiếu 3 đơn vị, kết hợp 3 đơn vị).")
    assert "bình quân 2,3% (thấp nhất 0%, cao nhất 5,7%)" in find(doc, "Tại các đơn vị sự nghiệp").text


def test_the_units_that_did_not_report_are_named(doc, result):
    assert (result.merged_units, result.expected) == (14, 17)
    assert find(doc, "Số liệu trong báo cáo").text == (
        "Số liệu trong báo cáo được tổng hợp từ báo cáo của 14/17 đơn vị. "
        "Các đơn vị chưa gửi báo cáo: Phường Hoài Xuân, Xã Hoài Sơn. "
        "Báo cáo có lỗi, chưa được tổng hợp: Phường Hoài Tân. Các đơn vị gửi báo cáo sau thời hạn: Xã Hoài Châu.")


def test_what_a_person_must_write_is_highlighted(doc):
    gaps = [r for p in doc.paragraphs for r in p.runs if r.font.highlight_color == WD_COLOR_INDEX.YELLOW]
    assert gaps and all(re.fullmatch(r"\[[^\]]*…\]", r.text) for r in gaps)
    # the district's own rows are not in the communes' returns: left for a person
    assert "Cấp huyện ban hành […] văn bản." in find(doc, "Trong quý II/2023, toàn thị xã đã ban hành, tham").text
    assert find(doc, "[Những kết quả nổi bật").runs[0].font.highlight_color == WD_COLOR_INDEX.YELLOW
    # a row of another level (sở) is left out, not a gap
    assert not any("cấp tỉnh là" in p.text for p in doc.paragraphs)


def test_closing_blocks(doc):
    block = cell_paragraphs(doc.tables[1])
    received = block["Nơi nhận:"]
    assert received.runs[0].bold and received.runs[0].italic and received.runs[0].font.size == Pt(12)
    assert block["- Sở Nội vụ;"].runs[0].font.size == Pt(11)
    assert "- Lưu: VT, [bộ phận soạn thảo…]." in block
    for line in ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "[Họ và tên người ký…]"):
        assert block[line].runs[0].bold and block[line].alignment == WD_ALIGN_PARAGRAPH.CENTER


def appendix_tables(doc) -> dict:
    """{form number: table}, each table the one after its `Biểu mẫu N` title."""
    out, form = {}, None
    for child in doc.element.body.iterchildren():
        if child.tag == qn("w:p"):
            m = re.fullmatch(r"Biểu mẫu (\d+)", "".join(t.text for t in child.iter(qn("w:t"))))
            form = int(m.group(1)) if m else form
        elif child.tag == qn("w:tbl") and form is not None:
            out[form] = next(t for t in doc.tables if t._tbl is child)
            form = None
    return out


def test_appendix_tables_as_the_seed_prints_them(doc, result):
    tables = appendix_tables(doc)
    assert sorted(tables) == [1, 2, 3, 4, 5, 6, 7]
    t = tables[3]
    first, second = t.rows[0], t.rows[1]
    for row in (first, second):
        assert row._tr.trPr.find(qn("w:tblHeader")).get(qn("w:val")) == "true"
    assert t.rows[2]._tr.trPr.find(qn("w:tblHeader")) is None
    assert [c.text for c in first.cells] == [
        "STT", "Chỉ tiêu thống kê\n(Sử dụng trong kỳ báo cáo hàng quý, 6 tháng, năm)", "Kết quả thống kê",
        "Kết quả thống kê", "Ghi chú"]
    assert [c.text for c in second.cells][2:4] == ["Đơn vị tính", "Số liệu"]
    rows = {r.cells[0].text: r for r in t.rows[2:]}
    assert len(rows) == len(result.spec.form(3).indicators)
    breakdown = rows["3.1.1."].cells[1].paragraphs[0].runs
    assert all(r.italic for r in breakdown)  # italic rows of the seed stay italic
    note = rows["1.4.3."].cells[1].paragraphs[0].runs
    assert note[-1].text == " (Bao gồm cả TTHC của cơ quan ngành dọc)" and note[-1].italic
    assert rows["3.1.1."].cells[3].text == "7.708" and rows["3.1.1."].cells[4].text == "14 đơn vị"


def test_appendix_reads_back_by_stt_as_the_merged_values(doc, result):
    values = result.report_values()
    spec = result.spec
    checked = 0
    for number, t in appendix_tables(doc).items():
        for row in t.rows[2:]:
            ind = spec[f"BM{number}-{row.cells[0].text.rstrip('.')}"]
            parsed = parse_value(row.cells[3].text or None, ind.kind)
            expected = values.get(ind.id) if ind.kind != "header" else None
            assert parsed.ok, (ind.id, row.cells[3].text)
            if isinstance(expected, float):
                assert parsed.value == pytest.approx(expected, abs=0.005), ind.id
            else:
                assert parsed.value == expected, ind.id
            checked += 1
    assert checked == len(spec.indicators)


def test_a_spec_without_report_sentences_is_refused(result, tmp_path):
    data = mini_data()
    del data["report"]
    result.spec, spec = parse_spec(data, source="mini.yaml"), result.spec
    try:
        with pytest.raises(SpecError, match="^mini.yaml: report: "):
            write_report(result, tmp_path / "x.docx")
    finally:
        result.spec = spec
    assert not (tmp_path / "x.docx").exists()


def test_date_line():
    assert date_line("Hoài Nhơn", date(2024, 2, 5), 6, 2023) == [("Hoài Nhơn, ngày 05 tháng 02 năm 2024", False)]
    assert date_line("Hoài Nhơn", date(2023, 6, 20), 6, 2023) == [("Hoài Nhơn, ngày 20 tháng 6 năm 2023", False)]
    assert date_line("Tam Quan Bắc", None, 12, 2023) == [
        ("Tam Quan Bắc, ngày ", False), ("[…]", True), (" tháng 12 năm 2023", False)]


@pytest.mark.libreoffice
def test_libreoffice_renders_the_report(docx_path, tmp_path):
    pdf = lo.convert(docx_path, "pdf", tmp_path)
    pages = lo.pdf_text(pdf).split("\f")
    first = pages[0]
    for text in ("ỦY BAN NHÂN DÂN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "BÁO CÁO",
                 "Kết quả công tác cải cách hành chính quý II/2023", "I. CÔNG TÁC CHỈ ĐẠO"):
        assert text in first, text
    assert not re.match(r"^\s*1\s*$", first.splitlines()[0])  # no page number on page 1
    assert pages[1].lstrip().startswith("2")  # the page number at the top of page 2
    whole = re.sub(r"\s+", " ", "\n".join(pages))
    for text in ("7.708 hồ sơ", "(đạt 98,62%)", "14/17 đơn vị", "Phường Hoài Xuân, Xã Hoài Sơn", "Nơi nhận:",
                 "TM. ỦY BAN NHÂN DÂN", "Phụ lục I", "Biểu mẫu 7", "Kết quả thống kê", "Số liệu", "98,62"):
        assert text in whole, text
    appendix = next(i for i, p in enumerate(pages) if "Phụ lục I" in p)
    later = [p for p in pages[appendix + 1:] if p.strip()]
    assert later and all("Chỉ tiêu thống kê" in p and "Đơn vị tính" in p for p in later)  # headers repeated
    pngs = lo.pdf_pages_png(pdf, tmp_path / "png", first=1, last=2, dpi=60)
    assert len(pngs) == 2


def test_a_units_own_return_speaks_of_the_unit(tmp_path):
    own = aggregate_paths([SAMPLES / "returns" / "22240_phuong-tam-quan-bac_2023-Q2.xlsx"],
                          roster=load_roster(SAMPLES / "roster.csv"), unit_code="22240", period="2023-Q2", jobs=1)
    doc = Document(str(write_report(own, tmp_path / "own.docx")))
    assert find(doc, "Trong quý II/2023, UBND phường tiếp nhận").text.startswith(
        "Trong quý II/2023, UBND phường tiếp nhận 399 hồ sơ TTHC, đã giải quyết 369 hồ sơ, trong đó 369 hồ sơ "
        "đúng hạn (đạt 100%).")
    assert find(doc, "Khảo sát sự hài lòng").text == (
        "Khảo sát sự hài lòng của người dân, tổ chức: Có, với 10 phiếu khảo sát (hình thức: Trực tuyến). "
        "Tổ chức đối thoại của lãnh đạo với người dân, cộng đồng doanh nghiệp: Có.")
    assert not any("đơn vị." in p.text and "/" in p.text and "Số liệu" in p.text for p in doc.paragraphs)
    assert "PHƯỜNG TAM QUAN BẮC" in cell_paragraphs(doc.tables[0])
    assert find(doc, "Trên đây").text.endswith("của UBND phường Tam Quan Bắc./.")
