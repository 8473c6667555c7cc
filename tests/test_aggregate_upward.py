"""The merged report fit to send upward: choices combined by the spec's rule, the parent's own return
(`--own`), a clean official form (one short Ghi chú line, a footnote, a signature block), readable detail
sheets, a `Kiểm tra` sheet in words, charts in the table's order. Inputs are built here."""

import json
import zipfile
from datetime import datetime, timezone

import openpyxl
import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from cchc_excel.cli import cli
from cchc_excel.core.periods import parse_period
from cchc_excel.core.roster import load_roster
from cchc_excel.errors import RosterError, SpecError
from cchc_excel.merge.charts import axis_range, total_name
from cchc_excel.merge.run import aggregate_paths
from cchc_excel.merge.totals import Record, aggregate_units, choice_counts
from cchc_excel.merge.units import OWN_REASON
from cchc_excel.merge.workbook import write_merged_workbook
from cchc_excel.ooxml.measure import text_lines
from cchc_excel.spec.loader import load_spec, parse_spec
from cchc_excel.template.build import write_template
from cchc_excel.template.forms import COL_NOTE, WIDTHS
from cchc_excel.template.signature import split_unit_name

SPEC = load_spec()
Q2 = parse_period("2023-Q2")
XA = frozenset({"xa"})


def rec(unit, values, level="xa", levels=XA, weight=1):
    return Record(unit, Q2, values, level, levels, weight, f"{unit}.xlsx")


def choices(*codes):
    return aggregate_units([rec(f"u{i}", {"BM1-5.2": c}) for i, c in enumerate(codes)], SPEC)["BM1-5.2"]


def test_a_choice_with_a_combining_code_is_merged_by_the_specs_rule():
    # Online in six wards, paper in three, both in three: the district used both, whatever is most common.
    t = choices(*[0] * 6, *[1] * 3, *[2] * 3)
    assert t.mode == 0 and t.report_value == 2
    assert t.to_dict()["combined"] == 2
    assert choice_counts(t, SPEC["BM1-5.2"]) == "Trực tuyến: 6; Phát phiếu: 3; Kết hợp: 3"
    assert choices(0, 0, None).report_value == 0  # all online: online
    assert choices(1).report_value == 1
    assert choices(0, 2).report_value == 2  # online and both: both
    assert choices(None).report_value is None


def test_the_combining_rule_is_data_for_any_row():
    row = {"code": "1", "label": "Cách làm", "unit": "A = 0 B = 1 C = 2 AB = 3", "kind": "choice",
           "choices": {0: "A", 1: "B", 2: "C", 3: "AB"}, "combine": {3: [0, 1]}}
    ind = parse_spec(_spec_with(row))["BM1-1"]
    assert ind.combine == ((3, (0, 1)),)
    with pytest.raises(SpecError, match="combine"):
        parse_spec(_spec_with({**row, "combine": {3: [0, 9]}}))
    with pytest.raises(SpecError, match="combine"):
        parse_spec(_spec_with({**row, "kind": "count", "choices": None}))


def _spec_with(row: dict) -> dict:
    from cchc_excel.spec import loader

    return {"id": "thu", "version": "1", "title": "Thử", "column_note": "",
            "checks": {c: {"severity": "error", "message": "{label}: lỗi."} for c in loader.CHECK_IDS},
            "forms": [{"number": 1, "title": "Thử", "rows": [row]}]}


# ---------------------------------------------------------------------------------------------------
# On files: a district, three wards and the district's own return (unit codes made up)


ROSTER = """ma_don_vi,ten_don_vi,cap,don_vi_cha,email
BD,Tỉnh Bình Định,tinh,,
HN,Thị xã Hoài Nhơn,huyen,BD,
HN-TQB,Phường Tam Quan Bắc,xa,HN,
HN-BS,Phường Bồng Sơn,xa,HN,
HN-HS,Xã Hoài Sơn,xa,HN,
"""
WARD = {"BM1-1": 2, "BM1-5": 1, "BM3-1.4": 157, "BM3-1.4.3": 157, "BM3-3.1.1": 100, "BM3-3.1.2": 90,
        "BM7-2.4.1": 100}
WARDS = {"HN-TQB": {**WARD, "BM1-5.2": 0, "BM7-2.4.2": 96, "BM3-3.1.2": 99},
         "HN-BS": {**WARD, "BM1-5.2": 1, "BM7-2.4.2": 99, "BM3-3.1.2": 98},
         "HN-HS": {**WARD, "BM1-5.2": 1, "BM7-2.4.2": 97, "BM3-3.1.2": 97}}
OWN = {"BM1-1": 4, "BM1-3.2": 3, "BM2-1": 2, "BM2-1.2": 2, "BM3-1.4": 250, "BM3-1.4.2": 250, "BM3-3.1.1": 500,
       "BM3-3.1.2": 480}
