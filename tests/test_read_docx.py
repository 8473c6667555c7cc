"""Returns sent as Word reports (read.docx): the seed's own text made a .docx here, one table per form and
one long table, with mistakes injected; every value and finding held against the workbook path."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from docx import Document

from cchc_excel.check.run import check_file, check_paths
from cchc_excel.core.roster import load_roster
from cchc_excel.read.docx import read_docx
from cchc_excel.spec.loader import load_spec

import lo
from test_rules import SEED
from test_safety import make_ole, rezip
from word_returns import parse_seed, write_word_return
from workbooks import write_handmade

SPEC = load_spec()
ROSTER = load_roster(Path(__file__).resolve().parent.parent / "samples" / "roster.csv")
# Mistakes a person makes, as typed: on-time dossiers above those settled, a word for a number, a code
# the choice does not have, a percentage typed with its sign, a decimal comma.
MISTAKES = {"BM3-3.1.2": "725", "BM4-2.3": "hai", "BM1-5.2": "3", "BM7-1.1.3": "98%", "BM4-3.4": "16,2"}


@pytest.fixture(scope="module")
def seed(seed_file):
    return parse_seed(seed_file)


def seed_texts(seed) -> dict:
    """indicator id -> the text of its Số liệu cell in the seed, for the rows it filled."""
    return {f"BM{form.number}-{stt.rstrip('.')}": value for form in seed.forms
            for stt, _, _, value, _ in form.rows if value}


def findings(report) -> list:
    return [(i.severity, i.rule, i.indicator, i.message) for i in report.issues]


@pytest.mark.parametrize("layout", ["tables", "long"])
def test_the_seed_as_word_reads_its_values_unit_and_period(seed, tmp_path, layout):
    path = write_word_return(tmp_path / "Báo cáo CCHC quý II.docx", seed, layout=layout)
    sub = read_docx(path, roster=ROSTER)
    assert {k: v for k, v in sub.values.items() if v is not None} == SEED
    assert (sub.unit.code, str(sub.period), sub.level, sub.file_format) == ("22240", "2023-Q2", "xa", "docx")
    fr = check_file(path, roster=ROSTER)
    assert [(i.severity, i.rule, i.indicator) for i in fr.issues] == [
        ("warning", "BM4-R1", "BM4-2.2"), ("warning", "parent-blank", "BM7-1.2")]


def test_places_are_told_as_a_person_finds_them_in_word(seed, tmp_path):
    path = write_word_return(tmp_path / "bc.docx", seed, values=MISTAKES)
    fr = check_file(path, roster=ROSTER)
    by_id = {i.indicator: i for i in fr.issues}
    # Biểu mẫu 3 is the document's third table; its two header rows, then 3.1.2 on row 18
    assert by_id["BM3-3.1.2"].location == "Biểu mẫu 3, mục 3.1.2 (bảng 3, dòng 18)"
    assert (by_id["BM3-3.1.2"].sheet, by_id["BM3-3.1.2"].cell) == ("Biểu mẫu 3", "mục 3.1.2 (bảng 3, dòng 18)")
    # Biểu mẫu 1's page break repeats its two header rows inside its table: 5.2, its 18th row of
    # numbers, is the table's row 22
    assert by_id["BM1-5.2"].location == "Biểu mẫu 1, mục 5.2 (bảng 1, dòng 22)"
    long = check_file(write_word_return(tmp_path / "dai.docx", seed, layout="long", values=MISTAKES), roster=ROSTER)
    assert {i.indicator: i for i in long.issues}["BM3-3.1.2"].location.startswith("Biểu mẫu 3, mục 3.1.2 (bảng 1, dòng ")


@pytest.mark.parametrize("layout", ["tables", "long"])
def test_the_same_numbers_give_the_same_findings_as_a_workbook(seed, tmp_path, layout):
    typed = {**seed_texts(seed), **MISTAKES}
    word = check_file(write_word_return(tmp_path / "bc.docx", seed, layout=layout, values=MISTAKES), roster=ROSTER)
    book = write_handmade(tmp_path / "bc.xlsx", SPEC, typed, title_rows=(
        "UBND PHƯỜNG TAM QUAN BẮC", "BÁO CÁO CẢI CÁCH HÀNH CHÍNH QUÝ II/2023"))
    excel = check_file(book, roster=ROSTER)
    assert word.values == excel.values
    assert findings(word) == findings(excel)
    assert word.values["BM4-3.4"] == 16.2 and word.values["BM7-1.1.3"] == 98
    assert {(i.rule, i.indicator) for i in word.issues} >= {
        ("BM3-R5", "BM3-3.1.2"), ("not-number", "BM4-2.3"), ("not-choice", "BM1-5.2")}
    assert word.status == "errors" and (word.unit["code"], word.period) == ("22240", "2023-Q2")


def drop_paragraphs(path: Path, *starts: str) -> Path:
    doc = Document(str(path))
    for p in doc.paragraphs:
        if p.text.startswith(starts):
            p._p.getparent().remove(p._p)
    doc.save(str(path))
    return path


def test_the_roster_and_the_closing_sentence_name_the_unit(seed, tmp_path):
    # no letterhead, no place before the date: "Trên đây là báo cáo ... của UBND phường Tam Quan Bắc./."
    path = drop_paragraphs(write_word_return(tmp_path / "bc.docx", seed, unit_line=""), "Tam Quan Bắc, ngày")
    sub = read_docx(path, roster=ROSTER)
    assert sub.unit.code == "22240" and str(sub.period) == "2023-Q2"
    assert not {i.rule for i in sub.issues} & {"unit-unknown", "period-unknown"}
    # the letterhead as Word users lay it out: a borderless table of two columns above the text
    doc = Document(str(write_word_return(tmp_path / "le.docx", seed, unit_line="")))
    head = doc.add_table(rows=1, cols=2)
    head.cell(0, 0).text = "UBND THỊ XÃ HOÀI NHƠN\nUBND PHƯỜNG TAM QUAN BẮC\nSố: 45/BC-UBND"
    head.cell(0, 1).text = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc"
    doc.element.body.insert(0, head._tbl)
    doc.save(str(tmp_path / "le.docx"))
    drop_paragraphs(tmp_path / "le.docx", "Tam Quan Bắc, ngày", "Trên đây")
    assert read_docx(tmp_path / "le.docx", roster=ROSTER).unit.code == "22240"  # the ward, not its thị xã
    bare = read_docx(write_word_return(tmp_path / "bang.docx", seed, heading=False))
    assert bare.unit is None and bare.period is None
    assert {i.rule for i in bare.issues} >= {"unit-unknown", "period-unknown"}  # as for a workbook


def test_merged_cells_stand_once(seed, tmp_path):
    path = write_word_return(tmp_path / "bc.docx", seed, drop_forms=(2, 3, 4, 5, 6, 7))
    table = Document(str(path)).tables[0]
    assert [c.text.strip() for c in table.rows[0].cells].count("Kết quả thống kê") == 2  # python-docx repeats it
    from cchc_excel.read.docx import DocxBook
    book = DocxBook(path, path.read_bytes(), 1000)
    first = next(r for r, place in book.places.items() if place == (1, 1))
    rows = book.rows("")
    assert rows[first] == ["STT", "Chỉ tiêu thống kê (Sử dụng trong kỳ báo cáo hàng quý, 6 tháng, năm)",
                           "Kết quả thống kê", "", "Ghi chú"]
    assert rows[first + 1] == ["", "", "Đơn vị tính", "Số liệu", ""]  # the vertical merges' rest is blank


def test_a_narrative_alone_is_a_clear_error(seed, tmp_path):
    path = write_word_return(tmp_path / "Báo cáo.docx", seed, appendix=False)
    fr = check_file(path)
    assert fr.status == "unreadable" and [i.rule for i in fr.issues] == ["not-a-return"]
    assert "không tìm thấy Phụ lục I" in fr.issues[0].message and "Báo cáo.docx" in fr.issues[0].message


def test_a_word_return_in_a_folder_and_a_zip(seed, tmp_path):
    d = tmp_path / "ve"
    d.mkdir()
    word = write_word_return(d / "tqb.docx", seed)
    with zipfile.ZipFile(d / "ho-so.zip", "w") as zf:
        zf.write(word, "bao-cao.docx")
    report = check_paths([d], roster=ROSTER)
    assert [(Path(f.path).name, f.status, f.unit["code"]) for f in report.files] == [
        ("ho-so.zip!bao-cao.docx", "warnings", "22240"), ("tqb.docx", "warnings", "22240")]


# --- hostile documents --------------------------------------------------------------------------------

@pytest.fixture
def docx_file(seed, tmp_path):
    return write_word_return(tmp_path / "bc.docx", seed)


def refused(path) -> str:
    fr = check_file(path)
    assert fr.status == "unreadable", fr.issues
    return fr.issues[0].message


def test_zip_bomb_docx(docx_file, tmp_path):
    bomb = rezip(docx_file, tmp_path / "bom.docx", add={"word/media/image1.xml": bytes(5 * 2**20)})
    assert "bom zip" in refused(bomb)


def test_xml_bomb_docx(docx_file, tmp_path):
    laughs = (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
              b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">&b;</w:document>')
    bomb = rezip(docx_file, tmp_path / "xml.docx", replace={"word/document.xml": laughs})
    assert "DOCTYPE" in refused(bomb)


def test_truncated_and_encrypted_docx(docx_file, tmp_path):
    cut = tmp_path / "cut.docx"
    cut.write_bytes(docx_file.read_bytes()[:4000])
    assert "bị hỏng hoặc không đầy đủ" in refused(cut)
    locked = tmp_path / "khoa.docx"
    locked.write_bytes(make_ole({"EncryptionInfo": b"\x04\0\x04\0\x40\0\0\0<?xml?>", "EncryptedPackage": bytes(6000)}))
    assert "mật khẩu" in refused(locked)


def test_doc_without_libreoffice_asks_for_docx(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    f = tmp_path / "Báo cáo.doc"
    f.write_bytes(make_ole({"WordDocument": b"\xec\xa5", "1Table": b""}))
    fr = check_file(f)
    assert [i.rule for i in fr.issues] == ["not-a-return"]
    assert "chưa cài LibreOffice" in fr.issues[0].message and ".docx" in fr.issues[0].message


@pytest.mark.libreoffice
def test_doc_is_converted_by_libreoffice(seed, tmp_path):
    docx_path = write_word_return(tmp_path / "tqb.docx", seed, values=MISTAKES)
    doc_path = lo.convert(docx_path, "doc", tmp_path / "doc")
    assert doc_path.read_bytes()[:4] == b"\xd0\xcf\x11\xe0"
    word = check_file(doc_path, roster=ROSTER)
    again = check_file(docx_path, roster=ROSTER)
    assert word.values == again.values and findings(word) == findings(again)


# --- the report draft from the command line, read back ------------------------------------------------

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def run(*args):
    from click.testing import CliRunner

    from cchc_excel.cli import cli

    return CliRunner().invoke(cli, [*map(str, args)], catch_exceptions=False)


def test_aggregate_report_reads_back_as_the_parents_return(tmp_path):
    from cchc_excel.merge.run import aggregate_paths

    report = tmp_path / "BAO-CAO.docx"
    done = run("aggregate", SAMPLES / "returns", "--roster", SAMPLES / "roster.csv", "--under", "540",
               "--period", "2023-Q2", "-o", tmp_path / "th.xlsx", "--report", report, "-j", "1")
    assert done.exit_code == 0, done.output
    assert f"Đã ghi: {tmp_path / 'th.xlsx'}, {report}" in done.output
    result = aggregate_paths([SAMPLES / "returns"], roster=ROSTER, unit_code="540", period="2023-Q2", jobs=1)
    back = check_file(report, roster=ROSTER)
    assert (back.status, back.unit["code"], back.period, back.merged_units) == ("ok", "540", "2023-Q2", 14)
    assert back.issues == []
    expected = result.report_values()
    assert {k: v for k, v in back.values.items() if v is not None} == {
        k: v for k, v in expected.items() if v is not None}
    assert back.values["BM3-3.1.1"] == 7708 and back.values["BM3-3.1"] == 98.62


def test_report_of_one_units_own_return(seed, tmp_path):
    word = write_word_return(tmp_path / "tqb.docx", seed)
    out = tmp_path / "BAO-CAO.docx"
    done = run("report", word, "--roster", SAMPLES / "roster.csv", "-o", out)
    assert done.exit_code == 0, done.output
    doc = Document(str(out))
    assert any(p.text.startswith("Trong quý II/2023, UBND phường tiếp nhận 399 hồ sơ TTHC") for p in doc.paragraphs)
    back = check_file(out, roster=ROSTER)
    # the ratios as recomputed: BM7-2.4 (blank in the seed) 399/399, BM3-3.2 (0 PAKN of 0) none
    expected = {**{k: v for k, v in SEED.items() if k != "BM3-3.2"}, "BM7-2.4": 100}
    assert back.unit["code"] == "22240" and {k: v for k, v in back.values.items() if v is not None} == expected
    missing = run("report", write_word_return(tmp_path / "bang.docx", seed, heading=False), "-o", tmp_path / "x.docx")
    assert missing.exit_code == 1 and "không xác định được đơn vị" in missing.output


def test_the_report_says_when_it_was_made(tmp_path):
    from datetime import datetime, timedelta, timezone

    from cchc_excel.word import own_result, write_report

    before = datetime.now(timezone.utc).replace(microsecond=0)
    out = write_report(own_result(SAMPLES / "returns" / "22240_phuong-tam-quan-bac_2023-Q2.xlsx", roster=ROSTER),
                       tmp_path / "BAO-CAO.docx")
    sub = read_docx(out, roster=ROSTER)
    assert before - timedelta(seconds=1) <= sub.saved_at <= datetime.now(timezone.utc) + timedelta(seconds=1)
    assert (sub.template["level"], sub.template["reported_levels"], sub.template["merged"]) == ("xa", "xa", "1")
