"""`cchc aggregate` on real returns: our templates filled, read and checked as `cchc check` does, merged
into OUT.xlsx, which `cchc check` then reads as a clean return of the district, which the province merges.

Unit codes are made up; the names are the 2023 wards and communes of thị xã Hoài Nhơn.
"""

import csv
import json
import shutil
import subprocess
import zipfile
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

import lo
from cchc_excel.merge import workbook as merged_workbook
from cchc_excel.check.run import check_paths
from cchc_excel.cli import cli
from cchc_excel.merge.run import aggregate_paths
from cchc_excel.merge.workbook import STATUS_SHEET, write_merged_workbook
from cchc_excel.core.roster import Unit, load_roster
from cchc_excel.spec.loader import load_spec
from cchc_excel.template.build import write_template

SPEC = load_spec()
ROSTER = """ma_don_vi,ten_don_vi,cap,don_vi_cha,email
BD,Tỉnh Bình Định,tinh,,
HN,Thị xã Hoài Nhơn,huyen,BD,
HN-TQB,Phường Tam Quan Bắc,xa,HN,
HN-BS,Phường Bồng Sơn,xa,HN,
HN-HH,Xã Hoài Hải,xa,HN,
HN-HM,Xã Hoài Mỹ,xa,HN,
HN-HP,=Xã Hoài Phú,xa,HN,
PC,Huyện Phù Cát,huyen,BD,
SNV,Sở Nội vụ,so,BD,
"""
TQB_OLD = {"BM1-1": 1}
TQB = {"BM1-1": 5, "BM1-2.1": 10, "BM1-2.2": 8, "BM1-5": 1, "BM1-5.1": 50, "BM1-5.2": 2, "BM3-1.4": 157,
       "BM3-1.4.3": 157, "BM3-3.1.1": 100, "BM3-3.1.2": 90, "BM7-1.1": 90, "BM7-2.4.1": 100, "BM7-2.4.2": 60,
       "BM7-2.1.1": 100, "BM7-2.1.2": 80, "BM7-2.2.1": 60, "BM7-2.2.2": 40, "BM7-2.3.1": 120}
BS = {"BM1-1": 2, "BM1-2.1": 10, "BM1-2.2": 2, "BM1-5": 0, "BM3-1.4": 150, "BM3-1.4.3": 150, "BM3-3.1.1": 300,
      "BM3-3.1.2": 150, "BM7-1.1": 70, "BM7-2.4.1": 50, "BM7-2.4.2": 50,
      "BM7-2.1.1": 100, "BM7-2.1.2": 90, "BM7-2.2.1": 30, "BM7-2.2.2": 20, "BM7-2.3.1": 110}
HP = {"BM1-1": 3, "BM1-5": 1, "BM1-5.1": 20, "BM1-5.2": 1, "BM3-1.4": 157, "BM3-1.4.3": 157,
      "BM3-3.1.1": 0, "BM3-3.1.2": 0, "BM6-1.1": 100.25, "BM6-1.2": 50.5}
HH_WRONG = {"BM1-2.1": 5, "BM1-2.2": 9}  # more tasks done than planned: an error
SNV = {"BM1-1": 7, "BM1-2.1": 4, "BM1-2.2": 4, "BM1-5": 0, "BM7-1.1": 100, "BM7-1.1.1": 100}