LATE = datetime(2023, 7, 2, 9, tzinfo=timezone.utc)  # after the deadline of 2023-Q2


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    base = tmp_path_factory.mktemp("upward")
    (base / "don-vi.csv").write_text(ROSTER, encoding="utf-8")
    roster = load_roster(base / "don-vi.csv")
    returns = base / "bao-cao-ve"
    returns.mkdir()
    for code, values in WARDS.items():
        write_template(returns / f"{code}.xlsx", level="xa", unit=roster.get(code), period="2023-Q2",
                       values=values, generated_at=datetime(2023, 6, 15, tzinfo=timezone.utc))
    write_template(base / "rieng.xlsx", level="huyen", unit=roster.get("HN"), period="2023-Q2", values=OWN,
                   generated_at=LATE)
    return base, roster


@pytest.fixture(scope="module")
def merged(district):
    base, roster = district
    result = aggregate_paths([base / "bao-cao-ve"], roster=roster, unit_code="HN", own=base / "rieng.xlsx", jobs=1)
    write_merged_workbook(result, base / "tong-hop.xlsx")
    return result, base / "tong-hop.xlsx"


@pytest.fixture(scope="module")
def without_own(district):
    base, roster = district
    result = aggregate_paths([base / "bao-cao-ve"], roster=roster, unit_code="HN", jobs=1)
    write_merged_workbook(result, base / "khong-rieng.xlsx")
    return result, base / "khong-rieng.xlsx"


def sheet(path, name):
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()


def texts(rows):
    return [str(c) for row in rows for c in row if c not in ("", None)]


def test_the_parents_own_return_is_merged_as_its_own_part(merged):
    result, _ = merged
    t = result.totals
    assert t["BM1-3.2"].to_dict() == {"value": 3, "units": 1}  # the district's own rows, as they are
    assert t["BM2-1.2"].value == 2
    assert (t["BM3-1.4.2"].value, t["BM3-1.4.3"].value, t["BM3-1.4"].value) == (250, 157, 407)
    assert t["BM1-1"].value == 4 + 3 * 2  # rows every level fills add up, the district's own part too
    assert t["BM3-3.1.1"].value == 500 + 300
    own = result.own_status
    assert (own.unit.code, own.status, own.late, own.reason) == ("HN", "merged", False, OWN_REASON)
    assert result.units[0] is own and result.expected == 3  # not one of the units that must report
    mine = next(f for f in result.files if f.path.name == "rieng.xlsx")
    assert (mine.status, mine.unit, mine.late, mine.reason) == ("merged", "HN", False, OWN_REASON)
    assert result.units_with("merged", below=True) == ["HN-TQB", "HN-BS", "HN-HS"]
    assert not result.late_units


def test_the_merged_report_with_its_own_part_is_a_clean_return_for_the_level_above(merged, district):
    from cchc_excel.check.run import check_paths

    f = check_paths([merged[1]], roster=district[1], jobs=1).files[0]
    assert (f.status, f.unit["code"], f.values["BM1-3.2"], f.values["BM2-1"], f.values["BM1-5.2"]) == \
        ("ok", "HN", 3, 2, 2), f.issues


def test_own_is_read_once_and_only_as_the_parents(district, tmp_path):
    base, roster = district
    folder = tmp_path / "ve"
    folder.mkdir()
    for name in ("HN-TQB.xlsx", "rieng.xlsx"):
        (folder / name).write_bytes((base / ("bao-cao-ve" if name != "rieng.xlsx" else "") / name).read_bytes())
    result = aggregate_paths([folder], roster=roster, unit_code="HN", own=folder / "rieng.xlsx", jobs=1)
    assert sorted(f.status for f in result.files) == ["merged", "merged"]  # not also a duplicate
    # A file that names no unit is the parent's; one of another unit is refused.
    write_template(tmp_path / "blank-unit.xlsx", level="huyen", period="2023-Q2", values={"BM1-3.2": 5})
    result = aggregate_paths([base / "bao-cao-ve"], roster=roster, unit_code="HN", own=tmp_path / "blank-unit.xlsx",
                             jobs=1)
    assert result.totals["BM1-3.2"].value == 5 and result.own_status.status == "merged"
    with pytest.raises(RosterError, match="Phường Bồng Sơn"):
        aggregate_paths([folder], roster=roster, unit_code="HN", own=base / "bao-cao-ve" / "HN-BS.xlsx", jobs=1)


