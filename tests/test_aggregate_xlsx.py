"""Long tables streamed into a finished workbook (`xlsx_bulk`): what comes back is what went in."""

from datetime import datetime

import xlsxwriter
from python_calamine import CalamineWorkbook

from cchc_excel.ooxml.bulk import BulkRows, column_letters


def build(path, rows, direct=False, wrap=None):
    bulk = BulkRows(direct=direct)
    data_path = path.with_suffix(".tmp.xlsx")
    wb = xlsxwriter.Workbook(str(data_path))
    ws = wb.add_worksheet("Bảng & số")
    ws.write_string(0, 0, "Tiêu đề")
    fmts = [wb.add_format({"num_format": "0"}), wb.add_format({"bold": True}),
            wb.add_format({"num_format": "dd/mm/yyyy hh:mm"}), None]
    end = bulk.write(ws, 2, rows, fmts, wrap=wrap)
    ws.write_string(end, 0, "Tổng")
    wb.close()
    with open(path, "wb") as out:
        bulk.write_to(data_path.read_bytes(), out)
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Bảng & số").to_python()


ROWS = [
    (1, "Phường Tam Quan Bắc", datetime(2023, 6, 20, 8, 30), None),
    (2, "=HYPERLINK(\"http://x\")", None, 3.25),
    (3, " khoảng trắng \n hai dòng ", datetime(2023, 6, 21), 0.1 + 0.2),
    (4, "điều khiển \x07 và _x0041_ <&>", None, None),
]


def test_streamed_rows_read_back_as_written(tmp_path):
    got = build(tmp_path / "a.xlsx", ROWS)
    same = build(tmp_path / "b.xlsx", ROWS, direct=True)  # every cell through xlsxwriter
    assert got == same
    assert got[0][0] == "Tiêu đề" and got[-1][0] == "Tổng"
    body = got[2:6]
    assert [r[0] for r in body] == [1, 2, 3, 4]
    assert body[1][1] == "=HYPERLINK(\"http://x\")"  # text, not a formula
    assert body[2][1] == " khoảng trắng \n hai dòng "
    assert body[3][1] == "điều khiển \x07 và _x0041_ <&>"
    assert body[0][2] == datetime(2023, 6, 20, 8, 30) and body[2][3] == 0.3


def test_dimension_covers_the_streamed_rows(tmp_path):
    import zipfile

    build(tmp_path / "a.xlsx", ROWS)
    xml = zipfile.ZipFile(tmp_path / "a.xlsx").read("xl/worksheets/sheet1.xml").decode()
    assert '<dimension ref="A1:D7"/>' in xml


def test_wrapped_rows_get_the_height_their_text_needs(tmp_path):
    import re
    import zipfile

    long = "Số hồ sơ TTHC giải quyết đúng hạn (725) lớn hơn Tổng số hồ sơ TTHC đã giải quyết xong (713)."
    rows = [(1, "ngắn", None, None), (2, long, None, None), (3, "hai\ndòng", None, None)]
    build(tmp_path / "a.xlsx", rows, wrap={1: 20})
    xml = zipfile.ZipFile(tmp_path / "a.xlsx").read("xl/worksheets/sheet1.xml").decode()
    heights = {int(r): float(h) for r, h in re.findall(r'<row r="(\d+)"[^>]* ht="([\d.]+)"', xml)}
    assert heights[4] > heights[5] > heights[3]  # the long message wraps over several lines, "hai dòng" two
    assert heights[3] < 20


def test_column_letters():
    assert column_letters(3) == ["A", "B", "C"]
    assert column_letters(28)[-2:] == ["AA", "AB"]