def day(d, month=6):
    return datetime(2023, month, d, 9, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    """A folder of returns to thị xã Hoài Nhơn for 2023-Q2, one of each status, and the roster."""
    base = tmp_path_factory.mktemp("aggregate")
    (base / "don-vi.csv").write_text(ROSTER, encoding="utf-8")
    roster = load_roster(base / "don-vi.csv", levels=SPEC.levels)
    returns = base / "bao-cao-ve"
    returns.mkdir()

    def ret(name, code, values, period="2023-Q2", when=day(15), unit=None):
        unit = unit or roster.get(code)
        write_template(returns / name, SPEC, level=unit.level, unit=unit, period=period, values=values,
                       generated_at=when)

    ret("tqb_v1.xlsx", "HN-TQB", TQB_OLD, when=day(10))
    ret("tqb_v2.xlsx", "HN-TQB", TQB, when=day(12))
    shutil.copyfile(returns / "tqb_v2.xlsx", returns / "zz_tqb_copy.xlsx")
    ret("bs.xlsx", "HN-BS", BS)
    ret("hh.xlsx", "HN-HH", HH_WRONG)
    ret("hm_q1.xlsx", "HN-HM", BS, period="2023-Q1", when=day(15, 3))
    ret("hp.xlsx", "HN-HP", HP, when=day(25))
    ret("pc.xlsx", "PC", {"BM1-1": 1})
    ret("stranger.xlsx", None, {"BM1-1": 1}, unit=Unit("ZZ", "Xã Lạ", "xa"))
    (returns / "broken.xlsx").write_bytes(b"this is not a spreadsheet")
    return base, roster


@pytest.fixture(scope="module")
def merged(district):
    base, roster = district
    return aggregate_paths([base / "bao-cao-ve"], SPEC, roster=roster, unit_code="HN", jobs=1)


def test_every_file_and_unit_has_its_status(merged):
    assert {f.path.name: f.status for f in merged.files} == {
        "broken.xlsx": "unreadable", "bs.xlsx": "merged", "hh.xlsx": "errors", "hm_q1.xlsx": "other_period",
        "hp.xlsx": "merged", "pc.xlsx": "other_unit", "stranger.xlsx": "unknown_unit",
        "tqb_v1.xlsx": "superseded", "tqb_v2.xlsx": "merged", "zz_tqb_copy.xlsx": "duplicate",
    }
    assert [(u.unit.code, u.status, u.late) for u in merged.units] == [
        ("HN-TQB", "merged", False), ("HN-BS", "merged", False), ("HN-HH", "errors", False),
        ("HN-HM", "missing", False), ("HN-HP", "merged", True)]
    by_name = {f.path.name: f for f in merged.files}
    assert by_name["tqb_v1.xlsx"].reason == "Có bản mới hơn: tqb_v2.xlsx (12/06/2023 16:00)"
    assert by_name["hh.xlsx"].errors >= 1 and "BM1-R1" in {f.issue.rule for f in merged.findings}


def test_totals_follow_each_rows_aggregation(merged):
    t = merged.totals
    assert t["BM1-1"].to_dict() == {"value": 10, "units": 3}  # counts sum
    assert t["BM6-1.1"].value == pytest.approx(100.25)  # amounts sum
    assert t["BM3-1.4"].to_dict() == {"value": 157, "units": 3}  # a shared catalogue: the maximum
    assert t["BM1-2"].value == pytest.approx(50.0)  # (8 + 2) / (10 + 10), recomputed
    assert t["BM3-3.1"].value == pytest.approx(60.0)  # 240 / 400
    assert t["BM7-1.1"].to_dict() == {"value": 80, "units": 2, "n": 2, "min": 70, "max": 90}  # a rate: mean
    assert t["BM1-5"].to_dict() == {"value": 2, "units": 3, "answered": 3}  # a flag: units answering 1
    assert t["BM1-5.2"].value == {"0": 0, "1": 1, "2": 1} and t["BM1-5.2"].tie
    assert t["BM2-1"].value is None and t["BM2-1"].units == 0  # blank stays blank


@pytest.fixture(scope="module")
def outputs(district):
    """`cchc aggregate` run from the command line: OUT.xlsx, the JSON summary and the tidy CSV."""
    base, _ = district
    out = base / "ket-qua"
    args = ["aggregate", str(base / "bao-cao-ve"), "-o", str(out / "tong-hop.xlsx"), "--roster",
            str(base / "don-vi.csv"), "--under", "HN", "--period", "2023-Q2", "--csv", str(out / "so-lieu.csv"),
            "-j", "1"]
    out.mkdir()
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    as_json = CliRunner().invoke(cli, [*args, "--json"], catch_exceptions=False)  # the summary, on stdout
    (out / "tom-tat.json").write_text(as_json.stdout, encoding="utf-8")
    return out, result


def test_cli_prints_who_is_missing_and_what_it_wrote(outputs):
    out, result = outputs
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == ("Tổng hợp Quý II/2023 — Thị xã Hoài Nhơn: 5 đơn vị phải báo cáo; 3 đã tổng hợp, "
                        "1 có lỗi, 1 chưa nộp; 1 nộp muộn.")
    assert "Chưa nộp: Xã Hoài Mỹ (HN-HM)." in lines
    assert "Có lỗi: Xã Hoài Hải (HN-HH)." in lines
    assert lines[-1].startswith("Đã ghi: ") and "tong-hop.xlsx" in lines[-1]


def test_json_summary(outputs):
    out, _ = outputs
    data = json.loads((out / "tom-tat.json").read_text(encoding="utf-8"))
    assert data["period"] == "2023-Q2"
    assert data["units"] == {"expected": 5, "received": 4, "merged": 3, "missing": ["HN-HM"],
                             "with_errors": ["HN-HH"], "late": ["HN-HP"]}
    assert len(data["files"]) == 10 and set(data["files"][0]) == {"path", "unit", "period", "status", "reason"}
    assert data["totals"]["BM1-1"] == {"value": 10, "units": 3}


def test_tidy_csv(outputs):
    out, _ = outputs
    raw = (out / "so-lieu.csv").read_bytes()
    assert raw[:3] == b"\xef\xbb\xbf"
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    units = {r["ma_don_vi"]: r["trang_thai_tep"] for r in rows}
    assert units == {"HN-TQB": "merged", "HN-BS": "merged", "HN-HP": "merged", "HN-HH": "errors"}
    line = next(r for r in rows if r["ma_don_vi"] == "HN-BS" and r["chi_tieu"] == "BM3-3.1.1")
    assert (line["ten_don_vi"], line["cap"], line["don_vi_cha"], line["gia_tri"]) == (
        "Phường Bồng Sơn", "xa", "HN", "300")
    assert next(r for r in rows if r["ma_don_vi"] == "HN-HP")["ten_don_vi"] == "'=Xã Hoài Phú"


def test_merged_workbook_sheets(outputs):
    out, _ = outputs
    book = CalamineWorkbook.from_path(str(out / "tong-hop.xlsx"))
    assert book.sheet_names[:2] == ["Thông tin chung", "Hướng dẫn"]
    assert [n for n in book.sheet_names if n.startswith("Chi tiết")] == [f"Chi tiết BM{i}" for i in range(1, 8)]
    assert {STATUS_SHEET, "Các tệp đã nhận", "Kiểm tra", "Biểu đồ"} <= set(book.sheet_names)
    detail = book.get_sheet_by_name("Chi tiết BM1").to_python()
    header = detail[3]
    col = header.index("1.")
    names = [row[2] for row in detail[6:9]]
    assert names == ["Phường Tam Quan Bắc", "Phường Bồng Sơn", "=Xã Hoài Phú"]
    assert [row[col] for row in detail[6:9]] == [5, 2, 3]
    assert detail[9][0] == "Tổng hợp (3 đơn vị)" and detail[9][col] == 10
    assert detail[10][col] == 3  # units behind the total
    flag = header.index("5.")
    assert detail[9][flag] == "2/3"
    status = book.get_sheet_by_name(STATUS_SHEET).to_python()
    table = [row for row in status if row and row[1] in ("HN-TQB", "HN-BS", "HN-HH", "HN-HM", "HN-HP")]
    assert [(r[1], r[4], r[7]) for r in table] == [
        ("HN-TQB", "Đã tổng hợp", ""), ("HN-BS", "Đã tổng hợp", ""), ("HN-HH", "Có lỗi", ""),
        ("HN-HM", "Chưa nộp", ""), ("HN-HP", "Đã tổng hợp", "Muộn")]
    findings = book.get_sheet_by_name("Kiểm tra").to_python()
    assert any(row[7] == "BM1-R1" and row[1] == "hh.xlsx" for row in findings[4:])
    with zipfile.ZipFile(out / "tong-hop.xlsx") as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 3  # who has reported; on-time dossiers; dossiers received online
        sheets = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
        assert "<f>" not in sheets.split("Xã Hoài Phú")[0][-200:]  # the name is text, not a formula
        assert "Times New Roman" in z.read("xl/styles.xml").decode("utf-8")


def test_merged_workbook_is_a_clean_return_of_the_district(outputs, district):
    out, _ = outputs
    _, roster = district
    report = check_paths([out / "tong-hop.xlsx"], SPEC, roster=roster, jobs=1)
    f = report.files[0]
    assert (f.status, f.unit["code"], f.unit["level"], f.period) == ("ok", "HN", "huyen", "2023-Q2"), f.issues
    v = f.values
    assert (v["BM1-1"], v["BM3-1.4"], v["BM3-1.4.3"], v["BM3-3.1.1"], v["BM3-3.1"]) == (10, 157, 157, 400, 60)
    assert (v["BM1-5"], v["BM1-5.2"], v["BM7-1.1"]) == (1, 2, 80)  # any answered 1; paper + both: both; mean
    assert v["BM6-1.1"] == pytest.approx(100.25)
    assert (v["BM7-2.1.2"], v["BM7-2.2.2"], v["BM7-2.3.1"]) == (90, 40, 130)  # BM7-R5 still holds
    assert v["BM2-1"] is None


def test_the_province_merges_the_districts_report_like_any_return(outputs, district, tmp_path):
    out, _ = outputs
    base, roster = district
    folder = tmp_path / "tinh"
    folder.mkdir()
    shutil.copyfile(out / "tong-hop.xlsx", folder / "hoai-nhon.xlsx")
    write_template(folder / "snv.xlsx", SPEC, level="so", unit=roster.get("SNV"), period="2023-Q2", values=SNV,
                   generated_at=day(15))
    shutil.copyfile(base / "bao-cao-ve" / "bs.xlsx", folder / "bs.xlsx")  # already in the district's report
    result = aggregate_paths([folder], SPEC, roster=roster, jobs=1)
    assert {f.path.name: f.status for f in result.files} == {
        "hoai-nhon.xlsx": "merged", "snv.xlsx": "merged", "bs.xlsx": "superseded"}
    assert result.root.code == "BD" and result.level == "tinh"
    # The district's wards are the district's business: the province expects the district, not them.
    assert [(u.unit.code, u.status) for u in result.units] == [("HN", "merged"), ("PC", "missing"),
                                                               ("SNV", "merged")]
    assert result.expected == 3 and result.merged_units == 4
    assert "5 đơn vị trực thuộc không được liệt kê riêng" in " ".join(result.notes)
    t = result.totals
    assert t["BM1-1"].to_dict() == {"value": 17, "units": 4}  # 10 from 3 wards + 7 from the department
    assert t["BM3-1.4.3"].value == 157  # a ward row of the district's report is merged, not dropped
    assert t["BM7-1.1"].value == pytest.approx((80 * 3 + 100) / 4)  # the district's mean weighs 3 units


def test_an_interrupted_write_leaves_no_half_file(merged, tmp_path, monkeypatch):
    target = tmp_path / "tong-hop.xlsx"
    target.write_bytes(b"the previous merge")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(merged_workbook, "_findings_sheet", interrupted)  # halfway through the sheets
    with pytest.raises(KeyboardInterrupt):
        write_merged_workbook(merged, target)
    assert target.read_bytes() == b"the previous merge"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tong-hop.xlsx"]
    monkeypatch.undo()

    import cchc_excel.ooxml.bulk as bulk  # interrupted while streaming the long tables into the file

    def broken_stream(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(bulk, "_stream", broken_stream)
    (tmp_path / "new.xlsx").unlink(missing_ok=True)
    with pytest.raises(OSError):
        write_merged_workbook(merged, tmp_path / "new.xlsx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tong-hop.xlsx"]


@pytest.mark.libreoffice
def test_merged_workbook_prints_in_libreoffice(outputs, tmp_path):
    out, _ = outputs
    if not lo.available():
        pytest.skip("LibreOffice tools missing")
    pdf = lo.convert(out / "tong-hop.xlsx", "pdf", tmp_path)
    text = lo.pdf_text(pdf)
    for expected in ("TÌNH HÌNH NỘP BÁO CÁO QUÝ II/2023", "BIỂU MẪU 3. CẢI CÁCH THỦ TỤC HÀNH CHÍNH: SỐ LIỆU TỪNG ĐƠN VỊ",
                     "Tổng hợp (3 đơn vị)", "Xã Hoài Mỹ", "Chưa nộp", "KẾT QUẢ KIỂM TRA CÁC TỆP", "Tình hình nộp báo cáo"):
        assert expected in text, expected
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    assert "Serif" in fonts or "Times" in fonts  # Times New Roman, or its metric twin Liberation Serif


def test_cli_errors_are_one_line(tmp_path, district):
    base, _ = district
    empty = tmp_path / "trong"
    empty.mkdir()
    result = CliRunner().invoke(cli, ["aggregate", str(empty), "-o", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 1
    assert result.output == f"Lỗi: Không tìm thấy tệp bảng tính nào (.xlsx, .xlsm, .xls, .ods) trong {empty}.\n"
    result = CliRunner().invoke(cli, ["aggregate", str(base / "bao-cao-ve"), "-o", str(tmp_path / "x.xlsx"),
                                      "--under", "HN"])
    assert result.exit_code == 2 and "cần --roster" in result.output
    result = CliRunner().invoke(cli, ["aggregate", str(base / "bao-cao-ve"), "-o", str(tmp_path / "x.xlsx"),
                                      "--period", "quý hai"])
    assert result.exit_code == 2 and "2023-Q2" in result.output
    assert not (tmp_path / "x.xlsx").exists()


def test_cli_help_is_vietnamese_with_an_example():
    result = CliRunner().invoke(cli, ["aggregate", "--help"])
    assert result.exit_code == 0
    assert "Tổng hợp báo cáo CCHC" in result.output and "Ví dụ:" in result.output
    assert "cchc aggregate bao-cao-ve/ -o tong-hop-2023-Q2.xlsx" in result.output


def test_received_times_come_from_the_collect_manifest(district, tmp_path):
    from cchc_excel.core.manifest import MANIFEST_COLUMNS

    base, roster = district
    folder = tmp_path / "thu-ve"
    folder.mkdir()
    for name in ("bs.xlsx", "tqb_v2.xlsx"):
        shutil.copyfile(base / "bao-cao-ve" / name, folder / name)
    rows = [",".join(MANIFEST_COLUMNS),
            "bs.xlsx,bs.xlsx,bs@example.vn,2023-06-21T08:00:00+07:00,Báo cáo,x,1,<a@b>,hop-thu",
            "tqb_v2.xlsx,tqb.xlsx,tqb@example.vn,2023-06-19T08:00:00+07:00,Báo cáo,y,1,<c@d>,hop-thu"]
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = aggregate_paths([folder], SPEC, roster=roster, unit_code="HN", jobs=1)
    files = {f.path.name: f for f in result.files}
    assert files["bs.xlsx"].received == datetime(2023, 6, 21, 1, tzinfo=timezone.utc)
    assert (files["bs.xlsx"].late, files["tqb_v2.xlsx"].late) == (True, False)
    assert result.late_units == ["HN-BS"]