def test_the_cover_names_the_parents_rows_still_blank(merged, without_own):
    before = texts(sheet(without_own[1], "Thông tin chung"))
    line = next(t for t in before if "cần đơn vị tổng hợp tự điền" in t)
    assert line.startswith("chỉ tiêu riêng của UBND cấp huyện còn để trống", line.index(" ") + 1)
    assert "Biểu mẫu 1, dòng 3.2. Số UBND cấp xã đã kiểm tra" in before
    after = texts(sheet(merged[1], "Thông tin chung"))
    assert "Biểu mẫu 1, dòng 3.2. Số UBND cấp xã đã kiểm tra" not in after
    assert "Biểu mẫu 2, dòng 2.1. Số VBQPPL đã kiểm tra theo thẩm quyền của cấp huyện" in after  # still blank
    status = texts(sheet(merged[1], "Tình hình nộp báo cáo"))
    assert "3 đơn vị phải báo cáo; 3 đã tổng hợp, 0 có lỗi, 0 chưa nộp; 0 nộp muộn (hạn 20/06/2023)." in status
    assert f"Báo cáo riêng của Thị xã Hoài Nhơn: đã tổng hợp ({OWN_REASON})." in status


def test_the_official_form_has_one_short_note_a_footnote_and_a_signature(merged):
    _, path = merged
    rows = sheet(path, "Biểu mẫu 1")
    notes = [row[COL_NOTE] for row in rows[8:] if len(row) > COL_NOTE and row[COL_NOTE]]
    assert "4 đơn vị" in notes and "3/3 đơn vị" in notes  # BM1-1; the flag BM1-5 (the district gave none)
    assert all(text_lines(n, WIDTHS[COL_NOTE]) == 1 for n in notes), notes
    words = texts(rows)
    assert "Ghi chú: số đơn vị có số liệu của chỉ tiêu; số liệu từng đơn vị: trang “Chi tiết BM1”." in words
    assert ("Dòng 5.2 (Hình thức khảo sát): Trực tuyến: 1; Phát phiếu: 2; Kết hợp: 0; báo cáo ghi Kết hợp "
            "(gộp các lựa chọn của các đơn vị).") in words
    assert {"NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ", "(Ký, ghi rõ họ tên)"} <= set(words)
    assert "Hoài Nhơn, ngày …… tháng …… năm ……" in words
    assert result_value(rows, "5.2.") == 2  # online in one ward, paper in two: both
    bm3 = texts(sheet(path, "Biểu mẫu 3"))
    assert any(w.startswith("Dòng 1.4, 1.4.2, 1.4.3") and "lấy số lớn nhất" in w for w in bm3)
    book = openpyxl.load_workbook(path)
    ws = book["Biểu mẫu 1"]
    assert ws.print_area and int(ws.print_area.split("$")[-1]) >= len(rows) - 1  # the block is printed


def result_value(rows, code):
    return next(row[3] for row in rows if row and row[0] == code)


def test_detail_sheets_say_how_totals_are_made_and_print_readably(merged):
    _, path = merged
    rows = sheet(path, "Chi tiết BM3")
    header = rows[3]
    total = next(i for i, row in enumerate(rows) if str(row[0]).startswith("Tổng hợp ("))
    assert rows[total][0] == "Tổng hợp (4 đơn vị; số thủ tục: lấy số lớn nhất)"
    assert rows[total + 2][0] == "Cách tổng hợp"
    assert rows[total + 2][header.index("1.4.3.")] == "Lớn nhất trong 3 đơn vị (danh mục TTHC dùng chung)"
    bm1 = sheet(path, "Chi tiết BM1")
    total1 = next(i for i, row in enumerate(bm1) if str(row[0]).startswith("Tổng hợp ("))
    assert bm1[total1][bm1[3].index("5.2.")] == "Trực tuyến: 1; Phát phiếu: 2; Kết hợp: 0"
    book = openpyxl.load_workbook(path)
    for name, paper in (("Chi tiết BM7", 8), ("Chi tiết BM2", 8)):  # more than 6 columns: A3
        setup = book[name].page_setup
        assert (int(setup.paperSize), setup.orientation, int(setup.scale)) == (paper, "landscape", 90), name
        assert not book[name].sheet_properties.pageSetUpPr.fitToPage  # never shrunk to one page wide
        assert book[name].print_title_cols == "$A:$C"


def test_the_findings_sheet_reads_as_words(district, tmp_path):
    base, roster = district
    folder = tmp_path / "ve"
    folder.mkdir()
    write_template(folder / "bs.xlsx", level="xa", unit=roster.get("HN-BS"), period="2023-Q2",
                   values={"BM1-2.1": 5, "BM1-2.2": 9})
    result = aggregate_paths([folder], roster=roster, unit_code="HN", include_errors=True, jobs=1)
    write_merged_workbook(result, tmp_path / "th.xlsx")
    rows = sheet(tmp_path / "th.xlsx", "Kiểm tra")
    row = next(r for r in rows if r[1] == "bs.xlsx" and r[7] == "BM1-R1")
    assert (row[5], row[6]) == ("Biểu mẫu 1, ô D12", "2.2. Số nhiệm vụ đã hoàn thành")
    assert openpyxl.load_workbook(tmp_path / "th.xlsx")["Kiểm tra"].column_dimensions["H"].hidden  # the id


