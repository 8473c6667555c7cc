"""Per-unit templates of a roster (the fast copies), file names, and the `cchc template` command."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from cchc_excel.template import metadata
from cchc_excel.cli import cli
from cchc_excel.errors import RosterError
from cchc_excel.core.periods import Period
from cchc_excel.core.roster import Roster, Unit, load_roster
from cchc_excel.spec.loader import load_spec
from cchc_excel.template.build import UnitCopies, template_bytes, template_filename, write_roster_templates

SPEC = load_spec()
WHEN = datetime(2023, 6, 1, 8, 30, tzinfo=timezone.utc)
Q2 = Period(2023, "Q2")

# A sample district (thị xã Hoài Nhơn, Bình Định, 2023); the unit codes are made up.
ROSTER_CSV = """ma_don_vi,ten_don_vi,cap,don_vi_cha,email
52,Tỉnh Bình Định,tinh,,
SNV,Sở Nội vụ,so,52,snv@example.vn
540,UBND thị xã Hoài Nhơn,huyen,52,hoainhon@example.vn
22240,UBND phường Tam Quan Bắc,xa,540,tqb@example.vn
22241,UBND phường Bồng Sơn,xa,540,
22242,UBND xã Hoài Sơn,xa,541,
"""


def parts(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def meta_of(path) -> dict:
    return metadata.parse_sheet(CalamineWorkbook.from_path(str(path)).get_sheet_by_name("_cchc").to_python())[0]


@pytest.fixture()
def roster_file(tmp_path):
    path = tmp_path / "don-vi.csv"
    path.write_text(ROSTER_CSV, encoding="utf-8")
    return path


@pytest.mark.parametrize("unit", [
    Unit("22240", "UBND phường Tam Quan Bắc", "xa"),
    Unit("540", "UBND thị xã Hoài Nhơn", "huyen"),
    Unit("S&T", "Sở Khoa học & Công nghệ <KH&CN>", "so"),
    Unit("X1", "Tên có\tký tự điều khiển", "xa"),  # not plain: built in full
])
def test_a_fast_copy_is_the_full_build(unit):
    copies = UnitCopies(SPEC, Q2, password="mk", generated_at=WHEN)
    fast = copies.copy(unit)
    full = template_bytes(SPEC, level=unit.level, unit=unit, period=Q2, password="mk", generated_at=WHEN)
    assert copies.fast
    fast_parts, full_parts = parts(fast), parts(full)
    assert list(fast_parts) == list(full_parts)
    for name in full_parts:
        assert fast_parts[name] == full_parts[name], name
    assert load_workbook(io.BytesIO(fast))["Thông tin chung"]["B5"].value == unit.name


def test_roster_templates_one_per_reporting_unit(roster_file, tmp_path):
    roster = load_roster(roster_file, levels=SPEC.levels)
    out = tmp_path / "out"
    paths = write_roster_templates(roster, "Quý II/2023", out, generated_at=WHEN)
    assert [p.name for p in paths] == [
        "SNV_so-noi-vu_2023-Q2.xlsx", "540_thi-xa-hoai-nhon_2023-Q2.xlsx",
        "22240_phuong-tam-quan-bac_2023-Q2.xlsx", "22241_phuong-bong-son_2023-Q2.xlsx",
        "22242_xa-hoai-son_2023-Q2.xlsx"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)
    meta = meta_of(out / "22240_phuong-tam-quan-bac_2023-Q2.xlsx")
    assert (meta["unit_code"], meta["unit_name"], meta["level"], meta["period"]) == (
        "22240", "UBND phường Tam Quan Bắc", "xa", "2023-Q2")
    assert meta_of(out / "SNV_so-noi-vu_2023-Q2.xlsx")["level"] == "so"
    only_xa = write_roster_templates(roster, Q2, tmp_path / "xa", levels=["xa"], generated_at=WHEN)
    assert [p.name.split("_")[0] for p in only_xa] == ["22240", "22241", "22242"]


def test_two_units_with_one_file_name_is_an_error(tmp_path):
    roster = Roster(source="ds.csv")
    for code in ("A/1", "A-1"):
        roster.units[code] = Unit(code, "Xã Một", "xa")
    with pytest.raises(RosterError, match="ds.csv: đơn vị A/1 và A-1 cho cùng một tên tệp A-1_xa-mot_2023-Q2.xlsx"):
        write_roster_templates(roster, Q2, tmp_path)


@pytest.mark.parametrize("unit, period, name", [
    (Unit("22240", "UBND phường Tam Quan Bắc", "xa"), "2023-Q2", "22240_phuong-tam-quan-bac_2023-Q2.xlsx"),
    (Unit("540", "Ủy ban nhân dân thị xã Hoài Nhơn", "huyen"), "2023-H1", "540_thi-xa-hoai-nhon_2023-H1.xlsx"),
    (Unit("SNV", "Sở Nội vụ", "so"), "2023", "SNV_so-noi-vu_2023.xlsx"),
    (Unit("../x", "Đắk Lắk", "xa"), Q2, "x_dak-lak_2023-Q2.xlsx"),
])
def test_template_filename(unit, period, name):
    assert template_filename(unit, period) == name


# ---- the command line -------------------------------------------------------------------------------

def run(*args):
    return CliRunner().invoke(cli, ["template", *map(str, args)], catch_exceptions=False)


def test_cli_one_template(tmp_path):
    out = tmp_path / "tqb.xlsx"
    result = run("--level", "xa", "--unit", "22240", "--unit-name", "UBND phường Tam Quan Bắc",
                 "--period", "2023-Q2", "-o", out)
    assert result.exit_code == 0, result.output
    assert result.output == f"Đã tạo biểu mẫu {out} (UBND cấp xã, UBND phường Tam Quan Bắc, Quý II/2023).\n"
    assert meta_of(out)["unit_code"] == "22240"


def test_cli_blank_template_of_a_level_into_a_folder(tmp_path):
    result = run("--level", "huyen", "--sheet-password", "mk", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    path = tmp_path / "cv371-2022_huyen.xlsx"
    assert result.output == f"Đã tạo biểu mẫu {path} (UBND cấp huyện).\n"
    meta = meta_of(path)
    assert (meta["level"], meta["unit_code"], meta["period"]) == ("huyen", "", "")


def test_cli_folder_named_with_a_slash_before_it_exists(tmp_path, monkeypatch):
    """README: `-o bieu-mau-trong/` gives bieu-mau-trong/cv371-2022_huyen.xlsx, not a file `bieu-mau-trong`."""
    monkeypatch.chdir(tmp_path)
    result = run("--level", "huyen", "-o", "bieu-mau-trong/")
    assert result.exit_code == 0, result.output
    assert result.output == f"Đã tạo biểu mẫu {Path('bieu-mau-trong/cv371-2022_huyen.xlsx')} (UBND cấp huyện).\n"
    assert meta_of(tmp_path / "bieu-mau-trong" / "cv371-2022_huyen.xlsx")["level"] == "huyen"


def test_cli_roster_into_a_file_is_a_usage_error(roster_file, tmp_path):
    (tmp_path / "out.xlsx").write_bytes(b"")
    result = run("--roster", roster_file, "--period", "2023-Q2", "-o", tmp_path / "out.xlsx")
    assert result.exit_code == 2
    assert result.output.endswith(f"Lỗi: {tmp_path / 'out.xlsx'} là một tệp: với --roster, -o phải là một thư mục.\n")


def test_cli_unwritable_output_is_an_error_not_a_traceback(tmp_path):
    (tmp_path / "a-file").write_bytes(b"")
    result = run("--level", "xa", "-o", tmp_path / "a-file" / "t.xlsx")
    assert result.exit_code == 1
    assert result.output.startswith(f"Lỗi: Không ghi được {tmp_path / 'a-file'}")


def test_cli_roster_prints_its_warnings(roster_file, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["template", "--roster", str(roster_file), "--period", "Quý II/2023",
                                 "-o", str(tmp_path / "out")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stderr == ("Cảnh báo: don-vi.csv: đơn vị cha '541' của 22242 (UBND xã Hoài Sơn) không có trong "
                             "danh sách; coi UBND xã Hoài Sơn là cấp cao nhất.\n")
    assert result.stdout.startswith(f"Đã tạo 5 biểu mẫu Quý II/2023 trong {tmp_path / 'out'} (")
    assert len(list((tmp_path / "out").glob("*.xlsx"))) == 5


@pytest.mark.parametrize("csv_text, message", [
    ("ma_don_vi,ten_don_vi,don_vi_cha\n1,Xã A,\n",
     "don-vi.csv, dòng 1: thiếu cột cap (cần các cột ma_don_vi, ten_don_vi, cap, don_vi_cha, email)."),
    ("ma_don_vi,ten_don_vi,cap\n1,Xã A,xa\n2,Xã B,xa\n1,Xã C,xa\n",
     "don-vi.csv, dòng 4: mã đơn vị '1' bị trùng."),
    ("ma_don_vi,ten_don_vi,cap\n1,Xã A,xa\n2,Phường B,phuong\n",
     "don-vi.csv, dòng 3: cấp 'phuong' của đơn vị 2 không hợp lệ (chỉ nhận: tinh, so, huyen, xa)."),
])
def test_cli_roster_errors_name_the_line(tmp_path, csv_text, message):
    roster = tmp_path / "don-vi.csv"
    roster.write_text(csv_text, encoding="utf-8")
    result = run("--roster", roster, "--period", "2023-Q2", "-o", tmp_path / "out")
    assert result.exit_code == 2  # a usage error, as in every command
    assert result.output.endswith(f"Lỗi: Giá trị không hợp lệ cho '--roster': {message}\n")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, exit_code, message", [
    (["--level", "xa", "--period", "2023-Q5"], 2,
     "Lỗi: Giá trị không hợp lệ cho '--period': Không hiểu kỳ báo cáo '2023-Q5'. Hãy ghi theo dạng 2023-Q2 (quý), 2023-H1 (6 tháng), 2023-9M "
     "(9 tháng), 2023 (năm) hoặc \"Quý II/2023\".\n"),
    (["--roster", "don-vi.csv"], 2,
     "Lỗi: Cần --period khi tạo biểu mẫu theo danh sách đơn vị (--roster).\n"),
    (["--period", "2023"], 2,
     "Lỗi: Cần --level (xa, huyen hoặc so), hoặc --roster để tạo theo danh sách đơn vị.\n"),
    (["--roster", "khong-co.csv", "--period", "2023"], 2,
     "Lỗi: Giá trị không hợp lệ cho '--roster': Không tìm thấy tệp danh sách đơn vị khong-co.csv.\n"),
    (["--level", "xa", "--spec", "cv999"], 2, "Lỗi: Giá trị không hợp lệ cho '--spec': Không tìm thấy bộ biểu mẫu 'cv999.yaml' (có sẵn: cv371-2022).\n"),
    (["--level", "tinh"], 2, "Lỗi: Giá trị không hợp lệ cho '--level': không có mẫu cho cấp 'tinh' trong bộ biểu "
                             "mẫu cv371-2022 (chỉ nhận: xa, huyen hoặc so).\n"),
])
def test_cli_errors(tmp_path, monkeypatch, args, exit_code, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "don-vi.csv").write_text(ROSTER_CSV, encoding="utf-8")
    result = run(*args, "-o", "out.xlsx")
    assert result.exit_code == exit_code
    assert result.output.endswith(message)
    assert not (tmp_path / "out.xlsx").exists()


def test_cli_help_is_vietnamese_with_an_example():
    result = run("--help")
    assert "Tạo biểu mẫu Excel thống kê CCHC" in result.output
    assert "cchc template --roster danh-sach-don-vi.csv --period" in result.output