def test_charts_follow_the_table_with_the_parents_total(merged):
    result, path = merged
    assert total_name(result) == "Toàn thị xã"
    rows = sheet(path, "Biểu đồ")
    names = [r[0] for r in rows if r and r[0]]
    at = names.index("Đơn vị", names.index("Đơn vị") + 1)  # the second share chart: BM7-2.4
    assert names[at + 1:at + 5] == ["Phường Tam Quan Bắc", "Phường Bồng Sơn", "Xã Hoài Sơn", "Toàn thị xã"]
    with zipfile.ZipFile(path) as z:
        chart = z.read("xl/charts/chart3.xml").decode("utf-8")
    assert '<c:orientation val="maxMin"/>' in chart  # the first unit on top, as in the table
    assert '<c:min val="80"/>' in chart and '<c:max val="100.0"/>' in chart  # 96–99 %: not on 0–100
    assert axis_range([5.0, 60.0]) == (0.0, 60.0) and axis_range([0.0]) == (0.0, 10.0)


def test_unit_names_give_place_and_kind():
    assert split_unit_name("Thị xã Hoài Nhơn") == ("thị xã", "Hoài Nhơn")
    assert split_unit_name("UBND phường Tam Quan Bắc") == ("phường", "Tam Quan Bắc")
    assert split_unit_name("Ủy ban nhân dân tỉnh Bình Định") == ("tỉnh", "Bình Định")
    assert split_unit_name("Sở Nội vụ") == ("", "Sở Nội vụ")


def test_cli_own(district, tmp_path):
    base, _ = district
    out = tmp_path / "th.xlsx"
    args = ["aggregate", str(base / "bao-cao-ve"), "--roster", str(base / "don-vi.csv"), "--under", "HN",
            "--own", str(base / "rieng.xlsx"), "-o", str(out), "--json", "-j", "1"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["totals"]["BM1-3.2"]["value"] == 3


@pytest.mark.libreoffice
def test_the_merged_report_prints_as_a_person_reads_it(merged, tmp_path):
    import lo

    if not lo.available():
        pytest.skip("LibreOffice tools missing")
    pages = lo.pdf_text(lo.convert(merged[1], "pdf", tmp_path)).split("\f")
    forms = [p for p in pages if "Phụ lục I" in p or "Chỉ tiêu thống kê" in p and "Mã đơn vị" not in p]
    assert sum(p.count("THỦ TRƯỞNG ĐƠN VỊ") for p in forms) == 7  # one block under each form
    bm1 = next(p for p in pages if "Công tác chỉ đạo điều hành CCHC" in p and "Phụ lục I" in p)
    assert "NGƯỜI LẬP BIỂU" in bm1 and "Trực tuyến: 1; Phát phiếu: 2; Kết hợp: 0" in bm1  # one page
    bm7 = [p for p in pages if "Cách tổng hợp" in p and "2.5.2." in p or "XÂY DỰNG VÀ PHÁT TRIỂN" in p
           and "Mã đơn vị" in p]
    assert len(bm7) >= 2 and all("Phường Tam Quan Bắc" in p for p in bm7)  # across pages, names repeated


@pytest.mark.libreoffice
def test_the_signature_block_shows_the_date_and_preparer_typed_on_the_cover(merged, tmp_path):
    import lo

    if not lo.available():
        pytest.skip("LibreOffice tools missing")
    ws = openpyxl.load_workbook(merged[1])["Biểu mẫu 1"]
    cells = {c.value: c.coordinate for row in ws.iter_rows() for c in row if isinstance(c.value, str)
             and c.value.startswith("=") and "cchc_" in c.value}
    date = next(ref for f, ref in cells.items() if "cchc_date" in f)
    name = next(ref for f, ref in cells.items() if "cchc_preparer" in f)
    # An ISO date is a date under any locale; "20/06/2023" may stay text (LibreOffice in en-US): shown as typed.
    full = "Hoài Nhơn, ngày 20 tháng 06 năm 2023"
    for typed, shown in (("2023-06-20", {full}), ("20/06/2023", {full, "Hoài Nhơn, ngày 20/06/2023"})):
        out = lo.type_cells(merged[1], tmp_path / "ky.xlsx", [("Thông tin chung", "B14", "Nguyễn Văn An"),
                                                             ("Thông tin chung", "B17", typed)],
                            reads=[("Biểu mẫu 1", date), ("Biểu mẫu 1", name)])
        assert out["cells"][f"Biểu mẫu 1!{date}"]["string"] in shown
        assert out["cells"][f"Biểu mẫu 1!{name}"]["string"] == "Nguyễn Văn An"
